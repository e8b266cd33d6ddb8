package parser

import (
	"time"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// criLine is a CRI (containerd, CRI-O) log line split into its parts:
// "2026-11-22T10:00:00.123456789Z stdout F payload".
type criLine struct {
	time    time.Time
	stream  []byte // stdout or stderr
	partial bool   // tag P: the payload continues on the next line
	payload []byte
	prefix  int // bytes before the payload
	tagPos  int // offset of the tag
}

// splitCRI reports whether line is a CRI line and splits it.
func splitCRI(line []byte) (c criLine, ok bool) {
	if len(line) < 20 || !isDigit(line[0]) {
		return c, false
	}
	t, n, ok := parseTimestamp(line, time.UTC)
	if !ok || n+9 > len(line) || line[n] != ' ' {
		return c, false
	}
	rest := line[n+1:]
	if string(rest[:7]) != "stdout " && string(rest[:7]) != "stderr " {
		return c, false
	}
	c.time = t
	c.stream = rest[:6]
	rest = rest[7:]
	// The tag: "F" or "P", possibly followed by more ':'-separated flags.
	end := 0
	for end < len(rest) && rest[end] != ' ' {
		end++
	}
	if end == 0 || (rest[0] != 'F' && rest[0] != 'P') || (end > 1 && rest[1] != ':') {
		return c, false
	}
	c.partial = rest[0] == 'P'
	c.tagPos = n + 1 + 7
	c.prefix = n + 1 + 7 + end
	if end < len(rest) {
		c.prefix++
		c.payload = rest[end+1:]
	}
	return c, true
}

func streamValue(stream []byte) []byte {
	if string(stream) == "stderr" {
		return valStderr
	}
	return valStdout
}

// cri parses a CRI line; false when line is not one.
func (s *state) cri(line []byte) bool {
	c, ok := splitCRI(line)
	if !ok {
		return false
	}
	s.stats.cri++
	stream := shipper.Member{Key: keyStream, Value: streamValue(c.stream)}
	payload := trimLine(c.payload)
	if len(payload) > 0 && payload[0] == '{' {
		s.json(payload, c.time, true, stream)
		return true
	}
	s.text(payload, true, stream)
	s.stats.text-- // counted as cri
	if s.ev.Time.IsZero() {
		s.ev.Time = c.time
	}
	return true
}

// isDocker reports whether the members are a Docker json-file envelope:
// "log" (a string), "stream" and "time", and perhaps "attrs".
func isDocker(ms []shipper.Member) bool {
	if len(ms) < 3 || len(ms) > 4 || string(ms[0].Key) != "log" || !jsonscan.IsString(ms[0].Value) {
		return false
	}
	var stream, tm bool
	for _, m := range ms[1:] {
		switch string(m.Key) {
		case "stream":
			stream = true
		case "time":
			tm = true
		case "attrs":
		default:
			return false
		}
	}
	return stream && tm
}

// docker parses a Docker json-file line, whose members passed isDocker:
// the inner log is parsed as JSON when it is a JSON object, else it is the
// message; the trailing newline Docker keeps is dropped.
func (s *state) docker(ms []shipper.Member) {
	s.stats.docker++
	var outer time.Time
	var extra [2]shipper.Member
	nx := 0
	for _, m := range ms[1:] {
		switch string(m.Key) {
		case "time":
			if jsonscan.IsString(m.Value) {
				outer, _, _ = parseTimestamp(m.Value[1:len(m.Value)-1], time.UTC)
			}
		default:
			extra[nx] = m
			nx++
		}
	}
	content := trimEscapedNewline(ms[0].Value[1 : len(ms[0].Value)-1])
	if len(content) > 0 && content[0] == '{' {
		// Unescaping never makes the text longer.
		if dec, ok := jsonscan.Unquote(s.b.Alloc(len(content))[:0], content); ok {
			s.json(dec, outer, true, extra[:nx]...)
			return
		}
	}
	m := s.members.take(s.left)
	val := s.b.Alloc(len(content) + 2)
	val[0] = '"'
	copy(val[1:], content)
	val[len(val)-1] = '"'
	m = append(m, shipper.Member{Key: keyMessage, Value: val})
	m = append(m, extra[:nx]...)
	s.ev.Doc.Members = s.members.keep(m)
	s.textTime(content) // escapes never occur in the timestamp prefixes it reads
	if s.ev.Time.IsZero() {
		s.ev.Time = outer
	}
}

// trimEscapedNewline drops trailing \n and \r escapes from raw JSON string
// contents (an escaped backslash before an 'n' is not one).
func trimEscapedNewline(c []byte) []byte {
	for len(c) >= 2 && c[len(c)-2] == '\\' && (c[len(c)-1] == 'n' || c[len(c)-1] == 'r') {
		bs := 0
		for i := len(c) - 2; i >= 0 && c[i] == '\\'; i-- {
			bs++
		}
		if bs%2 == 0 {
			break
		}
		c = c[:len(c)-2]
	}
	return c
}
