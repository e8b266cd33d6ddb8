package estest

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"
)

func serve(s *Server, method, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

// FuzzBulk feeds arbitrary bodies to _bulk: never a panic, always a JSON
// answer, and on 200 one result per action with stored sources that are
// JSON objects.
func FuzzBulk(f *testing.F) {
	f.Add([]byte(ndjson(`{"create":{"_index":"a","_id":"1"}}`, `{"@timestamp":"2026-11-22T10:00:00Z","a":{"b":[1,"x"]}}`)))
	f.Add([]byte(ndjson(`{"index":{"_index":"logs-a-b"}}`, `{"a":1}`, `{"delete":{"_index":"a","_id":"1"}}`)))
	f.Add([]byte(ndjson(`{"create":{"_index":"a","_id":"\u0041"}}`, `{"a":1,"a":2}`)))
	f.Add([]byte("{\"update\":{}}\n{}\n"))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, _ := NewServer(WithClock(fixed))
		w := serve(s, "POST", "/_bulk", body)
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("status %d, invalid JSON answer %q", w.Code, w.Body.Bytes())
		}
		if w.Code != 200 {
			if s.Count("") != 0 {
				t.Fatal("a refused request stored documents")
			}
			return
		}
		var resp struct{ Items []map[string]json.RawMessage }
		json.Unmarshal(w.Body.Bytes(), &resp)
		if int64(len(resp.Items)) != s.Requests().Items {
			t.Fatalf("%d results for %d items", len(resp.Items), s.Requests().Items)
		}
		for _, d := range s.Docs("") {
			if !json.Valid(d.Source) || bytes.TrimSpace(d.Source)[0] != '{' {
				t.Fatalf("stored a source that is not a JSON object: %q", d.Source)
			}
		}
	})
}

// FuzzSearch feeds arbitrary search bodies: never a panic, always JSON.
func FuzzSearch(f *testing.F) {
	f.Add([]byte(`{"query":{"bool":{"filter":[{"term":{"trace.id":"` + traceA + `"}},{"range":{"@timestamp":{"gte":"now-1d/d"}}}]}},"sort":[{"@timestamp":"desc"}],"size":3}`))
	f.Add([]byte(`{"query":{"match_phrase":{"message":"request failed"}},"_source":["trace.*"]}`))
	f.Add([]byte(`{"query":{"terms":{"log.level":["warn",1,null]}},"from":1}`))
	f.Add([]byte(`{"sort":"_doc","track_total_hits":2}`))
	f.Add([]byte(`{"sort":[{"@timestamp":"asc"},"_id"],"search_after":[1763805600000,"1"],"size":1}`))
	f.Add([]byte(`{"pit":{"id":"ZXN0ZXN0LXBpdC0x","keep_alive":"1m"},"sort":["@timestamp"],"search_after":[null,9223372036854775807]}`))
	s, _ := NewServer(WithClock(fixed))
	serve(s, "POST", "/_bulk", []byte(ndjson(
		`{"create":{"_index":"shipper-a","_id":"1"}}`, `{"@timestamp":"2026-11-22T10:00:00Z","trace":{"id":"`+traceA+`"},"log.level":"warn","message":"request failed","n":[1,2]}`,
		`{"create":{"_index":"shipper-b","_id":"2"}}`, `{"@timestamp":1763805600000,"trace.id":"`+traceB+`","message":"ok","o":{"p":{"q":true}}}`,
	)))
	// A point in time for the pit seed (its id is the first one the
	// double hands out).
	serve(s, "POST", "/shipper-*/_pit?keep_alive=1h", nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/shipper-*/_search", "/_search", "/_count"} {
			w := serve(s, "POST", path, body)
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s: status %d, invalid JSON %q", path, w.Code, w.Body.Bytes())
			}
		}
	})
}

// FuzzFilterPath: filtering valid JSON with any filter gives valid JSON.
func FuzzFilterPath(f *testing.F) {
	f.Add([]byte(`{"took":1,"errors":true,"items":[{"create":{"status":409,"error":{"type":"x"}}},{"index":{"status":201}}]}`), "errors,items.*.error,items.*.status")
	f.Add([]byte(`{"a.b":{"c":[1,{"d":2}]},"e":[]}`), "**.d,-e")
	f.Add([]byte(`[{"a":1},{"b":2}]`), "a")
	f.Fuzz(func(t *testing.T, doc []byte, filter string) {
		if !json.Valid(doc) {
			return
		}
		doc = bytes.TrimSpace(doc)
		if len(doc) == 0 {
			return
		}
		out := filterPath(doc, filter)
		if !json.Valid(out) {
			t.Fatalf("filterPath(%q, %q) = %q: invalid JSON", doc, filter, out)
		}
	})
}

