package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/traceship/shipper/index"
)

// templateVersion is the version of the template and policy this code
// writes; raise it whenever their content changes, so that an older shipper
// does not overwrite a newer one's template.
const templateVersion = 1

// managedBy marks what setup wrote, in _meta.
const managedBy = "shipper"

// Setup installs the ILM policy (if setup.ilm.enabled) and one composable
// index template whose index_patterns are the globs of the pipelines'
// patterns (index.Pattern.Glob: the pipelines' names and nothing broader).
// It is idempotent. It refuses to replace a template that shipper did not
// write, or that a newer shipper wrote, unless setup.template.overwrite is
// set; and it logs a warning for every existing template of higher priority
// whose patterns overlap the pipelines' (the built-in logs-*-* one, say),
// since Elasticsearch would apply that one instead.
func Setup(ctx context.Context, cfg Config, patterns []*index.Pattern, logger *zap.Logger) error {
	if logger == nil {
		logger = zap.NewNop()
	}
	if len(patterns) == 0 {
		return fmt.Errorf("setup: no index patterns")
	}
	es, err := newClient(cfg, logger)
	if err != nil {
		return err
	}
	defer closeClient(es)
	c := &setupClient{es: es}
	version, err := c.version(ctx)
	if err != nil {
		return err
	}
	if cfg.Setup.ILM.Enabled {
		if err := c.checkPolicy(ctx, cfg.Setup.ILM.PolicyName, cfg.Setup.Template.Overwrite); err != nil {
			return err
		}
		if err := c.put(ctx, "/_ilm/policy/"+cfg.Setup.ILM.PolicyName, ilmPolicy(cfg)); err != nil {
			return fmt.Errorf("writing ILM policy %q: %w", cfg.Setup.ILM.PolicyName, err)
		}
		logger.Info("ILM policy written", zap.String("policy", cfg.Setup.ILM.PolicyName))
	}
	globs := index.Globs(patterns)
	slices.Sort(globs)
	existing, err := c.templates(ctx)
	if err != nil {
		return err
	}
	name := cfg.Setup.Template.Name
	for _, t := range existing {
		if t.Name == name {
			if err := checkOwn(t, cfg.Setup.Template.Overwrite); err != nil {
				return err
			}
			continue
		}
		for _, g := range globs {
			for _, tp := range t.Template.IndexPatterns {
				if !index.GlobsOverlap(g, tp) {
					continue
				}
				switch {
				case t.Template.Priority > cfg.Setup.Template.Priority:
					logger.Warn("an existing index template of higher priority matches some of the shipper's indices: Elasticsearch will apply it instead of the shipper's (its mappings, ILM policy, maybe a data stream); rename the indices or raise setup.template.priority",
						zap.String("template", t.Name), zap.Int("priority", t.Template.Priority), zap.String("its_pattern", tp),
						zap.String("shipper_pattern", g), zap.Int("shipper_priority", cfg.Setup.Template.Priority))
				case t.Template.Priority == cfg.Setup.Template.Priority:
					return fmt.Errorf("index template %q (pattern %q) has priority %d like ours and overlaps %q: Elasticsearch refuses overlapping templates of equal priority; change setup.template.priority",
						t.Name, tp, t.Template.Priority, g)
				}
			}
		}
	}
	body := indexTemplate(cfg, globs, matchOnlyText(version))
	if err := c.put(ctx, "/_index_template/"+name, body); err != nil {
		return fmt.Errorf("writing index template %q: %w", name, err)
	}
	logger.Info("index template written", zap.String("template", name), zap.Strings("index_patterns", globs))
	return nil
}

func checkOwn(t namedTemplate, overwrite bool) error {
	if overwrite {
		return nil
	}
	var meta struct {
		ManagedBy string `json:"managed_by"`
	}
	_ = json.Unmarshal(t.Template.Meta, &meta)
	return refuseReplace("index template", t.Name, "setup.template.name", "template version", meta.ManagedBy, t.Template.Version)
}

