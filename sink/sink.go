// Package sink bulk-indexes events into Elasticsearch without losing or
// doubling any: documents are sent with create ops and deterministic _ids
// (a replay gets 409, counted as success), failures are retried with
// backoff, documents Elasticsearch refuses for good go to a dead-letter
// file, and each event's Ack is released only once its document was indexed
// or dead-lettered. See design.md.
package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/elastic/go-elasticsearch/v8"
	"go.uber.org/zap"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/freelist"
	"github.com/traceship/shipper/internal/jsonscan"
)

// ErrClosed is returned by Write after Shutdown.
var ErrClosed = errors.New("sink is shut down")

// bulkPath asks only for what the sink reads, which keeps responses to
// large requests small (Beats does the same).
const bulkPath = "/_bulk?filter_path=errors,items.*.status,items.*.error"

// performer sends one HTTP request to Elasticsearch; *elasticsearch.Client
// is one.
type performer interface {
	Perform(*http.Request) (*http.Response, error)
}

// Sink is the Elasticsearch sink. Write is safe for concurrent use.
type Sink struct {
	cfg    Config
	log    *zap.Logger
	es     performer
	dlq    *dlqWriter
	now    func() time.Time
	opType string
	// slowAfter is how long a bulk request may go unanswered before the
	// sink says so: a hung Elasticsearch otherwise shows in the logs only
	// at the transport's response timeout (2 minutes).
	slowAfter time.Duration

	mu       sync.Mutex
	cur      *request   // being filled by Write
	queue    []*request // sealed, waiting for a worker
	inflight int64      // bytes reserved by requests not finished
	changed  chan struct{}
	closed   bool
	started  bool
	work     chan struct{} // a request was queued (capacity 1)
	closing  chan struct{} // closed by Shutdown
	gen      uint64        // of flush timers
	runCtx   context.Context
	cancel   context.CancelFunc
	workers  sync.WaitGroup
	done     chan struct{} // closed when the workers have returned

	shutdownOnce sync.Once
	shutdownErr  error

	// Recycled scratch space, request bodies and requests, bounded by the
	// bytes in flight (freelist says why not a sync.Pool).
	encoders *freelist.List[*encoder]
	buffers  *freelist.List[[]byte]   // of finished requests
	requests *freelist.List[*request] // finished, without their bodies

	st counters

	// observe, if set, is told each bulk request's latency (until the
	// response headers) and outcome.
	observe func(d time.Duration, outcome string)
}

// ObserveRequests sets fn to be told every bulk request's latency (until
// Elasticsearch's response headers arrived) and outcome: "2xx", "4xx",
// "5xx" or "error" (no response). For a latency histogram. Call it before
// Start; fn must be safe for concurrent use and quick.
func (s *Sink) ObserveRequests(fn func(d time.Duration, outcome string)) { s.observe = fn }

// New builds a sink; it sends nothing until Start (or Shutdown flushes).
// redactText masks secrets in text (the error reasons of dead letters);
// nil leaves them as they are. New reads the secret and TLS files it is
// configured with; it does not connect.
func New(cfg Config, logger *zap.Logger, redactText func(dst, src []byte) []byte) (*Sink, error) {
	return NewWithStateDir(cfg, "", logger, redactText)
}

