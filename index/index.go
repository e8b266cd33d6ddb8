// Package index turns Logstash-style index name patterns such as
// "shipper-%{[service.name]}-%{+yyyy.MM.dd}" into Elasticsearch index names,
// one per event, from the event's own fields and its own @timestamp in UTC
// (never the wall clock, so late and backfilled lines land in the index of
// their day).
//
// A Pattern is compiled once per pipeline and is the pipeline's route stage
// (Process). Names are cached per (time bucket, field values), so the hot
// path is a map lookup that does not allocate.
package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// MaxNameBytes is Elasticsearch's limit on the length of an index name.
const MaxNameBytes = 255

// cacheLimit bounds the name cache. A pattern whose field takes unbounded
// values (a request id by mistake) would otherwise grow it forever; past the
// limit the cache is emptied and refilled, which costs allocations but keeps
// memory bounded.
const cacheLimit = 8192

// maxKeyValue bounds the bytes of one field value that take part in the cache
// key and the name; longer values are cut (names are capped anyway).
const maxKeyValue = 255

type partKind uint8

const (
	partLiteral partKind = iota
	partField
	partDate
)

type part struct {
	kind partKind
	lit  string      // partLiteral
	fld  field       // partField
	date []dateToken // partDate
	// first marks the part that starts the name: its value must not begin
	// with a character Elasticsearch refuses there.
	first bool
}

type fieldKind uint8

const (
	fieldDoc fieldKind = iota
	fieldService
	fieldHost
	fieldNamespace
	fieldPod
	fieldContainer
	fieldLevel
)

type field struct {
	kind fieldKind
	path string // dotted path, as written in the pattern after normalising
}

// Pattern is a compiled index name pattern. It is safe for concurrent use.
type Pattern struct {
	src      string
	fallback string
	parts    []part
	nfields  int
	// res is the width in seconds of the time bucket the date tokens need
	// (3600 with an hour token, 86400 otherwise); 0 without date tokens.
	res int64
	// valueCap is the most bytes one field value may take in a name, so that
	// a name never exceeds MaxNameBytes and keeps the pattern's shape.
	valueCap int
	// dataStream replaces '-' in field values, as data stream names
	// (logs-<dataset>-<namespace>) allow no '-' inside their parts.
	dataStream bool

	mu    sync.RWMutex
	cache map[string]string
}

// Compile parses a Logstash-style pattern. Field references are written
// %{[service.name]}, %{[service][name]} or %{service.name}; dates are
// %{+FORMAT} with the Joda-style tokens yyyy (or YYYY), yy, MM, dd, HH,
// xxxx (ISO week-based year), ww (ISO week), any other non-letter characters
// and 'quoted text' taken literally. fallback replaces a field that is
// missing, empty or not a string, number or boolean.
func Compile(pattern, fallback string) (*Pattern, error) {
	return compile(pattern, fallback, false)
}

func compile(pattern, fallback string, dataStream bool) (*Pattern, error) {
	if pattern == "" {
		return nil, errors.New("index pattern is empty")
	}
	p := &Pattern{src: pattern, fallback: fallback, dataStream: dataStream, cache: make(map[string]string)}
	if err := p.parse(); err != nil {
		return nil, err
	}
	if p.nfields > 0 {
		if fallback == "" {
			return nil, errors.New("fallback is empty: a pattern with field references needs one for events that lack the field")
		}
		if err := checkFallback(fallback, dataStream); err != nil {
			return nil, err
		}
	}
	fixed := 0
	for _, pt := range p.parts {
		switch pt.kind {
		case partLiteral:
			fixed += len(pt.lit)
		case partDate:
			fixed += dateWidth(pt.date)
		}
	}
	if fixed > MaxNameBytes {
		return nil, fmt.Errorf("index pattern %q yields names longer than %d bytes", pattern, MaxNameBytes)
	}
	if p.nfields > 0 {
		p.valueCap = (MaxNameBytes - fixed) / p.nfields
		if p.valueCap < len(fallback) {
			return nil, fmt.Errorf("index pattern %q leaves %d bytes per field value, less than the fallback %q", pattern, p.valueCap, fallback)
		}
	}
	return p, nil
}

func checkFallback(fallback string, dataStream bool) error {
	if s := sanitize(nil, []byte(fallback), true, dataStream); string(s) != fallback {
		return fmt.Errorf("fallback %q is not valid in an index name (lower-case, no spaces or any of \\/*?\"<>|,#: and no leading -_+.; %q would be)", fallback, s)
	}
	return nil
}

