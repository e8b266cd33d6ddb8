package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/traceship/shipper/internal/estest"
)

// TestCrashesRotationAndFaultsLoseNothing is the durability test: while an
// application writes numbered lines through lumberjack (1 MB files,
// compressed backups) and Elasticsearch answers 10% of bulk requests with
// 429, 5% of items with 429 and drops 2% of connections after storing, the
// agent is killed with SIGKILL several times and restarted on the same
// state_dir. In the end every line written is in Elasticsearch exactly once.
func TestCrashesRotationAndFaultsLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and ships 40,000 lines through a killed and restarted agent; skipped with -short")
	}
	const lines = 40000
	ag := newAgentSetup(t, estest.WithFaults(estest.Faults{
		Seed: 7, StatusRatio: 0.10, Item429Ratio: 0.05, DropRatio: 0.02, DropAfterStore: true,
	}))
	logs := filepath.Join(ag.dir, "logs")
	os.MkdirAll(logs, 0o755)
	ag.configure(t, fmt.Sprintf("  - name: app\n    inputs:\n      - paths: [%q, %q]\n        scan_interval: 100ms\n", logs+"/*.log", logs+"/*.log.gz"))

	// The application.
	var written atomic.Int64
	writerDone := make(chan error, 1)
	go func() {
		lj := &lumberjack.Logger{Filename: filepath.Join(logs, "app.log"), MaxSize: 1, MaxBackups: 1000, Compress: true}
		defer lj.Close()
		for i := 0; i < lines; i++ {
			_, err := fmt.Fprintf(lj, `{"level":"info","ts":1795339800.%03d,"msg":"payment step","n":%d,"service":"pay","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","pad":"%s"}`+"\n", i%1000, i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
			if err != nil {
				writerDone <- err
				return
			}
			written.Add(1)
		}
		writerDone <- nil
	}()

	// Kill the agent at several points of progress, not at points in time.
	for kill := 1; kill <= 4; kill++ {
		p := ag.start(t)
		target := kill * lines / 6
		eventually(t, fmt.Sprintf("%d documents before kill %d", target, kill), p.logs, func() bool { return ag.es.Count("shipper-pay-*") >= target })
		p.signal(syscall.SIGKILL)
		p.wait()
	}
	if err := <-writerDone; err != nil {
		t.Fatalf("writer: %v", err)
	}
	p := ag.start(t)
	eventually(t, fmt.Sprintf("all %d lines", lines), p.logs, func() bool { return ag.es.Count("shipper-pay-*") >= lines })
	p.stop(syscall.SIGTERM)

	seen := make([]int, lines)
	for _, d := range ag.es.Docs("shipper-pay-*") {
		var src struct{ N int }
		if err := json.Unmarshal(d.Source, &src); err != nil {
			t.Fatal(err)
		}
		seen[src.N]++
	}
	var missing, doubled int
	for n, c := range seen {
		switch {
		case c == 0:
			missing++
			if missing <= 5 {
				t.Errorf("line %d never arrived", n)
			}
		case c > 1:
			doubled++
			if doubled <= 5 {
				t.Errorf("line %d was indexed %d times", n, c)
			}
		}
	}
	st := ag.es.Requests()
	t.Logf("%d lines written; %d missing, %d indexed twice; double: %+v", lines, missing, doubled, st)
}
