package logging_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/traceship/shipper/logging"
	"github.com/traceship/shipper/redact"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLogsNeverCarryCardsOrSecrets logs the kinds of things an agent logs
// when a bulk request fails (a reason echoing the document, a header, an
// error wrapping both) and checks that nothing sensitive comes out, in
// both formats, while the rest of the line stays readable.
func TestLogsNeverCarryCardsOrSecrets(t *testing.T) {
	red, err := redact.New(redact.DefaultConfig(), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"json", "console"} {
		t.Run(format, func(t *testing.T) {
			var out bytes.Buffer
			log, closeLog, err := logging.New(logging.Options{Level: "info", Format: format, Stderr: &out}, red)
			if err != nil {
				t.Fatal(err)
			}
			log.Error("bulk item rejected: failed to parse field [card] of type [long] in document with value '4111 1111 1111 1111'",
				zap.String("index", "shipper-payment-2026.11.22"),
				zap.Error(errors.New("upstream said: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln")),
				zap.Any("doc", map[string]any{"password": "hunter2", "card": 5555555555554444}),
			)
			closeLog()
			got := out.String()
			for _, leak := range []string{"4111 1111 1111 1111", "5555555555554444", "hunter2", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0"} {
				if strings.Contains(got, leak) {
					t.Errorf("%s log leaks %q:\n%s", format, leak, got)
				}
			}
			if !strings.Contains(got, "shipper-payment-2026.11.22") || !strings.Contains(got, "bulk item rejected") {
				t.Errorf("redaction mangled innocent text:\n%s", got)
			}
			if format == "json" {
				var m map[string]any
				if err := json.Unmarshal([]byte(got), &m); err != nil {
					t.Errorf("the redacted JSON line is not JSON: %v\n%s", err, got)
				}
			}
		})
	}
}

func TestRejectsUnknownLevelAndFormat(t *testing.T) {
	if _, _, err := logging.New(logging.Options{Level: "loud", Format: "json"}, nil); err == nil {
		t.Error("level loud accepted")
	}
	if _, _, err := logging.New(logging.Options{Level: "info", Format: "xml"}, nil); err == nil {
		t.Error("format xml accepted")
	}
}
