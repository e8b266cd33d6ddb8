// Package jsonscan validates and walks JSON without decoding it into Go
// values. The agent keeps each line's bytes and only looks at the members it
// needs; this package is the part that knows JSON's grammar.
//
// Every function that validates bounds nesting by an explicit depth limit, so
// a hostile line cannot exhaust the stack. Functions documented as working on
// "valid" input assume it passed Members or Valid first and do not re-check.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"
)

// Member is one member of a JSON object as raw bytes: Key is the text
// between the key's quotes (escapes not decoded), Value the raw JSON value.
type Member struct {
	Key   []byte
	Value []byte
}

// DefaultMaxDepth is the nesting limit used when a caller passes 0.
const DefaultMaxDepth = 64

// ErrDepth reports input nested deeper than the limit.
var ErrDepth = errors.New("json nested too deeply")

// SyntaxError reports invalid JSON and where.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "invalid json at byte " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

func syntaxErr(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

// Members validates data as exactly one JSON object, optionally surrounded by
// white space, and appends its members, in order, to dst. Duplicate keys are
// all returned; callers decide (the agent keeps the last).
func Members(dst []Member, data []byte, maxDepth int) ([]Member, error) {
	return members(dst, data, maxDepth, nil)
}

// ObjectInfo is what ScanObject learns about an object beyond its members.
type ObjectInfo struct {
	// NestedDup reports that an object nested inside a member's value
	// may repeat a key (compared as raw key text). Elasticsearch rejects
	// such a document; DedupeKeys rewrites the value. For an object of
	// more than a few keys it may be a false positive (never a false
	// negative), so that the check stays linear on hostile input.
	NestedDup bool
	// KeyEscapes reports that a top-level key contains an escape. Without
	// one, keys that name the same member are the same bytes.
	KeyEscapes bool
}

// ScanObject is Members that also fills in an ObjectInfo. The checks cost a
// few nanoseconds per key.
func ScanObject(dst []Member, data []byte, maxDepth int) ([]Member, ObjectInfo, error) {
	var info ObjectInfo
	ms, err := members(dst, data, maxDepth, &info)
	return ms, info, err
}

func members(dst []Member, data []byte, maxDepth int, info *ObjectInfo) ([]Member, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	var dup *bool
	if info != nil {
		dup = &info.NestedDup
	}
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return dst, syntaxErr(i, "expected an object")
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		if j := skipWS(data, i+1); j != len(data) {
			return dst, syntaxErr(j, "data after the object")
		}
		return dst, nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return dst, syntaxErr(i, "expected a string key")
		}
		end, esc, err := validKey(data, i)
		if err != nil {
			return dst, err
		}
		if esc && info != nil {
			info.KeyEscapes = true
		}
		key := data[i+1 : end-1]
		// Compact JSON: the value follows the ':' at once.
		if end+1 < len(data) && data[end] == ':' && data[end+1] > ' ' {
			i = end + 1
		} else {
			i = skipWS(data, end)
			if i >= len(data) || data[i] != ':' {
				return dst, syntaxErr(i, "expected ':' after key")
			}
			i = skipWS(data, i+1)
		}
		// Most values are strings: call validString directly rather than
		// through validValue's dispatch.
		var vend int
		if i < len(data) && data[i] == '"' {
			vend, err = validString(data, i)
		} else {
			vend, err = validValue(data, i, maxDepth-1, dup)
		}
		if err != nil {
			return dst, err
		}
		dst = append(dst, Member{Key: key, Value: data[i:vend]})
		// Compact JSON: the next member follows at once.
		if vend+1 < len(data) && data[vend] == ',' && data[vend+1] == '"' {
			i = vend + 1
			continue
		}
		i = skipWS(data, vend)
		if i >= len(data) {
			return dst, syntaxErr(i, "unterminated object")
		}
		if data[i] == '}' {
			break
		}
		if data[i] != ',' {
			return dst, syntaxErr(i, "expected ',' or '}'")
		}
		i = skipWS(data, i+1)
	}
	if j := skipWS(data, i+1); j != len(data) {
		return dst, syntaxErr(j, "data after the object")
	}
	return dst, nil
}

