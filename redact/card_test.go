package redact

import (
	"strings"
	"testing"
)

// withLuhn appends the Luhn check digit to the digits p.
func withLuhn(p string) string {
	for c := '0'; c <= '9'; c++ {
		if luhn([]byte(p + string(c))) {
			return p + string(c)
		}
	}
	panic("unreachable")
}

// testCards are public test numbers of every scheme the rule knows, and a
// few generated ones for lengths no public list covers.
var testCards = []struct{ brand, pan string }{
	{"visa", "4111111111111111"},
	{"visa", "4012888888881881"},
	{"visa-13", "4222222222222"},
	{"visa-19", withLuhn("400000000000000000")},
	{"visa-debit", "4000056655665556"},
	{"mastercard", "5555555555554444"},
	{"mastercard", "5105105105105100"},
	{"mastercard-2series", "2223003122003222"},
	{"mastercard-2720", withLuhn("272099000000000")},
	{"amex", "378282246310005"},
	{"amex", "371449635398431"},
	{"discover", "6011111111111117"},
	{"discover", "6011000990139424"},
	{"discover-644", withLuhn("644000000000000")},
	{"diners-14", "30569309025904"},
	{"diners-14", "38520000023237"},
	{"diners-16", "3056930009020004"},
	{"jcb", "3530111333300000"},
	{"jcb", "3566002020360505"},
	{"unionpay", "6200000000000005"},
	{"unionpay-19", "6205500000000000004"},
	{"maestro", "6759649826438453"},
	{"maestro-19", "6799990100000000019"},
	{"maestro-50", withLuhn("501800000000000")},
	{"mir", withLuhn("220000000000000")},
	{"rupay", withLuhn("820000000000000")},
	{"unionpay-81", withLuhn("810000000000000")},
	{"troy", withLuhn("979200000000000")},
	{"borica", withLuhn("220500000000000")},
	{"china-t-union", withLuhn("310000000000000000")},
}

// group writes a PAN in the usual grouping for its length with sep.
func group(pan, sep string) string {
	var sizes []int
	switch len(pan) {
	case 15:
		sizes = []int{4, 6, 5}
	case 14:
		sizes = []int{4, 6, 4}
	default:
		for n := len(pan); n > 0; n -= 4 {
			sizes = append(sizes, min(4, n))
		}
	}
	var parts []string
	i := 0
	for _, s := range sizes {
		parts = append(parts, pan[i:i+s])
		i += s
	}
	return strings.Join(parts, sep)
}

func TestTestCardsAreCards(t *testing.T) {
	for _, c := range testCards {
		if !isPAN([]byte(c.pan)) {
			t.Errorf("%s %s: not recognised as a card", c.brand, c.pan)
		}
	}
}

func TestFindCardsSeparatorsAndBoundaries(t *testing.T) {
	for _, c := range testCards {
		for _, sep := range []string{"", " ", "-", "+", "%20"} {
			pan := group(c.pan, sep)
			for _, tmpl := range []string{
				"%s",
				"card %s ok",
				"card=%s&exp=1225",
				"(%s).",
				"qty 2 %s",        // a number just before, single space
				"%s 2024-11-22",   // a date just after
				"pan:%s,cvv:123",  // punctuation on both sides
				"ids 7 8 %s 9 10", // short numbers on both sides
				"paid %s.00 EUR",  // a whole number written as a float
				"n=%s.0",
			} {
				s := strings.Replace(tmpl, "%s", pan, 1)
				spans, _ := findCards(nil, nil, []byte(s))
				if len(spans) != 1 || s[spans[0].start:spans[0].end] != pan {
					t.Errorf("%s in %q: got spans %v, want exactly %q", c.brand, s, spans, pan)
				}
			}
		}
	}
}

