package sink

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// DeadLetter is one line of the dead-letter file. The document is stored
// as sent (already redacted by the pipeline); the error's reasons went
// through the redactor, as Elasticsearch quotes document values in them.
type DeadLetter struct {
	// Time is when the document was dead-lettered.
	Time time.Time `json:"@timestamp"`
	// Index and ID are where the document was to be created.
	Index string `json:"index"`
	ID    string `json:"id"`
	// Status is the item's (or, for a refused request, the request's)
	// HTTP status.
	Status int `json:"status"`
	// Error is Elasticsearch's error for the document.
	Error ItemError `json:"error"`
	// Document is the _source that was refused.
	Document json.RawMessage `json:"document"`
}

// ItemError is the error Elasticsearch gave for one bulk item.
type ItemError struct {
	Type     string     `json:"type"`
	Reason   string     `json:"reason"`
	CausedBy *ItemError `json:"caused_by,omitempty"`
}

// dlqWriter appends dead letters to a lumberjack-rotated file.
type dlqWriter struct {
	mu     sync.Mutex
	path   string
	w      io.WriteCloser // a *lumberjack.Logger but in tests
	redact func(dst, src []byte) []byte
	// max is the most bytes one write may hold (the file's rotation
	// size); 0 is no limit.
	max     int
	rotated time.Time // the millisecond a write that rotated had ended in
	buf     []byte
	ends    []int // where each entry of buf ends
}

func newDLQWriter(path string, cfg DeadLetterConfig, redact func(dst, src []byte) []byte) *dlqWriter {
	return &dlqWriter{
		// lumberjack opens (and creates the directory) on first write.
		path:   path,
		w:      &lumberjack.Logger{Filename: path, MaxSize: cfg.MaxSizeMB, MaxBackups: cfg.MaxBackups},
		max:    cfg.MaxSizeMB << 20,
		redact: redact,
	}
}

// write appends one entry per item. The file is written and flushed to the
// OS before write returns true, so the items may then be acknowledged. A
// failed write (a full disk) is retried while retry says so, after it
// waited: the next attempt writes only what the failed one did not, so the
// file holds each entry once and whole. The lock is held meanwhile, so no
// other entries land inside one half written.
func (d *dlqWriter) write(now time.Time, entries []deadItem, retry func(attempt int, err error) bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.buf[:0]
	d.ends = d.ends[:0]
	for _, e := range entries {
		b = append(b, `{"@timestamp":"`...)
		b = shipper.AppendTimestamp(b, now)
		b = append(b, `","index":`...)
		b = jsonscan.AppendString(b, e.index)
		b = append(b, `,"id":`...)
		b = jsonscan.AppendString(b, e.id)
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(e.status), 10)
		b = append(b, `,"error":`...)
		b = d.appendError(b, &e.err, 0)
		b = append(b, `,"document":`...)
		b = append(b, e.doc...)
		b = append(b, "}\n"...)
		d.ends = append(d.ends, len(b))
	}
	d.buf = b
	// lumberjack refuses a write longer than its maximum file size, for
	// good: a request's entries are written in pieces below it, cut
	// between entries. An entry longer than that on its own is written
	// alone, the maximum raised for that write.
	start, ends := 0, d.ends
	for start < len(b) {
		end := ends[0]
		for len(ends) > 1 && (d.max == 0 || ends[1]-start <= d.max) {
			ends = ends[1:]
			end = ends[0]
		}
		ends = ends[1:]
		if !d.writePiece(b[start:end], retry) {
			return false
		}
		start = end
	}
	return true
}

// writePiece writes p, resuming after a partial failure while retry says so.
func (d *dlqWriter) writePiece(p []byte, retry func(attempt int, err error) bool) bool {
	if lj, ok := d.w.(*lumberjack.Logger); ok && d.max > 0 {
		if len(p) > d.max {
			defer func(size int) { lj.MaxSize = size }(lj.MaxSize)
			lj.MaxSize = len(p)>>20 + 1
		}
		if d.rotates(len(p)) {
			// lumberjack names a rotated file by the millisecond and
			// renames over a file of the same name, which would delete
			// the dead letters in it: one rotation per millisecond.
			for !time.Now().UTC().Truncate(time.Millisecond).After(d.rotated) {
				time.Sleep(100 * time.Microsecond)
			}
			// Marked once written: the rename happened before.
			defer func() { d.rotated = time.Now().UTC().Truncate(time.Millisecond) }()
		}
	}
	for attempt := 1; ; attempt++ {
		n, err := d.w.Write(p)
		if err == nil {
			return true
		}
		p = p[n:]
		if !retry(attempt, fmt.Errorf("writing dead-letter file %s: %w", d.path, err)) {
			return false
		}
	}
}

// rotates reports whether writing n bytes will make lumberjack rotate the
// file (or may: the file is measured here, as lumberjack does when it
// opens it).
func (d *dlqWriter) rotates(n int) bool {
	var size int64
	if fi, err := os.Stat(d.path); err == nil {
		size = fi.Size()
	}
	return size+int64(n) > int64(d.max)
}

func (d *dlqWriter) appendError(b []byte, e *ItemError, depth int) []byte {
	b = append(b, `{"type":`...)
	b = jsonscan.AppendString(b, e.Type)
	b = append(b, `,"reason":`...)
	b = jsonscan.AppendString(b, d.redactString(e.Reason))
	if e.CausedBy != nil && depth < 4 {
		b = append(b, `,"caused_by":`...)
		b = d.appendError(b, e.CausedBy, depth+1)
	}
	return append(b, '}')
}

func (d *dlqWriter) redactString(s string) []byte {
	if d.redact == nil {
		return []byte(s)
	}
	return d.redact(nil, []byte(s))
}

func (d *dlqWriter) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.w.Close()
}

// deadItem is one document on its way to the dead-letter file.
type deadItem struct {
	index, id string
	status    int
	err       ItemError
	doc       []byte
}
