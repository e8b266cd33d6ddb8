package parser

import (
	"errors"
	"strings"
	"testing"

	"github.com/traceship/shipper"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	cfg := DefaultConfig()
	m := DefaultMultilineConfig()
	m.StartPattern = `^\S`
	cfg.Multiline = &m
	if err := cfg.Validate(); err != nil {
		t.Fatalf("default multiline invalid: %v", err)
	}
}

func TestValidateReportsEveryProblemWithItsPath(t *testing.T) {
	cfg := Config{
		Format:          "yaml",
		TimeLayout:      "nonsense",
		Timezone:        "Mars/Olympus",
		MaxDepth:        0,
		PartialMaxBytes: 10,
		Multiline:       &MultilineConfig{StartPattern: "(", MaxLines: 1, MaxBytes: 1, Timeout: 0},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	want := map[string]string{
		"format":                  "must be one of auto, json, cri, docker, logfmt, text",
		"time_layout":             "needs time_field",
		"timezone":                "unknown time zone",
		"max_depth":               "between 1 and 10000",
		"partial_max_bytes":       "at least 1024",
		"multiline.start_pattern": "invalid regular expression",
		"multiline.max_lines":     "at least 2",
		"multiline.max_bytes":     "at least 1024",
		"multiline.timeout":       "must be positive",
	}
	got := map[string]string{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *shipper.FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("not a FieldError: %v", e)
		}
		got[fe.Path] += fe.Err.Error() + ";"
	}
	for path, msg := range want {
		if !strings.Contains(got[path], msg) {
			t.Errorf("%s: got %q, want it to mention %q", path, got[path], msg)
		}
	}
	if _, err := New(cfg); err == nil {
		t.Error("New accepted an invalid config")
	}
}

func TestValidateTimeLayout(t *testing.T) {
	for layout, ok := range map[string]bool{
		"2006-01-02 15:04:05": true, "02/Jan/2006:15:04:05 -0700": true, "Jan _2 15:04:05": true,
		LayoutUnixMs: true, "15:04:05": false, "yyyy-MM-dd": false,
	} {
		cfg := DefaultConfig()
		cfg.TimeField, cfg.TimeLayout = "t", layout
		if err := cfg.Validate(); (err == nil) != ok {
			t.Errorf("layout %q: err %v, want ok=%v", layout, err, ok)
		}
	}
}
