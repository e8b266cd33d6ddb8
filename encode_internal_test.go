package shipper

import (
	"fmt"
	"testing"
)

// TestClassifyFindsEveryName: every name the encoder writes is found, as
// written and with any of its characters escaped (in either case of hex
// digits), so the filter in front of ecsName lets none through.
func TestClassifyFindsEveryName(t *testing.T) {
	for _, n := range ecsNames {
		want, ok := ecsName([]byte(n))
		if !ok {
			t.Fatalf("ecsName(%q) does not know it", n)
		}
		for set := range 1 << len(n) {
			var k []byte
			for i := range len(n) {
				switch {
				case set&(1<<i) == 0:
					k = append(k, n[i])
				case i%2 == 0:
					k = fmt.Appendf(k, `\u%04x`, n[i])
				default:
					k = fmt.Appendf(k, `\u%04X`, n[i])
				}
			}
			if got, ok := classify(k); !ok || got != want {
				t.Fatalf("classify(%q) = %v, %v; want %v", k, got, ok, want)
			}
		}
	}
	for _, k := range []string{"trace_id", "duration_ms", "user", "Log", "msg", "level", "ts", "caller", "http", `\u0074s`, `tr\u0061ces`} {
		if c, ok := classify([]byte(k)); ok {
			t.Errorf("classify(%q) = %v, want none", k, c)
		}
	}
}
