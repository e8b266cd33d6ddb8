package estest

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const traceA = "0af7651916cd43dd8448eb211c80319c"
const traceB = "4bf92f3577b34da6a3ce929d0e0e4736"

// seedLogs stores a small cross-service trace in two daily indices, with
// trace ids written both nested and dotted.
func seedLogs(t *testing.T, e env) {
	t.Helper()
	r := call(t, "POST", e.url+"/_bulk?refresh=true", strings.ReplaceAll(ndjson(
		`{"create":{"_index":"shipper-api-2026.11.21","_id":"1"}}`,
		`{"@timestamp":"2026-11-21T23:59:59.900Z","service":{"name":"api"},"trace":{"id":"`+traceA+`"},"log":{"level":"info"},"message":"request received"}`,
		`{"create":{"_index":"shipper-db-2026.11.22","_id":"2"}}`,
		`{"@timestamp":"2026-11-22T00:00:00.100Z","service.name":"db","trace.id":"`+traceA+`","log.level":"warn","message":"slow query on orders"}`,
		`{"create":{"_index":"shipper-api-2026.11.22","_id":"3"}}`,
		`{"@timestamp":"2026-11-22T00:00:00.050Z","service":{"name":"api"},"trace":{"id":"`+traceA+`"},"log":{"level":"error"},"message":"request failed: timeout"}`,
		`{"create":{"_index":"shipper-api-2026.11.22","_id":"4"}}`,
		`{"@timestamp":"2026-11-22T00:00:01Z","service":{"name":"api"},"trace":{"id":"`+traceB+`"},"log":{"level":"info"},"message":"other request"}`,
		`{"create":{"_index":"other-2026.11.22","_id":"5"}}`,
		`{"@timestamp":"2026-11-22T00:00:02Z","trace":{"id":"`+traceA+`"},"message":"not a shipper index"}`,
	), `"_index":"`, `"_index":"`+e.ns+`-`))
	if strings.Contains(string(r.body), `"errors":true`) {
		t.Fatalf("seeding: %s", r.body)
	}
}

func hitIDs(t *testing.T, r reply) []string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("search: %d %s", r.status, r.body)
	}
	var ids []string
	hits, _ := at(r.obj(t), "hits", "hits").([]any)
	for _, h := range hits {
		ids = append(ids, h.(map[string]any)["_id"].(string))
	}
	return ids
}

