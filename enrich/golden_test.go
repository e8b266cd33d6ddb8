package enrich

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/traceship/shipper"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// leafPaths returns the dotted path of every leaf of a JSON document, the
// way Elasticsearch expands "a.b" keys, and reports a path seen twice: a
// field with two values, which is what the stage must never produce for the
// fields the agent writes.
func leafPaths(doc []byte) (map[string]json.RawMessage, error) {
	paths := map[string]json.RawMessage{}
	var walk func(prefix string, v json.RawMessage) error
	walk = func(prefix string, v json.RawMessage) error {
		v = bytes.TrimSpace(v)
		if len(v) == 0 || v[0] != '{' {
			if _, dup := paths[prefix]; dup {
				return fmt.Errorf("field %q written twice", prefix)
			}
			paths[prefix] = v
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		if _, err := dec.Token(); err != nil {
			return err
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			p := tok.(string)
			if prefix != "" {
				p = prefix + "." + p
			}
			if err := walk(p, raw); err != nil {
				return err
			}
		}
		return nil
	}
	return paths, walk("", doc)
}

func TestGoldenDocuments(t *testing.T) {
	lines := readLines(t, "testdata/mixed.log")
	removing := DefaultConfig()
	removing.Trace.RemoveSourceFields = true
	for _, tc := range []struct {
		golden string
		cfg    Config
	}{
		{"testdata/mixed.golden.ndjson", DefaultConfig()},
		{"testdata/mixed.remove_source_fields.golden.ndjson", removing},
	} {
		t.Run(filepath.Base(tc.golden), func(t *testing.T) {
			e := newEnricher(t, tc.cfg, map[string]string{"NODE_NAME": "node-a"})
			file := &shipper.File{ID: "f1", Path: "/var/log/shop/mixed.log"}
			b := batchOf(t, file, lines...)
			when := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			for i := range b.Events {
				b.Events[i].Time = when
			}
			e.Process(b)
			var out []byte
			for i := range b.Events {
				doc := shipper.AppendSource(nil, &b.Events[i])
				paths, err := leafPaths(doc)
				if err != nil {
					t.Errorf("line %d: %v\n%s", i+1, err, doc)
					continue
				}
				// Every document the stage gave a trace id holds it once, as
				// 32 lower-case hex, in trace.id.
				if id := b.Events[i].TraceID; !id.IsZero() {
					if got := string(paths["trace.id"]); got != `"`+id.String()+`"` {
						t.Errorf("line %d: trace.id in the document is %s, want %q", i+1, got, id)
					}
				}
				out = append(append(out, doc...), '\n')
			}
			if *update {
				if err := os.WriteFile(tc.golden, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tc.golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(out), "\n")); diff != "" {
				t.Errorf("documents differ from %s (-want +got); run with -update if the change is intended:\n%s", tc.golden, diff)
			}
		})
	}
}
