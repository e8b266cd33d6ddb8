// Package parser turns each tailed line into the typed fields and raw JSON
// members of an event: JSON lines of the common Go, Java, .NET and Node
// loggers, container runtime lines (CRI, Docker json-file), logfmt and plain
// text. It finds the event's time, level and message and leaves every other
// field of the application as it was, as raw JSON, for the encoder to write.
//
// Nothing is dropped: a line that is not valid JSON, too deep, or not valid
// UTF-8 is kept as text and tagged. See design.md for the rules.
package parser

import (
	"fmt"
	"regexp"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/traceship/shipper"
)

type format uint8

const (
	fmtAuto format = iota
	fmtJSON
	fmtCRI
	fmtDocker
	fmtLogfmt
	fmtText
)

// Parser parses the lines of one pipeline. It is immutable after New apart
// from its counters, so Process is safe for concurrent use by many workers.
type Parser struct {
	format     format
	timeField  string
	timeUnit   epochUnit // for time_layout unix*
	timeLayout string    // a Go layout, when not an epoch unit
	loc        *time.Location
	maxDepth   int
	partialMax int
	multiline  *multiline

	stats counters
	// perEvent is the members per event of the last batch, in 1/16ths,
	// to size a new batch's member chunk close to what it will need: the
	// chunk stays with the batch while it is recycled, so too large a
	// guess is memory held for good.
	perEvent atomic.Int64
}

type multiline struct {
	start    *regexp.Regexp
	maxLines int
	maxBytes int
	timeout  time.Duration
}

// New returns a parser for cfg, which must be valid (see Config.Validate;
// New reports the first problem it meets if not).
func New(cfg Config) (*Parser, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	p := &Parser{
		timeField:  cfg.TimeField,
		maxDepth:   cfg.MaxDepth,
		partialMax: cfg.PartialMaxBytes,
	}
	switch cfg.Format {
	case FormatAuto:
		p.format = fmtAuto
	case FormatJSON:
		p.format = fmtJSON
	case FormatCRI:
		p.format = fmtCRI
	case FormatDocker:
		p.format = fmtDocker
	case FormatLogfmt:
		p.format = fmtLogfmt
	case FormatText:
		p.format = fmtText
	}
	switch cfg.TimeLayout {
	case LayoutUnix:
		p.timeUnit = unitS
	case LayoutUnixMs:
		p.timeUnit = unitMs
	case LayoutUnixUs:
		p.timeUnit = unitUs
	case LayoutUnixNs:
		p.timeUnit = unitNs
	default:
		p.timeLayout = cfg.TimeLayout
	}
	p.loc, _ = loadLocation(cfg.Timezone) // validated above
	if m := cfg.Multiline; m != nil {
		p.multiline = &multiline{
			start:    regexp.MustCompile(m.StartPattern), // validated above
			maxLines: m.MaxLines,
			maxBytes: m.MaxBytes,
			timeout:  m.Timeout,
		}
	}
	return p, nil
}

// Stats are the parser's counters since New.
type Stats struct {
	// Events is the number of events parsed.
	Events uint64
	// By format: how many events were read as each.
	JSON, CRI, Docker, Logfmt, Text uint64
	// JSONParseFailures counts lines that looked like JSON but were not
	// valid (kept as text, tagged _json_parse_failure).
	JSONParseFailures uint64
	// DepthExceeded counts JSON lines nested deeper than max_depth.
	DepthExceeded uint64
	// InvalidUTF8 counts lines in which invalid UTF-8 was replaced.
	InvalidUTF8 uint64
	// TimestampMissing counts events without a time field (@timestamp is
	// the read time); TimestampParseFailures those whose time field could
	// not be read.
	TimestampMissing, TimestampParseFailures uint64
	// PartialsJoined counts container lines reassembled from partial
	// lines; PartialTooLong those cut at partial_max_bytes.
	PartialsJoined, PartialTooLong uint64
	// MultilineJoined counts events joined from several physical lines.
	MultilineJoined uint64
}

