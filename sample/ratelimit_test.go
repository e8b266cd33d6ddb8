package sample

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/traceship/shipper"
)

func rateConfig(eps float64, burst int) Config {
	c := DefaultConfig()
	rl := DefaultRateLimit()
	rl.EventsPerSecond, rl.Burst = eps, burst
	c.RateLimit = &rl
	return c
}

// serviceBatch is n info events of each service, in turn.
func serviceBatch(t testing.TB, n int, services ...string) *shipper.Batch {
	b := &shipper.Batch{}
	for i := range n {
		for _, svc := range services {
			ev := event(t, shipper.LevelInfo, shipper.TraceID{}, fmt.Sprintf(`{"message":"%s %d"}`, svc, i))
			ev.Service = svc
			b.Events = append(b.Events, ev)
		}
	}
	return b
}

// keptBy counts the kept events of b per service, leaving out summaries.
func keptBy(b *shipper.Batch) map[string]int {
	out := map[string]int{}
	for i := range b.Events {
		ev := &b.Events[i]
		if _, ok := ev.Doc.Get("tags"); ok {
			continue
		}
		switch ev.Drop {
		case "":
			out[ev.Service]++
		case DropRateLimit:
		default:
			panic("unexpected drop " + ev.Drop)
		}
	}
	return out
}

func TestRateLimitIsATokenBucketPerKey(t *testing.T) {
	clock := newFakeClock()
	s := newSampler(t, rateConfig(10, 5), clock)

	// A burst: 5 events per service pass, the rest is dropped.
	b := serviceBatch(t, 20, "checkout", "search")
	s.Process(b)
	if got := keptBy(b); got["checkout"] != 5 || got["search"] != 5 {
		t.Fatalf("first burst kept %v, want 5 each", got)
	}
	// 0.3s refill 3 tokens.
	clock.Advance(300 * time.Millisecond)
	b = serviceBatch(t, 20, "checkout")
	s.Process(b)
	if got := keptBy(b)["checkout"]; got != 3 {
		t.Fatalf("after 0.3s at 10/s kept %d, want 3", got)
	}
	// A long quiet spell refills to burst, not beyond.
	clock.Advance(time.Hour)
	b = serviceBatch(t, 20, "checkout")
	s.Process(b)
	if got := keptBy(b)["checkout"]; got != 5 {
		t.Fatalf("after an hour kept %d, want the burst of 5", got)
	}
	st := s.Stats()
	if st.DroppedRateLimit != 15+15+17+15 {
		t.Errorf("DroppedRateLimit = %d, want %d", st.DroppedRateLimit, 15+15+17+15)
	}
	if st.DroppedRateLimitByKey["checkout"] != 15+17+15 || st.DroppedRateLimitByKey["search"] != 15 {
		t.Errorf("DroppedRateLimitByKey = %v", st.DroppedRateLimitByKey)
	}
}

func TestRateLimitCountsOnlyWhatSamplingKept(t *testing.T) {
	clock := newFakeClock()
	cfg := rateConfig(1, 1)
	cfg.Rules = []Rule{{When: Condition{Field: "message", Prefix: strp("checkout 1")}, Ratio: 0}}
	s := newSampler(t, cfg, clock)
	b := serviceBatch(t, 3, "checkout")
	s.Process(b)
	// "checkout 0" takes the token, "checkout 1" is dropped by the rule
	// (not by the limiter), "checkout 2" finds the bucket empty.
	var got []string
	for i := range b.Events {
		got = append(got, b.Events[i].Drop)
	}
	if want := []string{"", "sample.rule[0]", DropRateLimit}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("drops %q, want %q", got, want)
	}
}

