package tailer

import (
	"fmt"
	"os"
	"testing"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// TestSoak is the long run of issue 3: set TAILER_SOAK to a duration
// ("5m") to run it, e.g.
//
//	TAILER_SOAK=5m go test -run TestSoak -v -timeout 30m ./tailer/
//
// A lumberjack writer (1 MB, compressed backups) writes numbered lines in
// rounds as fast as it can, the consumer acknowledges out of order, and the
// Tailer is stopped and restarted on the same state directory between
// rounds. At the end every line must have arrived, none under two _ids.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("TAILER_SOAK"))
	if err != nil {
		t.Skip("set TAILER_SOAK=<duration> to run the soak (minutes long)")
	}
	h := newHarness(t, true)
	h.input.Paths = []string{h.path("app*.log"), h.path("app*.log.gz")}
	h.start()
	w := &lumberjack.Logger{Filename: h.path("app.log"), MaxSize: 1, MaxBackups: 100000, Compress: true}
	defer w.Close()
	n, rounds := 0, 0
	for end := time.Now().Add(d); time.Now().Before(end); rounds++ {
		for range 100_000 {
			fmt.Fprintf(w, "%s\n", numLine(n))
			n++
		}
		target := n
		waitFor(t, 5*time.Minute, fmt.Sprintf("round %d", rounds), func() bool { return h.c.distinct() >= target })
		h.stop()
		h.start()
	}
	h.stop()
	checkAllOnce(t, h.c, n)
	t.Logf("soak: %d lines in %d rounds over %s, %d events received (replays included)", n, rounds, d, h.c.events)
}
