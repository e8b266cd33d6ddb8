package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/traceship/shipper/internal/estest"
)

// agentProc is a `shipper run` process started from this test binary.
type agentProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	done   chan error
	mu     sync.Mutex
	stderr bytes.Buffer
	http   string
}

func startAgent(t *testing.T, configPath, httpAddr string) *agentProc {
	t.Helper()
	p := &agentProc{t: t, done: make(chan error, 1), http: httpAddr}
	p.cmd = exec.Command(os.Args[0], "run", "-c", configPath)
	p.cmd.Env = append(os.Environ(), "SHIPPER_TEST_AS_MAIN=1", "NODE_NAME=node-1")
	errPipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.Write(sc.Bytes())
			p.stderr.WriteByte('\n')
			p.mu.Unlock()
		}
	}()
	go func() { <-copied; p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *agentProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// wait waits for the process to exit and returns its exit code.
func (p *agentProc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Fatalf("the agent did not exit; its logs:\n%s", p.logs())
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *agentProc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// metric returns the sum of a counter's samples on /metrics.
func (p *agentProc) metric(name string) float64 {
	resp, err := http.Get("http://" + p.http + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// stop sends sig (SIGTERM or SIGINT) and fails the test unless the agent
// exits 0.
func (p *agentProc) stop(sig os.Signal) {
	p.t.Helper()
	p.signal(sig)
	if code := p.wait(); code != 0 {
		p.t.Fatalf("exit code %d after %v; logs:\n%s", code, sig, p.logs())
	}
}

// agentSetup is what a process test starts from: an Elasticsearch double, a
// directory for logs and the config, a state directory, and a free HTTP
// address for the agent's endpoint.
type agentSetup struct {
	es                  *estest.Server
	dir, state, cfgPath string
	http                string
}

func newAgentSetup(t *testing.T, opts ...estest.Option) *agentSetup {
	t.Helper()
	s := &agentSetup{es: estest.New(t, opts...), dir: t.TempDir(), state: t.TempDir(), http: freeAddr(t)}
	s.cfgPath = filepath.Join(s.dir, "pipelines.yaml")
	return s
}

// configure writes the agent's configuration with these pipelines.
func (s *agentSetup) configure(t *testing.T, pipelines string) {
	t.Helper()
	writeConfig(t, s.cfgPath, agentYAML(s.state, s.es.URL(), s.http, pipelines))
}

func (s *agentSetup) start(t *testing.T) *agentProc {
	t.Helper()
	return startAgent(t, s.cfgPath, s.http)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func eventually(t *testing.T, what string, logs func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; agent logs:\n%s", what, logs())
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline, not timing
	}
}

func appendLines(t *testing.T, path, service string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	for i := from; i < to; i++ {
		fmt.Fprintf(w, `{"level":"info","ts":1795339800.%03d,"msg":"line","n":%d,"service":%q,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`+"\n", i%1000, i, service)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// httpGet returns the body of a GET of url, failing the test on an error.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func writeConfig(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func agentYAML(state, es, httpAddr string, pipelines string) string {
	return fmt.Sprintf(`
state_dir: %s
shutdown_timeout: 20s
log: {level: info}
http: {listen: "%s"}
tail: {checkpoint_interval: 100ms}
elasticsearch:
  hosts: [%s]
  bulk: {flush_interval: 50ms}
  retry: {initial_backoff: 10ms, max_backoff: 200ms}
  setup: {enabled: false}
pipelines:
%s`, state, httpAddr, es, pipelines)
}

func inputYAML(name, glob string) string {
	return fmt.Sprintf("  - name: %s\n    inputs:\n      - paths: [%q]\n        scan_interval: 100ms\n", name, glob)
}

// TestProcessShipsReloadsAndStopsCleanly runs the real process under a test
// supervisor: it ships a file, shows its counters on /metrics, reloads a
// changed configuration on SIGHUP without losing or re-reading lines,
// refuses a broken configuration while it keeps running, and on SIGTERM
// exits 0 with its checkpoints written.
func TestProcessShipsReloadsAndStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the agent as a process; skipped with -short")
	}
	ag := newAgentSetup(t)
	a := filepath.Join(ag.dir, "a")
	b := filepath.Join(ag.dir, "b")
	os.MkdirAll(a, 0o755)
	os.MkdirAll(b, 0o755)
	ag.configure(t, inputYAML("a", a+"/*.log"))
	appendLines(t, filepath.Join(a, "app.log"), "alpha", 0, 300)

	p := ag.start(t)
	eventually(t, "300 documents of alpha", p.logs, func() bool { return ag.es.Count("shipper-alpha-*") == 300 })
	eventually(t, "the read counter on /metrics", p.logs, func() bool { return p.metric("shipper_events_read_total") >= 300 })

	// Reload with a second pipeline; the first is unchanged and keeps going.
	appendLines(t, filepath.Join(b, "app.log"), "beta", 0, 200)
	ag.configure(t, inputYAML("a", a+"/*.log")+inputYAML("b", b+"/*.log"))
	p.signal(syscall.SIGHUP)
	eventually(t, "200 documents of beta after the reload", p.logs, func() bool { return ag.es.Count("shipper-beta-*") == 200 })
	appendLines(t, filepath.Join(a, "app.log"), "alpha", 300, 400)
	eventually(t, "alpha still flowing after the reload", p.logs, func() bool { return ag.es.Count("shipper-alpha-*") == 400 })

	// A broken configuration is refused; the running one keeps running.
	writeConfig(t, ag.cfgPath, "pipelines:\n  - name: a\n    workres: 2\n")
	p.signal(syscall.SIGHUP)
	eventually(t, "the refusal in the logs", p.logs, func() bool { return strings.Contains(p.logs(), "configuration not reloaded") })
	if !strings.Contains(p.logs(), `workres`) {
		t.Errorf("the refusal does not say what is wrong:\n%s", p.logs())
	}
	appendLines(t, filepath.Join(b, "app.log"), "beta", 200, 250)
	eventually(t, "beta still flowing after the refused reload", p.logs, func() bool { return ag.es.Count("shipper-beta-*") == 250 })

	p.stop(syscall.SIGTERM)
	if st := ag.es.Requests(); st.Conflicts != 0 {
		t.Errorf("%d documents were sent twice", st.Conflicts)
	}
	// The checkpoints were written: a new process ships only new lines.
	ag.configure(t, inputYAML("a", a+"/*.log")+inputYAML("b", b+"/*.log"))
	appendLines(t, filepath.Join(a, "app.log"), "alpha", 400, 410)
	p2 := ag.start(t)
	eventually(t, "the 10 new lines", p2.logs, func() bool { return ag.es.Count("shipper-alpha-*") == 410 })
	p2.stop(syscall.SIGINT)
	if st := ag.es.Requests(); st.Conflicts != 0 {
		t.Errorf("after a clean stop, the restart re-sent %d acknowledged lines", st.Conflicts)
	}
	checkLogsAreJSON(t, p.logs())
	if os.Getenv("SHIPPER_TEST_SHOW_LOGS") != "" {
		t.Log(p.logs())
	}
}

func checkLogsAreJSON(t *testing.T, logs string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("an agent log line is not JSON: %q", line)
			return
		}
	}
}

// TestMetricsEndpointServesStageMetrics checks that the metrics a user
// alerts on are served: per-stage counters, files, and the sink's.
func TestMetricsEndpointServesStageMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the agent as a process; skipped with -short")
	}
	ag := newAgentSetup(t)
	ag.configure(t, inputYAML("a", ag.dir+"/*.log"))
	f := filepath.Join(ag.dir, "app.log")
	appendLines(t, f, "alpha", 0, 50)
	os.WriteFile(filepath.Join(ag.dir, "card.log"), []byte(`{"msg":"paid with 4111 1111 1111 1111","service":"alpha"}`+"\n"), 0o644)
	p := ag.start(t)
	eventually(t, "51 documents", p.logs, func() bool { return ag.es.Count("shipper-alpha-*") == 51 })
	for _, m := range []string{"shipper_events_read_total", "shipper_events_parsed_total", "shipper_redactions_total", "shipper_documents_indexed_total", "shipper_bulk_requests_total", "shipper_events_trace_ids_total"} {
		eventually(t, m+" > 0", p.logs, func() bool { return p.metric(m) > 0 })
	}
	// memory_limit: auto, with the default budgets: 24 MiB + 2 × (4 + 4) MiB
	// + 8 KiB × 1024 open files.
	if os.Getenv("GOMEMLIMIT") != "" {
		t.Log("GOMEMLIMIT is set, and wins over memory_limit: not checking the agent's memory limit")
	} else if got := p.metric("go_gc_gomemlimit_bytes"); got != 48<<20 {
		t.Errorf("go_gc_gomemlimit_bytes = %.0f, want 48 MiB (memory_limit: auto with the default budgets)", got)
	}
	body := httpGet(t, "http://"+ag.http+"/metrics")
	for _, want := range []string{`shipper_file_bytes_behind{path="` + f + `"}`, "shipper_open_files", `rule="cards"`, `shipper_bulk_request_duration_seconds_bucket{outcome="2xx"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, probe := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + ag.http + probe)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", probe, err, resp)
		} else {
			resp.Body.Close()
		}
	}
	p.stop(syscall.SIGTERM)
}

// TestReadyzFollowsElasticsearch: /readyz is 503 while Elasticsearch is
// down and 200 once it is back; /healthz stays 200 throughout.
func TestReadyzFollowsElasticsearch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the agent as a process; skipped with -short")
	}
	ag := newAgentSetup(t)
	ag.configure(t, inputYAML("a", ag.dir+"/*.log"))
	ag.es.Down()
	p := ag.start(t)
	status := func(path string) int {
		resp, err := http.Get("http://" + ag.http + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually(t, "/readyz 503 while Elasticsearch is down", p.logs, func() bool { return status("/readyz") == 503 })
	if code := status("/healthz"); code != 200 {
		t.Errorf("/healthz = %d while Elasticsearch is down; the agent itself is alive", code)
	}
	if err := ag.es.Up(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "/readyz 200 after Elasticsearch is back", p.logs, func() bool { return status("/readyz") == 200 })
	p.stop(syscall.SIGTERM)
}
