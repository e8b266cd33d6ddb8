package tailer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/klauspost/compress/gzip"
	"github.com/traceship/shipper"
	"go.uber.org/zap"
)

// InputSpec is one input as the pipeline wires it: its settings, the
// pipeline's framing and the channel its batches go to.
type InputSpec struct {
	// ID names the input's state in the registry: an input keeps its
	// checkpoints across restarts and reloads as long as its ID is the same.
	ID string
	Input
	// NewFramer, if not nil, gives each file its Framer.
	NewFramer func(path string) shipper.Framer
	// Out receives the batches. It should be bounded: when it is full, the
	// input's readers wait. The Tailer never closes it.
	Out chan<- *shipper.Batch
}

type inputState struct {
	spec InputSpec
	// stop is closed when the input is removed or replaced; its readers
	// exit at once, recording where their successor resumes.
	stop chan struct{}
	// scanned is set after the input's first scan: start_at applies only to
	// the files found then.
	scanned bool
	// swept is set when the input's first scan is over: every file of it
	// found then has a fresh "seen".
	swept bool
	// live is set for an input added by SetInputs while the tailer runs (a
	// reload): start_at applies to its first scan, as to every input's
	// on the agent's first run.
	live     bool
	lastScan time.Time
	// targets are the files the input's symbolic links pointed to at its
	// last scan (Kubernetes' /var/log/containers/*.log): the events of a
	// target name the target, which no glob matches.
	targets map[string]struct{}
}

// Tailer follows the files of a set of inputs and keeps the registry of
// their acknowledged offsets. Its methods are safe for concurrent use.
type Tailer struct {
	cfg Config
	log *zap.Logger
	now func() time.Time
	// openPath opens a file for reading (os.Open; tests inject failures).
	openPath func(string) (*os.File, error)
	// beforeWatch, when set (by tests), runs between a scan's look at the
	// files and its update of the directory watches.
	beforeWatch func()
	// relay, when set (by tests), is given the watcher's event and error
	// channels and returns the ones Run reads: a test can drop events and
	// inject errors, as an inotify queue overflow does.
	relay func(<-chan fsnotify.Event, <-chan error) (<-chan fsnotify.Event, <-chan error)

	ckMu sync.Mutex // serialises Checkpoint
	// ckSeq numbers the requests for a synchronous checkpoint; ckCovered
	// (guarded by ckMu) is the last request a completed write covered.
	ckSeq     atomic.Uint64
	ckCovered uint64
	mu        sync.Mutex
	reg       *registry
	inputs    map[string]*inputState
	open      map[*follower]struct{}
	// byPath maps the paths writes are reported under to the files'
	// followers: more than one where inputs overlap, each reading the
	// file for its own pipeline.
	byPath   map[string][]*follower
	overlaps map[string]struct{} // paths warned of as read by two inputs
	errSeen  map[string]string
	watched  map[string]struct{}
	running  bool
	// firstRun is set when the state directory had no registry: the agent
	// runs there for the first time, and start_at applies.
	firstRun bool
	// orphans indexes by inode the entries of inputs no longer configured
	// (an input whose globs changed has another ID); built when first
	// needed after the inputs change. See adoptOrphan.
	orphans map[devIno][]*entry
	// maxOpenWarned is when the last warning that files wait for
	// max_open_files was logged (scan goroutine only).
	maxOpenWarned time.Time

	ctx     context.Context
	scanReq chan struct{}
	budget  *inflight
	readers chan *[]byte // reading slots, each with its read buffer, see readAvailable
	batches *batchPool   // recycled batches, see pool.go
	wg      sync.WaitGroup
	dirty   atomic.Bool
	stats   counters
}

type counters struct {
	lines, bytes, batches                         atomic.Int64
	opened, closed, truncations                   atomic.Int64
	openErrors, readErrors                        atomic.Int64
	checkpoints, checkpointErrors, skippedMaxOpen atomic.Int64
	registryEntries                               atomic.Int64
	blocked                                       atomic.Int64
}

// Stats is a snapshot of the Tailer's counters.
type Stats struct {
	LinesRead, BytesRead, BatchesSent int64
	// FilesOpen is the number of files open now.
	FilesOpen                int64
	FilesOpened, FilesClosed int64
	Truncations              int64
	OpenErrors, ReadErrors   int64
	Checkpoints              int64
	CheckpointErrors         int64
	SkippedMaxOpen           int64
	RegistryEntries          int64
	InflightBytes            int64
	// ReadersWaiting is the number of readers waiting for a reading slot,
	// for the in-flight budget or for the pipeline to take their batch
	// (backpressure); all of them for long means the pipeline is stuck.
	ReadersWaiting int64
	// ReadersReading is the number of readers holding a reading slot, and
	// with it a read buffer and a batch being filled: at most a few, however
	// many files have lines to read.
	ReadersReading int64
}

// FileStatus describes one file the Tailer knows, for `shipper status` and
// the bytes-behind metric (Size - AckedOffset).
type FileStatus struct {
	Input string
	Path  string
	ID    string
	// Size is the file's size when last looked at (for a .gz file, its
	// decompressed size once read to its end, else 0).
	Size int64
	// ReadOffset is how far the file was read; AckedOffset how far every line
	// was acknowledged (what the registry records).
	ReadOffset, AckedOffset int64
	Open                    bool
	Gz                      bool
	// Gone reports an open file no longer found at any watched path: rotated
	// away out of the globs, or deleted. It is read to its end, then closed.
	Gone bool
	// Unfinished is the length of an open file's last line while it waits
	// for its newline: read, but not a line to acknowledge yet.
	Unfinished int64
}

