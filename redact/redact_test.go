package redact

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

func TestProcessCardsInEveryPosition(t *testing.T) {
	r := newDefault(t)
	for _, c := range testCards {
		last4 := c.pan[len(c.pan)-4:]
		// "+" and "%20" are a space URL-encoded.
		for _, sep := range []string{"", " ", "-", "+", "%20"} {
			pan := group(c.pan, sep)
			for _, tmpl := range []string{
				`{"card":"%s"}`,
				`{"msg":"charged card %s for 12.50 EUR"}`,
				`{"req":{"body":{"payment":{"number":"%s"}}}}`,
				`{"items":["a",["%s"],{"x":"%s"}]}`,
				`{"url":"https://shop.example/pay?card=%s&exp=12%2F25"}`,
				`{"msg":"line1\n%s\tline3"}`,
			} {
				line := strings.ReplaceAll(tmpl, "%s", pan)
				out, tags := processLine(t, r, line)
				if strings.Contains(out, pan) || strings.Contains(out, c.pan) {
					t.Errorf("%s leaked: %s", c.brand, out)
				}
				if !strings.Contains(strings.NewReplacer(" ", "", "-", "", "+", "", "%20", "").Replace(out), last4) || !tags.Has(shipper.TagRedacted) {
					t.Errorf("%s: want masked with last four %s and tagged, got %v %s", c.brand, last4, tags.Names(), out)
				}
				if !json.Valid([]byte(out)) {
					t.Errorf("invalid JSON: %s", out)
				}
			}
		}
		// A PAN written as a JSON number becomes a masked string, also
		// when the number is a float whose value is the card: Python's
		// json writes 4111111111111111.0, zap's Float64
		// 4.111111111111111e+15.
		want := strings.Repeat("*", len(c.pan)-4) + last4
		for _, n := range []string{
			c.pan,
			c.pan + ".0",
			"-" + c.pan + ".000",
			c.pan[:1] + "." + c.pan[1:] + "e+" + fmt.Sprint(len(c.pan)-1),
			c.pan[:3] + "." + c.pan[3:] + "E" + fmt.Sprint(len(c.pan)-3),
			c.pan + "00e-2",
			c.pan[:7] + "." + c.pan[7:] + "e" + fmt.Sprint(len(c.pan)-7),
		} {
			out, _ := processLine(t, r, `{"v":`+n+`,"a":{"value":`+n+`},"b":[`+n+`]}`)
			if out != `{"v":"`+want+`","a":{"value":"`+want+`"},"b":["`+want+`"]}` {
				t.Errorf("%s as the number %s: %s", c.brand, n, out)
			}
		}
	}
	// A card with trailing zeros has a short float form (4200000000000000
	// passes the Luhn check as a Visa number).
	for _, n := range []string{"4.2e15", "42e14", "4.2E+15"} {
		out, _ := processLine(t, r, `{"v":`+n+`,"a":{"value":`+n+`}}`)
		if out != `{"v":"************0000","a":{"value":"************0000"}}` {
			t.Errorf("4200000000000000 as the number %s: %s", n, out)
		}
	}
}

// Numbers that are not whole, or whose whole value is not a card, are
// kept as they are, however close their digits come to one.
func TestFloatsThatAreNotCardsUntouched(t *testing.T) {
	r := newDefault(t)
	for _, n := range []string{
		"4111111111111111.5", "4111111111111111.01", "4.111111111111111e14", "4.111111111111111e16",
		"4111111111111111e1", "0.4111111111111111", "1700000000.123456", "1.5e-05", "1e15", "4.2e14",
		"41111111111111110e-2",
	} {
		line := `{"v":` + n + `,"a":{"value":` + n + `},"b":[` + n + `]}`
		if out, tags := processLine(t, r, line); out != line || tags != 0 {
			t.Errorf("changed %s: %s %v", n, out, tags.Names())
		}
	}
}

