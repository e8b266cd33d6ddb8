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

func BenchmarkProcessShape(b *testing.B) {
	b.Run("empty", func(b *testing.B) { benchProcess(b, `{}`) })
	b.Run("16short", func(b *testing.B) {
		benchProcess(b, `{"level":1,"ts":2,"caller":3,"msg":4,"service":5,"trace_id":6,"span_id":7,"method":8,"path":9,"status":10,"agent":11,"duration_ms":12,"user_id":13,"ts_ms":14,"host":15,"x":16}`)
	})
	b.Run("16strings", func(b *testing.B) {
		benchProcess(b, `{"level":"a","ts":"b","caller":"c","msg":"d","service":"e","trace_id":"f","span_id":"g","method":"h","path":"i","status":"j","agent":"k","duration_ms":"l","user_id":"m","ts_ms":"n","host":"o","x":"p"}`)
	})
}
