package sample

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// event builds an event as the earlier stages would leave it.
func event(t testing.TB, level shipper.Level, trace shipper.TraceID, line string) shipper.Event {
	t.Helper()
	ev := shipper.Event{Raw: []byte(line), Level: level, TraceID: trace}
	if strings.HasPrefix(line, "{") {
		m, err := jsonscan.Members(nil, ev.Raw, 0)
		if err != nil {
			t.Fatalf("bad test line %s: %v", line, err)
		}
		ev.Doc.Members = m
	}
	return ev
}

func traceID(hi, lo uint64) shipper.TraceID {
	var t shipper.TraceID
	for i := 0; i < 8; i++ {
		t[i] = byte(hi >> (56 - 8*i))
		t[8+i] = byte(lo >> (56 - 8*i))
	}
	return t
}

func mustNew(t testing.TB, cfg Config) *Sampler {
	t.Helper()
	s, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func ratioConfig(r float64) Config {
	c := DefaultConfig()
	c.Ratio = r
	return c
}

// otelKeeps is an independent statement of the OpenTelemetry Go SDK's
// TraceIDRatioBased rule, in arbitrary precision and from the id's text:
// fractions >= 1 sample everything, fractions <= 0 nothing, otherwise a trace
// is sampled iff floor(last16hex / 2) < floor(fraction * 2^63).
func otelKeeps(ratio float64, id shipper.TraceID) bool {
	return otelKeepsX(otelBound(ratio), ratio, otelX(id))
}

// otelBound is floor(fraction * 2^63), exactly.
func otelBound(ratio float64) *big.Int {
	if ratio <= 0 || ratio >= 1 {
		return nil
	}
	b, _ := new(big.Float).SetMantExp(big.NewFloat(ratio), 63).Int(nil) // truncates
	return b
}

// otelX is floor(last16hex / 2) of the id's text.
func otelX(id shipper.TraceID) *big.Int {
	x, ok := new(big.Int).SetString(id.String()[16:], 16)
	if !ok {
		panic("bad id")
	}
	return x.Rsh(x, 1)
}

func otelKeepsX(bound *big.Int, ratio float64, x *big.Int) bool {
	switch {
	case ratio >= 1:
		return true
	case ratio <= 0:
		return false
	}
	return x.Cmp(bound) < 0
}

var testRatios = []float64{
	0, math.SmallestNonzeroFloat64, 0x1p-63, 0x1p-62, 1e-9, 1e-6, 0.001, 0.01, 0.1, 0.125, 1.0 / 3,
	0.5, 0.75, 0.9, 0.999999, math.Nextafter(1, 0), 1,
}

func TestRatioIsExactlyOpenTelemetryTraceIDRatioBased(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]shipper.TraceID, 0, 100_000+64)
	for range 100_000 {
		ids = append(ids, traceID(rng.Uint64(), rng.Uint64()))
	}
	// Ids on either side of each ratio's bound, where an off-by-one or a
	// rounding difference would show.
	for _, r := range testRatios {
		if r <= 0 || r >= 1 {
			continue
		}
		b := uint64(r * (1 << 63))
		for _, x := range []uint64{b - 1, b, b + 1} {
			if x < 1<<63 {
				ids = append(ids, traceID(1, x<<1), traceID(1, x<<1|1))
			}
		}
	}
	ids = append(ids, traceID(1, 0), traceID(1, math.MaxUint64), traceID(math.MaxUint64, 0))
	xs := make([]*big.Int, len(ids))
	tmpl := make([]shipper.Event, len(ids))
	for i, id := range ids {
		xs[i] = otelX(id)
		tmpl[i] = event(t, shipper.LevelInfo, id, `{"message":"x"}`)
	}
	for _, r := range testRatios {
		t.Run(strconv.FormatFloat(r, 'g', -1, 64), func(t *testing.T) {
			s := mustNew(t, ratioConfig(r))
			b := &shipper.Batch{Events: append([]shipper.Event(nil), tmpl...)}
			s.Process(b)
			bound := otelBound(r)
			kept := 0
			for i, id := range ids {
				ev := &b.Events[i]
				want := otelKeepsX(bound, r, xs[i])
				if got := ev.Drop == ""; got != want {
					t.Fatalf("trace %s at ratio %v: kept=%v, OpenTelemetry keeps=%v", id, r, got, want)
				}
				if want {
					kept++
					wantRatio := r
					if r >= 1 {
						wantRatio = 0 // not written: not subject to a ratio
					}
					if ev.SampleRatio != wantRatio {
						t.Fatalf("kept event's SampleRatio = %v, want %v", ev.SampleRatio, wantRatio)
					}
				} else if ev.Drop != DropRatio {
					t.Fatalf("Drop = %q, want %q", ev.Drop, DropRatio)
				}
			}
			// The share kept of the random ids is the ratio.
			share := float64(kept) / float64(len(ids))
			if math.Abs(share-r) > 0.01 {
				t.Errorf("kept %.4f of traces at ratio %v", share, r)
			}
		})
	}
}

