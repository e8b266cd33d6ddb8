package parser

import (
	"time"
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
	// "[2026-11-22 10:00:00] …" (PHP, many others): the same, bracketed.
	if len(line) > 20 && line[0] == '[' && isDigit(line[1]) {
		line = line[1:]
	}
	if len(line) >= 15 && !isDigit(line[0]) {
		s.textTimeNoYear(line)
		return
	}
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
	// The level: the next word in any case ("ERROR", "[warn]", "info:"),
	// or one of the three after it in capitals (logback's "[main] ERROR").
	rest := line[n:]
	for w := 0; w < 4 && len(rest) > 0; w++ {
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t' || rest[0] == '|' || rest[0] == '[' || rest[0] == ']') {
			rest = rest[1:]
		}
		end := 0
		for end < len(rest) && rest[end] > ' ' && rest[end] != ']' {
			end++
		}
		tok := rest[:end]
		rest = rest[end:]
		if len(tok) > 0 && tok[len(tok)-1] == ':' {
			tok = tok[:len(tok)-1]
		}
		if len(tok) < 3 || len(tok) > 9 || !allLetters(tok, w > 0) {
			continue
		}
		if l, ok := levelFromText(tok); ok {
			s.ev.Level = l
			return
		}
	}
}

// allLetters reports whether p is ASCII letters only (capitals only, if
// upper).
func allLetters(p []byte, upper bool) bool {
	for _, c := range p {
		if !(c >= 'A' && c <= 'Z') && (upper || !(c >= 'a' && c <= 'z')) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// textTimeNoYear reads the prefixes that carry no year: klog's
// "I1122 10:00:00.123456   12 main.go:42] msg" (Kubernetes components;
// the letter is the level) and syslog's "Nov 22 10:00:00 host app: msg".
// The year is the read time's (or the year before, for a date ahead).
func (s *state) textTimeNoYear(line []byte) {
	switch c := line[0]; {
	case (c == 'I' || c == 'W' || c == 'E' || c == 'F') && len(line) >= 21 && line[5] == ' ' && line[8] == ':' && line[11] == ':':
		month, ok1 := digits(line[1:3])
		day, ok2 := digits(line[3:5])
		hour, ok3 := digits(line[6:8])
		minute, ok4 := digits(line[9:11])
		sec, ok5 := digits(line[12:14])
		if !(ok1 && ok2 && ok3 && ok4 && ok5) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
			return
		}
		nsec := 0
		if line[14] == '.' {
			i := 15
			for ; i < len(line) && i < 24 && isDigit(line[i]); i++ {
				nsec = nsec*10 + int(line[i]-'0')
			}
			if d := i - 15; d > 0 && d < 9 {
				nsec *= pow10[9-d]
			}
		}
		t := time.Date(0, time.Month(month), day, hour, minute, sec, nsec, s.p.loc)
		s.ev.Time = fixYear(t, s.p.loc, s.ev.ReadTime)
		s.ev.Level = [...]shipper.Level{'I': shipper.LevelInfo, 'W': shipper.LevelWarn, 'E': shipper.LevelError, 'F': shipper.LevelFatal}[c]
	case c >= 'A' && c <= 'S' && line[3] == ' ' && line[6] == ' ' && line[9] == ':' && line[12] == ':':
		t, err := time.ParseInLocation(time.Stamp, string(line[:15]), s.p.loc)
		if err == nil {
			s.ev.Time = fixYear(t, s.p.loc, s.ev.ReadTime)
		}
	}
}
