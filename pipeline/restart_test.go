package pipeline

import (
	"slices"
	"testing"

	"github.com/traceship/shipper/config"
)

// TestRestartOnlySettings: a reload reports the agent-wide settings it
// cannot apply, memory_limit included when only a budget behind an auto
// limit changed.
func TestRestartOnlySettings(t *testing.T) {
	parse := func(yaml string) config.Config {
		t.Helper()
		cfg, _, err := config.Parse("p.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	const app = "pipelines:\n  - name: a\n"
	base := parse(app)
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{app, nil},
		{"pipelines:\n  - name: a\n    workers: 4\n", nil}, // applied by the reload
		{"memory_limit: 96MiB\n" + app, []string{"memory_limit"}},
		{"tail: {max_inflight_bytes: 8388608}\n" + app, []string{"tail", "memory_limit"}},
		{"pipelines:\n  - name: a\n    sample: {ratio: 0.5, keep_trace_on_error: {max_bytes: 1048576}}\n", []string{"memory_limit"}},
		{"log: {level: debug}\n" + app, []string{"log"}},
	} {
		if got := restartOnly(base, parse(tc.yaml)); !slices.Equal(got, tc.want) {
			t.Errorf("%q: restart-only settings %v, want %v", tc.yaml, got, tc.want)
		}
	}
}