// Runs against a real cluster too (SHIPPER_TEST_ES_URL). Paths name
// indices without the test's namespace prefix, which is added.
func TestSearch(t *testing.T) {
	e := newEnv(t, WithClock(fixed))
	seedLogs(t, e)
	tests := []struct {
		name, path, body string
		want             []string // ids in order; nil means any order of wantSet
		wantSet          []string
		wantTotal        int
		doubleOnly       string
	}{
		{name: "trace timeline", path: "/shipper-*/_search",
			body: `{"query":{"term":{"trace.id":"` + traceA + `"}},"sort":[{"@timestamp":{"order":"asc"}}],"size":100}`,
			want: []string{"1", "3", "2"}, wantTotal: 3},
		{name: "desc sort", path: "/shipper-*/_search",
			body: `{"query":{"term":{"trace.id":{"value":"` + traceA + `"}}},"sort":[{"@timestamp":"desc"}]}`,
			want: []string{"2", "3", "1"}, wantTotal: 3},
		{name: "keyword sub-field", path: "/shipper-*/_search",
			body: `{"query":{"term":{"trace.id.keyword":"` + traceA + `"}},"sort":["@timestamp"]}`, want: []string{"1", "3", "2"}, wantTotal: 3},
		{name: "all indices", path: "/*/_search", body: `{"query":{"match":{"trace.id":"` + traceA + `"}},"sort":["@timestamp"]}`,
			want: []string{"1", "3", "2", "5"}, wantTotal: 4},
		{name: "comma list and exclusion", path: "/shipper-*,NS-other-*,-NS-shipper-db-*/_search",
			body: `{"query":{"match_all":{}},"sort":["@timestamp"]}`, want: []string{"1", "3", "4", "5"}, wantTotal: 4},
		{name: "bool filter with range", path: "/shipper-*/_search",
			body: `{"query":{"bool":{"filter":[{"term":{"trace.id":"` + traceA + `"}},{"range":{"@timestamp":{"gte":"2026-11-22T00:00:00Z","lt":"2026-11-22T00:00:00.100Z"}}}]}}}`,
			want: []string{"3"}, wantTotal: 1},
		{name: "range with date math", path: "/shipper-*/_search",
			body: `{"query":{"range":{"@timestamp":{"gte":"now-10h/d","lte":"now"}}},"sort":["@timestamp"]}`, want: []string{"3", "2", "4"}, wantTotal: 3,
			doubleOnly: "needs the double's fixed clock for now"},
		{name: "match analysed", path: "/shipper-*/_search", body: `{"query":{"match":{"message":"QUERY slow"}}}`, want: []string{"2"}, wantTotal: 1},
		{name: "match operator and", path: "/shipper-*/_search", body: `{"query":{"match":{"message":{"query":"request timeout","operator":"and"}}}}`,
			want: []string{"3"}, wantTotal: 1},
		{name: "match_phrase", path: "/shipper-*/_search", body: `{"query":{"match_phrase":{"message":"request failed"}}}`, want: []string{"3"}, wantTotal: 1},
		{name: "match_phrase order matters", path: "/shipper-*/_search", body: `{"query":{"match_phrase":{"message":"failed request"}}}`, want: nil, wantTotal: 0},
		{name: "must_not and should", path: "/shipper-*/_search",
			body: `{"query":{"bool":{"must":{"match_all":{}},"must_not":{"term":{"log.level":"info"}},"should":[{"term":{"service.name":"db"}}]}},"sort":["@timestamp"]}`,
			want: []string{"3", "2"}, wantTotal: 2},
		{name: "should alone needs one", path: "/shipper-*/_search",
			body: `{"query":{"bool":{"should":[{"term":{"service.name":"db"}},{"term":{"log.level":"error"}}]}},"sort":["@timestamp"]}`,
			want: []string{"3", "2"}, wantTotal: 2},
		{name: "size and from", path: "/shipper-*/_search", body: `{"sort":[{"@timestamp":"asc"}],"size":2,"from":1}`,
			want: []string{"3", "2"}, wantTotal: 4},
		{name: "size zero", path: "/shipper-*/_search", body: `{"size":0}`, want: nil, wantTotal: 4},
		{name: "query string q", path: "/shipper-*/_search?q=service.name:db", want: []string{"2"}, wantTotal: 1},
		{name: "sort param", path: "/shipper-*/_search?sort=@timestamp:desc&size=1", want: []string{"4"}, wantTotal: 4},
		{name: "exists", path: "/*/_search", body: `{"query":{"exists":{"field":"service.name"}}}`, wantSet: []string{"1", "2", "3", "4"}, wantTotal: 4},
		{name: "terms", path: "/*/_search", body: `{"query":{"terms":{"log.level":["warn","error"]}}}`, wantSet: []string{"2", "3"}, wantTotal: 2},
		{name: "ids", path: "/*/_search", body: `{"query":{"ids":{"values":["4","5"]}}}`, wantSet: []string{"4", "5"}, wantTotal: 2},
		{name: "no match in wildcard", path: "/nothing-*/_search", body: `{}`, want: nil, wantTotal: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.doubleOnly != "" && e.srv == nil {
				t.Skip(tc.doubleOnly)
			}
			path := "/" + e.ns + "-" + strings.TrimPrefix(strings.ReplaceAll(tc.path, "NS-", e.ns+"-"), "/")
			r := call(t, "POST", e.url+path, tc.body)
			got := hitIDs(t, r)
			if tc.wantSet != nil {
				slices.Sort(got)
				if !slices.Equal(got, tc.wantSet) {
					t.Errorf("ids %v, want %v", got, tc.wantSet)
				}
			} else if !slices.Equal(got, tc.want) {
				t.Errorf("ids %v, want %v", got, tc.want)
			}
			if total := at(r.obj(t), "hits", "total", "value"); total != float64(tc.wantTotal) {
				t.Errorf("total %v, want %d", total, tc.wantTotal)
			}
			if at(r.obj(t), "hits", "total", "relation") != "eq" {
				t.Errorf("relation %v", at(r.obj(t), "hits", "total", "relation"))
			}
		})
	}
}

func TestSearchResponseShape(t *testing.T) {
	srv := New(t, WithClock(fixed))
	seedLogs(t, env{url: srv.URL(), srv: srv, ns: "x"})
	r := call(t, "GET", srv.URL()+"/x-shipper-*/_search", `{"query":{"term":{"trace.id":"`+traceA+`"}},"sort":[{"@timestamp":"asc"}],"_source":["@timestamp","message","trace.*"]}`)
	golden(t, "search_trace", r.body)
	r = call(t, "GET", srv.URL()+"/x-shipper-*/_count", `{"query":{"term":{"trace.id":"`+traceA+`"}}}`)
	if string(r.body) != `{"count":3,"_shards":{"total":3,"successful":3,"skipped":0,"failed":0}}` {
		t.Errorf("_count: %s", r.body)
	}
}