func TestProcessHardNegativesUntouched(t *testing.T) {
	r := newDefault(t)
	// 4111111111111111111 is a valid Visa-19: under a trace/span id key it
	// is an id (Datadog writes 64-bit ids in decimal).
	for _, line := range []string{
		`{"ts":1732290000123,"time_ns":1732290000123456789,"epoch_us":"1732290000123456"}`,
		`{"dd.trace_id":4111111111111111111,"dd.span_id":"4111111111111111111","dd":{"trace_id":"4111111111111111111","span_id":4111111111111111111}}`,
		`{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}`,
		`{"phone":"+1 415-555-0132","mobile":"+4222222222222","fax":"+49 30 12345678"}`,
		`{"order_id":"ORD-20241122-000123","order":1234567890123,"invoice":"INV 2024 000 123"}`,
		`{"uuid":"123e4567-e89b-12d3-a456-426614174000","id":"41111111-1111-1111-1111-111111111111"}`,
		`{"ip":"192.168.100.200","peer":"10.0.0.1:8080","ipv6":"2001:db8::1"}`,
		`{"amount":1234567.89,"total":"4111111111111111.25","ratio":0.30000000000000004,"big":1e21}`,
		`{"version":"4.1111111111111111","build":"v4111111111111111","sha":"4111111111111111aa31"}`,
		`{"msg":"request completed","status":200,"duration_ms":12.5,"bytes":5123,"tokens_used":1532,"secretary":"Ann","panel":"left"}`,
		`{"password_set":true,"token":null,"cvv_checked":false}`,
		`{"msg":"basic auth disabled, bearer of bad news","note":"Bearer token missing"}`,
		`{"nested":{"deep":{"deeper":[1,2,3,{"k":"v"}]}},"empty":{},"arr":[]}`,
	} {
		out, tags := processLine(t, r, line)
		if out != line || tags != 0 {
			t.Errorf("changed a hard negative:\n in: %s\nout: %s %v", line, out, tags.Names())
		}
	}
}

func TestProcessSensitiveKeys(t *testing.T) {
	r := newDefault(t)
	for _, c := range []struct{ in, want string }{
		{`{"password":"hunter2","user":"bob"}`, `{"password":"[REDACTED]","user":"bob"}`},
		{`{"req":{"headers":{"Authorization":"Bearer abc","Cookie":"sid=1"}}}`, `{"req":{"headers":{"Authorization":"[REDACTED]","Cookie":"[REDACTED]"}}}`},
		{`{"cvv":123,"card":{"cvc":"999","pan":{"v":"x"}}}`, `{"cvv":"[REDACTED]","card":{"cvc":"[REDACTED]","pan":"[REDACTED]"}}`},
		{`{"list":[{"api_key":"k1"},{"apiKey":"k2"}]}`, `{"list":[{"api_key":"[REDACTED]"},{"apiKey":"[REDACTED]"}]}`},
		{`{"password_set":true,"secret":null}`, `{"password_set":true,"secret":null}`},
		{`{"pass\u0077ord":"x"}`, `{"pass\u0077ord":"[REDACTED]"}`},
		// Nested keys the raw pre-check must not pass over: words before a
		// space or a slash, escapes, white space around the colon.
		{`{"a":{"password hint":"x"}}`, `{"a":{"password hint":"[REDACTED]"}}`},
		{`{"a":{"db/password":"x","n":1}}`, `{"a":{"db/password":"[REDACTED]","n":1}}`},
		{`{"a":[{"to\u006ben":"x"}]}`, `{"a":[{"to\u006ben":"[REDACTED]"}]}`},
		{`{"a": { "secret" : "x" } }`, `{"a":{"secret":"[REDACTED]"}}`},
		{`{"a":{"@Cookie":"x"}}`, `{"a":{"@Cookie":"[REDACTED]"}}`},
	} {
		out, _ := processLine(t, r, c.in)
		if out != c.want {
			t.Errorf("\n in: %s\nout: %s\nwant %s", c.in, out, c.want)
		}
	}
}

// Secrets under a plural key are redacted like under the singular one; a
// number there counts them and is kept.
func TestProcessPluralKeys(t *testing.T) {
	r := newDefault(t)
	in := `{"passwords":["a1","b2"],"api_keys":{"prod":"k"},"secrets":"s","cookies":7,"tokens":512,"msg":"passwords=x1 cookies=3"}`
	want := `{"passwords":"[REDACTED]","api_keys":"[REDACTED]","secrets":"[REDACTED]","cookies":7,"tokens":512,"msg":"passwords=[REDACTED] cookies=3"}`
	if out, _ := processLine(t, r, in); out != want {
		t.Errorf("\n in: %s\nout: %s\nwant %s", in, out, want)
	}
}

