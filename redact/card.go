package redact

import "bytes"

// Card detection: a byte scanner, no regular expression.
//
// A candidate is a run of digit groups separated by single separators: a
// space or a dash ("4111111111111111", "4111 1111 1111 1111",
// "3782-822463-10005"), or a space as a URL encodes it ("+", "%20":
// "card=4111+1111+1111+1111" in a logged query string). A tab is not one:
// numbers in the columns of tab-separated lines would join into cards. Any
// contiguous sequence of whole groups holding 13 to 19 digits is a card when
// it passes the Luhn check and its prefix and length belong to a real scheme.
// Trying every sequence of whole groups (not only the whole run) is what
// catches a card written next to another number ("qty 2 4111 1111 1111
// 1111").
//
// A run is not a card candidate where it is glued to something that makes it
// part of another token: an ASCII letter on either side (hex ids, hashes,
// "v4111..."), a leading '+' not after a letter (phone numbers:
// "tel=+4222222222222"; but "card+4111..." is a URL-encoded space), or a
// '.' joining it to more digits (decimals, versions, IP addresses; but a
// fraction of only zeros, "4111111111111111.0", is the card as a float). Inside
// a run, a card does not start at a group after a '+' either
// ("+4222222222222+4222222222222"). A run shaped like a UUID (8-4-4-4-12)
// is not a candidate either.

// byte classes for the scanner
const (
	clsDigit = 1 << iota
	clsSep   // may be (part of) a separator between digit groups: see sepLen
	clsAlpha // ASCII letter: glues to a digit run
)

var class = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = clsDigit
	}
	t[' '], t['-'], t['+'], t['%'] = clsSep, clsSep, clsSep, clsSep
	for c := 'a'; c <= 'z'; c++ {
		t[c] = clsAlpha
		t[c-'a'+'A'] = clsAlpha
	}
	return t
}()

const (
	minPAN = 13
	maxPAN = 19
)

// maybeCard is the cheap pre-check: it reports whether s holds a stretch of
// at least minPAN bytes that are all digits or separators with at least
// minPAN digits in it. It probes one byte in minPAN: a stretch of minPAN such
// bytes must contain a probe, so a probe that hits anything else lets the
// scan jump ahead. Most log text costs a few dozen probes.
func maybeCard(s []byte) bool {
	n := len(s)
	lo := 0 // s[lo:] has not been examined yet
	for p := minPAN - 1; p < n; {
		if class[s[p]]&(clsDigit|clsSep) == 0 {
			lo = p + 1
			p += minPAN
			continue
		}
		a := p
		for a > lo && class[s[a-1]]&(clsDigit|clsSep) != 0 {
			a--
		}
		b := p + 1
		for b < n && class[s[b]]&(clsDigit|clsSep) != 0 {
			b++
		}
		if b-a >= minPAN {
			digits := 0
			for _, c := range s[a:b] {
				if c <= '9' && c >= '0' {
					digits++
				}
			}
			if digits >= minPAN {
				return true
			}
		}
		lo = b + 1
		p = b + minPAN
	}
	return false
}

// sepLen returns the length of the separator between digit groups that
// starts at s[i], or 0: a space or a dash, or a URL-encoded space ("+",
// "%20").
func sepLen(s []byte, i int) int {
	switch s[i] {
	case ' ', '-', '+':
		return 1
	case '%':
		if i+2 < len(s) && s[i+1] == '2' && s[i+2] == '0' {
			return 3
		}
	}
	return 0
}

// span is a byte range [start, end) of a text.
type span struct{ start, end int }

