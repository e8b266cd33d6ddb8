package parser

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

const benchBatch = 256

// benchLines returns realistic zap- and logrus-style lines of about 370
// bytes: trace ids, a nested object, numbers, a varied message.
func benchLines() [][]byte {
	services := []string{"checkout", "payment", "inventory"}
	var lines [][]byte
	for i := 0; i < benchBatch; i++ {
		svc := services[i%3]
		var l string
		if i%2 == 0 {
			l = fmt.Sprintf(`{"level":"info","ts":1795341600.%06d,"caller":"%s/handler.go:%d","msg":"order %d processed for customer","service":"%s","trace_id":"4bf92f3577b34da6a3ce929d0e0e%04x","span_id":"00f067aa0ba9%04x","http":{"method":"POST","path":"/api/v1/orders/%d","status":200},"duration_ms":%d.%d,"user_id":"u-%05d","region":"eu-west-1"}`,
				i*1000, svc, 40+i%60, 100000+i, svc, i, i, 100000+i, i%500, i%10, i*7)
		} else {
			l = fmt.Sprintf(`{"time":"2026-11-22T10:00:%02d.%03d+01:00","level":"warning","msg":"inventory low for sku-%d, reordering","service":"%s","trace_id":"4bf92f3577b34da6a3ce929d0e0e%04x","span_id":"00f067aa0ba9%04x","sku":"sku-%d","stock":%d,"warehouse":{"id":"wh-%d","zone":"b"},"attempt":%d,"component":"reorder-worker"}`,
				i%60, i%1000, i, svc, i, i, i, i%13, i%5, i%3)
		}
		lines = append(lines, []byte(l))
	}
	return lines
}

// perLine reports wall and CPU nanoseconds per line; start is processCPU()
// taken after setup.
func perLine(b *testing.B, lines int, start time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
	if cpu := processCPU() - start; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*lines), "cpu-ns/line")
	}
}

func fillBatch(b *shipper.Batch, lines [][]byte) {
	b.Reset()
	for _, l := range lines {
		b.Events = append(b.Events, shipper.Event{Raw: l, ReadTime: readTime})
	}
}

func benchProcess(b *testing.B, p *Parser, lines [][]byte) {
	var bytes int
	for _, l := range lines {
		bytes += len(l)
	}
	batch := &shipper.Batch{}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		fillBatch(batch, lines)
		p.Process(batch)
	}
	perLine(b, len(lines), cpu)
}

// BenchmarkParse measures Process on batches of 256 lines; ns/line is the
// figure to compare with BenchmarkBaselineEncodingJSON's.
func BenchmarkParse(b *testing.B) {
	jsonLines := benchLines()
	b.Run("json", func(b *testing.B) { benchProcess(b, newParser(b, nil), jsonLines) })
	cri := make([][]byte, len(jsonLines))
	docker := make([][]byte, len(jsonLines))
	text := make([][]byte, len(jsonLines))
	logfmt := make([][]byte, len(jsonLines))
	for i, l := range jsonLines {
		cri[i] = append([]byte("2026-11-22T10:00:00.123456789Z stdout F "), l...)
		docker[i] = append(jsonscan.AppendString([]byte(`{"log":`), append(append([]byte{}, l...), '\n')), `,"stream":"stdout","time":"2026-11-22T10:00:00.123456789Z"}`...)
		text[i] = []byte(fmt.Sprintf("2026-11-22 10:00:00,%03d INFO [http-nio-8080-exec-%d] c.e.shop.OrderController - order %d processed for customer u-%05d in %d ms, trace=4bf92f3577b34da6a3ce929d0e0e%04x", i%1000, i%10, 100000+i, i*7, i%500, i))
		logfmt[i] = []byte(fmt.Sprintf(`time=2026-11-22T10:00:00.%03dZ level=INFO msg="order %d processed for customer" service=checkout trace_id=4bf92f3577b34da6a3ce929d0e0e%04x span_id=00f067aa0ba9%04x method=POST path=/api/v1/orders/%d status=200 duration_ms=%d`, i%1000, 100000+i, i, i, 100000+i, i%500))
	}
	b.Run("cri", func(b *testing.B) { benchProcess(b, newParser(b, nil), cri) })
	b.Run("docker", func(b *testing.B) { benchProcess(b, newParser(b, nil), docker) })
	b.Run("text", func(b *testing.B) { benchProcess(b, newParser(b, nil), text) })
	b.Run("logfmt", func(b *testing.B) { benchProcess(b, newParser(b, nil), logfmt) })
}

