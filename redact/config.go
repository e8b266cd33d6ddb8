package redact

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/traceship/shipper"
)

// Action is what a rule does to what it matched.
type Action string

// The actions.
const (
	// ActionMask replaces the match: a card keeps its last four digits
	// ("************1111"), anything else becomes "[REDACTED]".
	ActionMask Action = "mask"
	// ActionRemove deletes the match: a member under a sensitive key is
	// removed from its object, a match inside text is cut out.
	ActionRemove Action = "remove"
	// ActionHash replaces the match with "hmac:" and the first 16 bytes of
	// its HMAC-SHA256 in hex, keyed by the environment variable named by
	// hash_key_env: the same value gives the same text in every document, so
	// it can still be joined on, without being readable.
	ActionHash Action = "hash"
)

var actions = []Action{ActionMask, ActionRemove, ActionHash}

func (a Action) valid() bool {
	for _, v := range actions {
		if a == v {
			return true
		}
	}
	return false
}

// Rule switches one built-in rule and chooses its action.
type Rule struct {
	// Enabled switches the rule on.
	Enabled bool `yaml:"enabled"`
	// Action is what happens to a match: mask, remove or hash.
	Action Action `yaml:"action"`
}

// KeysRule is the sensitive-keys rule.
type KeysRule struct {
	// Enabled switches the rule on: values under sensitive keys (password,
	// passwd, secret, token, api_key, apikey, authorization, cookie,
	// set-cookie, cvv, cvc, ssn, card_number, credit_card, pan, and the
	// extra keys) are replaced at any depth, and so are key=value and
	// "key":"value" pairs inside text, and the values of such long
	// command-line flags ("--password x", also in a JSON argument vector).
	Enabled bool `yaml:"enabled"`
	// Action is what happens to the value of a sensitive key: mask, remove
	// or hash.
	Action Action `yaml:"action"`
	// Extra lists more sensitive keys. A plain name ("pin", "session_id")
	// matches like the built-in names: as whole words of any key at any
	// depth, case-insensitive, '_' and '-' and camelCase alike. A name with
	// '.', '*' or '?' is a glob over the dotted path of the key
	// ("user.email", "*.password"): '*' matches any characters including
	// dots, '?' one character.
	Extra []string `yaml:"extra"`
}

// Pattern is an extra regular expression to redact inside string values
// and text.
type Pattern struct {
	// Name identifies the pattern in metrics; unique, and none of the
	// built-in rule names.
	Name string `yaml:"name"`
	// Regex is the regular expression (Go RE2 syntax). Patterns with a
	// literal prefix ("TCK-[0-9]+") are only run on strings containing it;
	// others run on every string value, which costs CPU on every event.
	Regex string `yaml:"regex"`
	// Action is what happens to a match: mask, remove or hash.
	Action Action `yaml:"action"`
}

// Config is the redact section.
type Config struct {
	// Enabled switches redaction as a whole; when false no rule runs.
	Enabled bool `yaml:"enabled"`
	// Cards redacts payment card numbers (13-19 digits, contiguous or
	// grouped with single spaces, dashes or URL-encoded spaces,
	// Luhn-valid with a real issuer prefix and length) in every string and
	// number.
	Cards Rule `yaml:"cards"`
	// Keys redacts the values of sensitive keys.
	Keys KeysRule `yaml:"keys"`
	// Credentials redacts the credential after "Bearer " or "Basic " in
	// text (the scheme word is kept).
	Credentials Rule `yaml:"credentials"`
	// JWT redacts JSON Web Tokens (eyJ….eyJ….…) in text.
	JWT Rule `yaml:"jwt"`
	// AWSAccessKeyID redacts AWS access key ids (AKIA…, ASIA…).
	AWSAccessKeyID Rule `yaml:"aws_access_key_id"`
	// PrivateKey redacts PEM private key blocks ("-----BEGIN … PRIVATE
	// KEY-----" to the matching END line, or to the end of the text).
	PrivateKey Rule `yaml:"private_key"`
	// Email redacts e-mail addresses. Off by default: addresses are often
	// wanted in logs.
	Email Rule `yaml:"email"`
	// USSSN redacts US social security numbers written 123-45-6789. Off by
	// default.
	USSSN Rule `yaml:"us_ssn"`
	// IBAN redacts international bank account numbers (checksum-validated).
	// Off by default.
	IBAN Rule `yaml:"iban"`
	// Tokens redacts provider tokens that carry a fixed prefix, anywhere in
	// text (GitHub ghp_…, github_pat_…; GitLab glpat-…; Slack xoxb-…,
	// xapp-…; Stripe sk_live_…, whsec_…; npm_…; pypi-…; Shopify shpat_…;
	// DigitalOcean dop_v1_…; Hugging Face hf_…; OpenAI sk-proj-…;
	// Anthropic sk-ant-…; Grafana glsa_…; Google AIza…). The prefix is
	// kept ("ghp_[REDACTED]") to say which secret needs rotating.
	Tokens Rule `yaml:"tokens"`
	// Patterns are extra regular expressions.
	Patterns []Pattern `yaml:"patterns"`
	// HashKeyEnv names the environment variable holding the HMAC key for
	// the hash action. Required when any enabled rule hashes.
	HashKeyEnv string `yaml:"hash_key_env"`
}

