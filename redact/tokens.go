package redact

import "bytes"

// Provider tokens: secrets that their issuers made easy to recognise, with
// a fixed prefix and a body of known characters and length (GitHub's
// "ghp_…", Slack's "xoxb-…", Stripe's "sk_live_…"). The prefixes exist so
// that scanners find leaked tokens without false positives, and a token in
// a log line is a leaked one. The rule needs no key name around the token,
// so it catches what the key=value and Bearer rules cannot: a token pasted
// into a message or a URL.

// tokenKind is one provider's token format.
type tokenKind struct {
	prefix string
	// anchor is the index in prefix of the byte that triggers the
	// pre-check: its last '_' or '-' (or the 'z' of "AIza").
	anchor int
	body   func(c byte) bool
	min    int // shortest body
	max    int // longest body, where providers fix it (0: not fixed)
	// digitFirst: the body starts with a digit (Slack's team or app id).
	digitFirst bool
}

func isAlnum(c byte) bool   { return isLower(c) || isUpper(c) || isDigit(c) }
func isURLSafe(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }
func isHexByte(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' }
func isSlack(c byte) bool   { return isAlnum(c) || c == '-' }
func isBase64(c byte) bool  { return isAlnum(c) || c == '+' || c == '/' || c == '=' }

// tokenKinds are the formats the rule knows, from the providers'
// documentation. The shortest body keeps names like "sk_live_mode" out,
// and randomBody names like "glpat-renewal-job"; a longer run of body
// characters is taken whole (a token glued to more text is still a token).
var tokenKinds = func() []tokenKind {
	k := []tokenKind{
		// GitHub: personal, OAuth, user-to-server, server-to-server and
		// refresh tokens (36 base62 characters), fine-grained PATs.
		{prefix: "ghp_", body: isAlnum, min: 36, max: 36},
		{prefix: "gho_", body: isAlnum, min: 36, max: 36},
		{prefix: "ghu_", body: isAlnum, min: 36, max: 36},
		{prefix: "ghs_", body: isAlnum, min: 36, max: 36},
		{prefix: "ghr_", body: isAlnum, min: 36, max: 36},
		{prefix: "github_pat_", body: isWordByte, min: 40},
		// GitLab personal, deploy and runner tokens.
		{prefix: "glpat-", body: isURLSafe, min: 20},
		{prefix: "gldt-", body: isURLSafe, min: 20},
		{prefix: "glrt-", body: isURLSafe, min: 20},
		// Slack bot, user, app-level, workspace and refresh tokens.
		{prefix: "xoxb-", body: isSlack, min: 20, digitFirst: true},
		{prefix: "xoxp-", body: isSlack, min: 20, digitFirst: true},
		{prefix: "xoxa-", body: isSlack, min: 20, digitFirst: true},
		{prefix: "xoxr-", body: isSlack, min: 20, digitFirst: true},
		{prefix: "xoxe-", body: isSlack, min: 20, digitFirst: true},
		{prefix: "xapp-", body: isSlack, min: 20, digitFirst: true},
		// Stripe secret and restricted keys, and webhook signing secrets.
		{prefix: "sk_live_", body: isAlnum, min: 20},
		{prefix: "rk_live_", body: isAlnum, min: 20},
		{prefix: "sk_test_", body: isAlnum, min: 20},
		{prefix: "rk_test_", body: isAlnum, min: 20},
		{prefix: "whsec_", body: isAlnum, min: 32},
		// npm access tokens.
		{prefix: "npm_", body: isAlnum, min: 36, max: 36},
		// PyPI API tokens (pypi.org and test.pypi.org): a macaroon, whose
		// base64 starts with its version bytes.
		{prefix: "pypi-AgE", body: isURLSafe, min: 50},
		// Shopify access tokens and shared secrets (32 hex).
		{prefix: "shpat_", body: isHexByte, min: 32, max: 32},
		{prefix: "shpca_", body: isHexByte, min: 32, max: 32},
		{prefix: "shppa_", body: isHexByte, min: 32, max: 32},
		{prefix: "shpss_", body: isHexByte, min: 32, max: 32},
		// DigitalOcean personal, OAuth and refresh tokens (64 hex).
		{prefix: "dop_v1_", body: isHexByte, min: 64, max: 64},
		{prefix: "doo_v1_", body: isHexByte, min: 64, max: 64},
		{prefix: "dor_v1_", body: isHexByte, min: 64, max: 64},
		// Hugging Face access tokens.
		{prefix: "hf_", body: isAlnum, min: 30},
		// OpenAI and Anthropic API keys.
		{prefix: "sk-proj-", body: isURLSafe, min: 32},
		{prefix: "sk-svcacct-", body: isURLSafe, min: 32},
		{prefix: "sk-admin-", body: isURLSafe, min: 32},
		{prefix: "sk-ant-", body: isURLSafe, min: 32},
		// Grafana service account and Cloud tokens.
		{prefix: "glsa_", body: isWordByte, min: 32},
		{prefix: "glc_", body: isBase64, min: 32},
		// Google API keys.
		{prefix: "AIza", body: isURLSafe, min: 35, max: 35},
	}
	for i := range k {
		k[i].anchor = max(bytes.LastIndexAny([]byte(k[i].prefix), "_-"), bytes.IndexByte([]byte(k[i].prefix), 'z'))
	}
	if len(k) > maxTokenKinds {
		panic("redact: more token kinds than maxTokenKinds")
	}
	return k
}()

// maxTokenKinds bounds len(tokenKinds), for findTokens' array on the stack.
const maxTokenKinds = 48

// tokenTails is the set of the three bytes that end each kind's prefix at
// its anchor ("hp_", "xb-", "AIz"), as a hashed bitset: most '_' and '-'
// in text ("2024-11-22", "user_id") are ruled out by one lookup.
var tokenTails = func() (t [64]uint64) {
	for _, k := range tokenKinds {
		h := tailHash(k.prefix[k.anchor-2], k.prefix[k.anchor-1], k.prefix[k.anchor])
		t[h>>6] |= 1 << (h & 63)
	}
	return t
}()

func tailHash(a, b, c byte) uint32 {
	return (uint32(a)<<16 | uint32(b)<<8 | uint32(c)) * 0x9E3779B1 >> 20
}

// tokenTail is the pre-check's cheap part of tokenAt (inlined): whether
// s[i-2:i+1], i >= 2, may end some kind's prefix.
func tokenTail(s []byte, i int) bool {
	h := tailHash(s[i-2], s[i-1], s[i])
	return tokenTails[h>>6]&(1<<(h&63)) != 0
}

// tokenAt returns the kind of the token prefix whose anchor is s[i] and
// that may start there (tokenStart, or at glue, where a token found before
// ends), or -1. It does not look at the body.
func tokenAt(s []byte, i, glue int) int {
	if i < 2 || !tokenTail(s, i) {
		return -1
	}
	for k, tk := range tokenKinds {
		a := i - tk.anchor
		if a >= 0 && a+len(tk.prefix) <= len(s) && string(s[a:a+len(tk.prefix)]) == tk.prefix && (a == glue || tokenStart(s, a)) {
			return k
		}
	}
	return -1
}

// tokenStart reports whether a token may start at s[a]: not glued to a
// letter ("myghp_…"), where a digit or '_' before it (GH_TOKEN_ghp_…,
// run_ghp_….log) or a URL escape (%20ghp_…, %3Dghp_…) does not hide it.
func tokenStart(s []byte, a int) bool {
	return a == 0 || !isLower(s[a-1]) && !isUpper(s[a-1]) ||
		a >= 3 && s[a-3] == '%' && isHexDigit(s[a-2]) && isHexDigit(s[a-1])
}

func isHexDigit(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

// randomBody reports whether a token body can be generated rather than
// written: it holds a capital or a digit, as a random base62, base64 or hex
// body of 20 or more characters does but for odds below one in a hundred
// thousand. Lower-case names that start like a token (glpat-renewal-job,
// github_pat_expiration_settings, as Kubernetes names must be) are kept.
// Names with capitals or digits after a token prefix are taken for tokens:
// a name redacted costs less than a token shipped.
// bodyRun is a run of a kind's body characters, s[start:end], and the
// last capital or digit in it (lastMark, or -1): any suffix of the run that
// starts at or before lastMark passes randomBody.
type bodyRun struct{ start, end, lastMark int }

func (r *bodyRun) walk(s []byte, b int, body func(byte) bool) {
	r.start, r.end, r.lastMark = b, b, -1
	for r.end < len(s) && body(s[r.end]) {
		if isUpper(s[r.end]) || isDigit(s[r.end]) {
			r.lastMark = r.end
		}
		r.end++
	}
}

func randomBody(b []byte) bool {
	for _, c := range b {
		if isUpper(c) || isDigit(c) {
			return true
		}
	}
	return false
}

// findTokens finds provider tokens: a known prefix at the start of a word
// and a run of at least the kind's shortest body of its characters. The
// prefix is kept ("ghp_[REDACTED]"): it says which secret leaked and needs
// rotating, and is not itself secret.
func findTokens(_ *Redactor, _ *scratch, dst []span, s []byte) []span {
	end := -1 // where the last token found ends: the next may start there
	// runs remembers, for each kind without a fixed length, the last run
	// of body characters walked: a prefix that starts inside it (text
	// such as "xoxb-xoxb-xoxb-…", whose bodies may hold the prefix) has a
	// body that ends where the run does, so the run is walked once.
	var runs [maxTokenKinds]bodyRun
	for i := 2; i < len(s); i++ {
		c := s[i]
		if c != '_' && c != '-' && c != 'z' {
			continue
		}
		k := tokenAt(s, i, end)
		if k < 0 {
			continue
		}
		tk := &tokenKinds[k]
		b := i - tk.anchor + len(tk.prefix)
		var e int
		var random bool
		if tk.max > 0 {
			e = b
			for e < len(s) && tk.body(s[e]) && e-b < tk.max {
				e++
			}
			random = randomBody(s[b:e])
		} else {
			run := &runs[k]
			if b < run.start || b > run.end {
				run.walk(s, b, tk.body)
			}
			e, random = run.end, run.lastMark >= b
		}
		if e-b >= tk.min && (!tk.digitFirst || isDigit(s[b])) && random {
			dst = append(dst, span{b, e})
			i, end = e-1, e
		}
	}
	return dst
}
