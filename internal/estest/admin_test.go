package estest

import (
	"strings"
	"testing"
)

func TestIndexNames(t *testing.T) {
	tests := []struct {
		name, reason string // reason "" means valid
	}{
		{"shipper-api-2026.11.22", ""},
		{".hidden-ok", ""},
		{"a_b+c", ""},
		{"Upper", "must be lowercase"},
		{"has space", "must not contain the following characters"},
		{"star*", "must not contain the following characters"},
		{"q?", "must not contain the following characters"},
		{"comma,", "must not contain the following characters"},
		{"hash#", "must not contain the following characters"},
		{"pipe|", "must not contain the following characters"},
		{`quote"`, "must not contain the following characters"},
		{"lt<", "must not contain the following characters"},
		{"colon:x", "must not contain ':'"},
		{"-lead", "must not start with '_', '-', or '+'"},
		{"_lead", "must not start with '_', '-', or '+'"},
		{"+lead", "must not start with '_', '-', or '+'"},
		{".", "must not be '.' or '..'"},
		{"..", "must not be '.' or '..'"},
		{strings.Repeat("a", 255), ""},
		{strings.Repeat("a", 256), "index name is too long, (256 > 255)"},
		{strings.Repeat("é", 128), "index name is too long, (256 > 255)"},
	}
	srv := New(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			action := `{"create":{"_index":` + string(mustJSON(tc.name)) + `,"_id":"1"}}`
			r := call(t, "POST", srv.URL()+"/_bulk", ndjson(action, `{"a":1}`))
			item := at(r.obj(t), "items", 0, "create").(map[string]any)
			if tc.reason == "" {
				if item["status"] != 201.0 {
					t.Fatalf("valid name refused: %v", item)
				}
				return
			}
			if item["status"] != 400.0 || at(item, "error", "type") != "invalid_index_name_exception" {
				t.Fatalf("got %v, want 400 invalid_index_name_exception", item)
			}
			want := "Invalid index name [" + tc.name + "], " + tc.reason
			if reason := at(item, "error", "reason").(string); !strings.HasPrefix(reason, want) {
				t.Errorf("reason %q, want %q", reason, want)
			}
		})
	}
}