// checkPolicy refuses to replace an ILM policy shipper did not write, or a
// newer shipper wrote, unless overwrite.
func (c *setupClient) checkPolicy(ctx context.Context, name string, overwrite bool) error {
	if overwrite {
		return nil // whatever is there is replaced: no need to read it
	}
	st, b, err := c.do(ctx, http.MethodGet, "/_ilm/policy/"+name, nil)
	if err != nil {
		return err
	}
	if st == http.StatusNotFound {
		return nil
	}
	if st != http.StatusOK {
		return fmt.Errorf("reading ILM policy %q: Elasticsearch answered %d: %s", name, st, esReason(b))
	}
	var out map[string]struct {
		Policy struct {
			Meta struct {
				ManagedBy string `json:"managed_by"`
				Version   int    `json:"version"`
			} `json:"_meta"`
		} `json:"policy"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("reading ILM policy %q: %w", name, err)
	}
	p, ok := out[name]
	if !ok {
		return nil
	}
	return refuseReplace("ILM policy", name, "setup.ilm.policy_name", "version", p.Policy.Meta.ManagedBy, p.Policy.Meta.Version)
}

// refuseReplace refuses to replace the existing kind ("index template", "ILM
// policy") called name when its _meta.managed_by, managed, says shipper did
// not write it, or when its version says a newer shipper did. nameSetting is
// the setting that chooses another name; versionLabel names the version in
// the error.
func refuseReplace(kind, name, nameSetting, versionLabel, managed string, version int) error {
	if managed != managedBy {
		return fmt.Errorf("%s %q exists and was not written by shipper; refusing to replace it (choose another %s, or set setup.template.overwrite: true)", kind, name, nameSetting)
	}
	if version > templateVersion {
		return fmt.Errorf("%s %q was written by a newer shipper (%s %d, this one writes %d); refusing to downgrade it (set setup.template.overwrite: true to force)",
			kind, name, versionLabel, version, templateVersion)
	}
	return nil
}

type setupClient struct{ es performer }

func (c *setupClient) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.es.Perform(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: reading response: %w", method, path, err)
	}
	return resp.StatusCode, b, nil
}

func (c *setupClient) put(ctx context.Context, path string, body []byte) error {
	st, b, err := c.do(ctx, http.MethodPut, path, body)
	if err != nil {
		return err
	}
	if st/100 != 2 {
		return fmt.Errorf("Elasticsearch answered %d: %s", st, esReason(b))
	}
	return nil
}

// esReason extracts error.reason from an Elasticsearch error body.
func esReason(b []byte) string {
	var e struct {
		Error struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Reason != "" {
		return e.Error.Type + ": " + e.Error.Reason
	}
	if len(b) > 512 {
		b = b[:512]
	}
	return string(b)
}

// version returns the cluster's version number ("8.15.0").
func (c *setupClient) version(ctx context.Context) (string, error) {
	st, b, err := c.do(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return "", fmt.Errorf("connecting to Elasticsearch: %w", err)
	}
	if st != http.StatusOK {
		return "", fmt.Errorf("connecting to Elasticsearch: answered %d: %s", st, esReason(b))
	}
	var info struct {
		Version struct {
			Number string `json:"number"`
		} `json:"version"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return "", fmt.Errorf("reading Elasticsearch's version: %w", err)
	}
	return info.Version.Number, nil
}

type namedTemplate struct {
	Name     string `json:"name"`
	Template struct {
		IndexPatterns []string        `json:"index_patterns"`
		Priority      int             `json:"priority"`
		Version       int             `json:"version"`
		Meta          json.RawMessage `json:"_meta"`
	} `json:"index_template"`
}