// New returns a Tailer for cfg. It does not touch the filesystem: the
// registry is loaded by Run.
func New(cfg Config, logger *zap.Logger) (*Tailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("tailer: invalid config: %w", err)
	}
	if cfg.StateDir == "" {
		return nil, errors.New("tailer: no state directory")
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Tailer{
		cfg:      cfg,
		log:      logger,
		now:      time.Now,
		openPath: os.Open,
		inputs:   make(map[string]*inputState),
		open:     make(map[*follower]struct{}),
		byPath:   make(map[string][]*follower),
		overlaps: make(map[string]struct{}),
		errSeen:  make(map[string]string),
		watched:  make(map[string]struct{}),
		scanReq:  make(chan struct{}, 1),
		budget:   newInflight(cfg.MaxInflightBytes),
		readers:  newReadSlots(),
		batches:  newBatchPool(cfg.MaxInflightBytes),
		ctx:      context.Background(),
	}, nil
}

// SetInputs replaces the set of inputs; it may be called before and while
// Run runs (config reload). Inputs are validated first; on error nothing
// changes. The readers of every previous input stop where the last batch
// they handed out ended (a pending framed or partial line is read again,
// not lost) and the next scan resumes each file from there, so a reload
// neither loses nor re-reads lines. Inputs whose ID is gone stop; a new
// input that finds one of their files takes its entry over (see
// adoptOrphan), and the others are cleaned up after clean_removed like
// those of deleted files.
func (t *Tailer) SetInputs(inputs []InputSpec) error {
	var errs []error
	ids := make(map[string]bool)
	for i, in := range inputs {
		if in.ID == "" {
			errs = append(errs, &shipper.FieldError{Path: fmt.Sprintf("inputs[%d]", i), Err: errors.New("input has no ID")})
		} else if ids[in.ID] {
			errs = append(errs, &shipper.FieldError{Path: fmt.Sprintf("inputs[%d]", i), Err: fmt.Errorf("duplicate input ID %q", in.ID)})
		}
		ids[in.ID] = true
		if in.Out == nil {
			errs = append(errs, &shipper.FieldError{Path: fmt.Sprintf("inputs[%d]", i), Err: errors.New("input has no output channel")})
		}
		if err := in.Input.Validate(); err != nil {
			errs = append(errs, prefixErrors(fmt.Sprintf("inputs[%d]", i), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	t.mu.Lock()
	old := t.inputs
	t.orphans = nil
	t.inputs = make(map[string]*inputState, len(inputs))
	for _, in := range inputs {
		st := &inputState{spec: in, stop: make(chan struct{}), live: t.running}
		if o := old[in.ID]; o != nil {
			st.scanned = o.scanned
		}
		t.inputs[in.ID] = st
	}
	t.mu.Unlock()
	for _, o := range old {
		close(o.stop)
	}
	t.requestScan()
	return nil
}

func prefixErrors(prefix string, err error) error {
	var out []error
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var fe *shipper.FieldError
		if errors.As(e, &fe) {
			out = append(out, &shipper.FieldError{Path: prefix + "." + fe.Path, Err: fe.Err, Warning: fe.Warning})
		} else {
			out = append(out, &shipper.FieldError{Path: prefix, Err: e})
		}
	}
	return errors.Join(out...)
}

func (t *Tailer) requestScan() {
	select {
	case t.scanReq <- struct{}{}:
	default:
	}
}

// Run loads the registry, follows the inputs' files until ctx is done, then
// waits for its readers to stop and writes a final checkpoint. It does not
// close the output channels. Acknowledgements that arrive after Run
// returned are recorded by Checkpoint.
func (t *Tailer) Run(ctx context.Context) error {
	if err := os.MkdirAll(t.cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("tailer: creating the state directory: %w", err)
	}
	_, statErr := os.Stat(filepath.Join(t.cfg.StateDir, RegistryFile))
	firstRun := errors.Is(statErr, fs.ErrNotExist)
	reg, err := loadRegistry(t.cfg.StateDir)
	if err != nil {
		return fmt.Errorf("tailer: %w", err)
	}
	t.mu.Lock()
	if t.running {
		t.mu.Unlock()
		return errors.New("tailer: Run called twice")
	}
	t.running = true
	t.firstRun = firstRun
	t.reg = reg
	t.ctx = ctx
	t.stats.registryEntries.Store(int64(len(reg.entries)))
	t.mu.Unlock()

	if firstRun {
		// Written at once, even empty: the next start then knows that the
		// agent ran here, and start_at no longer applies to new files.
		if err := t.syncCheckpoint(); err != nil {
			return err
		}
	}
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		t.log.Warn("filesystem notifications unavailable; relying on the periodic rescan", zap.Error(err))
		watcher = nil
	}
	var events <-chan fsnotify.Event
	var werrs <-chan error
	if watcher != nil {
		events, werrs = watcher.Events, watcher.Errors
		if t.relay != nil {
			events, werrs = t.relay(events, werrs)
		}
	}

	tick := time.NewTicker(t.minScanInterval())
	defer tick.Stop()
	ckpt := time.NewTicker(t.cfg.CheckpointInterval)
	defer ckpt.Stop()

	t.scan(watcher, true)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-t.scanReq:
			t.scan(watcher, true)
			tick.Reset(t.minScanInterval())
		case <-tick.C:
			t.batches.idle()
			t.scan(watcher, false)
		case <-ckpt.C:
			if err := t.Checkpoint(); err != nil {
				t.log.Error("writing the registry failed; retrying at the next interval", zap.Error(err))
			}
		case ev := <-events:
			t.onEvent(ev)
		case err := <-werrs:
			t.log.Warn("filesystem notification error; watching every directory again and rescanning", zap.Error(err))
			t.rewatch(watcher)
			t.wakeAll()
			t.scan(watcher, true)
		}
	}
	if watcher != nil {
		watcher.Close()
	}
	t.wg.Wait()
	if err := t.Checkpoint(); err != nil {
		return fmt.Errorf("tailer: final checkpoint: %w", err)
	}
	return nil
}

