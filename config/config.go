// Package config loads pipelines.yaml: strictly (an unknown key, a wrong type
// or an impossible value is an error with file:line:col and the key path),
// completely (every problem is reported, not just the first), and with
// ${VAR} and ${VAR:-default} expanded from the environment.
//
// The user's configuration (Config) is kept apart from what the agent runs
// with: defaults live in one place (Default and each stage package's
// DefaultConfig), validation never fills values, and the stage packages
// build their runtime values from their section.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/traceship/shipper"
)

// Config is the whole of pipelines.yaml.
type Config struct {
	// StateDir is where the agent keeps its checkpoints (registry) and its
	// dead-letter queue. It must survive restarts (a hostPath in Kubernetes,
	// StateDirectory= under systemd). The running agent holds it locked: a
	// second agent given the same state_dir stops at its start.
	StateDir string `yaml:"state_dir"`
	// Log configures the agent's own logs.
	Log LogConfig `yaml:"log"`
	// ShutdownTimeout is the grace period after SIGTERM or SIGINT: what was
	// read is flushed to Elasticsearch within it, then checkpoints are
	// written and the agent exits. Lines not acknowledged by then are read
	// again at the next start (deduplicated by their _id).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// MemoryLimit is the agent's soft memory limit (Go's GOMEMLIMIT): as the
	// heap nears it the garbage collector runs earlier, so memory stays flat
	// under load. auto derives it from the memory budgets: 24 MiB + 2 ×
	// (tail.max_inflight_bytes + elasticsearch.bulk.max_in_flight_bytes +
	// each pipeline's sample.keep_trace_on_error.max_bytes) + 8 KiB per
	// tail.max_open_files, 48 MiB with the defaults. off leaves the Go runtime's default; a size such as 96MiB
	// sets it. It is not a hard cap: the budgets bound what is held. A
	// GOMEMLIMIT environment variable wins over this setting.
	MemoryLimit string `yaml:"memory_limit"`
	// HTTP configures the endpoint that serves /metrics, /healthz, /readyz
	// and /status.
	HTTP HTTPConfig `yaml:"http"`
	// Tail holds agent-wide tailing settings (open-file cap, checkpointing).
	Tail TailConfig `yaml:"tail"`
	// Elasticsearch is where documents go: hosts, auth, TLS, bulk, setup.
	Elasticsearch ElasticsearchConfig `yaml:"elasticsearch"`
	// Pipelines lists the pipelines: which files they read and how each
	// line becomes a document.
	Pipelines []Pipeline `yaml:"pipelines"`
	// Tests are pipeline unit tests run by `shipper test`.
	Tests []Test `yaml:"tests"`

	// File is the path the configuration was loaded from ("" for the
	// built-in defaults).
	File string `yaml:"-"`
	// positions maps key paths to where they were written.
	positions map[string]position
	// env holds the values taken from environment variables (HideEnv).
	env envValues
}

// LogConfig configures the agent's own logs.
type LogConfig struct {
	// Level is the minimum level logged: debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json (for Kubernetes and journald) or console (for a person
	// at a terminal).
	Format string `yaml:"format"`
	// File, when set, sends the logs to this file, rotated, instead of stderr.
	File string `yaml:"file"`
	// MaxSizeMB is the size at which the log file is rotated.
	MaxSizeMB int `yaml:"max_size_mb"`
	// MaxBackups is how many rotated log files are kept.
	MaxBackups int `yaml:"max_backups"`
}

// HTTPConfig configures the agent's HTTP endpoint.
type HTTPConfig struct {
	// Listen is the address to listen on; loopback by default. Empty turns
	// the endpoint off.
	Listen string `yaml:"listen"`
	// Pprof serves Go's profiler under /debug/pprof/ on the same address,
	// for diagnosing CPU and memory use. Off by default.
	Pprof bool `yaml:"pprof"`
}