// findCards appends to dst the spans of the cards in s, in order, not
// overlapping. Each span starts at a card's first digit and ends after its
// last. groups is scratch space; the grown slice is returned for reuse.
func findCards(dst, groups []span, s []byte) ([]span, []span) {
	if !maybeCard(s) {
		return dst, groups
	}
	n := len(s)
	for i := 0; i < n; {
		for i < n && s[i]-'0' >= 10 {
			i++
		}
		if i == n {
			break
		}
		// After a URL-encoded space ("card%204111…") the run starts
		// past its 20.
		if i > 0 && s[i-1] == '%' && i+2 < n && s[i] == '2' && s[i+1] == '0' && class[s[i+2]] == clsDigit {
			i += 2
		}
		// A maximal run of digit groups starts at i.
		runStart := i
		groups = groups[:0]
		for {
			j := i
			for j < n && class[s[j]] == clsDigit {
				j++
			}
			groups = append(groups, span{i, j})
			i = j
			if j < n {
				if k := sepLen(s, j); k > 0 && j+k < n && class[s[j+k]] == clsDigit {
					i = j + k
					continue
				}
			}
			break
		}
		if i-runStart >= minPAN {
			dst = cardsInGroups(dst, s, groups, runStart, i)
		}
	}
	return dst, groups
}

// cardsInGroups finds the cards among the digit groups g of the run
// s[runStart:runEnd].
//
// Card-like groupings win: the first pass only joins groups of three or more
// digits (4-4-4-4, 4-6-5, 4-4-4-4-3, or one contiguous group), so in
// "ids 7 8 6011 0009 9013 9424 9" the card is the four middle groups. The
// second pass joins any groups left over, so a card written in odd groups is
// still caught. From each starting group the longest valid card is taken.
func cardsInGroups(dst []span, s []byte, g []span, runStart, runEnd int) []span {
	if isUUIDShape(s, g) {
		return dst
	}
	leftGlued := glued(s, runStart, true)
	rightGlued := glued(s, runEnd, false)
	// used marks groups taken by a card; runs have few groups, and a long
	// one is handled in windows of 64 (a card has at most 19 groups).
	first := len(dst)
	for base := 0; base < len(g); base += 44 {
		w := g[base:min(len(g), base+64)]
		var used uint64
		for pass := 0; pass < 2; pass++ {
			for i := 0; i < len(w); i++ {
				if used&(1<<i) != 0 || (base+i == 0 && leftGlued) || (base+i > 0 && s[w[i].start-1] == '+') || (pass == 0 && w[i].end-w[i].start < 3) {
					continue
				}
				best, nd := -1, 0
				var digits [maxPAN]byte
				for j := i; j < len(w) && used&(1<<j) == 0; j++ {
					l := w[j].end - w[j].start
					if nd+l > maxPAN || (pass == 0 && l < 3) {
						break
					}
					copy(digits[nd:], s[w[j].start:w[j].end])
					nd += l
					if nd >= minPAN && !(base+j == len(g)-1 && rightGlued) && isPAN(digits[:nd]) {
						best = j
					}
				}
				if best < 0 {
					continue
				}
				for k := i; k <= best; k++ {
					used |= 1 << k
				}
				dst = append(dst, span{w[i].start, w[best].end})
				i = best
			}
		}
	}
	sortSpans(dst[first:])
	return append(dst[:first], dropOverlaps(dst[first:])...)
}

// glued reports whether the digit run starting (left) or ending (!left) at
// off is stuck to a neighbour that makes it part of another token.
func glued(s []byte, off int, left bool) bool {
	if left {
		if off == 0 {
			return false
		}
		c := s[off-1]
		return class[c] == clsAlpha || (c == '+' && !(off >= 2 && class[s[off-2]] == clsAlpha)) ||
			(c == '.' && off >= 2 && class[s[off-2]] == clsDigit)
	}
	if off >= len(s) {
		return false
	}
	c := s[off]
	return class[c] == clsAlpha || (c == '.' && off+1 < len(s) && class[s[off+1]] == clsDigit && !zeroFraction(s[off+1:]))
}

// zeroFraction reports whether s, what follows a number's '.', is a
// fraction of zeros that ends the number: "4111111111111111.0" is the card
// itself written as a float, where "4111111111111111.25" is an amount and
// "4111111111111111.0.1" a version.
func zeroFraction(s []byte) bool {
	i := 0
	for i < len(s) && s[i] == '0' {
		i++
	}
	return i == len(s) || class[s[i]]&(clsDigit|clsAlpha) == 0 && s[i] != '.'
}

