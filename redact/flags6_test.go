package redact

// Cases a sixth review found in the value rule (each failed before its
// fix).

import (
	"testing"
)

// A credential that starts with '-' after a scheme word goes: base64url
// credentials (secrets.token_urlsafe, many opaque tokens) start with '-'
// one time in 64. Only "--" is the next flag.
func TestSchemeCredentialStartingWithDash(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`Authorization: Bearer -xY9abcDEF123`, "xY9abcDEF123"},
		{`Authorization: Token -xY9abcDEF123`, "xY9abcDEF123"},
		{`token=Bearer -xY9abcDEF123`, "xY9abcDEF123"},
		{`{Authorization:Token -xY9abcDEF123 Level:200}`, "xY9abcDEF123"},
		{`X-Auth-Token: Custom -xY9abcDEF123`, "xY9abcDEF123"},
	})
}

// Under an Authorization header, a lower-case scheme the rule does not know
// takes its credential with it (GoDaddy's "sso-key KEY:SECRET").
func TestLowercaseUnknownSchemeUnderAuthorization(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`authorization=custom abc123secret`, "abc123secret"},
		{`Authorization: custom abc123secret`, "abc123secret"},
		{`Authorization: pat abc123secret`, "abc123secret"},
		{`Authorization: sso-key AbCd1234:s3cr3tXYZ`, "s3cr3tXYZ"},
	})
}

// Under any sensitive key, a parameter scheme followed by parameters goes
// to the end of the line (the Digest response, the OAuth signature).
func TestParamSchemeUnderOtherSensitiveKeys(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`authorization_header: OAuth oauth_consumer_key="k", oauth_signature="s1gXYZsig"`, "s1gXYZsig"},
		{`authorization_header=Digest username="bob", realm="x", response="6629fae4939"`, "6629fae4939"},
		{`X-Auth-Token: Digest username="bob", response="6629fae4939"`, "6629fae4939"},
	})
}

// A capitalised literal (Python's None, True, False) or prose word under a
// sensitive key does not take the next key=value field with it.
func TestCapitalisedWordKeepsTheNextField(t *testing.T) {
	keepInText(t, []struct{ in, keep string }{
		{`password=None host=db-1`, "host=db-1"},
		{`api_key=None region=us-east-1 user=bob`, "region=us-east-1"},
		{`Pwd=True duration=3ms`, "duration=3ms"},
		{`{Token:None Name:bob Port:5432}`, "Name:bob"},
		{`token: None port: 8080`, "port: 8080"},
		{`Password: Reset user=alice host=db-1`, "user=alice"},
	})
}

// In --help output, a metavar after '=' is followed by a column gap, not by
// a credential: the description stays.
func TestHelpDescriptionAfterMetavar(t *testing.T) {
	keepInText(t, []struct{ in, keep string }{
		{`  --password=PASSWORD   The password to use`, "   The password to use"},
		{`  --password=PASS   database password`, "   database password"},
	})
}

// A quoted credential after a scheme word, and Kong's lower-case hmac
// scheme with its parameters.
func TestQuotedAndHMACCredentials(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`Authorization: Custom "abc123secret"`, "abc123secret"},
		{`Authorization: hmac username="alice", algorithm="hmac-sha256", headers="date", signature="ujWCGHeec9Xd6UQ2"`, "ujWCGHeec9Xd6UQ2"},
	})
}
