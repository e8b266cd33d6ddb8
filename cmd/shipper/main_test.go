package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestMain doubles as the shipper binary: the process tests start this test
// binary again with SHIPPER_TEST_AS_MAIN=1, and it then runs main, so the
// real process (signals, HTTP endpoint, exit codes) is what is tested.
func TestMain(m *testing.M) {
	if os.Getenv("SHIPPER_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	// lumberjack starts a compression goroutine that never ends (its
	// Close does not stop it); the crash test's writer uses lumberjack.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"))
}

// testEnv is a fixed environment: one node name, one clock, one read time,
// so golden output is the same on every machine.
func testEnv() env {
	fixed := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	vars := map[string]string{"NODE_NAME": "node-1"}
	return env{
		getenv:   func(k string) string { return vars[k] },
		now:      func() time.Time { return fixed },
		readTime: func(string) time.Time { return fixed },
	}
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	// A command that retries forever (Elasticsearch unreachable) must fail
	// the test, not hang it.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code = execute(ctx, args, &out, &errb, testEnv())
	return out.String(), errb.String(), code
}

// TestDryRunGolden runs every bundled testdata/*.log through `shipper
// dry-run` with the built-in defaults and compares the documents with
// testdata/golden/<name>.ndjson (refresh with -update).
func TestDryRunGolden(t *testing.T) {
	logs, _ := filepath.Glob("../../testdata/*.log")
	if len(logs) == 0 {
		t.Fatal("no testdata/*.log")
	}
	for _, log := range logs {
		name := strings.TrimSuffix(filepath.Base(log), ".log")
		t.Run(name, func(t *testing.T) {
			out, stderr, code := runCLI(t, "dry-run", "--show-dropped", log)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			golden := filepath.Join("../../testdata/golden", name+".ndjson")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if out != string(want) {
				t.Errorf("dry-run output differs from %s (run with -update after checking the change):\n%s", golden, lineDiff(string(want), out))
			}
		})
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}

// TestDryRunShowsWhatTheREADMEPromises checks the user-visible promises of
// the quick start on the bundled data: ECS documents with trace ids, card
// numbers masked, dated index names, one document per line, deterministic.
// --explain names what redaction changed, wherever it was: a value, a key,
// a field enrich took out of the document; and nothing when nothing was.
func TestDryRunExplainsRedaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	os.WriteFile(path, []byte(`{"msg":"a card 4111111111111111"}
{"msg":"hi","password":"hunter2"}
{"msg":"hi","4111111111111111":"x"}
{"msg":"hi","service":"pay-4111111111111111"}
{"msg":"hi"}
`), 0o644)
	out, _, code := runCLI(t, "dry-run", "--explain", path)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	var notes []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "#   redact: ") {
			notes = append(notes, strings.TrimPrefix(l, "#   redact: "))
		}
	}
	want := []string{"redacted values in message", "redacted values in password", "redacted keys ************1111",
		"redacted values in service.name", "nothing to redact"}
	if !slices.Equal(notes, want) {
		t.Errorf("redact notes:\n%s\nwant\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}

	// With sensitive keys removed, a member removed and a key redacted in
	// one line are each named for what happened to them.
	cfg := filepath.Join(t.TempDir(), "pipelines.yaml")
	os.WriteFile(cfg, []byte("pipelines:\n  - name: app\n    redact: {keys: {enabled: true, action: remove}}\n"), 0o644)
	os.WriteFile(path, []byte(`{"msg":"hi","password":"hunter2","4111111111111111":"x","n":1}`+"\n"), 0o644)
	out, _, code = runCLI(t, "dry-run", "-c", cfg, "--explain", path)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "#   redact: redacted keys ************1111\n#   redact: removed password\n") {
		t.Errorf("a removed member and a redacted key in one line:\n%s", out)
	}
}

