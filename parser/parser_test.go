package parser

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/traceship/shipper"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var readTime = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func newParser(t testing.TB, mod func(*Config)) *Parser {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// parse runs lines through p as one batch and returns the events.
func parse(p *Parser, lines ...string) []shipper.Event {
	b := &shipper.Batch{}
	for _, l := range lines {
		b.Events = append(b.Events, shipper.Event{Raw: []byte(l), ReadTime: readTime})
	}
	p.Process(b)
	return b.Events
}

// sameDoc compares two documents as JSON values, ignoring member order and
// an empty "log" object (the encoder's business, not the parser's).
func sameDoc(t *testing.T, got, want string) {
	t.Helper()
	var g, w map[string]any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	for _, m := range []map[string]any{g, w} {
		if l, ok := m["log"].(map[string]any); ok && len(l) == 0 {
			delete(m, "log")
		}
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Errorf("document (-want +got):\n%s\ngot %s", d, got)
	}
}

// doc parses one line and returns its document as the encoder writes it.
func doc(t *testing.T, p *Parser, line string) string {
	t.Helper()
	ev := parse(p, line)[0]
	out := shipper.AppendSource(nil, &ev)
	if !json.Valid(out) {
		t.Fatalf("document of %q is not valid JSON: %s", line, out)
	}
	return string(out)
}

