package enrich

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/traceship/shipper"
)

// The id parsers below take the text of a value (JSON escapes already
// decoded) and either return a valid, non-zero id or report false. They never
// guess: a value is accepted only in one of the forms the package doc lists.

// hexVal maps a byte to its hex digit value, or 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// decodeHex decodes the hex text s (either case, even length) into dst,
// which must be len(s)/2 bytes long.
func decodeHex(dst, s []byte) bool {
	for i := range dst {
		hi, lo := hexVal[s[2*i]], hexVal[s[2*i+1]]
		if hi > 15 || lo > 15 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// decodeHexRight decodes hex text of at most 2*len(dst) digits, right
// aligned in dst (the missing leading digits are zeros), as Jaeger and B3
// write 64-bit ids and Jaeger drops leading zeros.
func decodeHexRight(dst, s []byte) bool {
	if len(s) == 0 || len(s) > 2*len(dst) {
		return false
	}
	clear(dst)
	j := len(dst) - 1
	for i := len(s) - 1; i >= 0; i -= 2 {
		lo := hexVal[s[i]]
		if lo > 15 {
			return false
		}
		var hi byte
		if i > 0 {
			hi = hexVal[s[i-1]]
			if hi > 15 {
				return false
			}
		}
		dst[j] = hi<<4 | lo
		j--
	}
	return true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// parseTraceID accepts, in any case of hex: 32 hex digits; 16 hex digits
// (a 64-bit id, left-padded with zeros); the UUID form (8-4-4-4-12); the
// X-Ray form 1-<8 hex>-<24 hex>; and, when b64 is set, the 24-character
// padded base64 form some OTLP JSON exporters write.
func parseTraceID(s []byte, b64 bool) (id shipper.TraceID, ok bool) {
	switch len(s) {
	case 32:
		ok = decodeHex(id[:], s)
	case 16:
		ok = decodeHex(id[8:], s)
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return id, false
		}
		ok = decodeHex(id[0:4], s[0:8]) && decodeHex(id[4:6], s[9:13]) &&
			decodeHex(id[6:8], s[14:18]) && decodeHex(id[8:10], s[19:23]) &&
			decodeHex(id[10:16], s[24:36])
	case 35:
		ok = parseXRayRoot(&id, s)
	case 24:
		if !b64 || s[22] != '=' || s[23] != '=' {
			return id, false
		}
		n, err := b64Strict.Decode(id[:], s)
		ok = err == nil && n == 16
	}
	if !ok || id.IsZero() {
		return shipper.TraceID{}, false
	}
	return id, true
}

// parseXRayRoot reads an X-Ray trace id, 1-<8 hex epoch>-<24 hex>, into the
// 32-hex W3C form (the OpenTelemetry X-Ray propagator's mapping).
func parseXRayRoot(id *shipper.TraceID, s []byte) bool {
	if len(s) != 35 || s[0] != '1' || s[1] != '-' || s[10] != '-' {
		return false
	}
	return decodeHex(id[0:4], s[2:10]) && decodeHex(id[4:16], s[11:35])
}

// parseSpanID accepts 16 hex digits in any case and, when b64 is set, the
// 12-character padded base64 form.
func parseSpanID(s []byte, b64 bool) (id shipper.SpanID, ok bool) {
	switch len(s) {
	case 16:
		ok = decodeHex(id[:], s)
	case 12:
		if !b64 || s[11] != '=' {
			return id, false
		}
		n, err := b64Strict.Decode(id[:], s)
		ok = err == nil && n == 8
	}
	if !ok || id.IsZero() {
		return shipper.SpanID{}, false
	}
	return id, true
}

// parseDecimal64 reads an unsigned 64-bit decimal (Datadog's ids).
func parseDecimal64(s []byte) (uint64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func putUint64(dst []byte, n uint64) {
	for i := 7; i >= 0; i-- {
		dst[i] = byte(n)
		n >>= 8
	}
}

// parseDatadogTrace reads dd.trace_id: an unsigned 64-bit decimal (the
// default), left-padded to 128 bits, or 32 hex digits (tracers that log
// 128-bit ids).
func parseDatadogTrace(s []byte) (id shipper.TraceID, ok bool) {
	if len(s) == 32 {
		return parseTraceID(s, false)
	}
	n, ok := parseDecimal64(s)
	if !ok || n == 0 {
		return id, false
	}
	putUint64(id[8:], n)
	return id, true
}

// parseDatadogSpan reads dd.span_id: an unsigned 64-bit decimal.
func parseDatadogSpan(s []byte) (id shipper.SpanID, ok bool) {
	n, ok := parseDecimal64(s)
	if !ok || n == 0 {
		return id, false
	}
	putUint64(id[:], n)
	return id, true
}

// ctx is what one propagation value carries.
type ctx struct {
	trace    shipper.TraceID
	span     shipper.SpanID
	parent   shipper.SpanID
	sampled  shipper.Sampled
	hasTrace bool
	hasSpan  bool
	hasPar   bool
}

// parseTraceparent reads a W3C traceparent: 00-<32 hex>-<16 hex>-<2 hex>.
// Versions above 00 may append fields after the flags; version ff is
// invalid. Upper-case hex is accepted (and lowered), although the
// specification asks senders for lower case, because logs are not headers.
func parseTraceparent(s []byte) (c ctx, ok bool) {
	if len(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return c, false
	}
	var ver, flags [1]byte
	if !decodeHex(ver[:], s[0:2]) || ver[0] == 0xff || (ver[0] == 0 && len(s) != 55) ||
		(len(s) > 55 && s[55] != '-') {
		return c, false
	}
	if !decodeHex(c.trace[:], s[3:35]) || !decodeHex(c.span[:], s[36:52]) || !decodeHex(flags[:], s[53:55]) {
		return c, false
	}
	if c.trace.IsZero() || c.span.IsZero() {
		return c, false
	}
	c.hasTrace, c.hasSpan = true, true
	c.sampled = shipper.SampledNo
	if flags[0]&1 != 0 {
		c.sampled = shipper.SampledYes
	}
	return c, true
}

func b3Sampled(s []byte) (shipper.Sampled, bool) {
	switch string(s) {
	case "1", "d", "true":
		return shipper.SampledYes, true
	case "0", "false":
		return shipper.SampledNo, true
	}
	return shipper.SampledUnknown, false
}

// parseB3 reads the B3 single header: <trace>-<span>[-<sampled>[-<parent>]]
// with a 16 or 32 hex trace id, or a lone sampling state ("0", "1", "d").
func parseB3(s []byte) (c ctx, ok bool) {
	if len(s) == 1 {
		c.sampled, ok = b3Sampled(s)
		return c, ok
	}
	parts, n := split4(s, '-')
	if n < 2 {
		return c, false
	}
	if len(parts[0]) != 16 && len(parts[0]) != 32 {
		return c, false
	}
	if c.trace, ok = parseTraceID(parts[0], false); !ok {
		return c, false
	}
	if c.span, ok = parseSpanID(parts[1], false); !ok {
		return c, false
	}
	c.hasTrace, c.hasSpan = true, true
	if n >= 3 {
		if c.sampled, ok = b3Sampled(parts[2]); !ok {
			return ctx{}, false
		}
	}
	if n == 4 {
		if c.parent, ok = parseSpanID(parts[3], false); !ok {
			return ctx{}, false
		}
		c.hasPar = true
	}
	return c, true
}

// parseJaeger reads uber-trace-id: <trace>:<span>:<parent>:<flags>, hex ids
// of variable length (leading zeros may be dropped), parent 0 meaning none,
// flags bit 1 meaning sampled. A URL-encoded form (%3A) is accepted.
func parseJaeger(s []byte) (c ctx, ok bool) {
	var buf [128]byte
	if len(s) > len(buf) {
		return c, false
	}
	s = decodeColons(buf[:0], s)
	parts, n := split4(s, ':')
	if n != 4 {
		return c, false
	}
	if !decodeHexRight(c.trace[:], parts[0]) || c.trace.IsZero() {
		return ctx{}, false
	}
	if !decodeHexRight(c.span[:], parts[1]) || c.span.IsZero() {
		return ctx{}, false
	}
	if !decodeHexRight(c.parent[:], parts[2]) {
		return ctx{}, false
	}
	var flags [1]byte
	if !decodeHexRight(flags[:], parts[3]) {
		return ctx{}, false
	}
	c.hasTrace, c.hasSpan, c.hasPar = true, true, !c.parent.IsZero()
	c.sampled = shipper.SampledNo
	if flags[0]&1 != 0 {
		c.sampled = shipper.SampledYes
	}
	return c, true
}

// decodeColons replaces %3A/%3a by ':' into dst when s holds any.
func decodeColons(dst, s []byte) []byte {
	has := false
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && s[i+1] == '3' && (s[i+2] == 'A' || s[i+2] == 'a') {
			has = true
			break
		}
	}
	if !has {
		return s
	}
	for i := 0; i < len(s); i++ {
		if i+2 < len(s) && s[i] == '%' && s[i+1] == '3' && (s[i+2] == 'A' || s[i+2] == 'a') {
			dst = append(dst, ':')
			i += 2
			continue
		}
		dst = append(dst, s[i])
	}
	return dst
}

// parseCloudTraceContext reads Google Cloud's X-Cloud-Trace-Context:
// <32 hex trace>[/<decimal span>][;o=<0|1>]. The span id is an unsigned
// 64-bit decimal, written as 16 hex digits like OpenTelemetry's GCP
// propagator does.
func parseCloudTraceContext(s []byte) (c ctx, ok bool) {
	opts := []byte(nil)
	if i := indexByte(s, ';'); i >= 0 {
		s, opts = s[:i], s[i+1:]
	}
	var span []byte
	if i := indexByte(s, '/'); i >= 0 {
		s, span = s[:i], s[i+1:]
	}
	if len(s) != 32 || !decodeHex(c.trace[:], s) || c.trace.IsZero() {
		return ctx{}, false
	}
	c.hasTrace = true
	if len(span) > 0 {
		n, ok := parseDecimal64(span)
		if !ok || n == 0 {
			return ctx{}, false
		}
		putUint64(c.span[:], n)
		c.hasSpan = true
	}
	switch string(opts) {
	case "o=1":
		c.sampled = shipper.SampledYes
	case "o=0":
		c.sampled = shipper.SampledNo
	}
	return c, true
}

// parseXRay reads X-Amzn-Trace-Id: Root=1-<8>-<24>;Parent=<16>;Sampled=<0|1|?>
// in any order, other fields (Self=, Lineage=) ignored. The X-Ray Parent is
// the span that sent the request, which for the service that logs it is the
// current segment's parent; like the OpenTelemetry X-Ray propagator the
// package treats it as the span id of the context.
func parseXRay(s []byte) (c ctx, ok bool) {
	for len(s) > 0 {
		var field []byte
		if i := indexByte(s, ';'); i >= 0 {
			field, s = s[:i], s[i+1:]
		} else {
			field, s = s, nil
		}
		field = trimSpace(field)
		eq := indexByte(field, '=')
		if eq < 0 {
			continue
		}
		k, v := field[:eq], field[eq+1:]
		switch {
		case equalFold(k, "root"):
			if !parseXRayRoot(&c.trace, v) || c.trace.IsZero() {
				return ctx{}, false
			}
			c.hasTrace = true
		case equalFold(k, "parent"):
			if c.span, ok = parseSpanID(v, false); !ok {
				return ctx{}, false
			}
			c.hasSpan = true
		case equalFold(k, "sampled"):
			switch string(v) {
			case "1":
				c.sampled = shipper.SampledYes
			case "0":
				c.sampled = shipper.SampledNo
			}
		}
	}
	if !c.hasTrace {
		return ctx{}, false
	}
	return c, true
}

// parseGCPTrace reads logging.googleapis.com/trace:
// projects/<project>/traces/<32 hex>, or the bare id.
func parseGCPTrace(s []byte) (shipper.TraceID, bool) {
	if len(s) > 9 && string(s[:9]) == "projects/" {
		i := lastIndexByte(s, '/')
		if i < 9 || string(s[i-7:i+1]) != "/traces/" {
			return shipper.TraceID{}, false
		}
		s = s[i+1:]
	}
	if len(s) != 32 {
		return shipper.TraceID{}, false
	}
	return parseTraceID(s, false)
}

// split4 returns the fields of s separated by sep: at most 4 (n is 5 when
// there are more). It returns them rather than filling a slice argument, so
// that a caller's stack buffer holding s stays on the stack.
func split4(s []byte, sep byte) (parts [4][]byte, n int) {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != sep {
			continue
		}
		if n == 4 {
			return parts, 5
		}
		parts[n] = s[start:i]
		n++
		start = i + 1
	}
	return parts, n
}

func indexByte(s []byte, c byte) int { return bytes.IndexByte(s, c) }

func lastIndexByte(s []byte, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func trimSpace(s []byte) []byte {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// equalFold compares s with the lower-case ASCII word w, ignoring case.
func equalFold(s []byte, w string) bool {
	if len(s) != len(w) {
		return false
	}
	for i := range s {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// b64Strict rejects base64 whose unused trailing bits are not zero: such a
// text is not what any encoder writes, and accepting it would map several
// texts to one id.
var b64Strict = base64.StdEncoding.Strict()

// ParseTraceID reads a trace id as a person pastes it: 32 or 16 hex digits
// in any case, a UUID, an X-Ray id (1-<8>-<24>), a W3C traceparent or a
// Google Cloud trace name (projects/<p>/traces/<id>), surrounding blanks
// ignored. It is for `shipper trace <id>`; the result is what the stage
// writes as trace.id.
func ParseTraceID(s string) (shipper.TraceID, bool) {
	b := []byte(strings.TrimSpace(s))
	if c, ok := parseTraceparent(b); ok {
		return c.trace, true
	}
	if id, ok := parseGCPTrace(b); ok {
		return id, true
	}
	return parseTraceID(b, false)
}
