// Package redact keeps card numbers and secrets from leaving the machine.
//
// A Redactor is the pipeline stage that rewrites every event's application
// fields (Process), and the filter for everything else the agent writes that
// may echo a document: its own logs, error messages, dead-letter reasons and
// dry-run explanations (Text, JSON).
//
// On by default, without configuration: payment card numbers anywhere (in
// strings and numbers, at any depth) are masked to their last four digits;
// values under sensitive keys (password, token, authorization, cookie, cvv,
// ssn, pan, ...) are replaced; Bearer and Basic credentials, JWTs, AWS access
// key ids and PEM private keys inside text are replaced. E-mail, US SSN, IBAN
// and custom regular expressions are opt-in. Each rule can be switched off or
// given another action (mask, remove, or a keyed HMAC).
//
// Values with nothing to redact keep their exact bytes. The cost for a line
// without long digit runs or secrets is a few cheap scans; see design.md for
// how, and for the rules' exact definitions and known limitations.
package redact

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"regexp"
	"sync"
	"sync/atomic"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// Redactor redacts events, JSON values and text. It is safe for concurrent
// use; its configuration is fixed at New.
type Redactor struct {
	on       bool
	cards    bool
	cardAct  Action
	keysOn   bool
	keyAct   Action
	text     []textRule // the rules that look inside text, in order
	keys     *keyMatcher
	hashKey  []byte
	names    []string // rule names by id
	counts   []atomic.Uint64
	events   atomic.Uint64
	pool     sync.Pool
	hasGlobs bool
	// alwaysWalk: objects cannot be judged by their raw bytes (globs
	// match paths; a pattern or term without a trigger may match anything).
	alwaysWalk bool
	// cardRule is the index of the cards rule in text, or -1.
	cardRule int
	// keyRules are the indexes in text of the rules that also look at
	// keys (provider tokens, cards), in text's order.
	keyRules []int
	// need is the union of the enabled text rules' trigger flags, plus
	// fEsc: escaped text must be decoded before it can be judged.
	need uint16
	// files maps the Files of events to themselves, or to a copy whose
	// path is redacted: log.file.path is in every document, and a card
	// number or a token in a file name must not leave the machine either.
	// A File is immutable and shared by all its events, so each is looked
	// at once. kubes does the same for the Kubernetes metadata read from a
	// container log's path (pod, namespace and container names).
	files memo[*shipper.File]
	kubes memo[*shipper.Kubernetes]
}

// memo maps shared, immutable values to themselves or to their redacted
// copies. It is cleared when it holds maxMemo (rotated files come and go).
type memo[T comparable] struct {
	mu sync.Mutex
	m  map[T]T
}

const maxMemo = 4096

// get returns the redacted form of v, computing it with redact once.
func (m *memo[T]) get(v T, redact func(T) T) T {
	m.mu.Lock()
	to, ok := m.m[v]
	m.mu.Unlock()
	if ok {
		return to
	}
	to = redact(v)
	m.mu.Lock()
	if m.m == nil || len(m.m) >= maxMemo {
		m.m = make(map[T]T)
	}
	m.m[v] = to
	m.mu.Unlock()
	return to
}

var _ shipper.Processor = (*Redactor)(nil)

// scratch is one goroutine's working memory, pooled.
type scratch struct {
	kw     keyWords
	keys   keyCache
	spans  []span
	groups []span
	bufs   [2][]byte
	dec    []byte
	out    []byte
	key    []byte
	path   []byte
	num    []byte // the integer digits of a float (number)
	// globs are the runs of the configured path globs over path (see
	// globRun), and globStack the runs saved at the paths of the objects
	// being walked, to go on from for each of their keys.
	globs     []globRun
	globStack []globRun
	b64       []byte
	mac       hash.Hash
	counts    []uint64
}

