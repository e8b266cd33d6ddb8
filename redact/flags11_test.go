package redact

// Cases an eleventh review found in the value rule and around it, each of
// which failed on fb4ad55 (run through Text, and the leaks also through
// `shipper dry-run`). Those not fixed are listed in design.md.

import (
	"strings"
	"testing"
)

// LEAK. JSON echoed inside text with its quotes escaped: Go's %q
// (log.Printf("body %q", body)), zap's console encoder (fields as JSON
// after the message, a JSON string inside escaped), klog's structured
// text (key="…" quoted with strconv.Quote). The key before `\":` is not
// read (identSpan stops at the backslash before the closing quote), and
// a value that starts with `\"` is taken as the single byte `\`.
func TestEscapedQuotesInText(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		// Go log.Printf("request body %q", body)
		{`2026/11/22 10:00:00 request body "{\"username\":\"bob\",\"password\":\"hunter2\"}"`, "hunter2"},
		// zap console encoder, a JSON body logged with zap.String
		{"2026-11-22T10:00:00.000Z\tINFO\tupstream/client.go:88\tlogin request\t" + `{"body": "{\"username\":\"bob\",\"password\":\"hunter2\"}"}`, "hunter2"},
		// klog structured text: a JSON body as a quoted value
		{`I1122 10:00:00.000000       1 handler.go:42] "Login request" body="{\"username\":\"bob\",\"password\":\"hunter2\"}"`, "hunter2"},
		// an OAuth error response echoed with %q
		{`err="upstream: {\"error\":\"invalid\",\"access_token\":\"ya29.a0AfH6SMBx9kQ\"}"`, "a0AfH6SMBx9kQ"},
		// klog: a libpq conninfo whose quoted password is escaped
		{`I1122 10:00:00.000000       1 db.go:42] "Connecting" dsn="host=db user=app password=\"hunter 2\" dbname=shop"`, "hunter 2"},
	})
}

// LEAK. An escaped newline or tab before a lower-case key: the `n` of
// `\n` is read as part of the key ("npassword" is not a sensitive word).
// Go's %q of a config file or a .env, zap's console fields, Python's repr
// of a multi-line string or of bytes sent on the wire (http.client with
// debuglevel=1).
func TestEscapedNewlineBeforeKey(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		// Go log.Printf("loaded config %q", content)
		{`2026/11/22 10:00:00 loaded config "host=db\npassword=hunter2\nport=5432\n"`, "hunter2"},
		// zap console encoder, a YAML file's content as a field
		{"2026-11-22T10:00:00.000Z\tINFO\tconfig loaded\t" + `{"content": "host: db\npassword: hunter2\nport: 5432"}`, "hunter2"},
		// Python logging.info("env file: %r", text)
		{`env file: 'DB_HOST=db\napi_key=abc123secret\n'`, "abc123secret"},
		// Python http.client debuglevel=1: a form body after the headers
		{`send: b'POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\npassword=hunter2&user=bob'`, "hunter2"},
		// logfmt msg with an escaped tab
		{`level=info msg="line1\ttoken=abc123secret"`, "abc123secret"},
	})
}

// LEAK. Maps printed with "=>": Ruby's Hash#inspect (Rails' "Parameters:"
// line when filter_parameters does not list the key, p params), Ruby 3.4's
// spaced form, symbol keys, PHP's print_r, Perl's Data::Dumper, Elixir's
// inspect of a map with string keys. The value after '=' starts with '>'
// and valueEnd stops there: the span is empty. print_r's "[password] =>"
// key is not read at all (identSpan stops at ']').
func TestFatArrowMaps(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`Processing by SessionsController#create as HTML Parameters: {"user"=>{"email"=>"bob@example.com", "password"=>"hunter2"}}`, "hunter2"},
		{`{"password" => "hunter2", "user" => "bob"}`, "hunter2"},
		{`{:password=>"hunter2", :user=>"bob"}`, "hunter2"},
		{`Array ( [username] => bob [password] => hunter2 )`, "hunter2"},
		{`[HTTP_COOKIE] => PHPSESSID=abc123secretsession`, "abc123secretsession"},
		{`$VAR1 = { 'password' => 'hunter2', 'user' => 'bob' };`, "hunter2"},
		{`%{"password" => "hunter2", "user" => "bob"}`, "hunter2"},
	})
}

// LEAK. A value in braces: ODBC connection strings put a password with
// special characters in braces (Microsoft's documented escaping, PWD={…}),
// Spring Security stores {noop}password. valueEnd stops at the '{' the
// value starts with: the span is empty.
// LEAK. Python's repr of bytes (and Python 2's unicode) values: the quoted
// value has a prefix, b'…' or u'…'. findKeyValues only takes a value
// quoted when the quote comes first; the prefix letter is redacted and
// the secret kept. (flagGap already knows b'…' for flags.)
func TestPythonPrefixedStringValue(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`{'user': 'bob', 'password': b'hunter2'}`, "hunter2"},
		{`headers={'X-Api-Key': b'abc123secret'}`, "abc123secret"},
		{`{u'user': u'bob', u'password': u'hunter2'}`, "hunter2"},
	})
}

