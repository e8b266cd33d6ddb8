package tailer

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/traceship/shipper"
)

// Start positions for files never seen before (Input.StartAt).
const (
	StartBeginning = "beginning"
	StartEnd       = "end"
)

// DefaultMaxLineBytes is the default Input.MaxLineBytes (1 MiB).
const DefaultMaxLineBytes = 1 << 20

// Config is the agent-wide `tail:` section.
type Config struct {
	// StateDir is the directory the registry of checkpoints is kept in. It is
	// set by the agent from the top-level state_dir setting.
	StateDir string `yaml:"-"`
	// MaxOpenFiles caps how many files are held open at once; files beyond it
	// wait until others are closed (inactive or gone).
	MaxOpenFiles int `yaml:"max_open_files"`
	// CheckpointInterval is how often acknowledged offsets are written to the
	// registry (and always at shutdown). A crash replays at most this much.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// BatchMaxLines is the most lines one batch holds.
	BatchMaxLines int `yaml:"batch_max_lines"`
	// BatchMaxBytes is the most line bytes one batch holds (a single longer
	// line still makes a batch of its own).
	BatchMaxBytes int `yaml:"batch_max_bytes"`
	// MaxInflightBytes bounds the bytes read but not yet acknowledged,
	// across all files: line bytes plus 256 per event, counted from before a
	// batch is filled until Elasticsearch acknowledged it. When it is
	// reached, reading stops until acks arrive: this keeps memory flat while
	// Elasticsearch is slow or down, and it is what the agent's memory
	// mostly scales with (about 4 to 5 times it, batches and request bodies
	// together). Throughput is bounded by it divided by the bulk round trip
	// (4 MiB at 50 ms: some 130,000 events a second), so raise it for a
	// distant cluster. Keep it above twice elasticsearch.bulk.max_bytes plus
	// one batch: below that, a partly filled bulk request waits for
	// bulk.flush_interval while reading waits for its acks, and throughput
	// collapses.
	MaxInflightBytes int64 `yaml:"max_inflight_bytes"`
	// CleanRemoved is how long the registry keeps the entry of a file that is
	// no longer found at any watched path. Entries are only ever removed for
	// files that are gone; a file that comes back (or its .gz) within this
	// time resumes at its checkpoint.
	CleanRemoved time.Duration `yaml:"clean_removed"`
}

// DefaultConfig returns the defaults of the `tail:` section.
func DefaultConfig() Config {
	return Config{
		MaxOpenFiles:       1024,
		CheckpointInterval: 5 * time.Second,
		BatchMaxLines:      2048,
		BatchMaxBytes:      1 << 20,
		MaxInflightBytes:   4 << 20,
		CleanRemoved:       24 * time.Hour,
	}
}

// Validate reports every problem with c, with paths relative to `tail:`.
func (c Config) Validate() error {
	var errs []error
	add := func(path, format string, a ...any) {
		errs = append(errs, &shipper.FieldError{Path: path, Err: fmt.Errorf(format, a...)})
	}
	if c.MaxOpenFiles < 1 {
		add("max_open_files", "must be at least 1, got %d", c.MaxOpenFiles)
	}
	if c.CheckpointInterval <= 0 {
		add("checkpoint_interval", "must be positive, got %s", c.CheckpointInterval)
	}
	if c.BatchMaxLines < 1 {
		add("batch_max_lines", "must be at least 1, got %d", c.BatchMaxLines)
	}
	if c.BatchMaxBytes < 1 {
		add("batch_max_bytes", "must be at least 1, got %d", c.BatchMaxBytes)
	}
	if c.MaxInflightBytes < 1 {
		add("max_inflight_bytes", "must be at least 1, got %d", c.MaxInflightBytes)
	}
	if c.CleanRemoved <= 0 {
		add("clean_removed", "must be positive, got %s", c.CleanRemoved)
	}
	return errors.Join(errs...)
}

