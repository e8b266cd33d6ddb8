package parser

import (
	"unicode/utf8"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// text makes line the event's message, as a JSON string in the batch's
// memory. plain says the line is text by nature (counted as such) rather
// than a failed JSON line. extra members (a container's stream) follow.
func (s *state) text(line []byte, plain bool, extra ...shipper.Member) {
	if plain {
		s.stats.text++
		s.textTime(line)
	}
	ms := s.members.take(s.left)
	ms = append(ms, shipper.Member{Key: keyMessage, Value: s.quote(line)})
	ms = append(ms, extra...)
	s.ev.Doc.Members = s.members.keep(ms)
}

// quote returns line as a quoted JSON string in the batch's memory.
func (s *state) quote(line []byte) []byte {
	return jsonscan.AppendString(s.b.Alloc(escapedLen(line) + 2)[:0], line)
}

// escapedLen is the length of jsonscan.AppendEscaped(nil, p), so that the
// batch memory for it is allocated once and exactly.
func escapedLen(p []byte) int {
	n := len(p)
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				switch c {
				case '"', '\\', '\n', '\r', '\t':
					n++
				default:
					n += 5
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			n += 2 // one byte becomes the three of U+FFFD
		}
		i += size
	}
	return n
}

// textTime reads the time and level a plain-text line starts with, as in
// "2026-11-22 10:00:00,123 ERROR [main] ..." or
// "2026-11-22T10:00:00Z WARN ...": the line itself stays the message.
func (s *state) textTime(line []byte) {
	if len(line) < 19 || !isDigit(line[0]) {
		return
	}
	t, n, ok := parseTimestamp(line, s.p.loc)
	if !ok || (n < len(line) && line[n] != ' ' && line[n] != '\t' && line[n] != ']' && line[n] != '|') {
		return
	}
	s.ev.Time = t
	if s.ev.Level != shipper.LevelUnknown {
		return
	}
	// The level, if the next word names one: "ERROR", "[warn]", "level=info".
	rest := line[n:]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == ']' || rest[0] == '|') {
		rest = rest[1:]
	}
	if len(rest) > 0 && rest[0] == '[' {
		rest = rest[1:]
	}
	end := 0
	for end < len(rest) && end < 12 && isLetter(rest[end]) {
		end++
	}
	if end >= 3 && (end == len(rest) || !isLetter(rest[end])) {
		if l, ok := levelFromText(rest[:end]); ok {
			s.ev.Level = l
		}
	}
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
