package timeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/enrich"
	"github.com/traceship/shipper/internal/estest"
	"github.com/traceship/shipper/internal/jsonscan"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	traceA = "4bf92f3577b34da6a3ce929d0e0e4736"
	traceB = "0af7651916cd43dd8448eb211c80319c"
)

// testCtx bounds a test's requests, so that a server that stops answering
// fails the test with the request that hung instead of blocking the run.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newClient(t *testing.T, url string) *elasticsearch.Client {
	t.Helper()
	tr := &http.Transport{ResponseHeaderTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// shopLines is a checkout request crossing midnight UTC through three
// services, written in three conventions, with another trace interleaved.
var shopLines = []struct {
	at   string
	line string
}{
	{"2026-11-22T23:59:59.900Z", `{"level":"info","message":"POST /checkout","service":"gateway","traceparent":"00-` + traceA + `-1111111111111111-01"}`},
	{"2026-11-22T23:59:59.910Z", `{"level":"info","message":"GET /health","service":"gateway","trace_id":"` + traceB + `"}`},
	{"2026-11-22T23:59:59.950Z", `{"level":"info","message":"order placed","app":"checkout","traceId":"` + strings.ToUpper(traceA) + `","spanId":"2222222222222222"}`},
	{"2026-11-23T00:00:00.250Z", `{"level":"error","message":"card declined\n\tat Charge(pay.go:77)\n\tat main()","service.name":"payment","dd.trace_id":"` + "5208512171318403364" + `"}`},
	{"2026-11-23T00:00:00.300Z", `{"level":"error","message":"charge failed: \u001b[31mdeclined\u001b[0m\n\tat Charge(pay.go:77)\n\tat main()","service.name":"payment","trace.id":"` + traceA + `","span.id":"3333333333333333"}`},
	{"2026-11-23T00:00:00.310Z", `{"level":"warn","message":"payment failed, order cancelled","app":"checkout","trace_id":"` + traceA + `"}`},
	{"2026-11-23T00:00:00.320Z", `{"level":"info","message":"502 returned","service":"gateway","message_id":7,"traceparent":"00-` + traceA + `-1111111111111111-01"}`},
}

// indexShop runs the lines through the enrich stage and the encoder, as the
// agent does, and bulk-indexes them into dated indices.
func indexShop(t *testing.T, c *elasticsearch.Client) {
	t.Helper()
	e, err := enrich.New(enrich.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	file := &shipper.File{ID: "f1", Path: "/var/log/shop.log"}
	var b shipper.Batch
	for i, l := range shopLines {
		m, err := jsonscan.Members(nil, []byte(l.line), 0)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		ts, _ := time.Parse(time.RFC3339Nano, l.at)
		b.Events = append(b.Events, shipper.Event{Doc: shipper.Doc{Members: m}, Time: ts,
			Source: shipper.Source{File: file, Offset: int64(i * 200)}})
	}
	e.Process(&b)
	var body bytes.Buffer
	for i := range b.Events {
		ev := &b.Events[i]
		ev.Level = shipper.LevelInfo
		if v, ok := ev.Doc.Get("level"); ok {
			if lv, ok := shipper.ParseLevelName(shipper.String(v)); ok {
				ev.Level = lv
			}
			ev.Doc.Remove("level")
		}
		index := "shipper-" + ev.Service + "-" + ev.Time.UTC().Format("2006.01.02")
		body.WriteString(`{"create":{"_index":"` + index + `","_id":"` + string(shipper.AppendID(nil, ev)) + `"}}` + "\n")
		body.Write(shipper.AppendSource(nil, ev))
		body.WriteByte('\n')
	}
	resp, err := c.Bulk(bytes.NewReader(body.Bytes()), c.Bulk.WithRefresh("true"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.IsError() || bytes.Contains(raw, []byte(`"errors":true`)) {
		t.Fatalf("bulk failed: %s %s", resp.Status(), raw)
	}
}

const pattern = "shipper-%{[service.name]}-%{+yyyy.MM.dd}"

func TestFetchAcrossDatedIndices(t *testing.T) {
	url, _ := estest.Target(t)
	c := newClient(t, url)
	indexShop(t, c)

	got, err := Fetch(testCtx(t), c, pattern, traceA)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	var summary []string
	for _, e := range got {
		summary = append(summary, e.Time.Format("15:04:05.000")+" "+e.Service+" "+e.Level+" "+strings.SplitN(e.Message, "\n", 2)[0])
	}
	want := []string{
		"23:59:59.900 gateway info POST /checkout",
		"23:59:59.950 checkout info order placed",
		"00:00:00.300 payment error charge failed: \x1b[31mdeclined\x1b[0m",
		"00:00:00.310 checkout warn payment failed, order cancelled",
		"00:00:00.320 gateway info 502 returned",
	}
	// The Datadog line carries a 64-bit id, another trace as far as
	// trace.id is concerned: it must not appear.
	if diff := cmp.Diff(want, summary); diff != "" {
		t.Errorf("timeline of %s (-want +got):\n%s", traceA, diff)
	}

	var out bytes.Buffer
	if err := Render(&out, got); err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/checkout.golden.txt", out.Bytes())

	out.Reset()
	if err := RenderJSON(&out, got); err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/checkout.golden.ndjson", out.Bytes())

	out.Reset()
	res, err := Print(testCtx(t), &out, c, pattern, traceA, false, Options{})
	if err != nil || res.Truncated || !strings.HasPrefix(out.String(), "5 log lines from 3 services") {
		t.Errorf("Print: %v, truncated %v, output:\n%s", err, res.Truncated, out.String())
	}

	// Two lines a page: through a point in time and search_after, every
	// line once, in order, and not approximate.
	paged, err := FetchWith(testCtx(t), c, pattern, traceA, Options{PageSize: 2})
	if err != nil || paged.Approximate || !cmp.Equal(paged.Entries, got) {
		t.Errorf("FetchWith(PageSize 2): %v, approximate %v, entries equal %v", err, paged.Approximate, cmp.Equal(paged.Entries, got))
	}

	// Pasted in another form, the same trace.
	again, err := Fetch(testCtx(t), c, "shipper-*", "00-"+strings.ToUpper(traceA)+"-1111111111111111-01")
	if err != nil || len(again) != len(got) {
		t.Errorf("Fetch by traceparent: %d entries, %v; want %d", len(again), err, len(got))
	}
}

func TestFetchNothing(t *testing.T) {
	url, _ := estest.Target(t)
	c := newClient(t, url)
	got, err := Fetch(testCtx(t), c, "nosuchindex-%{+yyyy.MM.dd}", traceA)
	if err != nil || len(got) != 0 {
		t.Errorf("Fetch on no index = %v, %v; want nothing and no error", got, err)
	}
	var out bytes.Buffer
	if err := Render(&out, nil); err != nil || !strings.Contains(out.String(), "no log lines") {
		t.Errorf("Render(nil) = %q, %v", out.String(), err)
	}
	if _, err := Fetch(testCtx(t), c, pattern, "not-a-trace"); !errors.Is(err, ErrInvalidTraceID) {
		t.Errorf("Fetch(invalid id) error = %v, want ErrInvalidTraceID", err)
	}
}

func TestSearchPattern(t *testing.T) {
	for in, want := range map[string]string{
		"shipper-%{[service.name]}-%{+yyyy.MM.dd}": "shipper-*-*",
		"logs-%{[service.name]}%{+yyyy.MM}":        "logs-*",
		"shipper-*":                                "shipper-*",
		"a,b":                                      "a,b",
		"broken-%{x":                               "broken-%{x",
		// Patterns index.Compile refuses still become wildcards.
		"logs-*-%{+yyyy.MM.dd}":       "logs-*-*",
		"LOGS-%{x},other-%{+yyyy.MM}": "LOGS-*,other-*",
	} {
		if got := SearchPattern(in); got != want {
			t.Errorf("SearchPattern(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatOffset(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "+0.000s", 1234 * time.Millisecond: "+1.234s", 83*time.Second + 456*time.Millisecond: "+1m23.456s",
		time.Hour + 2*time.Minute + 3*time.Second: "+1h02m03.000s", 1499 * time.Microsecond: "+0.001s",
	} {
		if got := formatOffset(d); got != want {
			t.Errorf("formatOffset(%v) = %q, want %q", d, got, want)
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); run with -update if intended:\n%s", path, diff)
	}
}

// fakeES is an Elasticsearch that serves a trace's documents through a
// point in time in pages, and checks that each request continues where the
// last page ended.
type fakeES struct {
	t      *testing.T
	docs   []string // sources, in order
	noPIT  bool
	mu     sync.Mutex
	opened int
	closed []string
	pages  int
}

func (f *fakeES) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_pit"):
		if f.noPIT {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"no handler found for uri [`+r.URL.Path+`] and method [POST]","status":400}`)
			return
		}
		if r.URL.Path != "/shipper-*-*/_pit" || r.URL.Query().Get("keep_alive") == "" {
			f.t.Errorf("open PIT: %s?%s", r.URL.Path, r.URL.RawQuery)
		}
		f.opened++
		io.WriteString(w, `{"id":"pit-0"}`)
	case r.Method == http.MethodDelete && r.URL.Path == "/_pit":
		var req struct{ ID string }
		_ = json.Unmarshal(body, &req)
		f.closed = append(f.closed, req.ID)
		io.WriteString(w, `{"succeeded":true,"num_freed":1}`)
	case strings.HasSuffix(r.URL.Path, "/_search"):
		var req struct {
			Size        int
			Pit         *struct{ ID string }
			SearchAfter []int `json:"search_after"`
			Query       json.RawMessage
		}
		if err := json.Unmarshal(body, &req); err != nil {
			f.t.Errorf("search body: %v", err)
		}
		if !bytes.Contains(req.Query, []byte(`"trace.id":"`+traceA+`"`)) {
			f.t.Errorf("query does not filter on the normalised trace.id: %s", req.Query)
		}
		start := 0
		if f.noPIT {
			if r.URL.Path != "/shipper-*-*/_search" {
				f.t.Errorf("fallback search on %s (%s)", r.URL.Path, r.URL.RawPath)
			}
		} else {
			if r.URL.Path != "/_search" || req.Pit == nil || req.Pit.ID != "pit-"+itoa(f.pages) {
				f.t.Errorf("page %d: search on %s with pit %+v; want /_search with the latest pit id", f.pages, r.URL.Path, req.Pit)
			}
		}
		if req.SearchAfter != nil {
			start = req.SearchAfter[1] + 1
		} else if f.pages > 0 {
			f.t.Errorf("page %d without search_after", f.pages)
		}
		f.pages++
		var out bytes.Buffer
		out.WriteString(`{"pit_id":"pit-` + itoa(f.pages) + `","hits":{"hits":[`)
		for i := start; i < len(f.docs) && i < start+req.Size; i++ {
			if i > start {
				out.WriteByte(',')
			}
			out.WriteString(`{"_index":"shipper-x-2026.11.22","_id":"d` + itoa(i) + `","_source":` + f.docs[i] + `,"sort":[1,` + itoa(i) + `]}`)
		}
		out.WriteString(`]}}`)
		w.Write(out.Bytes())
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestFetchPagesThroughAPointInTime(t *testing.T) {
	var docs []string
	base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := range 7 {
		docs = append(docs, `{"@timestamp":"`+base.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano)+
			`","message":"line `+itoa(i)+`","service":{"name":"svc"},"log":{"level":"info"}}`)
	}
	for _, noPIT := range []bool{false, true} {
		name := "pit"
		if noPIT {
			name = "fallback"
		}
		t.Run(name, func(t *testing.T) {
			f := &fakeES{t: t, docs: docs, noPIT: noPIT}
			srv := httptest.NewServer(f)
			defer srv.Close()
			c := newClient(t, srv.URL)
			res, err := FetchWith(testCtx(t), c, pattern, traceA, Options{PageSize: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Entries) != 7 || res.Entries[6].Message != "line 6" || res.Truncated {
				t.Fatalf("got %d entries (truncated %v), want all 7", len(res.Entries), res.Truncated)
			}
			if res.Approximate != noPIT {
				t.Errorf("Approximate = %v, want %v", res.Approximate, noPIT)
			}
			if f.pages != 3 {
				t.Errorf("%d pages requested, want 3", f.pages)
			}
			if !noPIT && (f.opened != 1 || len(f.closed) != 1 || f.closed[0] != "pit-3") {
				t.Errorf("PIT opened %d times, closed %v; want opened once and the latest id closed", f.opened, f.closed)
			}

			f.mu.Lock()
			f.pages, f.opened, f.closed = 0, 0, nil
			f.mu.Unlock()
			res, err = FetchWith(testCtx(t), c, pattern, traceA, Options{PageSize: 3, Limit: 4})
			if err != nil || len(res.Entries) != 4 || !res.Truncated {
				t.Errorf("Limit 4: %d entries, truncated %v, err %v", len(res.Entries), res.Truncated, err)
			}
		})
	}
}