// New builds a Redactor from a validated configuration. env looks up the
// environment (os.Getenv); it is only called for hash_key_env.
func New(cfg Config, env func(string) string) (*Redactor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid redact configuration: %w", err)
	}
	r := &Redactor{
		on:      cfg.Enabled,
		cards:   cfg.Cards.Enabled,
		cardAct: cfg.Cards.Action,
		keysOn:  cfg.Keys.Enabled,
		keyAct:  cfg.Keys.Action,
		keys:    newKeyMatcher(cfg.Keys.Extra),
		names:   append([]string(nil), builtinNames...),
	}
	r.hasGlobs = len(r.keys.globs) > 0
	rules := cfg.rules()
	hashing := false
	add := func(id int, need uint16, find func(*Redactor, *scratch, []span, []byte) []span) {
		if rules[id].Enabled {
			r.text = append(r.text, textRule{id: id, action: rules[id].Action, need: need, find: find})
			hashing = hashing || rules[id].Action == ActionHash
		}
	}
	// Order matters: each rule sees the text the earlier ones left. Whole
	// blocks and tokens go first so that later rules do not cut them up.
	// Provider tokens come after the rules that take a whole value
	// ("token=ghp_…" is one redaction, not ghp_ and a rest), and before
	// cards, which could mask digits inside one (xoxb-1234…).
	add(rulePrivateKey, fPK, builtinPattern(rulePrivateKey).find)
	add(ruleJWT, fJWT, findJWT)
	add(ruleAWS, fAWS, findAWSKeyIDs)
	add(ruleKeys, fKV, findKeyValues)
	add(ruleCredentials, fCred|fEmail, findCredentials) // '@': a password in a URL
	add(ruleTokens, fToken, findTokens)
	add(ruleCards, fCard, findCardSpans)
	add(ruleEmail, fEmail, builtinPattern(ruleEmail).find)
	add(ruleSSN, fDigits9, builtinPattern(ruleSSN).find)
	add(ruleIBAN, fAlways, builtinPattern(ruleIBAN).find)
	for _, p := range cfg.Patterns {
		re := regexp.MustCompile(p.Regex) // Validate compiled it
		rr := &reRule{re: re}
		if lit, _ := re.LiteralPrefix(); lit != "" {
			rr.pre = containsAny(lit)
		}
		r.text = append(r.text, textRule{id: len(r.names), action: p.Action, need: fAlways, find: rr.find})
		r.names = append(r.names, p.Name)
		hashing = hashing || p.Action == ActionHash
	}
	if hashing && cfg.Enabled {
		key := env(cfg.HashKeyEnv)
		if key == "" {
			return nil, fmt.Errorf("redact: environment variable %s (hash_key_env) is empty or unset, and a rule's action is hash", cfg.HashKeyEnv)
		}
		r.hashKey = []byte(key)
	}
	r.need = fEsc
	r.alwaysWalk = r.hasGlobs || r.keys.filter.always
	r.cardRule = -1
	for i, tr := range r.text {
		r.need |= tr.need
		if tr.id == ruleCards {
			r.cardRule = i
		}
		if tr.id == ruleCards || tr.id == ruleTokens {
			r.keyRules = append(r.keyRules, i)
		}
	}
	r.counts = make([]atomic.Uint64, len(r.names))
	r.pool.New = func() any {
		sc := &scratch{counts: make([]uint64, len(r.names))}
		sc.globs = r.keys.globRuns(nil)
		if r.hashKey != nil {
			sc.mac = hmac.New(sha256.New, r.hashKey)
		}
		return sc
	}
	return r, nil
}

// Stats is a snapshot of the Redactor's counters.
type Stats struct {
	// Events is the number of events Process tagged as redacted.
	Events uint64
	// Redactions counts matches redacted, by rule name (the built-in rules'
	// yaml names and the patterns' names), over Process, Text and JSON.
	Redactions map[string]uint64
}

// Stats returns a snapshot of the counters.
func (r *Redactor) Stats() Stats {
	s := Stats{Events: r.events.Load(), Redactions: make(map[string]uint64, len(r.names))}
	for i, n := range r.names {
		s.Redactions[n] = r.counts[i].Load()
	}
	return s
}

func (r *Redactor) get() *scratch { return r.pool.Get().(*scratch) }

func (r *Redactor) put(sc *scratch) {
	for i, n := range sc.counts {
		if n != 0 {
			r.counts[i].Add(n)
			sc.counts[i] = 0
		}
	}
	r.pool.Put(sc)
}

