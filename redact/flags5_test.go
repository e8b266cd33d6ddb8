package redact

// Cases a fifth review found in the key=value and flag rules (each failed
// before its fix).

import (
	"testing"
)

// Under an Authorization key, the credential after a scheme the rule does
// not know goes, whatever it holds: base64 padding ("…A=="), "user:secret"
// (AWS SigV2 with a non-AKIA key id as MinIO and Ceph use, Azure
// SharedKeyLite), "auth=…".
func TestUnknownSchemeCredentialGoesWhatever(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`Authorization: Custom dXNlcjpwYXNzd29yZA==`, "dXNlcjpwYXNzd29yZA"},
		{`{Authorization=Custom dXNlcjpwYXNzd29yZA==, Accept=*/*}`, "dXNlcjpwYXNzd29yZA"},
		{`Authorization: HMAC c2lnbmF0dXJlMTIz=`, "c2lnbmF0dXJlMTIz"},
		{`Authorization: AWS minioadmin:frJIUN8DYpKDtOLCwo//yllqDzg=`, "frJIUN8DYpKDtOLCwo"},
		{`Authorization: SharedKeyLite myaccount:ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08=`, "ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08"},
		{`Authorization: GoogleLogin auth=DQAAAGgAzq81kd72mx`, "DQAAAGgAzq81kd72mx"},
		{`Authorization: Custom bob:hunter2`, "hunter2"},
	})
}

// So does the credential after such a scheme under any sensitive key.
func TestSchemeCredentialUnderAnySensitiveKey(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`X-Auth-Token: Custom abc123secret`, "abc123secret"},
		{`authToken=Custom abc123secret`, "abc123secret"},
		{`AUTH_TOKEN=Custom abc123secret`, "abc123secret"},
		{`authorization_header=Custom abc123secret`, "abc123secret"},
		{`api_key: Custom abc123secret`, "abc123secret"},
	})
}

// A value that starts with a card and goes on goes whole.
func TestCardPrefixedValueGoesWhole(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`password=4111111111111111:hunter2`, "hunter2"},
		{`password=4111111111111111_hunter2`, "hunter2"},
		{`--password 4111111111111111-hunter2`, "hunter2"},
	})
}

// A flag that is an element of a list printed without quotes, whatever
// opens the list (Scala's List(…), a tuple), comma-joined, over several
// lines or indented with tabs.
func TestUnquotedFlagListOpeners(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`List(--password, hunter2, --host, db)`, "hunter2"},
		{`(--password, hunter2)`, "hunter2"},
		{`args=mysql,--password,hunter2`, "hunter2"},
		{`args: [mysql,--password,hunter2]`, "hunter2"},
		{"[\n  mysql,\n  --password,\n  hunter2\n]", "hunter2"},
		{"[mysql,\t--password, hunter2]", "hunter2"},
	})
}

// Go's %v of an http.Header: a value is a list, "X-Api-Key:[k3y]".
func TestGoHeaderMap(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`map[Accept:[*/*] X-Api-Key:[k3y5ecret]]`, "k3y5ecret"},
		{`map[Authorization:[Custom abc123secret]]`, "abc123secret"},
		{`map[Authorization:[Digest username="bob", response="6629fae4939"]]`, "6629fae4939"},
	})
}
