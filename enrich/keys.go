package enrich

import "github.com/traceship/shipper/internal/jsonscan"

// kind is what a member's key says its value is.
type kind uint8

const (
	kNone kind = iota

	// ECS names, flat ("trace.id") or as the "id" of a nested object.
	kECSTrace
	kECSSpan
	kECSParent
	// "trace", "span", "parent": an object is looked into (its "id" is the
	// ECS field, its other members are classified like top-level ones); a
	// string is tried as an id but, the name being ambiguous (a stack trace
	// is also a "trace"), never tagged invalid.
	kTraceObj
	kSpanObj
	kParentObj
	// trace_id, traceId, traceID, trace-id, TraceId, TRACE_ID, ... and OTLP.
	kTraceID
	kSpanID
	kParentID
	kSerilogTrace // @tr (Serilog compact JSON)
	kSerilogSpan  // @sp
	kTraceparent
	kB3
	kB3Trace
	kB3Span
	kB3Parent
	kB3Sampled
	kB3Flags
	kJaeger
	kXRay
	kGCPHeader // X-Cloud-Trace-Context
	kDDTrace
	kDDSpan
	kDDObj // "dd": {"trace_id":…, "span_id":…}
	kGCPTrace
	kGCPSpan
	kGCPSampled
	kNest // an object that commonly carries a logger's context (mdc, context, ...)

	// Not ids: recognised in the same pass over the keys.
	kMessage
	kSvcFlat     // "service.name"
	kService     // "service"
	kApp         // "app"
	kApplication // "application"
	kServiceName // "serviceName", "service_name"
	kHostFlat    // "host.name"
	kTransaction // "transaction" or "transaction.id": the application wrote its own
)

// maxKeyLen bounds the keys worth normalising; every recognised key is
// shorter.
const maxKeyLen = 40

// classify says what a member's raw key names. top is false for the members
// of a nested object, where only id fields are recognised. It costs a
// switch on the first byte for most keys and a short normalisation
// (lower-case, '_', '-' and '.' dropped) for the few that start like a
// recognised one.
func classify(key []byte, top bool) kind {
	if len(key) < 2 || len(key) > maxKeyLen {
		return kNone
	}
	if key[0] == '\\' || key[1] == '\\' {
		return classifyEscaped(key, top)
	}
	// The most common spellings, without normalising.
	switch string(key) {
	case "trace_id", "traceId":
		return kTraceID
	case "span_id", "spanId":
		return kSpanID
	case "message":
		if top {
			return kMessage
		}
		return kNone
	case "service":
		if top {
			return kService
		}
		return kNone
	}
	// Most keys are rejected by their first two bytes: every recognised
	// name starts with one of these pairs (in any case).
	c0, c1 := key[0]|0x20, key[1]|0x20 // ASCII lower case; '@' becomes '`'
	switch c0 {
	case 't':
		if c1 != 'r' {
			return kNone
		}
	case 's':
		if c1 != 'p' && c1 != 'e' {
			return kNone
		}
	case 'p':
		if c1 != 'a' {
			return kNone
		}
	case 'b':
		if c1 != '3' {
			return kNone
		}
	case 'x':
		if c1 != '-' && c1 != '_' && c1 != 'b' && c1 != 'a' && c1 != 'r' {
			return kNone
		}
	case 'u':
		if c1 != 'b' {
			return kNone
		}
	case 'd':
		if c1 != 'd' {
			return kNone
		}
	case 'l':
		if c1 != 'o' && c1 != 'a' {
			return kNone
		}
	case 'a':
		if c1 != 'p' {
			return kNone
		}
	case 'm':
		if c1 != 'e' && c1 != 'd' {
			return kNone
		}
	case 'h':
		if c1 != 'o' && c1 != 'e' {
			return kNone
		}
	case 'c':
		if c1 != 'o' && c1 != 't' {
			return kNone
		}
	case 'o':
		if c1 != 't' {
			return kNone
		}
	case '`':
		if c1 != 't' && c1 != 's' {
			return kNone
		}
	default:
		return kNone
	}
	var buf [maxKeyLen]byte
	n := 0
	for _, c := range key {
		switch {
		case c == '_' || c == '-' || c == '.':
			continue
		case c == '\\':
			return classifyEscaped(key, top)
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	switch string(buf[:n]) {
	case "traceid":
		if string(key) == "trace.id" {
			return kECSTrace
		}
		return kTraceID
	case "spanid":
		if string(key) == "span.id" {
			return kECSSpan
		}
		return kSpanID
	case "parentid":
		if string(key) == "parent.id" {
			return kECSParent
		}
		return kParentID
	case "parentspanid":
		return kParentID
	case "trace":
		return kTraceObj
	case "span":
		return kSpanObj
	case "parent":
		return kParentObj
	case "@tr":
		return kSerilogTrace
	case "@sp":
		return kSerilogSpan
	case "traceparent":
		return kTraceparent
	case "b3":
		return kB3
	case "xb3traceid":
		return kB3Trace
	case "xb3spanid":
		return kB3Span
	case "xb3parentspanid":
		return kB3Parent
	case "xb3sampled":
		return kB3Sampled
	case "xb3flags":
		return kB3Flags
	case "ubertraceid":
		return kJaeger
	case "xamzntraceid":
		return kXRay
	case "xraytraceid": // AWS Lambda Powertools: "xray_trace_id": "1-<8>-<24>"
		return kTraceID
	case "xcloudtracecontext":
		return kGCPHeader
	case "ddtraceid":
		return kDDTrace
	case "ddspanid":
		return kDDSpan
	case "dd":
		return kDDObj
	case "logginggoogleapiscom/trace":
		return kGCPTrace
	case "logginggoogleapiscom/spanid":
		return kGCPSpan
	case "logginggoogleapiscom/tracesampled", "tracesampled":
		return kGCPSampled
	}
	if !top {
		return kNone
	}
	switch string(buf[:n]) {
	case "mdc", "contextmap", "context", "ctx", "otel", "tracing", "tracecontext", "spancontext", "headers", "labels":
		return kNest
	case "message":
		if string(key) == "message" {
			return kMessage
		}
	case "servicename":
		if string(key) == "service.name" {
			return kSvcFlat
		}
		return kServiceName
	case "service":
		if string(key) == "service" {
			return kService
		}
	case "app":
		return kApp
	case "application":
		return kApplication
	case "hostname":
		if string(key) == "host.name" {
			return kHostFlat
		}
	case "transaction":
		if string(key) == "transaction" {
			return kTransaction
		}
	case "transactionid":
		if string(key) == "transaction.id" {
			return kTransaction
		}
	}
	return kNone
}

// classifyEscaped classifies a key written with JSON escapes
// ("trace\u002eid"): rare, but Elasticsearch decodes them, so they name
// the same fields.
func classifyEscaped(key []byte, top bool) kind {
	var dec [maxKeyLen]byte
	d, ok := jsonscan.Unquote(dec[:0], key)
	if !ok || len(d) > maxKeyLen || indexByte(d, '\\') >= 0 {
		return kNone
	}
	return classify(d, top)
}
