package redact

// Cases a ninth review found in the Bearer and value rules (each failed
// before its fix).

import "testing"

// A lower-case Bearer token followed by ':' in prose, or ending in one '='
// of padding, is a token, not the next logfmt field; also under a
// sensitive key.
func TestBearerLowerCaseToken(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`Bearer 0123456789abcdef0123456789abcdef: expired`, "0123456789abcdef0123456789abcdef"},
		{`upstream rejected Bearer sk-live-4f9a2c7e1b3d5a6c: 401`, "4f9a2c7e1b3d5a6c"},
		{`secret: Bearer 0123456789abcdef0123456789abcdef: expired`, "0123456789abcdef0123456789abcdef"},
		{`Bearer abcdefgh12345678=`, "abcdefgh12345678"},
		{`curl -H 'X-Custom: Bearer vf4fw5tubyj9o24=' https://api.example.com/v1`, "vf4fw5tubyj9o24"},
		{`auth bearer fj6jjuu8dbobixigpraavh3o340= user=alice`, "fj6jjuu8dbobixigpraavh3o340"},
	})
}

// A lower-case parameter-scheme word as a logfmt value with no parameter
// list is the value, and the fields after it stay.
func TestParamSchemeWordAsLogfmtValue(t *testing.T) {
	keepInText(t, []struct{ in, keep string }{
		{`token=oauth provider=github user=alice`, "provider=github user=alice"},
		{`level=info token=digest status=401 path=/x`, "status=401 path=/x"},
		{`level=info secret=hmac user=alice scope=read`, "user=alice scope=read"},
	})
	// ...and the sensitive value itself is no longer redacted.
	noLeakInText(t, []struct{ in, secret string }{
		{`password=hawk status=401`, "hawk"},
	})
}
