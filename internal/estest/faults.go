package estest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Faults is what the double does wrong, on purpose. The zero value is a
// healthy cluster. Ratios are drawn from a generator seeded with Seed, so a
// given seed and the same sequence of requests and items give the same
// faults; counts ("Next") are exact. Unless AllEndpoints is set, faults
// apply to _bulk requests only, so setup calls (templates, policies) and
// test inspection still work.
//
// Order for each affected request: Drop (before processing), then Status,
// then the request is processed with per-item faults, then Delay, then
// DropAfterStore.
type Faults struct {
	// Seed seeds the generator behind the ratios. SetFaults restarts the
	// generator from it.
	Seed uint64

	// Status is the whole-request status to answer with: 429 (Elasticsearch's
	// es_rejected_execution_exception), 502, 503 or 504. Zero means 429.
	Status int
	// StatusRatio is the fraction of requests answered with Status.
	StatusRatio float64
	// StatusNext answers the next N requests with Status; it counts down
	// (Faults shows what is left).
	StatusNext int

	// Item429Ratio is the fraction of bulk items answered with a per-item
	// 429 es_rejected_execution_exception (nothing stored for them).
	Item429Ratio float64
	// Item5xxRatio is the fraction of bulk items answered with a per-item
	// 503 unavailable_shards_exception (nothing stored for them).
	Item5xxRatio float64

	// Delay holds every affected response this long after the request was
	// processed: the documents are stored even if the client gives up.
	Delay time.Duration

	// DropRatio is the fraction of requests whose connection is closed
	// without an answer after the request was read.
	DropRatio float64
	// DropNext drops the next N requests; it counts down.
	DropNext int
	// DropAfterStore drops after processing instead of before: the items
	// are stored but the client never hears so (a retry must see 409s).
	DropAfterStore bool

	// AllEndpoints applies Status, Drop and Delay to every endpoint
	// instead of only _bulk.
	AllEndpoints bool
}

func (f Faults) validate() error {
	var errs []error
	switch f.Status {
	case 0, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		errs = append(errs, fmt.Errorf("status %d: must be one of 429, 502, 503, 504", f.Status))
	}
	for name, r := range map[string]float64{"status ratio": f.StatusRatio, "item 429 ratio": f.Item429Ratio,
		"item 5xx ratio": f.Item5xxRatio, "drop ratio": f.DropRatio} {
		if r < 0 || r > 1 {
			errs = append(errs, fmt.Errorf("%s %v: must be between 0 and 1", name, r))
		}
	}
	if f.Item429Ratio+f.Item5xxRatio > 1 {
		errs = append(errs, errors.New("item 429 ratio + item 5xx ratio must not exceed 1"))
	}
	if f.StatusNext < 0 || f.DropNext < 0 || f.Delay < 0 {
		errs = append(errs, errors.New("counts and delay must not be negative"))
	}
	return errors.Join(errs...)
}

type faultRNG struct{ r *rand.Rand }

func (g *faultRNG) hit(ratio float64) bool {
	if ratio <= 0 {
		return false
	}
	if ratio >= 1 {
		return true
	}
	return g.r.Float64() < ratio
}

// Faults returns the current faults, with StatusNext and DropNext showing
// what is left.
func (s *Server) Faults() Faults {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.faults
}

// SetFaults replaces the faults, effective for the next request (requests
// already past their fault decision are not affected), and restarts the
// generator from f.Seed. It panics on invalid faults (a status other than
// 429/502/503/504, a ratio outside [0,1]): that is a bug in the test.
func (s *Server) SetFaults(f Faults) {
	if err := f.validate(); err != nil {
		panic("estest: SetFaults: " + err.Error())
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.setFaultsLocked(f)
}

func (s *Server) setFaultsLocked(f Faults) {
	s.faults = f
	s.rng = &faultRNG{r: rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))}
}

// Hold makes every request that arrives from now on (faults scope: _bulk
// unless AllEndpoints) wait, unprocessed, until release is called; it is
// how tests hold responses without sleeping. Calls nest: all holds share one
// gate, opened by the first release. release is idempotent. A held request
// whose client gives up is dropped unprocessed. Use WaitHeld to know that
// requests arrived.
func (s *Server) Hold() (release func()) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
	g := s.gate
	return sync.OnceFunc(func() {
		s.fmu.Lock()
		defer s.fmu.Unlock()
		if s.gate == g {
			s.gate = nil
		}
		close(g)
	})
}

func (s *Server) releaseAll() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

func (s *Server) heldChanged(delta int64) {
	s.stats.held.Add(delta)
	s.fmu.Lock()
	close(s.heldCh)
	s.heldCh = make(chan struct{})
	s.fmu.Unlock()
}

// requestFault is the fault decision for one request, taken once when its
// body has been read.
type requestFault struct {
	drop, dropAfter bool
	status          int
	delay           time.Duration
	gate            chan struct{}
	item429, item5x float64
}

func (s *Server) decide(bulk bool) requestFault {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	f := &s.faults
	var d requestFault
	if bulk {
		d.item429, d.item5x = f.Item429Ratio, f.Item5xxRatio
	}
	if !bulk && !f.AllEndpoints {
		return d
	}
	d.gate = s.gate
	d.delay = f.Delay
	switch {
	case f.DropNext > 0:
		f.DropNext--
		d.drop = true
	case s.rng.hit(f.DropRatio):
		d.drop = true
	}
	if d.drop && f.DropAfterStore {
		d.drop, d.dropAfter = false, true
	}
	if d.drop {
		return d
	}
	switch {
	case f.StatusNext > 0:
		f.StatusNext--
		d.status = f.status()
	case s.rng.hit(f.StatusRatio):
		d.status = f.status()
	}
	return d
}

func (f *Faults) status() int {
	if f.Status == 0 {
		return http.StatusTooManyRequests
	}
	return f.Status
}

// itemFault draws the per-item fault: 0, 429 or 503.
func (s *Server) itemFault(d *requestFault) int {
	if d.item429 <= 0 && d.item5x <= 0 {
		return 0
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	x := s.rng.r.Float64()
	switch {
	case x < d.item429:
		return http.StatusTooManyRequests
	case x < d.item429+d.item5x:
		return http.StatusServiceUnavailable
	}
	return 0
}

// drop closes the client connection without an answer.
func (s *Server) drop(w http.ResponseWriter) {
	s.stats.dropped.Add(1)
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	c.Close()
}

// wait blocks on the Hold gate; it reports false when the client went away
// or the server is closing.
func (s *Server) wait(r *http.Request, gate chan struct{}) bool {
	if gate == nil {
		return true
	}
	s.heldChanged(1)
	defer s.heldChanged(-1)
	select {
	case <-gate:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) sleep(r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

func (s *Server) countStatus(code int) {
	switch code {
	case 429:
		s.stats.s429.Add(1)
	case 502:
		s.stats.s502.Add(1)
	case 503:
		s.stats.s503.Add(1)
	case 504:
		s.stats.s504.Add(1)
	}
}
