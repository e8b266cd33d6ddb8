package estest

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

// One request with every item outcome the agent handles, compared with a
// golden file so the exact Elasticsearch shape is reviewed once and kept.
func TestBulkResponseShape(t *testing.T) {
	srv := New(t, WithClock(fixed))
	body := ndjson(
		`{"create":{"_index":"shipper-api-2026.11.22","_id":"f1-0"}}`,
		`{"@timestamp":"2026-11-22T10:00:00Z","message":"first"}`,
		`{"create":{"_index":"shipper-api-2026.11.22","_id":"f1-0"}}`,
		`{"@timestamp":"2026-11-22T10:00:00Z","message":"replayed"}`,
		`{"index":{"_index":"shipper-api-2026.11.22","_id":"f1-1"}}`,
		`{"@timestamp":"2026-11-22T10:00:01Z","message":"second"}`,
		`{"index":{"_index":"shipper-api-2026.11.22","_id":"f1-1"}}`,
		`{"@timestamp":"2026-11-22T10:00:01Z","message":"second, again"}`,
		`{"create":{"_index":"shipper-api-2026.11.22","_id":"f1-2"}}`,
		`{"@timestamp":"not a date","message":"bad"}`,
		`{"delete":{"_index":"shipper-api-2026.11.22","_id":"f1-1"}}`,
		`{"delete":{"_index":"shipper-api-2026.11.22","_id":"nope"}}`,
		`{"create":{"_index":"Bad-Name","_id":"x"}}`,
		`{"message":"x"}`,
		`{"update":{"_index":"shipper-api-2026.11.22","_id":"f1-0"}}`,
		`{"doc":{"message":"x"}}`,
	)
	r := call(t, "POST", srv.URL()+"/_bulk", body, "Content-Type", "application/x-ndjson")
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	golden(t, "bulk_mixed", r.body)
	if got := srv.Count("shipper-api-2026.11.22"); got != 1 {
		t.Errorf("stored %d documents, want 1 (f1-0; f1-1 deleted)", got)
	}
	d, ok := srv.Get("shipper-api-2026.11.22", "f1-0")
	if !ok || !strings.Contains(string(d.Source), "first") {
		t.Errorf("f1-0 = %+v, %v; want the first version kept by the conflict", d, ok)
	}
	st := srv.Requests()
	want := RequestStats{Requests: 1, Bulk: 1, Items: 9, Created: 2, Updated: 1, Deleted: 1, Conflicts: 1, Rejected: 3}
	if st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
}

