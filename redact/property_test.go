package redact

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

// plainKeys are keys no rule looks at.
var plainKeys = []string{"level", "msg", "caller", "service", "status", "method", "path", "user_id", "duration_ms", "region", "count", "items", "host"}

// randPlain returns a random JSON value that holds nothing to redact:
// words, short numbers, ids, timestamps, nested objects and arrays.
func randPlain(rng *rand.Rand, depth int) string {
	switch k := rng.IntN(10); {
	case k < 4:
		words := []string{"request", "completed", "order", "shipped", "eu-west-1", "GET", "/api/v1/orders/8812", "10.0.0.1:8080", "v1.2.3", "2024-11-22T10:30:00Z", "u-829134", "OK", "retry", "#42", "ratio=0.5"}
		var parts []string
		for range rng.IntN(6) + 1 {
			parts = append(parts, words[rng.IntN(len(words))])
		}
		return strconv.Quote(strings.Join(parts, " "))
	case k < 6:
		switch rng.IntN(4) {
		case 0:
			return strconv.Itoa(rng.IntN(1e6))
		case 1:
			return "17322900" + strconv.Itoa(10000+rng.IntN(89999)) // epoch ms
		case 2:
			return strconv.FormatFloat(rng.Float64()*1000, 'f', -1, 64)
		default:
			return `"` + strconv.FormatUint(rng.Uint64()|1<<63, 16) + `"` // hex id
		}
	case k < 8 && depth < 4:
		var b strings.Builder
		b.WriteByte('{')
		for i := range rng.IntN(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(plainKeys[rng.IntN(len(plainKeys))] + strconv.Itoa(i)))
			b.WriteByte(':')
			b.WriteString(randPlain(rng, depth+1))
		}
		b.WriteByte('}')
		return b.String()
	case k < 9 && depth < 4:
		var parts []string
		for range rng.IntN(4) {
			parts = append(parts, randPlain(rng, depth+1))
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		return []string{"true", "false", "null"}[rng.IntN(3)]
	}
}

func randDoc(rng *rand.Rand) []string {
	var members []string
	for i := range rng.IntN(8) + 1 {
		members = append(members, strconv.Quote(plainKeys[rng.IntN(len(plainKeys))]+strconv.Itoa(i))+":"+randPlain(rng, 0))
	}
	return members
}

func TestPropertyPlainDocumentsUntouched(t *testing.T) {
	r := newDefault(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		line := "{" + strings.Join(randDoc(rng), ",") + "}"
		out, tags := processLine(t, r, line)
		if out != line || tags != 0 {
			t.Fatalf("plain document changed:\n in: %s\nout: %s", line, out)
		}
	}
}

func TestPropertyOnlyTheCardChanges(t *testing.T) {
	r := newDefault(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		members := randDoc(rng)
		c := testCards[rng.IntN(len(testCards))]
		pan := group(c.pan, []string{"", " ", "-"}[rng.IntN(3)])
		at := rng.IntN(len(members) + 1)
		cardMember := `"note":"card ` + pan + ` used"`
		members = append(members[:at], append([]string{cardMember}, members[at:]...)...)
		line := "{" + strings.Join(members, ",") + "}"

		raw := []byte(line)
		ms, err := jsonscan.Members(nil, raw, 0)
		if err != nil {
			t.Fatal(err)
		}
		orig := append([]shipper.Member(nil), ms...)
		b := &shipper.Batch{Events: []shipper.Event{{Raw: raw, Doc: shipper.Doc{Members: ms}}}}
		r.Process(b)
		got := b.Events[0].Doc.Members
		for i := range got {
			changed := string(got[i].Value) != string(orig[i].Value)
			if changed != (i == at) {
				t.Fatalf("member %d changed=%v (card at %d):\n in: %s\nout: %s", i, changed, at, line, docString(b.Events[0].Doc))
			}
		}
		if strings.Contains(string(got[at].Value), pan) {
			t.Fatalf("card left: %s", got[at].Value)
		}
	}
}

// TestConcurrentUse runs Process, Text and JSON from several goroutines on
// one Redactor (run with -race) and checks the counters add up.
func TestConcurrentUse(t *testing.T) {
	r := newDefault(t)
	const workers, rounds = 4, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				line := `{"w":` + strconv.Itoa(w) + `,"i":` + strconv.Itoa(i) + `,"card":"4111111111111111","password":"x"}`
				out, _ := processLine(t, r, line)
				if strings.Contains(out, "4111111111111111") || strings.Contains(out, `"x"`) {
					t.Errorf("leak: %s", out)
				}
				if got := string(r.Text(nil, []byte("pan 5555555555554444"))); got != "pan ************4444" {
					t.Errorf("Text: %s", got)
				}
			}
		}()
	}
	wg.Wait()
	st := r.Stats()
	if st.Events != workers*rounds || st.Redactions["cards"] != 2*workers*rounds || st.Redactions["keys"] != workers*rounds {
		t.Errorf("stats: %+v", st)
	}
}
