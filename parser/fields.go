package parser

import (
	"bytes"
	"errors"
	"time"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// Keys and values the parser writes. They are never modified: stages
// replace a member's Key or Value slice, they do not write into it.
var (
	keyMessage      = []byte("message")
	keyStream       = []byte("stream")
	keyTimestampApp = []byte("@timestamp" + shipper.CollisionSuffix)
	keyMessageApp   = []byte("message" + shipper.CollisionSuffix)
	valStdout       = []byte(`"stdout"`)
	valStderr       = []byte(`"stderr"`)
)

// role is what a top-level key means to the parser.
type role uint8

const (
	roleNone role = iota
	// time fields, in order of preference after time_field
	roleTimeField // the configured time_field
	roleAtTimestamp
	roleTimestamp
	roleTs
	roleTime
	roleAtT        // Serilog compact
	roleTimeMillis // log4j2 JsonLayout
	roleInstant    // log4j2 JsonLayout {"epochSecond":…,"nanoOfSecond":…}
	// level fields, in order of preference
	roleLevel
	roleLvl
	roleSeverity
	roleLoglevel
	roleLogDotLevel
	roleAtL       // Serilog compact
	roleLevelname // Python
	// message fields, in order of preference; "log" is a message when it
	// is a string and may hold "level" when it is an object.
	roleMessage
	roleMsg
	roleAtM // Serilog rendered message
	roleLog
	roleAtMT   // Serilog message template
	roleFields // Rust tracing: {"fields":{"message":…}}
	numRoles
)

const (
	firstTimeRole  = roleTimeField
	lastTimeRole   = roleInstant
	firstLevelRole = roleLevel
	lastLevelRole  = roleLevelname
)

// roleNames are the top-level keys the parser looks for.
var roleNames = []struct {
	name string
	role role
}{
	// .NET: Microsoft.Extensions.Logging's JSON console formatter and
	// Serilog's JsonFormatter write these names capitalised.
	{"Timestamp", roleTimestamp},
	{"LogLevel", roleLoglevel},
	{"Level", roleLevel},
	{"Message", roleMsg},
	{"RenderedMessage", roleAtM},
	{"fields", roleFields},
	{"@timestamp", roleAtTimestamp},
	{"timestamp", roleTimestamp},
	{"ts", roleTs},
	{"time", roleTime},
	{"@t", roleAtT},
	{"timeMillis", roleTimeMillis},
	{"instant", roleInstant},
	{"level", roleLevel},
	{"lvl", roleLvl},
	{"severity", roleSeverity},
	{"loglevel", roleLoglevel},
	{"log.level", roleLogDotLevel},
	{"@l", roleAtL},
	{"levelname", roleLevelname},
	{"message", roleMessage},
	{"msg", roleMsg},
	{"@m", roleAtM},
	{"log", roleLog},
	{"@mt", roleAtMT},
}

// keyHash is a cheap 7-bit hash of a key, computed once per key for both
// the duplicate check's Bloom filter and the role lookup.
func keyHash(k []byte) uint {
	var h uint
	if n := len(k); n > 0 {
		h = (uint(n)*0x9e + uint(k[0])*0x3b + uint(k[n-1])*0x61 + uint(k[n/2])*0x17) & 127
	}
	return h
}

// roleSlot is a bucket of roleTable: the names of roleNames whose keyHash
// is its index. Empty entries have the name "" and roleNone.
type roleSlot [2]struct {
	name string
	role role
}

// roleTable finds a key's role with one hash and, for most keys, one
// length comparison: cheaper than a switch over 25 strings, which runs for
// every key of every line. (Two names share a bucket: "time" and "lvl".)
var roleTable = func() (t [128]roleSlot) {
	for _, n := range roleNames {
		b := &t[keyHash([]byte(n.name))]
		switch {
		case b[0].name == "":
			b[0].name, b[0].role = n.name, n.role
		case b[1].name == "":
			b[1].name, b[1].role = n.name, n.role
		default:
			panic("parser: three role names share a keyHash bucket: " + n.name)
		}
	}
	return t
}()

// roleOf is classify for a key whose keyHash is h.
func roleOf(k []byte, h uint) role {
	b := &roleTable[h&127]
	if string(k) == b[0].name {
		return b[0].role
	}
	if string(k) == b[1].name {
		return b[1].role
	}
	return roleNone
}

func classify(k []byte) role { return roleOf(k, keyHash(k)) }

// json parses line as one JSON object. outer is the time the container
// runtime recorded, used when the line has none; inContainer is set for a
// container payload (no Docker envelope detection); extra are members the
// container format adds (stream), appended unless the line has its own.
func (s *state) json(line []byte, outer time.Time, inContainer bool, extra ...shipper.Member) {
	ev := s.ev
	ms, info, err := jsonscan.ScanObject(s.members.take(s.left), line, s.p.maxDepth)
	if err != nil {
		if errors.Is(err, jsonscan.ErrDepth) {
			ev.Tags |= shipper.TagDepthExceeded
			s.stats.depth++
		} else {
			ev.Tags |= shipper.TagJSONParseFailure
			s.stats.parseFail++
		}
		s.text(line, false, extra...)
		ev.Time = outer
		return
	}
	if !inContainer && (s.p.format == fmtAuto || s.p.format == fmtDocker) && isDocker(ms) {
		s.docker(ms)
		return
	}
	if !inContainer {
		s.stats.json++
	}
	if info.NestedDup {
		// Elasticsearch rejects a document with a repeated key at any
		// depth; keep the last, as for top-level keys.
		for i := range ms {
			if v := ms[i].Value; v[0] == '{' || v[0] == '[' {
				ms[i].Value = jsonscan.DedupeKeys(s.b.Alloc(len(v))[:0], v)
			}
		}
	}
	ms = s.fields(ms, info.KeyEscapes)
	for _, x := range extra {
		if !hasKey(ms, x.Key) {
			ms = append(ms, x)
		}
	}
	ev.Doc.Members = s.members.keep(ms)
	if ev.Time.IsZero() {
		ev.Time = outer
	}
}

func hasKey(ms []shipper.Member, key []byte) bool {
	for _, m := range ms {
		if string(m.Key) == string(key) {
			return true
		}
	}
	return false
}

// fields makes keys unique (last wins), then takes the event's time, level
// and message from their members. It returns the members left. keyEscapes
// is false only when no key has an escape.
func (s *state) fields(ms []shipper.Member, keyEscapes bool) []shipper.Member {
	ms, at := s.keys(ms, keyEscapes)
	ev := s.ev
	removed := false

	// Time: the first candidate that parses wins and is removed.
	failed := false
	for r := firstTimeRole; r <= lastTimeRole; r++ {
		i := at[r] - 1
		if i < 0 {
			continue
		}
		t, ok := s.timeOf(ms[i].Value, r == roleTimeField)
		if !ok {
			failed = true
			continue
		}
		ev.Time = t
		ms[i].Key = nil
		removed = true
		break
	}
	if ev.Time.IsZero() && failed {
		ev.Tags |= shipper.TagTimestampParseFailure
		s.stats.tsFail++
	}
	// The encoder writes @timestamp itself; an application @timestamp it
	// could not read is kept under another name, not made a duplicate key.
	if i := at[roleAtTimestamp] - 1; i >= 0 && ms[i].Key != nil {
		ms[i].Key = keyTimestampApp
	}

	// Level: the first candidate naming a known level wins and is removed.
	for r := firstLevelRole; r <= lastLevelRole; r++ {
		i := at[r] - 1
		if i < 0 {
			continue
		}
		if l, ok := parseLevel(ms[i].Value); ok {
			ev.Level = l
			ms[i].Key = nil
			removed = true
			break
		}
	}
	if ev.Level == shipper.LevelUnknown {
		if i := at[roleLog] - 1; i >= 0 && len(ms[i].Value) > 0 && ms[i].Value[0] == '{' {
			s.levelInLog(&ms[i])
		}
	}
	// Serilog's compact format leaves out @l for Information.
	if ev.Level == shipper.LevelUnknown && at[roleAtT] != 0 && (at[roleAtM] != 0 || at[roleAtMT] != 0) && at[roleAtL] == 0 {
		ev.Level = shipper.LevelInfo
	}

	// Message: a member named message stays; otherwise the first string
	// among msg, @m, log and @mt is renamed to message (a rendered @mt is
	// added and the template kept). An object named message would be
	// rejected by Elasticsearch's text mapping of message: it is kept as
	// message_app and the search goes on.
	if i := at[roleMessage] - 1; i >= 0 && len(ms[i].Value) > 0 && ms[i].Value[0] == '{' {
		ms[i].Key = keyMessageApp
		at[roleMessage] = 0
	}
	if at[roleMessage] == 0 {
		for r := roleMsg; r <= roleAtMT; r++ {
			i := at[r] - 1
			if i < 0 || ms[i].Key == nil || !jsonscan.IsString(ms[i].Value) {
				continue
			}
			if r == roleAtMT {
				ms = append(ms, shipper.Member{Key: keyMessage, Value: s.renderTemplate(ms, ms[i].Value)})
				break
			}
			ms[i].Key = keyMessage
			break
		}
	}
	// Rust's tracing JSON puts the message inside "fields". (Only then
	// look for a message made above: hasKey is a pass over all keys.)
	if at[roleMessage] == 0 && at[roleFields] != 0 && !hasKey(ms, keyMessage) {
		if i := at[roleFields] - 1; len(ms[i].Value) > 0 && ms[i].Value[0] == '{' {
			if v, rest, ok := s.cut(ms[i].Value, "message"); ok && jsonscan.IsString(v) {
				ms[i].Value = rest
				ms = append(ms, shipper.Member{Key: keyMessage, Value: v})
			}
		}
	}
	if removed {
		ms = compact(ms)
	}
	return ms
}

// cut returns the value of the member named key in the object obj and the
// object without it, written into the batch's memory.
func (s *state) cut(obj []byte, key string) (value, rest []byte, ok bool) {
	value, ok = jsonscan.Get(obj, key)
	if !ok {
		return nil, obj, false
	}
	rest, _ = jsonscan.AppendObjectWithout(s.b.Alloc(len(obj))[:0], obj, func(_ int, k []byte) bool {
		return jsonscan.KeyEqual(k, key)
	})
	return value, rest, true
}

// compact drops the members whose Key was set to nil. It moves runs of
// kept members with one copy each: usually the time and level, removed,
// come first and the rest of the line is one run.
func compact(ms []shipper.Member) []shipper.Member {
	j := 0
	for i := 0; i < len(ms); {
		if ms[i].Key == nil {
			i++
			continue
		}
		end := i + 1
		for end < len(ms) && ms[end].Key != nil {
			end++
		}
		if i != j {
			copy(ms[j:], ms[i:end])
		}
		j += end - i
		i = end
	}
	return ms[:j]
}

// keys makes keys unique, keeping the last value of a repeated key (as a
// JSON decoder would) at the position of its last occurrence, and returns
// the members left with where each role's member is (index+1; of several
// with one role, the last). Keys written with escapes are compared by their
// decoded text (keyEscapes false: there are none, the scanner saw to it).
//
// It is one pass over the keys: one hash per key serves the duplicate
// check and the role lookup. A repeated key (rare) moves members, so the
// roles are then found again.
func (s *state) keys(ms []shipper.Member, keyEscapes bool) ([]shipper.Member, [numRoles]int) {
	var at [numRoles]int
	var seen [2]uint64 // a Bloom filter of the keys' hashes
	dup := false
	for i := range ms {
		k := ms[i].Key
		if keyEscapes && bytes.IndexByte(k, '\\') >= 0 {
			ms[i].Key = s.canonicalKey(k)
			k = ms[i].Key
		}
		h := keyHash(k)
		if seen[h>>6]&(1<<(h&63)) != 0 {
			if len(ms) > 64 {
				// The filter is full: the quadratic check would let a
				// hostile line with many keys cost seconds.
				ms = s.dedupeMap(ms, i+1, keyEscapes)
				return ms, s.roles(ms)
			}
			for j := 0; j < i; j++ {
				if ms[j].Key != nil && string(ms[j].Key) == string(k) {
					ms[j].Key = nil
					dup = true
				}
			}
		}
		seen[h>>6] |= 1 << (h & 63)
		if r := s.role(k, h); r != roleNone {
			at[r] = i + 1
		}
	}
	if dup {
		ms = compact(ms)
		at = s.roles(ms)
	}
	return ms, at
}

// roles returns where each role's member is in ms, whose keys are unique
// and canonical: index+1, and of several members with one role the last.
func (s *state) roles(ms []shipper.Member) [numRoles]int {
	var at [numRoles]int
	for i := range ms {
		if r := s.role(ms[i].Key, keyHash(ms[i].Key)); r != roleNone {
			at[r] = i + 1
		}
	}
	return at
}

// role is the role of key k, whose keyHash is h: the configured time
// field's before any name's.
func (s *state) role(k []byte, h uint) role {
	if s.p.timeField != "" && string(k) == s.p.timeField {
		return roleTimeField
	}
	return roleOf(k, h)
}

// dedupeMap is dedupe for lines with many members: linear, allocating.
// The keys before from are canonical already; keyEscapes is dedupe's.
func (s *state) dedupeMap(ms []shipper.Member, from int, keyEscapes bool) []shipper.Member {
	for i := from; keyEscapes && i < len(ms); i++ {
		if bytes.IndexByte(ms[i].Key, '\\') >= 0 {
			ms[i].Key = s.canonicalKey(ms[i].Key)
		}
	}
	last := make(map[string]int, len(ms))
	for i, m := range ms {
		last[string(m.Key)] = i
	}
	if len(last) == len(ms) {
		return ms
	}
	for i, m := range ms {
		if last[string(m.Key)] != i {
			ms[i].Key = nil
		}
	}
	return compact(ms)
}

// canonicalKey rewrites a key with escapes in the shortest escaping, so
// that equal names are equal bytes.
func (s *state) canonicalKey(k []byte) []byte {
	var buf [128]byte
	dec, ok := jsonscan.Unquote(buf[:0], k)
	if !ok {
		return k
	}
	out := jsonscan.AppendEscaped(s.b.Alloc(escapedLen(dec))[:0], dec)
	return out
}

// timeOf reads a raw JSON value as a time. The configured time_field uses
// time_layout when one is set.
func (s *state) timeOf(v []byte, configured bool) (time.Time, bool) {
	if len(v) == 0 {
		return time.Time{}, false
	}
	unit, layout := unitGuess, ""
	if configured {
		unit, layout = s.p.timeUnit, s.p.timeLayout
	}
	switch c := v[0]; {
	case c == '"':
		str := v[1 : len(v)-1]
		var buf [64]byte
		for _, c := range str {
			if c == '\\' {
				dec, ok := jsonscan.Unquote(buf[:0], str)
				if !ok {
					return time.Time{}, false
				}
				str = dec
				break
			}
		}
		switch {
		case layout != "":
			t, err := time.ParseInLocation(layout, string(str), s.p.loc)
			if err != nil {
				return time.Time{}, false
			}
			return fixYear(t, s.p.loc, s.ev.ReadTime), true
		case unit != unitGuess:
			return parseEpoch(str, unit)
		}
		return parseTimeString(str, s.p.loc, s.ev.ReadTime)
	case c == '-' || isDigit(c):
		return parseEpoch(v, unit)
	case c == '{':
		// log4j2's Instant: {"epochSecond":1732269600,"nanoOfSecond":123000000}
		sec, ok := jsonscan.Get(v, "epochSecond")
		if !ok {
			return time.Time{}, false
		}
		t, ok := parseEpoch(sec, unitS)
		if !ok {
			return time.Time{}, false
		}
		if ns, ok := jsonscan.Get(v, "nanoOfSecond"); ok {
			n, ok := digits(ns)
			if !ok || n >= 1e9 {
				return time.Time{}, false
			}
			t = t.Add(time.Duration(n))
		}
		return t, true
	}
	return time.Time{}, false
}

// levelInLog takes the level from a "log" object ({"level":"INFO",
// "logger":…}, as ECS loggers nest it) and rewrites the object without it.
func (s *state) levelInLog(m *shipper.Member) {
	v, ok := jsonscan.Get(m.Value, "level")
	if !ok {
		return
	}
	l, ok := parseLevel(v)
	if !ok {
		return
	}
	s.ev.Level = l
	_, m.Value, _ = s.cut(m.Value, "level")
}

// FieldRole says what the parser takes an application field named key to
// be: "time", "level", "message", or "" for none of them. For explanations
// (dry-run --explain); the hot path uses classify directly.
func (p *Parser) FieldRole(key string) string {
	if p.timeField != "" && key == p.timeField {
		return "time"
	}
	switch r := classify([]byte(key)); {
	case r >= firstTimeRole && r <= lastTimeRole:
		return "time"
	case r >= firstLevelRole && r <= lastLevelRole:
		return "level"
	case r >= roleMessage && r <= roleFields:
		return "message"
	}
	return ""
}
