package jsonscan

import (
	"encoding/json"
	"testing"
)

// benchLines are lines as zap and logrus write them (~200-400 bytes, some
// nested objects, an escaped stack trace), the agent's common input.
var benchLines = [][]byte{
	[]byte(`{"level":"info","ts":"2026-11-22T10:00:00.123456Z","caller":"checkout/handler.go:88","msg":"order placed","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","order_id":"A-100234","user_id":48213,"amount":129.95,"currency":"EUR","items":3,"http":{"method":"POST","path":"/api/v1/orders","status":201},"duration_ms":38.2}`),
	[]byte(`{"level":"info","time":"2026-11-22T10:00:00.124Z","msg":"payment authorised","service":"payment","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b8","provider":"stripe","card":"****-****-****-4242","amount":129.95,"currency":"EUR","attempt":1,"latency_ms":212,"ok":true,"retry":null}`),
	[]byte(`{"level":"error","ts":1763805600.125,"msg":"upstream timeout","error":"context deadline exceeded","upstream":"http://inventory.svc:8080/reserve","retry":2,"stacktrace":"goroutine 81 [running]:\nmain.reserve()\n\t/app/inventory.go:120 +0x1d\nmain.main()\n\t/app/main.go:44 +0x2f\n","tags":["inventory","reserve"]}`),
	[]byte(`{"level":"debug","ts":"2026-11-22T10:00:00.126Z","msg":"GET /healthz","http":{"method":"GET","path":"/healthz","status":200,"user_agent":"kube-probe/1.29","headers":{"accept":"*/*","x-request-id":"7f3c2a10-9d4e-4b1a-8c55-2f6e1d0a9b33"}},"duration_ms":0.4,"peer":{"ip":"10.0.3.17","port":51234}}`),
}

func benchBytes() int64 {
	var n int
	for _, l := range benchLines {
		n += len(l)
	}
	return int64(n)
}

// BenchmarkMembers is the parser's validating scan of a line; ns/line is the
// figure to compare with BenchmarkBaselineEncodingJSON's.
func BenchmarkMembers(b *testing.B) {
	for _, nested := range []bool{false, true} {
		name := "Members"
		if nested {
			name = "ScanObject"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(benchBytes())
			b.ReportAllocs()
			var ms []Member
			for b.Loop() {
				for _, l := range benchLines {
					var err error
					if nested {
						ms, _, err = ScanObject(ms[:0], l, 64)
					} else {
						ms, err = Members(ms[:0], l, 64)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchLines)), "ns/line")
		})
	}
}

// BenchmarkBaselineEncodingJSON is the yardstick: encoding/json into a
// map[string]any on the same lines.
func BenchmarkBaselineEncodingJSON(b *testing.B) {
	b.SetBytes(benchBytes())
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range benchLines {
			var m map[string]any
			if err := json.Unmarshal(l, &m); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(benchLines)), "ns/line")
}
