package parser

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/traceship/shipper"
)

type framed struct {
	Line         string
	Offset, Next int64
	Tags         []string
}

// frame pushes lines (offsets as in a file with '\n' terminators) and
// flushes, returning what the framer emitted.
func frame(t *testing.T, f shipper.Framer, lines ...string) []framed {
	t.Helper()
	if f == nil {
		t.Fatal("NewFramer returned nil")
	}
	var out []framed
	emit := func(line []byte, src shipper.Source, tags shipper.Tags) {
		out = append(out, framed{string(line), src.Offset, src.Next, tags.Names()})
	}
	var off int64
	for _, l := range lines {
		next := off + int64(len(l)) + 1
		f.Push([]byte(l), shipper.Source{Offset: off, Next: next}, 0, emit)
		off = next
	}
	f.Flush(emit)
	return out
}

func TestCRIPartialsAreJoined(t *testing.T) {
	p := newParser(t, nil)
	got := frame(t, p.NewFramer("/var/log/containers/a.log"),
		`2026-11-22T10:00:00.1Z stdout P {"msg":"a`,
		`2026-11-22T10:00:00.2Z stdout P bc","le`,
		`2026-11-22T10:00:00.3Z stdout F vel":"warn"}`,
		`2026-11-22T10:00:01Z stderr F plain`,
	)
	want := []framed{
		{`2026-11-22T10:00:00.1Z stdout F {"msg":"abc","level":"warn"}`, 0, 127, nil},
		{`2026-11-22T10:00:01Z stderr F plain`, 127, 163, nil},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("framed (-want +got):\n%s", d)
	}
	if s := p.Stats(); s.PartialsJoined != 1 {
		t.Errorf("PartialsJoined = %d", s.PartialsJoined)
	}
	ev := parse(p, got[0].Line)[0]
	if m, _ := ev.Doc.Get("message"); string(m) != `"abc"` || ev.Level != shipper.LevelWarn {
		t.Errorf("joined line parsed as %s, %v", m, ev.Level)
	}
}

func TestCRIInterleavedStreamsNeverCheckpointPastAnIncompleteLine(t *testing.T) {
	p := newParser(t, func(c *Config) { c.Format = FormatCRI })
	got := frame(t, p.NewFramer("x.log"),
		`2026-11-22T10:00:00Z stdout P part one,`, // 0..40
		`2026-11-22T10:00:00Z stderr F other`,     // 40..76
		`2026-11-22T10:00:00Z stdout F part two`,  // 76..115
	)
	want := []framed{
		{`2026-11-22T10:00:00Z stderr F other`, 40, 0, nil}, // a checkpoint stays before the pending stdout line
		{`2026-11-22T10:00:00Z stdout F part one,part two`, 0, 115, nil},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("framed (-want +got):\n%s", d)
	}
}

func TestDockerSplitLinesAreJoined(t *testing.T) {
	p := newParser(t, nil)
	got := frame(t, p.NewFramer("/var/lib/docker/containers/x/x-json.log"),
		`{"log":"{\"msg\":\"long ","stream":"stdout","time":"2026-11-22T10:00:00.1Z"}`,
		`{"log":"line\"}\n","stream":"stdout","time":"2026-11-22T10:00:00.2Z"}`,
		`{"log":"short\n","stream":"stderr","time":"2026-11-22T10:00:01Z"}`,
	)
	if len(got) != 2 {
		t.Fatalf("framed %d lines: %+v", len(got), got)
	}
	if want := `{"log":"{\"msg\":\"long line\"}\n","stream":"stdout","time":"2026-11-22T10:00:00.1Z"}`; got[0].Line != want || got[0].Offset != 0 {
		t.Errorf("joined: %+v\nwant %s", got[0], want)
	}
	evs := parse(p, got[0].Line, got[1].Line)
	sameDoc(t, string(shipper.AppendSource(nil, &evs[0])), `{"@timestamp":"2026-11-22T10:00:00.1Z","message":"long line","stream":"stdout"}`)
	sameDoc(t, string(shipper.AppendSource(nil, &evs[1])), `{"@timestamp":"2026-11-22T10:00:01Z","message":"short","stream":"stderr"}`)
}

