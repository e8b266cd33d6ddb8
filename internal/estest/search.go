package estest

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/traceship/shipper/internal/jsonscan"
)

// query is a compiled query clause.
type query func(h *hit) bool

// hit is a candidate document during a search.
type hit struct {
	ix  *index
	doc *Doc
}

type searchErr struct {
	status int
	e      *esError
}

func parsingErr(reason string) *searchErr {
	return &searchErr{400, &esError{Type: "parsing_exception", Reason: reason}}
}

// searchRequest is the part of the search body the double implements.
type searchRequest struct {
	Query          json.RawMessage `json:"query"`
	Size           *int            `json:"size"`
	From           *int            `json:"from"`
	Sort           json.RawMessage `json:"sort"`
	Source         json.RawMessage `json:"_source"`
	TrackTotalHits json.RawMessage `json:"track_total_hits"`
	Timeout        json.RawMessage `json:"timeout"`
	SearchAfter    []any           `json:"search_after"`
	PIT            *struct {
		ID        string `json:"id"`
		KeepAlive string `json:"keep_alive"`
	} `json:"pit"`
}

var searchKeys = map[string]bool{"query": true, "size": true, "from": true, "sort": true, "_source": true,
	"track_total_hits": true, "timeout": true, "search_after": true, "pit": true}

