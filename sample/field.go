package sample

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// fieldKind says where a field path is read from.
type fieldKind uint8

const (
	fieldDoc fieldKind = iota // the application's fields (Event.Doc)
	fieldLevel
	fieldService
	fieldHost
	fieldTraceID
	fieldSpanID
)

// field is a field path resolved once, at New.
type field struct {
	kind fieldKind
	path string
}

func newField(path string) field {
	switch path {
	case "log.level":
		return field{fieldLevel, path}
	case "service.name":
		return field{fieldService, path}
	case "host.name":
		return field{fieldHost, path}
	case "trace.id":
		return field{fieldTraceID, path}
	case "span.id":
		return field{fieldSpanID, path}
	}
	return field{fieldDoc, path}
}

// value is one field's value: text (s or b, whichever the source had,
// without copying) or absent.
type value struct {
	s       string
	b       []byte
	isStr   bool // s holds the text, else b does
	ok      bool
	scratch bool // b points into the scratch buffer
}

// get reads the field from ev. scratch is room for the hex of an id or an
// unescaped string; the returned value may point into it.
func (f *field) get(ev *shipper.Event, scratch []byte) value {
	switch f.kind {
	case fieldLevel:
		if ev.Level == shipper.LevelUnknown {
			return value{}
		}
		return value{s: ev.Level.String(), isStr: true, ok: true}
	case fieldService:
		return value{s: ev.Service, isStr: true, ok: ev.Service != ""}
	case fieldHost:
		return value{s: ev.Host, isStr: true, ok: ev.Host != ""}
	case fieldTraceID:
		if ev.TraceID.IsZero() {
			return value{}
		}
		return value{b: appendHex(scratch[:0], ev.TraceID[:]), ok: true, scratch: true}
	case fieldSpanID:
		if ev.SpanID.IsZero() {
			return value{}
		}
		return value{b: appendHex(scratch[:0], ev.SpanID[:]), ok: true, scratch: true}
	}
	raw, ok := ev.Doc.Lookup(f.path)
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return value{}
	}
	if s, ok := jsonscan.StringContents(raw); ok {
		if bytes.IndexByte(s, '\\') >= 0 {
			if dec, ok := jsonscan.Unquote(scratch[:0], s); ok {
				return value{b: dec, ok: true, scratch: true}
			}
		}
		return value{b: s, ok: true}
	}
	return value{b: raw, ok: true}
}

func appendHex(dst, src []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range src {
		dst = append(dst, digits[c>>4], digits[c&0x0f])
	}
	return dst
}

// condOp is the test a condition applies.
type condOp uint8

const (
	opEquals condOp = iota
	opIn
	opPrefix
	opExists
	opRegex
)

// cond is a Condition compiled at New.
type cond struct {
	field  int // index in Sampler.fields
	op     condOp
	text   string   // equals, prefix
	in     []string // in
	exists bool
	re     *regexp.Regexp
}

func compileCond(c Condition, field int) (cond, error) {
	out := cond{field: field}
	switch {
	case c.Equals != nil:
		out.op, out.text = opEquals, *c.Equals
	case c.In != nil:
		out.op, out.in = opIn, c.In
	case c.Prefix != nil:
		out.op, out.text = opPrefix, *c.Prefix
	case c.Exists != nil:
		out.op, out.exists = opExists, *c.Exists
	case c.Regex != nil:
		re, err := regexp.Compile(*c.Regex)
		if err != nil {
			return cond{}, err
		}
		out.op, out.re = opRegex, re
	}
	return out, nil
}

func (c *cond) match(v value) bool {
	if c.op == opExists {
		return v.ok == c.exists
	}
	if !v.ok {
		return false
	}
	if v.isStr {
		switch c.op {
		case opEquals:
			return v.s == c.text
		case opIn:
			for _, t := range c.in {
				if v.s == t {
					return true
				}
			}
			return false
		case opPrefix:
			return strings.HasPrefix(v.s, c.text)
		case opRegex:
			return c.re.MatchString(v.s)
		}
		return false
	}
	switch c.op {
	case opEquals:
		return string(v.b) == c.text
	case opIn:
		for _, t := range c.in {
			if string(v.b) == t {
				return true
			}
		}
		return false
	case opPrefix:
		return len(v.b) >= len(c.text) && string(v.b[:len(c.text)]) == c.text
	case opRegex:
		return c.re.Match(v.b)
	}
	return false
}

// fieldCache holds the values of the rules' fields read so far for one
// event, so that rules testing the same field look it up once.
type fieldCache struct {
	vals   [8]value
	loaded uint8
}

// get returns field i of ev. Values in the scratch buffer are not cached:
// the next lookup may overwrite them.
func (fc *fieldCache) get(fields []field, i int, ev *shipper.Event, scratch []byte) value {
	if i < len(fc.vals) && fc.loaded&(1<<i) != 0 {
		return fc.vals[i]
	}
	v := fields[i].get(ev, scratch)
	if i < len(fc.vals) && !v.scratch {
		fc.vals[i] = v
		fc.loaded |= 1 << i
	}
	return v
}
