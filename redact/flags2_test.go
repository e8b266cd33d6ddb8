package redact

// Leaks and over-reach a second review found in the flag, token and float
// rules (each case failed before its fix).

import (
	"strings"
	"testing"
)

// Leaks: the secret must not be in the output.
func TestFlagsTokensAndFloatsLeakNothing(t *testing.T) {
	r := newDefault(t)
	for _, c := range []struct{ in, secret string }{
		// A number after a flag in an argv (the keys rule hides
		// {"password":987654}; 0370a14 redacts it in text).
		{`{"args":["mysql","--password",987654]}`, `987654`},
		// A tab between flag and value.
		{`{"msg":"mysql --password\thunter2"}`, `hunter2`},
		// An argument vector printed in a message (Python's
		// CalledProcessError, a JSON argv echoed).
		{`{"msg":"Command '['mysql', '--password', 'hunter2']' returned non-zero exit status 1."}`, `hunter2`},
		{`{"msg":"exec: [\"mysql\",\"--password\",\"hunter2\"]"}`, `hunter2`},
		// --flag=value: an alphabetic value followed by the next flag is
		// the value, not an auth scheme word before it.
		{`{"msg":"mysql --password=secretalpha --verbose"}`, `secretalpha`},
		// Token bodies without a digit (Hugging Face tokens are hf_ and
		// 34 letters; a GitLab PAT may have none), and a test.pypi.org
		// token.
		{`{"msg":"hf token 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"}`, `fsfynedyesgZixaLjlnhZuGltjNmUakApY`},
		{`{"msg":"glpat-alqpfIKjbSsaumlKvjdY pushed"}`, `alqpfIKjbSsaumlKvjdY`},
		// A test.pypi.org token (macaroon location test.pypi.org).
		{`{"msg":"pypi-AgENdGVzdC5weXBpLm9yZwIkZDA4YWM1YzEtYjU0Yy00ZmE5LTk3MjctNjhmNzRkMDBiYjcxAAIqWzMsIjU4N2UyNzA3LWFjYjAtNGQ0YS1hNzdhLTE2ZWQ4NTVmNTdkNiJdAAAGIB"}`, `ZDA4YWM1YzEtYjU0Yy00ZmE5`},
	} {
		if out, _ := processLine(t, r, c.in); strings.Contains(out, c.secret) {
			t.Errorf("leak of %q:\n in: %s\nout: %s", c.secret, c.in, out)
		}
	}
}

// In text, a float is a card only when the card's digits are written out,
// whatever else the text holds (a 13-digit timestamp that wakes the card
// rule must not make 4.2e+15 one).
func TestFloatInTextNeedsItsDigitsWritten(t *testing.T) {
	unchangedInProcess(t, []string{
		// A Prometheus sample: value then a millisecond timestamp. The
		// 13-digit timestamp sets fCard, and then findFloatCards masks
		// 4.2e+15, which it leaves alone without the timestamp.
		`{"msg":"node_bytes 4.2e+15 1732000000123"}`,
	})
}

// The output of JSON is a fixed point: running it again changes nothing.
func TestRedactingTwiceChangesNothing(t *testing.T) {
	idempotentJSON(t, []string{
		`["--password",4111111111111111]`,
		`["--api-key",-4.111111111111111E+15]`,
	})
}

// A known scheme word stays and its credential goes; under an
// authorization key an unknown word goes with what follows it; under any
// other key the word is the value.
func TestSchemeWordsAfterASensitiveKey(t *testing.T) {
	r := newDefault(t)
	for in, want := range map[string]string{
		"Authorization: Bearer xyz123abc":  "Authorization: Bearer [REDACTED]",
		"Authorization: token ghp_abc":     "Authorization: token [REDACTED]",
		"Authorization: Custom xyz123":     "Authorization: [REDACTED]",
		"password: hunter next":            "password: [REDACTED] next",
		"token: expired for user":          "token: [REDACTED] for user",
		"password=hunter next":             "password=[REDACTED] next",
		"mysql --password=alpha --verbose": "mysql --password=[REDACTED] --verbose",
	} {
		if got := string(r.Text(nil, []byte(in))); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}
