package enrich

import (
	"fmt"
	"os"
	"regexp"
	"sync"
	"sync/atomic"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// maxServiceLen bounds a service.name or host.name value; longer values
// are not names.
const maxServiceLen = 256

// Enricher is the enrich stage. It is safe for concurrent use: Process
// keeps its per-event state on the caller's stack and shares only
// read-mostly caches (service names, per-path Kubernetes metadata) and
// atomic counters.
type Enricher struct {
	cfg      Config
	host     string
	service  string // fallback service.name (the input's or the pipeline's)
	patterns []pattern
	sh       *shared
}

type pattern struct {
	re                  *regexp.Regexp
	trace, span, parent int // submatch indices, or -1
}

// shared is what an Enricher and its ForInput copies share.
type shared struct {
	services interner
	kube     kubeCache
	// readlink follows one symbolic link; os.Readlink in production.
	readlink func(string) (string, error)
	c        counters
}

// New builds an Enricher from a valid cfg. env looks up environment
// variables (os.Getenv in production; nil means none are set); only
// NODE_NAME is read, and only now.
func New(cfg Config, env func(string) string) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("enrich config: %w", err)
	}
	e := &Enricher{cfg: cfg, host: cfg.HostName, service: cfg.Service.Name, sh: &shared{readlink: os.Readlink}}
	if e.host == "" && env != nil {
		if h := env("NODE_NAME"); len(h) <= maxServiceLen {
			e.host = h
		}
	}
	for _, p := range cfg.Trace.Patterns {
		re := regexp.MustCompile(p) // validated above
		e.patterns = append(e.patterns, pattern{re: re, trace: re.SubexpIndex("trace_id"),
			span: re.SubexpIndex("span_id"), parent: re.SubexpIndex("parent_id")})
	}
	return e, nil
}

// ForInput returns an Enricher for one input of the pipeline whose
// `service` setting is service: events that name no service and come from
// no Kubernetes container get it as service.name. An empty service keeps
// the pipeline's enrich.service.name. The copy shares e's caches and
// counters; building it costs one small allocation, so build it once per
// input, not per batch.
func (e *Enricher) ForInput(service string) *Enricher {
	c := *e
	if service != "" {
		c.service = service
	}
	return &c
}

// Process sets the trace context, service, host and Kubernetes metadata of
// every event of b; see the package doc for the rules.
func (e *Enricher) Process(b *shipper.Batch) {
	var sc scratch
	var lc localCounts
	var svc recentServices
	var file *shipper.File
	var kube *shipper.Kubernetes
	for i := range b.Events {
		ev := &b.Events[i]
		if f := ev.Source.File; f != file {
			file, kube = f, e.kubeFor(f)
		}
		sc.reset()
		e.event(b, ev, kube, &sc, &svc, &lc)
	}
	e.sh.c.add(&lc, len(b.Events))
}

func (e *Enricher) kubeFor(f *shipper.File) *shipper.Kubernetes {
	if f == nil || !e.cfg.Kubernetes.FromPath {
		return nil
	}
	var rl func(string) (string, error)
	if e.cfg.Kubernetes.ResolveSymlinks {
		rl = e.sh.readlink
	}
	return e.sh.kube.get(f.Path, rl)
}

