package tailer

import (
	"testing"

	"github.com/traceship/shipper"
)

// sync.Pool drops some Puts at random under the race detector, so these
// tests ask for reuse at least once in many tries, and check every batch
// got, reused or not.
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
			var p batchPool
			reused := false
			for range 100 {
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
				}
			}
			if reused != tt.reuseable {
				t.Errorf("reused %v, want %v", reused, tt.reuseable)
			}
		})
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
