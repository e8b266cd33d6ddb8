package shipper

import (
	"fmt"
	"testing"
)

// TestClassifyFindsEveryName: every name the encoder writes is found, as
// written and with its first letter escaped, so the first-byte filter in
// front of ecsName lets none through.
func TestClassifyFindsEveryName(t *testing.T) {
	names := []string{"@timestamp", "log", "trace", "span", "parent", "service", "host", "kubernetes", "container", "sample", "tags", "message"}
	for _, n := range names {
		want, ok := ecsName([]byte(n))
		if !ok {
			t.Fatalf("ecsName(%q) does not know it", n)
		}
		escaped := fmt.Sprintf(`\u%04x%s`, n[0], n[1:])
		for _, k := range []string{n, escaped} {
			if got, ok := classify([]byte(k)); !ok || got != want {
				t.Errorf("classify(%q) = %v, %v; want %v", k, got, ok, want)
			}
		}
	}
	for _, k := range []string{"trace_id", "duration_ms", "user", "Log", "msg"} {
		if c, ok := classify([]byte(k)); ok {
			t.Errorf("classify(%q) = %v, want none", k, c)
		}
	}
}
