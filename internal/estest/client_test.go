package estest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

func newClient(t *testing.T, url string) *elasticsearch.Client {
	t.Helper()
	c, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The official v8 client refuses a server without the product header; the
// double must pass its check and answer Info, Bulk and Search as ES does.
func TestOfficialClient(t *testing.T) {
	url, srv := Target(t)
	c := newClient(t, url)
	ctx := context.Background()

	res, err := c.Info()
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	var info struct {
		Version struct{ Number string } `json:"version"`
	}
	json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if !strings.HasPrefix(info.Version.Number, "8.") {
		t.Fatalf("version %q, want 8.x", info.Version.Number)
	}

	body := `{"create":{"_index":"client-test","_id":"a"}}` + "\n" + `{"@timestamp":"2026-11-22T10:00:00Z","trace":{"id":"0af7651916cd43dd8448eb211c80319c"},"message":"one"}` + "\n" +
		`{"create":{"_index":"client-test","_id":"a"}}` + "\n" + `{"@timestamp":"2026-11-22T10:00:01Z","message":"dup"}` + "\n"
	res, err = esapi.BulkRequest{Body: strings.NewReader(body), Refresh: "true"}.Do(ctx, c)
	if err != nil {
		t.Fatalf("Bulk: %v", err)
	}
	var br struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int `json:"status"`
			Error  struct {
				Type string `json:"type"`
			} `json:"error"`
		} `json:"items"`
	}
	json.NewDecoder(res.Body).Decode(&br)
	res.Body.Close()
	if res.StatusCode != 200 || !br.Errors || len(br.Items) != 2 {
		t.Fatalf("bulk: status %d, %+v", res.StatusCode, br)
	}
	if got := br.Items[0]["create"].Status; got != 201 {
		t.Errorf("first create: status %d, want 201", got)
	}
	if got := br.Items[1]["create"]; got.Status != 409 || got.Error.Type != "version_conflict_engine_exception" {
		t.Errorf("second create: %+v, want 409 version_conflict_engine_exception", got)
	}
	if srv != nil && srv.Count("client-test") != 1 {
		t.Errorf("stored %d docs, want 1", srv.Count("client-test"))
	}
}