func (t *Tailer) minScanInterval() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := time.Duration(0)
	for _, in := range t.inputs {
		if d == 0 || in.spec.ScanInterval < d {
			d = in.spec.ScanInterval
		}
	}
	if d == 0 {
		d = 10 * time.Second
	}
	return d
}

func (t *Tailer) onEvent(ev fsnotify.Event) {
	t.mu.Lock()
	var buf [2]*follower
	fls := append(buf[:0], t.byPath[ev.Name]...)
	_, dir := t.watched[ev.Name]
	dirGone := dir && ev.Op&(fsnotify.Remove|fsnotify.Rename) != 0
	if dirGone {
		// A watched directory went: the kernel dropped its watch. Forget
		// it, so that a directory made again at once under the same name
		// is watched again by the scan this asks for.
		delete(t.watched, ev.Name)
	}
	t.mu.Unlock()
	if dirGone {
		t.requestScan()
		return
	}
	for _, fl := range fls {
		fl.poke()
	}
	if len(fls) > 0 && ev.Op&(fsnotify.Write|fsnotify.Chmod) != 0 {
		return
	}
	if len(fls) > 0 || ev.Op&fsnotify.Create != 0 || t.matchesAny(ev.Name) || t.isTarget(ev.Name) {
		t.requestScan()
	}
}

func (t *Tailer) matchesAny(path string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, in := range t.inputs {
		for _, p := range in.spec.Paths {
			if matchPath(p, path) {
				return true
			}
		}
	}
	return false
}

// swept reports whether every input finished its first scan. Called with
// t.mu held.
func (t *Tailer) swept() bool {
	for _, in := range t.inputs {
		if !in.swept {
			return false
		}
	}
	return true
}

// isTarget reports whether path is the target of a watched symbolic link.
// A closed file that grows is reopened by the scan an event asks for; for
// a link's target that event would otherwise wait for the next periodic
// scan, by when a burst of lines may have been rotated away.
func (t *Tailer) isTarget(path string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, in := range t.inputs {
		if _, ok := in.targets[path]; ok {
			return true
		}
	}
	return false
}

// rewatch removes the watch of every directory in t.watched and adds it
// again. The error Run handles is usually an inotify queue overflow, which
// drops events, the removal of a watched directory among them: one made
// again under the same name then stays in t.watched while its watch went
// with the old directory, and updateWatches, taking it for watched, would
// never watch the new one; writes there would wait for the periodic scan.
// Adding the path again watches whatever directory is there now. Removing
// it first frees the kernel's watch of a directory renamed away (its move
// lost too), which would otherwise stay on the old directory, and fsnotify's
// record of a watch the kernel dropped. A directory that is gone is
// forgotten; the scan that follows watches what the inputs need, looking at
// the files after these watches are in place, so nothing written between a
// removal and its add goes unseen. Called from Run's loop only, like
// updateWatches.
func (t *Tailer) rewatch(w *fsnotify.Watcher) {
	if w == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for d := range t.watched {
		// Fails for a watch the kernel dropped already (a removed
		// directory): there is nothing left to remove then.
		_ = w.Remove(d)
		if err := w.Add(d); err != nil {
			// Gone, or not watchable now: the scan adds it again if an
			// input still needs it, and reports what fails.
			delete(t.watched, d)
		}
	}
}

func (t *Tailer) wakeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for fl := range t.open {
		fl.poke()
	}
}

// Checkpoint writes the registry if anything changed since the last write.
// Only acknowledged offsets are written. It also drops the entries of files
// gone for longer than clean_removed.
func (t *Tailer) Checkpoint() error {
	t.ckMu.Lock()
	defer t.ckMu.Unlock()
	return t.checkpointLocked(false)
}

// syncCheckpoint makes what the caller changed before calling durable. It
// is a group commit: callers that arrive while a write is in progress share
// the next one, so many new or growing files cost few writes.
func (t *Tailer) syncCheckpoint() error {
	want := t.ckSeq.Add(1)
	t.ckMu.Lock()
	defer t.ckMu.Unlock()
	if t.ckCovered >= want {
		return nil
	}
	covered := t.ckSeq.Load()
	if err := t.checkpointLocked(true); err != nil {
		return err
	}
	t.ckCovered = covered
	return nil
}