// Valid reports whether data is exactly one JSON value (with optional
// surrounding white space) nested no deeper than maxDepth (0: the default).
func Valid(data []byte, maxDepth int) error {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	i := skipWS(data, 0)
	end, err := validValue(data, i, maxDepth, nil)
	if err != nil {
		return err
	}
	if j := skipWS(data, end); j != len(data) {
		return syntaxErr(j, "data after the value")
	}
	return nil
}

func skipWS(data []byte, i int) int {
	// Compact JSON (what loggers write) has no white space between tokens:
	// answer that case with one comparison, inlined at every call.
	if i < len(data) && data[i] > ' ' {
		return i
	}
	return skipWSSlow(data, i)
}

func skipWSSlow(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// validValue validates the value starting at data[i] and returns the offset
// just past it. depth is how many more levels of nesting are allowed. When
// dup is not nil, it is set if an object repeats a key.
func validValue(data []byte, i, depth int, dup *bool) (int, error) {
	if i >= len(data) {
		return i, syntaxErr(i, "expected a value")
	}
	switch c := data[i]; {
	case c == '"':
		return validString(data, i)
	case c == '{':
		if depth <= 0 {
			return i, ErrDepth
		}
		obj := i
		i = skipWS(data, i+1)
		if i < len(data) && data[i] == '}' {
			return i + 1, nil
		}
		var seen uint64 // a Bloom filter of the keys' hashes
		nkeys := 0
		for {
			if i >= len(data) || data[i] != '"' {
				return i, syntaxErr(i, "expected a string key")
			}
			end, err := validString(data, i)
			if err != nil {
				return end, err
			}
			if dup != nil && !*dup {
				key := data[i+1 : end-1]
				h := keyHash(key)
				// The exact check rescans the object; past a few keys the
				// filter is full and that would be quadratic, so a big
				// object with a hit is reported as a maybe: DedupeKeys
				// handles it in linear time and changes nothing else.
				if seen&h != 0 && (nkeys >= maxExactKeys || keyBefore(data, obj, i, key)) {
					*dup = true
				}
				seen |= h
				nkeys++
			}
			i = skipWS(data, end)
			if i >= len(data) || data[i] != ':' {
				return i, syntaxErr(i, "expected ':' after key")
			}
			i = skipWS(data, i+1)
			if i, err = validValue(data, i, depth-1, dup); err != nil {
				return i, err
			}
			i = skipWS(data, i)
			if i >= len(data) {
				return i, syntaxErr(i, "unterminated object")
			}
			if data[i] == '}' {
				return i + 1, nil
			}
			if data[i] != ',' {
				return i, syntaxErr(i, "expected ',' or '}'")
			}
			i = skipWS(data, i+1)
		}
	case c == '[':
		if depth <= 0 {
			return i, ErrDepth
		}
		i = skipWS(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = validValue(data, i, depth-1, dup); err != nil {
				return i, err
			}
			i = skipWS(data, i)
			if i >= len(data) {
				return i, syntaxErr(i, "unterminated array")
			}
			if data[i] == ']' {
				return i + 1, nil
			}
			if data[i] != ',' {
				return i, syntaxErr(i, "expected ',' or ']'")
			}
			i = skipWS(data, i+1)
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return validNumber(data, i)
	case c == 't':
		return literal(data, i, "true")
	case c == 'f':
		return literal(data, i, "false")
	case c == 'n':
		return literal(data, i, "null")
	default:
		return i, syntaxErr(i, "unexpected character")
	}
}

// maxExactKeys is how many keys an object may have before a Bloom filter
// hit is reported without the exact (rescanning) check.
const maxExactKeys = 16

// keyHash is one bit chosen by a cheap hash of the key.
func keyHash(key []byte) uint64 {
	var h uint
	if n := len(key); n > 0 {
		h = uint(n)*0x9e + uint(key[0])*0x3b + uint(key[n-1])*0x61 + uint(key[n/2])*0x17
	}
	return 1 << (h & 63)
}

// keyBefore reports whether the object starting at data[obj] has a member
// named key before offset end, where the member being checked starts (the
// rare exact check after a Bloom hit; the members before it are valid).
func keyBefore(data []byte, obj, end int, key []byte) bool {
	i := skipWS(data, obj+1)
	for i < end {
		kend, err := validString(data, i)
		if err != nil {
			return false
		}
		if string(data[i+1:kend-1]) == string(key) {
			return true
		}
		i = skipWS(data, skipWS(data, kend)+1)
		vend, err := validValue(data, i, 1<<30, nil)
		if err != nil {
			return false
		}
		i = skipWS(data, vend)
		if i >= len(data) || data[i] != ',' {
			return false
		}
		i = skipWS(data, i+1)
	}
	return false
}

func literal(data []byte, i int, lit string) (int, error) {
	if len(data)-i >= len(lit) && string(data[i:i+len(lit)]) == lit {
		return i + len(lit), nil
	}
	return i, syntaxErr(i, "invalid literal")
}

// validString validates the string whose opening quote is at data[i] and
// returns the offset just past its closing quote. UTF-8 validity is the
// caller's concern (the parser checks a whole line at once, which is faster).
func validString(data []byte, i int) (int, error) {
	start := i
	i++
	for i < len(data) {
		// Skip eight ordinary bytes at a time: most of a log line is
		// string text without quotes, escapes or control characters.
		for i+8 <= len(data) {
			if m := specialBytes(binary.LittleEndian.Uint64(data[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(data) {
			break
		}
		c := data[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(data) {
				return i, syntaxErr(i, "unterminated escape")
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) || !isHex4(data[i+2:i+6]) {
					return i, syntaxErr(i, "invalid \\u escape")
				}
				i += 6
			default:
				return i, syntaxErr(i, "invalid escape")
			}
		case c < 0x20:
			return i, syntaxErr(i, "control character in string")
		default:
			i++
		}
	}
	return start, syntaxErr(start, "unterminated string")
}

// validKey is validString for a key, also reporting whether it holds an
// escape. Keys are short and rarely escaped: when the first byte that ends
// plain text is the closing quote, the key is plain; otherwise validString
// decides, and the key counts as escaped.
func validKey(data []byte, i int) (end int, escaped bool, err error) {
	j := i + 1
	for j+8 <= len(data) {
		if m := specialBytes(binary.LittleEndian.Uint64(data[j:])); m != 0 {
			j += bits.TrailingZeros64(m) >> 3
			if data[j] == '"' {
				return j + 1, false, nil
			}
			end, err = validString(data, i)
			return end, true, err
		}
		j += 8
	}
	end, err = validString(data, i)
	return end, err == nil && bytes.IndexByte(data[i+1:end-1], '\\') >= 0, err
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// specialBytes marks (with the high bit) the bytes of x, read little-endian,
// that end a run of plain string text: '"', '\\' or a control character.
// Bytes above the lowest marked one may be marked wrongly (borrows), so
// only the lowest mark is meaningful.
//
// XOR with 0x02 maps '"' (0x22) to 0x20 and keeps 0x00-0x1f below 0x20
// while every other byte lands at 0x21 or above, so one "less than 0x21"
// test finds quotes and control characters together.
func specialBytes(x uint64) uint64 {
	y := x ^ (lsb * 0x02)
	b := x ^ (lsb * '\\')
	return ((y-lsb*0x21)&^y | (b-lsb)&^b) & msb
}

func isHex4(p []byte) bool {
	for _, c := range p[:4] {
		if !isHex(c) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func validNumber(data []byte, i int) (int, error) {
	start := i
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		return start, syntaxErr(start, "invalid number")
	}
	if i < len(data) && data[i] == '.' {
		i++
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			return start, syntaxErr(start, "invalid number")
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			return start, syntaxErr(start, "invalid number")
		}
	}
	return i, nil
}
