package timeline

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzRender: whatever a log line holds, the terminal output holds no
// control character but the line breaks Render writes itself, and every
// entry is one line.
func FuzzRender(f *testing.F) {
	f.Add("payment", "error", "card declined\n\tat Charge()\x1b[2J", "")
	f.Add("", "", "\x9b31m", "\r\n")
	f.Add("svc\x07", "info\x00", strings.Repeat("é", 40), "x")
	f.Fuzz(func(t *testing.T, service, level, msg, msg2 string) {
		base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		entries := []Entry{
			{Time: base, Service: service, Level: level, Message: msg},
			{Time: base.Add(time.Second), Service: "other", Message: msg2},
		}
		var out bytes.Buffer
		if err := Render(&out, entries); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		for _, r := range s {
			if r != '\n' && isControl(r) {
				t.Fatalf("control character %U in output:\n%q", r, s)
			}
		}
		if !utf8.ValidString(s) {
			t.Fatalf("output is not UTF-8: %q", s)
		}
		// header, blank, 2 entries, blank, services
		if lines := strings.Count(s, "\n"); lines < 6 {
			t.Fatalf("%d lines, want at least 6:\n%s", lines, s)
		}
	})
}

func TestFetchReportsServerErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		want   string
	}{
		{"unauthorised", http.StatusUnauthorized, "status 401: security_exception: missing authentication credentials"},
		{"server error", http.StatusInternalServerError, "status 500: security_exception"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Elastic-Product", "Elasticsearch")
				w.WriteHeader(tc.status)
				w.Write([]byte(`{"error":{"type":"security_exception","reason":"missing authentication credentials"},"status":401}`))
			}))
			defer srv.Close()
			c := newClient(t, srv.URL)
			_, err := Fetch(testCtx(t), c, pattern, traceA)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Fetch error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
