package enrich

import (
	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// conv is a convention an id can come from. Its order is the precedence:
// when sources disagree on the trace id, the lowest conv wins.
type conv uint8

const (
	convECS         conv = iota // trace.id / span.id / parent.id, flat or nested
	convField                   // trace_id, traceId, span_id, ..., OTLP, Serilog @tr/@sp
	convTraceparent             // W3C traceparent
	convB3                      // B3 single header
	convB3Multi                 // X-B3-TraceId, X-B3-SpanId, ...
	convJaeger                  // uber-trace-id
	convXRay                    // X-Amzn-Trace-Id
	convDatadog                 // dd.trace_id, dd.span_id
	convGCP                     // logging.googleapis.com/trace, .../spanId
	convPattern                 // the configured patterns, in message
	convMessage                 // the default patterns, in message
	numConv
)

var convNames = [numConv]string{"ecs", "field", "traceparent", "b3", "b3_multi", "jaeger", "xray", "datadog", "gcp", "pattern", "message"}

func (c conv) String() string { return convNames[c] }

// ref names the member an id came from: a top-level member, or the inner-th
// member of the object a top-level member holds (inner < 0: the member
// itself).
type ref struct {
	member int16
	inner  int16
}

var noRef = ref{-1, -1}

// group is what one convention said about an event.
type group struct {
	c                            ctx
	traceRef, spanRef, parentRef ref
	// conflict: the convention named two different trace ids (trace_id
	// and traceId, say); the first in document order was kept.
	conflict bool
}

func (g *group) setTrace(id shipper.TraceID, r ref) {
	switch {
	case !g.c.hasTrace:
		g.c.trace, g.c.hasTrace, g.traceRef = id, true, r
	case g.c.trace != id:
		g.conflict = true
	}
}

func (g *group) setSpan(id shipper.SpanID, r ref) {
	if !g.c.hasSpan {
		g.c.span, g.c.hasSpan, g.spanRef = id, true, r
	}
}

func (g *group) setParent(id shipper.SpanID, r ref) {
	if !g.c.hasPar {
		g.c.parent, g.c.hasPar, g.parentRef = id, true, r
	}
}

func (g *group) setSampled(s shipper.Sampled) {
	if g.c.sampled == shipper.SampledUnknown {
		g.c.sampled = s
	}
}

func (g *group) merge(c ctx, r ref) {
	if c.hasTrace {
		g.setTrace(c.trace, r)
	}
	if c.hasSpan {
		g.setSpan(c.span, r)
	}
	if c.hasPar {
		g.setParent(c.parent, r)
	}
	g.setSampled(c.sampled)
}

// maxMembers bounds the top-level members looked at, maxInner the members
// of a nested object.
const (
	maxMembers = 1<<15 - 1
	maxInner   = 256
)

// maxCands bounds the id members looked at per event; a line with more is
// hostile or generated, and the extra members are ignored.
const maxCands = 16

type cand struct {
	member int16
	k      kind
}

// scratch is one event's working state. It lives on the stack of Process
// and is reset between events by clearing only what was touched.
type scratch struct {
	groups  [numConv]group
	touched uint16 // bit per conv

	cands [maxCands]cand
	nc    int
	msg   int
	svc   [kServiceName - kSvcFlat + 1]int16
	host  int
	txn   int // a transaction or transaction.id member

	// invalid: an unambiguous id member held no valid id.
	invalid bool
	// flatECS: top-level members named trace.id, span.id, parent.id.
	// One that did not give the agent's value is renamed when the agent
	// writes its own, so the document never holds the field twice.
	flatECS [3]int16

	buf   [256]byte // unquoting
	x     *explainer
	outer []byte // the key of the object being looked into, for Explain
}

func (sc *scratch) reset() {
	for sc.touched != 0 {
		c := trailingZeros16(sc.touched)
		sc.groups[c] = group{}
		sc.touched &^= 1 << c
	}
	sc.nc = 0
	sc.msg, sc.host, sc.txn = -1, -1, -1
	for i := range sc.svc {
		sc.svc[i] = -1
	}
	sc.invalid = false
	sc.flatECS = [3]int16{-1, -1, -1}
}

func trailingZeros16(x uint16) int {
	n := 0
	for x&1 == 0 {
		x >>= 1
		n++
	}
	return n
}

func (sc *scratch) group(c conv) *group {
	sc.touched |= 1 << c
	return &sc.groups[c]
}

// scanKeys is the one pass over an event's member keys.
func (sc *scratch) scanKeys(members []shipper.Member) {
	// Member positions are kept as int16: a line with more members is
	// hostile, and its members past the limit are not looked at.
	if len(members) > maxMembers {
		members = members[:maxMembers]
	}
	for i := range members {
		k := classify(members[i].Key, true)
		switch {
		case k == kNone:
		case k == kMessage:
			sc.msg = i
		case k >= kSvcFlat && k <= kServiceName:
			sc.svc[k-kSvcFlat] = int16(i)
		case k == kHostFlat:
			sc.host = i
		case k == kTransaction:
			sc.txn = i
		default:
			if sc.nc < maxCands {
				sc.cands[sc.nc] = cand{int16(i), k}
				sc.nc++
			}
		}
	}
}

// str returns a raw JSON value's text, unquoted, with surrounding blanks
// trimmed, or false when the value is not a string.
func (sc *scratch) str(v []byte) ([]byte, bool) {
	s, ok := jsonscan.StringContents(v)
	if !ok {
		return nil, false
	}
	if indexByte(s, '\\') >= 0 {
		if len(s) > len(sc.buf) {
			return s, true // too long to be an id; fails to parse
		}
		if s, ok = jsonscan.Unquote(sc.buf[:0], s); !ok {
			return nil, false
		}
	}
	return trimSpace(s), true
}

// scanMembers reads every candidate member into the convention groups.
func (sc *scratch) scanMembers(members []shipper.Member) {
	for _, c := range sc.cands[:sc.nc] {
		m := members[c.member]
		r := ref{c.member, -1}
		switch c.k {
		case kTraceObj, kSpanObj, kParentObj, kDDObj, kNest:
			if len(m.Value) > 0 && m.Value[0] == '{' {
				sc.scanObject(c.k, m.Key, m.Value, c.member)
				continue
			}
			if c.k == kTraceObj || c.k == kSpanObj || c.k == kParentObj {
				sc.value(c.k, m.Key, m.Value, r)
			}
		default:
			sc.value(c.k, m.Key, m.Value, r)
		}
	}
}

// scanObject looks one level into an object member.
func (sc *scratch) scanObject(outer kind, key, obj []byte, member int16) {
	sc.outer = key
	ord := int16(-1)
	jsonscan.EachMember(obj, func(k, v []byte) bool {
		ord++
		if ord >= maxInner {
			return false
		}
		r := ref{member, ord}
		var ik kind
		switch {
		case (outer == kTraceObj || outer == kSpanObj || outer == kParentObj) && string(k) == "id":
			switch outer {
			case kTraceObj:
				ik = kECSTrace
			case kSpanObj:
				ik = kECSSpan
			default:
				ik = kECSParent
			}
		case outer == kDDObj:
			switch classify(k, false) {
			case kTraceID:
				ik = kDDTrace
			case kSpanID:
				ik = kDDSpan
			}
		default:
			ik = classify(k, false)
		}
		if ik == kNone || ik == kTraceObj || ik == kSpanObj || ik == kParentObj || ik == kDDObj {
			return true // one level deep only
		}
		sc.value(ik, k, v, r)
		return true
	})
	sc.outer = nil
}

// header reads a value of one of the conventions whose value is one header
// holding a whole context (trace, span, maybe parent and sampled). A switch
// rather than a table of functions: called through a pointer, the parsers'
// results escaped and cost an allocation per event.
func header(k kind, s []byte) (c conv, tc ctx, ok bool) {
	switch k {
	case kTraceparent:
		tc, ok = parseTraceparent(s)
		return convTraceparent, tc, ok
	case kB3:
		tc, ok = parseB3(s)
		return convB3, tc, ok
	case kJaeger:
		tc, ok = parseJaeger(s)
		return convJaeger, tc, ok
	case kXRay:
		tc, ok = parseXRay(s)
		return convXRay, tc, ok
	}
	tc, ok = parseCloudTraceContext(s)
	return convGCP, tc, ok
}

// value reads one id member of kind k.
func (sc *scratch) value(k kind, key, v []byte, r ref) {
	s, isStr := sc.str(v)
	ok := false
	var c conv
	switch k {
	case kECSTrace, kECSSpan, kECSParent:
		c = convECS
		g := sc.group(c)
		if isStr {
			switch k {
			case kECSTrace:
				var id shipper.TraceID
				if id, ok = parseTraceID(s, false); ok {
					g.setTrace(id, r)
				}
			default:
				var id shipper.SpanID
				if id, ok = parseSpanID(s, false); ok {
					if k == kECSSpan {
						g.setSpan(id, r)
					} else {
						g.setParent(id, r)
					}
				}
			}
		}
		if r.inner < 0 {
			sc.flatECS[k-kECSTrace] = r.member
		}
	case kTraceObj, kSpanObj, kParentObj:
		// A bare "trace"/"span"/"parent" string: used when it is an id,
		// silently ignored otherwise.
		c = convField
		if !isStr {
			return
		}
		g := sc.group(c)
		if k == kTraceObj {
			// A Cloud Logging LogEntry (an export) writes
			// "trace": "projects/<p>/traces/<id>".
			if id, good := parseTraceID(s, false); good {
				g.setTrace(id, r)
			} else if id, good := parseGCPTrace(s); good {
				g.setTrace(id, r)
			}
		} else if id, good := parseSpanID(s, false); good {
			if k == kSpanObj {
				g.setSpan(id, r)
			} else {
				g.setParent(id, r)
			}
		}
		sc.x.value(c, sc.outer, key, v, true)
		return
	case kTraceID, kSerilogTrace:
		c = convField
		if isStr {
			var id shipper.TraceID
			if id, ok = parseTraceID(s, true); ok {
				sc.group(c).setTrace(id, r)
			}
		}
	case kSpanID, kSerilogSpan, kParentID:
		c = convField
		if isStr {
			var id shipper.SpanID
			if id, ok = parseSpanID(s, true); ok {
				if k == kParentID {
					sc.group(c).setParent(id, r)
				} else {
					sc.group(c).setSpan(id, r)
				}
			}
		}
	case kTraceparent, kB3, kJaeger, kXRay, kGCPHeader:
		var tc ctx
		c, tc, ok = header(k, s)
		if ok = ok && isStr; ok {
			sc.group(c).merge(tc, r)
		}
	case kB3Trace:
		c = convB3Multi
		if isStr && (len(s) == 16 || len(s) == 32) {
			var id shipper.TraceID
			if id, ok = parseTraceID(s, false); ok {
				sc.group(c).setTrace(id, r)
			}
		}
	case kB3Span, kB3Parent:
		c = convB3Multi
		if isStr {
			var id shipper.SpanID
			if id, ok = parseSpanID(s, false); ok {
				if k == kB3Span {
					sc.group(c).setSpan(id, r)
				} else {
					sc.group(c).setParent(id, r)
				}
			}
		}
	case kB3Sampled, kB3Flags:
		c = convB3Multi
		t := s
		if !isStr {
			t = v // a number or boolean
		}
		if smp, good := b3Sampled(t); good && (k == kB3Sampled || smp == shipper.SampledYes) {
			sc.group(c).setSampled(smp)
		}
		sc.x.value(c, sc.outer, key, v, true)
		return
	case kDDTrace, kDDSpan:
		c = convDatadog
		t := s
		if !isStr {
			t = v // Datadog ids are also written as JSON numbers
		}
		if k == kDDTrace {
			var id shipper.TraceID
			if id, ok = parseDatadogTrace(t); ok {
				sc.group(c).setTrace(id, r)
			}
		} else {
			var id shipper.SpanID
			if id, ok = parseDatadogSpan(t); ok {
				sc.group(c).setSpan(id, r)
			}
		}
	case kGCPTrace:
		c = convGCP
		if isStr {
			var id shipper.TraceID
			if id, ok = parseGCPTrace(s); ok {
				sc.group(c).setTrace(id, r)
			}
		}
	case kGCPSpan:
		c = convGCP
		if isStr {
			var id shipper.SpanID
			if id, ok = parseSpanID(s, false); ok {
				sc.group(c).setSpan(id, r)
			}
		}
	case kGCPSampled:
		c = convGCP
		switch string(v) {
		case "true":
			sc.group(c).setSampled(shipper.SampledYes)
		case "false":
			sc.group(c).setSampled(shipper.SampledNo)
		}
		sc.x.value(c, sc.outer, key, v, true)
		return
	default:
		return
	}
	if !ok {
		sc.invalid = true
	}
	sc.x.value(c, sc.outer, key, v, ok)
}

// result is the outcome of resolving the groups.
type result struct {
	trace                           shipper.TraceID
	span, parent                    shipper.SpanID
	sampled                         shipper.Sampled
	hasTrace, hasSpan, hasPar       bool
	traceFrom, spanFrom, parentFrom conv
	traceRef, spanRef, parentRef    ref
	conflict                        bool
}

// resolve applies the precedence: the trace id of the lowest convention
// that has one; the span, parent and sampled flag of the lowest convention
// that has one and either names the same trace id or none at all, so that
// a span id is never paired with another convention's trace.
func (sc *scratch) resolve() (r result) {
	t := sc.touched
	if t == 0 {
		return r
	}
	for c := conv(0); c < numConv; c++ {
		if t&(1<<c) == 0 {
			continue
		}
		g := &sc.groups[c]
		if g.conflict {
			r.conflict = true
		}
		if !g.c.hasTrace {
			continue
		}
		if !r.hasTrace {
			r.trace, r.hasTrace, r.traceFrom, r.traceRef = g.c.trace, true, c, g.traceRef
		} else if g.c.trace != r.trace {
			r.conflict = true
		}
	}
	for c := conv(0); c < numConv; c++ {
		if t&(1<<c) == 0 {
			continue
		}
		g := &sc.groups[c]
		if g.c.hasTrace && (!r.hasTrace || g.c.trace != r.trace) {
			continue
		}
		if g.c.hasSpan && !r.hasSpan {
			r.span, r.hasSpan, r.spanFrom, r.spanRef = g.c.span, true, c, g.spanRef
		}
		if g.c.hasPar && !r.hasPar {
			r.parent, r.hasPar, r.parentFrom, r.parentRef = g.c.parent, true, c, g.parentRef
		}
		if r.sampled == shipper.SampledUnknown {
			r.sampled = g.c.sampled
		}
	}
	return r
}
