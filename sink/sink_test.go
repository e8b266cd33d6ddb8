package sink

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/estest"
	"github.com/traceship/shipper/internal/jsonscan"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// net/http keeps idle client connections' goroutines briefly after
		// the double closed them.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		// lumberjack v2.2.1 starts a mill goroutine per file that Close
		// does not stop.
		goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"),
	)
}

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// testConfig is the defaults with fast retries and the dead-letter file in
// a temporary directory.
func testConfig(t *testing.T, url string) Config {
	cfg := DefaultConfig()
	cfg.Hosts = []string{url}
	cfg.Retry.InitialBackoff = time.Millisecond
	cfg.Retry.MaxBackoff = 5 * time.Millisecond
	cfg.Bulk.FlushInterval = 20 * time.Millisecond
	cfg.DeadLetter.Path = filepath.Join(t.TempDir(), "dlq", "dead-letter.ndjson")
	return cfg
}

func newTestSink(t *testing.T, cfg Config, redact func(dst, src []byte) []byte) *Sink {
	t.Helper()
	s, err := New(cfg, zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)), redact)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// harness writes batches and checks, at the moment each batch's Ack is
// released, that every one of its documents is in the double or in the
// dead-letter file: no Ack is released early.
type harness struct {
	t   *testing.T
	srv *estest.Server
	dlq string

	mu      sync.Mutex
	ids     map[string]string // _id -> index of every document written
	srcs    map[string]string // _id -> its source, as AppendSource writes it
	pending int               // batches not acknowledged
	early   []string
}

func newHarness(t *testing.T, srv *estest.Server, dlq string) *harness {
	return &harness{t: t, srv: srv, dlq: dlq, ids: map[string]string{}, srcs: map[string]string{}}
}

var lines = []string{
	`{"message":"order placed","order_id":"A-1001","amount":42.5,"user":{"id":7}}`,
	`{"message":"card declined","code":"insufficient_funds"}`,
	`{"message":"stock checked","sku":"SKU-1","left":3,"tags":["inv"]}`,
}

// batch makes n events of file fileID at offsets 0, 100, ... routed to
// index (an index name per event when index is empty).
func (h *harness) batch(fileID string, n int, index string) *shipper.Batch {
	file := &shipper.File{ID: fileID, Path: "/var/log/app/" + fileID + ".log"}
	b := &shipper.Batch{File: file}
	var ids []string
	h.mu.Lock()
	h.pending++
	h.mu.Unlock()
	b.Ack = shipper.NewAck(func() { h.acked(ids) })
	for i := range n {
		line := lines[i%len(lines)]
		members, err := jsonscan.Members(nil, []byte(line), 64)
		if err != nil {
			h.t.Fatal(err)
		}
		ev := shipper.Event{
			Source:  shipper.Source{File: file, Offset: int64(i * 100), Next: int64(i*100 + 100)},
			Ack:     b.Ack,
			Raw:     []byte(line),
			Time:    t0.Add(time.Duration(i) * time.Second),
			Level:   shipper.LevelInfo,
			Service: "checkout",
			Doc:     shipper.Doc{Members: members},
			Index:   index,
		}
		if ev.Index == "" {
			ev.Index = "shipper-checkout-2026.11.22"
		}
		id := string(shipper.AppendID(nil, &ev))
		ids = append(ids, id)
		h.mu.Lock()
		h.ids[id] = ev.Index
		h.srcs[id] = string(shipper.AppendSource(nil, &ev))
		h.mu.Unlock()
		b.Events = append(b.Events, ev)
	}
	return b
}

func (h *harness) acked(ids []string) {
	if h.srv == nil { // a test without the double checks on its own
		h.mu.Lock()
		h.pending--
		h.mu.Unlock()
		return
	}
	dead := h.deadIDs()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		index, written := h.ids[id]
		if !written {
			continue // Write refused the batch
		}
		if _, ok := h.srv.Get(index, id); !ok && !dead[id] {
			h.early = append(h.early, id)
		}
	}
	h.pending--
}

// forget takes back the documents of a batch Write refused.
func (h *harness) forget(b *shipper.Batch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range b.Events {
		delete(h.ids, string(shipper.AppendID(nil, &b.Events[i])))
	}
}

func (h *harness) unacked() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pending
}

