package jsonscan

import (
	"math/bits"
	"testing"
	"unicode/utf8"
)

// refAppendEscaped is AppendEscaped written byte by byte, without the
// eight-byte skip: the reference the fast version must equal.
func refAppendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

var escapeCases = []string{
	"", "a", "/var/log/containers/checkout-7d9f_shop_app-1a2b.log",
	"exactly8", "sixteen bytes!!!", `quote " at 9`, `back\slash late in the string`,
	"tab\tand\nnewline\r", "\x00\x01\x1f\x7f", "héllo wörld, ünïcode after eight",
	"12345678é", "1234567\xff89", "invalid \xc3\x28 in the middle of a long text",
	"\xe2\x82", "€€€€€€€€", "line one\u2028line two",
}

func TestAppendEscapedMatchesReference(t *testing.T) {
	for _, s := range escapeCases {
		want := string(refAppendEscaped([]byte("x"), s))
		if got := string(AppendEscaped([]byte("x"), s)); got != want {
			t.Errorf("AppendEscaped(%q) = %q, want %q", s, got, want)
		}
		if got := string(AppendEscaped([]byte("x"), []byte(s))); got != want {
			t.Errorf("AppendEscaped([]byte %q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzAppendEscaped(f *testing.F) {
	for _, s := range escapeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := string(refAppendEscaped(nil, s))
		if got := string(AppendEscaped(nil, s)); got != want {
			t.Fatalf("AppendEscaped(%q) = %q, want %q", s, got, want)
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := "/var/log/containers/checkout-7d9f_shop_app-1a2b.log"
	buf := make([]byte, 0, 128)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}

// specialBytes' lowest mark must be exactly the first quote, backslash or
// control byte of the word, whatever follows it (borrows only go up).
func TestSpecialBytesLowestMarkIsExact(t *testing.T) {
	special := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 }
	var w [8]byte
	for p := range 8 {
		for c := range 256 {
			for c2 := range 256 {
				for q := range w {
					w[q] = 'a'
				}
				w[p] = byte(c)
				if p < 7 {
					w[7] = byte(c2)
				}
				want := 8
				for k, b := range w {
					if special(b) {
						want = k
						break
					}
				}
				x := uint64(0)
				for k := 7; k >= 0; k-- {
					x = x<<8 | uint64(w[k])
				}
				got := 8
				if m := specialBytes(x); m != 0 {
					got = bits.TrailingZeros64(m) >> 3
				}
				if got != want {
					t.Fatalf("specialBytes(% x): first mark at %d, want %d", w, got, want)
				}
			}
		}
	}
}
