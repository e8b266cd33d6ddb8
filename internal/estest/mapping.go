package estest

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"math"
	"math/big"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/traceship/shipper/internal/jsonscan"
)

// field is one mapped field, keyed in mapping.fields by its dotted path.
type field struct {
	typ     string            // Elasticsearch type; "object" for objects
	params  map[string]any    // the other mapping parameters, as given
	sub     map[string]string // multi-fields: name → type
	dynamic string            // objects: "", "true", "false", "strict", "runtime"
	format  string            // dates
	value   string            // constant_keyword
	hasVal  bool
}

// mapping is an index's mapping: explicit fields from templates and PUT
// index, plus fields added dynamically by the first document that had them.
type mapping struct {
	dynamic          string // root: "true" (default), "false", "strict", "runtime"
	dateDetection    bool
	numericDetection bool
	fields           map[string]*field
	templates        []dynTemplate
}

type dynTemplate struct {
	name                                   string
	mappingTypes                           []string // match_mapping_type; empty means any
	match, unmatch, pathMatch, pathUnmatch []string
	matchRegex                             bool
	mapping                                map[string]any
}

func newMapping() *mapping {
	return &mapping{dynamic: "true", dateDetection: true, fields: map[string]*field{}}
}

var knownTypes = map[string]bool{
	"text": true, "match_only_text": true, "keyword": true, "constant_keyword": true, "wildcard": true,
	"long": true, "integer": true, "short": true, "byte": true, "double": true, "float": true, "half_float": true,
	"scaled_float": true, "unsigned_long": true, "date": true, "date_nanos": true, "boolean": true, "binary": true,
	"object": true, "nested": true, "flattened": true, "ip": true, "geo_point": true, "geo_shape": true,
	"alias": true, "version": true, "search_as_you_type": true, "completion": true, "dense_vector": true,
	"sparse_vector": true, "rank_feature": true, "rank_features": true, "histogram": true, "integer_range": true,
	"long_range": true, "float_range": true, "double_range": true, "date_range": true, "ip_range": true,
	"token_count": true, "annotated_text": true, "semantic_text": true, "passthrough": true,
	"aggregate_metric_double": true, "point": true, "shape": true, "percolator": true, "join": true,
}

func mapperErr(reason string) *esError {
	return &esError{Type: "mapper_parsing_exception", Reason: reason}
}

// merge adds explicit mappings ({"properties":..., "dynamic":...,
// "dynamic_templates":[...]}) to m, refusing type changes as
// Elasticsearch does.
func (m *mapping) merge(raw json.RawMessage) *esError {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return mapperErr("Failed to parse mapping: " + err.Error())
	}
	if doc, ok := top["_doc"]; ok && len(top) == 1 {
		if err := json.Unmarshal(doc, &top); err != nil {
			return mapperErr("Failed to parse mapping: " + err.Error())
		}
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		v := top[k]
		switch k {
		case "properties":
			if e := m.mergeProperties("", v); e != nil {
				return e
			}
		case "dynamic":
			m.dynamic = strings.Trim(string(v), `"`)
		case "date_detection":
			m.dateDetection = strings.Trim(string(v), `"`) == "true"
		case "numeric_detection":
			m.numericDetection = strings.Trim(string(v), `"`) == "true"
		case "dynamic_templates":
			var list []map[string]map[string]any
			if err := json.Unmarshal(v, &list); err != nil {
				return mapperErr("Failed to parse mapping: dynamic_templates must be a list of named objects")
			}
			for _, named := range list {
				for name, def := range named {
					dt, e := parseDynTemplate(name, def)
					if e != nil {
						return e
					}
					m.templates = slices.DeleteFunc(m.templates, func(t dynTemplate) bool { return t.name == name })
					m.templates = append(m.templates, dt)
				}
			}
		case "_source", "_meta", "_routing", "runtime", "dynamic_date_formats", "subobjects", "_data_stream_timestamp", "enabled":
		default:
			return mapperErr("Root mapping definition has unsupported parameters:  [" + k + " : " + string(v) + "]")
		}
	}
	return nil
}

