package redact

// Leaks and false positives a review of the float-card and provider-token
// rules found (each test failed on the rules as first written).

import (
	"strings"
	"testing"
)

// A JSON number whose value is a card, which number()/integerDigits masks
// when it gets there, is let through by the pre-checks: shortCardFloat only
// looks at a two-digit exponent at the very end, and scan's cardExponent
// only takes 12-18 without leading zeros and ignores what the mantissa
// length adds. 4200000000000000 is a valid Visa number (Luhn ok).
func TestFloatCardsOfEveryShape(t *testing.T) {
	r := newDefault(t)
	for _, line := range []string{
		`{"n":4.2e015}`,        // three-digit exponent (legacy MSVC printf)
		`{"n":4.2E+015}`,       //
		`{"n":4200000e9}`,      // exponent < 12, short mantissa
		`{"a":{"n":42000e11}}`, // masked at the top level, not nested
		`{"a":[0.0000042e21]}`, // exponent > 18
		`{"a":{"n":420000000000e4}}`,
		`{"a":{"b":6.2e012}}`, // 6200000000000, a 13-digit Discover/UnionPay
	} {
		out, _ := processLine(t, r, line)
		jout, _ := r.JSON(nil, []byte(line))
		if out == line || string(jout) == line {
			t.Errorf("card value left as a number:\n in: %s\nProcess: %s\nJSON:    %s", line, out, jout)
		}
	}
}

// A provider token after a URL-encoded separator (%20, %2F, %3D) is not at
// a "word start" (the byte before is a hex digit of the escape), so the
// rule skips it, in values and in Text. The card rule handles "%20".
func TestTokenAfterURLEscape(t *testing.T) {
	r := newDefault(t)
	tok := "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
	for _, s := range []string{
		"https://api.example/v1?q=push%20failed%20" + tok + "&x=1",
		"https://app.example/cb?next=%2Fsettings%3Fkey%3D" + tok,
		"https://app.example/cb?next=%2F" + tok,
	} {
		line := `{"url":"` + s + `"}`
		if out, _ := processLine(t, r, line); strings.Contains(out, tok[4:]) {
			t.Errorf("token left in a URL:\n in: %s\nout: %s", line, out)
		}
		if out := string(r.Text(nil, []byte(s))); strings.Contains(out, tok[4:]) {
			t.Errorf("Text left the token: %s", out)
		}
	}
}

// Tokens in object keys are not redacted (cards in keys are: keyCards runs
// only the card rule).
func TestTokenInKey(t *testing.T) {
	r := newDefault(t)
	tok := "sk_live_" + strings.Repeat("a1B2", 6)
	for _, line := range []string{
		`{"` + tok + `":1}`,
		`{"rate_limits":{"` + tok + `":{"remaining":10}}}`,
	} {
		if out, _ := processLine(t, r, line); strings.Contains(out, tok[8:]) {
			t.Errorf("token left in a key:\n in: %s\nout: %s", line, out)
		}
	}
}

// A token glued to '_' ("GH_TOKEN_ghp_…", "run_ghp_….log") is not at a word
// start (isWordByte counts '_'), so it leaks.
func TestTokenAfterUnderscoreOrDigit(t *testing.T) {
	r := newDefault(t)
	tok := "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
	for _, s := range []string{"env GH_TOKEN_" + tok, "/var/log/app/run_" + tok + ".log", "x=1" + tok} {
		if out := string(r.Text(nil, []byte(s))); strings.Contains(out, tok[4:]) {
			t.Errorf("Text left the token: %s", out)
		}
	}
}

// The exponent form of a whole-card float is only caught as a JSON number:
// in text (a JSON document echoed in a message, an Elasticsearch error in a
// dead-letter reason or the agent's own log, all through Text) it is glued
// by '.' and 'e'. README/design.md say a float whose value is a card is one
// "in a JSON number or in text (…, 4.111111111111111e+15)".
func TestFloatCardExponentInText(t *testing.T) {
	r := newDefault(t)
	for _, s := range []string{
		`failed to index {"card":4.111111111111111e+15}`,
		`mapper_parsing_exception: failed to parse field [card] of type [keyword] value [4.111111111111111E15]`,
	} {
		if out := string(r.Text(nil, []byte(s))); strings.Contains(out, "111111111111111") {
			t.Errorf("Text left the card: %s", out)
		}
	}
	line := `{"msg":"bad line {\"card\":4.111111111111111e+15}"}`
	if out, _ := processLine(t, r, line); out == line {
		t.Errorf("card left in an escaped JSON string: %s", out)
	}
}

// Kebab/snake-case names that start with a token prefix and are long enough
// are redacted: the body alphabets accept any word of letters and '-'/'_'.
func TestTokenLikeNamesKept(t *testing.T) {
	unchangedInProcess(t, []string{
		`{"msg":"pod xapp-frontend-deployment-7d9f8b6c5d-x2x4z started"}`,
		`{"svc":"xoxe-notification-forwarder-service"}`,
		`{"msg":"glpat-renewal-job-scheduler-cron ran"}`,
		`{"job":"pypi-mirror-sync-job-for-internal-packages-nightly-run-2024"}`,
		`{"flag":"github_pat_expiration_notification_settings_enabled"}`,
	})
}

// Two tokens glued together are both redacted in one pass: the second
// starts where the first ends, whatever byte the first ends with.
func TestGluedTokensInOnePass(t *testing.T) {
	r := newDefault(t)
	hex := strings.Repeat("a1b2c3df", 4) // ends with a letter
	stripe := "sk_live_" + strings.Repeat("a1B2", 6)
	line := `{"m":"shpat_` + hex + stripe + `"}`
	out, _ := processLine(t, r, line)
	if want := `{"m":"shpat_[REDACTED]sk_live_[REDACTED]"}`; out != want {
		t.Errorf("got %s, want %s", out, want)
	}
}
