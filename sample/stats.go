package sample

import (
	"sync/atomic"
)

// Stats is a snapshot of the sampler's counters, for metrics. Counters only
// grow; the Held* values are gauges.
type Stats struct {
	// Seen counts the events the sampler examined (not already dropped).
	Seen uint64
	// KeptLevel counts events kept because of always_keep_levels.
	KeptLevel uint64
	// DroppedRatio counts events dropped by the top-level ratio.
	DroppedRatio uint64
	// DroppedRule counts events dropped by each rule, by position.
	DroppedRule []uint64
	// DroppedRateLimit counts events dropped by the rate limit.
	DroppedRateLimit uint64
	// DroppedRateLimitByKey counts them per key value (bounded by
	// rate_limit.max_keys; "_other" collects the rest).
	DroppedRateLimitByKey map[string]uint64
	// RateLimitSummaries counts the summary events emitted.
	RateLimitSummaries uint64

	// Held counts events held by keep_trace_on_error.
	Held uint64
	// Promoted counts held events shipped because their trace failed.
	Promoted uint64
	// KeptFailedTrace counts events that sampling would have dropped, kept
	// at once because their trace had already failed.
	KeptFailedTrace uint64
	// Expired counts held events dropped because no failure came in time.
	Expired uint64
	// Evicted counts held events dropped early because a bound
	// (max_traces, max_events, max_bytes) was reached.
	Evicted uint64
	// HeldEvents, HeldTraces and HeldBytes are what is held now.
	HeldEvents int64
	HeldTraces int64
	HeldBytes  int64
}

// counters are the sampler's atomics. Process counts into a batchCounts
// and adds it once per batch, so workers do not contend per event.
type counters struct {
	seen, keptLevel, droppedRatio, droppedRateLimit, summaries atomic.Uint64
	held, promoted, keptFailed, expired, evicted               atomic.Uint64
}

type batchCounts struct {
	seen, keptLevel, droppedRatio, droppedRateLimit, summaries uint64
	held, promoted, keptFailed, expired, evicted               uint64
	// rule drops of the first rules, added once per batch; later rules
	// count straight into their atomics.
	rules [8]uint64
	nr    int
}

func (c *batchCounts) ruleDrop(i int, n *atomic.Uint64) {
	if i < len(c.rules) {
		c.rules[i]++
		if i >= c.nr {
			c.nr = i + 1
		}
		return
	}
	n.Add(1)
}

func addNonZero(a *atomic.Uint64, n uint64) {
	if n != 0 {
		a.Add(n)
	}
}

func (s *Sampler) addCounts(c *batchCounts) {
	addNonZero(&s.st.seen, c.seen)
	addNonZero(&s.st.keptLevel, c.keptLevel)
	addNonZero(&s.st.droppedRatio, c.droppedRatio)
	addNonZero(&s.st.droppedRateLimit, c.droppedRateLimit)
	addNonZero(&s.st.summaries, c.summaries)
	addNonZero(&s.st.held, c.held)
	addNonZero(&s.st.promoted, c.promoted)
	addNonZero(&s.st.keptFailed, c.keptFailed)
	addNonZero(&s.st.expired, c.expired)
	addNonZero(&s.st.evicted, c.evicted)
	for i := 0; i < c.nr; i++ {
		addNonZero(&s.rules[i].n, c.rules[i])
	}
}

// Stats returns a snapshot of the counters.
func (s *Sampler) Stats() Stats {
	st := Stats{
		Seen:               s.st.seen.Load(),
		KeptLevel:          s.st.keptLevel.Load(),
		DroppedRatio:       s.st.droppedRatio.Load(),
		DroppedRateLimit:   s.st.droppedRateLimit.Load(),
		RateLimitSummaries: s.st.summaries.Load(),
		Held:               s.st.held.Load(),
		Promoted:           s.st.promoted.Load(),
		KeptFailedTrace:    s.st.keptFailed.Load(),
		Expired:            s.st.expired.Load(),
		Evicted:            s.st.evicted.Load(),
	}
	st.DroppedRule = make([]uint64, len(s.rules))
	for i := range s.rules {
		st.DroppedRule[i] = s.rules[i].n.Load()
	}
	if s.rl != nil {
		st.DroppedRateLimitByKey = s.rl.droppedByKey()
	}
	if s.hold != nil {
		st.HeldEvents, st.HeldTraces, st.HeldBytes = s.hold.gauges()
	}
	return st
}
