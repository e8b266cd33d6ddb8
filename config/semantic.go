package config

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// sampleFields are the fields sampling rules resolve from what the agent
// decoded; every other path is looked up in the application's own fields.
var sampleFields = []string{"log.level", "service.name", "host.name", "trace.id", "span.id"}

// agentPrefixes are the ECS objects the encoder writes itself: fields under
// them that are not in sampleFields exist only in the final document.
var agentPrefixes = []string{"log.", "trace.", "span.", "parent.", "service.", "host.", "kubernetes.", "container.", "sample.", "@timestamp"}

// minHeldReadRate is the read rate below which keep_trace_on_error's cap is
// worth a warning: 4 MiB/s, some 10,000 lines a second.
const minHeldReadRate = 4 << 20

// semanticWarnings finds what is valid YAML but probably not what the user
// meant: rules on fields sampling never sees, inputs that match nothing or
// whose directory is missing, files claimed by two pipelines.
func (c *Config) semanticWarnings() Problems {
	var ps Problems
	warn := func(path, format string, args ...any) {
		p := c.problemAt(path, fmt.Errorf(format, args...))
		p.Warning = true
		ps = append(ps, p)
	}
	type claim struct {
		pipeline, path string
	}
	claims := map[string][]claim{} // file → who reads it
	globs := map[string]string{}   // glob → first input that names it
	for i, p := range c.Pipelines {
		at := "pipelines[" + strconv.Itoa(i) + "]"
		for k, r := range p.Sample.Rules {
			f := r.When.Field
			path := at + ".sample.rules[" + strconv.Itoa(k) + "].when.field"
			if f == "" || contains(sampleFields, f) {
				continue
			}
			if s := suggest(f, sampleFields); s != "" {
				warn(path, "no stage produces %q (did you mean %q?): the rule never matches", f, s)
				continue
			}
			for _, pre := range agentPrefixes {
				if strings.HasPrefix(f, pre) {
					warn(path, "%q is written by the agent into the document but sampling rules do not see it (they see %s and the application's own fields): the rule never matches", f, strings.Join(sampleFields, ", "))
					break
				}
			}
		}
		// Held events keep their batches unacknowledged for up to a window,
		// and the tail budget counts them: at a ratio below 1 nearly every
		// batch holds one, so reading is capped near budget / window.
		if k := p.Sample.KeepTraceOnError; k != nil && k.Window > 0 && (p.Sample.Ratio < 1 || len(p.Sample.Rules) > 0) {
			if rate := float64(c.Tail.MaxInflightBytes) / k.Window.Seconds(); rate < minHeldReadRate {
				warn(at+".sample.keep_trace_on_error", "holds events for up to %s, and their batches count against tail.max_inflight_bytes: reading is capped near %.1f MiB/s (about %d lines of 400 bytes a second); raise tail.max_inflight_bytes to the bytes read per window", k.Window, rate/(1<<20), int(rate/400))
			}
		}
		for k, in := range p.Inputs {
			iat := at + ".inputs[" + strconv.Itoa(k) + "]"
			for g, glob := range in.Paths {
				gat := iat + ".paths[" + strconv.Itoa(g) + "]"
				if !filepath.IsAbs(glob) {
					warn(gat, "%q is relative: it is resolved against the agent's working directory (/ under systemd); write an absolute path", glob)
				}
				for _, ex := range in.Exclude {
					if ex == glob || (!strings.Contains(ex, "/") && matchName(ex, filepath.Base(glob))) {
						warn(gat, "every file %q matches is excluded by %q: this path never matches", glob, ex)
					}
				}
				if first, dup := globs[glob]; dup && !strings.HasPrefix(first, at+".") {
					warn(gat, "%q is also read by %s: both pipelines read these files and each ships its own copy", glob, c.describePath(first))
				} else if !dup {
					globs[glob] = gat
				}
				if dir := staticDir(glob); dir != "" {
					if _, err := os.Stat(dir); err != nil && os.IsNotExist(err) {
						// A missing directory is normal before an application
						// first starts; a near miss is probably a typo.
						if s := nearestDir(dir); s != "" {
							warn(gat, "directory %s does not exist: nothing matches %q (did you mean %s?)", dir, glob, s)
						}
						continue
					}
				}
				matches, _ := doublestar.FilepathGlob(glob, doublestar.WithFilesOnly(), doublestar.WithFailOnIOErrors())
				for _, m := range matches {
					if in.Excludes(m) {
						continue
					}
					claims[m] = append(claims[m], claim{p.Name, gat})
				}
			}
		}
	}
	// The tail budget must hold two bulk requests and a batch, or readers
	// wait for acks of a request that waits for its flush interval.
	if floor := int64(2*c.Elasticsearch.Bulk.MaxBytes + c.Tail.BatchMaxBytes); c.Tail.MaxInflightBytes < floor {
		warn("tail.max_inflight_bytes", "%d is below 2 × elasticsearch.bulk.max_bytes + tail.batch_max_bytes (%d): reading stalls on the sink's flush interval; raise it or lower bulk.max_bytes", c.Tail.MaxInflightBytes, floor)
	}
	reported := map[string]bool{}
	for _, f := range slices.Sorted(maps.Keys(claims)) {
		cs := claims[f]
		for _, other := range cs[1:] {
			if other.pipeline == cs[0].pipeline || reported[cs[0].path+"|"+other.path] {
				continue
			}
			reported[cs[0].path+"|"+other.path] = true
			warn(other.path, "matches %s, which %s also reads: both pipelines read it and each ships its own copy (exclude it from one of them)", f, c.describePath(cs[0].path))
		}
	}
	return ps
}

func (c *Config) describePath(path string) string {
	line, _ := c.Position(path)
	return fmt.Sprintf("%s (line %d)", path, line)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func matchName(pattern, name string) bool {
	ok, err := filepath.Match(pattern, name)
	return err == nil && ok
}

// staticDir is the longest leading directory of glob without wildcards.
func staticDir(glob string) string {
	dir := glob
	for strings.ContainsAny(dir, "*?[{") {
		dir = filepath.Dir(dir)
	}
	if dir == glob {
		dir = filepath.Dir(glob)
	}
	if dir == "." || dir == "/" {
		return ""
	}
	return dir
}

// nearestDir suggests an existing sibling whose name is close to dir's.
func nearestDir(dir string) string {
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if len(base) < 4 {
		return "" // short names are too close to each other (app, apt)
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return ""
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if s := suggest(base, names); s != "" {
		return filepath.Join(parent, s)
	}
	return ""
}
