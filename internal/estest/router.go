package estest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// maxBody bounds a request body (Elasticsearch's http.max_content_length
// default is 100mb).
const maxBody = 100 << 20

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP answers one request like an Elasticsearch 8 node, after applying
// the current faults. Every response carries X-Elastic-Product.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.stats.requests.Add(1)
	h := w.Header()
	h.Set("X-Elastic-Product", "Elasticsearch")

	if resp := s.authenticate(r); resp != nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", "ApiKey")
		s.write(w, r, *resp)
		return
	}
	segs := splitPath(r.URL.Path)
	bulk := len(segs) > 0 && segs[len(segs)-1] == "_bulk"

	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 4<<20 {
			bufPool.Put(buf)
		}
	}()
	body, rerr := s.readBody(r, buf)

	d := s.decide(bulk)
	if d.drop {
		s.drop(w)
		return
	}
	if !s.wait(r, d.gate) {
		return
	}
	var resp response
	switch {
	case d.status != 0:
		s.countStatus(d.status)
		resp = faultResponse(d.status)
	case rerr != nil:
		resp = rerr.(*bodyError).resp
	default:
		resp = s.route(r, segs, body, &d)
	}
	if resp.status >= 400 && resp.status < 500 && d.status == 0 && !isItemLevel(resp) {
		s.stats.bad.Add(1)
	}
	s.sleep(r, d.delay)
	if d.dropAfter {
		s.drop(w)
		return
	}
	s.write(w, r, resp)
}

// isItemLevel tells 404s of lookups (a missing template, index or
// document) apart from malformed requests for the BadRequests counter.
func isItemLevel(r response) bool { return r.status == 404 }

func (s *Server) write(w http.ResponseWriter, r *http.Request, resp response) {
	h := w.Header()
	ct := resp.ctype
	if ct == "" {
		ct = "application/json"
		// The v8 client asks for compatibility mode; Elasticsearch echoes
		// the media type back.
		if strings.Contains(r.Header.Get("Accept"), "compatible-with=8") {
			ct = "application/vnd.elasticsearch+json;compatible-with=8"
		}
	}
	h.Set("Content-Type", ct)
	body := resp.body
	if fp := r.URL.Query().Get("filter_path"); fp != "" && !resp.filtered && resp.status < 300 && !strings.HasPrefix(ct, "text/") {
		body = filterPath(body, fp)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

type bodyError struct{ resp response }

func (e *bodyError) Error() string { return string(e.resp.body) }

func (s *Server) readBody(r *http.Request, buf *bytes.Buffer) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var src io.Reader = io.LimitReader(r.Body, maxBody+1)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		s.stats.gzip.Add(1)
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, &bodyError{badRequest("parse_exception", "request body is not valid gzip: "+err.Error())}
		}
		defer zr.Close()
		src = io.LimitReader(zr, maxBody+1)
	}
	if _, err := buf.ReadFrom(src); err != nil {
		return nil, &bodyError{badRequest("parse_exception", "reading the request body: "+err.Error())}
	}
	if buf.Len() > maxBody {
		return nil, &bodyError{errorResponse(413, &esError{Type: "content_too_long_exception",
			Reason: "request body is too large (limit 100mb)"})}
	}
	return buf.Bytes(), nil
}

