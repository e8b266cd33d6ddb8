package sink

import (
	"io"

	"github.com/klauspost/compress/gzip"
)

// gzipWriter is what the sender needs of a gzip implementation.
type gzipWriter interface {
	Reset(io.Writer)
	Write([]byte) (int, error)
	Close() error
}

// gzipLevel trades a little ratio for speed: log lines are repetitive, so
// level 1 already gives most of the reduction (see BenchmarkEncodeBulk in
// bench_test.go for the measurement behind the choice of library and level).
const gzipLevel = gzip.BestSpeed

func newGzip() gzipWriter {
	w, _ := gzip.NewWriterLevel(io.Discard, gzipLevel) // the level is valid
	return w
}