type counters struct {
	events, json, cri, docker, logfmt, text         atomic.Uint64
	parseFail, depth, utf8, tsMissing, tsFail       atomic.Uint64
	partialsJoined, partialTooLong, multilineJoined atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (p *Parser) Stats() Stats {
	c := &p.stats
	return Stats{
		Events: c.events.Load(), JSON: c.json.Load(), CRI: c.cri.Load(), Docker: c.docker.Load(),
		Logfmt: c.logfmt.Load(), Text: c.text.Load(),
		JSONParseFailures: c.parseFail.Load(), DepthExceeded: c.depth.Load(), InvalidUTF8: c.utf8.Load(),
		TimestampMissing: c.tsMissing.Load(), TimestampParseFailures: c.tsFail.Load(),
		PartialsJoined: c.partialsJoined.Load(), PartialTooLong: c.partialTooLong.Load(),
		MultilineJoined: c.multilineJoined.Load(),
	}
}

// batchStats counts one Process call, added to the shared atomics once.
type batchStats struct {
	events, json, cri, docker, logfmt, text   uint64
	parseFail, depth, utf8, tsMissing, tsFail uint64
}

func (p *Parser) addStats(s *batchStats) {
	c := &p.stats
	add := func(a *atomic.Uint64, n uint64) {
		if n != 0 {
			a.Add(n)
		}
	}
	add(&c.events, s.events)
	add(&c.json, s.json)
	add(&c.cri, s.cri)
	add(&c.docker, s.docker)
	add(&c.logfmt, s.logfmt)
	add(&c.text, s.text)
	add(&c.parseFail, s.parseFail)
	add(&c.depth, s.depth)
	add(&c.utf8, s.utf8)
	add(&c.tsMissing, s.tsMissing)
	add(&c.tsFail, s.tsFail)
}

// Process parses every event of b from its Raw line: it sets Doc, Time,
// Level and tags, replacing what they held (tags are added to). New bytes
// go into b.Alloc. It is safe for concurrent use on different batches.
func (p *Parser) Process(b *shipper.Batch) {
	st := state{p: p, b: b}
	st.members.b = b
	st.members.perEvent = p.perEvent.Load()
	for i := range b.Events {
		st.left = len(b.Events) - i
		st.event(&b.Events[i])
	}
	if n := len(b.Events); n > 0 {
		p.perEvent.Store(int64(st.members.used) * 16 / int64(n))
	}
	p.addStats(&st.stats)
}

// state is one Process call's working memory.
type state struct {
	p       *Parser
	b       *shipper.Batch
	members memberArena
	stats   batchStats
	ev      *shipper.Event
	left    int // events left in the batch, to size member chunks
}

func (s *state) event(ev *shipper.Event) {
	s.ev = ev
	s.stats.events++
	ev.Doc.Members = nil
	ev.Time = time.Time{}
	ev.Level = shipper.LevelUnknown

	line := ev.Raw
	if !utf8.Valid(line) {
		line = sanitizeUTF8(s.b, line)
		ev.Tags |= shipper.TagInvalidUTF8
		s.stats.utf8++
	}
	line = trimLine(line)

	switch s.p.format {
	case fmtAuto:
		s.auto(line)
	case fmtJSON:
		if len(line) > 0 && line[0] == '{' {
			s.json(line, time.Time{}, false)
		} else {
			s.text(line, false)
			ev.Tags |= shipper.TagJSONParseFailure
			s.stats.parseFail++
		}
	case fmtCRI:
		if !s.cri(line) {
			s.text(line, true)
		}
	case fmtDocker:
		if len(line) > 0 && line[0] == '{' {
			s.json(line, time.Time{}, false)
		} else {
			s.text(line, true)
		}
	case fmtLogfmt:
		if !s.logfmt(line, false) {
			s.text(line, true)
		}
	case fmtText:
		s.text(line, true)
	}
	if ev.Time.IsZero() && ev.Tags&shipper.TagTimestampParseFailure == 0 {
		ev.Tags |= shipper.TagTimestampMissing
		s.stats.tsMissing++
	}
}

// auto recognises the line's format by its first bytes.
func (s *state) auto(line []byte) {
	switch {
	case len(line) > 0 && line[0] == '{':
		s.json(line, time.Time{}, false)
	case len(line) > 0 && isDigit(line[0]) && s.cri(line):
	case len(line) > 0 && s.logfmt(line, true):
	default:
		s.text(line, true)
	}
}

// trimLine drops white space around the line and a leading byte order
// mark: a CR left by CRLF files and indentation carry no meaning in a log
// line.
func trimLine(line []byte) []byte {
	for len(line) > 0 {
		switch line[len(line)-1] {
		case '\r', '\n', ' ', '\t':
			line = line[:len(line)-1]
			continue
		}
		break
	}
	for len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
		line = line[1:]
	}
	// A byte order mark (the first line of a file written by some .NET
	// and Windows tools) would hide a JSON object.
	if len(line) >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF {
		line = line[3:]
	}
	return line
}

// sanitizeUTF8 copies line into the batch with each invalid byte replaced
// by U+FFFD.
func sanitizeUTF8(b *shipper.Batch, line []byte) []byte {
	n := 0
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRune(line[i:])
		if r == utf8.RuneError && size == 1 {
			n += 3
		} else {
			n += size
		}
		i += size
	}
	out := b.Alloc(n)[:0]
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRune(line[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, line[i:i+size]...)
		}
		i += size
	}
	return out
}

// memberArena hands out member slices from the batch's member chunk
// (shipper.Batch.AllocMembers): one allocation for many events instead of
// one per event, and none at all once the batch is recycled, as the chunk
// stays with the batch across Reset.
type memberArena struct {
	b        *shipper.Batch
	perEvent int64 // members per event expected, in 1/16ths (0: unknown)
	used     int   // members kept, to update the parser's perEvent
}

// memberHeadroom is the room take guarantees for one event's members; an
// event with more has its slice moved by append, out of the chunk.
const memberHeadroom = 32

// take returns an empty slice whose capacity extends into the chunk.
func (a *memberArena) take(left int) []shipper.Member {
	ms := a.b.AllocMembers(0)
	if cap(ms) >= memberHeadroom {
		return ms
	}
	// A new chunk for the rest of the batch: the members per event seen
	// in the last batch plus a quarter, or 16 per event before any was
	// seen; AllocMembers at least doubles the chunk it replaces.
	n := 16 * left
	if a.perEvent > 0 {
		n = int(a.perEvent*int64(left)*5/64) + 1
	}
	return a.b.AllocMembers(n + memberHeadroom)
}

// keep records ms, built on a slice from take, as used, and returns it with
// its capacity cut so that a stage appending to it cannot overwrite the
// next event's members.
func (a *memberArena) keep(ms []shipper.Member) []shipper.Member {
	a.used += len(ms)
	return a.b.KeepMembers(ms)
}
