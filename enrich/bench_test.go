package enrich

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/traceship/shipper"
)

// Realistic zap/logrus-style lines of the shop's services.
var benchLines = map[string]string{
	"trace_id":    `{"level":"info","ts":1763805600.123456,"caller":"checkout/handler.go:88","msg":"order placed","service":"checkout","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","order_id":"A-10021","amount":129.95,"currency":"EUR"}`,
	"none":        `{"level":"info","ts":1763805600.123456,"caller":"inventory/stock.go:41","msg":"stock reserved for order A-10021","service":"inventory","sku":"SKU-4711","qty":2,"warehouse":"FRA-1"}`,
	"traceparent": `{"level":"warn","ts":1763805600.123456,"caller":"gateway/proxy.go:120","msg":"upstream slow","service":"gateway","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","upstream":"payment:8080","latency_ms":812}`,
	"free_text":   `{"level":"error","ts":1763805600.123456,"caller":"payment/charge.go:77","msg":"card declined by issuer trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 code=05","service":"payment"}`,
}

// benchBatch is what the parser hands over: the message field renamed to
// "message" as the parser does.
func benchBatch(b testing.TB, line string, n int) *shipper.Batch {
	line = strings.Replace(line, `"msg":`, `"message":`, 1)
	lines := make([]string, n)
	for i := range lines {
		lines[i] = line
	}
	return batchOf(b, &shipper.File{ID: "f", Path: "/var/log/shop/app.log"}, lines...)
}

const benchBatchSize = 512

func BenchmarkProcess(b *testing.B) {
	for _, name := range []string{"trace_id", "none", "traceparent", "free_text"} {
		b.Run(name, func(b *testing.B) {
			e := newEnricher(b, DefaultConfig(), map[string]string{"NODE_NAME": "node-a"})
			batch := benchBatch(b, benchLines[name], benchBatchSize)
			orig := make([][]shipper.Member, len(batch.Events))
			for i := range batch.Events {
				orig[i] = append([]shipper.Member(nil), batch.Events[i].Doc.Members...)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += benchBatchSize {
				e.Process(batch)
				for j := range batch.Events {
					// Undo the stage's edits so every round does the same work.
					batch.Events[j].Doc.Members = append(batch.Events[j].Doc.Members[:0], orig[j]...)
				}
			}
		})
	}
}

// BenchmarkRestoreOnly is the harness's own cost inside BenchmarkProcess
// (restoring each event's members after the stage edited them), to
// subtract from its figures.
func BenchmarkRestoreOnly(b *testing.B) {
	batch := benchBatch(b, benchLines["trace_id"], benchBatchSize)
	orig := make([][]shipper.Member, len(batch.Events))
	for i := range batch.Events {
		orig[i] = append([]shipper.Member(nil), batch.Events[i].Doc.Members...)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i += benchBatchSize {
		for j := range batch.Events {
			batch.Events[j].Doc.Members = append(batch.Events[j].Doc.Members[:0], orig[j]...)
		}
	}
}

// BenchmarkBaselineJSONMap is the reference: decoding the same lines with
// encoding/json into map[string]any, which a map-per-event pipeline would do
// before looking at a single field.
func BenchmarkBaselineJSONMap(b *testing.B) {
	for _, name := range []string{"trace_id", "none", "traceparent", "free_text"} {
		b.Run(name, func(b *testing.B) {
			line := []byte(benchLines[name])
			b.ReportAllocs()
			for b.Loop() {
				var m map[string]any
				if err := json.Unmarshal(line, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The hot path allocates nothing: not per event, not per batch, once the
// batch's service name has been interned.
func TestProcessDoesNotAllocate(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	for name, line := range benchLines {
		e := newEnricher(t, DefaultConfig(), map[string]string{"NODE_NAME": "node-a"})
		batch := benchBatch(t, line, 64)
		orig := make([][]shipper.Member, len(batch.Events))
		for i := range batch.Events {
			orig[i] = append([]shipper.Member(nil), batch.Events[i].Doc.Members...)
		}
		e.Process(batch) // interns the service name
		allocs := testing.AllocsPerRun(20, func() {
			for j := range batch.Events {
				batch.Events[j].Doc.Members = append(batch.Events[j].Doc.Members[:0], orig[j]...)
			}
			e.Process(batch)
		})
		if allocs != 0 {
			t.Errorf("%s: %.1f allocations per batch of 64, want 0", name, allocs)
		}
	}
}