func TestProcessCredentialsAndSecretsInText(t *testing.T) {
	r := newDefault(t)
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	for _, c := range []struct{ in, want string }{
		{`{"msg":"auth header Bearer abcDEF123456.xyz rejected"}`, `{"msg":"auth header Bearer [REDACTED] rejected"}`},
		{`{"msg":"got Basic dXNlcjpwYXNzd29yZA== from client"}`, `{"msg":"got Basic [REDACTED] from client"}`},
		{`{"msg":"token ` + jwt + ` expired"}`, `{"msg":"token [REDACTED] expired"}`},
		{`{"msg":"using AKIAIOSFODNN7EXAMPLE"}`, `{"msg":"using [REDACTED]"}`},
		{`{"msg":"key -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- loaded"}`, `{"msg":"key [REDACTED] loaded"}`},
		{`{"url":"/login?user=bob&password=hunter2&next=/"}`, `{"url":"/login?user=bob&password=[REDACTED]&next=/"}`},
		{`{"msg":"Authorization: Bearer abc.def.ghi123 sent"}`, `{"msg":"Authorization: Bearer [REDACTED] sent"}`},
		{`{"dsn":"postgres://app:hunter2@db:5432/shop?sslmode=off"}`, `{"dsn":"postgres://app:[REDACTED]@db:5432/shop?sslmode=off"}`},
		{`{"msg":"GET https://admin:s3cr%40t@api.example.com/x failed"}`, `{"msg":"GET https://admin:[REDACTED]@api.example.com/x failed"}`},
		{`{"msg":"cloning ssh://git@github.com/x and mailto:bob@example.com"}`, `{"msg":"cloning ssh://git@github.com/x and mailto:bob@example.com"}`},
		{`{"msg":"http://host:8080/path?next=a@b"}`, `{"msg":"http://host:8080/path?next=a@b"}`},
		{`{"msg":"request headers\nCookie: session=abc123; csrftoken=xyz789\nAccept: */*"}`, `{"msg":"request headers\nCookie: [REDACTED]\nAccept: */*"}`},
		{`{"data":"{\"password\":\"hun\\\"ter3\",\"user\":\"bob\"}"}`, `{"data":"{\"password\":\"[REDACTED]\",\"user\":\"bob\"}"}`},
		{`{"msg":"connecting Server=db;Uid=app;Pwd=hunter2;Encrypt=true"}`, `{"msg":"connecting Server=db;Uid=app;Pwd=[REDACTED];Encrypt=true"}`},
		{`{"msg":"env DB_PASS=hunter2 HOME=/root"}`, `{"msg":"env DB_PASS=[REDACTED] HOME=/root"}`},
		{`{"data":"{\"db_pass\":\"hunter2\"}"}`, `{"data":"{\"db_pass\":\"[REDACTED]\"}"}`},
		// A short spelling before ':' in prose is no key.
		{`{"msg":"first pass: 1200 rows, tests: pass: 41 fail: 0"}`, `{"msg":"first pass: 1200 rows, tests: pass: 41 fail: 0"}`},
		{`{"pass_rate":"97%","pass_through":"nginx","pass":"hunter2"}`, `{"pass_rate":"97%","pass_through":"nginx","pass":"[REDACTED]"}`},
	} {
		out, _ := processLine(t, r, c.in)
		if out != c.want {
			t.Errorf("\n in: %s\nout: %s\nwant %s", c.in, out, c.want)
		}
	}
}