func strList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func parseDynTemplate(name string, def map[string]any) (dynTemplate, *esError) {
	dt := dynTemplate{name: name}
	for k, v := range def {
		switch k {
		case "match_mapping_type":
			dt.mappingTypes = strList(v)
			if slices.Contains(dt.mappingTypes, "*") {
				dt.mappingTypes = nil
			}
		case "match":
			dt.match = strList(v)
		case "unmatch":
			dt.unmatch = strList(v)
		case "path_match":
			dt.pathMatch = strList(v)
		case "path_unmatch":
			dt.pathUnmatch = strList(v)
		case "match_pattern":
			dt.matchRegex = v == "regex"
		case "mapping":
			dt.mapping, _ = v.(map[string]any)
		case "runtime", "unmatch_mapping_type":
		default:
			return dt, mapperErr("Illegal dynamic template parameter: [" + k + "]")
		}
	}
	if dt.mapping == nil {
		return dt, mapperErr("template [" + name + "] must have either mapping or runtime set")
	}
	return dt, nil
}

func (m *mapping) mergeProperties(prefix string, raw json.RawMessage) *esError {
	var props map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &props); err != nil {
		return mapperErr("Failed to parse mapping: properties must be an object of field definitions")
	}
	for _, name := range slices.Sorted(maps.Keys(props)) {
		def := props[name]
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		// Dotted names define the intermediate objects too.
		for i := strings.IndexByte(p, '.'); i >= 0; {
			parent := p[:i]
			if f := m.fields[parent]; f == nil {
				m.fields[parent] = &field{typ: "object"}
			} else if f.typ != "object" && f.typ != "nested" {
				return &esError{Type: "illegal_argument_exception", Reason: "can't merge a non object mapping [" + parent + "] with an object mapping"}
			}
			j := strings.IndexByte(p[i+1:], '.')
			if j < 0 {
				break
			}
			i += j + 1
		}
		f := &field{params: map[string]any{}}
		typ := "object"
		if t, ok := def["type"]; ok {
			json.Unmarshal(t, &typ)
		}
		if !knownTypes[typ] {
			return mapperErr("No handler for type [" + typ + "] declared on field [" + name + "]")
		}
		f.typ = typ
		for _, k := range slices.Sorted(maps.Keys(def)) {
			v := def[k]
			switch k {
			case "type":
			case "properties":
				if typ != "object" && typ != "nested" {
					return mapperErr("unknown parameter [properties] on mapper [" + name + "] of type [" + typ + "]")
				}
			case "dynamic":
				f.dynamic = strings.Trim(string(v), `"`)
			case "format":
				json.Unmarshal(v, &f.format)
				f.params[k] = f.format
			case "value":
				var x any
				json.Unmarshal(v, &x)
				f.value, f.hasVal = settingString(x), true
				f.params[k] = x
			case "fields":
				var subs map[string]map[string]any
				if err := json.Unmarshal(v, &subs); err != nil {
					return mapperErr("Failed to parse mapping: [fields] on field [" + name + "] must be an object")
				}
				f.sub = map[string]string{}
				for sn, sd := range subs {
					st, _ := sd["type"].(string)
					if !knownTypes[st] {
						return mapperErr("No handler for type [" + st + "] declared on field [" + sn + "]")
					}
					f.sub[sn] = st
				}
				var x any
				json.Unmarshal(v, &x)
				f.params[k] = x
			default:
				var x any
				json.Unmarshal(v, &x)
				f.params[k] = x
			}
		}
		if old := m.fields[p]; old != nil && old.typ != f.typ {
			return &esError{Type: "illegal_argument_exception", Reason: "mapper [" + p + "] cannot be changed from type [" + old.typ + "] to [" + f.typ + "]"}
		}
		m.fields[p] = f
		if sub, ok := def["properties"]; ok {
			if e := m.mergeProperties(p, sub); e != nil {
				return e
			}
		}
	}
	return nil
}