func (s *Server) search(r *http.Request, expr string, body []byte, count bool) response {
	q := r.URL.Query()
	var req searchRequest
	if len(bytes.TrimSpace(body)) > 0 {
		if err := jsonscan.Valid(body, 0); err != nil {
			return badRequest("x_content_parse_exception", "[1:1] failed to parse the request body: "+err.Error())
		}
		var bad string
		jsonscan.EachMember(body, func(k, v []byte) bool {
			key := stringValue(append(append([]byte{'"'}, k...), '"'))
			if count && key != "query" {
				bad = "request does not support [" + key + "]"
				return false
			}
			if !searchKeys[key] {
				bad = "Unknown key for a " + tokenName(v) + " in [" + key + "]."
				return false
			}
			return true
		})
		if bad != "" {
			return badRequest("parsing_exception", bad)
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return badRequest("x_content_parse_exception", "[1:1] failed to parse the search request: "+err.Error())
		}
	}
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return illegalArgument("Failed to parse int parameter [size] with value [" + v + "]")
		}
		req.Size = &n
	}
	if v := q.Get("from"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return illegalArgument("Failed to parse int parameter [from] with value [" + v + "]")
		}
		req.From = &n
	}
	if v := q.Get("sort"); v != "" {
		var parts []any
		for _, p := range strings.Split(v, ",") {
			f, o, _ := strings.Cut(p, ":")
			if o == "" {
				parts = append(parts, f)
			} else {
				parts = append(parts, map[string]any{f: o})
			}
		}
		req.Sort = mustJSON(parts)
	}
	now := s.now()
	var match query
	if qs := q.Get("q"); qs != "" {
		m, se := s.queryString(qs)
		if se != nil {
			return errorResponse(se.status, se.e)
		}
		match = m
	} else {
		m, se := compileQuery(req.Query, now)
		if se != nil {
			return errorResponse(se.status, se.e)
		}
		match = m
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var p *pit
	if req.PIT != nil {
		if count {
			return badRequest("parsing_exception", "request does not support [pit]")
		}
		if expr != "" {
			return errorResponse(400, &esError{Type: "action_request_validation_exception",
				Reason: "Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with point in time.;"})
		}
		if p = s.pitLocked(req.PIT.ID); p == nil {
			return pitMissing(req.PIT.ID)
		}
		// Every search keeps the point in time alive; a keep_alive given
		// can lengthen it, not shorten it.
		if req.PIT.KeepAlive != "" {
			ka, ok := parseTimeValue(req.PIT.KeepAlive)
			if !ok {
				return errorResponse(400, badTimeValue("keep_alive", req.PIT.KeepAlive))
			}
			p.keepAlive = max(p.keepAlive, ka)
		}
		p.expires = s.now().Add(p.keepAlive)
	}
	var ixs []*index
	var missing string
	if p != nil {
		ixs = p.indices // the point in time's, resolved when it was opened
	} else {
		ixs, missing = s.resolveMissingLocked(expr)
	}
	if missing != "" && q.Get("ignore_unavailable") != "true" {
		return indexNotFound(missing)
	}
	shards := `{"total":` + strconv.Itoa(len(ixs)) + `,"successful":` + strconv.Itoa(len(ixs)) + `,"skipped":0,"failed":0}`
	if s.opts.discard {
		// Discard mode keeps ids, not documents: it can count them all
		// (what the benchmark polls), nothing more.
		if !count || len(req.Query) > 0 || q.Get("q") != "" {
			return discardRefused()
		}
		return okJSON([]byte(`{"count":` + strconv.Itoa(countDocs(ixs)) + `,"_shards":` + shards + `}`))
	}
	var hits []hit
	for _, ix := range ixs {
		var docs []*Doc
		if p != nil {
			docs = p.docs[ix]
		} else {
			docs = ix.sortedDocs()
		}
		for _, d := range docs {
			h := hit{ix: ix, doc: d}
			if match(&h) {
				hits = append(hits, h)
			}
		}
	}
	if count {
		return okJSON([]byte(`{"count":` + strconv.Itoa(len(hits)) + `,"_shards":` + shards + `}`))
	}

	sorts, se := parseSort(req.Sort)
	if se != nil {
		return errorResponse(se.status, se.e)
	}
	if p == nil && slices.ContainsFunc(sorts, func(sk sortSpec) bool { return sk.field == "_shard_doc" }) {
		return illegalArgument("[_shard_doc] sort field cannot be used without [point in time]")
	}
	if p != nil && len(sorts) > 0 && sorts[len(sorts)-1].field != "_shard_doc" &&
		(req.SearchAfter == nil || len(req.SearchAfter) == len(sorts)+1) {
		// The implicit tiebreaker of sorted searches under a point in
		// time; not when search_after was written for the sort as given.
		sorts = append(sorts, sortSpec{field: "_shard_doc"})
	}
	for _, sk := range sorts {
		for _, h := range hits {
			if _, typ, ok := h.ix.mapping.lookup(sk.field); ok && (typ == "text" || typ == "match_only_text") {
				return errorResponse(400, &esError{Type: "illegal_argument_exception", Reason: "Fielddata is disabled on [" + sk.field +
					"] in [" + h.ix.name + "]. Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [" +
					sk.field + "] in order to load field data by uninverting the inverted index. Note that this can use significant memory."})
			}
		}
	}
	keys := make([][]sortValue, len(hits))
	for i := range hits {
		keys[i] = make([]sortValue, len(sorts))
		for j, sk := range sorts {
			keys[i][j] = sortKey(&hits[i], sk.field)
		}
	}
	order := make([]int, len(hits))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		for j, sk := range sorts {
			if c := compareSort(keys[a][j], keys[b][j], sk.desc); c != 0 {
				return c
			}
		}
		return 0
	})

	size, from := 10, 0
	if req.Size != nil {
		size = *req.Size
	}
	if req.From != nil {
		from = *req.From
	}
	if req.SearchAfter != nil {
		if from > 0 {
			return illegalArgument("`from` parameter must be set to 0 when `search_after` is used.")
		}
		if len(req.SearchAfter) == 0 {
			return illegalArgument("Values must contains at least one value.")
		}
		if len(sorts) == 0 {
			return illegalArgument("Sort must contain at least one field.")
		}
		if len(req.SearchAfter) != len(sorts) {
			return illegalArgument("search_after has " + strconv.Itoa(len(req.SearchAfter)) + " value(s) but sort has " + strconv.Itoa(len(sorts)) + ".")
		}
		after := make([]sortValue, len(sorts))
		for j, v := range req.SearchAfter {
			after[j] = afterValue(v, sorts[j].desc)
		}
		order = slices.DeleteFunc(order, func(i int) bool {
			for j, sk := range sorts {
				if c := compareSort(keys[i][j], after[j], sk.desc); c != 0 {
					return c < 0
				}
			}
			return true // the hit the page ended on
		})
	}
	if size < 0 || from < 0 {
		return illegalArgument("[from] and [size] parameters cannot be negative")
	}
	if from+size > 10000 {
		return illegalArgument("Result window is too large, from + size must be less than or equal to: [10000] but was [" +
			strconv.Itoa(from+size) + "]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.")
	}
	total, relation := len(hits), "eq"
	track := strings.TrimSpace(string(req.TrackTotalHits))
	if v := q.Get("track_total_hits"); v != "" {
		track = v
	}
	limit := 10000
	switch track {
	case "", "null":
	case "true":
		limit = math.MaxInt
	case "false":
		limit = -1
	default:
		if n, err := strconv.Atoi(track); err == nil {
			limit = n
		}
	}
	if limit >= 0 && total > limit {
		total, relation = limit, "gte"
	}
	includes, excludes, wantSource := parseSourceFilter(req.Source, q.Get("_source"))

	b := make([]byte, 0, 1024)
	b = append(b, '{')
	if p != nil {
		b = append(b, `"pit_id":`...)
		b = jsonscan.AppendString(b, req.PIT.ID)
		b = append(b, ',')
	}
	b = append(b, `"took":1,"timed_out":false,"_shards":`...)
	b = append(b, shards...)
	// With track_total_hits: false Elasticsearch leaves "total" out.
	b = append(b, `,"hits":{`...)
	if q.Get("rest_total_hits_as_int") == "true" {
		b = append(b, `"total":`...)
		b = strconv.AppendInt(b, int64(len(hits)), 10)
		b = append(b, ',')
	} else if limit >= 0 {
		b = append(b, `"total":{"value":`...)
		b = strconv.AppendInt(b, int64(total), 10)
		b = append(b, `,"relation":"`...)
		b = append(b, relation...)
		b = append(b, `"},`...)
	}
	scoreText := "1.0"
	if len(sorts) > 0 {
		scoreText = "null"
	}
	b = append(b, `"max_score":`...)
	if len(hits) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, scoreText...)
	}
	b = append(b, `,"hits":[`...)
	for n, i := range order[min(from, len(order)):min(from+size, len(order))] {
		h := &hits[i]
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"_index":`...)
		b = jsonscan.AppendString(b, h.ix.name)
		b = append(b, `,"_id":`...)
		b = jsonscan.AppendString(b, h.doc.ID)
		b = append(b, `,"_score":`...)
		b = append(b, scoreText...)
		if wantSource {
			b = append(b, `,"_source":`...)
			src := []byte(h.doc.Source)
			if len(includes) > 0 || len(excludes) > 0 {
				src = filterJSON(src, includes, excludes)
			}
			b = append(b, src...)
		}
		if len(sorts) > 0 {
			b = append(b, `,"sort":[`...)
			for j := range sorts {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendSortValue(b, keys[i][j], sorts[j].desc)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, "]}}"...)
	return okJSON(b)
}

func parseSourceFilter(raw json.RawMessage, param string) (inc, exc []string, want bool) {
	if param != "" {
		switch param {
		case "false":
			return nil, nil, false
		case "true":
			return nil, nil, true
		}
		return strings.Split(param, ","), nil, true
	}
	if len(raw) == 0 {
		return nil, nil, true
	}
	var v any
	json.Unmarshal(raw, &v)
	switch x := v.(type) {
	case bool:
		return nil, nil, x
	case string:
		return []string{x}, nil, true
	case []any:
		return strList(x), nil, true
	case map[string]any:
		return strList(x["includes"]), strList(x["excludes"]), true
	}
	return nil, nil, true
}

// --- sorting ---

type sortSpec struct {
	field string
	desc  bool
}

func parseSort(raw json.RawMessage) ([]sortSpec, *searchErr) {
	if len(raw) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, parsingErr("[sort] failed to parse")
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []sortSpec
	for _, e := range list {
		switch x := e.(type) {
		case string:
			out = append(out, sortSpec{field: x, desc: x == "_score"})
		case map[string]any:
			for f, o := range x {
				sp := sortSpec{field: f, desc: f == "_score"}
				order := ""
				switch y := o.(type) {
				case string:
					order = y
				case map[string]any:
					order, _ = y["order"].(string)
				}
				switch order {
				case "":
				case "asc":
					sp.desc = false
				case "desc":
					sp.desc = true
				default:
					return nil, &searchErr{400, &esError{Type: "illegal_argument_exception", Reason: "Unknown SortOrder [" + order + "]"}}
				}
				out = append(out, sp)
			}
		default:
			return nil, parsingErr("[sort] unexpected token")
		}
	}
	out = slices.DeleteFunc(out, func(s sortSpec) bool { return s.field == "_score" })
	return out, nil
}

// sortValue is a document's value for a sort field: a number (dates as
// epoch millis) or a string; missing sorts last both ways, as in ES.
type sortValue struct {
	missing bool
	num     float64
	isNum   bool
	str     string
}

func sortKey(h *hit, f string) sortValue {
	if f == "_doc" || f == "_shard_doc" {
		return sortValue{isNum: true, num: float64(h.doc.Seq)}
	}
	if f == "_id" {
		return sortValue{str: h.doc.ID}
	}
	vals, typ, f := h.values(f)
	if len(vals) == 0 {
		return sortValue{missing: true}
	}
	v := vals[0]
	switch typ {
	case "date", "date_nanos":
		if t, ok := valueTime(h.ix.mapping, f, v); ok {
			return sortValue{isNum: true, num: float64(t.UnixMilli())}
		}
	case "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long":
		if x, err := strconv.ParseFloat(stringValue(v), 64); err == nil {
			return sortValue{isNum: true, num: x}
		}
	}
	return sortValue{str: stringValue(v)}
}

func compareSort(a, b sortValue, desc bool) int {
	if a.missing || b.missing {
		switch {
		case a.missing && b.missing:
			return 0
		case a.missing:
			return 1
		default:
			return -1
		}
	}
	var c int
	if a.isNum && b.isNum {
		switch {
		case a.num < b.num:
			c = -1
		case a.num > b.num:
			c = 1
		}
	} else {
		c = strings.Compare(a.str, b.str)
	}
	if desc {
		c = -c
	}
	return c
}

// afterValue reads a search_after value, as appendSortValue wrote it.
func afterValue(v any, desc bool) sortValue {
	switch x := v.(type) {
	case float64:
		if (!desc && x >= math.MaxInt64) || (desc && x <= math.MinInt64) {
			return sortValue{missing: true}
		}
		return sortValue{isNum: true, num: x}
	case string:
		if n, err := strconv.ParseFloat(x, 64); err == nil {
			return sortValue{isNum: true, num: n, str: x}
		}
		return sortValue{str: x}
	case nil:
		return sortValue{missing: true}
	}
	return sortValue{str: string(mustJSON(v))}
}

func appendSortValue(b []byte, v sortValue, desc bool) []byte {
	switch {
	case v.missing:
		if desc {
			return strconv.AppendInt(b, math.MinInt64, 10)
		}
		return strconv.AppendInt(b, math.MaxInt64, 10)
	case v.isNum:
		if v.num == math.Trunc(v.num) && math.Abs(v.num) < 1<<53 {
			return strconv.AppendInt(b, int64(v.num), 10)
		}
		return strconv.AppendFloat(b, v.num, 'g', -1, 64)
	}
	return jsonscan.AppendString(b, v.str)
}

// --- field access ---

// values returns a field's values in the hit's source with its mapped
// type; a multi-field ("message.keyword") reads its parent's values.
func (h *hit) values(f string) (vals [][]byte, typ, valuePath string) {
	valuePath = f
	fl, typ, ok := h.ix.mapping.lookup(f)
	if ok && h.ix.mapping.fields[f] != fl {
		valuePath = f[:strings.LastIndexByte(f, '.')]
	}
	return fieldValues(h.doc.Source, valuePath), typ, valuePath
}

// fieldValues returns the raw values at a dotted path in a source, whether
// written nested ({"trace":{"id":x}}) or dotted ({"trace.id":x}) or mixed;
// arrays are flattened and nulls dropped.
func fieldValues(src []byte, p string) [][]byte {
	var out [][]byte
	collectValues(src, p, &out)
	return out
}

func collectValues(obj []byte, p string, out *[][]byte) {
	var kb []byte
	jsonscan.EachMember(obj, func(k, v []byte) bool {
		kb, _ = jsonscan.Unquote(kb[:0], k)
		key := string(kb)
		switch {
		case key == p:
			appendFlat(v, out)
		case strings.HasPrefix(p, key+"."):
			rest := p[len(key)+1:]
			switch v[0] {
			case '{':
				collectValues(v, rest, out)
			case '[':
				eachElement(v, func(e []byte) bool {
					if e[0] == '{' {
						collectValues(e, rest, out)
					}
					return true
				})
			}
		}
		return true
	})
}

func appendFlat(v []byte, out *[][]byte) {
	switch v[0] {
	case 'n':
	case '[':
		eachElement(v, func(e []byte) bool {
			appendFlat(e, out)
			return true
		})
	default:
		*out = append(*out, v)
	}
}

func valueTime(m *mapping, f string, v []byte) (time.Time, bool) {
	format := ""
	if fl, _, ok := m.lookup(f); ok {
		format = fl.format
	}
	t, ok, _ := parseDate(format, stringValue(v), v[0] == '"')
	return t, ok
}

// analyze is a rough standard analyzer: split on anything that is not a
// letter or digit, lower-case.
func analyze(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// --- query compilation ---

func compileQuery(raw json.RawMessage, now time.Time) (query, *searchErr) {
	if len(raw) == 0 || string(raw) == "null" {
		return func(*hit) bool { return true }, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, parsingErr("[_na] query malformed, must start with start_object")
	}
	if len(obj) != 1 {
		return nil, parsingErr("[_na] query malformed, no start_object after query name")
	}
	for name, body := range obj {
		return compileClause(name, body, now)
	}
	panic("unreachable")
}

// fieldClause splits {"field": value-or-object} and returns the field, the
// short value or the object.
func fieldClause(name string, body json.RawMessage) (string, map[string]json.RawMessage, json.RawMessage, *searchErr) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || len(m) == 0 {
		return "", nil, nil, parsingErr("[" + name + "] query malformed, no start_object after query name")
	}
	var f string
	var v json.RawMessage
	n := 0
	for k, x := range m {
		if k == "boost" || k == "_name" {
			continue
		}
		f, v = k, x
		n++
	}
	if n != 1 {
		return "", nil, nil, parsingErr("[" + name + "] query doesn't support multiple fields, found [" + strings.Join(slices.Sorted(maps.Keys(m)), "] and [") + "]")
	}
	if len(v) > 0 && v[0] == '{' {
		var inner map[string]json.RawMessage
		json.Unmarshal(v, &inner)
		return f, inner, nil, nil
	}
	return f, nil, v, nil
}

func compileClause(name string, body json.RawMessage, now time.Time) (query, *searchErr) {
	switch name {
	case "match_all":
		return func(*hit) bool { return true }, nil
	case "match_none":
		return func(*hit) bool { return false }, nil
	case "term", "match", "match_phrase", "prefix":
		f, obj, short, se := fieldClause(name, body)
		if se != nil {
			return nil, se
		}
		val := short
		operator := "or"
		if obj != nil {
			key := "query"
			if name == "term" || name == "prefix" {
				key = "value"
			}
			val = obj[key]
			if op, ok := obj["operator"]; ok {
				operator = strings.ToLower(stringValue(op))
			}
			if val == nil {
				return nil, parsingErr("[" + name + "] requires " + key)
			}
		}
		want := stringValue(val)
		return func(h *hit) bool {
			vals, typ, vp := h.values(f)
			for _, v := range vals {
				if valueMatches(name, operator, typ, want, v, h.ix.mapping, vp) {
					return true
				}
			}
			return false
		}, nil
	case "terms":
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, parsingErr("[terms] query malformed")
		}
		var f string
		var wants []string
		for k, v := range m {
			if k == "boost" || k == "_name" {
				continue
			}
			var list []json.RawMessage
			if err := json.Unmarshal(v, &list); err != nil {
				return nil, parsingErr("[terms] query does not support [" + k + "]")
			}
			f = k
			for _, x := range list {
				wants = append(wants, stringValue(x))
			}
		}
		return func(h *hit) bool {
			vals, typ, vp := h.values(f)
			for _, v := range vals {
				for _, w := range wants {
					if valueMatches("term", "or", typ, w, v, h.ix.mapping, vp) {
						return true
					}
				}
			}
			return false
		}, nil
	case "ids":
		var b struct {
			Values []string `json:"values"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			return nil, parsingErr("[ids] query malformed")
		}
		return func(h *hit) bool { return slices.Contains(b.Values, h.doc.ID) }, nil
	case "exists":
		var b struct {
			Field string `json:"field"`
		}
		if err := json.Unmarshal(body, &b); err != nil || b.Field == "" {
			return nil, parsingErr("[exists] must be provided with a [field]")
		}
		return func(h *hit) bool {
			vals, _, _ := h.values(b.Field)
			return len(vals) > 0
		}, nil
	case "range":
		return compileRange(body, now)
	case "bool":
		return compileBool(body, now)
	}
	return nil, parsingErr("unknown query [" + name + "]")
}

