package redact

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// Realistic zap lines of about 370 bytes.
var benchLines = map[string]string{
	"clean":  `{"level":"info","ts":1732290000.1234567,"caller":"server/handler.go:142","msg":"request completed","service":"checkout","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","http":{"method":"POST","path":"/api/v1/orders/8812/items","status":200,"user_agent":"Mozilla/5.0 (X11; Linux x86_64)"},"duration_ms":12.53,"user_id":"u-829134","ts_ms":1732290000123}`,
	"card":   `{"level":"info","ts":1732290000.1234567,"caller":"server/handler.go:142","msg":"charge accepted","service":"checkout","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","payment":{"method":"card","card":{"number":"4111 1111 1111 1111","exp":"12/27"},"amount":1250,"currency":"EUR"},"duration_ms":12.53,"user_id":"u-829134","ts_ms":1732290000123}`,
	"bearer": `{"level":"warn","ts":1732290000.1234567,"caller":"server/auth.go:88","msg":"upstream rejected Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl","service":"gateway","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","http":{"method":"GET","path":"/api/v1/me","status":401},"duration_ms":3.2,"user_id":"u-829134"}`,
}

const benchBatch = 128

func benchProcess(b *testing.B, line string) {
	benchProcessWith(b, newDefault(b), line)
}

func benchProcessWith(b *testing.B, r *Redactor, line string) {
	raw := []byte(line)
	orig, err := jsonscan.Members(nil, raw, 0)
	if err != nil {
		b.Fatal(err)
	}
	batch := &shipper.Batch{Events: make([]shipper.Event, benchBatch)}
	for i := range batch.Events {
		batch.Events[i].Raw = raw
		batch.Events[i].Doc.Members = make([]shipper.Member, 0, len(orig))
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += benchBatch {
		// Restore the members (Process replaced some values) and keep
		// the arena from growing without bound; Reset would drop the
		// members' capacity.
		for i := range batch.Events {
			ev := &batch.Events[i]
			ev.Doc.Members = append(ev.Doc.Members[:0], orig...)
			ev.Tags = 0
		}
		if n%(1<<14) == 0 {
			events := batch.Events
			batch.Reset()
			batch.Events = events
		}
		r.Process(batch)
	}
}

// BenchmarkProcess measures Process per event (batches of 128). The
// "harness" case runs a disabled Redactor: the cost of restoring the
// members between rounds, to subtract from the others.
func BenchmarkProcess(b *testing.B) {
	b.Run("harness", func(b *testing.B) {
		cfg := DefaultConfig()
		cfg.Enabled = false
		r, err := New(cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		benchProcessWith(b, r, benchLines["clean"])
	})
	for _, name := range []string{"clean", "card", "bearer"} {
		b.Run(name, func(b *testing.B) { benchProcess(b, benchLines[name]) })
	}
}

// BenchmarkBaselineEncodingJSON is the yardstick of issue 11: decoding the
// same line into a map.
func BenchmarkBaselineEncodingJSON(b *testing.B) {
	for _, name := range []string{"clean", "card", "bearer"} {
		b.Run(name, func(b *testing.B) {
			raw := []byte(benchLines[name])
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				var m map[string]any
				if err := json.Unmarshal(raw, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkText(b *testing.B) {
	r := newDefault(b)
	msg := []byte(`failed to parse field [payment.card] of type [long] in document with id 'f1-42'. Preview of field's value: '4111111111111111'`)
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		dst = r.Text(dst[:0], msg)
	}
}

// BenchmarkTextRepeated runs Text over 64 KiB of one fragment repeated:
// shapes that once made a rule walk the rest of the line at every match
// (quadratic: seconds for a 1 MiB line, which stalled its worker). Each
// case should cost about what "plain" does per byte, within a small factor.
func BenchmarkTextRepeated(b *testing.B) {
	for _, c := range []struct{ name, unit string }{
		{"plain", "the quick brown fox "},
		{"jwt-headers", "eyJ"},
		{"slack-prefixes", "xoxb-"},
		{"unclosed-lists", "password=["},
		{"pem-armour", "-----BEGIN "},
		{"flags", "--password "},
		{"cards", "4111-1111-"},
		// Spans of several passes, interleaved: sorted by insertion,
		// each one moved past all the earlier pass's after it.
		{"kv-both-separators", "password=x password:y "},
		{"bearer-both-cases", "Bearer abcdefgh1 bearer abcdefgh1 "},
		{"aws-both-prefixes", "AKIAAAAAAAAAAAAAAAAA ASIAAAAAAAAAAAAAAAAA "},
		{"flags-and-pairs", "--password =x "},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := newDefault(b)
			s := bytes.Repeat([]byte(c.unit), 64<<10/len(c.unit))
			var dst []byte
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				dst = r.Text(dst[:0], s)
			}
		})
	}
}

// BenchmarkProcessRepeated runs Process over one line of about 64 KiB
// made of one member repeated (inside an object under a key of half the
// line, for the cases with an outer key), under configurations in which
// such lines once cost time quadratic in their members. Each case should
// cost about what "plain" does per byte, within a small factor.
func BenchmarkProcessRepeated(b *testing.B) {
	for _, c := range []struct {
		name   string
		cfg    func(*Config)
		outer  bool
		member func(i int) string
	}{
		{"plain", func(*Config) {}, false, func(i int) string { return `"key` + strconv.Itoa(i) + `":"value"` }},
		// Each member removed in place shifted all those after it.
		{"remove-sensitive-keys", func(c *Config) { c.Keys.Action = ActionRemove }, false,
			func(i int) string { return `"password` + strconv.Itoa(i) + `":"x"` }},
		// Each key's path was matched against the globs from its first
		// byte, the long outer key included.
		{"glob-long-path", func(c *Config) { c.Keys.Extra = []string{"*.email", "user.p?n"} }, true,
			func(i int) string { return `"key` + strconv.Itoa(i) + `":"value"` }},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg := DefaultConfig()
			c.cfg(&cfg)
			r, err := New(cfg, func(string) string { return "" })
			if err != nil {
				b.Fatal(err)
			}
			raw := []byte{'{'}
			if c.outer {
				raw = append(raw, `"`+strings.Repeat("u", 32<<10)+`":{`...)
			}
			for i := 0; len(raw) < 64<<10; i++ {
				if i > 0 {
					raw = append(raw, ',')
				}
				raw = append(raw, c.member(i)...)
			}
			if c.outer {
				raw = append(raw, '}')
			}
			raw = append(raw, '}')
			orig, err := jsonscan.Members(nil, raw, 0)
			if err != nil {
				b.Fatal(err)
			}
			members := make([]shipper.Member, 0, len(orig))
			batch := &shipper.Batch{}
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				batch.Reset()
				batch.Events = append(batch.Events, shipper.Event{Raw: raw, Doc: shipper.Doc{Members: append(members[:0], orig...)}})
				r.Process(batch)
			}
		})
	}
}

// Process allocates nothing for a clean event, numbers of every form
// included: issue 11 asks for an allocation-free hot path, and a buffer
// that escaped to the heap once cost one allocation per long number.
func TestProcessCleanEventsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, and the scratch with them")
	}
	r := newDefault(t)
	raw := []byte(`{"level":"info","msg":"request completed","ts_ms":1732290000123,"ratio":1.5e3,"big":12345678901234.5,"http":{"status":200,"bytes":4.2e-1}}`)
	orig, err := jsonscan.Members(nil, raw, 0)
	if err != nil {
		t.Fatal(err)
	}
	batch := &shipper.Batch{Events: make([]shipper.Event, 16)}
	for i := range batch.Events {
		batch.Events[i].Raw = raw
		batch.Events[i].Doc.Members = make([]shipper.Member, 0, len(orig))
	}
	run := func() {
		for i := range batch.Events {
			batch.Events[i].Doc.Members = append(batch.Events[i].Doc.Members[:0], orig...)
		}
		r.Process(batch)
	}
	run() // the scratch's first use sizes its buffers
	if n := testing.AllocsPerRun(50, run); n != 0 {
		t.Errorf("Process allocated %.1f times per batch of clean events", n)
	}
}