// render returns the mapping as GET _mapping shows it.
func (m *mapping) render() map[string]any {
	root := map[string]any{}
	if m.dynamic != "true" {
		root["dynamic"] = m.dynamic
	}
	if !m.dateDetection {
		root["date_detection"] = false
	}
	if len(m.templates) > 0 {
		var dts []any
		for _, t := range m.templates {
			d := map[string]any{"mapping": t.mapping}
			if len(t.mappingTypes) > 0 {
				d["match_mapping_type"] = t.mappingTypes[0]
			}
			if len(t.match) > 0 {
				d["match"] = t.match[0]
			}
			if len(t.pathMatch) > 0 {
				d["path_match"] = t.pathMatch[0]
			}
			dts = append(dts, map[string]any{t.name: d})
		}
		root["dynamic_templates"] = dts
	}
	props := map[string]any{}
	for _, p := range slices.Sorted(maps.Keys(m.fields)) {
		f := m.fields[p]
		parts := strings.Split(p, ".")
		cur := props
		for _, part := range parts[:len(parts)-1] {
			obj, _ := cur[part].(map[string]any)
			if obj == nil {
				obj = map[string]any{}
				cur[part] = obj
			}
			inner, _ := obj["properties"].(map[string]any)
			if inner == nil {
				inner = map[string]any{}
				obj["properties"] = inner
			}
			cur = inner
		}
		def, _ := cur[parts[len(parts)-1]].(map[string]any)
		if def == nil {
			def = map[string]any{}
			cur[parts[len(parts)-1]] = def
		}
		if f.typ != "object" {
			def["type"] = f.typ
		}
		if f.dynamic != "" {
			def["dynamic"] = f.dynamic
		}
		for k, v := range f.params {
			def[k] = v
		}
	}
	if len(props) > 0 {
		root["properties"] = props
	}
	return root
}

// lookup returns the field mapped at path, resolving a multi-field suffix
// ("message.keyword") to its parent and the sub-field's type.
func (m *mapping) lookup(p string) (f *field, typ string, ok bool) {
	if f := m.fields[p]; f != nil {
		return f, f.typ, true
	}
	if i := strings.LastIndexByte(p, '.'); i > 0 {
		if parent := m.fields[p[:i]]; parent != nil {
			if st, ok := parent.sub[p[i+1:]]; ok {
				return parent, st, true
			}
		}
	}
	return nil, "", false
}

// docChecker parses one document against a mapping the way Elasticsearch's
// DocumentParser does, collecting the dynamic mapping updates it implies;
// they are applied only if the whole document is accepted.
type docChecker struct {
	m     *mapping
	id    string
	src   []byte
	added map[string]*field
	hasTS bool
	slash bool // the last detected date used the yyyy/MM/dd format
}

func (c *docChecker) field(p string) *field {
	if f := c.added[p]; f != nil {
		return f
	}
	return c.m.fields[p]
}

func (c *docChecker) pos(v []byte) string {
	off := cap(c.src) - cap(v) + len(v)
	return "[1:" + strconv.Itoa(off) + "] "
}

func (c *docChecker) docErr(v []byte, reason string, cause *esError) *esError {
	return &esError{Type: "document_parsing_exception", Reason: c.pos(v) + reason, CausedBy: cause}
}

// checkDocLocked validates a source against ix's mapping and, if it is
// accepted, records the dynamic fields it introduced.
func (s *Server) checkDocLocked(ix *index, id string, src []byte) *esError {
	c := &docChecker{m: ix.mapping, id: id, src: src}
	if e := c.check(ix.stream != ""); e != nil {
		return e
	}
	if len(c.added) > 0 {
		if e := c.limits(); e != nil {
			return e
		}
	}
	for p, f := range c.added {
		ix.mapping.fields[p] = f
	}
	return nil
}

// Elasticsearch's index.mapping.total_fields.limit and depth.limit
// defaults: a log shipper that sends arbitrary keys meets them (mapping
// explosion) and must dead-letter what they refuse.
const (
	totalFieldsLimit = 1000
	depthLimit       = 20
)

func fieldWeight(f *field) int { return 1 + len(f.sub) }

// limits refuses a document whose new fields would exceed the mapping
// limits; the fields it would add are in c.added.
func (c *docChecker) limits() *esError {
	total, adding := 0, 0
	for p, f := range c.m.fields {
		if c.added[p] == nil {
			total += fieldWeight(f)
		}
	}
	for p, f := range c.added {
		if c.m.fields[p] == nil {
			adding += fieldWeight(f)
		}
		total += fieldWeight(f)
		if (f.typ == "object" || f.typ == "nested") && strings.Count(p, ".")+2 > depthLimit {
			// An object at the root counts 2: its fields are one level down.
			reason := "Limit of mapping depth [" + strconv.Itoa(depthLimit) + "] has been exceeded due to object field [" + p + "]"
			return &esError{Type: "document_parsing_exception", Reason: "[1:1] failed to parse: " + reason,
				CausedBy: &esError{Type: "illegal_argument_exception", Reason: reason}}
		}
	}
	if total > totalFieldsLimit {
		reason := "Limit of total fields [" + strconv.Itoa(totalFieldsLimit) + "] has been exceeded while adding new fields [" + strconv.Itoa(adding) + "]"
		return &esError{Type: "document_parsing_exception", Reason: "[1:1] failed to parse: " + reason,
			CausedBy: &esError{Type: "illegal_argument_exception", Reason: reason}}
	}
	return nil
}

