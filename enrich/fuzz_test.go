package enrich

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// derivable reports whether hexID (lower-case hex of raw) can be read off
// the input in one of the forms the package accepts: the hex itself in any
// case and with dashes removed (UUID, X-Ray), without its leading zeros
// (64-bit and Jaeger ids), as a decimal (Datadog) or as base64 (OTLP).
func derivable(input string, raw []byte) bool {
	hexID := strings.ToLower(shipperHex(raw))
	decoded := input
	// JSON escapes may spell any character; decode every string value too.
	var v any
	if json.Unmarshal([]byte(input), &v) == nil {
		var sb strings.Builder
		var walk func(any)
		walk = func(x any) {
			switch x := x.(type) {
			case map[string]any:
				for k, y := range x {
					sb.WriteString(k + " ")
					walk(y)
				}
			case []any:
				for _, y := range x {
					walk(y)
				}
			case string:
				sb.WriteString(x + " ")
			}
		}
		walk(v)
		decoded += " " + sb.String()
	}
	hay := strings.ToLower(decoded)
	nodash := strings.NewReplacer("-", "", "%3a", ":").Replace(hay)
	if strings.Contains(hay, hexID) || strings.Contains(nodash, hexID) {
		return true
	}
	trimmed := strings.TrimLeft(hexID, "0")
	if strings.Contains(hay, trimmed) {
		return true
	}
	low := raw[len(raw)-8:]
	if allZero(raw[:len(raw)-8]) {
		if strings.Contains(decoded, strconv.FormatUint(binary.BigEndian.Uint64(low), 10)) {
			return true
		}
	}
	return strings.Contains(decoded, base64.StdEncoding.EncodeToString(raw))
}

