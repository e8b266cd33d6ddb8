package parser

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/traceship/shipper"
)

// The formats a pipeline's parse.format accepts.
const (
	FormatAuto   = "auto"
	FormatJSON   = "json"
	FormatCRI    = "cri"
	FormatDocker = "docker"
	FormatLogfmt = "logfmt"
	FormatText   = "text"
)

var formats = []string{FormatAuto, FormatJSON, FormatCRI, FormatDocker, FormatLogfmt, FormatText}

// The special values of time_layout for numeric epoch timestamps.
const (
	LayoutUnix   = "unix"
	LayoutUnixMs = "unix_ms"
	LayoutUnixUs = "unix_us"
	LayoutUnixNs = "unix_ns"
)

// Config is a pipeline's parse section.
type Config struct {
	// Format is how each line is read: "auto" recognises CRI and Docker
	// json-file container lines, JSON objects, slog/logfmt-style key=value
	// lines and falls back to plain text; "json", "cri", "docker", "logfmt"
	// and "text" force one format (a line that is not in it is kept as text
	// and tagged). One of auto, json, cri, docker, logfmt, text.
	Format string `yaml:"format"`
	// TimeField is a top-level application field to read the event time
	// from before the built-in ones (@timestamp, timestamp, ts, time, @t,
	// timeMillis, instant, Timestamp). Empty: only the built-in fields.
	TimeField string `yaml:"time_field"`
	// TimeLayout is the Go time layout of TimeField's values (for example
	// "2006-01-02 15:04:05.000"), or unix, unix_ms, unix_us, unix_ns for
	// epoch numbers in that unit. Empty: the built-in recognition (RFC 3339
	// with any offset, epoch numbers by magnitude, common layouts).
	TimeLayout string `yaml:"time_layout"`
	// Timezone is the IANA zone ("Europe/Berlin", "Local" or "UTC") of
	// timestamps written without an offset.
	Timezone string `yaml:"timezone"`
	// Multiline joins physical lines into one event (stack traces). Absent:
	// no joining.
	Multiline *MultilineConfig `yaml:"multiline"`
	// MaxDepth is the deepest JSON nesting accepted; a deeper line is kept as
	// text and tagged _json_depth_exceeded, so a hostile line cannot exhaust
	// memory or stack.
	MaxDepth int `yaml:"max_depth"`
	// PartialMaxBytes caps the size of a container line reassembled from
	// partial lines (CRI "P", Docker 16 KiB splits). A longer one is emitted
	// in pieces, each ending with the part that crossed this size and
	// tagged _partial_too_long: nothing is dropped. A token a piece would
	// end in the middle of (a card number) starts the next piece instead.
	PartialMaxBytes int `yaml:"partial_max_bytes"`
}

// MultilineConfig joins the lines of a stack trace into one event.
type MultilineConfig struct {
	// StartPattern is a regular expression (Go RE2 syntax) matching the first
	// line of an event, for example '^\d{4}-\d{2}-\d{2}' for lines that start
	// with a date. Lines that do not match are appended to the event before
	// them, joined by a newline. A line that is a JSON object ('{' ... '}')
	// always starts an event.
	StartPattern string `yaml:"start_pattern"`
	// MaxLines caps the lines joined into one event; the next line starts a
	// new event.
	MaxLines int `yaml:"max_lines"`
	// MaxBytes caps the size of one joined event; the next line starts a new
	// event.
	MaxBytes int `yaml:"max_bytes"`
	// Timeout is how long an incomplete event waits for more lines when the
	// file is idle before it is sent.
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultConfig returns the parse defaults.
func DefaultConfig() Config {
	return Config{
		Format:          FormatAuto,
		Timezone:        "UTC",
		MaxDepth:        64,
		PartialMaxBytes: 1 << 20,
	}
}

// DefaultMultilineConfig returns the defaults of a multiline section: a
// start pattern must still be given.
func DefaultMultilineConfig() MultilineConfig {
	return MultilineConfig{MaxLines: 500, MaxBytes: 1 << 20, Timeout: 5 * time.Second}
}

// Validate reports every problem of c. Paths are relative to the parse
// section.
func (c Config) Validate() error {
	var errs []error
	bad := func(path string, err error) { errs = append(errs, &shipper.FieldError{Path: path, Err: err}) }
	if !contains(formats, c.Format) {
		bad("format", fmt.Errorf("unknown format %q: must be one of %s", c.Format, strings.Join(formats, ", ")))
	}
	if c.TimeLayout != "" && c.TimeField == "" {
		bad("time_layout", errors.New("needs time_field: the layout applies to that field"))
	}
	if c.TimeLayout != "" && !isEpochLayout(c.TimeLayout) && !layoutHasDate(c.TimeLayout) {
		bad("time_layout", fmt.Errorf("%q is neither a Go time layout with a date (reference time 2006-01-02 15:04:05) nor one of %s, %s, %s, %s",
			c.TimeLayout, LayoutUnix, LayoutUnixMs, LayoutUnixUs, LayoutUnixNs))
	}
	if _, err := loadLocation(c.Timezone); err != nil {
		bad("timezone", err)
	}
	if c.MaxDepth < 1 || c.MaxDepth > 10000 {
		bad("max_depth", fmt.Errorf("must be between 1 and 10000, got %d", c.MaxDepth))
	}
	if c.PartialMaxBytes < 1024 {
		bad("partial_max_bytes", fmt.Errorf("must be at least 1024, got %d", c.PartialMaxBytes))
	}
	if m := c.Multiline; m != nil {
		if m.StartPattern == "" {
			bad("multiline.start_pattern", errors.New("required: a regular expression matching the first line of an event"))
		} else if _, err := regexp.Compile(m.StartPattern); err != nil {
			bad("multiline.start_pattern", fmt.Errorf("invalid regular expression: %w", err))
		}
		if m.MaxLines < 2 {
			bad("multiline.max_lines", fmt.Errorf("must be at least 2, got %d", m.MaxLines))
		}
		if m.MaxBytes < 1024 {
			bad("multiline.max_bytes", fmt.Errorf("must be at least 1024, got %d", m.MaxBytes))
		}
		if m.Timeout <= 0 {
			bad("multiline.timeout", fmt.Errorf("must be positive, got %s", m.Timeout))
		}
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isEpochLayout(l string) bool {
	switch l {
	case LayoutUnix, LayoutUnixMs, LayoutUnixUs, LayoutUnixNs:
		return true
	}
	return false
}

// layoutHasDate reports whether a Go layout names at least a year or a
// month and a day: formatting the reference time and parsing it back
// must give the same date.
func layoutHasDate(layout string) bool {
	ref := time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)
	t, err := time.Parse(layout, ref.Format(layout))
	if err != nil {
		return false
	}
	return t.Month() == time.January && t.Day() == 2
}

func loadLocation(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return time.Local, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (an IANA name such as Europe/Berlin, or UTC or Local)", name)
	}
	return loc, nil
}
