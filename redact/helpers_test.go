package redact

import (
	"testing"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

func newDefault(t testing.TB) *Redactor {
	t.Helper()
	r, err := New(DefaultConfig(), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// processLine runs Process on one JSON line and returns the document's
// members re-assembled as an object, and the event's tags.
func processLine(t testing.TB, r *Redactor, line string) (string, shipper.Tags) {
	t.Helper()
	raw := []byte(line)
	members, err := jsonscan.Members(nil, raw, 0)
	if err != nil {
		t.Fatalf("test line is not JSON: %v\n%s", err, line)
	}
	b := &shipper.Batch{Events: []shipper.Event{{Raw: raw, Doc: shipper.Doc{Members: members}}}}
	r.Process(b)
	if string(b.Events[0].Raw) != line {
		t.Fatalf("Process modified the line's bytes:\n%s", b.Events[0].Raw)
	}
	return docString(b.Events[0].Doc), b.Events[0].Tags
}

func docString(d shipper.Doc) string {
	out := []byte{'{'}
	for i, m := range d.Members {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, m.Key...)
		out = append(out, '"', ':')
		out = append(out, m.Value...)
	}
	return string(append(out, '}'))
}
