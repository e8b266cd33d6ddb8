// Package timeline is `shipper trace <trace.id>`: it fetches every log
// document of one trace from all dated indices and renders a time-ordered,
// per-service timeline (the logs-only view of a request's journey), or JSON
// lines for machines.
//
// Fetch pages through any number of documents: it opens a point in time
// (PIT) and pages with search_after, which is what Elasticsearch recommends
// beyond the 10,000-hit window of from/size; the PIT's implicit _shard_doc
// tiebreaker makes every page boundary exact. Where no PIT can be opened
// (a proxy that forbids it, an Elasticsearch-compatible server without
// it), Fetch falls back to search_after on the index pattern with the
// sort @timestamp, log.offset; there a page boundary can skip a line that
// shares both values with the page's last line (same millisecond, same
// byte offset in another file), which Fetch reports in Result.Approximate.
package timeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/enrich"
	"github.com/traceship/shipper/index"
)

// Entry is one log line of the trace, as stored: the fields are the
// document's @timestamp, service.name, log.level, message, span.id and
// host.name, and where it is (Index, ID).
type Entry struct {
	Time    time.Time `json:"@timestamp"`
	Service string    `json:"service,omitempty"`
	Level   string    `json:"level,omitempty"`
	Message string    `json:"message"`
	SpanID  string    `json:"span_id,omitempty"`
	Host    string    `json:"host,omitempty"`
	Index   string    `json:"index"`
	ID      string    `json:"id"`
}

// Options tune Fetch; the zero value means the defaults.
type Options struct {
	// PageSize is the number of documents per request (default 1000, at
	// most 10000).
	PageSize int
	// Limit stops after this many entries (default 100000): a trace with
	// more lines is a loop, and a terminal could not show it anyway.
	Limit int
	// KeepAlive is how long the point in time lives between pages
	// (default 1m).
	KeepAlive time.Duration
}

// Result is what FetchWith found.
type Result struct {
	Entries []Entry
	// Truncated: Options.Limit was reached; more entries exist.
	Truncated bool
	// Approximate: no point in time could be opened and the fallback
	// paging was used (see the package doc).
	Approximate bool
}

const (
	defaultPageSize = 1000
	maxPageSize     = 10000
	defaultLimit    = 100000
)

// ErrInvalidTraceID is returned for a trace id that is not one (see
// enrich.ParseTraceID for the accepted forms).
var ErrInvalidTraceID = errors.New("not a trace id: want 32 hex digits (a UUID, an X-Ray id or a traceparent also work)")

// Fetch returns every document of the trace, oldest first, with the
// default options. indexPattern is the pipeline's index setting: a
// Logstash-style name ("shipper-%{[service.name]}-%{+yyyy.MM.dd}") is
// searched as the wildcard it expands to ("shipper-*-*"); a plain pattern
// or a comma-separated list is used as it is.
func Fetch(ctx context.Context, client *elasticsearch.Client, indexPattern string, traceID string) ([]Entry, error) {
	r, err := FetchWith(ctx, client, indexPattern, traceID, Options{})
	return r.Entries, err
}

// FetchWith is Fetch with options. It returns when ctx is done.
func FetchWith(ctx context.Context, client *elasticsearch.Client, indexPattern, traceID string, o Options) (Result, error) {
	id, ok := enrich.ParseTraceID(traceID)
	if !ok {
		return Result{}, fmt.Errorf("trace %q: %w", traceID, ErrInvalidTraceID)
	}
	if o.PageSize <= 0 {
		o.PageSize = defaultPageSize
	}
	o.PageSize = min(o.PageSize, maxPageSize)
	if o.Limit <= 0 {
		o.Limit = defaultLimit
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = time.Minute
	}
	f := fetcher{c: client, pattern: SearchPattern(indexPattern), id: id.String(), o: o}
	return f.run(ctx)
}

// SearchPattern turns a Logstash-style index name, or a comma list of them,
// into the wildcard that matches every index it expands to (index.Glob):
// each %{...} becomes *.
func SearchPattern(indexPattern string) string { return index.Glob(indexPattern) }

type fetcher struct {
	c       *elasticsearch.Client
	pattern string
	id      string
	o       Options
}

func (f *fetcher) run(ctx context.Context) (Result, error) {
	var res Result
	pit, err := f.openPIT(ctx)
	if err != nil {
		return res, err
	}
	if pit == "" {
		res.Approximate = true
	} else {
		defer f.closePIT(ctx, &pit)
	}
	var after json.RawMessage
	for {
		page, next, err := f.page(ctx, &pit, after)
		if err != nil {
			return res, err
		}
		for _, e := range page {
			if len(res.Entries) == f.o.Limit {
				res.Truncated = true
				break
			}
			res.Entries = append(res.Entries, e)
		}
		if res.Truncated || len(page) < f.o.PageSize || next == nil {
			break
		}
		after = next
	}
	// Elasticsearch sorts dates by the millisecond; the documents keep
	// nanoseconds, so finish the order here (stable: ties keep the
	// server's order, which is by offset).
	slices.SortStableFunc(res.Entries, func(a, b Entry) int { return a.Time.Compare(b.Time) })
	return res, nil
}

