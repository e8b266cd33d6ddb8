package enrich

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/traceship/shipper"
)

// Config is a pipeline's `enrich:` section.
type Config struct {
	// Trace configures how trace.id, span.id and parent.id are found.
	Trace TraceConfig `yaml:"trace"`
	// Service configures service.name.
	Service ServiceConfig `yaml:"service"`
	// HostName is written as host.name on every event. When empty, the
	// value of the NODE_NAME environment variable is used (set it from the
	// pod's spec.nodeName in a DaemonSet); when both are empty, host.name is
	// not written.
	HostName string `yaml:"host_name"`
	// Kubernetes configures the metadata read from container log paths.
	Kubernetes KubernetesConfig `yaml:"kubernetes"`
}

// TraceConfig configures trace correlation.
type TraceConfig struct {
	// RemoveSourceFields removes the application's fields that gave the
	// trace.id, span.id and parent.id the agent wrote (trace_id,
	// traceparent, dd.trace_id, ...), so a document holds each id once.
	// Fields named exactly like the ECS fields (trace.id, span.id,
	// parent.id) are always replaced by the agent's normalised value.
	// Ids found in message text never remove the message.
	RemoveSourceFields bool `yaml:"remove_source_fields"`
	// ScanMessage looks for ids written into the message text
	// (trace_id=…, traceId: …, [trace=…], traceparent=…, dd.trace_id=…)
	// when no field gave a trace id.
	ScanMessage bool `yaml:"scan_message"`
	// Patterns are extra regular expressions (Go RE2 syntax) tried on the
	// message text when no field gave a trace id, before the built-in
	// scan. Each names what it captures with the groups (?P<trace_id>…),
	// (?P<span_id>…) and (?P<parent_id>…); captured values must still be
	// valid ids (32 or 16 hex digits, or a UUID).
	Patterns []string `yaml:"patterns"`
	// TransactionID writes transaction.id, which Elastic APM's "logs of
	// this transaction" links on: "none" (the default) writes nothing;
	// "span_id" writes the event's span.id, exact for lines logged in a
	// service's entry span (the span APM shows as the transaction). An
	// application's own transaction or transaction.id field is never
	// overwritten.
	TransactionID string `yaml:"transaction_id"`
}

// The values of trace.transaction_id.
const (
	TransactionIDNone   = "none"
	TransactionIDSpanID = "span_id"
)

// ServiceConfig configures service.name.
type ServiceConfig struct {
	// Name is the service.name of events that name no service themselves
	// (in service.name, service, app, application or serviceName) and do
	// not come from a Kubernetes container log. An input's own `service`
	// setting, when the pipeline passes one, takes its place.
	Name string `yaml:"name"`
}

// KubernetesConfig configures the Kubernetes metadata.
type KubernetesConfig struct {
	// FromPath reads kubernetes.namespace, kubernetes.pod.name,
	// kubernetes.pod.uid, kubernetes.container.name and container.id from
	// the kubelet's log paths (/var/log/containers/… and /var/log/pods/…).
	FromPath bool `yaml:"from_path"`
	// ResolveSymlinks follows a /var/log/containers link to its
	// /var/log/pods target, once per file, to learn the pod uid.
	ResolveSymlinks bool `yaml:"resolve_symlinks"`
}

// DefaultConfig returns the defaults: ids extracted from every convention
// and from message text, source fields kept, Kubernetes metadata from paths.
func DefaultConfig() Config {
	return Config{
		Trace:      TraceConfig{ScanMessage: true, TransactionID: TransactionIDNone},
		Kubernetes: KubernetesConfig{FromPath: true, ResolveSymlinks: true},
	}
}

// patternGroups are the capture group names a pattern may use.
var patternGroups = []string{"trace_id", "span_id", "parent_id"}

// Validate reports every problem in c. It does not modify c.
func (c Config) Validate() error {
	var errs []error
	for i, p := range c.Trace.Patterns {
		path := "trace.patterns[" + strconv.Itoa(i) + "]"
		re, err := regexp.Compile(p)
		if err != nil {
			errs = append(errs, &shipper.FieldError{Path: path, Err: err})
			continue
		}
		if !namesAGroup(re) {
			errs = append(errs, &shipper.FieldError{Path: path, Err: errors.New(
				"pattern captures no id: name a group (?P<trace_id>…), (?P<span_id>…) or (?P<parent_id>…)")})
		}
	}
	switch c.Trace.TransactionID {
	case TransactionIDNone, TransactionIDSpanID:
	default:
		errs = append(errs, &shipper.FieldError{Path: "trace.transaction_id", Err: fmt.Errorf(
			"unknown value %q: use %q or %q", c.Trace.TransactionID, TransactionIDNone, TransactionIDSpanID)})
	}
	for _, s := range []struct{ path, v string }{{"service.name", c.Service.Name}, {"host_name", c.HostName}} {
		if len(s.v) > maxServiceLen {
			errs = append(errs, &shipper.FieldError{Path: s.path, Err: errors.New("longer than " + strconv.Itoa(maxServiceLen) + " bytes")})
		}
	}
	return errors.Join(errs...)
}

func namesAGroup(re *regexp.Regexp) bool {
	for _, n := range re.SubexpNames() {
		for _, g := range patternGroups {
			if n == g {
				return true
			}
		}
	}
	return false
}
