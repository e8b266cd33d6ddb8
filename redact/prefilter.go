package redact

// The pre-check every string goes through before any rule looks at it: one
// pass over the bytes with a table lookup each, collecting which rules could
// possibly match. Rules whose trigger is absent are not run at all, so a
// string without long digit runs, separators like '=' or ':', or the rare
// letters that start a token costs one table-driven loop.

// trigger flags
const (
	fCard    uint16 = 1 << iota // a run of >= 13 digits (single separators allowed)
	fDigits9                    // a run of >= 9 digits (US SSN)
	fKV                         // '=' or ':' (key=value, key: value)
	fCred                       // 'b' or 'B' (Bearer, Basic)
	fJWT                        // 'J' (eyJ...)
	fAWS                        // 'K' or 'S' (AKIA, ASIA)
	fPK                         // "-----" (PEM armour)
	fEmail                      // '@'
	fEsc                        // '\\': the text is JSON-escaped
	fAlways  uint16 = 1 << 15   // rules without a trigger byte
)

// table values beyond the flags
const (
	tDigit uint16 = 1 << 14
	tSpace uint16 = 1 << 13
	tDash  uint16 = 1 << 12
)

var trig = func() (t [256]uint16) {
	for c := '0'; c <= '9'; c++ {
		t[c] = tDigit
	}
	t[' '] = tSpace
	t['-'] = tDash
	t['='], t[':'] = fKV, fKV
	t['b'], t['B'] = fCred, fCred
	t['J'] = fJWT
	t['K'], t['S'] = fAWS, fAWS
	t['@'] = fEmail
	t['\\'] = fEsc
	return t
}()

// scanFlags returns the trigger flags of s. It over-approximates (a flag
// only means "worth looking"), but never misses: a card's digits and single
// separators never reset the digit count. The rare trigger letters are
// checked against their neighbours here so that hex ids ("4bf9…") and
// capitals ("POST") do not send strings to the rules for nothing.
//
// A '=' or ':' only counts when the identifier before it could be a
// sensitive key by kf's trigram filter (the same test findKeyValues starts
// with), so "handler.go:142" or "10:30:00" do not wake the key=value rule.
// kf may be nil: then every '=' and ':' counts.
func scanFlags(s []byte, kf *trigramFilter) uint16 {
	var f uint16
	d, dash := 0, 0
	for i := 0; i < len(s); i++ {
		t := trig[s[i]]
		if t == 0 {
			d, dash = 0, 0
			continue
		}
		switch t {
		case tDigit:
			d++
			dash = 0
			if d >= 9 {
				f |= fDigits9
				if d >= minPAN {
					f |= fCard
				}
			}
			continue
		case tSpace:
			dash = 0
			continue
		case tDash:
			dash++
			if dash >= 5 {
				f |= fPK
			}
			continue
		case fCred: // Bearer, Basic
			if i+2 < len(s) && ((s[i+1]|0x20 == 'e' && s[i+2]|0x20 == 'a') || (s[i+1]|0x20 == 'a' && s[i+2]|0x20 == 's')) {
				f |= fCred
			}
		case fJWT: // eyJ
			if i >= 2 && s[i-1] == 'y' && s[i-2] == 'e' {
				f |= fJWT
			}
		case fAWS: // AKIA, ASIA
			if i >= 1 && i+2 < len(s) && s[i-1] == 'A' && s[i+1] == 'I' && s[i+2] == 'A' {
				f |= fAWS
			}
		case fKV:
			if f&fKV == 0 && (kf == nil || kf.mayMatch(identBefore(s, i))) {
				f |= fKV
			}
		default:
			f |= t
		}
		d, dash = 0, 0
	}
	return f | fAlways
}

// identBefore returns the key that a '=' or ':' at s[i] follows, as
// findKeyValues reads it: identifier bytes, maybe closed by a quote.
func identBefore(s []byte, i int) []byte {
	ks, ke := identSpan(s, i)
	return s[ks:ke]
}

// identSpan is identBefore as offsets.
func identSpan(s []byte, i int) (ks, ke int) {
	ke = i
	if ke > 0 && (s[ke-1] == '"' || s[ke-1] == '\'') {
		ke--
	}
	ks = ke
	for ks > 0 && ke-ks < 64 && isKeyByte(s[ks-1]) {
		ks--
	}
	return ks, ke
}
