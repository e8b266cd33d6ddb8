package sample

import (
	"slices"
	"sync"
	"time"
	"unsafe"

	"go.uber.org/zap"

	"github.com/traceship/shipper"
)

// holder implements keep_trace_on_error. It holds copies of the events that
// sampling would drop, per trace, and their batches' acknowledgements, until
// the trace fails (an event at an always-keep level arrives: the copies are
// shipped in that event's batch) or its window ends (they are dropped and
// the acknowledgements released). Traces are held in first-held order, which
// is also expiry order since every trace has the same window, so expiry and
// eviction both take from the front of one queue.
//
// One mutex guards it; Process takes it once per batch.
type holder struct {
	window    time.Duration
	maxTraces int
	maxEvents int
	maxBytes  int64
	logger    *zap.Logger

	mu     sync.Mutex
	traces map[shipper.TraceID]*heldTrace
	queue  []*heldTrace // oldest first; entries already decided are skipped
	qhead  int
	events int
	bytes  int64
	// failed remembers the traces that failed, until when their later
	// events are kept too. fqueue holds them oldest first; an entry whose
	// time differs from the map's is stale (the trace failed again).
	failed   map[shipper.TraceID]time.Time
	fqueue   []failedEntry
	fhead    int
	lastWarn time.Time
	// free holds batch slabs whose copies were all decided, for the next
	// batches: allocating a slab per batch was most of the garbage of a
	// busy sampler, and collecting it most of its CPU.
	free []*slab
	// filling is the slab of the batch being processed: its copies may all
	// be decided before the batch is through, but more are to come.
	filling *slab
	spare   []*heldTrace // decided and out of the queue, for newTrace
}

// maxFreeSlabs bounds the free slabs kept: each is at most a slabDivisor-th
// of max_bytes, so they hold at most a quarter of it besides what is held.
const maxFreeSlabs = slabDivisor / 4

type heldTrace struct {
	id     shipper.TraceID
	since  time.Time
	events []heldEvent
	gone   bool // decided: no longer in traces
}

// heldEvent is a held copy and the slab its memory belongs to.
type heldEvent struct {
	ev *shipper.Event
	sl *slab
}

type failedEntry struct {
	id    shipper.TraceID
	until time.Time
}

func newHolder(cfg KeepTraceOnError, logger *zap.Logger) *holder {
	return &holder{
		window:    cfg.Window,
		maxTraces: cfg.MaxTraces,
		maxEvents: cfg.MaxEvents,
		maxBytes:  cfg.MaxBytes,
		logger:    logger,
		traces:    make(map[shipper.TraceID]*heldTrace),
		failed:    make(map[shipper.TraceID]time.Time),
	}
}

// heldSize is what holding a copy of ev costs: its bytes and the Event and
// Member headers.
func heldSize(ev *shipper.Event) int64 {
	return cost(1, len(ev.Doc.Members), copiedBytes(ev))
}

// cost is what memory for that many events, members and bytes takes.
func cost(events, members, bytes int) int64 {
	return int64(events)*int64(unsafe.Sizeof(shipper.Event{})) + int64(members)*int64(unsafe.Sizeof(shipper.Member{})) +
		int64(bytes)
}

// copiedBytes is how many bytes a copy of ev takes: its raw line, and the
// keys and values of its members that do not lie inside the raw line (most
// do: the parser's members point into it; a stage's edits do not).
func copiedBytes(ev *shipper.Event) int {
	n := len(ev.Raw)
	for _, m := range ev.Doc.Members {
		if _, ok := within(ev.Raw, m.Key); !ok {
			n += len(m.Key)
		}
		if _, ok := within(ev.Raw, m.Value); !ok {
			n += len(m.Value)
		}
	}
	return n
}

// within reports whether p lies inside raw's memory, and at which offset.
// It compares addresses only; nothing is read or written through them.
func within(raw, p []byte) (int, bool) {
	if len(p) == 0 || len(raw) == 0 {
		return 0, false
	}
	r := uintptr(unsafe.Pointer(unsafe.SliceData(raw)))
	q := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	if q < r || q-r > uintptr(len(raw)-len(p)) || len(p) > len(raw) {
		return 0, false
	}
	return int(q - r), true
}

// slabDivisor: a batch's copies share one slab when it takes at most this
// fraction of max_bytes; otherwise each copy gets its own, so that a few
// large batches cannot make holding impossible.
const slabDivisor = 8