// DefaultConfig returns the defaults: cards, sensitive keys, Bearer/Basic
// credentials, JWTs, AWS access key ids, private keys and provider tokens
// masked; e-mail, US SSN and IBAN off.
func DefaultConfig() Config {
	on := Rule{Enabled: true, Action: ActionMask}
	off := Rule{Enabled: false, Action: ActionMask}
	return Config{
		Enabled:        true,
		Cards:          on,
		Keys:           KeysRule{Enabled: true, Action: ActionMask},
		Credentials:    on,
		JWT:            on,
		AWSAccessKeyID: on,
		PrivateKey:     on,
		Email:          off,
		USSSN:          off,
		IBAN:           off,
		Tokens:         on,
	}
}

// builtinNames are the yaml names of the built-in rules, also their names
// in Stats.
var builtinNames = []string{"cards", "keys", "credentials", "jwt", "aws_access_key_id", "private_key", "email", "us_ssn", "iban", "tokens"}

// rules returns the built-in rules with their names, in builtinNames order.
func (c *Config) rules() []Rule {
	return []Rule{c.Cards, {Enabled: c.Keys.Enabled, Action: c.Keys.Action}, c.Credentials, c.JWT, c.AWSAccessKeyID, c.PrivateKey, c.Email, c.USSSN, c.IBAN, c.Tokens}
}

func actionErr(path string, a Action) error {
	names := make([]string, len(actions))
	for i, v := range actions {
		names[i] = string(v)
	}
	return &shipper.FieldError{Path: path, Err: fmt.Errorf("unknown action %q: must be one of %s", string(a), strings.Join(names, ", "))}
}

// Validate reports every problem in c, as *shipper.FieldError values joined
// with errors.Join. It does not change c.
func (c Config) Validate() error {
	var errs []error
	hashing := false
	for i, r := range c.rules() {
		if !r.Action.valid() {
			errs = append(errs, actionErr(builtinNames[i]+".action", r.Action))
		}
		if r.Enabled && r.Action == ActionHash {
			hashing = true
		}
	}
	for i, e := range c.Keys.Extra {
		if strings.TrimSpace(e) == "" {
			errs = append(errs, &shipper.FieldError{Path: "keys.extra[" + strconv.Itoa(i) + "]", Err: errors.New("empty key name")})
		}
	}
	seen := map[string]bool{}
	for _, n := range builtinNames {
		seen[n] = true
	}
	for i, p := range c.Patterns {
		path := "patterns[" + strconv.Itoa(i) + "]"
		switch {
		case p.Name == "":
			errs = append(errs, &shipper.FieldError{Path: path + ".name", Err: errors.New("missing name")})
		case seen[p.Name]:
			errs = append(errs, &shipper.FieldError{Path: path + ".name", Err: fmt.Errorf("name %q is already used (by a built-in rule or an earlier pattern)", p.Name)})
		}
		seen[p.Name] = true
		if p.Regex == "" {
			errs = append(errs, &shipper.FieldError{Path: path + ".regex", Err: errors.New("missing regular expression")})
		} else if _, err := regexp.Compile(p.Regex); err != nil {
			errs = append(errs, &shipper.FieldError{Path: path + ".regex", Err: fmt.Errorf("compiling: %w", err)})
		} else if regexp.MustCompile(p.Regex).MatchString("") {
			errs = append(errs, &shipper.FieldError{Path: path + ".regex", Err: errors.New("matches the empty string")})
		}
		if !p.Action.valid() {
			errs = append(errs, actionErr(path+".action", p.Action))
		}
		if p.Action == ActionHash {
			hashing = true
		}
	}
	if c.Enabled && hashing && c.HashKeyEnv == "" {
		errs = append(errs, &shipper.FieldError{Path: "hash_key_env", Err: errors.New("required when a rule's action is hash: name the environment variable holding the HMAC key")})
	}
	if c.HashKeyEnv != "" && !validEnvName(c.HashKeyEnv) {
		errs = append(errs, &shipper.FieldError{Path: "hash_key_env", Err: fmt.Errorf("%q is not an environment variable name (letters, digits and '_', not starting with a digit)", c.HashKeyEnv)})
	}
	return errors.Join(errs...)
}

func validEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || isUpper(c) || isLower(c) || (i > 0 && isDigit(c))) {
			return false
		}
	}
	return s != ""
}
