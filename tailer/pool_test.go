package tailer

import (
	"runtime"
	"testing"

	"github.com/traceship/shipper"
)

func TestBatchPoolReusesBySize(t *testing.T) {
	tests := []struct {
		name      string
		have      int // arena of the batch put back
		want      int // bytes asked of get
		reuseable bool
	}{
		{"same size", 1 << 20, 700 << 10, true},
		{"grown one class past the request", 2 << 20, 700 << 10, true},
		{"small batch for a big request", 4 << 10, 700 << 10, false},
		{"big batch for a small file", 1 << 20, 300, false},
		{"too large to pool", 64 << 20, 64 << 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newBatchPool(8 << 20)
			reused := false
			for range 3 {
				b := &shipper.Batch{}
				b.Alloc(tt.have)
				b.Events = append(b.Events, shipper.Event{Raw: []byte("x")})
				p.put(b)
				got := p.get(tt.want)
				if got.AllocCap() < tt.want {
					t.Fatalf("get(%d) returned a batch of %d bytes", tt.want, got.AllocCap())
				}
				if len(got.Events) != 0 || got.File != nil || got.Ack != nil {
					t.Fatalf("get returned a batch that was not reset: %d events", len(got.Events))
				}
				if got == b {
					reused = true
				} else if tt.reuseable {
					t.Fatalf("get(%d) allocated a batch with one of %d bytes pooled", tt.want, tt.have)
				}
			}
			if reused != tt.reuseable {
				t.Errorf("reused %v, want %v", reused, tt.reuseable)
			}
		})
	}
}

// TestBatchPoolIsBounded: what the pool keeps is bounded by the budget,
// and a garbage collection does not empty it.
func TestBatchPoolIsBounded(t *testing.T) {
	p := newBatchPool(3 << 20)
	var put []*shipper.Batch
	for range 5 {
		b := &shipper.Batch{}
		b.Alloc(1 << 20)
		put = append(put, b)
		p.put(b)
	}
	runtime.GC()
	runtime.GC()
	kept := 0
	for range 5 {
		got := p.get(1 << 20)
		for _, b := range put {
			if got == b {
				kept++
			}
		}
	}
	if kept != 3 {
		t.Errorf("%d batches of 1 MiB reused from a pool bounded at 3 MiB, after two collections; want 3", kept)
	}
}

func TestClassFor(t *testing.T) {
	for _, tt := range []struct{ n, class int }{
		{0, 0}, {4096, 0}, {4097, 1}, {8192, 1}, {1 << 20, 8}, {1<<20 + 1, 9}, {4 << 20, 10}, {4<<20 + 1, -1},
	} {
		if got := classFor(tt.n); got != tt.class {
			t.Errorf("classFor(%d) = %d, want %d", tt.n, got, tt.class)
		}
	}
}

// The bound counts all a batch keeps: a one-line batch of an idle file has
// a 4 KiB arena but several times that in events and members, and a
// thousand of them pinned 34 MB against a 4 MiB bound.
func TestBatchPoolBoundCountsEventsAndMembers(t *testing.T) {
	const bound = 1 << 20
	p := newBatchPool(bound)
	var put []*shipper.Batch
	for range 200 {
		b := p.get(4096)
		b.Events = make([]shipper.Event, 0, 65) // as newBatch sizes them for 4 KiB
		b.AllocMembers(16 * 65)
		put = append(put, b)
	}
	for _, b := range put {
		p.put(b)
	}
	kept, retained := 0, 0
	for range 200 {
		b := p.get(4096)
		for _, x := range put {
			if b == x {
				kept++
				retained += b.Retained()
			}
		}
	}
	if retained > bound || kept == 0 {
		t.Errorf("%d batches kept, %d bytes retained; want some, within %d", kept, retained, bound)
	}
}
