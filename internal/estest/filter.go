package estest

import (
	"strings"

	"github.com/traceship/shipper/internal/jsonscan"
)

// filterPath applies Elasticsearch's filter_path response filtering: a
// comma list of dotted paths whose segments may hold '*' wildcards, '**'
// for any depth, and a leading '-' to exclude. Arrays are transparent,
// emptied objects are dropped, and nothing matched gives "{}".
func filterPath(body []byte, fp string) []byte {
	var inc, exc []string
	for _, p := range strings.Split(fp, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
		case strings.HasPrefix(p, "-"):
			exc = append(exc, p[1:])
		default:
			inc = append(inc, p)
		}
	}
	return filterJSON(body, inc, exc)
}

// filterJSON keeps the members of a JSON document matching any include
// path (all when there are none) and then drops those matching an exclude.
func filterJSON(doc []byte, includes, excludes []string) []byte {
	out := doc
	if len(includes) > 0 {
		paths := splitPaths(includes)
		b, ok := includeValue(nil, out, paths)
		if !ok {
			return []byte("{}")
		}
		out = b
	}
	if len(excludes) > 0 {
		b, ok := excludeValue(nil, out, splitPaths(excludes))
		if !ok {
			return []byte("{}")
		}
		out = b
	}
	return out
}

func splitPaths(ps []string) [][]string {
	out := make([][]string, len(ps))
	for i, p := range ps {
		out[i] = strings.Split(p, ".")
	}
	return out
}

// advance returns the continuations of path p after a member named key
// (which may itself be dotted); a nil continuation means fully matched.
func advance(p []string, key string, dst [][]string) ([][]string, bool) {
	conts := [][]string{p}
	for _, seg := range strings.Split(key, ".") {
		var next [][]string
		for _, c := range conts {
			next = step(c, seg, next)
		}
		conts = next
		for _, c := range conts {
			if len(c) == 0 {
				return dst, true
			}
		}
	}
	return append(dst, conts...), false
}

func step(p []string, seg string, dst [][]string) [][]string {
	if len(p) == 0 {
		return dst
	}
	if p[0] == "**" {
		if len(p) == 1 {
			return append(dst, []string{})
		}
		dst = append(dst, p) // ** consumes seg
		return step(p[1:], seg, dst)
	}
	if globMatch(p[0], seg) {
		dst = append(dst, p[1:])
	}
	return dst
}

// includeValue appends the filtered v to b; ok is false when nothing in v
// matched.
func includeValue(b, v []byte, paths [][]string) ([]byte, bool) {
	switch v[0] {
	case '[':
		mark := len(b)
		b = append(b, '[')
		n := 0
		eachElement(v, func(e []byte) bool {
			if e[0] != '{' && e[0] != '[' {
				return true
			}
			save := len(b)
			if n > 0 {
				b = append(b, ',')
			}
			var ok bool
			b, ok = includeValue(b, e, paths)
			if ok {
				n++
			} else {
				b = b[:save]
			}
			return true
		})
		if n == 0 {
			return b[:mark], false
		}
		return append(b, ']'), true
	case '{':
		mark := len(b)
		b = append(b, '{')
		n := 0
		jsonscan.EachMember(v, func(k, val []byte) bool {
			key := stringValue(append(append([]byte{'"'}, k...), '"'))
			var conts [][]string
			full := false
			for _, p := range paths {
				var done bool
				conts, done = advance(p, key, conts)
				if done {
					full = true
					break
				}
			}
			save := len(b)
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, '"', ':')
			switch {
			case full:
				b = append(b, val...)
				n++
			case len(conts) > 0 && (val[0] == '{' || val[0] == '['):
				var ok bool
				if b, ok = includeValue(b, val, conts); ok {
					n++
				} else {
					b = b[:save]
				}
			default:
				b = b[:save]
			}
			return true
		})
		if n == 0 {
			return b[:mark], false
		}
		return append(b, '}'), true
	}
	return b, false
}

// excludeValue appends v without the members matching paths; ok is false
// when everything was excluded.
func excludeValue(b, v []byte, paths [][]string) ([]byte, bool) {
	switch v[0] {
	case '[':
		b = append(b, '[')
		n := 0
		eachElement(v, func(e []byte) bool {
			save := len(b)
			if n > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = excludeValue(b, e, paths); ok {
				n++
			} else {
				b = b[:save]
			}
			return true
		})
		return append(b, ']'), true
	case '{':
		b = append(b, '{')
		n := 0
		jsonscan.EachMember(v, func(k, val []byte) bool {
			key := stringValue(append(append([]byte{'"'}, k...), '"'))
			var conts [][]string
			for _, p := range paths {
				var done bool
				if conts, done = advance(p, key, conts); done {
					return true // excluded
				}
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, '"', ':')
			if len(conts) > 0 {
				b, _ = excludeValue(b, val, conts)
			} else {
				b = append(b, val...)
			}
			return true
		})
		return append(b, '}'), true
	}
	return append(b, v...), true
}

// matchLevel is how a filter_path set matches one path of a response.
type matchLevel int

const (
	matchNone    matchLevel = iota
	matchPartial            // some path continues below this one
	matchFull               // this path and everything below it
)

func matchSegments(paths [][]string, segs ...string) matchLevel {
	conts := paths
	for _, seg := range segs {
		var next [][]string
		for _, c := range conts {
			next = step(c, seg, next)
		}
		for _, c := range next {
			if len(c) == 0 {
				return matchFull
			}
		}
		if len(next) == 0 {
			return matchNone
		}
		conts = next
	}
	return matchPartial
}

// bulkItemFields are the members of a bulk item, in Elasticsearch's order.
var bulkItemFields = [...]string{"_index", "_id", "_version", "result", "_shards", "_seq_no", "_primary_term", "status", "error"}

// bulkFilter is filter_path compiled for the bulk response, so the
// handler writes only what was asked for instead of filtering afterwards
// (the agent asks for errors,items.*.error,items.*.status on every request).
type bulkFilter struct {
	took, errors bool
	fields       map[string]*[len(bulkItemFields)]bool // op → included fields
}

// compileBulkFilter returns nil when the filter needs the generic path
// (exclusions, or paths into error or _shards objects).
func compileBulkFilter(fp string) *bulkFilter {
	var inc []string
	for _, p := range strings.Split(fp, ",") {
		p = strings.TrimSpace(p)
		if strings.HasPrefix(p, "-") {
			return nil
		}
		if p != "" {
			inc = append(inc, p)
		}
	}
	paths := splitPaths(inc)
	f := &bulkFilter{took: matchSegments(paths, "took") == matchFull, errors: matchSegments(paths, "errors") == matchFull,
		fields: map[string]*[len(bulkItemFields)]bool{}}
	for _, op := range []string{"index", "create", "delete", "update"} {
		var set [len(bulkItemFields)]bool
		for i, name := range bulkItemFields {
			switch matchSegments(paths, "items", op, name) {
			case matchFull:
				set[i] = true
			case matchPartial:
				if name == "error" || name == "_shards" {
					return nil
				}
			}
		}
		f.fields[op] = &set
	}
	return f
}
