// Package freelist keeps released buffers for reuse, up to a bound on their
// total size.
//
// It is what the agent's hot path recycles batches, bulk bodies and encoder
// buffers through instead of a sync.Pool. A sync.Pool is emptied by every
// other garbage collection, and an agent held near its memory limit
// collects often: each collection then threw the pools away, the next
// batches were allocated again (and grown by appends), which made garbage,
// which brought the next collection sooner. With a thousand files that
// feedback loop cost two thirds of the agent's CPU. A List keeps what it
// holds across collections; its bound keeps the memory flat instead.
package freelist

import (
	"sync"
	"sync/atomic"
)

// List is a bounded LIFO free list of T, safe for concurrent use.
type List[T any] struct {
	mu   sync.Mutex
	free []entry[T]
	held *atomic.Int64 // bytes held, maybe shared with other lists
	max  int64
}

type entry[T any] struct {
	v    T
	size int64
}

// New returns a List that holds at most max bytes.
func New[T any](max int64) *List[T] { return Shared[T](max, new(atomic.Int64)) }

// Shared returns a List whose bound of max bytes is shared with the other
// Lists given the same held counter (lists of size classes, for example).
func Shared[T any](max int64, held *atomic.Int64) *List[T] {
	return &List[T]{held: held, max: max}
}

// Get returns the most recently put value, or ok false when the list is
// empty.
func (l *List[T]) Get() (v T, ok bool) {
	l.mu.Lock()
	n := len(l.free)
	if n == 0 {
		l.mu.Unlock()
		return v, false
	}
	e := l.free[n-1]
	l.free[n-1] = entry[T]{}
	l.free = l.free[:n-1]
	l.mu.Unlock()
	l.held.Add(-e.size)
	return e.v, true
}

// Put keeps v, whose memory is size bytes, unless that would take the list
// past its bound; then it returns false and the caller lets v go.
func (l *List[T]) Put(v T, size int64) bool {
	if l.held.Add(size) > l.max {
		l.held.Add(-size)
		return false
	}
	l.mu.Lock()
	l.free = append(l.free, entry[T]{v, size})
	l.mu.Unlock()
	return true
}

// Shrink lets go of the older half of what the list holds (rounded up):
// for an owner that finds the list unused for a while, so that memory
// kept for a burst is given back when the burst is over.
func (l *List[T]) Shrink() {
	l.mu.Lock()
	n := (len(l.free) + 1) / 2
	var freed int64
	for _, e := range l.free[:n] {
		freed += e.size
	}
	rest := copy(l.free, l.free[n:])
	clear(l.free[rest:])
	l.free = l.free[:rest]
	l.mu.Unlock()
	l.held.Add(-freed)
}

// Held returns the bytes held (by every list sharing the bound).
func (l *List[T]) Held() int64 { return l.held.Load() }
