package tailer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/traceship/shipper"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
)

// consumer plays the pipeline: it receives batches, records every event
// under its document _id (File.ID-offset) and acknowledges the batches,
// optionally holding some back and acknowledging them out of order.
type consumer struct {
	mu      sync.Mutex
	byID    map[string]string // _id → line
	lines   map[string]int    // line → times received (before _id dedup)
	ids     map[string]map[string]bool
	events  int
	paused  chan struct{} // when not nil, reading stops until it is closed
	held    []*shipper.Batch
	rng     *rand.Rand
	shuffle bool
}

func newConsumer(shuffle bool) *consumer {
	return &consumer{byID: map[string]string{}, lines: map[string]int{}, ids: map[string]map[string]bool{},
		rng: rand.New(rand.NewPCG(1, 2)), shuffle: shuffle}
}

func (c *consumer) run(ctx context.Context, in <-chan *shipper.Batch, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		c.mu.Lock()
		p := c.paused
		c.mu.Unlock()
		if p != nil {
			select {
			case <-p:
			case <-ctx.Done():
				c.flushHeld()
				return
			}
		}
		// Held batches are acknowledged once nothing else is waiting, as a
		// sink flushes a partial request: a consumer that only acknowledges
		// when more arrives deadlocks once what it holds fills the budget.
		select {
		case b := <-in:
			c.take(b)
			continue
		default:
			c.flushHeld()
		}
		select {
		case b := <-in:
			c.take(b)
		case <-ctx.Done():
			c.flushHeld()
			return
		}
	}
}

func (c *consumer) take(b *shipper.Batch) {
	c.mu.Lock()
	for i := range b.Events {
		ev := &b.Events[i]
		id := ev.Source.File.ID + "-" + strconv.FormatInt(ev.Source.Offset, 10)
		line := string(ev.Raw)
		if prev, ok := c.byID[id]; ok && prev != line {
			panic(fmt.Sprintf("_id %s reused for a different line: %q then %q", id, prev, line))
		}
		c.byID[id] = line
		c.lines[line]++
		if c.ids[line] == nil {
			c.ids[line] = map[string]bool{}
		}
		c.ids[line][id] = true
		c.events++
	}
	var release []*shipper.Batch
	if c.shuffle {
		c.held = append(c.held, b)
		// Acknowledge a random subset, out of order; keep at most 8 back.
		for len(c.held) > 0 && (len(c.held) > 8 || c.rng.IntN(3) == 0) {
			i := c.rng.IntN(len(c.held))
			release = append(release, c.held[i])
			c.held = append(c.held[:i], c.held[i+1:]...)
		}
	} else {
		release = append(release, b)
	}
	c.mu.Unlock()
	for _, r := range release {
		r.Ack.Release()
	}
}

func (c *consumer) flushHeld() {
	c.mu.Lock()
	h := c.held
	c.held = nil
	c.mu.Unlock()
	for _, b := range h {
		b.Ack.Release()
	}
}

// distinct returns how many distinct lines arrived.
func (c *consumer) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// total returns how many events arrived, repeats included.
func (c *consumer) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.events
}

func (c *consumer) has(line string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines[line] > 0
}

// harness runs a Tailer with a consumer on one input.
type harness struct {
	t      testing.TB
	dir    string
	state  string
	cfg    Config
	input  Input
	more   []Input // further inputs, sharing the consumer
	framer func(string) shipper.Framer
	c      *consumer
	tl     *Tailer
	out    chan *shipper.Batch
	outCap int
	cancel context.CancelFunc
	wg     sync.WaitGroup
	runErr chan error
	log    *zap.Logger
}

func newHarness(t testing.TB, shuffle bool) *harness {
	dir := t.TempDir()
	h := &harness{t: t, dir: filepath.Join(dir, "logs"), state: filepath.Join(dir, "state"), c: newConsumer(shuffle)}
	os.MkdirAll(h.dir, 0o755)
	h.cfg = DefaultConfig()
	h.cfg.StateDir = h.state
	h.cfg.CheckpointInterval = 50 * time.Millisecond
	h.input = DefaultInput()
	h.input.Paths = []string{filepath.Join(h.dir, "*.log")}
	h.input.ScanInterval = 200 * time.Millisecond
	h.log = zaptest.NewLogger(t, zaptest.Level(testLogLevel))
	return h
}

func (h *harness) path(name string) string { return filepath.Join(h.dir, name) }

func (h *harness) start() { h.startWith(nil) }

// startWith starts the Tailer after letting adjust change it.
func (h *harness) startWith(adjust func(*Tailer)) {
	h.t.Helper()
	tl, err := New(h.cfg, h.log)
	if err != nil {
		h.t.Fatal(err)
	}
	if adjust != nil {
		adjust(tl)
	}
	h.tl = tl
	if h.outCap == 0 {
		h.outCap = 4
	}
	h.out = make(chan *shipper.Batch, h.outCap)
	specs := []InputSpec{{ID: "in", Input: h.input, NewFramer: h.framer, Out: h.out}}
	for i, in := range h.more {
		specs = append(specs, InputSpec{ID: fmt.Sprintf("in%d", i+2), Input: in, NewFramer: h.framer, Out: h.out})
	}
	if err := tl.SetInputs(specs); err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.runErr = make(chan error, 1)
	h.wg.Add(1)
	go h.c.run(ctx, h.out, &h.wg)
	go func() { h.runErr <- tl.Run(ctx) }()
}

// stop stops the Tailer and the consumer (which acknowledges what it held)
// and writes the last checkpoint.
func (h *harness) stop() {
	h.t.Helper()
	h.cancel()
	if err := <-h.runErr; err != nil {
		h.t.Errorf("Run: %v", err)
	}
	h.wg.Wait()
	// Drain what was handed over but not taken, and acknowledge it.
	for {
		select {
		case b := <-h.out:
			h.c.take(b)
			continue
		default:
		}
		break
	}
	h.c.flushHeld()
	if err := h.tl.Checkpoint(); err != nil {
		h.t.Errorf("Checkpoint: %v", err)
	}
}

// waitFor polls cond until it holds or the deadline passes (filesystem
// events have no completion signal to wait on).
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func appendFile(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func numbered(from, to int) string {
	var b []byte
	for i := from; i < to; i++ {
		b = fmt.Appendf(b, `{"n":%d,"msg":"line number %d"}`+"\n", i, i)
	}
	return string(b)
}

func numLine(i int) string { return fmt.Sprintf(`{"n":%d,"msg":"line number %d"}`, i, i) }

// testLogLevel is the tailer's log level in harness tests; TAILER_DEBUG=1
// logs its debug lines.
var testLogLevel = func() zapcore.Level {
	if os.Getenv("TAILER_DEBUG") != "" {
		return zap.DebugLevel
	}
	return zap.WarnLevel
}()
