package estest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
)

// benchBody builds a bulk body of n create items with ~370-byte documents
// like the agent's (ECS fields, trace ids, a nested object), ids prefixed
// so every call can get fresh ones.
func benchBody(prefix string, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteString(`{"create":{"_index":"shipper-api-2026.11.22","_id":"`)
		b.WriteString(prefix)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`"}}` + "\n")
		b.WriteString(`{"@timestamp":"2026-11-22T10:00:00.123Z","log":{"level":"info","logger":"http"},"service":{"name":"api"},` +
			`"trace":{"id":"0af7651916cd43dd8448eb211c80319c"},"span":{"id":"b7ad6b7169203331"},"host":{"name":"node-1"},` +
			`"message":"request completed","http":{"request":{"method":"GET"},"response":{"status_code":200}},` +
			`"url":{"path":"/api/v1/orders/` + strconv.Itoa(i) + `"},"event":{"duration":1234567},"user":{"id":"u-42"}}` + "\n")
	}
	return b.Bytes()
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

func benchHandler(b *testing.B, opts ...Option) {
	srv, err := NewServer(opts...)
	if err != nil {
		b.Fatal(err)
	}
	const items = 1000
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = benchBody(strconv.Itoa(i)+"-", items)
	}
	w := &discardWriter{h: http.Header{}}
	b.SetBytes(int64(len(bodies[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		body := bodies[i%len(bodies)]
		if i >= len(bodies) {
			// Fresh ids each round so items are created, not conflicts.
			b.StopTimer()
			body = benchBody("r"+strconv.Itoa(i)+"-", items)
			b.StartTimer()
		}
		req, _ := http.NewRequest("POST", "/_bulk", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		srv.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/item")
}

// BenchmarkBulkDiscard is the -discard mode cmd/esdouble uses for the
// end-to-end benchmark: count items and dedupe ids, no source parsing.
func BenchmarkBulkDiscard(b *testing.B) { benchHandler(b, WithDiscard()) }

// BenchmarkBulkStore keeps sources and checks mappings (what tests use).
func BenchmarkBulkStore(b *testing.B) { benchHandler(b) }

// BenchmarkBaselineDecode is the baseline for both: split the same body
// and json.Unmarshal every line into a map, which a naive double would do.
func BenchmarkBaselineDecode(b *testing.B) {
	const items = 1000
	body := benchBody("x", items)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		for line := range bytes.SplitSeq(body, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/item")
}

// BenchmarkBulkDiscardHTTP posts over loopback, as the agent does.
func BenchmarkBulkDiscardHTTP(b *testing.B) {
	srv := New(b, WithDiscard())
	const items = 1000
	client := &http.Client{}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		body := benchBody("h"+strconv.Itoa(i)+"-", items)
		b.StartTimer()
		res, err := client.Post(srv.URL()+"/_bulk?filter_path=errors,items.*.error,items.*.status", "application/x-ndjson", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/item")
}
