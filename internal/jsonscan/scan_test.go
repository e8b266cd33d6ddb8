package jsonscan

import (
	"encoding/json"
	"testing"
)

func TestMembersAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{}`, ` {"a":1} `, `{"a":"x\"y","b":[1,2,{"c":null}],"d":-1.5e3,"e":true}`,
		`{"a":01}`, `{"a":1,}`, `{"a":"\x"}`, `{"a":"` + "\x01" + `"}`, `{"a" 1}`, `[1]`, `{"a":1}x`,
		`{"a":tru}`, `{"a":"\ud83d\ude00"}`, `{"a":1.}`, `{"a":-}`, `{"a":{"b":[]}}`, `{"a":"unterminated`,
	} {
		_, err := Members(nil, []byte(in), 0)
		var v map[string]any
		want := json.Unmarshal([]byte(in), &v)
		if (err == nil) != (want == nil) {
			t.Errorf("Members(%q) err = %v; encoding/json says %v", in, err, want)
		}
	}
}

func TestMembersBoundsDepth(t *testing.T) {
	deep := make([]byte, 0, 20000)
	deep = append(deep, `{"a":`...)
	for i := 0; i < 10000; i++ {
		deep = append(deep, '[')
	}
	if _, err := Members(nil, deep, 0); err != ErrDepth {
		t.Fatalf("deep nesting: err = %v, want ErrDepth", err)
	}
}

func TestAppendStringRoundTrips(t *testing.T) {
	for _, s := range []string{"plain", "q\"uote\\", "nl\n\ttab\x01", "ünï😀", "bad\xffutf8"} {
		out := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: invalid JSON: %v", s, out, err)
		}
		want := s
		if s == "bad\xffutf8" {
			want = "bad\ufffdutf8"
		}
		if back != want {
			t.Errorf("round trip of %q gave %q", s, back)
		}
		raw := out[1 : len(out)-1]
		if dec, ok := Unquote(nil, raw); !ok || string(dec) != want {
			t.Errorf("Unquote(%s) = %q, %v", raw, dec, ok)
		}
	}
}

func FuzzMembers(f *testing.F) {
	f.Add([]byte(`{"a":"b","c":[1,{"d":null}]}`))
	f.Add([]byte(`{"a":"\u00e9\ud83d\ude00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := Members(nil, data, 0)
		var v map[string]any
		stdErr := json.Unmarshal(data, &v)
		if err == nil && stdErr != nil {
			t.Fatalf("Members accepted %q which encoding/json rejects: %v", data, stdErr)
		}
		if err == nil {
			for _, m := range ms {
				if Valid(m.Value, 0) != nil {
					t.Fatalf("member value %q not valid", m.Value)
				}
			}
		}
	})
}
