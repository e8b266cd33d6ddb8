package estest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestSearchWithoutTotalHits: with track_total_hits false Elasticsearch
// leaves hits.total out; the response must still be JSON.
func TestSearchWithoutTotalHits(t *testing.T) {
	s := New(t)
	for _, q := range []string{`{"track_total_hits":false}`, `{"track_total_hits":true}`, `{}`} {
		resp, err := http.Post(s.URL()+"/_search", "application/json", strings.NewReader(q))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out struct {
			Hits struct {
				Total *struct{ Value int } `json:"total"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%s: response is not JSON: %v\n%s", q, err, body)
		}
		if (out.Hits.Total == nil) != strings.Contains(q, "false") {
			t.Errorf("%s: total present = %v\n%s", q, out.Hits.Total != nil, body)
		}
	}
}
