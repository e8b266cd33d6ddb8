package enrich

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/traceship/shipper"
)

const cid = "0f6b4e1c7a3b4a8f9d2c1e0b7a6f5e4d3c2b1a09f8e7d6c5b4a3928170615243"

func TestKubernetesPaths(t *testing.T) {
	tests := []struct {
		path string
		want *shipper.Kubernetes
	}{
		{"/var/log/containers/checkout-7d9f8c6b5-x2x9q_shop_app-" + cid + ".log",
			&shipper.Kubernetes{Namespace: "shop", PodName: "checkout-7d9f8c6b5-x2x9q", ContainerName: "app", ContainerID: cid}},
		{"/var/log/containers/pay-0_shop-prod_istio-proxy-" + cid + ".log",
			&shipper.Kubernetes{Namespace: "shop-prod", PodName: "pay-0", ContainerName: "istio-proxy", ContainerID: cid}},
		{"/var/log/pods/shop_checkout-7d9f8c6b5-x2x9q_5f3c2a1e-8b7d-4c6a-9e0f-1a2b3c4d5e6f/app/0.log",
			&shipper.Kubernetes{Namespace: "shop", PodName: "checkout-7d9f8c6b5-x2x9q", PodUID: "5f3c2a1e-8b7d-4c6a-9e0f-1a2b3c4d5e6f", ContainerName: "app"}},
		{"/var/log/pods/shop_checkout-0_5f3c2a1e/app/3.log.20261122-100000.gz",
			&shipper.Kubernetes{Namespace: "shop", PodName: "checkout-0", PodUID: "5f3c2a1e", ContainerName: "app"}},
		{"/host/var/log/containers/a_b_c-" + cid + ".log", // host /var/log mounted elsewhere
			&shipper.Kubernetes{Namespace: "b", PodName: "a", ContainerName: "c", ContainerID: cid}},
		{"/var/log/containers/a_b_c-" + cid[:63] + ".log", nil},  // short id
		{"/var/log/containers/a_b-" + cid + ".log", nil},         // two parts
		{"/var/log/containers/a_b_c_d-" + cid + ".log", nil},     // four parts
		{"/var/log/other/a_b_c-" + cid + ".log", nil},            // not a containers dir
		{"/var/log/pods/shop_checkout_uid/app/current.log", nil}, // not <n>.log
		{"/var/log/pods/shop_checkout/app/0.log", nil},           // no uid
		{"/var/log/shop/checkout.log", nil},
	}
	e := newEnricher(t, DefaultConfig(), nil)
	e.sh.readlink = nil
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			b := batchOf(t, &shipper.File{ID: "x", Path: tt.path}, `{"message":"hi"}`, `{"message":"ho"}`)
			e.Process(b)
			got := b.Events[0].Kube
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("kubernetes metadata (-want +got):\n%s", diff)
			}
			if b.Events[1].Kube != got {
				t.Errorf("events of one file do not share one *Kubernetes")
			}
			if tt.want != nil && b.Events[0].Service != tt.want.ContainerName {
				t.Errorf("service.name = %q, want the container name %q", b.Events[0].Service, tt.want.ContainerName)
			}
		})
	}

	off := DefaultConfig()
	off.Kubernetes.FromPath = false
	e = newEnricher(t, off, nil)
	b := batchOf(t, &shipper.File{Path: tests[0].path}, `{"message":"hi"}`)
	e.Process(b)
	if b.Events[0].Kube != nil {
		t.Errorf("kubernetes.from_path: false still set metadata")
	}
}