func valueMatches(kind, operator, typ, want string, v []byte, m *mapping, f string) bool {
	got := stringValue(v)
	switch typ {
	case "text", "match_only_text", "annotated_text", "search_as_you_type":
		toks := analyze(got)
		switch kind {
		case "term":
			return slices.Contains(toks, want)
		case "prefix":
			for _, t := range toks {
				if strings.HasPrefix(t, want) {
					return true
				}
			}
			return false
		case "match":
			qt := analyze(want)
			if len(qt) == 0 {
				return false
			}
			all := true
			for _, t := range qt {
				if slices.Contains(toks, t) {
					if operator != "and" {
						return true
					}
				} else {
					all = false
				}
			}
			return operator == "and" && all
		case "match_phrase":
			qt := analyze(want)
			if len(qt) == 0 {
				return false
			}
			for i := 0; i+len(qt) <= len(toks); i++ {
				if slices.Equal(toks[i:i+len(qt)], qt) {
					return true
				}
			}
			return false
		}
	case "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long":
		a, err1 := strconv.ParseFloat(got, 64)
		b, err2 := strconv.ParseFloat(want, 64)
		return err1 == nil && err2 == nil && a == b
	case "date", "date_nanos":
		a, ok1 := valueTime(m, f, v)
		b, ok2, _ := parseDate("", want, true)
		return ok1 && ok2 && a.Equal(b)
	case "boolean":
		return got == want
	}
	if kind == "prefix" {
		return strings.HasPrefix(got, want)
	}
	return got == want
}

