package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/traceship/shipper"
	"github.com/traceship/shipper/internal/jsonscan"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var day = time.Date(2024, 3, 9, 23, 59, 59, 0, time.UTC)

func docEvent(t *testing.T, line string) shipper.Event {
	t.Helper()
	members, err := jsonscan.Members(nil, []byte(line), 64)
	if err != nil {
		t.Fatalf("test line %s: %v", line, err)
	}
	return shipper.Event{Time: day, Doc: shipper.Doc{Members: members}}
}

func TestName(t *testing.T) {
	tests := []struct {
		name, pattern string
		ev            shipper.Event
		want          string
	}{
		{"default", DefaultPattern, shipper.Event{Time: day, Service: "checkout"}, "shipper-checkout-2024.03.09"},
		{"missing service falls back", DefaultPattern, shipper.Event{Time: day}, "shipper-unknown-2024.03.09"},
		{"lower-cased", DefaultPattern, shipper.Event{Time: day, Service: "Check Out"}, "shipper-check_out-2024.03.09"},
		{"forbidden characters replaced", DefaultPattern, shipper.Event{Time: day, Service: `a\b/c*d?e"f<g>h|i,j#k:l`}, "shipper-a_b_c_d_e_f_g_h_i_j_k_l-2024.03.09"},
		{"non-ASCII lower-cased", DefaultPattern, shipper.Event{Time: day, Service: "ZAHLUNG-Ä"}, "shipper-zahlung-ä-2024.03.09"},
		{"invalid UTF-8 replaced", DefaultPattern, shipper.Event{Time: day, Service: "a\xffb"}, "shipper-a_b-2024.03.09"},
		{"time in UTC, not local", DefaultPattern, shipper.Event{Time: time.Date(2024, 3, 10, 1, 0, 0, 0, time.FixedZone("CET", 2*3600)), Service: "s"}, "shipper-s-2024.03.09"},
		{"read time when no time", DefaultPattern, shipper.Event{ReadTime: day, Service: "s"}, "shipper-s-2024.03.09"},
		{"before 1970", "x-%{+yyyy.MM.dd}", shipper.Event{Time: time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC)}, "x-1969.12.31"},
		{"hourly", "x-%{+yyyy.MM.dd.HH}", shipper.Event{Time: day}, "x-2024.03.09.23"},
		{"YYYY like Logstash configs", "x-%{+YYYY.MM}", shipper.Event{Time: day}, "x-2024.03"},
		{"two-digit year", "x-%{+yy}", shipper.Event{Time: day}, "x-24"},
		{"ISO week", "x-%{+xxxx.ww}", shipper.Event{Time: time.Date(2021, 1, 3, 0, 0, 0, 0, time.UTC)}, "x-2020.53"},
		{"quoted letters", "x-%{+yyyy'w'ww}", shipper.Event{Time: day}, "x-2024w10"},
		{"no date", "x-%{[service.name]}", shipper.Event{Time: day, Service: "s"}, "x-s"},
		{"bracket path", "x-%{[service][name]}", shipper.Event{Time: day, Service: "s"}, "x-s"},
		{"bare path", "x-%{service.name}", shipper.Event{Time: day, Service: "s"}, "x-s"},
		{"host", "x-%{[host.name]}", shipper.Event{Time: day, Host: "Node-1"}, "x-node-1"},
		{"level", "x-%{[log.level]}", shipper.Event{Time: day, Level: shipper.LevelWarn}, "x-warn"},
		{"missing level", "x-%{[log.level]}", shipper.Event{Time: day}, "x-unknown"},
		{"namespace", "x-%{[kubernetes.namespace]}", shipper.Event{Time: day, Kube: &shipper.Kubernetes{Namespace: "prod"}}, "x-prod"},
		{"namespace without kube", "x-%{[kubernetes.namespace]}", shipper.Event{Time: day}, "x-unknown"},
		{"doc field", "x-%{[app.team]}", docEvent(t, `{"app":{"team":"Payments"}}`), "x-payments"},
		{"doc field dotted key", "x-%{[app.team]}", docEvent(t, `{"app.team":"pay"}`), "x-pay"},
		{"doc field escaped", "x-%{[team]}", docEvent(t, `{"team":"p\u0041y"}`), "x-pay"},
		{"doc number", "x-%{[shard]}", docEvent(t, `{"shard":12}`), "x-12"},
		{"doc bool", "x-%{[b]}", docEvent(t, `{"b":true}`), "x-true"},
		{"doc object falls back", "x-%{[app]}", docEvent(t, `{"app":{"team":"p"}}`), "x-unknown"},
		{"doc null falls back", "x-%{[app]}", docEvent(t, `{"app":null}`), "x-unknown"},
		{"doc empty string falls back", "x-%{[app]}", docEvent(t, `{"app":""}`), "x-unknown"},
		{"service from doc when the agent set none", "x-%{[service.name]}", docEvent(t, `{"service":{"name":"Inv"}}`), "x-inv"},
		{"leading characters stripped at the start", "%{[service.name]}-x", shipper.Event{Time: day, Service: "_-+.svc"}, "svc-x"},
		{"only invalid leading characters fall back", "%{[service.name]}-x", shipper.Event{Time: day, Service: "__"}, "unknown-x"},
		{"leading characters kept inside", "x-%{[service.name]}", shipper.Event{Time: day, Service: "_svc"}, "x-_svc"},
		{"long value cut to 255 bytes", "x-%{[service.name]}-%{+yyyy}", shipper.Event{Time: day, Service: strings.Repeat("é", 300)}, "x-" + strings.Repeat("é", 124) + "-2024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.pattern, "unknown")
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Name(&tt.ev); got != tt.want {
				t.Errorf("Name = %q, want %q", got, tt.want)
			}
			if got := p.Name(&tt.ev); got != tt.want {
				t.Errorf("cached Name = %q, want %q", got, tt.want)
			}
			if n := len(p.Name(&tt.ev)); n > MaxNameBytes {
				t.Errorf("name is %d bytes", n)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ pattern, fallback, want string }{
		{"", "unknown", "empty"},
		{"x-%{[service.name]", "unknown", "not closed"},
		{"x-%{+yyyy.mm.dd}", "unknown", `unknown token "mm"`},
		{"x-%{+yyyy.MM.dd'}", "unknown", "not closed"},
		{"x-%{+}", "unknown", "empty date format"},
		{"x-%{}", "unknown", "empty field reference"},
		{"x-%{[a]b}", "unknown", "expected ["},
		{"X-%{+yyyy}", "unknown", "upper-case"},
		{"x y-%{+yyyy}", "unknown", "refuses"},
		{"_x-%{+yyyy}", "unknown", "no leading"},
		{"x-%{+yyyy:MM}", "unknown", "refuses"},
		{"x-%{[a]}", "", "fallback is empty"},
		{"x-%{[a]}", "Unknown", "fallback"},
		{strings.Repeat("x", 256), "unknown", "longer than 255"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			_, err := Compile(tt.pattern, tt.fallback)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile(%q, %q) = %v, want an error containing %q", tt.pattern, tt.fallback, err, tt.want)
			}
		})
	}
}