// event enriches one event. sc has been reset.
func (e *Enricher) event(b *shipper.Batch, ev *shipper.Event, kube *shipper.Kubernetes, sc *scratch, svc *recentServices, lc *localCounts) {
	members := ev.Doc.Members
	sc.scanKeys(members)
	if sc.nc > 0 {
		sc.scanMembers(members)
	}
	if sc.msg >= 0 && !sc.anyTrace() && (e.cfg.Trace.ScanMessage || len(e.patterns) > 0) {
		if raw, ok := jsonscan.StringContents(members[sc.msg].Value); ok {
			r := ref{int16(sc.msg), -1}
			if len(e.patterns) > 0 {
				e.matchPatterns(raw, sc.group(convPattern), r)
			}
			if e.cfg.Trace.ScanMessage {
				scanText(raw, sc.group(convMessage), r)
			}
			if sc.x != nil {
				sc.x.text(sc)
			}
		}
	}
	res := sc.resolve()
	if res.hasTrace {
		ev.TraceID = res.trace
		lc.trace++
		lc.bySource[res.traceFrom]++
	}
	if res.hasSpan {
		ev.SpanID = res.span
		lc.span++
	}
	if res.hasPar {
		ev.ParentID = res.parent
		lc.parent++
	}
	if res.sampled != shipper.SampledUnknown {
		ev.Sampled = res.sampled
	}
	if sc.invalid {
		ev.Tags |= shipper.TagTraceIDInvalid
		lc.invalid++
	}
	if res.conflict {
		lc.conflict++
	}
	if sc.x != nil {
		sc.x.result(&res, sc.invalid)
	}

	var ops opList
	if res.hasTrace || res.hasSpan || res.hasPar {
		e.idOps(&ops, sc, &res)
	}

	// service.name
	name, from := e.serviceName(b, members, sc, svc, &ops)
	switch {
	case name != "":
	case kube != nil && kube.ContainerName != "":
		name, from = kube.ContainerName, "the Kubernetes container name"
	case e.service != "":
		name, from = e.service, "the input's service setting"
	}
	if name != "" {
		ev.Service = name
		lc.service++
		if i := sc.svc[kSvcFlat-kSvcFlat]; i >= 0 && !ops.removes(i) {
			ops.rename(i, keyServiceNameApp)
		}
		if sc.x != nil {
			sc.x.notef("service.name %q from %s", name, from)
		}
	}
	if e.host != "" {
		ev.Host = e.host
		if sc.host >= 0 {
			ops.rename(int16(sc.host), keyHostNameApp)
		}
	}
	if kube != nil {
		ev.Kube = kube
		if sc.x != nil {
			sc.x.notef("kubernetes metadata from the path (namespace %q, pod %q, container %q)", kube.Namespace, kube.PodName, kube.ContainerName)
		}
	}
	ops.apply(b, ev, sc.x)
	if res.hasSpan && sc.txn < 0 && e.cfg.Trace.TransactionID == TransactionIDSpanID {
		// The parser cut the members' capacity, so this append copies
		// rather than overwrite the next event's members; it allocates,
		// which only this option pays for.
		v := b.Alloc(2 + 2*len(res.span))
		v[0], v[len(v)-1] = '"', '"'
		hexEncode(v[1:len(v)-1], res.span[:])
		ev.Doc.Members = append(ev.Doc.Members[:len(ev.Doc.Members):len(ev.Doc.Members)],
			shipper.Member{Key: keyTransactionID, Value: v})
		if sc.x != nil {
			sc.x.notef("transaction.id %s from span.id (trace.transaction_id: span_id)", res.span)
		}
	}
}

var keyTransactionID = []byte("transaction.id")

func hexEncode(dst, src []byte) {
	const digits = "0123456789abcdef"
	for i, c := range src {
		dst[2*i], dst[2*i+1] = digits[c>>4], digits[c&15]
	}
}

// The keys the agent gives an application's flat member that would
// otherwise repeat a field the encoder writes; the suffix is the encoder's
// (shipper.CollisionSuffix).
type appKey uint8

const (
	noRename appKey = iota
	keyTraceIDApp
	keySpanIDApp
	keyParentIDApp
	keyServiceNameApp
	keyHostNameApp
)

var appKeys = [...][]byte{
	keyTraceIDApp:     []byte("trace.id" + shipper.CollisionSuffix),
	keySpanIDApp:      []byte("span.id" + shipper.CollisionSuffix),
	keyParentIDApp:    []byte("parent.id" + shipper.CollisionSuffix),
	keyServiceNameApp: []byte("service.name" + shipper.CollisionSuffix),
	keyHostNameApp:    []byte("host.name" + shipper.CollisionSuffix),
}

// idOps decides which id members go: the ECS-named ones the agent now
// writes itself, always; the other sources when configured.
func (e *Enricher) idOps(ops *opList, sc *scratch, res *result) {
	if res.hasTrace {
		e.idOp(ops, sc, res.traceFrom, res.traceRef, 0, keyTraceIDApp)
	}
	if res.hasSpan {
		e.idOp(ops, sc, res.spanFrom, res.spanRef, 1, keySpanIDApp)
	}
	if res.hasPar {
		e.idOp(ops, sc, res.parentFrom, res.parentRef, 2, keyParentIDApp)
	}
}

func (e *Enricher) idOp(ops *opList, sc *scratch, from conv, r ref, slot int, app appKey) {
	if from == convECS || (e.cfg.Trace.RemoveSourceFields && from < convPattern) {
		ops.remove(r)
	}
	if i := sc.flatECS[slot]; i >= 0 && (from != convECS || r != ref{i, -1}) {
		ops.rename(i, app)
	}
}