// The built-in logs template turns logs-*-* names into data streams, which
// only accept create and need @timestamp: the trap the sink must avoid.
func TestBuiltinLogsDataStream(t *testing.T) {
	srv := New(t, WithClock(fixed))
	r := call(t, "GET", srv.URL()+"/_index_template/logs", "")
	if r.status != 200 || at(r.obj(t), "index_templates", 0, "index_template", "priority") != 100.0 {
		t.Fatalf("built-in logs template missing: %d %s", r.status, r.body)
	}
	r = call(t, "POST", srv.URL()+"/_bulk", ndjson(
		`{"index":{"_index":"logs-api-default","_id":"1"}}`, `{"@timestamp":"2026-11-22T10:00:00Z","message":"m"}`,
		`{"create":{"_index":"logs-api-default","_id":"2"}}`, `{"message":"no timestamp"}`,
		`{"create":{"_index":"logs-api-default","_id":"3"}}`, `{"@timestamp":"2026-11-22T10:00:00Z","message":"ok"}`,
	))
	m := r.obj(t)
	if at(m, "items", 0, "index", "status") != 400.0 ||
		at(m, "items", 0, "index", "error", "reason") != "only write ops with an op_type of create are allowed in data streams" {
		t.Errorf("index op on a data stream: %v", at(m, "items", 0))
	}
	if reason, _ := at(m, "items", 1, "create", "error", "reason").(string); !strings.HasSuffix(reason, "failed to parse: data stream timestamp field [@timestamp] is missing") {
		t.Errorf("missing @timestamp: %v", at(m, "items", 1))
	}
	if at(m, "items", 2, "create", "status") != 201.0 || at(m, "items", 2, "create", "_index") != ".ds-logs-api-default-2026.11.22-000001" {
		t.Errorf("create into data stream: %v", at(m, "items", 2))
	}
	if got := srv.DataStreams(); len(got) != 1 || got[0] != "logs-api-default" {
		t.Errorf("data streams %v", got)
	}
	if srv.Count("logs-api-default") != 1 || srv.Count("logs-*") != 1 {
		t.Errorf("count by stream name %d, by pattern %d; want 1", srv.Count("logs-api-default"), srv.Count("logs-*"))
	}
	r = call(t, "GET", srv.URL()+"/_data_stream/logs-api-default", "")
	if at(r.obj(t), "data_streams", 0, "template") != "logs" || at(r.obj(t), "data_streams", 0, "ilm_policy") != "logs" {
		t.Errorf("GET _data_stream: %s", r.body)
	}
	// Shapes that are not logs-*-* stay plain indices.
	r = call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"index":{"_index":"logs-api","_id":"1"}}`, `{"message":"m"}`))
	if at(r.obj(t), "items", 0, "index", "status") != 201.0 {
		t.Errorf("logs-api (not logs-*-*) refused: %s", r.body)
	}
	// A higher-priority template without data_stream shadows logs.
	call(t, "PUT", srv.URL()+"/_index_template/mine", `{"index_patterns":["logs-mine-*"],"priority":200}`)
	r = call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"index":{"_index":"logs-mine-x","_id":"1"}}`, `{"message":"m"}`))
	if at(r.obj(t), "items", 0, "index", "status") != 201.0 {
		t.Errorf("higher priority template did not win over logs: %s", r.body)
	}
	// PUT index on a data-stream name is refused; the stream API works.
	r = call(t, "PUT", srv.URL()+"/logs-a-b", "")
	if r.status != 400 || !strings.Contains(string(r.body), "that creates data streams only") {
		t.Errorf("PUT logs-a-b: %d %s", r.status, r.body)
	}
	if r = call(t, "PUT", srv.URL()+"/_data_stream/logs-a-b", ""); r.status != 200 {
		t.Errorf("PUT _data_stream: %d %s", r.status, r.body)
	}
	if r = call(t, "DELETE", srv.URL()+"/_index_template/logs", ""); r.status != 400 {
		t.Errorf("deleting a template in use by data streams: %d %s", r.status, r.body)
	}
	if r = call(t, "DELETE", srv.URL()+"/_data_stream/logs-*", ""); r.status != 200 || len(srv.DataStreams()) != 0 {
		t.Errorf("DELETE _data_stream/logs-*: %d %s, left %v", r.status, r.body, srv.DataStreams())
	}
}

