package shipper

import (
	"encoding/binary"
	"strconv"
	"time"
	"unsafe"

	"github.com/traceship/shipper/internal/jsonscan"
)

// The ECS names the encoder writes at the top level. An application field of
// the same name would make a duplicate key, which Elasticsearch rejects, so
// the encoder merges it: an application object is merged into the agent's
// object (its members after the agent's), an application array of tags is
// appended to the agent's tags, and anything else, including an inner member
// that clashes with one of the agent's, is kept under the name with
// CollisionSuffix appended. Nothing the application wrote is lost.
const CollisionSuffix = "_app"

type ecsKey uint8

const (
	keyTimestamp ecsKey = iota
	keyLog
	keyTrace
	keySpan
	keyParent
	keyService
	keyHost
	keyKubernetes
	keyContainer
	keySample
	keyTags
	numECSKeys
)

// AppendID appends the document _id of e: the file's identity and the line's
// offset, so that a line replayed after a crash gets the _id it had before.
func AppendID(dst []byte, e *Event) []byte {
	return strconv.AppendInt(AppendIDPrefix(dst, e.Source.File), e.Source.Offset, 10)
}

// AppendIDPrefix appends what the _id of every event of file f starts
// with (f may be nil): the _id is that and the line's offset in decimal.
func AppendIDPrefix(dst []byte, f *File) []byte {
	if f != nil {
		dst = append(dst, f.ID...)
	}
	return append(dst, '-')
}

// AppendTimestamp appends t as Elasticsearch reads @timestamp: RFC 3339 in
// UTC with as many fractional digits as needed.
func AppendTimestamp(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, time.RFC3339Nano)
}

// Encoder writes the documents of events. It remembers what repeats from
// one event of a batch to the next: the formatted second of the last
// timestamp, and the escaped text of the last few file paths, host and
// service names (the same strings on every event of a file). One per
// worker: it is not safe for concurrent use. The zero value is ready.
type Encoder struct {
	sec                 int64 // Unix second of secText
	secText             []byte
	path, host, service memo
	// oneShot turns the memo off, for the package's AppendSource: filling
	// it would cost allocations that only pay back over many events.
	oneShot bool
}

// memo remembers the JSON text (quotes included) of the last few strings
// it was asked for.
type memo struct {
	s    [8]string
	json [8][]byte
	next int // the slot replaced next
}

func (m *memo) quoted(s string) []byte {
	for i := range m.s {
		if m.json[i] != nil && m.s[i] == s {
			return m.json[i]
		}
	}
	i := m.next
	m.next = (i + 1) % len(m.s)
	m.s[i], m.json[i] = s, jsonscan.AppendString(m.json[i][:0], s)
	return m.json[i]
}

// appendString appends s as a JSON string, from m unless oneShot.
func (c *Encoder) appendString(dst []byte, m *memo, s string) []byte {
	if c.oneShot {
		return jsonscan.AppendString(dst, s)
	}
	return append(dst, m.quoted(s)...)
}

// appendTimestamp is AppendTimestamp, formatting the date and time of day
// only when the second changes (a batch is mostly one second): the
// fraction is nine digits with trailing zeros cut, as RFC3339Nano writes it.
func (c *Encoder) appendTimestamp(dst []byte, t time.Time) []byte {
	if c.oneShot {
		return AppendTimestamp(dst, t)
	}
	t = t.UTC()
	if sec := t.Unix(); sec != c.sec || c.secText == nil {
		c.sec = sec
		c.secText = t.AppendFormat(c.secText[:0], "2006-01-02T15:04:05")
	}
	dst = append(dst, c.secText...)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i > 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		dst = append(dst, frac[:n]...)
	}
	return append(dst, 'Z')
}

// memberMessage is classify's answer for the message member (the ECS keys
// are 0 to numECSKeys-1).
const memberMessage = numECSKeys

