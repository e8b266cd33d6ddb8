package enrich

import (
	"fmt"

	"github.com/traceship/shipper"
)

// explainer records, in words, what the stage did to one event. Process
// runs with a nil explainer, and every method is a no-op on nil, so the hot
// path pays one pointer test per call site.
type explainer struct {
	notes []string
}

func (x *explainer) notef(format string, args ...any) {
	x.notes = append(x.notes, fmt.Sprintf(format, args...))
}

func (x *explainer) value(c conv, outer, key, v []byte, ok bool) {
	if x == nil {
		return
	}
	if outer != nil {
		key = append(append(append([]byte(nil), outer...), '.'), key...)
	}
	if len(v) > 80 {
		v = append(v[:77:77], "..."...)
	}
	verdict := "a valid id"
	if !ok {
		verdict = "not a valid id: ignored, event tagged " + shipper.TagTraceIDInvalid.Names()[0]
	}
	x.notef("field %q = %s (convention %s): %s", key, v, c, verdict)
}

func (x *explainer) text(sc *scratch) {
	if x == nil {
		return
	}
	for _, c := range []conv{convPattern, convMessage} {
		if sc.touched&(1<<c) == 0 {
			continue
		}
		g := &sc.groups[c]
		if g.c.hasTrace || g.c.hasSpan {
			what := "configured patterns"
			if c == convMessage {
				what = "built-in patterns"
			}
			x.notef("message text matched the %s", what)
		}
	}
}

func (x *explainer) result(r *result, invalid bool) {
	if x == nil {
		return
	}
	if r.hasTrace {
		x.notef("trace.id %s from convention %s (precedence: ecs, field, traceparent, b3, b3_multi, jaeger, xray, datadog, gcp, pattern, message)", r.trace, r.traceFrom)
	} else {
		x.notef("no trace.id")
	}
	if r.hasSpan {
		x.notef("span.id %s from convention %s", r.span, r.spanFrom)
	}
	if r.hasPar {
		x.notef("parent.id %s from convention %s", r.parent, r.parentFrom)
	}
	switch r.sampled {
	case shipper.SampledYes:
		x.notef("trace context says sampled")
	case shipper.SampledNo:
		x.notef("trace context says not sampled")
	}
	if r.conflict {
		x.notef("sources named different trace ids; the one of highest precedence was kept")
	}
}

// Explain describes, one sentence per step, what Process does to ev: each
// id field it recognised and whether it was valid, which convention gave
// trace.id, span.id and parent.id, where service.name came from, and which
// members it removed or renamed. It is for `dry-run --explain` and costs
// allocations; call it before Process (which may remove the fields it
// explains). It does not modify ev and does not count in Stats.
func (e *Enricher) Explain(ev *shipper.Event) []string {
	cp := *ev
	cp.Doc.Members = append([]shipper.Member(nil), ev.Doc.Members...)
	var b shipper.Batch
	var sc scratch
	var lc localCounts
	var svc recentServices
	x := &explainer{}
	sc.reset()
	sc.x = x
	e.event(&b, &cp, e.kubeFor(ev.Source.File), &sc, &svc, &lc)
	return x.notes
}