// Process redacts the application fields (Doc) of every event of b, at any
// depth, the fields enrich took out of them (service.name, the Kubernetes
// names read from a container log's path, a span or parent id that is a
// card number), and the path of its file (log.file.path), and tags the
// events it changed with shipper.TagRedacted. A redacted value is written to memory from b.Alloc
// and replaces the member's value; the line's bytes are never modified.
// Members with nothing to redact keep their bytes. Safe for concurrent use.
func (r *Redactor) Process(b *shipper.Batch) {
	if !r.on {
		return
	}
	sc := r.get()
	defer r.put(sc)
	var from, to *shipper.File // the last File looked up: the batch's, mostly
	if b.File != nil {
		from, to = b.File, r.file(sc, b.File)
		b.File = to
	}
	var kubeFrom, kubeTo *shipper.Kubernetes
	var svcFrom, svcTo string // the last service name: most of a batch's
	for i := range b.Events {
		// Dropped events are redacted too: a later stage may ship them
		// after all (a sampler releasing a held trace), and an event that
		// leaves unredacted is the one failure this stage exists to stop.
		ev := &b.Events[i]
		n := r.processDoc(sc, b, &ev.Doc)
		if f := ev.Source.File; f != nil {
			if f != from {
				from, to = f, r.file(sc, f)
			}
			if to != f {
				ev.Source.File = to
				n++
			}
		}
		// The service name also names the index, metric labels and
		// rate-limit summaries, all made after this stage.
		if ev.Service != "" {
			if ev.Service != svcFrom {
				svcFrom, svcTo = ev.Service, r.label(sc, ev.Service)
			}
			if svcTo != svcFrom {
				ev.Service = svcTo
				n++
			}
		}
		if k := ev.Kube; k != nil {
			if k != kubeFrom {
				kubeFrom, kubeTo = k, r.kubes.get(k, func(k *shipper.Kubernetes) *shipper.Kubernetes { return r.kube(sc, k) })
			}
			if kubeTo != k {
				ev.Kube = kubeTo
				n++
			}
		}
		n += r.ids(sc, ev)
		if n > 0 {
			ev.Tags |= shipper.TagRedacted
			r.events.Add(1)
		}
	}
}

// file returns f, or a copy of it whose path is redacted.
func (r *Redactor) file(sc *scratch, f *shipper.File) *shipper.File {
	return r.files.get(f, func(f *shipper.File) *shipper.File {
		if p := r.label(sc, f.Path); p != f.Path {
			return &shipper.File{ID: f.ID, Path: p}
		}
		return f
	})
}

// kube returns k, or a copy of it whose names are redacted.
func (r *Redactor) kube(sc *scratch, k *shipper.Kubernetes) *shipper.Kubernetes {
	c := shipper.Kubernetes{Namespace: r.label(sc, k.Namespace), PodName: r.label(sc, k.PodName),
		PodUID: r.label(sc, k.PodUID), ContainerName: r.label(sc, k.ContainerName), ContainerID: r.label(sc, k.ContainerID)}
	if c == *k {
		return k
	}
	return &c
}

// label returns s with the text rules applied: s itself when there is
// nothing to redact.
func (r *Redactor) label(sc *scratch, s string) string {
	if s == "" {
		return s
	}
	p := []byte(s)
	if out, n := r.redactText(sc, p, scanFlags(p, &r.keys.filter)); n > 0 {
		return string(out)
	}
	return s
}

// ids clears a span or parent id whose hex form is a card number (sixteen
// decimal digits, Luhn-valid, with a card's prefix): a random id is one
// about once in thirty thousand, and an application that writes card
// numbers into its id fields makes one every time. Its source field was
// already masked by the card rule (see safeID). The same goes for a 64-bit
// trace id, which trace.id writes after sixteen zeros; a 128-bit one is
// 32 digits, no card. It returns the number of ids cleared.
func (r *Redactor) ids(sc *scratch, ev *shipper.Event) int {
	if r.cardRule < 0 {
		return 0
	}
	n := 0
	for _, id := range []*shipper.SpanID{&ev.SpanID, &ev.ParentID} {
		if !id.IsZero() && idIsCard(id[:]) {
			*id = shipper.SpanID{}
			sc.counts[ruleCards]++
			n++
		}
	}
	if t := &ev.TraceID; !t.IsZero() && [8]byte(t[:8]) == [8]byte{} && idIsCard(t[8:]) {
		*t = shipper.TraceID{}
		sc.counts[ruleCards]++
		n++
	}
	return n
}

// idIsCard reports whether the hex form of the 8 bytes id is a card.
func idIsCard(id []byte) bool {
	var d [16]byte
	for i, b := range id[:8] {
		hi, lo := b>>4, b&0x0f
		if hi > 9 || lo > 9 {
			return false
		}
		d[2*i], d[2*i+1] = '0'+hi, '0'+lo
	}
	return isPAN(d[:])
}

func (r *Redactor) processDoc(sc *scratch, b *shipper.Batch, d *shipper.Doc) int {
	total := 0
	// With the keys rule's action remove, the members kept move down over
	// the removed ones as the loop goes (w is where the next one kept
	// goes): removing each in place would shift all the members after it,
	// quadratic for a line of many sensitive keys.
	w := 0
	for j := range d.Members {
		if w != j {
			d.Members[w] = d.Members[j]
		}
		m := &d.Members[w]
		w++
		if len(m.Value) == 0 {
			continue
		}
		if r.hasGlobs {
			sc.path = sc.path[:0]
			sc.globs = r.keys.globRuns(sc.globs)
		}
		kc := r.classify(sc, m.Key)
		if len(r.keyRules) > 0 && len(m.Key) >= minPAN {
			var n int
			if sc.out, n = r.keySecrets(sc, sc.out[:0], m.Key); n > 0 {
				m.Key = b.Append(sc.out)
				total += n
			}
		}
		if kc.hides(m.Value) {
			total++
			sc.counts[ruleKeys]++
			if r.keyAct == ActionRemove {
				w--
				continue
			}
			sc.out = r.keyValue(sc, sc.out[:0], m.Value)
			m.Value = b.Append(sc.out)
			continue
		}
		flags, ok := r.worthLooking(m.Value, kc)
		if !ok {
			continue
		}
		var n int
		sc.out, n = r.flaggedValue(sc, sc.out[:0], m.Value, kc, flags)
		if n > 0 {
			m.Value = b.Append(sc.out)
			total += n
		}
	}
	clear(d.Members[w:])
	d.Members = d.Members[:w]
	return total
}