// AppendSource appends the event's document (the _source) as one JSON
// object: @timestamp, message, the ECS fields the agent knows, then the
// application's other fields as they were. It is Encoder.AppendSource
// without the memo; workers encoding many events keep an Encoder.
func AppendSource(dst []byte, e *Event) []byte {
	c := Encoder{oneShot: true}
	return c.AppendSource(dst, e)
}

// AppendSource appends the event's document (see the package function).
func (c *Encoder) AppendSource(dst []byte, e *Event) []byte {
	var coll [numECSKeys]int
	for i := range coll {
		coll[i] = -1
	}
	msg := -1
	for i := range e.Doc.Members {
		c, ok := classify(e.Doc.Members[i].Key)
		if !ok {
			continue
		}
		if c == memberMessage {
			msg = i
		} else {
			coll[c] = i
		}
	}
	// taken marks the members written out of order (message and the
	// collisions), which the final loop skips; members past the 64th are
	// looked up in coll instead.
	var taken uint64
	for _, i := range coll {
		if i >= 0 && i < 64 {
			taken |= 1 << i
		}
	}
	if msg >= 0 && msg < 64 {
		taken |= 1 << msg
	}

	dst = append(dst, `{"@timestamp":"`...)
	t := e.Time
	if t.IsZero() {
		t = e.ReadTime
	}
	dst = c.appendTimestamp(dst, t)
	dst = append(dst, '"')
	if msg >= 0 {
		dst = appendMember(dst, e.Doc.Members[msg].Key, e.Doc.Members[msg].Value, "")
	}
	if i := coll[keyTimestamp]; i >= 0 {
		// An application @timestamp that no stage consumed (it could not be
		// parsed) is kept beside the agent's.
		dst = appendMember(dst, e.Doc.Members[i].Key, e.Doc.Members[i].Value, CollisionSuffix)
	}

	// Without an application member of the same name, which is the usual
	// case, each object is written in one go; objWriter merges otherwise.
	w := objWriter{dst: dst, doc: &e.Doc}
	switch {
	case e.Level == LevelUnknown && e.Source.File == nil:
		w.passThrough(coll[keyLog])
	case coll[keyLog] < 0 && e.Level != LevelUnknown && e.Source.File != nil:
		w.dst = append(w.dst, `,"log":{"level":"`...)
		w.dst = append(w.dst, e.Level.String()...) // a lower-case word
		w.dst = append(w.dst, `","file":{"path":`...)
		w.dst = c.appendString(w.dst, &c.path, e.Source.File.Path)
		w.dst = append(w.dst, `},"offset":`...)
		w.dst = strconv.AppendInt(w.dst, e.Source.Offset, 10)
		w.dst = append(w.dst, '}')
	default:
		w.open("log", coll[keyLog])
		if e.Level != LevelUnknown {
			w.key("level")
			w.dst = append(w.dst, '"')
			w.dst = append(w.dst, e.Level.String()...)
			w.dst = append(w.dst, '"')
		}
		if e.Source.File != nil {
			w.openInner("file")
			w.key("path")
			w.dst = c.appendString(w.dst, &c.path, e.Source.File.Path)
			w.closeInner()
			w.num("offset", e.Source.Offset)
		}
		w.close()
	}
	w.id("trace", e.TraceID[:], e.TraceID.IsZero(), coll[keyTrace])
	w.id("span", e.SpanID[:], e.SpanID.IsZero(), coll[keySpan])
	w.id("parent", e.ParentID[:], e.ParentID.IsZero(), coll[keyParent])
	switch app := coll[keyService]; {
	case e.Service == "":
		w.passThrough(app)
	case app < 0:
		w.dst = append(w.dst, `,"service":{"name":`...)
		w.dst = c.appendString(w.dst, &c.service, e.Service)
		w.dst = append(w.dst, '}')
	default:
		w.open("service", app)
		w.key("name")
		w.dst = c.appendString(w.dst, &c.service, e.Service)
		w.close()
	}
	switch app := coll[keyHost]; {
	case e.Host == "":
		w.passThrough(app)
	case app < 0:
		w.dst = append(w.dst, `,"host":{"name":`...)
		w.dst = c.appendString(w.dst, &c.host, e.Host)
		w.dst = append(w.dst, '}')
	default:
		w.open("host", app)
		w.key("name")
		w.dst = c.appendString(w.dst, &c.host, e.Host)
		w.close()
	}
	if k := e.Kube; k != nil {
		w.open("kubernetes", coll[keyKubernetes])
		if k.Namespace != "" {
			w.str("namespace", k.Namespace)
		}
		if k.PodName != "" || k.PodUID != "" {
			w.openInner("pod")
			if k.PodName != "" {
				w.str("name", k.PodName)
			}
			if k.PodUID != "" {
				w.str("uid", k.PodUID)
			}
			w.closeInner()
		}
		if k.ContainerName != "" {
			w.openInner("container")
			w.str("name", k.ContainerName)
			w.closeInner()
		}
		w.close()
		if k.ContainerID != "" {
			w.open("container", coll[keyContainer])
			w.str("id", k.ContainerID)
			w.close()
		} else {
			w.passThrough(coll[keyContainer])
		}
	} else {
		w.passThrough(coll[keyKubernetes])
		w.passThrough(coll[keyContainer])
	}
	if e.SampleRatio > 0 && e.SampleRatio < 1 {
		w.open("sample", coll[keySample])
		w.dst = append(w.dst, `"ratio":`...)
		w.dst = strconv.AppendFloat(w.dst, e.SampleRatio, 'g', -1, 64)
		w.n++
		w.close()
	} else {
		w.passThrough(coll[keySample])
	}
	dst = w.dst
	dst = appendTags(dst, e.Tags, e.Doc.Members, coll[keyTags])

	members := e.Doc.Members
	// written reports the members written out of order above (message
	// and the collisions).
	written := func(i int) bool {
		if i < 64 {
			return taken&(1<<i) != 0
		}
		return i == msg || isCollision(coll[:], i)
	}
	for i := 0; i < len(members); i++ {
		if written(i) {
			continue
		}
		start, end, ok := inLine(e.Raw, &members[i])
		if !ok {
			dst = appendMember(dst, members[i].Key, members[i].Value, "")
			continue
		}
		// The members the stages left as they were in the line, one after
		// another there, are copied in one go.
		for i+1 < len(members) && !written(i+1) && memberFollows(e.Raw, end) {
			next, nextEnd, ok := inLine(e.Raw, &members[i+1])
			if !ok || next != end+2 {
				break
			}
			end = nextEnd
			i++
		}
		dst = append(dst, ',', '"')
		dst = append(dst, e.Raw[start:end]...)
	}
	return append(dst, '}')
}

