package sink

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/traceship/shipper/internal/estest"
)

// miniES is a minimal Elasticsearch for transport tests: it answers GET /
// and _bulk (every item created) and records what it saw.
type miniES struct {
	mu      sync.Mutex
	auth    []string
	docs    int
	maxBody int // answer 413 to bodies larger than this (0: no limit)
	n413    int
}

func (m *miniES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	m.mu.Lock()
	m.auth = append(m.auth, r.Header.Get("Authorization"))
	m.mu.Unlock()
	if r.URL.Path == "/" {
		io.WriteString(w, `{"version":{"number":"8.15.0"},"tagline":"You Know, for Search"}`)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		body = zr
	}
	raw, _ := io.ReadAll(body)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.maxBody > 0 && len(raw) > m.maxBody {
		m.n413++
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n++
	}
	m.docs += n / 2
	var items []string
	for range n / 2 {
		items = append(items, `{"create":{"status":201}}`)
	}
	fmt.Fprintf(w, `{"errors":false,"items":[%s]}`, strings.Join(items, ","))
}

func (m *miniES) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.docs
}

// shipOne writes one batch of n events and shuts the sink down.
func shipOne(t *testing.T, cfg Config, n int, logger *zap.Logger) (*Sink, error) {
	t.Helper()
	s, err := New(cfg, logger, nil)
	if err != nil {
		return nil, err
	}
	h := newHarness(t, nil, cfg.DeadLetter.Path)
	b := h.batch("f", n, "")
	if err := s.Write(context.Background(), b); err != nil {
		return s, err
	}
	b.Ack.Release()
	// Bounds the cases that must fail (they retry until then).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.Start(ctx)
	return s, s.Shutdown(ctx)
}

func writePEM(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTLSAndAuth(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "password")
	os.WriteFile(secretFile, []byte("s3cret\n"), 0o600)
	keyFile := filepath.Join(t.TempDir(), "api_key")
	os.WriteFile(keyFile, []byte("aWQ6a2V5\n"), 0o600)
	tests := []struct {
		name     string
		edit     func(c *Config, ca string)
		wantAuth string
		wantOK   bool
		wantWarn bool
	}{
		{"ca_file trusted", func(c *Config, ca string) { c.TLS.CAFile = ca }, "", true, false},
		{"unknown CA refused", func(c *Config, ca string) {}, "", false, false},
		{"insecure_skip_verify, loudly", func(c *Config, ca string) { c.TLS.InsecureSkipVerify = true }, "", true, true},
		{"basic auth from password_file", func(c *Config, ca string) {
			c.TLS.CAFile, c.Username, c.PasswordFile = ca, "elastic", secretFile
		}, "Basic " + base64.StdEncoding.EncodeToString([]byte("elastic:s3cret")), true, false},
		{"api key from api_key_file", func(c *Config, ca string) { c.TLS.CAFile, c.APIKeyFile = ca, keyFile }, "APIKey aWQ6a2V5", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := &miniES{}
			srv := httptest.NewUnstartedServer(es)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
			srv.StartTLS()
			defer srv.Close()
			cfg := testConfig(t, srv.URL)
			tt.edit(&cfg, writePEM(t, srv))
			core, logs := observer.New(zap.WarnLevel)
			_, err := shipOne(t, cfg, 3, zap.New(core))
			if ok := err == nil && es.count() == 3; ok != tt.wantOK {
				t.Fatalf("shipped %d documents, err %v; want success %v", es.count(), err, tt.wantOK)
			}
			warned := logs.FilterMessageSnippet("insecure_skip_verify").Len() > 0
			if warned != tt.wantWarn {
				t.Errorf("insecure warning logged: %v, want %v", warned, tt.wantWarn)
			}
			for _, e := range logs.All() {
				for _, f := range e.Context {
					if strings.Contains(fmt.Sprint(f.Interface, f.String), "s3cret") || strings.Contains(e.Message, "s3cret") {
						t.Errorf("secret logged: %v", e)
					}
				}
			}
			if tt.wantOK {
				es.mu.Lock()
				defer es.mu.Unlock()
				for _, a := range es.auth {
					if a != tt.wantAuth {
						t.Errorf("Authorization %q, want %q", a, tt.wantAuth)
					}
				}
			}
		})
	}
}