// A space URL-encoded ('+' or "%20") before a card, as a form writes a
// query string, does not hide it.
func TestFindCardsInQueryStrings(t *testing.T) {
	for _, s := range []string{
		"q=card+4111111111111111",
		"q=paid+with+4111+1111+1111+1111",
		"q=card%204111%201111%201111%201111",
		"card%204111111111111111",
		"q=card%20no%204111111111111111&x=1",
	} {
		spans, _ := findCards(nil, nil, []byte(s))
		var digits string
		if len(spans) == 1 {
			digits = string(appendCardDigits(nil, []byte(s[spans[0].start:spans[0].end])))
		}
		if digits != "4111111111111111" {
			t.Errorf("%q: found %v (%q), want the card", s, spans, digits)
		}
	}
}

func TestFindCardsHardNegatives(t *testing.T) {
	for _, s := range []string{
		"1732290000123",                          // epoch ms
		"1732290000123456",                       // epoch µs
		"1732290000123456789",                    // epoch ns
		"ts=1732290000.123456789",                // epoch with fraction
		"+4222222222222",                         // E.164 phone that would pass as Visa-13
		"+1 415-555-0132",                        // phone
		"+49 30 12345678",                        // phone
		"41111111-1111-1111-1111-111111111111",   // UUID shape, all digits
		"123e4567-e89b-12d3-a456-426614174000",   // UUID
		"4111111111111111aa",                     // hex id starting with a PAN
		"0af7651916cd43dd4111111111111111",       // hex id ending with a PAN
		"sha 4111111111111111ab31",               // hex glued on the right
		"v4111111111111111",                      // letter glued on the left
		"0.4111111111111111",                     // decimal fraction
		"4111111111111111.25",                    // decimal integer part
		"4111111111111111.01",                    // decimal integer part
		"4111111111111111.0.1",                   // version
		"4111111111111111.0e5",                   // float, not the card's value
		"shard\t614\t1732290008",                 // tab-separated columns
		"ref 12+4222222222222",                   // a '+' after a number
		"+4222222222222+4222222222222",           // phones joined by '+'
		"tel=+4222222222222",                     // a phone in a query string
		"10.4111111111111111",                    // dotted number
		"192.168.100.200:8080",                   // IP
		"2024-11-22 10:30:00.123456",             // date time
		"ORD-20241122-000123",                    // order id
		"order 1234567890123 shipped",            // 13 digits, no scheme
		"0.30000000000000004",                    // float noise
		"4111111111111112",                       // Visa prefix, Luhn fails
		"41111111111111111111",                   // 20 digits
		"4111  1111 1111 1111",                   // double space: 12 digits after it
		"4111 1111 1111 11",                      // too short
		"1.2.3 1.2.4 9.8.7",                      // versions
		"amount 1 234 567 890 123.45 EUR",        // grouped amount, 13 digits, prefix 1
		"\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t", // no digits at all
	} {
		spans, _ := findCards(nil, nil, []byte(s))
		if len(spans) != 0 {
			t.Errorf("%q: found %v, want no card", s, spans)
		}
	}
}

func TestMaybeCardNeverMissesACard(t *testing.T) {
	// The pre-check is the only thing between a line and the full scan:
	// it must say yes for a card at every offset.
	for _, c := range testCards {
		for pad := 0; pad < 30; pad++ {
			for _, sep := range []string{"", " ", "-", "+", "%20"} {
				s := strings.Repeat("x", pad) + " " + group(c.pan, sep) + " " + strings.Repeat("y", 30-pad)
				if !maybeCard([]byte(s)) {
					t.Fatalf("maybeCard(%q) = false", s)
				}
			}
		}
	}
}

func TestMaskKeepsLastFourAndGrouping(t *testing.T) {
	for in, want := range map[string]string{
		"4111111111111111":    "************1111",
		"4111 1111 1111 1111": "**** **** **** 1111",
		"3782-822463-10005":   "****-******-*0005",
		"4111+1111+1111+1111": "****+****+****+1111",
		// The 20 of a URL-encoded space is not a digit of the card.
		"4111%201111%201111%201111":       "****%20****%20****%201111",
		"6799%209901%200000%200000%20019": "****%20****%20****%20***0%20019",
	} {
		if got := string(appendMaskedCard(nil, []byte(in))); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}
