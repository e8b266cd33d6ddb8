package redact

// Cases a seventh review found in the value and Bearer rules (each failed
// before its fix).

import (
	"testing"
)

// AWS Signature V2: the key id goes by the AWS rule first, and the
// signature after its ':' goes too.
func TestAWSv2SignatureAfterKeyID(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`Authorization: AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=`, "frJIUN8DYpKDtOLCwo"},
		{`authorization=AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=`, "frJIUN8DYpKDtOLCwo"},
		{`map[Authorization:[AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=]]`, "frJIUN8DYpKDtOLCwo"},
		{`X-Auth-Token: AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=`, "frJIUN8DYpKDtOLCwo"},
	})
}

// A quoted credential after a scheme word goes whole, escaped quotes and
// all.
func TestQuotedCredentialWithEscapedQuote(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`Authorization: Custom "abc\"123secret" user=bob`, "123secret"},
		{`X-Auth-Token: Custom "abc\"def123secret"`, "def123secret"},
	})
}

// Under an Authorization header, a credential that starts with "--" is a
// credential, not the next flag.
func TestAuthCredentialStartingWithDoubleDash(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`Authorization: Bearer --xY9abcDEF123`, "xY9abcDEF123"},
		{`token=Bearer --xY9abcDEF123 user=bob`, "xY9abcDEF123"},
		{`Authorization: Custom --xY9abcDEF123`, "xY9abcDEF123"},
	})
}

// Under an Authorization header, a literal-looking word (None, True) takes
// the credential after it, like any scheme word.
func TestLiteralWordUnderAuthorization(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`Authorization: None abc123secret`, "abc123secret"},
		{`Authorization: True abc123secret`, "abc123secret"},
		{`Authorization: Nil abc123secret`, "abc123secret"},
	})
}

// A quote that is not closed on its line is prose: the value does not run
// on across lines.
func TestUnterminatedQuoteStaysOnItsLine(t *testing.T) {
	keepInText(t, []struct{ in, keep string }{
		{"X-Auth-Token: Custom \"abc123\nHost: example.com\nUser-Agent: curl/8.4.0", "Host: example.com"},
		{"password: Reset \"alice\nhost: db-1\nport: 5432", "port: 5432"},
		{"password: Changed 'cause expired\nuser=bob\nstatus=200", "status=200"},
	})
}

// A parameter-scheme word as a plain logfmt value (token=oauth) does not
// take the fields after it.
func TestParamSchemeWordInLogfmt(t *testing.T) {
	keepInText(t, []struct{ in, keep string }{
		{`level=info token=oauth provider=github user=alice status=200`, "user=alice status=200"},
		{`level=info secret=digest algo=sha256 user=alice status=200`, "user=alice status=200"},
		{`level=info webhook_secret=hmac algo=sha256 verified=true status=200`, "verified=true status=200"},
		{`password: oauth user=bob (attempt 3 of 5)`, "(attempt 3 of 5)"},
	})
}

// In an OAuth token response logged as logfmt, "token_type=Bearer" is
// followed by the next field, not a credential.
func TestBearerFollowedByTheNextField(t *testing.T) {
	keepInText(t, []struct{ in, keep string }{
		{`token_type=Bearer expires_in=3600 scope=read`, "expires_in=3600"},
		{`access_token=abc123 token_type=bearer expires_in=3600`, "expires_in=3600"},
	})
}
