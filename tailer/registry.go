package tailer

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"unicode/utf8"

	"github.com/traceship/shipper/internal/jsonscan"
)

// RegistryFile is the name of the registry in the state directory.
const RegistryFile = "tail-registry.jsonl"

const registryVersion = 1

// entry is the registry's record of one file of one input. The exported
// (persisted) part is documented in design.md; the rest is runtime state,
// guarded by the Tailer's mutex unless noted.
type entry struct {
	input string
	id    string
	path  string
	dev   uint64
	ino   uint64
	fp    fingerprint
	gz    bool
	// acked is the offset up to which every line was acknowledged (atomic:
	// written by ack callbacks).
	acked atomic.Int64
	// size is the last size seen (the decompressed size for a .gz read to its
	// end, else 0 for .gz).
	size int64
	// seen is when the file was last found at a watched path (unix seconds).
	seen int64
	// first is when the file was first seen (unix nanoseconds).
	first int64

	// readOffset is where reading resumes when the file is reopened: the end
	// of the last line handed out (never inside a framed line).
	readOffset int64
	// mtime is the modification time (unix ns) of the file when its reader
	// let it go: a closed file of the same size and mtime has not changed,
	// and is not opened again (an inode reused by a file of the same size
	// has another mtime).
	mtime int64
	// follower is the open reader, or nil.
	follower *follower
	// durable is set once the entry (its ID) is in the registry file, and
	// durableFP is the fingerprint length written there. Lines are shipped
	// under an ID only once it is durable, and only below durableFP while
	// the fingerprint is shorter than fingerprintSize: after a crash, a .gz
	// of the file must still be recognised by what the registry recorded.
	durable   bool
	durableFP int
	// tr orders this file's acknowledgements (see tracker).
	tr tracker
}

type regKey struct{ input, id string }
type inodeKey struct {
	input    string
	dev, ino uint64
}

// registry holds the entries of all inputs, indexed by ID and by inode.
type registry struct {
	entries map[regKey]*entry
	byInode map[inodeKey]*entry
}

func newRegistry() *registry {
	return &registry{entries: make(map[regKey]*entry), byInode: make(map[inodeKey]*entry)}
}

// hasInput reports whether an entry of the input id is in the registry.
func (r *registry) hasInput(id string) bool {
	for k := range r.entries {
		if k.input == id {
			return true
		}
	}
	return false
}

func (r *registry) add(e *entry) {
	r.entries[regKey{e.input, e.id}] = e
	k := inodeKey{e.input, e.dev, e.ino}
	// Two entries for one inode can only be an old file and the one that
	// reused its inode: the newer wins.
	if old := r.byInode[k]; old == nil || old.first <= e.first {
		r.byInode[k] = e
	}
}

func (r *registry) remove(e *entry) {
	delete(r.entries, regKey{e.input, e.id})
	k := inodeKey{e.input, e.dev, e.ino}
	if r.byInode[k] == e {
		delete(r.byInode, k)
	}
}

// unindex keeps e (a .gz of its content may still turn up and must find
// it) but no longer as the file at its inode: the inode now holds other
// content. Cleanup drops it after clean_removed.
func (r *registry) unindex(e *entry) {
	k := inodeKey{e.input, e.dev, e.ino}
	if r.byInode[k] == e {
		delete(r.byInode, k)
	}
}

// forgetInode keeps e (a .gz of its content may still turn up and must
// find it) but at no inode: its file was deleted, and the inode may be
// given to another file. Inode 0 is no file's.
func (r *registry) forgetInode(e *entry) {
	r.unindex(e)
	e.dev, e.ino = 0, 0
}

// rekey moves e to another inode (its content now lives in a .gz file).
func (r *registry) rekey(e *entry, dev, ino uint64) {
	k := inodeKey{e.input, e.dev, e.ino}
	if r.byInode[k] == e {
		delete(r.byInode, k)
	}
	e.dev, e.ino = dev, ino
	r.byInode[inodeKey{e.input, dev, ino}] = e
}

