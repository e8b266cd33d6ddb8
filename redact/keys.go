package redact

import "strings"

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
	// keyTraceID: the value is a trace, span or parent id; a value that is
	// nothing but digits (Datadog's 64-bit decimal ids) is not a card.
	keyTraceID
)

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
		_ = out
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
	matchEnd := -1 // index of the last word of the latest match
	for i := 0; i < n; i++ {
		w := kw.word(i)
		if sensitiveWord(w) {
			matchEnd = i
		}
		if i+1 < n && sensitivePair(w, kw.word(i+1)) {
			matchEnd = i + 1
		}
		if m != nil {
			if e := m.extraAt(kw, i); e > matchEnd {
				matchEnd = e
			}
		}
	}
	if matchEnd >= 0 && (matchEnd == n-1 || !descriptor(last)) {
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
	// terms are extra names as word sequences, by their first word.
	terms map[string][][]string
	// globs are dotted-path patterns, normalised (see normPath).
	globs []string
}

func newKeyMatcher(extra []string) *keyMatcher {
	m := &keyMatcher{terms: map[string][][]string{}}
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

// matchPath reports whether the normalised dotted path matches a glob.
func (m *keyMatcher) matchPath(path []byte) bool {
	for _, g := range m.globs {
		if glob(g, path) {
			return true
		}
	}
	return false
}

// glob matches p against pattern g: '*' matches any run of bytes, dots
// included ("*.password" matches "a.password" and "a.b.password"), '?' one
// byte. Iterative, with one backtracking point, so it is linear in practice.
func glob(g string, p []byte) bool {
	gi, pi := 0, 0
	star, mark := -1, 0
	for pi < len(p) {
		switch {
		case gi < len(g) && (g[gi] == '?' || g[gi] == p[pi]):
			gi++
			pi++
		case gi < len(g) && g[gi] == '*':
			star, mark = gi, pi
			gi++
		case star >= 0:
			gi = star + 1
			mark++
			pi = mark
		default:
			return false
		}
	}
	for gi < len(g) && g[gi] == '*' {
		gi++
	}
	return gi == len(g)
}
