package parser

import (
	"bytes"
	"time"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// NewFramer returns the line joiner for one file: it reassembles CRI
// partial lines ("P" … "F") and Docker's 16 KiB splits (formats auto, cri,
// docker) and joins stack traces (multiline). It returns nil when the
// configuration needs no joining (json, logfmt or text without multiline).
func (p *Parser) NewFramer(path string) shipper.Framer {
	if p.format != fmtAuto && p.format != fmtCRI && p.format != fmtDocker && p.multiline == nil {
		return nil
	}
	f := &framer{p: p, format: p.format}
	for i := range f.cri {
		f.cri[i].kind = kindCRI
		f.docker[i].kind = kindDocker
	}
	for i := range f.ml {
		f.ml[i].kind = kindMultiline
	}
	return f
}

// FlushAfter is how long a file should be idle before the tailer calls the
// framer's Flush: the multiline timeout, or 0 when no multiline is set.
func (p *Parser) FlushAfter() time.Duration {
	if p.multiline == nil {
		return 0
	}
	return p.multiline.timeout
}

// framer is one file's Framer. It is used by one goroutine.
//
// While a logical line is incomplete, the lines emitted meanwhile (the
// other stream of a container, for example) get Source.Next no further
// than the incomplete line's first byte: a checkpoint never passes a line
// that was not emitted yet. After a crash those lines are read again and,
// their document _id being derived from their offset, not stored twice.
type framer struct {
	p      *Parser
	format format
	cri    [2]pending // by stream: stdout, stderr
	docker [2]pending
	ml     [3]pending // multiline by stream (0, 1) and for plain lines (2)

	scratch []shipper.Member
	line    []byte // a logical line being built
}

const (
	kindCRI uint8 = iota
	kindDocker
	kindMultiline
)

// pending is an incomplete logical line.
type pending struct {
	has    bool
	kind   uint8
	prefix []byte // the container prefix of the first line (multiline)
	buf    []byte // the payload so far
	extra  []byte // Docker: the envelope's members after "log", raw
	src    shipper.Source
	tags   shipper.Tags
	lines  int
	// carry is the start of the token a cut at partial_max_bytes went
	// through: the next part begins with it (see tooLong).
	carry []byte
}

func (q *pending) start(src shipper.Source, tags shipper.Tags) {
	q.has, q.src, q.tags, q.lines = true, src, tags, 1
	q.buf, q.prefix, q.extra = append(q.buf[:0], q.carry...), q.prefix[:0], q.extra[:0]
	q.carry = q.carry[:0]
}

func (q *pending) add(src shipper.Source, tags shipper.Tags) {
	q.src.Next = src.Next
	q.tags |= tags
	q.lines++
}

// tooLong marks the joined line as over partial_max_bytes. When more parts
// follow (more is true), the line is cut here, and it goes out without the
// token the cut goes through, which begins the next part instead: a card
// number or a secret cut in two would escape redaction (see
// shipper.TrimCutEnd).
func (q *pending) tooLong(more bool) {
	q.tags |= shipper.TagPartialTooLong
	if !more {
		return
	}
	kept := shipper.TrimCutEnd(q.buf)
	q.carry = append(q.carry[:0], q.buf[len(kept):]...)
	q.buf = kept
}

func (q *pending) clear() {
	q.has = false
	// Do not keep a huge buffer for an idle file.
	if cap(q.buf) > 64<<10 {
		q.buf = nil
	}
}

// Push takes one physical line.
func (f *framer) Push(line []byte, src shipper.Source, tags shipper.Tags, emit shipper.EmitFunc) {
	if len(line) > 0 {
		switch f.format {
		case fmtAuto:
			if line[0] == '{' && bytes.HasPrefix(line, []byte(`{"log":"`)) && f.dockerLine(line, src, tags, emit) {
				return
			}
			if isDigit(line[0]) && f.criLine(line, src, tags, emit) {
				return
			}
		case fmtCRI:
			if f.criLine(line, src, tags, emit) {
				return
			}
		case fmtDocker:
			if f.dockerLine(line, src, tags, emit) {
				return
			}
		}
	}
	f.complete(&f.ml[2], line, nil, line, src, tags, emit)
}

// Flush emits every incomplete line, in the order of their last bytes, so
// that the last one emitted carries the furthest checkpoint.
func (f *framer) Flush(emit shipper.EmitFunc) {
	for {
		var first *pending
		for _, set := range [][]pending{f.cri[:], f.docker[:], f.ml[:]} {
			for i := range set {
				if q := &set[i]; q.has && (first == nil || q.src.Next < first.src.Next) {
					first = q
				}
			}
		}
		if first == nil {
			return
		}
		switch first.kind {
		case kindCRI:
			f.flushCRI(first, emit)
		case kindDocker:
			f.flushDocker(first, emit)
		default:
			f.flushMultiline(first, emit)
		}
	}
}

// emit hands a logical line on, with Next held back to the first byte of
// any line still incomplete.
func (f *framer) emit(line []byte, src shipper.Source, tags shipper.Tags, emit shipper.EmitFunc) {
	for _, set := range [][]pending{f.cri[:], f.docker[:], f.ml[:]} {
		for i := range set {
			if q := &set[i]; q.has && q.src.Offset < src.Next {
				// Next may fall before the line's own start: the
				// checkpoint must stay before the incomplete line.
				src.Next = q.src.Offset
			}
		}
	}
	emit(line, src, tags)
	// Do not keep a huge buffer per file: a thousand idle files would
	// each hold their longest line.
	if cap(f.line) > 64<<10 {
		f.line = nil
	}
}

// complete takes a complete (container) line: prefix is its container
// prefix ("<time> <stream> F ") or nil, payload its text; whole, when not
// nil, is prefix+payload as read. Without multiline it is emitted as is.
func (f *framer) complete(q *pending, whole, prefix, payload []byte, src shipper.Source, tags shipper.Tags, emit shipper.EmitFunc) {
	ml := f.p.multiline
	if ml == nil {
		if len(prefix) == 0 && len(payload) == 0 {
			return // an empty line makes no document
		}
		if whole == nil {
			f.line = append(append(f.line[:0], prefix...), payload...)
			whole = f.line
		}
		f.emit(whole, src, tags, emit)
		return
	}
	isStart := ml.start.Match(payload) || looksJSONObject(payload)
	if q.has && !isStart && q.lines < ml.maxLines && len(q.buf)+1+len(payload) <= ml.maxBytes {
		q.buf = append(q.buf, '\n')
		q.buf = append(q.buf, payload...)
		q.add(src, tags)
		return
	}
	if q.has {
		f.flushMultiline(q, emit)
	}
	if len(prefix) == 0 && len(payload) == 0 {
		return
	}
	q.start(src, tags)
	q.prefix = append(q.prefix, prefix...)
	q.buf = append(q.buf, payload...)
}

func looksJSONObject(p []byte) bool {
	p = trimLine(p)
	return len(p) >= 2 && p[0] == '{' && p[len(p)-1] == '}'
}

func (f *framer) flushMultiline(q *pending, emit shipper.EmitFunc) {
	tags := q.tags
	if q.lines > 1 {
		tags |= shipper.TagMultiline
		f.p.stats.multilineJoined.Add(1)
	}
	f.line = append(append(f.line[:0], q.prefix...), q.buf...)
	src := q.src
	q.clear()
	f.emit(f.line, src, tags, emit)
}

// criLine takes a CRI line; false when line is not one.
func (f *framer) criLine(line []byte, src shipper.Source, tags shipper.Tags, emit shipper.EmitFunc) bool {
	c, ok := splitCRI(line)
	if !ok {
		return false
	}
	si := 0
	if string(c.stream) == "stderr" {
		si = 1
	}
	q := &f.cri[si]
	if !q.has && !c.partial && len(q.carry) == 0 {
		f.complete(&f.ml[si], line, line[:c.prefix], c.payload, src, tags, emit)
		return true
	}
	if !q.has {
		q.start(src, tags)
		// The prefix of the joined line: the first part's time and stream,
		// tag F.
		q.prefix = append(q.prefix, line[:c.prefix]...)
		q.prefix[c.tagPos] = 'F'
		if c.payload == nil { // "<time> stdout P" with nothing after the tag
			q.prefix = append(q.prefix, ' ')
		}
	} else {
		q.add(src, tags)
	}
	q.buf = append(q.buf, c.payload...)
	if len(q.buf) > f.p.partialMax {
		// Too long: send what we have, tagged, and go on with a new part.
		q.tooLong(c.partial)
		f.p.stats.partialTooLong.Add(1)
		f.flushCRI(q, emit)
		return true
	}
	if !c.partial {
		f.p.stats.partialsJoined.Add(1)
		f.flushCRI(q, emit)
	}
	return true
}

func (f *framer) flushCRI(q *pending, emit shipper.EmitFunc) {
	si := 0
	if q == &f.cri[1] {
		si = 1
	}
	src, tags := q.src, q.tags
	q.has = false
	// The joined payload goes through multiline like any complete line.
	f.complete(&f.ml[si], nil, q.prefix, q.buf, src, tags, emit)
	q.clear()
}

// dockerLine takes a Docker json-file line; false when line is not one.
func (f *framer) dockerLine(line []byte, src shipper.Source, tags shipper.Tags, emit shipper.EmitFunc) bool {
	ms, err := jsonscan.Members(f.scratch[:0], line, f.p.maxDepth)
	f.scratch = ms[:0]
	if err != nil || !isDocker(ms) {
		return false
	}
	content := ms[0].Value[1 : len(ms[0].Value)-1]
	partial := len(trimEscapedNewline(content)) == len(content)
	si := 0
	for _, m := range ms[1:] {
		if string(m.Key) == "stream" && string(m.Value) == `"stderr"` {
			si = 1
		}
	}
	q := &f.docker[si]
	if !q.has && !partial && len(q.carry) == 0 {
		f.emit(line, src, tags, emit)
		return true
	}
	if !q.has {
		q.start(src, tags)
		for _, m := range ms[1:] {
			q.extra = append(q.extra, ',', '"')
			q.extra = append(q.extra, m.Key...)
			q.extra = append(q.extra, '"', ':')
			q.extra = append(q.extra, m.Value...)
		}
	} else {
		q.add(src, tags)
	}
	q.buf = append(q.buf, content...)
	if len(q.buf) > f.p.partialMax {
		q.tooLong(partial)
		f.p.stats.partialTooLong.Add(1)
		f.flushDocker(q, emit)
		return true
	}
	if !partial {
		f.p.stats.partialsJoined.Add(1)
		f.flushDocker(q, emit)
	}
	return true
}

func (f *framer) flushDocker(q *pending, emit shipper.EmitFunc) {
	f.line = append(f.line[:0], `{"log":"`...)
	f.line = append(f.line, q.buf...)
	f.line = append(f.line, '"')
	f.line = append(f.line, q.extra...)
	f.line = append(f.line, '}')
	src, tags := q.src, q.tags
	q.clear()
	f.emit(f.line, src, tags, emit)
}
