package redact

import (
	"encoding/json"
	"strings"
	"testing"
)

// sampleToken makes a token of kind k whose body has n characters of the
// kind's alphabet, different for each seed: a digit first, then digits and
// letters mixed, as a provider makes them.
func sampleToken(k tokenKind, n, seed int) (prefix, body string) {
	var b strings.Builder
	for _, c := range []byte("7aB3") {
		if k.body(c) {
			b.WriteByte(c)
		}
	}
	for i := 0; b.Len() < n; i++ {
		for c := range 256 {
			if b.Len() == n {
				break
			}
			if c := byte((c*7 + i*13 + seed) % 256); k.body(c) && c != '_' && c != '-' {
				b.WriteByte(c)
			}
		}
	}
	return k.prefix, b.String()
}

// Every kind's token is redacted wherever it stands in text, its prefix
// kept; the body never survives.
func TestProviderTokensRedacted(t *testing.T) {
	r := newDefault(t)
	for seed, k := range tokenKinds {
		lengths := []int{k.min, k.min + 9}
		if k.max > 0 {
			lengths = []int{k.max}
		}
		for _, n := range lengths {
			prefix, body := sampleToken(k, n, seed)
			tok := prefix + body
			for _, tmpl := range []string{
				`{"msg":"%s"}`,
				`{"msg":"using token %s for the push"}`,
				`{"url":"https://api.example/v1?key=%s&x=1"}`,
				`{"req":{"headers":{"X-Custom":"%s"}}}`,
				`{"args":["login","%s"]}`,
				`{"msg":"line1\n%s\tline3"}`,
				`{"msg":"quoted '%s', then (%s)."}`,
			} {
				line := strings.ReplaceAll(tmpl, "%s", tok)
				out, tags := processLine(t, r, line)
				if strings.Contains(out, body) {
					t.Errorf("%s token of %d leaked: %s", k.prefix, n, out)
				}
				if !strings.Contains(out, prefix+redacted) || tags == 0 {
					t.Errorf("%s token of %d: want %q and a tag, got %s %v", k.prefix, n, prefix+redacted, out, tags.Names())
				}
			}
			// The agent's own logs and errors go through Text.
			if out := string(r.Text(nil, []byte("push failed with "+tok+": 401"))); strings.Contains(out, body) {
				t.Errorf("Text kept the %s token: %s", k.prefix, out)
			}
		}
	}
}

// Names that merely start like a token, bodies too short, and prefixes
// glued to a word are kept.
func TestProviderTokensHardNegatives(t *testing.T) {
	r := newDefault(t)
	for _, s := range []string{
		"sk_live_mode enabled",
		"npm_config_cache=/tmp/npm",
		"ghp_ prefix is a GitHub personal token",
		"ghp_abc123 is too short",
		"myghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa is glued",
		"hf_hub_download failed",
		"pypi-package-name-here",
		"task-ant-colony",
		"AIzaSy is only a start",
		"shpat_not-hex-not-hex-not-hex-not-hex-not-hex",
		"xoxb- is Slack's bot prefix",
		"2026-11-23 user_id=42 trace-id 4bf92f3577b34da6a3ce929d0e0e4736",
		"payment-service checkout-service dop_v1_ short",
	} {
		line := `{"msg":"` + s + `"}`
		if out, tags := processLine(t, r, line); out != line || tags != 0 {
			t.Errorf("changed a hard negative:\n in: %s\nout: %s", line, out)
		}
	}
}

// The pre-check flags exactly the strings with a prefix at a word start:
// anything it misses, the rule never sees.
func TestTokenPreCheck(t *testing.T) {
	for seed, k := range tokenKinds {
		prefix, body := sampleToken(k, k.min, seed)
		for _, s := range []string{prefix + body, "x " + prefix + body, "a=" + prefix + body + "&b"} {
			if scanFlags([]byte(s), nil)&fToken == 0 {
				t.Errorf("scanFlags(%q) misses the %s token", s, k.prefix)
			}
		}
	}
	for _, s := range []string{"2026-11-23T10:00:00Z", "user_id", "checkout-service", "lazy fox", "a_b-c_d-e"} {
		if scanFlags([]byte(s), nil)&fToken != 0 {
			t.Errorf("scanFlags(%q) flags a token", s)
		}
	}
}

