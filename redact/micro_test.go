package redact

import "testing"

var microText = []byte(`request completed for customer order /api/v1/orders/8812/items with user agent Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) in checkout service region eu-west-1 zone c`)

func BenchmarkScanFlags(b *testing.B) {
	b.SetBytes(int64(len(microText)))
	for b.Loop() {
		scanFlags(microText, nil)
	}
}

func BenchmarkKeyFilter(b *testing.B) {
	r := newDefault(b)
	keys := [][]byte{[]byte("level"), []byte("ts"), []byte("caller"), []byte("msg"), []byte("service"), []byte("trace_id"), []byte("span_id"), []byte("http"), []byte("method"), []byte("path"), []byte("status"), []byte("user_agent"), []byte("duration_ms"), []byte("user_id"), []byte("ts_ms")}
	for b.Loop() {
		for _, k := range keys {
			r.keys.filter.mayMatch(k)
		}
	}
}
