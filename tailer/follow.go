package tailer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/klauspost/compress/gzip"
	"github.com/traceship/shipper"
	"go.uber.org/zap"
)

var (
	errStopped   = errors.New("reader stopped")
	errTruncated = errors.New("file truncated")
)

// readBufSize is the size of a reading slot's read buffer: each slot
// carries its own, allocated on its first use and kept for good (a reader
// waiting for budget in the middle of a buffer holds it with the slot; a
// sync.Pool would be emptied by every collection). Each read(2) also
// re-reads the file's fingerprint, so 64 KiB rather than 16 KiB takes six
// of every eight syscalls off reading (BenchmarkFollow -28%).
const readBufSize = 64 << 10

// Reading slots. A follower reads only while it holds one of a few slots,
// and gives it back after readChunk bytes. A reader holds its slot's read
// buffer and the batch it fills, and may wait for budget holding both:
// without slots, a backlog of a thousand files is a thousand buffers and
// partial batches (the agent's memory grew with the number of files, and a
// heap near the memory limit made the collector run constantly). Lines are
// parsed by the pipeline's workers, not here, so a few readers keep them
// busy; slots are handed out in arrival order (a channel's waiters are), and
// readChunk keeps one busy file from holding a slot for long, so a line
// written to a quiet file is not stuck behind a backlog.
func readSlots() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// readChunk is how much a follower reads per slot, in batches.
const readChunk = 4

// newReadSlots returns the reading slots: a channel holding one read buffer
// per slot. A reader takes a slot by receiving a buffer and gives it back by
// sending it. The buffers are allocated on first use.
func newReadSlots() chan *[]byte {
	n := readSlots()
	c := make(chan *[]byte, n)
	for range n {
		c <- new([]byte)
	}
	return c
}

// follower reads one file (one registry entry) from its resume offset,
// follows its growth, and exits when the file is closed for inactivity,
// deleted and drained, truncated beyond repair, its input is stopped, or the
// Tailer stops. It is the only goroutine that reads the file; the scanner
// tells it about changes through wake and gone.
type follower struct {
	t    *Tailer
	in   *inputState
	e    *entry
	f    *os.File
	file *shipper.File
	gz   bool

	r   io.Reader // f, or a gzip reader on it
	pos int64     // stream offset read so far
	// sentEnd is the end of the last batch handed to Out: where a new reader
	// of this entry must resume (everything before was handed out, nothing
	// after was).
	sentEnd int64

	fpn  int          // the entry's fingerprint length, as last seen by this reader
	posA atomic.Int64 // pos, for Files
	// unfinishedA is the length of the last line read while it waits for
	// its newline, for Files: those bytes cannot be acknowledged yet.
	unfinishedA atomic.Int64
	sizeA       atomic.Int64 // last size seen
	mtimeA      atomic.Int64 // last modification time seen (unix ns)
	wake        chan struct{}
	gone        atomic.Bool
	// deleted is set when the reader stops because its file was deleted
	// and read to its end.
	deleted bool

	sp splitter
	bt batcher
}

func (fl *follower) poke() {
	select {
	case fl.wake <- struct{}{}:
	default:
	}
}

// start positions the reader at offset start.
func (fl *follower) start(start int64) error {
	fl.sp = splitter{max: fl.in.spec.MaxLineBytes}
	fl.bt = batcher{
		file:     fl.file,
		maxLines: fl.t.cfg.BatchMaxLines,
		maxBytes: fl.t.cfg.BatchMaxBytes,
		send:     fl.send,
		reserve:  fl.reserve,
		sizeHint: func() int { return int(fl.sizeA.Load()-fl.pos) + 256 },
		pool:     fl.t.batches,
	}
	if fl.in.spec.NewFramer != nil {
		fl.bt.framer = fl.in.spec.NewFramer(fl.file.Path)
	}
	fl.bt.init()
	fl.pos, fl.sentEnd, fl.bt.end = start, start, start
	fl.posA.Store(start)
	if !fl.gz {
		_, err := fl.f.Seek(start, io.SeekStart)
		fl.r = fl.f
		return err
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(fl.f, 64<<10))
	if err != nil {
		return fmt.Errorf("opening gzip stream: %w", err)
	}
	fl.r = zr
	return nil
}