func (t *Tailer) checkpointLocked(force bool) error {
	t.mu.Lock()
	if t.reg == nil {
		t.mu.Unlock()
		return nil
	}
	t.clean()
	if !t.dirty.Swap(false) && !force {
		t.mu.Unlock()
		return nil
	}
	type fpLen struct {
		e *entry
		n int
	}
	// Only entries whose file does not yet hold their ID, or holds a
	// shorter fingerprint than they have now, need marking after the write.
	// A fingerprint only grows (to fingerprintSize at most), and durableFP
	// is a length it had, so an entry of a small file that is not growing
	// is not collected at every checkpoint.
	var written []fpLen
	for _, e := range t.reg.entries {
		if !e.durable || e.durableFP < e.fp.n {
			written = append(written, fpLen{e, e.fp.n})
		}
	}
	data := t.reg.encode(make([]byte, 0, 256*len(t.reg.entries)+64))
	t.stats.registryEntries.Store(int64(len(t.reg.entries)))
	t.mu.Unlock()
	if err := writeFileAtomic(t.cfg.StateDir, RegistryFile, data); err != nil {
		t.dirty.Store(true)
		t.stats.checkpointErrors.Add(1)
		return fmt.Errorf("tailer: writing the registry: %w", err)
	}
	t.stats.checkpoints.Add(1)
	t.mu.Lock()
	for _, w := range written {
		w.e.durable = true
		w.e.durableFP = w.n
	}
	t.mu.Unlock()
	return nil
}

// clean removes entries of files not found for clean_removed. Called with
// t.mu held.
func (t *Tailer) clean() {
	// Not before every input was scanned once: until then the entries of
	// the inputs not yet scanned have the "seen" of the last run, and after
	// a stop longer than clean_removed a checkpoint of the first input's
	// scan would remove them all, so that their files were read again
	// under new IDs.
	if !t.swept() {
		return
	}
	limit := t.now().Add(-t.cfg.CleanRemoved).Unix()
	for _, e := range t.reg.entries {
		if e.follower == nil && e.seen < limit {
			t.reg.remove(e)
			t.dirty.Store(true)
		}
	}
}

// acked is the done function of a batch's Ack.
func (t *Tailer) acked(e *entry, seq uint64, n int64) {
	t.budget.release(n)
	if off := e.tr.ack(seq); off >= 0 {
		e.acked.Store(off)
		t.dirty.Store(true)
	}
}

// newEntry creates and registers the entry of a file never seen. Called
// with t.mu held.
func (t *Tailer) newEntry(in *inputState, path string, dev, ino uint64, fp fingerprint, gz bool, offset int64) *entry {
	now := t.now()
	e := &entry{input: in.spec.ID, path: path, dev: dev, ino: ino, fp: fp, gz: gz,
		seen: now.Unix(), first: now.UnixNano(), readOffset: offset}
	e.id = followID(dev, ino, fp, e.first)
	for t.reg.entries[regKey{e.input, e.id}] != nil { // same nanosecond, same file: never in practice
		e.first++
		e.id = followID(dev, ino, fp, e.first)
	}
	e.acked.Store(offset)
	t.reg.add(e)
	t.dirty.Store(true)
	return e
}

// scan expands every input's patterns and opens, wakes or lets go of files.
// all forces a scan of every input; otherwise only inputs whose
// scan_interval elapsed are scanned.
func (t *Tailer) scan(watcher *fsnotify.Watcher, all bool) {
	if t.ctx.Err() != nil {
		return
	}
	now := t.now()
	tick := t.minScanInterval()
	t.mu.Lock()
	inputs := make([]*inputState, 0, len(t.inputs))
	for _, in := range t.inputs {
		if all || scanDue(now.Sub(in.lastScan), in.spec.ScanInterval, tick) {
			in.lastScan = now
			inputs = append(inputs, in)
		}
	}
	t.mu.Unlock()
	g := &globber{dirs: make(map[string]struct{}), onErr: t.reportPathError}
	for _, in := range inputs {
		t.scanInput(g, in)
	}
	if watcher != nil && len(inputs) > 0 {
		if t.beforeWatch != nil {
			t.beforeWatch()
		}
		t.updateWatches(watcher, g.dirs, len(inputs) == len(t.inputs))
	}
}

// scanDue reports whether an input whose last scan was elapsed ago is due
// at a tick of the scan ticker (which beats at the shortest scan_interval).
// Ticks arrive a little early or late, so a tick that falls just short of
// the interval counts: were it skipped, the input would wait a whole
// further tick, and new files there up to twice scan_interval.
func scanDue(elapsed, interval, tick time.Duration) bool {
	return elapsed >= interval-tick/4
}

func (t *Tailer) reportPathError(path string, err error) {
	t.mu.Lock()
	prev, seen := t.errSeen[path]
	t.errSeen[path] = err.Error()
	t.mu.Unlock()
	if seen && prev == err.Error() {
		return // logged once; retried at every scan
	}
	t.stats.openErrors.Add(1)
	if errors.Is(err, syscall.ELOOP) {
		t.log.Warn("symbolic link loop; skipping the path", zap.String("path", path), zap.Error(err))
		return
	}
	t.log.Error("cannot read a watched path; other files keep flowing, retrying at every scan",
		zap.String("path", path), zap.Error(err))
}

func (t *Tailer) clearPathError(path string) {
	t.mu.Lock()
	delete(t.errSeen, path)
	t.mu.Unlock()
}

type found struct {
	path     string
	resolved string
	dev, ino uint64
	size     int64
	mtime    int64
}

