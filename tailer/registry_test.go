package tailer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRegistryRoundTripAndAtomicWrite(t *testing.T) {
	r := makeRegistry(100)
	dir := t.TempDir()
	if err := writeFileAtomic(dir, RegistryFile, r.encode(nil)); err != nil {
		t.Fatal(err)
	}
	got, err := loadRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.entries) != 100 || len(got.byInode) != 100 {
		t.Fatalf("loaded %d entries, %d indexed; want 100", len(got.entries), len(got.byInode))
	}
	for k, e := range r.entries {
		g := got.entries[k]
		if g == nil || g.acked.Load() != e.acked.Load() || g.fp != e.fp || g.path != e.path || g.ino != e.ino || !g.durable {
			t.Fatalf("entry %v did not round-trip: %+v", k, g)
		}
	}
	// No temporary files are left behind.
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(names) != 1 {
		t.Errorf("state dir holds %v", names)
	}
	// A missing registry is an empty one; a corrupt one is an error naming the line.
	if r, err := loadRegistry(t.TempDir()); err != nil || len(r.entries) != 0 {
		t.Errorf("missing registry: %v", err)
	}
	os.WriteFile(filepath.Join(dir, RegistryFile), []byte("{\"version\":1}\n{\"id\":\"x\",\"fp\":\"zz\"}\n"), 0o644)
	if _, err := loadRegistry(dir); err == nil || !bytes.Contains([]byte(err.Error()), []byte("line 2")) {
		t.Errorf("corrupt registry: got %v, want an error naming line 2", err)
	}
	os.WriteFile(filepath.Join(dir, RegistryFile), []byte("{\"version\":7}\n"), 0o644)
	if _, err := loadRegistry(dir); err == nil {
		t.Errorf("a registry of an unknown version was accepted")
	}
}

func TestCleanRemovesOnlyGoneEntries(t *testing.T) {
	h := newHarness(t, false)
	appendFile(t, h.path("keep.log"), "kept\n")
	appendFile(t, h.path("gone.log"), "gone\n")
	h.cfg.CleanRemoved = 1 << 62 // nothing expires while running
	h.start()
	waitFor(t, 10e9, "both files", func() bool { return h.c.has("kept") && h.c.has("gone") })
	os.Remove(h.path("gone.log"))
	waitFor(t, 10e9, "the deleted file to be closed", func() bool { return h.tl.Stats().FilesOpen == 1 })
	h.tl.mu.Lock()
	for _, e := range h.tl.reg.entries {
		if e.path == h.path("gone.log") {
			e.seen = 0 // last seen long ago
		}
	}
	// An hour: gone.log was last seen long before that; keep.log at the
	// last scan, which may have been in the previous second ("seen" has
	// whole seconds, so a limit of 1ns could take it too).
	h.tl.cfg.CleanRemoved = 3600e9
	h.tl.mu.Unlock()
	h.stop()
	files := h.tl.Files()
	if len(files) != 1 || files[0].Path != h.path("keep.log") {
		t.Errorf("after cleanup: %+v; want only keep.log", files)
	}
}

func FuzzDecodeRegistry(f *testing.F) {
	f.Add(makeRegistry(3).encode(nil))
	f.Add([]byte("{\"version\":1}\n"))
	f.Add([]byte("{\"version\":1}\n{\"input\":\"a\",\"id\":\"0123456789abcdef\",\"fp_len\":2000,\"fp\":\"00\"}\n"))
	f.Add([]byte(`{"input":"a\u00e9","id":"0123456789abcdef","dev":1,"ino":2,"fp_len":3,"fp":"000102030405060708090a0b0c0d0e0f","offset":-1,"size":2,"gz":true,"seen":1,"first":2,"other":[1]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The hand-written line parser agrees with encoding/json on what
		// both accept (encoding/json replaces invalid UTF-8; we keep the
		// bytes, which only paths could hold).
		if d, err := parseEntry(data); err == nil && utf8.Valid(data) {
			var want diskEntry
			if json.Unmarshal(data, &want) == nil && d != want {
				t.Fatalf("parseEntry = %+v, encoding/json = %+v", d, want)
			}
		}
		r, err := decodeRegistry(bytes.NewReader(data))
		if err != nil {
			return
		}
		// What decodes re-encodes to something that decodes the same.
		r2, err := decodeRegistry(bytes.NewReader(r.encode(nil)))
		if err != nil {
			t.Fatalf("re-encoded registry does not decode: %v", err)
		}
		if len(r2.entries) != len(r.entries) {
			t.Fatalf("%d entries became %d", len(r.entries), len(r2.entries))
		}
		for k, e := range r.entries {
			g := r2.entries[k]
			if g == nil || g.acked.Load() != e.acked.Load() || g.fp != e.fp || (utf8.ValidString(e.path) && g.path != e.path) {
				t.Fatalf("entry %v changed", k)
			}
		}
	})
}

// After a stop longer than clean_removed, every entry's "seen" is old.
// The first scan of one input must not let a checkpoint clean up the
// entries of another input that has not been scanned yet: its files would
// be read again under new IDs (duplicates), or skipped with start_at: end.
func TestLongStopKeepsEveryInputsEntries(t *testing.T) {
	h := newHarness(t, false)
	os.MkdirAll(h.path("b"), 0o755)
	h.more = []Input{h.input}
	h.more[0].Paths = []string{h.path("b/*.log")}
	appendFile(t, h.path("a.log"), numbered(0, 100))
	appendFile(t, h.path("b/b.log"), numbered(100, 200))
	h.start()
	waitFor(t, 10*time.Second, "the first lines", func() bool { return h.c.distinct() == 200 })
	h.stop()

	appendFile(t, h.path("a.log"), numbered(200, 300))
	appendFile(t, h.path("b/b.log"), numbered(300, 400))
	appendFile(t, h.path("a2.log"), numbered(400, 500)) // new files make the scans checkpoint at once
	appendFile(t, h.path("b/b2.log"), numbered(500, 600))
	later := time.Now().Add(48 * time.Hour)
	h.startWith(func(tl *Tailer) { tl.now = func() time.Time { return later } })
	defer h.stop()
	waitFor(t, 10*time.Second, "every line", func() bool { return h.c.distinct() == 600 })
	checkAllOnce(t, h.c, 600)
}
