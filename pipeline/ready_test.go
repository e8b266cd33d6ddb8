package pipeline

import (
	"testing"
	"time"
)

func TestProgressFlagsFilesWhoseCheckpointStopsMoving(t *testing.T) {
	var p progress
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	files := []fileLag{{id: "a", path: "/a.log", acked: 100, behind: 50}, {id: "b", path: "/b.log", acked: 10, behind: 0}}
	lags := func() []fileLag { return files }
	if s := p.observe(t0, lags); len(s) != 0 {
		t.Fatalf("stuck at first sight: %v", s)
	}
	if s := p.observe(t0.Add(stuckAfter-time.Second), lags); len(s) != 0 {
		t.Fatalf("stuck before stuckAfter: %v", s)
	}
	if s := p.observe(t0.Add(stuckAfter+time.Second), lags); len(s) != 1 || s[0] != "/a.log" {
		t.Fatalf("stuck = %v, want [/a.log] (b is caught up)", s)
	}
	files[0].acked = 120 // progress
	if s := p.observe(t0.Add(stuckAfter+2*time.Second), lags); len(s) != 0 {
		t.Fatalf("still stuck after progress: %v", s)
	}
}
