package redact

import (
	"strconv"
	"strings"
	"testing"
)

// TestCardInAnIDFieldStillRedacted: a card number is a card number even under
// a trace or span id key (a hex id made of decimal digits, or a Datadog
// decimal id, that is Luhn- and prefix-valid), while ids that cannot be
// cards stay byte-identical.
func TestCardInAnIDFieldStillRedacted(t *testing.T) {
	r := newDefault(t)
	for _, in := range []string{
		`{"trace_id":"4111111111111111"}`,
		`{"span_id":"5555555555554444"}`,
		`{"dd":{"trace_id":4111111111111111}}`,
		`{"dd.span_id":"4012888888881881"}`,
	} {
		out, n := r.JSON(nil, []byte(in))
		if n == 0 || strings.ContainsAny(strings.Trim(string(out), `{}":_ abcdefghijklmnopqrstuvwxyz.`), "0123456789") && !strings.Contains(string(out), "*") {
			t.Errorf("JSON(%s) = %s: the card was kept", in, out)
		}
	}
	// Ids that are not valid cards: untouched.
	kept := 0
	for i := uint64(0); kept < 200; i++ {
		id := strconv.FormatUint(9_000_000_000_000_000_000+i*7_919_000_003, 10)
		if isPAN([]byte(id)) {
			continue
		}
		kept++
		in := `{"dd":{"trace_id":"` + id + `","span_id":` + id + `},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`
		if out, n := r.JSON(nil, []byte(in)); n != 0 || string(out) != in {
			t.Fatalf("JSON(%s) = %s (%d redactions): an id was changed", in, out, n)
		}
	}
}
