package redact

// Cases a tenth review found in the Bearer and value rules (each failed
// before its fix).

import "testing"

// A capitalised parameter scheme under a sensitive key takes its single
// unquoted parameter (Hmac sig=…).
func TestParamSchemeSingleParam(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`X-Auth-Token: Hmac sig=9f86d081884c7d659a2feaa0c55ad015`, "9f86d081884c7d659a2feaa0c55ad015"},
		{`secret: HMAC signature=9f86d081884c7d659a2feaa0c55ad015`, "9f86d081884c7d659a2feaa0c55ad015"},
		{`secret=Hmac k3y=9f86d081884c7d65`, "9f86d081884c7d65"},
	})
}

// A lower-case parameter scheme under any sensitive key keeps its word and
// takes the plain credential after it.
func TestLowerParamSchemeCredential(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`X-Auth-Token: hmac 8a39795ac69671cf9f86d081884c7d65`, "8a39795ac69671cf9f86d081884c7d65"},
		{`token=hawk 8a39795ac69671cf`, "8a39795ac69671cf"},
		{`api_key: digest 8a39795ac69671cf9f86d081884c7d65`, "8a39795ac69671cf9f86d081884c7d65"},
	})
}

// After token_type=Bearer, the next logfmt or "key: value" field is a field,
// whatever its value starts with.
func TestFieldAfterTokenTypeBearerKept(t *testing.T) {
	unchangedInText(t, []string{
		`token_type=Bearer error_description="The access token expired"`,
		`token_type=bearer message="token issued"`,
		`token_type=Bearer expires_in=-1`,
		`token_type=Bearer redirect_uri=/callback`,
		`token_type: Bearer expires_in: 3600`,
	})
}
