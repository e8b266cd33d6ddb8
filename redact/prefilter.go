package redact

import "bytes"

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
	fPK                         // "-----BEGIN" (PEM armour)
	fEmail                      // '@'
	fEsc                        // '\\': the text is JSON-escaped
	fToken                      // '_', '-' or 'z' ending a provider token's prefix (ghp_, xoxb-, AIza); "--" also sets fKV
	fAlways  uint16 = 1 << 15   // rules without a trigger byte
)

// tDigit marks digits in the table, beyond the flags.
const tDigit uint16 = 1 << 14

var trig = func() (t [256]uint16) {
	for c := '0'; c <= '9'; c++ {
		t[c] = tDigit
	}
	t['='], t[':'] = fKV, fKV
	t['b'], t['B'] = fCred, fCred
	t['J'] = fJWT
	t['K'], t['S'] = fAWS, fAWS
	t['@'] = fEmail
	t['\\'] = fEsc
	t['_'], t['-'], t['z'] = fToken, fToken, fToken
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
	return scan(s, kf, false)
}

// scanJSONFlags is scanFlags over raw JSON (an object or array): a ':'
// right after a quoted key judges the whole key, so a clean object can be
// passed over without walking it.
func scanJSONFlags(s []byte, kf *trigramFilter) uint16 {
	return scan(s, kf, true)
}