// A container line over partial_max_bytes is cut between two of its parts.
// A card number across that cut goes whole into the next piece, where
// redaction sees all of it, and nothing of the line is lost, with CRI and
// with Docker's json-file.
func TestCutAtTheCapDoesNotSplitACard(t *testing.T) {
	const card = "4111 1111 1111 1111"
	words := strings.Repeat("lorem ipsum ", 50) // 600 bytes
	head, tail := words[:500]+"paid with "+card[:9], card[9:]+" thanks"
	want := words + head + tail
	for _, tt := range []struct {
		name  string
		lines []string
		text  func(t *testing.T, line string) string
	}{
		{"CRI", []string{
			"2026-11-22T10:00:00Z stdout P " + words,
			"2026-11-22T10:00:00Z stdout P " + head,
			"2026-11-22T10:00:00Z stdout F " + tail,
		}, func(t *testing.T, line string) string {
			c, ok := splitCRI([]byte(line))
			if !ok {
				t.Fatalf("not a CRI line: %q", line)
			}
			return string(c.payload)
		}},
		{"Docker", []string{
			`{"log":"` + words + `","stream":"stdout","time":"2026-11-22T10:00:00Z"}`,
			`{"log":"` + head + `","stream":"stdout","time":"2026-11-22T10:00:00Z"}`,
			`{"log":"` + tail + `\n","stream":"stdout","time":"2026-11-22T10:00:00Z"}`,
		}, func(t *testing.T, line string) string {
			var d struct{ Log string }
			if err := json.Unmarshal([]byte(line), &d); err != nil {
				t.Fatalf("not a Docker line: %q: %v", line, err)
			}
			return strings.TrimSuffix(d.Log, "\n")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newParser(t, func(c *Config) { c.PartialMaxBytes = 1024 })
			got := frame(t, p.NewFramer("x.log"), tt.lines...)
			if len(got) != 2 || !slices.Contains(got[0].Tags, "_partial_too_long") {
				t.Fatalf("want the line in two pieces, the first tagged: %+v", got)
			}
			var all strings.Builder
			for i, g := range got {
				text := tt.text(t, g.Line)
				if strings.Contains(text, card[:9]) != (i == 1) || i == 1 && !strings.Contains(text, card) {
					t.Errorf("piece %d: %q; want the card whole in the second piece only", i, text)
				}
				all.WriteString(text)
			}
			if all.String() != want {
				t.Errorf("the pieces hold\n%q\nwant\n%q", all.String(), want)
			}
		})
	}
}

func TestPartialsAboveTheCapAreSplitNotDropped(t *testing.T) {
	p := newParser(t, func(c *Config) { c.PartialMaxBytes = 1024 })
	part := strings.Repeat("x", 600)
	var lines []string
	for i := 0; i < 4; i++ {
		lines = append(lines, "2026-11-22T10:00:00Z stdout P "+part)
	}
	lines = append(lines, "2026-11-22T10:00:00Z stdout F end")
	got := frame(t, p.NewFramer("x.log"), lines...)
	var payload strings.Builder
	for _, g := range got {
		c, ok := splitCRI([]byte(g.Line))
		if !ok {
			t.Fatalf("not a CRI line: %q", g.Line)
		}
		payload.Write(c.payload)
	}
	if want := strings.Repeat(part, 4) + "end"; payload.String() != want {
		t.Errorf("payload lost: got %d bytes, want %d", payload.Len(), len(want))
	}
	if len(got) != 3 || !cmp.Equal(got[0].Tags, []string{"_partial_too_long"}) {
		t.Errorf("got %d pieces, first tagged %v", len(got), got[0].Tags)
	}
	if got[len(got)-1].Next != int64(len(strings.Join(lines, "\n"))+1) {
		t.Errorf("last piece ends at %d", got[len(got)-1].Next)
	}
	if s := p.Stats(); s.PartialTooLong != 2 || s.PartialsJoined != 0 {
		t.Errorf("stats: %+v", s)
	}
}

