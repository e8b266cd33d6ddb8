package pipeline

import (
	"fmt"
	"strings"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// snapshot is what explain compares before and after a stage.
type snapshot struct {
	ev      shipper.Event
	members map[string]string
	order   []string
}

func snap(ev *shipper.Event) snapshot {
	s := snapshot{ev: *ev, members: make(map[string]string, len(ev.Doc.Members))}
	for _, m := range ev.Doc.Members {
		k := string(m.Key)
		s.members[k] = string(m.Value)
		s.order = append(s.order, k)
	}
	return s
}

// Explain runs the chain on b one stage at a time and returns, for each
// event, what every stage did to it, in words: how the line was parsed and
// where @timestamp, log.level and message came from, which convention gave
// the trace id, which fields were redacted, the sampling decision and the
// index. It is for people (dry-run --explain), not for the hot path.
func (c *Chain) Explain(b *shipper.Batch) [][]string {
	notes := make([][]string, len(b.Events))
	before := make([]snapshot, len(b.Events))
	names := []string{"parse", "enrich", "redact", "sample", "route"}
	for si, stage := range c.stages {
		if names[si] == "redact" { // only redaction's notes compare with before
			for i := range b.Events {
				before[i] = snap(&b.Events[i])
			}
		}
		var enrichNotes [][]string
		if stage == shipper.Processor(c.Enrich) {
			enrichNotes = make([][]string, len(b.Events))
			for i := range b.Events {
				enrichNotes[i] = c.Enrich.Explain(&b.Events[i])
			}
		}
		stage.Process(b)
		for i := range b.Events {
			ev := &b.Events[i]
			var what []string
			switch names[si] {
			case "parse":
				what = explainParse(ev, c.Parser.FieldRole)
			case "enrich":
				what = enrichNotes[i]
			case "redact":
				what = explainRedact(ev, before[i])
			case "sample":
				what = explainSample(ev)
			case "route":
				what = []string{"index " + ev.Index}
			}
			for _, w := range what {
				// Notes quote field values as they were before redaction:
				// they are redacted like everything that leaves the agent.
				line := fmt.Sprintf("%-7s %s", names[si]+":", w)
				notes[i] = append(notes[i], string(c.redactor.Text(nil, []byte(line))))
			}
		}
	}
	return notes
}

// explainParse says how the parser read ev; role is the parser's own
// classification of field names (Parser.FieldRole).
func explainParse(ev *shipper.Event, role func(key string) string) []string {
	var out []string
	orig, err := jsonscan.Members(nil, ev.Raw, 0)
	switch {
	case ev.Tags.Has(shipper.TagJSONParseFailure):
		out = append(out, "looked like JSON but is not valid: kept as text in message, tagged _json_parse_failure")
	case ev.Tags.Has(shipper.TagDepthExceeded):
		out = append(out, "JSON nested too deeply: kept as text, tagged _json_depth_exceeded")
	case err == nil:
		out = append(out, fmt.Sprintf("JSON object with %d fields", len(orig)))
	default:
		if _, ok := ev.Doc.Get("stream"); ok {
			out = append(out, "container runtime line (CRI or Docker)")
		} else {
			out = append(out, fmt.Sprintf("not JSON: %d fields kept", len(ev.Doc.Members)))
		}
	}
	after := map[string]bool{}
	for _, m := range ev.Doc.Members {
		after[string(m.Key)] = true
	}
	var consumed []string
	for _, m := range orig {
		if !after[string(m.Key)] {
			consumed = append(consumed, string(m.Key))
		}
	}
	switch {
	case ev.Tags.Has(shipper.TagTimestampParseFailure):
		out = append(out, "@timestamp: the time field could not be parsed (kept as it was); the read time is used")
	case ev.Tags.Has(shipper.TagTimestampMissing):
		out = append(out, "@timestamp: no time field; the read time is used")
	default:
		out = append(out, "@timestamp "+string(shipper.AppendTimestamp(nil, ev.Time))+from(consumed, role, "time"))
	}
	if ev.Level != shipper.LevelUnknown {
		out = append(out, "log.level "+ev.Level.String()+from(consumed, role, "level"))
	}
	if _, ok := ev.Doc.Get("message"); ok {
		out = append(out, "message"+from(consumed, role, "message"))
	}
	for _, t := range ev.Tags.Names() {
		if t == "_line_truncated" || t == "_invalid_utf8" || t == "multiline" || t == "_partial_too_long" {
			out = append(out, "tagged "+t)
		}
	}
	return out
}

// from names the consumed field the parser read as want ("time",
// "level", "message"), if any.
func from(consumed []string, role func(string) string, want string) string {
	for _, c := range consumed {
		if role(c) == want {
			return fmt.Sprintf(" from field %q", c)
		}
	}
	return ""
}

// explainRedact names what the redact stage changed: values, keys (a card
// number as a key), removed members, and the fields outside the document.
// The names quote the keys as they were; Explain redacts its notes.
func explainRedact(ev *shipper.Event, before snapshot) []string {
	var changed, keys, removed []string
	after := make(map[string]bool, len(ev.Doc.Members))
	for _, m := range ev.Doc.Members {
		k := string(m.Key)
		after[k] = true
		if old, ok := before.members[k]; ok && old != string(m.Value) {
			changed = append(changed, k)
		}
	}
	// A key gone was either redacted itself (a new key took its place) or
	// removed with its value. A redacted key keeps its value, unless that
	// was redacted too: the new keys are paired with the gone ones by
	// value first, then in order; gone keys left over were removed.
	var gone []string
	for _, k := range before.order {
		if !after[k] {
			gone = append(gone, k)
		}
	}
	paired := make([]bool, len(gone))
	var unmatched int
	for _, m := range ev.Doc.Members {
		if _, old := before.members[string(m.Key)]; old {
			continue
		}
		matched := false
		for i, k := range gone {
			if !paired[i] && before.members[k] == string(m.Value) {
				paired[i], matched = true, true
				break
			}
		}
		if !matched {
			unmatched++
		}
	}
	for i := range gone {
		if !paired[i] && unmatched > 0 {
			paired[i] = true
			unmatched--
		}
	}
	for i, k := range gone {
		if paired[i] {
			keys = append(keys, k)
		} else {
			removed = append(removed, k)
		}
	}
	b := &before.ev
	if ev.Service != b.Service {
		changed = append(changed, "service.name")
	}
	if ev.Kube != b.Kube {
		changed = append(changed, "kubernetes")
	}
	if ev.Source.File != b.Source.File {
		changed = append(changed, "log.file.path")
	}
	if ev.SpanID != b.SpanID || ev.ParentID != b.ParentID {
		changed = append(changed, "span.id (a card number: left out)")
	}
	var out []string
	if len(changed) > 0 {
		out = append(out, "redacted values in "+strings.Join(changed, ", "))
	}
	if len(keys) > 0 {
		out = append(out, "redacted keys "+strings.Join(keys, ", "))
	}
	if len(removed) > 0 {
		out = append(out, "removed "+strings.Join(removed, ", "))
	}
	if len(out) == 0 {
		return []string{"nothing to redact"}
	}
	return out
}

func explainSample(ev *shipper.Event) []string {
	switch {
	case ev.Drop != "":
		return []string{"dropped (" + ev.Drop + ")"}
	case ev.SampleRatio > 0 && ev.SampleRatio < 1:
		return []string{fmt.Sprintf("kept at ratio %g (sample.ratio is written to the document)", ev.SampleRatio)}
	default:
		return []string{"kept"}
	}
}
