package sink

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/traceship/shipper"
)

// Config is the elasticsearch: section of pipelines.yaml.
type Config struct {
	// Hosts are the Elasticsearch URLs requests are spread over
	// (round-robin, failed nodes retried later). Ignored when cloud_id is set.
	Hosts []string `yaml:"hosts"`
	// Username for HTTP basic authentication.
	Username string `yaml:"username"`
	// Password for HTTP basic authentication. Prefer password_file or
	// ${ENV_VAR}; never logged.
	Password string `yaml:"password"`
	// PasswordFile is a file holding the password (trailing newline
	// removed), for Kubernetes and systemd secrets.
	PasswordFile string `yaml:"password_file"`
	// APIKey is an Elasticsearch API key, base64-encoded "id:key" as
	// Kibana shows it; takes precedence over username/password. Never logged.
	APIKey string `yaml:"api_key"`
	// APIKeyFile is a file holding the API key (trailing newline removed).
	APIKeyFile string `yaml:"api_key_file"`
	// CloudID is the Elastic Cloud deployment id; replaces hosts.
	CloudID string `yaml:"cloud_id"`
	// TLS configures HTTPS to Elasticsearch.
	TLS TLSConfig `yaml:"tls"`
	// Mode is how documents are written: "index" writes date-rotated
	// indices named by each pipeline's index.pattern; "data_stream" writes
	// logs-<dataset>-<namespace> data streams (rolled over by ILM).
	Mode string `yaml:"mode"`
	// Bulk sizes and paces the bulk requests.
	Bulk BulkConfig `yaml:"bulk"`
	// Retry paces the retries of failed requests and documents.
	Retry RetryConfig `yaml:"retry"`
	// DeadLetter is where documents Elasticsearch refuses for good go
	// (mapping conflicts, invalid documents), to be re-sent with
	// "shipper dlq replay".
	DeadLetter DeadLetterConfig `yaml:"dead_letter"`
	// Setup is what "shipper setup", and "shipper run" at start, install:
	// the ILM policy and the index template.
	Setup SetupConfig `yaml:"setup"`
}

