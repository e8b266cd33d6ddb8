package pipeline

import (
	"context"
	"fmt"
	"time"
)

// stuckAfter is how long a file may have unacknowledged lines without its
// checkpoint moving before the agent reports itself not ready.
const stuckAfter = 2 * time.Minute

// progress remembers, per file, when its checkpoint last moved.
type progress struct {
	acked map[string]int64
	moved map[string]time.Time
}

// observe records the files' checkpoints at now and returns the paths of
// files that are behind and have not moved for stuckAfter.
func (p *progress) observe(now time.Time, files func() []fileLag) []string {
	if p.acked == nil {
		p.acked, p.moved = map[string]int64{}, map[string]time.Time{}
	}
	var stuck []string
	seen := map[string]bool{}
	for _, f := range files() {
		seen[f.id] = true
		if old, ok := p.acked[f.id]; !ok || old != f.acked || f.behind == 0 {
			p.acked[f.id], p.moved[f.id] = f.acked, now
			continue
		}
		if now.Sub(p.moved[f.id]) > stuckAfter {
			stuck = append(stuck, f.path)
		}
	}
	for id := range p.acked {
		if !seen[id] {
			delete(p.acked, id)
			delete(p.moved, id)
		}
	}
	return stuck
}

type fileLag struct {
	id, path      string
	acked, behind int64
}

func (a *Agent) fileLags() []fileLag {
	var out []fileLag
	// Every second: paths are redacted only when shown, and open files are
	// not asked their sizes (1,000 idle files cost 1,000 fstat calls a
	// second). A reader held back sees no growth, but then its lines in
	// flight are behind already.
	for _, f := range a.tail.FilesCached() {
		// A last line waiting for its newline is no delivery problem.
		out = append(out, fileLag{id: f.Input + "/" + f.ID, path: f.Path, acked: f.AckedOffset, behind: f.Size - f.AckedOffset - f.Unfinished})
	}
	return out
}

// Ready reports whether the agent is ready: it runs, and no file has had
// lines waiting for acknowledgement without progress for two minutes (the
// sink cannot deliver: Elasticsearch down, or a pipeline stuck). The error
// says which.
func (a *Agent) Ready(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.workCtx == nil {
		return fmt.Errorf("starting")
	}
	if len(a.stuck) > 0 {
		return fmt.Errorf("no progress for %s on %d file(s), e.g. %s: Elasticsearch unreachable or refusing?", stuckAfter, len(a.stuck), a.shownPath(a.stuck[0]))
	}
	return nil
}
