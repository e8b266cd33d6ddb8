package sink

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// scripted answers requests with the given statuses in turn (then 200 with
// every item created) and records when each request came and its body.
type scripted struct {
	mu       sync.Mutex
	statuses []int
	// early is how many of the first requests are answered before their
	// bodies are read, as Elasticsearch answers a 413 on Content-Length
	// alone. Their bodies are kept in unread, open, for the test to read
	// later, as net/http's transport may after RoundTrip has returned.
	early  int
	unread []io.ReadCloser
	times  []time.Time
	bodies [][]byte
}

func (s *scripted) Perform(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.times = append(s.times, time.Now())
	st := 200
	if len(s.statuses) > 0 {
		st, s.statuses = s.statuses[0], s.statuses[1:]
	}
	body := `{"errors":false}`
	if st != 200 {
		body = `{"error":{"type":"es_rejected_execution_exception"},"status":429}`
	}
	if s.early > 0 {
		s.early--
		s.unread = append(s.unread, req.Body)
	} else {
		sent, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		s.bodies = append(s.bodies, sent)
	}
	return &http.Response{StatusCode: st, Body: io.NopCloser(strings.NewReader(body))}, nil
}

// Retries wait exponentially longer, with jitter, up to max_backoff, and the
// flush interval alone sends a partial request: checked on a fake clock.
func TestBackoffAndFlushTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Retry.InitialBackoff = 100 * time.Millisecond
		cfg.Retry.MaxBackoff = time.Second
		cfg.Bulk.FlushInterval = time.Second
		es := &scripted{statuses: []int{429, 429, 503, 502, 429, 429, 429}}
		s := newSink(cfg, es, &dlqWriter{path: "test", w: nopCloser{io.Discard}}, zap.NewNop())
		h := newHarness(t, nil, "")
		start := time.Now()
		s.Start(context.Background())
		b := h.batch("f", 3, "")
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		b.Ack.Release()
		synctest.Wait()
		if h.unacked() != 1 {
			t.Fatal("acknowledged before anything was sent")
		}
		time.Sleep(time.Minute) // fake time: the bubble's clock jumps
		if h.unacked() != 0 {
			t.Fatal("not acknowledged after the retries")
		}
		s.Shutdown(context.Background())

		if len(es.times) != 8 {
			t.Fatalf("%d requests, want 7 failures and a success", len(es.times))
		}
		if d := es.times[0].Sub(start); d != cfg.Bulk.FlushInterval {
			t.Errorf("first request after %v, want the flush interval %v", d, cfg.Bulk.FlushInterval)
		}
		for i := 1; i < len(es.times); i++ {
			gap := es.times[i].Sub(es.times[i-1])
			ceiling := min(cfg.Retry.InitialBackoff<<(i-1), cfg.Retry.MaxBackoff)
			if gap < ceiling/2 || gap > ceiling {
				t.Errorf("retry %d after %v, want between %v and %v", i, gap, ceiling/2, ceiling)
			}
		}
	})
}

// hung is an Elasticsearch that takes requests and does not answer until
// released.
type hung struct{ release chan struct{} }

func (h hung) Perform(req *http.Request) (*http.Response, error) {
	io.Copy(io.Discard, req.Body)
	req.Body.Close()
	<-h.release
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{"errors":false}`))}, nil
}

// A bulk request left unanswered is said in the log long before the
// transport's response timeout, once per request; the documents are then
// delivered when the answer comes.
func TestUnansweredRequestIsLogged(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	es := hung{release: make(chan struct{})}
	cfg := DefaultConfig()
	cfg.Bulk.FlushInterval = time.Millisecond
	s := newSink(cfg, es, &dlqWriter{path: "unused", w: nopCloser{io.Discard}}, zap.New(core))
	s.slowAfter = time.Millisecond
	h := newHarness(t, nil, "")
	run(t, s)
	h.write(s, h.batch("f", 3, ""))
	waitFor(t, "the warning", func() bool { return logs.FilterMessageSnippet("has not answered").Len() > 0 })
	close(es.release)
	waitFor(t, "the batch to be acknowledged", func() bool { return h.unacked() == 0 })
	shutdown(t, s)
	if n := logs.FilterMessageSnippet("has not answered").Len(); n != 1 {
		t.Errorf("%d warnings for one request, want 1", n)
	}
}