// Input is one entry of a pipeline's `inputs:` list: which files to follow
// and how to read them.
type Input struct {
	// Paths are the glob patterns of the files to read. `*`, `?` and `[...]`
	// match within one path element, `**` matches any number of directories.
	// Symbolic links are followed; a file reached through several paths is
	// read once. A file that the paths of two inputs match is read by
	// each, as by Filebeat's inputs, and logged as a warning: its lines are
	// shipped twice.
	Paths []string `yaml:"paths"`
	// Exclude are glob patterns of files not to read, matched against the
	// whole path, or against the file name when the pattern has no `/`.
	Exclude []string `yaml:"exclude"`
	// StartAt is where to start reading a file that has no checkpoint and
	// existed when the agent first ran on its state_dir, or when a reload
	// added the input: "beginning" or "end". Files that appear later (new
	// files, rotated-in files, also files that appeared while the agent was
	// stopped) are always read from the beginning.
	StartAt string `yaml:"start_at"`
	// ScanInterval is how often the paths are rescanned. Filesystem
	// notifications pick up changes sooner; the rescan is the safety net.
	ScanInterval time.Duration `yaml:"scan_interval"`
	// CloseInactive closes a file that has not grown for this long; it is
	// reopened when it grows again. A last line without a newline is
	// shipped then, as it is.
	CloseInactive time.Duration `yaml:"close_inactive"`
	// FlushAfter is how long a file must be idle before the framer's pending
	// logical line (a partial container line, an unfinished multiline event)
	// is emitted as it is.
	FlushAfter time.Duration `yaml:"flush_after"`
	// MaxLineBytes is the longest line kept whole; longer lines are cut to
	// this length and tagged `_line_truncated`. A token the cut goes
	// through (up to 64 bytes: a card number cut in two would escape
	// redaction) is dropped with the rest.
	MaxLineBytes int `yaml:"max_line_bytes"`
}

// DefaultInput returns an Input with the defaults set and no paths.
func DefaultInput() Input {
	return Input{
		StartAt:       StartBeginning,
		ScanInterval:  10 * time.Second,
		CloseInactive: 5 * time.Minute,
		FlushAfter:    2 * time.Second,
		MaxLineBytes:  DefaultMaxLineBytes,
	}
}

// Validate reports every problem with in, with paths relative to the input.
func (in Input) Validate() error {
	var errs []error
	add := func(path, format string, a ...any) {
		errs = append(errs, &shipper.FieldError{Path: path, Err: fmt.Errorf(format, a...)})
	}
	if len(in.Paths) == 0 {
		add("paths", "at least one path is required")
	}
	for i, p := range in.Paths {
		if err := checkPattern(p); err != nil {
			add(fmt.Sprintf("paths[%d]", i), "%v", err)
		}
	}
	for i, p := range in.Exclude {
		if err := checkPattern(p); err != nil {
			add(fmt.Sprintf("exclude[%d]", i), "%v", err)
		}
	}
	switch in.StartAt {
	case StartBeginning, StartEnd:
	default:
		add("start_at", "must be one of %q, %q; got %q", StartBeginning, StartEnd, in.StartAt)
	}
	if in.ScanInterval <= 0 {
		add("scan_interval", "must be positive, got %s", in.ScanInterval)
	}
	if in.CloseInactive <= 0 {
		add("close_inactive", "must be positive, got %s", in.CloseInactive)
	}
	if in.FlushAfter <= 0 {
		add("flush_after", "must be positive, got %s", in.FlushAfter)
	}
	if in.MaxLineBytes < 1 {
		add("max_line_bytes", "must be at least 1, got %d", in.MaxLineBytes)
	}
	return errors.Join(errs...)
}

func checkPattern(p string) error {
	if p == "" {
		return errors.New("empty pattern")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "**" {
			continue
		}
		if strings.Contains(seg, "**") {
			return fmt.Errorf("pattern %q: ** must be a whole path element", p)
		}
		if _, err := filepath.Match(seg, ""); err != nil {
			return fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	return nil
}