// send is the batcher's send: take budget, register with the tracker, hand
// the batch to Out. It blocks while the pipeline is full (backpressure).
func (fl *follower) send(b *shipper.Batch, end int64, reserved int64) error {
	t := fl.t
	// The reservation taken before the batch was filled becomes what the
	// batch holds: the estimate is corrected, without waiting (the batch
	// is read already; what it exceeds the estimate by is bounded by
	// batch_max_bytes).
	n := budgetBytes(b)
	switch {
	case n > reserved:
		t.budget.force(n - reserved)
	case n < reserved:
		t.budget.release(reserved - n)
	}
	if err := fl.fingerprintDurable(end); err != nil {
		t.budget.release(n)
		return err
	}
	e := fl.e
	seq := e.tr.push(end)
	ack := shipper.NewAck(func() {
		// Nothing touches a batch once its Ack is done (shipper.Batch):
		// recycle it before the budget wakes a reader that needs one.
		t.batches.put(b)
		t.acked(e, seq, n)
	})
	b.Ack = ack
	for i := range b.Events {
		b.Events[i].Ack = ack
	}
	// b is not ours once sent: it may be acknowledged and recycled at once.
	lines := int64(len(b.Events))
	t.stats.blocked.Add(1)
	defer t.stats.blocked.Add(-1)
	select {
	case fl.in.spec.Out <- b:
		fl.sentEnd = end
		t.stats.batches.Add(1)
		t.stats.lines.Add(lines)
		return nil
	case <-t.ctx.Done():
		e.tr.unpush(seq)
		t.budget.release(n)
		return t.ctx.Err()
	case <-fl.in.stop:
		e.tr.unpush(seq)
		t.budget.release(n)
		return errStopped
	}
}

// reserve is the batcher's reserve: it takes n bytes of the budget for the
// batch about to be filled, waiting while the pipeline is full
// (backpressure).
func (fl *follower) reserve(n int64) error {
	t := fl.t
	t.stats.blocked.Add(1)
	defer t.stats.blocked.Add(-1)
	return t.budget.acquire(t.ctx, fl.in.stop, n)
}

// eventSize is what the budget counts for an event besides its line.
const eventSize = int64(unsafe.Sizeof(shipper.Event{}))

// budgetBytes is what the in-flight budget counts for b: the line bytes and
// the events holding them.
func budgetBytes(b *shipper.Batch) int64 {
	n := int64(len(b.Events)) * eventSize
	for i := range b.Events {
		n += int64(len(b.Events[i].Raw))
	}
	return n
}

// fingerprintDurable makes sure the registry file holds a fingerprint
// covering at least half of the bytes shipped (or the first
// fingerprintSize bytes) before lines up to end are shipped, so that after a
// crash a .gz of the file is recognised by a prefix of meaningful length.
// Doubling bounds the synchronous writes to a handful per file while it
// grows through its first KiB (group-committed); larger files cost none.
func (fl *follower) fingerprintDurable(end int64) error {
	t := fl.t
	t.mu.Lock()
	d := fl.e.durableFP
	t.mu.Unlock()
	if d >= fingerprintSize || end <= 2*int64(d) || fl.gz {
		return nil
	}
	fl.checkFingerprint()
	if err := t.syncCheckpoint(); err != nil {
		t.log.Error("cannot record a file's fingerprint in the registry; not shipping its lines until it works",
			zap.String("path", fl.file.Path), zap.Error(err))
		return err
	}
	return nil
}