// worthLooking is the pre-check for a value, so that the common clean value
// costs one scan and is not copied: literals and short numbers cannot hold
// anything; strings and objects go through the trigger scan, whose flags it
// returns for flaggedValue.
func (r *Redactor) worthLooking(v []byte, kc keyClass) (flags uint16, ok bool) {
	switch c := v[0]; {
	case c == 't' || c == 'f' || c == 'n':
		return 0, false
	case c == '-' || isDigit(c):
		return 0, r.cards && (len(v) >= minPAN || hasExponent(v))
	case c == '"':
		content := v[1 : len(v)-1]
		if kc == keyTraceID && safeID(content) {
			return 0, false
		}
		flags = scanFlags(content, &r.keys.filter)
		return flags, flags&r.need != 0
	default:
		if r.alwaysWalk {
			return 0, true
		}
		flags = scanJSONFlags(v, &r.keys.filter)
		return flags, flags&r.need != 0
	}
}

// hasExponent reports whether the number v has an exponent: shorter than a
// card, it may still be one (4.2e15 is 4200000000000000).
func hasExponent(v []byte) bool {
	for _, c := range v {
		if c|0x20 == 'e' {
			return true
		}
	}
	return false
}

// flaggedValue is value for a value worthLooking let through, with the
// flags it found.
func (r *Redactor) flaggedValue(sc *scratch, dst, v []byte, kc keyClass, flags uint16) ([]byte, int) {
	switch v[0] {
	case '"':
		return r.flaggedString(sc, dst, v, kc, flags)
	case '{':
		return r.object(sc, dst, v)
	case '[':
		return r.array(sc, dst, v, kc)
	}
	return r.number(sc, dst, v, kc)
}

// decodeKey returns the key's text with JSON escapes decoded.
func (r *Redactor) decodeKey(sc *scratch, raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	sc.dec, _ = jsonscan.Unquote(sc.dec[:0], raw)
	return sc.dec
}

// classifyText classifies a key found in text (not JSON-escaped; no path).
func (r *Redactor) classifyText(sc *scratch, key []byte) keyClass {
	if !r.keys.filter.mayMatch(key) {
		return keyPlain
	}
	kc, ok := sc.keys.lookup(key)
	if !ok {
		kc = r.keys.matchKey(&sc.kw, key)
		sc.keys.store(key, kc)
	}
	return kc
}

// classify classifies a raw key. When globs are configured, sc.path holds
// the normalised dotted path of the key's parent followed by a '.' (or
// nothing at the top level), sc.globs the globs' runs over it, and the key
// is appended to it.
func (r *Redactor) classify(sc *scratch, raw []byte) keyClass {
	kc, ok := sc.keys.lookup(raw)
	if !ok && !r.hasGlobs && !r.keys.filter.mayMatch(raw) {
		sc.keys.store(raw, keyPlain)
		return keyPlain
	}
	if !ok || r.hasGlobs {
		key := r.decodeKey(sc, raw)
		if !ok {
			kc = r.keys.matchKey(&sc.kw, key)
			if !r.keysOn && kc.sensitive() {
				kc = keyPlain
			}
			sc.keys.store(raw, kc)
		}
		if r.hasGlobs {
			sc.path = append(sc.path, normPath(nil, key)...)
			r.keys.feedPath(sc.globs, sc.path)
			if !kc.sensitive() && r.keysOn && r.keys.matchedPath(sc.globs) {
				return keySensitive
			}
		}
	}
	return kc
}

// isKeyWord reports whether the raw key is w, or w capitalised ("Value"):
// the two spellings of name/value pairs (Kubernetes, AWS).
func isKeyWord(raw []byte, w string) bool {
	return len(raw) == len(w) && len(w) > 0 && raw[0]|0x20 == w[0] && string(raw[1:]) == w[1:]
}

func isBoolOrNull(v []byte) bool {
	switch v[0] {
	case 't', 'f', 'n':
		return true
	}
	return false
}

