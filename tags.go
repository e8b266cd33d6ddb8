package shipper

// Tags is the set of remarks the agent attaches to an event, written as the
// ECS "tags" array. It is a bit set so that tagging never allocates.
type Tags uint32

// The tags. Their names (TagNames) are a public contract: users filter on
// them in Kibana.
const (
	// TagJSONParseFailure: the line looked like JSON but was not valid; its
	// text is kept in message.
	TagJSONParseFailure Tags = 1 << iota
	// TagTimestampMissing: the line had no time field; @timestamp is the
	// read time.
	TagTimestampMissing
	// TagTimestampParseFailure: the time field could not be parsed; the
	// original is kept and @timestamp is the read time.
	TagTimestampParseFailure
	// TagTraceIDInvalid: a trace or span id field was present but not a
	// valid id; no trace.id was set from it.
	TagTraceIDInvalid
	// TagRedacted: at least one value was redacted.
	TagRedacted
	// TagLineTruncated: the line was longer than the maximum and was cut.
	TagLineTruncated
	// TagInvalidUTF8: invalid UTF-8 was replaced by U+FFFD.
	TagInvalidUTF8
	// TagPartialTooLong: a container partial line exceeded the reassembly cap.
	TagPartialTooLong
	// TagDepthExceeded: the JSON nested deeper than the limit; kept as text.
	TagDepthExceeded
	// TagMultiline: several physical lines were joined into this event.
	TagMultiline
	// TagHeldForTrace: the event was shipped because its trace failed
	// (sample.keep_trace_on_error).
	TagHeldForTrace
	tagEnd
)

var tagNames = [...]string{
	"_json_parse_failure",
	"_timestamp_missing",
	"_timestamp_parse_failure",
	"_trace_id_invalid",
	"_redacted",
	"_line_truncated",
	"_invalid_utf8",
	"_partial_too_long",
	"_json_depth_exceeded",
	"multiline",
	"_kept_for_failed_trace",
}

// Has reports whether every tag in t2 is set.
func (t Tags) Has(t2 Tags) bool { return t&t2 == t2 }

// Names returns the names of the tags set, in a fixed order.
func (t Tags) Names() []string {
	var out []string
	t.each(func(name string) { out = append(out, name) })
	return out
}

func (t Tags) each(fn func(name string)) {
	for i := 0; Tags(1)<<i < tagEnd; i++ {
		if t&(1<<i) != 0 {
			fn(tagNames[i])
		}
	}
}