func TestSeveralHostsSurviveOneDown(t *testing.T) {
	up := &miniES{}
	srvUp := httptest.NewServer(up)
	defer srvUp.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	cfg := testConfig(t, downURL)
	cfg.Hosts = []string{downURL, srvUp.URL}
	cfg.Bulk.MaxDocs = 1 // many requests, so both hosts are tried
	if _, err := shipOne(t, cfg, 6, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	if n := up.count(); n != 6 {
		t.Errorf("%d documents reached the live host, want 6", n)
	}
}

func TestTooLargeRequestIsSplit(t *testing.T) {
	// max_bytes 4096: the batch is cut into requests over its encoding,
	// which are split in turn.
	for _, maxBytes := range []int{0, 4096} {
		t.Run(fmt.Sprint("max_bytes=", maxBytes), func(t *testing.T) {
			es := &miniES{maxBody: 1500}
			srv := httptest.NewServer(es)
			defer srv.Close()
			cfg := testConfig(t, srv.URL)
			if maxBytes > 0 {
				cfg.Bulk.MaxBytes = maxBytes
			}
			s, err := shipOne(t, cfg, 12, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			if es.count() != 12 || es.n413 == 0 {
				t.Errorf("stored %d of 12 after %d 413s", es.count(), es.n413)
			}
			if st := s.Stats(); st.Indexed != 12 || st.DeadLettered != 0 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

// A bulk response must be read defensively: whatever Elasticsearch (or a
// proxy) answers, every document ends counted exactly once, retried, or the
// whole request is retried; never lost, never a panic.
func FuzzBulkResponse(f *testing.F) {
	f.Add(`{"errors":false}`, 3)
	f.Add(`{"errors":true,"items":[{"create":{"status":201}},{"create":{"status":409}},{"create":{"status":429}}]}`, 3)
	f.Add(`{"errors":true,"items":[{"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"x","caused_by":{"type":"y","reason":"z"}}}}]}`, 1)
	f.Add(`{"errors":true,"items":[{}]}`, 1)
	f.Add(`<html>`, 2)
	f.Fuzz(func(t *testing.T, resp string, n int) {
		n = 1 + abs(n)%5
		cfg := DefaultConfig()
		cfg.Retry.InitialBackoff = time.Millisecond
		s := newSink(cfg, fixedResponse(resp), nil, zap.NewNop())
		s.dlq = &dlqWriter{path: "fuzz", w: nopCloser{io.Discard}}
		h := newHarness(t, nil, "")
		enc := &encoder{}
		s.encode(enc, h.batch("f", n, ""))
		r := s.newRequest()
		for _, it := range enc.items {
			it.ack = nil
			r.add(enc.buf, it)
		}
		retry, err := s.attempt(context.Background(), newSender(s), r)
		st := s.Stats()
		if err != nil {
			if st.Indexed+st.Duplicates+st.DeadLettered != 0 {
				t.Fatalf("whole request to retry, yet %d documents counted", st.Indexed+st.Duplicates+st.DeadLettered)
			}
			return
		}
		if got := st.Indexed + st.Duplicates + st.DeadLettered + int64(len(retry)); got != int64(n) {
			t.Fatalf("response %q for %d documents: %d indexed, %d duplicates, %d dead, %d to retry", resp, n, st.Indexed, st.Duplicates, st.DeadLettered, len(retry))
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n {
			return 0
		}
		return -n
	}
	return n
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// fixedResponse answers every request with 200 and body.
type fixedResponse string

func (f fixedResponse) Perform(req *http.Request) (*http.Response, error) {
	req.Body.Close()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(string(f)))}, nil
}

// Against the double with security on: HTTPS with its CA, client
// certificates and basic auth. A wrong password is a whole-request 401:
// retried (an operator fixes credentials), never dead-lettered, and the
// batch stays unacknowledged.
func TestSecuredDouble(t *testing.T) {
	srv := estest.New(t, estest.WithTLS(true), estest.WithBasicAuth("shipper", "s3cret"))
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, srv.CACertPEM(), 0o600)
	certPEM, keyPEM, err := srv.IssueClientCert("shipper")
	if err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	os.WriteFile(cert, certPEM, 0o600)
	os.WriteFile(key, keyPEM, 0o600)
	secured := func(password string) Config {
		cfg := testConfig(t, srv.URL())
		cfg.TLS = TLSConfig{CAFile: ca, CertFile: cert, KeyFile: key}
		cfg.Username, cfg.Password = "shipper", password
		return cfg
	}

	cfg := secured("wrong")
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	h.write(s, h.batch("denied", 3, ""))
	waitFor(t, "401s to be retried", func() bool { return s.Stats().RequestRetries >= 3 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err == nil {
		t.Error("Shutdown reported success with every request refused")
	}
	if h.unacked() != 1 || len(readDLQ(t, cfg.DeadLetter.Path)) != 0 {
		t.Errorf("unacknowledged batches %d, dead letters %d: want 1 and 0", h.unacked(), len(readDLQ(t, cfg.DeadLetter.Path)))
	}

	cfg = secured("s3cret")
	s = newTestSink(t, cfg, nil)
	h = newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	h.write(s, h.batch("allowed", 3, ""))
	shutdown(t, s)
	h.check(0)
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Errorf("double at %s, not HTTPS", srv.URL())
	}
}
