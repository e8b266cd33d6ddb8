package jsonscan

import (
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Skip returns the offset just past the valid JSON value starting at data[i]
// (after any white space). On invalid input it returns len(data).
func Skip(data []byte, i int) int {
	i = skipWS(data, i)
	end, err := validValue(data, i, 1<<30, nil)
	if err != nil {
		return len(data)
	}
	return end
}

// EachMember calls fn for each member of the valid JSON object obj, in order,
// until fn returns false. It does nothing when obj is not an object.
func EachMember(obj []byte, fn func(key, value []byte) bool) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return
	}
	i = skipWS(obj, i+1)
	for i < len(obj) && obj[i] == '"' {
		end, err := validString(obj, i)
		if err != nil {
			return
		}
		key := obj[i+1 : end-1]
		i = skipWS(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return
		}
		vstart := skipWS(obj, i+1)
		vend := Skip(obj, vstart)
		if !fn(key, obj[vstart:vend]) {
			return
		}
		i = skipWS(obj, vend)
		if i >= len(obj) || obj[i] != ',' {
			return
		}
		i = skipWS(obj, i+1)
	}
}

// Get returns the value of the member named key in the valid JSON object
// obj; with duplicate keys the last wins, as in the agent's documents.
func Get(obj []byte, key string) (value []byte, ok bool) {
	EachMember(obj, func(k, v []byte) bool {
		if KeyEqual(k, key) {
			value, ok = v, true
		}
		return true
	})
	return value, ok
}

// KeyEqual reports whether the raw key text (as in Member.Key) spells name.
func KeyEqual(raw []byte, name string) bool {
	if len(raw) == len(name) && string(raw) == name {
		return true
	}
	if !hasBackslash(raw) {
		return false
	}
	var buf [64]byte
	dec, ok := Unquote(buf[:0], raw)
	return ok && string(dec) == name
}

func hasBackslash(p []byte) bool {
	for _, c := range p {
		if c == '\\' {
			return true
		}
	}
	return false
}

// IsString reports whether the raw value is a JSON string.
func IsString(value []byte) bool { return len(value) >= 2 && value[0] == '"' }

// StringContents returns the text between a raw string value's quotes,
// escapes not decoded, and whether value is a string.
func StringContents(value []byte) ([]byte, bool) {
	if !IsString(value) {
		return nil, false
	}
	return value[1 : len(value)-1], true
}

// Unquote appends the decoded text of raw string contents (the text between
// the quotes) to dst. It reports false for an invalid escape.
func Unquote(dst, raw []byte) ([]byte, bool) {
	if !hasBackslash(raw) {
		return append(dst, raw...), true
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if i+1 >= len(raw) {
			return dst, false
		}
		switch raw[i+1] {
		case '"', '\\', '/':
			dst = append(dst, raw[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(raw, i+2)
			if !ok {
				return dst, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok2 := hex4(raw, i+2); ok2 && i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						i += 6
						dst = utf8.AppendRune(dst, d)
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return dst, false
		}
		i += 2
	}
	return dst, true
}

func hex4(p []byte, i int) (rune, bool) {
	if i+4 > len(p) {
		return 0, false
	}
	var r rune
	for _, c := range p[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// needsEscape marks the ASCII bytes that AppendString must escape.
var needsEscape = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// AppendString appends s as a quoted JSON string. Invalid UTF-8 becomes
// U+FFFD, so the output is always valid JSON.
func AppendString[T []byte | string](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s)
	return append(dst, '"')
}

// AppendEscaped appends s escaped for use inside a JSON string, without
// quotes.
func AppendEscaped[T []byte | string](dst []byte, s T) []byte {
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain ASCII bytes at a time (paths, names, levels:
		// what the agent writes is mostly that).
		for i+8 <= len(s) {
			x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			// The lowest mark is exact: a quote, backslash, control
			// byte or a byte of a multi-byte sequence.
			if m := specialBytes(x) | x&msb; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if !needsEscape[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

const hexDigits = "0123456789abcdef"

// DedupeKeys appends the valid JSON value v to dst with the repeated keys
// of every object, at any depth, removed: of equal keys (compared as raw
// text) the last wins, at its own position, as a JSON decoder would keep
// it. White space between tokens is dropped, so the result is never longer
// than v.
func DedupeKeys(dst, v []byte) []byte {
	i := skipWS(v, 0)
	if i >= len(v) {
		return dst
	}
	switch v[i] {
	case '{':
		var buf [16]Member
		ms := buf[:0]
		EachMember(v[i:], func(k, val []byte) bool {
			ms = append(ms, Member{Key: k, Value: val})
			return true
		})
		// For a big object, the position of each key's last occurrence
		// (linear; this path is rare and may allocate).
		var last map[string]int
		if len(ms) > 16 {
			last = make(map[string]int, len(ms))
			for j, m := range ms {
				last[string(m.Key)] = j
			}
		}
		dst = append(dst, '{')
		n := 0
	members:
		for j, m := range ms {
			if last != nil {
				if last[string(m.Key)] != j {
					continue
				}
			} else {
				for _, later := range ms[j+1:] {
					if string(later.Key) == string(m.Key) {
						continue members
					}
				}
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = append(dst, '"')
			dst = append(dst, m.Key...)
			dst = append(dst, '"', ':')
			dst = DedupeKeys(dst, m.Value)
		}
		return append(dst, '}')
	case '[':
		dst = append(dst, '[')
		i = skipWS(v, i+1)
		for n := 0; i < len(v) && v[i] != ']'; n++ {
			end := Skip(v, i)
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = DedupeKeys(dst, v[i:end])
			i = skipWS(v, end)
			if i < len(v) && v[i] == ',' {
				i = skipWS(v, i+1)
			}
		}
		return append(dst, ']')
	}
	return append(dst, v[i:Skip(v, i)]...)
}

// AppendObjectWithout appends the valid JSON object obj to dst without the
// members for which drop reports true (given each member's position and raw
// key), compacted; it returns the result and how many members were kept.
func AppendObjectWithout(dst, obj []byte, drop func(i int, key []byte) bool) ([]byte, int) {
	dst = append(dst, '{')
	n, i := 0, 0
	EachMember(obj, func(k, v []byte) bool {
		skip := drop(i, k)
		i++
		if skip {
			return true
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, '"')
		dst = append(dst, k...)
		dst = append(dst, '"', ':')
		dst = append(dst, v...)
		return true
	})
	return append(dst, '}'), n
}