// The kubelet's real layout: /var/log/containers/<x>.log links to
// /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log, which with Docker's
// json-file links on to /var/lib/docker/containers/<id>/<id>-json.log.
func TestKubernetesSymlinkGivesPodUID(t *testing.T) {
	root := t.TempDir()
	uid := "5f3c2a1e-8b7d-4c6a-9e0f-1a2b3c4d5e6f"
	docker := filepath.Join(root, "var/lib/docker/containers", cid, cid+"-json.log")
	pods := filepath.Join(root, "var/log/pods", "shop_checkout-0_"+uid, "app", "0.log")
	link := filepath.Join(root, "var/log/containers", "checkout-0_shop_app-"+cid+".log")
	for _, d := range []string{docker, pods, link} {
		if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(docker, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(docker, pods); err != nil {
		t.Fatal(err)
	}
	// A relative link, as some runtimes write.
	rel, err := filepath.Rel(filepath.Dir(link), pods)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rel, link); err != nil {
		t.Fatal(err)
	}

	want := &shipper.Kubernetes{Namespace: "shop", PodName: "checkout-0", PodUID: uid, ContainerName: "app", ContainerID: cid}
	e := newEnricher(t, DefaultConfig(), nil)
	b := batchOf(t, &shipper.File{Path: link}, `{"message":"hi"}`)
	e.Process(b)
	if diff := cmp.Diff(want, b.Events[0].Kube); diff != "" {
		t.Errorf("through the link (-want +got):\n%s", diff)
	}

	noLinks := DefaultConfig()
	noLinks.Kubernetes.ResolveSymlinks = false
	e = newEnricher(t, noLinks, nil)
	b = batchOf(t, &shipper.File{Path: link}, `{"message":"hi"}`)
	e.Process(b)
	if got := b.Events[0].Kube; got == nil || got.PodUID != "" || got.ContainerID != cid {
		t.Errorf("resolve_symlinks: false: got %+v, want the link's own metadata without uid", got)
	}
}

func TestServiceNamePrecedence(t *testing.T) {
	k8s := "/var/log/containers/pay-0_shop_payment-api-" + cid + ".log"
	tests := []struct {
		name, line, path, input string
		want                    string
	}{
		{"service.name first", `{"serviceName":"e","application":"d","app":"c","service":"b","service.name":"a"}`, "", "", "a"},
		{"service second", `{"serviceName":"e","application":"d","app":"c","service":"b"}`, "", "", "b"},
		{"service object's name", `{"app":"c","service":{"name":"b2","version":"1"}}`, "", "", "b2"},
		{"app third", `{"serviceName":"e","application":"d","app":"c"}`, "", "", "c"},
		{"application fourth", `{"serviceName":"e","application":"d"}`, "", "", "d"},
		{"serviceName fifth", `{"serviceName":"e"}`, "", "", "e"},
		{"service_name too", `{"service_name":"e2"}`, "", "", "e2"},
		{"container name sixth", `{"msg":"x"}`, k8s, "input-svc", "payment-api"},
		{"fields beat the container name", `{"app":"c"}`, k8s, "input-svc", "c"},
		{"input setting last", `{"msg":"x"}`, "/var/log/app.log", "input-svc", "input-svc"},
		{"pipeline default without input setting", `{"msg":"x"}`, "/var/log/app.log", "", "pipeline-svc"},
		{"empty and non-string values skipped", `{"service.name":"","service":42,"app":null,"application":"d"}`, "", "", "d"},
		{"service object without name skipped", `{"service":{"version":"1"},"app":"c"}`, "", "", "c"},
		{"escaped value decoded", `{"service":"caf\u00e9"}`, "", "", "café"},
	}
	cfg := DefaultConfig()
	cfg.Service.Name = "pipeline-svc"
	base := newEnricher(t, cfg, nil)
	base.sh.readlink = nil
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base.ForInput(tt.input)
			var f *shipper.File
			if tt.path != "" {
				f = &shipper.File{ID: "x", Path: tt.path}
			}
			b := batchOf(t, f, tt.line)
			e.Process(b)
			if got := b.Events[0].Service; got != tt.want {
				t.Errorf("service.name = %q, want %q", got, tt.want)
			}
			doc := shipper.AppendSource(nil, &b.Events[0])
			if _, err := leafPaths(doc); err != nil {
				t.Errorf("%v in %s", err, doc)
			}
		})
	}
	if got := base.Stats().Services; got != uint64(len(tests)) {
		t.Errorf("Stats().Services = %d, want %d (ForInput copies share counters)", got, len(tests))
	}
}

