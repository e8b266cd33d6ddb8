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
			key, _ := jsonscan.Unquote(nil, k)
			switch string(key) {
			case "_index":
				a.index = stringValue(v)
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
	actions, bad := parseBulk(body, defIndex, nil)
	if bad != nil {
		return *bad
	}
	s.stats.bulk.Add(1)
	s.stats.items.Add(int64(len(actions)))

	results := make([]itemResult, len(actions))
	s.mu.Lock()
	for i := range actions {
		results[i] = s.execLocked(&actions[i], d)
	}
	s.mu.Unlock()

	out := make([]byte, 0, 64+len(actions)*192)
	errs := false
	for i := range results {
		if results[i].err != nil {
			errs = true
			break
		}
	}
	out = append(out, `{"took":`...)
	out = strconv.AppendInt(out, s.now().Sub(start).Milliseconds(), 10)
	out = append(out, `,"errors":`...)
	out = strconv.AppendBool(out, errs)
	out = append(out, `,"items":[`...)
	for i := range results {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendItem(out, actions[i].op, &results[i])
	}
	out = append(out, "]}"...)
	return okJSON(out)
}

func appendItem(b []byte, op string, it *itemResult) []byte {
	b = append(b, `{"`...)
	b = append(b, op...)
	b = append(b, `":{"_index":`...)
	b = jsonscan.AppendString(b, it.index)
	b = append(b, `,"_id":`...)
	if it.id == "" {
		b = append(b, "null"...)
	} else {
		b = jsonscan.AppendString(b, it.id)
	}
	if it.err != nil {
		b = append(b, `,"status":`...)
		b = strconv.AppendInt(b, int64(it.status), 10)
		b = append(b, `,"error":`...)
		b = it.err.appendTo(b, true)
		return append(b, "}}"...)
	}
	b = append(b, `,"_version":`...)
	b = strconv.AppendInt(b, it.version, 10)
	b = append(b, `,"result":"`...)
	b = append(b, it.result...)
	b = append(b, `","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":`...)
	b = strconv.AppendInt(b, it.seqNo, 10)
	b = append(b, `,"_primary_term":1,"status":`...)
	b = strconv.AppendInt(b, int64(it.status), 10)
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
