package deploy

import (
	"bytes"
	"maps"
	"net"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"
)

// composeFile is the subset of the Compose specification docker-compose.yml
// uses, decoded strictly (a misspelt key such as depends-on is an error).
type composeFile struct {
	Name     string                     `yaml:"name"`
	Services map[string]*composeService `yaml:"services"`
	Volumes  map[string]*struct {
		Driver string `yaml:"driver"`
	} `yaml:"volumes"`

	env map[string]string // the host environment the demo runs with (none)
	a   assets
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string            `yaml:"context"`
		Dockerfile string            `yaml:"dockerfile"`
		Args       map[string]string `yaml:"args"`
	} `yaml:"build"`
	Command     []string                     `yaml:"command"`
	Environment map[string]string            `yaml:"environment"`
	Volumes     []string                     `yaml:"volumes"`
	Ports       []string                     `yaml:"ports"`
	DependsOn   map[string]composeDependency `yaml:"depends_on"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
		Disable     bool     `yaml:"disable"`
	} `yaml:"healthcheck"`
	ReadOnly        bool     `yaml:"read_only"`
	CapDrop         []string `yaml:"cap_drop"`
	SecurityOpt     []string `yaml:"security_opt"`
	StopGracePeriod string   `yaml:"stop_grace_period"`
	Restart         string   `yaml:"restart"`
	MemLimit        string   `yaml:"mem_limit"`
}

type composeDependency struct {
	Condition string `yaml:"condition"`
	Restart   bool   `yaml:"restart"`
	Required  *bool  `yaml:"required"`
}

// mount is one short-syntax volume: source:target[:mode].
type mount struct {
	source, target string
	readOnly       bool
	bind           bool // source is a host path
}

func parseMount(s string) mount {
	f := strings.Split(s, ":")
	m := mount{source: f[0]}
	if len(f) > 1 {
		m.target = f[1]
	}
	m.readOnly = len(f) > 2 && slices.Contains(strings.Split(f[2], ","), "ro")
	m.bind = strings.HasPrefix(m.source, ".") || strings.HasPrefix(m.source, "/")
	return m
}

func (s *composeService) mounts() []mount {
	var out []mount
	for _, v := range s.Volumes {
		out = append(out, parseMount(v))
	}
	return out
}

// mountFor returns the deepest mount holding p.
func (s *composeService) mountFor(p string) *mount {
	var best *mount
	for _, m := range s.mounts() {
		if under(p, m.target) && (best == nil || len(m.target) > len(best.target)) {
			best = &m
		}
	}
	return best
}

// interpolate expands ${VAR:-default} and ${VAR} as Compose does, from env,
// and $$ to $.
func interpolate(s string, env map[string]string) string {
	s = envRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		if v, ok := env[m[1]]; ok && v != "" {
			return v
		}
		return strings.TrimPrefix(m[2], ":-")
	})
	return strings.ReplaceAll(s, "$$", "$")
}

func loadCompose(a assets, ps *problems) (*composeFile, bool) {
	cf := &composeFile{env: map[string]string{}, a: a}
	dec := yaml.NewDecoder(bytes.NewReader(a["docker-compose.yml"]))
	dec.KnownFields(true)
	if err := dec.Decode(cf); err != nil {
		ps.addf("docker-compose.yml: %v (if the key is right, add it to deploy/compose_test.go)", err)
		return cf, false
	}
	return cf, true
}

// agentConfig is the pipelines.yaml bind-mounted into the agent's container
// at its -c path, with the agent container's environment.
func (cf *composeFile) agentConfig() embeddedConfig {
	s := cf.Services["shipper"]
	if s == nil {
		return embeddedConfig{name: "docker-compose.yml (no shipper service)"}
	}
	file := configArgOf(s.Command)
	m := s.mountFor(file)
	if m == nil || !m.bind {
		return embeddedConfig{name: "docker-compose.yml (no configuration mounted at " + file + ")"}
	}
	src := path.Clean(strings.TrimPrefix(m.source, "./"))
	env := map[string]string{}
	for k, v := range s.Environment {
		env[k] = interpolate(v, cf.env)
	}
	return embeddedConfig{name: src, data: cf.a[src], env: env}
}

func configArgOf(args []string) string {
	for i, a := range args {
		if (a == "-c" || a == "--config") && i+1 < len(args) {
			return args[i+1]
		}
	}
	return "/etc/shipper/pipelines.yaml" // the image's CMD
}

func checkCompose(a assets) problems {
	var ps problems
	cf, ok := loadCompose(a, &ps)
	if !ok {
		return ps
	}
	for _, name := range []string{"elasticsearch", "kibana", "shipper", "demo-app"} {
		if cf.Services[name] == nil {
			ps.addf("docker-compose.yml: no %s service", name)
		}
	}
	if len(ps) > 0 {
		return ps
	}
	for _, n := range slices.Sorted(maps.Keys(cf.Services)) {
		s := cf.Services[n]
		if s.Image != "" && s.Build == nil && !imagePinned(s.Image) {
			ps.addf("docker-compose.yml: %s image %q is not pinned to a version", n, s.Image)
		}
		for _, p := range s.Ports {
			if host, _, _ := strings.Cut(p, ":"); net.ParseIP(host) == nil || !net.ParseIP(host).IsLoopback() {
				ps.addf("docker-compose.yml: %s publishes %s on every interface; a demo with default passwords belongs on 127.0.0.1", n, p)
			}
		}
		for _, v := range s.mounts() {
			if _, declared := cf.Volumes[v.source]; !v.bind && !declared {
				ps.addf("docker-compose.yml: %s uses volume %q, which is not declared under volumes:", n, v.source)
			}
			if v.bind {
				src := path.Clean(strings.TrimPrefix(v.source, "./"))
				if _, ok := a[src]; !ok {
					ps.addf("docker-compose.yml: %s mounts %s, which is not among the deployment files", n, v.source)
				}
			}
		}
		for dep, d := range s.DependsOn {
			t := cf.Services[dep]
			switch {
			case t == nil:
				ps.addf("docker-compose.yml: %s depends on unknown service %s", n, dep)
			case d.Condition == "service_healthy" && (t.Healthcheck == nil || t.Healthcheck.Disable || len(t.Healthcheck.Test) == 0):
				ps.addf("docker-compose.yml: %s waits for %s to be healthy, but %s has no healthcheck", n, dep, dep)
			case d.Condition == "service_completed_successfully" && t.Restart != "no" && t.Restart != "":
				ps.addf("docker-compose.yml: %s waits for %s to complete, but %s restarts (%s)", n, dep, dep, t.Restart)
			case d.Condition == "":
				ps.addf("docker-compose.yml: %s depends on %s without a condition (it would start before %s is usable)", n, dep, dep)
			}
		}
	}

	es, kb, ag, app := cf.Services["elasticsearch"], cf.Services["kibana"], cf.Services["shipper"], cf.Services["demo-app"]
	if tag := es.Image[strings.LastIndex(es.Image, ":")+1:]; !strings.HasPrefix(tag, "8.") {
		ps.addf("docker-compose.yml: elasticsearch image %s is not Elasticsearch 8", es.Image)
	}
	if es.Healthcheck == nil || len(es.Healthcheck.Test) == 0 || es.Healthcheck.Disable {
		ps.addf("docker-compose.yml: elasticsearch has no healthcheck: the agent and Kibana would start against a node that refuses them")
	}
	if es.Environment["discovery.type"] != "single-node" {
		ps.addf("docker-compose.yml: elasticsearch is not single-node: it would wait for a cluster that never forms")
	}
	for _, who := range []struct {
		name string
		s    *composeService
	}{{"kibana", kb}, {"shipper", ag}} {
		if who.s.DependsOn["elasticsearch"].Condition != "service_healthy" {
			ps.addf("docker-compose.yml: %s does not wait for elasticsearch to be healthy", who.name)
		}
	}

	// The agent: built from this repository, hardened as in Kubernetes.
	if ag.Build == nil || path.Clean(ag.Build.Context) != "." || (ag.Build.Dockerfile != "" && ag.Build.Dockerfile != "Dockerfile") {
		ps.addf("docker-compose.yml: shipper is not built from the repository's Dockerfile (build: {context: ., dockerfile: Dockerfile})")
	}
	if !ag.ReadOnly {
		ps.addf("docker-compose.yml: shipper's root filesystem is not read_only")
	}
	if !slices.Contains(ag.CapDrop, "ALL") {
		ps.addf("docker-compose.yml: shipper keeps its capabilities (want cap_drop: [ALL])")
	}
	if st := cf.agentConfig().shutdownTimeout(); st > 0 {
		g, err := time.ParseDuration(ag.StopGracePeriod)
		if err != nil {
			g = 10 * time.Second // Docker's default
		}
		if g <= st {
			ps.addf("docker-compose.yml: shipper's stop_grace_period %v is not above the agent's shutdown_timeout %v", g, st)
		}
	}

	// Its configuration, mounted read-only where -c points.
	file := configArgOf(ag.Command)
	if m := ag.mountFor(file); m == nil || !m.bind || m.target != file || !m.readOnly {
		ps.addf("docker-compose.yml: shipper's configuration %s is not bind-mounted read-only from the repository", file)
		return ps
	}
	ec := cf.agentConfig()
	ac := ec.decode(&ps)
	ec.checkEnvRefs(&ps)

	// Credentials agree: the agent logs in with the password Elasticsearch
	// was given, Kibana with the one setup gave kibana_system.
	if u, p := interpolate(ag.Environment["ES_USERNAME"], cf.env), interpolate(ag.Environment["ES_PASSWORD"], cf.env); u == "elastic" && p != interpolate(es.Environment["ELASTIC_PASSWORD"], cf.env) {
		ps.addf("docker-compose.yml: shipper's ES_PASSWORD %q is not elasticsearch's ELASTIC_PASSWORD", p)
	}
	if setup := cf.Services["setup"]; setup != nil && interpolate(kb.Environment["ELASTICSEARCH_PASSWORD"], cf.env) != interpolate(setup.Environment["KIBANA_PASSWORD"], cf.env) {
		ps.addf("docker-compose.yml: kibana's ELASTICSEARCH_PASSWORD is not the password setup gives kibana_system")
	}

	// The demo app's log reaches the agent: the file it writes is in a
	// volume the agent mounts read-only, where an input glob matches it.
	logFile := app.Environment["LOG_FILE"]
	am := app.mountFor(logFile)
	if logFile == "" || am == nil || am.bind {
		ps.addf("docker-compose.yml: demo-app's LOG_FILE %q is not in a named volume", logFile)
		return ps
	}
	var seen string
	for _, m := range ag.mounts() {
		if m.source != am.source {
			continue
		}
		if !m.readOnly {
			ps.addf("docker-compose.yml: shipper mounts the demo app's logs read-write")
		}
		seen = path.Join(m.target, strings.TrimPrefix(logFile, am.target))
	}
	if seen == "" {
		ps.addf("docker-compose.yml: shipper does not mount volume %s, where demo-app writes its log", am.source)
	}
	for _, f := range []string{seen, seen + ".1"} { // the live file and its rotated predecessor
		if seen == "" {
			break
		}
		if !slices.ContainsFunc(ac.inputGlobs(), func(g string) bool { ok, _ := doublestar.Match(g, f); return ok }) {
			ps.addf("%s: no input path matches %s, where the agent sees the demo app's log", ec.name, f)
		}
	}

	// State in a volume, HTTP published.
	if m := ag.mountFor(ac.StateDir); ac.StateDir == "" || m == nil || m.bind || m.readOnly {
		ps.addf("docker-compose.yml: the agent's state_dir %q is not a writable named volume: checkpoints would be lost with the container", ac.StateDir)
	}
	if _, port, err := net.SplitHostPort(ac.HTTP.Listen); err != nil || !slices.ContainsFunc(ag.Ports, func(p string) bool { return strings.HasSuffix(p, ":"+port) }) {
		ps.addf("docker-compose.yml: the agent's HTTP endpoint (%s) is not published", ac.HTTP.Listen)
	}
	return ps
}

func TestCompose(t *testing.T) {
	reportProblems(t, checkCompose(loadAssets(t)))
}
