package redact

// Differential tests of the pre-checks (worthLooking, scanFlags,
// scanJSONFlags) against what the rules find. A pre-check may flag too much,
// never too little: whatever a rule would redact, the pre-check must let
// through, or it leaves the machine.

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// randCardValue returns the digits of a valid card whose significant part
// has p digits and the rest zeros (4200000000000000), so that short float
// spellings exist.
func randCardValue(rng *rand.Rand) string {
	for {
		l := 13 + rng.IntN(7)
		p := 1 + rng.IntN(l)
		b := make([]byte, l)
		b[0] = "3456"[rng.IntN(4)]
		for i := 1; i < l; i++ {
			if i < p {
				b[i] = byte('0' + rng.IntN(10))
			} else {
				b[i] = '0'
			}
		}
		if b[p-1] == '0' {
			b[p-1] = byte('1' + rng.IntN(9))
		}
		if isPAN(b) {
			return string(b)
		}
	}
}

// spellFloat writes the integer d as a JSON number in one of the ways a
// JSON writer may: a point anywhere, trailing zeros, 0.000ddd, an exponent
// with or without '+', 'E', leading zeros.
func spellFloat(rng *rand.Rand, d string) string {
	sig := strings.TrimRight(d, "0")
	m := sig + strings.Repeat("0", rng.IntN(4))
	var mant string
	var e int
	if rng.IntN(4) == 0 {
		q := rng.IntN(6)
		mant = "0." + strings.Repeat("0", q) + m
		e = len(d) + q
	} else {
		k := 1 + rng.IntN(len(m))
		mant = m[:k]
		if k < len(m) {
			mant += "." + m[k:]
		} else if rng.IntN(2) == 0 {
			mant += "." + strings.Repeat("0", 1+rng.IntN(2))
		}
		e = len(d) - k
	}
	if e == 0 && rng.IntN(2) == 0 {
		return mant
	}
	exp := "e"
	if rng.IntN(3) == 0 {
		exp = "E"
	}
	if e < 0 {
		exp += "-"
		e = -e
	} else if rng.IntN(2) == 0 {
		exp += "+"
	}
	es := strings.Repeat("0", rng.IntN(3)) + itoa(e)
	if len(es) > 4 {
		es = itoa(e)
	}
	n := mant + exp + es
	if rng.IntN(5) == 0 {
		n = "-" + n
	}
	return n
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestNumberPreCheckNeverMisses: a JSON number whose value is a card (the rule,
// number(), masks it) must pass worthLooking at the top level and set fCard
// in scanJSONFlags when nested.
func TestNumberPreCheckNeverMisses(t *testing.T) {
	r := newDefault(t)
	rng := rand.New(rand.NewPCG(1, 2))
	const N = 200000
	var ruleHits, topMiss, nestMiss, leaks int
	ex := map[string]string{}
	for range N {
		n := spellFloat(rng, randCardValue(rng))
		if !json.Valid([]byte(n)) {
			t.Fatalf("generator: %q not JSON", n)
		}
		sc := r.get()
		out, cnt := r.number(sc, nil, []byte(n), keyPlain)
		r.put(sc)
		if cnt == 0 {
			continue // the rule itself does not take it (e.g. exponent text > 4 digits)
		}
		_ = out
		ruleHits++
		if _, ok := r.worthLooking([]byte(n), keyPlain); !ok {
			topMiss++
			if _, seen := ex["top"]; !seen || len(n) < len(ex["top"]) {
				ex["top"] = n
			}
		}
		for _, tmpl := range []string{`{"a":%s}`, `[%s]`} {
			v := strings.Replace(tmpl, "%s", n, 1)
			if scanJSONFlags([]byte(v), &r.keys.filter)&fCard == 0 {
				nestMiss++
				if _, seen := ex["nested"]; !seen || len(v) < len(ex["nested"]) {
					ex["nested"] = v
				}
			}
			if o, _ := r.JSON(nil, []byte(`{"x":`+v+`}`)); strings.Contains(string(o), n) {
				leaks++
			}
		}
	}
	t.Logf("%d numbers, %d whose value is a card; worthLooking missed %d, scanJSONFlags missed %d (of %d nested), end-to-end nested leaks %d; shortest: %v",
		N, ruleHits, topMiss, nestMiss, 2*ruleHits, leaks, ex)
	if topMiss+nestMiss > 0 {
		t.Errorf("pre-check misses numbers the card rule masks: %v", ex)
	}
}

var tokenFrags = func() []string {
	f := []string{" ", "_", "-", ".", "/", "=", "%20", "%2F", "%3D", "\n", "\t", "\"", "a", "Z", "1", "z", "x", "AI", "%", "+", "é"}
	for _, k := range tokenKinds {
		f = append(f, k.prefix, k.prefix)
	}
	return f
}()

func randTokenText(rng *rand.Rand) string {
	var b strings.Builder
	for range 1 + rng.IntN(6) {
		b.WriteString(tokenFrags[rng.IntN(len(tokenFrags))])
		if rng.IntN(2) == 0 {
			k := tokenKinds[rng.IntN(len(tokenKinds))]
			for range k.min + rng.IntN(3) - 1 {
				c := byte(rng.IntN(128))
				for !k.body(c) {
					c = byte(rng.IntN(128))
				}
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// TestTokenPreCheckNeverMisses: where findTokens finds a token, scanFlags
// (text), the string pre-check (escaped JSON) and scanJSONFlags (nested)
// let it through.
func TestTokenPreCheckNeverMisses(t *testing.T) {
	r := newDefault(t)
	rng := rand.New(rand.NewPCG(3, 4))
	const N = 300000
	var hits, miss int
	var first string
	for range N {
		s := randTokenText(rng)
		found := findTokens(r, nil, nil, []byte(s))
		if len(found) == 0 {
			continue
		}
		hits++
		q, _ := json.Marshal(s) // escaped as JSON writes it (\n, \", \u00e9…)
		checks := []bool{
			scanFlags([]byte(s), &r.keys.filter)&fToken != 0,
			scanFlags(q[1:len(q)-1], &r.keys.filter)&r.need != 0,
			scanJSONFlags([]byte(`{"m":`+string(q)+`}`), &r.keys.filter)&r.need != 0,
			scanJSONFlags([]byte(`[1,[`+string(q)+`]]`), &r.keys.filter)&r.need != 0,
		}
		for i, ok := range checks {
			if !ok {
				miss++
				if first == "" {
					first = string(q) + " check " + itoa(i)
				}
			}
		}
		// end to end
		out, _ := r.JSON(nil, []byte(`{"a":{"m":`+string(q)+`}}`))
		var doc struct{ A struct{ M string } }
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("invalid JSON out %s", out)
		}
		for _, sp := range found {
			if body := s[sp.start:sp.end]; strings.Contains(doc.A.M, body) {
				t.Errorf("token body %q left in %q -> %q", body, s, doc.A.M)
			}
		}
	}
	t.Logf("%d texts, %d with a token by findTokens; pre-check misses %d (first %s)", N, hits, miss, first)
	if miss > 0 {
		t.Errorf("token pre-check missed: %s", first)
	}
}

// FuzzPreCheck: for any text, a token or card the rules find is
// flagged by scanFlags, also when the text sits JSON-escaped in a nested
// object.
func FuzzPreCheck(f *testing.F) {
	f.Add("push ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 x")
	f.Add("xoxb-1234567890-abcdefghijklmnopq 4111 1111 1111 1111.0")
	f.Add("AIzaSyA-abcdefghijklmnopqrstuvwxyz0123456")
	r := newDefault(f)
	f.Fuzz(func(t *testing.T, s string) {
		tok := len(findTokens(r, nil, nil, []byte(s))) > 0
		sp, _ := findCards(nil, nil, []byte(s))
		flags := scanFlags([]byte(s), &r.keys.filter)
		if tok && flags&fToken == 0 {
			t.Fatalf("scanFlags misses the token in %q", s)
		}
		if len(sp) > 0 && flags&fCard == 0 {
			t.Fatalf("scanFlags misses the card in %q", s)
		}
		if tok || len(sp) > 0 {
			q, _ := json.Marshal(s)
			if scanJSONFlags([]byte(`{"a":[`+string(q)+`]}`), &r.keys.filter)&r.need == 0 {
				t.Fatalf("scanJSONFlags misses %s", q)
			}
		}
	})
}

// FuzzNumberPreCheck: for any JSON number whose value number()
// masks, worthLooking lets it through at the top level and scanJSONFlags
// flags it nested.
func FuzzNumberPreCheck(f *testing.F) {
	for _, n := range []string{"4.2e15", "4111111111111111.0", "41111111111111110e-1", "-4.111111111111111E+15"} {
		f.Add(n)
	}
	r := newDefault(f)
	f.Fuzz(func(t *testing.T, n string) {
		if !json.Valid([]byte(n)) || len(n) == 0 || n[0] != '-' && !isDigit(n[0]) {
			return
		}
		sc := r.get()
		_, cnt := r.number(sc, nil, []byte(n), keyPlain)
		r.put(sc)
		if cnt == 0 {
			return
		}
		if _, ok := r.worthLooking([]byte(n), keyPlain); !ok {
			t.Fatalf("worthLooking lets the card number %s through unmasked", n)
		}
		if scanJSONFlags([]byte(`{"a":`+n+`}`), &r.keys.filter)&fCard == 0 {
			t.Fatalf("scanJSONFlags misses the card number in {\"a\":%s}", n)
		}
	})
}
