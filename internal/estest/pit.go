package estest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pit is a point in time: the documents of its indices as they were when it
// was opened. Searches under it see neither later writes nor deletes, and
// sorted ones get the implicit _shard_doc tiebreaker, so that search_after
// pages through them exactly once each.
type pit struct {
	indices   []*index
	docs      map[*index][]*Doc // by Seq
	keepAlive time.Duration
	expires   time.Time
}

// openPIT serves POST /<target>/_pit?keep_alive=...
func (s *Server) openPIT(r *http.Request, target string) response {
	q := r.URL.Query()
	ka, ok := parseTimeValue(q.Get("keep_alive"))
	if !ok {
		if q.Get("keep_alive") == "" {
			return errorResponse(400, &esError{Type: "action_request_validation_exception", Reason: "Validation Failed: 1: [keep_alive] is not specified;"})
		}
		return errorResponse(400, badTimeValue("keep_alive", q.Get("keep_alive")))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.discard {
		return discardRefused()
	}
	ixs, missing := s.resolveMissingLocked(target)
	if missing != "" && q.Get("ignore_unavailable") != "true" {
		return indexNotFound(missing)
	}
	p := &pit{indices: ixs, docs: make(map[*index][]*Doc, len(ixs)), keepAlive: ka, expires: s.now().Add(ka)}
	for _, ix := range ixs {
		p.docs[ix] = ix.sortedDocs()
	}
	if s.pits == nil {
		s.pits = map[string]*pit{}
	}
	for id := range s.pits {
		s.pitLocked(id) // forgets the expired ones, which nobody closed
	}
	s.pitCounter++
	id := base64.URLEncoding.EncodeToString([]byte("estest-pit-" + strconv.FormatUint(s.pitCounter, 10)))
	s.pits[id] = p
	shards := strconv.Itoa(len(ixs))
	return okJSON([]byte(`{"id":"` + id + `","_shards":{"total":` + shards + `,"successful":` + shards + `,"skipped":0,"failed":0}}`))
}

// closePIT serves DELETE /_pit {"id": ...}.
func (s *Server) closePIT(body []byte) response {
	var req struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.ID == "" {
		return errorResponse(400, &esError{Type: "action_request_validation_exception", Reason: "Validation Failed: 1: no pit ids specified;"})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pitLocked(req.ID); p != nil {
		delete(s.pits, req.ID)
		return okJSON([]byte(`{"succeeded":true,"num_freed":1}`))
	}
	return response{status: 404, body: []byte(`{"succeeded":true,"num_freed":0}`)}
}

// pitLocked returns the live point in time id names, forgetting it once
// its keep_alive has passed, or nil.
func (s *Server) pitLocked(id string) *pit {
	p := s.pits[id]
	if p != nil && !s.now().Before(p.expires) {
		delete(s.pits, id)
		return nil
	}
	return p
}

// pitMissing is Elasticsearch's answer to a search under a point in time
// that was closed or expired.
func pitMissing(id string) response {
	return errorResponse(404, &esError{Type: "search_context_missing_exception", Reason: "No search context found for id [" + id + "]"})
}

// sortedDocs returns the index's documents in the order they were stored.
func (ix *index) sortedDocs() []*Doc {
	docs := make([]*Doc, 0, len(ix.docs))
	for _, d := range ix.docs {
		docs = append(docs, d)
	}
	slices.SortFunc(docs, func(a, b *Doc) int { return a.Seq - b.Seq })
	return docs
}

// parseTimeValue reads a time value as keep_alive takes it: timeValue's
// grammar, whole and not negative.
func parseTimeValue(v string) (time.Duration, bool) {
	m := timeValue.FindStringSubmatch(v)
	if m == nil || v[0] == '-' || m[1] != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(v, m[2]), 10, 64)
	return time.Duration(n) * timeUnits[m[2]], err == nil
}

// timeUnits are the units of timeValue.
var timeUnits = map[string]time.Duration{"nanos": time.Nanosecond, "micros": time.Microsecond, "ms": time.Millisecond,
	"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}

// discardRefused answers what discard mode cannot serve.
func discardRefused() response {
	return badRequest("illegal_argument_exception", "this Elasticsearch double discards documents (-discard): only _count without a query is served")
}