func faultResponse(status int) response {
	switch status {
	case http.StatusTooManyRequests:
		return errorResponse(status, &esError{Type: "es_rejected_execution_exception",
			Reason: "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1048576, max_coordinating_and_primary_bytes=0]"})
	case http.StatusServiceUnavailable:
		return errorResponse(status, &esError{Type: "cluster_block_exception",
			Reason: "blocked by: [SERVICE_UNAVAILABLE/2/no master];"})
	default:
		// 502 and 504 come from a proxy in front of the cluster, not from
		// Elasticsearch: an HTML page, as nginx or a cloud load balancer sends.
		text := strconv.Itoa(status) + " " + http.StatusText(status)
		return response{status: status, ctype: "text/html",
			body: []byte("<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text + "</h1></center>\r\n</body>\r\n</html>\r\n")}
	}
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func methodNotAllowed(r *http.Request, allowed string) response {
	return plainError(405, "Incorrect HTTP method for uri ["+r.URL.RequestURI()+"] and method ["+r.Method+"], allowed: ["+allowed+"]")
}

func noHandler(r *http.Request) response {
	return plainError(400, "no handler found for uri ["+r.URL.RequestURI()+"] and method ["+r.Method+"]")
}

var errUnsupported = errors.New("unsupported")

// route dispatches a request to its handler.
func (s *Server) route(r *http.Request, segs []string, body []byte, d *requestFault) response {
	m := r.Method
	is := func(ms ...string) bool {
		for _, x := range ms {
			if m == x {
				return true
			}
		}
		return false
	}
	if len(body) > 0 && !supportedContentType(r.Header.Get("Content-Type")) {
		return plainError(406, "Content-Type header ["+r.Header.Get("Content-Type")+"] is not supported")
	}
	n := len(segs)
	if n == 0 {
		if is("GET", "HEAD") {
			return s.info()
		}
		return methodNotAllowed(r, "GET, HEAD")
	}
	switch segs[0] {
	case "_bulk":
		if n == 1 {
			if is("POST", "PUT") {
				return s.bulk(r, "", body, d)
			}
			return methodNotAllowed(r, "POST, PUT")
		}
	case "_index_template":
		if n <= 2 {
			name := ""
			if n == 2 {
				name = segs[1]
			}
			switch {
			case is("GET", "HEAD"):
				return s.getTemplates(name)
			case is("PUT", "POST") && name != "":
				return s.putTemplate(r, name, body)
			case is("DELETE") && name != "":
				return s.deleteTemplate(name)
			}
			return methodNotAllowed(r, "GET, HEAD, PUT, POST, DELETE")
		}
	case "_ilm":
		if n >= 2 && segs[1] == "policy" && n <= 3 {
			name := ""
			if n == 3 {
				name = segs[2]
			}
			switch {
			case is("GET"):
				return s.getPolicies(name)
			case is("PUT") && name != "":
				return s.putPolicy(name, body)
			case is("DELETE") && name != "":
				return s.deletePolicy(name)
			}
			return methodNotAllowed(r, "GET, PUT, DELETE")
		}
	case "_data_stream":
		if n <= 2 {
			name := ""
			if n == 2 {
				name = segs[1]
			}
			switch {
			case is("GET"):
				return s.getDataStreams(name)
			case is("PUT") && name != "":
				return s.putDataStream(name)
			case is("DELETE") && name != "":
				return s.deleteDataStream(name)
			}
			return methodNotAllowed(r, "GET, PUT, DELETE")
		}
	case "_cat":
		if n >= 2 && segs[1] == "indices" && n <= 3 && is("GET") {
			pat := ""
			if n == 3 {
				pat = segs[2]
			}
			return s.catIndices(r, pat)
		}
	case "_cluster":
		if n == 2 && segs[1] == "health" && is("GET") {
			return okJSON([]byte(`{"cluster_name":"estest","status":"green","timed_out":false,"number_of_nodes":1,"number_of_data_nodes":1,"active_primary_shards":1,"active_shards":1,"relocating_shards":0,"initializing_shards":0,"unassigned_shards":0,"delayed_unassigned_shards":0,"number_of_pending_tasks":0,"number_of_in_flight_fetch":0,"task_max_waiting_in_queue_millis":0,"active_shards_percent_as_number":100.0}`))
		}
	case "_search", "_count":
		if n == 1 {
			if is("GET", "POST") {
				return s.search(r, "", body, segs[0] == "_count")
			}
			return methodNotAllowed(r, "GET, POST")
		}
	case "_refresh":
		if n == 1 {
			return s.refresh(r, "")
		}
	case "_pit":
		if n == 1 {
			if is("DELETE") {
				return s.closePIT(body)
			}
			return methodNotAllowed(r, "DELETE")
		}
	}
	if strings.HasPrefix(segs[0], "_") {
		return noHandler(r)
	}
	// /<index>...
	target := segs[0]
	if n == 1 {
		switch {
		case is("PUT"):
			return s.createIndex(target, body)
		case is("HEAD", "GET"):
			return s.getIndex(r, target)
		case is("DELETE"):
			return s.deleteIndex(target)
		}
		return methodNotAllowed(r, "GET, HEAD, PUT, DELETE")
	}
	switch segs[1] {
	case "_bulk":
		if n == 2 {
			if is("POST", "PUT") {
				return s.bulk(r, target, body, d)
			}
			return methodNotAllowed(r, "POST, PUT")
		}
	case "_search", "_count":
		if n == 2 {
			if is("GET", "POST") {
				return s.search(r, target, body, segs[1] == "_count")
			}
			return methodNotAllowed(r, "GET, POST")
		}
	case "_refresh":
		if n == 2 {
			return s.refresh(r, target)
		}
	case "_pit":
		if n == 2 {
			if is("POST") {
				return s.openPIT(r, target)
			}
			return methodNotAllowed(r, "POST")
		}
	case "_mapping":
		if n == 2 && is("GET") {
			return s.getMapping(target)
		}
	case "_doc":
		if n == 3 && is("GET", "HEAD") {
			return s.getDoc(target, segs[2])
		}
	}
	return noHandler(r)
}

// supportedContentType reports whether Elasticsearch accepts a request
// body of this media type (it answers 406 otherwise, which catches clients
// that forget the header).
func supportedContentType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case "application/json", "application/x-ndjson", "application/vnd.elasticsearch+json",
		"application/vnd.elasticsearch+x-ndjson", "application/yaml", "application/cbor", "application/smile":
		return true
	}
	return false
}

func (s *Server) info() response {
	return okJSON([]byte(`{"name":"estest","cluster_name":"estest","cluster_uuid":"ZXN0ZXN0LWNsdXN0ZXIx","version":{"number":"` + Version +
		`","build_flavor":"default","build_type":"docker","build_hash":"f1f9f5e6b5b4c4f7c9b4b1d0a6b7a1c1a5d2c3e4","build_date":"2024-10-11T10:13:17.253925826Z",` +
		`"build_snapshot":false,"lucene_version":"9.11.1","minimum_wire_compatibility_version":"7.17.0","minimum_index_compatibility_version":"7.0.0"},"tagline":"You Know, for Search"}`))
}