// write hands b to the sink the way a pipeline worker does: Write, then
// the worker lets go of its own hold on the Ack.
func (h *harness) write(s *Sink, b *shipper.Batch) {
	h.t.Helper()
	if err := s.Write(context.Background(), b); err != nil {
		h.t.Fatalf("Write: %v", err)
	}
	b.Ack.Release()
}

func (h *harness) deadIDs() map[string]bool {
	out := map[string]bool{}
	for _, e := range readDLQ(h.t, h.dlq) {
		out[e.ID] = true
	}
	return out
}

func readDLQ(t *testing.T, path string) []DeadLetter {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Error(err)
		return nil
	}
	defer f.Close()
	var out []DeadLetter
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var e DeadLetter
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Errorf("dead-letter line %s: %v", sc.Bytes(), err)
			continue
		}
		out = append(out, e)
	}
	return out
}

// check asserts the invariants of every scenario: each written document is
// in the double or dead-lettered, exactly once, none is in both, nothing
// else is stored, and every Ack was released, none early.
func (h *harness) check(wantDead int) {
	h.t.Helper()
	waitFor(h.t, "every batch to be acknowledged", func() bool { return h.unacked() == 0 })
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.early) > 0 {
		h.t.Errorf("%d documents acknowledged before they were indexed or dead-lettered, e.g. %s", len(h.early), h.early[0])
	}
	dead := map[string]int{}
	for _, e := range readDLQ(h.t, h.dlq) {
		dead[e.ID]++
		if want := h.srcs[e.ID]; want != "" && string(e.Document) != want {
			h.t.Errorf("%s dead-lettered as\n%s\nwant\n%s", e.ID, e.Document, want)
		}
	}
	stored := h.srv.Count("*")
	if stored+len(dead) != len(h.ids) {
		h.t.Errorf("stored %d + dead-lettered %d != written %d", stored, len(dead), len(h.ids))
	}
	if len(dead) != wantDead {
		h.t.Errorf("dead-lettered %d documents, want %d", len(dead), wantDead)
	}
	for id, index := range h.ids {
		doc, ok := h.srv.Get(index, id)
		if ok && dead[id] > 0 {
			h.t.Errorf("%s is both stored and dead-lettered", id)
		}
		// Request buffers pass between Write calls and workers: a document
		// must arrive as it was encoded, not with another's bytes.
		if want := h.srcs[id]; ok && want != "" && string(doc.Source) != want {
			h.t.Errorf("%s stored as\n%s\nwant\n%s", id, doc.Source, want)
		}
		if dead[id] > 1 {
			h.t.Errorf("%s dead-lettered %d times", id, dead[id])
		}
	}
	if rs := h.srv.Requests(); rs.Updated != 0 {
		h.t.Errorf("%d documents overwritten: the sink must only create", rs.Updated)
	}
}