func TestSearchErrors(t *testing.T) {
	srv := New(t)
	seedLogs(t, env{url: srv.URL(), srv: srv, ns: "x"})
	tests := []struct{ name, path, body, wantType, wantReason string }{
		{"unknown query", "/_search", `{"query":{"fuzzy_magic":{"a":1}}}`, "parsing_exception", "unknown query [fuzzy_magic]"},
		{"unknown key", "/_search", `{"qurey":{}}`, "parsing_exception", "Unknown key for a START_OBJECT in [qurey]."},
		{"count with size", "/_count", `{"size":1}`, "parsing_exception", "request does not support [size]"},
		{"window too large", "/_search", `{"from":9999,"size":2}`, "illegal_argument_exception", "Result window is too large"},
		{"sort on text", "/_search", `{"sort":["message"]}`, "illegal_argument_exception", "Text fields are not optimised"},
		{"missing index", "/nope/_search", `{}`, "index_not_found_exception", "no such index [nope]"},
		{"bad JSON", "/_search", `{"query":`, "x_content_parse_exception", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", srv.URL()+tc.path, tc.body)
			if r.status < 400 || at(r.obj(t), "error", "type") != tc.wantType || !strings.Contains(at(r.obj(t), "error", "reason").(string), tc.wantReason) {
				t.Errorf("got %d %s\nwant %s: %s", r.status, r.body, tc.wantType, tc.wantReason)
			}
		})
	}
}

func TestTotalHitsCap(t *testing.T) {
	full := New(t)
	var b strings.Builder
	for i := 0; i < 10001; i++ {
		b.WriteString(`{"index":{"_index":"many"}}` + "\n" + `{"a":1}` + "\n")
	}
	call(t, "POST", full.URL()+"/_bulk", b.String())
	r := call(t, "GET", full.URL()+"/many/_search?size=0", "")
	if at(r.obj(t), "hits", "total", "value") != 10000.0 || at(r.obj(t), "hits", "total", "relation") != "gte" {
		t.Errorf("default total: %s", r.body)
	}
	r = call(t, "GET", full.URL()+"/many/_search?size=0&track_total_hits=true", "")
	if at(r.obj(t), "hits", "total", "value") != 10001.0 {
		t.Errorf("track_total_hits=true: %s", r.body)
	}
}

