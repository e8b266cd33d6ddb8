package redact

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/traceship/shipper"
	"gopkg.in/yaml.v3"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateReportsEveryProblemWithItsPath(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Cards.Action = "blur"
	cfg.Keys.Extra = []string{"pin", " "}
	cfg.Keys.Action = ActionHash
	cfg.Patterns = []Pattern{
		{Name: "cards", Regex: "x", Action: ActionMask},
		{Name: "p", Regex: "(", Action: ActionMask},
		{Name: "", Regex: "a*", Action: "zap"},
	}
	before := strings.Join(cfg.Keys.Extra, ",")
	err := cfg.Validate()
	if strings.Join(cfg.Keys.Extra, ",") != before {
		t.Fatal("Validate changed the config")
	}
	want := map[string]string{
		"cards.action":       `unknown action "blur": must be one of mask, remove, hash`,
		"keys.extra[1]":      "empty key name",
		"patterns[0].name":   "already used",
		"patterns[1].regex":  "compiling",
		"patterns[2].name":   "missing name",
		"patterns[2].regex":  "matches the empty string",
		"patterns[2].action": "must be one of mask, remove, hash",
		"hash_key_env":       "required when a rule's action is hash",
	}
	got := map[string]string{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *shipper.FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("not a FieldError: %v", e)
		}
		got[fe.Path] = fe.Err.Error()
	}
	for path, msg := range want {
		if !strings.Contains(got[path], msg) {
			t.Errorf("%s: got %q, want it to contain %q", path, got[path], msg)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d errors, want %d: %v", len(got), len(want), got)
	}
}

func TestYAMLOverridesDefaults(t *testing.T) {
	cfg := DefaultConfig()
	src := `
cards:
  action: hash
keys:
  extra: ["*.email"]
email:
  enabled: true
hash_key_env: SHIPPER_REDACT_KEY
`
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if !cfg.Cards.Enabled || cfg.Cards.Action != ActionHash || !cfg.Keys.Enabled || cfg.Keys.Action != ActionMask ||
		!cfg.Email.Enabled || !cfg.JWT.Enabled || cfg.Keys.Extra[0] != "*.email" {
		t.Errorf("defaults lost or overrides missed: %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}

// TestConfigFieldsAreDocumented keeps the reference docs complete: every
// field of the section has a snake_case yaml tag (the docs and the JSON
// schema are generated from the tags and doc comments).
func TestConfigFieldsAreDocumented(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeOf(Config{}), reflect.TypeOf(Rule{}), reflect.TypeOf(KeysRule{}), reflect.TypeOf(Pattern{})} {
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := f.Tag.Get("yaml")
			if tag == "" || tag != strings.ToLower(tag) || strings.ContainsAny(tag, "- ") {
				t.Errorf("%s.%s: yaml tag %q is not snake_case", typ.Name(), f.Name, tag)
			}
		}
	}
}