func TestHostName(t *testing.T) {
	for _, tt := range []struct {
		name, cfg string
		env       map[string]string
		want      string
	}{
		{"NODE_NAME", "", map[string]string{"NODE_NAME": "node-a"}, "node-a"},
		{"config beats NODE_NAME", "edge-1", map[string]string{"NODE_NAME": "node-a"}, "edge-1"},
		{"neither", "", nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.HostName = tt.cfg
			ev := process(t, newEnricher(t, cfg, tt.env), `{"message":"x","host.name":"app-says"}`)
			if ev.Host != tt.want {
				t.Errorf("host.name = %q, want %q", ev.Host, tt.want)
			}
			doc := shipper.AppendSource(nil, ev)
			paths, err := leafPaths(doc)
			if err != nil {
				t.Fatalf("%v in %s", err, doc)
			}
			if tt.want != "" && string(paths["host.name_app"]) != `"app-says"` {
				t.Errorf("the application's host.name was not kept as host.name_app: %s", doc)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	e := newEnricher(t, DefaultConfig(), nil)
	b := batchOf(t, nil, `{"message":"m","trace.id":"nope","traceparent":"00-`+T+`-`+S+`-01","app":"shop","mdc":{"spanId":"zz"}}`)
	before := string(shipper.AppendSource(nil, &b.Events[0]))
	notes := strings.Join(e.Explain(&b.Events[0]), "\n")
	for _, want := range []string{
		`field "trace.id" = "nope" (convention ecs): not a valid id`,
		`field "traceparent"`,
		"trace.id " + T + " from convention traceparent",
		"span.id " + S + " from convention traceparent",
		"sampled",
		`service.name "shop" from app`,
		`member "trace.id" renamed "trace.id_app"`,
		`field "mdc.spanId" = "zz" (convention field): not a valid id`,
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("Explain lacks %q:\n%s", want, notes)
		}
	}
	if after := string(shipper.AppendSource(nil, &b.Events[0])); after != before {
		t.Errorf("Explain modified the event:\nbefore %s\nafter  %s", before, after)
	}
	if e.Stats().Events != 0 {
		t.Errorf("Explain counted in Stats")
	}
}

// Process is safe for concurrent use: run it from several goroutines on
// batches of different files and check each result (go test -race).
func TestProcessConcurrent(t *testing.T) {
	e := newEnricher(t, DefaultConfig(), map[string]string{"NODE_NAME": "n"})
	e.sh.readlink = nil
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				path := "/var/log/containers/p" + string(rune('a'+w)) + "_ns_c-" + cid + ".log"
				b := batchOf(t, &shipper.File{Path: path}, `{"trace_id":"`+T+`","message":"x","app":"svc`+string(rune('a'+i%3))+`"}`)
				e.Process(b)
				ev := b.Events[0]
				if ev.TraceID.String() != T || ev.Service != "svc"+string(rune('a'+i%3)) || ev.Kube == nil || ev.Kube.PodName != "p"+string(rune('a'+w)) {
					t.Errorf("worker %d: got trace %s service %q kube %+v", w, ev.TraceID, ev.Service, ev.Kube)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := e.Stats().TraceIDs; got != 200 {
		t.Errorf("Stats().TraceIDs = %d, want 200", got)
	}
}

// TestManyServicesInOneBatch: a batch naming more services than the
// enricher remembers, interleaved, gives every event its own line's name.
func TestManyServicesInOneBatch(t *testing.T) {
	e := newEnricher(t, DefaultConfig(), nil)
	var lines []string
	for i := range 100 {
		lines = append(lines, fmt.Sprintf(`{"service":"svc-%d","msg":"x"}`, i*7%13))
	}
	b := batchOf(t, nil, lines...)
	e.Process(b)
	for i := range b.Events {
		if got, want := b.Events[i].Service, fmt.Sprintf("svc-%d", i*7%13); got != want {
			t.Fatalf("event %d: Service = %q, want %q", i, got, want)
		}
	}
}