// FuzzParseISODate: accepted dates survive a round trip, and when Go's
// RFC 3339 parser accepts the same text the instants agree (Go is more
// lenient, e.g. one-digit hours or offset minutes of 60, so the converse
// is checked by FuzzParseISODateAcceptsRFC3339 instead).
func FuzzParseISODate(f *testing.F) {
	for _, s := range []string{"2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123456789+01:00", "2026-11-22", "2026",
		"2026-02-29", "2024-02-29T23:59:59-0530", "2026-11-22T10Z", "2026-11-22 10:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseISODate(s)
		if !ok {
			return
		}
		again, ok2 := parseISODate(got.Format("2006-01-02T15:04:05.999999999Z07:00"))
		if !ok2 || !again.Equal(got) {
			t.Fatalf("%q → %v does not round-trip", s, got)
		}
		if want, err := time.Parse(time.RFC3339Nano, s); err == nil && !want.Equal(got) {
			t.Fatalf("%q: Go parses %v, double %v", s, want, got)
		}
	})
}

// FuzzParseISODateAcceptsRFC3339: every timestamp Go formats as RFC 3339
// (years 0000-9999, offsets within ±18h) is accepted with the same instant.
func FuzzParseISODateAcceptsRFC3339(f *testing.F) {
	f.Add(int64(1763805600), uint32(123000000), int16(60))
	f.Add(int64(-62135596800), uint32(0), int16(-330))
	f.Fuzz(func(t *testing.T, sec int64, nsec uint32, offMin int16) {
		const minSec, maxSec = -62167219200, 253402300799 // 0000-01-01 .. 9999-12-31
		if sec < minSec || sec > maxSec || offMin < -18*60 || offMin > 18*60 {
			return
		}
		tm := time.Unix(sec, int64(nsec%1e9)).In(time.FixedZone("", int(offMin)*60))
		if y := tm.Year(); y < 0 || y > 9999 {
			return
		}
		s := tm.Format(time.RFC3339Nano)
		got, ok := parseISODate(s)
		if !ok || !got.Equal(tm) {
			t.Fatalf("%q: got %v %v, want %v", s, got, ok, tm)
		}
	})
}

func TestParseISODate(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339 in UTC, "" for invalid
	}{
		{"2026-11-22T10:00:00Z", "2026-11-22T10:00:00Z"},
		{"2026-11-22T10:00:00.5+01:00", "2026-11-22T09:00:00.5Z"},
		{"2026-11-22T10:00:00,25Z", "2026-11-22T10:00:00.25Z"},
		{"2026-11-22T10:00+0200", "2026-11-22T08:00:00Z"},
		{"2026-11-22T10-03", "2026-11-22T13:00:00Z"},
		{"2026-11-22T10:00:00", "2026-11-22T10:00:00Z"},
		{"2026-11-22", "2026-11-22T00:00:00Z"},
		{"2026-11", "2026-11-01T00:00:00Z"},
		{"2026", "2026-01-01T00:00:00Z"},
		{"2024-02-29", "2024-02-29T00:00:00Z"},
		{"2026-02-29", ""},
		{"2026-13-01", ""},
		{"2026-11-22 10:00:00", ""},
		{"2026-11-22T24:00:00Z", ""},
		{"26-11-22", ""},
		{"2026-11-22T10:00:00.Z", ""},
		{"2026-11-22T10:00:00Zjunk", ""},
		{"yesterday", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, ok := parseISODate(tc.in)
		if tc.want == "" {
			if ok {
				t.Errorf("parseISODate(%q) = %v, want invalid", tc.in, got)
			}
			continue
		}
		if !ok || got.UTC().Format(time.RFC3339Nano) != tc.want {
			t.Errorf("parseISODate(%q) = %v %v, want %s", tc.in, got.UTC(), ok, tc.want)
		}
	}
}