// NewWithStateDir is New with the state directory the default dead-letter
// path is under (<stateDir>/dlq/dead-letter.ndjson).
func NewWithStateDir(cfg Config, stateDir string, logger *zap.Logger, redactText func(dst, src []byte) []byte) (*Sink, error) {
	if err := errorsOnly(cfg.Validate()); err != nil {
		return nil, fmt.Errorf("elasticsearch config: %w", err)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	es, err := newClient(cfg, logger)
	if err != nil {
		return nil, err
	}
	return newSink(cfg, es, newDLQWriter(cfg.DeadLetterPath(stateDir), cfg.DeadLetter, redactText), logger), nil
}

func newSink(cfg Config, es performer, dlq *dlqWriter, logger *zap.Logger) *Sink {
	s := &Sink{
		cfg:       cfg,
		log:       logger,
		es:        es,
		dlq:       dlq,
		now:       time.Now,
		opType:    "create",
		slowAfter: 30 * time.Second,
		changed:   make(chan struct{}),
		work:      make(chan struct{}, 1),
		closing:   make(chan struct{}),
	}
	held := int64(cfg.Bulk.MaxInFlightBytes + cfg.Bulk.MaxBytes)
	s.encoders, s.buffers, s.requests = freelist.New[*encoder](held), freelist.New[[]byte](held), freelist.New[*request](held)
	return s
}

// errorsOnly drops the warnings of a Validate result.
func errorsOnly(err error) error {
	if err == nil {
		return nil
	}
	var keep []error
	for _, e := range unjoin(err) {
		var fe *shipper.FieldError
		if errors.As(e, &fe) && fe.Warning {
			continue
		}
		keep = append(keep, e)
	}
	return errors.Join(keep...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// item is one document in a request body: the action line at off, the
// source line at src, ending (after its newline) at end.
type item struct {
	off, src, end int32
	attempts      int32
	ack           *shipper.Ack
}

// request is one bulk request. It holds each distinct Ack of its items
// once, and reserved bytes of the in-flight budget; finish releases both.
type request struct {
	body     []byte
	shared   *shared // body is part of it; nil when r owns body
	items    []item
	acks     []*shipper.Ack
	reserved int64
	attempts int // of the whole request
	timer    *time.Timer
	gen      uint64 // tells a recycled request from its earlier life
}

// add copies item it, which lies in body, to the end of r.
func (r *request) add(body []byte, it item) {
	shift := int32(len(r.body)) - it.off
	r.body = append(r.body, body[it.off:it.end]...)
	r.push(it, shift)
}

// push takes item it, whose bytes are already in r.body, shift bytes from
// where its offsets say: it counts them as reserved and holds its Ack.
func (r *request) push(it item, shift int32) {
	it.off += shift
	it.src += shift
	it.end += shift
	r.items = append(r.items, it)
	r.reserved += int64(it.end - it.off)
	r.hold(it.ack)
}

// shared is a buffer that several holders read: the requests a large
// batch's encoding was cut into, and the bodies the transport reads (see
// body). Each holds a reference; the last to let go recycles the buffer.
type shared struct {
	buf  []byte
	refs atomic.Int32
}

// holder returns the shared buffer r's body lies in. A request that owns
// its body makes it one, with r's reference, when something else must hold
// it too.
func (r *request) holder() *shared {
	if r.shared == nil {
		r.shared = &shared{buf: r.body}
		r.shared.refs.Store(1)
	}
	return r.shared
}

// body is a request body as the transport reads it. net/http may go on
// reading a body after RoundTrip has returned, and closes it when it is
// done, maybe in another goroutine: Elasticsearch may answer before it has
// read the whole body (a 413 on the Content-Length alone), and the round
// trip ends while the body is still being written. So a body holds a
// reference to its buffer until it is closed, and the buffer is not
// recycled into another request or encoder under it.
type body struct {
	bytes.Reader
	s  *Sink
	sh atomic.Pointer[shared]
}

// newBody returns a body reading p, which lies in sh.
func (s *Sink) newBody(sh *shared, p []byte) *body {
	sh.refs.Add(1)
	b := &body{s: s}
	b.Reset(p)
	b.sh.Store(sh)
	return b
}

// Close lets go of the body's buffer. A second Close does nothing.
func (b *body) Close() error {
	if sh := b.sh.Swap(nil); sh != nil {
		b.s.unshare(sh)
	}
	return nil
}

// hold holds ack for r, once however many of r's items it acknowledges.
func (r *request) hold(ack *shipper.Ack) {
	if ack == nil {
		return
	}
	if n := len(r.acks); n > 0 && r.acks[n-1] == ack {
		return
	}
	for _, a := range r.acks {
		if a == ack {
			return
		}
	}
	ack.Hold()
	r.acks = append(r.acks, ack)
}

// encoder is the scratch space of one Write call.
type encoder struct {
	buf      []byte
	items    []item
	id       []byte // scratch for an _id's prefix
	unrouted []int  // events without an index
	doc      shipper.Encoder
	// action is the bulk action line of index up to the offset in its
	// _id, for the events of file: the events of a batch go to a few
	// indices, so it is written once per change.
	index  string
	file   *shipper.File
	action []byte
}

// Write encodes the events of b that are not dropped into bulk requests and
// returns once they are buffered. It holds each event's Ack until the
// event's document is indexed (or already was: 409) or dead-lettered. It
// blocks while the bytes in flight exceed bulk.max_in_flight_bytes, and
// returns ctx.Err() if ctx ends first; on any error none of b's events were
// taken (except that events without an index, a pipeline bug, are
// dead-lettered at once). It does not retain b, its events or their bytes.
func (s *Sink) Write(ctx context.Context, b *shipper.Batch) error {
	enc, ok := s.encoders.Get()
	if !ok {
		enc = new(encoder)
	}
	// take may swap enc.buf for another buffer: size it when it is put back.
	defer func() { s.encoders.Put(enc, int64(cap(enc.buf)+cap(enc.items)*int(unsafe.Sizeof(item{})))) }()
	s.encode(enc, b)
	if len(enc.unrouted) > 0 {
		if err := s.deadLetterUnrouted(ctx, b, enc.unrouted); err != nil {
			return err
		}
	}
	return s.take(ctx, enc)
}

// deadLetterUnrouted writes events without an index (the route stage did
// not run: a bug) to the dead-letter file at once, rather than send them:
// Elasticsearch would refuse their whole request, valid documents included.
func (s *Sink) deadLetterUnrouted(ctx context.Context, b *shipper.Batch, idx []int) error {
	r := &request{}
	var id []byte
	for _, i := range idx {
		ev := &b.Events[i]
		id = shipper.AppendID(id[:0], ev)
		it := item{off: int32(len(r.body))}
		r.body = s.appendAction(r.body, "", id)
		it.src = int32(len(r.body))
		r.body = shipper.AppendSource(r.body, ev)
		r.body = append(r.body, '\n')
		it.end = int32(len(r.body))
		r.items = append(r.items, it)
	}
	all := make([]int, len(idx))
	for i := range all {
		all[i] = i
	}
	if !s.deadLetter(ctx, r, all, func(int) (int, ItemError) {
		return 0, ItemError{Type: "shipper_no_index", Reason: "the event reached the sink without an index name (the pipeline's route stage did not set Event.Index)"}
	}) {
		return ctx.Err()
	}
	return nil
}

// encode appends the action and source lines of b's events that are not
// dropped to enc, which it empties first.
func (s *Sink) encode(enc *encoder, b *shipper.Batch) {
	enc.buf, enc.items, enc.unrouted = enc.buf[:0], enc.items[:0], enc.unrouted[:0]
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.Drop != "" {
			continue
		}
		if ev.Index == "" {
			enc.unrouted = append(enc.unrouted, i)
			continue
		}
		it := item{off: int32(len(enc.buf)), ack: ev.Ack}
		if ev.Index != enc.index || ev.Source.File != enc.file {
			enc.index, enc.file = ev.Index, ev.Source.File
			enc.action = s.appendActionPrefix(enc.action[:0], ev.Index)
			// The part of the _id before the offset is escaped once per
			// file; the offset's digits need no escaping.
			enc.id = shipper.AppendIDPrefix(enc.id[:0], ev.Source.File)
			enc.action = append(enc.action, '"')
			enc.action = jsonscan.AppendEscaped(enc.action, enc.id)
		}
		enc.buf = append(enc.buf, enc.action...)
		enc.buf = strconv.AppendInt(enc.buf, ev.Source.Offset, 10)
		enc.buf = append(enc.buf, "\"}}\n"...)
		it.src = int32(len(enc.buf))
		enc.buf = enc.doc.AppendSource(enc.buf, ev)
		enc.buf = append(enc.buf, '\n')
		it.end = int32(len(enc.buf))
		enc.items = append(enc.items, it)
	}
}

// appendAction appends the bulk action line for a document.
func (s *Sink) appendAction(dst []byte, index string, id []byte) []byte {
	return appendActionEnd(s.appendActionPrefix(dst, index), id)
}

// appendActionEnd appends the rest of an action line after its prefix.
func appendActionEnd(dst, id []byte) []byte {
	dst = jsonscan.AppendString(dst, id)
	return append(dst, "}}\n"...)
}

// appendActionPrefix appends the action line up to the _id's value.
func (s *Sink) appendActionPrefix(dst []byte, index string) []byte {
	dst = append(dst, `{"`...)
	dst = append(dst, s.opType...)
	dst = append(dst, `":{"_index":`...)
	dst = jsonscan.AppendString(dst, index)
	return append(dst, `,"_id":`...)
}

// take moves the encoded documents of enc into bulk requests.
func (s *Sink) take(ctx context.Context, enc *encoder) error {
	if len(enc.items) == 0 {
		return nil
	}
	if err := s.reserve(ctx, int64(len(enc.buf))); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.releaseLocked(int64(len(enc.buf)))
		return ErrClosed
	}
	switch {
	case len(enc.buf) < s.cfg.Bulk.MaxBytes/2 && (s.cfg.Bulk.MaxDocs == 0 || len(enc.items) < s.cfg.Bulk.MaxDocs/2):
		// A small batch, at low volume: it shares a request with others.
		s.copyLocked(enc)
	case s.recyclable(enc.buf):
		s.adoptLocked(enc)
	default:
		// A batch far larger than a request (a small bulk.max_bytes): the
		// encoder keeps its buffer, or it would grow a new one for every
		// batch (a buffer this large is not recyclable). Its documents are
		// copied, and the rest does not wait for later batches either.
		s.copyLocked(enc)
		s.sealLocked()
	}
	s.st.documents.Add(int64(len(enc.items)))
	return nil
}

// copyLocked copies the documents of a small batch into the request being
// filled, which batches share until it is full or the flush interval
// passes: at low volume, many small batches make one request.
func (s *Sink) copyLocked(enc *encoder) {
	for _, it := range enc.items {
		size := int(it.end - it.off)
		if r := s.cur; r != nil && len(r.items) > 0 && len(r.body)+size > s.cfg.Bulk.MaxBytes {
			s.sealLocked()
		}
		if s.cur == nil {
			s.cur = s.newRequest()
			s.cur.body = s.newBuffer()
			if s.started {
				s.armFlush(s.cur)
			}
		}
		s.cur.add(enc.buf, it)
		if len(s.cur.body) >= s.cfg.Bulk.MaxBytes || (s.cfg.Bulk.MaxDocs > 0 && len(s.cur.items) >= s.cfg.Bulk.MaxDocs) {
			s.sealLocked()
		}
	}
}

// adoptLocked sends the documents of a batch that fills at least half a
// request (by bytes or by documents) in requests of their own, cut from
// enc's buffer, which enc gives up for another: copying every document
// into requests was 5% of the agent's CPU. None of them waits for later
// batches to fill it: at this volume the tailer may send none until this
// one is acknowledged (its budget), and the flush interval would then pace
// the agent. The whole buffer lives until its last request finishes, so a
// part being retried keeps the rest of its batch's memory too.
func (s *Sink) adoptLocked(enc *encoder) {
	sh := &shared{buf: enc.buf}
	sh.refs.Store(1) // adoptLocked's own, until every part holds one
	enc.buf = s.newBuffer()
	for items := enc.items; len(items) > 0; {
		n := s.fit(items)
		lo, hi := items[0].off, items[n-1].end
		r := s.newRequest()
		r.body, r.shared = sh.buf[lo:hi:hi], sh
		sh.refs.Add(1)
		for _, it := range items[:n] {
			r.push(it, -lo)
		}
		s.queueLocked(r)
		items = items[n:]
	}
	s.unshare(sh)
}

// fit returns how many of items, at least one, make one request.
func (s *Sink) fit(items []item) int {
	base, n := items[0].off, 1
	for n < len(items) && int(items[n].end-base) <= s.cfg.Bulk.MaxBytes && (s.cfg.Bulk.MaxDocs == 0 || n < s.cfg.Bulk.MaxDocs) {
		n++
	}
	return n
}

// unshare lets go of a reference to sh, recycling its buffer after the last.
func (s *Sink) unshare(sh *shared) {
	if sh.refs.Add(-1) == 0 {
		s.putBuffer(sh.buf)
	}
}

// reserve takes n bytes of the in-flight budget, waiting while it is spent.
// A single batch larger than the budget goes through when nothing else is
// in flight, so it cannot block forever.
func (s *Sink) reserve(ctx context.Context, n int64) error {
	s.mu.Lock()
	for s.inflight > 0 && s.inflight+n > int64(s.cfg.Bulk.MaxInFlightBytes) && !s.closed {
		ch := s.changed
		s.mu.Unlock()
		s.st.blocked.Add(1)
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
	s.inflight += n
	s.mu.Unlock()
	return nil
}

func (s *Sink) release(n int64) {
	s.mu.Lock()
	s.releaseLocked(n)
	s.mu.Unlock()
}

func (s *Sink) releaseLocked(n int64) {
	if n == 0 {
		return
	}
	s.inflight -= n
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Sink) sealLocked() {
	r := s.cur
	if r == nil {
		return
	}
	s.cur = nil
	if r.timer != nil {
		r.timer.Stop()
	}
	s.queueLocked(r)
}

// queueLocked hands a sealed request to the workers.
func (s *Sink) queueLocked(r *request) {
	s.queue = append(s.queue, r)
	select {
	case s.work <- struct{}{}:
	default:
	}
}

// armFlush seals r once the flush interval has passed, unless it was
// sealed before. A timer that fired just as r was sealed, sent and recycled
// finds another generation and does nothing.
func (s *Sink) armFlush(r *request) {
	s.gen++
	r.gen = s.gen
	gen := r.gen
	r.timer = time.AfterFunc(s.cfg.Bulk.FlushInterval, func() {
		s.mu.Lock()
		if s.cur == r && r.gen == gen {
			s.sealLocked()
		}
		s.mu.Unlock()
	})
}

// newRequest returns an empty request without a body, reusing the slices
// of a finished one when it can.
func (s *Sink) newRequest() *request {
	if r, ok := s.requests.Get(); ok {
		return r
	}
	return &request{}
}

// newBuffer returns an empty buffer for a request body or an encoder,
// reusing a finished request's when it can.
func (s *Sink) newBuffer() []byte {
	if b, ok := s.buffers.Get(); ok {
		return b
	}
	return make([]byte, 0, min(s.cfg.Bulk.MaxBytes+s.cfg.Bulk.MaxBytes/8, 8<<20))
}

// putBuffer keeps b for newBuffer, within the list's bound, if it is
// recyclable.
func (s *Sink) putBuffer(b []byte) {
	if s.recyclable(b) {
		s.buffers.Put(b[:0], int64(cap(b)))
	}
}

// recyclable reports whether b may go back to the free list: not when an
// outsized document or batch grew it past twice a request, since it would
// then serve as the body of small requests, larger than the budget counts.
func (s *Sink) recyclable(b []byte) bool { return cap(b) <= 2*s.cfg.Bulk.MaxBytes }

// recycle keeps a finished request's body and slices for the next one.
func (s *Sink) recycle(r *request) {
	if r.shared != nil {
		s.unshare(r.shared)
	} else {
		s.putBuffer(r.body)
	}
	clear(r.items)
	clear(r.acks)
	*r = request{items: r.items[:0], acks: r.acks[:0]}
	s.requests.Put(r, int64(cap(r.items))*int64(unsafe.Sizeof(item{}))+int64(cap(r.acks))*8)
}

// Start starts the bulk workers and returns. ctx is for starting only: the
// workers run until Shutdown.
func (s *Sink) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("sink already started")
	}
	if s.closed {
		return ErrClosed
	}
	s.started = true
	s.runCtx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.done = make(chan struct{})
	if r := s.cur; r != nil && r.timer == nil {
		s.armFlush(r)
	}
	for range s.cfg.Bulk.Workers {
		s.workers.Go(func() {
			snd := newSender(s)
			for r := s.next(); r != nil; r = s.next() {
				s.send(s.runCtx, snd, r)
			}
		})
	}
	go func() {
		s.workers.Wait()
		close(s.done)
	}()
	return nil
}