func (c *docChecker) check(dataStream bool) *esError {
	if err := jsonscan.Valid(c.src, 0); err != nil {
		off := 0
		if se, ok := err.(*jsonscan.SyntaxError); ok {
			off = se.Offset
		}
		msg := err.Error()
		return &esError{Type: "document_parsing_exception", Reason: "[1:" + strconv.Itoa(off+1) + "] failed to parse: " + msg,
			CausedBy: &esError{Type: "json_parse_exception", Reason: msg}}
	}
	t := strings.TrimSpace(string(c.src))
	if !strings.HasPrefix(t, "{") {
		return &esError{Type: "document_parsing_exception", Reason: "[1:1] failed to parse: Malformed content, must start with an object",
			CausedBy: &esError{Type: "illegal_argument_exception", Reason: "Malformed content, must start with an object"}}
	}
	c.added = map[string]*field{}
	if e := c.object("", c.src, c.m.dynamic); e != nil {
		return e
	}
	if dataStream && !c.hasTS {
		end := c.src[len(c.src):]
		return c.docErr(end, "failed to parse: data stream timestamp field [@timestamp] is missing",
			&esError{Type: "illegal_argument_exception", Reason: "data stream timestamp field [@timestamp] is missing"})
	}
	return nil
}

func (c *docChecker) object(prefix string, obj []byte, dyn string) *esError {
	var seen []string
	var err *esError
	var keyBuf []byte
	jsonscan.EachMember(obj, func(k, v []byte) bool {
		keyBuf, _ = jsonscan.Unquote(keyBuf[:0], k)
		key := string(keyBuf)
		if slices.Contains(seen, key) {
			msg := "Duplicate field '" + key + "'\n at [Source: (byte[])\"" + preview(c.src, 200) + "\"; line: 1, column: " +
				strconv.Itoa(cap(c.src)-cap(k)) + "]"
			err = &esError{Type: "document_parsing_exception", Reason: c.pos(k) + "failed to parse: " + msg,
				CausedBy: &esError{Type: "json_parse_exception", Reason: msg}}
			return false
		}
		seen = append(seen, key)
		if key == "" || strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
			err = c.docErr(v, "failed to parse: field name cannot contain only whitespace or dots: ['"+key+"']",
				&esError{Type: "illegal_argument_exception", Reason: "field name cannot be an empty string"})
			if key != "" && strings.Trim(key, ".") != "" {
				err.Reason = c.pos(v) + "failed to parse: object field starting or ending with a [.] makes object resolution ambiguous: [" + key + "]"
				err.CausedBy.Reason = "object field starting or ending with a [.] makes object resolution ambiguous: [" + key + "]"
			}
			return false
		}
		p := key
		if prefix != "" {
			p = prefix + "." + key
		}
		if p == "@timestamp" && string(v) != "null" {
			c.hasTS = true
		}
		err = c.value(p, key, v, dyn)
		return err == nil
	})
	return err
}

func (c *docChecker) value(p, key string, v []byte, dyn string) *esError {
	switch v[0] {
	case 'n':
		return nil
	case '[':
		var err *esError
		eachElement(v, func(e []byte) bool {
			err = c.value(p, key, e, dyn)
			return err == nil
		})
		return err
	case '{':
		f, _, err := c.mapped(p, key, v, dyn, "object")
		if f == nil {
			return err
		}
		switch f.typ {
		case "object", "nested":
		case "flattened", "geo_point", "geo_shape", "point", "shape", "join", "percolator", "completion",
			"integer_range", "long_range", "float_range", "double_range", "date_range", "ip_range",
			"aggregate_metric_double", "histogram", "rank_features", "sparse_vector", "passthrough":
			return nil
		default:
			return c.docErr(v, "failed to parse field ["+p+"] of type ["+f.typ+"] in document with id '"+c.id+
				"'. Preview of field's value: '"+javaPreview(v)+"'",
				&esError{Type: "illegal_state_exception", Reason: "Can't get text on a START_OBJECT at " + c.pos(v)[1:len(c.pos(v))-2]})
		}
		d := dyn
		if f.dynamic != "" {
			d = f.dynamic
		}
		return c.object(p, v, d)
	}
	f, isNew, err := c.mapped(p, key, v, dyn, "")
	if f == nil {
		return err
	}
	if isNew && (f.typ == "object" || f.typ == "nested") {
		return nil
	}
	return c.concrete(p, key, f, v)
}