func scan(s []byte, kf *trigramFilter, isJSON bool) uint16 {
	var f uint16
	// d counts the digits of the current run; a run goes on across one
	// separator between digits (see sepLen). Separators are otherwise
	// inert, so text does not leave the tight loop at every word.
	d, last := 0, -3 // last: index of the last digit seen
	// num: in JSON, the current run is a number's (it starts a value, or
	// follows its integer part's '.'), not the digits of a string.
	num := false
	for i := 0; i < len(s); i++ {
		t := trig[s[i]]
		if t == 0 {
			for i+1 < len(s) && trig[s[i+1]] == 0 {
				i++
			}
			continue
		}
		switch t {
		case tDigit:
			// Take the whole run of digits at once.
			j := i + 1
			for j < len(s) && s[j]-'0' < 10 {
				j++
			}
			// A separator continues the run. Counting the 20 of a
			// "%20" as digits over-approximates, which a pre-check may.
			// A '.' does too: a float's digits may be a card's
			// (4.111111111111111e+15; see integerDigits). In JSON, any
			// number with an exponent may be one (4.2e15 is
			// 4200000000000000): the walk reads its value.
			if last == i-2 && (class[s[i-1]] == clsSep || s[i-1] == '.') {
				d += j - i
			} else {
				d = j - i
				num = isJSON && i > 0 && valueStart(s[i-1])
			}
			if num && j < len(s) && s[j]|0x20 == 'e' {
				f |= fCard
			}
			i = j - 1
			last = i
			if d >= 9 {
				f |= fDigits9
				if d >= minPAN {
					f |= fCard
				}
			}
		case fCred: // Bearer, Basic; and the B of -----BEGIN
			if i+2 < len(s) {
				a, b := s[i+1]|0x20, s[i+2]|0x20
				if (a == 'e' && b == 'a') || (a == 'a' && b == 's') {
					f |= fCred
				}
				if s[i+1] == 'E' && s[i+2] == 'G' && i >= 5 && string(s[i-5:i]) == "-----" {
					f |= fPK
				}
			}
		case fJWT: // eyJ
			if i >= 2 && s[i-1] == 'y' && s[i-2] == 'e' {
				f |= fJWT
			}
		case fAWS: // AKIA, ASIA
			if i >= 1 && i+2 < len(s) && s[i-1] == 'A' && s[i+1] == 'I' && s[i+2] == 'A' {
				f |= fAWS
			}
		case fToken:
			// "--password x", also as argv in JSON: ["--password","x"].
			if s[i] == '-' && f&fKV == 0 && i+1 < len(s) && s[i+1] == '-' {
				if ks, ke := flagName(s, i); ke > ks && (kf == nil || kf.mayMatch(s[ks:ke])) {
					f |= fKV
				}
			}
			if i >= 2 && f&fToken == 0 && tokenTail(s, i) && tokenAt(s, i, -1) >= 0 {
				f |= fToken
			}
		case fKV:
			if f&fKV == 0 && (kf == nil || kf.mayMatch(keyBefore(s, i, isJSON)) ||
				isJSON && i >= 5 && (s[i-1] == '"' && s[i-2] == 'e' || s[i-1] <= ' ') && pairMayHide(s, i, kf)) {
				f |= fKV
			}
		default:
			f |= t
		}
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
	for ke > 0 && i-ke < 64 && s[ke-1] == ' ' {
		ke-- // "password = x", and columns aligned (Terraform's plan)
	}
	if ke > 0 && (s[ke-1] == '"' || s[ke-1] == '\'' || s[ke-1] == ']') {
		ke-- // "password": x, 'password' => x, PHP's [password] => x
		if s[ke] == '"' && ke > 0 && s[ke-1] == '\\' {
			ke-- // JSON quoted again: {\"password\":\"x\"} (Go's %q)
		}
	}
	ks = ke
	// Spring's keys run long: spring.security.oauth2.client.registration.<id>.client-secret
	for ks > 0 && ke-ks < 128 && isKeyByte(s[ks-1]) {
		ks--
	}
	if escapedLetter(s, ks) && ke-ks > 1 {
		ks++ // the n of "\npassword=x": a newline escaped in a quoted text
	}
	return ks, ke
}

// escapedLetter reports whether s[i] is the letter of a \n, \r or \t
// escape: an odd run of backslashes before it.
func escapedLetter(s []byte, i int) bool {
	if i < 1 || i >= len(s) || (s[i] != 'n' && s[i] != 'r' && s[i] != 't') {
		return false
	}
	b := i
	for b > 0 && s[b-1] == '\\' {
		b--
	}
	return (i-b)%2 == 1
}

// keyBefore returns the text to judge for a '=' or ':' at s[i]: in raw
// JSON a whole quoted key when there is one (the identifier findKeyValues
// would read is a suffix of it), else the identifier.
func keyBefore(s []byte, i int, isJSON bool) []byte {
	if isJSON {
		if k := quotedKeyBefore(s, i); k != nil {
			return k
		}
	}
	return identBefore(s, i)
}

// quotedKeyBefore returns the text of the quoted key a ':' at s[i] follows
// in raw JSON, or nil.
func quotedKeyBefore(s []byte, i int) []byte {
	j := skipWSBack(s, i) - 1
	if j < 1 || s[j] != '"' {
		return nil
	}
	k := bytes.LastIndexByte(s[:j], '"')
	if k < 0 {
		return nil
	}
	return s[k+1 : j]
}

// pairMayHide reports whether the ':' at s[i] follows the key "name" (or
// "Name") and comes before a string that may be a sensitive key: a
// name/value pair, {"name":"DB_PASSWORD","value":"x"}, as Kubernetes' env
// lists and AWS's parameters hold secrets. A name with escapes is let
// through.
func pairMayHide(s []byte, i int, kf *trigramFilter) bool {
	if !isKeyWord(quotedKeyBefore(s, i), "name") {
		return false
	}
	j := skipWS(s, i+1)
	if j >= len(s) || s[j] != '"' {
		return false
	}
	e := bytes.IndexByte(s[j+1:], '"')
	if e < 0 {
		return false
	}
	v := s[j+1 : j+1+e]
	return bytes.IndexByte(v, '\\') >= 0 || kf == nil || kf.mayMatch(v)
}

// valueStart reports whether a JSON number may start after c: a value
// follows ':', '[', ',' or white space, and a sign is part of the number.
func valueStart(c byte) bool {
	return c == ':' || c == '[' || c == ',' || c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}