// keyValue appends the replacement of a sensitive key's value (action mask
// or hash; remove is the caller's).
func (r *Redactor) keyValue(sc *scratch, dst, v []byte) []byte {
	if r.keyAct == ActionHash {
		text := v
		if s, ok := jsonscan.StringContents(v); ok {
			sc.dec, _ = jsonscan.Unquote(sc.dec[:0], s)
			text = sc.dec
		}
		dst = append(dst, '"')
		dst = r.appendHMAC(sc, dst, text)
		return append(dst, '"')
	}
	return append(dst, `"`+redacted+`"`...)
}

// appendHMAC appends "hmac:" and the hex of the first 16 bytes of the
// HMAC-SHA256 of p.
func (r *Redactor) appendHMAC(sc *scratch, dst, p []byte) []byte {
	sc.mac.Reset()
	sc.mac.Write(p)
	var sum [sha256.Size]byte
	s := sc.mac.Sum(sum[:0])
	dst = append(dst, "hmac:"...)
	return hex.AppendEncode(dst, s[:16])
}

// value appends the redacted form of the valid JSON value v (no surrounding
// white space) to dst and returns the number of redactions; when it is 0 the
// bytes appended are v itself. kc is the class of the key v sits under.
func (r *Redactor) value(sc *scratch, dst, v []byte, kc keyClass) ([]byte, int) {
	flags, ok := r.worthLooking(v, kc)
	if !ok {
		return append(dst, v...), 0
	}
	return r.flaggedValue(sc, dst, v, kc, flags)
}

// flaggedString redacts the string value v whose content scanFlags found
// flags in (some of them needed).
func (r *Redactor) flaggedString(sc *scratch, dst, v []byte, kc keyClass, flags uint16) ([]byte, int) {
	content := v[1 : len(v)-1]
	text := content
	escaped := flags&fEsc != 0
	if escaped {
		sc.dec, _ = jsonscan.Unquote(sc.dec[:0], content)
		text = sc.dec
		flags = scanFlags(text, &r.keys.filter)
	}
	if kc == keyTraceID && allDigits(text) && !isPAN(text) {
		return append(dst, v...), 0
	}
	out, n := r.redactText(sc, text, flags)
	if n == 0 {
		return append(dst, v...), 0
	}
	if escaped {
		return jsonscan.AppendString(dst, out), n
	}
	// Unescaped input stays valid without escaping: redaction only cuts
	// and inserts plain ASCII.
	dst = append(dst, '"')
	dst = append(dst, out...)
	return append(dst, '"'), n
}

var hexDigit = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] = true
	}
	return t
}()

// safeID reports whether s, the value of a trace or span id field, can be
// kept without a look: an id, and not a number that is a valid card. A card
// number in an id field is still a card number: nothing leaks, even there.
// (The trace.id the agent derives was taken before redaction, so masking
// the source field costs no correlation.)
func safeID(s []byte) bool {
	return isHexID(s) && !(allDigits(s) && isPAN(s))
}

// isHexID reports whether s is 1 to 64 hex digits: a trace or span id
// (W3C hex, or Datadog decimal).
func isHexID(s []byte) bool {
	n := len(s)
	if n == 0 || n > 64 {
		return false
	}
	if n < 8 {
		for _, c := range s {
			if !hexDigit[c] {
				return false
			}
		}
		return true
	}
	// Every id is read under its key on every line (32 and 16 bytes of
	// W3C ids, up to 20 of Datadog's), so 8 bytes a step; the last word
	// overlaps the one before it when n is not a multiple of 8.
	for i := 0; i < n-8; i += 8 {
		if !hex8(binary.LittleEndian.Uint64(s[i:])) {
			return false
		}
	}
	return hex8(binary.LittleEndian.Uint64(s[n-8:]))
}

// lsb and msb are the lowest and the highest bit of every byte of a word.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hex8 reports whether the 8 bytes of x are all hex digits. It is exact:
// each lane is tested on its low seven bits, where the sums below cannot
// carry into the next lane, and a lane with its high bit set fails.
func hex8(x uint64) bool {
	x7 := x &^ msb
	// '0'-'9': x7+0x50 reaches the high bit from '0' on, x7+0x46 from
	// ':' on. 'a'-'f' and 'A'-'F' likewise, on the byte folded to lower
	// case (only 'A'-'F' and 'a'-'f' fold into 'a'-'f').
	digit := (x7 + lsb*(0x80-'0')) &^ (x7 + lsb*(0x80-'9'-1))
	l := x7 | lsb*0x20
	letter := (l + lsb*(0x80-'a')) &^ (l + lsb*(0x80-'f'-1))
	return (digit|letter)&^x&msb == msb
}