func run(t *testing.T, s *Sink) {
	t.Helper()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func shutdown(t *testing.T, s *Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestIndexesEveryDocument(t *testing.T) {
	for _, gzip := range []bool{true, false} {
		t.Run(fmt.Sprint("gzip=", gzip), func(t *testing.T) {
			srv := estest.New(t)
			cfg := testConfig(t, srv.URL())
			cfg.Bulk.Compression = gzip
			cfg.Bulk.MaxDocs = 7 // several requests per batch
			s := newTestSink(t, cfg, nil)
			h := newHarness(t, srv, cfg.DeadLetter.Path)
			run(t, s)
			for i := range 5 {
				h.write(s, h.batch(fmt.Sprint("f", i), 20, ""))
			}
			shutdown(t, s)
			h.check(0)
			st := s.Stats()
			if st.Documents != 100 || st.Indexed != 100 {
				t.Errorf("Stats = %+v, want 100 documents indexed", st)
			}
			if got := srv.Requests().Gzip > 0; got != gzip {
				t.Errorf("gzip requests seen: %v, want %v", got, gzip)
			}
			doc, ok := srv.Get("shipper-checkout-2026.11.22", "f0-100")
			if !ok {
				t.Fatal("document f0-100 missing")
			}
			var src map[string]any
			if err := json.Unmarshal(doc.Source, &src); err != nil {
				t.Fatal(err)
			}
			if src["@timestamp"] != "2026-11-22T10:00:01Z" || src["message"] != "card declined" || src["code"] != "insufficient_funds" {
				t.Errorf("document source = %s", doc.Source)
			}
		})
	}
}

// The fault matrix of issue 8: in every case the double plus the dead-letter
// file hold every document exactly once, and no Ack is released early.
func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults estest.Faults
		check  func(t *testing.T, st Stats, rs estest.RequestStats)
	}{
		{"429 storm", estest.Faults{Status: 429, StatusNext: 25}, func(t *testing.T, st Stats, rs estest.RequestStats) {
			if rs.Status429 != 25 || st.RequestRetries < 25 {
				t.Errorf("429s answered %d, request retries %d; want 25 each", rs.Status429, st.RequestRetries)
			}
		}},
		{"503s", estest.Faults{Status: 503, StatusRatio: 0.4, Seed: 3}, func(t *testing.T, st Stats, rs estest.RequestStats) {
			if rs.Status503 == 0 || st.RequestRetries != rs.Status503 {
				t.Errorf("503s %d, request retries %d", rs.Status503, st.RequestRetries)
			}
		}},
		{"502 and 504", estest.Faults{Status: 504, StatusNext: 3}, nil},
		{"dropped connections", estest.Faults{DropRatio: 0.3, Seed: 5}, func(t *testing.T, st Stats, rs estest.RequestStats) {
			if rs.Dropped == 0 {
				t.Error("no connection dropped")
			}
		}},
		{"dropped after store: replays get 409", estest.Faults{DropRatio: 0.3, DropAfterStore: true, Seed: 7}, func(t *testing.T, st Stats, rs estest.RequestStats) {
			// Some replays were dropped too, so the double saw more 409s
			// than the sink heard of.
			if rs.Dropped == 0 || st.Duplicates == 0 || rs.Conflicts < st.Duplicates {
				t.Errorf("dropped %d, duplicates %d, conflicts %d: want replays answered 409", rs.Dropped, st.Duplicates, rs.Conflicts)
			}
		}},
		{"per-item 429 and 503", estest.Faults{Item429Ratio: 0.2, Item5xxRatio: 0.1, Seed: 9}, func(t *testing.T, st Stats, rs estest.RequestStats) {
			if st.ItemRetries != rs.Item429+rs.Item5xx || st.ItemRetries == 0 {
				t.Errorf("item retries %d, item faults %d", st.ItemRetries, rs.Item429+rs.Item5xx)
			}
		}},
		{"issue 8 done-when: 10% 429s and 5% item failures", estest.Faults{Status: 429, StatusRatio: 0.1, Item429Ratio: 0.025, Item5xxRatio: 0.025, Seed: 11}, nil},
		{"slow responses", estest.Faults{Delay: 20 * time.Millisecond}, nil},
	}
	// Three shapes of request: batches split by max_docs and copied into
	// requests shared with other batches; batches large enough to be cut
	// into requests that share the encoded batch's buffer; and batches so
	// much larger than a request that the encoder keeps its buffer and
	// they are copied.
	shapes := []struct {
		name string
		set  func(*BulkConfig)
	}{
		{"shared requests", func(b *BulkConfig) { b.MaxDocs = 40 }},
		{"adopted batches", func(b *BulkConfig) { b.MaxBytes = 4096 }},
		{"batches far over max_bytes", func(b *BulkConfig) { b.MaxBytes = 1024 }},
	}
	for _, tt := range tests {
		for _, shape := range shapes {
			t.Run(tt.name+"/"+shape.name, func(t *testing.T) {
				srv := estest.New(t, estest.WithFaults(tt.faults))
				cfg := testConfig(t, srv.URL())
				shape.set(&cfg.Bulk)
				s := newTestSink(t, cfg, nil)
				h := newHarness(t, srv, cfg.DeadLetter.Path)
				run(t, s)
				var wg sync.WaitGroup
				for w := range 3 { // pipeline workers write concurrently
					wg.Go(func() {
						for i := range 10 {
							h.write(s, h.batch(fmt.Sprintf("w%d-f%d", w, i), 17, ""))
						}
					})
				}
				wg.Wait()
				shutdown(t, s)
				h.check(0)
				if tt.check != nil {
					tt.check(t, s.Stats(), srv.Requests())
				}
			})
		}
	}
}

