package estest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
)

func TestAuthentication(t *testing.T) {
	srv := New(t, WithBasicAuth("elastic", "changeme"), WithAPIKey(EncodeAPIKey("id1", "secret")))
	tests := []struct {
		name, auth string
		status     int
		reason     string
	}{
		{"none", "", 401, "missing authentication credentials for REST request [/]"},
		{"wrong password", "Basic " + EncodeAPIKey("elastic", "nope"), 401, "unable to authenticate user [elastic] for REST request [/]"},
		{"right password", "Basic " + EncodeAPIKey("elastic", "changeme"), 200, ""},
		{"right api key", "ApiKey " + EncodeAPIKey("id1", "secret"), 200, ""},
		{"wrong api key", "ApiKey " + EncodeAPIKey("id1", "other"), 401, "unable to authenticate with provided credentials"},
		{"bearer", "Bearer x", 401, "unable to authenticate with provided credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r reply
			if tc.auth == "" {
				r = call(t, "GET", srv.URL()+"/", "")
			} else {
				r = call(t, "GET", srv.URL()+"/", "", "Authorization", tc.auth)
			}
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 401 {
				if at(r.obj(t), "error", "type") != "security_exception" || !strings.HasPrefix(at(r.obj(t), "error", "reason").(string), tc.reason) {
					t.Errorf("body %s, want security_exception %q", r.body, tc.reason)
				}
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("no WWW-Authenticate header")
				}
			}
		})
	}
	for _, cfg := range []elasticsearch.Config{
		{Addresses: []string{srv.URL()}, Username: "elastic", Password: "changeme"},
		{Addresses: []string{srv.URL()}, APIKey: EncodeAPIKey("id1", "secret")},
	} {
		c, err := elasticsearch.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Info()
		if err != nil || res.StatusCode != 200 {
			t.Errorf("official client with credentials: %v %v", res, err)
		} else {
			res.Body.Close()
		}
	}
}

func TestTLS(t *testing.T) {
	srv := New(t, WithTLS(false))
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("URL %s", srv.URL())
	}
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL()}, CACert: srv.CACertPEM()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Info()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("client trusting the CA: %v %v", res, err)
	}
	res.Body.Close()
	untrusting := &http.Client{Transport: &http.Transport{}}
	if _, err := untrusting.Get(srv.URL()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("client without the CA: err %v, want a certificate error", err)
	}
	// Down/Up keeps serving TLS on the same address.
	srv.Down()
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if res, err := c.Info(); err != nil {
		t.Errorf("after Down/Up: %v", err)
	} else {
		res.Body.Close()
	}
}

func TestTLSClientCertificates(t *testing.T) {
	srv := New(t, WithTLS(true))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM())
	get := func(certs []tls.Certificate) error {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}
		defer tr.CloseIdleConnections()
		res, err := (&http.Client{Transport: tr}).Get(srv.URL() + "/")
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	if err := get(nil); err == nil {
		t.Error("request without a client certificate succeeded")
	}
	certPEM, keyPEM, err := srv.IssueClientCert("shipper")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := get([]tls.Certificate{pair}); err != nil {
		t.Errorf("with a client certificate: %v", err)
	}
}
