// Package estest is an in-process Elasticsearch 8 double for the agent's
// tests, its end-to-end benchmark and the `esdouble` command.
//
// It speaks the subset of the Elasticsearch 8 REST API the agent and a log UI
// use, shaped like the real responses (checked against the official API
// docs): cluster info with the X-Elastic-Product header the v8 client
// requires, _bulk with per-item results, composable index templates
// (including the built-in `logs` data-stream template), ILM policies, data
// streams, dynamic mappings that reject documents the way Elasticsearch
// does, and _search/_count for trace correlation. On top of that it injects
// faults deterministically: whole-request statuses, per-item 429/5xx,
// held or delayed responses, dropped connections and a "down" mode.
//
// Use New in tests (closed by t.Cleanup) or Target to run the same test
// against a real cluster when SHIPPER_TEST_ES_URL is set. NewServer, Start
// and Close are for programs. See design.md for what is modelled and what is
// not.
package estest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Version is the Elasticsearch version the double reports in GET /.
const Version = "8.15.3"

// EnvURL names the environment variable Target reads: the URL of a real
// Elasticsearch 8 cluster to run integration tests against.
const EnvURL = "SHIPPER_TEST_ES_URL"

// Doc is one stored document.
type Doc struct {
	// Index is the concrete index holding the document: for a data stream,
	// its backing index (".ds-<name>-<date>-000001").
	Index string
	// ID is the document's _id, given in the request or generated.
	ID string
	// Source is the document as sent (nil in discard mode).
	Source json.RawMessage
	// Seq orders documents by the time they were last written, across all
	// indices (like _seq_no, but global); it starts at 0.
	Seq int
	// Version is the document's _version: 1 when created, +1 per overwrite.
	Version int64
}

// RequestStats counts what the double received and answered since it was
// created. All counts are cumulative except Held.
type RequestStats struct {
	// Requests is every HTTP request received, on every endpoint.
	Requests int64
	// Bulk is _bulk requests that were processed (not answered by a fault).
	Bulk int64
	// Items is bulk items (actions) in processed requests.
	Items int64
	// Created is items that stored a new document (status 201).
	Created int64
	// Updated is index items that overwrote a document (status 200).
	Updated int64
	// Deleted is delete items that removed a document.
	Deleted int64
	// Conflicts is create items refused with 409 because the _id existed.
	Conflicts int64
	// Rejected is items refused with another 4xx (mapping conflicts,
	// invalid index names, data-stream rules): what an agent dead-letters.
	Rejected int64
	// Item429 and Item5xx are per-item failures injected by Faults.
	Item429, Item5xx int64
	// Status429 .. Status504 are whole requests answered by Faults with
	// that status.
	Status429, Status502, Status503, Status504 int64
	// Dropped is connections closed by Faults without an answer.
	Dropped int64
	// BadRequests is whole requests refused with 4xx for being malformed
	// (bad NDJSON, invalid JSON bodies, unknown endpoints).
	BadRequests int64
	// Gzip is requests whose body was gzip-encoded.
	Gzip int64
	// Held is the number of requests waiting on Hold right now.
	Held int64
}

// Option configures a Server.
type Option func(*options)

type options struct {
	addr                 string
	discard              bool
	faults               Faults
	clock                func() time.Time
	basicUser, basicPass string
	apiKey               string
	tls, clientAuth      bool
}

// WithAddr listens on addr (default "127.0.0.1:0", a free port).
func WithAddr(addr string) Option { return func(o *options) { o.addr = addr } }

// WithDiscard makes the double count bulk items and remember their _ids
// (so create conflicts still work) without parsing or keeping sources: no
// mapping checks, no search, Docs returns documents without Source. It is
// meant for throughput benchmarks.
func WithDiscard() Option { return func(o *options) { o.discard = true } }

// WithFaults starts the double with faults already set (see SetFaults).
func WithFaults(f Faults) Option { return func(o *options) { o.faults = f } }

