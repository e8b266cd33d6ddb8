package sample

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/traceship/shipper"
)

// Config is the `sample:` section of a pipeline.
//
// The decision for one event is taken in this order, the first that applies
// winning: an event at one of always_keep_levels is kept; with
// respect_parent_sampled, an event whose trace context says "sampled" is
// kept; the first rule whose condition matches decides with its ratio;
// otherwise ratio decides. Events kept so far then pass the rate limit.
type Config struct {
	// Ratio is the share of traces kept, from 0 to 1. An event with a
	// trace.id is kept exactly when the OpenTelemetry SDKs' TraceIDRatioBased
	// sampler at the same ratio would sample its trace, so every line of a
	// trace is kept or dropped together, on every node. An event without a
	// trace.id is decided the same way from a hash of its raw line. Kept
	// events record the ratio in sample.ratio (when below 1) so that counts
	// can be scaled back up.
	Ratio float64 `yaml:"ratio"`
	// AlwaysKeepLevels are the log.level values that are always kept,
	// whatever the ratio and rules say: any of trace, debug, info, warn,
	// error, fatal.
	AlwaysKeepLevels []string `yaml:"always_keep_levels"`
	// RespectParentSampled keeps every event whose trace context (W3C
	// traceparent, B3, ...) says the caller sampled the trace.
	RespectParentSampled bool `yaml:"respect_parent_sampled"`
	// Rules give other ratios to events matching a condition; the first
	// rule that matches decides.
	Rules []Rule `yaml:"rules"`
	// RateLimit, when set, caps the events kept per second per key; what it
	// drops is counted and reported once per interval as a summary event.
	RateLimit *RateLimit `yaml:"rate_limit"`
	// KeepTraceOnError, when set, holds the events of traces the sampling
	// would drop for a while, and ships them if an event of the same trace
	// at one of always_keep_levels arrives in that time.
	KeepTraceOnError *KeepTraceOnError `yaml:"keep_trace_on_error"`
}

// Rule is one sampling rule: events matching When are kept at Ratio.
type Rule struct {
	// When is the condition an event must match.
	When Condition `yaml:"when"`
	// Ratio is the share kept of the events matching When, from 0 (drop
	// them all) to 1 (keep them all). It is applied per trace like the
	// top-level ratio.
	Ratio float64 `yaml:"ratio"`
}

// Condition tests one field of an event. Exactly one of equals, in, prefix,
// exists and regex must be given. A string field is compared by its decoded
// text; a number or boolean by its JSON text (equals: "200" matches 200).
type Condition struct {
	// Field is the field's dotted path: log.level, service.name, host.name,
	// trace.id and span.id name the fields the agent decoded; any other path
	// is looked up in the application's fields the way Elasticsearch reads
	// dotted names.
	Field string `yaml:"field"`
	// Equals matches when the field's value is exactly this text.
	Equals *string `yaml:"equals"`
	// In matches when the field's value is one of these texts.
	In []string `yaml:"in"`
	// Prefix matches when the field's value starts with this text.
	Prefix *string `yaml:"prefix"`
	// Exists matches when the field is present and not null (true) or
	// absent or null (false).
	Exists *bool `yaml:"exists"`
	// Regex matches when this regular expression (Go RE2 syntax, unanchored)
	// matches the field's value.
	Regex *string `yaml:"regex"`
}

// RateLimit is a token bucket per key.
type RateLimit struct {
	// EventsPerSecond is the rate at which each key's bucket refills.
	EventsPerSecond float64 `yaml:"events_per_second"`
	// Burst is the bucket's size: how many events a key may send at once
	// after being quiet.
	Burst int `yaml:"burst"`
	// Key is the field whose value selects the bucket (see Condition.Field
	// for the names); events without it share one bucket.
	Key string `yaml:"key"`
	// SummaryInterval is how often a summary event ("N events dropped by
	// rate limit") is emitted for each key that had drops.
	SummaryInterval time.Duration `yaml:"summary_interval"`
	// MaxKeys bounds the number of buckets kept at once; when it is reached,
	// events of new keys share one overflow bucket (key value "_other").
	MaxKeys int `yaml:"max_keys"`
}

// KeepTraceOnError holds the events of traces sampling would drop.
type KeepTraceOnError struct {
	// Window is how long the events of a trace are held, from its first
	// held event, waiting for an event at one of always_keep_levels. It is
	// also how long a failed trace's later events are kept. Held events keep
	// their batches unacknowledged, which counts against the tailer's
	// max_inflight_bytes: make that at least the bytes read per window.
	Window time.Duration `yaml:"window"`
	// MaxTraces bounds the traces held at once (and, separately, the failed
	// traces remembered); when it is reached the oldest trace is decided
	// early (dropped) and counted.
	MaxTraces int `yaml:"max_traces"`
	// MaxEvents bounds the events held at once, across traces.
	MaxEvents int `yaml:"max_events"`
	// MaxBytes bounds the memory of the events held at once, in bytes.
	MaxBytes int64 `yaml:"max_bytes"`
}

