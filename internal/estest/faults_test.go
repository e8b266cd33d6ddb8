package estest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func oneDoc(ix, id string) string {
	return ndjson(`{"create":{"_index":"`+ix+`","_id":"`+id+`"}}`, `{"@timestamp":"2026-11-22T10:00:00Z","n":1}`)
}

// post sends a bulk request and returns the status or the transport error.
func post(ctx context.Context, url, body string) (int, string, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/_bulk", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

func TestWholeRequestStatus(t *testing.T) {
	tests := []struct {
		status   int
		wantType string // "" for the proxy's HTML page
	}{
		{429, "es_rejected_execution_exception"},
		{503, "cluster_block_exception"},
		{502, ""},
		{504, ""},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := New(t, WithFaults(Faults{Status: tc.status, StatusNext: 2}))
			for i := range 2 {
				r := call(t, "POST", srv.URL()+"/_bulk", oneDoc("f", fmt.Sprint(i)))
				if r.status != tc.status {
					t.Fatalf("request %d: status %d, want %d", i, r.status, tc.status)
				}
				if tc.wantType != "" && (at(r.obj(t), "error", "type") != tc.wantType || at(r.obj(t), "status") != float64(tc.status)) {
					t.Errorf("body %s, want Elasticsearch's %s error", r.body, tc.wantType)
				}
				if tc.wantType == "" && !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
					t.Errorf("%d should look like a proxy's HTML page, got %s", tc.status, r.header.Get("Content-Type"))
				}
			}
			if r := call(t, "GET", srv.URL()+"/", ""); r.status != 200 {
				t.Errorf("GET / affected by bulk-only faults: %d", r.status)
			}
			if r := call(t, "POST", srv.URL()+"/_bulk", oneDoc("f", "2")); r.status != 200 {
				t.Errorf("third request: %d, want 200 once StatusNext is used up", r.status)
			}
			if got := srv.Faults().StatusNext; got != 0 {
				t.Errorf("StatusNext left %d", got)
			}
			if n := srv.Count("f"); n != 1 {
				t.Errorf("stored %d docs, want 1: refused requests must store nothing", n)
			}
			st := srv.Requests()
			if got := st.Status429 + st.Status502 + st.Status503 + st.Status504; got != 2 {
				t.Errorf("injected statuses counted %d, want 2 (%+v)", got, st)
			}
		})
	}
}

// The same seed gives the same faults, request by request.
func TestStatusRatioIsDeterministic(t *testing.T) {
	pattern := func() string {
		srv := New(t, WithFaults(Faults{Seed: 7, StatusRatio: 0.3}))
		var b strings.Builder
		for i := range 40 {
			r := call(t, "POST", srv.URL()+"/_bulk", oneDoc("d", fmt.Sprint(i)))
			b.WriteString(map[bool]string{true: "x", false: "."}[r.status == 429])
		}
		return b.String()
	}
	a, b := pattern(), pattern()
	if a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	if n := strings.Count(a, "x"); n < 4 || n > 24 {
		t.Errorf("%d of 40 requests refused at ratio 0.3: %s", n, a)
	}
}

func TestItemFaults(t *testing.T) {
	srv := New(t, WithFaults(Faults{Seed: 1, Item429Ratio: 0.1, Item5xxRatio: 0.05}))
	var b strings.Builder
	for i := range 1000 {
		b.WriteString(oneDoc("items", fmt.Sprint(i)))
	}
	r := call(t, "POST", srv.URL()+"/_bulk", b.String())
	m := r.obj(t)
	counts := map[float64]int{}
	for _, it := range at(m, "items").([]any) {
		item := at(it, "create").(map[string]any)
		counts[item["status"].(float64)]++
		switch item["status"] {
		case 429.0:
			if at(item, "error", "type") != "es_rejected_execution_exception" {
				t.Fatalf("429 item: %v", item)
			}
		case 503.0:
			if at(item, "error", "type") != "unavailable_shards_exception" {
				t.Fatalf("503 item: %v", item)
			}
		}
	}
	if counts[429] < 60 || counts[429] > 140 || counts[503] < 25 || counts[503] > 80 {
		t.Errorf("item statuses %v for ratios 0.1 / 0.05 over 1000 items", counts)
	}
	if srv.Count("items") != counts[201] {
		t.Errorf("stored %d, want the %d created", srv.Count("items"), counts[201])
	}
	st := srv.Requests()
	if st.Item429 != int64(counts[429]) || st.Item5xx != int64(counts[503]) || st.Created+st.Item429+st.Item5xx != st.Items {
		t.Errorf("stats %+v disagree with the response %v", st, counts)
	}
	// Retrying only the failed items with faults off stores them all once.
	srv.SetFaults(Faults{})
	r = call(t, "POST", srv.URL()+"/_bulk", b.String())
	if srv.Count("items") != 1000 || srv.Requests().Conflicts != int64(counts[201]) {
		t.Errorf("after retry: %d stored, %d conflicts; want 1000 and %d", srv.Count("items"), srv.Requests().Conflicts, counts[201])
	}
}

