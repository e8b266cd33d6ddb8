package sink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.uber.org/zap"
)

// NewClient builds a go-elasticsearch client from the elasticsearch section
// (hosts, auth, TLS, Cloud ID) for commands that query the cluster, such as
// `shipper trace`. Close it with CloseClient.
func NewClient(cfg Config, logger *zap.Logger) (*elasticsearch.Client, error) {
	return newClient(cfg, logger)
}

// newClient builds the go-elasticsearch client: its transport gives several
// hosts with dead-node handling, basic auth, API keys, Cloud ID and the
// product check. Its own retries are off: the sink retries, with backoff and
// exact acknowledgement.
func newClient(cfg Config, logger *zap.Logger) (*elasticsearch.Client, error) {
	password, apiKey, err := credentials(cfg)
	if err != nil {
		return nil, err
	}
	tr, err := newTransport(cfg.TLS, cfg.Bulk.Workers)
	if err != nil {
		return nil, err
	}
	if cfg.TLS.InsecureSkipVerify {
		logger.Warn("TLS certificate verification is OFF (elasticsearch.tls.insecure_skip_verify): anyone on the network path can read and change the logs; use tls.ca_file instead")
	}
	es := elasticsearch.Config{
		Username:     cfg.Username,
		Password:     password,
		APIKey:       apiKey,
		CloudID:      cfg.CloudID,
		DisableRetry: true,
		Transport:    tr,
	}
	if cfg.CloudID == "" {
		es.Addresses = cfg.Hosts
	}
	c, err := elasticsearch.NewClient(es)
	if err != nil {
		// The client's errors name the setting, never the secret.
		return nil, fmt.Errorf("creating Elasticsearch client: %w", err)
	}
	return c, nil
}

// credentials returns the password and the API key of cfg, read from their
// files when set so.
func credentials(cfg Config) (password, apiKey string, err error) {
	password, err = secret(cfg.Password, cfg.PasswordFile)
	if err != nil {
		return "", "", fmt.Errorf("reading password_file: %w", err)
	}
	apiKey, err = secret(cfg.APIKey, cfg.APIKeyFile)
	if err != nil {
		return "", "", fmt.Errorf("reading api_key_file: %w", err)
	}
	return password, apiKey, nil
}

// secret returns the value, or the contents of file without the trailing
// newline editors and "kubectl create secret" leave.
func secret(value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", errors.New(file + " is empty")
	}
	return s, nil
}

func newTransport(c TLSConfig, workers int) (*http.Transport, error) {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   workers + 2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		ForceAttemptHTTP2:     false, // Elasticsearch speaks HTTP/1.1
	}
	if c.CAFile == "" && c.CertFile == "" && !c.InsecureSkipVerify {
		return tr, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // opt-in, logged loudly
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading tls.cert_file and tls.key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = tc
	return tr, nil
}
