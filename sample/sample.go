package sample

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/traceship/shipper"
)

// Drop reasons set on Event.Drop. Rules drop with "sample.rule[N]", N being
// the rule's position in the configuration.
const (
	DropRatio     = "sample.ratio"
	DropRateLimit = "sample.rate_limit"
	// DropHeld marks the batch's copy of an event that keep_trace_on_error
	// holds: the event is not sent with this batch; a copy is shipped in a
	// later batch if its trace fails, and the batch's acknowledgement waits
	// for that decision.
	DropHeld = "sample.held"
)

// Clock returns the current time. The sampler reads it once per batch.
type Clock func() time.Time

// Sampler is the sampling stage. Process and Tick are safe for concurrent
// use: several workers of one pipeline share one Sampler, and the decision
// for a trace does not depend on which worker sees its events.
type Sampler struct {
	ratio      float64
	th         threshold
	keepLevels uint32 // bit i set: Level(i) is always kept
	parent     bool
	rules      []rule
	fields     []field // the distinct fields the rules test
	// sharedFields is true when several rules test one field: then an
	// event's field values are cached while its rules are tried.
	sharedFields bool
	// passAll is true when no event can be dropped or changed: Process
	// returns at once.
	passAll bool

	rl   *limiter // nil without rate_limit
	hold *holder  // nil without keep_trace_on_error

	clock  Clock
	logger *zap.Logger
	st     counters
}

type rule struct {
	cond  cond
	ratio float64
	th    threshold
	drop  string // "sample.rule[N]"
	n     atomic.Uint64
}

// New builds a Sampler from a valid configuration. clock may be nil for the
// wall clock; logger may be nil.
func New(cfg Config, clock Clock, logger *zap.Logger) (*Sampler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid sample configuration: %w", err)
	}
	if clock == nil {
		clock = time.Now
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	s := &Sampler{
		ratio:  cfg.Ratio,
		th:     newThreshold(cfg.Ratio),
		parent: cfg.RespectParentSampled,
		clock:  clock,
		logger: logger,
	}
	for _, name := range cfg.AlwaysKeepLevels {
		l, _ := shipper.ParseLevelName(name)
		s.keepLevels |= 1 << l
	}
	s.rules = make([]rule, len(cfg.Rules))
	for i, r := range cfg.Rules {
		fi := -1
		for j := range s.fields {
			if s.fields[j].path == r.When.Field {
				fi = j
			}
		}
		if fi < 0 {
			fi = len(s.fields)
			s.fields = append(s.fields, newField(r.When.Field))
		}
		c, err := compileCond(r.When, fi)
		if err != nil {
			return nil, fmt.Errorf("compiling rules[%d]: %w", i, err)
		}
		s.rules[i] = rule{cond: c, ratio: r.Ratio, th: newThreshold(r.Ratio),
			drop: "sample.rule[" + strconv.Itoa(i) + "]"}
	}
	if cfg.RateLimit != nil {
		s.rl = newLimiter(*cfg.RateLimit, logger)
	}
	if cfg.KeepTraceOnError != nil {
		s.hold = newHolder(*cfg.KeepTraceOnError, logger)
	}
	s.sharedFields = len(s.fields) < len(s.rules)
	keepsAll := s.th.all
	for i := range s.rules {
		keepsAll = keepsAll && s.rules[i].th.all
	}
	if keepsAll {
		// Nothing is ever dropped by sampling: there is nothing to hold.
		s.hold = nil
	}
	s.passAll = keepsAll && s.rl == nil
	return s, nil
}

// decision is what the ratio stage decided for one event.
type decision uint8

const (
	keep     decision = iota // kept, SampleRatio set when below 1
	keepFlag                 // kept at an always-keep level: may fail its trace
	dropIt                   // dropped by the ratio or a rule
)

