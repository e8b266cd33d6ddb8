package pipeline_test

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/internal/benchgen"
	"github.com/traceship/shipper/pipeline"
)

// benchLines is how many lines of the end-to-end bench's data set each
// iteration processes: enough distinct lines (traces, shapes, the 2% with
// a card) that the figure is not one line's best case.
var benchLines = envInt("BENCH_LINES", 4096)

// BenchmarkDefaultPipeline runs the default pipeline's stages (parse,
// trace, redact, sample, route) and the document encoding on the data set
// of bench/e2e, in process: the agent's per-event work without reading
// files or writing sockets. Compare ns/event with
// BenchmarkBaselineEncodingJSON's in the same run. "parallel" runs a
// worker per core, as the agent does, so state the workers share shows.
func BenchmarkDefaultPipeline(b *testing.B) {
	lines := benchgen.Lines(1, benchLines)
	env := pipeline.Env{Getenv: func(string) string { return "node-1" }, Now: time.Now}
	p, err := pipeline.Build(config.DefaultPipeline(), env)
	if err != nil {
		b.Fatal(err)
	}
	var size int
	for _, l := range lines {
		size += len(l) + 1
	}
	b.Run("1worker", func(b *testing.B) {
		w := newBenchWorker(p, lines)
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			w.run(b)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/event")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := newBenchWorker(p, lines)
			for pb.Next() {
				w.run(b)
			}
		})
	})
}

// benchWorker is one pipeline worker of the benchmark: a batch of the
// data set's lines, its chain, the encoder's buffer.
type benchWorker struct {
	chain *pipeline.Chain
	file  *shipper.File
	lines [][]byte
	batch *shipper.Batch
	enc   shipper.Encoder
	buf   []byte
}

func newBenchWorker(p *pipeline.Pipeline, lines [][]byte) *benchWorker {
	path := "/var/log/app/app-0.log"
	file := &shipper.File{ID: "8f3a9c1d2e4b5a60", Path: path}
	return &benchWorker{chain: p.ChainFor(path), file: file, lines: lines, batch: &shipper.Batch{File: file}}
}

func (w *benchWorker) run(b *testing.B) {
	now := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	w.batch.Reset()
	var off int64
	for _, l := range w.lines {
		w.batch.Events = append(w.batch.Events, shipper.Event{Raw: l, ReadTime: now, Source: shipper.Source{File: w.file, Offset: off}})
		off += int64(len(l)) + 1
	}
	w.chain.Process(w.batch)
	w.buf = w.buf[:0]
	for i := range w.batch.Events {
		ev := &w.batch.Events[i]
		if ev.Drop != "" || ev.Index == "" {
			b.Fatalf("event %d not routed: drop %q", i, ev.Drop)
		}
		w.buf = shipper.AppendID(w.buf, ev)
		w.buf = w.enc.AppendSource(w.buf, ev)
		w.buf = append(w.buf, '\n')
	}
}

// BenchmarkBaselineEncodingJSON is the end-to-end bench's baseline on the
// same lines: encoding/json into a map[string]any.
func BenchmarkBaselineEncodingJSON(b *testing.B) {
	lines := benchgen.Lines(1, benchLines)
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal(l, &m); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/event")
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}