// The rule can be switched off, and its action chosen.
func TestProviderTokensConfig(t *testing.T) {
	tok := "ghp_" + strings.Repeat("a1B2", 9)
	line := `{"msg":"token ` + tok + ` used"}`
	cfg := DefaultConfig()
	cfg.Tokens.Enabled = false
	r, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := processLine(t, r, line); out != line {
		t.Errorf("rule off, the token was changed: %s", out)
	}
	cfg.Tokens = Rule{Enabled: true, Action: ActionRemove}
	if r, err = New(cfg, nil); err != nil {
		t.Fatal(err)
	}
	if out, _ := processLine(t, r, line); out != `{"msg":"token ghp_ used"}` {
		t.Errorf("remove: got %s", out)
	}
	if got := r.Stats().Redactions["tokens"]; got != 1 {
		t.Errorf("tokens counted %d times, want 1", got)
	}
}

// FuzzTokens: a token of any kind, with any body of its characters, in any
// text, never survives Text or a JSON value.
func FuzzTokens(f *testing.F) {
	f.Add(uint8(0), "abc", "before ", " after")
	f.Add(uint8(12), "x-y_z", `{"a":"`, `"}`)
	f.Add(uint8(40), "AAAA", "key=", "&q=ghp_")
	r := newDefault(f)
	f.Fuzz(func(t *testing.T, kind uint8, body, before, after string) {
		k := tokenKinds[int(kind)%len(tokenKinds)]
		// A body the kind takes: a digit first, digits and letters mixed,
		// then the fuzzer's bytes of the kind's alphabet.
		var b strings.Builder
		for _, c := range []byte("7aB3x9Qz") {
			if k.body(c) {
				b.WriteByte(c)
			}
		}
		for i := 0; i < len(body); i++ {
			if k.body(body[i]) {
				b.WriteByte(body[i])
			}
		}
		for i := 0; b.Len() < k.min; i++ {
			b.WriteByte("a3f9"[i%4]) // in every kind's alphabet
		}
		bs := b.String()
		if k.max > 0 {
			bs = bs[:k.max]
		}
		tok := k.prefix + bs
		text := before + " " + tok + " " + after
		if out := r.Text(nil, []byte(text)); strings.Contains(string(out), tok) {
			t.Fatalf("Text kept %q: %q", tok, out)
		}
		line, _ := json.Marshal(map[string]string{"msg": text})
		out, _ := r.JSON(nil, line)
		var doc map[string]any
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("invalid JSON out: %v\n%s", err, out)
		}
		if s, _ := doc["msg"].(string); strings.Contains(s, tok) {
			t.Fatalf("JSON kept %q: %q", tok, s)
		}
	})
}

// The rules that take a whole value run first, and the card rule after:
// each token is one redaction, never cut into pieces that leave a part.
func TestProviderTokensWithOtherRules(t *testing.T) {
	r := newDefault(t)
	for _, c := range []struct{ in, want string }{
		{`{"msg":"token=ghp_` + strings.Repeat("a1B2", 9) + `"}`, `{"msg":"token=[REDACTED]"}`},
		{`{"msg":"Authorization: Bearer ghp_` + strings.Repeat("a1B2", 9) + `"}`, `{"msg":"Authorization: Bearer [REDACTED]"}`},
		// Digit groups inside a Slack token that the card rule alone
		// would mask as a card.
		{`{"msg":"slack xoxb-4111-1111-1111-1111-abcdefghijkl failed"}`, `{"msg":"slack xoxb-[REDACTED] failed"}`},
	} {
		if out, _ := processLine(t, r, c.in); out != c.want {
			t.Errorf("\n in: %s\nout: %s\nwant %s", c.in, out, c.want)
		}
	}
}
