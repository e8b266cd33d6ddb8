package redact

import (
	"encoding/binary"
	"math/bits"
	"strings"
)

// Key matching.
//
// A key is split into lower-case words at '_', '-', '.', ' ', at camelCase
// humps ("apiKey", "APIKey" → api key), and between letters and digits
// ("cvv2" → cvv 2). The key is sensitive when its words contain one of the
// sensitive terms as whole words ("db_password", "X-Auth-Token",
// "aws_secret_access_key", "apiKey") — so "secretary", "panel", "span_id" and
// "tokens_used" are not — unless the last word, outside the matched term, says
// the value is about the secret rather than the secret itself ("token_type",
// "token_count", "password_length", "secret_name"). Booleans and null under a
// sensitive key are kept: they cannot hold a secret, and "password_set": true
// is worth keeping.

// keyClass is what a key says about its value.
type keyClass uint8

const (
	keyPlain keyClass = iota
	// keySensitive: the value is replaced by the keys rule.
	keySensitive
	// keyTraceID: the value is a trace, span or parent id; a hex or decimal
	// id (W3C, or Datadog's 64-bit decimal ids) is not scanned, unless the
	// whole value is a valid card (see safeID).
	keyTraceID
	// keySecrets: a sensitive term in the plural ("passwords", "tokens",
	// "api_keys"): the value is replaced like keySensitive's, except a
	// number, which counts them ("tokens": 512 in an LLM's usage log).
	keySecrets
	// keyShort: a short spelling of password as the key's last word
	// ("Pwd", "DB_PASS"): a JSON key, or a key=value key in text, whose
	// value is replaced like keySensitive's. In text it counts only
	// before '=' or quoted, as in a connection string or an environment
	// dump: "first pass: 1200 rows" is prose.
	keyShort
)

// sensitive reports whether the key holds secrets, in the singular or the
// plural.
func (kc keyClass) sensitive() bool { return kc == keySensitive || kc == keySecrets || kc == keyShort }

// hides reports whether the keys rule replaces v under a key of class kc.
// Booleans and null cannot hold a secret, and a number under a plural
// counts secrets.
func (kc keyClass) hides(v []byte) bool {
	switch kc {
	case keySensitive, keyShort:
		return !isBoolOrNull(v)
	case keySecrets:
		return !isBoolOrNull(v) && !isCount(v)
	}
	return false
}

func isNumber(v []byte) bool { return len(v) > 0 && (v[0] == '-' || isDigit(v[0])) }

// isCount reports whether v, a JSON number or the digits of a value in
// text, counts secrets under a plural key ("tokens": 512): a number that is
// not a card. A card there is the secret itself, redacted as the key's
// value, so that redacting the output again changes nothing.
func isCount(v []byte) bool {
	if !isNumber(v) {
		return false
	}
	d := v
	if d[0] == '-' {
		d = d[1:]
	}
	if allDigits(d) {
		return !isPAN(d)
	}
	var buf [maxPAN]byte
	digits, ok := integerDigits(buf[:0], d)
	return !ok || !isPAN(digits)
}

// sensitiveWord reports whether w alone is a sensitive term.
func sensitiveWord(w []byte) bool {
	switch string(w) {
	case "password", "passwd", "passphrase", "secret", "token", "authorization",
		"cookie", "setcookie", "cvv", "cvc", "ssn", "pan", "apikey", "cardnumber",
		"creditcard", "privatekey", "jwt":
		return true
	}
	return false
}

// shortWord reports whether w is a short spelling of password: "Pwd="
// in ODBC and ADO.NET connection strings, DB_PASS and SMTP_PASS in
// environment dumps. It counts only as a key's last word: "pass_rate" and
// "pass_through" are about something else.
func shortWord(w []byte) bool { return string(w) == "pwd" || string(w) == "pass" }

// singular returns w without the s of a plural. "tokens" is left out: it
// counts an LLM's tokens far more often than it lists credentials
// ("prompt_tokens": 512).
func singular(w []byte) ([]byte, bool) {
	if n := len(w); n > 3 && w[n-1] == 's' && string(w) != "tokens" {
		return w[:n-1], true
	}
	return nil, false
}

// sensitivePair reports whether the words a b form a sensitive term.
func sensitivePair(a, b []byte) bool {
	switch string(a) {
	case "api":
		return string(b) == "key"
	case "set":
		return string(b) == "cookie"
	case "card":
		return string(b) == "number"
	case "credit":
		return string(b) == "card"
	case "private":
		return string(b) == "key"
	}
	return false
}

