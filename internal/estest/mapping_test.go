package estest

import (
	"fmt"
	"strings"
	"testing"
)

// Documents that do not fit the index's mapping are what the agent
// dead-letters; each case sends a first document that fixes the mapping
// (or relies on a template) and a second one that must be accepted or
// refused as Elasticsearch would.
func TestMappingConflicts(t *testing.T) {
	tests := []struct {
		name       string
		template   string // optional template body for index "m-1"
		first      string
		second     string
		wantType   string // "" means accepted
		wantReason string
	}{
		{name: "timestamp not a date", first: `{"@timestamp":"2026-11-22T10:00:00Z"}`, second: `{"@timestamp":"yesterday"}`,
			wantType: "document_parsing_exception", wantReason: "failed to parse field [@timestamp] of type [date] in document with id '2'. Preview of field's value: 'yesterday'"},
		{name: "space-separated date refused", first: `{"ts":"2026-11-22T10:00:00.123+01:00"}`, second: `{"ts":"2026-11-22 10:00:00"}`,
			wantType: "document_parsing_exception", wantReason: "failed to parse field [ts] of type [date]"},
		{name: "epoch millis number in a date", first: `{"@timestamp":"2026-11-22T10:00:00Z"}`, second: `{"@timestamp":1763805600000}`},
		{name: "date-only string in a date", first: `{"@timestamp":"2026-11-22T10:00:00Z"}`, second: `{"@timestamp":"2026-11-22"}`},
		{name: "invalid day refused", first: `{"@timestamp":"2026-11-22T10:00:00Z"}`, second: `{"@timestamp":"2026-02-30T10:00:00Z"}`,
			wantType: "document_parsing_exception"},
		{name: "slash date detected", first: `{"d":"2015/09/02"}`, second: `{"d":"soon"}`, wantType: "document_parsing_exception",
			wantReason: "of type [date]"},
		{name: "object where text was", first: `{"user":"bob"}`, second: `{"user":{"name":"bob"}}`, wantType: "document_parsing_exception",
			wantReason: "failed to parse field [user] of type [text] in document with id '2'. Preview of field's value: '{name=bob}'"},
		{name: "object where keyword was (template)", template: `{"index_patterns":["m-*"],"template":{"mappings":{"properties":{"trace":{"properties":{"id":{"type":"keyword"}}}}}}}`,
			first: `{"trace":{"id":"abc"}}`, second: `{"trace":{"id":{"x":1}}}`, wantType: "document_parsing_exception",
			wantReason: "failed to parse field [trace.id] of type [keyword]"},
		{name: "value where object was", first: `{"user":{"name":"bob"}}`, second: `{"user":"bob"}`, wantType: "document_parsing_exception",
			wantReason: "object mapping for [user] tried to parse field [user] as object, but found a concrete value"},
		{name: "word in a long", first: `{"n":5}`, second: `{"n":"five"}`, wantType: "document_parsing_exception",
			wantReason: "failed to parse field [n] of type [long]"},
		{name: "numeric string coerced into a long", first: `{"n":5}`, second: `{"n":"6"}`},
		{name: "float coerced into a long", first: `{"n":5}`, second: `{"n":6.5}`},
		{name: "long out of range", first: `{"n":5}`, second: `{"n":92233720368547758070}`, wantType: "document_parsing_exception",
			wantReason: "of type [long]"},
		{name: "number in a text field", first: `{"s":"x"}`, second: `{"s":5}`},
		{name: "bool in a text field", first: `{"s":"x"}`, second: `{"s":true}`},
		{name: "word in a boolean", first: `{"b":true}`, second: `{"b":"yes"}`, wantType: "document_parsing_exception",
			wantReason: "of type [boolean]"},
		{name: "string bool accepted", first: `{"b":true}`, second: `{"b":"false"}`},
		{name: "word in a float", first: `{"f":1.5}`, second: `{"f":"x"}`, wantType: "document_parsing_exception", wantReason: "of type [float]"},
		{name: "array of matching values", first: `{"n":5}`, second: `{"n":[1,2,null,"3"]}`},
		{name: "array with one bad value", first: `{"n":5}`, second: `{"n":[1,"x"]}`, wantType: "document_parsing_exception"},
		{name: "dotted key meets nested mapping", first: `{"trace":{"id":"a"}}`, second: `{"trace.id":{"x":1}}`, wantType: "document_parsing_exception",
			wantReason: "[trace.id] of type [text]"},
		{name: "subfield under a leaf", first: `{"a":"x"}`, second: `{"a.b":1}`, wantType: "document_parsing_exception",
			wantReason: "Could not dynamically add mapping for field [a.b]. Existing mapping for [a] must be of type object but found [text]."},
		{name: "duplicate top-level key", first: `{"a":1}`, second: `{"a":1,"a":2}`, wantType: "document_parsing_exception", wantReason: "Duplicate field 'a'"},
		{name: "same key in different objects", first: `{"a":1}`, second: `{"x":{"a":1},"y":{"a":1}}`},
		{name: "ip field", template: `{"index_patterns":["m-*"],"template":{"mappings":{"properties":{"client.ip":{"type":"ip"}}}}}`,
			first: `{"client":{"ip":"10.0.0.1"}}`, second: `{"client":{"ip":"not-an-ip"}}`, wantType: "document_parsing_exception", wantReason: "of type [ip]"},
		{name: "strict mapping", template: `{"index_patterns":["m-*"],"template":{"mappings":{"dynamic":"strict","properties":{"a":{"type":"keyword"}}}}}`,
			first: `{"a":"x"}`, second: `{"b":"y"}`, wantType: "strict_dynamic_mapping_exception",
			wantReason: "mapping set to strict, dynamic introduction of [b] within [_doc] is not allowed"},
		{name: "dynamic false ignores new fields", template: `{"index_patterns":["m-*"],"template":{"mappings":{"dynamic":false,"properties":{"a":{"type":"keyword"}}}}}`,
			first: `{"a":"x"}`, second: `{"b":{"c":[1,"x"]}}`},
		{name: "dynamic template maps strings to keyword", template: `{"index_patterns":["m-*"],"template":{"mappings":{"dynamic_templates":[{"strings":{"match_mapping_type":"string","mapping":{"type":"keyword","ignore_above":1024}}}]}}}`,
			first: `{"s":"x"}`, second: `{"s":{"o":1}}`, wantType: "document_parsing_exception", wantReason: "of type [keyword]"},
		{name: "template date format epoch_second", template: `{"index_patterns":["m-*"],"template":{"mappings":{"properties":{"t":{"type":"date","format":"epoch_second"}}}}}`,
			first: `{"t":1763805600}`, second: `{"t":"2026-11-22T10:00:00Z"}`, wantType: "document_parsing_exception",
			wantReason: "of type [date]"},
		{name: "ignore_malformed keeps the document", template: `{"index_patterns":["m-*"],"template":{"mappings":{"properties":{"n":{"type":"long","ignore_malformed":true}}}}}`,
			first: `{"n":1}`, second: `{"n":"many"}`},
		{name: "date detection off in template", template: `{"index_patterns":["m-*"],"template":{"mappings":{"date_detection":false}}}`,
			first: `{"d":"2026-11-22T10:00:00Z"}`, second: `{"d":"not a date"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ix := e.ix("m-1")
			if tc.template != "" {
				tpl := strings.Replace(tc.template, `["m-*"]`, `["`+e.ns+`-m-*"]`, 1)
				tpl = strings.Replace(tpl, `{"index_patterns"`, `{"priority":500,"index_patterns"`, 1)
				if r := call(t, "PUT", e.url+"/_index_template/"+e.ns+"-m", tpl); r.status != 200 {
					t.Fatalf("template: %d %s", r.status, r.body)
				}
			}
			r := call(t, "POST", e.url+"/_bulk", ndjson(`{"create":{"_index":"`+ix+`","_id":"1"}}`, tc.first))
			if r.status != 200 || strings.Contains(string(r.body), `"errors":true`) {
				t.Fatalf("first document refused: %s", r.body)
			}
			r = call(t, "POST", e.url+"/_bulk", ndjson(`{"create":{"_index":"`+ix+`","_id":"2"}}`, tc.second))
			m := r.obj(t)
			item := at(m, "items", 0, "create").(map[string]any)
			if tc.wantType == "" {
				if item["status"] != 201.0 {
					t.Fatalf("second document refused, want accepted: %s", r.body)
				}
				return
			}
			if item["status"] != 400.0 || at(item, "error", "type") != tc.wantType {
				t.Fatalf("got %s, want 400 %s", r.body, tc.wantType)
			}
			if reason, _ := at(item, "error", "reason").(string); !strings.Contains(reason, tc.wantReason) {
				t.Errorf("reason %q, want it to contain %q", reason, tc.wantReason)
			}
			if n := e.count(t, ix); n != 1 {
				t.Errorf("count %d, want 1: the refused document was stored", n)
			}
		})
	}
}

// A refused document must not change the mapping: the next good document
// with the first document's types is still accepted.
func TestRefusedDocumentLeavesMappingAlone(t *testing.T) {
	srv := New(t)
	call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"create":{"_index":"m","_id":"1"}}`, `{"a":1}`))
	r := call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"create":{"_index":"m","_id":"2"}}`, `{"b":"2026-11-22","a":"x"}`,
		`{"create":{"_index":"m","_id":"3"}}`, `{"b":"plain words"}`))
	m := r.obj(t)
	if at(m, "items", 0, "create", "status") != 400.0 || at(m, "items", 1, "create", "status") != 201.0 {
		t.Fatalf("want 400 then 201 (b must not have been mapped as a date by the refused doc): %s", r.body)
	}
}

func TestGetMappingShowsDynamicTypes(t *testing.T) {
	srv := New(t)
	call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"create":{"_index":"m","_id":"1"}}`,
		`{"@timestamp":"2026-11-22T10:00:00Z","n":1,"f":1.5,"b":true,"s":"x","trace":{"id":"abc"}}`))
	r := call(t, "GET", srv.URL()+"/m/_mapping", "")
	props := at(r.obj(t), "m", "mappings", "properties").(map[string]any)
	want := map[string]string{"@timestamp": "date", "n": "long", "f": "float", "b": "boolean", "s": "text"}
	for f, typ := range want {
		if got := at(props, f, "type"); got != typ {
			t.Errorf("%s mapped as %v, want %s", f, got, typ)
		}
	}
	if at(props, "s", "fields", "keyword", "type") != "keyword" {
		t.Errorf("dynamic string lacks the keyword sub-field: %v", props["s"])
	}
	if at(props, "trace", "properties", "id", "type") != "text" {
		t.Errorf("trace.id not mapped under trace: %v", props["trace"])
	}
}