// readAvailable reads to the current end of the stream, sending batches,
// and sends the last partial batch. It returns the bytes read.
//
// It reads while holding a reading slot, and returns after readChunk
// batches' worth of bytes even if more is available (the caller calls it
// again): a .gz file, which is read to its end at once, excepted.
func (fl *follower) readAvailable() (int64, error) {
	t := fl.t
	var bp *[]byte
	select {
	case bp = <-t.readers:
	default:
		// Waiting for a slot is waiting on backpressure too: every slot is
		// held by a reader that is reading or waiting for budget.
		t.stats.blocked.Add(1)
		select {
		case bp = <-t.readers:
			t.stats.blocked.Add(-1)
		case <-t.ctx.Done():
			t.stats.blocked.Add(-1)
			return 0, t.ctx.Err()
		case <-fl.in.stop:
			t.stats.blocked.Add(-1)
			return 0, errStopped
		}
	}
	defer func() { t.readers <- bp }()
	if *bp == nil {
		*bp = make([]byte, readBufSize)
	}
	buf := *bp
	chunk := int64(readChunk * t.cfg.BatchMaxBytes)
	var total int64
	for {
		if err := fl.t.ctx.Err(); err != nil {
			return total, err
		}
		if total >= chunk && !fl.gz {
			fl.bt.flush()
			return total, fl.bt.err
		}
		n, err := fl.r.Read(buf)
		if n > 0 && !fl.gz && !fl.checkFingerprint() {
			// Truncated and rewritten (copytruncate) before or during this
			// read: the bytes may be new content at old offsets. Drop them
			// and start over on the new content.
			return total, errTruncated
		}
		if n > 0 {
			fl.bt.readTime = fl.t.now()
			fl.sp.feed(buf[:n], fl.pos, fl.bt.lineFn)
			fl.pos += int64(n)
			total += int64(n)
			fl.posA.Store(fl.pos)
			fl.unfinishedA.Store(fl.sp.unfinished(fl.pos))
			fl.t.stats.bytes.Add(int64(n))
			if fl.bt.err != nil {
				return total, fl.bt.err
			}
		}
		if err == io.EOF || (err == nil && n == 0) {
			fl.bt.flush()
			return total, fl.bt.err
		}
		if err != nil {
			return total, err
		}
	}
}