// A point in time keeps what a search sees fixed while documents keep
// arriving, and search_after pages through it with the implicit _shard_doc
// tiebreaker: every document exactly once, even when sort values tie. Runs
// against a real cluster too.
func TestPointInTime(t *testing.T) {
	e := newEnv(t, WithClock(fixed))
	name := e.ns + "-pit-2026.11.22"
	var lines []string
	// Seven documents, three of them at the same millisecond.
	for i, ts := range []string{"00.001", "00.002", "00.002", "00.002", "00.003", "00.004", "00.005"} {
		lines = append(lines, `{"create":{"_index":"`+name+`","_id":"d`+strconv.Itoa(i)+`"}}`,
			`{"@timestamp":"2026-11-22T10:00:`+ts+`Z","message":"m"}`)
	}
	call(t, "POST", e.url+"/_bulk?refresh=true", ndjson(lines...))

	r := call(t, "POST", e.url+"/"+e.ns+"-pit-*/_pit?keep_alive=1m", "")
	id, _ := at(r.obj(t), "id").(string)
	if r.status != 200 || id == "" {
		t.Fatalf("open: %d %s", r.status, r.body)
	}
	// Written after the point in time: not seen through it.
	call(t, "POST", e.url+"/_bulk?refresh=true", ndjson(
		`{"create":{"_index":"`+name+`","_id":"late"}}`, `{"@timestamp":"2026-11-22T10:00:00.000Z","message":"m"}`))

	var got []string
	var after any
	for page := 0; page < 10; page++ {
		body := map[string]any{"size": 2, "sort": []any{map[string]any{"@timestamp": "asc"}},
			"pit": map[string]any{"id": id, "keep_alive": "1m"}}
		if after != nil {
			body["search_after"] = after
		}
		r := call(t, "POST", e.url+"/_search", string(mustJSON(body)))
		if r.status != 200 {
			t.Fatalf("page %d: %d %s", page, r.status, r.body)
		}
		if pid, _ := at(r.obj(t), "pit_id").(string); pid == "" {
			t.Fatalf("page %d has no pit_id: %s", page, r.body)
		} else {
			id = pid
		}
		hits, _ := at(r.obj(t), "hits", "hits").([]any)
		if len(hits) == 0 {
			break
		}
		for _, h := range hits {
			m := h.(map[string]any)
			got = append(got, m["_id"].(string))
			sort, _ := m["sort"].([]any)
			if len(sort) != 2 {
				t.Fatalf("hit %s sorts by %v: want the timestamp and the tiebreaker", m["_id"], sort)
			}
			after = sort
		}
	}
	if len(got) != 7 {
		t.Fatalf("paged through %v, want the 7 documents there were when the point in time was opened", got)
	}
	slices.Sort(got[1:4]) // the tie's order is the tiebreaker's, whatever it is
	if want := []string{"d0", "d1", "d2", "d3", "d4", "d5", "d6"}; !slices.Equal(got, want) {
		t.Errorf("paged through %v, want %v", got, want)
	}
	if n := len(hitIDs(t, call(t, "POST", e.url+"/"+e.ns+"-pit-*/_search", `{"size":20}`))); n != 8 {
		t.Errorf("a search without the point in time sees %d documents, want 8", n)
	}

	for _, tc := range []struct{ name, path, body, wantType, wantReason string }{
		{"index with pit", "/" + e.ns + "-pit-*/_search", `{"pit":{"id":"` + id + `"}}`, "action_request_validation_exception", "[indices] cannot be used with point in time"},
		// Three values are neither the sort's one nor one more (the
		// tiebreaker's): no tiebreaker is added, and they do not fit.
		{"search_after too long", "/_search", `{"pit":{"id":"` + id + `"},"sort":["@timestamp"],"search_after":[1,2,3]}`, "illegal_argument_exception", "search_after has 3 value(s) but sort has 1."},
		{"search_after empty", "/_search", `{"pit":{"id":"` + id + `"},"sort":["@timestamp"],"search_after":[]}`, "illegal_argument_exception", "Values must contains at least one value."},
		{"search_after without sort", "/_search", `{"pit":{"id":"` + id + `"},"search_after":[1]}`, "illegal_argument_exception", "Sort must contain at least one field."},
		{"search_after with from", "/_search", `{"pit":{"id":"` + id + `"},"from":1,"sort":["@timestamp"],"search_after":[1,2]}`, "illegal_argument_exception", "`from` parameter must be set to 0"},
		{"_shard_doc without pit", "/" + e.ns + "-pit-*/_search", `{"sort":["_shard_doc"]}`, "illegal_argument_exception", "[_shard_doc] sort field cannot be used without [point in time]"},
	} {
		r := call(t, "POST", e.url+tc.path, tc.body)
		if r.status != 400 || at(r.obj(t), "error", "type") != tc.wantType || !strings.Contains(at(r.obj(t), "error", "reason").(string), tc.wantReason) {
			t.Errorf("%s: got %d %s\nwant 400 %s: %s", tc.name, r.status, r.body, tc.wantType, tc.wantReason)
		}
	}

	r = call(t, "DELETE", e.url+"/_pit", `{"id":"`+id+`"}`)
	if r.status != 200 || at(r.obj(t), "num_freed") != float64(1) {
		t.Errorf("close: %d %s", r.status, r.body)
	}
	r = call(t, "DELETE", e.url+"/_pit", `{"id":"`+id+`"}`)
	if r.status != 404 || at(r.obj(t), "num_freed") != float64(0) {
		t.Errorf("close again: %d %s, want 404 with num_freed 0", r.status, r.body)
	}
	r = call(t, "POST", e.url+"/_search", `{"pit":{"id":"`+id+`"}}`)
	if r.status != 404 || at(r.obj(t), "error", "type") != "search_context_missing_exception" {
		t.Errorf("search under a closed point in time: %d %s", r.status, r.body)
	}
}

// A point in time not used within its keep_alive is gone.
func TestPointInTimeExpires(t *testing.T) {
	now := epoch
	srv := New(t, WithClock(func() time.Time { return now }))
	call(t, "POST", srv.URL()+"/_bulk?refresh=true", ndjson(`{"create":{"_index":"a"}}`, `{"message":"m"}`))
	id := at(call(t, "POST", srv.URL()+"/a/_pit?keep_alive=1m", "").obj(t), "id").(string)
	search := func(body string) int {
		return call(t, "POST", srv.URL()+"/_search", `{"pit":{"id":"`+id+`"`+body+`}}`).status
	}
	// Every search keeps it alive for the longest keep_alive given: 30s
	// does not shorten the 1m it was opened with.
	now = now.Add(50 * time.Second)
	if st := search(`,"keep_alive":"30s"`); st != 200 {
		t.Fatalf("search within keep_alive: %d", st)
	}
	now = now.Add(55 * time.Second)
	if st := search(""); st != 200 {
		t.Fatalf("search 55 s after the last, keep_alive 1m: %d", st)
	}
	now = now.Add(61 * time.Second)
	if st := search(""); st != 404 {
		t.Errorf("search 61 s after the last: %d, want 404", st)
	}
	if r := call(t, "POST", srv.URL()+"/a/_pit", ""); r.status != 400 {
		t.Errorf("open without keep_alive: %d %s, want 400", r.status, r.body)
	}
}
