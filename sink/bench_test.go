package sink

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	kgzip "github.com/klauspost/compress/gzip"
	"go.uber.org/zap"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/estest"
	"github.com/traceship/shipper/internal/jsonscan"
)

// benchLines are lines of a small shop's services as zap and logrus write
// them, after parsing: the application's fields stay raw in Doc.
var benchLines = []string{
	`{"msg":"order placed","caller":"checkout/handler.go:88","order_id":"A-100234","user_id":48213,"amount":129.95,"currency":"EUR","items":3,"http":{"method":"POST","path":"/api/v1/orders","status":201},"duration_ms":38.2}`,
	`{"msg":"payment authorised","provider":"stripe","card":"****-****-****-4242","amount":129.95,"currency":"EUR","attempt":1,"latency_ms":212}`,
	`{"message":"stock reserved","sku":"SKU-77812","warehouse":"fra-2","left":14,"reservation":"r-99812-aa","tags":["inventory","reserve"]}`,
	`{"msg":"upstream timeout","error":"context deadline exceeded","upstream":"http://inventory.svc:8080/reserve","retry":2,"stacktrace":"goroutine 81 [running]:\nmain.reserve()\n\t/app/inventory.go:120 +0x1d\n"}`,
	`{"msg":"GET /healthz","http":{"method":"GET","path":"/healthz","status":200,"user_agent":"kube-probe/1.29"},"duration_ms":0.4}`,
}

var benchServices = []string{"checkout", "payment", "inventory", "inventory", "checkout"}

// benchBatch is n parsed events with trace context, as the sink gets them.
func benchBatch(tb testing.TB, n int) *shipper.Batch {
	file := &shipper.File{ID: "8f3a9c1d2e4b5a60", Path: "/var/log/containers/checkout-7d9f_shop_app-1a2b.log"}
	b := &shipper.Batch{File: file}
	for i := range n {
		line := []byte(benchLines[i%len(benchLines)])
		m, err := jsonscan.Members(nil, line, 64)
		if err != nil {
			tb.Fatal(err)
		}
		ev := shipper.Event{
			Source:  shipper.Source{File: file, Offset: int64(i) * 300},
			Raw:     line,
			Doc:     shipper.Doc{Members: m},
			Time:    t0.Add(time.Duration(i) * time.Millisecond),
			Level:   shipper.LevelInfo,
			Service: benchServices[i%len(benchServices)],
			Host:    "node-7",
			Index:   "shipper-" + benchServices[i%len(benchServices)] + "-2026.11.22",
		}
		for j := range ev.TraceID {
			ev.TraceID[j] = byte(i + j)
		}
		for j := range ev.SpanID {
			ev.SpanID[j] = byte(3*i + j)
		}
		b.Events = append(b.Events, ev)
	}
	return b
}

const benchDocs = 1000

// BenchmarkEncodeBulk encodes 1000 events into a bulk body: the sink's own
// encoder against the common way (decode each line into map[string]any,
// add the ECS fields, json.Marshal the action and the document).
func BenchmarkEncodeBulk(b *testing.B) {
	batch := benchBatch(b, benchDocs)
	s := newSink(DefaultConfig(), nil, nil, zap.NewNop())
	b.Run("sink", func(b *testing.B) {
		enc := &encoder{}
		s.encode(enc, batch)
		b.SetBytes(int64(len(enc.buf)))
		b.ReportAllocs()
		for b.Loop() {
			s.encode(enc, batch)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchDocs), "ns/doc")
	})
	b.Run("sink+gzip", func(b *testing.B) {
		enc := &encoder{}
		snd := newSender(s)
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			s.encode(enc, batch)
			if out != nil {
				s.putBuffer(out)
			}
			out, _ = s.compress(snd, enc.buf)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchDocs), "ns/doc")
		b.ReportMetric(float64(len(out))/float64(len(enc.buf)), "ratio")
	})
	b.Run("baseline-encoding-json-map", func(b *testing.B) {
		var out []byte
		b.ReportAllocs()
		for b.Loop() {
			out = out[:0]
			for i := range batch.Events {
				ev := &batch.Events[i]
				var doc map[string]any
				if err := json.Unmarshal(ev.Raw, &doc); err != nil {
					b.Fatal(err)
				}
				doc["@timestamp"] = ev.Time.UTC().Format(time.RFC3339Nano)
				doc["log"] = map[string]any{"level": ev.Level.String(), "offset": ev.Source.Offset, "file": map[string]any{"path": ev.Source.File.Path}}
				doc["trace"] = map[string]any{"id": ev.TraceID.String()}
				doc["span"] = map[string]any{"id": ev.SpanID.String()}
				doc["service"] = map[string]any{"name": ev.Service}
				doc["host"] = map[string]any{"name": ev.Host}
				action, _ := json.Marshal(map[string]any{"create": map[string]any{"_index": ev.Index, "_id": ev.Source.File.ID + "-" + strconv.FormatInt(ev.Source.Offset, 10)}})
				src, _ := json.Marshal(doc)
				out = append(out, action...)
				out = append(out, '\n')
				out = append(out, src...)
				out = append(out, '\n')
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchDocs), "ns/doc")
	})
}

