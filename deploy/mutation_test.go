package deploy

import (
	"maps"
	"strings"
	"testing"

	"github.com/traceship/shipper/config"
)

func checkAll(a assets) problems {
	var ps problems
	ps = append(ps, checkDockerfile(a)...)
	ps = append(ps, checkKubernetes(a)...)
	ps = append(ps, checkNonroot(a)...)
	ps = append(ps, checkSystemd(a)...)
	ps = append(ps, checkCompose(a)...)
	return ps
}

// TestChecksCatchBreakage breaks the deployment files the way an edit
// could, one way at a time, and expects the checks to say what broke: a
// check that passes on a broken file protects nothing.
func TestChecksCatchBreakage(t *testing.T) {
	const (
		ds      = "deploy/kubernetes/daemonset.yaml"
		cm      = "deploy/kubernetes/configmap.yaml"
		secret  = "deploy/kubernetes/secret.yaml"
		kust    = "deploy/kubernetes/kustomization.yaml"
		compose = "docker-compose.yml"
		unit    = unitName
	)
	for _, tc := range []struct {
		name     string
		file     string
		old, new string
		want     string // a problem containing this
	}{
		// Dockerfile.
		{"unpinned builder", "Dockerfile", "ARG GO_VERSION=1.26.8", "ARG GO_VERSION=1", "not pinned"},
		{"builder older than go.mod", "Dockerfile", "ARG GO_VERSION=1.26.8", "ARG GO_VERSION=1.25.3", "go.mod needs"},
		{"no USER", "Dockerfile", "USER 65532:65532", "", "no USER"},
		{"USER root", "Dockerfile", "USER 65532:65532", "USER root", "is root"},
		{"shell-form ENTRYPOINT", "Dockerfile", `ENTRYPOINT ["/shipper"]`, "ENTRYPOINT /shipper", "exec form"},
		{"CMD without config", "Dockerfile", `CMD ["run", "-c", "/etc/shipper/pipelines.yaml"]`, `CMD ["run"]`, "want CMD"},
		{"ADD of a URL", "Dockerfile", "FROM scratch\n", "FROM scratch\nADD https://example.com/x /x\n", "ADD of a URL"},
		{"cgo build", "Dockerfile", "CGO_ENABLED=0 ", "", "CGO_ENABLED=0"},
		{"version not stamped", "Dockerfile", "-X main.version=${VERSION}", "", "main.version"},
		{"VERSION arg dropped", "Dockerfile", "ARG VERSION=dev\nARG TARGETOS", "ARG TARGETOS", "no ARG VERSION"},
		{"fat final image", "Dockerfile", "FROM scratch", "FROM debian:12.8", "final stage"},
		{"no CA certificates", "Dockerfile", "COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n", "", "CA certificates"},

		// Kubernetes.
		{"no liveness probe", ds, "          livenessProbe:\n            httpGet:\n              path: /healthz\n              port: http\n", "          livenessProbe:\n", "no liveness probe"},
		{"readiness on liveness path", ds, "path: /readyz", "path: /healthz", "readiness probe path"},
		{"probe on wrong port", ds, "              path: /readyz\n              port: http", "              path: /readyz\n              port: 8080", "probe targets port"},
		{"loopback listen", cm, "listen: 0.0.0.0:5066", "listen: 127.0.0.1:5066", "loopback"},
		{"listen port not the probes'", cm, "listen: 0.0.0.0:5066", "listen: 0.0.0.0:9000", "agent listens on 9000"},
		{"pods log mount writable", ds, "mountPath: /var/log/pods\n              readOnly: true", "mountPath: /var/log/pods", "/var/log/pods is mounted read-write"},
		{"containers dir not mounted", ds, "            - name: varlogcontainers\n              mountPath: /var/log/containers\n              readOnly: true\n", "", "/var/log/containers is not mounted"},
		{"pods mounted elsewhere", ds, "mountPath: /var/log/pods", "mountPath: /host/var/log/pods", "/var/log/pods is not mounted"},
		{"state not on the node", ds, "          hostPath:\n            path: /var/lib/shipper\n            type: DirectoryOrCreate", "          emptyDir: {}", "not a hostPath"},
		{"state hostPath must exist", ds, "type: DirectoryOrCreate", "type: Directory", "DirectoryOrCreate"},
		{"state_dir unmounted", cm, "state_dir: /var/lib/shipper", "state_dir: /data", "container's own filesystem"},
		{"no NODE_NAME", ds, "fieldPath: spec.nodeName", "fieldPath: metadata.name", "NODE_NAME"},
		{"Secret not passed", ds, "          envFrom:\n            - secretRef:\n                name: shipper-elasticsearch\n", "", "not passed to the agent"},
		{"credentials in Git", secret, `ES_PASSWORD: ""`, `ES_PASSWORD: "hunter2"`, "no credentials"},
		{"no memory limit", ds, "              memory: 256Mi\n", "", "no memory limit"},
		{"GOMEMLIMIT above limit", ds, "value: 230MiB", "value: 1GiB", "GOMEMLIMIT"},
		{"no tolerations", ds, "        - operator: Exists\n", "        - key: dedicated\n          operator: Exists\n", "toleration"},
		{"writable root fs", ds, "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"misspelt hardening", ds, "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", "readOnlyRootFileSystem"},
		{"capabilities kept", ds, `drop: ["ALL"]`, `drop: ["NET_RAW"]`, "capabilities are not dropped"},
		{"privilege escalation", ds, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation"},
		{"grace shorter than flush", ds, "terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds"},
		{"flush longer than grace", cm, "state_dir: /var/lib/shipper\n", "state_dir: /var/lib/shipper\n    shutdown_timeout: 2m\n", "terminationGracePeriodSeconds"},
		{"docker logs format on CRI", cm, "format: cri", "format: json", "want cri"},
		{"config via subPath", ds, "              mountPath: /etc/shipper\n", "              mountPath: /etc/shipper/pipelines.yaml\n              subPath: pipelines.yaml\n", "subPath"},
		{"config key renamed", cm, "  pipelines.yaml: |", "  shipper.yaml: |", "no key"},
		{"manifest left out", kust, "  - configmap.yaml\n", "", "resources"},
		{"example Secret applied", kust, "  - configmap.yaml\n", "  - configmap.yaml\n  - secret.yaml\n", "resources"},
		{"untagged image", ds, "image: ghcr.io/traceship/shipper:0.1.0", "image: ghcr.io/traceship/shipper", "no version tag"},
		{"env var without default", cm, `"${ES_URL:-http://elasticsearch:9200}"`, `"${ELASTICSEARCH_URL}"`, "ELASTICSEARCH_URL"},

		// The non-root overlay.
		{"overlay uid 0", nonrootDir + "/daemonset-patch.yaml", "            runAsUser: 65532\n            runAsGroup: 65532\n            runAsNonRoot: true", "            runAsUser: 0\n            runAsGroup: 65532\n            runAsNonRoot: true", "non-zero runAsUser"},
		{"overlay chowns to another uid", nonrootDir + "/daemonset-patch.yaml", `"65532:65532", "/var/lib/shipper"`, `"1000:1000", "/var/lib/shipper"`, "no init container chowns"},
		{"overlay without root group", nonrootDir + "/daemonset-patch.yaml", "supplementalGroups: [0]", "supplementalGroups: [2000]", "supplementalGroups"},

		// systemd.
		{"Type=simple", unit, "Type=notify", "Type=simple", "want notify"},
		{"no watchdog", unit, "WatchdogSec=30s\n", "", "WatchdogSec"},
		{"no reload", unit, "ExecReload=/bin/kill -HUP $MAINPID\n", "", "ExecReload"},
		{"reload validates another file", unit, "ExecReload=/usr/local/bin/shipper validate -c /etc/shipper/pipelines.yaml", "ExecReload=/usr/local/bin/shipper validate -c /etc/shipper/other.yaml", "does not use the configuration"},
		{"stop timeout too short", unit, "TimeoutStopSec=60s", "TimeoutStopSec=20s", "TimeoutStopSec"},
		{"state directory renamed", unit, "StateDirectory=shipper", "StateDirectory=logship", "StateDirectory"},
		{"root", unit, "DynamicUser=yes\n", "", "runs as root"},
		{"logs writable", unit, "ReadOnlyPaths=/var/log\n", "", "ReadOnlyPaths"},
		{"capabilities kept by unit", unit, "CapabilityBoundingSet=\n", "", "CapabilityBoundingSet"},
		{"netlink allowed", unit, "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK", "RestrictAddressFamilies"},
		{"no notify socket family", unit, "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "RestrictAddressFamilies=AF_INET AF_INET6", "RestrictAddressFamilies"},
		{"private users", unit, "UMask=0077\n", "UMask=0077\nPrivateUsers=yes\n", "PrivateUsers"},
		{"not enabled at boot", unit, "WantedBy=multi-user.target", "WantedBy=", "WantedBy"},

		// docker-compose.
		{"no healthcheck on Elasticsearch", compose, "      retries: 30\n      start_period: 30s\n", "      retries: 30\n      start_period: 30s\n      disable: true\n", "healthcheck"},
		{"agent starts before Elasticsearch", compose, "    depends_on:\n      elasticsearch:\n        condition: service_healthy\n      demo-app:", "    depends_on:\n      elasticsearch:\n        condition: service_started\n      demo-app:", "shipper does not wait"},
		{"depends_on typo", compose, "condition: service_started", "condtion: service_started", "condtion"},
		{"agent config not mounted", compose, "      - ./deploy/compose/pipelines.yaml:/etc/shipper/pipelines.yaml:ro\n", "", "not bind-mounted"},
		{"agent reads another volume", compose, "      - app-logs:/var/log/demo:ro\n", "      - es-data:/var/log/demo:ro\n", "does not mount volume app-logs"},
		{"demo log outside the globs", compose, "LOG_FILE: /var/log/demo/app.log", "LOG_FILE: /var/log/demo/other.log", "no input path matches"},
		{"state not in a volume", compose, "      - shipper-state:/var/lib/shipper\n", "", "state_dir"},
		{"password mismatch", compose, "      ES_PASSWORD: ${ELASTIC_PASSWORD:-changeme}", "      ES_PASSWORD: ${ELASTIC_PASSWORD:-secret}", "ES_PASSWORD"},
		{"port on every interface", compose, "127.0.0.1:9200:9200", "9200:9200", "every interface"},
		{"stop grace too short", compose, "stop_grace_period: 60s", "stop_grace_period: 5s", "stop_grace_period"},
		{"Elasticsearch 7", compose, "elasticsearch/elasticsearch:8.19.7\n    environment:\n      discovery", "elasticsearch/elasticsearch:7.17.25\n    environment:\n      discovery", "not Elasticsearch 8"},
		{"undeclared volume", compose, "  shipper-state:\n", "", "not declared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := maps.Clone(loadAssets(t))
			src := string(a[tc.file])
			if n := strings.Count(src, tc.old); n != 1 {
				t.Fatalf("%s contains %q %d times; the mutation must match exactly once (update the test to the file)", tc.file, tc.old, n)
			}
			a[tc.file] = []byte(strings.Replace(src, tc.old, tc.new, 1))
			ps := checkAll(a)
			for _, p := range ps {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Errorf("after replacing %q with %q in %s, no problem mentions %q; got %d problem(s):\n%s", tc.old, tc.new, tc.file, tc.want, len(ps), strings.Join(ps, "\n"))
		})
	}
}

// TestConfigMutations: the agent's own parser refuses what the deployment
// checks do not look at (a misspelt key), so TestEmbeddedConfigsParse
// guards the ConfigMap's pipelines.yaml as a whole.
func TestConfigMutations(t *testing.T) {
	a := loadAssets(t)
	var ps problems
	k := loadKubernetes(a, &ps)
	ec, ok := k.configEmbedded(&ps)
	if !ok {
		t.Fatal(ps)
	}
	for _, tc := range []struct{ old, new string }{
		{"state_dir: /var/lib/shipper\n", "state_dir: /var/lib/shipper\nstatedir: /x\n"},
		{"format: cri", "format: syslog5424"},
		{"level: info", "level: verbose"},
	} {
		src := string(ec.data)
		if strings.Count(src, tc.old) != 1 {
			t.Fatalf("the ConfigMap's pipelines.yaml does not contain %q exactly once", tc.old)
		}
		bad := ec
		bad.data = []byte(strings.Replace(src, tc.old, tc.new, 1))
		if _, problems, err := config.Parse(bad.name, bad.data, bad.getenv); err == nil || len(problems.Errors()) == 0 {
			t.Errorf("config.Parse accepted the ConfigMap's pipelines.yaml with %q replaced by %q", tc.old, tc.new)
		}
	}
}
