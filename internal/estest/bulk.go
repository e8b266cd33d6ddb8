package estest

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/traceship/shipper/internal/jsonscan"
)

// bulkAction is one parsed action line and its source line.
type bulkAction struct {
	op     string // index, create, delete, update
	index  string
	id     string
	source []byte
}

var knownMeta = map[string]bool{
	"_index": true, "_id": true, "routing": true, "_routing": true, "version": true, "version_type": true,
	"if_seq_no": true, "if_primary_term": true, "pipeline": true, "require_alias": true,
	"require_data_stream": true, "dynamic_templates": true, "op_type": true, "retry_on_conflict": true,
	"_source": true, "list_executed_pipelines": true,
}

// parseBulk splits an NDJSON bulk body into actions. Like Elasticsearch, it
// validates every action line before executing any, so a malformed request
// changes nothing.
func parseBulk(body []byte, defIndex string, dst []bulkAction) ([]bulkAction, *response) {
	fail := func(typ, reason string) ([]bulkAction, *response) {
		r := badRequest(typ, reason)
		return nil, &r
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return fail("action_request_validation_exception", "Validation Failed: 1: no requests added;")
	}
	if body[len(body)-1] != '\n' {
		return fail("illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
	}
	var members []jsonscan.Member
	var missingIndex []int
	interned := map[string]string{} // raw _index value → name: one string per index, not per item
	line := 0
	for len(body) > 0 {
		nl := bytes.IndexByte(body, '\n')
		raw := body[:nl]
		body = body[nl+1:]
		line++
		raw = bytes.TrimRight(raw, "\r")
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		ln := strconv.Itoa(line)
		var err error
		members, err = jsonscan.Members(members[:0], raw, 0)
		if err != nil {
			if t := bytes.TrimSpace(raw); t[0] != '{' {
				return fail("illegal_argument_exception", "Malformed action/metadata line ["+ln+"], expected START_OBJECT or END_OBJECT but found ["+tokenName(t)+"]")
			}
			return fail("x_content_parse_exception", "["+ln+":1] Malformed action/metadata line ["+ln+"]: "+err.Error())
		}
		switch len(members) {
		case 0:
			return fail("illegal_argument_exception", "Malformed action/metadata line ["+ln+"], expected FIELD_NAME but found [END_OBJECT]")
		case 1:
		default:
			return fail("illegal_argument_exception", "Malformed action/metadata line ["+ln+"], expected END_OBJECT but found [FIELD_NAME]")
		}
		op := string(members[0].Key)
		switch op {
		case "index", "create", "delete", "update":
		default:
			return fail("illegal_argument_exception", "Malformed action/metadata line ["+ln+"], expected field [create], [delete], [index] or [update] but found ["+op+"]")
		}
		meta := members[0].Value
		if meta[0] != '{' {
			return fail("illegal_argument_exception", "Malformed action/metadata line ["+ln+"], expected START_OBJECT but found ["+tokenName(meta)+"]")
		}
		a := bulkAction{op: op, index: defIndex}
		var bad string
		jsonscan.EachMember(meta, func(k, v []byte) bool {
			key := k
			if bytes.IndexByte(k, '\\') >= 0 {
				key, _ = jsonscan.Unquote(nil, k)
			}
			switch string(key) { // no allocation: the compiler compares in place
			case "_index":
				if x, ok := interned[string(v)]; ok {
					a.index = x
				} else {
					a.index = stringValue(v)
					interned[string(v)] = a.index
				}
			case "_id":
				a.id = stringValue(v)
			case "op_type":
				if op == "index" && stringValue(v) == "create" {
					a.op = "create"
				}
			default:
				if !knownMeta[string(key)] {
					bad = string(key)
					return false
				}
			}
			return true
		})
		if bad != "" {
			return fail("illegal_argument_exception", "Action/metadata line ["+ln+"] contains an unknown parameter ["+bad+"]")
		}
		if a.index == "" {
			missingIndex = append(missingIndex, len(dst))
		}
		if op != "delete" {
			if len(body) == 0 {
				return fail("action_request_validation_exception", "Validation Failed: 1: source is missing;")
			}
			nl := bytes.IndexByte(body, '\n')
			a.source = bytes.TrimRight(body[:nl], "\r")
			body = body[nl+1:]
			line++
		}
		dst = append(dst, a)
	}
	if len(missingIndex) > 0 {
		var b []byte
		b = append(b, "Validation Failed: "...)
		for i := range missingIndex {
			b = strconv.AppendInt(b, int64(i+1), 10)
			b = append(b, ": index is missing;"...)
		}
		return fail("action_request_validation_exception", string(b))
	}
	return dst, nil
}

// tokenName names the JSON token a value starts with, as Jackson does in
// Elasticsearch's parse errors.
func tokenName(v []byte) string {
	switch v[0] {
	case '{':
		return "START_OBJECT"
	case '[':
		return "START_ARRAY"
	case '"':
		return "VALUE_STRING"
	case 't':
		return "VALUE_TRUE"
	case 'f':
		return "VALUE_FALSE"
	case 'n':
		return "VALUE_NULL"
	}
	return "VALUE_NUMBER_INT"
}

// stringValue returns a raw JSON value as text: strings unquoted, other
// values (numbers) as written.
func stringValue(v []byte) string {
	if c, ok := jsonscan.StringContents(v); ok {
		if bytes.IndexByte(c, '\\') < 0 {
			return string(c)
		}
		u, _ := jsonscan.Unquote(nil, c)
		return string(u)
	}
	return string(v)
}

// itemResult is the outcome of one bulk item.
type itemResult struct {
	index   string
	id      string
	status  int
	result  string // created, updated, deleted, not_found
	version int64
	seqNo   int64
	err     *esError
}

func (s *Server) bulk(r *http.Request, defIndex string, body []byte, d *requestFault) response {
	start := s.now()
	if defIndex != "" {
		if e := validateIndexName(defIndex); e != nil {
			return errorResponse(400, e)
		}
	}
	actions, bad := parseBulk(body, defIndex, make([]bulkAction, 0, bytes.Count(body, []byte{'\n'})/2+1))
	if bad != nil {
		return *bad
	}
	s.stats.bulk.Add(1)
	s.stats.items.Add(int64(len(actions)))

	results := make([]itemResult, len(actions))
	s.mu.Lock()
	changed := false
	for i := range actions {
		results[i] = s.execLocked(&actions[i], d)
		changed = changed || results[i].status == 200 || results[i].status == 201
	}
	if changed {
		s.notifyChangedLocked()
	}
	s.mu.Unlock()

	errs := false
	for i := range results {
		if results[i].err != nil {
			errs = true
			break
		}
	}
	took := s.now().Sub(start).Milliseconds()
	if fp := r.URL.Query().Get("filter_path"); fp != "" {
		if f := compileBulkFilter(fp); f != nil {
			return response{status: 200, body: appendFiltered(nil, f, took, errs, actions, results), filtered: true}
		}
	}
	out := make([]byte, 0, 64+len(actions)*192)
	out = append(out, `{"took":`...)
	out = strconv.AppendInt(out, took, 10)
	out = append(out, `,"errors":`...)
	out = strconv.AppendBool(out, errs)
	out = append(out, `,"items":[`...)
	for i := range results {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendItem(out, actions[i].op, &results[i], nil)
	}
	out = append(out, "]}"...)
	return okJSON(out)
}

// appendFiltered writes the bulk response with only the filter's members,
// dropping emptied items and objects as filter_path does.
func appendFiltered(b []byte, f *bulkFilter, took int64, errs bool, actions []bulkAction, results []itemResult) []byte {
	b = append(b, '{')
	n := 0
	if f.took {
		b = append(b, `"took":`...)
		b = strconv.AppendInt(b, took, 10)
		n++
	}
	if f.errors {
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, `"errors":`...)
		b = strconv.AppendBool(b, errs)
		n++
	}
	mark := len(b)
	if n > 0 {
		b = append(b, ',')
	}
	b = append(b, `"items":[`...)
	items := 0
	for i := range results {
		set := f.fields[actions[i].op]
		save := len(b)
		if items > 0 {
			b = append(b, ',')
		}
		before := len(b)
		b = appendItem(b, actions[i].op, &results[i], set)
		if len(b) == before {
			b = b[:save]
			continue
		}
		items++
	}
	if items == 0 {
		b = b[:mark]
	} else {
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendItem writes one item result; with set, only the fields it
// includes (nothing at all when it includes none).
func appendItem(b []byte, op string, it *itemResult, set *[len(bulkItemFields)]bool) []byte {
	start := len(b)
	b = append(b, `{"`...)
	b = append(b, op...)
	b = append(b, `":{`...)
	open := len(b)
	field := func(i int) bool {
		if set != nil && !set[i] {
			return false
		}
		if len(b) > open {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, bulkItemFields[i]...)
		b = append(b, '"', ':')
		return true
	}
	if field(0) {
		b = jsonscan.AppendString(b, it.index)
	}
	if field(1) {
		if it.id == "" {
			b = append(b, "null"...)
		} else {
			b = jsonscan.AppendString(b, it.id)
		}
	}
	if it.err == nil {
		if field(2) {
			b = strconv.AppendInt(b, it.version, 10)
		}
		if field(3) {
			b = append(b, '"')
			b = append(b, it.result...)
			b = append(b, '"')
		}
		if field(4) {
			b = append(b, `{"total":2,"successful":1,"failed":0}`...)
		}
		if field(5) {
			b = strconv.AppendInt(b, it.seqNo, 10)
		}
		if field(6) {
			b = append(b, '1')
		}
	}
	if field(7) {
		b = strconv.AppendInt(b, int64(it.status), 10)
	}
	if it.err != nil && field(8) {
		b = it.err.appendTo(b, true)
	}
	if set != nil && len(b) == open {
		return b[:start]
	}
	return append(b, "}}"...)
}

// execLocked runs one bulk item against the cluster state.
func (s *Server) execLocked(a *bulkAction, d *requestFault) itemResult {
	res := itemResult{index: a.index, id: a.id}
	fail := func(status int, e *esError) itemResult {
		res.status, res.err = status, e
		return res
	}
	if a.op == "update" {
		s.stats.rejected.Add(1)
		return fail(400, &esError{Type: "illegal_argument_exception",
			Reason: "the Elasticsearch double does not implement the update action; use index or create"})
	}
	switch s.itemFault(d) {
	case http.StatusTooManyRequests:
		s.stats.item429.Add(1)
		return fail(429, &esError{Type: "es_rejected_execution_exception",
			Reason: "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=1024, max_coordinating_and_primary_bytes=0]"})
	case http.StatusServiceUnavailable:
		s.stats.item5xx.Add(1)
		return fail(503, &esError{Type: "unavailable_shards_exception",
			Reason: "[" + a.index + "][0] primary shard is not active Timeout: [1m], request: [BulkShardRequest [[" + a.index + "][0]] containing [1] requests]"})
	}
	ix, status, e := s.writeIndexLocked(a.index, a.op)
	if e != nil {
		s.stats.rejected.Add(1)
		return fail(status, e)
	}
	res.index = ix.name
	if a.op == "delete" {
		res.seqNo = ix.seqNo
		ix.seqNo++
		_, v := s.lookupLocked(ix, a.id)
		res.version = v + 1 // a delete bumps the version; not_found answers 1
		if s.removeDocLocked(ix, a.id) {
			s.stats.deleted.Add(1)
			res.status, res.result = 200, "deleted"
		} else {
			res.status, res.result = 404, "not_found"
		}
		return res
	}
	if a.id == "" {
		a.id = s.newDocID()
		res.id = a.id
	}
	exists, version := s.lookupLocked(ix, a.id)
	if exists && a.op == "create" {
		s.stats.conflicts.Add(1)
		return fail(409, &esError{Type: "version_conflict_engine_exception",
			Reason: "[" + a.id + "]: version conflict, document already exists (current version [" + strconv.FormatInt(version, 10) + "])",
			Extra:  []string{"index_uuid", ix.uuid, "shard", "0", "index", ix.name}})
	}
	if !s.opts.discard {
		if e := s.checkDocLocked(ix, a.id, a.source); e != nil {
			s.stats.rejected.Add(1)
			return fail(400, e)
		}
	}
	res.seqNo = ix.seqNo
	ix.seqNo++
	if exists {
		s.stats.updated.Add(1)
		res.status, res.result, res.version = 200, "updated", version+1
	} else {
		s.stats.created.Add(1)
		res.status, res.result, res.version = 201, "created", 1
	}
	s.storeLocked(ix, a.id, a.source, res.version)
	return res
}

func (s *Server) lookupLocked(ix *index, id string) (bool, int64) {
	if s.opts.discard {
		_, ok := ix.ids[id]
		return ok, 1
	}
	d, ok := ix.docs[id]
	if !ok {
		return false, 0
	}
	return true, d.Version
}

func (s *Server) storeLocked(ix *index, id string, source []byte, version int64) {
	if s.opts.discard {
		ix.ids[id] = struct{}{}
		return
	}
	ix.docs[id] = &Doc{Index: ix.name, ID: id, Source: bytes.Clone(source), Seq: s.seq, Version: version}
	s.seq++
}

func (s *Server) removeDocLocked(ix *index, id string) bool {
	if s.opts.discard {
		_, ok := ix.ids[id]
		delete(ix.ids, id)
		return ok
	}
	_, ok := ix.docs[id]
	delete(ix.docs, id)
	return ok
}
