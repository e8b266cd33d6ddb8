// Package sample is the trace-aware sampling stage: it cuts volume without
// cutting a request's story in half.
//
// An event with a trace.id is kept exactly when the OpenTelemetry SDKs'
// TraceIDRatioBased sampler at the same ratio samples its trace: the last 8
// bytes of the id, read big-endian and shifted right by one, are compared
// with uint64(ratio * 2^63). Every line of a trace is therefore kept or
// dropped together, on every node running the agent, and the logs kept at
// ratio r are those of the traces an SDK sampling at r records. An event
// without a trace.id is decided by the same rule applied to a hash of its
// raw line (CRC-32C and length, finalised by murmur3's fmix64), so dry-runs
// and restarts take the same decisions; identical lines share their fate.
//
// Events at always_keep_levels are always kept; respect_parent_sampled keeps
// the events of traces the caller sampled; rules give matching events their
// own ratio, first match winning. A kept event sampled at a ratio below 1
// records it in the document field sample.ratio: in Kibana, weigh each
// document by 1/sample.ratio to scale counts back up (documents without
// the field count once).
//
// rate_limit caps what is kept per key and reports its drops as summary
// events; keep_trace_on_error holds what sampling drops from a trace for a
// window and ships it if the trace fails. See design.md for how, and for
// the known limitations.
package sample
