package tailer

import (
	"bytes"
	"time"

	"github.com/traceship/shipper"
)

// splitter cuts a byte stream into physical lines. It keeps at most max
// bytes of a line that does not fit in one chunk, so a huge line costs
// bounded memory and never stalls the reader: the rest of it is skipped up
// to its newline and the kept part is tagged shipper.TagLineTruncated.
//
// Offsets are those of the stream (the decompressed one for .gz files).
type splitter struct {
	max int
	// partial holds the start of an incomplete line (at most max bytes).
	partial    []byte
	hasPartial bool
	partStart  int64
	truncated  bool
}

// cutMark is what is left of a line whose kept part was all a fragment of
// a token (a tiny max_line_bytes).
var cutMark = []byte("…")

// lineFunc receives one physical line without its terminator (and without
// a trailing '\r'); line is valid only during the call. off is the offset of
// its first byte, next the offset just past its '\n'.
type lineFunc func(line []byte, off, next int64, tags shipper.Tags)

// feed splits chunk, which starts at stream offset pos, and calls fn for
// every line it completes.
func (s *splitter) feed(chunk []byte, pos int64, fn lineFunc) {
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			s.keep(chunk, pos)
			return
		}
		next := pos + int64(i) + 1
		if s.hasPartial {
			s.keep(chunk[:i], pos)
			s.emit(s.partial, s.partStart, next, fn)
			s.partial = s.partial[:0]
			s.hasPartial = false
			s.truncated = false
			if cap(s.partial) > 64<<10 {
				s.partial = nil // do not keep a huge buffer per idle file
			}
		} else {
			s.emitTagged(chunk[:i], pos, next, false, fn)
		}
		chunk = chunk[i+1:]
		pos = next
	}
}

// keep appends part of an incomplete line, up to max+1 bytes in all (the
// extra byte may be the '\r' of a "\r\n" that does not count).
func (s *splitter) keep(p []byte, pos int64) {
	if !s.hasPartial {
		s.hasPartial = true
		s.partStart = pos
		s.partial = s.partial[:0]
	}
	if room := s.max + 1 - len(s.partial); len(p) > room {
		p = p[:room]
		s.truncated = true
	}
	s.partial = append(s.partial, p...)
}

func (s *splitter) emit(line []byte, off, next int64, fn lineFunc) {
	s.emitTagged(line, off, next, s.truncated, fn)
}

// emitTagged drops a trailing '\r' (unless bytes after it were dropped),
// then cuts the line to max bytes.
func (s *splitter) emitTagged(line []byte, off, next int64, dropped bool, fn lineFunc) {
	if !dropped && len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	var tags shipper.Tags
	if dropped || len(line) > s.max {
		tags = shipper.TagLineTruncated
		if len(line) > s.max {
			line = line[:s.max]
		}
		// Not the start of a card number or a token: redaction would
		// not recognise it. A line that is all one such fragment keeps a
		// mark instead, or its event would be skipped as empty.
		if t := shipper.TrimCutEnd(line); len(t) > 0 {
			line = t
		} else {
			line = cutMark
		}
	}
	fn(line, off, next, tags)
}

// pending reports whether an incomplete line is waiting for its newline.
func (s *splitter) pending() bool { return s.hasPartial }

// unfinished returns the length of the incomplete line, read up to pos.
func (s *splitter) unfinished(pos int64) int64 {
	if !s.hasPartial {
		return 0
	}
	return pos - s.partStart
}

// finish emits the incomplete line, if any, as a complete one ending at end:
// at the end of a file read once, or of a file that can no longer grow.
func (s *splitter) finish(end int64, fn lineFunc) {
	if !s.hasPartial {
		return
	}
	s.emit(s.partial, s.partStart, end, fn)
	s.reset()
}

// reset forgets any incomplete line (the file was truncated).
func (s *splitter) reset() {
	s.partial = s.partial[:0]
	s.hasPartial = false
	s.truncated = false
}

