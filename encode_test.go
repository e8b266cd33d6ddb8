package shipper_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

func parseDoc(t *testing.T, line string) shipper.Doc {
	t.Helper()
	m, err := jsonscan.Members(nil, []byte(line), 0)
	if err != nil {
		t.Fatalf("Members(%s): %v", line, err)
	}
	return shipper.Doc{Members: m}
}

func TestAppendSourceWritesECSFieldsAndKeepsApplicationFields(t *testing.T) {
	ev := shipper.Event{
		Source:  shipper.Source{File: &shipper.File{ID: "f1", Path: "/var/log/app.log"}, Offset: 42},
		Doc:     parseDoc(t, `{"msg_id":7,"message":"paid","http":{"path":"/pay"}}`),
		Time:    time.Date(2026, 11, 22, 10, 0, 0, 123000000, time.FixedZone("x", 3600)),
		Level:   shipper.LevelWarn,
		TraceID: shipper.TraceID{0: 0xab, 15: 0x01},
		Service: "checkout",
		Tags:    shipper.TagRedacted,
	}
	got := string(shipper.AppendSource(nil, &ev))
	want := `{"@timestamp":"2026-11-22T09:00:00.123Z","message":"paid","log":{"level":"warn","file":{"path":"/var/log/app.log"},"offset":42},"trace":{"id":"ab000000000000000000000000000001"},"service":{"name":"checkout"},"tags":["_redacted"],"msg_id":7,"http":{"path":"/pay"}}`
	if got != want {
		t.Fatalf("AppendSource:\n got %s\nwant %s", got, want)
	}
}

func TestAppendSourceMergesCollidingApplicationFields(t *testing.T) {
	ev := shipper.Event{
		Source:  shipper.Source{File: &shipper.File{ID: "f1", Path: "a.log"}},
		Doc:     parseDoc(t, `{"log":{"logger":"main","level":"INFO"},"host":"web-1","tags":["blue","x"],"service":{"version":"1.2"}}`),
		Level:   shipper.LevelInfo,
		Host:    "node-a",
		Service: "shop",
		Tags:    shipper.TagTimestampMissing,
	}
	got := shipper.AppendSource(nil, &ev)
	var doc map[string]any
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, got)
	}
	log := doc["log"].(map[string]any)
	if log["level"] != "info" || log["logger"] != "main" || log["level_app"] != "INFO" {
		t.Errorf("log not merged: %v", log)
	}
	if doc["host_app"] != "web-1" || doc["host"].(map[string]any)["name"] != "node-a" {
		t.Errorf("host collision: %s", got)
	}
	if tags := doc["tags"].([]any); len(tags) != 3 || tags[1] != "blue" {
		t.Errorf("tags not merged: %v", tags)
	}
	if svc := doc["service"].(map[string]any); svc["name"] != "shop" || svc["version"] != "1.2" {
		t.Errorf("service not merged: %v", svc)
	}
}

func TestDocLookupDottedPaths(t *testing.T) {
	d := parseDoc(t, `{"http":{"request":{"method":"GET"}},"dd.trace_id":"12","a.b":{"c":1}}`)
	for path, want := range map[string]string{
		"http.request.method": `"GET"`,
		"dd.trace_id":         `"12"`,
		"a.b.c":               `1`,
	} {
		if got, ok := d.Lookup(path); !ok || string(got) != want {
			t.Errorf("Lookup(%q) = %s, %v; want %s", path, got, ok, want)
		}
	}
	if _, ok := d.Lookup("http.response"); ok {
		t.Errorf("Lookup of a missing path succeeded")
	}
}

// Every application field is kept. One whose name is an object of the
// index template (log, trace, span, service, host...) but whose value is not
// an object is renamed, even when the agent writes nothing under that name
// for this event: Elasticsearch would refuse the whole document.
func TestAppendSourceKeepsEveryApplicationField(t *testing.T) {
	ev := shipper.Event{
		Doc:  parseDoc(t, `{"@timestamp":"yesterday","log":"plain","trace":"at Y.java:10","span":{"kind":"db"},"host":"h1","n":1}`),
		Time: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
	}
	got := string(shipper.AppendSource(nil, &ev))
	want := `{"@timestamp":"2026-11-22T00:00:00Z","@timestamp_app":"yesterday","log_app":"plain","trace_app":"at Y.java:10","span":{"kind":"db"},"host_app":"h1","n":1}`
	if got != want {
		t.Fatalf("AppendSource:\n got %s\nwant %s", got, want)
	}
}