// LEAK. A Cookie header under any name but exactly Cookie/Set-Cookie:
// CGI/WSGI/PHP environment dumps (HTTP_COOKIE), "cookies:", and the
// Cookie header of Python's http.client debug output, where the key reads
// as "nCookie" after an escaped \r\n. isCookieKey compares the whole key,
// so the value is its first word and the session cookie after "; " is
// shipped.
func TestCookieHeaderUnderOtherNames(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`HTTP_COOKIE=csrftoken=xyz789; sessionid=abc123secretsession`, "abc123secretsession"},
		{`cookies: csrftoken=xyz789; sessionid=abc123secretsession`, "abc123secretsession"},
		{`send: b'GET /api HTTP/1.1\r\nHost: api.example.com\r\nCookie: csrftoken=xyz; sessionid=abc123secretsession\r\n\r\n'`, "abc123secretsession"},
	})
}

// LEAK. More than eight spaces between a key and '=': Terraform plan
// aligns the '=' of a block's attributes, Kafka/Java config dumps align
// columns. identSpan skips at most 8 spaces.
func TestAlignedEquals(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`      + db_password                          = "hunter2"`, "hunter2"},
		{`ssl.keystore.password                   = hunter2`, "hunter2"},
	})
}

// LEAK. A key longer than 64 bytes: Spring Boot's OAuth2 client
// registrations (spring.security.oauth2.client.registration.<id>.client-secret)
// with an id of 9 letters or more. findKeyValues skips a key it cannot
// read whole ("one longer than we look at") instead of judging its end.
func TestLongDottedKey(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`spring.security.oauth2.client.registration.keycloak.client-secret=Abc123SecretValue`, "Abc123SecretValue"},
		{`spring.security.oauth2.client.registration.azure-active-directory.client-secret=Abc123SecretValue`, "Abc123SecretValue"},
	})
}

// LEAK. LDIF (ldapsearch, slapcat output): "attr:: base64". The value
// starts with the second ':', which is taken as the value; the base64 is
// kept.
func TestLDIFBase64Value(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`userPassword:: aHVudGVyMg==`, "aHVudGVyMg"},
	})
}

// LEAK. A lower-case parameter scheme followed by one unquoted parameter
// under a sensitive key that is not an Authorization header: the
// lower-case word was taken for "token=oauth provider=github" and only the
// scheme word went, the signature stayed. Now a parameter that looks
// random (secretParam) is the credential, whatever the word's case.
func TestLowerParamSchemeSingleParam(t *testing.T) {
	noLeakInText(t, []struct{ in, secret string }{
		{`X-Auth-Token: hmac sig=9f86d081884c7d659a2feaa0c55ad015`, "9f86d081884c7d659a2feaa0c55ad015"},
		{`secret: hmac signature=9f86d081884c7d659a2feaa0c55ad015`, "9f86d081884c7d659a2feaa0c55ad015"},
		{`X-Auth-Token: digest response=6629fae49393a05397450978507c4ef1`, "6629fae49393a05397450978507c4ef1"},
	})
}

// OVER-REACH (since bb61e83). A capitalised parameter scheme word as a
// logfmt value took the next field: the scheme word stayed and
// "provider=github" went. Only the lower-case word was excepted.
func TestCapitalisedParamSchemeWordInLogfmt(t *testing.T) {
	keepInText(t, []struct{ in, keep string }{
		{`level=info token=OAuth provider=github user=alice status=200`, "provider=github"},
	})
}

// OVER-REACH. optparse's and GNU getopt's --help print "--token=TOKEN"
// then a column gap and the description: TOKEN and KEY are scheme words,
// so the first word of the description went (and the metavar stayed). A
// placeholder before a column gap now ends the value (metavar).
func TestHelpDescriptionAfterSchemeMetavar(t *testing.T) {
	keepInText(t, []struct{ in, keep string }{
		{`  --token=TOKEN          The API token to use`, "The API token to use"},
		{`  --api-key=KEY          Key for the metrics backend`, "Key for the metrics backend"},
		{`  --auth-token=TOKEN     Bearer token for the API`, "Bearer token for the API"},
	})
}

// LEAK (review 11). Name/value pairs hold secrets under the key "value":
// a Kubernetes pod spec's env list (audit logs, controller logs), AWS
// SSM's GetParameter answer, an ECS task definition. The name is the key.
func TestNameValuePairs(t *testing.T) {
	r := newDefault(t)
	for _, c := range []struct{ line, secret, keep string }{
		{`{"level":"info","msg":"creating pod","env":[{"name":"DB_PASSWORD","value":"hunter2"},{"name":"REPLICAS","value":"3"}]}`, "hunter2", `"value":"3"`},
		{`{"msg":"parameter read","Parameter":{"Name":"/prod/db/password","Type":"SecureString","Value":"hunter2"}}`, "hunter2", `"Type":"SecureString"`},
		{`{"msg":"task","containerDefinitions":[{"environment":[{"name" : "API_TOKEN" , "value" : "s3cr3tValue"}]}]}`, "s3cr3tValue", `"environment"`},
		{`{"msg":"pod","env":[{"name":"LOG_LEVEL","value":"debug"},{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":"db","key":"password"}}}]}`, "", `"value":"debug"`},
	} {
		out, _ := processLine(t, r, c.line)
		if c.secret != "" && strings.Contains(out, c.secret) {
			t.Errorf("leak of %q:\n in: %s\nout: %s", c.secret, c.line, out)
		}
		if !strings.Contains(out, c.keep) {
			t.Errorf("lost %q:\n in: %s\nout: %s", c.keep, c.line, out)
		}
	}
}