var dateMathRe = regexp.MustCompile(`^([+-])(\d+)([yMwdhHms])`)

// parseDateMath resolves "now", "now-15m", "now/d" and explicit dates
// (optionally followed by "||" and math) for range queries.
func parseDateMath(s, format string, now time.Time, roundUp bool) (time.Time, bool) {
	var t time.Time
	rest := ""
	switch {
	case strings.HasPrefix(s, "now"):
		t, rest = now.UTC(), s[3:]
	default:
		base := s
		if i := strings.Index(s, "||"); i >= 0 {
			base, rest = s[:i], s[i+2:]
		}
		var ok bool
		if t, ok, _ = parseDate(format, base, true); !ok {
			return t, false
		}
	}
	for rest != "" {
		if rest[0] == '/' && len(rest) >= 2 {
			t = roundDate(t, rest[1], roundUp)
			rest = rest[2:]
			continue
		}
		m := dateMathRe.FindStringSubmatch(rest)
		if m == nil {
			return t, false
		}
		n, _ := strconv.Atoi(m[2])
		if m[1] == "-" {
			n = -n
		}
		switch m[3][0] {
		case 'y':
			t = t.AddDate(n, 0, 0)
		case 'M':
			t = t.AddDate(0, n, 0)
		case 'w':
			t = t.AddDate(0, 0, 7*n)
		case 'd':
			t = t.AddDate(0, 0, n)
		case 'h', 'H':
			t = t.Add(time.Duration(n) * time.Hour)
		case 'm':
			t = t.Add(time.Duration(n) * time.Minute)
		case 's':
			t = t.Add(time.Duration(n) * time.Second)
		}
		rest = rest[len(m[0]):]
	}
	return t, true
}

