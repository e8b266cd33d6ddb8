package sample

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/traceship/shipper"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// worker plays the pipeline's worker around the sampler: a batch with its
// own Ack, processed, handed to a "sink" that takes what is not dropped, and
// then the creator's hold and the batch's Holds released.
type worker struct {
	s    *Sampler
	done atomic.Int64 // batches whose Ack completed
}

type sent struct {
	events []shipper.Event
	holds  int
}

func (w *worker) run(events []shipper.Event, onDone func()) (sent, *shipper.Ack) {
	ack := shipper.NewAck(func() {
		w.done.Add(1)
		if onDone != nil {
			onDone()
		}
	})
	b := &shipper.Batch{Ack: ack}
	for _, ev := range events {
		ev.Ack = ack
		b.Events = append(b.Events, ev)
	}
	w.s.Process(b)
	var out sent
	for i := range b.Events {
		if b.Events[i].Drop == "" {
			ev := b.Events[i]
			ev.Raw = bytes.Clone(ev.Raw) // the sink copies what it sends
			out.events = append(out.events, ev)
		}
	}
	out.holds = len(b.Holds)
	// The sink took the batch: the worker releases the creator's hold and
	// the held acknowledgements the sampler put into the batch.
	ack.Release()
	for _, h := range b.Holds {
		h.Release()
	}
	// The batch's memory is reused for the next one: the lines it read
	// (not the events a stage appended, whose memory is the stage's).
	for i := range events {
		for j := range b.Events[i].Raw {
			b.Events[i].Raw[j] = 'X'
		}
	}
	return out, ack
}

func holdConfig(ratio float64) Config {
	c := ratioConfig(ratio)
	k := DefaultKeepTraceOnError()
	c.KeepTraceOnError = &k
	return c
}

