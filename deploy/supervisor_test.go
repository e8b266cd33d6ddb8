package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// notifySocket plays systemd's side of sd_notify(3): a datagram socket whose
// path goes to the agent in NOTIFY_SOCKET, collecting the messages.
type notifySocket struct {
	path string
	conn *net.UnixConn
	msgs chan string
	done chan struct{}
}

func newNotifySocket(t *testing.T, dir string) *notifySocket {
	t.Helper()
	p := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listening on the notify socket: %v", err)
	}
	n := &notifySocket{path: p, conn: conn, msgs: make(chan string, 4096), done: make(chan struct{})}
	go func() {
		defer close(n.done)
		buf := make([]byte, 4096)
		for {
			k, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			for _, l := range strings.Split(string(buf[:k]), "\n") {
				if l == "" {
					continue
				}
				select {
				case n.msgs <- l:
				default: // a flood of watchdog pings; the test waits for others
				}
			}
		}
	}()
	t.Cleanup(func() { conn.Close(); <-n.done })
	return n
}

// await waits for the message want, skipping others, until the deadline.
func (n *notifySocket) await(want string, d time.Duration) error {
	deadline := time.After(d)
	for {
		select {
		case m := <-n.msgs:
			if m == want {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("no %s from the agent within %v", want, d)
		}
	}
}

// poll calls f until it returns nil or the deadline passes.
func poll(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		<-tick.C
	}
}

// syncBuffer is the agent's stderr, read while it is written.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// replaceOnce replaces old in s, which must occur exactly once.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("the ConfigMap's pipelines.yaml no longer contains %q exactly once; update this test", old)
	}
	return strings.Replace(s, old, new, 1)
}

