package tailer

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// tortureLines is how many numbered lines each rotation torture writes.
func tortureLines(t *testing.T) int {
	if testing.Short() {
		return 50_000
	}
	return 200_000
}

// startTorture starts a harness whose consumer acknowledges out of order,
// watching these names in its directory.
func startTorture(t *testing.T, names ...string) *harness {
	h := newHarness(t, true)
	h.input.Paths = nil
	for _, p := range names {
		h.input.Paths = append(h.input.Paths, h.path(p))
	}
	h.start()
	return h
}

// waitAllOnce waits for lines 0..n-1 and for the rotated files to be let go
// (so that late duplicates, a .gz read again, show up), then checks them
// with checkAllOnce.
func waitAllOnce(t *testing.T, h *harness, n int) {
	t.Helper()
	waitFor(t, 60*time.Second, "every line", func() bool { return h.c.distinct() >= n })
	waitFor(t, 10*time.Second, "the rotated files to be let go", func() bool {
		if h.tl.Stats().FilesOpen <= 1 {
			return true
		}
		for _, f := range h.tl.Files() {
			if f.Open {
				t.Logf("open: %+v", f)
			}
		}
		return false
	})
	checkAllOnce(t, h.c, n)
}

// checkAllOnce asserts that lines 0..n-1 all arrived, and that after
// deduplication by _id none arrived twice (a line under two _ids would be
// two documents in Elasticsearch).
func checkAllOnce(t *testing.T, c *consumer, n int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []int
	for i := 0; i < n; i++ {
		if c.lines[numLine(i)] == 0 {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d lines lost, first: %v", len(missing), n, missing[:min(10, len(missing))])
	}
	twice := 0
	for line, ids := range c.ids {
		if len(ids) > 1 {
			if twice < 5 {
				t.Errorf("line %s arrived under %d _ids: %v", line, len(ids), ids)
			}
			twice++
		}
	}
	if twice > 0 {
		t.Errorf("%d lines would be indexed twice", twice)
	}
	if len(c.lines) != n {
		t.Errorf("%d distinct lines arrived, want %d", len(c.lines), n)
	}
}

func TestTortureLumberjack(t *testing.T) {
	for _, tc := range []struct {
		name     string
		paths    []string
		waitSeen bool
	}{
		// Only the live file is watched: rotated files are drained through
		// the open descriptor before they are compressed and deleted.
		{"live-file-only", []string{"app.log"}, true},
		// Backups and their .gz are matched too: a .gz of a file already
		// read resumes at its checkpoint under the same File.ID, and nothing
		// can be missed however fast the rotation.
		{"with-backups-and-gz", []string{"app*.log", "app*.log.gz"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startTorture(t, tc.paths...)
			defer h.stop()
			n := tortureLines(t)
			w := &lumberjack.Logger{Filename: h.path("app.log"), MaxSize: 1, MaxBackups: 1000, Compress: true}
			var lastIno uint64
			for i := 0; i < n; i++ {
				fmt.Fprintf(w, "%s\n", numLine(i))
				if tc.waitSeen && i%50 == 0 {
					// With only the live name watched, a generation rotated away
					// before the tailer saw it cannot be read: lumberjack fills
					// 1 MB in milliseconds here, so wait until each new
					// app.log was seen once.
					if st, err := os.Stat(h.path("app.log")); err == nil {
						if ino := st.Sys().(*syscall.Stat_t).Ino; ino != lastIno {
							lastIno = ino
							waitOpenIno(t, h, h.path("app.log"), st)
						}
					}
				}
			}
			w.Close()
			waitAllOnce(t, h, n)
			st := h.tl.Stats()
			t.Logf("%d lines, %d files opened, %d batches", n, st.FilesOpened, st.BatchesSent)
		})
	}
}

// TestTortureKubelet rotates like the kubelet: 0.log is renamed to
// 0.log.<timestamp>, a new 0.log is created, and the rotated file is later
// gzipped (and the plain one removed).
//
// With only the live name watched, a generation that is created, filled and
// rotated away before the tailer ever saw it cannot be read (its name never
// matched); the writer here rotates 512 KiB in milliseconds, so that variant
// waits until each new 0.log was seen once (the kubelet rotates at 10 MiB and
// checks every 10 s). With the rotated names matched too, nothing can be
// missed at any speed: that variant does not wait.
func TestTortureKubelet(t *testing.T) {
	for _, tc := range []struct {
		name     string
		paths    []string
		waitSeen bool
	}{
		{"live-name-only", []string{"*.log"}, true},
		{"rotated-names-matched", []string{"*.log", "*.log.*"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startTorture(t, tc.paths...)
			defer h.stop()
			n := tortureLines(t)
			live := h.path("0.log")
			f, err := os.Create(live)
			if err != nil {
				t.Fatal(err)
			}
			rotations := 0
			gzipDone := make(chan struct{})
			toGzip := make(chan string, 1000)
			go func() {
				defer close(gzipDone)
				for p := range toGzip {
					gzipFile(t, p)
				}
			}()
			size := 0
			for i := 0; i < n; i++ {
				line := numLine(i) + "\n"
				if _, err := f.WriteString(line); err != nil {
					t.Fatal(err)
				}
				size += len(line)
				if size > 512<<10 {
					if tc.waitSeen {
						waitOpen(t, h, live, f)
					}
					f.Close()
					r := live + "." + time.Now().UTC().Format("20060102-150405.000000000")
					if err := os.Rename(live, r); err != nil {
						t.Fatal(err)
					}
					rotations++
					toGzip <- r
					if f, err = os.Create(live); err != nil {
						t.Fatal(err)
					}
					size = 0
				}
			}
			f.Close()
			close(toGzip)
			<-gzipDone
			waitAllOnce(t, h, n)
			t.Logf("%d lines over %d rotations, %d files opened", n, rotations, h.tl.Stats().FilesOpened)
		})
	}
}

// waitOpen waits until the tailer has the file f (at path) open.
func waitOpen(t *testing.T, h *harness, path string, f *os.File) {
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	waitOpenIno(t, h, path, st)
}

func waitOpenIno(t *testing.T, h *harness, path string, st os.FileInfo) {
	ino := st.Sys().(*syscall.Stat_t).Ino
	waitFor(t, 10*time.Second, "the tailer to open "+path, func() bool {
		h.tl.mu.Lock()
		defer h.tl.mu.Unlock()
		if h.tl.reg == nil {
			return false
		}
		e := h.tl.reg.byInode[inodeKey{"in", uint64(st.Sys().(*syscall.Stat_t).Dev), uint64(ino)}]
		return e != nil && e.follower != nil
	})
}

func gzipFile(t *testing.T, p string) {
	in, err := os.Open(p)
	if err != nil {
		t.Error(err)
		return
	}
	out, err := os.Create(p + ".gz")
	if err != nil {
		t.Error(err)
		return
	}
	zw := gzip.NewWriter(out)
	io.Copy(zw, in)
	zw.Close()
	out.Close()
	in.Close()
	os.Remove(p)
}

// TestTortureCopytruncate rotates like logrotate's copytruncate: the live
// file is copied to app.log.1 (not watched) and truncated in place. Lines
// the tailer had not read when the file was truncated are only in the copy:
// that is copytruncate's unavoidable loss window. The test measures it and
// asserts that nothing else is lost and nothing is indexed twice.
func TestTortureCopytruncate(t *testing.T) { tortureCopytruncate(t, "app.log") }

// TestTortureCopytruncateCopiesWatched is the same with paths that match
// the copies: each continues its file, so nothing is lost, window
// included, and nothing is indexed twice.
func TestTortureCopytruncateCopiesWatched(t *testing.T) { tortureCopytruncate(t, "app.log*") }

func tortureCopytruncate(t *testing.T, glob string) {
	h := startTorture(t, glob)
	defer h.stop()
	copiesWatched := glob != "app.log"
	n := tortureLines(t)
	live := h.path("app.log")
	f, err := os.OpenFile(live, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var copies []string
	inWindow := map[int]bool{} // lines only in a copy that the tailer may not have read
	size := 0
	first := 0
	for i := 0; i < n; i++ {
		line := numLine(i) + "\n"
		f.WriteString(line)
		size += len(line)
		if size > 1<<20 {
			c := fmt.Sprintf("%s.%d", live, len(copies)+1)
			data, _ := os.ReadFile(live)
			os.WriteFile(c, data, 0o644)
			// The window: what the tailer has not read yet of this file.
			for j := first; j <= i; j++ {
				inWindow[j] = true
			}
			// Lines the tailer already had are not in the window.
			h.c.mu.Lock()
			for j := first; j <= i; j++ {
				if h.c.lines[numLine(j)] > 0 {
					delete(inWindow, j)
				}
			}
			h.c.mu.Unlock()
			if err := f.Truncate(0); err != nil {
				t.Fatal(err)
			}
			copies = append(copies, c)
			size = 0
			first = i + 1
		}
	}
	f.Close()
	if copiesWatched {
		// The copies stay where the globs find them: wait until each is
		// read to its end (a late duplicate would show by then).
		waitFor(t, 60*time.Second, "every line, and every copy read", func() bool {
			read := 0
			for _, f := range h.tl.Files() {
				if f.Path != live && f.ReadOffset == f.Size {
					read++
				}
			}
			return h.c.distinct() >= n && read >= len(copies)
		})
		checkAllOnce(t, h.c, n)
		if !t.Failed() {
			t.Logf("copytruncate with the copies watched: %d truncations, %d lines, none lost or twice", len(copies), n)
		}
		return
	}
	waitFor(t, 60*time.Second, "every line after the last truncation", func() bool { return h.c.has(numLine(n - 1)) })
	h.c.mu.Lock()
	var lost, lostOutside []int
	for i := 0; i < n; i++ {
		if h.c.lines[numLine(i)] == 0 {
			lost = append(lost, i)
			if !inWindow[i] {
				lostOutside = append(lostOutside, i)
			}
		}
	}
	twice := 0
	for _, ids := range h.c.ids {
		if len(ids) > 1 {
			twice++
		}
	}
	h.c.mu.Unlock()
	sort.Ints(lost)
	t.Logf("copytruncate: %d truncations, %d of %d lines lost (%.3f%%), all in the window between the tailer's last read and the truncation",
		len(copies), len(lost), n, 100*float64(len(lost))/float64(n))
	if len(lostOutside) > 0 {
		t.Errorf("%d lines lost outside copytruncate's window: %v", len(lostOutside), lostOutside[:min(10, len(lostOutside))])
	}
	if twice > 0 {
		t.Errorf("%d lines arrived under two _ids", twice)
	}
}

// lineNumber extracts n from a numbered line, for diagnostics.
func lineNumber(line string) int {
	i := strings.Index(line, `"n":`)
	if i < 0 {
		return -1
	}
	j := strings.IndexByte(line[i:], ',')
	v, _ := strconv.Atoi(line[i+4 : i+j])
	return v
}

var _ = filepath.Join
var _ = lineNumber

// A rotated file being compressed: while gzip (logrotate, lumberjack, the
// kubelet) is still writing the .gz, the original is still there. The
// half-written archive must not take over the original's entry: it would
// end in a truncated stream, and the original be read again as new.
func TestCompressionInProgressTakesNothingOver(t *testing.T) {
	h := newHarness(t, false)
	h.input.Paths = []string{h.path("app.log*")}
	h.input.CloseInactive = 50 * time.Millisecond
	content := numbered(0, 2000)
	appendFile(t, h.path("app.log"), content)
	h.start()
	defer h.stop()
	waitFor(t, 10*time.Second, "the lines", func() bool { return h.c.distinct() == 2000 })
	waitFor(t, 10*time.Second, "the file closed", func() bool { return h.tl.Stats().FilesOpen == 0 })
	if err := os.Rename(h.path("app.log"), h.path("app.log.1")); err != nil {
		t.Fatal(err)
	}
	gz := gzipBytes(t, []byte(content))
	appendFile(t, h.path("app.log.1.gz"), string(gz[:len(gz)/2])) // gzip is still writing
	appendFile(t, h.path("app.log"), numbered(2000, 2001))        // a scan ran after the half-written archive appeared
	waitFor(t, 10*time.Second, "the marker", func() bool { return h.c.has(numLine(2000)) })
	appendFile(t, h.path("app.log.1.gz"), string(gz[len(gz)/2:])) // done: the original goes
	os.Remove(h.path("app.log.1"))
	appendFile(t, h.path("app.log"), numbered(2001, 2002))
	waitFor(t, 10*time.Second, "the second marker", func() bool { return h.c.has(numLine(2001)) })
	h.tl.requestScan()
	waitFor(t, 10*time.Second, "the archive known", func() bool {
		for _, f := range h.tl.Files() {
			if strings.HasSuffix(f.Path, ".gz") {
				return true
			}
		}
		return false
	})
	checkAllOnce(t, h.c, 2002)
}

// copytruncate with globs that also match the copy (app.log*, as the
// README suggests for rotated files): the copy is the old content of a
// known file, not a new file. It continues that file's entry where its
// reading stopped (so the lines of copytruncate's window are read from
// it), and nothing is shipped twice under another ID.
func TestCopytruncateCopyContinuesItsFile(t *testing.T) {
	h := newHarness(t, false)
	h.input.Paths = []string{h.path("app.log*")}
	live := h.path("app.log")
	appendFile(t, live, numbered(0, 100))
	h.start()
	defer h.stop()
	waitFor(t, 10*time.Second, "the first lines", func() bool { return h.c.distinct() == 100 })
	for round := 1; round <= 3; round++ {
		// Lines the tailer may or may not read before the truncation.
		appendFile(t, live, numbered(round*100, round*100+100))
		data, err := os.ReadFile(live)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(fmt.Sprintf("%s.%d", live, round), data, 0o644)
		if err := os.Truncate(live, 0); err != nil {
			t.Fatal(err)
		}
	}
	appendFile(t, live, numbered(400, 450))
	waitFor(t, 30*time.Second, "every line", func() bool { return h.c.distinct() == 450 })
	checkAllOnce(t, h.c, 450)
}

// A copy taken while its original is still read, and never truncated (a
// backup), adds nothing: its lines come from the original.
func TestCopyOfAFileStillReadIsNotShippedAgain(t *testing.T) {
	h := newHarness(t, false)
	h.input.Paths = []string{h.path("app.log*")}
	live := h.path("app.log")
	appendFile(t, live, numbered(0, 100))
	var scans atomic.Int64
	h.startWith(func(tl *Tailer) { tl.beforeWatch = func() { scans.Add(1) } })
	defer h.stop()
	waitFor(t, 10*time.Second, "the first lines", func() bool { return h.c.distinct() == 100 })
	data, _ := os.ReadFile(live)
	os.WriteFile(live+".bak", data, 0o644)
	appendFile(t, live, numbered(100, 200))
	waitFor(t, 10*time.Second, "the later lines", func() bool { return h.c.distinct() == 200 })
	seen := scans.Load()
	waitFor(t, 10*time.Second, "two more scans, which found the copy", func() bool { return scans.Load() >= seen+2 })
	checkAllOnce(t, h.c, 200)
}

// A new file that merely starts like a file read before, under a name
// that is not a rotated name of it, is read from its start.
func TestSameStartUnderAnotherNameIsANewFile(t *testing.T) {
	h := newHarness(t, false)
	first := `{"msg":"service starting"}` + "\n"
	appendFile(t, h.path("a.log"), first)
	h.start()
	defer h.stop()
	waitFor(t, 10*time.Second, "a.log's line", func() bool { return h.c.total() == 1 })
	os.Remove(h.path("a.log"))
	waitFor(t, 10*time.Second, "a.log closed", func() bool { return h.tl.Stats().FilesOpen == 0 })
	appendFile(t, h.path("b.log"), first+numbered(0, 10))
	waitFor(t, 10*time.Second, "b.log's lines, its first included", func() bool { return h.c.total() == 12 })
}

// A file under a rotated name that only starts like the file it is named
// after (the same banner, or the same first line of a short file) is a
// file of its own: every line of it is read. (While the named file holds
// nothing but the shared start, the other may still be a copy of it; it
// is known not to be once the two differ.)
func TestFileThatOnlyStartsLikeItsNamesakeIsRead(t *testing.T) {
	banner := ""
	for i := 0; len(banner) < 2*fingerprintSize; i++ {
		banner += fmt.Sprintf(`{"msg":"banner","row":%d}`+"\n", i)
	}
	for _, tt := range []struct{ name, start string }{
		{"a banner longer than the fingerprint", banner},
		{"the first line of a short file", `{"msg":"service starting"}` + "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, false)
			h.input.Paths = []string{h.path("app.log*")}
			appendFile(t, h.path("app.log"), tt.start)
			h.start()
			defer h.stop()
			waitFor(t, 10*time.Second, "app.log read", func() bool { return h.c.total() == strings.Count(tt.start, "\n") })
			appendFile(t, h.path("app.log.2"), tt.start+numbered(0, 50))
			appendFile(t, h.path("app.log"), numbered(50, 60))
			waitFor(t, 10*time.Second, "every line of both", func() bool { return h.c.distinct() == strings.Count(tt.start, "\n")+60 })
			if n := h.c.total(); n != 2*strings.Count(tt.start, "\n")+60 {
				t.Errorf("%d lines arrived, want %d", n, 2*strings.Count(tt.start, "\n")+60)
			}
		})
	}
}