// serviceName returns the first valid service name the event's members
// give, in the documented order, and the ops that avoid a duplicate.
func (e *Enricher) serviceName(b *shipper.Batch, members []shipper.Member, sc *scratch, svc *recentServices, ops *opList) (string, string) {
	for p, idx := range sc.svc {
		if idx < 0 {
			continue
		}
		k := kSvcFlat + kind(p)
		v := members[idx].Value
		r := ref{idx, -1}
		if k == kService && len(v) > 0 && v[0] == '{' {
			// service: {name: …}: the encoder merges the object into its
			// own service object, so the name it came from must go.
			ord := int16(-1)
			found := false
			jsonscan.EachMember(v, func(key, val []byte) bool {
				ord++
				if ord >= maxInner {
					return false
				}
				if string(key) == "name" {
					v, r.inner, found = val, ord, true
				}
				return true
			})
			if !found {
				continue
			}
		}
		s, ok := sc.str(v)
		if !ok || len(s) == 0 || len(s) > maxServiceLen {
			continue
		}
		if k == kSvcFlat || k == kService {
			ops.remove(r)
		}
		return svc.get(&e.sh.services, s), serviceSourceNames[p]
	}
	return "", ""
}

var serviceSourceNames = [...]string{"service.name", "service", "app", "application", "serviceName"}

func (sc *scratch) anyTrace() bool {
	for c := conv(0); c < numConv; c++ {
		if sc.touched&(1<<c) != 0 && sc.groups[c].c.hasTrace {
			return true
		}
	}
	return false
}

func (e *Enricher) matchPatterns(text []byte, g *group, r ref) {
	for _, p := range e.patterns {
		m := p.re.FindSubmatchIndex(text)
		if m == nil {
			continue
		}
		sub := func(i int) []byte {
			if i < 0 || m[2*i] < 0 {
				return nil
			}
			return text[m[2*i]:m[2*i+1]]
		}
		setFromText(g, r, sub(p.trace), sub(p.span), sub(p.parent))
		if g.c.hasTrace {
			return
		}
	}
}

// recentServices remembers the last few service names of a batch: the
// events of one file name one service, or a handful when a process logs
// for several, so most events need neither the interner's lock (which
// every worker shares) nor an allocation.
type recentServices struct {
	s    [8]string
	next int
}

func (r *recentServices) get(in *interner, b []byte) string {
	for _, s := range r.s {
		if s != "" && s == string(b) {
			return s
		}
	}
	s := in.get(b)
	r.s[r.next] = s
	r.next = (r.next + 1) % len(r.s)
	return s
}

// maxInterned bounds the interner: service names are few, and a hostile
// stream of distinct names must not grow memory without bound.
const maxInterned = 4096

// interner turns service names into strings without allocating for names
// seen before. Strings on events must not point into batch memory, which is
// reused.
type interner struct {
	mu sync.RWMutex
	m  map[string]string
}

func (in *interner) get(b []byte) string {
	in.mu.RLock()
	s, ok := in.m[string(b)]
	in.mu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	in.mu.Lock()
	if in.m == nil {
		in.m = make(map[string]string)
	}
	if len(in.m) < maxInterned {
		in.m[s] = s
	}
	in.mu.Unlock()
	return s
}

// op is one edit of an event's members, applied after the event was read.
type op struct {
	member int16
	inner  int16  // < 0: the whole member
	rename appKey // not noRename: give the member this key instead
}

// maxOps bounds the edits per event (three ids, service, host and a few
// renames fit).
const maxOps = 10

type opList struct {
	ops [maxOps]op
	n   int
}

func (l *opList) add(o op) {
	for _, p := range l.ops[:l.n] {
		if p.member == o.member && p.inner == o.inner && p.rename == o.rename {
			return
		}
	}
	if l.n < maxOps {
		l.ops[l.n] = o
		l.n++
	}
}

func (l *opList) remove(r ref) {
	if r.member >= 0 {
		l.add(op{member: r.member, inner: r.inner})
	}
}

func (l *opList) rename(member int16, key appKey) { l.add(op{member: member, inner: -1, rename: key}) }

// removes reports whether member i is removed whole.
func (l *opList) removes(i int16) bool {
	for _, p := range l.ops[:l.n] {
		if p.member == i && p.inner < 0 && p.rename == noRename {
			return true
		}
	}
	return false
}

