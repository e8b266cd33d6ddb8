package config

import (
	"fmt"
	"strconv"
	"strings"
)

// The memory_limit setting: the agent's soft memory limit, Go's GOMEMLIMIT.
//
// What the agent holds is bounded by its budgets (bytes read and not yet
// acknowledged, bulk bodies buffered or in flight, events held by
// keep_trace_on_error). Between two collections the Go heap may grow to
// twice what is live (GOGC=100), which on a busy agent is most of its RSS.
// A soft limit a little above the budgets lets the collector run earlier
// only when the heap actually nears it; the agent's hot path hardly
// allocates, so collections stay rare and cheap. Too close to what is live,
// and the collector runs constantly: measured on a 1 GB backlog of 1,000
// files, a limit 4 MiB lower than auto's doubled the agent's CPU per event.

const (
	// MemoryLimitAuto derives the limit from the budgets.
	MemoryLimitAuto = "auto"
	// MemoryLimitOff leaves the Go runtime's default: no limit, GOGC alone.
	MemoryLimitOff = "off"

	// memoryBase covers what the budgets do not: the runtime, code, pooled
	// buffers, the registry, metrics.
	memoryBase = 24 << 20
	// memoryPerFile is an open file's reader: its goroutine's stack, its
	// line splitter and framer, registry entry and metrics.
	memoryPerFile = 8 << 10
	// memoryPerBudgetByte is the heap per budget byte: a line read is also
	// its event and members (about as large again as the line), and pools
	// keep a released buffer until the next collection.
	memoryPerBudgetByte = 2
)

// MemoryLimitBytes resolves memory_limit: the limit in bytes, or 0 for
// none. It assumes c is valid.
func (c *Config) MemoryLimitBytes() int64 {
	switch c.MemoryLimit {
	case MemoryLimitOff:
		return 0
	case MemoryLimitAuto, "":
		budget := c.Tail.MaxInflightBytes + int64(c.Elasticsearch.Bulk.MaxInFlightBytes)
		for _, p := range c.Pipelines {
			if k := p.Sample.KeepTraceOnError; k != nil {
				budget += k.MaxBytes
			}
		}
		return memoryBase + memoryPerBudgetByte*budget + memoryPerFile*int64(c.Tail.MaxOpenFiles)
	}
	n, _ := ParseSize(c.MemoryLimit)
	return n
}

// ParseSize reads a size the way GOMEMLIMIT is written: a number of bytes,
// optionally followed by B, KiB, MiB, GiB or TiB.
func ParseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size: write bytes, optionally with B, KiB, MiB, GiB or TiB (64MiB), or auto or off", s)
	}
	return n * mult, nil
}
