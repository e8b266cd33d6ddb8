package enrich

import "bytes"

// Free-text ids. A message like
//
//	payment declined trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7
//
// carries ids that no field names. scanText finds them with a byte scan for
// the anchors "race" and "pan" (and their upper case), which the SIMD
// substring search of package bytes makes cheap, then reads the key around
// each hit and the value after it. No regular expression runs unless the
// user configured patterns.

type textMode uint8

const (
	modeID textMode = iota
	modeTraceparent
	modeDatadog
	modeJaeger
	modeXRay
)

// The lower-case anchors first: most messages that carry both ids spell
// them in lower case, and the scan stops once both are found.
var anchors = [...][]byte{[]byte("race"), []byte("pan"), []byte("RACE"), []byte("PAN")}

// maxTextToken bounds a value read from text.
const maxTextToken = 128

// scanText reads ids from the raw contents of a string value s (JSON
// escapes not decoded: ids contain none) into g.
func scanText(s []byte, g *group, r ref) {
	for ai, a := range anchors {
		isTrace := ai%2 == 0
		off := 0
		for off < len(s) {
			j := bytes.Index(s[off:], a)
			if j < 0 {
				break
			}
			p := off + j
			off = p + len(a)
			if p == 0 {
				continue
			}
			w := p - 1 // start of "trace" or "span"
			if isTrace {
				if s[w]|0x20 != 't' {
					continue
				}
			} else if s[w]|0x20 != 's' {
				continue
			}
			textAt(s, w, off, isTrace, g, r)
			if g.c.hasTrace && g.c.hasSpan {
				return
			}
		}
	}
}

func isAlnum(c byte) bool {
	c |= 0x20
	return ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
}

func hasFoldSuffix(s []byte, suffix string) bool {
	return len(s) >= len(suffix) && equalFold(s[len(s)-len(suffix):], suffix)
}

func hasFoldPrefix(s []byte, prefix string) bool {
	return len(s) >= len(prefix) && equalFold(s[:len(prefix)], prefix)
}

// textAt reads the key whose word ("trace" or "span") starts at w and ends
// at end, and the value after it.
func textAt(s []byte, w, end int, isTrace bool, g *group, r ref) {
	mode := modeID
	before := s[:w]
	if len(before) > 0 {
		switch c := before[len(before)-1]; {
		case isAlnum(c):
			return // "stacktrace", "ispan"
		case c == '.' || c == '_':
			if !hasFoldSuffix(before[:len(before)-1], "dd") {
				return
			}
			if len(before) > 3 && isAlnum(before[len(before)-4]) {
				return
			}
			mode = modeDatadog
		case c == '-':
			switch {
			case isTrace && hasFoldSuffix(before, "uber-"):
				mode = modeJaeger
			case isTrace && hasFoldSuffix(before, "amzn-"):
				mode = modeXRay
			case hasFoldSuffix(before, "x-b3-"):
			default:
				return
			}
		}
	}
	rest := s[end:]
	hasID := false
	if isTrace && mode == modeID && hasFoldPrefix(rest, "parent") {
		mode = modeTraceparent
		rest = rest[6:]
	} else {
		t := rest
		if len(t) > 0 && (t[0] == '_' || t[0] == '-' || t[0] == '.') {
			t = t[1:]
		}
		if hasFoldPrefix(t, "id") {
			rest, hasID = t[2:], true
		}
	}
	if !hasID && (mode == modeDatadog || mode == modeJaeger || mode == modeXRay) {
		return
	}
	if len(rest) > 0 && isAlnum(rest[0]) {
		return // "traces", "spanner", "trace_identity"
	}
	// Separator, with quotes and blanks around it: trace_id=…, "traceId": "…",
	// trace_id: …, trace_id=\"…\".
	i := skipQuotes(rest, 0)
	if i >= len(rest) || (rest[i] != '=' && rest[i] != ':') {
		return
	}
	i = skipQuotes(rest, i+1)
	start := i
	ok := &tokenChars[mode]
	for i < len(rest) && i-start <= maxTextToken && ok[rest[i]] {
		i++
	}
	tok := rest[start:i]
	if len(tok) == 0 || len(tok) > maxTextToken {
		return
	}
	switch mode {
	case modeID:
		if isTrace {
			if id, ok := parseTraceID(tok, false); ok {
				g.setTrace(id, r)
			}
		} else if id, ok := parseSpanID(tok, false); ok {
			g.setSpan(id, r)
		}
	case modeTraceparent:
		if c, ok := parseTraceparent(tok); ok && (!g.c.hasTrace || g.c.trace == c.trace) {
			g.merge(c, r)
		}
	case modeDatadog:
		if isTrace {
			if id, ok := parseDatadogTrace(tok); ok {
				g.setTrace(id, r)
			}
		} else if id, ok := parseDatadogSpan(tok); ok {
			g.setSpan(id, r)
		}
	case modeJaeger:
		if c, ok := parseJaeger(tok); ok && (!g.c.hasTrace || g.c.trace == c.trace) {
			g.merge(c, r)
		}
	case modeXRay:
		if c, ok := parseXRay(tok); ok && (!g.c.hasTrace || g.c.trace == c.trace) {
			g.merge(c, r)
		}
	}
}

func skipQuotes(s []byte, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '"', '\'', '\\', '\t':
			i++
		default:
			return i
		}
	}
	return i
}

// tokenChars says, per mode, which bytes a value read from text may hold:
// alphanumerics and '-' (ids, traceparent, Datadog), plus ':' and '%' for
// Jaeger, plus '=' and ';' for X-Ray.
var tokenChars = func() (t [modeXRay + 1][256]bool) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		base := isAlnum(b) || b == '-'
		for m := range t {
			t[m][c] = base
		}
		t[modeJaeger][c] = hexVal[b] <= 15 || b == ':' || b == '%'
		t[modeXRay][c] = base || b == '=' || b == ';'
	}
	return t
}()

// setFromText applies a configured pattern's submatches.
func setFromText(g *group, r ref, trace, span, parent []byte) {
	if trace != nil {
		if id, ok := parseTraceID(trace, false); ok {
			g.setTrace(id, r)
		}
	}
	if span != nil {
		if id, ok := parseSpanID(span, false); ok {
			g.setSpan(id, r)
		}
	}
	if parent != nil {
		if id, ok := parseSpanID(parent, false); ok {
			g.setParent(id, r)
		}
	}
}
