package redact

// Cases a fourth review found in the key=value, flag and count rules (each
// failed before its fix).

import (
	"strings"
	"testing"
)

// A word that is not a known scheme takes no more than itself when the
// next key=value pair follows: that pair's value is judged on its own.
func TestUnknownWordDoesNotSwallowTheNextPair(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`authorization=none password="hunter2"`, "hunter2"},
		{`authorization=None password="hunter2"`, "hunter2"}, // a scheme-like word: the pair is judged inside
		{`auth_token=x password='hunter2'`, "hunter2"},
		{`level=warn authorization=missing password="p w"`, "p w"},
		{`X-Auth-Token=expired api_key="k 1"`, "k 1"},
	})
}

// A value under a key that is not an authorization header is the value,
// not a scheme word, and the pair after it is judged on its own.
func TestValueWithADigitIsNotASchemeWord(t *testing.T) {
	r := newDefault(t)
	in := `token: hunter2 password: "hunter3"`
	if out := string(r.Text(nil, []byte(in))); strings.Contains(out, "hunter3") {
		t.Errorf("leak:\n in: %s\nout: %s", in, out)
	}
}

// Spaces between a quoted flag and the comma of a printed list.
func TestQuotedFlagSpaceBeforeComma(t *testing.T) {
	r := newDefault(t)
	for _, in := range []string{
		`['--password' , 'hunter2']`,
		`["--password" , "hunter2"]`,
		`['--password' ,'hunter2']`,
	} {
		if out := string(r.Text(nil, []byte(in))); strings.Contains(out, "hunter2") {
			t.Errorf("leak:\n in: %s\nout: %s", in, out)
		}
	}
}

// Go's %q escapes a '"' inside the value as \": the value goes on past it.
func TestGoQuotedArgvEscapedQuote(t *testing.T) {
	r := newDefault(t)
	in := `exec: ["mysql" "--password" "pa\"ss-word-tail"]`
	if out := string(r.Text(nil, []byte(in))); strings.Contains(out, "ss-word-tail") {
		t.Errorf("leak:\n in: %s\nout: %s", in, out)
	}
}

// Text after a value, and prose that names a flag, stay as they are.
func TestNothingAfterTheValueIsTaken(t *testing.T) {
	textIs(t, []struct{ in, want string }{
		// authKey after '=': the next word or pair goes too
		{"auth_token=abc user=bob", "auth_token=[REDACTED] user=bob"},
		{"oauth_token=expired retry=3", "oauth_token=[REDACTED] retry=3"},
		{"GET /cb?oauth_token=abc HTTP/1.1", "GET /cb?oauth_token=[REDACTED] HTTP/1.1"},
		// schemeWord with a last digit or '-' after ':'
		{"&{Password:hunter2 User:bob Host:db}", "&{Password:[REDACTED] User:bob Host:db}"}, // Go %+v
		{"password: hunter2 (from env)", "password: [REDACTED] (from env)"},
		{"secret: v2 rotated", "secret: [REDACTED] rotated"},
		// flagGap's unquoted comma form in prose and help text
		{"use --password, or set PGPASSWORD", "use --password, or set PGPASSWORD"},
		{"Usage: pass the key with --api-key, or the API_KEY variable", "Usage: pass the key with --api-key, or the API_KEY variable"},
		{"  --password,\n      the password to use", "  --password,\n      the password to use"},
	})
}

// A grouped card under a plural key or flag in text is the secret, redacted
// whole at once, so that redacting again changes nothing.
func TestGroupedCardUnderAPluralIsAFixedPoint(t *testing.T) {
	idempotentJSON(t, []string{
		`{"msg":"secrets: 4111 1111 1111 1111"}`,
		`{"msg":"passwords:\t4111-1111-1111-1111"}`,
		`{"msg":"--secrets 4111 1111 1111 1111"}`,
	})
}

// In text, a negative or fractional count under a plural key is kept, as in
// JSON ({"secrets":-1}).
func TestTextCountsUnderAPlural(t *testing.T) {
	r := newDefault(t)
	for _, in := range []string{"secrets: -1", "secrets:\t-1", "api_keys: 2.5"} {
		if out := string(r.Text(nil, []byte(in))); out != in {
			t.Errorf("changed:\n in: %q\nout: %q", in, out)
		}
	}
}

// A card under a sensitive key goes whole, whatever its groups, and so do
// the parameters of Digest, OAuth 1.0 and AWS signatures.
func TestCardDigestAndSignatureValuesGo(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		// the key rule takes only the first group, the card rule no longer
		// sees a card: 12 digits of the card leave
		{"password: 4111 1111 1111 1111", "1111 1111 1111"},
		// auth-params after a scheme: the Digest response stays
		{`Authorization: Digest username="bob", response="6629fae49393a05397450978507c4ef1"`, "6629fae49393a05397450978507c4ef1"},
		{`Authorization: OAuth oauth_consumer_key="k", oauth_signature="wOJIO9A2W5mFwDgiDvZbTSMK%2FPY%3D"`, "wOJIO9A2W5mFwDgiDvZbTSMK"},
		{`authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7`, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"},
	})
}