func (t *Tailer) scanInput(g *globber, in *inputState) {
	spec := in.spec
	var paths []string
	for _, p := range spec.Paths {
		paths = g.expand(paths, p)
	}
	seen := make(map[uint64]map[uint64]bool)
	targets := make(map[string]struct{})
	var files []found
	for _, p := range paths {
		if spec.Excludes(p) {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			g.report(p, err)
			continue
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		dev, ino := uint64(sys.Dev), uint64(sys.Ino)
		if seen[dev][ino] {
			continue // the same file through another path (a symlink)
		}
		if seen[dev] == nil {
			seen[dev] = make(map[uint64]bool)
		}
		seen[dev][ino] = true
		resolved := p
		if r, err := filepath.EvalSymlinks(p); err == nil {
			resolved = r
			if d := filepath.Dir(r); d != filepath.Dir(p) {
				g.dirs[d] = struct{}{}
			}
			if r != p {
				targets[r] = struct{}{}
			}
		}
		files = append(files, found{path: p, resolved: resolved, dev: dev, ino: ino, size: st.Size(), mtime: st.ModTime().UnixNano()})
	}

	// Plain files first: a .gz found in the same scan as the file it was
	// made from must find that file's entry (and wait for it to be drained)
	// rather than be read as a new file.
	sort.SliceStable(files, func(i, j int) bool {
		return !strings.HasSuffix(files[i].path, ".gz") && strings.HasSuffix(files[j].path, ".gz")
	})
	now := t.now()
	t.mu.Lock()
	in.targets = targets
	// start_at is for the files there when the agent first runs on its
	// state_dir (no registry yet), or when a reload adds the input: after a
	// restart, a file that appeared while the agent was stopped is new and
	// read from its beginning, also when the globs changed meanwhile.
	first := !in.scanned && (t.firstRun || in.live) && !t.reg.hasInput(spec.ID)
	in.scanned = true
	t.mu.Unlock()
	present := make(map[*follower]bool)
	waiting := 0
	defer func() {
		// Silence here looked like a stall: files only open as others
		// close (close_inactive). Said at most every five minutes.
		if waiting > 0 && now.Sub(t.maxOpenWarned) >= 5*time.Minute {
			t.maxOpenWarned = now
			t.log.Warn("files wait for a free reading slot: tail.max_open_files are open; they are read as open files close (close_inactive)",
				zap.Int("waiting", waiting), zap.Int("max_open_files", t.cfg.MaxOpenFiles), zap.String("input", in.spec.ID))
		}
	}()
	var opened []*follower
	defer func() { t.startFollowers(opened) }()
	for _, f := range files {
		t.mu.Lock()
		e := t.reg.byInode[inodeKey{spec.ID, f.dev, f.ino}]
		if e != nil {
			e.seen = now.Unix()
			// Renamed within the globs (app.log → app.log.1): the registry
			// and status name it where it is now. Its events keep the path
			// it was opened at (log.file.path).
			if e.path != f.path {
				e.path = f.path
				t.dirty.Store(true)
			}
			if fl := e.follower; fl != nil {
				present[fl] = true
				fl.gone.Store(false)
				if fl.file.Path != f.path {
					t.unmapPaths(fl)
				}
				t.mapPaths(fl, f)
				grew := !fl.gz && f.size != fl.posA.Load()
				t.mu.Unlock()
				if grew {
					fl.poke()
				}
				continue
			}
			if e.gz && e.size > 0 && e.readOffset >= e.size {
				t.mu.Unlock()
				continue // a .gz read to its end
			}
			if !e.gz && f.size == e.readOffset && f.mtime == e.mtime && e.mtime != 0 {
				e.size = f.size
				t.mu.Unlock()
				continue // closed and not changed
			}
		}
		if len(t.open) >= t.cfg.MaxOpenFiles {
			t.mu.Unlock()
			t.stats.skippedMaxOpen.Add(1)
			waiting++
			continue
		}
		t.mu.Unlock()
		if fl := t.openFile(in, f, first, now.Unix()); fl != nil {
			present[fl] = true
			opened = append(opened, fl)
		}
	}
	// Files of this input no longer found at any path: drain and let go.
	t.mu.Lock()
	in.swept = true
	for fl := range t.open {
		if fl.in == in && !present[fl] {
			fl.gone.Store(true)
			fl.poke()
		}
	}
	t.mu.Unlock()
}

// openFile opens a found file, matches it with the registry and starts its
// reader. It returns nil when the file is not to be read now.
func (t *Tailer) openFile(in *inputState, fd found, firstScan bool, scanned int64) *follower {
	spec := in.spec
	f, err := t.openPath(fd.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // gone since the scan saw it
	}
	if err != nil {
		t.reportPathError(fd.path, fmt.Errorf("opening: %w", err))
		return nil
	}
	t.clearPathError(fd.path)
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		t.reportPathError(fd.path, fmt.Errorf("stat: %w", err))
		return nil
	}
	sys := st.Sys().(*syscall.Stat_t)
	dev, ino, size := uint64(sys.Dev), uint64(sys.Ino), st.Size()

	var head [3]byte
	hn, _ := f.ReadAt(head[:], 0)
	// A .gz name is enough: a .gz being written may not hold its magic
	// bytes yet, and must never be read as text.
	gz := bytes.Equal(head[:hn], gzipMagic) || strings.HasSuffix(fd.path, ".gz")
	prefix, err := readPrefix(f, gz)
	if err != nil {
		// A .gz being written (compression in progress) ends early: retry later.
		t.log.Debug("cannot read a file's first bytes yet", zap.String("path", fd.path), zap.Error(err))
		return nil
	}
	fp := takeFingerprint(prefix)

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx.Err() != nil || t.inputs[spec.ID] != in {
		return nil
	}
	now := t.now()
	e := t.reg.byInode[inodeKey{spec.ID, dev, ino}]
	if e != nil && e.follower != nil {
		return nil // raced with another scan
	}
	if e != nil {
		sameContent := e.fp.n <= len(prefix) && takeFingerprint(prefix[:e.fp.n]) == e.fp
		if !sameContent || (!gz && size < e.readOffset) {
			// Inode reused by another file, or truncated while closed.
			t.log.Info("file at a known inode has other content; reading it as a new file",
				zap.String("path", fd.path), zap.String("old_file_id", e.id))
			t.reg.unindex(e)
			e = nil
		}
	}
	if e == nil && !gz {
		o, busy := t.adoptOrphan(spec.ID, dev, ino, prefix, size)
		if busy {
			return nil // its old reader is still stopping; look again later
		}
		if o != nil {
			t.log.Info("file taken over from an input no longer configured; resuming at its checkpoint",
				zap.String("path", fd.path), zap.String("file_id", o.id), zap.String("input", spec.ID), zap.Int64("offset", o.readOffset))
			e = o
		}
	}
	if e == nil && !gz && t.hasOriginal(spec.ID, fd.path) {
		// A copy of a known file's content under one of its rotated names
		// (logrotate's copytruncate, with globs that match the copy): it
		// continues that file, with its ID, where its reading stopped.
		// Only a whole fingerprint (1 KiB) is trusted to tell a copy: a
		// shorter one is a short file whose few lines another file may
		// share; then the file is read as new (at worst those few lines
		// twice, never a line lost).
		m := t.matchContent(spec.ID, prefix)
		if m != nil && (m.gz || m.fp.n < fingerprintSize || !isRotatedName(fd.path, m.path)) {
			m = nil
		}
		if m != nil && m.follower != nil {
			if copied, sure := m.follower.copiedBy(f, size); copied || !sure {
				// Its original is still read (not truncated yet, or a
				// backup): the copy adds nothing now; look again later.
				return nil
			}
			m = nil // only starts like it: a file of its own
		}
		if m != nil {
			if size < m.readOffset {
				return nil
			}
			t.log.Info("file continues a known file's content (a copy); resuming at its checkpoint",
				zap.String("path", fd.path), zap.String("file_id", m.id), zap.Int64("offset", m.readOffset))
			t.reg.rekey(m, dev, ino)
			e = m
		} else if t.copyInProgress(spec.ID, fd.path, len(prefix), st.ModTime(), now) {
			return nil
		}
	}
	if e == nil && gz {
		// A compressed copy of a file already (partly) read: same ID, resume.
		if m := t.matchContent(spec.ID, prefix); m != nil {
			if m.follower != nil {
				return nil // its original is still being drained; look again later
			}
			if m.seen >= scanned {
				// Its original is still there: the compression is still
				// being written (gzip, logrotate, the kubelet's .tmp).
				// Taking the entry over now would read a truncated stream
				// and leave the original to be read again as a new file.
				return nil
			}
			t.log.Debug("compressed file continues a known file", zap.String("path", fd.path), zap.String("file_id", m.id),
				zap.Int64("offset", m.readOffset))
			t.reg.rekey(m, dev, ino)
			m.gz = true
			m.size = 0
			e = m
		}
	}
	if e == nil {
		start := int64(0)
		if firstScan && spec.StartAt == StartEnd {
			start = size
			if gz {
				// An archive that existed at the start is history: skip it,
				// using the decompressed size in the gzip trailer (ISIZE).
				var tr [4]byte
				if n, _ := f.ReadAt(tr[:], size-4); n == 4 && size > 4 {
					start = int64(binary.LittleEndian.Uint32(tr[:]))
				}
			}
		}
		e = t.newEntry(in, fd.path, dev, ino, fp, gz, start)
		if gz && start > 0 {
			e.size = start
		}
		t.log.Debug("new file", zap.String("path", fd.path), zap.String("file_id", e.id), zap.Int64("offset", start),
			zap.Uint64("ino", ino), zap.Int("fp_len", fp.n))
	} else if len(prefix) > e.fp.n && !gz {
		e.fp = fp
	}
	e.seen = now.Unix()
	e.path = fd.path
	if gz && e.readOffset > 0 && e.size > 0 && e.readOffset >= e.size {
		return nil
	}
	fl := &follower{t: t, in: in, e: e, f: f, gz: gz, fpn: e.fp.n, wake: make(chan struct{}, 1),
		file: &shipper.File{ID: e.id, Path: fd.path}}
	if !gz {
		fl.sizeA.Store(size)
	}
	if err := fl.start(e.readOffset); err != nil {
		t.log.Error("positioning a file failed", zap.String("path", fd.path), zap.Error(err))
		return nil
	}
	keep = true
	e.follower = fl
	t.open[fl] = struct{}{}
	t.mapPaths(fl, fd)
	t.stats.opened.Add(1)
	t.wg.Add(1) // started (or abandoned) by startFollowers
	return fl
}

