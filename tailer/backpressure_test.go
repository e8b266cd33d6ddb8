package tailer

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/traceship/shipper"
)

// TestBackpressure stops the consumer: the tailer must stop reading (bounded
// in-flight bytes, nothing dropped) and resume when the consumer does.
func TestBackpressure(t *testing.T) {
	h := newHarness(t, false)
	h.cfg.MaxInflightBytes = 1 << 20
	h.cfg.BatchMaxBytes = 64 << 10
	pause := make(chan struct{})
	h.c.paused = pause
	const n = 100_000 // ~4 MB
	appendFile(t, h.path("a.log"), numbered(0, n))
	h.outCap = 1000 // the channel never fills: the in-flight budget must hold the reader back
	h.start()
	defer h.stop()
	waitFor(t, 10*time.Second, "the reader to wait for budget", func() bool {
		return h.tl.Stats().ReadersWaiting == 1 && h.tl.Stats().InflightBytes > 0
	})
	for range 3 {
		st := h.tl.Stats()
		// In flight: the budget (a batch is admitted while under it); read
		// ahead of that: at most one batch being built and one read buffer.
		if st.InflightBytes > h.cfg.MaxInflightBytes {
			t.Errorf("in-flight bytes %d exceed the budget %d", st.InflightBytes, h.cfg.MaxInflightBytes)
		}
		if st.BytesRead > h.cfg.MaxInflightBytes+int64(h.cfg.BatchMaxBytes)+readBufSize {
			t.Errorf("read %d bytes ahead of a stalled consumer; want it bounded by the budget", st.BytesRead)
		}
		h.tl.requestScan() // scans and wake-ups must not let it read more
	}
	st := h.tl.Stats()
	t.Logf("stalled: %d bytes read of %d, %d in flight", st.BytesRead, len(numbered(0, n)), st.InflightBytes)
	h.c.mu.Lock()
	h.c.paused = nil
	h.c.mu.Unlock()
	close(pause)
	waitFor(t, 30*time.Second, "every line after the consumer resumed", func() bool { return h.c.distinct() == n })
	waitFor(t, 10*time.Second, "the budget to be returned", func() bool { return h.tl.Stats().InflightBytes == 0 })
}

// TestBackpressureManyFiles: with many files read at once and the consumer
// stalled, what is read ahead stays bounded by the budget, not by the number
// of files: a reader takes its budget before it fills a batch, so batches
// being filled or waiting to be sent count too, and only the readers holding
// a reading slot hold a read buffer.
func TestBackpressureManyFiles(t *testing.T) {
	h := newHarness(t, false)
	h.cfg.MaxInflightBytes = 128 << 10
	h.cfg.BatchMaxBytes = 64 << 10
	h.cfg.BatchMaxLines = 100_000 // batches end at batch_max_bytes
	pause := make(chan struct{})
	h.c.paused = pause
	// Each file is larger than the budget, so no reader can read its file
	// to the end and go idle: every one ends up waiting. There are many
	// more files than reading slots.
	slots := readSlots()
	files := max(64, 4*slots)
	const n = 4_000 // lines per file, ~160 KB
	for f := range files {
		appendFile(t, h.path(fmt.Sprintf("f%d.log", f)), numbered(f*n, (f+1)*n))
	}
	h.outCap = 1000
	h.start()
	defer h.stop()
	waitFor(t, 10*time.Second, "every reader to wait for budget or a reading slot", func() bool {
		return h.tl.Stats().ReadersWaiting == int64(files)
	})
	st := h.tl.Stats()
	// Only slot holders hold a read buffer and a partial batch: memory
	// does not grow with the number of files.
	if st.ReadersReading > int64(slots) {
		t.Errorf("%d readers hold a read buffer, want at most the %d reading slots", st.ReadersReading, slots)
	}
	// Ahead of a stalled consumer: the budget, one estimate's error, and
	// what the read buffers of the readers holding a slot hold beyond their
	// batches: not a buffer per file.
	bound := h.cfg.MaxInflightBytes + int64(h.cfg.BatchMaxBytes) + int64(readSlots()*readBufSize)
	t.Logf("read %d, bound %d", st.BytesRead, bound)
	if st.BytesRead > bound {
		t.Errorf("read %d bytes from %d files ahead of a stalled consumer; want at most %d", st.BytesRead, files, bound)
	}
	h.c.mu.Lock()
	h.c.paused = nil
	h.c.mu.Unlock()
	close(pause)
	waitFor(t, 30*time.Second, "every line after the consumer resumed", func() bool { return h.c.distinct() == files*n })
	waitFor(t, 10*time.Second, "the budget to be returned", func() bool { return h.tl.Stats().InflightBytes == 0 })
}

