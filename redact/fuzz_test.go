package redact

import (
	"bytes"
	"encoding/json"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// runPattern finds maximal runs of digit groups joined by single
// separators (space, dash, or a URL-encoded space): the oracle's own
// reading of the card rule, written independently of the scanner. After a
// '%', a run's leading 20 is the rest of a "%20".
var (
	runPattern = regexp.MustCompile(`[0-9]+(?:(?:[ +-]|%20)[0-9]+)*`)
	sepPattern = regexp.MustCompile(`[ +-]|%20`)
	// zeroFractionPattern: a run followed by this is a whole number
	// written as a float ("4111111111111111.00"), not glued to a decimal.
	zeroFractionPattern = regexp.MustCompile(`^\.0+(?:[^0-9A-Za-z.]|$)`)
)

// leakedPAN returns a card the rule should have caught in s, or "".
func leakedPAN(s string) string {
	for _, loc := range runPattern.FindAllStringIndex(s, -1) {
		if loc[0] > 0 && s[loc[0]-1] == '%' && loc[1]-loc[0] > 2 && s[loc[0]:loc[0]+2] == "20" && s[loc[0]+2] >= '0' && s[loc[0]+2] <= '9' {
			loc[0] += 2
		}
		run := s[loc[0]:loc[1]]
		groups := sepPattern.Split(run, -1)
		seps := sepPattern.FindAllString(run, -1) // seps[i-1] is before groups[i]
		if len(groups) == 5 && len(groups[0]) == 8 && len(groups[1]) == 4 && len(groups[2]) == 4 && len(groups[3]) == 4 && len(groups[4]) == 12 && strings.Count(run, "-") == 4 {
			continue // UUID shape
		}
		isLetter := func(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
		isDig := func(c byte) bool { return c >= '0' && c <= '9' }
		phone := loc[0] > 0 && s[loc[0]-1] == '+' && !(loc[0] >= 2 && isLetter(s[loc[0]-2]))
		leftGlued := loc[0] > 0 && (isLetter(s[loc[0]-1]) || phone || (s[loc[0]-1] == '.' && loc[0] >= 2 && isDig(s[loc[0]-2])))
		rightGlued := loc[1] < len(s) && (isLetter(s[loc[1]]) || (s[loc[1]] == '.' && loc[1]+1 < len(s) && isDig(s[loc[1]+1]) && !zeroFractionPattern.MatchString(s[loc[1]:])))
		for i := range groups {
			if i == 0 && leftGlued || i > 0 && seps[i-1] == "+" {
				continue
			}
			digits := ""
			for j := i; j < len(groups); j++ {
				digits += groups[j]
				if len(digits) > maxPAN {
					break
				}
				if j == len(groups)-1 && rightGlued {
					break
				}
				if len(digits) >= minPAN && isPAN([]byte(digits)) {
					return digits
				}
			}
		}
	}
	return ""
}

// checkNoLeak walks a decoded JSON value and reports any card left in it.
func checkNoLeak(t *testing.T, v any, kc keyClass, where string) {
	var kw keyWords
	switch v := v.(type) {
	case string:
		if kc == keyTraceID && allDigits([]byte(v)) {
			return
		}
		if pan := leakedPAN(v); pan != "" {
			t.Fatalf("card %s left in string %q at %s", pan, v, where)
		}
	case json.Number:
		if d, ok := bigInteger(string(v)); ok && kc != keyTraceID && isPAN([]byte(d)) {
			t.Fatalf("card %s left as a number at %s", v, where)
		}
	case []any:
		for _, e := range v {
			checkNoLeak(t, e, kc, where+"[]")
		}
	case map[string]any:
		m := newKeyMatcher(nil)
		for k, e := range v {
			if pan := leakedPAN(k); pan != "" {
				t.Fatalf("card %s left in key %q at %s", pan, k, where)
			}
			checkNoLeak(t, e, m.matchKey(&kw, []byte(k)), where+"."+k)
		}
	}
}

// bigInteger returns the digits of the JSON number n's absolute value when
// it is an integer (4111111111111111, 4.111111111111111e15,
// 4111111111111111.0), by math/big: the oracle for integerDigits. Exponents
// beyond ±9999 are left out, as they are there.
func bigInteger(n string) (string, bool) {
	if i := strings.IndexAny(n, "eE"); i >= 0 && len(strings.TrimLeft(n[i+1:], "+-")) > 4 {
		return "", false
	}
	r, ok := new(big.Rat).SetString(n)
	if !ok || !r.IsInt() || r.Sign() == 0 {
		return "", false
	}
	return new(big.Int).Abs(r.Num()).String(), true
}

// FuzzIntegerDigits checks integerDigits against math/big on any number
// text: the digits of an integer value of at most 19 digits, nothing else.
func FuzzIntegerDigits(f *testing.F) {
	for _, s := range []string{
		"4111111111111111.0", "4.111111111111111e15", "4.111111111111111E+15", "41111111111111110e-1",
		"0.0", "0e5", "1e19", "1e18", "12.5", "1700000000.123456", "4.2e15", "00012.000e3", "9.99e-1",
		"1234567890123456789.0", "1234567890123456789e1", "5e-0", "1.e5", ".5", "1.5e", "1e+-5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, n string) {
		got, ok := integerDigits(nil, []byte(n))
		// Only JSON numbers without a sign reach integerDigits.
		if jsonscan.Valid([]byte(n), 0) != nil || n == "" || n[0] == '-' || !isDigit(n[0]) {
			return
		}
		want, wok := bigInteger(n)
		wok = wok && len(want) <= maxPAN
		if ok != wok || ok && string(got) != want {
			t.Fatalf("integerDigits(%q) = %q, %v; want %q, %v", n, got, ok, want, wok)
		}
	})
}

func decodeAny(t *testing.T, data []byte) any {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output is not valid JSON: %v\n%s", err, data)
	}
	return v
}

