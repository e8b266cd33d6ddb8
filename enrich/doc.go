// Package enrich is the pipeline stage that correlates every event with its
// trace and names where it came from: trace.id, span.id, parent.id and the
// sampled flag (for the sampler), service.name, host.name and the
// Kubernetes metadata of container logs.
//
// # Trace ids
//
// Ids are recognised, with no configuration, in these conventions (field
// names in any case, with or without '_', '-' or '.', at the top level or one
// level down in trace, span, parent, dd, mdc, contextMap, context, ctx,
// otel, tracing, traceContext, spanContext, headers and labels objects):
//
//	ecs          trace.id, span.id, parent.id (flat, or {"trace":{"id":…}})
//	field        trace_id, traceId, traceID, trace-id, span_id, spanId,
//	             parent_id, parent_span_id, Serilog @tr/@sp, OTLP JSON
//	             traceId/spanId (also base64), a bare "trace"/"span" string
//	traceparent  W3C 00-<32 hex>-<16 hex>-<flags>; sampled flag kept
//	b3           B3 single: <trace>-<span>[-<sampled>[-<parent>]]
//	b3_multi     X-B3-TraceId, X-B3-SpanId, X-B3-ParentSpanId, X-B3-Sampled, X-B3-Flags
//	jaeger       uber-trace-id: <trace>:<span>:<parent>:<flags>
//	xray         X-Amzn-Trace-Id: Root=1-<8>-<24>;Parent=<16>;Sampled=1
//	             (AWS Lambda Powertools' xray_trace_id: 1-<8>-<24> is a field)
//	datadog      dd.trace_id, dd.span_id: unsigned 64-bit decimal, string or number
//	gcp          logging.googleapis.com/trace (projects/<p>/traces/<id>),
//	             logging.googleapis.com/spanId, .../trace_sampled; an exported
//	             LogEntry's "trace" (projects/…), "spanId", "traceSampled";
//	             X-Cloud-Trace-Context: <32 hex>[/<decimal span>][;o=1]
//	pattern      the configured enrich.trace.patterns, in message
//	message      trace_id=…, traceId: …, [trace=…], span_id=…, traceparent=…,
//	             dd.trace_id=…, uber-trace-id=…, X-Amzn-Trace-Id=… in message
//
// A trace id is written as 32 lower-case hex digits: hex in any case is
// lowered, a 64-bit (16 digit) id is left-padded with zeros, a UUID loses
// its dashes, an X-Ray id 1-<8>-<24> is concatenated as the OpenTelemetry
// X-Ray propagator does, a Datadog decimal is converted, and the base64
// forms some OTLP JSON exporters write (24 and 12 characters, padded) are
// decoded. A span id is 16 hex digits. Anything else (all zeros, non-hex,
// another length, empty, a number, null, an object) gives no id, and an
// event with such a field is tagged _trace_id_invalid, even when another
// field gave a valid id. Only a bare "trace", "span" or "parent" string and
// free text are never tagged: those names hold other things too (a stack
// trace).
//
// # Precedence
//
// When sources disagree, the order of the table above decides: the trace id
// comes from the first convention that has one (ECS names first, because
// they are the target schema and state the application's current context;
// then dedicated id fields; then propagation headers, which may describe
// the incoming request; then vendor fields; message text last, and only
// scanned when no field gave a trace id). Within a convention the first
// field in document order wins. span.id, parent.id and the sampled flag
// come from the first convention that has one and either names the same
// trace id or none, so a span id is never paired with another context's
// trace id. Disagreements are counted in Stats.Conflicts.
//
// # Fields the agent writes itself
//
// The encoder writes trace.id, span.id, parent.id and service.name and
// merges an application object of the same name into its own, so an
// application member holding the value the agent now writes is removed in
// every case (flat "trace.id", or "id" inside "trace", rewritten into batch
// memory); a flat one that held an invalid value is renamed with the
// encoder's "_app" suffix, so a document never holds two values for one
// field. Other source fields stay unless enrich.trace.remove_source_fields
// is set; message is never removed.
//
// # service.name, host.name, Kubernetes
//
// service.name comes from the first non-empty string among service.name,
// service (a string, or the name inside a service object), app,
// application and serviceName (or service_name); then the Kubernetes
// container name; then the input's `service` setting (see
// Enricher.ForInput), or enrich.service.name. A "service" string or a
// flat "service.name" that gave the name is removed, as the encoder writes
// it. host.name is enrich.host_name, or NODE_NAME. Kubernetes metadata comes
// from the kubelet's log paths (see kube.go), computed once per file and
// shared by its events.
//
// # Cost
//
// One pass over the member keys with a switch on the first byte finds every
// candidate; only candidates are decoded, nested objects are entered only
// when a candidate key names one, and message text is searched with
// substring search for a few anchors. Process allocates nothing (a service
// name never seen before is interned once); TestProcessDoesNotAllocate and
// the benchmarks check it.
package enrich
