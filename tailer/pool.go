package tailer

import (
	"math/bits"
	"sync/atomic"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/freelist"
)

// batchPool recycles the batches a follower sends once their Ack is done.
// The shipper.Batch contract makes this sound: the worker releases a
// batch's Ack last, and neither a stage nor the sink touches the batch, its
// events or their bytes after that (the sink copies what it sends, a stage
// that keeps events clones them). A recycled batch keeps its Events slice,
// its byte arena and its member chunk, so the steady state allocates none
// of them: fresh batches were most of the agent's garbage and a fifth of
// its CPU (large allocations are zeroed).
//
// Batches are pooled by the capacity of their arena in power-of-two
// classes, so a follower of a small file does not pin a batch sized for a
// busy one: the in-flight budget counts line bytes, not arenas, and a
// thousand one-line batches each holding a MiB arena would be a GiB.
// The classes are free lists sharing one bound, the in-flight budget in
// arena bytes: a garbage collection does not empty them (internal/freelist
// says why that matters), and what they keep after a burst stays within
// what the budget let the burst use.
type batchPool struct {
	classes [poolClasses]*freelist.List[*shipper.Batch]
	// used is set by get; idle clears it.
	used atomic.Bool
}

func newBatchPool(maxBytes int64) *batchPool {
	p := &batchPool{}
	held := new(atomic.Int64)
	for i := range p.classes {
		p.classes[i] = freelist.Shared[*shipper.Batch](maxBytes, held)
	}
	return p
}

const (
	poolMinShift = 12 // the smallest class: 4 KiB arenas
	poolClasses  = 11 // up to 4 MiB; larger arenas are not pooled
)

// classFor returns the class whose batches can hold n bytes without growing
// (the smallest class of at least n bytes), or -1 when none can.
func classFor(n int) int {
	if n <= 1<<poolMinShift {
		return 0
	}
	c := bits.Len(uint(n-1)) - poolMinShift
	if c >= poolClasses {
		return -1
	}
	return c
}

// idle halves what the pool keeps when no batch was taken from it since
// the last call. The tailer calls it at each periodic scan: a thousand
// files read once and then idle left a batch each in the pool (its bound
// counts arenas, not the events and members that come with them), 34 MB
// that kept the heap at the memory limit and the collector running every
// second.
func (p *batchPool) idle() {
	if p.used.Swap(false) {
		return
	}
	for _, c := range p.classes {
		c.Shrink()
	}
}

// get returns an empty batch whose arena holds at least n bytes.
func (p *batchPool) get(n int) *shipper.Batch {
	if !p.used.Load() {
		p.used.Store(true)
	}
	c := classFor(n)
	if c < 0 {
		b := &shipper.Batch{}
		b.Alloc(n)
		b.Reset()
		return b
	}
	// Or one class up: a batch whose arena grew past its class (a stage's
	// Allocs on top of a full batch of lines) lands there.
	for k := c; k <= c+1 && k < poolClasses; k++ {
		if b, ok := p.classes[k].Get(); ok {
			return b
		}
	}
	b := &shipper.Batch{}
	// Size the arena once, to the class: Alloc then Reset keeps the
	// capacity.
	b.Alloc(1 << (c + poolMinShift))
	b.Reset()
	return b
}

// put resets b and keeps it for a later get. Nothing may use b afterwards.
func (p *batchPool) put(b *shipper.Batch) {
	b.Reset()
	// The largest class b fills: its arena may have grown past its class.
	size := b.AllocCap()
	if size < 1<<poolMinShift {
		return
	}
	c := bits.Len(uint(size)) - 1 - poolMinShift
	if c >= poolClasses {
		return
	}
	p.classes[c].Put(b, int64(size))
}
