package redact

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"regexp"
	"slices"

	"github.com/traceship/shipper/internal/jsonscan"
)

// Rule identifiers: the built-in rules in builtinNames order, then the
// configured patterns.
const (
	ruleCards = iota
	ruleKeys
	ruleCredentials
	ruleJWT
	ruleAWS
	rulePrivateKey
	ruleEmail
	ruleSSN
	ruleIBAN
	ruleTokens
	numBuiltins
)

const redacted = "[REDACTED]"

// textRule finds one kind of match in text.
type textRule struct {
	id     int
	action Action
	// need are the trigger flags (see scanFlags) without which the rule
	// cannot match.
	need uint16
	// find appends the spans of s to redact, in order, not overlapping.
	find func(r *Redactor, sc *scratch, dst []span, s []byte) []span
}

// reRule is a regular expression behind a cheap literal pre-check, with an
// optional validator that returns how much of a match to redact (0: none).
type reRule struct {
	re    *regexp.Regexp
	pre   func(s []byte) bool
	valid func(m []byte) int
}

func (p *reRule) find(_ *Redactor, _ *scratch, dst []span, s []byte) []span {
	if p.pre != nil && !p.pre(s) {
		return dst
	}
	// FindAllIndex allocates, but only for strings that passed the
	// pre-check, and it sees the whole text so \b works at the edges.
	for _, loc := range p.re.FindAllIndex(s, -1) {
		a, b := loc[0], loc[1]
		if p.valid != nil {
			b = a + p.valid(s[a:b])
		}
		if b > a {
			dst = append(dst, span{a, b})
		}
	}
	return dst
}

func containsAny(subs ...string) func([]byte) bool {
	bs := make([][]byte, len(subs))
	for i, s := range subs {
		bs[i] = []byte(s)
	}
	return func(s []byte) bool {
		for _, sub := range bs {
			if bytes.Contains(s, sub) {
				return true
			}
		}
		return false
	}
}

func containsByte(c byte) func([]byte) bool {
	return func(s []byte) bool { return bytes.IndexByte(s, c) >= 0 }
}

