package pipeline_test

import (
	"path/filepath"
	"testing"

	"github.com/traceship/shipper/config"
	"github.com/traceship/shipper/pipeline"
)

// TestMatchesRelativePathHonoursAbsoluteExcludes: dry-run names files as the
// user typed them, relative ones included; an input whose exclude names
// the file's absolute path does not read it, as the tailer would not.
func TestMatchesRelativePathHonoursAbsoluteExcludes(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	in := &config.Input{TailInput: config.TailInput{
		Paths:   []string{"*.log"}, // a pattern without / matches the file name
		Exclude: []string{filepath.Join(dir, "app.log")},
	}}
	for path, want := range map[string]bool{
		"app.log":                       false,
		filepath.Join(dir, "app.log"):   false,
		"other.log":                     true,
		filepath.Join(dir, "other.log"): true,
	} {
		if got := pipeline.Matches(in, path); got != want {
			t.Errorf("Matches(%q) = %v, want %v", path, got, want)
		}
	}
}
