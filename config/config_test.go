package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

// TestBadConfigs loads every testdata/bad/*.yaml and checks that each
// problem its "# want: LINE:COL: text" comments announce is reported, at
// that position, and that nothing else is.
func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad configs found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for _, line := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					wants = append(wants, f+":"+w)
				}
			}
			_, problems, err := Parse(f, data, noEnv)
			if err == nil {
				t.Fatalf("Parse accepted a bad config")
			}
			errs := problems.Errors()
			if len(errs) != len(wants) {
				t.Errorf("got %d problems, want %d:\n%s", len(errs), len(wants), errs.Error())
			}
			for _, w := range wants {
				found := false
				for _, p := range errs {
					if strings.HasPrefix(p.Error(), w) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing problem %q in:\n%s", w, errs.Error())
				}
			}
		})
	}
}

func TestEnvironmentExpansion(t *testing.T) {
	env := map[string]string{"ES_URL": "https://es.internal:9200", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	data := []byte(`
state_dir: ${STATE:-/tmp/state}
elasticsearch:
  hosts: ["${ES_URL}"]
pipelines:
  - name: "$${literal}"
    inputs:
      - paths: ["/var/log/${EMPTY:-default}/*.log"]
`)
	cfg, problems, err := Parse("env.yaml", data, lookup)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(problems) != 0 {
		t.Errorf("unexpected warnings: %v", problems)
	}
	if cfg.StateDir != "/tmp/state" {
		t.Errorf("state_dir = %q, want the default from ${STATE:-/tmp/state}", cfg.StateDir)
	}
	if got := cfg.Elasticsearch.Hosts; len(got) != 1 || got[0] != "https://es.internal:9200" {
		t.Errorf("hosts = %v", got)
	}
	if cfg.Pipelines[0].Name != "${literal}" {
		t.Errorf("$${ did not give a literal ${: %q", cfg.Pipelines[0].Name)
	}
	if got := cfg.Pipelines[0].Inputs[0].Paths[0]; got != "/var/log/default/*.log" {
		t.Errorf("an empty variable did not take its default: %q", got)
	}
}

func TestUnsetVariableIsAWarningWithPosition(t *testing.T) {
	data := []byte("pipelines:\n  - name: app\n    inputs:\n      - paths: [\"${LOG_DIR}/*.log\"]\n")
	_, problems, err := Parse("w.yaml", data, noEnv)
	if err != nil {
		t.Fatalf("an unset variable stopped the config: %v", err)
	}
	w := problems.Warnings()
	if len(w) != 1 || !strings.HasPrefix(w[0].Error(), "w.yaml:4:17: warning:") || !strings.Contains(w[0].Error(), "LOG_DIR") {
		t.Fatalf("warnings = %v", w)
	}
}

func TestNewPipelinesStartFromDefaults(t *testing.T) {
	data := []byte("pipelines:\n  - name: a\n    inputs:\n      - paths: [/x/*.log]\n  - name: b\n    workers: 7\n")
	cfg, _, err := Parse("d.yaml", data, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultPipeline()
	want.Name = "a"
	in := Input{}
	in.setDefaults()
	in.Paths = []string{"/x/*.log"}
	want.Inputs = []Input{in}
	if !reflect.DeepEqual(cfg.Pipelines[0], want) {
		t.Errorf("pipeline a = %+v\nwant %+v", cfg.Pipelines[0], want)
	}
	if cfg.Pipelines[1].Workers != 7 || cfg.Pipelines[1].Sample.Ratio != DefaultPipeline().Sample.Ratio {
		t.Errorf("pipeline b did not keep defaults besides workers: %+v", cfg.Pipelines[1])
	}
	if cfg.ShutdownTimeout != 30*time.Second {
		t.Errorf("shutdown_timeout default lost: %v", cfg.ShutdownTimeout)
	}
}

// TestRepositoryPipelinesYAMLIsTheDefault keeps the documented reference
// file and the built-in defaults identical, as dry-run without -c promises.
func TestRepositoryPipelinesYAMLIsTheDefault(t *testing.T) {
	cfg, problems, err := Load("../pipelines.yaml")
	if err != nil {
		t.Fatalf("the repository's pipelines.yaml does not load:\n%v", err)
	}
	if len(problems) != 0 {
		t.Errorf("the repository's pipelines.yaml has warnings:\n%v", problems)
	}
	def := Default()
	cfg.File, cfg.positions, cfg.Tests = "", nil, nil
	if !reflect.DeepEqual(cfg, def) {
		t.Errorf("pipelines.yaml differs from the built-in defaults:\n got %+v\nwant %+v", cfg, def)
	}
}

// TestSemanticWarnings checks the warnings for configurations that are
// valid but probably not meant: each at its position, with a reason.
func TestSemanticWarnings(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	os.WriteFile(filepath.Join(dir, "logs", "app.log"), nil, 0o644)
	data := []byte(strings.ReplaceAll(`pipelines:
  - name: a
    inputs:
      - paths: [DIR/logs/*.log, DIR/logz/*.log]
    sample:
      rules:
        - {when: {field: log.levl, equals: debug}, ratio: 0}
        - {when: {field: kubernetes.namespace, equals: x}, ratio: 0}
        - {when: {field: http.path, equals: /healthz}, ratio: 0}
  - name: b
    inputs:
      - paths: [DIR/logs/app*.log]
      - paths: [logs/*.gz]
        exclude: ["*.gz"]
`, "DIR", dir))
	_, problems, err := Parse("w.yaml", data, noEnv)
	if err != nil {
		t.Fatalf("warnings stopped the config: %v", err)
	}
	wants := []string{
		`w.yaml:4:`, `did you mean ` + dir + `/logs?`,
		`w.yaml:7:26: warning: pipelines[0].sample.rules[0].when.field: no stage produces "log.levl" (did you mean "log.level"?)`,
		`w.yaml:8:26: warning: pipelines[0].sample.rules[1].when.field: "kubernetes.namespace" is written by the agent`,
		`w.yaml:12:17: warning: pipelines[1].inputs[0].paths[0]: matches ` + dir + `/logs/app.log, which pipelines[0].inputs[0].paths[0] (line 4) also reads`,
		`w.yaml:13:17: warning: pipelines[1].inputs[1].paths[0]: "logs/*.gz" is relative`,
		`w.yaml:13:17: warning: pipelines[1].inputs[1].paths[0]: every file "logs/*.gz" matches is excluded by "*.gz"`,
	}
	all := problems.Error()
	for _, w := range wants {
		if !strings.Contains(all, w) {
			t.Errorf("missing warning %q in:\n%s", w, all)
		}
	}
	if strings.Contains(all, "http.path") {
		t.Errorf("a rule on an application field was warned about:\n%s", all)
	}
	if n := len(problems); n != 6 {
		t.Errorf("%d warnings, want 6:\n%s", n, all)
	}
}

func TestTailBudgetBelowItsFloorIsAWarning(t *testing.T) {
	data := []byte("tail: {max_inflight_bytes: 3145728}\nelasticsearch: {bulk: {max_bytes: 2097152}}\npipelines:\n  - name: a\n")
	_, problems, err := Parse("b.yaml", data, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if w := problems.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].Error(), "b.yaml:1:28: warning: tail.max_inflight_bytes: 3145728 is below") {
		t.Fatalf("warnings = %v", w)
	}
}

// TestKeepTraceOnErrorCapIsAWarning: held events keep their batches
// unacknowledged, so with the default budget reading is capped near 0.4
// MiB/s; validate says so, and stops saying so once the budget is raised.
func TestKeepTraceOnErrorCapIsAWarning(t *testing.T) {
	const p = "pipelines:\n  - name: a\n    sample:\n      ratio: 0.1\n      keep_trace_on_error: {window: 10s}\n"
	_, problems, err := Parse("k.yaml", []byte(p), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if w := problems.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].Error(), "k.yaml:5:28: warning: pipelines[0].sample.keep_trace_on_error: holds events for up to 10s") || !strings.Contains(w[0].Error(), "0.4 MiB/s") {
		t.Fatalf("warnings = %v", w)
	}
	_, problems, err = Parse("k.yaml", []byte("tail: {max_inflight_bytes: 67108864}\n"+p), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if w := problems.Warnings(); len(w) != 0 {
		t.Fatalf("with a 64 MiB budget (6.4 MiB/s): warnings = %v", w)
	}
}

// TestMemoryLimit checks what memory_limit resolves to: derived from the
// budgets by default (so raising a budget raises the limit instead of making
// the collector run constantly), a size as written, nothing when off.
func TestMemoryLimit(t *testing.T) {
	const mib = 1 << 20
	const app = "pipelines:\n  - name: app\n"
	for _, tc := range []struct {
		yaml string
		want int64
	}{
		{app, 24*mib + 2*(4*mib+4*mib) + 1024*8<<10},
		{"memory_limit: auto\ntail: {max_inflight_bytes: 33554432}\n" + app, 24*mib + 2*(32*mib+4*mib) + 1024*8<<10},
		{"tail: {max_open_files: 10000}\n" + app, 24*mib + 2*(4*mib+4*mib) + 10000*8<<10},
		{"pipelines:\n  - name: held\n    sample: {ratio: 0.5, keep_trace_on_error: {max_bytes: 1048576}}\n", 24*mib + 2*(4*mib+4*mib+1*mib) + 1024*8<<10},
		{"memory_limit: 96MiB\n" + app, 96 * mib},
		{"memory_limit: 1GiB\n" + app, 1 << 30},
		{"memory_limit: 100000000\n" + app, 100000000},
		{"memory_limit: off\n" + app, 0},
	} {
		cfg, _, err := Parse("pipelines.yaml", []byte(tc.yaml), noEnv)
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if got := cfg.MemoryLimitBytes(); got != tc.want {
			t.Errorf("%q: memory limit %d, want %d", tc.yaml, got, tc.want)
		}
	}
	_, _, err := Parse("pipelines.yaml", []byte("memory_limit: 8MiB\n"+app), noEnv)
	if err == nil || !strings.Contains(err.Error(), "pipelines.yaml:1:15: memory_limit: 8MiB is below 16MiB") {
		t.Errorf("memory_limit: 8MiB: error %v, want it below the floor at 1:15", err)
	}
}

// A problem in a value taken from the environment quotes the reference, not
// the value: a password set as ${ES_PASSWORD} in a mistyped field, or in a
// URL that does not parse, must not reach a terminal or a log.
func TestProblemsDoNotQuoteEnvironmentValues(t *testing.T) {
	env := map[string]string{"ES_URL": "https://elastic:s3cr%t@es:9200", "ES_PASSWORD": "hunter2", "LEVEL": "info"}
	yml := "state_dir: /tmp/s\nlog: {level: \"${LEVEL}\"}\nelasticsearch:\n  hosts: [\"${ES_URL}\"]\n  bulk: {flush_interval: \"${ES_PASSWORD}\"}\npipelines: [{name: p}]\n"
	cfg, problems, err := Parse("p.yaml", []byte(yml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil {
		t.Fatal("want problems")
	}
	text := problems.Error()
	for _, secret := range []string{"hunter2", "s3cr%t"} {
		if strings.Contains(text, secret) {
			t.Errorf("a problem quotes the value of an environment variable:\n%s", text)
		}
	}
	if !strings.Contains(text, "${ES_PASSWORD}") || !strings.Contains(text, "${ES_URL}") {
		t.Errorf("the problems do not name the references:\n%s", text)
	}
	if got := cfg.HideEnv("info: hunter2"); got != "info: ${ES_PASSWORD}" {
		t.Errorf("HideEnv = %q: want the value hidden and a short one left alone", got)
	}
}
