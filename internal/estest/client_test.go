package estest

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/elastic/go-elasticsearch/v8/esutil"
)

func newClient(t *testing.T, url string) *elasticsearch.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections) // a real cluster keeps them open
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// uniqueIndex names an index no earlier run (against a real cluster) used.
func uniqueIndex(prefix string) string {
	return prefix + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}

func deleteIndex(ctx context.Context, c *elasticsearch.Client, ix string) {
	if res, err := (esapi.IndicesDeleteRequest{Index: []string{ix}}).Do(ctx, c); err == nil {
		res.Body.Close()
	}
}

func decode(t *testing.T, res *esapi.Response, err error, v any) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.IsError() {
		t.Fatalf("%s", res.String())
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// The official v8 client refuses servers without the X-Elastic-Product
// header; the double must pass its product check and answer Info, Bulk,
// Search and Count as Elasticsearch does. Runs against a real cluster when
// SHIPPER_TEST_ES_URL is set.
func TestOfficialClient(t *testing.T) {
	url, _ := Target(t)
	c := newClient(t, url)
	ctx := context.Background()
	ix := uniqueIndex("estest-client")
	t.Cleanup(func() { deleteIndex(ctx, c, ix) })

	var info struct {
		Version struct{ Number string } `json:"version"`
	}
	res, err := c.Info()
	decode(t, res, err, &info)
	if !strings.HasPrefix(info.Version.Number, "8.") {
		t.Fatalf("version %q, want 8.x", info.Version.Number)
	}

	body := ndjson(
		`{"create":{"_index":"`+ix+`","_id":"a"}}`, `{"@timestamp":"2026-11-22T10:00:00Z","trace":{"id":"`+traceA+`"},"message":"one"}`,
		`{"create":{"_index":"`+ix+`","_id":"a"}}`, `{"@timestamp":"2026-11-22T10:00:01Z","trace":{"id":"`+traceA+`"},"message":"dup"}`,
		`{"create":{"_index":"`+ix+`","_id":"b"}}`, `{"@timestamp":"2026-11-22T10:00:02Z","trace":{"id":"`+traceA+`"},"message":"two"}`,
		`{"create":{"_index":"`+ix+`","_id":"c"}}`, `{"@timestamp":"not a date","message":"bad"}`,
	)
	var br struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int `json:"status"`
			Error  struct {
				Type string `json:"type"`
			} `json:"error"`
		} `json:"items"`
	}
	res, err = esapi.BulkRequest{Body: strings.NewReader(body), Refresh: "true"}.Do(ctx, c)
	decode(t, res, err, &br)
	want := []struct {
		status int
		typ    string
	}{{201, ""}, {409, "version_conflict_engine_exception"}, {201, ""}, {400, "document_parsing_exception"}}
	if !br.Errors || len(br.Items) != len(want) {
		t.Fatalf("bulk: %+v", br)
	}
	for i, w := range want {
		if got := br.Items[i]["create"]; got.Status != w.status || got.Error.Type != w.typ {
			t.Errorf("item %d: %+v, want %d %s", i, got, w.status, w.typ)
		}
	}

	var sr struct {
		Hits struct {
			Total struct{ Value int } `json:"total"`
			Hits  []struct {
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	q := `{"query":{"bool":{"filter":[{"term":{"trace.id":"` + traceA + `"}}]}},"sort":[{"@timestamp":"desc"}]}`
	res, err = c.Search(c.Search.WithContext(ctx), c.Search.WithIndex(ix), c.Search.WithBody(strings.NewReader(q)))
	decode(t, res, err, &sr)
	if sr.Hits.Total.Value != 2 || len(sr.Hits.Hits) != 2 || sr.Hits.Hits[0].ID != "b" || sr.Hits.Hits[1].ID != "a" {
		t.Errorf("search: %+v", sr.Hits)
	}
	var cr struct{ Count int }
	res, err = c.Count(c.Count.WithIndex(ix))
	decode(t, res, err, &cr)
	if cr.Count != 2 {
		t.Errorf("count %d, want 2", cr.Count)
	}
}

// esutil.BulkIndexer (one of the sink's options) works against the double
// and sees conflicts as failures it can classify.
func TestOfficialBulkIndexer(t *testing.T) {
	url, _ := Target(t)
	c := newClient(t, url)
	ix := uniqueIndex("estest-indexer")
	ctx := context.Background()
	t.Cleanup(func() { deleteIndex(ctx, c, ix) })
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: c, Index: ix, NumWorkers: 2, FlushBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	var ok, conflicts atomic.Int64
	for i := range 250 {
		id := strconv.Itoa(i % 200) // 50 duplicates
		err := bi.Add(ctx, esutil.BulkIndexerItem{Action: "create", DocumentID: id,
			Body: strings.NewReader(`{"@timestamp":"2026-11-22T10:00:00Z","n":` + strconv.Itoa(i) + `}`),
			OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
				ok.Add(1)
			},
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, r esutil.BulkIndexerResponseItem, err error) {
				if r.Status == 409 && r.Error.Type == "version_conflict_engine_exception" {
					conflicts.Add(1)
				} else {
					t.Errorf("unexpected failure %d %s %v", r.Status, r.Error.Type, err)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := bi.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ok.Load() != 200 || conflicts.Load() != 50 {
		t.Errorf("ok %d conflicts %d, want 200 and 50", ok.Load(), conflicts.Load())
	}
}

// Needs a real cluster: checks the double's cluster info against it.
func TestRealClusterAgrees(t *testing.T) {
	url := RequireReal(t)
	r := call(t, "GET", url+"/", "")
	if r.header.Get("X-Elastic-Product") != "Elasticsearch" || !strings.HasPrefix(at(r.obj(t), "version", "number").(string), "8.") {
		t.Errorf("real cluster: %s", r.body)
	}
}

func TestTargetUsesDoubleWithoutEnv(t *testing.T) {
	t.Setenv(EnvURL, "")
	url, srv := Target(t)
	if srv == nil || url != srv.URL() {
		t.Fatalf("Target without %s: %q %v", EnvURL, url, srv)
	}
	t.Setenv(EnvURL, "http://es.example:9200/")
	url, srv = Target(t)
	if srv != nil || url != "http://es.example:9200" {
		t.Errorf("Target with %s: %q %v", EnvURL, url, srv)
	}
}