// apply edits ev.Doc: renames, then nested members removed by rewriting
// their object into b's memory, then whole members deleted from the last.
func (l *opList) apply(b *shipper.Batch, ev *shipper.Event, x *explainer) {
	if l.n == 0 {
		return
	}
	ms := ev.Doc.Members
	for _, o := range l.ops[:l.n] {
		if o.rename != noRename && !l.removes(o.member) {
			if x != nil {
				x.notef("member %q renamed %q so that it does not repeat the agent's field", ms[o.member].Key, appKeys[o.rename])
			}
			ms[o.member].Key = appKeys[o.rename]
		}
	}
	for i, o := range l.ops[:l.n] {
		if o.rename != noRename || o.inner < 0 || l.removes(o.member) {
			continue
		}
		done := false
		for _, p := range l.ops[:i] {
			if p.member == o.member && p.inner >= 0 && p.rename == noRename {
				done = true // the object was rewritten for an earlier op
			}
		}
		if done {
			continue
		}
		var drop uint64
		for _, p := range l.ops[i:l.n] {
			if p.member == o.member && p.inner >= 0 && p.inner < 64 && p.rename == noRename {
				drop |= 1 << p.inner
			}
		}
		obj, empty := withoutMembers(b, ms[o.member].Value, drop)
		if x != nil {
			x.notef("rewrote %q without the member(s) the agent writes itself", ms[o.member].Key)
		}
		if empty {
			l.add(op{member: o.member, inner: -1})
		} else {
			ms[o.member].Value = obj
		}
	}
	// Whole members, highest index first so earlier indices stay valid.
	for {
		best := int16(-1)
		for _, o := range l.ops[:l.n] {
			if o.inner < 0 && o.rename == noRename && o.member > best {
				best = o.member
			}
		}
		if best < 0 {
			break
		}
		if x != nil {
			x.notef("removed member %q", ev.Doc.Members[best].Key)
		}
		ev.Doc.Delete(int(best))
		for j := range l.ops[:l.n] {
			if l.ops[j].member == best {
				l.ops[j].member = -1
			}
		}
	}
}

// withoutMembers returns obj without the members whose ordinal is set in
// drop, written into b's memory, and whether nothing is left.
func withoutMembers(b *shipper.Batch, obj []byte, drop uint64) ([]byte, bool) {
	out, n := jsonscan.AppendObjectWithout(b.Alloc(len(obj))[:0], obj, func(i int, _ []byte) bool {
		return i < 64 && drop&(1<<i) != 0
	})
	return out, n == 0
}

// Stats is a snapshot of the stage's counters since New.
type Stats struct {
	// Events is the number of events processed.
	Events uint64
	// TraceIDs, SpanIDs and ParentIDs count the events given a trace.id,
	// span.id and parent.id.
	TraceIDs, SpanIDs, ParentIDs uint64
	// Invalid counts events tagged _trace_id_invalid.
	Invalid uint64
	// Conflicts counts events whose sources named different trace ids; the
	// one of higher precedence was kept.
	Conflicts uint64
	// Services counts events given a service.name.
	Services uint64
	// TraceIDsBySource counts the events given a trace.id per convention
	// ("ecs", "field", "traceparent", "b3", "b3_multi", "jaeger", "xray",
	// "datadog", "gcp", "pattern", "message").
	TraceIDsBySource map[string]uint64
}

type counters struct {
	events, trace, span, parent, invalid, conflict, service atomic.Uint64
	bySource                                                [numConv]atomic.Uint64
}

type localCounts struct {
	trace, span, parent, invalid, conflict, service uint64
	bySource                                        [numConv]uint64
}

func (c *counters) add(l *localCounts, events int) {
	c.events.Add(uint64(events))
	for _, p := range []struct {
		a *atomic.Uint64
		n uint64
	}{{&c.trace, l.trace}, {&c.span, l.span}, {&c.parent, l.parent}, {&c.invalid, l.invalid}, {&c.conflict, l.conflict}, {&c.service, l.service}} {
		if p.n != 0 {
			p.a.Add(p.n)
		}
	}
	for i, n := range l.bySource {
		if n != 0 {
			c.bySource[i].Add(n)
		}
	}
}

// Stats returns the counters of e and every Enricher made from it by
// ForInput.
func (e *Enricher) Stats() Stats {
	c := &e.sh.c
	s := Stats{
		Events: c.events.Load(), TraceIDs: c.trace.Load(), SpanIDs: c.span.Load(), ParentIDs: c.parent.Load(),
		Invalid: c.invalid.Load(), Conflicts: c.conflict.Load(), Services: c.service.Load(),
		TraceIDsBySource: make(map[string]uint64, numConv),
	}
	for i := range c.bySource {
		s.TraceIDsBySource[convNames[i]] = c.bySource[i].Load()
	}
	return s
}