func TestGlobAndOverlaps(t *testing.T) {
	tests := []struct {
		pattern, glob string
		trap          bool
	}{
		{DefaultPattern, "shipper-*-*", false},
		{"logs-%{[service.name]}-default", "logs-*-default", true},
		{"logs-%{[service.name]}", "logs-*", true}, // a service name with '-' lands in logs-*-*
		{"logs-app-%{+yyyy.MM.dd}", "logs-app-*", true},
		{"logs_%{[service.name]}", "logs_*", false},
		{"mylogs-%{[service.name]}-%{+yyyy}", "mylogs-*-*", false},
		{"%{[service.name]}-%{+yyyy}", "*-*", true},
		{"static", "static", false},
		{"logs-a-b", "logs-a-b", true},
	}
	for _, tt := range tests {
		p, err := Compile(tt.pattern, "unknown")
		if err != nil {
			t.Fatal(err)
		}
		if g := p.Glob(); g != tt.glob {
			t.Errorf("%q.Glob() = %q, want %q", tt.pattern, g, tt.glob)
		}
		if got := p.InDataStreamTrap(); got != tt.trap {
			t.Errorf("%q.InDataStreamTrap() = %v, want %v", tt.pattern, got, tt.trap)
		}
	}
}

func TestGlobsIntersect(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"a*", "*b", true}, {"a*c", "ab*", true}, {"abc", "abd", false}, {"a*", "b*", false},
		{"*", "", true}, {"x-*", "logs-*-*", false}, {"*-x", "*-y", false}, {"**", "a", true},
	}
	for _, tt := range tests {
		if got := GlobsOverlap(tt.a, tt.b); got != tt.want {
			t.Errorf("GlobsOverlap(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := GlobsOverlap(tt.b, tt.a); got != tt.want {
			t.Errorf("GlobsOverlap(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestNameDoesNotAllocateWhenCached(t *testing.T) {
	p, err := Compile(DefaultPattern, "unknown")
	if err != nil {
		t.Fatal(err)
	}
	evs := []shipper.Event{
		{Time: day, Service: "checkout"},
		docEvent(t, `{"service":{"name":"x"}}`),
		{Time: day.Add(-time.Hour), Service: "payment"},
	}
	for i := range evs {
		p.Name(&evs[i])
	}
	allocs := testing.AllocsPerRun(100, func() {
		for i := range evs {
			p.Name(&evs[i])
		}
	})
	if allocs != 0 {
		t.Errorf("Name allocates %v times per run once cached", allocs)
	}
}

func TestCacheBounded(t *testing.T) {
	p, err := Compile(DefaultPattern, "unknown")
	if err != nil {
		t.Fatal(err)
	}
	for i := range cacheLimit + 10 {
		ev := shipper.Event{Time: day, Service: fmt.Sprint("svc", i)}
		if got, want := p.Name(&ev), fmt.Sprintf("shipper-svc%d-2024.03.09", i); got != want {
			t.Fatalf("Name = %q, want %q", got, want)
		}
	}
	p.mu.RLock()
	n := len(p.cache)
	p.mu.RUnlock()
	if n > cacheLimit {
		t.Errorf("cache holds %d names, limit %d", n, cacheLimit)
	}
}

func TestConcurrentProcess(t *testing.T) {
	p, err := Compile(DefaultPattern, "unknown")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			b := &shipper.Batch{}
			for i := range 200 {
				b.Events = append(b.Events, shipper.Event{Time: day.Add(time.Duration(i) * time.Hour), Service: fmt.Sprint("s", (i+w)%7)})
			}
			p.Process(b)
			for i, ev := range b.Events {
				want := fmt.Sprintf("shipper-s%d-%s", (i+w)%7, ev.Time.UTC().Format("2006.01.02"))
				if ev.Index != want {
					t.Errorf("event %d: Index = %q, want %q", i, ev.Index, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	tests := []struct {
		name    string
		edit    func(*Config)
		path    string
		warning bool
	}{
		{"bad token", func(c *Config) { c.Pattern = "x-%{+yyyy.mm}" }, "pattern", false},
		{"bad fallback", func(c *Config) { c.Fallback = "Not Valid" }, "fallback", false},
		{"trap", func(c *Config) { c.Pattern = "logs-%{[service.name]}-default" }, "pattern", true},
		{"dataset with date", func(c *Config) { c.DataStream.Dataset = "%{+yyyy}" }, "data_stream.dataset", false},
		{"namespace with dash", func(c *Config) { c.DataStream.Namespace = "a-b" }, "data_stream.namespace", false},
		{"empty namespace", func(c *Config) { c.DataStream.Namespace = "" }, "data_stream.namespace", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			var fe *shipper.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a FieldError", err)
			}
			if fe.Path != tt.path || fe.Warning != tt.warning {
				t.Errorf("FieldError{Path: %q, Warning: %v} (%v), want path %q warning %v", fe.Path, fe.Warning, fe, tt.path, tt.warning)
			}
		})
	}
}

func TestDataStreamNames(t *testing.T) {
	c := DefaultConfig()
	p, err := c.Compile(true)
	if err != nil {
		t.Fatal(err)
	}
	ev := shipper.Event{Time: day, Service: "Check-Out"}
	if got, want := p.Name(&ev), "logs-check_out-default"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
	ev = shipper.Event{Time: day}
	if got, want := p.Name(&ev), "logs-unknown-default"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
}

func FuzzName(f *testing.F) {
	f.Add(DefaultPattern, "checkout", `{"a":"b"}`, int64(1700000000))
	f.Add("%{[a]}-%{+xxxx.ww.HH}", "_-x", `{"a":"\u00c4-\ud800"}`, int64(-1))
	f.Fuzz(func(t *testing.T, pattern, service, doc string, unix int64) {
		p, err := Compile(pattern, "unknown")
		if err != nil {
			return
		}
		ev := shipper.Event{Time: time.Unix(unix%(1<<36), 0), Service: service}
		if m, err := jsonscan.Members(nil, []byte(doc), 16); err == nil {
			ev.Doc.Members = m
		}
		name := p.Name(&ev)
		if err := validIndexName(name); err != nil && ev.Time.Year() >= 1000 && ev.Time.Year() <= 9999 {
			t.Fatalf("pattern %q, service %q, doc %s: name %q: %v", pattern, service, doc, name, err)
		}
		if again := p.Name(&ev); again != name {
			t.Fatalf("Name not deterministic: %q then %q", name, again)
		}
	})
}

// validIndexName checks Elasticsearch's rules for index names
// (MetadataCreateIndexService.validateIndexOrAliasName).
func validIndexName(s string) error {
	switch {
	case s == "" || s == "." || s == "..":
		return errors.New("empty or dots")
	case len(s) > MaxNameBytes:
		return errors.New("too long")
	case strings.ToLower(s) != s:
		return errors.New("not lower-case")
	case strings.ContainsAny(s, forbidden):
		return errors.New("forbidden character")
	case strings.IndexByte("-_+", s[0]) >= 0:
		return errors.New("leading -_+")
	}
	return nil
}

var benchLines = []string{
	`{"ts":"2024-03-09T12:00:00Z","level":"info","service":"checkout","msg":"order placed","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","order_id":"A-1001","amount":42.5}`,
	`{"ts":"2024-03-09T12:00:01Z","level":"error","service":"payment","msg":"card declined","trace_id":"5bf92f3577b34da6a3ce929d0e0e4736","code":"insufficient_funds"}`,
	`{"ts":"2024-03-09T12:00:02Z","level":"debug","service":"inventory","msg":"stock checked","sku":"SKU-1","left":3}`,
}

// BenchmarkName routes events the way the pipeline does: the typed fields
// are set, the name comes from the cache.
func BenchmarkName(b *testing.B) {
	p, _ := Compile(DefaultPattern, "unknown")
	evs := []shipper.Event{{Time: day, Service: "checkout"}, {Time: day, Service: "payment"}, {Time: day, Service: "inventory"}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = p.Name(&evs[i%len(evs)])
	}
}

// BenchmarkNameDocField routes by an application field looked up in the raw
// document.
func BenchmarkNameDocField(b *testing.B) {
	p, _ := Compile("shipper-%{[service]}-%{+yyyy.MM.dd}", "unknown")
	var evs []shipper.Event
	for _, l := range benchLines {
		m, _ := jsonscan.Members(nil, []byte(l), 64)
		evs = append(evs, shipper.Event{Time: day, Doc: shipper.Doc{Members: m}})
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = p.Name(&evs[i%len(evs)])
	}
}

// BenchmarkBaselineSprintf is the naive way: format the name per event.
func BenchmarkBaselineSprintf(b *testing.B) {
	evs := []shipper.Event{{Time: day, Service: "checkout"}, {Time: day, Service: "payment"}, {Time: day, Service: "inventory"}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ev := &evs[i%len(evs)]
		_ = fmt.Sprintf("shipper-%s-%s", strings.ToLower(ev.Service), ev.Time.UTC().Format("2006.01.02"))
	}
}

// BenchmarkBaselineJSONMap is the team's standard baseline: decode the line
// into map[string]any and format the name from it.
func BenchmarkBaselineJSONMap(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var m map[string]any
		_ = json.Unmarshal([]byte(benchLines[i%len(benchLines)]), &m)
		svc, _ := m["service"].(string)
		_ = fmt.Sprintf("shipper-%s-%s", strings.ToLower(svc), day.Format("2006.01.02"))
	}
}

// TestProcessManyNamesInOneBatch routes a batch with more distinct names
// than Process remembers, interleaved, and service names too long to be
// remembered: every event gets the name Name gives it alone.
func TestProcessManyNamesInOneBatch(t *testing.T) {
	p, err := Compile(DefaultPattern, "unknown")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 70)
	b := &shipper.Batch{}
	for i := range 300 {
		svc := fmt.Sprint("s", i%13)
		if i%5 == 0 {
			svc = long + fmt.Sprint(i%3)
		}
		b.Events = append(b.Events, shipper.Event{Time: day.Add(time.Duration(i%4) * 24 * time.Hour), Service: svc})
	}
	p.Process(b)
	for i := range b.Events {
		ev := b.Events[i]
		ev.Index = ""
		if want := p.Name(&ev); b.Events[i].Index != want {
			t.Fatalf("event %d (%s, %s): Index = %q, want %q", i, ev.Service, ev.Time.Format(time.DateOnly), b.Events[i].Index, want)
		}
	}
}

// BenchmarkProcessParallel routes batches on every core at once, as the
// pipeline's workers do: the cost of the shared name cache under
// contention.
func BenchmarkProcessParallel(b *testing.B) {
	p, _ := Compile(DefaultPattern, "unknown")
	services := []string{"checkout", "payment", "inventory", "shipping", "auth"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		batch := &shipper.Batch{}
		for i := range 1024 {
			batch.Events = append(batch.Events, shipper.Event{Time: day, Service: services[i*7%len(services)]})
		}
		for pb.Next() {
			p.Process(batch)
		}
	})
}
