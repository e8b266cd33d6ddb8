package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// repoRoot is the repository root, relative to this package's directory
// (where `go test` runs the tests).
const repoRoot = ".."

// assets are the deployment files by path relative to the repository root.
// The checks take them from memory so that the mutation tests can hand them
// broken copies.
type assets map[string][]byte

// deployFiles lists every file the checks read (Kubernetes manifests are
// found by listing their directory, so a new manifest is not forgotten).
func loadAssets(t *testing.T) assets {
	t.Helper()
	a := assets{}
	names := []string{
		"Dockerfile",
		".dockerignore",
		"go.mod",
		"docker-compose.yml",
		"deploy/compose/pipelines.yaml",
		"deploy/compose/demo-app.sh",
		"deploy/systemd/shipper.service",
		"deploy/systemd/README.md",
	}
	manifests, err := filepath.Glob(filepath.Join(repoRoot, "deploy/kubernetes/*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	overlay, err := filepath.Glob(filepath.Join(repoRoot, nonrootDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	manifests = append(manifests, overlay...)
	if len(manifests) == 0 {
		t.Fatal("no manifests in deploy/kubernetes")
	}
	for _, m := range manifests {
		rel, _ := filepath.Rel(repoRoot, m)
		names = append(names, filepath.ToSlash(rel))
	}
	for _, n := range names {
		data, err := readRepoFile(n)
		if err != nil {
			t.Fatalf("reading deployment file: %v", err)
		}
		a[n] = data
	}
	return a
}

// readRepoFile reads a file by its path relative to the repository root.
func readRepoFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(repoRoot, filepath.FromSlash(name)))
}

// under returns the names of the assets directly in dir, sorted.
func (a assets) under(dir string) []string {
	var out []string
	for n := range a {
		if rest, ok := strings.CutPrefix(n, dir+"/"); ok && !strings.Contains(rest, "/") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// problems collects what a check found wrong, one readable sentence each.
type problems []string

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

func reportProblems(t *testing.T, ps problems) {
	t.Helper()
	for _, p := range ps {
		t.Error(p)
	}
}
