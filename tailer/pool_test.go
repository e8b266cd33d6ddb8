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

// A pool not used between two calls of idle gives memory back; one in use
// keeps it.
func TestBatchPoolShrinksWhenIdle(t *testing.T) {
	p := newBatchPool(64 << 20)
	var bs []*shipper.Batch
	for range 64 {
		bs = append(bs, p.get(4096))
	}
	for _, b := range bs {
		p.put(b)
	}
	held := p.classes[0].Held()
	p.idle() // used since the last call: kept
	if p.classes[0].Held() != held {
		t.Fatalf("a pool in use shrank: %d, was %d", p.classes[0].Held(), held)
	}
	p.idle()
	p.idle()
	if got := p.classes[0].Held(); got != held/4 {
		t.Errorf("held %d after two idle periods, want a quarter of %d", got, held)
	}
}