// topLevelKeys returns the decoded top-level keys of a JSON object in order,
// duplicates included (encoding/json's map decoding would hide them).
func topLevelKeys(t *testing.T, doc []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", doc)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("bad key in %s: %v", doc, err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("bad value in %s: %v", doc, err)
		}
	}
	return keys
}

// An application key spelled with escapes is the same key to Elasticsearch:
// it must be merged like the plain spelling, never written a second time.
func TestAppendSourceMergesEscapedCollidingKeys(t *testing.T) {
	tests := []struct {
		name, line string
		wantKeys   []string
		check      func(t *testing.T, doc map[string]any)
	}{
		{
			name:     "escaped object merged into trace",
			line:     `{"message":"m","tr\u0061ce":{"state":"x"}}`,
			wantKeys: []string{"@timestamp", "message", "log", "trace", "service", "host", "tags"},
			check: func(t *testing.T, doc map[string]any) {
				tr := doc["trace"].(map[string]any)
				if tr["id"] != "ab000000000000000000000000000001" || tr["state"] != "x" {
					t.Errorf("trace not merged: %v", tr)
				}
			},
		},
		{
			name:     "escaped scalar kept with the suffix",
			line:     `{"\u0068ost":"web-1"}`,
			wantKeys: []string{"@timestamp", "log", "trace", "service", "host", "host_app", "tags"},
			check: func(t *testing.T, doc map[string]any) {
				if doc["host_app"] != "web-1" || doc["host"].(map[string]any)["name"] != "node-a" {
					t.Errorf("host collision: %v", doc)
				}
			},
		},
		{
			name:     "escaped tags appended",
			line:     `{"t\u0061gs":["blue"]}`,
			wantKeys: []string{"@timestamp", "log", "trace", "service", "host", "tags"},
			check: func(t *testing.T, doc map[string]any) {
				if tags := doc["tags"].([]any); len(tags) != 2 || tags[1] != "blue" {
					t.Errorf("tags not merged: %v", tags)
				}
			},
		},
		{
			name:     "escaped @timestamp kept beside the agent's",
			line:     `{"\u0040timestamp":"yesterday"}`,
			wantKeys: []string{"@timestamp", "@timestamp_app", "log", "trace", "service", "host", "tags"},
		},
		{
			name:     "escaped key that spells no ECS name is kept as is",
			line:     `{"tr\u0061ced":1,"trace\\":2}`,
			wantKeys: []string{"@timestamp", "log", "trace", "service", "host", "tags", "traced", `trace\`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := shipper.Event{
				Source:  shipper.Source{File: &shipper.File{ID: "f1", Path: "a.log"}},
				Doc:     parseDoc(t, tt.line),
				Time:    time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
				Level:   shipper.LevelInfo,
				TraceID: shipper.TraceID{0: 0xab, 15: 0x01},
				Service: "shop",
				Host:    "node-a",
				Tags:    shipper.TagRedacted,
			}
			got := shipper.AppendSource(nil, &ev)
			if keys := topLevelKeys(t, got); !slices.Equal(keys, tt.wantKeys) {
				t.Fatalf("top-level keys %q, want %q\n%s", keys, tt.wantKeys, got)
			}
			var doc map[string]any
			if err := json.Unmarshal(got, &doc); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, got)
			}
			if tt.check != nil {
				tt.check(t, doc)
			}
		})
	}
}

// BenchmarkAppendSource writes the document of a typical event (ECS fields,
// trace context, a dozen application members); compare with the baseline,
// which decodes the line into a map and marshals it with the same fields.
func BenchmarkAppendSource(b *testing.B) {
	line := []byte(`{"msg":"order placed","caller":"checkout/handler.go:88","order_id":"A-100234","user_id":48213,"amount":129.95,"currency":"EUR","items":3,"http":{"method":"POST","path":"/api/v1/orders","status":201},"duration_ms":38.2}`)
	m, err := jsonscan.Members(nil, line, 0)
	if err != nil {
		b.Fatal(err)
	}
	file := &shipper.File{ID: "8f3a9c1d2e4b5a60", Path: "/var/log/containers/checkout-7d9f_shop_app-1a2b.log"}
	ev := shipper.Event{
		Source:   shipper.Source{File: file, Offset: 123456},
		Raw:      line,
		Doc:      shipper.Doc{Members: m},
		Time:     time.Date(2026, 11, 22, 10, 0, 0, 123456000, time.UTC),
		Level:    shipper.LevelInfo,
		TraceID:  shipper.TraceID{0: 0x4b, 1: 0xf9, 15: 0x36},
		SpanID:   shipper.SpanID{0: 0x00, 1: 0xf0, 7: 0xb7},
		Service:  "checkout",
		Host:     "node-7",
		Tags:     shipper.TagRedacted,
		ReadTime: time.Date(2026, 11, 22, 10, 0, 1, 0, time.UTC),
	}
	for _, f := range []struct {
		name         string
		appendSource func([]byte, *shipper.Event) []byte
	}{{"AppendSource", shipper.AppendSource}, {"Encoder", new(shipper.Encoder).AppendSource}} {
		b.Run(f.name, func(b *testing.B) {
			buf := f.appendSource(nil, &ev)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = f.appendSource(buf[:0], &ev)
			}
		})
	}
	b.Run("baseline-encoding-json-map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var doc map[string]any
			if err := json.Unmarshal(line, &doc); err != nil {
				b.Fatal(err)
			}
			doc["@timestamp"] = ev.Time.UTC().Format(time.RFC3339Nano)
			doc["log"] = map[string]any{"level": "info", "file": map[string]any{"path": file.Path}, "offset": ev.Source.Offset}
			doc["trace"] = map[string]any{"id": "4bf90000000000000000000000000036"}
			doc["span"] = map[string]any{"id": "00f00000000000b7"}
			doc["service"] = map[string]any{"name": ev.Service}
			doc["host"] = map[string]any{"name": ev.Host}
			doc["tags"] = []string{"_redacted"}
			if _, err := json.Marshal(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Members past the 64th take a slower path to be skipped in the final loop;
// a message or colliding key there must still be written exactly once.
func TestAppendSourceManyMembers(t *testing.T) {
	line := []byte(`{`)
	for i := range 70 {
		line = append(line, `"f`+strconv.Itoa(i)+`":`+strconv.Itoa(i)+`,`...)
	}
	line = append(line, `"message":"m","trace":{"state":"x"},"n":1}`...)
	members, err := jsonscan.Members(nil, line, 0)
	if err != nil {
		t.Fatal(err)
	}
	ev := shipper.Event{
		Doc:     shipper.Doc{Members: members},
		Time:    time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
		TraceID: shipper.TraceID{15: 1},
	}
	want := []string{"@timestamp", "message", "trace"}
	for i := range 70 {
		want = append(want, "f"+strconv.Itoa(i))
	}
	want = append(want, "n")
	// Without the line, and with it: then the members are copied from it.
	for _, raw := range [][]byte{nil, line} {
		ev.Raw = raw
		if keys := topLevelKeys(t, shipper.AppendSource(nil, &ev)); !slices.Equal(keys, want) {
			t.Fatalf("top-level keys %q, want %q", keys, want)
		}
	}
}

// TestEncoderMatchesAppendSource encodes a stream of events with one
// Encoder, as a sink worker does: more distinct paths, services and hosts
// than it remembers, seconds that repeat and change, fractions with and
// without trailing zeros, dates before 1970 and far ahead. Every document
// is the one AppendSource (and time's own RFC3339Nano) writes alone.
func TestEncoderMatchesAppendSource(t *testing.T) {
	var enc shipper.Encoder
	base := []time.Time{
		time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 100, time.FixedZone("x", -7*3600)),
		time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC),
	}
	nanos := []int{0, 1, 10, 120000000, 123456789, 999999999, 500}
	files := make([]*shipper.File, 6)
	for i := range files {
		files[i] = &shipper.File{ID: "f", Path: "/var/log/app-" + strconv.Itoa(i) + `-"quoted"\.log`}
	}
	services := []string{"checkout", "payment", "inventory", "shipping", "auth", "caf\u00e9", "tab\there"}
	doc := parseDoc(t, `{"msg":"x","n":1}`)
	var buf []byte
	for i := range 400 {
		tm := base[i/100].Add(time.Duration(i%7/3)*time.Second + time.Duration(nanos[i%len(nanos)]))
		ev := shipper.Event{
			Source:  shipper.Source{File: files[i*5%len(files)], Offset: int64(i)},
			Doc:     doc,
			Time:    tm,
			Level:   shipper.LevelInfo,
			Service: services[i*3%len(services)],
			Host:    "node-" + strconv.Itoa(i%5),
		}
		buf = enc.AppendSource(buf[:0], &ev)
		if want := shipper.AppendSource(nil, &ev); string(buf) != string(want) {
			t.Fatalf("event %d: Encoder wrote\n%s\nAppendSource writes\n%s", i, buf, want)
		}
		if ts := `{"@timestamp":"` + tm.UTC().Format(time.RFC3339Nano) + `"`; !bytes.HasPrefix(buf, []byte(ts)) {
			t.Fatalf("event %d: document starts %.60s, want %s", i, buf, ts)
		}
	}
}

// TestAppendSourceMergesIDObjects: application members named span and
// parent meet the agent's span.id and parent.id: an object is merged, a
// value is kept under parent_app, and with no id of the agent's the
// application's member passes through unchanged.
func TestAppendSourceMergesIDObjects(t *testing.T) {
	ev := shipper.Event{
		Doc:      parseDoc(t, `{"span":{"kind":"server","id":"app-span"},"parent":"p-1","trace":{"state":"x"}}`),
		SpanID:   shipper.SpanID{0: 0xaa, 7: 0x01},
		ParentID: shipper.SpanID{7: 0x02},
	}
	var doc map[string]any
	if err := json.Unmarshal(shipper.AppendSource(nil, &ev), &doc); err != nil {
		t.Fatal(err)
	}
	span, _ := doc["span"].(map[string]any)
	if span["id"] != "aa00000000000001" || span["kind"] != "server" || span["id_app"] != "app-span" {
		t.Errorf("span = %v, want the agent's id, kind and id_app", span)
	}
	if p, _ := doc["parent"].(map[string]any); p["id"] != "0000000000000002" || doc["parent_app"] != "p-1" {
		t.Errorf("parent = %v, parent_app = %v", doc["parent"], doc["parent_app"])
	}
	if tr, _ := doc["trace"].(map[string]any); len(tr) != 1 || tr["state"] != "x" {
		t.Errorf("trace = %v, want the application's object unchanged", doc["trace"])
	}
}

// TestAppendSourceDoesNotAllocate: writing a document into a buffer with
// room allocates nothing, through the package function (dry-run, dead
// letters) or a worker's Encoder once it has seen the event's strings.
func TestAppendSourceDoesNotAllocate(t *testing.T) {
	ev := shipper.Event{
		Source:  shipper.Source{File: &shipper.File{ID: "f1", Path: "/var/log/app.log"}, Offset: 42},
		Doc:     parseDoc(t, `{"msg":"paid","n":1,"http":{"path":"/pay"}}`),
		Time:    time.Date(2026, 11, 22, 10, 0, 0, 123000000, time.UTC),
		Level:   shipper.LevelWarn,
		TraceID: shipper.TraceID{0: 0xab, 15: 0x01},
		Service: "checkout",
		Host:    "node-1",
	}
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { buf = shipper.AppendSource(buf[:0], &ev) }); n != 0 {
		t.Errorf("AppendSource: %v allocations per document", n)
	}
	var enc shipper.Encoder
	buf = enc.AppendSource(buf[:0], &ev)
	if n := testing.AllocsPerRun(100, func() { buf = enc.AppendSource(buf[:0], &ev) }); n != 0 {
		t.Errorf("Encoder.AppendSource: %v allocations per document", n)
	}
}

// The encoder copies runs of members the stages left alone straight from
// the line. Whatever the stages did to the members (replaced a value,
// with new bytes or part of the old ones; deleted, moved or added one), and
// however the line was spaced, the document is the one written member by
// member, as for an event without its line.
func TestAppendSourceCopiesUntouchedMembersFromTheLine(t *testing.T) {
	lines := []string{
		`{"level":"info","msg":"paid","trace_id":"ab","a":1,"b":"two","c":{"d":[1,2]},"e":null}`,
		`{ "a" : 1 , "b":"two","c" :{"d":3},"e": true }`,
		`{"a":1}`,
		`{"":1,"a\"b":"x\\\"y","message":"m","tags":["t"],"z":-0.5e3}`,
	}
	for _, line := range lines {
		for edit := range 32 {
			checkLineCopy(t, line, edit, nil)
		}
	}
}

func FuzzAppendSourceCopiesFromTheLine(f *testing.F) {
	f.Add(`{"a":1,"b":"two","message":"m","c":{"d":1}}`, uint8(1), []byte{1, 0, 9, 3})
	f.Add(`{ "a" : 1 ,"b":2}`, uint8(5), []byte{})
	f.Add(`{"a":"xy","b":2}`, uint8(0), []byte{0, 1, 11, 2, 1, 0, 15, 1})
	f.Add(`{"a":1}`, uint8(0), []byte{0, 1, 11, 4})            // a value running past the line
	f.Add(`{"a":1}`, uint8(0), []byte{0, 0, 3, 1, 0, 1, 6, 1}) // a key before it
	// A key that ends two bytes before its value, other bytes between.
	f.Add(`{"a":1,"b":2}`, uint8(0), []byte{0, 0, 10, 1, 0, 1, 13, 3})
	// A member that ends two bytes before the next one's key, other bytes
	// between.
	f.Add(`{"a":"xyz","b":2}`, uint8(0), []byte{0, 1, 11, 2, 1, 0, 15, 4})
	f.Fuzz(func(t *testing.T, line string, edit uint8, picks []byte) {
		if _, err := jsonscan.Members(nil, []byte(line), 0); err != nil {
			return
		}
		checkLineCopy(t, line, int(edit), picks)
	})
}

// checkLineCopy parses line, applies edit (its bits choose what a stage
// does) to the members, and compares AppendSource with and without the
// event's Raw. Each four bytes of picks then point a member's key or
// value at any bytes of the line or of what lies around it in memory.
func checkLineCopy(t *testing.T, line string, edit int, picks []byte) {
	t.Helper()
	const before = `{"x":"`
	buf := []byte(before + line + `","after":"the line"}`)
	raw := buf[len(before) : len(before)+len(line) : len(before)+len(line)]
	members, err := jsonscan.Members(nil, raw, 0)
	if err != nil {
		t.Fatalf("Members(%s): %v", line, err)
	}
	n := len(members)
	if edit&1 != 0 && n > 0 { // a stage replaced a value
		members[n/2].Value = []byte(`"[REDACTED]"`)
	}
	if edit&2 != 0 && n > 1 { // a stage deleted a member
		members = slices.Delete(members, 1, 2)
	}
	if edit&4 != 0 && len(members) > 0 { // a value cut to part of itself
		if v := members[0].Value; len(v) > 2 && v[0] == '"' {
			members[0].Value = v[: len(v)-2 : len(v)-2]
		} else {
			members[0].Value = v[:1]
		}
	}
	if edit&8 != 0 && len(members) > 1 { // moved
		members[0], members[len(members)-1] = members[len(members)-1], members[0]
	}
	if edit&16 != 0 { // added
		members = slices.Insert(members, len(members)/2, shipper.Member{Key: []byte("added"), Value: []byte("1")})
	}
	for ; len(picks) >= 4 && len(members) > 0; picks = picks[4:] {
		start := int(picks[2]) % len(buf)
		part := buf[start : start+int(picks[3])%(len(buf)-start+1)]
		m := &members[int(picks[0])%len(members)]
		if picks[1]&1 == 0 {
			m.Key = part
		} else if len(part) > 0 {
			m.Value = part
		}
	}
	ev := shipper.Event{Raw: raw, Doc: shipper.Doc{Members: members}, Time: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	got := shipper.AppendSource(nil, &ev)
	ev.Raw = nil
	want := shipper.AppendSource(nil, &ev)
	if !bytes.Equal(got, want) {
		t.Fatalf("line %s, edit %d:\nwith the line %s\nwithout it    %s", line, edit, got, want)
	}
}
