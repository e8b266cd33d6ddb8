package redact

import (
	"encoding/binary"
	"testing"
)

// hex8 must agree with the hexDigit table for every byte value in every
// lane, whatever its neighbours (a carry or borrow between lanes would show
// as a neighbour changing the verdict).
func TestHex8(t *testing.T) {
	for _, fill := range []byte{'0', '9', 'a', 'f', 'A', 'F'} {
		for lane := 0; lane < 8; lane++ {
			for c := 0; c < 256; c++ {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[lane] = byte(c)
				if got := hex8(binary.LittleEndian.Uint64(w[:])); got != hexDigit[c] {
					t.Fatalf("hex8(% x) = %v, want %v", w, got, hexDigit[c])
				}
			}
		}
	}
	// Pairs of non-hex bytes, so that a lane's result cannot be rescued
	// or spoilt by the one below it.
	for c := 0; c < 256; c++ {
		for d := 0; d < 256; d++ {
			for lane := 0; lane < 7; lane++ {
				w := [8]byte{'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}
				w[lane], w[lane+1] = byte(c), byte(d)
				want := hexDigit[c] && hexDigit[d]
				if got := hex8(binary.LittleEndian.Uint64(w[:])); got != want {
					t.Fatalf("hex8(% x) = %v, want %v", w, got, want)
				}
			}
		}
	}
}

// isHexID reads 8 bytes a step with an overlapping last word: a non-hex
// byte at any position of an id of any length must be seen.
func TestIsHexIDEveryPosition(t *testing.T) {
	ref := func(s []byte) bool {
		if len(s) == 0 || len(s) > 64 {
			return false
		}
		for _, c := range s {
			if !hexDigit[c] {
				return false
			}
		}
		return true
	}
	for n := 0; n <= 70; n++ {
		s := make([]byte, n)
		for i := range s {
			s[i] = "0123456789abcdefABCDEF"[i%22]
		}
		if got, want := isHexID(s), ref(s); got != want {
			t.Fatalf("isHexID(%q) = %v, want %v", s, got, want)
		}
		for i := 0; i < n; i++ {
			for _, c := range []byte{'g', 'G', '-', '/', ':', '@', '`', 0x80 | '0', 0xc0 | 'a', 0} {
				old := s[i]
				s[i] = c
				if got := isHexID(s); got {
					t.Fatalf("isHexID(%q) = true with %q at %d", s, c, i)
				}
				s[i] = old
			}
		}
	}
}
