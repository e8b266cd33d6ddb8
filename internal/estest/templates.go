package estest

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/traceship/shipper/internal/jsonscan"
)

// templateBody is a composable index template as PUT.
type templateBody struct {
	IndexPatterns json.RawMessage `json:"index_patterns"`
	Priority      *int64          `json:"priority,omitempty"`
	Template      *struct {
		Settings  json.RawMessage `json:"settings,omitempty"`
		Mappings  json.RawMessage `json:"mappings,omitempty"`
		Aliases   json.RawMessage `json:"aliases,omitempty"`
		Lifecycle json.RawMessage `json:"lifecycle,omitempty"`
	} `json:"template,omitempty"`
	DataStream      json.RawMessage `json:"data_stream,omitempty"`
	ComposedOf      []string        `json:"composed_of"`
	Version         *int64          `json:"version,omitempty"`
	Meta            json.RawMessage `json:"_meta,omitempty"`
	AllowAutoCreate *bool           `json:"allow_auto_create,omitempty"`
	IgnoreMissing   []string        `json:"ignore_missing_component_templates,omitempty"`
	Deprecated      *bool           `json:"deprecated,omitempty"`
}

// parseTemplate validates a template body and returns it normalised the way
// Elasticsearch stores it: index_patterns always a list, composed_of
// present, settings nested under "index" with string values.
func parseTemplate(name string, body []byte) (*template, *esError) {
	var tb templateBody
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &esError{Type: "parse_exception", Reason: "request body is required"}
	}
	if r, ok := decodeStrict(body, &tb, "index_template"); !ok {
		return nil, errorOf(r)
	}
	var patterns []string
	if len(tb.IndexPatterns) > 0 {
		if tb.IndexPatterns[0] == '"' {
			var p string
			json.Unmarshal(tb.IndexPatterns, &p)
			patterns = []string{p}
		} else if err := json.Unmarshal(tb.IndexPatterns, &patterns); err != nil {
			return nil, &esError{Type: "x_content_parse_exception", Reason: "[index_template] failed to parse field [index_patterns]"}
		}
	}
	if len(patterns) == 0 {
		return nil, &esError{Type: "action_request_validation_exception", Reason: "Validation Failed: 1: index patterns are missing;"}
	}
	for _, p := range patterns {
		if strings.ContainsAny(p, " ,\\/?\"<>|#") || strings.HasPrefix(p, "_") || strings.ToLower(p) != p {
			return nil, &esError{Type: "invalid_index_template_exception",
				Reason: "index_template [" + name + "] invalid, cause [index_pattern [" + p + "] must be lowercase and must not contain spaces, ',', '\\', '/', '?', '\"', '<', '>', '|', '#' or start with '_']"}
		}
	}
	if tb.ComposedOf == nil {
		tb.ComposedOf = []string{}
	}
	t := &template{name: name, patterns: patterns, dataStream: len(tb.DataStream) > 0 && string(tb.DataStream) != "null"}
	if tb.Priority != nil {
		if *tb.Priority < 0 {
			return nil, &esError{Type: "action_request_validation_exception", Reason: "Validation Failed: 1: index template priority must be >= 0;"}
		}
		t.priority = *tb.Priority
	}
	norm := map[string]any{"index_patterns": patterns, "composed_of": tb.ComposedOf}
	if tb.Priority != nil {
		norm["priority"] = *tb.Priority
	}
	if tb.Version != nil {
		norm["version"] = *tb.Version
	}
	if len(tb.Meta) > 0 {
		norm["_meta"] = tb.Meta
	}
	if tb.AllowAutoCreate != nil {
		norm["allow_auto_create"] = *tb.AllowAutoCreate
	}
	if len(tb.IgnoreMissing) > 0 {
		norm["ignore_missing_component_templates"] = tb.IgnoreMissing
	}
	if tb.Deprecated != nil {
		norm["deprecated"] = *tb.Deprecated
	}
	if t.dataStream {
		ds := map[string]any{"hidden": false, "allow_custom_routing": false}
		var given map[string]any
		if err := json.Unmarshal(tb.DataStream, &given); err != nil {
			return nil, &esError{Type: "x_content_parse_exception", Reason: "[index_template] failed to parse field [data_stream]"}
		}
		for k, v := range given {
			ds[k] = v
		}
		norm["data_stream"] = ds
	}
	if tb.Template != nil {
		inner := map[string]any{}
		if len(tb.Template.Settings) > 0 {
			settings, e := normalizeSettings(tb.Template.Settings)
			if e != nil {
				return nil, e
			}
			inner["settings"] = settings
			if idx, _ := settings["index"].(map[string]any); idx != nil {
				if lc, _ := idx["lifecycle"].(map[string]any); lc != nil {
					t.lifecycle, _ = lc["name"].(string)
				}
			}
		}
		if len(tb.Template.Mappings) > 0 && string(tb.Template.Mappings) != "null" {
			if e := newMapping().merge(tb.Template.Mappings); e != nil {
				return nil, e
			}
			t.mappings = tb.Template.Mappings
			inner["mappings"] = tb.Template.Mappings
		}
		if len(tb.Template.Aliases) > 0 {
			inner["aliases"] = tb.Template.Aliases
		}
		if len(tb.Template.Lifecycle) > 0 {
			inner["lifecycle"] = tb.Template.Lifecycle
		}
		norm["template"] = inner
	}
	t.raw = mustJSON(norm)
	return t, nil
}

