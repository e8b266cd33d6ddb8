package estest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/traceship/shipper/internal/jsonscan"
)

// validateIndexName applies Elasticsearch's index name rules
// (MetadataCreateIndexService.validateIndexOrAliasName and friends).
func validateIndexName(name string) *esError {
	bad := func(why string) *esError {
		return &esError{Type: "invalid_index_name_exception", Reason: "Invalid index name [" + name + "], " + why,
			Extra: []string{"index_uuid", "_na_", "index", name}}
	}
	if name == "" {
		return bad("must not be empty")
	}
	if strings.ContainsAny(name, "\\/*?\"<>| ,#:") {
		if strings.Contains(name, ":") && !strings.ContainsAny(name, "\\/*?\"<>| ,#") {
			return bad("must not contain ':'")
		}
		return bad(`must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]`)
	}
	if name == "." || name == ".." {
		return bad("must not be '.' or '..'")
	}
	if c := name[0]; c == '_' || c == '-' || c == '+' {
		return bad("must not start with '_', '-', or '+'")
	}
	if strings.ToLower(name) != name {
		return bad("must be lowercase")
	}
	if n := len(name); n > 255 {
		return bad("index name is too long, (" + strconv.Itoa(n) + " > 255)")
	}
	if !utf8.ValidString(name) {
		return bad("must be valid UTF-8")
	}
	return nil
}

// writeIndexLocked finds the index a bulk item writes to, auto-creating it
// (or its data stream) the way Elasticsearch does, and enforces the
// data-stream rules. It returns an item status and error on refusal.
func (s *Server) writeIndexLocked(name, op string) (*index, int, *esError) {
	if ds := s.streams[name]; ds != nil {
		// Writes to a data stream append; overwrites and deletes by _id
		// must target the backing index.
		if op != "create" {
			return nil, 400, &esError{Type: "illegal_argument_exception",
				Reason: "only write ops with an op_type of create are allowed in data streams"}
		}
		return s.indices[ds.indices[len(ds.indices)-1]], 0, nil
	}
	if ix := s.indices[name]; ix != nil {
		return ix, 0, nil
	}
	if e := validateIndexName(name); e != nil {
		return nil, 400, e
	}
	if op == "delete" {
		return nil, 404, &esError{Type: "index_not_found_exception", Reason: "no such index [" + name + "]",
			Extra: []string{"resource.type", "index_expression", "resource.id", name, "index_uuid", "_na_", "index", name}}
	}
	t := s.templateForLocked(name)
	if t != nil && t.dataStream {
		ds := s.createStreamLocked(name, t)
		if op != "create" {
			return nil, 400, &esError{Type: "illegal_argument_exception",
				Reason: "only write ops with an op_type of create are allowed in data streams"}
		}
		return s.indices[ds.indices[len(ds.indices)-1]], 0, nil
	}
	ix, e := s.createIndexLocked(name, t, nil)
	if e != nil {
		return nil, 400, e
	}
	return ix, 0, nil
}

// createIndexLocked creates a concrete index with mappings from its
// template (if any) overlaid by explicit mappings.
func (s *Server) createIndexLocked(name string, t *template, mappings json.RawMessage) (*index, *esError) {
	m := newMapping()
	if t != nil && len(t.mappings) > 0 {
		if e := m.merge(t.mappings); e != nil {
			return nil, e
		}
	}
	if len(mappings) > 0 {
		if e := m.merge(mappings); e != nil {
			return nil, e
		}
	}
	ix := &index{name: name, uuid: s.newUUID(), docs: map[string]*Doc{}, mapping: m, created: s.now()}
	if s.opts.discard {
		ix.ids = map[string]struct{}{}
	}
	if t != nil {
		ix.template = t.name
		ix.policy = t.policy()
	}
	s.indices[name] = ix
	return ix, nil
}