// TLSConfig configures HTTPS.
type TLSConfig struct {
	// CAFile is a PEM file of the certificate authorities to trust instead
	// of the system's.
	CAFile string `yaml:"ca_file"`
	// CertFile is the PEM client certificate, for mutual TLS.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM key of cert_file.
	KeyFile string `yaml:"key_file"`
	// InsecureSkipVerify turns off certificate verification: anyone on the
	// path can read and change the logs. For tests only; logged loudly.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// BulkConfig sizes and paces bulk requests.
type BulkConfig struct {
	// MaxBytes is the uncompressed size at which a bulk request is sent.
	// A batch whose documents fill half of it (or half of max_docs) is sent
	// at once, in requests of its own; smaller ones share requests.
	// Some thousands of documents per request already amortise a request's
	// cost; larger requests only hold more memory (and tail.max_inflight_bytes
	// must stay at or above twice this plus tail.batch_max_bytes, see there).
	MaxBytes int `yaml:"max_bytes"`
	// MaxDocs is the number of documents at which a bulk request is sent;
	// 0 means no limit besides max_bytes.
	MaxDocs int `yaml:"max_docs"`
	// FlushInterval is the longest a document waits in a partly filled
	// request before it is sent.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Workers is the number of bulk requests in flight at once.
	Workers int `yaml:"workers"`
	// Compression gzips request bodies: usually 5-10 times fewer bytes on
	// the wire for a little CPU.
	Compression bool `yaml:"compression"`
	// MaxInFlightBytes bounds the uncompressed bytes buffered, being sent or
	// waiting for a retry; past it, writes block and reading slows down.
	// The documents in those bodies are also held by tail.max_inflight_bytes,
	// which usually binds first; a larger value here buys nothing but memory.
	MaxInFlightBytes int `yaml:"max_in_flight_bytes"`
}

// RetryConfig paces retries: exponential backoff with full jitter.
type RetryConfig struct {
	// InitialBackoff is the wait before the first retry.
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	// MaxBackoff caps the wait between retries.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// MaxRetries is how often a request or document is retried before it
	// is dead-lettered; 0 retries without limit (backpressure reaches the
	// files; nothing is dropped).
	MaxRetries int `yaml:"max_retries"`
}

// DeadLetterConfig configures the dead-letter queue file.
type DeadLetterConfig struct {
	// Path is the NDJSON file dead-lettered documents are appended to.
	// Empty means <state_dir>/dlq/dead-letter.ndjson.
	Path string `yaml:"path"`
	// MaxSizeMB is the size in megabytes at which the file is rotated.
	MaxSizeMB int `yaml:"max_size_mb"`
	// MaxBackups is the number of rotated files kept; 0 keeps all. Dead
	// letters count as delivered: those in a rotated file deleted beyond
	// this number are gone, so keep all unless something else keeps them.
	MaxBackups int `yaml:"max_backups"`
}

// SetupConfig says what setup installs.
type SetupConfig struct {
	// Enabled installs the ILM policy and index template at "shipper run"
	// start, as "shipper setup" does.
	Enabled bool `yaml:"enabled"`
	// ILM is the index lifecycle policy.
	ILM ILMConfig `yaml:"ilm"`
	// Template is the composable index template.
	Template TemplateConfig `yaml:"template"`
}

// ILMConfig is the index lifecycle policy setup writes.
type ILMConfig struct {
	// Enabled writes the policy and names it in the template.
	Enabled bool `yaml:"enabled"`
	// PolicyName is the name of the ILM policy.
	PolicyName string `yaml:"policy_name"`
	// RolloverMaxAge rolls a data stream's write index over at this age
	// (data_stream mode only; date-rotated indices need no rollover).
	RolloverMaxAge time.Duration `yaml:"rollover_max_age"`
	// RolloverMaxPrimaryShardSize rolls over at this primary shard size,
	// as Elasticsearch writes sizes ("50gb"; data_stream mode only).
	RolloverMaxPrimaryShardSize string `yaml:"rollover_max_primary_shard_size"`
	// WarmAfter moves indices to the warm phase (read-only, force-merged to
	// one segment) at this age; 0 means no warm phase.
	WarmAfter time.Duration `yaml:"warm_after"`
	// DeleteAfter deletes indices at this age; 0 keeps them forever.
	DeleteAfter time.Duration `yaml:"delete_after"`
}

// TemplateConfig is the composable index template setup writes.
type TemplateConfig struct {
	// Name of the index template.
	Name string `yaml:"name"`
	// Shards is the number of primary shards of each index. One index per
	// service per day makes many indices; keep this at 1 unless one index
	// takes tens of gigabytes a day.
	Shards int `yaml:"shards"`
	// Replicas is the number of replicas of each shard.
	Replicas int `yaml:"replicas"`
	// Priority of the template; above the built-in templates (100) so that
	// no built-in one shadows it.
	Priority int `yaml:"priority"`
	// Overwrite replaces an existing template or ILM policy of the same name
	// that shipper did not write, or that a newer shipper wrote.
	Overwrite bool `yaml:"overwrite"`
}

// Modes are the allowed values of mode.
const (
	ModeIndex      = "index"
	ModeDataStream = "data_stream"
)

const day = 24 * time.Hour

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Hosts: []string{"http://localhost:9200"},
		Mode:  ModeIndex,
		Bulk: BulkConfig{
			MaxBytes:         1 << 20,
			MaxDocs:          0,
			FlushInterval:    time.Second,
			Workers:          2,
			Compression:      true,
			MaxInFlightBytes: 4 << 20,
		},
		Retry: RetryConfig{
			InitialBackoff: 100 * time.Millisecond,
			MaxBackoff:     30 * time.Second,
			MaxRetries:     0,
		},
		DeadLetter: DeadLetterConfig{
			MaxSizeMB:  100,
			MaxBackups: 0,
		},
		Setup: SetupConfig{
			Enabled: true,
			ILM: ILMConfig{
				Enabled:                     true,
				PolicyName:                  "shipper",
				RolloverMaxAge:              day,
				RolloverMaxPrimaryShardSize: "50gb",
				DeleteAfter:                 30 * day,
			},
			Template: TemplateConfig{
				Name:     "shipper",
				Shards:   1,
				Replicas: 1,
				Priority: 200,
			},
		},
	}
}