func TestThresholdSpecialCasesFollowTheSDK(t *testing.T) {
	for _, tc := range []struct {
		ratio float64
		all   bool
		bound uint64
	}{
		{1, true, 0}, {1.5, true, 0}, {math.Inf(1), true, 0},
		{0, false, 0}, {-0.5, false, 0}, {math.Inf(-1), false, 0}, {math.NaN(), false, 0},
		{0.5, false, 1 << 62}, {0.25, false, 1 << 61},
	} {
		got := newThreshold(tc.ratio)
		if got.all != tc.all || got.bound != tc.bound {
			t.Errorf("newThreshold(%v) = %+v, want all=%v bound=%#x", tc.ratio, got, tc.all, tc.bound)
		}
	}
	// Ratio 0 keeps nothing, not even the smallest id.
	zero := traceID(0, 1) // a valid id whose low half is 1
	if newThreshold(0).keepTrace(&zero) {
		t.Error("ratio 0 kept a trace")
	}
}

// TestLineHashIsStable pins the hash of untraced lines: CRC-32C (the
// iSCSI polynomial, whatever the CPU) and length, through fmix64. Changing
// it changes which untraced lines every agent keeps.
func TestLineHashIsStable(t *testing.T) {
	for _, tc := range []struct {
		line string
		crc  uint32 // CRC-32C check values from RFC 3720 B.4 and others
	}{
		{"", 0},
		{"123456789", 0xe3069283},
		{string(make([]byte, 32)), 0x8a9136aa},
	} {
		want := mix64(uint64(tc.crc) | uint64(len(tc.line))<<32)
		if got := lineHash([]byte(tc.line)); got != want {
			t.Errorf("lineHash(%.20q) = %#x, want %#x", tc.line, got, want)
		}
	}
	if got := mix64(1); got != 0xb456bcfc34c2cb2c {
		t.Errorf("mix64(1) = %#x, want murmur3 fmix64's 0xb456bcfc34c2cb2c", got)
	}
}

func TestEventsWithoutTraceAreSampledByLineAtTheRatio(t *testing.T) {
	s := mustNew(t, ratioConfig(0.1))
	b := &shipper.Batch{}
	const n = 100_000
	for i := range n {
		b.Events = append(b.Events, event(t, shipper.LevelInfo, shipper.TraceID{},
			fmt.Sprintf(`{"message":"request %d served","n":%d}`, i, i)))
	}
	s.Process(b)
	kept := 0
	for i := range b.Events {
		if b.Events[i].Drop == "" {
			kept++
			if b.Events[i].SampleRatio != 0.1 {
				t.Fatalf("SampleRatio = %v, want 0.1", b.Events[i].SampleRatio)
			}
		}
	}
	if share := float64(kept) / n; math.Abs(share-0.1) > 0.005 {
		t.Errorf("kept %.4f of untraced lines at ratio 0.1", share)
	}
	// The same line is decided the same way by another sampler (another
	// process, a restart, a dry-run).
	s2 := mustNew(t, ratioConfig(0.1))
	b2 := &shipper.Batch{}
	for i := range b.Events {
		b2.Events = append(b2.Events, event(t, shipper.LevelInfo, shipper.TraceID{}, string(b.Events[i].Raw)))
	}
	s2.Process(b2)
	for i := range b.Events {
		if b.Events[i].Drop != b2.Events[i].Drop {
			t.Fatalf("line %d decided differently by a second sampler", i)
		}
	}
}