func newSampler(t testing.TB, cfg Config, clock *fakeClock) *Sampler {
	t.Helper()
	s, err := New(cfg, clock.Now, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func line(ev shipper.Event) string { return string(ev.Raw) }

func TestKeepTraceOnErrorBringsBackTheInfoLinesOfAFailedTrace(t *testing.T) {
	clock := newFakeClock()
	s := newSampler(t, holdConfig(0), clock)
	w := &worker{s: s}
	failing, fine := traceID(1, 1), traceID(2, 2)

	out, ack1 := w.run([]shipper.Event{
		event(t, shipper.LevelInfo, failing, `{"message":"order received"}`),
		event(t, shipper.LevelInfo, fine, `{"message":"healthy"}`),
		event(t, shipper.LevelDebug, failing, `{"message":"calling payment"}`),
		event(t, shipper.LevelInfo, shipper.TraceID{}, `{"message":"no trace"}`),
	}, nil)
	if len(out.events) != 0 {
		t.Fatalf("ratio 0 sent %d events at once", len(out.events))
	}
	if w.done.Load() != 0 {
		t.Fatal("the batch was acknowledged while its events are held: a restart would lose them")
	}

	clock.Advance(5 * time.Second)
	out, _ = w.run([]shipper.Event{
		event(t, shipper.LevelError, failing, `{"message":"payment failed"}`),
	}, nil)
	var got []string
	for _, ev := range out.events {
		got = append(got, line(ev))
		if line(ev) != `{"message":"payment failed"}` && !ev.Tags.Has(shipper.TagHeldForTrace) {
			t.Errorf("released event %s lacks the _kept_for_failed_trace tag", ev.Raw)
		}
		if ev.SampleRatio != 0 {
			t.Errorf("released event %s has SampleRatio %v", ev.Raw, ev.SampleRatio)
		}
	}
	want := []string{`{"message":"payment failed"}`, `{"message":"order received"}`, `{"message":"calling payment"}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sent %q, want %q (copies intact although batch 1's memory was reused)", got, want)
	}
	for _, ev := range out.events[1:] {
		doc := string(shipper.AppendSource(nil, &ev))
		if !strings.Contains(doc, `"message":"order received"`) && !strings.Contains(doc, `"message":"calling payment"`) {
			t.Errorf("released document %s: its fields were not copied from the batch", doc)
		}
	}
	if out.holds != 2 {
		t.Errorf("batch 2 carries %d held acks, want 2", out.holds)
	}
	if ack1 == nil || w.done.Load() != 1 {
		t.Fatalf("done batches = %d, want 1 (batch 2 only: batch 1 still holds the fine trace)", w.done.Load())
	}

	// A later line of the failed trace is kept at once.
	clock.Advance(time.Second)
	out, _ = w.run([]shipper.Event{event(t, shipper.LevelInfo, failing, `{"message":"rolled back"}`)}, nil)
	if len(out.events) != 1 || !out.events[0].Tags.Has(shipper.TagHeldForTrace) {
		t.Fatalf("later line of the failed trace: sent %d events", len(out.events))
	}

	// The fine trace expires 10s after it was first held: dropped, and
	// batch 1's acknowledgement completes.
	s.Tick(clock.Advance(4*time.Second - time.Nanosecond))
	if w.done.Load() != 2 {
		t.Fatalf("done = %d before the window ended, want 2", w.done.Load())
	}
	s.Tick(clock.Advance(time.Nanosecond))
	if w.done.Load() != 3 {
		t.Fatalf("done = %d after the window ended, want 3", w.done.Load())
	}
	st := s.Stats()
	if st.Held != 3 || st.Promoted != 2 || st.Expired != 1 || st.KeptFailedTrace != 1 || st.HeldEvents != 0 || st.HeldTraces != 0 || st.HeldBytes != 0 {
		t.Errorf("Stats = %+v", st)
	}

	// After the failed trace's window, its lines follow the ratio again.
	clock.Advance(10 * time.Second)
	out, _ = w.run([]shipper.Event{event(t, shipper.LevelInfo, failing, `{"message":"late"}`)}, nil)
	if len(out.events) != 0 {
		t.Errorf("a line %v after the failure was kept", 10*time.Second)
	}
}

func TestKeepTraceOnErrorWithinOneBatch(t *testing.T) {
	clock := newFakeClock()
	s := newSampler(t, holdConfig(0), clock)
	w := &worker{s: s}
	id := traceID(3, 3)
	out, _ := w.run([]shipper.Event{
		event(t, shipper.LevelInfo, id, `{"message":"a"}`),
		event(t, shipper.LevelWarn, id, `{"message":"b"}`),
		event(t, shipper.LevelInfo, id, `{"message":"c"}`),
	}, nil)
	var got []string
	for _, ev := range out.events {
		got = append(got, line(ev))
	}
	if fmt.Sprint(got) != fmt.Sprint([]string{`{"message":"b"}`, `{"message":"c"}`, `{"message":"a"}`}) {
		t.Errorf("sent %q", got)
	}
	if w.done.Load() != 1 {
		t.Errorf("the batch was not acknowledged")
	}
}

func TestKeepTraceOnErrorBounds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bound func(*KeepTraceOnError)
	}{
		{"max_traces", func(k *KeepTraceOnError) { k.MaxTraces = 2 }},
		{"max_events", func(k *KeepTraceOnError) { k.MaxEvents = 4 }},
		{"max_bytes", func(k *KeepTraceOnError) {
			ev := event(t, shipper.LevelInfo, traceID(1, 1), `{"message":"t0 e0"}`)
			k.MaxBytes = 4*heldSize(&ev) + 10
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			cfg := holdConfig(0)
			tc.bound(cfg.KeepTraceOnError)
			s := newSampler(t, cfg, clock)
			w := &worker{s: s}
			var acked []int
			// Three traces of two events, each in its own batch.
			for i := range 3 {
				id := traceID(9, uint64(i))
				w.run([]shipper.Event{
					event(t, shipper.LevelInfo, id, fmt.Sprintf(`{"message":"t%d e0"}`, i)),
					event(t, shipper.LevelInfo, id, fmt.Sprintf(`{"message":"t%d e1"}`, i)),
				}, func() { acked = append(acked, i) })
				clock.Advance(time.Second)
			}
			// The oldest trace was decided early: its batch is acknowledged.
			if fmt.Sprint(acked) != "[0]" {
				t.Fatalf("acknowledged batches %v, want [0]", acked)
			}
			st := s.Stats()
			if st.Evicted != 2 || st.HeldTraces != 2 || st.HeldEvents != 4 {
				t.Errorf("Stats = %+v", st)
			}
			// The evicted trace cannot come back; the held ones can.
			out, _ := w.run([]shipper.Event{
				event(t, shipper.LevelError, traceID(9, 0), `{"message":"t0 failed"}`),
				event(t, shipper.LevelError, traceID(9, 2), `{"message":"t2 failed"}`),
			}, nil)
			if len(out.events) != 4 {
				t.Errorf("sent %d events, want 2 errors + 2 held lines of t2", len(out.events))
			}
		})
	}
}

func TestKeepTraceOnErrorEventLargerThanTheBoundIsDropped(t *testing.T) {
	clock := newFakeClock()
	cfg := holdConfig(0)
	cfg.KeepTraceOnError.MaxBytes = 100
	s := newSampler(t, cfg, clock)
	w := &worker{s: s}
	w.run([]shipper.Event{event(t, shipper.LevelInfo, traceID(1, 1), `{"message":"`+string(bytes.Repeat([]byte("x"), 200))+`"}`)}, nil)
	if w.done.Load() != 1 || s.Stats().Evicted != 1 {
		t.Errorf("done=%d stats=%+v", w.done.Load(), s.Stats())
	}
}

// TestNoHalfTracesWithConcurrentWorkers runs 100k lines of mixed traces
// through 4 concurrent workers at ratio 0.1 with keep_trace_on_error:
// every trace with an error is shipped whole, every other trace is shipped
// whole or not at all, every batch is acknowledged in the end, and a second
// run ships exactly the same lines.
func TestNoHalfTracesWithConcurrentWorkers(t *testing.T) {
	first := runMixedTraces(t)
	second := runMixedTraces(t)
	if len(first) != len(second) {
		t.Fatalf("second run shipped %d lines, first %d", len(second), len(first))
	}
	for l := range first {
		if !second[l] {
			t.Fatalf("line %s shipped by the first run only", l)
		}
	}
}

func runMixedTraces(t *testing.T) map[string]bool {
	clock := newFakeClock()
	s := newSampler(t, holdConfig(0.1), clock)
	w := &worker{s: s}
	rng := rand.New(rand.NewPCG(11, 12))
	const nTraces, perTrace = 10_000, 10
	type tr struct {
		id     shipper.TraceID
		failed bool
	}
	traces := make([]tr, nTraces)
	var lines []shipper.Event
	errors := 0
	for i := range traces {
		traces[i] = tr{traceID(rng.Uint64(), rng.Uint64()), i%20 == 0}
		for j := range perTrace {
			level := shipper.LevelInfo
			if traces[i].failed && j == perTrace-1-i%perTrace {
				level = shipper.LevelError
				errors++
			}
			lines = append(lines, event(t, level, traces[i].id, fmt.Sprintf(`{"message":"t%d l%d"}`, i, j)))
		}
	}
	rng.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })

	const workers, batchSize = 4, 100
	var mu sync.Mutex
	shipped := map[shipper.TraceID]int{}
	shippedLines := map[string]bool{}
	shippedErrors := 0
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				start := int(next.Add(batchSize)) - batchSize
				if start >= len(lines) {
					return
				}
				end := min(start+batchSize, len(lines))
				out, _ := w.run(lines[start:end], nil)
				mu.Lock()
				for _, ev := range out.events {
					shipped[ev.TraceID]++
					if shippedLines[string(ev.Raw)] {
						t.Errorf("line %s shipped twice", ev.Raw)
					}
					shippedLines[string(ev.Raw)] = true
					if ev.Level == shipper.LevelError {
						shippedErrors++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	batches := (len(lines) + batchSize - 1) / batchSize
	s.Tick(clock.Advance(DefaultKeepTraceOnError().Window))
	if got := w.done.Load(); got != int64(batches) {
		t.Errorf("%d of %d batches acknowledged after the window", got, batches)
	}
	if shippedErrors != errors {
		t.Errorf("shipped %d of %d error lines", shippedErrors, errors)
	}
	keptTraces := 0
	for _, tr := range traces {
		n := shipped[tr.id]
		switch {
		case tr.failed && n != perTrace:
			t.Fatalf("failed trace %s: %d of %d lines shipped", tr.id, n, perTrace)
		case n != 0 && n != perTrace:
			t.Fatalf("trace %s half shipped: %d of %d lines", tr.id, n, perTrace)
		case n == perTrace && !tr.failed:
			keptTraces++
		}
	}
	share := float64(keptTraces) / float64(nTraces-nTraces/20)
	if share < 0.08 || share > 0.12 {
		t.Errorf("kept %.3f of the traces without errors at ratio 0.1", share)
	}
	if st := s.Stats(); st.HeldEvents != 0 || st.Evicted != 0 {
		t.Errorf("Stats = %+v", st)
	}
	// The lines' memory is reused by the worker: keep only their text.
	for i := range lines {
		lines[i] = shipper.Event{}
	}
	return shippedLines
}

// TestKeepTraceOnErrorCountsTheMemoryActuallyHeld: copies of one batch
// share a slab, which lives while any of them is held, so max_bytes counts
// whole slabs. A long trace with a line in every batch pins no memory
// beyond the bound: when the bound is hit, eviction goes on until whole
// slabs are free.
func TestKeepTraceOnErrorCountsTheMemoryActuallyHeld(t *testing.T) {
	clock := newFakeClock()
	cfg := holdConfig(0)
	long := traceID(7, 0)
	batch := func(i int) []shipper.Event {
		evs := []shipper.Event{event(t, shipper.LevelInfo, long, fmt.Sprintf(`{"message":"long %d"}`, i))}
		for j := range 9 {
			evs = append(evs, event(t, shipper.LevelInfo, traceID(8, uint64(i*10+j)), fmt.Sprintf(`{"message":"b%d t%d"}`, i, j)))
		}
		return evs
	}
	first := batch(0)
	for i := range first {
		first[i].Drop = DropHeld
	}
	slabSize := batchNeed(first).size
	cfg.KeepTraceOnError.MaxBytes = slabDivisor * slabSize
	s := newSampler(t, cfg, clock)
	w := &worker{s: s}
	var acked []int
	for i := range 9 {
		w.run(batch(i), func() { acked = append(acked, i) })
		clock.Advance(time.Millisecond)
		if st := s.Stats(); st.HeldBytes > cfg.KeepTraceOnError.MaxBytes {
			t.Fatalf("after batch %d: %d bytes held, bound %d", i, st.HeldBytes, cfg.KeepTraceOnError.MaxBytes)
		}
	}
	// Batch 8 needed a slab: the long trace (oldest) went first, which
	// freed nothing, then batch 0's own traces, which freed its slab. The
	// long trace is held anew from batch 8's line.
	st := s.Stats()
	if st.Evicted != 8+9 || st.HeldBytes != 8*slabSize || st.HeldTraces != 8*9+1 {
		t.Errorf("Stats = %+v, want 17 evicted, %d bytes, 73 traces", st, 8*slabSize)
	}
	if fmt.Sprint(acked) != "[0]" {
		t.Errorf("acknowledged batches %v, want [0]", acked)
	}
}

// The copies of a failed trace's lines, put into the batch of its error,
// stay intact while that batch is on its way to the sink, even as the
// memory the copies were held in is reused for the next batch's (another
// worker may be sampling it meanwhile).
func TestPromotedLinesOutliveTheirHeldCopies(t *testing.T) {
	clock := newFakeClock()
	s := newSampler(t, holdConfig(0), clock)
	batch := func(trace shipper.TraceID, level shipper.Level, lines ...string) *shipper.Batch {
		b := &shipper.Batch{Ack: shipper.NewAck(nil)}
		for _, l := range lines {
			ev := event(t, level, trace, l)
			ev.Ack = b.Ack
			b.Events = append(b.Events, ev)
		}
		return b
	}
	t1, t2 := traceID(1, 1), traceID(2, 2)
	held := []string{`{"message":"cart loaded","user":"u-1"}`, `{"message":"price computed","total":"12.50"}`}
	s.Process(batch(t1, shipper.LevelInfo, held...))
	failed := batch(t1, shipper.LevelError, `{"message":"payment failed"}`)
	s.Process(failed) // brings back the held lines; the batch is not sent yet
	if len(failed.Events) != 3 {
		t.Fatalf("the failed trace's batch has %d events, want its error and 2 held lines", len(failed.Events))
	}
	// The first batch's copies are all decided: their memory is free and
	// the next held lines, as long, are copied into it.
	s.Process(batch(t2, shipper.LevelInfo, `{"message":"XXXX XXXXXX","user":"u-9"}`, `{"message":"XXXXX XXXXXXXX","total":"99.99"}`))
	for i, want := range held {
		ev := failed.Events[1+i]
		if string(ev.Raw) != want {
			t.Errorf("promoted line %d reads %s, want %s", i, ev.Raw, want)
		}
		if got, want := memberText(ev), memberText(event(t, shipper.LevelInfo, t1, want)); got != want {
			t.Errorf("promoted line %d's members read %s, want %s", i, got, want)
		}
	}
}

func memberText(ev shipper.Event) string {
	var doc []string
	for _, m := range ev.Doc.Members {
		doc = append(doc, string(m.Key)+"="+string(m.Value))
	}
	return strings.Join(doc, " ")
}

// A batch's copies can all be evicted while the batch is still being held
// (here by max_traces 1); its lines held after that, in the same memory,
// are intact when their trace fails two batches later.
func TestCopiesHeldAfterAnEvictionInTheirBatchSurvive(t *testing.T) {
	clock := newFakeClock()
	cfg := holdConfig(0)
	cfg.KeepTraceOnError.MaxTraces = 1
	s := newSampler(t, cfg, clock)
	w := &worker{s: s}
	a, b := traceID(1, 1), traceID(2, 2)
	w.run([]shipper.Event{
		event(t, shipper.LevelInfo, a, `{"message":"a's line, evicted by b's"}`),
		event(t, shipper.LevelInfo, b, `{"message":"b's first line"}`),
	}, nil)
	w.run([]shipper.Event{event(t, shipper.LevelInfo, b, `{"message":"b's second line, held beside"}`)}, nil)
	out, _ := w.run([]shipper.Event{event(t, shipper.LevelError, b, `{"message":"b failed"}`)}, nil)
	var got []string
	for _, ev := range out.events {
		if ev.Tags&shipper.TagHeldForTrace == 0 {
			got = append(got, line(ev)) // its members point into its reused batch
			continue
		}
		got = append(got, line(ev)+" "+memberText(ev))
	}
	want := []string{
		`{"message":"b failed"}`,
		`{"message":"b's first line"} message="b's first line"`,
		`{"message":"b's second line, held beside"} message="b's second line, held beside"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sent\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Traces expire in the order they were first held, also when one in the
// middle was decided by its error and a new trace is held after it.
func TestExpiryOrderAfterAPromotion(t *testing.T) {
	clock := newFakeClock()
	cfg := holdConfig(0)
	window := cfg.KeepTraceOnError.Window
	s := newSampler(t, cfg, clock)
	w := &worker{s: s}
	acked := map[string]bool{}
	run := func(name string, level shipper.Level, trace shipper.TraceID) {
		w.run([]shipper.Event{event(t, level, trace, `{"message":"`+name+`"}`)}, func() { acked[name] = true })
		clock.Advance(time.Second)
	}
	a, b, c, d := traceID(1, 1), traceID(2, 2), traceID(3, 3), traceID(4, 4)
	run("a held", shipper.LevelInfo, a)    // t0
	run("b held", shipper.LevelInfo, b)    // t1
	run("c held", shipper.LevelInfo, c)    // t2
	run("b failed", shipper.LevelError, b) // t3: b is decided, its line sent
	run("d held", shipper.LevelInfo, d)    // t4
	// a's and c's windows are over, d's is not.
	clock.Advance(window - 3*time.Second) // t2 + window
	s.Tick(clock.Now())
	if !acked["a held"] || !acked["c held"] || acked["d held"] {
		t.Errorf("acknowledged %v: want a's and c's batches (their windows are over) and not d's", acked)
	}
	if st := s.Stats(); st.Expired != 2 || st.HeldTraces != 1 {
		t.Errorf("Stats = %+v, want a's and c's lines expired and d's trace still held", st)
	}
}
