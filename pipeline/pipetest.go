package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/tailer"
)

// TestResult is the outcome of one pipeline unit test.
type TestResult struct {
	Test     config.Test
	Failures []string // empty when the test passed
}

// RunTests runs pipeline unit tests: each test's input lines go through its
// pipeline exactly as a file's lines would (same reader, same framing, same
// stages) and the documents that come out are checked against the test's
// expectations. A report is written to out; the results are returned.
func RunTests(ctx context.Context, cfg config.Config, tests []config.Test, env Env, out io.Writer) ([]TestResult, error) {
	built := map[string]*Pipeline{}
	var results []TestResult
	for _, t := range tests {
		name := t.Pipeline
		if name == "" && len(cfg.Pipelines) == 1 {
			name = cfg.Pipelines[0].Name
		}
		p, ok := built[name]
		if !ok {
			pc, found := cfg.Pipeline(name)
			if !found {
				return nil, fmt.Errorf("%s:%d: test %q: no pipeline is named %q", t.File, t.Line, t.Name, name)
			}
			var err error
			if p, err = Build(*pc, env); err != nil {
				return nil, err
			}
			built[name] = p
		}
		docs, err := runTestInput(ctx, p, t, env)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: test %q: %w", t.File, t.Line, t.Name, err)
		}
		r := TestResult{Test: t, Failures: check(t, docs)}
		results = append(results, r)
		label := t.Name
		if label == "" {
			label = fmt.Sprintf("line %d", t.Line)
		}
		if len(r.Failures) == 0 {
			fmt.Fprintf(out, "PASS  %s (%s:%d)\n", label, t.File, t.Line)
			continue
		}
		fmt.Fprintf(out, "FAIL  %s (%s:%d)\n", label, t.File, t.Line)
		for _, f := range r.Failures {
			fmt.Fprintf(out, "      %s\n", strings.ReplaceAll(f, "\n", "\n      "))
		}
	}
	return results, nil
}

// testDoc is one document a test's input produced.
type testDoc struct {
	index, drop string
	tags        shipper.Tags
	source      map[string]any
	raw         string
}

func runTestInput(ctx context.Context, p *Pipeline, t config.Test, env Env) ([]testDoc, error) {
	dir, err := os.MkdirTemp("", "shipper-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "input.log")
	if err := os.WriteFile(tmp, []byte(strings.Join(t.Input, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	path := t.Path
	if path == "" {
		path = "test.log"
	}
	chain := p.ChainFor(path)
	file := &shipper.File{ID: "test", Path: path}
	now := env.Now()
	opts := tailer.ReadOptions{NewFramer: func(string) shipper.Framer { return chain.NewFramer(path) }, Now: func() time.Time { return now }}
	var docs []testDoc
	var buf []byte
	err = tailer.ReadFile(ctx, tmp, opts, func(b *shipper.Batch) error {
		b.File = file
		for i := range b.Events {
			b.Events[i].Source.File = file
		}
		chain.Process(b)
		for i := range b.Events {
			ev := &b.Events[i]
			buf = shipper.AppendSource(buf[:0], ev)
			d := testDoc{index: ev.Index, drop: ev.Drop, tags: ev.Tags, raw: string(buf)}
			if err := json.Unmarshal(buf, &d.source); err != nil {
				return fmt.Errorf("the pipeline produced invalid JSON: %v: %s", err, buf)
			}
			docs = append(docs, d)
		}
		return nil
	})
	return docs, err
}

func check(t config.Test, docs []testDoc) []string {
	var fails []string
	if len(docs) != len(t.Expect) {
		fails = append(fails, fmt.Sprintf("expected %d documents, got %d", len(t.Expect), len(docs)))
	}
	for i, exp := range t.Expect {
		if i >= len(docs) {
			break
		}
		d := docs[i]
		at := fmt.Sprintf("%s:%d: document %d", t.File, exp.Line, i+1)
		fail := func(format string, args ...any) {
			fails = append(fails, at+": "+fmt.Sprintf(format, args...))
		}
		if exp.Dropped != "" {
			switch {
			case d.drop == "":
				fail("expected dropped (%s), but it is kept", exp.Dropped)
			case exp.Dropped != "any" && d.drop != exp.Dropped:
				fail("expected dropped by %s, dropped by %s", exp.Dropped, d.drop)
			}
		} else if d.drop != "" {
			fail("dropped by %s, expected kept", d.drop)
		}
		if exp.Index != "" && exp.Index != d.index {
			fail("index:\n  expected %q\n  got      %q", exp.Index, d.index)
		}
		if exp.Redacted != nil && *exp.Redacted != d.tags.Has(shipper.TagRedacted) {
			fail("expected redacted: %v, got %v", *exp.Redacted, d.tags.Has(shipper.TagRedacted))
		}
		for _, field := range slices.Sorted(maps.Keys(exp.Fields)) {
			want := normalize(exp.Fields[field])
			got, ok := lookupField(d.source, field)
			switch {
			case !ok:
				fail("field %s:\n  expected %s\n  got      (absent)", field, show(want))
			case !reflect.DeepEqual(normalize(got), want):
				fail("field %s:\n  expected %s\n  got      %s", field, show(want), show(got))
			}
		}
		for _, field := range exp.Exists {
			if _, ok := lookupField(d.source, field); !ok {
				fail("field %s: expected to exist, it is absent", field)
			}
		}
		for _, field := range exp.Absent {
			if v, ok := lookupField(d.source, field); ok {
				fail("field %s: expected absent, got %s", field, show(v))
			}
		}
		for _, field := range slices.Sorted(maps.Keys(exp.Matches)) {
			re, err := regexp.Compile(exp.Matches[field])
			if err != nil {
				fail("matches %s: invalid regular expression: %v", field, err)
				continue
			}
			v, ok := lookupField(d.source, field)
			s, isStr := v.(string)
			if !ok || !isStr || !re.MatchString(s) {
				fail("field %s:\n  expected to match %s\n  got      %s", field, exp.Matches[field], show(v))
			}
		}
		if len(fails) > 0 && i == len(t.Expect)-1 {
			fails = append(fails, "the documents were:\n"+allDocs(docs))
		}
	}
	return fails
}

func allDocs(docs []testDoc) string {
	var b strings.Builder
	for i, d := range docs {
		fmt.Fprintf(&b, "  %d. ", i+1)
		if d.drop != "" {
			fmt.Fprintf(&b, "(dropped: %s) ", d.drop)
		}
		fmt.Fprintf(&b, "%s %s\n", d.index, d.raw)
	}
	return strings.TrimRight(b.String(), "\n")
}

// lookupField finds a dotted path in a decoded document, through nested
// objects or literal dotted keys, as Elasticsearch reads them.
func lookupField(doc map[string]any, path string) (any, bool) {
	if v, ok := doc[path]; ok {
		return v, true
	}
	for i := len(path) - 1; i > 0; i-- {
		if path[i] != '.' {
			continue
		}
		if sub, ok := doc[path[:i]].(map[string]any); ok {
			if v, ok := lookupField(sub, path[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// normalize makes YAML and JSON values comparable (numbers as float64).
func normalize(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(data, &out) != nil {
		return v
	}
	return out
}

func show(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