func (t *template) policy() string { return t.lifecycle }

// normalizeSettings turns settings as written ({"number_of_shards": 1},
// {"index.lifecycle.name": "x"}, {"index": {"lifecycle": {...}}}) into the
// shape Elasticsearch returns: nested under "index", values as strings.
func normalizeSettings(raw json.RawMessage) (map[string]any, *esError) {
	var in map[string]any
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &esError{Type: "settings_exception", Reason: "Failed to load settings from [" + string(raw) + "]"}
	}
	flat := map[string]any{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, vv := range x {
				walk(prefix+k+".", vv)
			}
		case []any:
			ss := make([]any, len(x))
			for i, e := range x {
				ss[i] = settingString(e)
			}
			flat[strings.TrimSuffix(prefix, ".")] = ss
		case nil:
		default:
			flat[strings.TrimSuffix(prefix, ".")] = settingString(x)
		}
	}
	walk("", in)
	out := map[string]any{}
	for k, v := range flat {
		if !strings.HasPrefix(k, "index.") {
			k = "index." + k
		}
		parts := strings.Split(k, ".")
		m := out
		for _, p := range parts[:len(parts)-1] {
			next, _ := m[p].(map[string]any)
			if next == nil {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = v
	}
	return out, nil
}

func settingString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return string(mustJSON(v))
}

func errorOf(r response) *esError {
	var env struct {
		Error struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	json.Unmarshal(r.body, &env)
	return &esError{Type: env.Error.Type, Reason: env.Error.Reason}
}

func (s *Server) putTemplate(r *http.Request, name string, body []byte) response {
	t, e := parseTemplate(name, body)
	if e != nil {
		return errorResponse(400, e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.templates[name]; exists && r.URL.Query().Get("create") == "true" {
		return illegalArgument("index template [" + name + "] already exists")
	}
	// Elasticsearch refuses two templates of equal priority whose patterns
	// can match the same index: which one applies would be ambiguous.
	var clashNames, clashDescs []string
	for _, other := range slices.Sorted(maps.Keys(s.templates)) {
		o := s.templates[other]
		if other == name || o.priority != t.priority {
			continue
		}
		if patternsOverlap(t.patterns, o.patterns) {
			clashNames = append(clashNames, other)
			clashDescs = append(clashDescs, other+" => ["+strings.Join(o.patterns, ", ")+"]")
		}
	}
	if len(clashNames) > 0 {
		return illegalArgument("index template [" + name + "] has index patterns [" + strings.Join(t.patterns, ", ") +
			"] matching patterns from existing templates [" + strings.Join(clashNames, ",") + "] with patterns (" +
			strings.Join(clashDescs, ",") + ") that have the same priority [" + strconv.FormatInt(t.priority, 10) +
			"], multiple index templates may not match during index creation, please use a different priority")
	}
	s.templates[name] = t
	return okJSON(acknowledged)
}

func patternsOverlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if globsOverlap(x, y) {
				return true
			}
		}
	}
	return false
}