// mapped returns the field at p, mapping it dynamically (as typ, or as
// detected from v when typ is "") when it is new and dyn allows it; isNew
// says it was. A nil field with a nil error means the value is not
// indexed, only kept in _source (dynamic false or runtime).
func (c *docChecker) mapped(p, key string, v []byte, dyn, typ string) (f *field, isNew bool, err *esError) {
	if f := c.field(p); f != nil {
		return f, false, nil
	}
	if e := c.parentsAreObjects(p, v); e != nil {
		return nil, false, e
	}
	switch dyn {
	case "strict":
		return nil, false, c.strictErr(p, v)
	case "false", "runtime":
		return nil, false, nil
	}
	if typ == "" {
		typ = c.detect(v)
	}
	f = c.dynamicField(p, key, typ)
	c.added[p] = f
	return f, true, nil
}

// parentsAreObjects refuses a new field under a path whose prefix is mapped
// as a leaf ({"a":"x"} then {"a.b":1}).
func (c *docChecker) parentsAreObjects(p string, v []byte) *esError {
	for i := strings.IndexByte(p, '.'); i > 0; {
		parent := p[:i]
		if f := c.field(parent); f != nil && f.typ != "object" && f.typ != "nested" && f.typ != "flattened" {
			reason := "Could not dynamically add mapping for field [" + p + "]. Existing mapping for [" + parent +
				"] must be of type object but found [" + f.typ + "]."
			return c.docErr(v, reason, &esError{Type: "illegal_argument_exception", Reason: reason})
		}
		j := strings.IndexByte(p[i+1:], '.')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return nil
}

func (c *docChecker) strictErr(p string, v []byte) *esError {
	within := "_doc"
	name := p
	if i := strings.LastIndexByte(p, '.'); i > 0 {
		within, name = p[:i], p[i+1:]
	}
	return &esError{Type: "strict_dynamic_mapping_exception",
		Reason: c.pos(v) + "mapping set to strict, dynamic introduction of [" + name + "] within [" + within + "] is not allowed"}
}

// detect is the dynamic field mapping's type detection: the JSON type, with
// date (and, when enabled, numeric) detection on strings.
func (c *docChecker) detect(v []byte) string {
	switch v[0] {
	case '"':
		s := stringValue(v)
		if c.m.dateDetection {
			if _, ok := parseISODate(s); ok {
				c.slash = false
				return "date"
			}
			if _, ok := parseSlashDate(s); ok {
				c.slash = true
				return "date"
			}
		}
		if c.m.numericDetection {
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				return "long"
			}
			if _, err := strconv.ParseFloat(s, 64); err == nil {
				return "double"
			}
		}
		return "string"
	case 't', 'f':
		return "boolean"
	case '{':
		return "object"
	}
	if isIntegerLiteral(v) {
		return "long"
	}
	return "double"
}

