package tailer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// globber expands path patterns with `**` into the regular files they match,
// following symbolic links, and collects the directories it looked into so
// that they can be watched for changes.
type globber struct {
	// onErr is told about paths that could not be examined for a reason
	// worth a log line (permission denied, symlink loop).
	onErr func(path string, err error)
	dirs  map[string]struct{}
}

type dirID struct{ dev, ino uint64 }

// expand appends to dst the paths of the regular files matching pattern.
func (g *globber) expand(dst []string, pattern string) []string {
	pattern = filepath.Clean(pattern)
	root := "."
	rest := pattern
	if filepath.IsAbs(pattern) {
		root = "/"
		rest = strings.TrimPrefix(pattern, "/")
	}
	return g.walk(dst, root, strings.Split(rest, "/"), nil)
}

func (g *globber) walk(dst []string, dir string, segs []string, ancestors []dirID) []string {
	if len(segs) == 0 {
		st, err := os.Stat(dir)
		if err != nil {
			g.report(dir, err)
			return dst
		}
		if st.Mode().IsRegular() {
			dst = append(dst, dir)
		}
		return dst
	}
	seg := segs[0]
	if seg == "**" {
		// Zero directories, then each subdirectory (links followed, loops cut).
		dst = g.walk(dst, dir, segs[1:], ancestors)
		id, ok := statDir(dir)
		if !ok {
			return dst
		}
		for _, a := range ancestors {
			if a == id {
				g.report(dir, &fs.PathError{Op: "walk", Path: dir, Err: syscall.ELOOP})
				return dst
			}
		}
		ancestors = append(ancestors, id)
		for _, name := range g.readDir(dir) {
			sub := filepath.Join(dir, name)
			if _, ok := statDir(sub); ok {
				dst = g.walk(dst, sub, segs, ancestors)
			}
		}
		return dst
	}
	if !hasMeta(seg) {
		next := filepath.Join(dir, seg)
		if len(segs) == 1 {
			g.dirs[dir] = struct{}{}
		} else if _, err := os.Lstat(next); err != nil {
			// A directory still to come (new/ of logs/new/*.log): watch
			// its parent, whose events say when it appears.
			g.dirs[dir] = struct{}{}
		}
		return g.walk(dst, next, segs[1:], ancestors)
	}
	for _, name := range g.readDir(dir) {
		if ok, _ := filepath.Match(seg, name); ok {
			dst = g.walk(dst, filepath.Join(dir, name), segs[1:], ancestors)
		}
	}
	return dst
}

func (g *globber) readDir(dir string) []string {
	f, err := os.Open(dir)
	if err != nil {
		g.report(dir, err)
		return nil
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		g.report(dir, err)
	}
	g.dirs[dir] = struct{}{}
	return names
}

func (g *globber) report(path string, err error) {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return
	}
	if g.onErr != nil {
		g.onErr(path, err)
	}
}

func statDir(path string) (dirID, bool) {
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return dirID{}, false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return dirID{}, true
	}
	return dirID{uint64(sys.Dev), uint64(sys.Ino)}, true
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// Matches reports whether the input reads the file at path: one of its
// paths matches and none of its excludes does. These are the rules the
// Tailer applies; commands that pick an input for a file (dry-run, test,
// validate) use them too.
func (in Input) Matches(path string) bool {
	if in.Excludes(path) {
		return false
	}
	for _, p := range in.Paths {
		if matchPath(p, path) {
			return true
		}
	}
	return false
}

// Excludes reports whether one of the input's exclude patterns matches path.
func (in Input) Excludes(path string) bool {
	for _, x := range in.Exclude {
		if matchPath(x, path) {
			return true
		}
	}
	return false
}

// matchPath reports whether path matches pattern, where `**` matches any
// number of path elements. A pattern without '/' is matched against the
// file name only.
func matchPath(pattern, path string) bool {
	if !strings.Contains(pattern, "/") {
		ok, _ := filepath.Match(pattern, filepath.Base(path))
		return ok
	}
	return matchSegs(strings.Split(filepath.Clean(pattern), "/"), strings.Split(filepath.Clean(path), "/"))
}

func matchSegs(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegs(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := filepath.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}