// TestDecisionsAreStableAcrossVersions pins the decisions for fixed lines in
// a golden file: a change of hash or rule would change what a dry-run or a
// restarted agent keeps. Run with -update to rewrite it after a deliberate
// change.
func TestDecisionsAreStableAcrossVersions(t *testing.T) {
	s := mustNew(t, ratioConfig(0.3))
	b := &shipper.Batch{}
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 40 {
		var id shipper.TraceID
		if i%2 == 0 {
			id = traceID(rng.Uint64(), rng.Uint64())
		}
		b.Events = append(b.Events, event(t, shipper.LevelInfo, id, fmt.Sprintf(`{"message":"line %d"}`, i)))
	}
	s.Process(b)
	var out strings.Builder
	for i := range b.Events {
		ev := &b.Events[i]
		fate := "keep"
		if ev.Drop != "" {
			fate = "drop"
		}
		id := "-"
		if !ev.TraceID.IsZero() {
			id = ev.TraceID.String()
		}
		fmt.Fprintf(&out, "%s %s %s\n", fate, id, ev.Raw)
	}
	golden := filepath.Join("testdata", "decisions.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if out.String() != string(want) {
		t.Errorf("decisions changed:\n got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestNoTraceIsPartlyKeptAcrossBatchesAndWorkers(t *testing.T) {
	s := mustNew(t, ratioConfig(0.1))
	rng := rand.New(rand.NewPCG(3, 4))
	traces := make([]shipper.TraceID, 2000)
	for i := range traces {
		traces[i] = traceID(rng.Uint64(), rng.Uint64())
	}
	// 8 workers, each processing batches holding some lines of every trace.
	const workers, batches, perBatch = 8, 10, 200
	var mu sync.Mutex
	fate := map[shipper.TraceID]map[bool]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for range batches {
				b := &shipper.Batch{}
				for range perBatch {
					id := traces[r.IntN(len(traces))]
					b.Events = append(b.Events, event(t, shipper.LevelInfo, id, fmt.Sprintf(`{"message":"m%d"}`, r.Int())))
				}
				s.Process(b)
				mu.Lock()
				for i := range b.Events {
					ev := &b.Events[i]
					if fate[ev.TraceID] == nil {
						fate[ev.TraceID] = map[bool]int{}
					}
					fate[ev.TraceID][ev.Drop == ""]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	kept := 0
	for id, f := range fate {
		if len(f) != 1 {
			t.Fatalf("trace %s partly kept: %d kept, %d dropped", id, f[true], f[false])
		}
		if f[true] > 0 {
			kept++
		}
	}
	if share := float64(kept) / float64(len(fate)); share < 0.07 || share > 0.13 {
		t.Errorf("kept %.3f of traces at ratio 0.1", share)
	}
}

func TestAlwaysKeepLevels(t *testing.T) {
	cfg := ratioConfig(0)
	cfg.AlwaysKeepLevels = []string{"error", "fatal"}
	s := mustNew(t, cfg)
	id := traceID(5, 5)
	b := &shipper.Batch{}
	for l := shipper.LevelUnknown; l <= shipper.LevelFatal; l++ {
		b.Events = append(b.Events, event(t, l, id, `{"message":"x"}`))
	}
	s.Process(b)
	for i := range b.Events {
		ev := &b.Events[i]
		want := ev.Level == shipper.LevelError || ev.Level == shipper.LevelFatal
		if got := ev.Drop == ""; got != want {
			t.Errorf("level %q: kept=%v, want %v", ev.Level, got, want)
		}
		if ev.SampleRatio != 0 {
			t.Errorf("level %q: SampleRatio = %v; an always-kept event is not sampled", ev.Level, ev.SampleRatio)
		}
	}
	if st := s.Stats(); st.KeptLevel != 2 || st.DroppedRatio != 5 || st.Seen != 7 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestRespectParentSampled(t *testing.T) {
	for _, respect := range []bool{false, true} {
		cfg := ratioConfig(0)
		cfg.RespectParentSampled = respect
		s := mustNew(t, cfg)
		b := &shipper.Batch{}
		for _, sampled := range []shipper.Sampled{shipper.SampledUnknown, shipper.SampledYes, shipper.SampledNo} {
			ev := event(t, shipper.LevelInfo, traceID(1, 1), `{"message":"x"}`)
			ev.Sampled = sampled
			b.Events = append(b.Events, ev)
		}
		s.Process(b)
		for i := range b.Events {
			ev := &b.Events[i]
			want := respect && ev.Sampled == shipper.SampledYes
			if got := ev.Drop == ""; got != want {
				t.Errorf("respect=%v sampled=%d: kept=%v, want %v", respect, ev.Sampled, got, want)
			}
		}
	}
}

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }

func TestRules(t *testing.T) {
	lines := map[string]string{
		"health":  `{"message":"ok","http":{"path":"/healthz"}}`,
		"dotted":  `{"message":"ok","http.path":"/healthz"}`,
		"api":     `{"message":"ok","http":{"path":"/api/v1/pay"},"status":200}`,
		"status":  `{"message":"ok","status":503}`,
		"escaped": `{"message":"ok","user":"al\u0069ce"}`,
		"null":    `{"message":"ok","user":null}`,
		"plain":   `{"message":"ok"}`,
	}
	names := []string{"health", "dotted", "api", "status", "escaped", "null", "plain"}
	for _, tc := range []struct {
		name  string
		rules []Rule
		level shipper.Level
		kept  string // names kept, in names order
	}{
		{"equals on nested and dotted keys", []Rule{{When: Condition{Field: "http.path", Equals: strp("/healthz")}}}, shipper.LevelInfo,
			"api status escaped null plain"},
		{"prefix", []Rule{{When: Condition{Field: "http.path", Prefix: strp("/api/")}}}, shipper.LevelInfo,
			"health dotted status escaped null plain"},
		{"in matches numbers by their text", []Rule{{When: Condition{Field: "status", In: []string{"500", "503"}}}}, shipper.LevelInfo,
			"health dotted api escaped null plain"},
		{"exists true, null is absent", []Rule{{When: Condition{Field: "user", Exists: boolp(true)}}}, shipper.LevelInfo,
			"health dotted api status null plain"},
		{"exists false", []Rule{{When: Condition{Field: "user", Exists: boolp(false)}}}, shipper.LevelInfo,
			"escaped"},
		{"equals decodes escapes", []Rule{{When: Condition{Field: "user", Equals: strp("alice")}}}, shipper.LevelInfo,
			"health dotted api status null plain"},
		{"regex", []Rule{{When: Condition{Field: "http.path", Regex: strp(`^/api/v\d+/`)}}}, shipper.LevelInfo,
			"health dotted status escaped null plain"},
		{"typed field log.level", []Rule{{When: Condition{Field: "log.level", Equals: strp("debug")}}}, shipper.LevelDebug,
			""},
		{"typed field does not match another level", []Rule{{When: Condition{Field: "log.level", Equals: strp("debug")}}}, shipper.LevelInfo,
			"health dotted api status escaped null plain"},
		{"first match wins", []Rule{
			{When: Condition{Field: "http.path", Prefix: strp("/")}, Ratio: 1},
			{When: Condition{Field: "message", Exists: boolp(true)}},
		}, shipper.LevelInfo, "health dotted api"},
		{"rules sharing a field", []Rule{
			{When: Condition{Field: "http.path", Equals: strp("/healthz")}, Ratio: 1},
			{When: Condition{Field: "http.path", Prefix: strp("/")}},
		}, shipper.LevelInfo, "health dotted status escaped null plain"},
		{"rules sharing an escaped field", []Rule{
			{When: Condition{Field: "user", Regex: strp("^bob")}, Ratio: 1},
			{When: Condition{Field: "user", Equals: strp("alice")}},
		}, shipper.LevelInfo, "health dotted api status null plain"},
		{"rules sharing trace.id", []Rule{
			{When: Condition{Field: "trace.id", Prefix: strp("ff")}, Ratio: 1},
			{When: Condition{Field: "trace.id", Equals: strp("00000000000000010000000000000001")}},
		}, shipper.LevelInfo, ""},
		{"always_keep_levels beat rules", []Rule{{When: Condition{Field: "message", Exists: boolp(true)}}}, shipper.LevelError,
			"health dotted api status escaped null plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig() // ratio 1: only rules drop
			cfg.Rules = tc.rules
			s := mustNew(t, cfg)
			b := &shipper.Batch{}
			for _, n := range names {
				b.Events = append(b.Events, event(t, tc.level, traceID(1, 1), lines[n]))
			}
			s.Process(b)
			var kept []string
			for i, n := range names {
				ev := &b.Events[i]
				if ev.Drop == "" {
					kept = append(kept, n)
				} else if !strings.HasPrefix(ev.Drop, "sample.rule[") {
					t.Errorf("%s: Drop = %q", n, ev.Drop)
				}
			}
			if got := strings.Join(kept, " "); got != tc.kept {
				t.Errorf("kept %q, want %q", got, tc.kept)
			}
		})
	}
}

func TestRuleRatioIsTraceConsistentAndRecorded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rules = []Rule{
		{When: Condition{Field: "service.name", Equals: strp("checkout")}, Ratio: 0.25},
		{When: Condition{Field: "trace.id", Equals: strp("00000000000000010000000000000002")}, Ratio: 0},
	}
	s := mustNew(t, cfg)
	rng := rand.New(rand.NewPCG(5, 6))
	b := &shipper.Batch{}
	for range 20_000 {
		ev := event(t, shipper.LevelInfo, traceID(rng.Uint64(), rng.Uint64()), `{"message":"x"}`)
		ev.Service = "checkout"
		b.Events = append(b.Events, ev)
	}
	b.Events = append(b.Events, event(t, shipper.LevelInfo, traceID(1, 2), `{"message":"x"}`))
	s.Process(b)
	kept := 0
	for i := range b.Events[:20_000] {
		ev := &b.Events[i]
		if want := otelKeeps(0.25, ev.TraceID); want != (ev.Drop == "") {
			t.Fatalf("rule ratio 0.25 disagrees with OpenTelemetry for %s", ev.TraceID)
		}
		if ev.Drop == "" {
			kept++
			if ev.SampleRatio != 0.25 {
				t.Fatalf("SampleRatio = %v, want the rule's 0.25", ev.SampleRatio)
			}
		} else if ev.Drop != "sample.rule[0]" {
			t.Fatalf("Drop = %q, want sample.rule[0]", ev.Drop)
		}
	}
	if last := b.Events[len(b.Events)-1]; last.Drop != "sample.rule[1]" {
		t.Errorf("trace.id rule: Drop = %q, want sample.rule[1]", last.Drop)
	}
	st := s.Stats()
	if st.DroppedRule[0] != uint64(20_000-kept) || st.DroppedRule[1] != 1 {
		t.Errorf("DroppedRule = %v, want [%d 1]", st.DroppedRule, 20_000-kept)
	}
}

func TestEventsDroppedEarlierAreLeftAlone(t *testing.T) {
	s := mustNew(t, ratioConfig(0))
	b := &shipper.Batch{Events: []shipper.Event{event(t, shipper.LevelInfo, traceID(1, 1), `{}`)}}
	b.Events[0].Drop = "parse.filtered"
	s.Process(b)
	if b.Events[0].Drop != "parse.filtered" {
		t.Errorf("Drop = %q, want the earlier stage's reason", b.Events[0].Drop)
	}
	if st := s.Stats(); st.Seen != 0 {
		t.Errorf("Seen = %d, want 0", st.Seen)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string // "path: message fragment"
	}{
		{"defaults are valid", func(*Config) {}, nil},
		{"ratio out of range", func(c *Config) { c.Ratio = 1.5 }, []string{"ratio: must be between 0 and 1"}},
		{"ratio NaN", func(c *Config) { c.Ratio = math.NaN() }, []string{"ratio: must be between 0 and 1"}},
		{"unknown level lists the allowed ones", func(c *Config) { c.AlwaysKeepLevels = []string{"warn", "critical"} },
			[]string{`always_keep_levels[1]: unknown level "critical": must be one of trace, debug, info, warn, error, fatal`}},
		{"rule problems are all reported", func(c *Config) {
			c.Rules = []Rule{
				{When: Condition{Field: "a", Equals: strp("x")}, Ratio: 0.5},
				{When: Condition{Field: "", Regex: strp("(")}, Ratio: -1},
				{When: Condition{Field: "b", Equals: strp("x"), Prefix: strp("y")}},
				{When: Condition{Field: "c", In: []string{}}},
			}
		}, []string{
			"rules[1].ratio: must be between 0 and 1",
			"rules[1].when.field: must name a field",
			"rules[1].when.regex: invalid regular expression",
			"rules[2].when: must have exactly one of equals, in, prefix, exists, regex; has 2",
			"rules[3].when.in: must list at least one value",
		}},
		{"rate_limit", func(c *Config) {
			rl := DefaultRateLimit()
			rl.EventsPerSecond, rl.Burst, rl.Key, rl.SummaryInterval, rl.MaxKeys = 0, 0, "", 0, 0
			c.RateLimit = &rl
		}, []string{
			"rate_limit.events_per_second: must be a number above 0",
			"rate_limit.burst: must be at least 1",
			"rate_limit.key: must name a field",
			"rate_limit.summary_interval: must be above 0",
			"rate_limit.max_keys: must be at least 1",
		}},
		{"keep_trace_on_error", func(c *Config) {
			k := KeepTraceOnError{}
			c.KeepTraceOnError = &k
			c.AlwaysKeepLevels = nil
		}, []string{
			"keep_trace_on_error.window: must be above 0",
			"keep_trace_on_error.max_traces: must be at least 1",
			"keep_trace_on_error.max_events: must be at least 1",
			"keep_trace_on_error.max_bytes: must be at least 1",
			"keep_trace_on_error: needs always_keep_levels",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			before := fmt.Sprintf("%+v", c)
			err := c.Validate()
			if after := fmt.Sprintf("%+v", c); after != before {
				t.Errorf("Validate modified the config")
			}
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var fe *shipper.FieldError
					if !errors.As(e, &fe) {
						t.Fatalf("error %v is not a *shipper.FieldError", e)
					}
					got = append(got, fe.Error())
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Validate() = %q, want %d problems %q", got, len(tc.want), tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("problem %d = %q, want prefix %q", i, got[i], tc.want[i])
				}
			}
		})
	}
	if _, err := New(Config{Ratio: 2}, nil, nil); err == nil {
		t.Error("New accepted an invalid configuration")
	}
}

func TestDefaultSubsectionsAreValid(t *testing.T) {
	c := DefaultConfig()
	rl, k := DefaultRateLimit(), DefaultKeepTraceOnError()
	c.RateLimit, c.KeepTraceOnError = &rl, &k
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