func TestElasticsearchDownThenBack(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	srv.Down()
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	for i := range 4 {
		h.write(s, h.batch(fmt.Sprint("f", i), 10, ""))
	}
	waitFor(t, "retries while Elasticsearch is down", func() bool { return s.Stats().RequestRetries >= 5 })
	if n := h.unacked(); n != 4 {
		t.Fatalf("%d of 4 batches acknowledged while Elasticsearch was down", 4-n)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	h.check(0)
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling, not timing: the deadline bounds it
	}
}

// maskTestCard stands in for the pipeline's redactor of the sink's own
// text (reasons, dead letters): it masks the tests' card number.
func maskTestCard(dst, src []byte) []byte {
	return append(dst, bytes.ReplaceAll(src, []byte("4111111111111111"), []byte("[REDACTED]"))...)
}

func TestRejectsGoToDeadLetterRedacted(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	s := newTestSink(t, cfg, maskTestCard)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	h.write(s, h.batch("good", 5, ""))
	// Elasticsearch refuses this index name per item (400), quoting it in
	// the reason.
	h.write(s, h.batch("bad", 3, "shipper-BAD-4111111111111111"))
	shutdown(t, s)
	h.check(3)
	entries := readDLQ(t, cfg.DeadLetter.Path)
	for _, e := range entries {
		if e.Status != 400 || e.Error.Type == "" || e.Index != "shipper-BAD-4111111111111111" || !strings.HasPrefix(e.ID, "bad-") {
			t.Errorf("dead letter %+v", e)
		}
		if strings.Contains(e.Error.Reason, "4111111111111111") {
			t.Errorf("reason not redacted: %q", e.Error.Reason)
		}
		var doc map[string]any
		if err := json.Unmarshal(e.Document, &doc); err != nil || doc["message"] == nil {
			t.Errorf("document %s: %v", e.Document, err)
		}
	}
	if st := s.Stats(); st.DeadLettered != 3 || st.Indexed != 5 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestMaxRetriesDeadLetters(t *testing.T) {
	srv := estest.New(t, estest.WithFaults(estest.Faults{Status: 503, StatusRatio: 1}))
	cfg := testConfig(t, srv.URL())
	cfg.Retry.MaxRetries = 2
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	h.write(s, h.batch("f", 4, ""))
	shutdown(t, s)
	h.check(4)
	for _, e := range readDLQ(t, cfg.DeadLetter.Path) {
		if e.Error.Type != "shipper_retries_exhausted" || e.Status != 503 {
			t.Errorf("dead letter %+v", e)
		}
	}
	if rs := srv.Requests(); rs.Status503 != 3 {
		t.Errorf("%d attempts, want 3 (1 + max_retries 2)", rs.Status503)
	}
}

// A restart replays lines whose checkpoint had not advanced: create with
// the same _id gets 409, counted as delivered, and nothing is stored twice.
func TestReplayAfterRestartIsNotDoubled(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	for range 2 {
		s := newTestSink(t, cfg, nil)
		run(t, s)
		h.write(s, h.batch("f", 30, ""))
		shutdown(t, s)
	}
	h.check(0)
	if n := srv.Count("*"); n != 30 {
		t.Errorf("stored %d documents, want 30", n)
	}
	if rs := srv.Requests(); rs.Conflicts != 30 {
		t.Errorf("conflicts %d, want 30", rs.Conflicts)
	}
}

func TestWriteDoesNotRetainBatch(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	b := h.batch("f", 6, "")
	h.write(s, b)
	// The worker reuses the batch's memory at once.
	for i := range b.Events {
		ev := &b.Events[i]
		for j := range ev.Doc.Members {
			v := ev.Doc.Members[j].Value
			for k := range v {
				v[k] = 'X'
			}
		}
		ev.Index, ev.Service = "garbage", "garbage"
	}
	run(t, s)
	shutdown(t, s)
	h.check(0)
	for _, d := range srv.Docs("*") {
		if bytes.Contains(d.Source, []byte("XXX")) || bytes.Contains(d.Source, []byte("garbage")) {
			t.Errorf("document %s sent from reused batch memory: %s", d.ID, d.Source)
		}
	}
}

func TestDroppedEventsAreNotSent(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	b := h.batch("f", 4, "")
	b.Events[1].Drop = "sample.ratio"
	b.Events[3].Drop = "sample.ratio"
	run(t, s)
	h.write(s, b)
	shutdown(t, s)
	if n := srv.Count("*"); n != 2 {
		t.Errorf("stored %d documents, want the 2 not dropped", n)
	}
	if h.unacked() != 0 {
		t.Error("batch with dropped events not acknowledged")
	}
}

func TestFlushInterval(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	cfg.Bulk.FlushInterval = 10 * time.Millisecond
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	h.write(s, h.batch("f", 3, ""))
	// Far below max_bytes: only the interval sends it.
	waitFor(t, "the flush interval to send a partial request", func() bool { return srv.Count("*") == 3 })
	shutdown(t, s)
	h.check(0)
}

func TestBackpressure(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	cfg.Bulk.MaxBytes = 1024
	cfg.Bulk.MaxInFlightBytes = 2048
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	// Not started: nothing drains, so the budget fills and Write blocks
	// until its context ends.
	var refused *shipper.Batch
	for i := 0; refused == nil; i++ {
		if i > 100 {
			t.Fatalf("Write never blocked; in flight %d bytes", s.Stats().InFlightBytes)
		}
		b := h.batch(fmt.Sprint("f", i), 3, "")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		err := s.Write(ctx, b)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			refused = b
			h.forget(b)
		case err != nil:
			t.Fatalf("Write = %v, want nil or the context's error", err)
		}
		b.Ack.Release()
	}
	if st := s.Stats(); st.BlockedWrites == 0 || st.InFlightBytes > 2048+1024 {
		t.Errorf("Stats = %+v: want a blocked write and the budget kept", st)
	}
	unblocked := make(chan error, 1)
	b2 := h.batch("later", 3, "")
	go func() { unblocked <- s.Write(context.Background(), b2) }()
	run(t, s)
	if err := <-unblocked; err != nil {
		t.Fatalf("Write after the budget freed: %v", err)
	}
	b2.Ack.Release()
	shutdown(t, s)
	h.check(0)
	if _, ok := srv.Get("shipper-checkout-2026.11.22", string(shipper.AppendID(nil, &refused.Events[0]))); ok {
		t.Error("a batch Write refused was sent")
	}
}