func TestTextOnErrorMessages(t *testing.T) {
	textIs(t, []struct{ in, want string }{
		{
			`failed to parse field [payment.card] of type [long] in document with id 'f1-42'. Preview of field's value: '4111111111111111'`,
			`failed to parse field [payment.card] of type [long] in document with id 'f1-42'. Preview of field's value: '************1111'`,
		},
		{
			`bulk item failed: mapper_parsing_exception: {"card":"5555 5555 5555 4444","password":"hunter2","user":{"token":"t0k3n"}}`,
			`bulk item failed: mapper_parsing_exception: {"card":"**** **** **** 4444","password":"[REDACTED]","user":{"token":"[REDACTED]"}}`,
		},
		{
			`POST https://api.example/v1/charge?api_key=sk_live_abc123 failed: 401`,
			`POST https://api.example/v1/charge?api_key=[REDACTED] failed: 401`,
		},
		{`connection refused after 3 retries (10.0.0.1:9200)`, `connection refused after 3 retries (10.0.0.1:9200)`},
		{`config: password = hunter2, token : 'a b c', "secret" : "s"`, `config: password = [REDACTED], token : '[REDACTED]', "secret" : "[REDACTED]"`},
	})
}

func TestJSON(t *testing.T) {
	r := newDefault(t)
	for _, c := range []struct {
		in, want string
		n        int
	}{
		{`{"a": [4111111111111111, "x"] }`, `{"a":["************1111","x"]}`, 1},
		{` {"a": 1} `, ` {"a": 1} `, 0},
		{`"4111111111111111"`, `"************1111"`, 1},
		{`not json 4111111111111111`, `"not json ************1111"`, 1},
		{`{"password":"x"`, `"{\"password\":\"[REDACTED]\""`, 1},
		{"{\"card\":\"4111111111111111\"}\n", "{\"card\":\"************1111\"}\n", 1},
	} {
		got, n := r.JSON([]byte("prefix:"), []byte(c.in))
		if string(got) != "prefix:"+c.want || n != c.n {
			t.Errorf("JSON(%s) = %s, %d; want %s, %d", c.in, got, n, c.want, c.n)
		}
	}
}

