package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/traceship/shipper/internal/estest"
)

func TestSetupInstallsPolicyAndTemplate(t *testing.T) {
	es := estest.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pipelines.yaml")
	writeConfig(t, cfg, fmt.Sprintf("state_dir: %s\nelasticsearch: {hosts: [%s]}\npipelines:\n  - name: shop\n", dir, es.URL()))
	out, stderr, code := runCLI(t, "setup", "-c", cfg)
	if code != 0 {
		t.Fatalf("setup: exit %d\n%s%s", code, out, stderr)
	}
	if _, ok := es.Policies()["shipper"]; !ok {
		t.Errorf("no ILM policy named shipper; policies: %v", slices.Sorted(maps.Keys(es.Policies())))
	}
	tpl, ok := es.Templates()["shipper"]
	if !ok {
		t.Fatalf("no index template named shipper; templates: %v", slices.Sorted(maps.Keys(es.Templates())))
	}
	for _, want := range []string{`"index_patterns":["shipper-*-*"]`, `"trace":{"properties":{"id":{"ignore_above":1024,"type":"keyword"}}}`, `"lifecycle":{"name":"shipper"}`} {
		if !strings.Contains(string(tpl), want) {
			t.Errorf("the template lacks %s: %s", want, tpl)
		}
	}
	// Idempotent.
	if _, _, code := runCLI(t, "setup", "-c", cfg); code != 0 {
		t.Errorf("a second setup failed: exit %d", code)
	}
}

// TestMappingRejectsGoToTheDeadLetterFileRedacted: a document Elasticsearch
// refuses for good is written to the dead-letter file (redacted) and
// acknowledged, the others flow, and `shipper dlq replay` sends it again.
func TestMappingRejectsGoToTheDeadLetterFileRedacted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the agent as a process; skipped with -short")
	}
	ag := newAgentSetup(t)
	ag.configure(t, inputYAML("a", ag.dir+"/*.log"))
	lines := `{"ts":1795339800,"msg":"first","service":"pay","amount":12}
{"ts":1795339801,"msg":"card 4111111111111111 bad amount","service":"pay","amount":"twelve"}
{"ts":1795339802,"msg":"third","service":"pay","amount":13}
`
	os.WriteFile(filepath.Join(ag.dir, "app.log"), []byte(lines), 0o644)
	p := ag.start(t)
	eventually(t, "2 documents and 1 dead letter", p.logs, func() bool {
		return ag.es.Count("shipper-pay-*") == 2 && p.metric("shipper_dead_letter_total") == 1
	})
	p.stop(syscall.SIGTERM)
	dlq := filepath.Join(ag.state, "dlq", "dead-letter.ndjson")
	data, err := os.ReadFile(dlq)
	if err != nil {
		t.Fatalf("no dead-letter file: %v", err)
	}
	if strings.Contains(string(data), "4111111111111111") {
		t.Errorf("the dead-letter file holds a card number:\n%s", data)
	}
	if !strings.Contains(string(data), "twelve") {
		t.Errorf("the dead-letter file lacks the refused document:\n%s", data)
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	n := 0
	for sc.Scan() {
		n++
	}
	if n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
	out, _, code := runCLI(t, "dlq", "replay", "-c", ag.cfgPath)
	if !strings.Contains(out, "1 refused again") {
		t.Errorf("replay of a still-refused document: exit %d, %q", code, out)
	}
}

// A card number in a file's name does not leave the machine either: not in
// the documents' log.file.path, not on /status or /metrics.
func TestCardInFileNameDoesNotLeave(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the agent as a process; skipped with -short")
	}
	const card = "4111111111111111"
	ag := newAgentSetup(t)
	ag.configure(t, inputYAML("a", ag.dir+"/*.log"))
	appendLines(t, filepath.Join(ag.dir, "pay-"+card+".log"), "pay", 0, 3)
	// A service name names the index too.
	appendLines(t, filepath.Join(ag.dir, "refund.log"), "refund-"+card, 0, 2)
	p := ag.start(t)
	eventually(t, "3 documents", p.logs, func() bool { return ag.es.Count("shipper-pay-*") == 3 })
	eventually(t, "2 documents of the refund service", p.logs, func() bool { return ag.es.Count("shipper-refund-*") == 2 })
	for _, index := range ag.es.Indices() {
		if strings.Contains(index, card) {
			t.Errorf("an index name shows the card number: %s", index)
		}
	}
	for _, d := range ag.es.Docs("shipper-refund-*") {
		if strings.Contains(string(d.Source), card) {
			t.Errorf("a document's service.name is not masked: %s", d.Source)
		}
	}
	for _, d := range ag.es.Docs("shipper-pay-*") {
		if strings.Contains(string(d.Source), card) || !strings.Contains(string(d.Source), `1111.log"`) {
			t.Errorf("a document's file path is not masked: %s", d.Source)
		}
	}
	for _, path := range []string{"/status", "/metrics"} {
		body := httpGet(t, "http://"+ag.http+path)
		if strings.Contains(body, card) {
			t.Errorf("%s shows the card number:\n%s", path, body)
		}
		if !strings.Contains(body, "1111.log") {
			t.Errorf("%s does not show the file at all:\n%s", path, body)
		}
	}
	p.stop(syscall.SIGTERM)
}