func TestRateLimitSummaryEvents(t *testing.T) {
	clock := newFakeClock()
	s := newSampler(t, rateConfig(10, 5), clock)
	s.Tick(clock.Now()) // the first summary interval starts
	b := serviceBatch(t, 20, "checkout", "search")
	s.Process(b)
	b = serviceBatch(t, 3, "search")
	s.Process(b)

	// Nothing is reported before the interval ends.
	s.Tick(clock.Advance(10*time.Second - time.Nanosecond))
	b = &shipper.Batch{}
	s.Process(b)
	if len(b.Events) != 0 {
		t.Fatalf("a summary before the interval ended: %d events", len(b.Events))
	}

	now := clock.Advance(time.Nanosecond)
	s.Tick(now)
	b = serviceBatch(t, 1, "checkout")
	s.Process(b)
	if len(b.Events) != 3 {
		t.Fatalf("batch after the interval has %d events, want 1 + 2 summaries", len(b.Events))
	}
	ids := map[string]bool{}
	got := map[string]string{}
	for _, ev := range b.Events[1:] {
		if ev.Ack != nil || ev.Source.File != nil || ev.Drop != "" {
			t.Errorf("summary has Ack %v, File %v, Drop %q", ev.Ack, ev.Source.File, ev.Drop)
		}
		id := string(shipper.AppendID(nil, &ev))
		if ids[id] {
			t.Errorf("two summaries share the _id %s", id)
		}
		ids[id] = true
		doc := string(shipper.AppendSource(nil, &ev))
		var m struct {
			Timestamp time.Time `json:"@timestamp"`
			Message   string
			Log       struct{ Level string }
			Service   struct{ Name string }
			Tags      []string
			Sample    struct {
				RateLimit struct {
					Key             string
					Value           string
					Dropped         int
					IntervalSeconds float64 `json:"interval_seconds"`
				} `json:"rate_limit"`
			}
		}
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("summary document is not JSON: %v\n%s", err, doc)
		}
		if !m.Timestamp.Equal(now) || m.Log.Level != "warn" || fmt.Sprint(m.Tags) != "["+SummaryTag+"]" ||
			m.Sample.RateLimit.Key != "service.name" || m.Sample.RateLimit.Value != m.Service.Name ||
			m.Sample.RateLimit.IntervalSeconds != 10 {
			t.Errorf("summary document %s", doc)
		}
		if !strings.HasPrefix(m.Message, fmt.Sprintf("%d events dropped by rate limit", m.Sample.RateLimit.Dropped)) {
			t.Errorf("message %q", m.Message)
		}
		got[m.Service.Name] = fmt.Sprint(m.Sample.RateLimit.Dropped)
	}
	if fmt.Sprint(got) != "map[checkout:15 search:18]" {
		t.Errorf("summaries report %v", got)
	}
	if st := s.Stats(); st.RateLimitSummaries != 2 {
		t.Errorf("RateLimitSummaries = %d", st.RateLimitSummaries)
	}

	// A quiet interval reports nothing.
	s.Tick(clock.Advance(10 * time.Second))
	b = &shipper.Batch{}
	s.Process(b)
	if len(b.Events) != 0 {
		t.Errorf("%d summaries after an interval without drops", len(b.Events))
	}
}

func TestRateLimitBoundsItsKeys(t *testing.T) {
	clock := newFakeClock()
	cfg := rateConfig(1, 1)
	cfg.RateLimit.MaxKeys = 2
	s := newSampler(t, cfg, clock)
	b := serviceBatch(t, 2, "a", "b", "c", "d")
	s.Process(b)
	// a and b have their own buckets; c and d share the overflow bucket.
	if got := keptBy(b); fmt.Sprint(got) != "map[a:1 b:1 c:1]" {
		t.Errorf("kept %v", got)
	}
	if got := s.Stats().DroppedRateLimitByKey; fmt.Sprint(got) != "map[_other:3 a:1 b:1]" {
		t.Errorf("DroppedRateLimitByKey = %v", got)
	}
	// Full buckets are forgotten at the end of an interval: new keys get
	// their own again.
	clock.Advance(time.Minute)
	s.Tick(clock.Now())
	b = serviceBatch(t, 1, "e", "f")
	s.Process(b)
	if got := s.Stats().DroppedRateLimitByKey; fmt.Sprint(got) != "map[_other:3 a:1 b:1]" {
		t.Errorf("after the interval DroppedRateLimitByKey = %v", got)
	}
}

func TestRateLimitKeyFromApplicationField(t *testing.T) {
	clock := newFakeClock()
	cfg := rateConfig(1, 1)
	cfg.RateLimit.Key = "tenant"
	s := newSampler(t, cfg, clock)
	b := &shipper.Batch{}
	for _, l := range []string{`{"tenant":"x"}`, `{"tenant":"y"}`, `{"tenant":"x"}`, `{}`, `{"tenant":null}`} {
		b.Events = append(b.Events, event(t, shipper.LevelInfo, shipper.TraceID{}, l))
	}
	s.Process(b)
	var got []string
	for i := range b.Events {
		got = append(got, b.Events[i].Drop)
	}
	// Events without the key share one bucket.
	if want := []string{"", "", DropRateLimit, "", DropRateLimit}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("drops %q, want %q", got, want)
	}
}
