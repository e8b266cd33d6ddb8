package pipeline

import (
	"sort"
	"sync/atomic"
	"time"

	"github.com/traceship/shipper/tailer"
)

// rateWindow is how far back `shipper status` rates look.
const rateWindow = 10 * time.Second

// counters are one pipeline's running totals, counted per batch.
type counters struct {
	read, sent, dropped atomic.Uint64
	// samples of (time, read, sent) taken by tick, for rates.
	samples []rateSample
}

type rateSample struct {
	at         time.Time
	read, sent uint64
}

func (c *counters) add(read, sent int) {
	c.read.Add(uint64(read))
	c.sent.Add(uint64(sent))
	c.dropped.Add(uint64(read - sent))
}

// sample records the totals at now and forgets samples older than the window.
func (c *counters) sample(now time.Time) {
	c.samples = append(c.samples, rateSample{now, c.read.Load(), c.sent.Load()})
	i := 0
	for i < len(c.samples)-1 && now.Sub(c.samples[i].at) > rateWindow {
		i++
	}
	c.samples = c.samples[i:]
}

func (c *counters) rates() (read, sent float64) {
	if len(c.samples) < 2 {
		return 0, 0
	}
	first, last := c.samples[0], c.samples[len(c.samples)-1]
	secs := last.at.Sub(first.at).Seconds()
	if secs <= 0 {
		return 0, 0
	}
	return float64(last.read-first.read) / secs, float64(last.sent-first.sent) / secs
}

// Status is the document served at /status and printed by `shipper status`.
type Status struct {
	Pipelines []PipelineStatus    `json:"pipelines"`
	Files     []tailer.FileStatus `json:"files"`
}

// PipelineStatus is one pipeline's totals and recent rates.
type PipelineStatus struct {
	Name          string  `json:"name"`
	Read          uint64  `json:"events_read"`
	Sent          uint64  `json:"events_sent"`
	Dropped       uint64  `json:"events_dropped"`
	ReadPerSecond float64 `json:"read_per_second"`
	SentPerSecond float64 `json:"sent_per_second"`
}

// Status reports every pipeline and every file the tailer knows.
func (a *Agent) Status() any {
	a.mu.Lock()
	var st Status
	for name, r := range a.running {
		rr, rs := r.counters.rates()
		st.Pipelines = append(st.Pipelines, PipelineStatus{
			Name: name, Read: r.counters.read.Load(), Sent: r.counters.sent.Load(), Dropped: r.counters.dropped.Load(),
			ReadPerSecond: rr, SentPerSecond: rs,
		})
	}
	a.mu.Unlock()
	sort.Slice(st.Pipelines, func(i, j int) bool { return st.Pipelines[i].Name < st.Pipelines[j].Name })
	st.Files = a.files()
	return st
}

// files is the tailer's list of files as the agent shows it outside the
// machine (/status, /metrics): a card number or a token in a file name is
// redacted.
func (a *Agent) files() []tailer.FileStatus {
	files := a.tail.Files()
	for i := range files {
		files[i].Path = a.shownPath(files[i].Path)
	}
	return files
}

// shownPath is path as the agent shows it outside the machine.
func (a *Agent) shownPath(path string) string {
	if a.env.RedactText == nil {
		return path
	}
	return string(a.env.RedactText(nil, []byte(path)))
}