// dynamicField picks the mapping for a new field: the first matching
// dynamic template, else Elasticsearch's defaults (string → text with a
// keyword sub-field, double → float).
func (c *docChecker) dynamicField(p, key, detected string) *field {
	for _, t := range c.m.templates {
		if !t.matches(p, key, detected) {
			continue
		}
		typ, _ := t.mapping["type"].(string)
		typ = strings.ReplaceAll(typ, "{dynamic_type}", defaultType(detected))
		if typ == "" {
			typ = defaultType(detected)
		}
		f := &field{typ: typ, params: map[string]any{}}
		for k, v := range t.mapping {
			switch k {
			case "type":
			case "format":
				f.format, _ = v.(string)
				f.params[k] = v
			case "fields":
				f.sub = map[string]string{}
				if subs, ok := v.(map[string]any); ok {
					for sn, sd := range subs {
						if m, ok := sd.(map[string]any); ok {
							f.sub[sn], _ = m["type"].(string)
						}
					}
				}
				f.params[k] = v
			default:
				f.params[k] = v
			}
		}
		return f
	}
	switch detected {
	case "string":
		return &field{typ: "text", sub: map[string]string{"keyword": "keyword"},
			params: map[string]any{"fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}}}}
	case "double":
		return &field{typ: "float"}
	case "date":
		if c.slash {
			// Elasticsearch gives the field the dynamic format that matched.
			const f = "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd||epoch_millis"
			return &field{typ: "date", format: f, params: map[string]any{"format": f}}
		}
		return &field{typ: "date"}
	}
	return &field{typ: detected}
}

func defaultType(detected string) string {
	switch detected {
	case "string":
		return "text"
	case "double":
		return "float"
	}
	return detected
}

func (t *dynTemplate) matches(p, key, detected string) bool {
	if len(t.mappingTypes) > 0 && !slices.Contains(t.mappingTypes, detected) {
		return false
	}
	m := func(pats []string, s string) bool {
		for _, pat := range pats {
			if t.matchRegex {
				if re, err := regexp.Compile(pat); err == nil && re.MatchString(s) {
					return true
				}
			} else if ok, _ := path.Match(strings.ReplaceAll(pat, "[", "\\["), s); ok || globMatch(pat, s) {
				return true
			}
		}
		return false
	}
	if len(t.match) > 0 && !m(t.match, key) {
		return false
	}
	if len(t.unmatch) > 0 && m(t.unmatch, key) {
		return false
	}
	if len(t.pathMatch) > 0 && !m(t.pathMatch, p) {
		return false
	}
	if len(t.pathUnmatch) > 0 && m(t.pathUnmatch, p) {
		return false
	}
	return true
}

// concrete checks a scalar value against its field's type.
func (c *docChecker) concrete(p, key string, f *field, v []byte) *esError {
	if e := c.concreteStrict(p, key, f, v); e != nil {
		if im, _ := f.params["ignore_malformed"].(bool); im && e.Type == "document_parsing_exception" && f.typ != "object" && f.typ != "nested" {
			return nil // ignore_malformed: the value is kept in _source, not indexed
		}
		return e
	}
	return nil
}

func (c *docChecker) concreteStrict(p, key string, f *field, v []byte) *esError {
	fail := func(cause *esError) *esError {
		return c.docErr(v, "failed to parse field ["+p+"] of type ["+f.typ+"] in document with id '"+c.id+
			"'. Preview of field's value: '"+javaPreview(v)+"'", cause)
	}
	illegal := func(reason string) *esError {
		return fail(&esError{Type: "illegal_argument_exception", Reason: reason})
	}
	isStr := v[0] == '"'
	text := string(v)
	if isStr {
		text = stringValue(v)
	}
	switch f.typ {
	case "object", "nested":
		return c.docErr(v, "object mapping for ["+p+"] tried to parse field ["+key+"] as object, but found a concrete value", nil)
	case "long", "integer", "short", "byte", "unsigned_long":
		if v[0] == 't' || v[0] == 'f' {
			return fail(&esError{Type: "x_content_parse_exception", Reason: c.pos(v) + "Current token (" + tokenName(v) + ") not numeric, can not use numeric value accessors"})
		}
		if isStr && strings.TrimSpace(text) == "" {
			return illegal("For input string: \"" + text + "\"")
		}
		r, ok := new(big.Float).SetString(strings.TrimSpace(text))
		if !ok {
			return illegal("For input string: \"" + text + "\"")
		}
		n, _ := r.Int(nil) // coerce truncates
		lo, hi := intRange(f.typ)
		if n.Cmp(lo) < 0 || n.Cmp(hi) > 0 {
			article := "a"
			if f.typ == "integer" || f.typ == "unsigned_long" {
				article = "an"
			}
			return illegal("Value [" + text + "] is out of range for " + article + " " + strings.ReplaceAll(f.typ, "_", " "))
		}
	case "double", "float", "half_float", "scaled_float":
		if v[0] == 't' || v[0] == 'f' {
			return fail(&esError{Type: "x_content_parse_exception", Reason: c.pos(v) + "Current token (" + tokenName(v) + ") not numeric, can not use numeric value accessors"})
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			return illegal("For input string: \"" + text + "\"")
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return illegal("[" + f.typ + "] supports only finite values, but got [" + text + "]")
		}
	case "boolean":
		if isStr && (text == "true" || text == "false" || text == "") || v[0] == 't' || v[0] == 'f' {
			return nil
		}
		return illegal("Failed to parse value [" + text + "] as only [true] or [false] are allowed.")
	case "date", "date_nanos":
		if !isStr {
			if f.format == "" || strings.Contains(f.format, "epoch_millis") || strings.Contains(f.format, "epoch_second") {
				return nil
			}
		}
		if !dateMatches(f.format, text, isStr) {
			format := f.format
			if format == "" {
				format = "strict_date_optional_time||epoch_millis"
				if f.typ == "date_nanos" {
					format = "strict_date_optional_time_nanos||epoch_millis"
				}
			}
			return fail(&esError{Type: "illegal_argument_exception",
				Reason:   "failed to parse date field [" + text + "] with format [" + format + "]",
				CausedBy: &esError{Type: "date_time_parse_exception", Reason: "Failed to parse with all enclosed parsers"}})
		}
	case "ip":
		if _, err := netip.ParseAddr(text); err != nil || !isStr {
			return illegal("'" + text + "' is not an IP string literal.")
		}
	case "binary":
		if _, err := base64.StdEncoding.DecodeString(text); err != nil || !isStr {
			return illegal("failed to decode base64 value [" + text + "]")
		}
	case "constant_keyword":
		if !f.hasVal {
			// The first document sets the value; record it as an update.
			nf := *f
			nf.value, nf.hasVal = text, true
			nf.params = map[string]any{"value": text}
			c.added[p] = &nf
			return nil
		}
		if text != f.value {
			return c.docErr(v, "failed to parse field ["+p+"] of type [constant_keyword] in document with id '"+c.id+
				"'. Preview of field's value: '"+text+"'", &esError{Type: "illegal_argument_exception",
				Reason: "[constant_keyword] field [" + p + "] only accepts values that are equal to the value defined in the mappings [" +
					f.value + "], but got [" + text + "]"})
		}
	}
	return nil
}

func intRange(typ string) (lo, hi *big.Int) {
	switch typ {
	case "integer":
		return big.NewInt(math.MinInt32), big.NewInt(math.MaxInt32)
	case "short":
		return big.NewInt(math.MinInt16), big.NewInt(math.MaxInt16)
	case "byte":
		return big.NewInt(math.MinInt8), big.NewInt(math.MaxInt8)
	case "unsigned_long":
		return big.NewInt(0), new(big.Int).SetUint64(math.MaxUint64)
	}
	return big.NewInt(math.MinInt64), big.NewInt(math.MaxInt64)
}

func isIntegerLiteral(v []byte) bool {
	for _, c := range v {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// eachElement calls fn for each element of a valid JSON array.
func eachElement(arr []byte, fn func(e []byte) bool) {
	i := 1
	for {
		for i < len(arr) && (arr[i] == ' ' || arr[i] == '\t' || arr[i] == '\n' || arr[i] == '\r' || arr[i] == ',') {
			i++
		}
		if i >= len(arr) || arr[i] == ']' {
			return
		}
		end := jsonscan.Skip(arr, i)
		if !fn(arr[i:end]) {
			return
		}
		i = end
	}
}

// javaPreview renders a value the way Elasticsearch's "Preview of field's
// value" does: strings bare, objects as Java maps ({a=b}).
func javaPreview(v []byte) string {
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return string(v)
	}
	var b strings.Builder
	var w func(any)
	w = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			b.WriteByte('{')
			for i, k := range slices.Sorted(maps.Keys(t)) {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(k)
				b.WriteByte('=')
				w(t[k])
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for i, e := range t {
				if i > 0 {
					b.WriteString(", ")
				}
				w(e)
			}
			b.WriteByte(']')
		case string:
			b.WriteString(t)
		case nil:
			b.WriteString("null")
		default:
			b.Write(mustJSON(t))
		}
	}
	w(x)
	return b.String()
}

func preview(src []byte, n int) string {
	if len(src) > n {
		return string(src[:n]) + "..."
	}
	return string(src)
}
