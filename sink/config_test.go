package sink

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"gopkg.in/yaml.v3"

	"github.com/traceship/shipper"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		path    string
		warning bool
		msg     string
	}{
		{"no hosts", func(c *Config) { c.Hosts = nil }, "hosts", false, "at least one host"},
		{"cloud id instead of hosts", func(c *Config) { c.Hosts, c.CloudID = nil, "x:eHl6" }, "", false, ""},
		{"bad scheme", func(c *Config) { c.Hosts = []string{"ftp://es:9200"} }, "hosts[0]", false, `"http", "https"`},
		{"credentials in URL", func(c *Config) { c.Hosts = []string{"https://u:p@es:9200"} }, "hosts[0]", false, "password_file"},
		{"password twice", func(c *Config) { c.Username, c.Password, c.PasswordFile = "u", "p", "/f" }, "password_file", false, "not both"},
		{"password without user", func(c *Config) { c.Password = "p" }, "username", false, "needs a username"},
		{"cert without key", func(c *Config) { c.TLS.CertFile = "c.pem" }, "tls.key_file", false, "go together"},
		{"insecure warns", func(c *Config) { c.TLS.InsecureSkipVerify = true }, "tls.insecure_skip_verify", true, "verification is off"},
		{"mode", func(c *Config) { c.Mode = "stream" }, "mode", false, `"index", "data_stream"`},
		{"workers", func(c *Config) { c.Bulk.Workers = 0 }, "bulk.workers", false, "between 1 and 64"},
		{"flush interval", func(c *Config) { c.Bulk.FlushInterval = 0 }, "bulk.flush_interval", false, "positive"},
		{"budget below request", func(c *Config) { c.Bulk.MaxInFlightBytes = 512 << 10 }, "bulk.max_in_flight_bytes", false, "less than bulk.max_bytes"},
		{"backoff order", func(c *Config) { c.Retry.MaxBackoff = time.Millisecond }, "retry.max_backoff", false, "less than retry.initial_backoff"},
		{"negative retries", func(c *Config) { c.Retry.MaxRetries = -1 }, "retry.max_retries", false, "0 retries without limit"},
		{"dlq size", func(c *Config) { c.DeadLetter.MaxSizeMB = 0 }, "dead_letter.max_size_mb", false, "at least 1"},
		{"dlq backups deleted warns", func(c *Config) { c.DeadLetter.MaxBackups = 5 }, "dead_letter.max_backups", true, "are deleted"},
		{"warm after delete", func(c *Config) { c.Setup.ILM.WarmAfter = 40 * day }, "setup.ilm.warm_after", false, "not before delete_after"},
		{"shard size", func(c *Config) { c.Setup.ILM.RolloverMaxPrimaryShardSize = "50 gigs" }, "setup.ilm.rollover_max_primary_shard_size", false, "50gb"},
		{"template name", func(c *Config) { c.Setup.Template.Name = "Shipper" }, "setup.template.name", false, "lower-case"},
		{"shards", func(c *Config) { c.Setup.Template.Shards = 0 }, "setup.template.shards", false, "at least 1"},
		{"low priority warns", func(c *Config) { c.Setup.Template.Priority = 100 }, "setup.template.priority", true, "built-in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.path == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var fe *shipper.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a FieldError", err)
			}
			if fe.Path != tt.path || fe.Warning != tt.warning || !strings.Contains(fe.Err.Error(), tt.msg) {
				t.Errorf("got %q warning=%v %q; want path %q warning=%v containing %q", fe.Path, fe.Warning, fe.Err, tt.path, tt.warning, tt.msg)
			}
		})
	}
}

// Every problem is reported, not just the first.
func TestValidateReportsAll(t *testing.T) {
	c := DefaultConfig()
	c.Mode, c.Bulk.Workers, c.Setup.Template.Shards = "x", 0, 0
	err := c.Validate()
	if n := len(unjoin(err)); n != 3 {
		t.Errorf("%d problems reported, want 3: %v", n, err)
	}
}

// The YAML keys are the documented ones: a config written with them
// decodes into the fields, and unknown keys are refused.
func TestYAMLKeys(t *testing.T) {
	src := `
hosts: [https://es1:9200, https://es2:9200]
username: shipper
password_file: /run/secrets/es
tls: {ca_file: /etc/ca.pem}
mode: data_stream
bulk: {max_bytes: 1048576, max_docs: 500, flush_interval: 2s, workers: 4, compression: false, max_in_flight_bytes: 8388608}
retry: {initial_backoff: 200ms, max_backoff: 1m, max_retries: 0}
dead_letter: {path: /var/lib/shipper/dlq.ndjson, max_size_mb: 10, max_backups: 0}
setup:
  enabled: true
  ilm: {enabled: true, policy_name: logs, rollover_max_age: 24h, rollover_max_primary_shard_size: 50gb, warm_after: 72h, delete_after: 720h}
  template: {name: shipper, shards: 1, replicas: 0, priority: 250, overwrite: false}
`
	c := DefaultConfig()
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Bulk.FlushInterval != 2*time.Second || c.Setup.ILM.DeleteAfter != 30*day || c.Mode != ModeDataStream || c.Hosts[1] != "https://es2:9200" {
		t.Errorf("decoded %+v", c)
	}
	dec = yaml.NewDecoder(strings.NewReader("bulk: {max_byte: 10}\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err == nil {
		t.Error("unknown key accepted")
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	c := DefaultConfig()
	c.Mode = "nope"
	if _, err := New(c, zap.NewNop(), nil); err == nil || !strings.Contains(err.Error(), "mode") {
		t.Errorf("New = %v, want the mode error", err)
	}
	c = DefaultConfig()
	c.TLS.InsecureSkipVerify = true // a warning does not stop it
	c.DeadLetter.Path = filepath.Join(t.TempDir(), "dlq.ndjson")
	s, err := New(c, zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown(t.Context())
}

func TestDeadLetterPathDefault(t *testing.T) {
	if got := DefaultConfig().DeadLetterPath("/var/lib/shipper"); got != filepath.Join("/var/lib/shipper", "dlq", "dead-letter.ndjson") {
		t.Errorf("DeadLetterPath = %q", got)
	}
}

// The bulk body of a batch, byte for byte: action lines with create, the
// index and the deterministic _id, then the document.
func TestBulkBodyGolden(t *testing.T) {
	s := newSink(DefaultConfig(), nil, nil, zap.NewNop())
	enc := &encoder{}
	b := benchBatch(t, 5)
	b.Events[2].Drop = "sample.ratio"
	s.encode(enc, b)
	golden := filepath.Join("testdata", "bulk.golden.ndjson")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, enc.buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./sink -run TestBulkBodyGolden -update)", err)
	}
	if string(enc.buf) != string(want) {
		t.Errorf("bulk body differs from %s (-update to accept):\n%s", golden, enc.buf)
	}
}