func TestMultilineJoinsStackTraces(t *testing.T) {
	p := newParser(t, func(c *Config) {
		c.Multiline = &MultilineConfig{StartPattern: `^\d{4}-\d{2}-\d{2}`, MaxLines: 500, MaxBytes: 1 << 20, Timeout: 5e9}
	})
	lines := []string{
		`2026-11-22 10:00:00,123 ERROR [main] c.e.Pay - charge failed`,
		`java.lang.IllegalStateException: card declined`,
		"\tat com.example.Pay.charge(Pay.java:42)",
		"\tat com.example.Main.main(Main.java:7)",
		`Caused by: java.io.IOException: timeout`,
		"\t... 2 more",
		`{"level":"info","msg":"json lines always start an event"}`,
		`2026-11-22 10:00:01,000 INFO [main] c.e.Pay - next`,
		`panic: runtime error: index out of range [3] with length 3`,
		``,
		`goroutine 1 [running]:`,
		`main.main()`,
		"\t/app/main.go:12 +0x1d",
	}
	got := frame(t, p.NewFramer("app.log"), lines...)
	if len(got) != 3 {
		t.Fatalf("got %d events: %+v", len(got), got)
	}
	if want := strings.Join(lines[:6], "\n"); got[0].Line != want || !cmp.Equal(got[0].Tags, []string{"multiline"}) {
		t.Errorf("java trace: %+v", got[0])
	}
	if got[1].Line != lines[6] || got[1].Tags != nil {
		t.Errorf("json line: %+v", got[1])
	}
	if want := strings.Join(lines[7:], "\n"); got[2].Line != want {
		t.Errorf("go panic after a log line: %q", got[2].Line)
	}
	if got[0].Offset != 0 || got[0].Next != got[1].Offset || got[2].Next != int64(len(strings.Join(lines, "\n"))+1) {
		t.Errorf("sources do not tile the file: %+v", got)
	}
	if s := p.Stats(); s.MultilineJoined != 2 {
		t.Errorf("MultilineJoined = %d, want 2", s.MultilineJoined)
	}
	if p.FlushAfter() != 5e9 || newParser(t, nil).FlushAfter() != 0 {
		t.Errorf("FlushAfter = %v", p.FlushAfter())
	}
	ev := parse(p, got[0].Line)[0]
	if ev.Level != shipper.LevelError || ev.Time.IsZero() {
		t.Errorf("joined trace: level %v time %v", ev.Level, ev.Time)
	}
	if m, _ := ev.Doc.Get("message"); !strings.Contains(shipper.String(m), "\tat com.example.Main.main") {
		t.Errorf("message lost the trace: %s", m)
	}
}

func TestMultilineOverCRIPayloads(t *testing.T) {
	p := newParser(t, func(c *Config) {
		c.Multiline = &MultilineConfig{StartPattern: `^\S`, MaxLines: 3, MaxBytes: 1 << 20, Timeout: 5e9}
	})
	got := frame(t, p.NewFramer("/var/log/pods/ns_pod_uid/c/0.log"),
		`2026-11-22T10:00:00Z stdout F Exception in thread "main"`,
		"2026-11-22T10:00:00Z stdout F \tat A.a(A.java:1)",
		"2026-11-22T10:00:00Z stderr F unrelated",
		"2026-11-22T10:00:00Z stdout F \tat B.b(B.java:2)",
		"2026-11-22T10:00:00Z stdout F \tat C.c(C.java:3)",
	)
	want := []string{
		"2026-11-22T10:00:00Z stdout F Exception in thread \"main\"\n\tat A.a(A.java:1)\n\tat B.b(B.java:2)",
		"2026-11-22T10:00:00Z stderr F unrelated",
		"2026-11-22T10:00:00Z stdout F \tat C.c(C.java:3)", // max_lines reached
	}
	var lines []string
	for _, g := range got {
		lines = append(lines, g.Line)
	}
	if d := cmp.Diff(want, lines); d != "" {
		t.Fatalf("framed (-want +got):\n%s", d)
	}
}

func TestNoFramerWhenNothingToJoin(t *testing.T) {
	for _, format := range []string{FormatJSON, FormatLogfmt, FormatText} {
		p := newParser(t, func(c *Config) { c.Format = format })
		if f := p.NewFramer("a.log"); f != nil {
			t.Errorf("format %s: framer %T, want nil", format, f)
		}
	}
}

func TestFramerSkipsEmptyLines(t *testing.T) {
	p := newParser(t, nil)
	got := frame(t, p.NewFramer("a.log"), `{"a":1}`, ``, `b`)
	if len(got) != 2 || got[1].Line != "b" {
		t.Errorf("got %+v", got)
	}
}

func TestFlushEndsAtTheFurthestLine(t *testing.T) {
	p := newParser(t, nil)
	got := frame(t, p.NewFramer("x.log"),
		`2026-11-22T10:00:00Z stdout P a`, // 0..32
		`2026-11-22T10:00:00Z stderr P b`, // 32..64
		`2026-11-22T10:00:00Z stdout P c`, // 64..96
	)
	want := []framed{
		{`2026-11-22T10:00:00Z stderr F b`, 32, 0, nil},
		{`2026-11-22T10:00:00Z stdout F ac`, 0, 96, nil},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("framed (-want +got):\n%s", d)
	}
}

func TestCRIPartialWithEmptyFirstPayload(t *testing.T) {
	p := newParser(t, nil)
	got := frame(t, p.NewFramer("x.log"), `2026-11-22T10:00:00Z stdout P`, `2026-11-22T10:00:00Z stdout F rest`)
	if len(got) != 1 || got[0].Line != `2026-11-22T10:00:00Z stdout F rest` {
		t.Errorf("got %+v", got)
	}
}
