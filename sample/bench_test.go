package sample

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/traceship/shipper"
)

// realisticBatch is 1000 events as the parser leaves them: JSON lines of
// about 300 bytes, 90% with a trace id (10 lines per trace), levels mostly
// info with some debug, warn and error.
func realisticBatch(tb testing.TB) []shipper.Event {
	rng := rand.New(rand.NewPCG(21, 22))
	paths := []string{"/api/v1/orders", "/api/v1/pay", "/healthz", "/api/v2/search"}
	services := []string{"checkout", "search", "payment"}
	var evs []shipper.Event
	var id shipper.TraceID
	for i := range 1000 {
		if i%10 == 0 {
			id = traceID(rng.Uint64(), rng.Uint64())
		}
		level := shipper.LevelInfo
		switch r := rng.IntN(100); {
		case r < 20:
			level = shipper.LevelDebug
		case r < 23:
			level = shipper.LevelWarn
		case r < 24:
			level = shipper.LevelError
		}
		path := paths[rng.IntN(len(paths))]
		svc := services[rng.IntN(len(services))]
		line := fmt.Sprintf(`{"time":"2026-11-22T12:00:%02d.%06dZ","level":"%s","service":"%s","message":"handled request %d for user %d","http":{"method":"GET","path":"%s","status":%d},"duration_ms":%d,"trace_id":"%s","span_id":"%016x"}`,
			i%60, rng.IntN(1e6), level, svc, i, rng.IntN(1e5), path, 200+rng.IntN(4)*100, rng.IntN(900), id, rng.Uint64())
		tid := id
		if i%10 == 9 {
			tid = shipper.TraceID{} // some lines without a trace
		}
		ev := event(tb, level, tid, line)
		ev.Service = svc
		evs = append(evs, ev)
	}
	return evs
}

func benchProcess(b *testing.B, cfg Config) {
	tmpl := realisticBatch(b)
	clock := newFakeClock()
	s, err := New(cfg, clock.Now, nil)
	if err != nil {
		b.Fatal(err)
	}
	batch := &shipper.Batch{}
	bytes := 0
	for i := range tmpl {
		bytes += len(tmpl[i].Raw)
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		// The batch is reused as the tailer reuses its batches: Reset keeps
		// its memory, which a stage's own bytes go into.
		batch.Reset()
		batch.Events = append(batch.Events, tmpl...)
		for i := range batch.Events {
			// New traces in every batch, as in life; the first half of
			// the id does not change the sampling decision.
			if ev := &batch.Events[i]; !ev.TraceID.IsZero() {
				binary.BigEndian.PutUint32(ev.TraceID[:4], uint32(n))
			}
		}
		s.Process(batch)
		clock.Advance(100 * time.Millisecond)
		s.Tick(clock.Now())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(tmpl)), "ns/event")
}

func BenchmarkProcess(b *testing.B) {
	rules := []Rule{
		{When: Condition{Field: "http.path", Equals: strp("/healthz")}, Ratio: 0.01},
		{When: Condition{Field: "log.level", Equals: strp("debug")}, Ratio: 0},
		{When: Condition{Field: "http.path", Prefix: strp("/api/v2/")}, Ratio: 0.5},
	}
	b.Run("ratio=1", func(b *testing.B) { benchProcess(b, DefaultConfig()) })
	// ratio=1 changes nothing, so the batch needs no reset: this is
	// Process alone, without the harness's per-event reset loop.
	b.Run("ratio=1-process-only", func(b *testing.B) {
		s := mustNew(b, DefaultConfig())
		batch := &shipper.Batch{Events: realisticBatch(b)}
		b.ReportAllocs()
		for range b.N {
			s.Process(batch)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch.Events)), "ns/event")
	})
	b.Run("ratio=0.1", func(b *testing.B) { benchProcess(b, ratioConfig(0.1)) })
	b.Run("ratio=0.1+rules", func(b *testing.B) {
		c := ratioConfig(0.1)
		c.Rules = rules
		benchProcess(b, c)
	})
	b.Run("ratio=0.1+rate_limit", func(b *testing.B) {
		c := ratioConfig(0.1)
		rl := DefaultRateLimit()
		c.RateLimit = &rl
		benchProcess(b, c)
	})
	b.Run("ratio=0.1+keep_trace_on_error", func(b *testing.B) {
		c := ratioConfig(0.1)
		k := DefaultKeepTraceOnError()
		c.KeepTraceOnError = &k
		benchProcess(b, c)
	})
}

// BenchmarkBaselineEncodingJSON decodes the same lines into map[string]any,
// the cost a map-per-event design pays before it even samples.
func BenchmarkBaselineEncodingJSON(b *testing.B) {
	tmpl := realisticBatch(b)
	bytes := 0
	for i := range tmpl {
		bytes += len(tmpl[i].Raw)
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	for range b.N {
		for i := range tmpl {
			var m map[string]any
			if err := json.Unmarshal(tmpl[i].Raw, &m); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(tmpl)), "ns/event")
}