// run is the follower's goroutine.
func (fl *follower) run() {
	t := fl.t
	defer t.wg.Done()
	defer fl.exit()
	in := fl.in.spec
	if fl.gz && fl.pos > 0 {
		// Decompress up to the checkpoint (in this goroutine: it can take a while).
		if _, err := io.CopyN(io.Discard, fl.r, fl.pos); err != nil {
			t.log.Error("skipping to the checkpoint in a compressed file failed", zap.String("path", fl.file.Path),
				zap.Int64("offset", fl.pos), zap.Error(err))
			return
		}
	}
	idleSince := t.now()
	framerFlushed := true
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		n, err := fl.readAvailable()
		if err == errTruncated {
			size := int64(0)
			if st, serr := fl.f.Stat(); serr == nil {
				size = st.Size()
			}
			if !fl.restartTruncated(size) {
				return
			}
			idleSince = t.now()
			continue
		}
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, errStopped) || t.ctx.Err() != nil {
				return
			}
			if fl.gz && errors.Is(err, io.ErrUnexpectedEOF) {
				t.log.Debug("compressed file still being written; retrying at the next scan", zap.String("path", fl.file.Path))
				return
			}
			t.stats.readErrors.Add(1)
			t.log.Error("reading a file failed; it will be reopened at the next scan",
				zap.String("path", fl.file.Path), zap.String("file_id", fl.file.ID), zap.Error(err))
			return
		}
		if n > 0 {
			idleSince = t.now()
			framerFlushed = fl.bt.framer == nil
		}
		if fl.gz {
			// A .gz file is complete: ship the last line and let it go.
			fl.finishLastLine()
			if fl.bt.err == nil {
				// Everything was handed out: the entry is complete.
				fl.sentEnd = fl.pos
				t.mu.Lock()
				fl.e.size = fl.pos
				t.mu.Unlock()
			}
			return
		}
		st, err := fl.f.Stat()
		if err != nil {
			t.log.Error("stat of an open file failed", zap.String("path", fl.file.Path), zap.Error(err))
			return
		}
		size := st.Size()
		fl.sizeA.Store(size)
		fl.mtimeA.Store(st.ModTime().UnixNano())
		if size < fl.pos || !fl.checkFingerprint() {
			if !fl.restartTruncated(size) {
				return
			}
			idleSince = t.now()
			continue
		}
		if size > fl.pos {
			continue
		}
		if fl.gone.Load() && nlink(st) == 0 {
			// Deleted and drained: nobody can complete a partial last line.
			fl.finishLastLine()
			fl.deleted = true
			return
		}
		// Wait for growth, a flush deadline or inactivity.
		var wait time.Duration
		if !framerFlushed {
			wait = in.FlushAfter - t.now().Sub(idleSince)
		} else {
			wait = in.CloseInactive - t.now().Sub(idleSince)
		}
		if wait <= 0 {
			if !framerFlushed {
				fl.bt.flushFramer()
				framerFlushed = true
				if fl.bt.err != nil {
					return
				}
				continue
			}
			if fl.sp.pending() {
				// A last line without its newline, idle for
				// close_inactive: its writer stopped or moved to a new
				// file, and once this one is rotated away nothing would
				// read it again. It is shipped as it is; should its
				// writer still end it, the rest arrives as a line of
				// its own.
				t.log.Debug("closing an inactive file: its last line has no newline; shipped as it is",
					zap.String("path", fl.file.Path))
				fl.finishLastLine()
			}
			return
		}
		timer.Reset(wait)
		select {
		case <-fl.wake:
		case <-timer.C:
		case <-fl.in.stop:
			return
		case <-t.ctx.Done():
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// checkFingerprint re-reads the first bytes of the file: when they changed,
// the file was truncated and rewritten past our offset between two looks. A
// fingerprint shorter than fingerprintSize grows with the file.
func (fl *follower) checkFingerprint() bool {
	t := fl.t
	t.mu.Lock()
	fp := fl.e.fp
	t.mu.Unlock()
	var arr [fingerprintSize]byte
	n, err := fl.f.ReadAt(arr[:], 0)
	if err != nil && err != io.EOF {
		return true // cannot tell; the size checks still apply
	}
	if n < fp.n || takeFingerprint(arr[:fp.n]) != fp {
		return false
	}
	if n > fp.n {
		t.mu.Lock()
		fl.e.fp = takeFingerprint(arr[:n])
		t.mu.Unlock()
	}
	fl.fpn = max(n, fp.n)
	return true
}

// copiedBy reports whether the file g (size bytes) holds the bytes of fl's
// file just before the shorter one's end, as a copy of it does and a file
// that merely starts like it does not. sure is false when fl's file no
// longer holds the content fl reads: it shrank, or its first bytes changed
// (truncated after the copy and written again, its reader not aware yet).
// Called with t.mu held.
func (fl *follower) copiedBy(g *os.File, size int64) (copied, sure bool) {
	st, err := fl.f.Stat()
	if err != nil {
		return false, false
	}
	end := min(size, fl.sizeA.Load())
	if st.Size() < end {
		return false, false
	}
	fp := fl.e.fp
	head := make([]byte, fp.n)
	if _, err := fl.f.ReadAt(head, 0); err != nil || takeFingerprint(head) != fp {
		return false, false
	}
	n := min(end, 4096)
	a, b := make([]byte, n), make([]byte, n)
	if _, err := fl.f.ReadAt(a, end-n); err != nil {
		return false, false
	}
	if _, err := g.ReadAt(b, end-n); err != nil {
		return false, false
	}
	return bytes.Equal(a, b), true
}

// restartTruncated handles a file truncated under us (copytruncate): the
// old content's entry is done; the new content is a new file with a new ID
// (its lines must not get the old lines' _ids), read from offset 0 through
// the same descriptor.
func (fl *follower) restartTruncated(size int64) bool {
	t := fl.t
	// Lines of the old content read so far go out under the old identity.
	fl.bt.flush()
	if fl.bt.err != nil {
		return false
	}
	t.stats.truncations.Add(1)
	t.log.Info("file truncated; reading it again from the start",
		zap.String("path", fl.file.Path), zap.String("old_file_id", fl.file.ID), zap.Int64("old_offset", fl.pos), zap.Int64("size", size))
	prefix := make([]byte, fingerprintSize)
	n, err := fl.f.ReadAt(prefix, 0)
	if err != nil && err != io.EOF {
		t.log.Error("reading a truncated file's first bytes failed", zap.String("path", fl.file.Path), zap.Error(err))
		return false
	}
	t.mu.Lock()
	old := fl.e
	ne := t.newEntry(fl.in, old.path, old.dev, old.ino, takeFingerprint(prefix[:n]), false, 0)
	t.reg.unindex(old)
	old.follower = nil
	old.readOffset = fl.sentEnd
	ne.follower = fl
	fl.e = ne
	fl.fpn = ne.fp.n
	fl.file = &shipper.File{ID: ne.id, Path: fl.file.Path}
	t.dirty.Store(true)
	t.mu.Unlock()
	framer := fl.bt.framer
	if fl.in.spec.NewFramer != nil {
		framer = fl.in.spec.NewFramer(fl.file.Path)
	}
	fl.bt.framer = framer
	fl.bt.file = fl.file
	fl.sp.reset()
	fl.unfinishedA.Store(0)
	fl.pos, fl.sentEnd, fl.bt.end = 0, 0, 0
	fl.posA.Store(0)
	// The new ID must be durable before lines are shipped under it.
	for {
		err := t.syncCheckpoint()
		if err == nil {
			break
		}
		t.log.Error("cannot record a truncated file's new identity in the registry; retrying", zap.Error(err))
		select {
		case <-t.ctx.Done():
			return false
		case <-fl.in.stop:
			return false
		case <-time.After(t.cfg.CheckpointInterval):
		}
	}
	if _, err := fl.f.Seek(0, io.SeekStart); err != nil {
		return false
	}
	return true
}

// abandon undoes openFile for a reader that never ran.
func (fl *follower) abandon() {
	t := fl.t
	fl.f.Close()
	t.mu.Lock()
	if fl.e.follower == fl {
		fl.e.follower = nil
	}
	delete(t.open, fl)
	t.unmapPaths(fl)
	t.mu.Unlock()
	t.wg.Done()
}

// exit releases the file and records where a new reader must resume.
func (fl *follower) exit() {
	t := fl.t
	// A batch being filled and never sent gives its reservation back.
	if r := fl.bt.reserved; r > 0 {
		fl.bt.reserved = 0
		t.budget.release(r)
	}
	fl.f.Close()
	if c, ok := fl.r.(io.Closer); ok && fl.gz {
		c.Close()
	}
	t.mu.Lock()
	if fl.e.follower == fl {
		fl.e.follower = nil
		fl.e.readOffset = fl.sentEnd
		if fl.deleted {
			// Its inode is free once closed: a file that gets it next is
			// another file, even if it starts with the same bytes.
			t.reg.forgetInode(fl.e)
			t.dirty.Store(true)
		}
		if !fl.gz {
			fl.e.size = fl.sizeA.Load()
			if fl.sentEnd == fl.e.size {
				fl.e.mtime = fl.mtimeA.Load()
			} else {
				fl.e.mtime = 0 // not read to its end: open it again
			}
		}
	}
	delete(t.open, fl)
	t.unmapPaths(fl)
	t.mu.Unlock()
	t.stats.closed.Add(1)
	t.requestScan()
}

func nlink(st os.FileInfo) uint64 {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(sys.Nlink)
	}
	return 1
}

// finishLastLine ships a last line without its newline as it is, with the
// framer's pending line, for a file nobody will complete.
func (fl *follower) finishLastLine() {
	fl.sp.finish(fl.pos, fl.bt.lineFn)
	fl.bt.flushFramer()
	fl.unfinishedA.Store(0)
}
