package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/traceship/shipper/tailer"
)

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