func TestShutdownWithoutStartFlushes(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	h.write(s, h.batch("f", 5, ""))
	shutdown(t, s)
	shutdown(t, s) // idempotent
	h.check(0)
	if err := s.Write(context.Background(), h.batch("late", 1, "")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Shutdown = %v, want ErrClosed", err)
	}
}

func TestShutdownDeadlineKeepsAcksHeld(t *testing.T) {
	srv := estest.New(t)
	release := srv.Hold()
	defer release()
	cfg := testConfig(t, srv.URL())
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	h.write(s, h.batch("f", 5, ""))
	if err := srv.WaitHeld(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown past its deadline = %v", err)
	}
	if h.unacked() != 1 {
		t.Fatal("batch acknowledged though never indexed")
	}
	if st := s.Stats(); st.Abandoned != 5 {
		t.Errorf("Abandoned = %d, want 5", st.Abandoned)
	}
}

// batchLines is batch with the given application lines.
func (h *harness) batchLines(fileID string, lines ...string) *shipper.Batch {
	b := h.batch(fileID, len(lines), "")
	for i, l := range lines {
		m, err := jsonscan.Members(nil, []byte(l), 64)
		if err != nil {
			h.t.Fatal(err)
		}
		ev := &b.Events[i]
		ev.Raw, ev.Doc.Members = []byte(l), m
		h.mu.Lock()
		h.srcs[string(shipper.AppendID(nil, ev))] = string(shipper.AppendSource(nil, ev))
		h.mu.Unlock()
	}
	return b
}