// DeadLetterPath returns the dead-letter file: dead_letter.path, or
// <stateDir>/dlq/dead-letter.ndjson.
func (c Config) DeadLetterPath(stateDir string) string {
	if c.DeadLetter.Path != "" {
		return c.DeadLetter.Path
	}
	return stateDir + string(os.PathSeparator) + "dlq" + string(os.PathSeparator) + "dead-letter.ndjson"
}

// Validate reports every problem of c as *shipper.FieldError with paths
// relative to the elasticsearch: section. It reads nothing from disk.
func (c Config) Validate() error {
	var errs []error
	bad := func(path string, format string, args ...any) {
		errs = append(errs, &shipper.FieldError{Path: path, Err: fmt.Errorf(format, args...)})
	}
	if c.CloudID == "" && len(c.Hosts) == 0 {
		bad("hosts", "at least one host is needed (or cloud_id)")
	}
	for i, h := range c.Hosts {
		u, err := url.Parse(h)
		switch {
		case err != nil:
			bad(fmt.Sprintf("hosts[%d]", i), "not a URL: %v", err)
		case u.Scheme != "http" && u.Scheme != "https":
			bad(fmt.Sprintf("hosts[%d]", i), "scheme %q is not one of \"http\", \"https\"", u.Scheme)
		case u.Host == "":
			bad(fmt.Sprintf("hosts[%d]", i), "no host in %q", h)
		case u.User != nil:
			bad(fmt.Sprintf("hosts[%d]", i), "credentials in the URL would be logged; use username and password_file")
		}
	}
	if c.Password != "" && c.PasswordFile != "" {
		bad("password_file", "set either password or password_file, not both")
	}
	if c.APIKey != "" && c.APIKeyFile != "" {
		bad("api_key_file", "set either api_key or api_key_file, not both")
	}
	if (c.Password != "" || c.PasswordFile != "") && c.Username == "" {
		bad("username", "a password needs a username")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls.key_file", "cert_file and key_file go together")
	}
	if c.TLS.InsecureSkipVerify {
		errs = append(errs, &shipper.FieldError{Path: "tls.insecure_skip_verify", Warning: true,
			Err: errors.New("certificate verification is off: anyone on the network path can read and change the logs")})
	}
	if c.Mode != ModeIndex && c.Mode != ModeDataStream {
		bad("mode", "%q is not one of %q, %q", c.Mode, ModeIndex, ModeDataStream)
	}
	if c.Bulk.MaxBytes < 1024 {
		bad("bulk.max_bytes", "%d is less than 1024", c.Bulk.MaxBytes)
	}
	if c.Bulk.MaxDocs < 0 {
		bad("bulk.max_docs", "must not be negative")
	}
	if c.Bulk.FlushInterval <= 0 {
		bad("bulk.flush_interval", "must be positive")
	}
	if c.Bulk.Workers < 1 || c.Bulk.Workers > 64 {
		bad("bulk.workers", "%d is not between 1 and 64", c.Bulk.Workers)
	}
	if c.Bulk.MaxInFlightBytes < c.Bulk.MaxBytes {
		bad("bulk.max_in_flight_bytes", "%d is less than bulk.max_bytes (%d)", c.Bulk.MaxInFlightBytes, c.Bulk.MaxBytes)
	}
	if c.Retry.InitialBackoff <= 0 {
		bad("retry.initial_backoff", "must be positive")
	}
	if c.Retry.MaxBackoff < c.Retry.InitialBackoff {
		bad("retry.max_backoff", "%v is less than retry.initial_backoff (%v)", c.Retry.MaxBackoff, c.Retry.InitialBackoff)
	}
	if c.Retry.MaxRetries < 0 {
		bad("retry.max_retries", "must not be negative (0 retries without limit)")
	}
	if c.DeadLetter.MaxSizeMB < 1 {
		bad("dead_letter.max_size_mb", "must be at least 1")
	}
	if c.DeadLetter.MaxBackups < 0 {
		bad("dead_letter.max_backups", "must not be negative (0 keeps all)")
	}
	if c.DeadLetter.MaxBackups > 0 {
		errs = append(errs, &shipper.FieldError{Path: "dead_letter.max_backups", Warning: true,
			Err: fmt.Errorf("dead letters in rotated files beyond the %d newest are deleted, and they count as delivered: 0 keeps all", c.DeadLetter.MaxBackups)})
	}
	ilm := c.Setup.ILM
	if ilm.Enabled {
		if ilm.PolicyName == "" || strings.ContainsAny(ilm.PolicyName, ` ,"*\/?<>|#`) {
			bad("setup.ilm.policy_name", "%q is not a valid policy name", ilm.PolicyName)
		}
		if ilm.DeleteAfter < 0 || ilm.WarmAfter < 0 || ilm.RolloverMaxAge < 0 {
			bad("setup.ilm", "ages must not be negative")
		}
		if ilm.DeleteAfter > 0 && ilm.WarmAfter >= ilm.DeleteAfter {
			bad("setup.ilm.warm_after", "%v is not before delete_after (%v)", ilm.WarmAfter, ilm.DeleteAfter)
		}
		if ilm.DeleteAfter > 0 && ilm.DeleteAfter < time.Second {
			bad("setup.ilm.delete_after", "%v is shorter than a second", ilm.DeleteAfter)
		}
		if c.Mode == ModeDataStream && ilm.RolloverMaxAge == 0 && ilm.RolloverMaxPrimaryShardSize == "" {
			bad("setup.ilm", "data_stream mode needs rollover_max_age or rollover_max_primary_shard_size")
		}
		if s := ilm.RolloverMaxPrimaryShardSize; s != "" && !validByteSize(s) {
			bad("setup.ilm.rollover_max_primary_shard_size", "%q is not a size such as \"50gb\" (units b, kb, mb, gb, tb, pb)", s)
		}
	}
	t := c.Setup.Template
	if t.Name == "" || strings.ToLower(t.Name) != t.Name || strings.ContainsAny(t.Name, ` ,"*\/?<>|#`) {
		bad("setup.template.name", "%q is not a valid template name (lower-case, no spaces or \\/*?\"<>|,#)", t.Name)
	}
	if t.Shards < 1 {
		bad("setup.template.shards", "must be at least 1")
	}
	if t.Replicas < 0 {
		bad("setup.template.replicas", "must not be negative")
	}
	if t.Priority < 0 {
		bad("setup.template.priority", "must not be negative")
	} else if t.Priority <= 100 {
		errs = append(errs, &shipper.FieldError{Path: "setup.template.priority", Warning: true,
			Err: fmt.Errorf("%d is not above 100, the priority of Elasticsearch's built-in templates: an overlapping built-in template would shadow it", t.Priority)})
	}
	return errors.Join(errs...)
}

func validByteSize(s string) bool {
	s = strings.ToLower(s)
	for _, u := range []string{"pb", "tb", "gb", "mb", "kb", "b"} {
		if num, ok := strings.CutSuffix(s, u); ok {
			if num == "" {
				return false
			}
			for _, c := range num {
				if c < '0' || c > '9' {
					return false
				}
			}
			return true
		}
	}
	return false
}