func roundDate(t time.Time, unit byte, up bool) time.Time {
	t = t.UTC()
	var r time.Time
	switch unit {
	case 'y':
		r = time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		if up {
			r = r.AddDate(1, 0, 0)
		}
	case 'M':
		r = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		if up {
			r = r.AddDate(0, 1, 0)
		}
	case 'd':
		r = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		if up {
			r = r.AddDate(0, 0, 1)
		}
	case 'h', 'H':
		r = t.Truncate(time.Hour)
		if up {
			r = r.Add(time.Hour)
		}
	case 'm':
		r = t.Truncate(time.Minute)
		if up {
			r = r.Add(time.Minute)
		}
	case 's':
		r = t.Truncate(time.Second)
		if up {
			r = r.Add(time.Second)
		}
	default:
		return t
	}
	if up {
		r = r.Add(-time.Millisecond)
	}
	return r
}

func compileRange(body json.RawMessage, now time.Time) (query, *searchErr) {
	f, obj, _, se := fieldClause("range", body)
	if se != nil {
		return nil, se
	}
	if obj == nil {
		return nil, parsingErr("[range] query malformed, no start_object after query name")
	}
	type bound struct {
		raw    string
		isNum  bool
		strict bool
		lower  bool
	}
	var bounds []bound
	format := ""
	if v, ok := obj["format"]; ok {
		format = stringValue(v)
	}
	for k, v := range obj {
		if string(v) == "null" {
			continue
		}
		b := bound{raw: stringValue(v), isNum: v[0] != '"'}
		switch k {
		case "gte", "from":
			b.lower = true
		case "gt":
			b.lower, b.strict = true, true
		case "lte", "to":
		case "lt":
			b.strict = true
		case "format", "time_zone", "boost", "relation", "include_lower", "include_upper", "_name":
			continue
		default:
			return nil, parsingErr("[range] query does not support [" + k + "]")
		}
		bounds = append(bounds, b)
	}
	return func(h *hit) bool {
		vals, typ, f := h.values(f)
		for _, v := range vals {
			ok := true
			for _, b := range bounds {
				var c int
				switch typ {
				case "date", "date_nanos":
					dv, ok1 := valueTime(h.ix.mapping, f, v)
					fm := format
					if fm == "" {
						if fl, _, ok := h.ix.mapping.lookup(f); ok {
							fm = fl.format
						}
					}
					var bt time.Time
					var ok2 bool
					if b.isNum {
						bt, ok2, _ = parseDate("epoch_millis", b.raw, false)
					} else {
						bt, ok2 = parseDateMath(b.raw, fm, now, !b.lower && !b.strict || b.lower && b.strict)
					}
					if !ok1 || !ok2 {
						ok = false
						break
					}
					c = dv.Compare(bt)
				case "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long":
					x, err1 := strconv.ParseFloat(stringValue(v), 64)
					y, err2 := strconv.ParseFloat(b.raw, 64)
					if err1 != nil || err2 != nil {
						ok = false
						break
					}
					switch {
					case x < y:
						c = -1
					case x > y:
						c = 1
					}
				default:
					c = strings.Compare(stringValue(v), b.raw)
				}
				if !ok {
					break
				}
				switch {
				case b.lower && (c < 0 || b.strict && c == 0):
					ok = false
				case !b.lower && (c > 0 || b.strict && c == 0):
					ok = false
				}
			}
			if ok {
				return true
			}
		}
		return false
	}, nil
}