func TestIndexTemplates(t *testing.T) {
	srv := New(t)
	tpl := `{"index_patterns":"shipper-*","priority":150,"template":{"settings":{"number_of_shards":1,"index.lifecycle.name":"shipper"},` +
		`"mappings":{"properties":{"@timestamp":{"type":"date"},"trace":{"properties":{"id":{"type":"keyword"}}},"message":{"type":"match_only_text"}}}}}`
	if r := call(t, "PUT", srv.URL()+"/_index_template/shipper", tpl); r.status != 200 || string(r.body) != `{"acknowledged":true}` {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	r := call(t, "GET", srv.URL()+"/_index_template/shipper", "")
	got := at(r.obj(t), "index_templates", 0, "index_template").(map[string]any)
	// Elasticsearch normalises what it stores; a setup that compares must
	// compare against this shape.
	if at(got, "index_patterns", 0) != "shipper-*" || at(got, "template", "settings", "index", "number_of_shards") != "1" ||
		at(got, "template", "settings", "index", "lifecycle", "name") != "shipper" || got["composed_of"] == nil {
		t.Errorf("stored template not normalised like Elasticsearch: %s", r.body)
	}
	call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"create":{"_index":"shipper-api-2026.11.22","_id":"1"}}`,
		`{"@timestamp":"2026-11-22T10:00:00Z","trace":{"id":"0af7651916cd43dd8448eb211c80319c"},"message":"hello"}`))
	r = call(t, "GET", srv.URL()+"/shipper-api-2026.11.22/_mapping", "")
	if at(r.obj(t), "shipper-api-2026.11.22", "mappings", "properties", "trace", "properties", "id", "type") != "keyword" {
		t.Errorf("template mapping not applied: %s", r.body)
	}
	r = call(t, "GET", srv.URL()+"/shipper-api-2026.11.22", "")
	if at(r.obj(t), "shipper-api-2026.11.22", "settings", "index", "lifecycle", "name") != "shipper" {
		t.Errorf("index.lifecycle.name not applied: %s", r.body)
	}

	tests := []struct {
		name, tpl, wantType, wantReason string
	}{
		{"same priority overlapping", `{"index_patterns":["shipper-api-*"],"priority":150}`, "illegal_argument_exception",
			"index template [clash] has index patterns [shipper-api-*] matching patterns from existing templates [shipper] with patterns (shipper => [shipper-*]) that have the same priority [150], multiple index templates may not match during index creation, please use a different priority"},
		{"overlap with built-in logs", `{"index_patterns":["logs-*"],"priority":100}`, "illegal_argument_exception", "existing templates [logs]"},
		{"no patterns", `{"priority":1}`, "action_request_validation_exception", "index patterns are missing"},
		{"unknown field", `{"index_patterns":["x-*"],"mappings":{}}`, "x_content_parse_exception", "unknown field [mappings]"},
		{"bad field type", `{"index_patterns":["x-*"],"template":{"mappings":{"properties":{"a":{"type":"strnig"}}}}}`,
			"mapper_parsing_exception", "No handler for type [strnig] declared on field [a]"},
		{"upper-case pattern", `{"index_patterns":["X-*"]}`, "invalid_index_template_exception", "must be lowercase"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "PUT", srv.URL()+"/_index_template/clash", tc.tpl)
			if r.status != 400 {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			if at(r.obj(t), "error", "type") != tc.wantType || !strings.Contains(at(r.obj(t), "error", "reason").(string), tc.wantReason) {
				t.Errorf("got %s\nwant %s: %s", r.body, tc.wantType, tc.wantReason)
			}
		})
	}
	// Non-overlapping patterns at equal priority are fine.
	if r := call(t, "PUT", srv.URL()+"/_index_template/other", `{"index_patterns":["other-*"],"priority":150}`); r.status != 200 {
		t.Errorf("disjoint patterns refused: %s", r.body)
	}
	if r := call(t, "DELETE", srv.URL()+"/_index_template/other", ""); r.status != 200 {
		t.Errorf("DELETE: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", srv.URL()+"/_index_template/other", ""); r.status != 404 || at(r.obj(t), "error", "type") != "resource_not_found_exception" {
		t.Errorf("GET deleted template: %d %s", r.status, r.body)
	}
	if r := call(t, "DELETE", srv.URL()+"/_index_template/other", ""); r.status != 404 {
		t.Errorf("DELETE missing template: %d", r.status)
	}
	if names := srv.Templates(); len(names) != 2 || names["shipper"] == nil || names["logs"] == nil {
		t.Errorf("Templates() = %v", names)
	}
}

func TestGlobsOverlap(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"logs-*-*", "logs-*", true},
		{"logs-*-*", "logs-app", false},
		{"logs-*-*", "shipper-*", false},
		{"*", "anything", true},
		{"a*b", "*c", false},
		{"a*c", "*c", true},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"x-*-y", "x-a*", true},
	}
	for _, tc := range tests {
		if got := globsOverlap(tc.a, tc.b); got != tc.want {
			t.Errorf("globsOverlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := globsOverlap(tc.b, tc.a); got != tc.want {
			t.Errorf("globsOverlap(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestILMPolicies(t *testing.T) {
	srv := New(t, WithClock(fixed))
	pol := `{"policy":{"phases":{"hot":{"actions":{}},"delete":{"min_age":"30d","actions":{"delete":{}}}}}}`
	for i := 0; i < 2; i++ {
		if r := call(t, "PUT", srv.URL()+"/_ilm/policy/shipper", pol); r.status != 200 {
			t.Fatalf("PUT: %d %s", r.status, r.body)
		}
	}
	r := call(t, "GET", srv.URL()+"/_ilm/policy/shipper", "")
	golden(t, "ilm_get", r.body)
	if v := at(r.obj(t), "shipper", "version"); v != 1.0 {
		t.Errorf("version after an unchanged PUT = %v, want 1 (no-op)", v)
	}
	call(t, "PUT", srv.URL()+"/_ilm/policy/shipper", strings.Replace(pol, "30d", "7d", 1))
	if v := at(call(t, "GET", srv.URL()+"/_ilm/policy/shipper", "").obj(t), "shipper", "version"); v != 2.0 {
		t.Errorf("version after a change = %v, want 2", v)
	}
	tests := []struct{ name, body, wantType, wantReason string }{
		{"unknown phase", `{"policy":{"phases":{"lukewarm":{"actions":{}}}}}`, "illegal_argument_exception", "Timeseries lifecycle does not support phase [lukewarm]"},
		{"action in wrong phase", `{"policy":{"phases":{"delete":{"actions":{"rollover":{}}}}}}`, "illegal_argument_exception", "invalid action [rollover] defined in phase [delete]"},
		{"forcemerge in hot without rollover", `{"policy":{"phases":{"hot":{"actions":{"forcemerge":{"max_num_segments":1}}}}}}`, "illegal_argument_exception",
			"the [forcemerge] action(s) may not be used in the [hot] phase without an accompanying [rollover] action"},
		{"bad min_age", `{"policy":{"phases":{"delete":{"min_age":"30","actions":{"delete":{}}}}}}`, "illegal_argument_exception", "failed to parse setting [min_age]"},
		{"no policy", `{"phases":{}}`, "x_content_parse_exception", "unknown field [phases]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "PUT", srv.URL()+"/_ilm/policy/bad", tc.body)
			if r.status != 400 || at(r.obj(t), "error", "type") != tc.wantType || !strings.Contains(at(r.obj(t), "error", "reason").(string), tc.wantReason) {
				t.Errorf("got %d %s\nwant %s: %s", r.status, r.body, tc.wantType, tc.wantReason)
			}
		})
	}
	if r := call(t, "GET", srv.URL()+"/_ilm/policy/missing", ""); r.status != 404 || at(r.obj(t), "error", "reason") != "Lifecycle policy not found: missing" {
		t.Errorf("GET missing: %d %s", r.status, r.body)
	}
	call(t, "PUT", srv.URL()+"/_index_template/s", `{"index_patterns":["s-*"],"template":{"settings":{"index.lifecycle.name":"shipper"}}}`)
	call(t, "PUT", srv.URL()+"/s-1", "")
	if r := call(t, "DELETE", srv.URL()+"/_ilm/policy/shipper", ""); r.status != 400 {
		t.Errorf("deleting a policy in use: %d %s", r.status, r.body)
	}
	call(t, "DELETE", srv.URL()+"/s-1", "")
	if r := call(t, "DELETE", srv.URL()+"/_ilm/policy/shipper", ""); r.status != 200 {
		t.Errorf("DELETE: %d %s", r.status, r.body)
	}
	if _, ok := srv.Policies()["shipper"]; ok {
		t.Error("policy still listed after DELETE")
	}
}

func TestIndexEndpoints(t *testing.T) {
	srv := New(t)
	if r := call(t, "HEAD", srv.URL()+"/idx", ""); r.status != 404 {
		t.Errorf("HEAD missing: %d", r.status)
	}
	if r := call(t, "PUT", srv.URL()+"/idx", `{"mappings":{"properties":{"n":{"type":"integer"}}}}`); r.status != 200 ||
		string(r.body) != `{"acknowledged":true,"shards_acknowledged":true,"index":"idx"}` {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if r := call(t, "HEAD", srv.URL()+"/idx", ""); r.status != 200 || len(r.body) != 0 {
		t.Errorf("HEAD existing: %d %q", r.status, r.body)
	}
	if r := call(t, "PUT", srv.URL()+"/idx", ""); r.status != 400 || at(r.obj(t), "error", "type") != "resource_already_exists_exception" {
		t.Errorf("PUT twice: %d %s", r.status, r.body)
	}
	r := call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"index":{"_index":"idx","_id":"1"}}`, `{"n":3000000000}`))
	if at(r.obj(t), "items", 0, "index", "status") != 400.0 {
		t.Errorf("out-of-range integer accepted: %s", r.body)
	}
	call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"index":{"_index":"idx","_id":"1"}}`, `{"n":3}`))
	if r := call(t, "POST", srv.URL()+"/idx/_refresh", ""); r.status != 200 {
		t.Errorf("refresh: %d", r.status)
	}
	if r := call(t, "GET", srv.URL()+"/idx/_doc/1", ""); r.status != 200 || at(r.obj(t), "_source", "n") != 3.0 || at(r.obj(t), "found") != true {
		t.Errorf("GET _doc: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", srv.URL()+"/idx/_doc/2", ""); r.status != 404 || at(r.obj(t), "found") != false {
		t.Errorf("GET missing _doc: %d %s", r.status, r.body)
	}
	r = call(t, "GET", srv.URL()+"/_cat/indices?format=json", "")
	var rows []map[string]any
	if err := jsonUnmarshal(r.body, &rows); err != nil || len(rows) != 1 || rows[0]["index"] != "idx" || rows[0]["docs.count"] != "1" {
		t.Errorf("_cat/indices: %s", r.body)
	}
	if r := call(t, "DELETE", srv.URL()+"/idx", ""); r.status != 200 || srv.Count("idx") != 0 {
		t.Errorf("DELETE: %d", r.status)
	}
	if r := call(t, "GET", srv.URL()+"/idx/_search", ""); r.status != 404 || at(r.obj(t), "error", "type") != "index_not_found_exception" {
		t.Errorf("search deleted index: %d %s", r.status, r.body)
	}
}

// Unknown endpoints and wrong methods answer in Elasticsearch's shape and
// never panic.
func TestUnknownEndpoints(t *testing.T) {
	srv := New(t)
	tests := []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/_nope", 400, `{"error":"no handler found for uri [/_nope] and method [GET]","status":400}`},
		{"GET", "/idx/_nope", 400, `{"error":"no handler found for uri [/idx/_nope] and method [GET]","status":400}`},
		{"GET", "/_bulk", 405, `{"error":"Incorrect HTTP method for uri [/_bulk] and method [GET], allowed: [POST, PUT]","status":405}`},
		{"DELETE", "/", 405, `{"error":"Incorrect HTTP method for uri [/] and method [DELETE], allowed: [GET, HEAD]","status":405}`},
		{"GET", "/a/b/c/d", 400, `{"error":"no handler found for uri [/a/b/c/d] and method [GET]","status":400}`},
		{"POST", "/_bulk", 406, `{"error":"Content-Type header [text/plain] is not supported","status":406}`},
	}
	for _, tc := range tests {
		body, ctype := "", "application/json"
		if tc.status == 406 {
			body, ctype = "{}\n", "text/plain"
		}
		r := call(t, tc.method, srv.URL()+tc.path, body, "Content-Type", ctype)
		if r.status != tc.status || string(r.body) != tc.want {
			t.Errorf("%s %s: %d %s\nwant %d %s", tc.method, tc.path, r.status, r.body, tc.status, tc.want)
		}
		if r.header.Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("%s %s: no X-Elastic-Product header", tc.method, tc.path)
		}
	}
}
