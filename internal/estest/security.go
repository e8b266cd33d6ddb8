package estest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"
)

// WithBasicAuth requires HTTP basic authentication with this user and
// password on every request (Elasticsearch with security enabled); others
// get 401 security_exception.
func WithBasicAuth(user, password string) Option {
	return func(o *options) { o.basicUser, o.basicPass = user, password }
}

// WithAPIKey requires "Authorization: ApiKey <encoded>" on every request,
// where encoded is what clients send: base64("<id>:<api_key>") (the value
// go-elasticsearch takes as Config.APIKey). With WithBasicAuth too, either
// is accepted.
func WithAPIKey(encoded string) Option { return func(o *options) { o.apiKey = encoded } }

// WithTLS serves HTTPS with a certificate for 127.0.0.1 and localhost
// issued by a CA generated for this server (CACertPEM). With clientAuth,
// clients must present a certificate from that CA (IssueClientCert).
func WithTLS(clientAuth bool) Option {
	return func(o *options) { o.tls, o.clientAuth = true, clientAuth }
}

// EncodeAPIKey returns the encoded form of an API key id and secret, as
// Elasticsearch's create API key response gives it.
func EncodeAPIKey(id, key string) string {
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + key))
}

// authenticate checks credentials when the server requires them; it
// returns a 401 response to send, or nil.
func (s *Server) authenticate(r *http.Request) *response {
	o := &s.opts
	if o.basicUser == "" && o.apiKey == "" {
		return nil
	}
	auth := r.Header.Get("Authorization")
	uri := r.URL.RequestURI()
	scheme, cred, _ := strings.Cut(auth, " ")
	switch {
	case auth == "":
		return unauthorized("missing authentication credentials for REST request [" + uri + "]")
	case strings.EqualFold(scheme, "Basic") && o.basicUser != "":
		user, pass, ok := r.BasicAuth()
		if ok && subtle.ConstantTimeCompare([]byte(user), []byte(o.basicUser)) == 1 &&
			subtle.ConstantTimeCompare([]byte(pass), []byte(o.basicPass)) == 1 {
			return nil
		}
		return unauthorized("unable to authenticate user [" + user + "] for REST request [" + uri + "]")
	case strings.EqualFold(scheme, "ApiKey") && o.apiKey != "":
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(cred)), []byte(o.apiKey)) == 1 {
			return nil
		}
	}
	return unauthorized("unable to authenticate with provided credentials and anonymous access is not allowed for this request")
}

func unauthorized(reason string) *response {
	r := errorResponse(401, &esError{Type: "security_exception", Reason: reason})
	return &r
}

// tlsState is the generated PKI of a TLS server.
type tlsState struct {
	caCert    *x509.Certificate
	caKey     *ecdsa.PrivateKey
	caPEM     []byte
	serverCfg *tls.Config
}

func newTLSState(clientAuth bool) (*tlsState, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "estest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	st := &tlsState{caCert: caCert, caKey: caKey, caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	certPEM, keyPEM, err := st.issue("127.0.0.1", x509.ExtKeyUsageServerAuth, 2)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("loading server certificate: %w", err)
	}
	st.serverCfg = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if clientAuth {
		pool := x509.NewCertPool()
		pool.AddCert(caCert)
		st.serverCfg.ClientCAs = pool
		st.serverCfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return st, nil
}

func (st *tlsState) issue(cn string, usage x509.ExtKeyUsage, serial int64) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, st.caCert, &key.PublicKey, st.caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("creating certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}

// CACertPEM returns the PEM of the CA that signed the server certificate
// (what a client's CA file holds), or nil without WithTLS.
func (s *Server) CACertPEM() []byte {
	if s.tls == nil {
		return nil
	}
	return append([]byte(nil), s.tls.caPEM...)
}

// IssueClientCert returns a client certificate and key (PEM) signed by the
// server's CA, for WithTLS(true).
func (s *Server) IssueClientCert(commonName string) (certPEM, keyPEM []byte, err error) {
	if s.tls == nil {
		return nil, nil, errors.New("estest: IssueClientCert without WithTLS")
	}
	s.mu.Lock()
	s.idCounter++
	serial := int64(s.idCounter) + 100
	s.mu.Unlock()
	return s.tls.issue(commonName, x509.ExtKeyUsageClientAuth, serial)
}