func TestJSONLoggerConventions(t *testing.T) {
	p := newParser(t, nil)
	tests := []struct {
		name, line, want string
	}{
		{"zap", `{"level":"info","ts":1732269600.123456,"caller":"pay/main.go:42","msg":"charged","amount":12.5}`,
			`{"@timestamp":"2024-11-22T10:00:00.123456Z","message":"charged","log":{"level":"info"},"caller":"pay/main.go:42","amount":12.5}`},
		{"zap dpanic", `{"level":"dpanic","ts":1732269600,"msg":"x"}`,
			`{"@timestamp":"2024-11-22T10:00:00Z","message":"x","log":{"level":"fatal"}}`},
		{"logrus", `{"level":"warning","msg":"slow","time":"2026-11-22T10:00:00+01:00","took":"3s"}`,
			`{"@timestamp":"2026-11-22T09:00:00Z","message":"slow","log":{"level":"warn"},"took":"3s"}`},
		{"slog", `{"time":"2026-11-22T10:00:00.5-05:00","level":"ERROR+2","msg":"boom","err":"eof"}`,
			`{"@timestamp":"2026-11-22T15:00:00.5Z","message":"boom","log":{"level":"error"},"err":"eof"}`},
		{"zerolog", `{"level":"debug","service":"inv","time":"2026-11-22T10:00:00Z","message":"reserved"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"reserved","log":{"level":"debug"},"service_app":"inv"}`},
		{"log4j2 JsonLayout", `{"instant":{"epochSecond":1795341600,"nanoOfSecond":250000000},"thread":"main","level":"WARN","loggerName":"shop.Cart","message":"low stock","endOfBatch":false}`,
			`{"@timestamp":"2026-11-22T10:00:00.25Z","message":"low stock","log":{"level":"warn"},"thread":"main","loggerName":"shop.Cart","endOfBatch":false}`},
		{"log4j2 timeMillis", `{"timeMillis":1795341600250,"level":"FATAL","message":"down"}`,
			`{"@timestamp":"2026-11-22T10:00:00.25Z","message":"down","log":{"level":"fatal"}}`},
		{"ecs logging", `{"@timestamp":"2026-11-22T10:00:00.000Z","log.level":"CRITICAL","message":"x","ecs.version":"1.6.0"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"x","log":{"level":"fatal"},"ecs.version":"1.6.0"}`},
		{"ecs nested log", `{"@timestamp":"2026-11-22T10:00:00Z","log":{"level":"ERR","logger":"db"},"message":"x"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"x","log":{"level":"error","logger":"db"}}`},
		{"serilog compact", `{"@t":"2026-11-22T10:00:00.1234567Z","@mt":"Paid {Amount} for {User}","Amount":12,"User":"bob"}`,
			`{"@timestamp":"2026-11-22T10:00:00.1234567Z","message":"Paid 12 for \"bob\"","log":{"level":"info"},"@mt":"Paid {Amount} for {User}","Amount":12,"User":"bob"}`},
		{"serilog compact with @m and @l", `{"@t":"2026-11-22T10:00:00Z","@m":"oops","@l":"Warning","@x":"trace"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"oops","log":{"level":"warn"},"@x":"trace"}`},
		{"bunyan", `{"name":"api","hostname":"h","pid":1,"level":30,"msg":"hi","time":"2026-11-22T10:00:00.000Z","v":0}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"hi","log":{"level":"info"},"name":"api","hostname":"h","pid":1,"v":0}`},
		{"pino", `{"level":50,"time":1795341600000,"pid":7,"hostname":"h","msg":"failed"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"failed","log":{"level":"error"},"pid":7,"hostname":"h"}`},
		{"python", `{"asctime":"x","levelname":"WARNING","message":"m","timestamp":"2026-11-22 10:00:00,123"}`,
			`{"@timestamp":"2026-11-22T10:00:00.123Z","message":"m","log":{"level":"warn"},"asctime":"x"}`},
		{"syslog severity", `{"severity":3,"msg":"e","ts":"1795341600"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"e","log":{"level":"error"}}`},
		{"duplicate keys last wins", `{"a":1,"msg":"x","a":2,"ts":1795341600}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"x","a":2}`},
		{"escaped duplicate key", `{"a":1,"\u0061":2,"ts":1795341600}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","a":2}`},
		{"unknown level kept", `{"level":"loud","msg":"x","ts":1795341600}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"x","level":"loud"}`},
		{"message wins over msg", `{"msg":"a","message":"b","ts":1795341600}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"b","msg":"a"}`},
		{"non-string msg not renamed", `{"msg":{"a":1},"ts":1795341600}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","msg":{"a":1}}`},
		{"time that is not a time is kept and the next one used", `{"time":"fast","ts":"2026-11-22T10:00:00Z","msg":"x"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"x","time":"fast"}`},
		{"object message kept aside", `{"message":{"text":"a"},"msg":"b","ts":1795341600}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"b","message_app":{"text":"a"}}`},
		{"byte order mark", "\ufeff{\"msg\":\"bom\",\"ts\":1795341600}",
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"bom"}`},
		{"nested duplicate keys last wins", `{"ts":1795341600,"http":{"status":200,"status":500,"h":[{"a":1,"a":2}]}}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","http":{"status":500,"h":[{"a":2}]}}`},
		{"nested objects kept", `{"ts":1795341600,"http":{"req":{"method":"GET"}},"tags":["a"]}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","tags":["a"],"http":{"req":{"method":"GET"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameDoc(t, doc(t, p, tt.line), tt.want)
		})
	}
}

func TestTimestampFormats(t *testing.T) {
	berlin := newParser(t, func(c *Config) { c.Timezone = "Europe/Berlin" })
	utc := newParser(t, nil)
	want := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		p     *Parser
		want  time.Time
	}{
		{`"2026-11-22T10:00:00Z"`, utc, want},
		{`"2026-11-22T10:00:00.123456789Z"`, utc, want.Add(123456789)},
		{`"2026-11-22T11:30:00+01:30"`, utc, want},
		{`"2026-11-22T05:00:00-0500"`, utc, want},
		{`"2026-11-22 10:00:00.000"`, utc, want},
		{`"2026-11-22 11:00:00.000"`, berlin, want},
		{`"2026-11-22 10:00:00 +0000"`, berlin, want},
		{`"2026-11-22 10:00:00 UTC"`, berlin, want},
		{`"2026/11/22 10:00:00"`, utc, want},
		{`"2026-11-22T10:00:00,5Z"`, utc, want.Add(500 * time.Millisecond)},
		{`1795341600`, utc, want},
		{`1795341600123`, utc, want.Add(123 * time.Millisecond)},
		{`1795341600123456`, utc, want.Add(123456 * time.Microsecond)},
		{`1795341600123456789`, utc, want.Add(123456789)},
		{`1795341600.5`, utc, want.Add(500 * time.Millisecond)},
		{`1.7953416e9`, utc, want},
		{`"1795341600.25"`, utc, want.Add(250 * time.Millisecond)},
		{`"22/Nov/2026:11:00:00 +0100"`, utc, want},
		{`"Sun, 22 Nov 2026 10:00:00 GMT"`, utc, want},
		{`"Nov 22 10:00:00"`, utc, want},
		{`"2026\/11\/22 10:00:00"`, utc, want},
	}
	for _, tt := range tests {
		ev := parse(tt.p, `{"ts":`+tt.value+`}`)[0]
		if !ev.Time.Equal(tt.want) || ev.Time.Location() != time.UTC {
			t.Errorf("ts %s: time %v, want %v in UTC", tt.value, ev.Time, tt.want)
		}
		if ev.Tags != 0 || len(ev.Doc.Members) != 0 {
			t.Errorf("ts %s: tags %v, members %d; want the field consumed", tt.value, ev.Tags.Names(), len(ev.Doc.Members))
		}
	}
	for _, bad := range []string{`"yesterday"`, `12`, `"2026-13-01T00:00:00Z"`, `"2026-02-30T00:00:00Z"`, `true`, `-1795341600`, `"2026-11-22T25:00:00Z"`} {
		ev := parse(utc, `{"ts":`+bad+`}`)[0]
		if !ev.Time.IsZero() || !ev.Tags.Has(shipper.TagTimestampParseFailure) {
			t.Errorf("ts %s: time %v tags %v; want a parse failure", bad, ev.Time, ev.Tags.Names())
		}
		if v, ok := ev.Doc.Get("ts"); !ok || string(v) != bad {
			t.Errorf("ts %s: original not kept: %s", bad, v)
		}
	}
	ev := parse(utc, `{"msg":"no time"}`)[0]
	if !ev.Tags.Has(shipper.TagTimestampMissing) || !ev.Time.IsZero() {
		t.Errorf("no time field: tags %v", ev.Tags.Names())
	}
	ev = parse(utc, `{"@timestamp":"soon","msg":"x"}`)[0]
	sameDoc(t, string(shipper.AppendSource(nil, &ev)), `{"@timestamp":"2026-11-22T12:00:00Z","message":"x","tags":["_timestamp_parse_failure"],"@timestamp_app":"soon"}`)
}

func TestConfiguredTimeField(t *testing.T) {
	p := newParser(t, func(c *Config) { c.TimeField = "when"; c.TimeLayout = "02.01.2006 15:04" })
	ev := parse(p, `{"when":"22.11.2026 10:00","ts":1,"msg":"x"}`)[0]
	if want := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC); !ev.Time.Equal(want) {
		t.Errorf("time_field: %v", ev.Time)
	}
	p = newParser(t, func(c *Config) { c.TimeField = "t_ms"; c.TimeLayout = LayoutUnixMs })
	ev = parse(p, `{"t_ms":5000}`)[0]
	if want := time.Unix(5, 0).UTC(); !ev.Time.Equal(want) {
		t.Errorf("unix_ms: %v", ev.Time)
	}
}

func TestLevels(t *testing.T) {
	p := newParser(t, nil)
	for in, want := range map[string]shipper.Level{
		`"TRACE"`: shipper.LevelTrace, `"Verbose"`: shipper.LevelTrace, `"debug"`: shipper.LevelDebug,
		`"DEBUG-4"`: shipper.LevelDebug, `"Information"`: shipper.LevelInfo, `"notice"`: shipper.LevelInfo,
		`"WARNING"`: shipper.LevelWarn, `"warn"`: shipper.LevelWarn, `"ERR"`: shipper.LevelError,
		`"error"`: shipper.LevelError, `"panic"`: shipper.LevelFatal, `"dpanic"`: shipper.LevelFatal,
		`"CRITICAL"`: shipper.LevelFatal, `"fatal"`: shipper.LevelFatal, `10`: shipper.LevelTrace,
		`20`: shipper.LevelDebug, `30`: shipper.LevelInfo, `40`: shipper.LevelWarn, `50`: shipper.LevelError,
		`60`: shipper.LevelFatal, `0`: shipper.LevelFatal, `3`: shipper.LevelError, `4`: shipper.LevelWarn,
		`6`: shipper.LevelInfo, `7`: shipper.LevelDebug, `"30"`: shipper.LevelInfo,
	} {
		ev := parse(p, `{"level":`+in+`}`)[0]
		if ev.Level != want {
			t.Errorf("level %s = %v, want %v", in, ev.Level, want)
		}
		if _, ok := ev.Doc.Get("level"); ok {
			t.Errorf("level %s: member not removed", in)
		}
	}
	for _, key := range []string{"lvl", "severity", "loglevel", "log.level", "@l", "levelname"} {
		if ev := parse(p, `{"`+key+`":"warn"}`)[0]; ev.Level != shipper.LevelWarn {
			t.Errorf("key %s not read as level", key)
		}
	}
	for _, in := range []string{`"loud"`, `8`, `500`, `null`, `{"a":1}`} {
		ev := parse(p, `{"level":`+in+`}`)[0]
		if ev.Level != shipper.LevelUnknown {
			t.Errorf("level %s = %v, want unknown", in, ev.Level)
		}
		if v, _ := ev.Doc.Get("level"); string(v) != in {
			t.Errorf("level %s: member not kept", in)
		}
	}
}

func TestTextAndBrokenLines(t *testing.T) {
	p := newParser(t, nil)
	tests := []struct{ name, line, want string }{
		{"plain", `hello "world"` + "\t!", `{"@timestamp":"2026-11-22T12:00:00Z","message":"hello \"world\"\t!","tags":["_timestamp_missing"]}`},
		{"leading time and level", `2026-11-22 10:00:00,123 ERROR [main] c.e.Foo - boom`,
			`{"@timestamp":"2026-11-22T10:00:00.123Z","message":"2026-11-22 10:00:00,123 ERROR [main] c.e.Foo - boom","log":{"level":"error"}}`},
		{"logback pattern", `2026-11-22 10:00:00.123 [http-nio-8080-exec-1] WARN  c.e.shop.Cart - slow`,
			`{"@timestamp":"2026-11-22T10:00:00.123Z","message":"2026-11-22 10:00:00.123 [http-nio-8080-exec-1] WARN  c.e.shop.Cart - slow","log":{"level":"warn"}}`},
		{"a lower-case word later is not a level", `2026-11-22 10:00:00 user saw an error page`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"2026-11-22 10:00:00 user saw an error page"}`},
		{"bracketed level", `2026-11-22 10:00:00 [error] upstream timed out`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"2026-11-22 10:00:00 [error] upstream timed out","log":{"level":"error"}}`},
		{"invalid json", `{"level":"info","msg":"cut`, `{"@timestamp":"2026-11-22T12:00:00Z","message":"{\"level\":\"info\",\"msg\":\"cut","tags":["_json_parse_failure","_timestamp_missing"]}`},
		{"invalid utf8 in json", "{\"msg\":\"caf\xe9\",\"ts\":1795341600}", `{"@timestamp":"2026-11-22T10:00:00Z","message":"caf` + "\ufffd" + `","tags":["_invalid_utf8"]}`},
		{"invalid utf8 in text", "bad \xff byte", `{"@timestamp":"2026-11-22T12:00:00Z","message":"bad ` + "\ufffd" + ` byte","tags":["_timestamp_missing","_invalid_utf8"]}`},
		{"crlf", "plain\r", `{"@timestamp":"2026-11-22T12:00:00Z","message":"plain","tags":["_timestamp_missing"]}`},
		{"json array is text", `[1,2]`, `{"@timestamp":"2026-11-22T12:00:00Z","message":"[1,2]","tags":["_timestamp_missing"]}`},
		{"empty", ``, `{"@timestamp":"2026-11-22T12:00:00Z","message":"","tags":["_timestamp_missing"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sameDoc(t, doc(t, p, tt.line), tt.want)
		})
	}
	deep := `{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`
	ev := parse(p, deep)[0]
	if !ev.Tags.Has(shipper.TagDepthExceeded) || ev.Tags.Has(shipper.TagJSONParseFailure) {
		t.Errorf("deep json: tags %v", ev.Tags.Names())
	}
	if v, _ := ev.Doc.Get("message"); shipper.String(v) != deep {
		t.Errorf("deep json: message %s", v)
	}
}

func TestProcessReplacesPreviousResults(t *testing.T) {
	p := newParser(t, nil)
	b := &shipper.Batch{Events: []shipper.Event{{Raw: []byte(`plain`), Level: shipper.LevelError, Time: readTime, Tags: shipper.TagMultiline}}}
	p.Process(b)
	ev := b.Events[0]
	if ev.Level != shipper.LevelUnknown || !ev.Time.IsZero() || !ev.Tags.Has(shipper.TagMultiline) {
		t.Errorf("stale fields: level %v time %v tags %v", ev.Level, ev.Time, ev.Tags.Names())
	}
	if s := p.Stats(); s.Events != 1 || s.Text != 1 || s.TimestampMissing != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestMembersDoNotOverlapBetweenEvents(t *testing.T) {
	p := newParser(t, nil)
	evs := parse(p, `{"a":1,"b":2}`, `{"c":3}`)
	evs[0].Doc.Set("added", []byte(`true`))
	if got := string(evs[1].Doc.Members[0].Key); got != "c" {
		t.Fatalf("appending to event 0's members overwrote event 1's: %q", got)
	}
}

func TestLogfmt(t *testing.T) {
	auto := newParser(t, nil)
	forced := newParser(t, func(c *Config) { c.Format = FormatLogfmt })
	tests := []struct {
		name string
		p    *Parser
		line string
		want string
	}{
		{"slog text handler", auto, `time=2026-11-22T10:00:00.000Z level=WARN msg="disk \"/\" almost full" free=3%`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"disk \"/\" almost full","log":{"level":"warn"},"free":"3%"}`},
		{"go-kit", auto, `ts=1795341600.25 caller=main.go:12 level=error err="dial: refused"`,
			`{"@timestamp":"2026-11-22T10:00:00.25Z","log":{"level":"error"},"caller":"main.go:12","err":"dial: refused"}`},
		{"go escapes", forced, `msg="a\x41\u00e9" level=info`,
			`{"@timestamp":"2026-11-22T12:00:00Z","message":"aAé","log":{"level":"info"},"tags":["_timestamp_missing"]}`},
		{"flag", forced, `msg=hi retry`, `{"@timestamp":"2026-11-22T12:00:00Z","message":"hi","retry":true,"tags":["_timestamp_missing"]}`},
		{"prose is not logfmt in auto", auto, `user=bob logged in`,
			`{"@timestamp":"2026-11-22T12:00:00Z","message":"user=bob logged in","tags":["_timestamp_missing"]}`},
		{"no known key is not logfmt in auto", auto, `a=1 b=2`,
			`{"@timestamp":"2026-11-22T12:00:00Z","message":"a=1 b=2","tags":["_timestamp_missing"]}`},
		{"words without pairs are text", forced, `hello world`,
			`{"@timestamp":"2026-11-22T12:00:00Z","message":"hello world","tags":["_timestamp_missing"]}`},
		{"unterminated quote is text", forced, `msg="open level=info`,
			`{"@timestamp":"2026-11-22T12:00:00Z","message":"msg=\"open level=info","tags":["_timestamp_missing"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { sameDoc(t, doc(t, tt.p, tt.line), tt.want) })
	}
}

func TestCRIAndDockerLines(t *testing.T) {
	p := newParser(t, nil)
	tests := []struct{ name, line, want string }{
		{"cri json payload with own time", `2026-11-22T10:00:00.5Z stdout F {"ts":1795341601,"msg":"x"}`,
			`{"@timestamp":"2026-11-22T10:00:01Z","message":"x","stream":"stdout"}`},
		{"cri text payload", `2026-11-22T10:00:00.5Z stderr F oops`,
			`{"@timestamp":"2026-11-22T10:00:00.5Z","message":"oops","stream":"stderr"}`},
		{"cri empty payload", `2026-11-22T10:00:00Z stdout F`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"","stream":"stdout"}`},
		{"cri payload keeps its own stream field", `2026-11-22T10:00:00Z stdout F {"stream":"orders","msg":"x"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"x","stream":"orders"}`},
		{"docker text", `{"log":"hello\r\n","stream":"stdout","time":"2026-11-22T10:00:00Z"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"hello","stream":"stdout"}`},
		{"docker escaped backslash before n is not a newline", `{"log":"a\\n","stream":"stdout","time":"2026-11-22T10:00:00Z"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"a\\n","stream":"stdout"}`},
		{"docker json payload", `{"log":"{\"level\":\"error\",\"msg\":\"x\"}\n","stream":"stderr","time":"2026-11-22T10:00:00Z"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"x","log":{"level":"error"},"stream":"stderr"}`},
		{"a log field alone is not docker", `{"log":"x","time":"2026-11-22T10:00:00Z"}`,
			`{"@timestamp":"2026-11-22T10:00:00Z","message":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { sameDoc(t, doc(t, p, tt.line), tt.want) })
	}
	if s := p.Stats(); s.CRI != 4 || s.Docker != 3 {
		t.Errorf("stats: %+v", s)
	}
}

func TestProcessIsSafeForConcurrentUse(t *testing.T) {
	p := newParser(t, nil)
	lines := benchLines()
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			b := &shipper.Batch{}
			for i := 0; i < 20; i++ {
				fillBatch(b, lines)
				p.Process(b)
				for j := range b.Events {
					if b.Events[j].Time.IsZero() || len(b.Events[j].Doc.Members) == 0 {
						t.Errorf("event %d not parsed", j)
						return
					}
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	if s := p.Stats(); s.Events != uint64(4*20*len(lines)) {
		t.Errorf("events counted %d", s.Events)
	}
}

func TestRecycledBatchReusesItsMembers(t *testing.T) {
	p := newParser(t, nil)
	lines := benchLines()
	b := &shipper.Batch{}
	fillBatch(b, lines)
	p.Process(b)
	first := &b.Events[0].Doc.Members[0]
	if allocs := testing.AllocsPerRun(10, func() { fillBatch(b, lines); p.Process(b) }); allocs != 0 {
		t.Errorf("a recycled batch cost %v allocations per Process", allocs)
	}
	if &b.Events[0].Doc.Members[0] != first {
		t.Errorf("the recycled batch did not reuse its member chunk")
	}
	// Each event's members are its own: a stage appending to one event's
	// members does not overwrite the next event's.
	for i := 0; i+1 < len(b.Events); i++ {
		ms := b.Events[i].Doc.Members
		if cap(ms) != len(ms) {
			t.Fatalf("event %d: members capacity %d beyond their length %d", i, cap(ms), len(ms))
		}
	}
}

func TestMemberChunkSizedFromLastBatch(t *testing.T) {
	p := newParser(t, nil)
	lines := benchLines()
	b := &shipper.Batch{}
	fillBatch(b, lines)
	p.Process(b) // learns the members per event
	used := 0
	for i := range b.Events {
		used += len(b.Events[i].Doc.Members)
	}
	fresh := &shipper.Batch{}
	fillBatch(fresh, lines)
	p.Process(fresh)
	// A fresh batch's chunk: what the last batch used plus a quarter and
	// the headroom, not 16 members per event.
	if c := cap(fresh.AllocMembers(0)) + used; c > used*5/4+2*memberHeadroom+1 {
		t.Errorf("chunk of %d members for %d used", c, used)
	}
}

func TestManyKeysStayLinear(t *testing.T) {
	p := newParser(t, nil)
	var b strings.Builder
	b.WriteString(`{"ts":1795341600`)
	const n = 100000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `,"k%d":%d`, i%(n/2), i) // every key twice
	}
	b.WriteString(`}`)
	start := time.Now()
	ev := parse(p, b.String())[0]
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("%d keys took %v: quadratic?", n, d)
	}
	if len(ev.Doc.Members) != n/2 {
		t.Fatalf("members %d, want %d", len(ev.Doc.Members), n/2)
	}
	if v, _ := ev.Doc.Get("k0"); string(v) != fmt.Sprint(n/2) {
		t.Errorf("k0 = %s, want the last value %d", v, n/2)
	}
}

func TestHostileTemplateIsBounded(t *testing.T) {
	p := newParser(t, nil)
	big := strings.Repeat("x", 100000)
	line := `{"@t":"2026-11-22T10:00:00Z","@mt":"` + strings.Repeat("{B}", 1000) + `","B":"` + big + `"}`
	ev := parse(p, line)[0]
	m, _ := ev.Doc.Get("message")
	if len(m) > 3*len(line) {
		t.Errorf("rendered message of %d bytes from a line of %d", len(m), len(line))
	}
	if !json.Valid(m) {
		t.Errorf("rendered message is not a JSON string")
	}
}

// TestClassifyByTable: every role name is found in the hashed table (two
// share a bucket), and a key that merely hashes alike, or differs in one
// letter's case or length, is not.
func TestClassifyByTable(t *testing.T) {
	names := map[string]bool{}
	for _, n := range roleNames {
		names[n.name] = true
		if r := classify([]byte(n.name)); r != n.role {
			t.Errorf("classify(%q) = %d, want %d", n.name, r, n.role)
		}
	}
	for _, n := range roleNames {
		for _, k := range []string{n.name + "s", n.name[:len(n.name)-1], strings.ToUpper(n.name), "x" + n.name[1:]} {
			if r := classify([]byte(k)); !names[k] && r != roleNone {
				t.Errorf("classify(%q) = %d, want none", k, r)
			}
		}
	}
	// Keys of every length and hash, none of them a role name.
	for i := 0; i < 20000; i++ {
		k := fmt.Sprintf("k%d", i)
		if r := classify([]byte(k)); r != roleNone {
			t.Errorf("classify(%q) = %d, want none", k, r)
		}
	}
}

// A key written with escapes is decoded in a line of one member too, as in
// longer lines: otherwise "str\u0065am" beside the CRI stream made two
// "stream" keys (Elasticsearch refuses the document), and an escaped msg,
// ts or message was not recognised.
func TestEscapedKeyOfAOneMemberLine(t *testing.T) {
	p := newParser(t, nil)
	tests := []struct{ line, want string }{
		{`2026-11-22T10:00:00.5Z stdout F {"str\u0065am":"x"}`,
			`{"@timestamp":"2026-11-22T10:00:00.5Z","stream":"x"}`},
		{`{"\u006dsg":"hello"}`, `{"@timestamp":"2026-11-22T12:00:00Z","message":"hello","tags":["_timestamp_missing"]}`},
		{`{"t\u0073":"2026-11-22T10:00:00Z"}`, `{"@timestamp":"2026-11-22T10:00:00Z"}`},
		{`{"me\u0073sage":{"a":1}}`, `{"@timestamp":"2026-11-22T12:00:00Z","message_app":{"a":1},"tags":["_timestamp_missing"]}`},
	}
	for _, tt := range tests {
		got := doc(t, p, tt.line)
		keys := map[string]bool{}
		dec := json.NewDecoder(strings.NewReader(got))
		dec.Token()
		for dec.More() {
			k, _ := dec.Token()
			if keys[k.(string)] {
				t.Errorf("%s: key %q twice in %s", tt.line, k, got)
			}
			keys[k.(string)] = true
			var v json.RawMessage
			dec.Decode(&v)
		}
		sameDoc(t, got, tt.want)
	}
}
