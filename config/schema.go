package config

import (
	_ "embed"
	"encoding/json"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
)

// SchemaJSON is the JSON Schema of pipelines.yaml, generated from the
// configuration types and their doc comments (see GenerateSchema; a test
// keeps it current). Editors with a YAML language server use it for
// completion and inline errors.
//
//go:embed pipelines.schema.json
var SchemaJSON []byte

// GenerateSchema builds the JSON Schema of Config. docs maps
// "<package path>.<Type>.<Field>" to the field's doc comment (see
// FieldDocs); fields without one get no description.
func GenerateSchema(docs map[string]string) ([]byte, error) {
	g := &schemaGen{docs: docs, defs: map[string]any{}}
	root := g.object(reflect.TypeOf(Config{}))
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["title"] = "shipper pipelines.yaml"
	root["$defs"] = g.defs
	return json.MarshalIndent(root, "", "  ")
}

type schemaGen struct {
	docs map[string]string
	defs map[string]any
}

func (g *schemaGen) typ(t reflect.Type) map[string]any {
	if t == durationType {
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, "description": "a duration such as 500ms, 10s, 5m or 1h30m"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.typ(t.Elem())
	case reflect.Struct:
		name := strings.ReplaceAll(t.PkgPath()+"."+t.Name(), "/", ".")
		name = strings.TrimPrefix(name, "github.com.traceship.shipper.")
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // break cycles
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + name}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typ(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.typ(t.Elem())}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	for _, f := range yamlFields(t) {
		sf := t.FieldByIndex(f.index)
		s := g.typ(sf.Type)
		owner := t
		if len(f.index) > 1 {
			owner = t.FieldByIndex(f.index[:len(f.index)-1]).Type
		}
		if d := g.docs[owner.PkgPath()+"."+owner.Name()+"."+sf.Name]; d != "" {
			if _, isRef := s["$ref"]; isRef {
				s = map[string]any{"allOf": []any{s}, "description": d}
			} else {
				s["description"] = d
			}
		}
		props[f.name] = s
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}

// FieldDocs reads the doc comments of struct fields from the Go packages in
// dirs (paths relative to the module root at root), keyed as GenerateSchema
// wants them.
func FieldDocs(root, module string, dirs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, dir := range dirs {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, filepath.Join(root, dir), func(fi fs.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		pkgPath := module
		if dir != "." {
			pkgPath += "/" + filepath.ToSlash(dir)
		}
		for _, pkg := range pkgs {
			files := make([]*ast.File, 0, len(pkg.Files))
			for _, f := range pkg.Files {
				files = append(files, f)
			}
			dp, err := doc.NewFromFiles(fset, files, pkgPath)
			if err != nil {
				return nil, err
			}
			for _, ty := range dp.Types {
				for _, spec := range ty.Decl.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok {
						continue
					}
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, fld := range st.Fields.List {
						text := strings.TrimSpace(fld.Doc.Text())
						for _, n := range fld.Names {
							if text != "" {
								out[pkgPath+"."+ts.Name.Name+"."+n.Name] = strings.Join(strings.Fields(text), " ")
							}
						}
					}
				}
			}
		}
	}
	return out, nil
}

// SchemaSources are the packages whose types make up pipelines.yaml.
var SchemaSources = []string{"config", "tailer", "parser", "enrich", "redact", "sample", "index", "sink"}