func allDigits(s []byte) bool {
	for _, c := range s {
		if !isDigit(c) {
			return false
		}
	}
	return len(s) > 0
}

// number masks a JSON number that is a card: an integer of 13-19 digits,
// also when it is written as a float whose value is that integer
// (4111111111111111.0 from Python, 4.111111111111111e+15 from zap's
// Float64). The result is a JSON string of the integer's digits masked
// ("************1111").
func (r *Redactor) number(sc *scratch, dst, v []byte, kc keyClass) ([]byte, int) {
	d := v
	if d[0] == '-' {
		d = d[1:]
	}
	if !r.cards {
		return append(dst, v...), 0
	}
	if !allDigits(d) {
		// In the scratch: a buffer on the stack escaped (through the
		// HMAC's Write) and cost an allocation per long number.
		var ok bool
		if sc.num, ok = integerDigits(sc.num[:0], d); !ok {
			return append(dst, v...), 0
		}
		d = sc.num
	}
	if !isPAN(d) {
		return append(dst, v...), 0
	}
	sc.counts[ruleCards]++
	dst = append(dst, '"')
	switch r.cardAct {
	case ActionMask:
		dst = appendMaskedCard(dst, d)
	case ActionHash:
		dst = r.appendHMAC(sc, dst, d)
	}
	return append(dst, '"'), 1
}

// object rewrites an object member by member. Members are written without
// the original white space; if nothing was redacted the original bytes are
// restored.
func (r *Redactor) object(sc *scratch, dst, v []byte) ([]byte, int) {
	start := len(dst)
	dst = append(dst, '{')
	total := 0
	first := true
	pathLen := len(sc.path)
	var name []byte // the raw text of the object's "name" member, once seen
	// The globs' runs over the object's path, to go on from for each key.
	saved := len(sc.globStack)
	if r.hasGlobs {
		sc.globStack = append(sc.globStack, sc.globs...)
	}
	for i := skipWS(v, 1); i < len(v) && v[i] == '"'; {
		kend := stringEnd(v, i)
		rawKey := v[i+1 : kend-1]
		vs := skipWS(v, kend)
		vs = skipWS(v, vs+1) // past ':'
		ve := jsonscan.Skip(v, vs)
		val := v[vs:ve]

		if r.hasGlobs {
			sc.path = sc.path[:pathLen]
			copy(sc.globs, sc.globStack[saved:])
			if pathLen > 0 {
				sc.path = append(sc.path, '.')
			}
		}
		kc := r.classify(sc, rawKey)
		if name != nil && !kc.sensitive() && isKeyWord(rawKey, "value") {
			// {"name":"DB_PASSWORD","value":"x"}: the name is the key.
			kc = r.classifyText(sc, r.decodeKey(sc, name))
		} else if isKeyWord(rawKey, "name") {
			name, _ = jsonscan.StringContents(val)
		}
		if len(r.keyRules) > 0 && len(rawKey) >= minPAN {
			// A card or a token used as a key ("cards": {"4111…": …}).
			ks := len(dst)
			var n int
			if dst, n = r.keySecrets(sc, dst, rawKey); n > 0 {
				sc.key = append(sc.key[:0], dst[ks:]...)
				rawKey = sc.key
				total += n
			}
			dst = dst[:ks]
		}
		switch {
		case kc.hides(val):
			total++
			sc.counts[ruleKeys]++
			if r.keyAct != ActionRemove {
				dst = appendKey(dst, rawKey, &first)
				dst = r.keyValue(sc, dst, val)
			}
		default:
			dst = appendKey(dst, rawKey, &first)
			var n int
			dst, n = r.value(sc, dst, val, kc)
			total += n
		}
		i = skipWS(v, ve)
		if i < len(v) && v[i] == ',' {
			i = skipWS(v, i+1)
		}
	}
	sc.path = sc.path[:pathLen]
	if r.hasGlobs {
		copy(sc.globs, sc.globStack[saved:])
		sc.globStack = sc.globStack[:saved]
	}
	if total == 0 {
		return append(dst[:start], v...), 0
	}
	return append(dst, '}'), total
}

// keySecrets appends the raw key with the provider tokens and cards in it
// redacted, and their number; with none, nothing is appended. Other rules
// do not look at keys: a key names a value, and the keys rule judges it.
func (r *Redactor) keySecrets(sc *scratch, dst, raw []byte) ([]byte, int) {
	f := scanFlags(raw, nil)
	if f&(fCard|fToken|fEsc) == 0 {
		return dst, 0
	}
	text := raw
	if f&fEsc != 0 {
		sc.dec, _ = jsonscan.Unquote(sc.dec[:0], raw)
		text = sc.dec
		f = scanFlags(text, nil)
	}
	total := 0
	for _, i := range r.keyRules {
		if f&r.text[i].need == 0 {
			continue
		}
		var n int
		text, n = r.applyRule(sc, &r.text[i], text)
		total += n
	}
	if total == 0 {
		return dst, 0
	}
	return jsonscan.AppendEscaped(dst, text), total
}

