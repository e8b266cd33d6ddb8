package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a configuration file, at a position.
type Problem struct {
	File    string
	Line    int
	Col     int
	Path    string // the key path, e.g. pipelines[0].sample.ratio
	Msg     string
	Warning bool
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col))
	}
	b.WriteString(": ")
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in a file, in file order.
type Problems []*Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "\n")
}

// Errors returns the problems that are not warnings.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Warnings returns the problems that are warnings.
func (ps Problems) Warnings() Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

func (ps Problems) sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
}

type position struct{ line, col int }

// decoder decodes a yaml.Node tree into Go values strictly: unknown keys,
// wrong types and impossible values are problems with positions, and every
// problem is collected rather than stopping at the first.
type decoder struct {
	file     string
	getenv   func(string) (string, bool)
	problems Problems
	// env holds the values substituted for ${VAR} references, so that
	// problems can quote the reference instead (see Config.HideEnv).
	env envValues
	// pos records where each decoded path was written, so that semantic
	// errors found later can point at the value.
	pos map[string]position
}

func (d *decoder) problem(n *yaml.Node, path, format string, args ...any) {
	p := &Problem{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	d.problems = append(d.problems, p)
}

func (d *decoder) warn(n *yaml.Node, path, format string, args ...any) {
	d.problem(n, path, format, args...)
	d.problems[len(d.problems)-1].Warning = true
}

var (
	durationType  = reflect.TypeOf(time.Duration(0))
	unmarshalType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

// defaulter is implemented by configuration types whose new elements (a new
// pipeline in a list, an optional section that appears) start from defaults.
type defaulter interface{ setDefaults() }

// setDefaults fills the value ptr points to with its type's defaults, from
// its setDefaults method or from the stage defaults table (stageDefaults).
func setDefaults(ptr reflect.Value) {
	if df, ok := ptr.Interface().(defaulter); ok {
		df.setDefaults()
		return
	}
	if fn, ok := stageDefaults[ptr.Type().Elem()]; ok {
		ptr.Elem().Set(reflect.ValueOf(fn()))
	}
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.pos[path] = position{n.Line, n.Column}

	if v.CanAddr() && v.Addr().Type().Implements(unmarshalType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(d.expandNode(n, path)); err != nil {
			d.problem(n, path, "%v", err)
		}
		return
	}

	switch v.Kind() {
	case reflect.Interface:
		var x any
		if err := d.expandNode(n, path).Decode(&x); err != nil {
			d.problem(n, path, "%v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.Pointer:
		if isNull(n) {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		if v.IsNil() {
			nv := reflect.New(v.Type().Elem())
			setDefaults(nv)
			v.Set(nv)
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	default:
		d.decodeScalar(n, v, path)
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// field is one YAML key of a struct, possibly reached through inline structs.
type field struct {
	name  string
	index []int
}

func yamlFields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			for _, in := range yamlFields(f.Type) {
				out = append(out, field{in.name, append([]int{i}, in.index...)})
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, field{name, []int{i}})
	}
	return out
}

// Fields lists the YAML keys of a configuration struct type, for schemas
// and suggestions.
func Fields(t reflect.Type) []string {
	var names []string
	for _, f := range yamlFields(t) {
		names = append(names, f.name)
	}
	return names
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "expected a mapping of keys (%s), got %s", strings.Join(Fields(v.Type()), ", "), describe(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		sub := join(path, key)
		if seen[key] {
			d.problem(k, sub, "key %q appears twice", key)
			continue
		}
		seen[key] = true
		var f *field
		for j := range fields {
			if fields[j].name == key {
				f = &fields[j]
				break
			}
		}
		if f == nil {
			names := make([]string, len(fields))
			for j, ff := range fields {
				names[j] = ff.name
			}
			msg := fmt.Sprintf("unknown key %q", key)
			if s := suggest(key, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (valid keys: " + strings.Join(names, ", ") + ")"
			}
			d.pos[sub] = position{k.Line, k.Column}
			d.problem(k, sub, "%s", msg)
			continue
		}
		d.decode(val, v.FieldByIndex(f.index), sub)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.problem(n, path, "expected a list, got %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		el := out.Index(i)
		setDefaults(el.Addr())
		d.decode(item, el, path+"["+strconv.Itoa(i)+"]")
	}
	v.Set(out)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.problem(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := reflect.New(v.Type().Key()).Elem()
		d.decodeScalar(k, key, path)
		el := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, el, join(path, k.Value))
		v.SetMapIndex(key, el)
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.problem(n, path, "expected %s, got %s", kindName(v.Type()), describe(n))
		return
	}
	s, ok := d.expand(n, path)
	if !ok {
		return
	}
	if v.Type() == durationType {
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.problem(n, path, "invalid duration %q (write it like 500ms, 10s, 5m or 1h30m)", s)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.String:
		if n.Tag == "!!null" && n.Style == 0 {
			s = ""
		}
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil || (s != "true" && s != "false") {
			d.problem(n, path, "expected true or false, got %q", s)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, v.Type().Bits())
		if err != nil {
			d.problem(n, path, "expected a whole number, got %q", s)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, v.Type().Bits())
		if err != nil {
			d.problem(n, path, "expected a non-negative whole number, got %q", s)
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.problem(n, path, "expected a number, got %q", s)
			return
		}
		v.SetFloat(f)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.problem(n, path, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(x))
	default:
		d.problem(n, path, "cannot hold a %s here", kindName(v.Type()))
	}
}

// expandNode returns a copy of n with ${VAR} expanded in every scalar.
func (d *decoder) expandNode(n *yaml.Node, path string) *yaml.Node {
	c := *n
	if n.Kind == yaml.ScalarNode {
		if s, ok := d.expand(n, path); ok {
			c.Value = s
		}
		return &c
	}
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, ch := range n.Content {
		c.Content[i] = d.expandNode(ch, path)
	}
	return &c
}

// expand replaces ${VAR} and ${VAR:-default} in a scalar from the
// environment; $${ stands for a literal ${.
func (d *decoder) expand(n *yaml.Node, path string) (string, bool) {
	s := n.Value
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			d.problem(n, path, "unterminated ${ in %q", n.Value)
			return "", false
		}
		b.WriteString(s[:i])
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			d.problem(n, path, "invalid environment variable reference ${%s}", expr)
			return "", false
		}
		val, set := d.getenv(name)
		switch {
		case set && val != "":
			b.WriteString(val)
			d.env.add(name, val)
		case hasDef:
			b.WriteString(def)
		default:
			d.warn(n, path, "environment variable %s is not set; using an empty value (write ${%s:-default} to give one)", name, name)
		}
		s = s[i+end+1:]
	}
	return b.String(), true
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c != '_' && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

func kindName(t reflect.Type) string {
	if t == durationType {
		return "a duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return "a value"
}

// suggest returns the candidate closest to s when it is close enough to be
// a likely misspelling.
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(s), c)
		if d < bestD || (d == bestD && best == "") {
			best, bestD = c, d
		}
	}
	if bestD > len(s)/2 && bestD > 1 {
		return ""
	}
	if bestD >= 3 {
		return ""
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// osLookupEnv is the production environment.
func osLookupEnv(name string) (string, bool) { return os.LookupEnv(name) }

var errNoDocument = errors.New("the file is empty: it needs at least a pipelines: list")

// envValues are the values of the environment variables a configuration
// referenced, by value. A problem found in an expanded value would quote
// it, and a password set as ${ES_PASSWORD} would reach a terminal or a log
// through a mistyped field; problems quote the reference instead.
type envValues map[string]string

// minHiddenEnv is the shortest value hidden: shorter ones ("info",
// "9200") would also replace unrelated text, and are rarely secrets.
const minHiddenEnv = 6

func (e *envValues) add(name, val string) {
	if len(val) < minHiddenEnv {
		return
	}
	if *e == nil {
		*e = envValues{}
	}
	(*e)[val] = "${" + name + "}"
}

// hide returns s with every value replaced by its reference, longest
// first (a value may contain another).
func (e envValues) hide(s string) string {
	if len(e) == 0 {
		return s
	}
	vals := make([]string, 0, len(e))
	for v := range e {
		if strings.Contains(s, v) {
			vals = append(vals, v)
		}
	}
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	for _, v := range vals {
		s = strings.ReplaceAll(s, v, e[v])
	}
	return s
}