// startFollowers starts the readers opened by a scan. A reader of an entry
// not yet in the registry file waits until it is: a File.ID must be durable
// before any line is shipped under it, or a crash would read the file again
// under another ID (duplicates Elasticsearch keeps).
func (t *Tailer) startFollowers(fls []*follower) {
	if len(fls) == 0 {
		return
	}
	t.mu.Lock()
	needSync := false
	for _, fl := range fls {
		needSync = needSync || !fl.e.durable
	}
	t.mu.Unlock()
	if needSync {
		if err := t.syncCheckpoint(); err != nil {
			t.log.Error("cannot record new files in the registry; not reading them until it works",
				zap.Error(err))
			for _, fl := range fls {
				t.mu.Lock()
				durable := fl.e.durable
				t.mu.Unlock()
				if durable {
					go fl.run()
				} else {
					fl.abandon()
				}
			}
			return
		}
	}
	for _, fl := range fls {
		go fl.run()
	}
}

// devIno is a file's inode.
type devIno struct{ dev, ino uint64 }

// adoptOrphan finds the entry of the file at dev/ino with this content that
// an input no longer configured left, and moves it to input. An input whose
// path globs changed has another ID (see pipeline.InputID), so without this
// its files would be read again from start_at under new file IDs: every
// line shipped twice, with _ids Elasticsearch cannot tell apart. The file
// keeps its ID and checkpoint. busy is true while the old input's reader of
// the file is still stopping. Called with t.mu held.
func (t *Tailer) adoptOrphan(input string, dev, ino uint64, prefix []byte, size int64) (e *entry, busy bool) {
	if t.orphans == nil {
		t.orphans = make(map[devIno][]*entry)
		for _, o := range t.reg.entries {
			if t.inputs[o.input] == nil {
				k := devIno{o.dev, o.ino}
				t.orphans[k] = append(t.orphans[k], o)
			}
		}
	}
	k := devIno{dev, ino}
	for i, o := range t.orphans[k] {
		if t.inputs[o.input] != nil || t.reg.entries[regKey{o.input, o.id}] != o || o.gz ||
			o.fp.n > len(prefix) || takeFingerprint(prefix[:o.fp.n]) != o.fp || size < o.readOffset ||
			t.reg.entries[regKey{input, o.id}] != nil {
			continue
		}
		if o.follower != nil {
			return nil, true
		}
		t.orphans[k] = slices.Delete(t.orphans[k], i, i+1)
		t.reg.remove(o)
		o.input = input
		t.reg.add(o)
		t.dirty.Store(true)
		return o, false
	}
	return nil, false
}

