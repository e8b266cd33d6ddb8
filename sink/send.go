package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// send delivers r: every item ends indexed, duplicate or dead-lettered,
// and then r's Acks are released; or ctx ends first and r is abandoned
// with its Acks held.
func (s *Sink) send(ctx context.Context, snd *sender, r *request) {
	for {
		if ctx.Err() != nil {
			s.abandon(r)
			return
		}
		retry, err := s.attempt(ctx, snd, r)
		if err != nil {
			// The whole request failed in a way worth retrying.
			if ctx.Err() != nil {
				s.abandon(r)
				return
			}
			r.attempts++
			if max := s.cfg.Retry.MaxRetries; max > 0 && r.attempts > max {
				s.log.Error("bulk request failed too often; dead-lettering its documents",
					zap.Int("documents", len(r.items)), zap.Int("attempts", r.attempts), zap.Error(err))
				all := make([]int, len(r.items))
				for i := range all {
					all[i] = i
				}
				var se *statusError
				status := 0
				if errors.As(err, &se) {
					status = se.status
				}
				if !s.deadLetter(ctx, r, all, func(int) (int, ItemError) {
					return status, ItemError{Type: "shipper_retries_exhausted", Reason: err.Error()}
				}) {
					s.abandon(r)
					return
				}
				s.finish(r)
				return
			}
			if r.attempts&(r.attempts-1) == 0 { // 1, 2, 4, 8...: not a line per retry in a storm
				s.log.Warn("bulk request failed; retrying", zap.Int("documents", len(r.items)), zap.Int("attempt", r.attempts), zap.Error(err))
			}
			s.st.requestRetries.Add(1)
			if s.backoff(ctx, r.attempts) != nil {
				s.abandon(r)
				return
			}
			continue
		}
		if retry == nil {
			s.finish(r)
			return
		}
		// Some items must be sent again: they move to a new request, which
		// holds their Acks, before r lets go of its own.
		next := s.sub(r, retry)
		next.attempts = 0
		s.finish(r)
		r = next
		maxAttempts := int32(0)
		for i := range r.items {
			r.items[i].attempts++
			maxAttempts = max(maxAttempts, r.items[i].attempts)
		}
		s.st.itemRetries.Add(int64(len(r.items)))
		if s.backoff(ctx, int(maxAttempts)) != nil {
			s.abandon(r)
			return
		}
	}
}

// statusError is a whole-request HTTP error.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string {
	return "Elasticsearch answered " + strconv.Itoa(e.status) + " " + http.StatusText(e.status) + ": " + e.body
}

// attempt sends r once. It returns an error when the whole request should be
// retried; otherwise it has counted and dead-lettered what it could and
// returns the positions of the items to retry.
func (s *Sink) attempt(ctx context.Context, snd *sender, r *request) (retry []int, err error) {
	resp, err := s.perform(ctx, snd, r)
	if err != nil {
		return nil, fmt.Errorf("sending bulk request: %w", err)
	}
	defer resp.Body.Close()
	switch st := resp.StatusCode; {
	case st >= 200 && st < 300:
		return s.items(ctx, snd, r, resp.Body)
	case st == http.StatusRequestEntityTooLarge:
		_, _ = io.Copy(io.Discard, resp.Body)
		return s.split(ctx, r)
	case retryableStatus(st) || st == http.StatusUnauthorized || st == http.StatusForbidden || st == http.StatusRequestTimeout:
		// Auth failures are configuration problems an operator fixes
		// (an expired API key): retrying keeps the data until then.
		return nil, &statusError{status: st, body: readSnippet(resp.Body)}
	default:
		// The whole request was refused and will be again.
		reason := readSnippet(resp.Body)
		all := make([]int, len(r.items))
		for i := range all {
			all[i] = i
		}
		s.log.Error("bulk request refused; dead-lettering its documents", zap.Int("status", st), zap.Int("documents", len(r.items)))
		if !s.deadLetter(ctx, r, all, func(int) (int, ItemError) {
			return st, ItemError{Type: "bulk_request_refused", Reason: reason}
		}) {
			return nil, ctx.Err()
		}
		return nil, nil
	}
}

func retryableStatus(st int) bool { return st == http.StatusTooManyRequests || st >= 500 }

func readSnippet(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 1024))
	_, _ = io.Copy(io.Discard, r)
	return string(b)
}

// bulkResponse is the part of a bulk response the sink reads.
type bulkResponse struct {
	Errors bool                       `json:"errors"`
	Items  []map[string]*bulkItemResp `json:"items"`
}

type bulkItemResp struct {
	Status int        `json:"status"`
	Error  *ItemError `json:"error"`
}

