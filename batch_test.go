package shipper_test

import (
	"testing"

	"github.com/traceship/shipper"
)

func TestAllocMembersIsKeptAcrossReset(t *testing.T) {
	var b shipper.Batch
	m := shipper.Member{Key: []byte(`"k"`), Value: []byte(`1`)}
	ms := append(b.AllocMembers(2), m, m)
	first := b.KeepMembers(ms)
	second := b.KeepMembers(append(b.AllocMembers(1), m))
	if cap(first) != 2 || cap(second) != 1 {
		t.Fatalf("kept slices have capacities %d and %d, want 2 and 1", cap(first), cap(second))
	}
	if &first[1] == &second[0] || &first[0] != &ms[0] {
		t.Fatalf("successive member slices overlap or were copied")
	}
	// Appending to a kept slice must not overwrite the next one's members.
	_ = append(first, shipper.Member{Key: []byte(`"x"`)})
	if string(second[0].Key) != `"k"` {
		t.Fatalf("append to one slice overwrote the next: %q", second[0].Key)
	}
	b.Reset()
	again := b.AllocMembers(1)
	if cap(again) == 0 || &again[:1][0] != &first[0] {
		t.Errorf("Reset did not keep the member chunk")
	}
	if again[:1][0].Key != nil {
		t.Errorf("Reset left old members in the chunk: %q", again[:1][0].Key)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		b.Reset()
		for range 100 {
			b.KeepMembers(append(b.AllocMembers(2), m, m))
		}
	}); allocs != 0 {
		t.Errorf("a reset batch allocated %v times for members that fit its chunk", allocs)
	}
}

func TestKeepMembersOfMovedSliceUsesNoChunk(t *testing.T) {
	var b shipper.Batch
	ms := b.AllocMembers(1)
	free := cap(ms)
	for range free + 1 { // one more than fits: append moves the slice
		ms = append(ms, shipper.Member{})
	}
	b.KeepMembers(ms)
	if c := cap(b.AllocMembers(0)); c != free {
		t.Errorf("free members %d after keeping a moved slice, want %d", c, free)
	}
}
