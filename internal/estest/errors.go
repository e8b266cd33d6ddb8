package estest

import (
	"strconv"

	"github.com/traceship/shipper/internal/jsonscan"
)

// esError is an Elasticsearch exception as rendered in responses: type,
// reason, extra string members in order, and an optional cause.
type esError struct {
	Type     string
	Reason   string
	Extra    []string // key, value pairs
	CausedBy *esError
}

func (e *esError) appendTo(b []byte, withCause bool) []byte {
	b = append(b, `{"type":`...)
	b = jsonscan.AppendString(b, e.Type)
	b = append(b, `,"reason":`...)
	b = jsonscan.AppendString(b, e.Reason)
	for i := 0; i+1 < len(e.Extra); i += 2 {
		b = append(b, ',')
		b = jsonscan.AppendString(b, e.Extra[i])
		b = append(b, ':')
		b = jsonscan.AppendString(b, e.Extra[i+1])
	}
	if withCause && e.CausedBy != nil {
		b = append(b, `,"caused_by":`...)
		b = e.CausedBy.appendTo(b, true)
	}
	return append(b, '}')
}

// response is a handler's answer, written after faults (delay, drop after
// store) are applied.
type response struct {
	status int
	body   []byte
	ctype  string // default application/json
	// filtered means the handler already applied filter_path.
	filtered bool
}

// errorResponse renders Elasticsearch's whole-request error shape:
// {"error":{"root_cause":[...],"type":...,"reason":...},"status":N}.
func errorResponse(status int, e *esError) response {
	b := make([]byte, 0, 256)
	b = append(b, `{"error":{"root_cause":[`...)
	b = e.appendTo(b, false) // Elasticsearch's root_cause is the top exception for these
	b = append(b, `],`...)
	inner := e.appendTo(nil, true)
	b = append(b, inner[1:]...) // splice the members of the full error
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, '}')
	return response{status: status, body: b}
}

// plainError is the {"error":"...","status":N} shape Elasticsearch uses for
// routing failures (no handler, wrong method).
func plainError(status int, msg string) response {
	b := append([]byte(`{"error":`), jsonscan.AppendString(nil, msg)...)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	return response{status: status, body: append(b, '}')}
}

func badRequest(typ, reason string) response {
	return errorResponse(400, &esError{Type: typ, Reason: reason})
}

func illegalArgument(reason string) response {
	return badRequest("illegal_argument_exception", reason)
}

func indexNotFound(name string) response {
	return errorResponse(404, &esError{Type: "index_not_found_exception", Reason: "no such index [" + name + "]",
		Extra: []string{"resource.type", "index_or_alias", "resource.id", name, "index_uuid", "_na_", "index", name}})
}

func resourceNotFound(reason string) response {
	return errorResponse(404, &esError{Type: "resource_not_found_exception", Reason: reason})
}

func okJSON(body []byte) response { return response{status: 200, body: body} }

var acknowledged = []byte(`{"acknowledged":true}`)