func appendKey(dst, rawKey []byte, first *bool) []byte {
	if !*first {
		dst = append(dst, ',')
	}
	*first = false
	dst = append(dst, '"')
	dst = append(dst, rawKey...)
	return append(dst, '"', ':')
}

func (r *Redactor) array(sc *scratch, dst, v []byte, kc keyClass) ([]byte, int) {
	start := len(dst)
	dst = append(dst, '[')
	total := 0
	flag := keyPlain // the class of the flag the element before is ("--password")
	for i := skipWS(v, 1); i < len(v) && v[i] != ']'; {
		ve := jsonscan.Skip(v, i)
		if total > 0 || len(dst) > start+1 {
			dst = append(dst, ',')
		}
		el := v[i:ve]
		var n int
		if flag != keyPlain && flagValue(el, flag) {
			// An argument vector: ["mysql","--password","hunter2"].
			n = 1
			sc.counts[ruleKeys]++
			if r.keyAct == ActionRemove {
				dst = append(dst, `""`...)
			} else {
				dst = r.keyValue(sc, dst, el)
			}
			flag = keyPlain
		} else {
			dst, n = r.value(sc, dst, el, kc)
			flag = r.flagClass(sc, el)
		}
		total += n
		i = skipWS(v, ve)
		if i < len(v) && v[i] == ',' {
			i = skipWS(v, i+1)
		}
	}
	if total == 0 {
		return append(dst[:start], v...), 0
	}
	return append(dst, ']'), total
}

// flagValue reports whether the JSON value v, after a flag of class kc in an
// argument vector, is its value: a string that is not the next flag, or a
// number; but not a count after a plural (["--tokens","512"]).
func flagValue(v []byte, kc keyClass) bool {
	switch {
	case v[0] == '"':
		c := v[1 : len(v)-1]
		return (len(c) == 0 || c[0] != '-') && !(kc == keySecrets && allDigits(c) && isCount(c))
	case v[0] == '-' || isDigit(v[0]):
		return kc != keySecrets || !isCount(v)
	}
	return false
}

// flagClass returns the class of the JSON value v when it is a string that
// is a long command-line flag for a secret, without its value
// ("--password"), as findFlagValues reads flags in text; else keyPlain.
func (r *Redactor) flagClass(sc *scratch, v []byte) keyClass {
	if !r.keysOn || len(v) < 5 || v[0] != '"' || v[1] != '-' || v[2] != '-' {
		return keyPlain
	}
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') >= 0 {
		sc.dec, _ = jsonscan.Unquote(sc.dec[:0], s)
		s = sc.dec
	}
	ks, ke := flagName(s, 0)
	if ks == ke || ke != len(s) {
		return keyPlain
	}
	if kc := r.classifyText(sc, s[ks:ke]); kc == keySensitive || kc == keySecrets {
		return kc
	}
	return keyPlain
}

