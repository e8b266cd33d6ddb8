package sink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fullDisk writes part of what it is given and fails, as a write to a full
// disk does, the first fails times.
type fullDisk struct {
	bytes.Buffer
	fails int
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if d.fails > 0 {
		d.fails--
		n := len(p) / 3
		d.Buffer.Write(p[:n])
		return n, syscall.ENOSPC
	}
	return d.Buffer.Write(p)
}

func (d *fullDisk) Close() error { return nil }

// A dead-letter write that fails halfway is retried with what is left: the
// file holds each entry once and whole, not a torn line and the entries
// again.
func TestDeadLetterWriteResumesAfterAFullDisk(t *testing.T) {
	disk := &fullDisk{fails: 2}
	d := &dlqWriter{path: "dlq", w: disk}
	entries := []deadItem{
		{index: "shipper-a", id: "f-0", status: 400, err: ItemError{Type: "mapper_parsing_exception", Reason: "failed to parse"}, doc: []byte(`{"msg":"one"}`)},
		{index: "shipper-a", id: "f-1", status: 400, err: ItemError{Type: "mapper_parsing_exception", Reason: "failed to parse"}, doc: []byte(`{"msg":"two"}`)},
	}
	var errs []error
	ok := d.write(time.Unix(1795339800, 0), entries, func(attempt int, err error) bool {
		errs = append(errs, err)
		return true
	})
	if !ok || len(errs) != 2 || !errors.Is(errs[0], syscall.ENOSPC) {
		t.Fatalf("write = %v after errors %v; want true after two ENOSPC", ok, errs)
	}
	lines := strings.Split(strings.TrimSuffix(disk.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), disk.String())
	}
	for i, l := range lines {
		var e DeadLetter
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.ID != entries[i].id {
			t.Errorf("line %d: %v, id %q: %s", i, err, e.ID, l)
		}
	}
	// A retry that gives up leaves the items unacknowledged.
	disk = &fullDisk{fails: 1}
	d = &dlqWriter{path: "dlq", w: disk}
	if d.write(time.Unix(1795339800, 0), entries, func(int, error) bool { return false }) {
		t.Error("write = true although the retry gave up")
	}
}

// lumberjack refuses, for good, a write longer than the file's maximum
// size: the dead letters of one large request, or one huge document, must
// still be written (cut into pieces below the size, or alone), or the
// agent would retry them for ever and stop shipping.
func TestDeadLettersLongerThanTheFileSize(t *testing.T) {
	dir := t.TempDir()
	d := newDLQWriter(filepath.Join(dir, "dead-letter.ndjson"), DeadLetterConfig{MaxSizeMB: 1}, nil)
	defer d.close()
	doc := []byte(`{"msg":"` + strings.Repeat("x", 3000) + `"}`)
	var entries []deadItem
	for i := range 600 { // 1.8 MB in all
		entries = append(entries, deadItem{index: "shipper-a", id: fmt.Sprint("f-", i), status: 400, err: ItemError{Type: "mapper_parsing_exception"}, doc: doc})
	}
	huge := []byte(`{"msg":"` + strings.Repeat("y", 1500000) + `"}`)
	entries = append(entries, deadItem{index: "shipper-a", id: "f-huge", status: 400, err: ItemError{Type: "document_parsing_exception"}, doc: huge})
	fail := func(attempt int, err error) bool {
		t.Errorf("write failed: %v", err)
		return false
	}
	if !d.write(time.Unix(1795339800, 0), entries, fail) {
		t.Fatal("write = false")
	}
	// Written after the huge one, with the maximum back in force.
	if !d.write(time.Unix(1795339801, 0), entries[:400], fail) {
		t.Fatal("second write = false")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "dead-letter*.ndjson"))
	ids := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 1<<20 && !bytes.Contains(data, []byte(`"f-huge"`)) {
			t.Errorf("%s holds %d bytes, more than max_size_mb", f, len(data))
		}
		for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			var e DeadLetter
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("%s: a torn entry: %v", f, err)
			}
			ids[e.ID]++
		}
	}
	if len(ids) != 601 || ids["f-huge"] != 1 || ids["f-0"] != 2 || ids["f-599"] != 1 {
		t.Errorf("%d distinct entries in %d files (f-huge %d, f-0 %d, f-599 %d); want 601, each as often as written",
			len(ids), len(files), ids["f-huge"], ids["f-0"], ids["f-599"])
	}
}
