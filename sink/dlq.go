package sink

import (
	"encoding/json"
	"fmt"
	"io"
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
	buf    []byte
}

func newDLQWriter(path string, cfg DeadLetterConfig, redact func(dst, src []byte) []byte) *dlqWriter {
	return &dlqWriter{
		// lumberjack opens (and creates the directory) on first write.
		path:   path,
		w:      &lumberjack.Logger{Filename: path, MaxSize: cfg.MaxSizeMB, MaxBackups: cfg.MaxBackups},
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
	}
	d.buf = b
	for attempt := 1; ; attempt++ {
		n, err := d.w.Write(b)
		if err == nil {
			return true
		}
		b = b[n:]
		if !retry(attempt, fmt.Errorf("writing dead-letter file %s: %w", d.path, err)) {
			return false
		}
	}
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