func (p *Pattern) parse() error {
	s := p.src
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.parts = append(p.parts, part{kind: partLiteral, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if !strings.HasPrefix(s[i:], "%{") {
			lit.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		// A field reference %{[a][b]} contains no '}' before its end.
		if end < 0 {
			return fmt.Errorf("index pattern %q: %%{ at byte %d is not closed by }", s, i)
		}
		ref := s[i+2 : i+end]
		flush()
		if strings.HasPrefix(ref, "+") {
			toks, err := parseDate(ref[1:])
			if err != nil {
				return fmt.Errorf("index pattern %q: %w", s, err)
			}
			p.parts = append(p.parts, part{kind: partDate, date: toks})
			for _, t := range toks {
				r := int64(86400)
				if t.kind == tokHour {
					r = 3600
				}
				if p.res == 0 || r < p.res {
					p.res = r
				}
			}
		} else {
			path, err := fieldPath(ref)
			if err != nil {
				return fmt.Errorf("index pattern %q: %w", s, err)
			}
			p.parts = append(p.parts, part{kind: partField, fld: newField(path)})
			p.nfields++
		}
		i += end + 1
	}
	flush()
	p.parts[0].first = true
	for i, pt := range p.parts {
		if pt.kind != partLiteral {
			continue
		}
		if bad := invalidLiteral(pt.lit, i == 0); bad != "" {
			return fmt.Errorf("index pattern %q: literal text %q %s", s, pt.lit, bad)
		}
	}
	for _, pt := range p.parts {
		if pt.kind == partDate {
			for _, t := range pt.date {
				if t.kind == tokLiteral {
					if bad := invalidLiteral(t.lit, false); bad != "" {
						return fmt.Errorf("index pattern %q: date text %q %s", s, t.lit, bad)
					}
				}
			}
		}
	}
	return nil
}

// fieldPath normalises [a][b], [a.b] and a.b to "a.b".
func fieldPath(ref string) (string, error) {
	if ref == "" {
		return "", errors.New("empty field reference %{}")
	}
	if ref[0] != '[' {
		if strings.ContainsAny(ref, "[]") {
			return "", fmt.Errorf("field reference %%{%s}: brackets must enclose the whole name, as in %%{[a][b]}", ref)
		}
		return ref, nil
	}
	var segs []string
	for rest := ref; rest != ""; {
		if rest[0] != '[' {
			return "", fmt.Errorf("field reference %%{%s}: expected [ at %q", ref, rest)
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", fmt.Errorf("field reference %%{%s}: [ not closed", ref)
		}
		seg := rest[1:end]
		if seg == "" {
			return "", fmt.Errorf("field reference %%{%s}: empty []", ref)
		}
		segs = append(segs, seg)
		rest = rest[end+1:]
	}
	return strings.Join(segs, "."), nil
}

func newField(path string) field {
	f := field{kind: fieldDoc, path: path}
	switch path {
	case "service.name":
		f.kind = fieldService
	case "host.name":
		f.kind = fieldHost
	case "kubernetes.namespace":
		f.kind = fieldNamespace
	case "kubernetes.pod.name":
		f.kind = fieldPod
	case "kubernetes.container.name":
		f.kind = fieldContainer
	case "log.level":
		f.kind = fieldLevel
	}
	return f
}

// forbidden are the characters Elasticsearch refuses in index names, plus
// ':' (refused since 7.0) and '#'.
const forbidden = `\/*?"<>|,# :`

func invalidLiteral(lit string, first bool) string {
	if first && lit != "" && strings.IndexByte("-_+.", lit[0]) >= 0 {
		return "may not start an index name (no leading -, _, + or .)"
	}
	if !utf8.ValidString(lit) {
		return "is not valid UTF-8"
	}
	for _, r := range lit {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(forbidden, r) {
			return fmt.Sprintf("contains %q, which Elasticsearch refuses in index names", r)
		}
	}
	if strings.ToLower(lit) != lit {
		return "contains upper-case letters; index names are lower-case"
	}
	return ""
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// Fallback returns the value used for missing fields.
func (p *Pattern) Fallback() string { return p.fallback }

// Fields returns the dotted paths of the pattern's field references.
func (p *Pattern) Fields() []string {
	var out []string
	for _, pt := range p.parts {
		if pt.kind == partField {
			out = append(out, pt.fld.path)
		}
	}
	return out
}

// Name returns the index of ev: its time bucket from ev.Time in UTC
// (ev.ReadTime when zero) and its field values. It does not allocate once the
// name is cached.
func (p *Pattern) Name(ev *shipper.Event) string {
	var kb [160]byte
	return p.cached(p.key(kb[:0], ev))
}

// key appends the cache key of ev's name: the time bucket, then each
// field's value.
func (p *Pattern) key(key []byte, ev *shipper.Event) []byte {
	if p.res > 0 {
		t := ev.Time
		if t.IsZero() {
			t = ev.ReadTime
		}
		key = binary.LittleEndian.AppendUint64(key, uint64(floorDiv(t.Unix(), p.res)))
	}
	for i := range p.parts {
		if p.parts[i].kind == partField {
			key = appendValue(key, ev, p.parts[i].fld)
		}
	}
	return key
}

// cached returns the name of key from the shared cache, building it on a
// miss.
func (p *Pattern) cached(key []byte) string {
	p.mu.RLock()
	name, ok := p.cache[string(key)]
	p.mu.RUnlock()
	if ok {
		return name
	}
	name = p.build(key)
	p.mu.Lock()
	if len(p.cache) >= cacheLimit {
		clear(p.cache)
	}
	p.cache[string(key)] = name
	p.mu.Unlock()
	return name
}

// Process sets ev.Index for every event of b: the pipeline's route stage.
// Safe for concurrent use by several workers. The events of one batch come
// from one file and share a few names (a day, a handful of services), so
// the batch remembers its recent names and asks the shared cache, whose
// lock every worker touches, only for a new one.
func (p *Pattern) Process(b *shipper.Batch) {
	var kb [160]byte
	var recent recentNames
	for i := range b.Events {
		ev := &b.Events[i]
		key := p.key(kb[:0], ev)
		name, ok := recent.get(key)
		if !ok {
			name = p.cached(key)
			recent.put(key, name)
		}
		ev.Index = name
	}
}

// recentNames holds the last few (key, name) pairs of one batch, each key
// in its slot of buf; a key longer than a slot is not remembered.
type recentNames struct {
	buf   [recentSize * recentSlot]byte
	len   [recentSize]uint8
	names [recentSize]string
	n     int // pairs held
	next  int // the slot put fills next
}

const (
	recentSize = 8
	recentSlot = 64
)

func (r *recentNames) get(key []byte) (string, bool) {
	for i := range r.n {
		if string(r.buf[i*recentSlot:i*recentSlot+int(r.len[i])]) == string(key) {
			return r.names[i], true
		}
	}
	return "", false
}

func (r *recentNames) put(key []byte, name string) {
	if len(key) > recentSlot {
		return
	}
	i := r.next
	r.next = (i + 1) % recentSize
	r.n = max(r.n, i+1)
	r.len[i] = uint8(copy(r.buf[i*recentSlot:], key))
	r.names[i] = name
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// appendValue appends one field's value to the cache key: two length bytes,
// then the value (decoded, cut at maxKeyValue). Length 0 means missing.
func appendValue(key []byte, ev *shipper.Event, f field) []byte {
	at := len(key)
	key = append(key, 0, 0)
	switch f.kind {
	case fieldService:
		key = appendCut(key, ev.Service)
	case fieldHost:
		key = appendCut(key, ev.Host)
	case fieldNamespace:
		if ev.Kube != nil {
			key = appendCut(key, ev.Kube.Namespace)
		}
	case fieldPod:
		if ev.Kube != nil {
			key = appendCut(key, ev.Kube.PodName)
		}
	case fieldContainer:
		if ev.Kube != nil {
			key = appendCut(key, ev.Kube.ContainerName)
		}
	case fieldLevel:
		key = append(key, ev.Level.String()...)
	}
	if f.kind == fieldDoc || len(key) == at+2 {
		// An ECS field the agent did not set may still be in the
		// application's own fields (a "service" object, say).
		if v, ok := ev.Doc.Lookup(f.path); ok {
			key = appendRaw(key, v)
		}
	}
	n := len(key) - at - 2
	if n > maxKeyValue {
		key = key[:at+2+maxKeyValue]
		n = maxKeyValue
	}
	binary.LittleEndian.PutUint16(key[at:], uint16(n))
	return key
}

func appendCut(dst []byte, s string) []byte {
	if len(s) > maxKeyValue {
		s = s[:maxKeyValue]
	}
	return append(dst, s...)
}

// appendRaw appends the text of a raw JSON scalar: a string's decoded
// contents, a number or boolean as written. Objects, arrays and null add
// nothing (the fallback applies).
func appendRaw(dst, v []byte) []byte {
	if s, ok := jsonscan.StringContents(v); ok {
		if len(s) > 2*maxKeyValue {
			s = s[:2*maxKeyValue]
		}
		out, ok := jsonscan.Unquote(dst, s)
		if !ok {
			return dst
		}
		return out
	}
	if len(v) == 0 || v[0] == '{' || v[0] == '[' || v[0] == 'n' {
		return dst
	}
	return appendCut(dst, string(v))
}

// build makes the name for a cache key on a miss.
func (p *Pattern) build(key []byte) string {
	var t time.Time
	if p.res > 0 {
		t = time.Unix(int64(binary.LittleEndian.Uint64(key))*p.res, 0).UTC()
		key = key[8:]
	}
	out := make([]byte, 0, 64)
	for _, pt := range p.parts {
		switch pt.kind {
		case partLiteral:
			out = append(out, pt.lit...)
		case partDate:
			out = appendDate(out, t, pt.date)
		case partField:
			n := int(binary.LittleEndian.Uint16(key))
			v := key[2 : 2+n]
			key = key[2+n:]
			start := len(out)
			out = sanitize(out, v, pt.first, p.dataStream)
			if len(out)-start > p.valueCap {
				out = cutUTF8(out, start+p.valueCap)
				// Cutting may expose nothing invalid: sanitize kept
				// only valid runes.
			}
			if len(out) == start {
				out = append(out, p.fallback...)
			}
		}
	}
	return string(out)
}

// cutUTF8 cuts b to at most n bytes without splitting a rune.
func cutUTF8(b []byte, n int) []byte {
	for n > 0 && n < len(b) && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}

// sanitize appends v made valid inside an index name: lower-cased, invalid
// UTF-8, control and forbidden characters replaced by '_', and, at the start
// of a name, leading '-', '_', '+' and '.' removed.
func sanitize(dst, v []byte, first, dataStream bool) []byte {
	start := len(dst)
	for len(v) > 0 {
		r, size := utf8.DecodeRune(v)
		v = v[size:]
		switch {
		case r == utf8.RuneError && size <= 1, r < 0x20, r == 0x7f:
			r = '_'
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			} else if strings.IndexByte(forbidden, byte(r)) >= 0 || (dataStream && r == '-') {
				r = '_'
			}
		default:
			r = unicode.ToLower(r)
		}
		if first && len(dst) == start && (r == '-' || r == '_' || r == '+' || r == '.') {
			continue
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// Glob returns the pattern with every field and date replaced by '*': the
// index_patterns of the index template that matches its names and nothing
// broader (for example "shipper-*-*").
func (p *Pattern) Glob() string { return Glob(p.src) }

// Globs returns the distinct Globs of patterns, in first-seen order: the
// index patterns a set of pipelines writes to.
func Globs(patterns []*Pattern) []string {
	var out []string
	for _, p := range patterns {
		if g := p.Glob(); !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// Glob turns index pattern text into the Elasticsearch wildcard that
// matches every name it expands to: each %{...} becomes * (runs of * are
// written once) and the rest is kept. It reads any text, a comma list of
// patterns or one that would not compile included, so that a search can
// take what the user typed.
func Glob(pattern string) string {
	var b strings.Builder
	for s := pattern; s != ""; {
		i := strings.Index(s, "%{")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		if !strings.HasSuffix(b.String(), "*") {
			b.WriteByte('*')
		}
		s = s[i+j+1:]
	}
	return b.String()
}

// Overlaps reports whether some name of p could match glob, an
// Elasticsearch index pattern where '*' matches any text: "could" because
// every field and date is taken to be any text.
func (p *Pattern) Overlaps(glob string) bool {
	return GlobsOverlap(p.Glob(), glob)
}

// DataStreamTrap is the index pattern of Elasticsearch 8's built-in "logs"
// index template (priority 100): any name it matches becomes a data stream,
// and the shipper's own template and ILM policy are shadowed.
const DataStreamTrap = "logs-*-*"

// InDataStreamTrap reports whether names of p could match DataStreamTrap.
func (p *Pattern) InDataStreamTrap() bool { return p.Overlaps(DataStreamTrap) }

// Example returns the name an event of service "svc" at t would get, all
// other fields missing: for messages and documentation.
func (p *Pattern) Example(t time.Time) string {
	ev := shipper.Event{Time: t, Service: "svc"}
	return p.Name(&ev)
}

// GlobsOverlap reports whether some index name matches both Elasticsearch
// index patterns a and b, where '*' matches any text and every other byte
// itself: whether templates of those patterns compete for an index.
func GlobsOverlap(a, b string) bool {
	type state struct{ i, j int }
	seen := make(map[state]bool)
	var walk func(i, j int) bool
	walk = func(i, j int) bool {
		s := state{i, j}
		if seen[s] {
			return false
		}
		seen[s] = true
		if i == len(a) && j == len(b) {
			return true
		}
		if i < len(a) && a[i] == '*' {
			if walk(i+1, j) || (j < len(b) && walk(i, j+1)) {
				return true
			}
		}
		if j < len(b) && b[j] == '*' {
			if walk(i, j+1) || (i < len(a) && walk(i+1, j)) {
				return true
			}
		}
		if i < len(a) && j < len(b) && a[i] != '*' && b[j] != '*' && a[i] == b[j] {
			return walk(i+1, j+1)
		}
		return false
	}
	return walk(0, 0)
}

// quoteList is for error messages listing allowed values.
func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}
