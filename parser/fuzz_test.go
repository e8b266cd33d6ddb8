package parser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// checkLine parses one line with p and checks what must hold for any input:
// no panic, a valid JSON document, and the line's text not lost — as the
// message when it was kept as text, or as members (minus the time and level
// taken from it) when it was parsed.
func checkLine(t *testing.T, p *Parser, line []byte) {
	ev := parse(p, string(line))[0]
	doc := shipper.AppendSource(nil, &ev)
	if !json.Valid(doc) {
		t.Fatalf("invalid document for %q:\n%s", line, doc)
	}
	clean := trimLine(sanitizeForTest(line))
	docker := false
	if c, ok := splitCRI(clean); ok && (p.format == fmtAuto || p.format == fmtCRI) {
		clean = trimLine(c.payload)
	} else if ms, err := jsonscan.Members(nil, clean, p.maxDepth); err == nil && isDocker(ms) && (p.format == fmtAuto || p.format == fmtDocker) {
		docker = true
	}
	msg, hasMsg := ev.Doc.Get("message")
	if ev.Tags&(shipper.TagJSONParseFailure|shipper.TagDepthExceeded) != 0 && !docker {
		if !hasMsg || shipper.String(msg) != string(clean) {
			t.Fatalf("text of %q lost: message %s", line, msg)
		}
	}
	if len(ev.Doc.Members) == 0 && len(clean) > 0 && !docker {
		// Only a JSON object or logfmt line whose members were all
		// consumed may leave none.
		ms, err := jsonscan.Members(nil, clean, 0)
		if err != nil && looksLogfmt(clean) && (!ev.Time.IsZero() || ev.Level != shipper.LevelUnknown) {
			return
		}
		if err != nil {
			t.Fatalf("line %q left no members", line)
		}
		for _, m := range ms {
			if r := classify(m.Key); r == roleNone {
				t.Fatalf("line %q: member %q lost", line, m.Key)
			}
		}
	}
}

func sanitizeForTest(p []byte) []byte {
	if utf8.Valid(p) {
		return p
	}
	var out []byte
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && n == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, p[i:i+n]...)
		}
		i += n
	}
	return out
}

