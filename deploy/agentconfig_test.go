package deploy

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/traceship/shipper/config"
)

// agentConfig is the part of pipelines.yaml the deployment files must agree
// with: where state lives, where the HTTP endpoint listens, which files are
// read. It is decoded leniently; the agent's own parser (config.Parse) judges
// the whole file in TestEmbeddedConfigsParse.
type agentConfig struct {
	StateDir string `yaml:"state_dir"`
	HTTP     struct {
		Listen string `yaml:"listen"`
	} `yaml:"http"`
	Elasticsearch struct {
		Hosts    []string `yaml:"hosts"`
		Username string   `yaml:"username"`
		Password string   `yaml:"password"`
		APIKey   string   `yaml:"api_key"`
	} `yaml:"elasticsearch"`
	Pipelines []struct {
		Name   string `yaml:"name"`
		Inputs []struct {
			Paths   []string `yaml:"paths"`
			Exclude []string `yaml:"exclude"`
			Parse   struct {
				Format string `yaml:"format"`
			} `yaml:"parse"`
		} `yaml:"inputs"`
	} `yaml:"pipelines"`
}

// embeddedConfig is a pipelines.yaml shipped with a deployment, and the
// environment the agent sees where it is deployed.
type embeddedConfig struct {
	name string // for messages: where it comes from
	data []byte
	env  map[string]string
}

func (c embeddedConfig) getenv(k string) (string, bool) {
	v, ok := c.env[k]
	return v, ok
}

// decode reads the fields the deployment checks need; a file that is not
// even YAML is a problem.
func (c embeddedConfig) decode(ps *problems) agentConfig {
	var ac agentConfig
	if err := yaml.Unmarshal(c.data, &ac); err != nil {
		ps.addf("%s: not valid YAML: %v", c.name, err)
	}
	for _, key := range []string{"state_dir", "http", "elasticsearch", "pipelines"} {
		if !regexp.MustCompile(`(?m)^` + key + `:`).Match(c.data) {
			ps.addf("%s: no top-level %s: the deployment would run on built-in defaults that do not fit it", c.name, key)
		}
	}
	if len(ac.Pipelines) == 0 {
		ps.addf("%s: no pipelines", c.name)
	}
	return ac
}

// shutdownTimeout is how long the agent takes, at most, to stop after
// SIGTERM with this configuration, according to the agent's own parser.
func (c embeddedConfig) shutdownTimeout() time.Duration {
	cfg, _, _ := config.Parse(c.name, c.data, c.getenv)
	return cfg.ShutdownTimeout
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// checkEnvRefs: a ${VAR} without a default that the deployment does not set
// expands to nothing (or fails), e.g. an empty Elasticsearch URL.
func (c embeddedConfig) checkEnvRefs(ps *problems) {
	for _, m := range envRef.FindAllStringSubmatch(string(c.data), -1) {
		if _, ok := c.env[m[1]]; !ok && m[2] == "" {
			ps.addf("%s: ${%s} has no default and the deployment does not set %s", c.name, m[1], m[1])
		}
	}
}

// inputGlobs lists every input path glob of every pipeline.
func (ac agentConfig) inputGlobs() []string {
	var out []string
	for _, p := range ac.Pipelines {
		for _, in := range p.Inputs {
			out = append(out, in.Paths...)
		}
	}
	return out
}

// under reports whether path is dir or below it.
func under(path, dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// TestEmbeddedConfigsParse: the pipelines.yaml files shipped in the
// ConfigMap and for docker-compose are accepted by the agent itself, with the
// environment they get where they are deployed. A key the agent does not
// know, or a value it refuses, would make every pod crash-loop.
func TestEmbeddedConfigsParse(t *testing.T) {
	a := loadAssets(t)
	var ps problems
	k := loadKubernetes(a, &ps)
	cm, ok := k.configEmbedded(&ps)
	cs, _ := loadCompose(a, &ps)
	reportProblems(t, ps)
	if !ok {
		t.FailNow()
	}
	for _, c := range []embeddedConfig{cm, cs.agentConfig()} {
		t.Run(c.name, func(t *testing.T) {
			_, problems, err := config.Parse(c.name, c.data, c.getenv)
			for _, p := range problems {
				t.Error(p)
			}
			if err != nil && len(problems) == 0 {
				t.Error(err)
			}
		})
	}
}