func TestActions(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Cards.Action = ActionHash
	cfg.Keys.Action = ActionRemove
	cfg.Credentials.Action = ActionRemove
	cfg.HashKeyEnv = "REDACT_KEY"
	r, err := New(cfg, func(k string) string {
		if k == "REDACT_KEY" {
			return "s3cr3t"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := processLine(t, r, `{"password":"x","a":{"token":"y","b":1},"c":"4111 1111 1111 1111","d":4111111111111111,"m":"Bearer abcd1234efgh","u":"4111%201111%201111%201111"}`)
	// The same card, grouped or not, hashes to the same value.
	h := `hmac:` + string(r.appendHMAC(r.get(), nil, []byte("4111111111111111"))[5:])
	want := `{"a":{"b":1},"c":"` + h + `","d":"` + h + `","m":"Bearer ","u":"` + h + `"}`
	if out != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	if _, err := New(cfg, func(string) string { return "" }); err == nil {
		t.Error("New with hash and no key in the environment: want an error")
	}
}

func TestRulesSwitchOff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Cards.Enabled = false
	cfg.Keys.Enabled = false
	r, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	line := `{"card":"4111111111111111","password":"x"}`
	if out, _ := processLine(t, r, line); out != line {
		t.Errorf("disabled rules redacted: %s", out)
	}
	cfg = DefaultConfig()
	cfg.Enabled = false
	r, _ = New(cfg, nil)
	if out, _ := processLine(t, r, line); out != line {
		t.Errorf("disabled redactor redacted: %s", out)
	}
}

func TestExtraKeysAndPatterns(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Keys.Extra = []string{"user.email", "*.internal_note"}
	cfg.Email.Enabled = true
	cfg.Patterns = []Pattern{{Name: "ticket", Regex: `TCK-[0-9]{6}`, Action: ActionMask}}
	r, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := processLine(t, r, `{"user":{"email":"a@b.co","name":"Ann"},"x":{"y":{"internalNote":"n"}},"msg":"mail bob@example.com about TCK-123456"}`)
	want := `{"user":{"email":"[REDACTED]","name":"Ann"},"x":{"y":{"internalNote":"[REDACTED]"}},"msg":"mail [REDACTED] about [REDACTED]"}`
	if out != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	got, n := r.JSON(nil, []byte(`{"user":{"email":"a@b.co"},"list":[{"user":{"email":"x"}}]}`))
	// A glob is a whole path from the top: list.user.email is not user.email.
	if string(got) != `{"user":{"email":"[REDACTED]"},"list":[{"user":{"email":"x"}}]}` || n != 1 {
		t.Errorf("JSON with globs: %s %d", got, n)
	}
	st := r.Stats()
	if st.Events != 1 || st.Redactions["keys"] != 3 || st.Redactions["email"] != 1 || st.Redactions["ticket"] != 1 {
		t.Errorf("stats: %+v", st)
	}
}

func TestOptInPatterns(t *testing.T) {
	cfg := DefaultConfig()
	cfg.USSSN.Enabled = true
	cfg.IBAN.Enabled = true
	cfg.Email.Enabled = true
	cfg.Patterns = []Pattern{{Name: "ticket", Regex: `TCK-[0-9]{6}`, Action: ActionHash}}
	cfg.HashKeyEnv = "K"
	r, err := New(cfg, func(string) string { return "k" })
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ in, want string }{
		{"ssn 078-05-1120 on file", "ssn [REDACTED] on file"},
		{"placeholder 000-12-3456 and 666-12-3456 kept", "placeholder 000-12-3456 and 666-12-3456 kept"},
		{"pay to DE89 3704 0044 0532 0130 00 EUR", "pay to [REDACTED] EUR"},
		{"pay to GB82WEST12345698765432.", "pay to [REDACTED]."},
		{"not an iban DE89 3704 0044 0532 0130 01", "not an iban DE89 3704 0044 0532 0130 01"},
		{"mail ann.lee+logs@example.co.uk now", "mail [REDACTED] now"},
	} {
		if got := string(r.Text(nil, []byte(c.in))); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	got := string(r.Text(nil, []byte("see TCK-123456 and TCK-123456")))
	if !strings.HasPrefix(got, "see hmac:") || strings.Count(got, got[4:4+37]) != 2 {
		t.Errorf("hashed pattern: %q (want the same hmac twice)", got)
	}
}

func TestDroppedEventsAreRedactedToo(t *testing.T) {
	r := newDefault(t)
	raw := []byte(`{"card":"4111111111111111"}`)
	members, _ := jsonscan.Members(nil, raw, 0)
	b := &shipper.Batch{Events: []shipper.Event{{Raw: raw, Doc: shipper.Doc{Members: members}, Drop: "sample.ratio"}}}
	r.Process(b)
	if got := string(b.Events[0].Doc.Members[0].Value); got != `"************1111"` {
		t.Errorf("dropped event not redacted: %s", got)
	}
}

func TestJWTAndAWSScanners(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
	textIs(t, []struct{ in, want string }{
		{"t=" + jwt + "&x=1", "t=[REDACTED]&x=1"},
		{"none alg eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. ok", "none alg [REDACTED] ok"},
		{"eyJ alone, eyJabc.d and eyJab.cd are not tokens", "eyJ alone, eyJabc.d and eyJab.cd are not tokens"},
		{"eyJeyJab.cd.ef", "[REDACTED]"},
		{"id AKIAIOSFODNN7EXAMPLE, ASIAY34FZKBOKMUTVV7A.", "id [REDACTED], [REDACTED]."},
		{"XAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX AKIAiosfodnn7example", "XAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX AKIAiosfodnn7example"},
	})
}

// log.file.path is in every document: a card number or a token in a file
// name is redacted like one in the line, the file keeps its ID (and so the
// documents their _id), and a clean path is left as it is, not copied.
func TestProcessFilePath(t *testing.T) {
	r := newDefault(t)
	card := &shipper.File{ID: "f1", Path: "/var/log/pay/4111111111111111.log"}
	clean := &shipper.File{ID: "f2", Path: "/var/log/pay/app-2026.log"}
	members, _ := jsonscan.Members(nil, []byte(`{"msg":"ok"}`), 0)
	b := &shipper.Batch{File: card}
	for _, f := range []*shipper.File{card, card, clean} {
		b.Events = append(b.Events, shipper.Event{Source: shipper.Source{File: f}, Doc: shipper.Doc{Members: members}})
	}
	r.Process(b)
	for i, ev := range b.Events[:2] {
		f := ev.Source.File
		if strings.Contains(f.Path, "4111111111111111") || !strings.Contains(f.Path, "1111.log") || f.ID != "f1" {
			t.Errorf("event %d: file %+v, want the path masked and the ID kept", i, *f)
		}
		if !ev.Tags.Has(shipper.TagRedacted) {
			t.Errorf("event %d: not tagged redacted", i)
		}
	}
	if b.File != b.Events[0].Source.File {
		t.Errorf("the batch's file is %+v, want the events' redacted copy", *b.File)
	}
	if card.Path != "/var/log/pay/4111111111111111.log" {
		t.Errorf("the tailer's File was modified: %q", card.Path)
	}
	if ev := b.Events[2]; ev.Source.File != clean || ev.Tags.Has(shipper.TagRedacted) {
		t.Errorf("a clean path: file %+v, tags %v; want the same File, untagged", *ev.Source.File, ev.Tags.Names())
	}
}

// The fields enrich takes out of the document before this stage runs are
// redacted like the document: service.name also names the index and the
// rate-limit summaries, and the Kubernetes names come from a path.
func TestProcessFieldsOutsideTheDocument(t *testing.T) {
	r := newDefault(t)
	const card = "4111111111111111"
	kube := &shipper.Kubernetes{Namespace: "shop", PodName: "pay-" + card, PodUID: "u1", ContainerName: "c-5555555555554444", ContainerID: "abc"}
	clean := &shipper.Kubernetes{Namespace: "shop", PodName: "pay-7d9f", ContainerName: "pay"}
	spanCard := shipper.SpanID{0x41, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11} // hex 4111111111111111
	spanHex := shipper.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	members, _ := jsonscan.Members(nil, []byte(`{"msg":"ok"}`), 0)
	b := &shipper.Batch{}
	trace64 := shipper.TraceID{8: 0x41, 9: 0x11, 10: 0x11, 11: 0x11, 12: 0x11, 13: 0x11, 14: 0x11, 15: 0x11} // 0000000000000000 4111111111111111
	for _, ev := range []shipper.Event{
		{Service: "pay-" + card, Kube: kube, SpanID: spanCard, ParentID: spanCard, TraceID: trace64},
		{Service: "pay-" + card, Kube: kube, SpanID: spanHex},
		{Service: "checkout", Kube: clean, SpanID: spanHex, ParentID: spanHex},
	} {
		ev.Doc.Members = members
		b.Events = append(b.Events, ev)
	}
	r.Process(b)
	for i, ev := range b.Events[:2] {
		shown := fmt.Sprintf("%s %+v %s %s", ev.Service, *ev.Kube, ev.SpanID, ev.ParentID)
		if strings.Contains(shown, card) || strings.Contains(shown, "5555555555554444") {
			t.Errorf("event %d leaks a card: %s", i, shown)
		}
		if !strings.HasSuffix(ev.Service, "1111") || ev.Kube.Namespace != "shop" || ev.Kube.ContainerID != "abc" {
			t.Errorf("event %d: %s, want the cards masked and the rest kept", i, shown)
		}
		if !ev.Tags.Has(shipper.TagRedacted) {
			t.Errorf("event %d: not tagged redacted", i)
		}
	}
	if ev := b.Events[0]; !ev.SpanID.IsZero() || !ev.ParentID.IsZero() || !ev.TraceID.IsZero() {
		t.Errorf("an id that is a card number was kept: %s %s %s", ev.TraceID, ev.SpanID, ev.ParentID)
	}
	if ev := b.Events[1]; ev.SpanID != spanHex {
		t.Errorf("a hex span id was changed: %s", ev.SpanID)
	}
	if kube.PodName != "pay-"+card {
		t.Errorf("the tailer's Kubernetes value was modified: %+v", *kube)
	}
	if ev := b.Events[2]; ev.Service != "checkout" || ev.Kube != clean || ev.SpanID != spanHex || ev.ParentID != spanHex || ev.Tags.Has(shipper.TagRedacted) {
		t.Errorf("a clean event was changed: %s %+v %s, tags %v", ev.Service, *ev.Kube, ev.SpanID, ev.Tags.Names())
	}
}