// WithClock replaces time.Now for data-stream backing index names, ILM
// modified dates and "took"; tests with fixed expectations pass a fixed clock.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// Server is the Elasticsearch double. All methods are safe for concurrent
// use, including while requests are being served.
type Server struct {
	opts options

	mu         sync.Mutex // guards the cluster state below
	indices    map[string]*index
	templates  map[string]*template
	policies   map[string]*policy
	streams    map[string]*dataStream
	seq        int
	idCounter  uint64
	pits       map[string]*pit // open points in time, by id
	pitCounter uint64
	changed    chan struct{} // closed and replaced when documents change

	fmu    sync.Mutex // guards faults, rng, gate and held notifications
	faults Faults
	rng    *faultRNG
	gate   chan struct{}
	heldCh chan struct{} // closed and replaced whenever Held changes

	stats stats
	tls   *tlsState // nil unless WithTLS

	lmu      sync.Mutex // guards the listener state below
	addr     string     // host:port, fixed after the first Start
	ln       net.Listener
	hs       *http.Server
	serveErr chan error
	closed   bool
}

type stats struct {
	requests, bulk, items, created, updated, deleted, conflicts, rejected atomic.Int64
	item429, item5xx, s429, s502, s503, s504, dropped, bad, gzip, held    atomic.Int64
}

// NewServer builds a double without listening; call Start. It is for
// programs such as cmd/esdouble; tests use New.
func NewServer(opts ...Option) (*Server, error) {
	o := options{addr: "127.0.0.1:0", clock: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.faults.validate(); err != nil {
		return nil, fmt.Errorf("estest: invalid faults: %w", err)
	}
	s := &Server{
		opts:      o,
		indices:   map[string]*index{},
		templates: map[string]*template{},
		policies:  map[string]*policy{},
		streams:   map[string]*dataStream{},
		heldCh:    make(chan struct{}),
		changed:   make(chan struct{}),
	}
	if o.tls {
		st, err := newTLSState(o.clientAuth)
		if err != nil {
			return nil, fmt.Errorf("estest: %w", err)
		}
		s.tls = st
	}
	s.installBuiltins()
	s.setFaultsLocked(o.faults)
	return s, nil
}

// New starts a double on a free loopback port and closes it when the test
// ends. Invalid options fail the test.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Target returns where an integration test should send its requests: the
// real cluster named by SHIPPER_TEST_ES_URL (double is nil; tests that need
// fault injection or inspection must t.Skip with the reason) or, when the
// variable is unset, a fresh double.
func Target(t testing.TB, opts ...Option) (url string, double *Server) {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return strings.TrimRight(u, "/"), nil
	}
	s := New(t, opts...)
	return s.URL(), s
}

// RequireReal skips the test unless SHIPPER_TEST_ES_URL names a real
// cluster, and returns its URL.
func RequireReal(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Skip(EnvURL + " is not set: this test needs a real Elasticsearch 8 cluster")
	}
	return strings.TrimRight(u, "/")
}

// Start listens and serves in the background; it returns once the port is
// open. The first Start fixes the address; Start after Down (or Up) reopens
// the same port. Start after Close fails.
func (s *Server) Start() error {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.closed {
		return errors.New("estest: start after close")
	}
	if s.ln != nil {
		return nil
	}
	addr := s.opts.addr
	if s.addr != "" {
		addr = s.addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("estest: listening on %s: %w", addr, err)
	}
	s.addr = ln.Addr().String()
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls.serverCfg)
	}
	s.ln = ln
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // handshake failures and client aborts are expected in fault tests
	}
	s.hs = hs
	errc := make(chan error, 1)
	s.serveErr = errc
	go func() { errc <- hs.Serve(ln) }()
	return nil
}

// Down simulates a node that is gone: it closes the listener and every open
// connection, so clients get "connection refused" until Up. Requests being
// served (or held) are cut off. Down on a down server does nothing.
func (s *Server) Down() {
	s.lmu.Lock()
	hs, errc := s.hs, s.serveErr
	s.hs, s.ln, s.serveErr = nil, nil, nil
	s.lmu.Unlock()
	if hs == nil {
		return
	}
	hs.Close() // closes the listener and every connection net/http has open
	<-errc
}

// Up reopens the listener on the same address after Down.
func (s *Server) Up() error { return s.Start() }

// Close stops the server for good; it is idempotent and safe without Start.
// Held requests are released so their handlers can return.
func (s *Server) Close() {
	s.lmu.Lock()
	s.closed = true
	s.lmu.Unlock()
	s.releaseAll()
	s.Down()
}

// URL is the base URL ("http://127.0.0.1:port", https with WithTLS),
// stable across Down/Up. It is empty before the first Start.
func (s *Server) URL() string {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if s.addr == "" {
		return ""
	}
	if s.tls != nil {
		return "https://" + s.addr
	}
	return "http://" + s.addr
}

