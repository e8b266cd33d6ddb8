package redact

import (
	"testing"
)

// Secrets passed as command-line flags, in text and as JSON argument
// vectors, are redacted; the flags around them and flags that take no
// secret are kept.
func TestFlagValues(t *testing.T) {
	r := newDefault(t)
	for _, c := range []struct{ in, want string }{
		{`{"msg":"exec mysql --password hunter2 --user bob"}`, `{"msg":"exec mysql --password [REDACTED] --user bob"}`},
		{`{"msg":"deploy --api-key 'a b c' now"}`, `{"msg":"deploy --api-key '[REDACTED]' now"}`},
		{`{"msg":"vault login --client-secret s3cr3t"}`, `{"msg":"vault login --client-secret [REDACTED]"}`},
		{`{"msg":"gh --token=abc123"}`, `{"msg":"gh --token=[REDACTED]"}`},
		{`{"msg":"unlock --pin-code 1234 --password 123456"}`, `{"msg":"unlock --pin-code 1234 --password [REDACTED]"}`},
		{`{"args":["unlock","--password","123456"]}`, `{"args":["unlock","--password","[REDACTED]"]}`},
		{`{"args":["mysql","--password","hunter2","--user","bob"]}`, `{"args":["mysql","--password","[REDACTED]","--user","bob"]}`},
		{`{"c":{"argv":["x","--api-key","k3y"],"n":1}}`, `{"c":{"argv":["x","--api-key","[REDACTED]"],"n":1}}`},
		{`{"args":["--pass\u0077ord","hunter2"]}`, `{"args":["--pass\u0077ord","[REDACTED]"]}`},
	} {
		if out, _ := processLine(t, r, c.in); out != c.want {
			t.Errorf("\n in: %s\nout: %s\nwant %s", c.in, out, c.want)
		}
	}
	for _, line := range []string{
		`{"msg":"docker login --password-stdin --username bob"}`,
		`{"msg":"run --pwd /srv/app --tokens 512"}`,
		`{"msg":"a--password x ---password y --password"}`,
		`{"args":["docker","login","--password-stdin","--username","bob"]}`,
		`{"args":["--password","--user","bob"],"b":["--tokens","512"],"c":["--user","bob"]}`,
	} {
		if out, tags := processLine(t, r, line); out != line || tags != 0 {
			t.Errorf("changed:\n in: %s\nout: %s", line, out)
		}
	}
}

// The pre-check flags a sensitive long flag in text and in raw JSON, so
// that the rule and the walk of an argument vector run.
func TestFlagPreCheck(t *testing.T) {
	r := newDefault(t)
	if scanFlags([]byte("mysql --password x"), &r.keys.filter)&fKV == 0 {
		t.Error("scanFlags misses --password")
	}
	if scanJSONFlags([]byte(`["mysql","--password","x"]`), &r.keys.filter)&fKV == 0 {
		t.Error("scanJSONFlags misses an argv --password")
	}
	if scanFlags([]byte("2026-11-23 --verbose --user-agent x"), &r.keys.filter)&fKV != 0 {
		t.Error("scanFlags flags harmless flags")
	}
}

// The remove action cuts a flag's value out of an argument vector, and hash
// replaces it with its HMAC.
func TestFlagValuesActions(t *testing.T) {
	in := `{"args":["mysql","--password","hunter2"]}`
	cfg := DefaultConfig()
	cfg.Keys.Action = ActionRemove
	r, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := processLine(t, r, in); out != `{"args":["mysql","--password",""]}` {
		t.Errorf("remove: %s", out)
	}
	cfg.Keys.Action = ActionHash
	cfg.HashKeyEnv = "K"
	if r, err = New(cfg, func(string) string { return "k" }); err != nil {
		t.Fatal(err)
	}
	out, _ := processLine(t, r, in)
	if len(out) < 10 || out[:len(`{"args":["mysql","--password","hmac:`)] != `{"args":["mysql","--password","hmac:` {
		t.Errorf("hash: %s", out)
	}
}