// Runs against a real cluster too (SHIPPER_TEST_ES_URL), to keep the
// double honest.
func TestBulkItemOutcomes(t *testing.T) {
	const ix = "IX" // replaced by the test's namespaced index
	tests := []struct {
		name       string
		setup      string // a bulk body sent first, if any
		body       string
		wantStatus int
		wantResult string
		wantError  string
		wantReason string
		doubleOnly string // why the case is skipped against a real cluster
	}{
		{name: "create new", body: ndjson(`{"create":{"_index":"`+ix+`","_id":"1"}}`, `{"a":1}`), wantStatus: 201, wantResult: "created"},
		{name: "create conflict", setup: ndjson(`{"create":{"_index":"`+ix+`","_id":"1"}}`, `{"a":1}`),
			body: ndjson(`{"create":{"_index":"`+ix+`","_id":"1"}}`, `{"a":1}`), wantStatus: 409,
			wantError: "version_conflict_engine_exception", wantReason: "[1]: version conflict, document already exists (current version [1])"},
		{name: "index op_type create conflicts too", setup: ndjson(`{"create":{"_index":"`+ix+`","_id":"1"}}`, `{"a":1}`),
			body: ndjson(`{"index":{"_index":"`+ix+`","_id":"1","op_type":"create"}}`, `{"a":1}`), wantStatus: 409, wantError: "version_conflict_engine_exception"},
		{name: "index overwrites", setup: ndjson(`{"create":{"_index":"`+ix+`","_id":"1"}}`, `{"a":1}`),
			body: ndjson(`{"index":{"_index":"`+ix+`","_id":"1"}}`, `{"a":2}`), wantStatus: 200, wantResult: "updated"},
		{name: "generated id", body: ndjson(`{"index":{"_index":"`+ix+`"}}`, `{"a":1}`), wantStatus: 201, wantResult: "created"},
		{name: "delete missing", setup: ndjson(`{"create":{"_index":"`+ix+`","_id":"1"}}`, `{"a":1}`),
			body: ndjson(`{"delete":{"_index":"` + ix + `","_id":"2"}}`), wantStatus: 404, wantResult: "not_found"},
		{name: "delete on missing index", body: ndjson(`{"delete":{"_index":"IX-missing","_id":"2"}}`), wantStatus: 404, wantError: "index_not_found_exception"},
		{name: "invalid JSON source", body: ndjson(`{"create":{"_index":"`+ix+`","_id":"1"}}`, `{"a":`), wantStatus: 400, wantError: "document_parsing_exception"},
		{name: "source not an object", body: ndjson(`{"create":{"_index":"`+ix+`","_id":"1"}}`, `[1,2]`), wantStatus: 400, wantError: "document_parsing_exception"},
		{name: "duplicate keys", body: ndjson(`{"create":{"_index":"`+ix+`","_id":"1"}}`, `{"a":1,"b":{"c":1,"c":2}}`), wantStatus: 400,
			wantError: "document_parsing_exception", wantReason: "Duplicate field 'c'"},
		{name: "update not implemented", body: ndjson(`{"update":{"_index":"`+ix+`","_id":"1"}}`, `{"doc":{"a":1}}`), wantStatus: 400, wantError: "illegal_argument_exception",
			doubleOnly: "the double refuses update; Elasticsearch implements it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.doubleOnly != "" && e.srv == nil {
				t.Skip(tc.doubleOnly)
			}
			name := e.ix("app")
			if tc.setup != "" {
				call(t, "POST", e.url+"/_bulk", strings.ReplaceAll(tc.setup, "IX", name))
			}
			r := call(t, "POST", e.url+"/_bulk", strings.ReplaceAll(tc.body, "IX", name))
			if r.status != 200 {
				t.Fatalf("whole request status %d: %s", r.status, r.body)
			}
			m := r.obj(t)
			var item map[string]any
			for _, v := range at(m, "items", 0).(map[string]any) {
				item = v.(map[string]any)
			}
			if got := int(item["status"].(float64)); got != tc.wantStatus {
				t.Errorf("item status %d, want %d: %s", got, tc.wantStatus, r.body)
			}
			if tc.wantResult != "" && item["result"] != tc.wantResult {
				t.Errorf("result %v, want %s", item["result"], tc.wantResult)
			}
			if errs := m["errors"].(bool); errs != (tc.wantError != "") {
				t.Errorf("errors = %v, want %v", errs, tc.wantError != "")
			}
			if tc.wantError != "" {
				if got := at(item, "error", "type"); got != tc.wantError {
					t.Errorf("error type %v, want %s", got, tc.wantError)
				}
				if reason, _ := at(item, "error", "reason").(string); !strings.Contains(reason, tc.wantReason) {
					t.Errorf("reason %q, want it to contain %q", reason, tc.wantReason)
				}
			}
			if tc.name == "generated id" {
				if id, _ := item["_id"].(string); len(id) != 20 {
					t.Errorf("generated _id %q, want 20 characters like Elasticsearch's", id)
				}
			}
		})
	}
}

