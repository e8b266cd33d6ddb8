package parser

import (
	"strconv"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// logfmt parses a key=value line (logfmt, slog's TextHandler, logrus'
// text formatter, go-kit) into members whose values are JSON strings:
// logfmt has no types, and guessing them would give one field different
// Elasticsearch types from line to line. A key without '=' is true.
//
// strict (format auto) accepts the line only if it is unmistakably logfmt:
// at least two pairs, no bare words, and a time, level or message key;
// otherwise it returns false and the line is text. Without strict it
// returns false for a line without any key=value pair or one it cannot
// split (an unterminated quote).
func (s *state) logfmt(line []byte, strict bool) bool {
	if strict && !looksLogfmt(line) {
		return false
	}
	ms := s.members.take(s.left)
	known := false
	pairs := 0
	for i := 0; i < len(line); {
		for i < len(line) && line[i] == ' ' || i < len(line) && line[i] == '\t' {
			i++
		}
		if i >= len(line) {
			break
		}
		ks := i
		for i < len(line) && line[i] > ' ' && line[i] != '=' && line[i] != '"' {
			i++
		}
		key := line[ks:i]
		if len(key) == 0 {
			return false
		}
		var val []byte
		switch {
		case i < len(line) && line[i] == '=':
			pairs++
			i++
			if i < len(line) && line[i] == '"' {
				end := quotedEnd(line, i)
				if end < 0 {
					return false
				}
				val = s.logfmtQuoted(line[i:end])
				i = end
			} else {
				vs := i
				for i < len(line) && line[i] > ' ' {
					i++
				}
				val = s.quote(line[vs:i])
			}
		case strict:
			return false
		default:
			val = []byte("true")
		}
		if !known && classify(key) != roleNone {
			known = true
		}
		ms = append(ms, shipper.Member{Key: s.logfmtKey(key), Value: val})
	}
	if pairs == 0 || (strict && (pairs < 2 || !known)) {
		return false // not logfmt: the line is text
	}
	s.stats.logfmt++
	ms = s.fields(ms, true)
	s.ev.Doc.Members = s.members.keep(ms)
	return true
}

// looksLogfmt is a cheap test that the line starts "key=".
func looksLogfmt(line []byte) bool {
	for i, c := range line {
		switch {
		case c == '=':
			return i > 0
		case c <= ' ' || c == '"' || c == '{' || c == '[':
			return false
		}
		if i > 64 {
			return false
		}
	}
	return false
}

// quotedEnd returns the offset just past the closing quote of the quoted
// value starting at line[i], or -1.
func quotedEnd(line []byte, i int) int {
	for j := i + 1; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// logfmtQuoted turns a quoted logfmt value (Go quoting) into a JSON string.
func (s *state) logfmtQuoted(q []byte) []byte {
	// Most quoted values use only escapes JSON shares with Go: keep them.
	if jsonscan.Valid(q, 1) == nil {
		return s.b.Append(q)
	}
	u, err := strconv.Unquote(string(q))
	if err != nil {
		return s.quote(q[1 : len(q)-1])
	}
	return jsonscan.AppendString(s.b.Alloc(escapedLen([]byte(u)) + 2)[:0], u)
}

// logfmtKey returns key as raw JSON key text.
func (s *state) logfmtKey(key []byte) []byte {
	for _, c := range key {
		if c == '\\' || c >= 0x80 {
			q := s.quote(key)
			return q[1 : len(q)-1]
		}
	}
	return key
}