// Docs returns the stored documents of every index matching indexPattern
// (Elasticsearch multi-target syntax: names, data-stream names, "*"
// wildcards, comma lists, "-" exclusions; "" means all), ordered by Seq.
// The returned Sources must not be modified.
func (s *Server) Docs(indexPattern string) []Doc {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Doc
	for _, ix := range s.resolveLocked(indexPattern) {
		for _, d := range ix.docs {
			out = append(out, *d)
		}
		for id := range ix.ids {
			out = append(out, Doc{Index: ix.name, ID: id, Version: 1})
		}
	}
	slices.SortFunc(out, func(a, b Doc) int {
		if a.Seq != b.Seq {
			return a.Seq - b.Seq
		}
		return strings.Compare(a.Index+"\x00"+a.ID, b.Index+"\x00"+b.ID)
	})
	return out
}

// Count returns the number of stored documents matching indexPattern (as
// for Docs).
func (s *Server) Count(indexPattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.countLocked(indexPattern)
}

func (s *Server) countLocked(indexPattern string) int {
	return countDocs(s.resolveLocked(indexPattern))
}

// countDocs returns the documents stored in ixs.
func countDocs(ixs []*index) int {
	n := 0
	for _, ix := range ixs {
		n += ix.count()
	}
	return n
}

// Get returns the document with _id id in index (a concrete index or a
// data stream's name).
func (s *Server) Get(index, id string) (Doc, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ix := range s.resolveLocked(index) {
		if d, ok := ix.docs[id]; ok {
			return *d, true
		}
		if _, ok := ix.ids[id]; ok {
			return Doc{Index: ix.name, ID: id, Version: 1}, true
		}
	}
	return Doc{}, false
}

// Indices returns the names of the concrete indices (data-stream backing
// indices included), sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.indices))
}

// Requests returns a snapshot of the request counters.
func (s *Server) Requests() RequestStats {
	st := &s.stats
	return RequestStats{
		Requests: st.requests.Load(), Bulk: st.bulk.Load(), Items: st.items.Load(),
		Created: st.created.Load(), Updated: st.updated.Load(), Deleted: st.deleted.Load(),
		Conflicts: st.conflicts.Load(), Rejected: st.rejected.Load(),
		Item429: st.item429.Load(), Item5xx: st.item5xx.Load(),
		Status429: st.s429.Load(), Status502: st.s502.Load(), Status503: st.s503.Load(), Status504: st.s504.Load(),
		Dropped: st.dropped.Load(), BadRequests: st.bad.Load(), Gzip: st.gzip.Load(), Held: st.held.Load(),
	}
}

// Templates returns the composable index templates by name, the built-in
// `logs` template included; each value is the template body as stored
// (what GET _index_template returns under "index_template").
func (s *Server) Templates() map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]json.RawMessage, len(s.templates))
	for n, t := range s.templates {
		out[n] = slices.Clone(t.raw)
	}
	return out
}

// Policies returns the ILM policies by name: each value is the "policy"
// object as last PUT.
func (s *Server) Policies() map[string]json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]json.RawMessage, len(s.policies))
	for n, p := range s.policies {
		out[n] = slices.Clone(p.raw)
	}
	return out
}

// DataStreams returns the names of the data streams, sorted.
func (s *Server) DataStreams() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.streams))
}

// WaitCount blocks until at least n documents match indexPattern (as for
// Count), or ctx ends; tests use it instead of polling or sleeping.
func (s *Server) WaitCount(ctx context.Context, indexPattern string, n int) error {
	for {
		s.mu.Lock()
		ch := s.changed
		have := s.countLocked(indexPattern)
		s.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("estest: waiting for %d documents in %q (have %d): %w", n, indexPattern, have, ctx.Err())
		}
	}
}

// notifyChangedLocked wakes WaitCount callers.
func (s *Server) notifyChangedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitHeld blocks until at least n requests are held by Hold, or ctx ends.
func (s *Server) WaitHeld(ctx context.Context, n int) error {
	for {
		s.fmu.Lock()
		ch := s.heldCh
		s.fmu.Unlock()
		if s.stats.held.Load() >= int64(n) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("estest: waiting for %d held requests (have %d): %w", n, s.stats.held.Load(), ctx.Err())
		}
	}
}

func (s *Server) now() time.Time { return s.opts.clock() }