// descriptor reports whether a last word w makes the key describe a secret
// rather than hold it.
func descriptor(w []byte) bool {
	switch string(w) {
	case "id", "ids", "count", "type", "name", "names", "length", "len", "size",
		"ttl", "expiry", "expires", "expiration", "exp", "used", "at", "in":
		return true
	}
	return false
}

// maxKeyWords bounds the words examined in one key; a longer key is
// examined in its first maxKeyWords words plus its last (see splitWords).
const maxKeyWords = 24

// keyWords is a key split into lower-case words, all in one buffer.
type keyWords struct {
	buf  [256]byte
	ends [maxKeyWords]uint8
	n    int
}

func (kw *keyWords) word(i int) []byte {
	start := 0
	if i > 0 {
		start = int(kw.ends[i-1])
	}
	return kw.buf[start:kw.ends[i]]
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// split fills kw with the words of key (decoded key text). Keys of more than
// 255 bytes or maxKeyWords words are truncated to their end, which is where a
// sensitive term that matters sits ("request.headers.authorization").
func (kw *keyWords) split(key []byte) {
	kw.n = 0
	if len(key) > 255 {
		key = key[len(key)-255:]
	}
	out := 0
	end := func() {
		if out > 0 && (kw.n == 0 || int(kw.ends[kw.n-1]) != out) {
			if kw.n == maxKeyWords {
				// Keep the last words: drop the first one.
				first := int(kw.ends[0])
				copy(kw.buf[:], kw.buf[first:out])
				out -= first
				copy(kw.ends[:], kw.ends[1:])
				for i := range kw.n - 1 {
					kw.ends[i] -= uint8(first)
				}
				kw.n--
			}
			kw.ends[kw.n] = uint8(out)
			kw.n++
		}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case isLower(c):
			if i > 0 && isDigit(key[i-1]) {
				end()
			}
			kw.buf[out] = c
			out++
		case isUpper(c):
			if i > 0 && (isLower(key[i-1]) || isDigit(key[i-1]) ||
				(isUpper(key[i-1]) && i+1 < len(key) && isLower(key[i+1]))) {
				end()
			}
			kw.buf[out] = c + ('a' - 'A')
			out++
		case isDigit(c):
			if i > 0 && !isDigit(key[i-1]) {
				end()
			}
			kw.buf[out] = c
			out++
		case c >= 0x80:
			kw.buf[out] = c
			out++
		default: // '_', '-', '.', ' ', and any other punctuation
			end()
		}
	}
	end()
}

// matchKey classifies key (decoded text) by the built-in terms and the
// configured extra terms.
func (m *keyMatcher) matchKey(kw *keyWords, key []byte) keyClass {
	kw.split(key)
	n := kw.n
	if n == 0 {
		return keyPlain
	}
	last := kw.word(n - 1)
	matchEnd := -1  // index of the last word of the latest match
	plural := false // the latest match is a plural ("passwords", "api_keys")
	short := false  // the only match is a short word at the end
	for i := 0; i < n; i++ {
		w := kw.word(i)
		if sensitiveWord(w) {
			matchEnd, plural = i, false
		} else if s, ok := singular(w); ok && sensitiveWord(s) {
			matchEnd, plural = i, true
		} else if i == n-1 && matchEnd < 0 && shortWord(w) {
			matchEnd, short = i, true
		}
		if i+1 < n {
			next := kw.word(i + 1)
			if sensitivePair(w, next) {
				matchEnd, plural = i+1, false
			} else if s, ok := singular(next); ok && sensitivePair(w, s) {
				matchEnd, plural = i+1, true
			}
		}
		if m != nil {
			if e := m.extraAt(kw, i); e > matchEnd {
				matchEnd, plural = e, false
			}
		}
	}
	if matchEnd >= 0 && (matchEnd == n-1 || !descriptor(last)) {
		switch {
		case plural:
			return keySecrets
		case short:
			return keyShort
		}
		return keySensitive
	}
	if string(last) == "id" || string(last) == "ids" {
		var prev []byte
		if n >= 2 {
			prev = kw.word(n - 2)
		}
		switch string(prev) {
		case "trace", "span", "parent":
			return keyTraceID
		}
	}
	switch string(last) {
	case "traceid", "spanid", "parentid":
		return keyTraceID
	}
	return keyPlain
}

// keyMatcher holds the configured extra key terms and path globs.
type keyMatcher struct {
	filter trigramFilter
	// terms are extra names as word sequences, by their first word.
	terms map[string][][]string
	// globs are dotted-path patterns, normalised (see normPath).
	globs []string
}