// Malformed requests fail as a whole with 400 and store nothing, even the
// valid items before the bad line (Elasticsearch parses the whole body
// before executing).
func TestBulkMalformed(t *testing.T) {
	good := `{"create":{"_index":"ok","_id":"1"}}` + "\n" + `{"a":1}` + "\n"
	tests := []struct {
		name, path, body, wantType, wantReason string
	}{
		{"empty body", "/_bulk", "", "action_request_validation_exception", "Validation Failed: 1: no requests added;"},
		{"no final newline", "/_bulk", strings.TrimSuffix(good, "\n"), "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]"},
		{"unknown action", "/_bulk", good + `{"upsert":{"_index":"ok"}}` + "\n{}\n", "illegal_argument_exception",
			"Malformed action/metadata line [3], expected field [create], [delete], [index] or [update] but found [upsert]"},
		{"action not an object", "/_bulk", good + `"create"` + "\n", "illegal_argument_exception",
			"Malformed action/metadata line [3], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]"},
		{"two actions in a line", "/_bulk", `{"create":{},"index":{}}` + "\n{}\n", "illegal_argument_exception",
			"Malformed action/metadata line [1], expected END_OBJECT but found [FIELD_NAME]"},
		{"unknown metadata", "/_bulk", `{"create":{"_index":"ok","_type":"doc"}}` + "\n{}\n", "illegal_argument_exception",
			"Action/metadata line [1] contains an unknown parameter [_type]"},
		{"missing index", "/_bulk", good + `{"create":{"_id":"2"}}` + "\n{}\n", "action_request_validation_exception", "Validation Failed: 1: index is missing;"},
		{"invalid JSON action", "/_bulk", `{"create":` + "\n{}\n", "x_content_parse_exception", "Malformed action/metadata line [1]"},
		{"source missing", "/_bulk", `{"create":{"_index":"ok"}}` + "\n", "action_request_validation_exception", "source is missing"},
		{"invalid default index", "/Bad/_bulk", good, "invalid_index_name_exception", "Invalid index name [Bad], must be lowercase"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := New(t)
			r := call(t, "POST", srv.URL()+tc.path, tc.body)
			if r.status != 400 {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			m := r.obj(t)
			if got := at(m, "error", "type"); got != tc.wantType {
				t.Errorf("type %v, want %s", got, tc.wantType)
			}
			if reason, _ := at(m, "error", "reason").(string); !strings.Contains(reason, tc.wantReason) {
				t.Errorf("reason %q, want it to contain %q", reason, tc.wantReason)
			}
			if at(m, "error", "root_cause", 0, "type") != tc.wantType || at(m, "status") != 400.0 {
				t.Errorf("not Elasticsearch's error shape: %s", r.body)
			}
			if n := srv.Count(""); n != 0 {
				t.Errorf("%d documents stored by a rejected request", n)
			}
		})
	}
}

func TestBulkGzipAndDefaultIndex(t *testing.T) {
	srv := New(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(ndjson(`{"create":{"_id":"1"}}`, `{"a":1}`, `{"create":{"_index":"other","_id":"1"}}`, `{"a":1}`)))
	zw.Close()
	r := call(t, "POST", srv.URL()+"/logs-default/_bulk", buf.String(), "Content-Encoding", "gzip")
	if r.status != 200 || bytes.Contains(r.body, []byte(`"errors":true`)) {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if srv.Count("logs-default") != 1 || srv.Count("other") != 1 {
		t.Errorf("counts: logs-default %d, other %d; want 1 and 1", srv.Count("logs-default"), srv.Count("other"))
	}
	if srv.Requests().Gzip != 1 {
		t.Errorf("gzip requests = %d, want 1", srv.Requests().Gzip)
	}
	r = call(t, "POST", srv.URL()+"/_bulk", "not gzip", "Content-Encoding", "gzip")
	if r.status != 400 {
		t.Errorf("corrupt gzip: status %d, want 400", r.status)
	}
}

func TestBulkFilterPath(t *testing.T) {
	srv := New(t)
	body := ndjson(`{"create":{"_index":"fp","_id":"1"}}`, `{"a":1}`, `{"create":{"_index":"fp","_id":"1"}}`, `{"a":1}`)
	tests := []struct{ filter, want string }{
		{"errors,items.*.error,items.*.status", `{"errors":true,"items":[{"create":{"status":201}},{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"[1]: version conflict, document already exists (current version [1])","index_uuid":"ZXN0ZXN0aWQAAAAAAAAAAQ","shard":"0","index":"fp"}}}]}`},
		{"errors", `{"errors":true}`},
		{"items.*._id", `{"items":[{"create":{"_id":"1"}},{"create":{"_id":"1"}}]}`},
		{"-items,-took", `{"errors":true}`},
		{"nothing.matches", `{}`},
	}
	for i, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			b := body
			if i > 0 {
				b = strings.ReplaceAll(body, `"_index":"fp"`, `"_index":"fp`+string(rune('a'+i))+`"`)
				tc.want = strings.ReplaceAll(tc.want, `"index":"fp"`, `"index":"fp`+string(rune('a'+i))+`"`)
			}
			r := call(t, "POST", srv.URL()+"/_bulk?filter_path="+tc.filter, b)
			if string(r.body) != tc.want {
				t.Errorf("filter_path=%s\n got %s\nwant %s", tc.filter, r.body, tc.want)
			}
		})
	}
}

