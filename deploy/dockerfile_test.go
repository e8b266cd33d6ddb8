package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line  int    // where it starts, 1-based
	cmd   string // upper case: FROM, RUN, ...
	flags map[string]string
	args  string // after the flags
}

// parseDockerfile splits a Dockerfile into instructions: comments dropped
// (also inside continuations, as Docker does), lines ending in a backslash
// joined, leading --flag=value options split off.
func parseDockerfile(data []byte) []instruction {
	var out []instruction
	var cur *instruction
	var text strings.Builder
	flush := func() {
		if cur == nil {
			return
		}
		cur.args = strings.TrimSpace(text.String())
		cur.flags = map[string]string{}
		for strings.HasPrefix(cur.args, "--") {
			flag, rest, _ := strings.Cut(cur.args, " ")
			k, v, _ := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
			if prev, ok := cur.flags[k]; ok {
				v = prev + "," + v // repeated --mount
			}
			cur.flags[k] = v
			cur.args = strings.TrimSpace(rest)
		}
		out = append(out, *cur)
		cur = nil
		text.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cont := strings.HasSuffix(line, `\`)
		line = strings.TrimSuffix(line, `\`)
		if cur == nil {
			cmd, rest, _ := strings.Cut(line, " ")
			cur = &instruction{line: n, cmd: strings.ToUpper(cmd)}
			line = rest
		}
		text.WriteString(line)
		text.WriteString(" ")
		if !cont {
			flush()
		}
	}
	flush()
	return out
}

// stage is one FROM and the instructions after it.
type stage struct {
	from  instruction
	image string // base image, build args expanded
	name  string // AS name
	body  []instruction
}

var argRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

func dockerStages(ins []instruction) (globalArgs map[string]string, stages []stage) {
	globalArgs = map[string]string{}
	for _, in := range ins {
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			st := stage{from: in}
			if len(f) > 0 {
				st.image = argRef.ReplaceAllStringFunc(f[0], func(ref string) string {
					return globalArgs[argRef.FindStringSubmatch(ref)[1]]
				})
			}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
		case len(stages) == 0 && in.cmd == "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			globalArgs[k] = v
		case len(stages) > 0:
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	return globalArgs, stages
}

// pinnedTag: a full version (1.26.8, 8.19.7-bookworm), so a rebuild gets the
// same toolchain and base; a digest is pinned too.
var pinnedTag = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-.].*)?$`)

// imagePinned reports whether ref names one version of an image.
func imagePinned(ref string) bool {
	if strings.Contains(ref, "@sha256:") {
		return true
	}
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon < slash+1 {
		return false // no tag: latest
	}
	return pinnedTag.MatchString(ref[colon+1:])
}

// goModVersion is the `go` line of go.mod.
func goModVersion(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "go" {
			return f[1]
		}
	}
	return ""
}

// goVersionLess compares Go versions like 1.26 and 1.26.8 (a missing patch
// number is 0; pre-release suffixes are ignored).
func goVersionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(strings.TrimLeft(pa[i], "v"))
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(strings.TrimLeft(pb[i], "v"))
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func execForm(args string) ([]string, bool) {
	var v []string
	if err := json.Unmarshal([]byte(args), &v); err != nil {
		return nil, false
	}
	return v, true
}

// checkDockerfile checks the image build: pinned bases, a minimal final
// stage running as non-root, the static and stamped build, exec-form entry
// point and default command, no remote ADD.
func checkDockerfile(a assets) problems {
	var ps problems
	ins := parseDockerfile(a["Dockerfile"])
	_, stages := dockerStages(ins)
	if len(stages) < 2 {
		ps.addf("Dockerfile: want a multi-stage build (a builder and a minimal final stage), got %d stage(s)", len(stages))
		return ps
	}
	names := map[string]bool{}
	var build *stage
	for i := range stages {
		st := &stages[i]
		switch {
		case st.image == "scratch" || names[st.image]:
		case !imagePinned(st.image):
			ps.addf("Dockerfile:%d: base image %q is not pinned to a full version or digest", st.from.line, st.image)
		}
		if strings.HasPrefix(st.image, "golang:") {
			build = st
			want := goModVersion(a["go.mod"])
			tag := strings.TrimPrefix(st.image, "golang:")
			have, _, _ := strings.Cut(tag, "-")
			if want != "" && goVersionLess(have, want) {
				ps.addf("Dockerfile:%d: builder has Go %s but go.mod needs go %s", st.from.line, have, want)
			}
		}
		if st.name != "" {
			names[st.name] = true
		}
		for _, in := range st.body {
			if in.cmd == "ADD" && regexp.MustCompile(`(^|\s)(https?://|git@)`).MatchString(in.args) {
				ps.addf("Dockerfile:%d: ADD of a URL (unverified download into the image); fetch it in a RUN step with a checksum, or COPY", in.line)
			}
		}
	}
	if build == nil {
		ps.addf("Dockerfile: no golang builder stage")
	} else {
		var built, versionArg bool
		for _, in := range build.body {
			if in.cmd == "ARG" && strings.HasPrefix(in.args, "VERSION") {
				versionArg = true
			}
			if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
				continue
			}
			built = true
			for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=${VERSION}", "./cmd/shipper"} {
				if !strings.Contains(in.args, want) {
					ps.addf("Dockerfile:%d: go build lacks %s", in.line, want)
				}
			}
			if !versionArg {
				ps.addf("Dockerfile:%d: go build uses ${VERSION} but the stage declares no ARG VERSION before it (--build-arg VERSION would be ignored)", in.line)
			}
		}
		if !built {
			ps.addf("Dockerfile: the builder stage has no RUN go build")
		}
	}

	final := stages[len(stages)-1]
	if final.image != "scratch" && !strings.HasPrefix(final.image, "gcr.io/distroless/static") {
		ps.addf("Dockerfile:%d: final stage is %q; want scratch or distroless/static (nothing but the binary)", final.from.line, final.image)
	}
	var user, entrypoint, cmd *instruction
	var binary, certs bool
	for i, in := range final.body {
		switch in.cmd {
		case "USER":
			user = &final.body[i]
		case "ENTRYPOINT":
			entrypoint = &final.body[i]
		case "CMD":
			cmd = &final.body[i]
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) < 2 {
				continue
			}
			if in.flags["from"] != "" && f[len(f)-1] == "/shipper" {
				binary = true
			}
			if strings.Contains(in.args, "ca-certificates.crt") {
				certs = true
			}
		}
	}
	if !binary {
		ps.addf("Dockerfile: the final stage does not COPY --from the builder to /shipper")
	}
	if !certs && final.image == "scratch" {
		ps.addf("Dockerfile: the final stage has no CA certificates: Elasticsearch over HTTPS would fail with x509 errors")
	}
	switch {
	case user == nil:
		ps.addf("Dockerfile: the final stage sets no USER, so the agent runs as root by default")
	default:
		uid, _, _ := strings.Cut(user.args, ":")
		if uid == "0" || uid == "root" {
			ps.addf("Dockerfile:%d: USER %s is root", user.line, user.args)
		} else if !regexp.MustCompile(`^\d+$`).MatchString(uid) {
			ps.addf("Dockerfile:%d: USER %s is not numeric: Kubernetes runAsNonRoot cannot verify a name", user.line, user.args)
		}
	}
	if entrypoint == nil {
		ps.addf("Dockerfile: no ENTRYPOINT")
	} else if v, ok := execForm(entrypoint.args); !ok || len(v) != 1 || v[0] != "/shipper" {
		ps.addf(`Dockerfile:%d: want ENTRYPOINT ["/shipper"] in exec form (shell form would not pass SIGTERM to the agent), got %s`, entrypoint.line, entrypoint.args)
	}
	wantCmd := []string{"run", "-c", "/etc/shipper/pipelines.yaml"}
	if cmd == nil {
		ps.addf("Dockerfile: no CMD")
	} else if v, ok := execForm(cmd.args); !ok || strings.Join(v, " ") != strings.Join(wantCmd, " ") {
		ps.addf("Dockerfile:%d: want CMD %q in exec form, got %s", cmd.line, wantCmd, cmd.args)
	}
	return ps
}

