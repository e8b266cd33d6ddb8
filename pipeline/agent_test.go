package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/internal/estest"
	"github.com/traceship/shipper/pipeline"
	"github.com/traceship/shipper/sink"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// agentConfig is a configuration for one pipeline reading dir/*.log into the
// double at url, with state in stateDir.
func agentConfig(t *testing.T, url, dir, stateDir string) config.Config {
	t.Helper()
	yaml := fmt.Sprintf(`
state_dir: %s
shutdown_timeout: 10s
http: {listen: ""}
tail: {checkpoint_interval: 50ms}
elasticsearch:
  hosts: [%s]
  bulk: {flush_interval: 20ms}
  retry: {initial_backoff: 5ms, max_backoff: 50ms}
  setup: {enabled: false}
pipelines:
  - name: shop
    inputs:
      - paths: [%s/*.log]
        scan_interval: 50ms
`, stateDir, url, dir)
	cfg, problems, err := config.Parse("test.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if len(problems) > 0 {
		t.Fatalf("config warnings: %v", problems)
	}
	return cfg
}

// runAgent runs an agent until stop is called and returns its Run error.
func runAgent(t *testing.T, cfg config.Config, log *zap.Logger) (stop func() error) {
	t.Helper()
	snk, err := sink.NewWithStateDir(cfg.Elasticsearch, cfg.StateDir, log.Named("sink"), func(dst, src []byte) []byte { return append(dst, src...) })
	if err != nil {
		t.Fatal(err)
	}
	env := pipeline.Env{Getenv: func(string) string { return "node-1" }, Now: time.Now, Log: log}
	a, err := pipeline.NewAgent(cfg, log, env, snk, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	return func() error { cancel(); return <-done }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling, not timing: the deadline bounds it
	}
}

// TestRunShipsAFileAndCheckpointsIt is the path a new user tries first:
// `shipper run` against an Elasticsearch endpoint ships every line once,
// writes its checkpoint, and a restart ships nothing twice and continues
// with lines written while it was down.
func TestRunShipsAFileAndCheckpointsIt(t *testing.T) {
	es := estest.New(t)
	dir, state := t.TempDir(), t.TempDir()
	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	path := filepath.Join(dir, "checkout.log")
	write := func(from, to int) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for i := from; i < to; i++ {
			fmt.Fprintf(f, `{"level":"info","ts":1795339800.%03d,"msg":"line %d","service":"checkout","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","card":"4111111111111111"}`+"\n", i, i)
		}
	}
	write(0, 500)
	cfg := agentConfig(t, es.URL(), dir, state)

	stop := runAgent(t, cfg, log)
	waitFor(t, "500 documents", func() bool { return es.Count("shipper-checkout-*") == 500 })
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	docs := es.Docs("shipper-checkout-2026.11.22")
	if len(docs) != 500 {
		t.Fatalf("index shipper-checkout-2026.11.22 has %d documents, want 500", len(docs))
	}
	for _, d := range docs {
		if strings.Contains(string(d.Source), "4111111111111111") {
			t.Fatalf("a card number reached Elasticsearch: %s", d.Source)
		}
	}
	reg, err := os.ReadDir(state)
	if err != nil || len(reg) == 0 {
		t.Fatalf("no checkpoint written in %s: %v", state, err)
	}

	write(500, 800)
	stop = runAgent(t, cfg, log)
	waitFor(t, "800 documents", func() bool { return es.Count("shipper-checkout-*") >= 800 })
	if err := stop(); err != nil {
		t.Fatalf("second Run: %v", err)
	}
	if n := es.Count("shipper-checkout-*"); n != 800 {
		t.Errorf("after the restart the index holds %d documents, want 800", n)
	}
	if st := es.Requests(); st.Conflicts != 0 {
		t.Errorf("the restart re-sent %d documents that were already acknowledged", st.Conflicts)
	}
}

// A reload warns about a setting that takes effect only at a restart, for
// as long as the file asks for another value than the running one: changed
// back, there is nothing to warn about.
func TestReloadWarnsOfRestartOnlySettingsAgainstWhatRuns(t *testing.T) {
	es := estest.New(t)
	dir, state := t.TempDir(), t.TempDir()
	core, logs := observer.New(zap.WarnLevel)
	cfg := agentConfig(t, es.URL(), dir, state)
	snk, err := sink.NewWithStateDir(cfg.Elasticsearch, cfg.StateDir, zap.NewNop(), func(dst, src []byte) []byte { return append(dst, src...) })
	if err != nil {
		t.Fatal(err)
	}
	a, err := pipeline.NewAgent(cfg, zap.New(core), pipeline.Env{Getenv: func(string) string { return "" }, Now: time.Now}, snk, nil)
	if err != nil {
		t.Fatal(err)
	}
	moved := agentConfig(t, es.URL(), dir, t.TempDir())
	for i, c := range []config.Config{moved, moved, cfg} {
		if err := a.Reload(c); err != nil {
			t.Fatal(err)
		}
		want := 1
		if i == 2 {
			want = 0
		}
		if n := logs.TakeAll(); len(n) != want {
			t.Errorf("reload %d: %d warnings, want %d: %v", i+1, len(n), want, n)
		}
	}
}
