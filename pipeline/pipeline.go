// Package pipeline wires the stages of one configured pipeline together and
// runs them: the chain of processors a batch goes through (parse, enrich,
// redact, sample, route), the workers that take batches from the tailer and
// hand them to the sink, and the dry-run that prints instead of sending.
package pipeline

import (
	"fmt"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/enrich"
	"github.com/traceship/shipper/index"
	"github.com/traceship/shipper/parser"
	"github.com/traceship/shipper/redact"
	"github.com/traceship/shipper/sample"
)

// Env is what a pipeline takes from its surroundings, injectable in tests.
type Env struct {
	// Getenv reads environment variables (NODE_NAME, HMAC keys).
	Getenv func(string) string
	// Now is the clock (sampling windows, rate limits).
	Now func() time.Time
	// Log receives the stages' own log lines (nil: discarded).
	Log *zap.Logger
	// DataStream says elasticsearch.mode is data_stream: documents go to
	// logs-<dataset>-<namespace> instead of the index pattern.
	DataStream bool
	// RedactText redacts what the agent says of its files outside the
	// machine (paths on /status, /metrics and /readyz), as the agent's own
	// logs are redacted (nil: shown as they are).
	RedactText func(dst, src []byte) []byte
}

// Pipeline is one configured pipeline, built: a chain of stages per input
// (inputs may parse differently or name their service), sharing the
// redactor, sampler and router, so that sampling decisions and rate limits
// are per pipeline.
type Pipeline struct {
	Name   string
	cfg    config.Pipeline
	inputs []*Chain
	// Default is the chain for files that match no input (dry-run of a file
	// named on the command line).
	Default *Chain

	enricher *enrich.Enricher // shared by the inputs' chains

	Redactor *redact.Redactor
	Sampler  *sample.Sampler
	Router   *index.Pattern
}

// Chain is the sequence of stages one input's batches go through.
type Chain struct {
	Input  *config.Input // nil for the default chain
	Parser *parser.Parser
	Enrich *enrich.Enricher
	stages []shipper.Processor
	// redactor redacts explanations, which quote values before redaction.
	redactor *redact.Redactor
}

// Process runs every stage on b, in order.
func (c *Chain) Process(b *shipper.Batch) {
	for _, s := range c.stages {
		s.Process(b)
	}
}

// NewFramer gives the tailer the per-file line joiner of this chain's
// parse settings.
func (c *Chain) NewFramer(path string) shipper.Framer { return c.Parser.NewFramer(path) }

// Build constructs the stages of p. It has no side effects.
func Build(p config.Pipeline, env Env) (*Pipeline, error) {
	if env.Getenv == nil || env.Now == nil {
		return nil, fmt.Errorf("pipeline %q: Env needs Getenv and Now", p.Name)
	}
	out := &Pipeline{Name: p.Name, cfg: p}
	var err error
	if out.enricher, err = enrich.New(p.Enrich, env.Getenv); err != nil {
		return nil, fmt.Errorf("pipeline %q: enrich: %w", p.Name, err)
	}
	if out.Redactor, err = redact.New(p.Redact, env.Getenv); err != nil {
		return nil, fmt.Errorf("pipeline %q: redact: %w", p.Name, err)
	}
	if out.Sampler, err = newSampler(p.Sample, env); err != nil {
		return nil, fmt.Errorf("pipeline %q: sample: %w", p.Name, err)
	}
	if out.Router, err = p.Index.Compile(env.DataStream); err != nil {
		return nil, fmt.Errorf("pipeline %q: index: %w", p.Name, err)
	}
	if out.Default, err = out.chain(nil); err != nil {
		return nil, err
	}
	for i := range p.Inputs {
		c, err := out.chain(&p.Inputs[i])
		if err != nil {
			return nil, err
		}
		out.inputs = append(out.inputs, c)
	}
	return out, nil
}

func (p *Pipeline) chain(in *config.Input) (*Chain, error) {
	parseCfg := p.cfg.Parse
	if in != nil && in.Parse != nil {
		parseCfg = *in.Parse
	}
	c := &Chain{Input: in}
	var err error
	if c.Parser, err = parser.New(parseCfg); err != nil {
		return nil, fmt.Errorf("pipeline %q: parse: %w", p.Name, err)
	}
	c.Enrich = p.enricher
	if in != nil && in.Service != "" {
		c.Enrich = p.enricher.ForInput(in.Service)
	}
	c.redactor = p.Redactor
	c.stages = []shipper.Processor{c.Parser, c.Enrich, p.Redactor, p.Sampler, p.Router}
	return c, nil
}

// Inputs returns the chain of each configured input, in order. The slice
// has no spare capacity, so appending to it copies.
func (p *Pipeline) Inputs() []*Chain { return p.inputs[:len(p.inputs):len(p.inputs)] }

// ChainFor returns the chain of the first input whose globs match path, or
// the default chain.
func (p *Pipeline) ChainFor(path string) *Chain {
	for _, c := range p.inputs {
		if Matches(c.Input, path) {
			return c
		}
	}
	return p.Default
}

// Matches reports whether the input reads path, by the tailer's rules
// (tailer.Input.Matches); a relative path is also tried as an absolute one,
// since inputs name absolute paths. An exclude matching either form wins,
// as the tailer, which sees absolute paths, would skip the file.
func Matches(in *config.Input, path string) bool {
	if in == nil {
		return false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	if in.Excludes(abs) {
		return false
	}
	return in.Matches(path) || in.Matches(abs)
}

func newSampler(c config.SampleConfig, env Env) (*sample.Sampler, error) {
	log := env.Log
	if log == nil {
		log = zap.NewNop()
	}
	return sample.New(c, sample.Clock(env.Now), log.Named("sample"))
}