// builtinPattern returns the rule for a built-in pattern id.
func builtinPattern(id int) *reRule {
	switch id {
	case rulePrivateKey:
		return &reRule{
			re:  regexp.MustCompile(`-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?s:.*?-----END[A-Z0-9 ]*PRIVATE KEY-----|.*)`),
			pre: containsAny("-----BEGIN"),
		}
	case ruleEmail:
		return &reRule{
			re:  regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`),
			pre: containsByte('@'),
		}
	case ruleSSN:
		return &reRule{
			re:    regexp.MustCompile(`\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b`),
			pre:   containsByte('-'),
			valid: validSSN,
		}
	case ruleIBAN:
		return &reRule{
			re:    regexp.MustCompile(`\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b`),
			pre:   maybeIBAN,
			valid: validIBANPrefix,
		}
	}
	return nil
}

// validSSN rejects numbers the SSA never issues (area 000, 666, 9xx; group
// 00; serial 0000), which are often test or placeholder values.
func validSSN(m []byte) int {
	area := string(m[0:3])
	if area == "000" || area == "666" || m[0] == '9' || string(m[4:6]) == "00" || string(m[7:11]) == "0000" {
		return 0
	}
	return len(m)
}

func maybeIBAN(s []byte) bool {
	for i := 0; i+3 < len(s); i++ {
		if isUpper(s[i]) && isUpper(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			return true
		}
	}
	return false
}

// validIBANPrefix returns the length of the longest prefix of m, ending on
// an alphanumeric, that is an IBAN by length and ISO 13616 mod-97 checksum:
// the regular expression may have swallowed a following word ("… 00 EUR").
func validIBANPrefix(m []byte) int {
	for end := len(m); end >= 15; end-- {
		if m[end-1] == ' ' {
			continue
		}
		if end < len(m) && m[end] != ' ' {
			continue // only cut between groups
		}
		if ibanOK(m[:end]) {
			return end
		}
	}
	return 0
}

func ibanOK(m []byte) bool {
	var compact [34]byte
	n := 0
	for _, c := range m {
		if c == ' ' {
			continue
		}
		if n == len(compact) {
			return false
		}
		compact[n] = c
		n++
	}
	if n < 15 {
		return false
	}
	// Move the first four characters to the end, letters become 10..35,
	// and the number must be 1 mod 97.
	rem := 0
	for i := 0; i < n; i++ {
		c := compact[(i+4)%n]
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case isUpper(c):
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

func findCardSpans(_ *Redactor, sc *scratch, dst []span, s []byte) []span {
	start := len(dst)
	dst, sc.groups = findCards(dst, sc.groups, s)
	n := len(dst)
	if dst = findFloatCards(dst, s); len(dst) > n {
		sortSpans(dst[start:])
		dst = append(dst[:start], dropOverlaps(dst[start:])...)
	}
	return dst
}

// findCredentials finds the credential after an HTTP "Bearer" or "Basic"
// scheme word (any case, as a whole word, followed by spaces).
func findCredentials(_ *Redactor, sc *scratch, dst []span, s []byte) []span {
	start := len(dst)
	for _, c := range [2]byte{'b', 'B'} {
		for off := 0; ; {
			i := bytes.IndexByte(s[off:], c)
			if i < 0 {
				break
			}
			i += off
			off = i + 1
			if i > 0 && isWordByte(s[i-1]) {
				continue
			}
			var basic bool
			var j int
			switch {
			case hasFoldPrefix(s[i:], "bearer"):
				j = i + 6
			case hasFoldPrefix(s[i:], "basic"):
				j, basic = i+5, true
			default:
				continue
			}
			k := j
			for k < len(s) && s[k] == ' ' {
				k++
			}
			if k == j {
				continue
			}
			e := k
			for e < len(s) && isToken68(s[e]) {
				e++
			}
			for e < len(s) && s[e] == '=' {
				e++
			}
			tok := s[k:e]
			if basic && !basicCredential(tok, sc) || !basic && !bearerToken(tok) {
				continue
			}
			if fieldAt(s[k:]) {
				continue // the next field, "token_type=Bearer expires_in=3600"
			}
			dst = append(dst, span{k, e})
			off = e
		}
	}
	dst = findURLPasswords(dst, s)
	sortSpans(dst[start:])
	return dst
}

// findURLPasswords appends the spans of passwords in the user information
// of URLs (postgres://app:hunter2@db:5432/shop, a connection string that
// ends up in a log line): the password, not the user name or the host.
func findURLPasswords(dst []span, s []byte) []span {
	for off := 0; ; {
		i := bytes.Index(s[off:], []byte("://"))
		if i < 0 {
			return dst
		}
		a := off + i + 3 // the authority: up to the path, query or fragment
		e := a
		for e < len(s) && !urlAuthorityEnd(s[e]) {
			e++
		}
		off = e
		at := bytes.LastIndexByte(s[a:e], '@')
		if at < 0 {
			continue
		}
		colon := bytes.IndexByte(s[a:a+at], ':')
		if colon < 0 || colon+1 == at {
			continue // a user name alone (ssh://git@host), or an empty password
		}
		dst = append(dst, span{a + colon + 1, a + at})
	}
}

func urlAuthorityEnd(c byte) bool {
	switch c {
	case '/', '?', '#', ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '\\':
		return true
	}
	return false
}

func isWordByte(c byte) bool { return isLower(c) || isUpper(c) || isDigit(c) || c == '_' }

func isToken68(c byte) bool {
	return isLower(c) || isUpper(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

// hasFoldPrefix reports whether s starts with the lower-case ASCII word w,
// in any case.
func hasFoldPrefix(s []byte, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if s[i]|0x20 != w[i] {
			return false
		}
	}
	return true
}

// bearerToken tells a token from an English word after "bearer": at least
// 8 characters with a digit, a symbol or a lower-to-upper hump.
func bearerToken(t []byte) bool {
	if len(t) < 8 {
		return false
	}
	for i, c := range t {
		if !isLower(c) && !isUpper(c) {
			return true
		}
		if i > 0 && isUpper(c) && isLower(t[i-1]) {
			return true
		}
	}
	return false
}

// basicCredential reports whether t is base64 of "user:password".
func basicCredential(t []byte, sc *scratch) bool {
	if len(t) < 4 {
		return false
	}
	enc := base64.StdEncoding
	if t[len(t)-1] != '=' && len(t)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	n := enc.DecodedLen(len(t))
	if cap(sc.b64) < n {
		sc.b64 = make([]byte, n)
	}
	d, err := enc.Decode(sc.b64[:n], t)
	return err == nil && bytes.IndexByte(sc.b64[:d], ':') > 0
}

// findKeyValues finds values of sensitive keys written inside text:
// key=value (query strings, logfmt), key: value, and "key":"value" (JSON
// echoed in an error message).
func findKeyValues(r *Redactor, sc *scratch, dst []span, s []byte) []span {
	start := len(dst)
	var lw listWalk
	for _, sep := range [2]byte{'=', ':'} {
		for off := 0; ; {
			i := bytes.IndexByte(s[off:], sep)
			if i < 0 {
				break
			}
			i += off
			off = i + 1
			// The key: identifier characters before the separator, maybe
			// quoted.
			ks, ke := identSpan(s, i)
			if ks == ke || (ks > 0 && isKeyByte(s[ks-1]) && !escapedLetter(s, ks-1)) {
				continue // no key, or one longer than we look at
			}
			kc := r.classifyText(sc, s[ks:ke])
			if !kc.sensitive() || kc == keyShort && sep == ':' && (ke == i || s[ke] != '"' && s[ke] != '\'') {
				continue
			}
			// The value.
			vs := i + 1
			if sep == '=' && vs < len(s) && s[vs] == '>' {
				vs++ // Ruby's, PHP's and Perl's "password" => "x"
			} else if sep == ':' && vs+1 < len(s) && s[vs] == ':' && s[vs+1] == ' ' {
				vs++ // LDIF's base64 value: "userPassword:: aHVudGVyMg=="
			}
			for vs < len(s) && (s[vs] == ' ' || s[vs] == '\t') {
				vs++
			}
			if vs+1 < len(s) && stringPrefix(s[vs]) && (s[vs+1] == '\'' || s[vs+1] == '"') {
				vs++ // Python's b'x' and u'x'
			}
			var ve int
			if vs < len(s) && (s[vs] == '"' || s[vs] == '\'') {
				vs, ve = vs+1, quotedEnd(s, vs)
			} else if vs+1 < len(s) && s[vs] == '\\' && s[vs+1] == '"' {
				vs, ve = vs+2, escapedQuoteEnd(s, vs+2) // password=\"x\" in quoted text
			} else if isCookieKey(s[ks:ke]) {
				// "Cookie: a=1; b=2": every cookie of the header line.
				ve = vs
				for ve < len(s) && s[ve] != '\n' && s[ve] != '\r' && s[ve] != '"' && !escapedLetter(s, ve+1) {
					ve++
				}
			} else {
				var next int
				vs, ve, next = plainValue(s, vs, authKey(s[ks:ke]), &lw)
				if vs < 0 {
					continue // an earlier rule took the credential
				}
				if v := s[vs:ve]; len(v) > 0 && !(kc == keySecrets && isTextCount(v)) && string(v) != redacted {
					dst = append(dst, span{vs, ve})
				}
				off = next
				continue
			}
			v := s[vs:ve]
			if len(v) == 0 || string(v) == "true" || string(v) == "false" || string(v) == "null" || string(v) == redacted ||
				kc == keySecrets && isTextCount(v) {
				continue
			}
			dst = append(dst, span{vs, ve})
			off = ve
		}
	}
	dst = findFlagValues(r, sc, dst, s)
	sortSpans(dst[start:])
	// '=' and ':' passes may both have found the same value.
	out := dst[:start]
	for _, sp := range dst[start:] {
		if n := len(out); n > start && sp.start < out[n-1].end {
			if sp.end > out[n-1].end {
				out[n-1].end = sp.end
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

// findFlagValues finds the values of sensitive command-line flags written
// with a space ("mysql --password hunter2", "--api-key 'a b'"); with '=' the
// key=value passes take them. A value that starts with '-' is the next
// flag ("docker login --password-stdin --username bob"). Short spellings
// ("--pwd /srv") are not taken: as flags they mostly name other things.
func findFlagValues(r *Redactor, sc *scratch, dst []span, s []byte) []span {
	for off := 0; ; {
		i := bytes.Index(s[off:], []byte("--"))
		if i < 0 {
			return dst
		}
		i += off
		off = i + 2
		ks, ke := flagName(s, i)
		vs := flagGap(s, i, ke)
		if ks == ke || vs == ke {
			continue
		}
		kc := r.classifyText(sc, s[ks:ke])
		if kc != keySensitive && kc != keySecrets {
			continue
		}
		var ve int
		if q := s[vs]; q == '"' || q == '\'' {
			vs, ve = vs+1, quotedEnd(s, vs)
		} else {
			ve = max(valueEnd(s, vs), cardEnd(s, vs))
		}
		if vs < len(s) && s[vs] == '-' {
			continue // the next flag
		}
		if v := s[vs:ve]; len(v) == 0 || string(v) == redacted || kc == keySecrets && isTextCount(v) {
			continue
		}
		dst = append(dst, span{vs, ve})
		off = ve
	}
}

// flagGap returns where the value of the flag whose "--" is at s[i] and
// whose name ends at ke starts, or ke when no value follows:
//   - after one space or tab ("--password x"); more spaces, or a value
//     between tabs, are the columns of a help text ("--password   Password
//     to use");
//   - at the next element of an argument list printed as text: Python's
//     '--password', 'x' (also b'x'), JSON's "--password","x", Go's %q
//     "--password" "x", and, inside a list, Java's [mysql, --password, x].
func flagGap(s []byte, i, ke int) int {
	j := ke
	if j >= len(s) {
		return ke
	}
	quoted := s[j] == '"' || s[j] == '\''
	if quoted {
		for j++; j < len(s) && s[j] == ' '; j++ {
		}
	}
	switch {
	case j < len(s) && s[j] == ',':
		// Unquoted, only an element of a list: "use --password, or
		// set PGPASSWORD" is prose.
		if !quoted && !listElement(s, i) {
			return ke
		}
		// Any white space after the comma is the list's layout (pprint,
		// indented JSON).
		j = skipWS(s, j+1)
	case quoted && j > ke+1:
		// Go's %q: "--password" "x"; the spaces were skipped.
	case j+1 < len(s) && (s[j] == ' ' || s[j] == '\t') && s[j+1] != ' ' && s[j+1] != '\t':
		j++
		// "--api-key\tKEY\tthe api key": tab-separated help columns.
		if s[j-1] == '\t' && !quoted {
			if e := valueEnd(s, j); e < len(s) && s[e] == '\t' {
				return ke
			}
		}
	default:
		return ke
	}
	if j >= len(s) {
		return ke
	}
	if quoted && s[j] == 'b' && j+1 < len(s) && (s[j+1] == '\'' || s[j+1] == '"') {
		j++ // a Python bytes literal
	}
	if quoted && s[j] != '"' && s[j] != '\'' {
		return ke
	}
	return j
}

// listElement reports whether the flag whose "--" is at s[i] is an element
// of a list printed without quotes ("[mysql, --password, x]",
// "(--password, x)", "mysql,--password,x"): the byte before it, past white
// space, opens the list or ends the element before.
func listElement(s []byte, i int) bool {
	i = skipWSBack(s, i)
	return i > 0 && (s[i-1] == '[' || s[i-1] == '(' || s[i-1] == ',')
}

// flagName returns the name of the long flag whose "--" is at s[i], or an
// empty span when the "--" does not start one (it follows a word, or is
// part of "---").
func flagName(s []byte, i int) (ks, ke int) {
	ks = i + 2
	if i > 0 && isKeyByte(s[i-1]) || ks >= len(s) || !isLower(s[ks]) && !isUpper(s[ks]) {
		return ks, ks
	}
	ke = ks
	for ke < len(s) && ke-ks < 64 && isKeyByte(s[ke]) {
		ke++
	}
	return ks, ke
}

// isCookieKey reports whether key names a cookie header, whose value is a
// list of cookies separated by "; ".
func isCookieKey(key []byte) bool {
	key = bytes.Trim(key, `"'`)
	if n := len(key); n > 0 && key[n-1]|0x20 == 's' {
		key = key[:n-1] // cookies
	}
	// Cookie, Set-Cookie, HTTP_COOKIE (CGI): a word of its own at the end.
	n := len(key) - len("cookie")
	return n >= 0 && bytes.EqualFold(key[n:], []byte("cookie")) && (n == 0 || !isLower(key[n-1]|0x20))
}

// metavar reports whether w is a placeholder in help text: upper-case
// letters, maybe with '_' or '-' (TOKEN, API_KEY).
func metavar(w []byte) bool {
	for _, c := range w {
		if !isUpper(c) && c != '_' && c != '-' {
			return false
		}
	}
	return len(w) >= 3
}

// secretParam reports whether the field "name=value" is a parameter
// that holds a credential: a value of eight or more characters with a
// capital or a digit, as signatures, digests and nonces are.
func secretParam(f []byte) bool {
	i := bytes.IndexByte(f, '=')
	return i >= 0 && len(f)-i-1 >= 8 && randomBody(f[i+1:])
}

// stringPrefix reports whether c is the prefix of a Python string literal
// (b'…', u'…', r'…').
func stringPrefix(c byte) bool {
	switch c | 0x20 {
	case 'b', 'u', 'r':
		return true
	}
	return false
}

// escapedQuoteEnd returns where a value quoted with escaped quotes
// (\"x\", JSON inside a quoted string) ends: at the \" that closes it, or
// the end of s. An escape of the inner level (\\\") does not close it.
func escapedQuoteEnd(s []byte, i int) int {
	for j := i; j < len(s); j++ {
		if s[j] != '\\' {
			continue
		}
		b := j
		for j < len(s) && s[j] == '\\' {
			j++
		}
		if j < len(s) && s[j] == '"' && j-b == 1 {
			return b
		}
	}
	return len(s)
}

func isKeyByte(c byte) bool {
	return isLower(c) || isUpper(c) || isDigit(c) || c == '_' || c == '-' || c == '.'
}

// plainValue returns the span of the unquoted value of a sensitive key
// that starts at vs, and where the search for the next key goes on; vs < 0
// when an earlier rule took the credential. auth says the key names an
// Authorization header. The value is:
//   - "true", "false" and "null": none;
//   - a Go list ("X-Api-Key:[k3y]", as %v prints an http.Header): its
//     contents;
//   - under an Authorization header, after a scheme whose credential is a
//     list of parameters (Digest, OAuth 1.0, AWS4-HMAC-SHA256, MAC, Hawk,
//     Signature): the rest of the line;
//   - after a known scheme word (Bearer, Basic, token, Api-Key, Bot, …):
//     the credential after it, the word kept;
//   - after a capitalised word that may be a scheme the rule does not know
//     ("Authorization: Custom abc", "X-Auth-Token: AWS id:sig"): the word
//     and what follows it, unless that is a flag. The search goes on
//     inside, so a key=value pair swallowed there is still judged
//     ("authorization=None password=…");
//   - else the first word, or the card that starts there, written in
//     groups or glued to more ("password=4111111111111111:x").
func plainValue(s []byte, vs int, auth bool, lw *listWalk) (int, int, int) {
	if r, ok := afterRedacted(s, vs); ok {
		return r, valueEnd(s, r), valueEnd(s, r) // the rest of a credential a rule cut
	} else if r > vs {
		return -1, -1, -1
	}
	if e := listEnd(s, vs, lw); e > 0 {
		if literal(s[vs+1 : e]) {
			return vs, vs, e
		}
		return vs + 1, e, e
	}
	ve := max(valueEnd(s, vs), cardEnd(s, vs))
	word := s[vs:ve]
	if literal(word) && !auth {
		return vs, vs, ve
	}
	if ve >= len(s) || s[ve] != ' ' || ve == vs {
		return vs, ve, ve
	}
	w := ve
	for w < len(s) && s[w] == ' ' {
		w++
	}
	next := credentialEnd(s, w)
	if !auth && w > ve+1 && metavar(word) {
		// "--token=TOKEN          The API token": a --help line's
		// placeholder, a column gap and the description.
		return vs, ve, ve
	}
	switch {
	case paramScheme(word) && (auth || authParams(s[w:])):
		e := w
		for e < len(s) && s[e] != '\n' && s[e] != '\r' {
			e++
		}
		return w, e, e
	case !authScheme(word) && !paramScheme(word) && !(schemeWord(word) && (auth || isUpper(word[0]))):
		return vs, ve, ve
	}
	if r, ok := afterRedacted(s, w); ok {
		return r, valueEnd(s, r), valueEnd(s, r) // AWS AKIA…:signature
	} else if r > w {
		return -1, -1, -1 // an earlier rule took the credential
	}
	switch {
	case next == w:
		return vs, ve, ve // nothing follows
	case authScheme(word) && !auth && fieldAt(s[w:]):
		// token_type=Bearer expires_in=3600: a scheme word, no credential.
		return -1, -1, -1
	case paramScheme(word) && !auth && fieldAt(s[w:]) && !secretParam(s[w:next]):
		// token=OAuth provider=github: a logfmt value, where the one
		// parameter of a scheme (Hmac sig=9f86…) looks random.
		return vs, ve, ve
	case authScheme(word) || paramScheme(word):
		// The credential, or a parameter scheme's one parameter
		// (Hmac sig=9f86…).
		return w, next, next
	case !auth && s[w] == '-' && w+1 < len(s) && s[w+1] == '-':
		return vs, ve, ve // the next flag
	case !auth && (w > ve+1 || plainPair(s[w:next])):
		// A column gap ("--password=PASSWORD   The password") or the
		// next field ("Password: Reset user=alice").
		return vs, ve, ve
	}
	return vs, next, ve
}

// listEnd returns the offset of the ']' that closes a Go list starting at
// s[i] ("[k3y]", as %v prints a []string), or 0. The brackets of an
// earlier rule's "[REDACTED]" inside do not close it.
//
// m remembers the last walk: a '[' it passed over is closed by the same
// ']' (or none), so text with many brackets that nothing closes
// ("password=[password=[…") is walked once, not once per bracket.
func listEnd(s []byte, i int, m *listWalk) int {
	if i >= len(s) || s[i] != '[' || bytes.HasPrefix(s[i:], []byte(redacted)) {
		return 0
	}
	if m.from < i && i < m.to {
		return m.end
	}
	m.from, m.to, m.end = i, len(s), 0
	for j := i + 1; j < len(s); j++ {
		switch {
		case bytes.HasPrefix(s[j:], []byte(redacted)):
			j += len(redacted) - 1
		case s[j] == ']':
			m.to, m.end = j, j
			return j
		case s[j] == '\n':
			m.to = j
			return 0
		}
	}
	return 0
}

// listWalk is listEnd's memory of its last walk over one text: from the
// '[' at from to the ']' or line end at to, which found end.
type listWalk struct{ from, to, end int }

// afterRedacted reports, when an earlier rule's "[REDACTED]" starts at
// s[i], where the text after it starts and whether more of the same value
// follows it (AWS's "AKIA…:signature" after the key id was cut).
func afterRedacted(s []byte, i int) (int, bool) {
	if !bytes.HasPrefix(s[i:], []byte(redacted)) {
		return i, false
	}
	r := i + len(redacted)
	for _, c := range s[r:valueEnd(s, r)] {
		if isAlnum(c) {
			return r, true
		}
	}
	return r, false // punctuation: "token=[REDACTED]: retrying"
}

// quotedEnd returns the offset of the quote that closes the quoted value
// whose opening quote is s[i], or len(s) when none does. An escaped quote
// does not end the value.
func quotedEnd(s []byte, i int) int {
	e := i + 1
	for e < len(s) && s[e] != s[i] {
		if s[e] == '\\' && e+1 < len(s) {
			e++
		}
		e++
	}
	return min(e, len(s))
}

// credentialEnd returns the end of the credential that starts at s[w]: a
// quoted string on the line, escapes kept inside ("Custom \"a\\\"b\""), or
// the word there.
func credentialEnd(s []byte, w int) int {
	if w < len(s) && (s[w] == '"' || s[w] == '\'') {
		for e := w + 1; e < len(s) && s[e] != '\n' && s[e] != '\r'; e++ {
			switch s[e] {
			case '\\':
				e++
			case s[w]:
				return e + 1
			}
		}
		// Not closed on the line: a quote in prose, not a quoted value.
		return valueEnd(s, w+1)
	}
	return valueEnd(s, w)
}

// authParams reports whether t starts with the parameters of an auth
// scheme: a name and '=', with a quoted value ("username=\"bob\"") or a
// ", name=" after it (Credential=…, Signature=…), as a logfmt field
// ("provider=github user=alice") is not.
func authParams(t []byte) bool {
	i := 0
	for i < len(t) && (isLower(t[i]) || isUpper(t[i]) || t[i] == '_') {
		i++
	}
	if i == 0 || i+1 >= len(t) || t[i] != '=' || t[i+1] == '=' {
		return false
	}
	if t[i+1] == '"' {
		return true
	}
	e := i + 1 // the value: up to a comma or white space
	for e < len(t) && t[e] != ',' && t[e] != ' ' && t[e] != '\t' && t[e] != '\n' && t[e] != '\r' {
		e++
	}
	return e+1 < len(t) && t[e] == ',' && (t[e+1] == ' ' || isAlnum(t[e+1]))
}

// literal reports whether a value is a boolean or a null, in any case
// (Python's None, True, False): no secret, and no scheme word either.
func literal(w []byte) bool {
	return foldIn(w, []string{"true", "false", "null", "none", "nil"})
}

// fieldAt reports whether t starts with the next field of a logfmt or
// YAML-ish line: a plain lower-case name, then '=' and a value
// (expires_in=3600, message="…", redirect_uri=/cb) or ": " and a value
// (expires_in: 3600). A token is not one: it has digits in its "name" and
// ends in '=' padding or is followed by ':' in prose (Bearer
// 0123abcd…: expired, Bearer vf4fw5tub=).
func fieldAt(t []byte) bool {
	i, digits := 0, false
	for i < len(t) && (isLower(t[i]) || isDigit(t[i]) || t[i] == '_' || t[i] == '-' || t[i] == '.') {
		digits = digits || isDigit(t[i])
		i++
	}
	if i == 0 || i > 32 || i+1 >= len(t) {
		return false
	}
	switch c := t[i+1]; t[i] {
	case '=':
		if digits {
			return isAlnum(c)
		}
		return c != '=' && c != ' ' && c != '\t'
	case ':':
		return !digits && c == ' '
	}
	return false
}

// plainPair reports whether t is a key=value or key: value field with a
// plain name ("user=alice", "port:"), not a credential that holds '=' or
// ':' (base64 padding "dXNl…==", mixed-case ids).
func plainPair(t []byte) bool {
	i := 0
	for i < len(t) && (isLower(t[i]) || isDigit(t[i]) || t[i] == '_' || t[i] == '-' || t[i] == '.') {
		i++
	}
	return i > 0 && i <= 32 && i < len(t) && (t[i] == '=' || t[i] == ':') && (i+1 == len(t) || t[i+1] != '=')
}

// schemeWord reports whether w could be an authentication scheme word:
// letters and '-', maybe one digit last ("Custom", "OAuth2").
func schemeWord(w []byte) bool {
	if n := len(w); n > 1 && isDigit(w[n-1]) {
		w = w[:n-1]
	}
	if len(w) == 0 || !isLower(w[0]) && !isUpper(w[0]) {
		return false
	}
	for _, c := range w {
		if !isLower(c) && !isUpper(c) && c != '-' {
			return false
		}
	}
	return true
}

// cardEnd returns the end of the card that starts at s[i], written in
// groups or not, or 0.
func cardEnd(s []byte, i int) int {
	if i >= len(s) || !isDigit(s[i]) {
		return 0
	}
	t := s[i:min(len(s), i+3*maxPAN)]
	if sp, _ := findCards(nil, nil, t); len(sp) > 0 && sp[0].start == 0 {
		return i + sp[0].end
	}
	return 0
}

// isTextCount reports whether v, a value in text under a plural key,
// counts secrets ("tokens: 512", "secrets: -1", "api_keys: 2.5").
func isTextCount(v []byte) bool {
	return isNumber(v) && jsonscan.Valid(v, 1) == nil && isCount(v)
}

// authSchemes are the HTTP authentication scheme words a credential follows
// in an Authorization header (IANA's registry, and the common vendor ones).
var authSchemes = []string{"basic", "bearer", "dpop", "hoba", "mutual", "negotiate", "ntlm",
	"token", "apikey", "api-key", "key", "sharedkey", "jwt", "ssws", "splunk", "geniekey", "kerberos", "bot"}

// paramSchemes are the scheme words whose credential is a list of
// parameters (Digest's response, OAuth 1.0's oauth_signature, AWS's
// Signature), all of it to the end of the line.
var paramSchemes = []string{"digest", "oauth", "mac", "hawk", "hmac", "signature", "aws4-hmac-sha256"}

// authScheme reports whether w is one of authSchemes, in any case.
func authScheme(w []byte) bool { return foldIn(w, authSchemes) }

// paramScheme reports whether w is one of paramSchemes, in any case.
func paramScheme(w []byte) bool { return foldIn(w, paramSchemes) }

func foldIn(w []byte, words []string) bool {
	for _, a := range words {
		if len(w) == len(a) && hasFoldPrefix(w, a) {
			return true
		}
	}
	return false
}

// authKey reports whether a key names an Authorization header
// ("Authorization", "Proxy-Authorization", "HTTP_AUTHORIZATION").
func authKey(k []byte) bool {
	return len(k) >= 13 && hasFoldPrefix(k[len(k)-13:], "authorization")
}

func isAlphaWord(w []byte) bool {
	for _, c := range w {
		if !isLower(c) && !isUpper(c) {
			return false
		}
	}
	return true
}

// valueEnd returns the end of an unquoted value starting at i.
func valueEnd(s []byte, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '&', ',', ';', ')', ']', '}', '"', '\'', '<', '>', '{', '[':
			return i
		}
		i++
	}
	return i
}

