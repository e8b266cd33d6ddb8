package redact

// Cases an eighth review found in the value and Bearer rules (each failed
// before its fix).

import "testing"

// A padded Bearer or Basic credential followed by a quote (Go %q, a JSON
// string echoed in text, a curl -H argument) is a credential.
func TestBearerPaddingBeforeQuote(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`header "Basic dXNlcjpwYXNzd29yZA=="`, "dXNlcjpwYXNzd29yZA"},
		{`req.Header.Set("X-Upstream", "Bearer c2VjcmV0MTIzNDU2Nzg5MA==")`, "c2VjcmV0MTIzNDU2Nzg5MA"},
		{`upstream auth="Bearer c2VjcmV0MTIzNDU2Nzg5MA=="`, "c2VjcmV0MTIzNDU2Nzg5MA"},
		{`Bearer c2VjcmV0MTIzNDU2Nzg5MA==x`, "c2VjcmV0MTIzNDU2Nzg5MA"},
	})
}

// A parameter scheme of any case followed by its parameter list takes the
// list, signature and all.
func TestLowerCaseParamSchemeList(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`X-Auth-Token: hmac id="k1", ts="1700000000", mac="c2VjcmV0MTIzNDU2Nzg5"`, "c2VjcmV0MTIzNDU2Nzg5"},
		{`token: digest username="bob", nonce="dcd98b", response="6629fae49393a05397450978507c4ef1"`, "6629fae49393a05397450978507c4ef1"},
		{`secret: hmac Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request, Signature=fe5f80f77d5fa3beca038a248ff027d0`, "fe5f80f77d5fa3beca038a248ff027d0"},
	})
}

// AWS4-HMAC-SHA256 followed by a bare credential: the scheme stays, the
// credential goes.
func TestAWS4WordThenPaddedCredential(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`X-Auth-Token: AWS4-HMAC-SHA256 c2VjcmV0MTIzNDU2Nzg5MA==`, "c2VjcmV0MTIzNDU2Nzg5MA"},
	})
}

// Punctuation after an earlier rule's marker is not more of the value.
func TestColonAfterMarkerKept(t *testing.T) {
	keepInText(t, []struct{ in, keep string }{
		{`token=[REDACTED]: retrying`, "[REDACTED]: retrying"},
	})
}
