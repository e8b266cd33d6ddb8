package enrich

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	T  = "4bf92f3577b34da6a3ce929d0e0e4736"
	TU = "4BF92F3577B34DA6A3CE929D0E0E4736"
	S  = "00f067aa0ba902b7"
	P  = "b7ad6b7169203331"
	T2 = "0af7651916cd43dd8448eb211c80319c"
	S2 = "b9c7c989f97918e1"
)

// batchOf builds a batch the way the parser leaves it: one event per JSON
// line, its members in Doc.
func batchOf(t testing.TB, file *shipper.File, lines ...string) *shipper.Batch {
	t.Helper()
	b := &shipper.Batch{File: file}
	for i, l := range lines {
		m, err := jsonscan.Members(nil, []byte(l), 0)
		if err != nil {
			t.Fatalf("line %d is not a JSON object: %v\n%s", i, err, l)
		}
		b.Events = append(b.Events, shipper.Event{Raw: []byte(l), Doc: shipper.Doc{Members: m},
			Source: shipper.Source{File: file, Offset: int64(i * 100)}})
	}
	return b
}

func newEnricher(t testing.TB, cfg Config, env map[string]string) *Enricher {
	t.Helper()
	e, err := New(cfg, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func process(t testing.TB, e *Enricher, line string) *shipper.Event {
	t.Helper()
	b := batchOf(t, nil, line)
	e.Process(b)
	return &b.Events[0]
}

func hexOrEmpty[T interface {
	IsZero() bool
	String() string
}](id T) string {
	if id.IsZero() {
		return ""
	}
	return id.String()
}

func TestTraceConventions(t *testing.T) {
	tests := []struct {
		name, line          string
		trace, span, parent string
		sampled             shipper.Sampled
		invalid             bool
	}{
		// The common field names, in every spelling, any case of hex.
		{name: "trace_id span_id", line: `{"trace_id":"` + T + `","span_id":"` + S + `"}`, trace: T, span: S},
		{name: "traceId spanId", line: `{"traceId":"` + T + `","spanId":"` + S + `"}`, trace: T, span: S},
		{name: "traceID spanID", line: `{"traceID":"` + T + `","spanID":"` + S + `"}`, trace: T, span: S},
		{name: "trace-id", line: `{"trace-id":"` + T + `"}`, trace: T},
		{name: "TRACE_ID upper-case hex", line: `{"TRACE_ID":"` + TU + `","SPAN_ID":"00F067AA0BA902B7"}`, trace: T, span: S},
		{name: "flat ECS", line: `{"trace.id":"` + T + `","span.id":"` + S + `","parent.id":"` + P + `"}`, trace: T, span: S, parent: P},
		{name: "nested ECS", line: `{"trace":{"id":"` + T + `"},"span":{"id":"` + S + `"}}`, trace: T, span: S},
		{name: "parent_span_id", line: `{"trace_id":"` + T + `","span_id":"` + S + `","parent_span_id":"` + P + `"}`, trace: T, span: S, parent: P},
		{name: "parentId", line: `{"traceId":"` + T + `","parentId":"` + P + `"}`, trace: T, parent: P},
		{name: "64-bit trace padded", line: `{"trace_id":"a3ce929d0e0e4736"}`, trace: "0000000000000000a3ce929d0e0e4736"},
		{name: "UUID form", line: `{"trace_id":"4bf92f35-77b3-4da6-a3ce-929d0e0e4736"}`, trace: T},
		{name: "UUID upper-case", line: `{"traceId":"4BF92F35-77B3-4DA6-A3CE-929D0E0E4736"}`, trace: T},
		{name: "OTLP hex", line: `{"timeUnixNano":"1","traceId":"` + T + `","spanId":"` + S + `","body":{"stringValue":"x"}}`, trace: T, span: S},
		{name: "OTLP base64", line: `{"traceId":"S/kvNXezTaajzpKdDg5HNg==","spanId":"APBnqgupArc="}`, trace: T, span: S},
		{name: "Serilog @tr @sp", line: `{"@t":"2026-11-22T10:00:00Z","@mt":"hi","@tr":"` + T + `","@sp":"` + S + `"}`, trace: T, span: S},
		{name: "bare trace string", line: `{"trace":"` + T + `"}`, trace: T},
		{name: "escaped value", line: `{"trace_id":"\u0034bf92f3577b34da6a3ce929d0e0e4736"}`, trace: T},
		{name: "blanks around value", line: `{"trace_id":" ` + T + ` "}`, trace: T},

		// W3C traceparent.
		{name: "traceparent sampled", line: `{"traceparent":"00-` + T + `-` + S + `-01"}`, trace: T, span: S, sampled: shipper.SampledYes},
		{name: "traceparent not sampled", line: `{"traceparent":"00-` + T + `-` + S + `-00"}`, trace: T, span: S, sampled: shipper.SampledNo},
		{name: "traceparent upper-case key and hex", line: `{"Traceparent":"00-` + TU + `-00F067AA0BA902B7-01"}`, trace: T, span: S, sampled: shipper.SampledYes},
		{name: "traceparent future version with extra field", line: `{"traceparent":"01-` + T + `-` + S + `-01-what-ever"}`, trace: T, span: S, sampled: shipper.SampledYes},
		{name: "traceparent in headers", line: `{"headers":{"traceparent":"00-` + T + `-` + S + `-01","tracestate":"congo=t61rcWkgMzE"}}`, trace: T, span: S, sampled: shipper.SampledYes},

		// B3.
		{name: "b3 single", line: `{"b3":"` + T + `-` + S + `-1-` + P + `"}`, trace: T, span: S, parent: P, sampled: shipper.SampledYes},
		{name: "b3 single 64-bit, no sampling", line: `{"b3":"a3ce929d0e0e4736-` + S + `"}`, trace: "0000000000000000a3ce929d0e0e4736", span: S},
		{name: "b3 single debug", line: `{"b3":"` + T + `-` + S + `-d"}`, trace: T, span: S, sampled: shipper.SampledYes},
		{name: "b3 deny only", line: `{"b3":"0"}`, sampled: shipper.SampledNo},
		{name: "b3 multi", line: `{"X-B3-TraceId":"` + T + `","X-B3-SpanId":"` + S + `","X-B3-ParentSpanId":"` + P + `","X-B3-Sampled":"0"}`, trace: T, span: S, parent: P, sampled: shipper.SampledNo},
		{name: "b3 multi lower-case, flags", line: `{"x-b3-traceid":"a3ce929d0e0e4736","x-b3-spanid":"` + S + `","x-b3-flags":"1"}`, trace: "0000000000000000a3ce929d0e0e4736", span: S, sampled: shipper.SampledYes},

		// Jaeger.
		{name: "uber-trace-id", line: `{"uber-trace-id":"` + T + `:` + S + `:` + P + `:1"}`, trace: T, span: S, parent: P, sampled: shipper.SampledYes},
		{name: "uber-trace-id short ids, no parent", line: `{"uber-trace-id":"3ce929d0e0e4736:f067aa0ba902b7:0:0"}`, trace: "000000000000000003ce929d0e0e4736", span: S, sampled: shipper.SampledNo},
		{name: "uber-trace-id url-encoded", line: `{"uber-trace-id":"` + T + `%3A` + S + `%3A0%3A3"}`, trace: T, span: S, sampled: shipper.SampledYes},

		// AWS X-Ray.
		{name: "X-Cloud-Trace-Context", line: `{"headers":{"X-Cloud-Trace-Context":"105445aa7843bc8bf206b12000100000/1;o=1"}}`, trace: "105445aa7843bc8bf206b12000100000", span: "0000000000000001", sampled: shipper.SampledYes},
		{name: "X-Cloud-Trace-Context without span", line: `{"X-Cloud-Trace-Context":"105445aa7843bc8bf206b12000100000"}`, trace: "105445aa7843bc8bf206b12000100000"},
		{name: "Lambda Powertools xray_trace_id", line: `{"xray_trace_id":"1-5759e988-bd862e3fe1be46a994272793","function_request_id":"c6af9ac6"}`, trace: "5759e988bd862e3fe1be46a994272793"},
		{name: "X-Amzn-Trace-Id", line: `{"X-Amzn-Trace-Id":"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}`, trace: "5759e988bd862e3fe1be46a994272793", span: "53995c3f42cd8ad8", sampled: shipper.SampledYes},
		{name: "X-Ray root only, blanks", line: `{"x-amzn-trace-id":"Self=1-67891234-12456789abcdef012345678; Root=1-5759e988-bd862e3fe1be46a994272793; Sampled=0"}`, trace: "5759e988bd862e3fe1be46a994272793", sampled: shipper.SampledNo},
		{name: "X-Ray id in a trace_id field", line: `{"trace_id":"1-5759e988-bd862e3fe1be46a994272793"}`, trace: "5759e988bd862e3fe1be46a994272793"},

		// Datadog.
		{name: "dd decimal strings", line: `{"dd.trace_id":"5208512171318403364","dd.span_id":"7434408358728162356"}`, trace: "0000000000000000" + "48485a3953bb6124", span: "672c5303592fdc34"},
		{name: "dd decimal numbers", line: `{"dd.trace_id":5208512171318403364,"dd.span_id":7434408358728162356}`, trace: "000000000000000048485a3953bb6124", span: "672c5303592fdc34"},
		{name: "dd nested", line: `{"dd":{"trace_id":"5208512171318403364","span_id":"7434408358728162356","service":"x"}}`, trace: "000000000000000048485a3953bb6124", span: "672c5303592fdc34"},
		{name: "dd 128-bit hex", line: `{"dd.trace_id":"` + T + `"}`, trace: T},
		{name: "dd max uint64", line: `{"dd.trace_id":"18446744073709551615"}`, trace: "0000000000000000ffffffffffffffff"},

		// Google Cloud.
		{name: "gcp", line: `{"logging.googleapis.com/trace":"projects/shop-prod/traces/` + T + `","logging.googleapis.com/spanId":"` + S + `","logging.googleapis.com/trace_sampled":true}`, trace: T, span: S, sampled: shipper.SampledYes},
		{name: "gcp LogEntry export", line: `{"trace":"projects/shop/traces/` + T + `","spanId":"` + S + `","traceSampled":true,"jsonPayload":{"message":"x"}}`, trace: T, span: S, sampled: shipper.SampledYes},
		{name: "gcp bare id", line: `{"logging.googleapis.com/trace":"` + T + `"}`, trace: T},

		// Nested context objects.
		{name: "mdc", line: `{"mdc":{"traceId":"` + T + `","spanId":"` + S + `"}}`, trace: T, span: S},
		{name: "contextMap", line: `{"contextMap":{"trace_id":"` + T + `"}}`, trace: T},
		{name: "trace object with more", line: `{"trace":{"id":"` + T + `","sampled":true},"span":{"id":"` + S + `","name":"GET"}}`, trace: T, span: S},

		// Free text.
		{name: "text trace_id=", line: `{"message":"payment declined trace_id=` + T + ` span_id=` + S + `"}`, trace: T, span: S},
		{name: "text traceId: quoted", line: `{"message":"ctx traceId: \"` + T + `\", spanId: '` + S + `'"}`, trace: T, span: S},
		{name: "text [trace=]", line: `{"message":"[trace=` + T + `] charged"}`, trace: T},
		{name: "text traceparent", line: `{"message":"incoming traceparent=00-` + T + `-` + S + `-01 from gw"}`, trace: T, span: S, sampled: shipper.SampledYes},
		{name: "text TRACE_ID upper", line: `{"message":"TRACE_ID=` + TU + `"}`, trace: T},
		{name: "text dd", line: `{"message":"boom [dd.service=pay dd.env=prod dd.trace_id=5208512171318403364 dd.span_id=7434408358728162356]"}`, trace: "000000000000000048485a3953bb6124", span: "672c5303592fdc34"},
		{name: "text uber-trace-id", line: `{"message":"uber-trace-id=` + T + `:` + S + `:0:1"}`, trace: T, span: S, sampled: shipper.SampledYes},
		{name: "text X-Amzn-Trace-Id", line: `{"message":"X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}`, trace: "5759e988bd862e3fe1be46a994272793", span: "53995c3f42cd8ad8", sampled: shipper.SampledYes},
		{name: "text stacktrace= is not a trace", line: `{"message":"stacktrace=` + T + `"}`},
		{name: "text trace: prose", line: `{"message":"trace: see the panic below"}`},
		{name: "text tracing id is not an id key", line: `{"message":"tracing=` + T + `"}`},

		// Invalid forms: no id, tagged.
		{name: "all zeros", line: `{"trace_id":"00000000000000000000000000000000"}`, invalid: true},
		{name: "zero span", line: `{"trace_id":"` + T + `","span_id":"0000000000000000"}`, trace: T, invalid: true},
		{name: "non-hex", line: `{"trace_id":"4bf92f3577b34da6a3ce929d0e0e473g"}`, invalid: true},
		{name: "wrong length", line: `{"trace_id":"4bf92f3577b34da6a3ce929d0e0e473"}`, invalid: true},
		{name: "empty", line: `{"trace_id":""}`, invalid: true},
		{name: "number", line: `{"trace_id":12345}`, invalid: true},
		{name: "null", line: `{"traceId":null}`, invalid: true},
		{name: "object", line: `{"trace_id":{"a":1}}`, invalid: true},
		{name: "bool", line: `{"span_id":true}`, invalid: true},
		{name: "base64 of the wrong size", line: `{"traceId":"S/kvNXezTaajzpKdDg5H"}`, invalid: true},
		{name: "base64 zeros", line: `{"traceId":"AAAAAAAAAAAAAAAAAAAAAA=="}`, invalid: true},
		{name: "base64 not accepted in ECS trace.id", line: `{"trace.id":"S/kvNXezTaajzpKdDg5HNg=="}`, invalid: true},
		{name: "UUID misplaced dashes", line: `{"trace_id":"4bf92f357-7b3-4da6-a3ce-929d0e0e4736"}`, invalid: true},
		{name: "traceparent version ff", line: `{"traceparent":"ff-` + T + `-` + S + `-01"}`, invalid: true},
		{name: "traceparent zero trace", line: `{"traceparent":"00-00000000000000000000000000000000-` + S + `-01"}`, invalid: true},
		{name: "traceparent v00 too long", line: `{"traceparent":"00-` + T + `-` + S + `-01-x"}`, invalid: true},
		{name: "b3 bad sampled", line: `{"b3":"` + T + `-` + S + `-x"}`, invalid: true},
		{name: "jaeger three parts", line: `{"uber-trace-id":"` + T + `:` + S + `:1"}`, invalid: true},
		{name: "X-Cloud-Trace-Context bad span", line: `{"X-Cloud-Trace-Context":"105445aa7843bc8bf206b12000100000/abc;o=1"}`, invalid: true},
		{name: "xray bad root", line: `{"X-Amzn-Trace-Id":"Root=2-5759e988-bd862e3fe1be46a994272793"}`, invalid: true},
		{name: "dd zero", line: `{"dd.trace_id":"0"}`, invalid: true},
		{name: "dd overflow", line: `{"dd.trace_id":"18446744073709551616"}`, invalid: true},
		{name: "dd negative", line: `{"dd.trace_id":-5}`, invalid: true},
		{name: "dd float", line: `{"dd.span_id":1.5}`, invalid: true},
		{name: "gcp other path", line: `{"logging.googleapis.com/trace":"projects/p/spans/` + T + `"}`, invalid: true},
		{name: "bare trace string that is a stack trace", line: `{"trace":"goroutine 1 [running]:"}`},
		{name: "invalid span keeps valid trace", line: `{"traceparent":"00-` + T + `-` + S + `-01","span_id":"xyz"}`, trace: T, span: S, sampled: shipper.SampledYes, invalid: true},
		{name: "nothing", line: `{"level":"info","msg":"hello","user":"bob"}`},
	}
	e := newEnricher(t, DefaultConfig(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := process(t, e, tt.line)
			if got := hexOrEmpty(ev.TraceID); got != tt.trace {
				t.Errorf("trace.id = %q, want %q", got, tt.trace)
			}
			if got := hexOrEmpty(ev.SpanID); got != tt.span {
				t.Errorf("span.id = %q, want %q", got, tt.span)
			}
			if got := hexOrEmpty(ev.ParentID); got != tt.parent {
				t.Errorf("parent.id = %q, want %q", got, tt.parent)
			}
			if ev.Sampled != tt.sampled {
				t.Errorf("sampled = %v, want %v", ev.Sampled, tt.sampled)
			}
			if got := ev.Tags.Has(shipper.TagTraceIDInvalid); got != tt.invalid {
				t.Errorf("tagged _trace_id_invalid = %v, want %v", got, tt.invalid)
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	tp := func(trace, span string) string { return "00-" + trace + "-" + span + "-01" }
	tests := []struct {
		name, line  string
		trace, span string
		conflict    bool
	}{
		{"ECS trace.id beats trace_id", `{"trace_id":"` + T2 + `","trace.id":"` + T + `"}`, T, "", true},
		{"trace_id beats traceparent", `{"traceparent":"` + tp(T2, S2) + `","trace_id":"` + T + `"}`, T, "", true},
		{"span of the losing context is not paired with the winner", `{"traceparent":"` + tp(T2, S2) + `","trace_id":"` + T + `","dd.span_id":"1"}`, T, "0000000000000001", true},
		{"span_id with no trace joins traceparent's trace", `{"traceparent":"` + tp(T, S2) + `","span_id":"` + S + `"}`, T, S, false},
		{"agreeing sources are no conflict", `{"traceparent":"` + tp(T, S) + `","trace_id":"` + T + `","span_id":"` + S + `"}`, T, S, false},
		{"traceparent beats b3", `{"b3":"` + T2 + `-` + S2 + `","traceparent":"` + tp(T, S) + `"}`, T, S, true},
		{"b3 beats jaeger", `{"uber-trace-id":"` + T2 + `:` + S2 + `:0:1","b3":"` + T + `-` + S + `"}`, T, S, true},
		{"jaeger beats xray", `{"X-Amzn-Trace-Id":"Root=1-5759e988-bd862e3fe1be46a994272793","uber-trace-id":"` + T + `:` + S + `:0:1"}`, T, S, true},
		{"xray beats datadog", `{"dd.trace_id":"1","X-Amzn-Trace-Id":"Root=1-5759e988-bd862e3fe1be46a994272793"}`, "5759e988bd862e3fe1be46a994272793", "", true},
		{"datadog beats gcp", `{"logging.googleapis.com/trace":"` + T2 + `","dd.trace_id":"1"}`, "00000000000000000000000000000001", "", true},
		{"any field beats message text", `{"message":"trace_id=` + T2 + `","logging.googleapis.com/trace":"` + T + `"}`, T, "", false},
		{"first of a convention's fields wins", `{"trace_id":"` + T + `","traceId":"` + T2 + `"}`, T, "", true},
		{"invalid higher source does not hide a valid lower one", `{"trace.id":"nope","traceparent":"` + tp(T, S) + `"}`, T, S, false},
	}
	e := newEnricher(t, DefaultConfig(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.Stats().Conflicts
			ev := process(t, e, tt.line)
			if got := hexOrEmpty(ev.TraceID); got != tt.trace {
				t.Errorf("trace.id = %q, want %q", got, tt.trace)
			}
			if got := hexOrEmpty(ev.SpanID); got != tt.span {
				t.Errorf("span.id = %q, want %q", got, tt.span)
			}
			if got := e.Stats().Conflicts - before; (got == 1) != tt.conflict {
				t.Errorf("conflicts counted %d, want conflict=%v", got, tt.conflict)
			}
		})
	}
}

// When an application writes one field twice with different values (flat
// and nested), the document still holds trace.id once: the value not used
// is kept under the encoder's _app name.
func TestConflictingECSFieldsWrittenOnce(t *testing.T) {
	e := newEnricher(t, DefaultConfig(), nil)
	for _, line := range []string{
		`{"trace":{"id":"` + T + `"},"trace.id":"` + T2 + `","span":{"id":"` + S + `"},"span.id":"` + S2 + `"}`,
		`{"trace.id":"` + T + `","trace":{"id":"` + T2 + `"},"span.id":"` + S + `","span":{"id":"` + S2 + `"}}`,
	} {
		ev := process(t, e, line)
		doc := shipper.AppendSource(nil, ev)
		paths, err := leafPaths(doc)
		if err != nil {
			t.Errorf("%v in %s", err, doc)
			continue
		}
		if string(paths["trace.id"]) != `"`+T+`"` || string(paths["span.id"]) != `"`+S+`"` {
			t.Errorf("first in document order should win: %s", doc)
		}
		if !bytes.Contains(doc, []byte(T2)) || !bytes.Contains(doc, []byte(S2)) {
			t.Errorf("the other values were lost: %s", doc)
		}
	}
}

func TestConfiguredPatterns(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Trace.Patterns = []string{`req=(?P<trace_id>[0-9a-f]{32})/(?P<span_id>[0-9a-f]{16})`}
	e := newEnricher(t, cfg, nil)
	ev := process(t, e, `{"message":"GET /pay req=`+T+`/`+S+` 200"}`)
	if ev.TraceID.String() != T || ev.SpanID.String() != S {
		t.Fatalf("pattern ids = %s/%s, want %s/%s", ev.TraceID, ev.SpanID, T, S)
	}
	if got := e.Stats().TraceIDsBySource["pattern"]; got != 1 {
		t.Errorf("TraceIDsBySource[pattern] = %d, want 1", got)
	}
	// A pattern's capture must still be a valid id.
	ev = process(t, e, `{"message":"req=`+strings.Repeat("0", 32)+`/`+S+`"}`)
	if !ev.TraceID.IsZero() {
		t.Errorf("all-zero capture gave trace.id %s", ev.TraceID)
	}

	off := DefaultConfig()
	off.Trace.ScanMessage = false
	e = newEnricher(t, off, nil)
	if ev := process(t, e, `{"message":"trace_id=`+T+`"}`); !ev.TraceID.IsZero() {
		t.Errorf("scan_message: false still read the message: %s", ev.TraceID)
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Trace.Patterns = []string{`(?P<trace_id>[0-9a-f]{32})`, `([`, `no groups`}
	cfg.Service.Name = strings.Repeat("x", 300)
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken pattern")
	}
	for _, want := range []string{"trace.patterns[1]: error parsing regexp", "trace.patterns[2]: pattern captures no id", "service.name: longer than 256"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "patterns[0]") {
		t.Errorf("valid pattern reported: %v", err)
	}
	if _, err := New(cfg, nil); err == nil {
		t.Error("New accepted an invalid config")
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func TestTransactionID(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Trace.TransactionID = TransactionIDSpanID
	e := newEnricher(t, cfg, nil)
	for _, tt := range []struct{ name, line, want string }{
		{"from span.id", `{"traceparent":"00-` + T + `-` + S + `-01"}`, `"` + S + `"`},
		{"the application's own kept", `{"traceparent":"00-` + T + `-` + S + `-01","transaction":{"id":"` + P + `"}}`, `"` + P + `"`},
		{"the application's own flat kept", `{"traceparent":"00-` + T + `-` + S + `-01","transaction.id":"` + P + `"}`, `"` + P + `"`},
		{"no span, none written", `{"trace_id":"` + T + `"}`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := process(t, e, tt.line)
			paths, err := leafPaths(shipper.AppendSource(nil, ev))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(paths["transaction.id"]); got != tt.want {
				t.Errorf("transaction.id = %s, want %s", got, tt.want)
			}
		})
	}
	ev := process(t, newEnricher(t, DefaultConfig(), nil), `{"traceparent":"00-`+T+`-`+S+`-01"}`)
	if _, ok := ev.Doc.Get("transaction.id"); ok {
		t.Errorf("transaction.id written by default")
	}
	bad := DefaultConfig()
	bad.Trace.TransactionID = "span"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `trace.transaction_id: unknown value "span": use "none" or "span_id"`) {
		t.Errorf("Validate(transaction_id: span) = %v", err)
	}
}

func TestParseTraceID(t *testing.T) {
	for in, want := range map[string]string{
		T: T, " " + TU + "\n": T, "4bf92f35-77b3-4da6-a3ce-929d0e0e4736": T, "a3ce929d0e0e4736": "0000000000000000a3ce929d0e0e4736",
		"1-5759e988-bd862e3fe1be46a994272793": "5759e988bd862e3fe1be46a994272793", "00-" + T + "-" + S + "-01": T,
		"projects/shop/traces/" + T: T, "": "", "xyz": "", strings.Repeat("0", 32): "", "S/kvNXezTaajzpKdDg5HNg==": "",
	} {
		id, ok := ParseTraceID(in)
		if got := hexOrEmpty(id); got != want || ok != (want != "") {
			t.Errorf("ParseTraceID(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// Hostile sizes: ids past the limits are not read, and nothing is removed
// that was not read.
func TestHostileSizes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Trace.RemoveSourceFields = true
	e := newEnricher(t, cfg, nil)
	var sb strings.Builder
	sb.WriteString(`{"mdc":{`)
	for i := range 300 {
		sb.WriteString(`"k` + strconv.Itoa(i) + `":1,`)
	}
	sb.WriteString(`"trace_id":"` + T + `"}}`)
	ev := process(t, e, sb.String())
	if !ev.TraceID.IsZero() {
		t.Errorf("trace id read past the nested member limit")
	}
	if len(ev.Doc.Members) != 1 || !strings.Contains(string(ev.Doc.Members[0].Value), T) {
		t.Errorf("mdc object changed")
	}

	sb.Reset()
	sb.WriteString(`{`)
	for i := range 40000 {
		sb.WriteString(`"k` + strconv.Itoa(i) + `":1,`)
	}
	sb.WriteString(`"service":"late","trace_id":"` + T + `"}`)
	ev = process(t, e, sb.String())
	if !ev.TraceID.IsZero() || ev.Service != "" {
		t.Errorf("members past the top-level limit were read: trace %s service %q", ev.TraceID, ev.Service)
	}
}
