package redact

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenCorpus runs a mixed corpus through Process. Lines whose case
// starts with "neg-" must come out byte-identical and untagged; every line's
// output must be valid JSON without a card; the whole output is compared to
// testdata/corpus.golden.ndjson (go test -update rewrites it).
func TestGoldenCorpus(t *testing.T) {
	r := newDefault(t)
	in, err := os.ReadFile("testdata/corpus.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(in))
	for sc.Scan() {
		line := sc.Text()
		out, tags := processLine(t, r, line)
		if strings.HasPrefix(line, `{"case":"neg-`) && (out != line || tags != 0) {
			t.Errorf("hard negative changed:\n in: %s\nout: %s", line, out)
		}
		if strings.HasPrefix(line, `{"case":"pos-`) && tags == 0 {
			t.Errorf("positive not tagged: %s", line)
		}
		if !json.Valid([]byte(out)) {
			t.Errorf("invalid JSON: %s", out)
		}
		checkNoLeak(t, decodeAny(t, []byte(out)), keyPlain, "$")
		got.WriteString(out)
		got.WriteByte('\n')
	}
	const golden = "testdata/corpus.golden.ndjson"
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		gl, wl := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Errorf("line %d differs:\n got: %s\nwant: %s", i+1, gl[i], wl[i])
			}
		}
		if len(gl) != len(wl) {
			t.Errorf("got %d lines, want %d", len(gl), len(wl))
		}
	}
}