// DefaultConfig returns the defaults of the `sample:` section: keep
// everything.
func DefaultConfig() Config {
	return Config{
		Ratio:            1,
		AlwaysKeepLevels: []string{"warn", "error", "fatal"},
	}
}

// DefaultRateLimit returns the values a `rate_limit:` section starts from
// when it appears in a configuration file.
func DefaultRateLimit() RateLimit {
	return RateLimit{
		EventsPerSecond: 1000,
		Burst:           2000,
		Key:             "service.name",
		SummaryInterval: 10 * time.Second,
		MaxKeys:         10000,
	}
}

// DefaultKeepTraceOnError returns the values a `keep_trace_on_error:`
// section starts from when it appears in a configuration file.
func DefaultKeepTraceOnError() KeepTraceOnError {
	return KeepTraceOnError{
		Window:    10 * time.Second,
		MaxTraces: 100000,
		MaxEvents: 500000,
		MaxBytes:  128 << 20,
	}
}

// The fields the agent decodes into typed Event fields.
var typedFields = []string{"log.level", "service.name", "host.name", "trace.id", "span.id"}

// Validate reports every problem of c, as *shipper.FieldError with paths
// relative to the section. It does not modify c.
func (c Config) Validate() error {
	var errs []error
	bad := func(path string, format string, args ...any) {
		errs = append(errs, &shipper.FieldError{Path: path, Err: fmt.Errorf(format, args...)})
	}
	checkRatio := func(path string, r float64) {
		if math.IsNaN(r) || r < 0 || r > 1 {
			bad(path, "must be between 0 and 1, got %v", r)
		}
	}
	checkRatio("ratio", c.Ratio)
	for i, name := range c.AlwaysKeepLevels {
		if _, ok := shipper.ParseLevelName(name); !ok {
			bad("always_keep_levels["+strconv.Itoa(i)+"]", "unknown level %q: must be one of %s",
				name, strings.Join(shipper.LevelNames(), ", "))
		}
	}
	for i, r := range c.Rules {
		p := "rules[" + strconv.Itoa(i) + "]"
		checkRatio(p+".ratio", r.Ratio)
		errs = append(errs, r.When.validate(p+".when")...)
	}
	if rl := c.RateLimit; rl != nil {
		if math.IsNaN(rl.EventsPerSecond) || math.IsInf(rl.EventsPerSecond, 0) || rl.EventsPerSecond <= 0 {
			bad("rate_limit.events_per_second", "must be a number above 0, got %v", rl.EventsPerSecond)
		}
		if rl.Burst < 1 {
			bad("rate_limit.burst", "must be at least 1, got %d", rl.Burst)
		}
		if rl.Key == "" {
			bad("rate_limit.key", "must name a field, such as service.name")
		}
		if rl.SummaryInterval <= 0 {
			bad("rate_limit.summary_interval", "must be above 0, got %v", rl.SummaryInterval)
		}
		if rl.MaxKeys < 1 {
			bad("rate_limit.max_keys", "must be at least 1, got %d", rl.MaxKeys)
		}
	}
	if k := c.KeepTraceOnError; k != nil {
		if k.Window <= 0 {
			bad("keep_trace_on_error.window", "must be above 0, got %v", k.Window)
		}
		if k.MaxTraces < 1 {
			bad("keep_trace_on_error.max_traces", "must be at least 1, got %d", k.MaxTraces)
		}
		if k.MaxEvents < 1 {
			bad("keep_trace_on_error.max_events", "must be at least 1, got %d", k.MaxEvents)
		}
		if k.MaxBytes < 1 {
			bad("keep_trace_on_error.max_bytes", "must be at least 1, got %d", k.MaxBytes)
		}
		if len(c.AlwaysKeepLevels) == 0 {
			bad("keep_trace_on_error", "needs always_keep_levels: they say which events make a trace failed")
		}
	}
	return errors.Join(errs...)
}

func (w Condition) validate(path string) []error {
	var errs []error
	bad := func(p string, err error) { errs = append(errs, &shipper.FieldError{Path: p, Err: err}) }
	if w.Field == "" {
		bad(path+".field", errors.New("must name a field, such as http.path or log.level"))
	} else if strings.HasPrefix(w.Field, ".") || strings.HasSuffix(w.Field, ".") || strings.Contains(w.Field, "..") {
		bad(path+".field", fmt.Errorf("%q is not a dotted field path", w.Field))
	}
	n := 0
	if w.Equals != nil {
		n++
	}
	if w.In != nil {
		n++
		if len(w.In) == 0 {
			bad(path+".in", errors.New("must list at least one value"))
		}
	}
	if w.Prefix != nil {
		n++
	}
	if w.Exists != nil {
		n++
	}
	if w.Regex != nil {
		n++
		if _, err := regexp.Compile(*w.Regex); err != nil {
			bad(path+".regex", fmt.Errorf("invalid regular expression: %w", err))
		}
	}
	if n != 1 {
		bad(path, fmt.Errorf("must have exactly one of equals, in, prefix, exists, regex; has %d", n))
	}
	return errs
}
