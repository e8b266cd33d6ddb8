package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"
)

// ReplayStats says what ReplayDLQ did.
type ReplayStats struct {
	// Read is dead letters read from the file.
	Read int
	// Indexed is documents Elasticsearch created.
	Indexed int64
	// Duplicates is documents already stored (409): replayed before.
	Duplicates int64
	// Failed is documents refused again, written to FailedPath.
	Failed int64
	// Malformed is lines that were not dead letters (skipped).
	Malformed int
	// FailedPath is the dead-letter file of this replay's failures.
	FailedPath string
}

// ReplayDLQ sends the dead letters of the file at path to Elasticsearch
// again, each to its index with its _id as a create: replaying twice stores
// nothing twice. It reads the file as it was when the replay started (an
// agent may still be appending to it). Documents refused again go to a new
// dead-letter file beside it, <path>.replay-<UTC time>.ndjson, never into
// the file being read. It returns when every document is indexed or
// dead-lettered again, or ctx ends. redactText redacts the new reasons, as
// New's does: Elasticsearch's may quote a document or an index name.
func ReplayDLQ(ctx context.Context, cfg Config, path string, logger *zap.Logger, redactText func(dst, src []byte) []byte) (ReplayStats, error) {
	var st ReplayStats
	if logger == nil {
		logger = zap.NewNop()
	}
	f, err := os.Open(path)
	if err != nil {
		return st, fmt.Errorf("opening dead-letter file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return st, fmt.Errorf("reading dead-letter file: %w", err)
	}
	st.FailedPath = fmt.Sprintf("%s.replay-%s.ndjson", path, time.Now().UTC().Format("20060102T150405Z"))
	for n := 2; ; n++ { // a new file, even for replays within a second
		if _, err := os.Lstat(st.FailedPath); errors.Is(err, os.ErrNotExist) {
			break
		}
		st.FailedPath = fmt.Sprintf("%s.replay-%s-%d.ndjson", path, time.Now().UTC().Format("20060102T150405Z"), n)
	}
	cfg.DeadLetter.Path = st.FailedPath
	cfg.DeadLetter.MaxBackups = 0
	s, err := New(cfg, logger, redactText)
	if err != nil {
		return st, err
	}
	if err := s.Start(ctx); err != nil {
		return st, err
	}
	// Shutdown waits for every request, so no Acks are needed.
	rd := bufio.NewReaderSize(io.LimitReader(f, info.Size()), 1<<20)
	enc := &encoder{}
	flush := func() error {
		err := s.take(ctx, enc)
		enc.buf, enc.items = enc.buf[:0], enc.items[:0]
		return err
	}
	var readErr error
	for {
		line, err := rd.ReadBytes('\n')
		if len(line) > 0 {
			var e DeadLetter
			if jerr := json.Unmarshal(line, &e); jerr != nil || e.Index == "" || len(e.Document) == 0 || e.Document[0] != '{' {
				st.Malformed++
			} else {
				st.Read++
				it := item{off: int32(len(enc.buf))}
				enc.buf = s.appendAction(enc.buf, e.Index, []byte(e.ID))
				it.src = int32(len(enc.buf))
				enc.buf = append(enc.buf, e.Document...)
				enc.buf = append(enc.buf, '\n')
				it.end = int32(len(enc.buf))
				enc.items = append(enc.items, it)
				if len(enc.buf) >= cfg.Bulk.MaxBytes {
					if readErr = flush(); readErr != nil {
						break
					}
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("reading dead-letter file: %w", err)
			break
		}
	}
	if readErr == nil {
		readErr = flush()
	}
	shutdownErr := s.Shutdown(ctx)
	stats := s.Stats()
	st.Indexed, st.Duplicates, st.Failed = stats.Indexed, stats.Duplicates, stats.DeadLettered
	if err := errors.Join(readErr, shutdownErr); err != nil {
		return st, err
	}
	return st, nil
}
