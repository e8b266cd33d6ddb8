package index

import (
	"errors"
	"fmt"
	"strings"

	"github.com/traceship/shipper"
)

// Config is a pipeline's index: section.
type Config struct {
	// Pattern is the Logstash-style index name pattern: field references
	// %{[service.name]} (also host.name, kubernetes.namespace, log.level and
	// any application field by its dotted path) and a date %{+yyyy.MM.dd}
	// taken from the event's @timestamp in UTC. Date tokens: yyyy, yy, MM, dd,
	// HH, xxxx (ISO week-based year), ww (ISO week). Names are lower-cased and
	// made valid for Elasticsearch. Avoid names of the form logs-*-*: the
	// built-in "logs" template of Elasticsearch 8 turns them into data
	// streams. Used when elasticsearch.mode is "index".
	Pattern string `yaml:"pattern"`
	// Fallback replaces a field reference whose field is missing, empty, or
	// not a string, number or boolean.
	Fallback string `yaml:"fallback"`
	// DataStream names the data stream logs-<dataset>-<namespace> when
	// elasticsearch.mode is "data_stream".
	DataStream DataStreamConfig `yaml:"data_stream"`
}

// DataStreamConfig names the data stream of a pipeline in data_stream mode,
// following Elastic's naming scheme logs-<dataset>-<namespace>.
type DataStreamConfig struct {
	// Dataset is the dataset part: text and field references, no date.
	// '-' in field values becomes '_' (data stream parts may not hold '-').
	Dataset string `yaml:"dataset"`
	// Namespace is the namespace part (an environment or team, say): text
	// and field references, no date.
	Namespace string `yaml:"namespace"`
}

// DefaultPattern is the default index name pattern: one index per service per
// day, and not of the logs-*-* shape.
const DefaultPattern = "shipper-%{[service.name]}-%{+yyyy.MM.dd}"

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Pattern:  DefaultPattern,
		Fallback: "unknown",
		DataStream: DataStreamConfig{
			Dataset:   "%{[service.name]}",
			Namespace: "default",
		},
	}
}

// Validate reports every problem of c, as *shipper.FieldError with paths
// relative to the index: section. A pattern that could fall into the
// logs-*-* data stream trap is reported as a warning.
func (c Config) Validate() error {
	var errs []error
	p, err := Compile(c.Pattern, c.Fallback)
	switch {
	case err != nil && strings.Contains(err.Error(), "fallback"):
		errs = append(errs, &shipper.FieldError{Path: "fallback", Err: err})
	case err != nil:
		errs = append(errs, &shipper.FieldError{Path: "pattern", Err: err})
	case p.InDataStreamTrap():
		errs = append(errs, &shipper.FieldError{Path: "pattern", Warning: true, Err: fmt.Errorf(
			"index names of %q can match %q, the pattern of Elasticsearch's built-in \"logs\" template (priority 100): they would become data streams and the shipper's template and ILM policy would not apply; rename the indices, or set elasticsearch.mode: data_stream", c.Pattern, DataStreamTrap)})
	}
	for _, f := range []struct{ path, v string }{{"data_stream.dataset", c.DataStream.Dataset}, {"data_stream.namespace", c.DataStream.Namespace}} {
		if err := checkDataStreamPart(f.v); err != nil {
			errs = append(errs, &shipper.FieldError{Path: f.path, Err: err})
		}
	}
	if len(errs) == 0 {
		if _, err := c.Compile(true); err != nil {
			errs = append(errs, &shipper.FieldError{Path: "data_stream", Err: err})
		}
	}
	return errors.Join(errs...)
}

func checkDataStreamPart(s string) error {
	switch {
	case s == "":
		return errors.New("must not be empty")
	case strings.Contains(s, "%{+"):
		return errors.New("a data stream name holds no date: rollover makes its backing indices")
	case strings.ContainsRune(stripRefs(s), '-'):
		return errors.New("must not contain '-': data stream names are logs-<dataset>-<namespace>")
	}
	return nil
}

// stripRefs removes %{...} references, leaving the literal text.
func stripRefs(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "%{")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return b.String()
		}
		s = s[i+j+1:]
	}
}

// Compile compiles the pattern of c: Pattern in index mode, or the data
// stream name logs-<dataset>-<namespace> when dataStream is true.
func (c Config) Compile(dataStream bool) (*Pattern, error) {
	if !dataStream {
		return Compile(c.Pattern, c.Fallback)
	}
	for _, s := range []string{c.DataStream.Dataset, c.DataStream.Namespace} {
		if err := checkDataStreamPart(s); err != nil {
			return nil, fmt.Errorf("data stream part %q: %w", s, err)
		}
	}
	return compile("logs-"+c.DataStream.Dataset+"-"+c.DataStream.Namespace, c.Fallback, true)
}