// process handles the first n events of b after the ratio decisions: events
// marked DropHeld are held (or kept at once when their trace already
// failed); kept events at an always-keep level fail their trace, which
// appends the trace's held events to b. It also expires traces whose window
// is over. active says whether any event of b is concerned.
func (h *holder) process(b *shipper.Batch, n int, active bool, now time.Time, levels uint32, c *batchCounts) {
	var relBuf [16]*shipper.Ack
	rel := relBuf[:0]
	var need slabNeed
	if active {
		need = batchNeed(b.Events[:n])
	}
	h.mu.Lock()
	var sl *slab
	if need.events > 0 && need.size <= h.maxBytes/slabDivisor {
		sl = h.batchSlab(need)
		h.filling = sl
	}
	rel = h.expire(now, rel, c)
	for i := 0; active && i < n; i++ {
		ev := &b.Events[i]
		switch {
		case ev.Drop == DropHeld:
			if until, ok := h.failed[ev.TraceID]; ok && now.Before(until) {
				ev.Drop = ""
				ev.Tags |= shipper.TagHeldForTrace
				c.keptFailed++
				continue
			}
			rel = h.add(ev, sl, now, rel, c)
		case ev.Drop == "" && levels&(1<<ev.Level) != 0 && !ev.TraceID.IsZero():
			id := ev.TraceID // b.Events may move below
			h.fail(id, now)
			if ht := h.traces[id]; ht != nil {
				for _, he := range ht.events {
					e := he.ev
					e.Tags |= shipper.TagHeldForTrace
					// Copied into b: the slab is reused once decided.
					b.Events = append(b.Events, intoBatch(b, e))
					if e.Ack != nil {
						b.Holds = append(b.Holds, e.Ack)
					}
				}
				c.promoted += uint64(len(ht.events))
				h.remove(ht)
			}
		}
	}
	if h.filling = nil; sl != nil && sl.live == 0 {
		h.recycle(sl) // nothing of this batch is held
	}
	h.mu.Unlock()
	// Outside the lock: a release may run the batch's done function.
	for _, a := range rel {
		a.Release()
	}
}

// add holds a copy of ev in sl (or in a slab of its own when sl is nil),
// first evicting the oldest traces while a bound would be exceeded. Bytes
// are counted per slab, for as long as any copy in it is held: that is the
// memory actually kept alive.
func (h *holder) add(ev *shipper.Event, sl *slab, now time.Time, rel []*shipper.Ack, c *batchCounts) []*shipper.Ack {
	if sl == nil {
		sl = newSlab(ev)
	}
	for {
		need := int64(0)
		if sl.live == 0 {
			need = sl.size
		}
		if h.events+1 <= h.maxEvents && h.bytes+need <= h.maxBytes &&
			(h.traces[ev.TraceID] != nil || len(h.traces) < h.maxTraces) {
			break
		}
		if h.front() == nil {
			c.evicted++ // cannot be held at all: decided now
			return rel
		}
		rel = h.evictOldest(now, rel, c)
	}
	ht := h.traces[ev.TraceID]
	if ht == nil {
		ht = h.newTrace(ev.TraceID, now)
		h.traces[ev.TraceID] = ht
		h.queue = append(h.queue, ht)
	}
	cp := sl.clone(ev)
	cp.Drop = ""
	ev.Ack.Hold()
	if sl.live == 0 {
		h.bytes += sl.size
	}
	sl.live++
	ht.events = append(ht.events, heldEvent{cp, sl})
	h.events++
	c.held++
	return rel
}

// remove forgets a decided trace. Nothing points into its copies any
// more (promoted events were copied into their batch), so a batch slab
// whose last copy this was goes to the free list.
func (h *holder) remove(ht *heldTrace) {
	ht.gone = true
	delete(h.traces, ht.id)
	h.events -= len(ht.events)
	for _, he := range ht.events {
		if he.sl.live--; he.sl.live == 0 {
			h.bytes -= he.sl.size
			if he.sl != h.filling {
				h.recycle(he.sl)
			}
		}
	}
	clear(ht.events)
	ht.events = ht.events[:0]
}

// recycle keeps a batch slab none of whose copies is held any more.
func (h *holder) recycle(sl *slab) {
	if sl.batch && len(h.free) < maxFreeSlabs {
		sl.reset()
		h.free = append(h.free, sl)
	}
}

// batchSlab returns a slab for need: the smallest free one it fits in, or
// a new one.
func (h *holder) batchSlab(need slabNeed) *slab {
	best := -1
	for i, sl := range h.free {
		if sl.fits(need) && (best < 0 || sl.capSize() < h.free[best].capSize()) {
			best = i
		}
	}
	if best < 0 {
		return need.alloc()
	}
	sl := h.free[best]
	h.free = slices.Delete(h.free, best, best+1)
	// It keeps its capacity alive: count that, not only what is needed.
	sl.size = sl.capSize()
	return sl
}

