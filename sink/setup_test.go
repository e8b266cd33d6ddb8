package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/traceship/shipper/index"
	"github.com/traceship/shipper/internal/estest"
)

func compile(t *testing.T, pattern string) *index.Pattern {
	t.Helper()
	p, err := index.Compile(pattern, "unknown")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSetupWritesPolicyAndTemplate(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	cfg.Setup.ILM.WarmAfter = 7 * day
	ctx := context.Background()
	patterns := []*index.Pattern{compile(t, index.DefaultPattern), compile(t, "audit-%{+yyyy.MM}")}
	for range 2 { // idempotent
		if err := Setup(ctx, cfg, patterns, zap.NewNop()); err != nil {
			t.Fatalf("Setup: %v", err)
		}
	}
	var policy struct {
		Phases map[string]struct {
			MinAge  string                     `json:"min_age"`
			Actions map[string]json.RawMessage `json:"actions"`
		} `json:"phases"`
	}
	raw, ok := srv.Policies()["shipper"]
	if !ok {
		t.Fatal("no ILM policy named shipper")
	}
	if err := json.Unmarshal(raw, &policy); err != nil {
		t.Fatal(err)
	}
	if p := policy.Phases["delete"]; p.MinAge != "30d" || p.Actions["delete"] == nil {
		t.Errorf("delete phase = %+v, want delete after 30d", p)
	}
	if p := policy.Phases["warm"]; p.MinAge != "7d" || p.Actions["forcemerge"] == nil || p.Actions["readonly"] == nil {
		t.Errorf("warm phase = %+v", p)
	}
	if _, ok := policy.Phases["hot"].Actions["rollover"]; ok {
		t.Error("index mode needs no rollover: indices are date-rotated")
	}

	var tmpl struct {
		IndexPatterns []string `json:"index_patterns"`
		Priority      int      `json:"priority"`
		DataStream    any      `json:"data_stream"`
		Template      struct {
			Settings struct {
				Index struct {
					Shards    json.Number `json:"number_of_shards"`
					Lifecycle struct {
						Name string `json:"name"`
					} `json:"lifecycle"`
				} `json:"index"`
			} `json:"settings"`
			Mappings struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"mappings"`
		} `json:"template"`
	}
	raw, ok = srv.Templates()["shipper"]
	if !ok {
		t.Fatal("no index template named shipper")
	}
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tmpl.IndexPatterns, ","); got != "audit-*,shipper-*-*" {
		t.Errorf("index_patterns = %q, want exactly the pipelines' patterns", got)
	}
	if tmpl.DataStream != nil || tmpl.Priority != 200 {
		t.Errorf("template = %s", raw)
	}
	if tmpl.Template.Settings.Index.Shards != "1" || tmpl.Template.Settings.Index.Lifecycle.Name != "shipper" {
		t.Errorf("settings = %+v", tmpl.Template.Settings)
	}
	for field, want := range map[string]string{"@timestamp": `"date"`, "message": `"match_only_text"`, "trace": `"keyword"`, "service": `"keyword"`} {
		if p := tmpl.Template.Mappings.Properties[field]; !strings.Contains(string(p), want) {
			t.Errorf("mapping of %s = %s, want %s", field, p, want)
		}
	}
}

func TestSetupRefusesForeignOrNewer(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, body, want string
	}{
		{"foreign", `{"index_patterns":["other-*"],"priority":10}`, "not written by shipper"},
		{"newer", `{"index_patterns":["shipper-*-*"],"priority":200,"version":99,"_meta":{"managed_by":"shipper"}}`, "newer shipper"},
		{"foreign policy", `{"policy":{"phases":{"hot":{"actions":{}}}}}`, "ILM policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := estest.New(t)
			cfg := testConfig(t, srv.URL())
			path := "/_index_template/shipper"
			if strings.Contains(tt.name, "policy") {
				path = "/_ilm/policy/shipper"
			}
			putJSON(t, srv.URL(), path, tt.body)
			err := Setup(ctx, cfg, []*index.Pattern{compile(t, index.DefaultPattern)}, zap.NewNop())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Setup = %v, want an error containing %q", err, tt.want)
			}
			cfg.Setup.Template.Overwrite = true
			if err := Setup(ctx, cfg, []*index.Pattern{compile(t, index.DefaultPattern)}, zap.NewNop()); err != nil {
				t.Fatalf("Setup with overwrite: %v", err)
			}
		})
	}
}

func putJSON(t *testing.T, host, path, body string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Hosts = []string{host}
	es, err := newClient(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	c := &setupClient{es: es}
	if err := c.put(context.Background(), path, []byte(body)); err != nil {
		t.Fatalf("PUT %s: %v", path, err)
	}
}

// The built-in logs template (priority 100, logs-*-*) shadows a template of
// lower priority: setup says so.
func TestSetupWarnsOfShadowingTemplate(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	cfg.Setup.Template.Priority = 50
	core, logs := observer.New(zap.WarnLevel)
	err := Setup(context.Background(), cfg, []*index.Pattern{compile(t, "logs-%{[service.name]}-%{+yyyy.MM.dd}")}, zap.New(core))
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	found := false
	for _, e := range logs.All() {
		if e.ContextMap()["template"] == "logs" {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning about the built-in logs template; logged: %v", logs.All())
	}
	// The default pattern and priority overlap nothing.
	core, logs = observer.New(zap.WarnLevel)
	cfg = testConfig(t, srv.URL())
	if err := Setup(context.Background(), cfg, []*index.Pattern{compile(t, index.DefaultPattern)}, zap.New(core)); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Errorf("warnings for the default pattern: %v", logs.All())
	}
}

func TestDataStreamMode(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	cfg.Mode = ModeDataStream
	ic := index.DefaultConfig()
	p, err := ic.Compile(true)
	if err != nil {
		t.Fatal(err)
	}
	if err := Setup(context.Background(), cfg, []*index.Pattern{p}, zap.NewNop()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	var policy struct {
		Phases struct {
			Hot struct {
				Actions struct {
					Rollover map[string]string `json:"rollover"`
				} `json:"actions"`
			} `json:"hot"`
		} `json:"phases"`
	}
	_ = json.Unmarshal(srv.Policies()["shipper"], &policy)
	if ro := policy.Phases.Hot.Actions.Rollover; ro["max_age"] != "1d" || ro["max_primary_shard_size"] != "50gb" {
		t.Errorf("rollover = %v", ro)
	}
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	b := h.batch("f", 5, "")
	p.Process(b)
	// The harness looks documents up by the data stream's name.
	h.mu.Lock()
	for i := range b.Events {
		h.ids[fmt.Sprintf("f-%d", i*100)] = b.Events[i].Index
	}
	h.mu.Unlock()
	run(t, s)
	h.write(s, b)
	shutdown(t, s)
	h.check(0)
	if ds := srv.DataStreams(); len(ds) != 1 || ds[0] != "logs-checkout-default" {
		t.Errorf("data streams = %v, want [logs-checkout-default]", ds)
	}
}

func TestReplayDLQ(t *testing.T) {
	srv := estest.New(t)
	cfg := testConfig(t, srv.URL())
	s := newTestSink(t, cfg, nil)
	h := newHarness(t, srv, cfg.DeadLetter.Path)
	run(t, s)
	h.write(s, h.batch("f", 4, "shipper-REJECTED"))
	shutdown(t, s)
	h.check(4)
	// The operator fixes two entries by hand (the index name); the other
	// two still fail.
	raw, err := os.ReadFile(cfg.DeadLetter.Path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(raw), "\n")
	for i := range 2 {
		lines[i] = strings.Replace(lines[i], "shipper-REJECTED", "shipper-fixed", 1)
	}
	lines = append(lines, "not a dead letter\n")
	if err := os.WriteFile(cfg.DeadLetter.Path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for round, want := range []ReplayStats{
		{Read: 4, Indexed: 2, Failed: 2, Malformed: 1},
		{Read: 4, Duplicates: 2, Failed: 2, Malformed: 1}, // replaying twice stores nothing twice
	} {
		// Elasticsearch's new reasons quote the index name: they are
		// redacted as the agent's are.
		redactText := func(dst, src []byte) []byte {
			return append(dst, strings.ReplaceAll(string(src), "REJECTED", "[X]")...)
		}
		st, err := ReplayDLQ(ctx, cfg, cfg.DeadLetter.Path, zap.NewNop(), redactText)
		if err != nil {
			t.Fatalf("ReplayDLQ: %v", err)
		}
		failed := readDLQ(t, st.FailedPath)
		want.FailedPath = st.FailedPath
		if st != want || len(failed) != 2 {
			t.Errorf("round %d: %+v, %d entries in the failure file; want %+v", round, st, len(failed), want)
		}
		for _, d := range failed {
			if strings.Contains(d.Error.Reason, "REJECTED") || !strings.Contains(d.Error.Reason, "[X]") {
				t.Errorf("round %d: a new reason is not redacted: %q", round, d.Error.Reason)
			}
		}
	}
	if n := srv.Count("shipper-fixed"); n != 2 {
		t.Errorf("%d documents in shipper-fixed, want 2", n)
	}
	if d, ok := srv.Get("shipper-fixed", "f-0"); !ok || !strings.Contains(string(d.Source), "order placed") {
		t.Errorf("replayed document f-0: %s", d.Source)
	}
}

// TestAgainstTarget runs setup and a shipment against a real Elasticsearch 8
// when SHIPPER_TEST_ES_URL is set (the double otherwise), counting through
// the sink's own statistics so that it needs no inspection of the cluster.
func TestAgainstTarget(t *testing.T) {
	url, _ := estest.Target(t)
	cfg := testConfig(t, url)
	cfg.Setup.Template.Name = "shipper-test"
	cfg.Setup.ILM.PolicyName = "shipper-test"
	cfg.Setup.Template.Replicas = 0
	p := compile(t, "shipper-it-%{[service.name]}-%{+yyyy.MM.dd}")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := Setup(ctx, cfg, []*index.Pattern{p}, zap.NewNop()); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	file := fmt.Sprintf("it%d", time.Now().UnixNano()) // fresh _ids on a real cluster
	for round := range 2 {
		s := newTestSink(t, cfg, nil)
		h := newHarness(t, nil, cfg.DeadLetter.Path)
		b := h.batch(file, 10, "")
		p.Process(b)
		run(t, s)
		h.write(s, b)
		shutdown(t, s)
		st := s.Stats()
		if round == 0 && st.Indexed != 10 || round == 1 && st.Duplicates != 10 {
			t.Errorf("round %d: %+v; want 10 indexed, then 10 duplicates", round, st)
		}
	}
}

func TestSetupKibanaDataViews(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	kb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/data_views/data_view" || r.Header.Get("kbn-xsrf") == "" || r.Method != http.MethodPost {
			http.Error(w, "bad request", 400)
			return
		}
		if u, p, _ := r.BasicAuth(); u != "elastic" || p != "pw" {
			http.Error(w, "unauthorized", 401)
			return
		}
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, body)
		mu.Unlock()
		io.WriteString(w, `{"data_view":{}}`)
	}))
	defer kb.Close()
	cfg := DefaultConfig()
	cfg.Username, cfg.Password = "elastic", "pw"
	patterns := []*index.Pattern{compile(t, index.DefaultPattern), compile(t, "shipper-%{[host.name]}-%{+yyyy}")}
	if err := SetupKibana(context.Background(), kb.URL+"/", cfg, patterns, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d data views for one distinct pattern, want 1", len(got))
	}
	dv := got[0]["data_view"].(map[string]any)
	if dv["title"] != "shipper-*-*" || dv["timeFieldName"] != "@timestamp" || got[0]["override"] != true || dv["id"] != "shipper-shipper-x-x" {
		t.Errorf("data view request %v", got[0])
	}
	cfg.Password = "wrong"
	if err := SetupKibana(context.Background(), kb.URL, cfg, patterns, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("SetupKibana with a wrong password = %v, want Kibana's 401", err)
	}
}
