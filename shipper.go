// Package shipper is the vocabulary every stage of the agent shares: the
// event that flows from a tailed line to an Elasticsearch document, the batch
// that carries events and their acknowledgement, and the small interfaces the
// stages implement.
//
// The flow is one way:
//
//	tailer ──batches──▶ workers: parser → enrich → redact → sample → route ──▶ sink
//	   ▲                                                                      │
//	   └──────────────── Ack (per batch, after the sink acknowledged) ◀──────┘
//
// A batch holds lines of one file. Stages are plain synchronous calls on a
// batch inside a worker goroutine; channels exist only where goroutines meet.
// Offsets travel with the events, and a file's checkpoint advances only when
// every event up to it was indexed, dead-lettered or dropped by a stage.
package shipper

import (
	"time"
)

// File is what the tailer knows of one source file. It is created by the
// tailer and never modified afterwards, so events of many batches may share it.
type File struct {
	// ID is the file's identity: stable across renames and compression of
	// the file, different for a new file at the same path. It is the prefix of
	// every document _id derived from the file.
	ID string
	// Path is the path the file was found at (log.file.path).
	Path string
}

// Source says where an event's line came from.
type Source struct {
	File *File
	// Offset is the byte offset of the line's first byte in the file
	// (uncompressed, for .gz files).
	Offset int64
	// Next is the offset just past the line's terminator: once this event is
	// handled, the file's checkpoint may advance to Next.
	Next int64
}

// Level is the normalised severity of an event (log.level).
type Level uint8

// The levels, in increasing severity. LevelUnknown means the line named none.
const (
	LevelUnknown Level = iota
	LevelTrace
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelFatal
)

var levelNames = [...]string{"", "trace", "debug", "info", "warn", "error", "fatal"}

// String returns the ECS log.level value: "", "trace", "debug", "info",
// "warn", "error" or "fatal".
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return ""
}

// ParseLevelName maps one of the names String returns back to its Level.
func ParseLevelName(s string) (Level, bool) {
	for i, n := range levelNames {
		if i > 0 && n == s {
			return Level(i), true
		}
	}
	return LevelUnknown, false
}

// LevelNames lists the valid level names, for error messages and schemas.
func LevelNames() []string { return append([]string(nil), levelNames[1:]...) }

// TraceID is a W3C trace id: 16 bytes, written as 32 lower-case hex digits.
// The zero value means "no trace id".
type TraceID [16]byte

// SpanID is a W3C span id: 8 bytes, written as 16 lower-case hex digits. The
// zero value means "no span id".
type SpanID [8]byte

// IsZero reports whether the id is absent.
func (t TraceID) IsZero() bool { return t == TraceID{} }

// IsZero reports whether the id is absent.
func (s SpanID) IsZero() bool { return s == SpanID{} }

// String returns the 32-digit lower-case hex form.
func (t TraceID) String() string { return string(appendHex(nil, t[:])) }

// String returns the 16-digit lower-case hex form.
func (s SpanID) String() string { return string(appendHex(nil, s[:])) }

// Sampled is the caller's sampling decision carried by a trace context
// (W3C traceparent flags, B3 or X-Ray Sampled, Jaeger flags).
type Sampled int8

// Sampling decisions carried by trace contexts.
const (
	SampledUnknown Sampled = iota
	SampledYes
	SampledNo
)

// Kubernetes is the metadata recovered from a container log path. Events of
// one file share one value; it must not be modified once attached.
type Kubernetes struct {
	Namespace     string
	PodName       string
	PodUID        string
	ContainerName string
	ContainerID   string
}

