package parser

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/traceship/shipper"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenConfig gives the files that need one their parse settings.
func goldenConfig(name string) Config {
	cfg := DefaultConfig()
	switch name {
	case "multiline.log":
		m := DefaultMultilineConfig()
		m.StartPattern = `^(\d{4}-\d{2}-\d{2}|panic: )`
		cfg.Multiline = &m
	case "logfmt.log":
		cfg.Format = FormatLogfmt
	}
	return cfg
}

// TestGolden parses each testdata/*.log through the framer and Process
// and compares the documents, as the encoder writes them, with
// testdata/*.golden.ndjson. Refresh with: go test ./parser -run Golden -update
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.log")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			p, err := New(goldenConfig(name))
			if err != nil {
				t.Fatal(err)
			}
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := runFile(p, path, in)
			golden := strings.TrimSuffix(path, ".log") + ".golden.ndjson"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("documents differ from %s (run with -update if the change is intended):\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// runFile frames and parses a whole file as the tailer and a worker would
// and returns one document per line.
func runFile(p *Parser, path string, in []byte) []byte {
	file := &shipper.File{ID: "golden", Path: path}
	b := &shipper.Batch{File: file}
	add := func(line []byte, src shipper.Source, tags shipper.Tags) {
		b.Events = append(b.Events, shipper.Event{Source: src, Raw: b.Append(line), ReadTime: readTime, Tags: tags})
	}
	f := p.NewFramer(path)
	var off int64
	for len(in) > 0 {
		line := in
		next := len(in)
		if i := bytes.IndexByte(in, '\n'); i >= 0 {
			line, next = in[:i], i+1
		}
		src := shipper.Source{File: file, Offset: off, Next: off + int64(next)}
		if f != nil {
			f.Push(line, src, 0, add)
		} else if len(line) > 0 {
			add(line, src, 0)
		}
		off += int64(next)
		in = in[next:]
	}
	if f != nil {
		f.Flush(add)
	}
	p.Process(b)
	var out []byte
	for i := range b.Events {
		doc := shipper.AppendSource(nil, &b.Events[i])
		if !json.Valid(doc) {
			panic("invalid document: " + string(doc))
		}
		out = append(out, doc...)
		out = append(out, '\n')
	}
	return out
}