// inLine reports where m lies in line, from its key's first byte to its
// value's end, if it is there as appendMember would write it: the key,
// '":', the value. A value a stage replaced lies elsewhere.
func inLine(line []byte, m *Member) (start, end int, ok bool) {
	// Below the line, the differences wrap around to huge values.
	base := uintptr(unsafe.Pointer(unsafe.SliceData(line)))
	k := uintptr(unsafe.Pointer(unsafe.SliceData(m.Key))) - base
	v := uintptr(unsafe.Pointer(unsafe.SliceData(m.Value))) - base
	if rest := uintptr(len(line)) - v; v > uintptr(len(line)) || uintptr(len(m.Value)) > rest ||
		k > v || k+uintptr(len(m.Key))+2 != v || binary.LittleEndian.Uint16(line[v-2:]) != '"'|':'<<8 {
		return 0, 0, false
	}
	return int(k), int(v) + len(m.Value), true
}

// memberFollows reports whether line goes on with ',"' at end.
func memberFollows(line []byte, end int) bool {
	return end+2 <= len(line) && binary.LittleEndian.Uint16(line[end:]) == ','|'"'<<8
}

// classify reports which of the agent's top-level names (or message) the
// raw key text spells, if any. It compares the decoded text: a key written
// with escapes ("tr\u0061ce") is the same key to Elasticsearch, and leaving
// it unmerged would make a document with two "trace" keys.
func classify(key []byte) (ecsKey, bool) {
	// Most application keys have a first byte and a length no spelling
	// of a name has.
	if len(key) == 0 || len(key) >= 64 || ecsSpellings[key[0]]&(1<<len(key)) == 0 {
		return 0, false
	}
	if c, ok := ecsName(key); ok {
		return c, true
	}
	if !hasBackslash(key) {
		return 0, false
	}
	var buf [64]byte
	dec, ok := jsonscan.Unquote(buf[:0], key)
	if !ok {
		return 0, false
	}
	return ecsName(dec)
}