func TestDockerfile(t *testing.T) {
	reportProblems(t, checkDockerfile(loadAssets(t)))
}

// TestVersionStamp: -X main.version=... silently does nothing if the
// variable is gone or renamed; the image would report "dev" forever.
func TestVersionStamp(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(repoRoot, "cmd/shipper/*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("listing cmd/shipper: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatalf("parsing %s: %v", f, err)
		}
		if file.Name.Name != "main" {
			continue
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				for _, n := range s.(*ast.ValueSpec).Names {
					if n.Name == "version" {
						return
					}
				}
			}
		}
	}
	t.Error(`cmd/shipper has no package-level "var version": the Dockerfile's -X main.version=${VERSION} would stamp nothing`)
}

// dockerignored reports whether Docker leaves path (slash-separated,
// relative to the context) out of the build context: the last matching
// pattern decides, "!" re-includes, and a pattern matching a directory
// covers everything under it.
func dockerignored(patterns []string, path string) bool {
	ignored := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/")
		for q := path; ; {
			if ok, _ := doublestar.Match(p, q); ok {
				ignored = !neg
				break
			}
			i := strings.LastIndex(q, "/")
			if i < 0 {
				break
			}
			q = q[:i]
		}
	}
	return ignored
}

func dockerignorePatterns(data []byte) []string {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func TestDockerignoreMatching(t *testing.T) {
	patterns := []string{".git", "deploy", "**/*_test.go", "bench/data", "!bench/data/keep.txt", "/shipper"}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{".git/config", true},
		{"deploy/kubernetes/daemonset.yaml", true},
		{"shipper.go", false},
		{"shipper", true},
		{"cmd/shipper/main.go", false},
		{"cmd/shipper/main_test.go", true},
		{"encode_test.go", true},
		{"bench/data/big.log", true},
		{"bench/data/keep.txt", false},
		{"go.mod", false},
	} {
		if got := dockerignored(patterns, tc.path); got != tc.want {
			t.Errorf("dockerignored(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestDockerignoreKeepsBuildInputs: every file `go build ./cmd/shipper`
// reads from this module (Go files, embedded files, go.mod, go.sum) must be
// in the build context, or the image build fails where no test runs it. So
// must cmd/shipper/default.pgo, the profile go build optimises with: without
// it the image builds, only slower.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not on PATH: cannot list the build's files")
	}
	cmd := exec.Command(goTool, "list", "-e", "-deps", "-json=Dir,GoFiles,EmbedFiles,Module", "./cmd/shipper")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum"}
	if _, err := os.Stat(filepath.Join(repoRoot, "cmd/shipper/default.pgo")); err == nil {
		needed = append(needed, "cmd/shipper/default.pgo")
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			Dir                 string
			GoFiles, EmbedFiles []string
			Module              *struct{ Main bool }
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		if p.Module == nil || !p.Module.Main {
			continue
		}
		for _, f := range append(p.GoFiles, p.EmbedFiles...) {
			rel, err := filepath.Rel(root, filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			needed = append(needed, filepath.ToSlash(rel))
		}
	}
	if len(needed) < 4 {
		t.Fatalf("go list found only %v; cannot check .dockerignore", needed)
	}
	patterns := dockerignorePatterns(loadAssets(t)[".dockerignore"])
	for _, f := range needed {
		if dockerignored(patterns, f) {
			t.Errorf(".dockerignore leaves out %s, which go build ./cmd/shipper needs", f)
		}
	}
}