// TestTrackerOrdersAcks: the checkpoint follows the longest
// acknowledged prefix, whatever order the acks arrive in.
func TestTrackerOrdersAcks(t *testing.T) {
	var tr tracker
	ends := []int64{10, 20, 30, 40, 50}
	seqs := make([]uint64, len(ends))
	for i, e := range ends {
		seqs[i] = tr.push(e)
	}
	steps := []struct {
		ack  int
		want int64
	}{{2, -1}, {1, -1}, {0, 30}, {4, -1}, {3, 50}}
	for _, s := range steps {
		if got := tr.ack(seqs[s.ack]); got != s.want {
			t.Errorf("ack batch %d: checkpoint %d, want %d", s.ack, got, s.want)
		}
	}
}

// TestReload replaces the inputs while lines flow: nothing lost, nothing
// read twice, and a removed input stops.
func TestReload(t *testing.T) {
	h := newHarness(t, true)
	h.framer = func(string) shipper.Framer { return &joinFramer{} }
	h.start()
	defer h.stop()
	total := 0
	for round := range 5 {
		appendFile(t, h.path("a.log"), numbered(total, total+2000))
		// A multiline event split across the reload: its first half pending.
		appendFile(t, h.path("a.log"), fmt.Sprintf("multi %d \\\n", round))
		total += 2000
		spec := InputSpec{ID: "in", Input: h.input, NewFramer: h.framer, Out: h.out}
		if err := h.tl.SetInputs([]InputSpec{spec}); err != nil {
			t.Fatal(err)
		}
		appendFile(t, h.path("a.log"), fmt.Sprintf("end %d\n", round))
	}
	waitFor(t, 20*time.Second, "every line across reloads", func() bool {
		return h.c.distinct() == total+5
	})
	h.c.mu.Lock()
	for i := range total {
		if h.c.lines[numLine(i)] != 1 {
			t.Errorf("line %d arrived %d times", i, h.c.lines[numLine(i)])
			break
		}
	}
	for r := range 5 {
		if l := fmt.Sprintf("multi %d \nend %d", r, r); h.c.lines[l] != 1 {
			t.Errorf("multiline event %q arrived %d times", l, h.c.lines[l])
		}
	}
	h.c.mu.Unlock()
	// Removing the input stops its readers.
	if err := h.tl.SetInputs(nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the readers to stop", func() bool { return h.tl.Stats().FilesOpen == 0 })
	if err := h.tl.SetInputs([]InputSpec{{ID: "", Out: h.out}}); err == nil {
		t.Errorf("an input without ID and paths was accepted")
	}
}

// An input whose path globs change has another ID (pipeline.InputID). It
// takes over the files the old one was reading, with their checkpoints and
// file IDs, at a reload and at a restart: no line is read again, and none
// under a second _id.
func TestChangedInputTakesOverItsFiles(t *testing.T) {
	h := newHarness(t, false)
	h.start()
	appendFile(t, h.path("a.log"), numbered(0, 1000))
	waitFor(t, 20*time.Second, "the first lines", func() bool { return h.c.distinct() == 1000 })

	// A reload adds a glob: the input's ID changes.
	in := h.input
	in.Paths = append(in.Paths, filepath.Join(h.dir, "*.txt"))
	if err := h.tl.SetInputs([]InputSpec{{ID: "in-2", Input: in, NewFramer: h.framer, Out: h.out}}); err != nil {
		t.Fatal(err)
	}
	appendFile(t, h.path("a.log"), numbered(1000, 1500))
	appendFile(t, h.path("b.txt"), numbered(5000, 5100))
	waitFor(t, 20*time.Second, "the lines after the reload", func() bool { return h.c.distinct() == 1600 })
	h.stop()

	// A restart with the first globs again (and so another ID).
	h.start()
	appendFile(t, h.path("a.log"), numbered(1500, 1600))
	waitFor(t, 20*time.Second, "the lines after the restart", func() bool { return h.c.distinct() == 1700 })
	h.stop()

	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	for line, n := range h.c.lines {
		if n != 1 || len(h.c.ids[line]) != 1 {
			t.Errorf("line %q arrived %d times under %d _ids", line, n, len(h.c.ids[line]))
		}
	}
}
