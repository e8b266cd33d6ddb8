package tailer

import (
	"bytes"
	"os"
	"testing"
	"time"
)

func TestFollowResumesAfterRestartWithoutDuplicates(t *testing.T) {
	h := newHarness(t, true)
	appendFile(t, h.path("a.log"), numbered(0, 1000))
	h.start()
	waitFor(t, 10*time.Second, "the first 1000 lines", func() bool { return h.c.distinct() == 1000 })
	appendFile(t, h.path("a.log"), numbered(1000, 1500))
	waitFor(t, 10*time.Second, "appended lines", func() bool { return h.c.distinct() == 1500 })
	h.stop()

	appendFile(t, h.path("a.log"), numbered(1500, 2000))
	h.start()
	waitFor(t, 10*time.Second, "lines written while stopped", func() bool { return h.c.distinct() == 2000 })
	h.stop()
	if h.c.events != 2000 {
		t.Errorf("%d events for 2000 lines: something was read twice", h.c.events)
	}
	files := h.tl.Files()
	if len(files) != 1 || files[0].AckedOffset != int64(len(numbered(0, 2000))) {
		t.Errorf("Files() = %+v, want one file acked to its end", files)
	}
}

func TestRegistryOnDisk(t *testing.T) {
	h := newHarness(t, false)
	appendFile(t, h.path("a.log"), numbered(0, 10))
	h.start()
	waitFor(t, 10*time.Second, "10 lines", func() bool { return h.c.distinct() == 10 })
	h.stop()
	data, err := os.ReadFile(h.state + "/" + RegistryFile)
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeRegistry(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("registry does not decode: %v\n%s", err, data)
	}
	if len(r.entries) != 1 {
		t.Fatalf("registry has %d entries:\n%s", len(r.entries), data)
	}
	for _, e := range r.entries {
		if e.acked.Load() != int64(len(numbered(0, 10))) || e.path != h.path("a.log") || e.input != "in" || len(e.id) != 16 {
			t.Errorf("entry %+v", e)
		}
	}
}

// A tick that arrives a moment before an input's scan_interval has passed
// scans it; skipping it would leave new files unseen for a further
// interval. A slower input is not scanned at every tick of a faster one.
func TestScanDueToleratesTickJitter(t *testing.T) {
	const s = time.Second
	for _, c := range []struct {
		elapsed, interval, tick time.Duration
		due                     bool
	}{
		{10*s - 3*time.Millisecond, 10 * s, 10 * s, true}, // an early tick
		{10*s + 3*time.Millisecond, 10 * s, 10 * s, true},
		{5 * s, 10 * s, 10 * s, false},
		{10 * s, 15 * s, 10 * s, false}, // the 15 s input waits for the 20 s tick
		{20 * s, 15 * s, 10 * s, true},
	} {
		if got := scanDue(c.elapsed, c.interval, c.tick); got != c.due {
			t.Errorf("scanDue(%v, interval %v, tick %v) = %v, want %v", c.elapsed, c.interval, c.tick, got, c.due)
		}
	}
}