// A document whose field does not fit the index's mapping is refused by
// Elasticsearch for good: it goes to the dead-letter file, with the value
// Elasticsearch quotes in its reason redacted.
func TestMappingRejectsGoToDeadLetter(t *testing.T) {
	// max_docs 2: the batch is cut into requests over its own encoding,
	// and the refused document is read back from the second one.
	for _, maxDocs := range []int{0, 2} {
		t.Run(fmt.Sprint("max_docs=", maxDocs), func(t *testing.T) {
			srv := estest.New(t)
			cfg := testConfig(t, srv.URL())
			cfg.Bulk.MaxDocs = maxDocs
			// One worker sends the requests in order: the first document
			// maps amount as a number (dynamic mapping), so the string in
			// the third is refused, not mapped first.
			cfg.Bulk.Workers = 1
			s := newTestSink(t, cfg, maskTestCard)
			h := newHarness(t, srv, cfg.DeadLetter.Path)
			run(t, s)
			h.write(s, h.batchLines("f",
				`{"message":"a","amount":42.5}`,
				`{"message":"b","amount":7}`,
				`{"message":"c","amount":"not a number 4111111111111111"}`,
			))
			shutdown(t, s)
			h.check(1) // also: the dead letter's document is the one sent, byte for byte
			dl := readDLQ(t, cfg.DeadLetter.Path)
			if len(dl) != 1 || dl[0].ID != "f-200" || dl[0].Status != 400 || dl[0].Error.Type != "document_parsing_exception" {
				t.Fatalf("dead letters %+v", dl)
			}
			raw, _ := os.ReadFile(cfg.DeadLetter.Path)
			if n := bytes.Count(raw, []byte("4111111111111111")); n != 1 {
				// Once in the document as sent (the pipeline's redactor would
				// have masked it there); never in the reasons.
				t.Errorf("card number appears %d times in the dead-letter file: %s", n, raw)
			}
			t.Logf("dead letter: %s", raw)
		})
	}
}

// The agent stops while Elasticsearch is stuck (shutdown deadline passes)
// and starts again, re-reading from its checkpoints: here, the worst case,
// every batch is written again. Nothing is lost, nothing stored twice.
func TestRestartAfterAbandonedShutdown(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	cfg.Bulk.MaxDocs = 10

	s := newTestSink(t, cfg, nil)
	h1 := newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	for i := range 5 {
		h1.write(s, h1.batch(fmt.Sprint("f", i), 10, ""))
	}
	if err := srv.WaitCount(context.Background(), "*", 10); err != nil {
		t.Fatal(err)
	}
	release := srv.Hold() // Elasticsearch stops answering
	for i := 5; i < 10; i++ {
		h1.write(s, h1.batch(fmt.Sprint("f", i), 10, ""))
	}
	if err := srv.WaitHeld(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown succeeded with Elasticsearch stuck")
	}
	if h1.unacked() == 0 {
		t.Fatal("every batch acknowledged though Elasticsearch stopped answering")
	}
	release()

	s = newTestSink(t, cfg, nil)
	h2 := newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	for i := range 10 {
		h2.write(s, h2.batch(fmt.Sprint("f", i), 10, ""))
	}
	shutdown(t, s)
	h2.check(0)
	if n, rs := srv.Count("*"), srv.Requests(); n != 100 || rs.Conflicts == 0 {
		t.Errorf("stored %d (want 100), %d conflicts (want the replayed ones)", n, rs.Conflicts)
	}
}

// An event without an index (a pipeline bug) would make Elasticsearch
// refuse its whole bulk request; it is dead-lettered alone instead.
func TestUnroutedEventIsDeadLetteredAlone(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	b := h.batch("f", 4, "")
	b.Events[2].Index = ""
	run(t, s)
	h.write(s, b)
	shutdown(t, s)
	h.check(1)
	if dl := readDLQ(t, cfg.DeadLetter.Path); len(dl) != 1 || dl[0].ID != "f-200" || dl[0].Error.Type != "shipper_no_index" {
		t.Errorf("dead letters %+v", dl)
	}
}

// TestEachDocumentGoesToItsIndex: the events of one batch routed to
// indices that change from one event to the next are each indexed where
// they were routed.
func TestEachDocumentGoesToItsIndex(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	b := h.batch("f", 30, "")
	indices := []string{"shipper-checkout-2026.11.22", "shipper-payment-2026.11.22", "shipper-checkout-2026.11.23"}
	h.edit(b, func(i int, ev *shipper.Event) { ev.Index = indices[i*i%len(indices)] })
	h.write(s, b)
	shutdown(t, s)
	h.check(0)
	checkStored(t, srv, b)
}

// edit changes each event of b with f, as the stages before the sink
// would, and records the documents' new _id and index.
func (h *harness) edit(b *shipper.Batch, f func(i int, ev *shipper.Event)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range b.Events {
		ev := &b.Events[i]
		delete(h.ids, string(shipper.AppendID(nil, ev)))
		f(i, ev)
		h.ids[string(shipper.AppendID(nil, ev))] = ev.Index
	}
}

