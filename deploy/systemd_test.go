package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/traceship/shipper/config"
)

const unitName = "deploy/systemd/shipper.service"

// unitFile is a systemd unit: per section, every assignment of every key in
// order (a key may be assigned several times; for list settings an empty
// assignment resets the list).
type unitFile map[string]map[string][]string

// parseUnit reads the unit file syntax of systemd.syntax(7): [Section]
// headers, Key=Value lines, # and ; comments, backslash continuations.
func parseUnit(data []byte) (unitFile, error) {
	u := unitFile{}
	sec := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	var pending string
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if pending == "" && (line == "" || line[0] == '#' || line[0] == ';') {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			sec = line[1 : len(line)-1]
			if u[sec] == nil {
				u[sec] = map[string][]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || sec == "" {
			return nil, fmt.Errorf("line %d: want Key=Value inside a [Section], got %q", n, line)
		}
		k = strings.TrimSpace(k)
		u[sec][k] = append(u[sec][k], strings.TrimSpace(v))
	}
	return u, sc.Err()
}

// get returns the last assignment of key (the one in effect for a
// single-valued setting).
func (u unitFile) get(sec, key string) (string, bool) {
	vs := u[sec][key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// list returns a list setting: space-separated items of every assignment,
// reset by an empty one.
func (u unitFile) list(sec, key string) []string {
	var out []string
	for _, v := range u[sec][key] {
		if v == "" {
			out = nil
			continue
		}
		out = append(out, strings.Fields(v)...)
	}
	return out
}

func (u unitFile) boolean(sec, key string) bool {
	v, _ := u.get(sec, key)
	switch strings.ToLower(v) {
	case "1", "yes", "y", "true", "t", "on":
		return true
	}
	return false
}

var spanPart = regexp.MustCompile(`^(\d+(?:\.\d+)?)([a-z]*)$`)

// parseTimespan reads a systemd time span (systemd.time(7)): "30s",
// "1min 30s", "90" (seconds).
func parseTimespan(s string) (time.Duration, bool) {
	units := map[string]time.Duration{
		"": time.Second, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	}
	var total time.Duration
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, false
	}
	for _, p := range f {
		m := spanPart.FindStringSubmatch(p)
		if m == nil {
			return 0, false
		}
		u, ok := units[m[2]]
		if !ok {
			return 0, false
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		total += time.Duration(n * float64(u))
	}
	return total, true
}

// checkSystemd checks the unit for the contract with the agent (notify,
// watchdog, reload, stop), its state directory, and its hardening.
func checkSystemd(a assets) problems {
	var ps problems
	u, err := parseUnit(a[unitName])
	if err != nil {
		ps.addf("%s: %v", unitName, err)
		return ps
	}
	const svc = "Service"
	want := func(key, value, why string) {
		if v, _ := u.get(svc, key); v != value {
			ps.addf("%s: %s=%s, want %s: %s", unitName, key, v, value, why)
		}
	}
	wantTrue := func(key, why string) {
		if !u.boolean(svc, key) {
			ps.addf("%s: %s is not set to yes: %s", unitName, key, why)
		}
	}

	if !slices.Contains(u.list("Unit", "After"), "network-online.target") {
		ps.addf("%s: not After=network-online.target: the first connection to Elasticsearch could fail at boot", unitName)
	}
	want("Type", "notify", "systemd must learn readiness from the agent's READY=1")
	if v, ok := u.get(svc, "NotifyAccess"); ok && v != "main" && v != "all" {
		ps.addf("%s: NotifyAccess=%s drops the agent's notifications", unitName, v)
	}
	if v, _ := u.get(svc, "WatchdogSec"); v == "" {
		ps.addf("%s: no WatchdogSec: a hung agent would never be restarted", unitName)
	} else if d, ok := parseTimespan(v); !ok || d <= 0 {
		ps.addf("%s: WatchdogSec=%s is not a positive time span", unitName, v)
	}
	want("Restart", "on-failure", "a crashed or watchdog-killed agent must come back")

	// Commands: run, validate and reload on the same configuration.
	const bin = "/usr/local/bin/shipper"
	start, _ := u.get(svc, "ExecStart")
	sf := strings.Fields(start)
	if len(sf) != 4 || sf[0] != bin || sf[1] != "run" || sf[2] != "-c" {
		ps.addf("%s: ExecStart=%s, want %s run -c FILE", unitName, start, bin)
	}
	cfgFile := sf[len(sf)-1]
	for _, key := range []string{"ExecStartPre", "ExecReload"} {
		for _, v := range u[svc][key] {
			if f := strings.Fields(v); len(f) > 0 && f[0] == bin && (len(f) != 4 || f[3] != cfgFile) {
				ps.addf("%s: %s=%s does not use the configuration ExecStart runs (%s)", unitName, key, v, cfgFile)
			}
		}
	}
	if r := u[svc]["ExecReload"]; len(r) == 0 || r[len(r)-1] != "/bin/kill -HUP $MAINPID" {
		ps.addf("%s: ExecReload does not end with /bin/kill -HUP $MAINPID: systemctl reload would not reload", unitName)
	}
	if v, ok := u.get(svc, "KillSignal"); ok && v != "SIGTERM" {
		ps.addf("%s: KillSignal=%s; the agent flushes and checkpoints on SIGTERM", unitName, v)
	}
	def := config.Default()
	if v, _ := u.get(svc, "TimeoutStopSec"); v == "" {
		ps.addf("%s: no TimeoutStopSec (the default 90s is right only by accident)", unitName)
	} else if d, ok := parseTimespan(v); !ok || d <= def.ShutdownTimeout {
		ps.addf("%s: TimeoutStopSec=%s is not above the agent's default shutdown_timeout %v: SIGKILL would cut the flush short", unitName, v, def.ShutdownTimeout)
	}

	// State: StateDirectory=shipper is /var/lib/shipper, which must be the
	// agent's default state_dir (the unit sets no other).
	sd := u.list(svc, "StateDirectory")
	if len(sd) != 1 || "/var/lib/"+sd[0] != def.StateDir {
		ps.addf("%s: StateDirectory=%v; want the directory under /var/lib that is the agent's default state_dir %s (ProtectSystem=strict makes everything else read-only)", unitName, sd, def.StateDir)
	}

	// Who it runs as, what it reads.
	user, _ := u.get(svc, "User")
	if !u.boolean(svc, "DynamicUser") && (user == "" || user == "root" || user == "0") {
		ps.addf("%s: runs as root: set DynamicUser=yes or a User=", unitName)
	}
	if len(u.list(svc, "SupplementaryGroups")) == 0 {
		ps.addf("%s: no SupplementaryGroups: a non-root agent cannot read root:adm 0640 logs", unitName)
	}
	if !slices.Contains(u.list(svc, "ReadOnlyPaths"), "/var/log") {
		ps.addf("%s: /var/log is not in ReadOnlyPaths", unitName)
	}
	if u.boolean(svc, "PrivateUsers") {
		ps.addf("%s: PrivateUsers=yes unmaps the log files' group: the agent could not read them", unitName)
	}

	// Hardening.
	want("ProtectSystem", "strict", "the agent writes only its state directory")
	wantTrue("ProtectHome", "the agent has no business in home directories")
	wantTrue("NoNewPrivileges", "no setuid escalation")
	wantTrue("PrivateTmp", "no shared /tmp")
	if caps, ok := u.get(svc, "CapabilityBoundingSet"); !ok || caps != "" {
		ps.addf("%s: CapabilityBoundingSet is not empty (want CapabilityBoundingSet= )", unitName)
	}
	if caps := u.list(svc, "AmbientCapabilities"); len(caps) > 0 {
		ps.addf("%s: AmbientCapabilities=%v", unitName, caps)
	}
	fams := slices.Sorted(slices.Values(u.list(svc, "RestrictAddressFamilies")))
	if !slices.Equal(fams, []string{"AF_INET", "AF_INET6", "AF_UNIX"}) {
		ps.addf("%s: RestrictAddressFamilies=%v, want AF_INET AF_INET6 AF_UNIX (TCP to Elasticsearch, the notify socket)", unitName, fams)
	}

	if !slices.Contains(u.list("Install", "WantedBy"), "multi-user.target") {
		ps.addf("%s: not WantedBy=multi-user.target: systemctl enable would not start it at boot", unitName)
	}

	// The install guide puts the binary and configuration where the unit
	// looks for them.
	readme := string(a["deploy/systemd/README.md"])
	for _, p := range []string{bin, cfgFile, "/etc/systemd/system/shipper.service"} {
		if !strings.Contains(readme, p) {
			ps.addf("deploy/systemd/README.md does not mention %s, which the unit uses", p)
		}
	}
	return ps
}

func TestSystemd(t *testing.T) {
	reportProblems(t, checkSystemd(loadAssets(t)))
}

func TestParseUnit(t *testing.T) {
	u, err := parseUnit([]byte("# c\n[Service]\nExecReload=a\nExecReload=b \\\n  c\n; c\nCapabilityBoundingSet=\nReadOnlyPaths=/x\nReadOnlyPaths=\nReadOnlyPaths=/y /z\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := u["Service"]["ExecReload"]; !slices.Equal(got, []string{"a", "b  c"}) {
		t.Errorf("ExecReload = %q", got)
	}
	if v, ok := u.get("Service", "CapabilityBoundingSet"); !ok || v != "" {
		t.Errorf("CapabilityBoundingSet = %q, %v; want set and empty", v, ok)
	}
	if got := u.list("Service", "ReadOnlyPaths"); !slices.Equal(got, []string{"/y", "/z"}) {
		t.Errorf("ReadOnlyPaths = %q; want the list after the reset", got)
	}
	if _, err := parseUnit([]byte("Type=notify\n")); err == nil {
		t.Error("an assignment outside a section was accepted")
	}
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "1min 30s": 90 * time.Second, "90": 90 * time.Second, "2m": 2 * time.Minute, "500ms": 500 * time.Millisecond} {
		if got, ok := parseTimespan(in); !ok || got != want {
			t.Errorf("parseTimespan(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	if _, ok := parseTimespan("soon"); ok {
		t.Error(`parseTimespan("soon") succeeded`)
	}
}