func newKeyMatcher(extra []string) *keyMatcher {
	m := &keyMatcher{terms: map[string][][]string{}}
	for _, w := range builtinTrigramWords {
		m.filter.add(w)
	}
	var kw keyWords
	for _, e := range extra {
		if strings.ContainsAny(e, ".*?") {
			m.globs = append(m.globs, normPath(nil, []byte(e)))
			continue
		}
		kw.split([]byte(e))
		words := make([]string, kw.n)
		for i := range words {
			words[i] = string(kw.word(i))
		}
		if len(words) > 0 {
			m.terms[words[0]] = append(m.terms[words[0]], words)
			m.filter.add(words[0])
		}
	}
	return m
}

// extraAt returns the index of the last word of an extra term matching the
// words of kw from position i, or -1.
func (m *keyMatcher) extraAt(kw *keyWords, i int) int {
	if len(m.terms) == 0 {
		return -1
	}
	best := -1
	for _, t := range m.terms[string(kw.word(i))] {
		if i+len(t) > kw.n {
			continue
		}
		ok := true
		for k := 1; k < len(t); k++ {
			if string(kw.word(i+k)) != t[k] {
				ok = false
				break
			}
		}
		if ok && i+len(t)-1 > best {
			best = i + len(t) - 1
		}
	}
	return best
}

// normPath appends p lower-cased without '_' and '-', so that globs and
// paths compare the way keys do ("User-Email" is "useremail").
func normPath[T []byte | string](dst []byte, p T) string {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '_' || c == '-':
		case isUpper(c):
			dst = append(dst, c+('a'-'A'))
		default:
			dst = append(dst, c)
		}
	}
	return string(dst)
}

// globRuns returns a state for each glob, at the start of a path.
func (m *keyMatcher) globRuns(dst []globRun) []globRun {
	dst = dst[:0]
	for range m.globs {
		dst = append(dst, globRun{star: -1})
	}
	return dst
}

// feedPath goes on with each glob's run (runs[i] is m.globs[i]'s) over the
// normalised dotted path, of which the runs have read what they had read.
func (m *keyMatcher) feedPath(runs []globRun, path []byte) {
	for i, g := range m.globs {
		runs[i].feed(g, path)
	}
}

// matchedPath reports whether the path the runs have read matches a glob.
func (m *keyMatcher) matchedPath(runs []globRun) bool {
	for i, g := range m.globs {
		if runs[i].matched(g) {
			return true
		}
	}
	return false
}

// glob matches p against pattern g: '*' matches any run of bytes, dots
// included ("*.password" matches "a.password" and "a.b.password"), '?' one
// byte. Iterative, with one backtracking point, so it is linear in practice.
func glob(g string, p []byte) bool {
	r := globRun{star: -1}
	r.feed(g, p)
	return r.matched(g)
}

// globRun is glob's loop stopped where the path read so far ends, so that
// the keys of an object are matched by going on from where their parent's
// path left it, not from the path's first byte: that made an object of
// many keys under a long path quadratic. The loop moves pi by at most one
// byte a step, so it stops at the end of what it was given in the state it
// passes through there when given more: feeding a path in parts ends as
// one run over the whole path does. Backtracking reads the path again from
// mark, which trails pi by at most the pattern's length.
type globRun struct {
	gi, pi     int
	star, mark int
	failed     bool // the path so far cannot start a match
}

// feed goes on with the loop over p, of which it has read p[:r.pi].
func (r *globRun) feed(g string, p []byte) {
	if r.failed {
		return
	}
	gi, pi, star, mark := r.gi, r.pi, r.star, r.mark
	for pi < len(p) {
		switch {
		case gi < len(g) && g[gi] == '*':
			// First: a '*' in the path is not the pattern's literal.
			star, mark = gi, pi
			gi++
		case gi < len(g) && (g[gi] == '?' || g[gi] == p[pi]):
			gi++
			pi++
		case star >= 0:
			gi = star + 1
			mark++
			pi = mark
		default:
			r.failed = true
			return
		}
	}
	r.gi, r.pi, r.star, r.mark = gi, pi, star, mark
}

// matched reports whether g matches the path read so far.
func (r *globRun) matched(g string) bool {
	if r.failed {
		return false
	}
	gi := r.gi
	for gi < len(g) && g[gi] == '*' {
		gi++
	}
	return gi == len(g)
}

// keyCache remembers the class of recently seen raw keys: log lines repeat
// the same few dozen keys, and a hit costs a hash and a compare instead of
// splitting the key into words. Two-way set associative, so two hot keys
// that share a slot do not evict each other on every line. One per scratch,
// so no locking.
type keyCache struct {
	e [512]keyCacheEntry
}