func (s *Server) getTemplates(name string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := []byte(`{"index_templates":[`)
	n := 0
	for _, k := range slices.Sorted(maps.Keys(s.templates)) {
		if name != "" && !matchesAnyName(name, k) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"name":`...)
		b = jsonscan.AppendString(b, k)
		b = append(b, `,"index_template":`...)
		b = append(b, s.templates[k].raw...)
		b = append(b, '}')
	}
	if n == 0 && name != "" && !strings.Contains(name, "*") {
		return resourceNotFound("index template matching [" + name + "] not found")
	}
	return okJSON(append(b, "]}"...))
}

// matchesAnyName matches a name against a comma list of names/wildcards.
func matchesAnyName(expr, name string) bool {
	for _, p := range strings.Split(expr, ",") {
		if globMatch(p, name) {
			return true
		}
	}
	return false
}

func (s *Server) deleteTemplate(name string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, k := range slices.Sorted(maps.Keys(s.templates)) {
		if matchesAnyName(name, k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return resourceNotFound("index_template [" + name + "] missing")
	}
	for _, k := range names {
		var users []string
		for _, ds := range slices.Sorted(maps.Keys(s.streams)) {
			if s.streams[ds].template == k {
				users = append(users, ds)
			}
		}
		if len(users) > 0 {
			return illegalArgument("unable to remove composable templates [" + k + "] as they are in use by a data streams [" +
				strings.Join(users, ", ") + "]")
		}
	}
	for _, k := range names {
		delete(s.templates, k)
	}
	return okJSON(acknowledged)
}

// ILM phases and the actions each allows (TimeseriesLifecycleType).
var ilmActions = map[string][]string{
	"hot":    {"set_priority", "unfollow", "rollover", "readonly", "downsample", "shrink", "forcemerge", "searchable_snapshot"},
	"warm":   {"set_priority", "unfollow", "readonly", "downsample", "allocate", "migrate", "shrink", "forcemerge"},
	"cold":   {"set_priority", "unfollow", "readonly", "downsample", "searchable_snapshot", "allocate", "migrate", "freeze"},
	"frozen": {"unfollow", "searchable_snapshot"},
	"delete": {"wait_for_snapshot", "delete"},
}

// timeValue is the grammar of Elasticsearch time values ("30d", "0ms").
var timeValue = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?(nanos|micros|ms|s|m|h|d)$`)

// badTimeValue is Elasticsearch's error for a setting that is not a time
// value.
func badTimeValue(setting, value string) *esError {
	return &esError{Type: "illegal_argument_exception",
		Reason: "failed to parse setting [" + setting + "] with value [" + value + "] as a time value: unit is missing or unrecognized"}
}

// normalizePolicy validates an ILM policy and returns it as Elasticsearch
// stores it (min_age defaulted to "0ms", delete's delete_searchable_snapshot
// defaulted to true).
func normalizePolicy(raw json.RawMessage) (map[string]any, *esError) {
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil || p == nil {
		return nil, &esError{Type: "x_content_parse_exception", Reason: "[1:2] [lifecycle_policy] failed to parse: expected an object"}
	}
	for k := range p {
		if k != "phases" && k != "_meta" && k != "deprecated" {
			return nil, &esError{Type: "x_content_parse_exception", Reason: "[1:2] [lifecycle_policy] unknown field [" + k + "]"}
		}
	}
	phases, ok := p["phases"].(map[string]any)
	if !ok {
		return nil, &esError{Type: "x_content_parse_exception", Reason: "[1:2] [lifecycle_policy] failed to parse field [phases]: phases is required"}
	}
	for _, name := range slices.Sorted(maps.Keys(phases)) {
		allowed, known := ilmActions[name]
		if !known {
			return nil, &esError{Type: "illegal_argument_exception", Reason: "Timeseries lifecycle does not support phase [" + name + "]"}
		}
		ph, ok := phases[name].(map[string]any)
		if !ok {
			return nil, &esError{Type: "x_content_parse_exception", Reason: "[phase] failed to parse: phase [" + name + "] must be an object"}
		}
		for k := range ph {
			if k != "min_age" && k != "actions" {
				return nil, &esError{Type: "x_content_parse_exception", Reason: "[phase] unknown field [" + k + "]"}
			}
		}
		if ma, ok := ph["min_age"]; ok {
			s, _ := ma.(string)
			if !timeValue.MatchString(s) {
				return nil, badTimeValue("min_age", settingString(ma))
			}
		} else {
			ph["min_age"] = "0ms"
		}
		actions, _ := ph["actions"].(map[string]any)
		if actions == nil {
			actions = map[string]any{}
			ph["actions"] = actions
		}
		for _, a := range slices.Sorted(maps.Keys(actions)) {
			if !slices.Contains(allowed, a) {
				return nil, &esError{Type: "illegal_argument_exception", Reason: "invalid action [" + a + "] defined in phase [" + name + "]"}
			}
		}
		if name == "hot" {
			if _, ok := actions["rollover"]; !ok {
				var need []string
				for _, a := range []string{"shrink", "forcemerge", "searchable_snapshot", "downsample"} {
					if _, ok := actions[a]; ok {
						need = append(need, a)
					}
				}
				if len(need) > 0 {
					return nil, &esError{Type: "illegal_argument_exception", Reason: "the [" + strings.Join(need, ", ") +
						"] action(s) may not be used in the [hot] phase without an accompanying [rollover] action"}
				}
			}
		}
		if d, ok := actions["delete"].(map[string]any); ok {
			if _, set := d["delete_searchable_snapshot"]; !set {
				d["delete_searchable_snapshot"] = true
			}
		}
	}
	return p, nil
}

func (s *Server) putPolicy(name string, body []byte) response {
	var req struct {
		Policy json.RawMessage `json:"policy"`
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("parse_exception", "request body is required")
	}
	if r, ok := decodeStrict(body, &req, "put_lifecycle_request"); !ok {
		return r
	}
	if len(req.Policy) == 0 {
		return badRequest("x_content_parse_exception", "[1:2] Required [policy]")
	}
	p, e := normalizePolicy(req.Policy)
	if e != nil {
		return errorResponse(400, e)
	}
	norm := mustJSON(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.policies[name]; old != nil {
		var was map[string]any
		json.Unmarshal(old.raw, &was)
		var now map[string]any
		json.Unmarshal(norm, &now)
		if reflect.DeepEqual(was, now) {
			return okJSON(acknowledged) // unchanged: a no-op, the version stays
		}
		old.raw, old.version, old.modified = norm, old.version+1, s.now()
		return okJSON(acknowledged)
	}
	s.policies[name] = &policy{raw: norm, version: 1, modified: s.now()}
	return okJSON(acknowledged)
}

func (s *Server) getPolicies(name string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(s.policies)) {
		if name != "" && !matchesAnyName(name, k) {
			continue
		}
		p := s.policies[k]
		var ixs, dss, tpls []string
		for _, n := range slices.Sorted(maps.Keys(s.indices)) {
			if s.indices[n].policy == k {
				ixs = append(ixs, n)
			}
		}
		for _, n := range slices.Sorted(maps.Keys(s.streams)) {
			if t := s.templates[s.streams[n].template]; t != nil && t.policy() == k {
				dss = append(dss, n)
			}
		}
		for _, n := range slices.Sorted(maps.Keys(s.templates)) {
			if s.templates[n].policy() == k {
				tpls = append(tpls, n)
			}
		}
		out[k] = map[string]any{
			"version":       p.version,
			"modified_date": p.modified.UTC().Format("2006-01-02T15:04:05.000Z"),
			"policy":        json.RawMessage(p.raw),
			"in_use_by":     map[string]any{"indices": nonNil(ixs), "data_streams": nonNil(dss), "composable_templates": nonNil(tpls)},
		}
	}
	if len(out) == 0 && name != "" {
		return resourceNotFound("Lifecycle policy not found: " + name)
	}
	return okJSON(mustJSON(out))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) deletePolicy(name string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.policies[name] == nil {
		return resourceNotFound("Lifecycle policy not found: " + name)
	}
	var users []string
	for _, n := range slices.Sorted(maps.Keys(s.indices)) {
		if s.indices[n].policy == name {
			users = append(users, n)
		}
	}
	if len(users) > 0 {
		return illegalArgument("Cannot delete policy [" + name + "]. It is in use by one or more indices: [" + strings.Join(users, ", ") + "]")
	}
	delete(s.policies, name)
	return okJSON(acknowledged)
}

func (s *Server) getDataStreams(name string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []any
	for _, k := range slices.Sorted(maps.Keys(s.streams)) {
		if name != "" && name != "*" && name != "_all" && !matchesAnyName(name, k) {
			continue
		}
		ds := s.streams[k]
		pol := ""
		if t := s.templates[ds.template]; t != nil {
			pol = t.policy()
		}
		var ixs []any
		for _, n := range ds.indices {
			e := map[string]any{"index_name": n, "index_uuid": s.indices[n].uuid, "prefer_ilm": true,
				"managed_by": "Unmanaged"}
			if pol != "" {
				e["ilm_policy"] = pol
				e["managed_by"] = "Index Lifecycle Management"
			}
			ixs = append(ixs, e)
		}
		entry := map[string]any{"name": k, "timestamp_field": map[string]any{"name": "@timestamp"},
			"indices": ixs, "generation": ds.generation, "status": "YELLOW", "template": ds.template,
			"next_generation_managed_by": "Unmanaged", "prefer_ilm": true, "hidden": false, "system": false,
			"allow_custom_routing": false, "replicated": false, "rollover_on_write": false}
		if pol != "" {
			entry["ilm_policy"] = pol
			entry["next_generation_managed_by"] = "Index Lifecycle Management"
		}
		list = append(list, entry)
	}
	if len(list) == 0 && name != "" && !strings.Contains(name, "*") && name != "_all" {
		return indexNotFound(name)
	}
	if list == nil {
		list = []any{}
	}
	return okJSON(mustJSON(map[string]any{"data_streams": list}))
}

func (s *Server) putDataStream(name string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := validateIndexName(name); e != nil {
		return errorResponse(400, e)
	}
	if strings.HasPrefix(name, ".ds-") {
		return illegalArgument("data_stream [" + name + "] must not start with '.ds-'")
	}
	if s.streams[name] != nil {
		return errorResponse(400, &esError{Type: "resource_already_exists_exception", Reason: "data_stream [" + name + "] already exists"})
	}
	if s.indices[name] != nil {
		return errorResponse(400, &esError{Type: "resource_already_exists_exception", Reason: "index [" + name + "] already exists"})
	}
	t := s.templateForLocked(name)
	if t == nil {
		return illegalArgument("no matching index template found for data stream [" + name + "]")
	}
	if !t.dataStream {
		return illegalArgument("matching index template [" + t.name + "] for data stream [" + name + "] has no data stream template")
	}
	s.createStreamLocked(name, t)
	return okJSON(acknowledged)
}

func (s *Server) deleteDataStream(name string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, k := range slices.Sorted(maps.Keys(s.streams)) {
		if matchesAnyName(name, k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		if strings.Contains(name, "*") {
			return okJSON(acknowledged)
		}
		return indexNotFound(name)
	}
	for _, k := range names {
		for _, ix := range s.streams[k].indices {
			delete(s.indices, ix)
		}
		delete(s.streams, k)
	}
	return okJSON(acknowledged)
}