// TestAgentUnderSupervisor runs the agent the way the deployments do, with
// the ConfigMap's own pipelines.yaml (paths moved into a temporary
// directory), against the Elasticsearch double, under a stand-in for systemd
// and the kubelet. It checks what the unit and the DaemonSet rely on:
// READY=1 (Type=notify), WATCHDOG=1 at the WATCHDOG_USEC pace (WatchdogSec),
// /healthz and /readyz on http.listen (the probes), CRI container lines
// shipped with host.name from NODE_NAME, SIGHUP reloading and a broken file
// refused while the agent keeps shipping (ExecReload), and SIGTERM ending in
// exit 0 with checkpoints written, within the grace period the manifests
// give it.
func TestAgentUnderSupervisor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent binary (several seconds); skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not on PATH: cannot build the agent")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "shipper")
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/shipper")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/shipper: %v\n%s", err, out)
	}

	es := estest.New(t)
	notify := newNotifySocket(t, dir)

	// The ConfigMap's pipelines.yaml, with the node's paths and port moved
	// into this test's sandbox.
	a := loadAssets(t)
	var ps problems
	ec, ok := loadKubernetes(a, &ps).configEmbedded(&ps)
	if !ok {
		t.Fatal(ps)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	stateDir, logDir := filepath.Join(dir, "state"), filepath.Join(dir, "containers")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := string(ec.data)
	cfg = replaceOnce(t, cfg, "state_dir: /var/lib/shipper", "state_dir: "+stateDir)
	cfg = replaceOnce(t, cfg, "listen: 0.0.0.0:5066", "listen: "+addr)
	cfg = replaceOnce(t, cfg, `"/var/log/containers/*.log"`, strconv.Quote(logDir+"/*.log"))
	cfg = replaceOnce(t, cfg, `"/var/log/pods/*/*/*.log.*"`, strconv.Quote(logDir+"/*.log.*"))
	cfgFile := filepath.Join(dir, "pipelines.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	// A container's log as containerd writes it.
	logFile := filepath.Join(logDir, "checkout-7d9f8_shop_checkout-"+strings.Repeat("ab", 32)+".log")
	traceID := func(i int) string { return fmt.Sprintf("%032x", 0xabc000+i) }
	appendLines := func(from, to int) {
		t.Helper()
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for i := from; i < to; i++ {
			fmt.Fprintf(f, "2026-11-22T10:30:%02d.%09dZ stdout F {\"level\":\"info\",\"msg\":\"order %d\",\"service\":\"checkout\",\"trace_id\":\"%s\",\"span_id\":\"%016x\"}\n",
				i%60, i, i, traceID(i), 0xdef000+i)
		}
	}
	const first = 20
	appendLines(0, first)

	var stderr syncBuffer
	agent := exec.Command(bin, "run", "-c", cfgFile)
	agent.Env = []string{
		"ES_URL=" + es.URL(),
		"NODE_NAME=node-7",
		"NOTIFY_SOCKET=" + notify.path,
		"WATCHDOG_USEC=300000",
	}
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = agent.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = agent.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("agent stderr:\n%s", stderr.String())
		}
	})
	start := time.Now()
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
		}
	}

	step(notify.await("READY=1", 60*time.Second))
	step(notify.await("WATCHDOG=1", 10*time.Second))

	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) error {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	}
	step(poll(10*time.Second, func() error { return get("/healthz") }))
	step(poll(30*time.Second, func() error { return get("/readyz") }))
	step(poll(10*time.Second, func() error { return get("/metrics") }))

	shipped := func(n int) func() error {
		return func() error {
			if c := es.Count("shipper-*"); c != n {
				return fmt.Errorf("%d documents in Elasticsearch, want %d", c, n)
			}
			return nil
		}
	}
	step(poll(60*time.Second, shipped(first)))
	for _, d := range es.Docs("shipper-*") {
		var doc struct {
			Message string `json:"message"`
			Host    struct {
				Name string `json:"name"`
			} `json:"host"`
			Trace struct {
				ID string `json:"id"`
			} `json:"trace"`
		}
		if err := json.Unmarshal(d.Source, &doc); err != nil {
			t.Fatalf("document %s: %v", d.ID, err)
		}
		if doc.Host.Name != "node-7" {
			t.Errorf("document %s: host.name %q, want NODE_NAME node-7", d.ID, doc.Host.Name)
		}
		if !strings.HasPrefix(doc.Message, "order ") || doc.Trace.ID == "" {
			t.Errorf("document %s: the CRI line was not parsed into its JSON payload: message %q, trace.id %q", d.ID, doc.Message, doc.Trace.ID)
		}
	}

	// systemctl reload: SIGHUP reloads.
	step(agent.Process.Signal(syscall.SIGHUP))
	step(notify.await("RELOADING=1", 10*time.Second))
	step(notify.await("READY=1", 10*time.Second))

	// A broken file is refused; the agent keeps running the old one.
	step(os.WriteFile(cfgFile, []byte(cfg+"\nnot_a_key: 1\n"), 0o644))
	step(agent.Process.Signal(syscall.SIGHUP))
	step(notify.await("READY=1", 10*time.Second))
	appendLines(first, first+5)
	step(poll(60*time.Second, shipped(first+5)))
	step(get("/healthz"))
	select {
	case <-exited:
		t.Fatalf("the agent exited after a broken configuration was offered: %v", waitErr)
	default:
	}

	// systemctl stop / pod deletion: SIGTERM flushes, checkpoints, exits 0
	// within the shutdown timeout (the unit's TimeoutStopSec and the pod's
	// terminationGracePeriodSeconds are above it).
	step(agent.Process.Signal(syscall.SIGTERM))
	step(notify.await("STOPPING=1", 10*time.Second))
	select {
	case <-exited:
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			t.Fatalf("the agent exited with %v after SIGTERM, want 0", waitErr)
		} else if waitErr != nil {
			t.Fatal(waitErr)
		}
	case <-time.After(ec.shutdownTimeout() + 5*time.Second):
		t.Fatalf("the agent did not exit within its shutdown timeout %v after SIGTERM", ec.shutdownTimeout())
	}
	entries, err := os.ReadDir(stateDir)
	if err != nil || len(entries) == 0 {
		t.Errorf("state_dir %s is empty after a clean stop (%v): checkpoints were not written", stateDir, err)
	}
}
