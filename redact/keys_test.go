package redact

import (
	"strings"
	"testing"
)

func TestKeyClassification(t *testing.T) {
	m := newKeyMatcher([]string{"pin", "session_id"})
	var kw keyWords
	for _, c := range []struct {
		key  string
		want keyClass
	}{
		// The list, with case and separator variations.
		{"password", keySensitive}, {"Password", keySensitive}, {"PASSWORD", keySensitive},
		{"passwd", keySensitive}, {"secret", keySensitive}, {"token", keySensitive},
		{"api_key", keySensitive}, {"api-key", keySensitive}, {"apiKey", keySensitive},
		{"APIKey", keySensitive}, {"apikey", keySensitive}, {"x-api-key", keySensitive},
		{"authorization", keySensitive}, {"Authorization", keySensitive}, {"Proxy-Authorization", keySensitive},
		{"cookie", keySensitive}, {"Cookie", keySensitive}, {"set-cookie", keySensitive}, {"Set-Cookie", keySensitive},
		{"cvv", keySensitive}, {"cvv2", keySensitive}, {"cvc", keySensitive}, {"ssn", keySensitive}, {"userSSN", keySensitive},
		{"card_number", keySensitive}, {"cardNumber", keySensitive}, {"credit_card", keySensitive},
		{"creditCardNumber", keySensitive}, {"pan", keySensitive}, {"PAN", keySensitive},
		// Word parts anywhere in the key.
		{"db_password", keySensitive}, {"password_hash", keySensitive}, {"access_token", keySensitive},
		{"X-Auth-Token", keySensitive}, {"client_secret", keySensitive}, {"aws_secret_access_key", keySensitive},
		{"request.headers.authorization", keySensitive}, {"private_key", keySensitive},
		// Short spellings, as the last word: connection strings and
		// environment variables.
		{"Pwd", keyShort}, {"PWD", keyShort}, {"db_pass", keyShort}, {"SMTP_PASS", keyShort}, {"db_pwd", keyShort},
		{"secret_pass", keySensitive}, {"pass_rate", keyPlain}, {"pass_through", keyPlain}, {"pass_count", keyPlain},
		{"passthrough", keyPlain}, {"passed", keyPlain}, {"compass", keyPlain}, {"bypass", keyPlain},
		// Not secrets: other words, and descriptors of a secret.
		{"span_id", keyTraceID}, {"trace_id", keyTraceID}, {"dd.trace_id", keyTraceID}, {"traceId", keyTraceID},
		{"parent_id", keyTraceID}, {"x-datadog-parent-id", keyTraceID}, {"spanid", keyTraceID},
		{"tokens_used", keyPlain}, {"prompt_tokens", keyPlain}, {"secretary", keyPlain}, {"panel", keyPlain},
		{"span", keyPlain}, {"japan", keyPlain}, {"company", keyPlain}, {"token_type", keyPlain},
		{"token_count", keyPlain}, {"password_length", keyPlain}, {"secret_name", keyPlain},
		{"token_expires_in", keyPlain}, {"message", keyPlain}, {"level", keyPlain}, {"ts", keyPlain},
		{"", keyPlain}, {"___", keyPlain},
		// Plurals: their values are secrets too, except numbers (counts).
		{"passwords", keySecrets}, {"db_passwords", keySecrets}, {"api_keys", keySecrets},
		{"secrets", keySecrets}, {"cookies", keySecrets}, {"private_keys", keySecrets},
		{"secrets_count", keyPlain}, {"tokens", keyPlain},
		// Extra terms match like the built-in ones.
		{"pin", keySensitive}, {"user_pin", keySensitive}, {"sessionId", keySensitive}, {"pinned", keyPlain},
	} {
		if got := m.matchKey(&kw, []byte(c.key)); got != c.want {
			t.Errorf("%q: class %d, want %d", c.key, got, c.want)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		g, p string
		want bool
	}{
		{"*.password", "a.password", true},
		{"*.password", "a.b.password", true},
		{"*.password", "password", false},
		{"user.email", "user.email", true},
		{"user.email", "user.emails", false},
		{"user.?mail", "user.email", true},
		{"*", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		// A '*' in a key is text like any other: the glob's '*' still
		// matches any run there ({"*x":{"pin":…}} under "*.pin").
		{"*.pin", "*x.pin", true},
		{"a*c", "a*xc", true},
		{"a?c", "a*c", true},
		{"a*", "a*", true},
	} {
		if got := glob(c.g, []byte(c.p)); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.g, c.p, got)
		}
	}
}

// A path glob's '*' matches a parent key that holds a '*' itself: the
// glob "*.pin" once missed {"*x":{"pin":…}}, and the pin was shipped.
func TestGlobUnderAKeyWithAStar(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Keys.Extra = []string{"*.pin"}
	r, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`{"*x":{"pin":"8472"}}`, `{"a*":{"pin":"8472"}}`, `{"card":{"pin":"8472"}}`} {
		if out, _ := processLine(t, r, line); strings.Contains(out, "8472") {
			t.Errorf("the pin under %s was shipped: %s", line, out)
		}
	}
}
