package sample

import (
	"time"

	"github.com/traceship/shipper"
)

// Stubs until rate_limit and keep_trace_on_error land: New refuses them.

type limiter struct{}

func newLimiter(RateLimit) *limiter { return nil }

func (l *limiter) process(b *shipper.Batch, n int, now time.Time, c *batchCounts, scratch []byte) {}
func (l *limiter) tick(now time.Time, c *batchCounts)                                             {}
func (l *limiter) droppedByKey() map[string]uint64                                                { return nil }

type holder struct{}

func newHolder(KeepTraceOnError) *holder { return nil }

func (h *holder) process(b *shipper.Batch, n int, held bool, now time.Time, levels uint32, c *batchCounts) {
}
func (h *holder) tick(now time.Time, c *batchCounts)    {}
func (h *holder) gauges() (events, traces, bytes int64) { return 0, 0, 0 }
