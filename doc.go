package shipper

import (
	"strings"

	"github.com/traceship/shipper/internal/jsonscan"
)

// Member is one top-level field of an application's JSON line: Key is the
// raw text between the key's quotes, Value the raw JSON value.
type Member = jsonscan.Member

// Doc is the application's part of a document: its top-level members as raw
// JSON, in their original order. Stages edit it as an overlay (replace a
// member's value, delete a member, add one); the encoder writes what is left.
// Nothing is decoded that no stage asked for.
//
// Keys are unique: the parser keeps the last of duplicate keys, as
// Elasticsearch would reject the document otherwise.
type Doc struct {
	Members []Member
}

// Index returns the position of the top-level member named key, or -1.
func (d *Doc) Index(key string) int {
	for i := len(d.Members) - 1; i >= 0; i-- {
		if jsonscan.KeyEqual(d.Members[i].Key, key) {
			return i
		}
	}
	return -1
}

// Get returns the raw value of the top-level member named key.
func (d *Doc) Get(key string) ([]byte, bool) {
	if i := d.Index(key); i >= 0 {
		return d.Members[i].Value, true
	}
	return nil, false
}

// Lookup returns the raw value at a dotted path, the way Elasticsearch
// reads field names: "http.request.method" matches a member of that literal
// name, or "http" → "request.method", or "http.request" → "method", at any
// level.
func (d *Doc) Lookup(path string) ([]byte, bool) {
	if v, ok := d.Get(path); ok {
		return v, true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		if v, ok := d.Get(path[:i]); ok && len(v) > 0 && v[0] == '{' {
			if r, ok := LookupIn(v, path[i+1:]); ok {
				return r, true
			}
		}
	}
	return nil, false
}

// LookupIn is Lookup inside the raw JSON object obj.
func LookupIn(obj []byte, path string) ([]byte, bool) {
	if v, ok := jsonscan.Get(obj, path); ok {
		return v, true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		if v, ok := jsonscan.Get(obj, path[:i]); ok && len(v) > 0 && v[0] == '{' {
			if r, ok := LookupIn(v, path[i+1:]); ok {
				return r, true
			}
		}
	}
	return nil, false
}

// Set replaces the value of the member named key, or appends the member.
// key is used as raw key text: it must not need escaping.
func (d *Doc) Set(key string, value []byte) {
	if i := d.Index(key); i >= 0 {
		d.Members[i].Value = value
		return
	}
	d.Members = append(d.Members, Member{Key: []byte(key), Value: value})
}

// Delete removes the member at position i, keeping the order of the rest.
func (d *Doc) Delete(i int) {
	d.Members = append(d.Members[:i], d.Members[i+1:]...)
}

// Remove deletes the member named key, reporting whether there was one.
func (d *Doc) Remove(key string) bool {
	if i := d.Index(key); i >= 0 {
		d.Delete(i)
		return true
	}
	return false
}

// String returns the decoded text of a raw JSON string value, or the raw
// value's text when it is not a string. It allocates; for diagnostics and
// cold paths.
func String(value []byte) string {
	if s, ok := jsonscan.StringContents(value); ok {
		dec, _ := jsonscan.Unquote(nil, s)
		return string(dec)
	}
	return strings.TrimSpace(string(value))
}
