package parser

import (
	"runtime"
	"sync"
	"weak"

	"github.com/traceship/shipper"
)

// memberCache keeps, for each batch the parser has seen, the member chunk
// its events used, so that the next Process of the same (recycled) batch
// reuses it instead of allocating: a batch's members are otherwise the
// parser's only allocation, and at hundreds of thousands of events per
// second they are most of the garbage.
//
// This is sound because of the Batch contract: when a batch comes back to
// Process it has been Reset, and whoever kept its events past the sink
// copied them (Event.Clone), so nothing refers to the old members. Keys
// are weak pointers, and an entry is removed when its batch is garbage
// collected, so the cache never keeps a batch alive.
//
// It would be simpler as a members arena on shipper.Batch, next to its
// byte arena; until then it lives here.
type memberCache struct {
	mu sync.Mutex
	m  map[weak.Pointer[shipper.Batch]][]shipper.Member
}

func newMemberCache() memberCache {
	return memberCache{m: make(map[weak.Pointer[shipper.Batch]][]shipper.Member)}
}

// get returns the chunk kept for b, emptied, or nil.
func (c *memberCache) get(b *shipper.Batch) []shipper.Member {
	wp := weak.Make(b)
	c.mu.Lock()
	chunk, ok := c.m[wp]
	if ok {
		c.m[wp] = nil // in use: a concurrent Process of another batch cannot see it
	}
	c.mu.Unlock()
	return chunk[:0]
}

// put keeps chunk for b's next Process.
func (c *memberCache) put(b *shipper.Batch, chunk []shipper.Member) {
	if cap(chunk) == 0 {
		return
	}
	wp := weak.Make(b)
	c.mu.Lock()
	_, known := c.m[wp]
	c.m[wp] = chunk
	c.mu.Unlock()
	if !known {
		runtime.AddCleanup(b, c.forget, wp)
	}
}

func (c *memberCache) forget(wp weak.Pointer[shipper.Batch]) {
	c.mu.Lock()
	delete(c.m, wp)
	c.mu.Unlock()
}
