package sample

import (
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// otherKey is the bucket of keys beyond rate_limit.max_keys.
const otherKey = "_other"

// SummaryTag is the tag of the rate limit summary events, so that Kibana
// users can find (or exclude) them.
const SummaryTag = "_rate_limit_summary"

// limiter is a token bucket per key value. One mutex guards it; Process
// takes it once per batch, not per event.
type limiter struct {
	rate     float64
	burst    float64
	interval time.Duration
	maxKeys  int
	key      field
	logger   *zap.Logger

	mu      sync.Mutex
	buckets map[string]*bucket
	// lastSummary is when the current summary interval began; zero until
	// the first batch or tick.
	lastSummary time.Time
	// pending are summary events waiting for the next batch.
	pending []shipper.Event
	// totals are the drops of past intervals per key, for Stats.
	totals map[string]uint64
}

type bucket struct {
	tokens  float64
	last    time.Time
	dropped uint64 // in the current summary interval
}

func newLimiter(cfg RateLimit, logger *zap.Logger) *limiter {
	return &limiter{
		rate:     cfg.EventsPerSecond,
		burst:    float64(cfg.Burst),
		interval: cfg.SummaryInterval,
		maxKeys:  cfg.MaxKeys,
		key:      newField(cfg.Key),
		logger:   logger,
		buckets:  make(map[string]*bucket),
		totals:   make(map[string]uint64),
	}
}

// bucketFor returns the bucket of a key value, creating it while there are
// fewer than maxKeys. Looking up with string(b) does not allocate.
func (l *limiter) bucketFor(v value, now time.Time) *bucket {
	var bk *bucket
	if v.isStr {
		bk = l.buckets[v.s]
	} else {
		bk = l.buckets[string(v.b)]
	}
	if bk != nil {
		return bk
	}
	name := v.s
	if !v.isStr {
		name = string(v.b)
	}
	if len(l.buckets) >= l.maxKeys {
		name = otherKey
		if bk = l.buckets[otherKey]; bk != nil {
			return bk
		}
	}
	bk = &bucket{tokens: l.burst, last: now}
	l.buckets[name] = bk
	return bk
}

// take reports whether the bucket has a token at now, and spends it.
func (l *limiter) take(bk *bucket, now time.Time) bool {
	if d := now.Sub(bk.last); d > 0 {
		bk.tokens += d.Seconds() * l.rate
		if bk.tokens > l.burst {
			bk.tokens = l.burst
		}
		bk.last = now
	}
	if bk.tokens >= 1 {
		bk.tokens--
		return true
	}
	bk.dropped++
	return false
}

// process rate-limits the kept events among the first n of b and appends
// the pending summaries to b.
func (l *limiter) process(b *shipper.Batch, n int, now time.Time, c *batchCounts, scratch []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 0; i < n; i++ {
		ev := &b.Events[i]
		if ev.Drop != "" {
			continue
		}
		if !l.take(l.bucketFor(l.key.get(ev, scratch), now), now) {
			ev.Drop = DropRateLimit
			c.droppedRateLimit++
		}
	}
	l.summarize(now, c)
	if len(l.pending) > 0 {
		b.Events = append(b.Events, l.pending...)
		clear(l.pending)
		l.pending = l.pending[:0]
	}
}

func (l *limiter) tick(now time.Time, c *batchCounts) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.summarize(now, c)
}

// summarize ends the summary interval if it is over: it prepares one
// summary event per key that had drops, and forgets the buckets that are
// full again (a full bucket behaves exactly like a new one).
func (l *limiter) summarize(now time.Time, c *batchCounts) {
	if l.lastSummary.IsZero() {
		l.lastSummary = now
		return
	}
	elapsed := now.Sub(l.lastSummary)
	if elapsed < l.interval {
		return
	}
	var keys int
	var total uint64
	for name, bk := range l.buckets {
		if bk.dropped > 0 {
			l.pending = append(l.pending, l.summary(name, bk.dropped, elapsed, now, int64(keys)))
			l.addTotal(name, bk.dropped)
			keys++
			total += bk.dropped
			bk.dropped = 0
			c.summaries++
		}
		if bk.tokens+now.Sub(bk.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, name)
		}
	}
	l.lastSummary = now
	if total > 0 {
		l.logger.Warn("rate limit dropped events",
			zap.String("key", l.key.path), zap.Int("keys", keys), zap.Uint64("dropped", total),
			zap.Duration("interval", elapsed))
	}
}

// addTotal adds to the drops of past intervals; like the buckets, at most
// max_keys keys and "_other".
func (l *limiter) addTotal(name string, n uint64) {
	if _, ok := l.totals[name]; !ok && len(l.totals) >= l.maxKeys+1 {
		name = otherKey
	}
	l.totals[name] += n
}

// summary builds the event that tells Kibana users about a gap:
//
//	{"@timestamp": now, "message": "N events dropped by rate limit ...",
//	 "log": {"level": "warn"}, "service": {"name": key value when the key is
//	 service.name}, "tags": ["_rate_limit_summary"],
//	 "sample": {"rate_limit": {"key": "service.name", "value": "checkout",
//	 "dropped": N, "interval_seconds": 10}}}
//
// It has no Source.File and no Ack. Its Source.Offset is set from the time
// (plus seq) only so that the document _id (AppendID: "-<offset>") differs
// from other summaries'.
func (l *limiter) summary(name string, dropped uint64, elapsed time.Duration, now time.Time, seq int64) shipper.Event {
	secs := strconv.FormatFloat(elapsed.Seconds(), 'f', -1, 64)
	msg := strconv.FormatUint(dropped, 10) + " events dropped by rate limit for " + l.key.path + " " +
		strconv.Quote(name) + " in the last " + secs + "s"
	var buf []byte
	buf = jsonscan.AppendString(buf, msg)
	msgEnd := len(buf)
	buf = append(buf, `{"rate_limit":{"key":`...)
	buf = jsonscan.AppendString(buf, l.key.path)
	buf = append(buf, `,"value":`...)
	buf = jsonscan.AppendString(buf, name)
	buf = append(buf, `,"dropped":`...)
	buf = strconv.AppendUint(buf, dropped, 10)
	buf = append(buf, `,"interval_seconds":`...)
	buf = append(buf, secs...)
	buf = append(buf, `}}`...)
	sampleEnd := len(buf)
	buf = append(buf, `["`+SummaryTag+`"]`...)
	ev := shipper.Event{
		Source:   shipper.Source{Offset: now.UnixNano() + seq},
		ReadTime: now,
		Time:     now,
		Level:    shipper.LevelWarn,
		Doc: shipper.Doc{Members: []shipper.Member{
			{Key: []byte("message"), Value: buf[:msgEnd:msgEnd]},
			{Key: []byte("sample"), Value: buf[msgEnd:sampleEnd:sampleEnd]},
			{Key: []byte("tags"), Value: buf[sampleEnd:]},
		}},
	}
	if l.key.kind == fieldService && name != otherKey {
		ev.Service = name
	}
	ev.Raw = []byte(msg)
	return ev
}

func (l *limiter) droppedByKey() map[string]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]uint64, len(l.totals)+len(l.buckets))
	for k, v := range l.totals {
		out[k] = v
	}
	for k, bk := range l.buckets {
		if bk.dropped > 0 {
			out[k] += bk.dropped
		}
	}
	return out
}