func shipperHex(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// FuzzProcess: on any JSON line Process never panics, every id it sets is
// non-zero and derivable from the line, and the document written from the
// event holds each field the agent writes at most once.
func FuzzProcess(f *testing.F) {
	for _, l := range readLinesF(f, "testdata/mixed.log") {
		f.Add(l)
	}
	for _, l := range benchLines {
		f.Add(l)
	}
	f.Add(`{"trace":{"id":"` + T + `","id":"` + T2 + `"},"trace.id":"x"}`)
	f.Add(`{"tr\u0061ce\u002eid":"` + T + `"}`)
	f.Add(`{"trace":{"id":"` + T + `"},"trace.id":"` + T2 + `","span.id":"` + S + `","span":{"id":"` + S2 + `"}}`)
	f.Add(`{"service":{"name":"a","name":"b"},"service.name":5}`)
	f.Add(`{"message":"traceparent=00-` + T + `-` + S + `-01 trace_id=` + T2 + `"}`)
	removing := DefaultConfig()
	removing.Trace.RemoveSourceFields = true
	removing.Trace.Patterns = []string{`id=(?P<trace_id>\S+)`}
	es := []*Enricher{newEnricher(f, DefaultConfig(), nil), newEnricher(f, removing, map[string]string{"NODE_NAME": "n"})}
	f.Fuzz(func(t *testing.T, line string) {
		m, err := jsonscan.Members(nil, []byte(line), 0)
		if err != nil {
			return
		}
		// The parser keeps the last of duplicate keys.
		var dedup []shipper.Member
		for i, a := range m {
			dup := false
			for _, b := range m[i+1:] {
				if bytes.Equal(a.Key, b.Key) {
					dup = true
				}
			}
			if !dup {
				dedup = append(dedup, a)
			}
		}
		for _, e := range es {
			b := &shipper.Batch{Events: []shipper.Event{{Raw: []byte(line), Doc: shipper.Doc{Members: append([]shipper.Member(nil), dedup...)}}}}
			_ = e.Explain(&b.Events[0])
			e.Process(b)
			ev := &b.Events[0]
			if !ev.TraceID.IsZero() && !derivable(line, ev.TraceID[:]) {
				t.Errorf("trace.id %s is not derivable from %s", ev.TraceID, line)
			}
			if !ev.SpanID.IsZero() && !derivable(line, ev.SpanID[:]) {
				t.Errorf("span.id %s is not derivable from %s", ev.SpanID, line)
			}
			if !ev.ParentID.IsZero() && !derivable(line, ev.ParentID[:]) {
				t.Errorf("parent.id %s is not derivable from %s", ev.ParentID, line)
			}
			doc := shipper.AppendSource(nil, ev)
			if !json.Valid(doc) {
				t.Fatalf("document is not JSON: %s", doc)
			}
			counts := agentFieldCounts(t, doc)
			// Only the fields the agent wrote: an application may repeat its
			// own fields ({"trace":{"id":""},"trace.id":""}) and that is kept.
			for p, wrote := range map[string]bool{"trace.id": !ev.TraceID.IsZero(), "span.id": !ev.SpanID.IsZero(),
				"parent.id": !ev.ParentID.IsZero(), "service.name": ev.Service != "", "host.name": ev.Host != ""} {
				if wrote && counts[p] > 1 {
					t.Errorf("%s written %d times in %s (from %s)", p, counts[p], doc, line)
				}
			}
		}
	})
}

func readLinesF(f *testing.F, path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// agentFieldCounts counts, per dotted path, the leaves of doc.
func agentFieldCounts(t *testing.T, doc []byte) map[string]int {
	counts := map[string]int{}
	var walk func(prefix string, v json.RawMessage)
	walk = func(prefix string, v json.RawMessage) {
		v = bytes.TrimSpace(v)
		if len(v) == 0 || v[0] != '{' {
			counts[prefix]++
			return
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}
			p := tok.(string)
			if prefix != "" {
				p = prefix + "." + p
			}
			walk(p, raw)
		}
	}
	walk("", doc)
	return counts
}

// FuzzParsers drives every id parser and the free-text scanner with
// arbitrary bytes: no panic, and every id returned is non-zero and
// derivable from the input.
func FuzzParsers(f *testing.F) {
	for _, s := range []string{T, S, "00-" + T + "-" + S + "-01", T + "-" + S + "-1-" + P, T + ":" + S + ":0:1",
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "projects/p/traces/" + T,
		"5208512171318403364", "S/kvNXezTaajzpKdDg5HNg==", "trace_id=" + T + " span_id=" + S, "dd.trace_id=1 dd.span_id=2",
		"uber-trace-id=" + T + "%3A" + S + "%3A0%3A1", "[trace=" + T + "]", T + "/5208512171318403364;o=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := []byte(s)
		check := func(what string, id []byte, ok bool) {
			if !ok {
				return
			}
			if allZero(id) {
				t.Errorf("%s returned a zero id for %q", what, s)
			}
			if !derivable(s, id) {
				t.Errorf("%s returned %x, not derivable from %q", what, id, s)
			}
		}
		tid, ok := parseTraceID(in, true)
		check("parseTraceID", tid[:], ok)
		sid, ok := parseSpanID(in, true)
		check("parseSpanID", sid[:], ok)
		tid, ok = parseDatadogTrace(in)
		check("parseDatadogTrace", tid[:], ok)
		sid, ok = parseDatadogSpan(in)
		check("parseDatadogSpan", sid[:], ok)
		tid, ok = parseGCPTrace(in)
		check("parseGCPTrace", tid[:], ok)
		for name, p := range map[string]func([]byte) (ctx, bool){"traceparent": parseTraceparent, "b3": parseB3, "jaeger": parseJaeger, "xray": parseXRay, "cloud": parseCloudTraceContext} {
			c, ok := p(in)
			check(name+" trace", c.trace[:], ok && c.hasTrace)
			check(name+" span", c.span[:], ok && c.hasSpan)
			check(name+" parent", c.parent[:], ok && c.hasPar)
		}
		var g group
		scanText(in, &g, noRef)
		check("scanText trace", g.c.trace[:], g.c.hasTrace)
		check("scanText span", g.c.span[:], g.c.hasSpan)
		check("scanText parent", g.c.parent[:], g.c.hasPar)
	})
}