func isUUIDShape(s []byte, g []span) bool {
	if len(g) != 5 {
		return false
	}
	want := [5]int{8, 4, 4, 4, 12}
	for i, sp := range g {
		if sp.end-sp.start != want[i] {
			return false
		}
		if i > 0 && s[sp.start-1] != '-' {
			return false
		}
	}
	return true
}

// isPAN reports whether d (ASCII digits) passes the Luhn check and matches
// a card scheme's prefix and length.
func isPAN(d []byte) bool {
	return len(d) >= minPAN && len(d) <= maxPAN && schemeLength(d) && luhn(d)
}

// findFloatCards appends to dst the spans of the numbers in s written with
// an exponent whose value is a card and whose digits are written out
// (4.111111111111111E15, as Java's Double.toString writes a double; a JSON
// document echoed in a message).
// A number glued to a letter, or to more digits by a '.', is part of
// another token, as for findCards. A card written as a whole decimal
// (4111111111111111.0) is findCards' own.
func findFloatCards(dst []span, s []byte) []span {
	for off := 0; off < len(s); {
		i := bytes.IndexAny(s[off:], "eE")
		if i < 0 {
			break
		}
		i += off
		off = i + 1
		if i == 0 || !isDigit(s[i-1]) {
			continue
		}
		a := i // the mantissa: digits, maybe a '.' and digits
		for a > 0 && isDigit(s[a-1]) {
			a--
		}
		if a > 1 && s[a-1] == '.' && isDigit(s[a-2]) {
			for a--; a > 0 && isDigit(s[a-1]); a-- {
			}
		}
		e := i + 1 // the exponent
		if e < len(s) && (s[e] == '+' || s[e] == '-') {
			e++
		}
		d := e
		for e < len(s) && isDigit(s[e]) {
			e++
		}
		if e == d || a > 0 && (class[s[a-1]] == clsAlpha || s[a-1] == '.') ||
			e < len(s) && (class[s[e]] == clsAlpha || s[e] == '.' && e+1 < len(s) && isDigit(s[e+1])) {
			continue
		}
		// Only a number whose card digits are written out: the
		// pre-check counts written digits, and text that only gets here
		// for another number must not decide otherwise (4.2e15 is kept).
		written := i - a
		if bytes.IndexByte(s[a:i], '.') >= 0 {
			written--
		}
		var buf [maxPAN]byte
		if digits, ok := integerDigits(buf[:0], s[a:e]); ok && written >= minPAN && isPAN(digits) {
			dst = append(dst, span{a, e})
			off = e
		}
	}
	return dst
}

// cardDigits appends the digits of the card that the span text m is: m
// without its separators, or the value of a float findFloatCards found.
func cardDigits(dst, m []byte) []byte {
	if bytes.IndexAny(m, ".eE") >= 0 {
		if d, ok := integerDigits(dst, m); ok {
			return d
		}
	}
	return appendCardDigits(dst, m)
}