// Pipeline is one named pipeline: its inputs and the stages every line of
// them goes through.
type Pipeline struct {
	// Name identifies the pipeline in metrics, logs and `--pipeline`.
	Name string `yaml:"name"`
	// Inputs are the files this pipeline reads.
	Inputs []Input `yaml:"inputs"`
	// Workers is how many batches of this pipeline are processed at once.
	Workers int `yaml:"workers"`
	// Parse says how lines are parsed (applies to every input that does not
	// set its own).
	Parse ParseConfig `yaml:"parse"`
	// Enrich configures trace correlation, service.name, host.name and
	// Kubernetes metadata.
	Enrich EnrichConfig `yaml:"enrich"`
	// Redact configures the removal of card numbers and secrets.
	Redact RedactConfig `yaml:"redact"`
	// Sample configures trace-aware sampling.
	Sample SampleConfig `yaml:"sample"`
	// Index configures which index each document goes to.
	Index IndexConfig `yaml:"index"`
}

// Input is one set of files a pipeline reads.
type Input struct {
	TailInput `yaml:",inline"`
	// Service sets service.name for this input's events when they name
	// none themselves.
	Service string `yaml:"service"`
	// Parse, when set, replaces the pipeline's parse settings for this input.
	Parse *ParseConfig `yaml:"parse"`
}

// DefaultLogPaths are the files the built-in pipeline reads.
var defaultLogPaths = []string{"/var/log/app/*.log"}

// Default returns the built-in configuration: what the agent uses without
// -c, and what the repository's pipelines.yaml documents: one pipeline,
// "default", reading /var/log/app/*.log.
func Default() Config {
	var c Config
	c.setDefaults()
	p := DefaultPipeline()
	var in Input
	in.setDefaults()
	in.Paths = append([]string(nil), defaultLogPaths...)
	p.Inputs = []Input{in}
	c.Pipelines = []Pipeline{p}
	return c
}

func (c *Config) setDefaults() {
	c.StateDir = "/var/lib/shipper"
	c.ShutdownTimeout = 30 * time.Second
	c.MemoryLimit = MemoryLimitAuto
	c.Log = LogConfig{Level: "info", Format: "json", MaxSizeMB: 100, MaxBackups: 5}
	c.HTTP = HTTPConfig{Listen: "127.0.0.1:5066"}
	c.Tail = defaultTail()
	c.Elasticsearch = defaultElasticsearch()
}

// DefaultPipeline returns the defaults of one pipeline.
func DefaultPipeline() Pipeline {
	var p Pipeline
	p.setDefaults()
	return p
}

func (p *Pipeline) setDefaults() {
	p.Name = "default"
	p.Workers = 2
	p.Parse = defaultParse()
	p.Enrich = defaultEnrich()
	p.Redact = defaultRedact()
	p.Sample = defaultSample()
	p.Index = defaultIndex()
}

func (in *Input) setDefaults() { in.TailInput = defaultTailInput() }

// Load reads, decodes and validates the configuration file at path. The
// error, if any, is Problems: every problem with file:line:col. Warnings
// alone are not an error; they are returned with the config.
func Load(path string) (Config, Problems, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, nil, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse(path, data, osLookupEnv)
}

// Parse is Load on bytes already read; getenv looks up ${VAR} references.
func Parse(file string, data []byte, getenv func(string) (string, bool)) (Config, Problems, error) {
	c := Default()
	c.Pipelines = nil
	c.File = file
	d := &decoder{file: file, getenv: getenv, pos: map[string]position{}}

	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	// An empty file (or only comments) is an empty configuration, which
	// validation then says what it lacks, not a YAML error ("EOF").
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		p := syntaxProblem(file, data, err)
		return c, Problems{p}, Problems{p}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p := &Problem{File: file, Line: extra.Line, Col: extra.Column, Msg: "only one YAML document is allowed (remove the ---)"}
		d.problems = append(d.problems, p)
	}
	if root.Kind != 0 {
		d.decode(&root, reflect.ValueOf(&c).Elem(), "")
	}
	c.positions = d.pos
	c.locateTests(file, c.Tests, "tests")
	// A value the decoder could not read keeps its default, which may fail
	// validation again: report each path once, with the decoder's reason.
	problems := d.problems
	for _, p := range c.validate() {
		if !hasPath(d.problems, p.Path) {
			problems = append(problems, p)
		}
	}
	problems.sort()
	c.env = d.env
	for _, p := range problems {
		p.Msg = c.HideEnv(p.Msg)
	}
	if len(problems.Errors()) > 0 {
		return c, problems, problems
	}
	return c, problems, nil
}