// diskEntry is one line of the registry file.
type diskEntry struct {
	Input  string `json:"input"`
	ID     string `json:"id"`
	Path   string `json:"path"`
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
	FPLen  int    `json:"fp_len"`
	FP     string `json:"fp"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	Gz     bool   `json:"gz,omitempty"`
	Seen   int64  `json:"seen"`
	First  int64  `json:"first"`
}

type diskHeader struct {
	Version int `json:"version"`
}

// appendEntry writes e as one JSON line without reflection.
func appendEntry(dst []byte, e *entry) []byte {
	dst = append(dst, `{"input":`...)
	dst = jsonscan.AppendString(dst, e.input)
	dst = append(dst, `,"id":`...)
	dst = jsonscan.AppendString(dst, e.id)
	dst = append(dst, `,"path":`...)
	dst = jsonscan.AppendString(dst, e.path)
	dst = append(dst, `,"dev":`...)
	dst = strconv.AppendUint(dst, e.dev, 10)
	dst = append(dst, `,"ino":`...)
	dst = strconv.AppendUint(dst, e.ino, 10)
	dst = append(dst, `,"fp_len":`...)
	dst = strconv.AppendInt(dst, int64(e.fp.n), 10)
	dst = append(dst, `,"fp":"`...)
	dst = hex.AppendEncode(dst, e.fp.sum[:])
	dst = append(dst, `","offset":`...)
	dst = strconv.AppendInt(dst, e.acked.Load(), 10)
	dst = append(dst, `,"size":`...)
	dst = strconv.AppendInt(dst, e.size, 10)
	if e.gz {
		dst = append(dst, `,"gz":true`...)
	}
	dst = append(dst, `,"seen":`...)
	dst = strconv.AppendInt(dst, e.seen, 10)
	dst = append(dst, `,"first":`...)
	dst = strconv.AppendInt(dst, e.first, 10)
	return append(dst, "}\n"...)
}

// encode renders the whole registry (entries in no particular order:
// sorting 100k entries would double the cost of a checkpoint).
func (r *registry) encode(dst []byte) []byte {
	dst = append(dst, `{"version":1}`+"\n"...)
	for _, e := range r.entries {
		dst = appendEntry(dst, e)
	}
	return dst
}

// validID reports whether id has the form of a File.ID: 16 hex digits.
func validID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// parseEntry decodes one registry line without reflection (100k entries
// load in a third of the time encoding/json takes; FuzzDecodeRegistry checks
// it against encoding/json). Unknown keys are ignored, for forward
// compatibility within a version.
func parseEntry(b []byte) (diskEntry, error) {
	var d diskEntry
	if err := jsonscan.Valid(b, 2); err != nil {
		return d, err
	}
	if b = bytes.TrimSpace(b); len(b) == 0 || b[0] != '{' {
		return d, errors.New("not a JSON object")
	}
	var bad error
	str := func(v []byte, name string) string {
		raw, ok := jsonscan.StringContents(v)
		if !ok {
			bad = fmt.Errorf("%s: not a string", name)
			return ""
		}
		s, _ := jsonscan.Unquote(nil, raw)
		return string(s)
	}
	num := func(v []byte, name string) int64 {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			bad = fmt.Errorf("%s: %w", name, err)
		}
		return n
	}
	unum := func(v []byte, name string) uint64 {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			bad = fmt.Errorf("%s: %w", name, err)
		}
		return n
	}
	jsonscan.EachMember(b, func(k, v []byte) bool {
		switch string(k) {
		case "input":
			d.Input = str(v, "input")
		case "id":
			d.ID = str(v, "id")
		case "path":
			d.Path = str(v, "path")
		case "fp":
			d.FP = str(v, "fp")
		case "dev":
			d.Dev = unum(v, "dev")
		case "ino":
			d.Ino = unum(v, "ino")
		case "fp_len":
			n := num(v, "fp_len")
			if n < 0 || n > fingerprintSize {
				bad = fmt.Errorf("fp_len %d out of range", n)
			}
			d.FPLen = int(n)
		case "offset":
			d.Offset = num(v, "offset")
		case "size":
			d.Size = num(v, "size")
		case "seen":
			d.Seen = num(v, "seen")
		case "first":
			d.First = num(v, "first")
		case "gz":
			switch string(v) {
			case "true":
				d.Gz = true
			case "false":
			default:
				bad = errors.New("gz: not a boolean")
			}
		}
		return bad == nil
	})
	return d, bad
}

// decodeRegistry reads a registry file's content.
func decodeRegistry(rd io.Reader) (*registry, error) {
	r := newRegistry()
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if line == 1 {
			var h diskHeader
			if err := json.Unmarshal(b, &h); err != nil {
				return nil, fmt.Errorf("line 1: header: %w", err)
			}
			if h.Version != registryVersion {
				return nil, fmt.Errorf("line 1: unsupported registry version %d (want %d)", h.Version, registryVersion)
			}
			continue
		}
		d, err := parseEntry(b)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		// parseEntry has already rejected an fp_len out of range.
		sum, err := hex.DecodeString(d.FP)
		if err != nil || len(sum) != 16 || !validID(d.ID) || !utf8.ValidString(d.Input) {
			return nil, fmt.Errorf("line %d: invalid entry", line)
		}
		e := &entry{input: d.Input, id: d.ID, path: d.Path, dev: d.Dev, ino: d.Ino, gz: d.Gz,
			size: d.Size, seen: d.Seen, first: d.First, readOffset: d.Offset}
		e.fp.n = d.FPLen
		copy(e.fp.sum[:], sum)
		e.acked.Store(d.Offset)
		e.durable = true
		e.durableFP = e.fp.n
		r.add(e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if line == 0 {
		return nil, errors.New("empty file")
	}
	return r, nil
}

// loadRegistry reads dir's registry; a missing file is an empty registry.
func loadRegistry(dir string) (*registry, error) {
	f, err := os.Open(filepath.Join(dir, RegistryFile))
	if errors.Is(err, fs.ErrNotExist) {
		return newRegistry(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening the registry: %w", err)
	}
	defer f.Close()
	r, err := decodeRegistry(f)
	if err != nil {
		return nil, fmt.Errorf("reading the registry %s: %w (move the file away to start over: every file is then new to the agent and read as start_at says, and Elasticsearch keeps a line read again once, by its _id)", f.Name(), err)
	}
	return r, nil
}

// writeFileAtomic replaces dir/name with data: a temporary file is written
// and fsynced, renamed over the old one, and the directory fsynced, so that
// after a crash the file is either the old or the new content, never a mix.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file: %w", err)
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", tmp.Name(), werr)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("renaming into place: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening the directory to sync it: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing the directory: %w", err)
	}
	return nil
}
