package sample

import (
	"bytes"
	"testing"
	"time"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// FuzzProcess feeds arbitrary lines through a sampler that uses every
// feature (rules on application fields with escapes, rate limit,
// keep_trace_on_error) and checks what must hold for any input: no panic,
// the same line gets the same decision from a second sampler, and every
// batch acknowledgement completes once the window has passed.
func FuzzProcess(f *testing.F) {
	for _, s := range []string{
		`{"message":"ok","http":{"path":"/healthz"}}`,
		`{"message":"x","user":"al\u0069ce","http.path":"/api/v1"}`,
		`{"tenant":null,"status":503}`,
		`{"http":{"path":{"deep":"\ud83d\ude00"}}}`,
		`not json at all`,
		``,
	} {
		f.Add([]byte(s), uint64(0x1234), uint8(shipper.LevelInfo))
	}
	f.Fuzz(func(t *testing.T, line []byte, traceLo uint64, level uint8) {
		cfg := ratioConfig(0.5)
		cfg.Rules = []Rule{
			{When: Condition{Field: "http.path", Equals: strp("/healthz")}, Ratio: 0},
			{When: Condition{Field: "user", Regex: strp(`^al`)}, Ratio: 0.25},
			{When: Condition{Field: "status", In: []string{"500", "503"}}, Ratio: 1},
			{When: Condition{Field: "trace.id", Prefix: strp("00")}, Ratio: 0.75},
			{When: Condition{Field: "tenant", Exists: boolp(false)}, Ratio: 0.1},
		}
		rl := DefaultRateLimit()
		rl.Key, rl.Burst, rl.EventsPerSecond = "tenant", 1, 1
		cfg.RateLimit = &rl
		k := DefaultKeepTraceOnError()
		cfg.KeepTraceOnError = &k

		mk := func() shipper.Event {
			ev := shipper.Event{Raw: bytes.Clone(line), Level: shipper.Level(level % 7)}
			if traceLo%3 != 0 {
				ev.TraceID = traceID(1, traceLo)
			}
			if m, err := jsonscan.Members(nil, ev.Raw, 0); err == nil {
				ev.Doc.Members = m
			}
			return ev
		}
		decisions := make([]string, 2)
		for run := range 2 {
			clock := newFakeClock()
			s, err := New(cfg, clock.Now, nil)
			if err != nil {
				t.Fatal(err)
			}
			w := &worker{s: s}
			out, _ := w.run([]shipper.Event{mk(), mk()}, nil)
			decisions[run] = string(rune(len(out.events)))
			s.Tick(clock.Advance(k.Window))
			if w.done.Load() != 1 {
				t.Fatalf("the batch was not acknowledged after the window")
			}
		}
		if decisions[0] != decisions[1] {
			t.Fatalf("two samplers decided differently for %q", line)
		}
	})
}

// TestHeldClonesMatchEventClone keeps the slab copy in step with the root
// package's Event.Clone.
func TestHeldClonesMatchEventClone(t *testing.T) {
	ev := event(t, shipper.LevelInfo, traceID(1, 2), `{"message":"x","http":{"path":"/a"},"n":1}`)
	ev.Service, ev.Host, ev.Time = "svc", "h", time.Unix(5, 0)
	ev.Kube = &shipper.Kubernetes{Namespace: "ns"}
	ev.Drop = DropHeld
	// A value a stage replaced lives outside the raw line.
	edited := []byte(`"[redacted]"`)
	ev.Doc.Set("n", edited)
	sl := batchNeed([]shipper.Event{ev}).alloc()
	cp := sl.clone(&ev)
	c := ev.Clone()
	want := string(shipper.AppendSource(nil, &c))
	// The batch's memory is reused.
	for i := range ev.Raw {
		ev.Raw[i] = 'X'
	}
	copy(edited, "XXXXXXXXXXXX")
	if got := string(shipper.AppendSource(nil, cp)); got != want {
		t.Errorf("slab clone writes\n%s\nEvent.Clone writes\n%s", got, want)
	}
	if cap(sl.bytes) != len(sl.bytes) || cap(sl.members) != len(sl.members) {
		t.Errorf("slabs were not sized exactly: bytes %d/%d members %d/%d",
			len(sl.bytes), cap(sl.bytes), len(sl.members), cap(sl.members))
	}
}
