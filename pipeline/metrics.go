package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/traceship/shipper"
)

// Metrics are the per-pipeline event counters, counted once per batch by
// the workers (never per event on a shared counter).
type Metrics struct {
	read, shipped, parseErrors, redacted *prometheus.CounterVec
	dropped                              *prometheus.CounterVec
	bulkLatency                          *prometheus.HistogramVec
}

// ObserveBulk records one bulk request's latency and outcome (for
// sink.ObserveRequests).
func (m *Metrics) ObserveBulk(d time.Duration, outcome string) {
	m.bulkLatency.WithLabelValues(outcome).Observe(d.Seconds())
}

// NewMetrics registers the pipeline counters with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		read: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipper_events_read_total", Help: "Logical lines read and processed, per pipeline."}, []string{"pipeline"}),
		shipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipper_events_sent_total", Help: "Documents handed to the Elasticsearch sink, per pipeline."}, []string{"pipeline"}),
		parseErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipper_events_parse_failures_total", Help: "Lines that looked like JSON but were not valid (kept as text, tagged _json_parse_failure)."}, []string{"pipeline"}),
		redacted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipper_events_redacted_total", Help: "Documents in which at least one value was redacted."}, []string{"pipeline"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipper_events_dropped_total", Help: "Events dropped on purpose, per pipeline and reason (sampling, rate limit)."}, []string{"pipeline", "reason"}),
		bulkLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shipper_bulk_request_duration_seconds", Help: "Bulk request latency until Elasticsearch's response headers, by outcome (2xx, 4xx, 5xx, error).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.read, m.shipped, m.parseErrors, m.redacted, m.dropped, m.bulkLatency)
	}
	return m
}

// count adds one processed batch to the pipeline's counters, in one pass
// over its events, and returns how many were sent; the rest were dropped
// (for the status rates).
func (m *Metrics) count(pipeline string, b *shipper.Batch) (sent int) {
	var parseErr, red int
	var lastDrop string
	var dropN int
	flush := func() {
		if m != nil && dropN > 0 {
			m.dropped.WithLabelValues(pipeline, lastDrop).Add(float64(dropN))
		}
		dropN = 0
	}
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.Tags&shipper.TagJSONParseFailure != 0 {
			parseErr++
		}
		if ev.Tags&shipper.TagRedacted != 0 {
			red++
		}
		if ev.Drop == "" {
			sent++
			continue
		}
		if ev.Drop != lastDrop {
			flush()
		}
		lastDrop = ev.Drop
		dropN++
	}
	flush()
	if m == nil {
		return sent
	}
	m.read.WithLabelValues(pipeline).Add(float64(len(b.Events)))
	m.shipped.WithLabelValues(pipeline).Add(float64(sent))
	if parseErr > 0 {
		m.parseErrors.WithLabelValues(pipeline).Add(float64(parseErr))
	}
	if red > 0 {
		m.redacted.WithLabelValues(pipeline).Add(float64(red))
	}
	return sent
}
