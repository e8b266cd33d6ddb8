package timeline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elastic/go-elasticsearch/v8"
)

// maxLanes is the number of services drawn as lanes; a trace through more
// services is listed without them (the lanes would not fit a terminal).
const maxLanes = 8

// maxServiceWidth bounds the service column.
const maxServiceWidth = 24

// Render writes entries (oldest first, as Fetch returns them) as a
// timeline for a terminal: one line per log line with its offset from the
// first, a lane per service (● the line's service, │ a service between
// its first and last line), the service, the level and the first line of
// the message; then a summary per service. Control characters in messages
// are shown escaped, so a log line cannot drive the terminal.
func Render(w io.Writer, entries []Entry) error {
	bw := bufio.NewWriter(w)
	if len(entries) == 0 {
		fmt.Fprintln(bw, "no log lines found for this trace")
		return bw.Flush()
	}
	first, last := entries[0].Time, entries[len(entries)-1].Time

	// Services in order of first appearance, with their span of lines.
	type svc struct {
		name        string
		first, last int
		lines       int
		errors      int
	}
	var svcs []svc
	lane := map[string]int{}
	width := 0
	for i, e := range entries {
		name := serviceLabel(e.Service)
		j, ok := lane[name]
		if !ok {
			j = len(svcs)
			lane[name] = j
			svcs = append(svcs, svc{name: name, first: i})
			width = max(width, min(utf8.RuneCountInString(name), maxServiceWidth))
		}
		svcs[j].last = i
		svcs[j].lines++
		if e.Level == "error" || e.Level == "fatal" {
			svcs[j].errors++
		}
	}
	drawLanes := len(svcs) <= maxLanes

	fmt.Fprintf(bw, "%d log lines from %d services over %s, starting %s\n\n",
		len(entries), len(svcs), formatOffset(last.Sub(first))[1:], first.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	var line strings.Builder
	for i, e := range entries {
		line.Reset()
		name := serviceLabel(e.Service)
		fmt.Fprintf(&line, "%10s  ", formatOffset(e.Time.Sub(first)))
		if drawLanes {
			for j, s := range svcs {
				switch {
				case j == lane[name]:
					line.WriteString("●")
				case s.first < i && i < s.last:
					line.WriteString("│")
				default:
					line.WriteString(" ")
				}
				line.WriteString(" ")
			}
			line.WriteString(" ")
		}
		line.WriteString(pad(truncate(name, maxServiceWidth), width))
		line.WriteString("  ")
		line.WriteString(pad(levelLabel(e.Level), 5))
		line.WriteString("  ")
		line.WriteString(messageLine(e.Message))
		bw.WriteString(strings.TrimRight(line.String(), " "))
		bw.WriteByte('\n')
	}
	bw.WriteString("\n")
	for _, s := range svcs {
		unit := "lines"
		if s.lines == 1 {
			unit = "line "
		}
		fmt.Fprintf(bw, "%s  %4d %s  %s … %s", pad(truncate(s.name, maxServiceWidth), width), s.lines, unit,
			formatOffset(entries[s.first].Time.Sub(first)), formatOffset(entries[s.last].Time.Sub(first)))
		if s.errors > 0 {
			fmt.Fprintf(bw, "  %d error", s.errors)
			if s.errors > 1 {
				bw.WriteString("s")
			}
		}
		bw.WriteString("\n")
	}
	return bw.Flush()
}

// RenderJSON writes one JSON object per entry and line: the Entry fields
// plus offset_ms, the milliseconds since the first entry.
func RenderJSON(w io.Writer, entries []Entry) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, e := range entries {
		out := struct {
			Entry
			OffsetMS float64 `json:"offset_ms"`
		}{e, float64(e.Time.Sub(entries[0].Time)) / float64(time.Millisecond)}
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("writing the timeline: %w", err)
		}
	}
	return bw.Flush()
}

func serviceLabel(s string) string {
	if s == "" {
		return "(no service)"
	}
	return sanitize(s)
}

func levelLabel(l string) string {
	if l == "" {
		return "-"
	}
	return sanitize(l)
}

// formatOffset writes a duration as +1.234s, +2m03.456s or +1h02m03.456s.
func formatOffset(d time.Duration) string {
	d = d.Round(time.Millisecond)
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	s := float64(d%time.Minute) / float64(time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf("%s%dh%02dm%06.3fs", sign, h, m, s)
	case m > 0:
		return fmt.Sprintf("%s%dm%06.3fs", sign, m, s)
	}
	return fmt.Sprintf("%s%.3fs", sign, s)
}

// messageLine is the first line of a message, with a count of the rest
// (a stack trace), escaped for a terminal.
func messageLine(m string) string {
	m = strings.TrimRight(m, "\r\n")
	first, rest, multi := strings.Cut(m, "\n")
	out := sanitize(strings.TrimRight(first, "\r"))
	if multi {
		out += fmt.Sprintf(" [+%d lines]", strings.Count(rest, "\n")+1)
	}
	return out
}

// sanitize escapes control characters (C0, DEL, C1) and bytes that are
// not UTF-8 as \xNN, so that text from a log line cannot move the cursor,
// change colours or start an 8-bit escape sequence.
func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if isControl(r) || (r == utf8.RuneError && n == 1) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\t':
			b.WriteByte(' ')
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case isControl(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func pad(s string, n int) string {
	if c := utf8.RuneCountInString(s); c < n {
		return s + strings.Repeat(" ", n-c)
	}
	return s
}

// Print is `shipper trace`: it fetches the trace with FetchWith and writes
// it to w, as a timeline (Render) or as JSON lines (RenderJSON). The
// returned Result says whether the output was truncated or approximate;
// the caller reports that on stderr, where it does not mix with JSON.
func Print(ctx context.Context, w io.Writer, client *elasticsearch.Client, indexPattern, traceID string, asJSON bool, o Options) (Result, error) {
	res, err := FetchWith(ctx, client, indexPattern, traceID, o)
	if err != nil {
		return res, err
	}
	if asJSON {
		return res, RenderJSON(w, res.Entries)
	}
	return res, Render(w, res.Entries)
}
