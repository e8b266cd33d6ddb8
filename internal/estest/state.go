package estest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// index is one concrete index.
type index struct {
	name     string
	uuid     string
	docs     map[string]*Doc
	ids      map[string]struct{} // discard mode: the _ids, no sources
	seqNo    int64               // next _seq_no
	mapping  *mapping
	stream   string // the data stream this index backs, if any
	template string // the template it was created from, if any
	policy   string // index.lifecycle.name from the template
	created  time.Time
}

// template is a composable index template.
type template struct {
	name       string
	raw        json.RawMessage // the body as PUT
	patterns   []string
	priority   int64
	dataStream bool
	mappings   json.RawMessage // template.mappings, may be nil
	lifecycle  string          // settings index.lifecycle.name
	builtin    bool
}

// policy is an ILM policy.
type policy struct {
	raw      json.RawMessage // the "policy" object
	version  int64
	modified time.Time
}

// dataStream is a data stream and its backing indices (oldest first; the
// last is the write index).
type dataStream struct {
	name       string
	template   string
	indices    []string
	generation int
}

// builtinLogs is the body of Elasticsearch 8's built-in `logs` template
// (simplified: the component templates it is composed of are folded into
// its mappings). Any index named like logs-*-* becomes a data stream.
const builtinLogs = `{"index_patterns":["logs-*-*"],"priority":100,"data_stream":{"hidden":false,"allow_custom_routing":false},` +
	`"composed_of":["logs@mappings","logs@settings","logs@custom","ecs@mappings"],` +
	`"template":{"settings":{"index":{"lifecycle":{"name":"logs"},"mode":"standard"}},` +
	`"mappings":{"date_detection":false,"dynamic_templates":[{"ecs_strings":{"match_mapping_type":"string","mapping":{"type":"keyword"}}}],` +
	`"properties":{"@timestamp":{"type":"date"},"message":{"type":"match_only_text"},` +
	`"data_stream":{"properties":{"type":{"type":"constant_keyword"},"dataset":{"type":"constant_keyword"},"namespace":{"type":"constant_keyword"}}}}}},` +
	`"_meta":{"description":"default logs template installed by x-pack","managed":true},"version":14,"allow_auto_create":true}`

func (s *Server) installBuiltins() {
	t, err := parseTemplate("logs", []byte(builtinLogs))
	if err != nil {
		panic("estest: built-in logs template: " + err.Reason)
	}
	t.builtin = true
	s.templates["logs"] = t
	s.policies["logs"] = &policy{
		raw:      json.RawMessage(`{"phases":{"hot":{"min_age":"0ms","actions":{"rollover":{"max_primary_shard_size":"50gb","max_age":"30d"}}}},"_meta":{"description":"default policy for the logs index template installed by x-pack","managed":true}}`),
		version:  1,
		modified: time.Unix(0, 0).UTC(),
	}
}

// newUUID returns a deterministic, UUID-looking base64 id.
func (s *Server) newUUID() string {
	s.idCounter++
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], s.idCounter)
	copy(b[:8], "estestid")
	return base64.RawURLEncoding.EncodeToString(b[:])[:22]
}

// newDocID returns a generated _id: 20 URL-safe base64 characters like
// Elasticsearch's time-based ids, unique within this server.
func (s *Server) newDocID() string {
	s.idCounter++
	var b [15]byte
	binary.BigEndian.PutUint64(b[7:], s.idCounter)
	copy(b[:7], "estest0")
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// resolveLocked expands an Elasticsearch multi-target expression (comma
// list of names, data-stream names and wildcard patterns, "-" exclusions
// after a wildcard, "" / "_all" for everything) to concrete indices in name
// order. missing is the first concrete (wildcard-free) name that does not
// exist, for a 404.
func (s *Server) resolveLocked(expr string) []*index {
	ixs, _ := s.resolveMissingLocked(expr)
	return ixs
}

func (s *Server) resolveMissingLocked(expr string) (out []*index, missing string) {
	seen := map[string]bool{}
	add := func(name string) {
		if ix := s.indices[name]; ix != nil && !seen[name] {
			seen[name] = true
			out = append(out, ix)
		}
	}
	if expr == "" || expr == "_all" {
		expr = "*,.*"
	}
	for i, part := range strings.Split(expr, ",") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "-") && i > 0 {
			excl := part[1:]
			out = slices.DeleteFunc(out, func(ix *index) bool {
				if globMatch(excl, ix.name) || (ix.stream != "" && globMatch(excl, ix.stream)) {
					delete(seen, ix.name)
					return true
				}
				return false
			})
			continue
		}
		if !strings.Contains(part, "*") {
			if ds := s.streams[part]; ds != nil {
				for _, n := range ds.indices {
					add(n)
				}
				continue
			}
			if s.indices[part] == nil && missing == "" {
				missing = part
			}
			add(part)
			continue
		}
		hidden := strings.HasPrefix(part, ".")
		for name := range s.indices {
			if (hidden || !strings.HasPrefix(name, ".")) && globMatch(part, name) {
				add(name)
			}
		}
		for name, ds := range s.streams {
			if globMatch(part, name) {
				for _, n := range ds.indices {
					add(n)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b *index) int { return strings.Compare(a.name, b.name) })
	return out, missing
}

// globMatch reports whether name matches pattern, where '*' matches any run
// of characters (Elasticsearch's simple wildcard matching).
func globMatch(pattern, name string) bool {
	for {
		star := strings.IndexByte(pattern, '*')
		if star < 0 {
			return pattern == name
		}
		if !strings.HasPrefix(name, pattern[:star]) {
			return false
		}
		name = name[star:]
		pattern = pattern[star+1:]
		if pattern == "" {
			return true
		}
		// Try every position for the rest; patterns are short.
		for i := 0; i <= len(name); i++ {
			if globMatch(pattern, name[i:]) {
				return true
			}
		}
		return false
	}
}

// globsOverlap reports whether some name matches both patterns (used for
// Elasticsearch's "same priority, overlapping patterns" template check).
func globsOverlap(a, b string) bool {
	// memo over (i, j) positions: can a[i:] and b[j:] match a common string?
	type key struct{ i, j int }
	memo := map[key]bool{}
	var f func(i, j int) bool
	f = func(i, j int) bool {
		k := key{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var r bool
		switch {
		case i == len(a) && j == len(b):
			r = true
		case i < len(a) && a[i] == '*':
			// a's star matches nothing more, or takes b's next symbol (a
			// literal, or b's star's share when b's star outlasts it).
			r = f(i+1, j) || (j < len(b) && f(i, j+1))
		case j < len(b) && b[j] == '*':
			r = f(i, j+1) || (i < len(a) && f(i+1, j))
		case i < len(a) && j < len(b):
			r = a[i] == b[j] && f(i+1, j+1)
		}
		memo[k] = r
		return r
	}
	return f(0, 0)
}

// templateForLocked returns the highest-priority template whose patterns
// match name, or nil.
func (s *Server) templateForLocked(name string) *template {
	var best *template
	for _, t := range s.templates {
		for _, p := range t.patterns {
			if globMatch(p, name) {
				if best == nil || t.priority > best.priority || (t.priority == best.priority && t.name < best.name) {
					best = t
				}
				break
			}
		}
	}
	return best
}