// intoBatch returns a copy of the held event e whose bytes are in b.
func intoBatch(b *shipper.Batch, e *shipper.Event) shipper.Event {
	c := *e
	c.Raw = b.Append(e.Raw)
	c.Doc.Members = b.KeepMembers(cloneMembers(b.AllocMembers(len(e.Doc.Members)), e, c.Raw, b.Append))
	return c
}

// cloneMembers appends to ms the members of ev for a copy of ev whose raw
// line is rawCopy: members inside the raw line (all the parser made) point
// into rawCopy, and the others are copied by copyBytes.
func cloneMembers(ms []shipper.Member, ev *shipper.Event, rawCopy []byte, copyBytes func([]byte) []byte) []shipper.Member {
	rebase := func(p []byte) []byte {
		if off, ok := within(ev.Raw, p); ok {
			return rawCopy[off : off+len(p) : off+len(p)]
		}
		return copyBytes(p)
	}
	for _, m := range ev.Doc.Members {
		ms = append(ms, shipper.Member{Key: rebase(m.Key), Value: rebase(m.Value)})
	}
	return ms
}

// front returns the oldest undecided trace, or nil.
func (h *holder) front() *heldTrace {
	for h.qhead < len(h.queue) {
		ht := h.queue[h.qhead]
		if !ht.gone {
			return ht
		}
		h.queue[h.qhead] = nil
		h.qhead++
		h.reuse(ht) // decided earlier, and now out of the queue too
	}
	h.queue, h.qhead = h.queue[:0], 0
	return nil
}

func (h *holder) pop() {
	h.queue[h.qhead] = nil
	h.qhead++
	if h.qhead > 1024 && h.qhead*2 > len(h.queue) {
		n := copy(h.queue, h.queue[h.qhead:])
		clear(h.queue[n:])
		h.queue, h.qhead = h.queue[:n], 0
	}
}

// drop decides the front trace: its events are not sent.
func (h *holder) drop(ht *heldTrace, rel []*shipper.Ack) []*shipper.Ack {
	for _, he := range ht.events {
		if a := he.ev.Ack; a != nil {
			rel = append(rel, a)
		}
	}
	h.pop()
	h.remove(ht)
	h.reuse(ht)
	return rel
}

// maxSpareTraces bounds the decided traces kept for reuse, and
// maxSpareEvents the list of each.
const (
	maxSpareTraces = 1024
	maxSpareEvents = 64
)

// newTrace returns a trace to hold, reusing a decided one: a trace per
// held trace id, and its list, were most of the sampler's allocations.
func (h *holder) newTrace(id shipper.TraceID, now time.Time) *heldTrace {
	if n := len(h.spare); n > 0 {
		ht := h.spare[n-1]
		h.spare = h.spare[:n-1]
		ht.id, ht.since, ht.gone = id, now, false
		return ht
	}
	return &heldTrace{id: id, since: now, events: make([]heldEvent, 0, 4)}
}

// reuse keeps a trace that is decided and out of both the map and the
// queue, so nothing refers to it any more. A long trace's list is let go:
// kept, it would be memory max_bytes does not count.
func (h *holder) reuse(ht *heldTrace) {
	if len(h.spare) < maxSpareTraces {
		if cap(ht.events) > maxSpareEvents {
			ht.events = nil
		}
		clear(ht.events[:cap(ht.events)])
		ht.events = ht.events[:0]
		h.spare = append(h.spare, ht)
	}
}

func (h *holder) evictOldest(now time.Time, rel []*shipper.Ack, c *batchCounts) []*shipper.Ack {
	ht := h.front()
	if ht == nil {
		return rel
	}
	c.evicted += uint64(len(ht.events))
	if now.Sub(h.lastWarn) >= time.Minute {
		h.lastWarn = now
		h.logger.Warn("keep_trace_on_error is full: dropping the oldest held traces early",
			zap.Int("held_traces", len(h.traces)), zap.Int("held_events", h.events),
			zap.Int64("held_bytes", h.bytes))
	}
	return h.drop(ht, rel)
}

// expire drops the traces held for a whole window, and forgets failed
// traces whose time is over.
func (h *holder) expire(now time.Time, rel []*shipper.Ack, c *batchCounts) []*shipper.Ack {
	for ht := h.front(); ht != nil && now.Sub(ht.since) >= h.window; ht = h.front() {
		c.expired += uint64(len(ht.events))
		rel = h.drop(ht, rel)
	}
	for h.fhead < len(h.fqueue) {
		fe := h.fqueue[h.fhead]
		if until, ok := h.failed[fe.id]; ok && until.Equal(fe.until) {
			if now.Before(until) {
				break
			}
			delete(h.failed, fe.id)
		}
		h.fhead++
	}
	if h.fhead > 1024 && h.fhead*2 > len(h.fqueue) {
		n := copy(h.fqueue, h.fqueue[h.fhead:])
		h.fqueue, h.fhead = h.fqueue[:n], 0
	}
	return rel
}

