package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/traceship/shipper/tailer"
)

// A second agent given the state_dir of a running one stops at its start,
// saying why, and the first goes on; once the first has stopped, the
// state_dir is free again.
func TestSecondAgentOnTheSameStateDirStops(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the agent as a process; skipped with -short")
	}
	ag := newAgentSetup(t)
	ag.configure(t, inputYAML("a", ag.dir+"/*.log"))
	appendLines(t, filepath.Join(ag.dir, "app.log"), "alpha", 0, 10)
	p := ag.start(t)
	eventually(t, "10 documents", p.logs, func() bool { return ag.es.Count("shipper-alpha-*") == 10 })

	_, stderr, code := runCLI(t, "run", "-c", ag.cfgPath)
	if code == 0 || !strings.Contains(stderr, "in use by another shipper") || !strings.Contains(stderr, ag.state) {
		t.Errorf("a second agent on the same state_dir: exit %d, stderr %q", code, stderr)
	}
	appendLines(t, filepath.Join(ag.dir, "app.log"), "alpha", 10, 20)
	eventually(t, "the first agent still shipping", p.logs, func() bool { return ag.es.Count("shipper-alpha-*") == 20 })
	p.stop(syscall.SIGTERM)

	// The lock went with the process.
	unlock, err := lockStateDir(ag.state)
	if err != nil {
		t.Fatalf("state_dir still locked after the agent stopped: %v", err)
	}
	unlock()
}

// A state_dir that cannot be created stops the agent at once, naming it,
// rather than after Elasticsearch is reached (it is not, here).
func TestUnusableStateDirFailsAtStart(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	state := filepath.Join(file, "state") // under a regular file
	cfg := filepath.Join(dir, "pipelines.yaml")
	writeConfig(t, cfg, agentYAML(state, "http://127.0.0.1:1", "", inputYAML("a", dir+"/*.log")))
	_, stderr, code := runCLI(t, "run", "-c", cfg)
	if code == 0 || !strings.Contains(stderr, "state_dir") || !strings.Contains(stderr, state) {
		t.Errorf("an unusable state_dir: exit %d, stderr %q", code, stderr)
	}
}

// A registry that cannot be read stops the agent with a failing exit
// status (systemd restarts on failure; Kubernetes shows the crash), and the
// message names the file and what to do.
func TestUnreadableRegistryExitsWithFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the agent as a process; skipped with -short")
	}
	ag := newAgentSetup(t)
	ag.configure(t, inputYAML("a", ag.dir+"/*.log"))
	registry := filepath.Join(ag.state, tailer.RegistryFile)
	os.WriteFile(registry, []byte("not a registry\n"), 0o600)
	p := ag.start(t)
	if code := p.wait(); code == 0 {
		t.Fatalf("the agent exited 0 with an unreadable registry; logs:\n%s", p.logs())
	}
	if logs := p.logs(); !strings.Contains(logs, registry) || !strings.Contains(logs, "move the file away") {
		t.Errorf("the logs do not name the registry and the way out:\n%s", logs)
	}
}