// integerDigits appends to dst the decimal digits of the value of the JSON
// number n (without its sign) when that value is an integer of at most
// maxPAN digits, however it is written: 4111111111111111.00,
// 4.111111111111111e15, 41111111111111110e-1. It works on the text, so it is
// exact where a float64 would round. ok is false for any other value.
func integerDigits(dst, n []byte) (digits []byte, ok bool) {
	// mantissa: the digits before and after the point; exp: the power of
	// ten they are scaled by.
	i := 0
	for i < len(n) && isDigit(n[i]) {
		i++
	}
	intEnd, fracStart, fracEnd := i, i, i
	if i < len(n) && n[i] == '.' {
		i++
		fracStart = i
		for i < len(n) && isDigit(n[i]) {
			i++
		}
		fracEnd = i
	}
	exp := 0
	if i < len(n) && (n[i] == 'e' || n[i] == 'E') {
		i++
		neg := false
		if i < len(n) && (n[i] == '+' || n[i] == '-') {
			neg = n[i] == '-'
			i++
		}
		// An exponent beyond ±9999 would need as many mantissa digits to
		// come back to 13-19 digits; no logger writes that.
		if len(n)-i > 4 {
			return dst, false
		}
		for ; i < len(n) && isDigit(n[i]); i++ {
			exp = exp*10 + int(n[i]-'0')
		}
		if neg {
			exp = -exp
		}
	}
	if i != len(n) || intEnd == 0 {
		return dst, false
	}
	// The significant digits, without leading zeros and without the
	// trailing zeros that a negative scale drops.
	mant := func(k int) byte { // k-th mantissa digit
		if k < intEnd {
			return n[k]
		}
		return n[fracStart+k-intEnd]
	}
	total := intEnd + fracEnd - fracStart
	lead := 0
	for lead < total && mant(lead) == '0' {
		lead++
	}
	if lead == total {
		return dst, false // zero
	}
	scale := exp - (fracEnd - fracStart) // value = mantissa × 10^scale
	keep := total
	for ; scale < 0; scale++ {
		if keep == lead || mant(keep-1) != '0' {
			return dst, false // a fraction is left
		}
		keep--
	}
	if keep-lead+scale > maxPAN {
		return dst, false
	}
	for k := lead; k < keep; k++ {
		dst = append(dst, mant(k))
	}
	for ; scale > 0; scale-- {
		dst = append(dst, '0')
	}
	return dst, true
}

func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// prefix returns the number formed by the first k digits of d.
func prefix(d []byte, k int) int {
	v := 0
	for _, c := range d[:k] {
		v = v*10 + int(c-'0')
	}
	return v
}

// schemeLength reports whether d's issuer prefix (IIN) belongs to a card
// scheme that issues numbers of len(d) digits. The ranges are the public IIN
// ranges of the schemes; where schemes overlap the union of lengths is used,
// because a false negative leaks a card while a false positive only masks a
// number.
func schemeLength(d []byte) bool {
	n := len(d)
	p2 := prefix(d, 2)
	p4 := prefix(d, 4)
	switch d[0] {
	case '1':
		// GPN (Indonesia) 1946. UATP (1, 15 digits) is left out: it
		// would take every 15-digit number starting with 1.
		return p4 == 1946 && (n == 16 || n == 18 || n == 19)
	case '2':
		switch {
		case p4 >= 2200 && p4 <= 2204: // Mir
			return n >= 16
		case p4 == 2205: // Borica
			return n == 16
		case p4 >= 2221 && p4 <= 2720: // Mastercard
			return n == 16
		}
	case '3':
		switch {
		case p2 == 34 || p2 == 37: // American Express
			return n == 15
		case p2 == 31: // China T-Union
			return n == 19
		case p4 >= 3528 && p4 <= 3589: // JCB
			return n >= 16
		case p2 == 30 && prefix(d, 3) <= 305, p4 == 3095, p2 == 36, p2 == 38, p2 == 39: // Diners Club
			return n >= 14
		}
	case '4': // Visa, Visa Electron
		return n == 13 || n == 16 || n == 19
	case '5':
		switch {
		case p2 >= 51 && p2 <= 55: // Mastercard
			return n == 16
		case p2 == 50 || (p2 >= 56 && p2 <= 58): // Maestro, Verve, Dankort
			return true
		}
	case '6': // Discover, UnionPay, Maestro, RuPay, Troy, InstaPayment, ...
		return true
	case '8':
		switch {
		case p2 == 81: // UnionPay
			return n >= 16
		case p2 == 82 || p4 == 8600: // RuPay, UzCard
			return n == 16
		}
	case '9':
		return (p4 == 9792 || p4 == 9860) && n == 16 // Troy, Humo
	}
	return false
}