// HideEnv returns s with the values the configuration took from
// environment variables replaced by their references (${ES_PASSWORD}), for
// errors found in them after loading.
func (c Config) HideEnv(s string) string { return c.env.hide(s) }

func yamlMessage(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	if i := strings.Index(msg, "line "); i == 0 {
		if j := strings.Index(msg, ": "); j > 0 {
			msg = msg[j+2:]
		}
	}
	return "invalid YAML: " + msg
}

// syntaxProblem reports a YAML syntax error in file, whose content is data.
func syntaxProblem(file string, data []byte, err error) *Problem {
	p := &Problem{File: file, Msg: yamlMessage(err)}
	p.Line, p.Col = syntaxPosition(data, err)
	return p
}

// syntaxPosition finds the line and column of a YAML syntax error. yaml.v3
// names the line its parser's context began on, often the enclosing block
// lines above the mistake (the key above a mis-indented line), and no
// column. The mistake is on the first line that, with the lines before it,
// already fails with the same error; the column is that line's first
// character that is not a space. Config files are short, and this runs only
// on a broken one.
func syntaxPosition(data []byte, err error) (line, col int) {
	want := err.Error()
	end := 0
	for n := 1; end < len(data); n++ {
		next := bytes.IndexByte(data[end:], '\n')
		if next < 0 {
			next = len(data) - end - 1
		}
		start := end
		end += next + 1
		var node yaml.Node
		if e := yaml.Unmarshal(data[:end], &node); e != nil && e.Error() == want {
			text := data[start:end]
			return n, 1 + len(text) - len(bytes.TrimLeft(text, " "))
		}
	}
	return yamlErrorLine(err), 1
}