// fail marks a trace failed until now+window. Refreshing an entry that
// still has more than half its window left is skipped, so that a storm of
// errors in one trace does not grow the queue.
func (h *holder) fail(id shipper.TraceID, now time.Time) {
	until := now.Add(h.window)
	if old, ok := h.failed[id]; ok {
		if old.Sub(now) > h.window/2 {
			return
		}
	} else if len(h.failed) >= h.maxTraces {
		// Forget the oldest failed trace: its later events go back to
		// the ratio.
		for h.fhead < len(h.fqueue) {
			fe := h.fqueue[h.fhead]
			h.fhead++
			if u, ok := h.failed[fe.id]; ok && u.Equal(fe.until) {
				delete(h.failed, fe.id)
				break
			}
		}
	}
	h.failed[id] = until
	h.fqueue = append(h.fqueue, failedEntry{id, until})
}

func (h *holder) tick(now time.Time, c *batchCounts) {
	var relBuf [16]*shipper.Ack
	h.mu.Lock()
	rel := h.expire(now, relBuf[:0], c)
	h.mu.Unlock()
	for _, a := range rel {
		a.Release()
	}
}

func (h *holder) gauges() (events, traces, bytes int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return int64(h.events), int64(len(h.traces)), h.bytes
}

// slab holds copies of held events: for the copies of one batch, three
// allocations rather than two per event plus the growth of each trace's
// list. It stays alive while any copy in it is held, so it is counted
// against max_bytes whole, from its first copy to the release of its last.
type slab struct {
	events  []shipper.Event
	members []shipper.Member
	bytes   []byte
	size    int64 // what it costs: bytes plus Event and Member headers
	live    int   // copies in it still held
	batch   bool  // a batch's slab, reused; not one event's
}

// slabNeed is what the copies of a batch's held events take.
type slabNeed struct {
	events, members, bytes int
	size                   int64
}

// batchNeed sums what copies of the events of evs marked DropHeld take.
func batchNeed(evs []shipper.Event) slabNeed {
	var n slabNeed
	for i := range evs {
		ev := &evs[i]
		if ev.Drop != DropHeld {
			continue
		}
		n.events++
		n.members += len(ev.Doc.Members)
		n.bytes += copiedBytes(ev)
	}
	n.size = cost(n.events, n.members, n.bytes) // the sum of their heldSize
	return n
}

func (n slabNeed) alloc() *slab {
	return &slab{
		events:  make([]shipper.Event, 0, n.events),
		members: make([]shipper.Member, 0, n.members),
		bytes:   make([]byte, 0, n.bytes),
		size:    n.size,
		batch:   true,
	}
}

func (sl *slab) fits(n slabNeed) bool {
	return cap(sl.events) >= n.events && cap(sl.members) >= n.members && cap(sl.bytes) >= n.bytes
}

// capSize is what the slab's memory costs, used or not.
func (sl *slab) capSize() int64 {
	return cost(cap(sl.events), cap(sl.members), cap(sl.bytes))
}

// reset empties a decided slab for reuse. The copies' other pointers
// (acknowledgements, files) are cleared so that a free slab keeps nothing
// else alive; members point only into the slab's own bytes.
func (sl *slab) reset() {
	clear(sl.events)
	sl.events, sl.members, sl.bytes = sl.events[:0], sl.members[:0], sl.bytes[:0]
}

// newSlab is a slab for one copy of ev.
func newSlab(ev *shipper.Event) *slab {
	return &slab{
		events:  make([]shipper.Event, 0, 1),
		members: make([]shipper.Member, 0, len(ev.Doc.Members)),
		bytes:   make([]byte, 0, copiedBytes(ev)),
		size:    heldSize(ev),
	}
}

// clone is Event.Clone into the slab: a copy of ev whose byte slices (Raw
// and Doc, the only ones an event has) no longer point into the batch.
// Members that lie inside the raw line point into the copy of the raw line.
// The slab was sized for it, so its slices never move.
func (sl *slab) clone(ev *shipper.Event) *shipper.Event {
	sl.events = append(sl.events, *ev)
	c := &sl.events[len(sl.events)-1]
	c.Raw = sl.copy(ev.Raw)
	start := len(sl.members)
	sl.members = cloneMembers(sl.members, ev, c.Raw, sl.copy)
	c.Doc.Members = sl.members[start:len(sl.members):len(sl.members)]
	return c
}

func (sl *slab) copy(p []byte) []byte {
	start := len(sl.bytes)
	sl.bytes = append(sl.bytes, p...)
	return sl.bytes[start:len(sl.bytes):len(sl.bytes)]
}
