package redact

// Leaks and over-reach a third review found in the key=value scheme-word,
// flag and argument-list rules (each test failed before its fix).

import (
	"strings"
	"testing"
)

// After '=' under an authorization key, a scheme word the rule does not
// know goes with the credential after it: Java's Map.toString and
// Lombok/Kotlin toString print headers as key=value with a space inside
// the value.
func TestAuthKeyAfterEqualsKeepsNoCredential(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{"headers={Authorization=Custom abc123xyz, Accept=*/*}", "abc123xyz"},
		{"Request(authorization=Custom abc123xyz, host=api.example.com)", "abc123xyz"},
		{"{Authorization=Bot MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs, Host=discord.com}", "ZnCjm1XVW7vRze4b7Cq4se7kKWs"},
	})
}

// Several spaces, or a value between tabs, after a flag are the columns of
// --help output (flag, padding, description): nothing there is a value.
func TestHelpTextColumnsUntouched(t *testing.T) {
	unchangedInText(t, []string{
		"  --password        Password to use when connecting",
		"  -w, --no-password        never prompt for password",
		"      --password-stdin      Take the password from stdin",
		"  --api-key\tKEY\tthe api key",
	})
}

// Argument vectors printed as text, as each language prints a list.
func TestArgvAsTextLeaksNothing(t *testing.T) {
	r := newDefault(t)
	for _, in := range []string{
		`exec: ["mysql" "--password" "hunter2"]`,               // Go: fmt.Sprintf("%q", cmd.Args)
		`[mysql, --password, hunter2]`,                         // Java: Arrays.toString, ProcessBuilder.command()
		"['mysql',\n '--password',\n 'hunter2']",               // Python pprint of a long list
		"[\n  \"mysql\",\n  \"--password\",\n  \"hunter2\"\n]", // indented JSON echoed
		`[b'mysql', b'--password', b'hunter2']`,                // Python bytes argv
		`['mysql', '--password', "hunter2's"]`,                 // Python repr, mixed quotes
	} {
		if out := string(r.Text(nil, []byte(in))); strings.Contains(out, "hunter2") {
			t.Errorf("leak:\n in: %q\nout: %q", in, out)
		}
	}
}

// key: value shapes whose credential must go too.
func TestKeyValueShapesLeakNothing(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{"password:\thunter2", "hunter2"},                 // tab after ':'
		{"Authorization: Custom  xyz789abc", "xyz789abc"}, // two spaces after the scheme
		{"Authorization: Api-Key xyz789abc", "xyz789abc"}, // djangorestframework-api-key's scheme
		{"Authorization: OAuth2 xyz789abc", "xyz789abc"},  // a scheme word with a digit
	})
}

// A card under a plural key or flag is the secret, not a count of them: it
// is redacted as the key's value at once, so that redacting the output
// again changes nothing (the card mask is no longer all digits).
func TestCardUnderAPluralIsAFixedPoint(t *testing.T) {
	idempotentJSON(t, []string{
		`{"args":["--secrets",4111111111111111]}`,
		`{"args":["--secrets","4111111111111111"]}`,
		`{"msg":"secrets: 4111111111111111"}`,
		`{"msg":"--secrets 4111111111111111"}`,
	})
}