type keyCacheEntry struct {
	x   uint64 // keyBits of the key
	n   uint8  // key length + 1; 0: empty
	cls keyClass
	key [22]byte // the key when longer than 8 bytes
}

// keyBits packs a key into 64 bits: exactly, for keys of up to 8 bytes (the
// first and last four bytes overlap), and as a summary of both ends for
// longer ones. Short keys then compare without touching their bytes again.
func keyBits(raw []byte) uint64 {
	n := len(raw)
	switch {
	case n >= 8:
		return binary.LittleEndian.Uint64(raw) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(raw[n-8:]), 29)
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(raw))<<32 | uint64(binary.LittleEndian.Uint32(raw[n-4:]))
	}
	var x uint64
	for _, c := range raw {
		x = x<<8 | uint64(c)
	}
	return x
}

func keySlot(x uint64, n int) uint32 {
	return uint32(((x^uint64(n)<<59)*0x9e3779b97f4a7c15)>>55) &^ 1 // 512 entries, even
}

func (e *keyCacheEntry) is(raw []byte, x uint64) bool {
	return int(e.n) == len(raw)+1 && e.x == x && (len(raw) <= 8 || string(e.key[:len(raw)]) == string(raw))
}

// lookup returns the cached class of raw and whether it was cached.
func (c *keyCache) lookup(raw []byte) (keyClass, bool) {
	if len(raw) > len(c.e[0].key) {
		return 0, false
	}
	x := keyBits(raw)
	i := keySlot(x, len(raw))
	if e := &c.e[i]; e.is(raw, x) {
		return e.cls, true
	}
	if e := &c.e[i+1]; e.is(raw, x) {
		return e.cls, true
	}
	return 0, false
}

// store caches the class of raw, replacing the older way of its set.
func (c *keyCache) store(raw []byte, cls keyClass) {
	if len(raw) > len(c.e[0].key) {
		return
	}
	x := keyBits(raw)
	i := keySlot(x, len(raw))
	c.e[i+1] = c.e[i]
	c.e[i] = keyCacheEntry{x: x, n: uint8(len(raw) + 1), cls: cls}
	copy(c.e[i].key[:], raw)
}

// trigramFilter is a set of lower-case letter trigrams: a key can only hold
// a sensitive term (or be a trace id key) if it contains one of the terms'
// first trigrams, case folded. Most keys ("level", "msg", "service",
// "caller", "duration_ms") contain none and are settled in one short loop,
// without splitting them into words.
//
// Letters are coded 1..26 (case folded) and anything else 0, and the codes
// of the last three bytes roll through a 15-bit index into a 4 KiB bit set,
// so the loop has no multiplication and a non-letter breaks a trigram by
// itself.
type trigramFilter struct {
	bits [1 << 15 / 64]uint64
	// always is set when a term is too short to have a trigram.
	always bool
}

// letterCode is 1..26 for ASCII letters, 31 for a backslash (an escape
// could hide a letter), 0 for anything else.
var letterCode = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = uint8(c-'a') + 1
		t[c-'a'+'A'] = uint8(c-'a') + 1
	}
	t['\\'] = 31
	return t
}()

func (f *trigramFilter) add(word string) {
	if len(word) < 3 {
		f.always = true
		return
	}
	a, b, c := letterCode[word[0]], letterCode[word[1]], letterCode[word[2]]
	if a == 0 || b == 0 || c == 0 || a == 31 || b == 31 || c == 31 {
		f.always = true
		return
	}
	i := uint32(a)<<10 | uint32(b)<<5 | uint32(c)
	f.bits[i/64] |= 1 << (i % 64)
}

// mayMatch reports whether raw (a raw key) contains one of the trigrams,
// or an escape that could hide one.
func (f *trigramFilter) mayMatch(raw []byte) bool {
	if f.always {
		return true
	}
	var h uint32
	for _, c := range raw {
		x := letterCode[c]
		if x == 31 {
			return true
		}
		h = (h<<5 | uint32(x)) & (1<<15 - 1)
		if f.bits[h/64]&(1<<(h%64)) != 0 {
			return true
		}
	}
	return false
}

// builtinTrigramWords are the words whose first trigram a key must contain
// to be sensitive or a trace id key.
var builtinTrigramWords = []string{
	"password", "passwd", "passphrase", "secret", "token", "authorization",
	"cookie", "setcookie", "cvv", "cvc", "ssn", "pan", "apikey", "cardnumber",
	"creditcard", "privatekey", "jwt", "pwd", "pass", "api", "set",
	"card", "credit", "private", "trace", "span", "parent",
}