func skipWS(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// skipWSBack is skipWS backwards: the offset after the last byte before
// v[i] that is not white space.
func skipWSBack(v []byte, i int) int {
	for i > 0 && (v[i-1] == ' ' || v[i-1] == '\t' || v[i-1] == '\n' || v[i-1] == '\r') {
		i--
	}
	return i
}

// stringEnd returns the offset just past the valid string starting at v[i].
func stringEnd(v []byte, i int) int {
	for i++; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(v)
}

// redactText returns s with every enabled text rule applied, in order, and
// the number of redactions. The result aliases s when nothing changed, and
// sc's buffers otherwise: it is valid until sc is used again.
func (r *Redactor) redactText(sc *scratch, s []byte, flags uint16) ([]byte, int) {
	cur := s
	total := 0
	for i := range r.text {
		tr := &r.text[i]
		if flags&tr.need == 0 {
			continue
		}
		out, n := r.applyRule(sc, tr, cur)
		cur = out
		total += n
	}
	return cur, total
}

// applyRule returns s with one rule applied and the number of matches. The
// result is s when nothing matched; otherwise it is one of sc.bufs, never
// the one s is in.
func (r *Redactor) applyRule(sc *scratch, tr *textRule, s []byte) ([]byte, int) {
	cur := s
	total := 0
	for pass := 0; pass < 4; pass++ {
		sc.spans = tr.find(r, sc, sc.spans[:0], cur)
		if len(sc.spans) == 0 {
			break
		}
		spans := dropOverlaps(sc.spans)
		next := 0
		if len(cur) > 0 && len(sc.bufs[0]) > 0 && &cur[0] == &sc.bufs[0][0] {
			next = 1
		}
		sc.bufs[next] = r.apply(sc, sc.bufs[next][:0], cur, spans, tr)
		cur = sc.bufs[next]
		total += len(spans)
		sc.counts[tr.id] += uint64(len(spans))
		// Only the card mask can make a new match: the last four
		// digits kept may join the digits that follow.
		if tr.id != ruleCards || tr.action != ActionMask {
			break
		}
	}
	return cur, total
}

// apply appends s with the spans replaced according to the rule.
func (r *Redactor) apply(sc *scratch, dst, s []byte, spans []span, tr *textRule) []byte {
	prev := 0
	for _, sp := range spans {
		dst = append(dst, s[prev:sp.start]...)
		m := s[sp.start:sp.end]
		switch {
		case tr.action == ActionRemove:
		case tr.action == ActionHash && tr.id == ruleCards:
			var digits [maxPAN]byte
			dst = r.appendHMAC(sc, dst, cardDigits(digits[:0], m))
		case tr.action == ActionHash:
			dst = r.appendHMAC(sc, dst, m)
		case tr.id == ruleCards && bytes.IndexAny(m, ".eE") >= 0:
			// A float (findFloatCards): its value's digits, masked.
			var digits [maxPAN]byte
			dst = appendMaskedCard(dst, cardDigits(digits[:0], m))
		case tr.id == ruleCards:
			dst = appendMaskedCard(dst, m)
		default:
			dst = append(dst, redacted...)
		}
		prev = sp.end
	}
	return append(dst, s[prev:]...)
}

// appendMaskedCard appends the card text m with every digit but the last
// four replaced by '*'; separators are kept, so "4111 1111 1111 1111"
// becomes "**** **** **** 1111" and the shape of the original stays visible.
func appendMaskedCard(dst, m []byte) []byte {
	hide := -4 // digits to replace: all but the last four
	for i := 0; i < len(m); {
		if k := sepLen(m, i); k > 0 {
			i += k
			continue
		}
		hide++
		i++
	}
	for i := 0; i < len(m); {
		if k := sepLen(m, i); k > 0 {
			dst = append(dst, m[i:i+k]...)
			i += k
			continue
		}
		c := m[i]
		if hide > 0 {
			c = '*'
			hide--
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// appendCardDigits appends the digits of the card text m (a span
// findCards returned, or a number) without its separators: the "20" of a
// "%20" is not a digit of the card.
func appendCardDigits(dst, m []byte) []byte {
	for i := 0; i < len(m); {
		if k := sepLen(m, i); k > 0 {
			i += k
			continue
		}
		dst = append(dst, m[i])
		i++
	}
	return dst
}

// Text appends to dst a redacted copy of the free text src: an error
// message, a log line, a dead-letter reason. Cards, credentials, key=value
// pairs with sensitive keys and the enabled patterns are redacted. Safe for
// concurrent use.
func (r *Redactor) Text(dst, src []byte) []byte {
	if !r.on {
		return append(dst, src...)
	}
	sc := r.get()
	defer r.put(sc)
	out, _ := r.redactText(sc, src, scanFlags(src, &r.keys.filter))
	return append(dst, out...)
}

// JSON appends to dst a redacted copy of the JSON value src and returns the
// number of redactions. When src is not valid JSON it is redacted as text
// and written as a JSON string, so the output is always valid JSON. With
// nothing redacted, the bytes appended are src itself. Safe for concurrent
// use.
func (r *Redactor) JSON(dst, src []byte) ([]byte, int) {
	if !r.on {
		if jsonscan.Valid(src, 0) != nil {
			return jsonscan.AppendString(dst, src), 0
		}
		return append(dst, src...), 0
	}
	sc := r.get()
	defer r.put(sc)
	if jsonscan.Valid(src, 0) != nil {
		out, n := r.redactText(sc, src, scanFlags(src, &r.keys.filter))
		return jsonscan.AppendString(dst, out), n
	}
	// Keep the white space around the value ("…}\n" stays a line).
	a := skipWS(src, 0)
	e := a + len(bytes.TrimRight(src[a:], " \t\r\n"))
	sc.path = sc.path[:0]
	sc.globs = r.keys.globRuns(sc.globs)
	start := len(dst)
	dst = append(dst, src[:a]...)
	dst, n := r.value(sc, dst, src[a:e], keyPlain)
	if n == 0 {
		return append(dst[:start], src...), 0
	}
	return append(dst, src[e:]...), n
}