// sortSpans sorts spans by start, spans with the same start in the order
// they came (dropOverlaps keeps the first). It does not allocate. The
// rules append the spans of a few passes, each pass in order, and a text
// may hold thousands of matches: an insertion sort would move each span of
// a later pass past every span of an earlier one that starts after it,
// quadratic in the matches ("password=x password:y …").
func sortSpans(s []span) {
	slices.SortStableFunc(s, func(a, b span) int { return cmp.Compare(a.start, b.start) })
}

// dropOverlaps removes spans that overlap an earlier one (the spans are
// sorted by start).
func dropOverlaps(s []span) []span {
	out := s[:0]
	for _, sp := range s {
		if n := len(out); n > 0 && sp.start < out[n-1].end {
			continue
		}
		out = append(out, sp)
	}
	return out
}

// findJWT finds JSON Web Tokens: "eyJ" (base64 of `{"`), the rest of the
// header, '.', a payload of at least two characters, '.', and the
// signature (maybe empty, for alg "none"). A scanner rather than a regular
// expression: tokens are common in auth logs and this path must not
// allocate.
func findJWT(_ *Redactor, _ *scratch, dst []span, s []byte) []span {
	for off := 0; off < len(s); {
		i := bytes.Index(s[off:], []byte("eyJ"))
		if i < 0 {
			break
		}
		a := off + i
		h, ok := b64urlSegment(s, a+3, 2)
		if ok && h < len(s) && s[h] == '.' {
			e, ok := b64urlSegment(s, h+1, 2)
			if ok && e < len(s) && s[e] == '.' {
				e, _ = b64urlSegment(s, e+1, 0)
				dst = append(dst, span{a, e})
				off = e
				continue
			}
		}
		// An "eyJ" later in the same header run would end where this one
		// did, and fail the same way: skip the run, so that a long run of
		// them costs one walk, not one per "eyJ".
		off = h
	}
	return dst
}

