package tailer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/traceship/shipper"
)

// ReadOptions configure ReadFile.
type ReadOptions struct {
	// MaxLineBytes is the longest line kept whole (0: DefaultMaxLineBytes).
	MaxLineBytes int
	// NewFramer, if not nil, gives the file its Framer; it is flushed at the
	// end of the file.
	NewFramer func(path string) shipper.Framer
	// BatchMaxLines and BatchMaxBytes bound a batch (0: the defaults of
	// DefaultConfig).
	BatchMaxLines int
	BatchMaxBytes int
	// Now gives the events' ReadTime (nil: time.Now). Set it for golden
	// output.
	Now func() time.Time
	// Progress, if not nil, is called after each chunk read with the bytes of
	// the file consumed so far (compressed bytes for a .gz file) and the
	// file's size, for a progress bar.
	Progress func(done, total int64)
}

// ReadFile reads the file at path once, from its start to its end, and calls
// fn with consecutive batches of its lines. A gzip file (recognised by its
// magic bytes) is decompressed; offsets are those of the decompressed
// content. The line rules and framing are the Tailer's, except that a last
// line without a newline is a line: the file is taken as complete.
//
// Batches carry no Ack. File.ID is derived from the first KiB of the
// (decompressed) content only, so it is the same for the file and its .gz on
// every machine. fn must not retain the batch, its events or their bytes
// after it returns: the batch is reused. ReadFile returns fn's first error,
// ctx's error, or the read error, and keeps no state.
func ReadFile(ctx context.Context, path string, opts ReadOptions, fn func(*shipper.Batch) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("tailer: opening %s: %w", path, err)
	}
	defer f.Close()
	var total int64
	if st, err := f.Stat(); err == nil {
		total = st.Size()
	}
	var r io.Reader = f
	if opts.Progress != nil {
		r = &progressReader{r: f, total: total, fn: opts.Progress}
	}
	if err := ReadStream(ctx, r, path, opts, fn); err != nil {
		return fmt.Errorf("tailer: reading %s: %w", path, err)
	}
	return nil
}

// ReadStream is ReadFile on an open stream (standard input, for example);
// name is the File.Path of its events.
func ReadStream(ctx context.Context, r io.Reader, name string, opts ReadOptions, fn func(*shipper.Batch) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	rd, err := maybeGunzip(br)
	if err != nil {
		return err
	}
	var cr *bufio.Reader
	if rd == io.Reader(br) {
		cr = br
	} else {
		cr = bufio.NewReaderSize(rd, 64<<10)
	}
	prefix, err := cr.Peek(fingerprintSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fmt.Errorf("reading the first bytes: %w", err)
	}
	file := &shipper.File{ID: contentID(prefix), Path: name}

	now := opts.Now
	if now == nil {
		now = time.Now
	}
	def := DefaultConfig()
	max := opts.MaxLineBytes
	if max <= 0 {
		max = DefaultMaxLineBytes
	}
	bt := &batcher{
		file:     file,
		maxLines: orDefault(opts.BatchMaxLines, def.BatchMaxLines),
		maxBytes: orDefault(opts.BatchMaxBytes, def.BatchMaxBytes),
		recycle:  true,
		send: func(b *shipper.Batch, _, _ int64) error {
			return fn(b)
		},
	}
	if opts.NewFramer != nil {
		bt.framer = opts.NewFramer(name)
	}
	bt.init()
	sp := splitter{max: max}
	buf := make([]byte, 64<<10)
	var pos int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := cr.Read(buf)
		if n > 0 {
			bt.readTime = now()
			sp.feed(buf[:n], pos, bt.lineFn)
			pos += int64(n)
			if bt.err != nil {
				return bt.err
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				break
			}
			return rerr
		}
	}
	sp.finish(pos, bt.lineFn)
	bt.flushFramer()
	return bt.err
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

var gzipMagic = []byte{0x1f, 0x8b, 0x08}

// maybeGunzip returns a decompressing reader when br starts with the gzip
// magic bytes, else br itself.
func maybeGunzip(br *bufio.Reader) (io.Reader, error) {
	head, _ := br.Peek(len(gzipMagic))
	if !bytes.Equal(head, gzipMagic) {
		return br, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("opening gzip stream: %w", err)
	}
	return zr, nil
}

type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.fn(p.done, p.total)
	return n, err
}