var fuzzSeeds = []string{
	`{"msg":"paid with 4111 1111 1111 1111","ts":1732290000123}`,
	`{"a":{"b":[4111111111111111,"5555-5555-5555-4444",{"password":"x"}]}}`,
	`{"dd.trace_id":4111111111111111111,"span_id":"4111111111111111111"}`,
	`{"msg":"Authorization: Bearer abc123def456 and Basic dXNlcjpwYXNz"}`,
	`{"url":"/x?token=abc&card=378282246310005&n=2"}`,
	`{"k":"\u0034111111111111111"}`,
	`{"4111111111111111":"key is a card"}`,
	`{"a":{"n":4.111111111111111e15},"b":4111111111111111.0,"c":"paid 4111111111111111.00 EUR"}`,
	`{"msg":"4000056655665556 4242 4242 4242"}`,
	`{"x":"41111111-1111-1111-1111-111111111111"}`,
	`["a",1,null,true,{"cvv":123}]`,
	`"6011 1111 1111 1117"`,
	`{"msg":"line\n-----BEGIN PRIVATE KEY-----\nabc"}`,
}

// FuzzJSON: for any JSON value, the output of JSON is valid JSON with no
// card left in it, is src itself when nothing was redacted, and redacting
// the output again changes nothing.
func FuzzJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	r := newDefault(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		if !json.Valid(src) || jsonscan.Valid(src, 0) != nil {
			return
		}
		out, n := r.JSON(nil, src)
		if n == 0 && !bytes.Equal(out, src) {
			t.Fatalf("nothing redacted but output differs:\n in: %s\nout: %s", src, out)
		}
		checkNoLeak(t, decodeAny(t, out), keyPlain, "$")
		again, _ := r.JSON(nil, out)
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n 1: %s\n 2: %s", out, again)
		}
	})
}

// FuzzProcess: the same for an event's members, as the parser hands them
// over; the line's bytes are never modified.
func FuzzProcess(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	r := newDefault(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		members, err := jsonscan.Members(nil, line, 0)
		if err != nil || !json.Valid(line) {
			return
		}
		orig := bytes.Clone(line)
		b := &shipper.Batch{Events: []shipper.Event{{Raw: line, Doc: shipper.Doc{Members: members}}}}
		r.Process(b)
		if !bytes.Equal(line, orig) {
			t.Fatal("Process modified the line's bytes")
		}
		out := []byte(docString(b.Events[0].Doc))
		if !b.Events[0].Tags.Has(shipper.TagRedacted) {
			same := len(b.Events[0].Doc.Members) == len(members)
			for i := range members {
				same = same && bytes.Equal(members[i].Value, b.Events[0].Doc.Members[i].Value)
			}
			if !same {
				t.Fatal("members changed without the redacted tag")
			}
		}
		checkNoLeak(t, decodeAny(t, out), keyPlain, "$")
	})
}

// FuzzText: no card is left in the output of Text.
func FuzzText(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Add("card 4111-1111-1111-1111. exp")
	r := newDefault(f)
	f.Fuzz(func(t *testing.T, s string) {
		out := string(r.Text(nil, []byte(s)))
		if pan := leakedPAN(out); pan != "" {
			t.Fatalf("card %s left in %q (from %q)", pan, out, s)
		}
	})
}