func (c *setupClient) templates(ctx context.Context) ([]namedTemplate, error) {
	st, b, err := c.do(ctx, http.MethodGet, "/_index_template", nil)
	if err != nil {
		return nil, err
	}
	if st == http.StatusNotFound {
		return nil, nil
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("listing index templates: Elasticsearch answered %d: %s", st, esReason(b))
	}
	var out struct {
		IndexTemplates []namedTemplate `json:"index_templates"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("reading index templates: %w", err)
	}
	return out.IndexTemplates, nil
}

// matchOnlyText reports whether the cluster knows match_only_text (7.14+).
func matchOnlyText(version string) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return true // unknown: assume a current cluster
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return major > 7 || major == 7 && minor >= 14
}

// esDuration writes d the way Elasticsearch reads time values ("30d").
func esDuration(d time.Duration) string {
	for _, u := range []struct {
		d time.Duration
		s string
	}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.s
		}
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

type obj = map[string]any

// ilmPolicy is the body of PUT _ilm/policy/<name>.
func ilmPolicy(cfg Config) []byte {
	ilm := cfg.Setup.ILM
	hot := obj{"set_priority": obj{"priority": 100}}
	if cfg.Mode == ModeDataStream {
		ro := obj{}
		if ilm.RolloverMaxAge > 0 {
			ro["max_age"] = esDuration(ilm.RolloverMaxAge)
		}
		if ilm.RolloverMaxPrimaryShardSize != "" {
			ro["max_primary_shard_size"] = strings.ToLower(ilm.RolloverMaxPrimaryShardSize)
		}
		hot["rollover"] = ro
	}
	phases := obj{"hot": obj{"min_age": "0ms", "actions": hot}}
	if ilm.WarmAfter > 0 {
		warm := obj{
			"set_priority": obj{"priority": 50},
			"readonly":     obj{},
			"forcemerge":   obj{"max_num_segments": 1},
		}
		if cfg.Setup.Template.Shards > 1 {
			warm["shrink"] = obj{"number_of_shards": 1}
		}
		phases["warm"] = obj{"min_age": esDuration(ilm.WarmAfter), "actions": warm}
	}
	if ilm.DeleteAfter > 0 {
		phases["delete"] = obj{"min_age": esDuration(ilm.DeleteAfter), "actions": obj{"delete": obj{}}}
	}
	b, _ := json.Marshal(obj{"policy": obj{
		"_meta":  obj{"managed_by": managedBy, "version": templateVersion},
		"phases": phases,
	}})
	return b
}

// indexTemplate is the body of PUT _index_template/<name>: settings and ECS
// mappings for the fields the agent writes, other strings as keywords.
func indexTemplate(cfg Config, globs []string, matchOnly bool) []byte {
	kw := obj{"type": "keyword", "ignore_above": 1024}
	keyword := func(names ...string) obj {
		p := obj{}
		for _, n := range names {
			p[n] = kw
		}
		return obj{"properties": p}
	}
	msg := obj{"type": "match_only_text"}
	if !matchOnly {
		msg = obj{"type": "text", "norms": false}
	}
	settings := obj{
		"number_of_shards":   cfg.Setup.Template.Shards,
		"number_of_replicas": cfg.Setup.Template.Replicas,
	}
	if cfg.Setup.ILM.Enabled {
		settings["lifecycle"] = obj{"name": cfg.Setup.ILM.PolicyName}
	}
	t := obj{
		"index_patterns": globs,
		"priority":       cfg.Setup.Template.Priority,
		"version":        templateVersion,
		"_meta":          obj{"managed_by": managedBy, "version": templateVersion, "description": "written by shipper setup"},
		"template": obj{
			"settings": obj{"index": settings},
			"mappings": obj{
				"dynamic_templates": []any{
					obj{"strings_as_keyword": obj{"match_mapping_type": "string", "mapping": kw}},
				},
				"properties": obj{
					"@timestamp": obj{"type": "date"},
					"message":    msg,
					"tags":       kw,
					"trace":      keyword("id"),
					"span":       keyword("id"),
					"parent":     keyword("id"),
					"service":    keyword("name"),
					"host":       keyword("name"),
					"container":  keyword("id"),
					"log": obj{"properties": obj{
						"level":  kw,
						"offset": obj{"type": "long"},
						"file":   keyword("path"),
					}},
					"kubernetes": obj{"properties": obj{
						"namespace": kw,
						"pod":       keyword("name", "uid"),
						"container": keyword("name"),
					}},
					"sample": obj{"properties": obj{"ratio": obj{"type": "float"}}},
				},
			},
		},
	}
	if cfg.Mode == ModeDataStream {
		t["data_stream"] = obj{}
	}
	b, _ := json.Marshal(t)
	return b
}