func TestDryRunShowsWhatTheREADMEPromises(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/*.log")
	args := append([]string{"dry-run"}, files...)
	out, stderr, code := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	again, _, _ := runCLI(t, args...)
	if again != out {
		t.Errorf("two dry-runs of the same files differ")
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var withTrace int
	for _, l := range lines {
		var d struct {
			Index  string         `json:"_index"`
			ID     string         `json:"_id"`
			Source map[string]any `json:"_source"`
		}
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("not a JSON document: %v\n%s", err, l)
		}
		if !strings.HasPrefix(d.Index, "shipper-") || !strings.Contains(d.Index, "-2026.11.") {
			t.Errorf("index %q is not a dated shipper index", d.Index)
		}
		if d.ID == "" || d.Source["@timestamp"] == nil || d.Source["message"] == nil {
			t.Errorf("document lacks _id, @timestamp or message: %s", l)
		}
		if tr, ok := d.Source["trace"].(map[string]any); ok {
			if id, _ := tr["id"].(string); len(id) == 32 {
				withTrace++
			}
		}
	}
	if withTrace < len(lines)/2 {
		t.Errorf("only %d of %d documents carry a trace.id", withTrace, len(lines))
	}
	for _, pan := range []string{"4111111111111111", "5555555555554444", "5555 5555 5555 4444", "378282246310005", "3782-822463-10005", "6011111111111117", "hunter2", "eyJhbGciOiJIUzI1NiJ9"} {
		if strings.Contains(out, pan) {
			t.Errorf("dry-run output leaks %q", pan)
		}
	}
	if !strings.Contains(stderr, "documents out:") {
		t.Errorf("no summary on stderr: %q", stderr)
	}
}

func TestValidateReportsEveryProblemWithPosition(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "pipelines.yaml")
	os.WriteFile(bad, []byte("pipelines:\n  - name: app\n    sample:\n      ratoi: 0.5\n    workers: 0\n"), 0o644)
	out, _, code := runCLI(t, "validate", "-c", bad)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{bad + ":4:7: pipelines[0].sample.ratoi: unknown key \"ratoi\" (did you mean \"ratio\"?)", bad + ":5:14: pipelines[0].workers: must be at least 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = runCLI(t, "validate", "-c", "../../pipelines.yaml")
	if code != 0 || strings.TrimSpace(out) != "ok" {
		t.Errorf("the repository's pipelines.yaml does not validate (exit %d):\n%s", code, out)
	}
}

// Problems and errors are printed redacted, and quote ${VAR} references
// rather than the values taken from the environment: they go to a terminal
// or, under systemd and Kubernetes, to the logs.
func TestErrorsDoNotShowSecrets(t *testing.T) {
	t.Setenv("ES_PASSWORD", "hunter2x")
	dir := t.TempDir()
	bad := filepath.Join(dir, "pipelines.yaml")
	os.WriteFile(bad, []byte("elasticsearch:\n  hosts: [\"http://elastic:hunter2x@127.0.0.1:92x0\"]\n  bulk: {flush_interval: \"${ES_PASSWORD}\"}\npipelines: [{name: app}]\n4111111111111111: 1\n"), 0o644)
	for _, args := range [][]string{
		{"validate", "-c", bad},
		{"dry-run", "-c", bad, bad},
	} {
		out, errOut, code := runCLI(t, args...)
		if code == 0 {
			t.Errorf("%v: exit 0, want a failure", args)
		}
		if all := out + errOut; strings.Contains(all, "hunter2x") || strings.Contains(all, "4111111111111111") || !strings.Contains(all, "[REDACTED]") {
			t.Errorf("%v: want the secrets hidden, the problems still shown:\n%s", args, all)
		}
	}
	if out, _, _ := runCLI(t, "validate", "-c", bad); !strings.Contains(out, `invalid duration "${ES_PASSWORD}"`) {
		t.Errorf("validate does not name the reference:\n%s", out)
	}
}

func TestEverySubcommandHasHelp(t *testing.T) {
	root := newRoot(&bytes.Buffer{}, &bytes.Buffer{}, testEnv())
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		out, _, code := runCLI(t, c.Name(), "-h")
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%s -h: exit %d, output %q", c.Name(), code, out)
		}
	}
}

// TestShippedPipelineTestsPass runs `shipper test` on the repository's
// pipelines.yaml, as a user would before deploying it.
func TestShippedPipelineTestsPass(t *testing.T) {
	out, stderr, code := runCLI(t, "test", "-c", "../../pipelines.yaml")
	if code != 0 || !strings.Contains(out, " passed, 0 failed") {
		t.Fatalf("shipper test on pipelines.yaml: exit %d\n%s%s", code, out, stderr)
	}
}

// TestFailingPipelineTestShowsADiff: a wrong expectation is reported with
// the test's file and line, the expected and actual values, and exit 1.
func TestFailingPipelineTestShowsADiff(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pipelines.yaml")
	os.WriteFile(cfg, []byte(`pipelines:
  - name: app
tests:
  - name: level is read
    input: ['{"level":"WARNING","msg":"disk almost full","service":"db"}']
    expect:
      - fields:
          log.level: error
          service.name: db
`), 0o644)
	os.WriteFile(filepath.Join(dir, "extra_test.yaml"), []byte(`tests:
  - name: from a test file
    input: ['{"msg":"x","service":"api"}']
    expect:
      - index: shipper-api-2026.11.22
`), 0o644)
	out, _, code := runCLI(t, "test", "-c", cfg)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"FAIL  level is read (" + cfg + ":4)",
		cfg + ":7: document 1: field log.level:\n        expected \"error\"\n        got      \"warn\"",
		"PASS  from a test file (" + filepath.Join(dir, "extra_test.yaml") + ":2)",
		"1 passed, 1 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