// items reads a 2xx bulk response, into snd's buffer, and sorts the items.
func (s *Sink) items(ctx context.Context, snd *sender, r *request, body io.Reader) ([]int, error) {
	buf := &snd.resp
	defer func() {
		// filter_path keeps a response far smaller than its request; one
		// that grew the buffer past a request's size is not kept.
		if buf.Cap() > s.cfg.Bulk.MaxBytes {
			*buf = bytes.Buffer{}
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("reading bulk response: %w", err)
	}
	// Elasticsearch writes "errors" before "items": when it is false, every
	// item succeeded and the items need not be decoded (they are most of the
	// response, and decoding them was a sixth of the agent's CPU).
	if errorsFalse(buf.Bytes()) {
		s.st.indexed.Add(int64(len(r.items)))
		return nil, nil
	}
	var resp bulkResponse
	if err := json.Unmarshal(buf.Bytes(), &resp); err != nil {
		return nil, fmt.Errorf("reading bulk response: %w", err)
	}
	if !resp.Errors {
		s.st.indexed.Add(int64(len(r.items)))
		return nil, nil
	}
	if len(resp.Items) != len(r.items) {
		// Which answer belongs to which document is unknown: send all
		// again; the ones stored answer 409 next time.
		return nil, fmt.Errorf("bulk response has %d items for %d documents", len(resp.Items), len(r.items))
	}
	var retry, dead []int
	var indexed, dup int64
	for i, m := range resp.Items {
		var it *bulkItemResp
		for _, v := range m {
			it = v
		}
		switch {
		case it == nil:
			retry = append(retry, i)
		case it.Status >= 200 && it.Status < 300:
			indexed++
		case it.Status == http.StatusConflict && s.opType == "create":
			dup++
		case retryableStatus(it.Status):
			if m := s.cfg.Retry.MaxRetries; m > 0 && int(r.items[i].attempts) >= m {
				dead = append(dead, i)
			} else {
				retry = append(retry, i)
			}
		default:
			dead = append(dead, i)
		}
	}
	s.st.indexed.Add(indexed)
	s.st.duplicates.Add(dup)
	if len(dead) > 0 && !s.deadLetter(ctx, r, dead, func(i int) (int, ItemError) {
		it := firstItem(resp.Items[i])
		if it.Error == nil {
			return it.Status, ItemError{Type: "unknown", Reason: "no error given"}
		}
		return it.Status, *it.Error
	}) {
		return nil, ctx.Err()
	}
	return retry, nil
}

func firstItem(m map[string]*bulkItemResp) *bulkItemResp {
	for _, v := range m {
		if v != nil {
			return v
		}
	}
	return &bulkItemResp{}
}

// split halves a request Elasticsearch found too large (413) and sends the
// halves; a single document too large is dead-lettered.
func (s *Sink) split(ctx context.Context, r *request) ([]int, error) {
	if len(r.items) == 1 {
		if !s.deadLetter(ctx, r, []int{0}, func(int) (int, ItemError) {
			return http.StatusRequestEntityTooLarge, ItemError{Type: "request_entity_too_large",
				Reason: "the document alone exceeds http.max_content_length of Elasticsearch"}
		}) {
			return nil, ctx.Err()
		}
		return nil, nil
	}
	half := len(r.items) / 2
	idx := make([]int, len(r.items))
	for i := range idx {
		idx[i] = i
	}
	a, b := s.sub(r, idx[:half]), s.sub(r, idx[half:])
	snd := newSender(s)
	s.send(ctx, snd, a)
	s.send(ctx, snd, b)
	return nil, nil
}

// deadLetter writes the items at idx to the dead-letter file, retrying a
// failed write until ctx ends (then it reports false).
func (s *Sink) deadLetter(ctx context.Context, r *request, idx []int, why func(int) (int, ItemError)) bool {
	entries := make([]deadItem, 0, len(idx))
	for _, i := range idx {
		it := r.items[i]
		action := r.body[it.off:it.src]
		status, e := why(i)
		index, id := actionTarget(action)
		entries = append(entries, deadItem{index: index, id: id, status: status, err: e, doc: r.body[it.src : it.end-1]})
	}
	written := s.dlq.write(s.now(), entries, func(attempt int, err error) bool {
		s.st.dlqErrors.Add(1)
		s.log.Error("cannot write the dead-letter file; retrying (the documents stay unacknowledged)", zap.Error(err))
		return s.backoff(ctx, attempt) == nil
	})
	if !written {
		return false
	}
	s.st.deadLettered.Add(int64(len(entries)))
	// One line per request, not per document: a mapping conflict can
	// refuse thousands. No reason: Elasticsearch quotes values in it.
	e := entries[0]
	s.log.Warn("documents dead-lettered", zap.Int("documents", len(entries)), zap.String("file", s.dlq.path),
		zap.String("first_index", e.index), zap.String("first_id", e.id),
		zap.Int("first_status", e.status), zap.String("first_error_type", e.err.Type))
	return true
}

// actionTarget reads _index and _id from an action line.
func actionTarget(action []byte) (index, id string) {
	var inner []byte
	jsonscan.EachMember(action, func(_, v []byte) bool {
		inner = v
		return false
	})
	if v, ok := jsonscan.Get(inner, "_index"); ok {
		index = shipper.String(v)
	}
	if v, ok := jsonscan.Get(inner, "_id"); ok {
		id = shipper.String(v)
	}
	return index, id
}

// errorsFalse reports whether the bulk response body says "errors":false,
// looking only at the members before "items" (and validating them).
func errorsFalse(body []byte) bool {
	found := false
	jsonscan.EachMember(body, func(key, value []byte) bool {
		if jsonscan.KeyEqual(key, "errors") {
			found = string(value) == "false"
			return false
		}
		return !jsonscan.KeyEqual(key, "items")
	})
	return found
}