// batcher turns logical lines into batches of one file and hands each full
// batch to send. It remembers the first error send returned and then drops
// everything, so that callbacks (which cannot return errors) stay simple.
type batcher struct {
	file     *shipper.File
	maxLines int
	maxBytes int
	framer   shipper.Framer
	// send hands a full batch over; reserved is what reserve took for it.
	send func(b *shipper.Batch, end int64, reserved int64) error
	// reserve, if set, takes n bytes of the in-flight budget before a batch
	// is filled (waiting while it is exhausted), so that a reader's batch
	// counts while it is being filled and while it waits to be sent, not
	// only once sent: with many files read at once, those batches were
	// memory outside any bound.
	reserve  func(n int64) error
	reserved int64
	// sizeHint estimates how many bytes the next batch will hold, to size
	// its arena in one allocation.
	sizeHint func() int

	// recycle: the batch may be reused once send returned (ReadFile,
	// whose callback must not retain it); spare is the one kept.
	recycle bool
	spare   *shipper.Batch
	// pool, if set, gives new batches (recycled once acknowledged: the
	// sender puts them back).
	pool *batchPool

	// seenBytes and seenLines give the average line length, to size the
	// next batch's arena for the batch_max_lines it will hold.
	seenBytes int64
	seenLines int64

	b        *shipper.Batch
	bytes    int
	end      int64
	readTime time.Time
	err      error

	emitFn shipper.EmitFunc
	lineFn lineFunc
}

func (bt *batcher) init() {
	bt.emitFn = bt.add
	bt.lineFn = bt.physical
}

// physical takes one physical line: through the framer if there is one,
// else straight into the batch (empty lines are skipped: they would make
// empty documents; the checkpoint still moves past them with the next line).
func (bt *batcher) physical(line []byte, off, next int64, tags shipper.Tags) {
	src := shipper.Source{File: bt.file, Offset: off, Next: next}
	if bt.framer != nil {
		bt.framer.Push(line, src, tags, bt.emitFn)
		return
	}
	if len(line) == 0 {
		if bt.err == nil {
			bt.end = next // the next batch's range covers it
		}
		return
	}
	bt.add(line, src, tags)
}

// add appends one logical line to the current batch.
func (bt *batcher) add(line []byte, src shipper.Source, tags shipper.Tags) {
	if bt.err != nil {
		return
	}
	if bt.b == nil {
		if bt.b = bt.newBatch(); bt.b == nil {
			return
		}
	}
	bt.b.Events = append(bt.b.Events, shipper.Event{
		Source:   src,
		Raw:      bt.b.Append(line),
		ReadTime: bt.readTime,
		Tags:     tags,
	})
	bt.bytes += len(line)
	bt.seenBytes += int64(len(line))
	bt.seenLines++
	bt.end = src.Next
	if len(bt.b.Events) >= bt.maxLines || bt.bytes >= bt.maxBytes {
		bt.flush()
	}
}

func (bt *batcher) newBatch() *shipper.Batch {
	if b := bt.spare; b != nil {
		bt.spare = nil
		b.Reset()
		b.File = bt.file
		return b
	}
	n := bt.maxBytes
	if bt.sizeHint != nil {
		if h := bt.sizeHint(); h < n {
			n = h
		}
	}
	if bt.seenLines > 0 {
		if full := int64(bt.maxLines) * (bt.seenBytes/bt.seenLines + 16); full < int64(n) {
			n = int(full)
		}
	}
	if n < 4096 {
		n = 4096
	}
	if bt.reserve != nil {
		// The budget's measure (budgetBytes): line bytes and events.
		avg := int64(64)
		if bt.seenLines > 0 {
			avg = max(bt.seenBytes/bt.seenLines, 1)
		}
		lines := min(int64(bt.maxLines), int64(n)/avg+1)
		// Plus one line and event: a batch is sent once it reaches
		// batch_max_bytes, so it may hold a line past n.
		est := int64(n) + avg + (lines+1)*eventSize
		if err := bt.reserve(est); err != nil {
			bt.err = err
			return nil
		}
		bt.reserved = est
	}
	var b *shipper.Batch
	if bt.pool != nil {
		b = bt.pool.get(n)
	} else {
		b = &shipper.Batch{}
		// Size the arena once: Alloc then Reset keeps the capacity.
		b.Alloc(n)
		b.Reset()
	}
	b.File = bt.file
	if cap(b.Events) == 0 {
		lines := bt.maxLines
		if est := n/64 + 1; est < lines {
			lines = est
		}
		b.Events = make([]shipper.Event, 0, lines)
	}
	return b
}

// flush sends the current batch, if it holds anything.
func (bt *batcher) flush() {
	if bt.b == nil || bt.err != nil {
		return
	}
	b := bt.b
	bt.b = nil
	bt.bytes = 0
	reserved := bt.reserved
	bt.reserved = 0
	bt.err = bt.send(b, bt.end, reserved)
	if bt.recycle {
		bt.spare = b
	}
}

// flushFramer emits the framer's pending logical line, then sends.
func (bt *batcher) flushFramer() {
	if bt.framer != nil {
		bt.framer.Flush(bt.emitFn)
	}
	bt.flush()
}