func yamlErrorLine(err error) int {
	msg := err.Error()
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	rest := msg[i+5:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, _ := strconv.Atoi(rest[:j])
	return n
}

// Position returns where the value at path was written (line 0 if it was
// not written, e.g. a default).
func (c *Config) Position(path string) (line, col int) {
	for p := path; ; {
		if pos, ok := c.positions[p]; ok {
			return pos.line, pos.col
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return 0, 0
		}
		p = p[:i]
	}
}

// problemAt builds a Problem located at path (or its nearest written parent).
func (c *Config) problemAt(path string, err error) *Problem {
	p := &Problem{File: c.File, Path: path, Msg: err.Error()}
	var fe *shipper.FieldError
	if errors.As(err, &fe) {
		p.Msg = fe.Err.Error()
		p.Warning = fe.Warning
	}
	p.Line, p.Col = c.Position(path)
	if p.Line == 0 && c.File != "" {
		// Nothing was written there (a required key is missing): point at
		// the start of the file rather than nowhere.
		p.Line, p.Col = 1, 1
	}
	if p.File == "" {
		p.File = "(built-in configuration)"
	}
	return p
}

// sectionProblems turns a stage's Validate error into Problems under prefix.
func (c *Config) sectionProblems(prefix string, err error) Problems {
	if err == nil {
		return nil
	}
	var out Problems
	for _, e := range flatten(err) {
		path := prefix
		var fe *shipper.FieldError
		if errors.As(e, &fe) && fe.Path != "" {
			if strings.HasPrefix(fe.Path, "[") {
				path += fe.Path
			} else {
				path = join(prefix, fe.Path)
			}
		}
		out = append(out, c.problemAt(path, e))
	}
	return out
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// validate checks what only the whole configuration can: names, duplicates,
// and each stage's own Validate. It never changes c.
func (c *Config) validate() Problems {
	var ps Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, c.problemAt(path, fmt.Errorf(format, args...)))
	}
	if len(c.Pipelines) == 0 {
		add("pipelines", "at least one pipeline is needed")
	}
	if c.ShutdownTimeout <= 0 {
		add("shutdown_timeout", "must be positive, got %s", c.ShutdownTimeout)
	}
	if c.MemoryLimit != MemoryLimitAuto && c.MemoryLimit != MemoryLimitOff {
		if n, err := ParseSize(c.MemoryLimit); err != nil {
			add("memory_limit", "%v", err)
		} else if n < 16<<20 {
			add("memory_limit", "%s is below 16MiB, less than the agent needs to run; the collector would run constantly", c.MemoryLimit)
		}
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		add("log.level", "unknown level %q (valid: debug, info, warn, error)", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "json", "console") {
		add("log.format", "unknown format %q (valid: json, console)", c.Log.Format)
	}
	ps = append(ps, c.sectionProblems("tail", validateTail(c.Tail))...)
	ps = append(ps, c.sectionProblems("elasticsearch", validateElasticsearch(c.Elasticsearch))...)
	names := map[string]int{}
	for i, p := range c.Pipelines {
		at := "pipelines[" + strconv.Itoa(i) + "]"
		if p.Name == "" {
			add(at+".name", "a pipeline needs a name")
		} else if j, dup := names[p.Name]; dup {
			line, _ := c.Position("pipelines[" + strconv.Itoa(j) + "].name")
			add(at+".name", "pipeline name %q is already used at line %d", p.Name, line)
		} else {
			names[p.Name] = i
		}
		if p.Workers < 1 {
			add(at+".workers", "must be at least 1, got %d", p.Workers)
		}
		ps = append(ps, c.sectionProblems(at+".parse", validateParse(p.Parse))...)
		ps = append(ps, c.sectionProblems(at+".enrich", validateEnrich(p.Enrich))...)
		ps = append(ps, c.sectionProblems(at+".redact", validateRedact(p.Redact))...)
		ps = append(ps, c.sectionProblems(at+".sample", validateSample(p.Sample))...)
		for _, ip := range c.sectionProblems(at+".index", validateIndex(p.Index)) {
			// The logs-*-* warning is about index names; in data_stream
			// mode the pattern is not used.
			if ip.Warning && c.Elasticsearch.Mode == "data_stream" && ip.Path == at+".index.pattern" {
				continue
			}
			ps = append(ps, ip)
		}
		for k, in := range p.Inputs {
			iat := at + ".inputs[" + strconv.Itoa(k) + "]"
			ps = append(ps, c.sectionProblems(iat, validateTailInput(in.TailInput))...)
			if in.Parse != nil {
				ps = append(ps, c.sectionProblems(iat+".parse", validateParse(*in.Parse))...)
			}
		}
	}
	ps = append(ps, c.validateTests(names)...)
	ps = append(ps, c.semanticWarnings()...)
	return ps
}

func oneOf(s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// Pipeline returns the pipeline named name.
func (c *Config) Pipeline(name string) (*Pipeline, bool) {
	for i := range c.Pipelines {
		if c.Pipelines[i].Name == name {
			return &c.Pipelines[i], true
		}
	}
	return nil, false
}

// PipelineNames lists the pipelines' names, sorted.
func (c *Config) PipelineNames() []string {
	var names []string
	for _, p := range c.Pipelines {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

func hasPath(ps Problems, path string) bool {
	for _, p := range ps {
		if p.Path == path {
			return true
		}
	}
	return false
}
