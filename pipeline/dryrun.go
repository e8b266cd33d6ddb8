package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
	"github.com/traceship/shipper/sample"
	"github.com/traceship/shipper/tailer"
)

// DryRunOptions are the dry-run's switches.
type DryRunOptions struct {
	// ShowDropped prints dropped events too, with "_dropped": reason.
	ShowDropped bool
	// Explain prints, before each document, what every stage did to it
	// (lines starting with #).
	Explain bool
	// ReadOptions configure how files are read (line limits).
	Read tailer.ReadOptions
	// Progress, if not nil, is told the bytes done of all files and their
	// total size as reading goes.
	Progress func(done, total int64)
	// ReadTime gives the read time of a file's lines (the @timestamp of
	// lines without one). nil: the time of reading.
	ReadTime func(path string) time.Time
}

// Summary counts what a dry-run saw.
type Summary struct {
	Lines       int
	Documents   int
	ParseErrors int
	Redacted    int
	SampledOut  int
	// Held counts lines sample.keep_trace_on_error held back; those whose
	// trace failed come out later as documents (Promoted).
	Held, Promoted int
	Dropped        map[string]int
	PerIndex       map[string]int
}

// Add counts the events of one processed batch.
func (s *Summary) Add(b *shipper.Batch) {
	if s.PerIndex == nil {
		s.PerIndex, s.Dropped = map[string]int{}, map[string]int{}
	}
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.Tags.Has(shipper.TagHeldForTrace) && ev.Drop == "" {
			// Released from an earlier batch, where it was counted.
			s.Promoted++
			s.Documents++
			s.PerIndex[ev.Index]++
			continue
		}
		s.Lines++
		if ev.Drop == sample.DropHeld {
			s.Held++
			continue
		}
		if ev.Tags.Has(shipper.TagJSONParseFailure) {
			s.ParseErrors++
		}
		if ev.Tags.Has(shipper.TagRedacted) {
			s.Redacted++
		}
		if ev.Drop != "" {
			s.Dropped[ev.Drop]++
			if strings.HasPrefix(ev.Drop, "sample") {
				s.SampledOut++
			}
			continue
		}
		s.Documents++
		s.PerIndex[ev.Index]++
	}
}

// WriteTo prints the summary for a person, one fact per line.
func (s *Summary) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "lines read:     %d\n", s.Lines)
	fmt.Fprintf(&b, "documents out:  %d\n", s.Documents)
	fmt.Fprintf(&b, "parse errors:   %d\n", s.ParseErrors)
	fmt.Fprintf(&b, "redacted:       %d\n", s.Redacted)
	fmt.Fprintf(&b, "sampled out:    %d\n", s.SampledOut)
	if s.Held > 0 {
		fmt.Fprintf(&b, "held for trace: %d (%d shipped because their trace failed)\n", s.Held, s.Promoted)
	}
	for _, reason := range slices.Sorted(maps.Keys(s.Dropped)) {
		if !strings.HasPrefix(reason, "sample") {
			fmt.Fprintf(&b, "dropped (%s): %d\n", reason, s.Dropped[reason])
		}
	}
	for _, idx := range slices.Sorted(maps.Keys(s.PerIndex)) {
		fmt.Fprintf(&b, "  %-40s %d\n", idx, s.PerIndex[idx])
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// DryRun reads each file from its beginning to its end once, runs it through
// p and writes one line per document that would be indexed:
// {"_index":…,"_id":…,"_source":{…}}. Output is deterministic for a given
// input and clock.
func DryRun(ctx context.Context, p *Pipeline, files []string, out io.Writer, opts DryRunOptions) (Summary, error) {
	var sum Summary
	w := bufio.NewWriterSize(out, 64<<10)
	var line []byte
	var total, base int64
	for _, path := range files {
		if st, err := os.Stat(path); err == nil {
			total += st.Size()
		}
	}
	for _, path := range files {
		chain := p.ChainFor(path)
		ro := opts.Read
		ro.NewFramer = chain.NewFramer
		var fileDone int64
		if opts.Progress != nil {
			ro.Progress = func(done, _ int64) {
				fileDone = done
				opts.Progress(base+done, total)
			}
		}
		if opts.ReadTime != nil {
			t := opts.ReadTime(path)
			ro.Now = func() time.Time { return t }
		}
		err := tailer.ReadFile(ctx, path, ro, func(b *shipper.Batch) error {
			var notes [][]string
			if opts.Explain {
				notes = chain.Explain(b)
			} else {
				chain.Process(b)
			}
			sum.Add(b)
			for i := range b.Events {
				ev := &b.Events[i]
				if notes != nil {
					fmt.Fprintf(w, "# %s:%d\n", path, ev.Source.Offset)
					for _, n := range notes[i] {
						fmt.Fprintf(w, "#   %s\n", n)
					}
				}
				if ev.Drop != "" && !opts.ShowDropped && !opts.Explain {
					continue
				}
				line = AppendDryRunLine(line[:0], ev)
				if _, err := w.Write(line); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return sum, fmt.Errorf("dry-run of %s: %w", path, err)
		}
		base += fileDone
	}
	if err := w.Flush(); err != nil {
		return sum, fmt.Errorf("writing dry-run output: %w", err)
	}
	return sum, nil
}

// AppendDryRunLine appends the dry-run form of ev and a newline.
func AppendDryRunLine(dst []byte, ev *shipper.Event) []byte {
	dst = append(dst, `{"_index":`...)
	dst = jsonscan.AppendString(dst, ev.Index)
	dst = append(dst, `,"_id":"`...)
	dst = shipper.AppendID(dst, ev)
	dst = append(dst, '"')
	if ev.Drop != "" {
		dst = append(dst, `,"_dropped":`...)
		dst = jsonscan.AppendString(dst, ev.Drop)
	}
	dst = append(dst, `,"_source":`...)
	dst = shipper.AppendSource(dst, ev)
	return append(dst, '}', '\n')
}