// isRotatedName reports whether path is a rotated name of orig (app.log.1,
// app.log-20261123 for app.log).
func isRotatedName(path, orig string) bool {
	return len(path) > len(orig) && strings.HasPrefix(path, orig)
}

// hasOriginal reports whether path is a rotated name of a file of input
// the registry knows (not compressed). It does not ask for a whole
// fingerprint, as the copy checks after it do: an open file's fingerprint
// may lag behind its content until matchContent refreshes it. Called with
// t.mu held.
func (t *Tailer) hasOriginal(input, path string) bool {
	for _, e := range t.reg.entries {
		if e.input == input && !e.gz && isRotatedName(path, e.path) {
			return true
		}
	}
	return false
}

// copyInProgress reports whether a file at path, modified at mtime with
// n bytes so far, may be a copy of a known file of input still being
// written: it has a rotated name of that file, less content than the
// file's fingerprint, and was written to in the last few seconds. Such a
// file is looked at again later rather than read as a new file, which a
// copy of content already shipped would duplicate under another ID.
// Called with t.mu held.
func (t *Tailer) copyInProgress(input, path string, n int, mtime, now time.Time) bool {
	if now.Sub(mtime) > copyGrace {
		return false
	}
	for _, e := range t.reg.entries {
		if e.input == input && !e.gz && e.fp.n == fingerprintSize && n < e.fp.n && isRotatedName(path, e.path) {
			return true
		}
	}
	return false
}

// copyGrace is how long a short file under a rotated name may still be a
// copy being written (copytruncate copies in well under a second).
const copyGrace = 5 * time.Second

// matchContent finds a closed entry of input whose fingerprint matches the
// start of content. Called with t.mu held.
func (t *Tailer) matchContent(input string, prefix []byte) *entry {
	var best *entry
	sums := make(map[int]fingerprint)
	for _, e := range t.reg.entries {
		if fl := e.follower; fl != nil && e.input == input && !e.gz && e.fp.n < fingerprintSize {
			// Its reader may be held back (backpressure) while the file grew,
			// rotated and was compressed: take the fingerprint it would have.
			var arr [fingerprintSize]byte
			n, _ := fl.f.ReadAt(arr[:], 0)
			if n > e.fp.n && takeFingerprint(arr[:e.fp.n]) == e.fp {
				e.fp = takeFingerprint(arr[:n])
			}
		}
		if e.input != input || e.fp.n == 0 || e.fp.n > len(prefix) || (best != nil && best.fp.n >= e.fp.n) {
			continue
		}
		s, ok := sums[e.fp.n]
		if !ok {
			s = takeFingerprint(prefix[:e.fp.n])
			sums[e.fp.n] = s
		}
		if s == e.fp {
			best = e
		}
	}
	return best
}

