package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite generated files (pipelines.schema.json)")

// TestSchemaIsCurrent regenerates the JSON Schema from the configuration
// types and their doc comments and compares it with the embedded file.
func TestSchemaIsCurrent(t *testing.T) {
	docs, err := FieldDocs("..", "github.com/traceship/shipper", SchemaSources)
	if err != nil {
		t.Fatal(err)
	}
	got, err := GenerateSchema(docs)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile("pipelines.schema.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, SchemaJSON) {
		t.Fatalf("config/pipelines.schema.json is stale: run go test ./config -run TestSchemaIsCurrent -update")
	}
}

// TestShippedConfigValidatesAgainstSchema checks the repository's
// pipelines.yaml with an independent JSON Schema validator, as an editor
// would.
func TestShippedConfigValidatesAgainstSchema(t *testing.T) {
	sch := compileSchema(t)
	for _, f := range []string{"../pipelines.yaml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(toJSON(t, doc)); err != nil {
			t.Errorf("%s does not validate against the schema: %v", f, err)
		}
	}
	var bad any
	yaml.Unmarshal([]byte("pipelines:\n  - name: x\n    sampel: {}\n"), &bad)
	if sch.Validate(toJSON(t, bad)) == nil {
		t.Errorf("the schema accepts a misspelt key")
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("pipelines.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("pipelines.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// toJSON turns a YAML-decoded value into what a JSON decoder would give.
func toJSON(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
