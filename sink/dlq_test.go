package sink

import (
	"bytes"
	"encoding/json"
	"errors"
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
