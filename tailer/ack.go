package tailer

import (
	"context"
	"sync"
)

// tracker turns out-of-order batch acknowledgements of one file into an
// in-order checkpoint: the acked offset advances only to the end of the
// longest run of acknowledged batches from the start, in the order the
// batches were read. One tracker lives as long as its registry entry, so
// batches of successive readers of the same file (a file closed for
// inactivity and reopened, an input restarted by a reload) form one
// sequence.
type tracker struct {
	mu    sync.Mutex
	first uint64 // sequence number of pend[0]
	next  uint64
	pend  []pendBatch
}

type pendBatch struct {
	end  int64
	done bool
}

// push registers the next batch, which ends at end, and returns its
// sequence number.
func (t *tracker) push(end int64) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	seq := t.next
	t.next++
	t.pend = append(t.pend, pendBatch{end: end})
	return seq
}

// unpush forgets the batch seq, which was pushed last and then not sent.
func (t *tracker) unpush(seq uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if seq+1 == t.next && len(t.pend) > 0 {
		t.pend = t.pend[:len(t.pend)-1]
		t.next--
	}
}

// ack marks batch seq acknowledged and returns the new checkpoint, or -1
// when it did not move.
func (t *tracker) ack(seq uint64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := int(seq - t.first)
	if seq < t.first || i >= len(t.pend) || t.pend[i].done {
		panic("tailer: batch acknowledged twice or never sent")
	}
	t.pend[i].done = true
	n := 0
	for n < len(t.pend) && t.pend[n].done {
		n++
	}
	if n == 0 {
		return -1
	}
	end := t.pend[n-1].end
	t.first += uint64(n)
	rest := copy(t.pend, t.pend[n:])
	t.pend = t.pend[:rest]
	return end
}

// inflight is a budget of bytes read and not yet acknowledged, shared by all
// readers: it is what keeps memory flat when the sink stalls.
type inflight struct {
	mu    sync.Mutex
	limit int64
	used  int64
	wait  chan struct{} // closed and replaced on every release
}

func newInflight(limit int64) *inflight {
	return &inflight{limit: limit, wait: make(chan struct{})}
}

// acquire takes n bytes of the budget, waiting for releases as long as it is
// exhausted. A batch larger than the whole budget is let through alone.
func (f *inflight) acquire(ctx context.Context, stop <-chan struct{}, n int64) error {
	for {
		f.mu.Lock()
		if f.used == 0 || f.used+n <= f.limit {
			f.used += n
			f.mu.Unlock()
			return nil
		}
		w := f.wait
		f.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return errStopped
		}
	}
}

// force takes n bytes of the budget without waiting, even past the limit.
func (f *inflight) force(n int64) {
	f.mu.Lock()
	f.used += n
	f.mu.Unlock()
}

func (f *inflight) release(n int64) {
	f.mu.Lock()
	f.used -= n
	close(f.wait)
	f.wait = make(chan struct{})
	f.mu.Unlock()
}

func (f *inflight) inUse() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.used
}