// Hold lets a test keep responses pending without sleeping.
func TestHold(t *testing.T) {
	srv := New(t)
	release := srv.Hold()
	done := make(chan int, 1)
	go func() {
		st, _, _ := post(context.Background(), srv.URL(), oneDoc("h", "1"))
		done <- st
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitHeld(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if srv.Count("h") != 0 || srv.Requests().Held != 1 {
		t.Errorf("held request processed early: count %d, held %d", srv.Count("h"), srv.Requests().Held)
	}
	if r := call(t, "GET", srv.URL()+"/", ""); r.status != 200 {
		t.Errorf("GET / held too: %d", r.status)
	}
	release()
	release() // idempotent
	if st := <-done; st != 200 {
		t.Errorf("released request: status %d", st)
	}
	if srv.Count("h") != 1 {
		t.Errorf("released request not stored")
	}

	// A held request whose client gives up is never processed.
	release = srv.Hold()
	defer release()
	cctx, ccancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := post(cctx, srv.URL(), oneDoc("h", "2"))
		errc <- err
	}()
	if err := srv.WaitHeld(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ccancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("client error %v, want context.Canceled", err)
	}
	waitFor(t, func() bool { return srv.Requests().Held == 0 })
	if _, ok := srv.Get("h", "2"); ok {
		t.Error("abandoned held request was processed")
	}
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10s")
		}
		time.Sleep(time.Millisecond) // polling interval, not a timing assumption
	}
}

// A slow cluster stores the documents even when the client gives up:
// the retry must then count 409s as success.
func TestDelayStoresBeforeAnswering(t *testing.T) {
	srv := New(t, WithFaults(Faults{Delay: time.Hour}))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _, err := post(ctx, srv.URL(), oneDoc("slow", "1"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the client's deadline", err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := srv.WaitCount(wctx, "slow", 1); err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(Faults{})
	r := call(t, "POST", srv.URL()+"/_bulk", oneDoc("slow", "1"))
	if at(r.obj(t), "items", 0, "create", "status") != 409.0 {
		t.Errorf("retry after timeout: %s, want 409", r.body)
	}
}

func TestDroppedConnections(t *testing.T) {
	t.Run("before processing", func(t *testing.T) {
		srv := New(t, WithFaults(Faults{DropNext: 1}))
		if _, _, err := post(context.Background(), srv.URL(), oneDoc("d", "1")); err == nil {
			t.Fatal("dropped request succeeded")
		}
		if srv.Count("d") != 0 || srv.Requests().Dropped != 1 {
			t.Errorf("count %d dropped %d; want 0 and 1", srv.Count("d"), srv.Requests().Dropped)
		}
		if st, _, err := post(context.Background(), srv.URL(), oneDoc("d", "1")); err != nil || st != 200 {
			t.Errorf("next request: %d %v", st, err)
		}
	})
	t.Run("after storing", func(t *testing.T) {
		srv := New(t, WithFaults(Faults{DropNext: 1, DropAfterStore: true}))
		if _, _, err := post(context.Background(), srv.URL(), oneDoc("d", "1")); err == nil {
			t.Fatal("dropped request succeeded")
		}
		if srv.Count("d") != 1 {
			t.Errorf("count %d, want 1: the items were stored before the drop", srv.Count("d"))
		}
		_, body, err := post(context.Background(), srv.URL(), oneDoc("d", "1"))
		if err != nil || !strings.Contains(body, `"status":409`) {
			t.Errorf("retry: %v %s, want a 409", err, body)
		}
	})
}

// Down refuses connections on the same port until Up; data survives.
func TestDownAndUp(t *testing.T) {
	srv := New(t)
	url := srv.URL()
	call(t, "POST", url+"/_bulk", oneDoc("du", "1"))
	srv.Down()
	srv.Down() // idempotent
	// A pooled connection would fail with EOF (as with a real node going
	// away); a new connection must be refused.
	http.DefaultClient.CloseIdleConnections()
	_, _, err := post(context.Background(), url, oneDoc("du", "2"))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("while down: err %v, want connection refused", err)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if srv.URL() != url {
		t.Errorf("URL changed across Down/Up: %s → %s", url, srv.URL())
	}
	if st, _, err := post(context.Background(), url, oneDoc("du", "2")); err != nil || st != 200 {
		t.Fatalf("after Up: %d %v", st, err)
	}
	if srv.Count("du") != 2 {
		t.Errorf("count %d, want 2", srv.Count("du"))
	}
}

func TestAllEndpointsAndInvalidFaults(t *testing.T) {
	srv := New(t, WithFaults(Faults{StatusNext: 1, AllEndpoints: true}))
	if r := call(t, "GET", srv.URL()+"/", ""); r.status != 429 {
		t.Errorf("GET / with AllEndpoints: %d, want 429", r.status)
	}
	for _, f := range []Faults{{Status: 500}, {StatusRatio: 2}, {Item429Ratio: 0.7, Item5xxRatio: 0.7}, {DropNext: -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetFaults(%+v) did not panic", f)
				}
			}()
			srv.SetFaults(f)
		}()
		if _, err := NewServer(WithFaults(f)); err == nil {
			t.Errorf("NewServer accepted faults %+v", f)
		}
	}
}

func TestWaitCount(t *testing.T) {
	srv := New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.WaitCount(ctx, "w-*", 3) }()
	for i := range 3 {
		call(t, "POST", srv.URL()+"/_bulk", oneDoc("w-"+fmt.Sprint(i), "1"))
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := srv.WaitCount(short, "w-*", 4); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitCount past its context: %v", err)
	}
}