// checkStored reports the events of b the double does not hold under
// their index and _id.
func checkStored(t *testing.T, srv *estest.Server, b *shipper.Batch) {
	t.Helper()
	for i := range b.Events {
		ev := &b.Events[i]
		if id := string(shipper.AppendID(nil, ev)); !has(srv, ev.Index, id) {
			t.Errorf("document %q is not in %s", id, ev.Index)
		}
	}
}

func has(srv *estest.Server, index, id string) bool {
	_, ok := srv.Get(index, id)
	return ok
}

// A batch may carry events of other files (a sampler releasing a held
// trace adds them): each document's _id is its own file's ID and offset,
// even where IDs need escaping in JSON.
func TestEachDocumentKeepsItsFilesID(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	b := h.batch("f", 12, "")
	files := []*shipper.File{b.File, {ID: `quo"te`, Path: "/q.log"}, {ID: `back\slash`, Path: "/b.log"}, nil}
	h.edit(b, func(i int, ev *shipper.Event) { ev.Source.File = files[i%len(files)] })
	h.write(s, b)
	shutdown(t, s)
	h.check(0)
	checkStored(t, srv, b)
	if n := srv.Count(b.Events[0].Index); n != len(b.Events) {
		t.Errorf("%d documents stored, want %d", n, len(b.Events))
	}
}

// Bulk requests are at most max_bytes and carry every document once, as it
// was encoded: whether small batches share a request, or a batch's encoding
// is cut into requests (its buffer handed over rather than copied), or a
// batch far larger than a request is copied into several.
func TestRequestShapes(t *testing.T) {
	const maxBytes = 4096
	for _, tt := range []struct {
		name     string
		batches  []int // documents per batch
		requests int   // 0: as many as max_bytes needs
	}{
		{"small batches share one request", []int{2, 2, 2}, 1},
		{"a batch over half a request", []int{17}, 0},
		{"a batch several requests long", []int{40}, 0},
		{"large and small batches", []int{3, 17, 1, 12, 2, 17, 40, 17}, 0},
		{"batches far over max_bytes", []int{60, 2, 60}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Bulk.MaxBytes = maxBytes
			cfg.Bulk.Compression = false
			rec := &scripted{}
			s := newSink(cfg, rec, &dlqWriter{path: "unused", w: nopCloser{io.Discard}}, zap.NewNop())
			h := newHarness(t, nil, "")
			var want []string
			enc := &encoder{}
			for i, n := range tt.batches {
				b := h.batch(fmt.Sprint("f", i), n, "")
				s.encode(enc, b)
				want = append(want, bulkDocs(enc.buf)...)
				h.write(s, b)
			}
			shutdown(t, s) // not started: sends in this goroutine
			if h.unacked() != 0 {
				t.Errorf("%d batches not acknowledged", h.unacked())
			}
			var got []string
			for i, body := range rec.bodies {
				got = append(got, bulkDocs(body)...)
				if len(body) > maxBytes {
					t.Errorf("request %d is %d bytes, over max_bytes %d", i, len(body), maxBytes)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("requests carried\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if tt.requests > 0 && len(rec.bodies) != tt.requests {
				t.Errorf("%d requests, want %d", len(rec.bodies), tt.requests)
			}
		})
	}
}

// A batch that fills more than a request, by bytes or by documents, is sent
// whole at once: the rest of it does not wait in a partly filled request for
// the flush interval. (The tailer sends no more batches while too many are
// unacknowledged, so waiting there paced the agent by the flush interval.)
func TestLargeBatchIsNotHeldForFlush(t *testing.T) {
	for _, tt := range []struct {
		name    string
		set     func(*BulkConfig)
		batches []int
	}{
		{"max_bytes", func(b *BulkConfig) { b.MaxBytes = 4096 }, []int{17, 40, 60}},
		{"max_docs", func(b *BulkConfig) { b.MaxDocs = 10 }, []int{17, 5}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := estest.New(t)
			cfg := testConfig(t, srv.URL())
			tt.set(&cfg.Bulk)
			cfg.Bulk.FlushInterval = time.Hour
			s := newTestSink(t, cfg, nil)
			h := newHarness(t, srv, cfg.DeadLetter.Path)
			run(t, s)
			for i, n := range tt.batches {
				h.write(s, h.batch(fmt.Sprint("f", i), n, ""))
				waitFor(t, "the whole batch to be acknowledged", func() bool { return h.unacked() == 0 })
			}
			shutdown(t, s)
			h.check(0)
		})
	}
}