// decide applies always_keep_levels, respect_parent_sampled, the rules and
// the ratio to ev. It sets ev.SampleRatio for events kept at a ratio below
// 1, and returns the drop reason for events to drop.
func (s *Sampler) decide(ev *shipper.Event, scratch []byte) (d decision, rule int) {
	if s.keepLevels&(1<<ev.Level) != 0 {
		return keepFlag, -1
	}
	if s.parent && ev.Sampled == shipper.SampledYes {
		return keep, -1
	}
	th, ratio, rule := s.th, s.ratio, -1
	if len(s.rules) > 0 {
		if rule = s.matchRule(ev, scratch); rule >= 0 {
			th, ratio = s.rules[rule].th, s.rules[rule].ratio
		}
	}
	var ok bool
	switch {
	case th.all:
		return keep, rule
	case !ev.TraceID.IsZero():
		ok = th.keepTrace(&ev.TraceID)
	default:
		ok = th.keepHash(lineHash(ev.Raw))
	}
	if !ok {
		return dropIt, rule
	}
	ev.SampleRatio = ratio
	return keep, rule
}

// matchRule returns the index of the first rule ev matches, or -1.
func (s *Sampler) matchRule(ev *shipper.Event, scratch []byte) int {
	if !s.sharedFields {
		for i := range s.rules {
			r := &s.rules[i]
			if r.cond.match(s.fields[r.cond.field].get(ev, scratch)) {
				return i
			}
		}
		return -1
	}
	var fc fieldCache
	for i := range s.rules {
		r := &s.rules[i]
		if r.cond.match(fc.get(s.fields, r.cond.field, ev, scratch)) {
			return i
		}
	}
	return -1
}

// Process samples the events of b: it sets Drop on the events it drops and
// SampleRatio on the events kept at a ratio below 1, and appends to b the
// events released from earlier batches (the held events of a trace that
// failed, with their acknowledgements in b.Holds) and pending rate limit
// summaries. Events already dropped by an earlier stage are left alone.
//
// Process is safe for concurrent use. It does not retain b: held events are
// copies.
func (s *Sampler) Process(b *shipper.Batch) {
	if s.passAll {
		return
	}
	var c batchCounts
	// Room for a field value that is not in the event as such (the hex of
	// an id, an unescaped string). It escapes (regexp keeps its input), so
	// it is allocated once per batch, and only when something reads fields.
	var scratch []byte
	if len(s.rules) > 0 || s.rl != nil {
		scratch = make([]byte, 0, 64)
	}
	n := len(b.Events)
	held := false // some event is a candidate for keep_trace_on_error
	for i := 0; i < n; i++ {
		ev := &b.Events[i]
		if ev.Drop != "" {
			continue
		}
		c.seen++
		d, ri := s.decide(ev, scratch)
		switch d {
		case keepFlag:
			c.keptLevel++
			if s.hold != nil && !ev.TraceID.IsZero() {
				held = true
			}
		case dropIt:
			if s.hold != nil && !ev.TraceID.IsZero() {
				ev.Drop = DropHeld
				held = true
				continue
			}
			if ri < 0 {
				ev.Drop = DropRatio
				c.droppedRatio++
			} else {
				ev.Drop = s.rules[ri].drop
				c.ruleDrop(ri, &s.rules[ri].n)
			}
		}
	}
	var now time.Time
	if s.hold != nil || s.rl != nil {
		now = s.clock()
	}
	if s.hold != nil {
		s.hold.process(b, n, held, now, s.keepLevels, &c)
	}
	if s.rl != nil {
		s.rl.process(b, n, now, &c, scratch)
	}
	s.addCounts(&c)
}

// Tick expires held traces whose window has passed (dropping their events
// and releasing their acknowledgements) and prepares the rate limit
// summaries due at now; the next Process appends them to its batch. The
// pipeline calls it periodically, about once a second.
func (s *Sampler) Tick(now time.Time) {
	var c batchCounts
	if s.hold != nil {
		s.hold.tick(now, &c)
	}
	if s.rl != nil {
		s.rl.tick(now, &c)
	}
	s.addCounts(&c)
}
