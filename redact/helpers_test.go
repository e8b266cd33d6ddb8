package redact

import (
	"strings"
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

// noLeakInText checks that Text leaves no case's secret in its output.
func noLeakInText(t *testing.T, cases []struct{ in, secret string }) {
	t.Helper()
	r := newDefault(t)
	for _, c := range cases {
		if out := string(r.Text(nil, []byte(c.in))); strings.Contains(out, c.secret) {
			t.Errorf("leak of %q:\n in: %q\nout: %q", c.secret, c.in, out)
		}
	}
}

// keepInText fails when the innocent text keep is not in the output.
func keepInText(t *testing.T, cases []struct{ in, keep string }) {
	t.Helper()
	r := newDefault(t)
	for _, c := range cases {
		if out := string(r.Text(nil, []byte(c.in))); !strings.Contains(out, c.keep) {
			t.Errorf("%q lost:\n in: %q\nout: %q", c.keep, c.in, out)
		}
	}
}

// unchangedInText fails when Text changes an innocent text.
func unchangedInText(t *testing.T, ins []string) {
	t.Helper()
	r := newDefault(t)
	for _, in := range ins {
		if out := string(r.Text(nil, []byte(in))); out != in {
			t.Errorf("changed:\n in: %q\nout: %q", in, out)
		}
	}
}

// idempotentJSON fails when redacting JSON's output again changes it.
func idempotentJSON(t *testing.T, ins []string) {
	t.Helper()
	r := newDefault(t)
	for _, in := range ins {
		once, _ := r.JSON(nil, []byte(in))
		twice, _ := r.JSON(nil, once)
		if string(once) != string(twice) {
			t.Errorf("not idempotent:\n in: %s\n 1: %s\n 2: %s", in, once, twice)
		}
	}
}

// textIs fails when Text does not turn a case's in into its want.
func textIs(t *testing.T, cases []struct{ in, want string }) {
	t.Helper()
	r := newDefault(t)
	for _, c := range cases {
		if out := string(r.Text(nil, []byte(c.in))); out != c.want {
			t.Errorf("\n  in: %q\n out: %q\nwant: %q", c.in, out, c.want)
		}
	}
}

// unchangedInProcess fails when Process changes an innocent JSON line.
func unchangedInProcess(t *testing.T, lines []string) {
	t.Helper()
	r := newDefault(t)
	for _, line := range lines {
		if out, _ := processLine(t, r, line); out != line {
			t.Errorf("changed:\n in: %s\nout: %s", line, out)
		}
	}
}