// Event is one log line on its way to becoming one Elasticsearch document.
//
// The application's own fields stay as raw JSON in Doc; the fields the agent
// understands are decoded into typed fields, and the encoder (AppendSource)
// writes both without building a map. Byte slices in an event (Raw, Doc) point
// into memory owned by the batch: a stage that keeps an event beyond the call
// that handed it over must copy it (see Event.Clone).
type Event struct {
	Source Source
	// Ack is the acknowledgement of the batch the event was read in. A sink
	// or stage that keeps the event past the worker's hand-off holds it.
	Ack *Ack
	// Raw is the line as read, without its terminator. Stages never modify it.
	Raw []byte
	// ReadTime is when the line was read; @timestamp falls back to it.
	ReadTime time.Time

	// Doc holds the application's fields, to be written as they were after
	// the ECS fields below.
	Doc Doc

	Time     time.Time // @timestamp; zero until the parser set it
	Level    Level     // log.level
	TraceID  TraceID   // trace.id
	SpanID   SpanID    // span.id
	ParentID SpanID    // parent.id
	Sampled  Sampled   // the trace context's sampled flag, for the sampler
	Service  string    // service.name
	Host     string    // host.name
	Kube     *Kubernetes

	// SampleRatio is the ratio the sampler kept this event at; 0 or 1 means
	// the event was not subject to a ratio, and is not written.
	SampleRatio float64
	// Tags are the agent's remarks on the event (tags).
	Tags Tags
	// Index is the Elasticsearch index the event goes to; set by routing.
	Index string
	// Drop, when not empty, is why a stage dropped the event (for example
	// "sample.ratio"). Dropped events are handled: they count for the
	// checkpoint but are not sent.
	Drop string
}

// Clone returns a copy of e whose byte slices no longer point into the
// batch, for stages that hold events across batches.
func (e *Event) Clone() Event {
	c := *e
	size := len(e.Raw)
	for _, m := range e.Doc.Members {
		size += len(m.Key) + len(m.Value)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, e.Raw...)
	c.Raw = buf[:len(e.Raw):len(e.Raw)]
	c.Doc.Members = make([]Member, len(e.Doc.Members))
	for i, m := range e.Doc.Members {
		start := len(buf)
		buf = append(buf, m.Key...)
		key := buf[start:len(buf):len(buf)]
		start = len(buf)
		buf = append(buf, m.Value...)
		c.Doc.Members[i] = Member{Key: key, Value: buf[start:len(buf):len(buf)]}
	}
	return c
}

// Processor is one pipeline stage (parse, enrich, redact, sample, route).
//
// Process edits the events of b in place: it may set fields, edit Doc, add
// tags and set Drop. It must not retain b, its events or their byte slices
// after it returns (Event.Clone copies). New bytes it creates for an event go
// into b.Alloc so they live as long as the batch. A Processor is called by one
// worker at a time unless its doc says otherwise.
type Processor interface {
	Process(b *Batch)
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc func(b *Batch)

// Process calls f(b).
func (f ProcessorFunc) Process(b *Batch) { f(b) }

const hexDigits = "0123456789abcdef"

func appendHex(dst, src []byte) []byte {
	for _, b := range src {
		dst = append(dst, hexDigits[b>>4], hexDigits[b&0x0f])
	}
	return dst
}

// Framer turns one file's physical lines into logical lines: it reassembles
// container runtimes' partial lines and joins multiline stack traces. It runs
// in the file's reader, before batching, so that a logical line's Source spans
// all its physical lines and a checkpoint never falls inside one.
//
// Each file has its own Framer, used by one goroutine only.
type Framer interface {
	// Push takes the next physical line, valid only during the call, and
	// calls emit for each logical line it completes, in order.
	Push(line []byte, src Source, tags Tags, emit EmitFunc)
	// Flush emits the pending logical line, if any: at the end of a file
	// read once, or when the file was idle for the input's flush timeout.
	Flush(emit EmitFunc)
}

// EmitFunc receives one logical line. line is valid only during the call;
// src spans the physical lines it was made of.
type EmitFunc func(line []byte, src Source, tags Tags)

// FieldError is a problem with one configuration value, named by its path
// below the section the validating package was given ("rules[2].ratio").
// The config package turns the path into file:line:col.
type FieldError struct {
	Path string
	Err  error
	// Warning marks a problem that does not stop the agent.
	Warning bool
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }
