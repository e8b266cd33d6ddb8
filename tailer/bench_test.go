package tailer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/traceship/shipper"
)

var benchFile struct {
	once  sync.Once
	path  string
	lines int
	size  int64
}

// benchData writes (once) a file of realistic zap-style JSON lines of about
// 370 bytes, generated, not committed.
func benchData(b *testing.B) (string, int, int64) {
	benchFile.once.Do(func() {
		dir, err := os.MkdirTemp("", "tailer-bench")
		if err != nil {
			b.Fatal(err)
		}
		p := filepath.Join(dir, "bench.log")
		var buf bytes.Buffer
		const n = 200_000
		for i := range n {
			fmt.Fprintf(&buf, `{"level":"info","ts":"2026-11-22T18:%02d:%02d.%06dZ","logger":"checkout.http","caller":"server/handler.go:%d","msg":"request completed","trace_id":"4bf92f3577b34da6a3ce929d0e0e%04x","span_id":"00f067aa0ba9%04x","http":{"method":"POST","path":"/api/v1/orders/%d","status":200,"duration_ms":%d.%03d},"user":{"id":"u-%06d","tier":"gold"},"attempt":1}`+"\n",
				(i/60)%60, i%60, i%1000000, 100+i%400, i%65536, i%65536, i, i%250, i%1000, i%999999)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		benchFile.path, benchFile.lines, benchFile.size = p, n, int64(buf.Len())
	})
	return benchFile.path, benchFile.lines, benchFile.size
}

func reportPerLine(b *testing.B, lines int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
	b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkReadFile: the dry-run reader, batches reused.
func BenchmarkReadFile(b *testing.B) {
	path, lines, size := benchData(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := ReadFile(context.Background(), path, ReadOptions{}, func(bt *shipper.Batch) error {
			n += len(bt.Events)
			return nil
		})
		if err != nil || n != lines {
			b.Fatalf("%d lines, %v", n, err)
		}
	}
	reportPerLine(b, lines)
}

// BenchmarkFollow: the Tailer reading the file end to end with a consumer
// that acknowledges each batch at once (new batches, acks, checkpoints).
func BenchmarkFollow(b *testing.B) {
	path, lines, size := benchData(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		state := b.TempDir()
		cfg := DefaultConfig()
		cfg.StateDir = state
		tl, _ := New(cfg, nil)
		in := DefaultInput()
		in.Paths = []string{path}
		out := make(chan *shipper.Batch, 16)
		tl.SetInputs([]InputSpec{{ID: "bench", Input: in, Out: out}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tl.Run(ctx) }()
		n := 0
		for n < lines {
			bt := <-out
			n += len(bt.Events)
			bt.Ack.Release()
		}
		cancel()
		<-done
	}
	reportPerLine(b, lines)
}

// BenchmarkBaselineJSONMap is the reference loop of issue 11: read the file
// and decode every line with encoding/json into a map.
func BenchmarkBaselineJSONMap(b *testing.B) {
	scanBaseline(b, func(line []byte) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkBaselineScanner reads lines with bufio.Scanner and nothing else:
// the floor of line splitting.
func BenchmarkBaselineScanner(b *testing.B) {
	scanBaseline(b, func([]byte) {})
}

// scanBaseline reads the benchmark file with bufio.Scanner and passes each
// line to perLine.
func scanBaseline(b *testing.B, perLine func([]byte)) {
	path, lines, size := benchData(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		f, _ := os.Open(path)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		n := 0
		for sc.Scan() {
			perLine(sc.Bytes())
			n++
		}
		f.Close()
		if n != lines {
			b.Fatalf("%d lines", n)
		}
	}
	reportPerLine(b, lines)
}

func makeRegistry(n int) *registry {
	r := newRegistry()
	for i := range n {
		e := &entry{input: "pods", path: fmt.Sprintf("/var/log/pods/ns_pod-%d_uid/app/0.log", i), dev: 2049, ino: uint64(1000 + i),
			size: int64(i * 1000), seen: time.Now().Unix(), first: time.Now().UnixNano() + int64(i)}
		e.fp = takeFingerprint([]byte(e.path))
		e.id = followID(e.dev, e.ino, e.fp, e.first)
		e.acked.Store(int64(i * 1000))
		r.add(e)
	}
	return r
}

// BenchmarkRegistryLoad100k decodes a registry of 100,000 entries (issue 11:
// well under a second).
func BenchmarkRegistryLoad100k(b *testing.B) {
	data := makeRegistry(100_000).encode(nil)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := decodeRegistry(bytes.NewReader(data))
		if err != nil || len(r.entries) != 100_000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegistryEncode100k renders a registry of 100,000 entries (the
// cost of one checkpoint, before the write).
func BenchmarkRegistryEncode100k(b *testing.B) {
	r := makeRegistry(100_000)
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = r.encode(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkIdle1000Files measures the CPU the Tailer uses while following
// 1,000 idle files (issue 11: under 1 % of a core). Each iteration is a
// one-second measurement window; the metric is CPU-seconds per second.
// Run it with -benchtime 10x: the rescan of the paths (every 10 s) and the
// checkpoint (every 5 s) fall in some one-second windows and not in others,
// so a single window reads anywhere from 0.02% to 0.5%.
func BenchmarkIdle1000Files(b *testing.B) {
	dir := b.TempDir()
	for i := range 1000 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.log", i)), []byte("a line\n"), 0o644)
	}
	cfg := DefaultConfig()
	cfg.StateDir = b.TempDir()
	tl, _ := New(cfg, nil)
	in := DefaultInput()
	in.Paths = []string{filepath.Join(dir, "*.log")}
	out := make(chan *shipper.Batch, 1024)
	tl.SetInputs([]InputSpec{{ID: "idle", Input: in, Out: out}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	for got := 0; got < 1000; got++ {
		(<-out).Ack.Release()
	}
	for tl.Stats().FilesOpen < 1000 || tl.Stats().InflightBytes > 0 {
		time.Sleep(time.Millisecond)
	}
	b.ResetTimer()
	var cpu time.Duration
	for b.Loop() {
		before := cpuTime()
		time.Sleep(time.Second) // the measurement window
		cpu += cpuTime() - before
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N)*100, "%core")
	b.ReportMetric(float64(tl.Stats().FilesOpen), "files-open")
	cancel()
	<-done
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