// net/http may read a request body after RoundTrip has returned: when
// Elasticsearch answers 413 on the Content-Length alone, the transport goes
// on writing the body until it notices. The bytes it reads then are still
// that request's, although the sink has meanwhile split it, sent the halves
// and encoded more batches, into buffers it recycles.
func TestBodyReadAfterAnswerIsIntact(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprint("compression=", gz), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Bulk.MaxBytes = 4096 // 17 documents: one request of their own
			cfg.Bulk.Compression = gz
			cfg.Bulk.Workers = 1
			es := &scripted{statuses: []int{413}, early: 1}
			s := newSink(cfg, es, &dlqWriter{path: "unused", w: nopCloser{io.Discard}}, zap.NewNop())
			h := newHarness(t, nil, "")
			run(t, s)
			for i := range 4 {
				h.write(s, h.batch(fmt.Sprint("f", i), 17, ""))
				waitFor(t, "the batch to be acknowledged", func() bool { return h.unacked() == 0 })
			}
			shutdown(t, s)

			es.mu.Lock()
			defer es.mu.Unlock()
			if len(es.unread) != 1 || len(es.bodies) < 2 {
				t.Fatalf("%d requests answered early and %d read, want 1 and the halves of the first", len(es.unread), len(es.bodies))
			}
			late, err := io.ReadAll(es.unread[0])
			es.unread[0].Close()
			if err != nil {
				t.Fatal(err)
			}
			// The first request went again as two halves, in order.
			want := append(plainBody(t, es.bodies[0], gz), plainBody(t, es.bodies[1], gz)...)
			if got := plainBody(t, late, gz); !bytes.Equal(got, want) {
				t.Errorf("the body read after the answer holds\n%s\nwant the first request's\n%s", got, want)
			}
		})
	}
}

// Steady shipping reuses its buffers: a request's body goes back to the
// free list once the transport has closed it, and the next batch is encoded
// into it, rather than into a new buffer of bulk.max_bytes.
func TestBuffersAreReused(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(fmt.Sprint("compression=", gz), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Bulk.MaxBytes = 256 << 10
			cfg.Bulk.Compression = gz
			cfg.Bulk.Workers = 1
			s := newSink(cfg, fixedResponse(`{"errors":false}`), &dlqWriter{path: "unused", w: nopCloser{io.Discard}}, zap.NewNop())
			h := newHarness(t, nil, "")
			const batches, docs = 20, 1000 // each over half a request
			var bs []*shipper.Batch
			for i := range batches + 1 {
				bs = append(bs, h.batch(fmt.Sprint("f", i), docs, ""))
			}
			run(t, s)
			var before, after runtime.MemStats
			for i, b := range bs {
				h.write(s, b)
				waitFor(t, "the batch to be acknowledged", func() bool { return h.unacked() == len(bs)-1-i })
				if i == 0 { // the first took its buffers
					runtime.ReadMemStats(&before)
				}
			}
			runtime.ReadMemStats(&after)
			shutdown(t, s)
			if per := (after.TotalAlloc - before.TotalAlloc) / batches; per > uint64(cfg.Bulk.MaxBytes/4) {
				t.Errorf("%d bytes allocated per batch of %d documents, want buffers reused (bulk.max_bytes is %d)", per, docs, cfg.Bulk.MaxBytes)
			}
		})
	}
}

// plainBody returns a bulk body as written, decompressing it if gz.
func plainBody(t *testing.T, body []byte, gz bool) []byte {
	t.Helper()
	if !gz {
		return body
	}
	r, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("a compressed body: %v", err)
	}
	p, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("a compressed body: %v", err)
	}
	return p
}

// bulkDocs splits a bulk body into its documents: action and source lines.
func bulkDocs(body []byte) []string {
	lines := strings.SplitAfter(string(body), "\n")
	var docs []string
	for i := 0; i+1 < len(lines); i += 2 {
		docs = append(docs, lines[i]+lines[i+1])
	}
	return docs
}