// BenchmarkBaselineEncodingJSON is the yardstick: encoding/json into a
// map[string]any, on the same lines as BenchmarkParse/json.
func BenchmarkBaselineEncodingJSON(b *testing.B) {
	lines := benchLines()
	var bytes int
	for _, l := range lines {
		bytes += len(l)
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal(l, &m); err != nil {
				b.Fatal(err)
			}
		}
	}
	perLine(b, len(lines), cpu)
}

// BenchmarkMembers is jsonscan.Members alone, the floor under Process, and
// ScanObject, which also looks for repeated keys in nested objects.
func BenchmarkMembers(b *testing.B) {
	lines := benchLines()
	var bytes int
	for _, l := range lines {
		bytes += len(l)
	}
	for _, nested := range []bool{false, true} {
		name := "Members"
		if nested {
			name = "ScanObject"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(bytes))
			b.ReportAllocs()
			var ms []jsonscan.Member
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				for _, l := range lines {
					var err error
					if nested {
						ms, _, err = jsonscan.ScanObject(ms[:0], l, 64)
					} else {
						ms, err = jsonscan.Members(ms[:0], l, 64)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			perLine(b, len(lines), cpu)
		})
	}
}

func BenchmarkTimestamp(b *testing.B) {
	s := []byte("2026-11-22T10:00:00.123456789+01:00")
	b.Run("fast path", func(b *testing.B) {
		cpu := processCPU()
		for i := 0; i < b.N; i++ {
			if _, _, ok := parseTimestamp(s, time.UTC); !ok {
				b.Fatal("no")
			}
		}
		perLine(b, 1, cpu)
	})
	b.Run("time.Parse", func(b *testing.B) {
		str := string(s)
		cpu := processCPU()
		for i := 0; i < b.N; i++ {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				b.Fatal(err)
			}
		}
		perLine(b, 1, cpu)
	})
}

// BenchmarkFramer measures the per-file framer on complete lines: the cost
// format auto adds to every line (JSON lines pass through, CRI lines are
// recognised), and multiline joining.
func BenchmarkFramer(b *testing.B) {
	jsonLines := benchLines()
	cri := make([][]byte, len(jsonLines))
	for i, l := range jsonLines {
		cri[i] = append([]byte("2026-11-22T10:00:00.123456789Z stdout F "), l...)
	}
	ml := DefaultMultilineConfig()
	ml.StartPattern = `^\d{4}-\d{2}-\d{2}`
	run := func(b *testing.B, p *Parser, lines [][]byte) {
		f := p.NewFramer("x.log")
		n := 0
		emit := func([]byte, shipper.Source, shipper.Tags) { n++ }
		b.ReportAllocs()
		b.ResetTimer()
		cpu := processCPU()
		for i := 0; i < b.N; i++ {
			for j, l := range lines {
				f.Push(l, shipper.Source{Offset: int64(j), Next: int64(j + 1)}, 0, emit)
			}
		}
		f.Flush(emit)
		perLine(b, len(lines), cpu)
	}
	b.Run("auto json", func(b *testing.B) { run(b, newParser(b, nil), jsonLines) })
	b.Run("auto cri", func(b *testing.B) { run(b, newParser(b, nil), cri) })
	b.Run("multiline json", func(b *testing.B) {
		run(b, newParser(b, func(c *Config) { c.Multiline = &ml }), jsonLines)
	})
}