// b64urlSegment returns the end of the run of base64url characters from i
// and whether it holds at least min of them.
func b64urlSegment(s []byte, i, min int) (int, bool) {
	j := i
	for j < len(s) && (isLower(s[j]) || isUpper(s[j]) || isDigit(s[j]) || s[j] == '_' || s[j] == '-') {
		j++
	}
	return j, j-i >= min
}

// findAWSKeyIDs finds AWS access key ids: AKIA (long-term) or ASIA
// (temporary) and 16 upper-case letters or digits, as a whole word.
func findAWSKeyIDs(_ *Redactor, _ *scratch, dst []span, s []byte) []span {
	start := len(dst)
	for _, p := range [2]string{"AKIA", "ASIA"} {
		for off := 0; off < len(s); {
			i := bytes.Index(s[off:], []byte(p))
			if i < 0 {
				break
			}
			a := off + i
			off = a + 1
			e := a + 20
			if e > len(s) || (a > 0 && isWordByte(s[a-1])) || (e < len(s) && isWordByte(s[e])) {
				continue
			}
			ok := true
			for _, c := range s[a+4 : e] {
				if !isUpper(c) && !isDigit(c) {
					ok = false
					break
				}
			}
			if ok {
				dst = append(dst, span{a, e})
				off = e
			}
		}
	}
	sortSpans(dst[start:])
	return dst
}