// openPIT opens a point in time on the pattern. It returns "" when the
// server cannot (the fallback), and an error only for failures the
// fallback would hit too (unreachable, unauthorised).
func (f *fetcher) openPIT(ctx context.Context) (string, error) {
	resp, err := f.c.OpenPointInTime([]string{f.pattern}, keepAlive(f.o.KeepAlive),
		f.c.OpenPointInTime.WithContext(ctx), f.c.OpenPointInTime.WithIgnoreUnavailable(true))
	if err != nil {
		return "", fmt.Errorf("opening a point in time on %s: %w", f.pattern, err)
	}
	defer drain(resp)
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500:
		return "", fmt.Errorf("opening a point in time on %s: %w", f.pattern, responseError(resp))
	case resp.IsError():
		return "", nil
	}
	var body struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.ID == "" {
		return "", nil
	}
	return body.ID, nil
}

// closePIT frees the point in time, even when ctx was cancelled.
func (f *fetcher) closePIT(ctx context.Context, pit *string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"id": *pit})
	resp, err := f.c.ClosePointInTime(f.c.ClosePointInTime.WithContext(ctx), f.c.ClosePointInTime.WithBody(bytes.NewReader(body)))
	if err == nil {
		drain(resp)
	}
	// A PIT that could not be closed expires after KeepAlive: nothing to do.
}

// sourceFields are the fields a timeline shows.
var sourceFields = []string{"@timestamp", "message", "log.level", "service.name", "span.id", "host.name"}

func (f *fetcher) page(ctx context.Context, pit *string, after json.RawMessage) ([]Entry, json.RawMessage, error) {
	req := map[string]any{
		"size":    f.o.PageSize,
		"query":   map[string]any{"bool": map[string]any{"filter": []any{map[string]any{"term": map[string]any{"trace.id": f.id}}}}},
		"sort":    []any{map[string]any{"@timestamp": map[string]any{"order": "asc"}}, map[string]any{"log.offset": map[string]any{"order": "asc", "unmapped_type": "long"}}},
		"_source": sourceFields,
	}
	if after != nil {
		req["search_after"] = after
	}
	opts := []func(*esapi.SearchRequest){f.c.Search.WithContext(ctx)}
	if *pit != "" {
		req["pit"] = map[string]any{"id": *pit, "keep_alive": keepAlive(f.o.KeepAlive)}
	} else {
		opts = append(opts, f.c.Search.WithIndex(f.pattern), f.c.Search.WithIgnoreUnavailable(true))
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the search: %w", err)
	}
	opts = append(opts, f.c.Search.WithBody(bytes.NewReader(body)))
	resp, err := f.c.Search(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("searching %s for trace %s: %w", f.pattern, f.id, err)
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusNotFound && *pit == "" {
		return nil, nil, nil // no index matches the pattern
	}
	if resp.IsError() {
		return nil, nil, fmt.Errorf("searching %s for trace %s: %w", f.pattern, f.id, responseError(resp))
	}
	var sr struct {
		PitID string `json:"pit_id"`
		Hits  struct {
			Hits []struct {
				Index  string          `json:"_index"`
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
				Sort   json.RawMessage `json:"sort"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&sr); err != nil {
		return nil, nil, fmt.Errorf("reading the search response: %w", err)
	}
	if *pit != "" && sr.PitID != "" {
		*pit = sr.PitID // the id may change between pages
	}
	entries := make([]Entry, 0, len(sr.Hits.Hits))
	var last json.RawMessage
	for _, h := range sr.Hits.Hits {
		entries = append(entries, entryFrom(h.Index, h.ID, h.Source))
		last = h.Sort
	}
	return entries, last, nil
}

// entryFrom reads the shown fields, written nested or with dotted keys.
func entryFrom(index, id string, src []byte) Entry {
	e := Entry{Index: index, ID: id}
	get := func(path string) string {
		if v, ok := shipper.LookupIn(src, path); ok {
			return shipper.String(v)
		}
		return ""
	}
	if t, err := time.Parse(time.RFC3339Nano, get("@timestamp")); err == nil {
		e.Time = t.UTC()
	}
	e.Message = get("message")
	e.Level = get("log.level")
	e.Service = get("service.name")
	e.SpanID = get("span.id")
	e.Host = get("host.name")
	return e
}

func keepAlive(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", max(1, d/time.Second))
}

func drain(resp *esapi.Response) {
	if resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}
}

// responseError turns an error response into an error that carries
// Elasticsearch's reason.
func responseError(resp *esapi.Response) error {
	var body struct {
		Error struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(raw, &body) == nil && body.Error.Type != "" {
		return fmt.Errorf("elasticsearch status %d: %s: %s", resp.StatusCode, body.Error.Type, body.Error.Reason)
	}
	return fmt.Errorf("elasticsearch status %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
}