// The bulk handler writes filtered responses directly; they must equal the
// generic filter applied to the full response.
func TestBulkFilterFastPathMatchesGeneric(t *testing.T) {
	body := ndjson(
		`{"create":{"_index":"a","_id":"1"}}`, `{"n":1}`,
		`{"create":{"_index":"a","_id":"1"}}`, `{"n":1}`,
		`{"index":{"_index":"a","_id":"2"}}`, `{"n":"x"}`,
		`{"delete":{"_index":"a","_id":"9"}}`,
		`{"create":{"_index":"a","_id":"3"}}`, `{"n":2}`,
	)
	filters := []string{"errors,items.*.error,items.*.status", "items.*.error", "took,errors", "items", "items.create",
		"items.*._id,items.*.result", "**.status", "items.*.*", "errors,items.index.status", "items.*.error.type", "-items"}
	for _, f := range filters {
		full := New(t, WithClock(fixed))
		filtered := New(t, WithClock(fixed))
		want := filterPath(call(t, "POST", full.URL()+"/_bulk", body).body, f)
		got := call(t, "POST", filtered.URL()+"/_bulk?filter_path="+f, body).body
		if string(got) != string(want) {
			t.Errorf("filter_path=%s\n got %s\nwant %s", f, got, want)
		}
	}
}

// TestDiscardModeCounts: with -discard the double keeps ids only, and still
// answers the _count the benchmark polls (so polling costs the agent
// nothing), and refuses what it cannot answer instead of answering 0.
func TestDiscardModeCounts(t *testing.T) {
	srv := New(t, WithDiscard())
	r := call(t, "POST", srv.URL()+"/_bulk", ndjson(
		`{"create":{"_index":"logs-a","_id":"1"}}`, `{"m":1}`,
		`{"create":{"_index":"logs-b","_id":"2"}}`, `{"m":2}`,
		`{"create":{"_index":"logs-b","_id":"2"}}`, `{"m":2}`), "Content-Type", "application/x-ndjson")
	if r.status != 200 {
		t.Fatalf("bulk: %d %s", r.status, r.body)
	}
	if n, _ := at(call(t, "GET", srv.URL()+"/_count", "").obj(t), "count").(float64); n != 2 {
		t.Errorf("_count = %v, want 2 (the 409 not counted)", n)
	}
	if n, _ := at(call(t, "GET", srv.URL()+"/logs-b/_count", "").obj(t), "count").(float64); n != 1 {
		t.Errorf("logs-b/_count = %v, want 1", n)
	}
	if r := call(t, "GET", srv.URL()+"/_search", ""); r.status != 400 {
		t.Errorf("_search in discard mode: %d, want 400 (no documents kept)", r.status)
	}
}