// ecsNames are the names ecsName knows.
var ecsNames = [...]string{"@timestamp", "log", "trace", "span", "parent", "service", "host", "kubernetes", "container", "sample", "tags", "message"}

// ecsSpellings has, for each first byte of a key, a bit for every length a
// spelling of one of ecsNames with that first byte may have. Only a \uXXXX
// escape can stand for the characters of a name, so each escaped character
// makes the key 5 bytes longer; a key that starts with '\' may spell any
// name.
var ecsSpellings = func() (t [256]uint64) {
	for _, n := range ecsNames {
		for escaped := 0; escaped <= len(n); escaped++ {
			if l := len(n) + 5*escaped; l < 64 {
				t[n[0]] |= 1 << l
				if escaped > 0 {
					t['\\'] |= 1 << l
				}
			}
		}
	}
	return t
}()

// ecsName matches plain (decoded) key text: an ECS name or message (a new
// name goes into ecsNames too).
func ecsName(key []byte) (ecsKey, bool) {
	switch string(key) {
	case "@timestamp":
		return keyTimestamp, true
	case "log":
		return keyLog, true
	case "trace":
		return keyTrace, true
	case "span":
		return keySpan, true
	case "parent":
		return keyParent, true
	case "service":
		return keyService, true
	case "host":
		return keyHost, true
	case "kubernetes":
		return keyKubernetes, true
	case "container":
		return keyContainer, true
	case "sample":
		return keySample, true
	case "tags":
		return keyTags, true
	case "message":
		return memberMessage, true
	}
	return 0, false
}

func hasBackslash(p []byte) bool {
	for _, c := range p {
		if c == '\\' {
			return true
		}
	}
	return false
}

func isCollision(coll []int, i int) bool {
	for _, c := range coll {
		if c == i {
			return true
		}
	}
	return false
}

// appendMember appends ,"key<suffix>":value. key is raw (already escaped).
func appendMember(dst, key, value []byte, suffix string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, suffix...)
	dst = append(dst, '"', ':')
	return append(dst, value...)
}

// objWriter writes one of the agent's top-level objects and merges the
// application's member of the same name into it.
type objWriter struct {
	dst   []byte
	doc   *Doc
	app   int       // index of the colliding application member, or -1
	n     int       // members written in the current object
	names [8]string // the agent's member names in the current object
	nn    int
	depth int // 1 inside an inner object
	outer int // n of the outer object while inside an inner one
}

func (w *objWriter) open(name string, app int) {
	w.dst = append(w.dst, ',', '"')
	w.dst = append(w.dst, name...)
	w.dst = append(w.dst, '"', ':', '{')
	w.app, w.n, w.nn = app, 0, 0
}

func (w *objWriter) key(k string) {
	if w.n > 0 {
		w.dst = append(w.dst, ',')
	}
	w.n++
	if w.depth == 0 && w.nn < len(w.names) {
		w.names[w.nn] = k
		w.nn++
	}
	w.dst = append(w.dst, '"')
	w.dst = append(w.dst, k...)
	w.dst = append(w.dst, '"', ':')
}

func (w *objWriter) str(k, v string) {
	w.key(k)
	w.dst = jsonscan.AppendString(w.dst, v)
}

func (w *objWriter) num(k string, v int64) {
	w.key(k)
	w.dst = strconv.AppendInt(w.dst, v, 10)
}