// readPrefix reads the first fingerprintSize bytes of the (decompressed)
// content.
func readPrefix(f *os.File, gz bool) ([]byte, error) {
	buf := make([]byte, fingerprintSize)
	if !gz {
		n, err := f.ReadAt(buf, 0)
		if err != nil && err != io.EOF {
			return nil, err
		}
		return buf[:n], nil
	}
	zr, err := gzip.NewReader(io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	n, err := io.ReadFull(zr, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	if err == io.ErrUnexpectedEOF {
		// Short content: make sure the stream really ended cleanly.
		if _, err := zr.Read(make([]byte, 1)); err != io.EOF {
			return nil, fmt.Errorf("incomplete gzip stream")
		}
	}
	return buf[:n], nil
}

// mapPaths records the paths writes to fl's file are reported under.
// Called with t.mu held.
func (t *Tailer) mapPaths(fl *follower, f found) {
	t.mapPath(fl, f.path)
	if f.resolved != f.path {
		t.mapPath(fl, f.resolved)
	}
}

func (t *Tailer) mapPath(fl *follower, path string) {
	fls := t.byPath[path]
	for _, x := range fls {
		if x == fl {
			return
		}
	}
	for _, x := range fls {
		if x.in != fl.in && x.e.dev == fl.e.dev && x.e.ino == fl.e.ino {
			t.warnOverlap(path, x.in, fl.in)
			break
		}
	}
	t.byPath[path] = append(fls, fl)
}

// warnOverlap says, once per path, that two inputs read the same file:
// each ships every line of it through its own pipeline, as Filebeat's
// inputs do, which is rarely meant (globs that overlap by mistake).
// Called with t.mu held.
func (t *Tailer) warnOverlap(path string, a, b *inputState) {
	if _, ok := t.overlaps[path]; ok {
		return
	}
	t.overlaps[path] = struct{}{}
	t.log.Warn("a file matches the paths of two inputs: each ships all its lines, so its documents are indexed twice; narrow a glob or add an exclude to keep one",
		zap.String("path", path), zap.String("input", a.spec.ID), zap.String("other_input", b.spec.ID))
}

func (t *Tailer) unmapPaths(fl *follower) {
	for p, fls := range t.byPath {
		for i, x := range fls {
			if x == fl {
				fls = append(fls[:i], fls[i+1:]...)
				break
			}
		}
		if len(fls) == 0 {
			delete(t.byPath, p)
		} else {
			t.byPath[p] = fls
		}
	}
}

func (t *Tailer) updateWatches(w *fsnotify.Watcher, dirs map[string]struct{}, complete bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	added := false
	var addedNow map[string]struct{}
	for d := range dirs {
		if _, ok := t.watched[d]; ok {
			continue
		}
		if err := w.Add(d); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				t.log.Warn("cannot watch a directory; its changes are seen at the next rescan", zap.String("dir", d), zap.Error(err))
			}
			continue
		}
		t.watched[d] = struct{}{}
		if addedNow == nil {
			addedNow = make(map[string]struct{})
		}
		addedNow[d] = struct{}{}
		added = true
	}
	// fsnotify drops the removal event of a watched directory whose parent
	// is watched too, counting on the parent's event; a parent watched only
	// now sent none for a removal before its watch. A child watched before
	// may then be gone, or made again (rm -rf new; mkdir new between a
	// scan's look at logs/ and at new/, which then watches both), with
	// nothing to say so: watch each child again, which watches the
	// directory there now, or forget it if there is none. The rescan below
	// finds the files made in it before.
	for d := range t.watched {
		if _, ok := addedNow[filepath.Dir(d)]; !ok {
			continue
		}
		if err := w.Add(d); err != nil {
			w.Remove(d)
			delete(t.watched, d)
		}
	}
	// A directory that appeared (new/ of logs/new/*.log) may have got its
	// files between the scan's look and the watch: look again now rather
	// than at the next periodic scan, by when they may be rotated away.
	if added && t.swept() {
		t.requestScan()
	}
	if !complete {
		return
	}
	for d := range t.watched {
		if _, ok := dirs[d]; !ok {
			w.Remove(d)
			delete(t.watched, d)
		}
	}
}

// Files returns the status of every file in the registry. The size of an
// open file is read from the file (a reader held back by backpressure does
// not refresh its own).
func (t *Tailer) Files() []FileStatus { return t.files(true) }

// FilesCached is Files with the sizes the readers last saw, without a
// system call per open file: for polling every second.
func (t *Tailer) FilesCached() []FileStatus { return t.files(false) }

func (t *Tailer) files(stat bool) []FileStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reg == nil {
		return nil
	}
	out := make([]FileStatus, 0, len(t.reg.entries))
	for _, e := range t.reg.entries {
		s := FileStatus{Input: e.input, Path: e.path, ID: e.id, Size: e.size, ReadOffset: e.readOffset,
			AckedOffset: e.acked.Load(), Gz: e.gz}
		if fl := e.follower; fl != nil {
			s.Open = true
			s.Gone = fl.gone.Load()
			s.Unfinished = fl.unfinishedA.Load()
			s.ReadOffset = fl.posA.Load()
			if !fl.gz {
				s.Size = fl.sizeA.Load()
				// The reader refreshes its size as it reads; held back
				// (backpressure, an outage) it does not, and the lag
				// would look smaller than it is exactly then.
				if stat {
					if st, err := fl.f.Stat(); err == nil && st.Size() > s.Size {
						s.Size = st.Size()
					}
				}
			}
		}
		out = append(out, s)
	}
	return out
}

// Stats returns a snapshot of the counters.
func (t *Tailer) Stats() Stats {
	t.mu.Lock()
	open := int64(len(t.open))
	t.mu.Unlock()
	c := &t.stats
	return Stats{
		LinesRead: c.lines.Load(), BytesRead: c.bytes.Load(), BatchesSent: c.batches.Load(),
		FilesOpen: open, FilesOpened: c.opened.Load(), FilesClosed: c.closed.Load(),
		Truncations: c.truncations.Load(), OpenErrors: c.openErrors.Load(), ReadErrors: c.readErrors.Load(),
		Checkpoints: c.checkpoints.Load(), CheckpointErrors: c.checkpointErrors.Load(),
		SkippedMaxOpen: c.skippedMaxOpen.Load(), RegistryEntries: c.registryEntries.Load(),
		InflightBytes: t.budget.inUse(), ReadersWaiting: c.blocked.Load(), ReadersReading: int64(cap(t.readers) - len(t.readers)),
	}
}
