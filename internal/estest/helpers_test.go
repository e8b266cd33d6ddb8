package estest

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// epoch is the fixed clock of tests whose responses are compared to golden
// files (data-stream backing index dates, ILM modified dates, took).
var epoch = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func fixed() time.Time { return epoch }

type reply struct {
	status int
	header http.Header
	body   []byte
}

// call sends one request and reads the whole reply.
func call(t testing.TB, method, url, body string, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return reply{status: res.StatusCode, header: res.Header, body: b}
}

func (r reply) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("reply is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// at walks a decoded JSON value by keys and indices ("items", 0, "create").
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func ndjson(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// golden compares a JSON reply with testdata/<name>.json (indented);
// go test -update rewrites it.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, got)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), buf.String()); d != "" {
		t.Errorf("%s differs from %s (-want +got):\n%s", name, path, d)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// env is a test's cluster: the double, or the real cluster named by
// SHIPPER_TEST_ES_URL, with a namespace so runs against a shared cluster
// do not see each other's indices and templates (cleaned up at the end).
type env struct {
	url string
	srv *Server // nil against a real cluster
	ns  string
}

var envSeq atomic.Int64

func newEnv(t *testing.T, opts ...Option) env {
	t.Helper()
	url, srv := Target(t, opts...)
	e := env{url: url, srv: srv,
		ns: "estest-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-" + strconv.FormatInt(envSeq.Add(1), 10)}
	if srv == nil {
		t.Cleanup(func() { e.cleanup(t) })
	}
	return e
}

// ix names an index in the test's namespace.
func (e env) ix(name string) string { return e.ns + "-" + name }

// count refreshes and counts, through the API so it works on a real cluster.
func (e env) count(t *testing.T, pattern string) int {
	t.Helper()
	call(t, "POST", e.url+"/"+pattern+"/_refresh?ignore_unavailable=true", "")
	r := call(t, "GET", e.url+"/"+pattern+"/_count?ignore_unavailable=true", "")
	n, _ := at(r.obj(t), "count").(float64)
	return int(n)
}

func (e env) cleanup(t *testing.T) {
	r := call(t, "GET", e.url+"/_cat/indices/"+e.ns+"-*?format=json&expand_wildcards=all", "")
	var rows []map[string]any
	json.Unmarshal(r.body, &rows)
	for _, row := range rows {
		if name, _ := row["index"].(string); name != "" {
			call(t, "DELETE", e.url+"/"+name, "")
		}
	}
	r = call(t, "GET", e.url+"/_index_template/"+e.ns+"*", "")
	for _, tpl := range at(r.obj(t), "index_templates").([]any) {
		call(t, "DELETE", e.url+"/_index_template/"+at(tpl, "name").(string), "")
	}
}
