package pipeline

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/traceship/shipper/sink"
)

// collector turns the stages' Stats snapshots into Prometheus metrics at
// scrape time, so the hot path keeps its plain atomic counters.
type collector struct {
	a    *Agent
	sink func() sink.Stats
}

// RegisterCollector registers the agent's stage, tailer and sink metrics
// with reg. sinkStats may be nil.
func (a *Agent) RegisterCollector(reg prometheus.Registerer, sinkStats func() sink.Stats) {
	reg.MustRegister(&collector{a: a, sink: sinkStats})
}

// Describe sends nothing: the metric set depends on the configuration
// (an unchecked collector).
func (c *collector) Describe(chan<- *prometheus.Desc) {}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	// emit sends one sample; labels are name, value pairs.
	emit := func(kind prometheus.ValueType, name, help string, v float64, labels ...string) {
		keys := make([]string, 0, len(labels)/2)
		vals := make([]string, 0, len(labels)/2)
		for i := 0; i+1 < len(labels); i += 2 {
			keys = append(keys, labels[i])
			vals = append(vals, labels[i+1])
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, keys, nil), kind, v, vals...)
	}
	counter := func(name, help string, v float64, labels ...string) {
		emit(prometheus.CounterValue, name, help, v, labels...)
	}
	gauge := func(name, help string, v float64, labels ...string) {
		emit(prometheus.GaugeValue, name, help, v, labels...)
	}

	c.a.mu.Lock()
	pipes := make([]*running, 0, len(c.a.running))
	for _, r := range c.a.running {
		pipes = append(pipes, r)
	}
	c.a.mu.Unlock()
	for _, r := range pipes {
		name := r.p.Name
		var parsed, parseFailures, tsMissing uint64
		for _, ch := range append(r.p.Inputs(), r.p.Default) {
			st := ch.Parser.Stats()
			parsed += st.Events
			parseFailures += st.JSONParseFailures
			tsMissing += st.TimestampMissing
		}
		counter("shipper_events_parsed_total", "Events parsed, per pipeline.", float64(parsed), "pipeline", name)
		counter("shipper_events_timestamp_missing_total", "Events without a time field (@timestamp is the read time).", float64(tsMissing), "pipeline", name)
		es := r.p.enricher.Stats()
		counter("shipper_events_trace_ids_total", "Events given a trace.id, per pipeline.", float64(es.TraceIDs), "pipeline", name)
		counter("shipper_events_trace_ids_invalid_total", "Events with a trace id field that was not a valid id.", float64(es.Invalid), "pipeline", name)
		for conv, n := range es.TraceIDsBySource {
			counter("shipper_trace_ids_by_convention_total", "Trace ids found, per convention.", float64(n), "pipeline", name, "convention", conv)
		}
		rs := r.p.Redactor.Stats()
		for rule, n := range rs.Redactions {
			counter("shipper_redactions_total", "Values redacted, per pipeline and rule.", float64(n), "pipeline", name, "rule", rule)
		}
		ss := r.p.Sampler.Stats()
		counter("shipper_sample_decisions_total", "Sampling decisions, per pipeline and outcome.", float64(ss.DroppedRatio), "pipeline", name, "decision", "dropped_ratio")
		counter("shipper_sample_decisions_total", "Sampling decisions, per pipeline and outcome.", float64(ss.DroppedRateLimit), "pipeline", name, "decision", "dropped_rate_limit")
		counter("shipper_sample_decisions_total", "Sampling decisions, per pipeline and outcome.", float64(ss.KeptLevel), "pipeline", name, "decision", "kept_level")
		for i, n := range ss.DroppedRule {
			counter("shipper_sample_decisions_total", "Sampling decisions, per pipeline and outcome.", float64(n), "pipeline", name, "decision", "dropped_rule_"+strconv.Itoa(i))
		}
		for key, n := range ss.DroppedRateLimitByKey {
			counter("shipper_rate_limit_dropped_total", "Events dropped by the rate limit, per key value.", float64(n), "pipeline", name, "key", key)
		}
		counter("shipper_sample_promoted_total", "Held events shipped because their trace failed (keep_trace_on_error).", float64(ss.Promoted), "pipeline", name)
		gauge("shipper_sample_held_events", "Events held by keep_trace_on_error now.", float64(ss.HeldEvents), "pipeline", name)
	}

	ts := c.a.tail.Stats()
	gauge("shipper_open_files", "Files open now.", float64(ts.FilesOpen))
	counter("shipper_files_waiting_max_open_total", "Files a scan found but did not open because tail.max_open_files were open (they wait for open files to close).", float64(ts.SkippedMaxOpen))
	counter("shipper_file_open_errors_total", "Files that could not be opened (permissions, ...).", float64(ts.OpenErrors))
	counter("shipper_truncations_total", "Truncated files detected (copytruncate).", float64(ts.Truncations))
	counter("shipper_bytes_read_total", "Bytes read from files.", float64(ts.BytesRead))
	gauge("shipper_registry_entries", "Files in the checkpoint registry.", float64(ts.RegistryEntries))
	gauge("shipper_inflight_bytes", "Bytes read but not yet acknowledged.", float64(ts.InflightBytes))
	counter("shipper_checkpoint_errors_total", "Failed checkpoint writes.", float64(ts.CheckpointErrors))
	// One series per path: a file rotated out of the globs is still open
	// under its old name next to the new file of that name, and Prometheus
	// refuses the whole scrape over two series with the same labels.
	behind := map[string]int64{}
	for _, f := range c.a.files() {
		behind[f.Path] += max(f.Size-f.AckedOffset, 0)
	}
	for path, n := range behind {
		gauge("shipper_file_bytes_behind", "How far the checkpoints of the files at each path are from their sizes.", float64(n), "path", path)
	}

	if c.sink == nil {
		return
	}
	st := c.sink()
	counter("shipper_documents_indexed_total", "Documents Elasticsearch created.", float64(st.Indexed))
	counter("shipper_documents_duplicate_total", "Documents refused with 409 because their _id was stored already (a replay; counted as delivered).", float64(st.Duplicates))
	counter("shipper_dead_letter_total", "Documents written to the dead-letter file.", float64(st.DeadLettered))
	counter("shipper_bulk_requests_total", "Bulk requests sent, retries included.", float64(st.Requests))
	counter("shipper_bulk_retries_total", "Retries, per kind.", float64(st.RequestRetries), "kind", "request")
	counter("shipper_bulk_retries_total", "Retries, per kind.", float64(st.ItemRetries), "kind", "item")
	counter("shipper_bulk_bytes_total", "Request bytes on the wire.", float64(st.BytesSent))
	gauge("shipper_sink_inflight_bytes", "Bytes buffered or being sent to Elasticsearch.", float64(st.InFlightBytes))
}
