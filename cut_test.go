package shipper_test

import (
	"strings"
	"testing"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/redact"
)

// Wherever a line is cut, what is kept of it, once redacted, shows no seven
// digits of a card number in a row (the first six may be shown: PCI DSS
// allows the BIN), whether the card is written plain, in groups of four
// separated by spaces or dashes, inside JSON or in a URL.
func TestCutKeepsNoPartOfACard(t *testing.T) {
	r, err := redact.New(redact.DefaultConfig(), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, pan := range []string{"4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"} {
		for _, sep := range []string{"", " ", "-", "+", "%20"} {
			card := grouped(pan, sep)
			for _, line := range []string{
				`{"level":"info","msg":"charged card ` + card + ` for 12.50 EUR","user":"u-7"}`,
				`GET /pay?card=` + card + `&exp=12 200`,
				card,
			} {
				for cut := 0; cut <= len(line); cut++ {
					kept := shipper.TrimCutEnd([]byte(line[:cut]))
					if !strings.HasPrefix(line, string(kept)) {
						t.Fatalf("TrimCutEnd(%q) = %q, not a prefix", line[:cut], kept)
					}
					out := string(r.Text(nil, kept))
					if w := leaked(out, pan); w != "" {
						t.Errorf("cut at %d of %q: kept %q, redacted %q shows %s", cut, line, kept, out, w)
					}
				}
			}
		}
	}
}

// A cut at a word boundary keeps the line up to it, and a cut inside a
// token longer than any card keeps the token: cutting is not hiding.
func TestCutKeepsWholeWords(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"order 12 items", "order 12 "},
		{"order 12 it", "order 12 "},
		{"order 12 ", "order "}, // "12 34…" may go on
		{"amount=12", "amount="},
		{"card 4111 1111 ", "card "},
		{"ok, 2026-11-22", "ok, "},
		{strings.Repeat("a", 100), strings.Repeat("a", 100)},
		{"x " + strings.Repeat("7", 100), "x " + strings.Repeat("7", 100)},
	} {
		if got := string(shipper.TrimCutEnd([]byte(tt.in))); got != tt.want {
			t.Errorf("TrimCutEnd(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func grouped(pan, sep string) string {
	var b strings.Builder
	for i := 0; i < len(pan); i += 4 {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(pan[i:min(i+4, len(pan))])
	}
	return b.String()
}

// leaked returns the first seven digits of pan in a row that out shows,
// separators ignored, or "".
func leaked(out, pan string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		if r == ' ' || r == '-' || r == '+' {
			return -1
		}
		return 'x'
	}, strings.ReplaceAll(out, "%20", ""))
	for i := 0; i+7 <= len(pan); i++ {
		if strings.Contains(digits, pan[i:i+7]) {
			return pan[i : i+7]
		}
	}
	return ""
}

// TrimCutEnd only ever drops the end of its input, and never more than a
// card number's worth of it (so a cut hides little of a line).
func FuzzTrimCutEnd(f *testing.F) {
	f.Add("charged card 4111 1111 1111 11")
	f.Add(`{"msg":"GET /pay?card=4111-1111-1111-1111&exp=12`)
	f.Add("order 12 ")
	f.Fuzz(func(t *testing.T, s string) {
		kept := shipper.TrimCutEnd([]byte(s))
		if !strings.HasPrefix(s, string(kept)) {
			t.Fatalf("TrimCutEnd(%q) = %q, not a prefix", s, kept)
		}
		if dropped := len(s) - len(kept); dropped > 65 {
			t.Fatalf("TrimCutEnd(%q) dropped %d bytes", s, dropped)
		}
	})
}