func addSeeds(f *testing.F) {
	for _, s := range []string{
		`{"level":"info","ts":1795341600.5,"msg":"x","a":{"b":[1,2]}}`,
		`{"@t":"2026-11-22T10:00:00Z","@mt":"Hi {Name} {{x}} {@Obj:l}","Name":"n","Obj":{"a":1}}`,
		`{"log":"{\"msg\":\"in\"}\n","stream":"stdout","time":"2026-11-22T10:00:00Z"}`,
		`2026-11-22T10:00:00.1Z stdout F {"msg":"cri"}`,
		`2026-11-22T10:00:00.1Z stderr P part`,
		`time=2026-11-22T10:00:00Z level=info msg="a \"b\"" k=v`,
		`2026-11-22 10:00:00,123 ERROR x`,
		"{\"a\":\"\xff\"}", `{"\u0061":1,"a":2}`, `{"log":{"level":"WARN"}}`, `{"a":1`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzProcessAuto: any line through format auto (JSON, CRI, Docker,
// logfmt, text).
func FuzzProcessAuto(f *testing.F) {
	addSeeds(f)
	p := newParser(f, nil)
	f.Fuzz(func(t *testing.T, line []byte) {
		w := time.AfterFunc(3*time.Second, func() { panic(fmt.Sprintf("HANG %q", line)) })
		checkLine(t, p, line)
		w.Stop()
	})
}

func FuzzProcessJSON(f *testing.F) {
	addSeeds(f)
	p := newParser(f, func(c *Config) { c.Format = FormatJSON })
	f.Fuzz(func(t *testing.T, line []byte) { checkLine(t, p, line) })
}

func FuzzProcessText(f *testing.F) {
	addSeeds(f)
	p := newParser(f, func(c *Config) { c.Format = FormatText })
	f.Fuzz(func(t *testing.T, line []byte) {
		checkLine(t, p, line)
		ev := parse(p, string(line))[0]
		if m, _ := ev.Doc.Get("message"); len(ev.Doc.Members) != 1 || shipper.String(m) != string(trimLine(sanitizeForTest(line))) {
			t.Fatalf("text line %q: members %d, message %s", line, len(ev.Doc.Members), m)
		}
	})
}

func FuzzProcessCRI(f *testing.F) {
	addSeeds(f)
	p := newParser(f, func(c *Config) { c.Format = FormatCRI })
	f.Fuzz(func(t *testing.T, line []byte) { checkLine(t, p, line) })
}

func FuzzProcessDocker(f *testing.F) {
	addSeeds(f)
	p := newParser(f, func(c *Config) { c.Format = FormatDocker })
	f.Fuzz(func(t *testing.T, line []byte) { checkLine(t, p, line) })
}

func FuzzProcessLogfmt(f *testing.F) {
	addSeeds(f)
	p := newParser(f, func(c *Config) { c.Format = FormatLogfmt })
	f.Fuzz(func(t *testing.T, line []byte) {
		checkLine(t, p, line)
		ev := parse(p, string(line))[0]
		if !ev.Tags.Has(shipper.TagTimestampMissing) && ev.Time.IsZero() && !ev.Tags.Has(shipper.TagTimestampParseFailure) {
			t.Fatalf("time neither set nor tagged")
		}
	})
}

// FuzzFramer: lines through the framer (CRI partials, Docker splits,
// multiline) never lose a line's text, and Sources never go backwards past
// an emitted line's start.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("2026-11-22T10:00:00Z stdout P a\n2026-11-22T10:00:00Z stderr F b\n2026-11-22T10:00:00Z stdout F c\nplain\n\tcont\n"))
	f.Add([]byte("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2026-11-22T10:00:00Z\"}\n{\"log\":\"y\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, ml := range []bool{false, true} {
			p := newParser(t, func(c *Config) {
				c.PartialMaxBytes = 1024
				if ml {
					m := DefaultMultilineConfig()
					m.StartPattern = `^\S`
					m.MaxLines = 4
					m.MaxBytes = 1024
					c.Multiline = &m
				}
			})
			var out []framed
			emit := func(line []byte, src shipper.Source, tags shipper.Tags) {
				out = append(out, framed{Line: string(line), Offset: src.Offset, Next: src.Next})
			}
			fr := p.NewFramer("x.log")
			var off int64
			lines := bytes.Split(in, []byte("\n"))
			for _, l := range lines {
				next := off + int64(len(l)) + 1
				fr.Push(l, shipper.Source{Offset: off, Next: next}, 0, emit)
				off = next
			}
			fr.Flush(emit)
			// A checkpoint (the Next of an emitted line) never moves back
			// and never passes the start of a line emitted later.
			for i, o := range out {
				if i > 0 && o.Next < out[i-1].Next {
					t.Fatalf("Next moves back: %+v", out)
				}
				for _, later := range out[i+1:] {
					if later.Offset < o.Next {
						t.Fatalf("checkpoint %d passes line at %d emitted later: %+v", o.Next, later.Offset, out)
					}
				}
			}
			var all strings.Builder
			for _, o := range out {
				all.WriteString(o.Line)
				all.WriteByte('\n')
				checkLine(t, p, []byte(o.Line))
			}
			for _, l := range lines {
				text := l
				if c, ok := splitCRI(l); ok {
					text = c.payload
				} else if ms, err := jsonscan.Members(nil, l, 64); err == nil && isDocker(ms) {
					text = ms[0].Value[1 : len(ms[0].Value)-1]
					text = trimEscapedNewline(text)
				}
				if !strings.Contains(all.String(), string(text)) {
					t.Fatalf("multiline=%v: text %q of line %q lost; emitted %q", ml, text, l, all.String())
				}
			}
		}
	})
}