// BenchmarkGzip compresses the bulk body of 1000 events: klauspost against
// the standard library, at level 1 and the default level. ratio is
// compressed/uncompressed.
func BenchmarkGzip(b *testing.B) {
	s := newSink(DefaultConfig(), nil, nil, zap.NewNop())
	enc := &encoder{}
	s.encode(enc, benchBatch(b, benchDocs))
	body := enc.buf
	type writer interface {
		io.WriteCloser
		Reset(io.Writer)
	}
	std := func(level int) writer { w, _ := gzip.NewWriterLevel(io.Discard, level); return w }
	kp := func(level int) writer { w, _ := kgzip.NewWriterLevel(io.Discard, level); return w }
	for _, c := range []struct {
		name string
		w    writer
	}{
		{"klauspost-level1", kp(kgzip.BestSpeed)},
		{"klauspost-default", kp(kgzip.DefaultCompression)},
		{"stdlib-level1", std(gzip.BestSpeed)},
		{"stdlib-default", std(gzip.DefaultCompression)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var out bytes.Buffer
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				out.Reset()
				c.w.Reset(&out)
				c.w.Write(body)
				c.w.Close()
			}
			b.ReportMetric(float64(out.Len())/float64(len(body)), "ratio")
		})
	}
}

// BenchmarkShip sends 1000-event batches end to end to the double (in
// discard mode, so it does not store sources), through the sink, and
// through esutil.BulkIndexer with the same pre-encoded documents: the
// choice between the two rests on this and on the ack path (design.md).
func BenchmarkShip(b *testing.B) {
	batch := benchBatch(b, benchDocs)
	b.Run("sink", func(b *testing.B) {
		srv := estest.New(b, estest.WithDiscard())
		cfg := DefaultConfig()
		cfg.Hosts = []string{srv.URL()}
		cfg.DeadLetter.Path = b.TempDir() + "/dlq.ndjson"
		s, err := New(cfg, zap.NewNop(), nil)
		if err != nil {
			b.Fatal(err)
		}
		s.Start(context.Background())
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			// A new file per round: the double remembers _ids.
			f := &shipper.File{ID: strconv.Itoa(n)}
			n++
			for i := range batch.Events {
				batch.Events[i].Source.File = f
			}
			if err := s.Write(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
		if st := s.Stats(); st.Indexed != int64(n*benchDocs) {
			b.Fatalf("indexed %d of %d", st.Indexed, n*benchDocs)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*benchDocs), "ns/doc")
	})
	b.Run("esutil-BulkIndexer", func(b *testing.B) {
		srv := estest.New(b, estest.WithDiscard())
		es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL()}, CompressRequestBody: true})
		if err != nil {
			b.Fatal(err)
		}
		bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: es, NumWorkers: 2, FlushBytes: 5 << 20, FlushInterval: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		s := newSink(DefaultConfig(), nil, nil, zap.NewNop())
		enc := &encoder{}
		var failed int64
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			f := &shipper.File{ID: strconv.Itoa(n)}
			n++
			for i := range batch.Events {
				batch.Events[i].Source.File = f
			}
			s.encode(enc, batch)
			for i, it := range enc.items {
				ev := &batch.Events[i]
				// BulkIndexer reads the body later: it must be a copy.
				src := bytes.Clone(enc.buf[it.src : it.end-1])
				err := bi.Add(context.Background(), esutil.BulkIndexerItem{
					Action: "create", Index: ev.Index, DocumentID: string(shipper.AppendID(nil, ev)),
					Body: bytes.NewReader(src),
					OnFailure: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem, error) {
						failed++
					},
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := bi.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		if st := bi.Stats(); st.NumFlushed != uint64(n*benchDocs) || failed > 0 {
			b.Fatalf("flushed %d of %d, %d failed", st.NumFlushed, n*benchDocs, failed)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*benchDocs), "ns/doc")
	})
}

// BenchmarkWrite is Write in steady state: encode, reserve, copy into
// requests, with workers sending to a stub that accepts everything. Its
// batches are as large as the tailer's by default (batch_max_lines 2048),
// which is what Write gets at volume.
func BenchmarkWrite(b *testing.B) {
	const docs = 2048
	batch := benchBatch(b, docs)
	cfg := DefaultConfig()
	cfg.Bulk.Compression = false
	s := newSink(cfg, fixedResponse(`{"errors":false}`), &dlqWriter{path: "bench", w: nopCloser{io.Discard}}, zap.NewNop())
	s.Start(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	s.Shutdown(context.Background())
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*docs), "ns/doc")
}