// Arbitrary keys exhaust the mapping (index.mapping.total_fields.limit
// 1000, depth.limit 20): Elasticsearch refuses the document, which the
// agent must dead-letter.
func TestMappingLimits(t *testing.T) {
	srv := New(t)
	var b strings.Builder
	b.WriteString("{")
	for i := range 400 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%d":"v"`, i) // text + keyword: 2 fields each
	}
	b.WriteString("}")
	r := call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"create":{"_index":"wide","_id":"1"}}`, b.String()))
	if at(r.obj(t), "items", 0, "create", "status") != 201.0 {
		t.Fatalf("800 fields refused: %s", r.body)
	}
	more := strings.ReplaceAll(b.String(), `"k`, `"j`)
	r = call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"create":{"_index":"wide","_id":"2"}}`, more))
	reason, _ := at(r.obj(t), "items", 0, "create", "error", "reason").(string)
	if !strings.Contains(reason, "Limit of total fields [1000] has been exceeded while adding new fields [800]") {
		t.Errorf("1600 fields: %s", r.body)
	}
	deep := strings.Repeat(`{"a":`, 21) + "1" + strings.Repeat("}", 21)
	r = call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"create":{"_index":"deep","_id":"1"}}`, deep))
	reason, _ = at(r.obj(t), "items", 0, "create", "error", "reason").(string)
	if !strings.Contains(reason, "Limit of mapping depth [20] has been exceeded due to object field") {
		t.Errorf("20 nested objects: %s", r.body)
	}
	ok := strings.Repeat(`{"a":`, 20) + "1" + strings.Repeat("}", 20) // 19 nested objects
	r = call(t, "POST", srv.URL()+"/_bulk", ndjson(`{"create":{"_index":"deep2","_id":"1"}}`, ok))
	if at(r.obj(t), "items", 0, "create", "status") != 201.0 {
		t.Errorf("19 nested objects refused: %s", r.body)
	}
}