func (w *objWriter) hex(k string, id []byte) {
	w.key(k)
	w.dst = append(w.dst, '"')
	w.dst = appendHex(w.dst, id)
	w.dst = append(w.dst, '"')
}

// openInner and closeInner write a nested object; its own members are not
// merge candidates.
func (w *objWriter) openInner(k string) {
	w.key(k)
	w.dst = append(w.dst, '{')
	w.depth, w.outer, w.n = 1, w.n, 0
}

func (w *objWriter) closeInner() {
	w.dst = append(w.dst, '}')
	w.depth, w.n = 0, w.outer
}

// close merges the application's object of the same name, then closes.
func (w *objWriter) close() {
	if w.app >= 0 {
		app := w.doc.Members[w.app]
		if len(app.Value) > 0 && app.Value[0] == '{' {
			jsonscan.EachMember(app.Value, func(k, v []byte) bool {
				suffix := ""
				for _, n := range w.names[:w.nn] {
					if jsonscan.KeyEqual(k, n) {
						suffix = CollisionSuffix
					}
				}
				if w.n > 0 {
					w.dst = append(w.dst, ',')
				}
				w.n++
				w.dst = append(w.dst, '"')
				w.dst = append(w.dst, k...)
				w.dst = append(w.dst, suffix...)
				w.dst = append(w.dst, '"', ':')
				w.dst = append(w.dst, v...)
				return true
			})
			w.dst = append(w.dst, '}')
			return
		}
		w.dst = append(w.dst, '}')
		w.dst = appendMember(w.dst, app.Key, app.Value, CollisionSuffix)
		return
	}
	w.dst = append(w.dst, '}')
}

// id writes "name":{"id":"<hex>"}, merged with the application's member
// app; a zero id is not written, and app then passes through.
func (w *objWriter) id(name string, id []byte, zero bool, app int) {
	switch {
	case zero:
		w.passThrough(app)
	case app < 0:
		w.dst = append(w.dst, ',', '"')
		w.dst = append(w.dst, name...)
		w.dst = append(w.dst, `":{"id":"`...)
		w.dst = appendHex(w.dst, id)
		w.dst = append(w.dst, '"', '}')
	default:
		w.open(name, app)
		w.hex("id", id)
		w.close()
	}
}

// passThrough writes an application member that collides with nothing the
// agent writes for this event. Its name is one of the agent's objects in
// the index template (trace, span, log, service, host...), so a value that
// is not an object would make Elasticsearch refuse the whole document (a
// mapping conflict): such a value is kept under the name with
// CollisionSuffix, as when the agent writes the field.
func (w *objWriter) passThrough(app int) {
	if app >= 0 {
		m := w.doc.Members[app]
		suffix := ""
		if m.Value[0] != '{' {
			suffix = CollisionSuffix
		}
		w.dst = appendMember(w.dst, m.Key, m.Value, suffix)
	}
}

func appendTags(dst []byte, t Tags, members []Member, app int) []byte {
	var appVal []byte
	if app >= 0 {
		appVal = members[app].Value
	}
	if t == 0 {
		if appVal != nil {
			dst = appendMember(dst, members[app].Key, appVal, "")
		}
		return dst
	}
	dst = append(dst, `,"tags":[`...)
	n := 0
	t.each(func(name string) {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, '"')
	})
	switch {
	case appVal == nil:
	case appVal[0] == '[':
		inner := trimArray(appVal)
		if len(inner) > 0 {
			dst = append(dst, ',')
			dst = append(dst, inner...)
		}
	default:
		dst = append(dst, ',')
		dst = append(dst, appVal...)
	}
	return append(dst, ']')
}

// trimArray returns the text between a raw array's brackets, trimmed.
func trimArray(v []byte) []byte {
	v = v[1 : len(v)-1]
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t' || v[0] == '\n' || v[0] == '\r') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t' || v[len(v)-1] == '\n' || v[len(v)-1] == '\r') {
		v = v[:len(v)-1]
	}
	return v
}