func (s *Server) createStreamLocked(name string, t *template) *dataStream {
	backing := ".ds-" + name + "-" + s.now().UTC().Format("2006.01.02") + "-000001"
	ix, e := s.createIndexLocked(backing, t, nil)
	if e != nil {
		// The template's mappings were validated when it was PUT.
		panic("estest: creating backing index: " + e.Reason)
	}
	ix.stream = name
	ds := &dataStream{name: name, template: t.name, indices: []string{backing}, generation: 1}
	s.streams[name] = ds
	return ds
}

func (s *Server) createIndex(name string, body []byte) response {
	var req struct {
		Settings json.RawMessage `json:"settings"`
		Mappings json.RawMessage `json:"mappings"`
		Aliases  json.RawMessage `json:"aliases"`
	}
	if len(body) > 0 {
		if r, ok := decodeStrict(body, &req, "create_index"); !ok {
			return r
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := validateIndexName(name); e != nil {
		return errorResponse(400, e)
	}
	if ix := s.indices[name]; ix != nil {
		return errorResponse(400, &esError{Type: "resource_already_exists_exception",
			Reason: "index [" + name + "/" + ix.uuid + "] already exists", Extra: []string{"index_uuid", ix.uuid, "index", name}})
	}
	if s.streams[name] != nil {
		return errorResponse(400, &esError{Type: "resource_already_exists_exception",
			Reason: "data stream [" + name + "] already exists"})
	}
	t := s.templateForLocked(name)
	if t != nil && t.dataStream {
		return illegalArgument("cannot create index with name [" + name + "], because it matches with template [" + t.name +
			"] that creates data streams only, use create data stream api instead")
	}
	if _, e := s.createIndexLocked(name, t, req.Mappings); e != nil {
		return errorResponse(400, e)
	}
	return okJSON([]byte(`{"acknowledged":true,"shards_acknowledged":true,"index":` + string(jsonscan.AppendString(nil, name)) + `}`))
}

func (s *Server) getIndex(r *http.Request, expr string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	ixs, missing := s.resolveMissingLocked(expr)
	if missing != "" {
		if r.Method == http.MethodHead {
			return response{status: 404}
		}
		return indexNotFound(missing)
	}
	if r.Method == http.MethodHead {
		if len(ixs) == 0 && !strings.Contains(expr, "*") {
			return response{status: 404}
		}
		return response{status: 200}
	}
	out := map[string]any{}
	for _, ix := range ixs {
		settings := map[string]any{"number_of_shards": "1", "number_of_replicas": "1", "uuid": ix.uuid,
			"provided_name": ix.name, "creation_date": strconv.FormatInt(ix.created.UnixMilli(), 10)}
		if ix.policy != "" {
			settings["lifecycle"] = map[string]any{"name": ix.policy}
		}
		entry := map[string]any{"aliases": map[string]any{}, "mappings": ix.mapping.render(),
			"settings": map[string]any{"index": settings}}
		if ix.stream != "" {
			entry["data_stream"] = ix.stream
		}
		out[ix.name] = entry
	}
	return okJSON(mustJSON(out))
}

func (s *Server) deleteIndex(expr string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	ixs, missing := s.resolveMissingLocked(expr)
	if missing != "" {
		return indexNotFound(missing)
	}
	for _, ix := range ixs {
		if ds := s.streams[ix.stream]; ds != nil && ds.indices[len(ds.indices)-1] == ix.name {
			return illegalArgument("index [" + ix.name + "] is the write index for data stream [" + ds.name +
				"] and cannot be deleted")
		}
	}
	for _, ix := range ixs {
		delete(s.indices, ix.name)
	}
	return okJSON(acknowledged)
}

func (s *Server) refresh(r *http.Request, expr string) response {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return methodNotAllowed(r, "GET, POST")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ixs, missing := s.resolveMissingLocked(expr)
	if missing != "" {
		return indexNotFound(missing)
	}
	n := strconv.Itoa(len(ixs))
	return okJSON([]byte(`{"_shards":{"total":` + strconv.Itoa(2*len(ixs)) + `,"successful":` + n + `,"failed":0}}`))
}

func (s *Server) getDoc(name, id string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	ixs, missing := s.resolveMissingLocked(name)
	if missing != "" || len(ixs) == 0 {
		return indexNotFound(name)
	}
	for _, ix := range ixs {
		if d, ok := ix.docs[id]; ok {
			b := []byte(`{"_index":`)
			b = jsonscan.AppendString(b, ix.name)
			b = append(b, `,"_id":`...)
			b = jsonscan.AppendString(b, id)
			b = append(b, `,"_version":`...)
			b = strconv.AppendInt(b, d.Version, 10)
			b = append(b, `,"_seq_no":`...)
			b = strconv.AppendInt(b, int64(d.Seq), 10)
			b = append(b, `,"_primary_term":1,"found":true,"_source":`...)
			b = append(b, d.Source...)
			return okJSON(append(b, '}'))
		}
	}
	b := []byte(`{"_index":`)
	b = jsonscan.AppendString(b, ixs[0].name)
	b = append(b, `,"_id":`...)
	b = jsonscan.AppendString(b, id)
	b = append(b, `,"found":false}`...)
	return response{status: 404, body: b}
}

func (s *Server) getMapping(expr string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	ixs, missing := s.resolveMissingLocked(expr)
	if missing != "" {
		return indexNotFound(missing)
	}
	out := map[string]any{}
	for _, ix := range ixs {
		out[ix.name] = map[string]any{"mappings": ix.mapping.render()}
	}
	return okJSON(mustJSON(out))
}

// catIndices answers GET _cat/indices, as JSON with ?format=json and as
// the whitespace-aligned table otherwise.
func (s *Server) catIndices(r *http.Request, expr string) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	ixs, missing := s.resolveMissingLocked(expr)
	if missing != "" {
		return indexNotFound(missing)
	}
	type row struct {
		Health       string `json:"health"`
		Status       string `json:"status"`
		Index        string `json:"index"`
		UUID         string `json:"uuid"`
		Pri          string `json:"pri"`
		Rep          string `json:"rep"`
		DocsCount    string `json:"docs.count"`
		DocsDeleted  string `json:"docs.deleted"`
		StoreSize    string `json:"store.size"`
		PriStoreSize string `json:"pri.store.size"`
		DatasetSize  string `json:"dataset.size"`
	}
	rows := make([]row, 0, len(ixs))
	for _, ix := range ixs {
		size := 0
		for _, d := range ix.docs {
			size += len(d.Source)
		}
		sz := strconv.Itoa(size) + "b"
		rows = append(rows, row{"yellow", "open", ix.name, ix.uuid, "1", "1", strconv.Itoa(ix.count()), "0", sz, sz, sz})
	}
	if r.URL.Query().Get("format") == "json" {
		return okJSON(mustJSON(rows))
	}
	var b strings.Builder
	for _, x := range rows {
		b.WriteString(strings.Join([]string{x.Health, x.Status, x.Index, x.UUID, x.Pri, x.Rep, x.DocsCount, x.DocsDeleted, x.StoreSize, x.PriStoreSize, x.DatasetSize}, " "))
		b.WriteByte('\n')
	}
	return response{status: 200, body: []byte(b.String()), ctype: "text/plain; charset=UTF-8"}
}

func (ix *index) count() int { return len(ix.docs) + len(ix.ids) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("estest: encoding a response: " + err.Error())
	}
	return b
}

// decodeStrict decodes a request body into v, refusing unknown fields the
// way Elasticsearch's object parsers do ("[1:2] [what] unknown field [x]").
func decodeStrict(body []byte, v any, what string) (response, bool) {
	if err := jsonscan.Valid(body, 0); err != nil {
		return badRequest("x_content_parse_exception", "[1:1] failed to parse the request body: "+err.Error()), false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			return badRequest("x_content_parse_exception", "[1:2] ["+what+"] unknown field ["+strings.Trim(f, `"`)+"]"), false
		}
		return badRequest("x_content_parse_exception", "[1:1] ["+what+"] failed to parse: "+msg), false
	}
	return response{}, true
}
