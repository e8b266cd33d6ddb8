package shipper

import (
	"sync/atomic"
)

// Batch is the unit of work, ownership and acknowledgement: lines of one file
// read together, processed together by one worker, and acknowledged together.
//
// The worker that receives a batch owns it until it has handed the batch to
// the sink and released the batch's Ack, which it does last: the creator
// (the tailer) may recycle the batch's memory once the Ack is done, so no
// stage, sink or worker touches a batch, its events or their bytes after
// that. The sink copies what it sends; a stage that keeps events clones them.
type Batch struct {
	// File is the file every event of the batch was read from (nil for
	// batches built by tests or by the dry-run of standard input).
	File   *File
	Events []Event
	// Ack is released once every event of the batch is handled. May be nil
	// (dry-run), in which case nobody waits.
	Ack *Ack
	// Holds are acknowledgements of events a stage added to this batch from
	// earlier ones (a sampler releasing a held trace). The stage held each
	// once; the worker releases them after handing the batch to the sink.
	Holds []*Ack

	arena []byte
	// members is the member chunk AllocMembers hands out from; like arena,
	// it is kept across Reset so a recycled batch allocates neither.
	members []Member
}

// Alloc returns n bytes that live as long as the batch, for values a stage
// creates (a redacted string, a parsed message). Successive calls do not
// overlap. The memory is not zeroed.
func (b *Batch) Alloc(n int) []byte {
	if cap(b.arena)-len(b.arena) < n {
		size := 2 * cap(b.arena)
		if size < 4096 {
			size = 4096
		}
		if size < n {
			size = n
		}
		// The old arena stays alive through the slices already handed out.
		b.arena = make([]byte, 0, size)
	}
	start := len(b.arena)
	b.arena = b.arena[:start+n]
	return b.arena[start : start+n : start+n]
}

// Append copies p into memory that lives as long as the batch.
func (b *Batch) Append(p []byte) []byte {
	dst := b.Alloc(len(p))
	copy(dst, p)
	return dst
}

// AllocMembers returns an empty slice with room for at least n members, in
// memory that lives as long as the batch and is kept across Reset: the
// members of a batch's documents are otherwise most of the garbage of a
// busy agent. Its capacity may extend past n to the end of the batch's
// current chunk. Append to it, then pass the result to KeepMembers; until
// then the next AllocMembers returns the same memory again. The parser
// fills its events' members this way; a later stage may too (the sampler
// copies a failed trace's held events into the batch), once per event,
// since the parser is done with the batch by then.
func (b *Batch) AllocMembers(n int) []Member {
	if cap(b.members)-len(b.members) < n {
		size := max(2*cap(b.members), n, 256)
		// The old chunk stays alive through the members already kept; the
		// new, larger one is what Reset keeps.
		b.members = make([]Member, 0, size)
	}
	return b.members[len(b.members):len(b.members)]
}

// KeepMembers marks ms, built by appending to the slice the last
// AllocMembers returned, as used, and returns it with its capacity cut so
// that appending to it cannot overwrite later members. If ms outgrew that
// slice (append moved it), it is returned as it is and no batch memory is
// used.
func (b *Batch) KeepMembers(ms []Member) []Member {
	if len(ms) == 0 {
		return nil
	}
	free := b.members[len(b.members):cap(b.members)]
	if len(free) >= len(ms) && &free[0] == &ms[0] {
		b.members = b.members[:len(b.members)+len(ms)]
	}
	return ms[:len(ms):len(ms)]
}

// AllocCap returns how many bytes the batch's arena holds: what Alloc hands
// out without allocating once the batch is Reset. Pools of batches sort
// them by it.
func (b *Batch) AllocCap() int { return cap(b.arena) }

// Reset empties the batch for reuse, keeping its allocations.
func (b *Batch) Reset() {
	clear(b.Events)
	b.Events = b.Events[:0]
	b.File = nil
	b.Ack = nil
	clear(b.Holds)
	b.Holds = b.Holds[:0]
	b.arena = b.arena[:0]
	// Cleared so that a batch waiting for reuse does not keep alive what
	// its old members pointed to.
	clear(b.members)
	b.members = b.members[:0]
}

// Ack counts the holders of a batch's acknowledgement and runs its done
// function once, when the last holder releases it. The creator holds it
// first; every party that takes over part of the batch's events for later
// (a sink's bulk request in flight, a sampler holding a trace) calls Hold
// before the creator releases, and Release when those events are handled.
//
// A nil *Ack is valid and does nothing. Ack is safe for concurrent use.
type Ack struct {
	holders atomic.Int64
	done    func()
}

// NewAck returns an Ack held once by the caller; done runs when the last
// holder releases it.
func NewAck(done func()) *Ack {
	a := &Ack{done: done}
	a.holders.Store(1)
	return a
}

// Hold adds a holder.
func (a *Ack) Hold() {
	if a != nil {
		a.holders.Add(1)
	}
}

// Release removes a holder; the last one runs done.
func (a *Ack) Release() {
	if a == nil {
		return
	}
	switch n := a.holders.Add(-1); {
	case n == 0:
		if a.done != nil {
			a.done()
		}
	case n < 0:
		panic("shipper: Ack released more often than held")
	}
}
