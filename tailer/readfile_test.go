package tailer

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/traceship/shipper"
)

// joinFramer is a test Framer: a physical line ending in '\' continues on
// the next one (tagged multiline), like a tiny multiline rule.
type joinFramer struct {
	buf  []byte
	src  shipper.Source
	tags shipper.Tags
	open bool
}

func (f *joinFramer) Push(line []byte, src shipper.Source, tags shipper.Tags, emit shipper.EmitFunc) {
	if !f.open {
		f.buf = f.buf[:0]
		f.src = src
		f.tags = tags
		f.open = true
	} else {
		f.buf = append(f.buf, '\n')
		f.src.Next = src.Next
		f.tags |= tags | shipper.TagMultiline
	}
	if bytes.HasSuffix(line, []byte(`\`)) {
		f.buf = append(f.buf, line[:len(line)-1]...)
		return
	}
	f.buf = append(f.buf, line...)
	f.open = false
	emit(f.buf, f.src, f.tags)
}

func (f *joinFramer) Flush(emit shipper.EmitFunc) {
	if f.open {
		f.open = false
		emit(f.buf, f.src, f.tags)
	}
}

// dump renders events one per line for golden files: offsets, tags and the
// raw bytes Go-quoted (so invalid UTF-8 and control bytes stay visible).
func dump(w *bytes.Buffer, b *shipper.Batch) {
	for _, ev := range b.Events {
		fmt.Fprintf(w, "%s %d-%d %v %s\n", ev.Source.File.ID, ev.Source.Offset, ev.Source.Next,
			ev.Tags.Names(), strconv.Quote(string(ev.Raw)))
	}
}

// readAll reads path with ReadFile and returns the golden rendering and
// copies of the events (the batches themselves are reused).
func readAll(t *testing.T, path string, opts ReadOptions) (string, []shipper.Event) {
	t.Helper()
	var out bytes.Buffer
	var events []shipper.Event
	err := ReadFile(context.Background(), path, opts, func(b *shipper.Batch) error {
		if b.File == nil || b.File.Path != path {
			t.Errorf("batch file = %+v, want path %s", b.File, path)
		}
		if b.Ack != nil {
			t.Errorf("ReadFile batch has an Ack")
		}
		dump(&out, b)
		for i := range b.Events {
			events = append(events, b.Events[i].Clone())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	return out.String(), events
}

func gzipBytes(t *testing.T, p []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(p)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadFileGolden(t *testing.T) {
	garbage := make([]byte, 600)
	for i := range garbage {
		garbage[i] = byte(i*7 + i/13)
	}
	garbage[0] = 0 // not gzip magic
	cases := []struct {
		name    string
		content string
		opts    ReadOptions
	}{
		{name: "lines", content: "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"},
		{name: "crlf", content: "one\r\ntwo\r\n\r\nthree\r\n"},
		{name: "no-final-newline", content: "first\nlast without newline"},
		{name: "empty", content: ""},
		{name: "empty-lines", content: "\n\na\n\n\nb\n\n"},
		{name: "truncated", content: "short\n" + strings.Repeat("xxx ", 10) + "\nafter\n" + strings.Repeat("yy ", 10), opts: ReadOptions{MaxLineBytes: 16}},
		{name: "truncated-in-a-card", content: "paid with 4111 1111 1111 1111 ok\n" + strings.Repeat("x", 30) + "\n", opts: ReadOptions{MaxLineBytes: 24}},
		{name: "max-with-crlf", content: strings.Repeat("z", 16) + "\r\n" + strings.Repeat("ww ", 5) + "ww" + "\r\n" + strings.Repeat("v", 16) + "\r", opts: ReadOptions{MaxLineBytes: 16}},
		{name: "invalid-utf8", content: "caf\xc3\n\xff\xfe bad\nok é\n"},
		{name: "binary", content: string(garbage)},
		{name: "framer", content: "a\\\nb\\\nc\nd\ne\\\n", opts: ReadOptions{NewFramer: func(string) shipper.Framer { return &joinFramer{} }}},
		{name: "small-batches", content: "1\n2\n3\n4\n5\n", opts: ReadOptions{BatchMaxLines: 2}},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".log")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, _ := readAll(t, path, tc.opts)
			golden := filepath.Join("testdata", "readfile-"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("events differ from %s (-want +got):\n%s", golden, diff)
			}

			// The .gz of the same content reads the same, same File.ID.
			gz := path + ".gz"
			if err := os.WriteFile(gz, gzipBytes(t, []byte(tc.content)), 0o644); err != nil {
				t.Fatal(err)
			}
			gotGz, _ := readAll(t, gz, tc.opts)
			if diff := cmp.Diff(got, gotGz); diff != "" {
				t.Errorf(".gz reads differently (-plain +gz):\n%s", diff)
			}
		})
	}
}

func TestReadFileIDDependsOnContentOnly(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	b := filepath.Join(dir, "sub", "b.log")
	c := filepath.Join(dir, "c.log")
	os.MkdirAll(filepath.Dir(b), 0o755)
	os.WriteFile(a, []byte("same\n"), 0o644)
	os.WriteFile(b, []byte("same\n"), 0o644)
	os.WriteFile(c, []byte("other\n"), 0o644)
	id := func(p string) string {
		_, evs := readAll(t, p, ReadOptions{})
		return evs[0].Source.File.ID
	}
	if id(a) != id(b) {
		t.Errorf("same content at two paths: IDs %s and %s differ", id(a), id(b))
	}
	if id(a) == id(c) {
		t.Errorf("different content has the same ID %s", id(a))
	}
	if len(id(a)) != 16 {
		t.Errorf("ID %q is not 16 hex digits", id(a))
	}
}

func TestReadFileHugeLineIsTruncatedNotStalled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "huge.log")
	huge := bytes.Repeat([]byte("0123456789"), 1<<20) // 10 MiB, one line
	content := append(append([]byte("before\n"), huge...), "\nafter\n"...)
	os.WriteFile(path, content, 0o644)
	_, evs := readAll(t, path, ReadOptions{})
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3", len(evs))
	}
	if len(evs[1].Raw) != DefaultMaxLineBytes || !evs[1].Tags.Has(shipper.TagLineTruncated) {
		t.Errorf("huge line: %d bytes, tags %v; want %d bytes tagged truncated", len(evs[1].Raw), evs[1].Tags.Names(), DefaultMaxLineBytes)
	}
	if evs[1].Source.Next != int64(7+len(huge)+1) {
		t.Errorf("huge line Next = %d, want %d (its whole physical line)", evs[1].Source.Next, 7+len(huge)+1)
	}
	if string(evs[2].Raw) != "after" || evs[2].Tags != 0 {
		t.Errorf("line after the huge one = %q %v", evs[2].Raw, evs[2].Tags.Names())
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	os.WriteFile(path, []byte("a\nb\nc\n"), 0o644)

	stop := errors.New("stop")
	err := ReadFile(context.Background(), path, ReadOptions{BatchMaxLines: 1}, func(*shipper.Batch) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("callback error: got %v, want it returned", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ReadFile(ctx, path, ReadOptions{}, func(*shipper.Batch) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: got %v", err)
	}
	if err := ReadFile(context.Background(), filepath.Join(dir, "missing"), ReadOptions{}, func(*shipper.Batch) error { return nil }); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: got %v, want a not-exist error naming the path", err)
	}
	bad := filepath.Join(dir, "bad.gz")
	os.WriteFile(bad, gzipBytes(t, []byte(strings.Repeat("line\n", 1000)))[:40], 0o644)
	if err := ReadFile(context.Background(), bad, ReadOptions{}, func(*shipper.Batch) error { return nil }); err == nil || !strings.Contains(err.Error(), "bad.gz") {
		t.Errorf("truncated gzip: got %v, want an error naming the file", err)
	}
}

func TestReadFileReadTimeAndProgress(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	content := strings.Repeat("a line of text\n", 10000)
	os.WriteFile(path, []byte(content), 0o644)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var last, total int64
	n := 0
	err := ReadFile(context.Background(), path, ReadOptions{Now: func() time.Time { return at }, Progress: func(d, tot int64) { last, total = d, tot }},
		func(b *shipper.Batch) error {
			for _, ev := range b.Events {
				n++
				if !ev.ReadTime.Equal(at) {
					t.Fatalf("ReadTime %v, want %v", ev.ReadTime, at)
				}
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if n != 10000 {
		t.Errorf("%d events, want 10000", n)
	}
	if last != int64(len(content)) || total != int64(len(content)) {
		t.Errorf("progress ended at %d/%d, want %d/%d", last, total, len(content), len(content))
	}
}

func FuzzSplitter(f *testing.F) {
	f.Add([]byte("a\nbb\r\n\nccc"), uint8(2), uint8(3))
	f.Add([]byte(strings.Repeat("x", 100)+"\n"), uint8(7), uint8(10))
	f.Fuzz(func(t *testing.T, data []byte, chunk, max uint8) {
		if chunk == 0 || max == 0 {
			return
		}
		// Splitting in chunks of any size gives the same lines as one chunk,
		// the lines tile the input, and none is longer than max.
		collect := func(step int) []string {
			sp := splitter{max: int(max)}
			var out []string
			var prev int64
			fn := func(line []byte, off, next int64, tags shipper.Tags) {
				if off != prev || next <= off || len(line) > int(max) {
					t.Fatalf("line %q at %d-%d after %d (max %d)", line, off, next, prev, max)
				}
				prev = next
				out = append(out, fmt.Sprintf("%d %d %v %q", off, next, tags, line))
			}
			for i := 0; i < len(data); i += step {
				end := min(i+step, len(data))
				sp.feed(data[i:end], int64(i), fn)
			}
			sp.finish(int64(len(data)), fn)
			if prev != int64(len(data)) {
				t.Fatalf("lines end at %d, input at %d", prev, len(data))
			}
			return out
		}
		whole := collect(len(data) + 1)
		if diff := cmp.Diff(whole, collect(int(chunk))); diff != "" {
			t.Fatalf("chunked split differs:\n%s", diff)
		}
	})
}
