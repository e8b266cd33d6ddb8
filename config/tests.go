package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Test is one pipeline unit test, run by `shipper test`: input lines go
// through a pipeline and the documents that come out are checked.
type Test struct {
	// Name describes the test in its report.
	Name string `yaml:"name"`
	// Pipeline is the name of the pipeline under test.
	Pipeline string `yaml:"pipeline"`
	// Path is the file path the lines pretend to come from (it matters for
	// Kubernetes metadata and for choosing an input's settings).
	Path string `yaml:"path"`
	// Input is the lines, one per list item.
	Input []string `yaml:"input"`
	// Expect lists the documents expected out, in order: one entry per
	// input line that is not joined into another.
	Expect []Expectation `yaml:"expect"`

	// File and Line say where the test was written, for reports.
	File string `yaml:"-"`
	Line int    `yaml:"-"`
}

// Expectation is what one output document must look like.
type Expectation struct {
	// Fields maps dotted field paths to the exact value expected, as YAML
	// (a string, number, bool or null).
	Fields map[string]any `yaml:"fields"`
	// Exists lists fields that must be present.
	Exists []string `yaml:"exists"`
	// Absent lists fields that must not be present.
	Absent []string `yaml:"absent"`
	// Matches maps fields to regular expressions their value must match.
	Matches map[string]string `yaml:"matches"`
	// Index is the index the document must go to.
	Index string `yaml:"index"`
	// Dropped, when set, says the line must be dropped, with this reason
	// ("sample.ratio", "sample.rule[0]", ... or "any").
	Dropped string `yaml:"dropped"`
	// Redacted says the document must (true) or must not (false) carry the
	// _redacted tag.
	Redacted *bool `yaml:"redacted"`

	// Line is where the expectation was written, for reports.
	Line int `yaml:"-"`
}

func (c *Config) validateTests(pipelines map[string]int) Problems {
	var ps Problems
	for i, t := range c.Tests {
		at := "tests[" + strconv.Itoa(i) + "]"
		if t.Pipeline == "" && len(c.Pipelines) != 1 {
			ps = append(ps, c.problemAt(at+".pipeline", fmt.Errorf("name the pipeline under test (there are %d)", len(c.Pipelines))))
		} else if _, ok := pipelines[t.Pipeline]; t.Pipeline != "" && !ok {
			msg := fmt.Errorf("no pipeline is named %q", t.Pipeline)
			if s := suggest(t.Pipeline, c.PipelineNames()); s != "" {
				msg = fmt.Errorf("no pipeline is named %q (did you mean %q?)", t.Pipeline, s)
			}
			ps = append(ps, c.problemAt(at+".pipeline", msg))
		}
		if len(t.Input) == 0 {
			ps = append(ps, c.problemAt(at+".input", fmt.Errorf("a test needs at least one input line")))
		}
	}
	return ps
}

// locateTests records where each test and expectation was written.
func (c *Config) locateTests(file string, tests []Test, prefix string) {
	for i := range tests {
		at := prefix + "[" + strconv.Itoa(i) + "]"
		tests[i].File = file
		tests[i].Line, _ = c.Position(at)
		for j := range tests[i].Expect {
			tests[i].Expect[j].Line, _ = c.Position(at + ".expect[" + strconv.Itoa(j) + "]")
		}
	}
}

// testFile is the shape of a *_test.yaml file next to pipelines.yaml.
type testFile struct {
	// Tests are pipeline unit tests, as in the tests: section.
	Tests []Test `yaml:"tests"`
}

// LoadTestFiles reads the *_test.yaml files in dir (those next to the
// configuration) and returns their tests, checked against c's pipelines.
func (c *Config) LoadTestFiles(dir string) ([]Test, Problems, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.yaml"))
	if err != nil {
		return nil, nil, err
	}
	var all []Test
	var problems Problems
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("reading tests: %w", err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			problems = append(problems, syntaxProblem(f, data, err))
			continue
		}
		d := &decoder{file: f, getenv: osLookupEnv, pos: map[string]position{}}
		var tf testFile
		d.decode(&root, reflect.ValueOf(&tf).Elem(), "")
		problems = append(problems, d.problems...)
		tc := *c
		tc.File, tc.positions, tc.Tests = f, d.pos, tf.Tests
		problems = append(problems, tc.validateTests(c.pipelineIndex())...)
		tc.locateTests(f, tf.Tests, "tests")
		all = append(all, tf.Tests...)
	}
	if len(problems.Errors()) > 0 {
		return all, problems, problems
	}
	return all, problems, nil
}

func (c *Config) pipelineIndex() map[string]int {
	m := map[string]int{}
	for i, p := range c.Pipelines {
		m[p.Name] = i
	}
	return m
}
