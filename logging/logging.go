// Package logging builds the agent's own logger: zap, JSON by default
// (console for a person at a terminal), to stderr or to a file rotated by
// lumberjack, and redacted.
//
// Redaction happens on the encoded line, not on fields: whatever a log call
// carries (a message, an error that echoes a document, a reflected value),
// the bytes that leave the process pass through the same redactor as
// documents. Log lines are few, so the cost does not matter; a leak would.
package logging

import (
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
	"gopkg.in/natefinch/lumberjack.v2"
)

// Redactor redacts one encoded log line. JSON lines go through JSON (which
// knows sensitive keys), console lines through Text.
type Redactor interface {
	Text(dst, src []byte) []byte
	JSON(dst, src []byte) ([]byte, int)
}

// Options configure the logger.
type Options struct {
	Level      string // debug, info, warn, error
	Format     string // json or console
	File       string // "" for stderr
	MaxSizeMB  int
	MaxBackups int
	// Stderr is where logs go when File is empty (os.Stderr by default).
	Stderr io.Writer
}

// New returns the logger and a function that flushes and closes its output.
func New(opts Options, r Redactor) (*zap.Logger, func() error, error) {
	var level zapcore.Level
	if err := level.UnmarshalText([]byte(opts.Level)); err != nil {
		return nil, nil, fmt.Errorf("log level %q: %w", opts.Level, err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "@timestamp"
	encCfg.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	encCfg.EncodeDuration = zapcore.StringDurationEncoder
	var enc zapcore.Encoder
	switch opts.Format {
	case "json", "":
		enc = zapcore.NewJSONEncoder(encCfg)
	case "console":
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	default:
		return nil, nil, fmt.Errorf("log format %q: want json or console", opts.Format)
	}
	if r != nil {
		enc = &redactingEncoder{Encoder: enc, r: r, json: opts.Format != "console"}
	}
	var (
		out   zapcore.WriteSyncer
		close = func() error { return nil }
	)
	switch {
	case opts.File != "":
		lj := &lumberjack.Logger{Filename: opts.File, MaxSize: opts.MaxSizeMB, MaxBackups: opts.MaxBackups}
		out, close = zapcore.Lock(zapcore.AddSync(lj)), lj.Close
	case opts.Stderr != nil:
		out = zapcore.Lock(zapcore.AddSync(opts.Stderr))
	default:
		out = zapcore.Lock(os.Stderr)
	}
	logger := zap.New(zapcore.NewCore(enc, out, level), zap.ErrorOutput(out))
	return logger, func() error { _ = logger.Sync(); return close() }, nil
}

// redactingEncoder encodes an entry, then redacts the encoded bytes.
type redactingEncoder struct {
	zapcore.Encoder
	r    Redactor
	json bool
}

var pool = buffer.NewPool()

func (e *redactingEncoder) Clone() zapcore.Encoder {
	return &redactingEncoder{Encoder: e.Encoder.Clone(), r: e.r, json: e.json}
}

func (e *redactingEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	buf, err := e.Encoder.EncodeEntry(ent, fields)
	if err != nil {
		return nil, err
	}
	line := buf.Bytes()
	var red []byte
	if e.json {
		body := line
		nl := len(body) > 0 && body[len(body)-1] == '\n'
		if nl {
			body = body[:len(body)-1]
		}
		red, _ = e.r.JSON(nil, body)
		if nl {
			red = append(red, '\n')
		}
	} else {
		red = e.r.Text(nil, line)
	}
	buf.Free()
	out := pool.Get()
	_, _ = out.Write(red)
	return out, nil
}