// next returns the next sealed request, or nil once the sink is shut down
// and the queue is empty.
func (s *Sink) next() *request {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			r := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			if len(s.queue) > 0 {
				select {
				case s.work <- struct{}{}:
				default:
				}
			}
			s.mu.Unlock()
			return r
		}
		closed := s.closed
		s.mu.Unlock()
		if closed || s.runCtx.Err() != nil {
			return nil
		}
		select {
		case <-s.work:
		case <-s.closing:
		case <-s.runCtx.Done():
		}
	}
}

// Shutdown stops taking writes and sends what is buffered, retrying as
// usual, until ctx ends; then it abandons what is left (its Acks stay held,
// so those lines are read again at the next start) and returns ctx.Err().
// It is idempotent and safe without Start (it then sends in the caller's
// goroutine).
func (s *Sink) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Sink) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.sealLocked()
	close(s.closing)
	close(s.changed) // wake blocked writers: they see closed
	s.changed = make(chan struct{})
	started := s.started
	s.mu.Unlock()

	var err error
	if started {
		select {
		case <-s.done:
		case <-ctx.Done():
			s.cancel()
			<-s.done
			err = fmt.Errorf("flushing Elasticsearch bulk requests: %w", ctx.Err())
		}
		s.cancel()
	} else {
		snd := newSender(s)
		for {
			s.mu.Lock()
			var r *request
			if len(s.queue) > 0 {
				r = s.queue[0]
				s.queue = s.queue[1:]
			}
			s.mu.Unlock()
			if r == nil {
				break
			}
			s.send(ctx, snd, r)
			if ctx.Err() != nil {
				err = fmt.Errorf("flushing Elasticsearch bulk requests: %w", ctx.Err())
				break
			}
		}
	}
	closeClient(s.es)
	if cerr := s.dlq.close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("closing dead-letter file: %w", cerr))
	}
	s.mu.Lock()
	left := s.queue
	s.queue = nil
	s.mu.Unlock()
	for _, r := range left {
		s.abandon(r)
	}
	if n := s.st.abandoned.Load(); n > 0 {
		s.log.Warn("shut down with documents unsent; their lines will be read again at the next start", zap.Int64("documents", n))
	}
	return err
}

// finish releases a request's Acks and the bytes it reserved.
func (s *Sink) finish(r *request) {
	for _, a := range r.acks {
		a.Release()
	}
	s.release(r.reserved)
	s.recycle(r)
}

// abandon gives up a request at shutdown without acknowledging it.
func (s *Sink) abandon(r *request) {
	s.st.abandoned.Add(int64(len(r.items)))
	s.release(r.reserved)
}

// sub builds a request of some of r's items, which takes over their bytes
// of r's reservation and holds their Acks itself.
func (s *Sink) sub(r *request, idx []int) *request {
	n := s.newRequest()
	n.body = s.newBuffer()
	n.attempts = r.attempts
	for _, i := range idx {
		it := r.items[i]
		n.add(r.body, it)
	}
	r.reserved -= n.reserved
	return n
}

// backoff waits before retry number attempt (1-based): exponential, capped
// at max_backoff, with jitter so that many agents do not retry in step.
func (s *Sink) backoff(ctx context.Context, attempt int) error {
	d := s.cfg.Retry.InitialBackoff
	for i := 1; i < attempt && d < s.cfg.Retry.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.Retry.MaxBackoff)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sender is one worker's reusable state: the gzip writer, and the buffer
// bulk responses are read into (not a sync.Pool: see freelist).
type sender struct {
	gz   gzipWriter
	out  appendWriter // what gz writes to
	resp bytes.Buffer
}

func newSender(s *Sink) *sender {
	snd := &sender{}
	if s.cfg.Bulk.Compression {
		snd.gz = newGzip()
	}
	return snd
}

// appendWriter appends what is written to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// compress returns body gzipped, in a buffer from the free list.
func (s *Sink) compress(snd *sender, body []byte) ([]byte, error) {
	snd.out.b = s.newBuffer()
	snd.gz.Reset(&snd.out)
	_, err := snd.gz.Write(body)
	if err == nil {
		err = snd.gz.Close()
	}
	out := snd.out.b
	snd.out.b = nil
	return out, err
}

// perform sends r's body once. The bytes sent (r's, or their compression)
// are held by the request's body until the transport closes it.
func (s *Sink) perform(ctx context.Context, snd *sender, r *request) (*http.Response, error) {
	var sh *shared
	payload := r.body
	if snd.gz == nil {
		sh = r.holder()
	} else {
		var err error
		payload, err = s.compress(snd, r.body)
		sh = &shared{buf: payload}
		sh.refs.Store(1) // perform's own, until the body holds one
		defer s.unshare(sh)
		if err != nil {
			return nil, fmt.Errorf("compressing bulk body: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, bulkPath, s.newBody(sh, payload))
	if err != nil {
		return nil, err
	}
	// What http.NewRequest sets for a bytes.Reader: net/http sends a
	// request again on a new connection when a kept-alive one turns out to
	// be closed before anything was written.
	req.GetBody = func() (io.ReadCloser, error) { return s.newBody(sh, payload), nil }
	req.ContentLength = int64(len(payload))
	req.Header.Set("Content-Type", "application/x-ndjson")
	if snd.gz != nil {
		req.Header.Set("Content-Encoding", "gzip")
	}
	s.st.requests.Add(1)
	s.st.bytesSent.Add(int64(len(payload)))
	s.st.bytesRaw.Add(int64(len(r.body)))
	docs := len(r.items)
	slow := time.AfterFunc(s.slowAfter, func() {
		s.log.Warn("Elasticsearch has not answered a bulk request yet; still waiting (a slow or hung cluster)",
			zap.Duration("waiting", s.slowAfter), zap.Int("documents", docs))
	})
	defer slow.Stop()
	if s.observe == nil {
		return s.es.Perform(req)
	}
	start := time.Now()
	resp, err := s.es.Perform(req)
	outcome := "error"
	if err == nil {
		outcome = string('0'+byte(resp.StatusCode/100)) + "xx"
	}
	s.observe(time.Since(start), outcome)
	return resp, err
}

// Stats is a snapshot of the sink's counters.
type Stats struct {
	// Documents is documents taken by Write.
	Documents int64
	// Indexed is documents Elasticsearch created.
	Indexed int64
	// Duplicates is documents refused with 409 because their _id was
	// stored already (a replay): counted as delivered.
	Duplicates int64
	// DeadLettered is documents written to the dead-letter file.
	DeadLettered int64
	// DeadLetterErrors is failed writes to the dead-letter file (retried).
	DeadLetterErrors int64
	// ItemRetries is documents re-sent after a per-item 429 or 5xx.
	ItemRetries int64
	// RequestRetries is whole requests re-sent after a 429, 5xx or
	// connection error.
	RequestRetries int64
	// Requests is bulk requests sent, retries included.
	Requests int64
	// BytesSent is request bytes on the wire (compressed when on).
	BytesSent int64
	// BytesUncompressed is the same requests before compression.
	BytesUncompressed int64
	// Abandoned is documents left unsent at shutdown (read again at the
	// next start).
	Abandoned int64
	// BlockedWrites is how often Write waited for in-flight bytes.
	BlockedWrites int64
	// InFlightBytes is bytes buffered or being sent now.
	InFlightBytes int64
	// Queued is sealed requests waiting for a worker now.
	Queued int64
}

type counters struct {
	documents, indexed, duplicates, deadLettered, dlqErrors    atomic.Int64
	itemRetries, requestRetries, requests, bytesSent, bytesRaw atomic.Int64
	abandoned, blocked                                         atomic.Int64
}

// Stats returns a snapshot of the counters.
func (s *Sink) Stats() Stats {
	s.mu.Lock()
	inflight, queued := s.inflight, int64(len(s.queue))
	s.mu.Unlock()
	return Stats{
		Documents:         s.st.documents.Load(),
		Indexed:           s.st.indexed.Load(),
		Duplicates:        s.st.duplicates.Load(),
		DeadLettered:      s.st.deadLettered.Load(),
		DeadLetterErrors:  s.st.dlqErrors.Load(),
		ItemRetries:       s.st.itemRetries.Load(),
		RequestRetries:    s.st.requestRetries.Load(),
		Requests:          s.st.requests.Load(),
		BytesSent:         s.st.bytesSent.Load(),
		BytesUncompressed: s.st.bytesRaw.Load(),
		Abandoned:         s.st.abandoned.Load(),
		BlockedWrites:     s.st.blocked.Load(),
		InFlightBytes:     inflight,
		Queued:            queued,
	}
}

var _ performer = (*elasticsearch.Client)(nil)

// CloseClient closes a client from NewClient: it stops the client's
// background work (dead-node resurrection timers), waiting at most a
// second.
func CloseClient(c *elasticsearch.Client) { closeClient(c) }

// closeClient is CloseClient for any performer; one that cannot be closed
// is left as it is.
func closeClient(es performer) {
	if c, ok := es.(interface{ Close(context.Context) error }); ok {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = c.Close(ctx)
	}
}