func compileBool(body json.RawMessage, now time.Time) (query, *searchErr) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, parsingErr("[bool] query malformed")
	}
	clauses := map[string][]query{}
	minShould := -1
	for k, v := range m {
		switch k {
		case "must", "filter", "should", "must_not":
			var list []json.RawMessage
			if len(v) > 0 && v[0] == '[' {
				json.Unmarshal(v, &list)
			} else {
				list = []json.RawMessage{v}
			}
			for _, c := range list {
				q, se := compileQuery(c, now)
				if se != nil {
					return nil, se
				}
				clauses[k] = append(clauses[k], q)
			}
		case "minimum_should_match":
			n, err := strconv.Atoi(stringValue(v))
			if err != nil {
				return nil, parsingErr("[bool] minimum_should_match: only integers are supported by the double")
			}
			minShould = n
		case "boost", "_name", "adjust_pure_negative":
		default:
			return nil, parsingErr("[bool] query does not support [" + k + "]")
		}
	}
	if minShould < 0 {
		minShould = 0
		if len(clauses["must"]) == 0 && len(clauses["filter"]) == 0 && len(clauses["should"]) > 0 {
			minShould = 1
		}
	}
	return func(h *hit) bool {
		for _, q := range clauses["must"] {
			if !q(h) {
				return false
			}
		}
		for _, q := range clauses["filter"] {
			if !q(h) {
				return false
			}
		}
		for _, q := range clauses["must_not"] {
			if q(h) {
				return false
			}
		}
		n := 0
		for _, q := range clauses["should"] {
			if q(h) {
				n++
			}
		}
		return n >= minShould
	}, nil
}

// queryString supports the simplest q= forms: "*", "value" (any field),
// and "field:value" (a match query).
func (s *Server) queryString(qs string) (query, *searchErr) {
	if qs == "*" || qs == "*:*" {
		return func(*hit) bool { return true }, nil
	}
	f, v, ok := strings.Cut(qs, ":")
	if !ok {
		want := strings.ToLower(qs)
		return func(h *hit) bool { return bytes.Contains(bytes.ToLower(h.doc.Source), []byte(want)) }, nil
	}
	v = strings.Trim(v, `"`)
	return compileClause("match", mustJSON(map[string]string{f: v}), s.now())
}
