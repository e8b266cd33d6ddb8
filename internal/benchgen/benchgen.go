// Package benchgen generates the benchmark data set: JSON lines as zap and
// logrus write them, about 370 bytes each, ten lines per trace, 2% with a
// card number, some nested objects. The end-to-end bench writes them to
// files; the pipeline benchmark (pipeline/bench_test.go) runs the same lines
// through the stages, so both measure the same work.
package benchgen

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Gen produces the lines of one deterministic data set.
type Gen struct {
	rng   *rand.Rand
	n     int
	trace string
}

// New returns a generator; the same seed gives the same lines.
func New(seed uint64) *Gen { return &Gen{rng: rand.New(rand.NewPCG(seed, 2))} }

var (
	services = []string{"checkout", "payment", "inventory", "shipping", "auth"}
	msgs     = []string{"request handled", "order placed", "stock reserved", "payment authorized", "cache miss", "calling downstream", "retrying request", "user session refreshed"}
	paths    = []string{"/api/v1/orders", "/api/v1/cart", "/api/v1/pay", "/healthz", "/api/v1/items/42"}
)

// Line returns the next line, without its newline. Even lines are zap's
// shape (ts in epoch seconds, trace_id), odd lines logrus's (RFC 3339 time,
// traceId).
func (g *Gen) Line() string {
	rng, n := g.rng, g.n
	g.n++
	if n%10 == 0 {
		g.trace = fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
	}
	span := fmt.Sprintf("%016x", rng.Uint64())
	svc := services[rng.IntN(len(services))]
	level := "info"
	switch r := rng.IntN(100); {
	case r < 3:
		level = "error"
	case r < 10:
		level = "warn"
	case r < 25:
		level = "debug"
	}
	ts := 1795339800.0 + float64(n)/1000
	var line string
	if n%2 == 0 { // zap
		line = fmt.Sprintf(`{"level":%q,"ts":%.6f,"caller":"%s/handler.go:%d","msg":%q,"service":%q,"trace_id":%q,"span_id":%q,"http":{"method":"GET","path":%q,"status":200},"duration_ms":%d,"user_id":"u-%d","request_id":"%08x-%04x-%04x"`,
			level, ts, svc, 40+rng.IntN(200), msgs[rng.IntN(len(msgs))], svc, g.trace, span, paths[rng.IntN(len(paths))], rng.IntN(900), rng.IntN(100000), rng.Uint32(), rng.IntN(65536), rng.IntN(65536))
	} else { // logrus
		t := time.Unix(int64(ts), int64((ts-float64(int64(ts)))*1e9)).UTC().Format(time.RFC3339Nano)
		line = fmt.Sprintf(`{"level":%q,"time":%q,"msg":%q,"app":%q,"traceId":%q,"spanId":%q,"component":"%s-worker","attempt":%d,"peer":{"address":"10.0.%d.%d","port":%d},"bytes":%d`,
			level, t, msgs[rng.IntN(len(msgs))], svc, g.trace, span, svc, rng.IntN(3), rng.IntN(255), rng.IntN(255), 1024+rng.IntN(60000), rng.IntN(1<<20))
	}
	// Fields real services add (version, region, timings, client),
	// bringing lines to the ~370 bytes of the data set.
	if n%2 == 0 {
		line += fmt.Sprintf(`,"version":"1.%d.%d","region":"eu-west-1","latency":{"db_ms":%d,"cache_hit":%v}`, rng.IntN(20), rng.IntN(10), rng.IntN(50), rng.IntN(2) == 0)
	} else {
		line += fmt.Sprintf(`,"user_agent":"shop-web/2.%d (linux; amd64)","region":"eu-central-1"`, rng.IntN(10))
	}
	if rng.IntN(100) < 2 {
		line += `,"card":"4111 1111 1111 1111"`
	}
	return line + "}"
}

// Lines returns the first n lines of the data set of seed.
func Lines(seed uint64, n int) [][]byte {
	g := New(seed)
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(g.Line())
	}
	return out
}