// An application field named like one of the agent's objects (trace, span,
// host...) but holding a string is renamed with _app even when the agent
// writes nothing under that name for the event: otherwise Elasticsearch
// refuses the document (an object mapping given a concrete value) and it
// goes to the dead-letter file.
func TestFieldNamedLikeAnAgentObjectIsStored(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the agent as a process; skipped with -short")
	}
	ag := newAgentSetup(t)
	ag.configure(t, inputYAML("a", ag.dir+"/*.log"))
	lines := `{"ts":1795339800,"msg":"with a trace","service":"pay","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
{"ts":1795339801,"msg":"a stack in trace","service":"pay","trace":"at Y.java:10","host":"h1"}
`
	os.WriteFile(filepath.Join(ag.dir, "app.log"), []byte(lines), 0o644)
	p := ag.start(t)
	eventually(t, "both documents", p.logs, func() bool { return ag.es.Count("shipper-pay-*") == 2 })
	if n := p.metric("shipper_dead_letter_total"); n != 0 {
		t.Errorf("%v documents dead-lettered", n)
	}
	found := false
	for _, d := range ag.es.Docs("shipper-pay-*") {
		found = found || strings.Contains(string(d.Source), `"trace_app":"at Y.java:10"`)
	}
	if !found {
		t.Errorf("the application's trace field is not kept as trace_app")
	}
	p.stop(syscall.SIGTERM)
}

// Before anything was dead-lettered there is no dead-letter file: replay
// says there is nothing to do and succeeds. A file named with --file that
// does not exist is an error.
func TestReplayWithoutDeadLetters(t *testing.T) {
	ag := newAgentSetup(t)
	ag.configure(t, inputYAML("a", ag.dir+"/*.log"))
	out, stderr, code := runCLI(t, "dlq", "replay", "-c", ag.cfgPath)
	if code != 0 || !strings.Contains(out, "nothing to replay") {
		t.Errorf("replay without dead letters: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	missing := filepath.Join(ag.dir, "typo.ndjson")
	if _, stderr, code := runCLI(t, "dlq", "replay", "-c", ag.cfgPath, "--file", missing); code == 0 || !strings.Contains(stderr, missing) {
		t.Errorf("replay of a named file that does not exist: exit %d, stderr %q", code, stderr)
	}
}

// TestTraceShowsOneRequestAcrossServices ships the bundled shop logs into
// the double and asks `shipper trace` for one trace: its lines from
// checkout, inventory and payment come back in time order.
func TestTraceShowsOneRequestAcrossServices(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the agent as a process; skipped with -short")
	}
	ag := newAgentSetup(t)
	for _, f := range []string{"checkout.log", "payment.log", "inventory.log"} {
		data, err := os.ReadFile(filepath.Join("../../testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(ag.dir, f), data, 0o644)
	}
	ag.configure(t, inputYAML("shop", ag.dir+"/*.log"))
	p := ag.start(t)
	eventually(t, "the shop's documents", p.logs, func() bool { return ag.es.Count("shipper-*") == 54 })
	p.signal(syscall.SIGTERM)
	p.wait()

	const trace = "a4c123b1612dd272d1371c17149d4395"
	out, stderr, code := runCLI(t, "trace", trace, "-c", ag.cfgPath)
	if code != 0 {
		t.Fatalf("trace: exit %d\n%s%s", code, out, stderr)
	}
	if strings.Contains(stderr, "approximate") {
		t.Errorf("trace searched without a point in time: %s", stderr)
	}
	order := []string{"checkout started", "stock reserved", "payment authorized", "checkout completed"}
	last := -1
	for _, msg := range order {
		i := strings.Index(out, msg)
		if i < 0 || i < last {
			t.Fatalf("the timeline lacks %q or has it out of order:\n%s", msg, out)
		}
		last = i
	}
	for _, svc := range []string{"checkout", "inventory", "payment"} {
		if !strings.Contains(out, svc) {
			t.Errorf("the timeline lacks service %s:\n%s", svc, out)
		}
	}
	if _, _, code := runCLI(t, "trace", "00000000000000000000000000000001", "-c", ag.cfgPath); code != 1 {
		t.Errorf("an unknown trace: exit %d, want 1", code)
	}
	t.Log("\n" + out)
}

// After a rename rotation out of the glob, the rotated file is still open
// under its old path next to the new file: /metrics still answers, with one
// series for the path.
func TestMetricsAfterRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the agent as a process; skipped with -short")
	}
	ag := newAgentSetup(t)
	ag.configure(t, inputYAML("a", ag.dir+"/*.log"))
	path := filepath.Join(ag.dir, "app.log")
	appendLines(t, path, "app", 0, 5)
	p := ag.start(t)
	eventually(t, "5 documents", p.logs, func() bool { return ag.es.Count("shipper-app-*") == 5 })
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, "app", 5, 8)
	eventually(t, "8 documents", p.logs, func() bool { return ag.es.Count("shipper-app-*") == 8 })
	eventually(t, "the old and the new app.log both in /status", p.logs, func() bool {
		return strings.Count(httpGet(t, "http://"+ag.http+"/status"), "app.log\"") == 2
	})
	resp, err := http.Get("http://" + ag.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics answered %s:\n%s", resp.Status, body)
	}
	if n := strings.Count(string(body), "shipper_file_bytes_behind{path="); n != 1 {
		t.Errorf("%d shipper_file_bytes_behind series, want 1 for app.log:\n%s", n, body)
	}
	p.stop(syscall.SIGTERM)
}
