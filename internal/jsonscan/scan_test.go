package jsonscan

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
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

func TestScanObjectFindsNestedDuplicateKeys(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":{"b":1,"c":2}}`:                     false,
		`{"a":{"b":1,"b":2}}`:                     true,
		`{"a":[{"x":1},{"x":2}]}`:                 false,
		`{"a":[1,{"k":{"z":1,"y":[],"z":2}}]}`:    true,
		`{"a":1,"a":2}`:                           false, // top level: the caller's
		`{"a":{"ab":1,"ba":2,"abab":3,"baba":4}}`: false,
	} {
		ms, info, err := ScanObject(nil, []byte(in), 0)
		dup := info.NestedDup
		if err != nil || dup != want {
			t.Errorf("ScanObject(%s) = dup %v, err %v; want %v", in, dup, err, want)
		}
		if plain, _ := Members(nil, []byte(in), 0); len(plain) != len(ms) {
			t.Errorf("ScanObject and Members disagree on %s", in)
		}
	}
}

func TestDedupeKeysKeepsTheLast(t *testing.T) {
	for in, want := range map[string]string{
		`{"b":1, "c":{"d":1,"d":[{"e":1,"e":2}]}, "b":2}`: `{"c":{"d":[{"e":2}]},"b":2}`,
		` [ 1 , "x" , null ] `:                            `[1,"x",null]`,
		`"s"`:                                             `"s"`,
		`{}`:                                              `{}`,
	} {
		got := DedupeKeys(nil, []byte(in))
		if string(got) != want {
			t.Errorf("DedupeKeys(%s) = %s, want %s", in, got, want)
		}
		if len(got) > len(in) {
			t.Errorf("DedupeKeys(%s) grew", in)
		}
	}
}

func FuzzDedupeKeys(f *testing.F) {
	f.Add([]byte(`{"a":{"b":1,"b":[{"c":1,"c":2}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, info, err := ScanObject(nil, data, 0)
		dup := info.NestedDup
		if err != nil {
			return
		}
		if want := slices.ContainsFunc(ms, func(m Member) bool { return bytes.IndexByte(m.Key, '\\') >= 0 }); info.KeyEscapes != want {
			t.Fatalf("ScanObject(%q): KeyEscapes %v, want %v", data, info.KeyEscapes, want)
		}
		out := DedupeKeys(nil, data)
		if !json.Valid(out) || len(out) > len(data) {
			t.Fatalf("DedupeKeys(%q) = %q", data, out)
		}
		var a, b any
		if json.Unmarshal(data, &a) != nil || json.Unmarshal(out, &b) != nil {
			t.Fatalf("unmarshal failed")
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("DedupeKeys changed the value of %q: %q", data, out)
		}
		if hasDupKeys(out) {
			t.Fatalf("duplicates left in %q (input dup %v)", out, dup)
		}
		if !dup && hasDupKeysBelowTop(data) {
			t.Fatalf("ScanObject missed a nested duplicate in %q", data)
		}
	})
}

// A hostile object with many keys must not make the duplicate check
// quadratic.
func TestScanObjectIsLinearOnManyKeys(t *testing.T) {
	var b []byte
	b = append(b, `{"a":{`...)
	const n = 200000
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"', 'k')
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `":1`...)
	}
	b = append(b, "}}"...)
	start := time.Now()
	ms, _, err := ScanObject(nil, b, 0)
	if err != nil || len(ms) != 1 {
		t.Fatal(err)
	}
	out := DedupeKeys(nil, ms[0].Value)
	if len(out) != len(ms[0].Value) {
		t.Errorf("DedupeKeys changed %d unique keys", n)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("%d keys took %v: quadratic?", n, d)
	}
}

// hasDupKeys is the exact, slow check: does any object in v repeat a key?
func hasDupKeys(v []byte) bool {
	i := skipWS(v, 0)
	if i >= len(v) {
		return false
	}
	switch v[i] {
	case '{':
		seen := map[string]bool{}
		dup := false
		EachMember(v, func(k, val []byte) bool {
			if seen[string(k)] || hasDupKeys(val) {
				dup = true
				return false
			}
			seen[string(k)] = true
			return true
		})
		return dup
	case '[':
		i = skipWS(v, i+1)
		for i < len(v) && v[i] != ']' {
			end := Skip(v, i)
			if hasDupKeys(v[i:end]) {
				return true
			}
			i = skipWS(v, end)
			if i < len(v) && v[i] == ',' {
				i = skipWS(v, i+1)
			}
		}
	}
	return false
}

// hasDupKeysBelowTop is hasDupKeys for the values of a top-level object.
func hasDupKeysBelowTop(obj []byte) bool {
	dup := false
	EachMember(obj, func(_, val []byte) bool {
		dup = hasDupKeys(val)
		return !dup
	})
	return dup
}

func TestAppendObjectWithout(t *testing.T) {
	obj := []byte(`{"a":1, "b":{"c":[2]},"c":"x"}`)
	got, n := AppendObjectWithout([]byte("pre:"), obj, func(i int, k []byte) bool { return i == 1 || KeyEqual(k, "c") })
	if string(got) != `pre:{"a":1}` || n != 1 {
		t.Errorf("got %s, %d", got, n)
	}
	got, n = AppendObjectWithout(nil, obj, func(int, []byte) bool { return true })
	if string(got) != `{}` || n != 0 {
		t.Errorf("dropping all: %s, %d", got, n)
	}
}

// TestKeyEscapes: ScanObject tells whether a top-level key is escaped,
// wherever the escape sits and however long the key; escapes in values and
// nested keys do not count.
func TestKeyEscapes(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":1}`:                      false,
		`{"a\"b":1}`:                   true,
		`{"\u0061":1}`:                 true,
		`{"abcdefghijkl\nm":1}`:        true,
		`{"abcdefghijklmnop":1,"q":2}`: false,
		`{"x":1,"y\\":2}`:              true,
		`{"a":{"b\n":1}}`:              false,
		`{"abcdefghij":"x\\y"}`:        false,
		`{"k":1, "tail\t" : 2 }`:       true,
		`{"a":"\u0041"}`:               false,
	} {
		_, info, err := ScanObject(nil, []byte(in), 0)
		if err != nil || info.KeyEscapes != want {
			t.Errorf("ScanObject(%s): KeyEscapes %v, err %v; want %v", in, info.KeyEscapes, err, want)
		}
	}
}
