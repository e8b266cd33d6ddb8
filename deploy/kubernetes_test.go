package deploy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/traceship/shipper/config"
)

const (
	k8sDir = "deploy/kubernetes"
	// exampleSecret shows the Secret's keys; it is applied by hand.
	exampleSecret = "secret.yaml"
)

// k8sObjects are the manifests of deploy/kubernetes, decoded strictly.
type k8sObjects struct {
	kustomization   kustomizationObj
	namespaces      []namespaceObj
	serviceAccounts []serviceAccountObj
	secrets         []secretObj
	configMaps      []configMapObj
	daemonSets      []daemonSetObj
	dockerCmd       []string // the image's CMD, for a container without args
}

// decodeStrict decodes every YAML document of data into the value new
// returns for its kind, refusing unknown fields.
func decodeDocs(name string, data []byte, ps *problems, into func(kind string) any) {
	var kinds []string
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var tm typeMeta
		err := dec.Decode(&tm)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			ps.addf("%s: %v", name, err)
			return
		}
		kinds = append(kinds, tm.Kind)
	}
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	for _, kind := range kinds {
		v := into(kind)
		if v == nil {
			ps.addf("%s: no checks for kind %q: add them to deploy/kubernetes_test.go", name, kind)
			var skip yaml.Node
			_ = dec.Decode(&skip)
			continue
		}
		if err := dec.Decode(v); err != nil {
			ps.addf("%s: %s: %v (a misspelt field is ignored by Kubernetes; if the field is right, add it to deploy/k8stypes_test.go)", name, kind, err)
		}
	}
}

func loadKubernetes(a assets, ps *problems) *k8sObjects {
	k := &k8sObjects{}
	for _, name := range a.under(k8sDir) {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		decodeDocs(name, a[name], ps, func(kind string) any {
			switch kind {
			case "Kustomization":
				return &k.kustomization
			case "Namespace":
				k.namespaces = append(k.namespaces, namespaceObj{})
				return &k.namespaces[len(k.namespaces)-1]
			case "ServiceAccount":
				k.serviceAccounts = append(k.serviceAccounts, serviceAccountObj{})
				return &k.serviceAccounts[len(k.serviceAccounts)-1]
			case "Secret":
				k.secrets = append(k.secrets, secretObj{})
				return &k.secrets[len(k.secrets)-1]
			case "ConfigMap":
				k.configMaps = append(k.configMaps, configMapObj{})
				return &k.configMaps[len(k.configMaps)-1]
			case "DaemonSet":
				k.daemonSets = append(k.daemonSets, daemonSetObj{})
				return &k.daemonSets[len(k.daemonSets)-1]
			}
			return nil
		})
	}
	_, stages := dockerStages(parseDockerfile(a["Dockerfile"]))
	if len(stages) > 0 {
		for _, in := range stages[len(stages)-1].body {
			if in.cmd == "CMD" {
				k.dockerCmd, _ = execForm(in.args)
			}
		}
	}
	return k
}

// agent returns the DaemonSet and its shipper container.
func (k *k8sObjects) agent(ps *problems) (*daemonSetObj, *container) {
	if len(k.daemonSets) != 1 {
		ps.addf("%s: want exactly one DaemonSet, found %d", k8sDir, len(k.daemonSets))
		return nil, nil
	}
	ds := &k.daemonSets[0]
	for i, c := range ds.Spec.Template.Spec.Containers {
		if c.Name == "shipper" {
			return ds, &ds.Spec.Template.Spec.Containers[i]
		}
	}
	ps.addf("DaemonSet %s: no container named shipper", ds.Metadata.Name)
	return ds, nil
}

// configArg is the -c argument the agent runs with.
func (k *k8sObjects) configArg(c *container) string {
	args := c.Args
	if len(c.Command) == 0 && len(args) == 0 {
		args = k.dockerCmd
	}
	for i, a := range args {
		if (a == "-c" || a == "--config") && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			return v
		}
	}
	return ""
}

func (ds *daemonSetObj) volume(name string) *volume {
	for i, v := range ds.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return &ds.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

// mountFor returns the mount that holds path in c, the deepest one.
func mountFor(c *container, p string) *volumeMount {
	var best *volumeMount
	for i, m := range c.VolumeMounts {
		if under(p, m.MountPath) && (best == nil || len(m.MountPath) > len(best.MountPath)) {
			best = &c.VolumeMounts[i]
		}
	}
	return best
}

// podEnv is the environment the agent process sees, as far as the
// manifests say: plain values, the downward API (a sample node name), and
// every key of the Secrets it takes with envFrom.
func (k *k8sObjects) podEnv(c *container) map[string]string {
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.SecretRef == nil {
			continue
		}
		for _, s := range k.secrets {
			if s.Metadata.Name != ef.SecretRef.Name {
				continue
			}
			for key, v := range s.StringData {
				env[ef.Prefix+key] = v
			}
			for key := range s.Data {
				env[ef.Prefix+key] = "secret"
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName":
			env[e.Name] = "node-1"
		default:
			env[e.Name] = "from-" + e.Name
		}
	}
	return env
}

// configEmbedded returns the pipelines.yaml the DaemonSet runs with: the
// ConfigMap key behind the container's -c path.
func (k *k8sObjects) configEmbedded(ps *problems) (embeddedConfig, bool) {
	ds, c := k.agent(ps)
	if c == nil {
		return embeddedConfig{}, false
	}
	file := k.configArg(c)
	if file == "" {
		ps.addf("DaemonSet %s: the shipper container is not started with -c FILE", ds.Metadata.Name)
		return embeddedConfig{}, false
	}
	m := mountFor(c, file)
	if m == nil {
		ps.addf("DaemonSet %s: the configuration %s is on no volume mount (the agent would not find it)", ds.Metadata.Name, file)
		return embeddedConfig{}, false
	}
	v := ds.volume(m.Name)
	if v == nil || v.ConfigMap == nil {
		ps.addf("DaemonSet %s: %s is mounted from volume %q, which is not a ConfigMap", ds.Metadata.Name, m.MountPath, m.Name)
		return embeddedConfig{}, false
	}
	if m.SubPath != "" {
		ps.addf("DaemonSet %s: the ConfigMap is mounted with subPath, so edits never reach running pods; mount it as a directory", ds.Metadata.Name)
	}
	key := strings.TrimPrefix(strings.TrimPrefix(file, m.MountPath), "/")
	if m.SubPath != "" {
		key = m.SubPath
	}
	for _, it := range v.ConfigMap.Items {
		if it.Path == key {
			key = it.Key
		}
	}
	for _, cm := range k.configMaps {
		if cm.Metadata.Name != v.ConfigMap.Name {
			continue
		}
		data, ok := cm.Data[key]
		if !ok {
			ps.addf("ConfigMap %s has no key %q, which the agent reads as %s", cm.Metadata.Name, key, file)
			return embeddedConfig{}, false
		}
		return embeddedConfig{name: "ConfigMap " + cm.Metadata.Name + " " + key, data: []byte(data), env: k.podEnv(c)}, true
	}
	ps.addf("DaemonSet %s mounts ConfigMap %q, which deploy/kubernetes does not define", ds.Metadata.Name, v.ConfigMap.Name)
	return embeddedConfig{}, false
}

// parseQuantity reads a Kubernetes resource quantity (100m, 64Mi, 1G, 2).
func parseQuantity(s string) (float64, bool) {
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"m", 1e-3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			return v * u.mult, err == nil
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

func isTrue(b *bool) bool  { return b != nil && *b }
func isFalse(b *bool) bool { return b != nil && !*b }

// checkKubernetes checks the manifests for what a cluster operator relies
// on: every node covered, logs mounted read-only at their host paths, state
// on the node, probes on the agent's port, the pod's identity and
// credentials, resource bounds, a hardened container, a grace period the
// agent's flush fits in.
func checkKubernetes(a assets) problems {
	var ps problems
	k := loadKubernetes(a, &ps)

	// kustomization.yaml lists every manifest but the example Secret (so
	// that re-applying never overwrites the real one), and puts all in one
	// namespace.
	ku := k.kustomization
	var want []string
	for _, n := range a.under(k8sDir) {
		if b := path.Base(n); strings.HasSuffix(b, ".yaml") && b != "kustomization.yaml" && b != exampleSecret {
			want = append(want, b)
		}
	}
	have := slices.Sorted(slices.Values(ku.Resources))
	if !slices.Equal(have, want) {
		ps.addf("kustomization.yaml resources %v; want every manifest in the directory but %s, %v", have, exampleSecret, want)
	}
	ns := ku.Namespace
	if ns == "" {
		ps.addf("kustomization.yaml sets no namespace")
	}
	if len(k.namespaces) != 1 || k.namespaces[0].Metadata.Name != ns {
		ps.addf("want one Namespace object named %q (the kustomization's namespace)", ns)
	}
	var namespaced []typeMeta
	for _, o := range k.serviceAccounts {
		namespaced = append(namespaced, o.typeMeta)
	}
	for _, o := range k.secrets {
		namespaced = append(namespaced, o.typeMeta)
	}
	for _, o := range k.configMaps {
		namespaced = append(namespaced, o.typeMeta)
	}
	for _, o := range k.daemonSets {
		namespaced = append(namespaced, o.typeMeta)
	}
	for _, o := range namespaced {
		if o.Metadata.Namespace != ns {
			ps.addf("%s %s is in namespace %q, want %q (kubectl apply -f without kustomize would scatter it)", o.Kind, o.Metadata.Name, o.Metadata.Namespace, ns)
		}
	}

	ds, c := k.agent(&ps)
	if c == nil {
		return ps
	}
	pod := &ds.Spec.Template.Spec
	name := "DaemonSet " + ds.Metadata.Name

	// Selector and image.
	for key, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Metadata.Labels[key] != v {
			ps.addf("%s: selector %s=%s does not match the pod template's labels", name, key, v)
		}
	}
	if len(ds.Spec.Selector.MatchLabels) == 0 {
		ps.addf("%s: no selector", name)
	}
	image, tag, _ := strings.Cut(c.Image, ":")
	if tag == "" || tag == "latest" {
		ps.addf("%s: image %q has no version tag: nodes would run different builds", name, c.Image)
	}
	if !slices.ContainsFunc(ku.Images, func(im kustomizeImage) bool { return im.Name == image }) {
		ps.addf("kustomization.yaml images has no entry for %s, so `kustomize edit set image` would not reach the DaemonSet", image)
	}

	// Every node.
	if !slices.ContainsFunc(pod.Tolerations, func(t toleration) bool {
		return t.Operator == "Exists" && t.Key == "" && t.Effect == ""
	}) {
		ps.addf("%s: no toleration {operator: Exists}: tainted nodes (control plane, dedicated pools) would ship no logs", name)
	}
	if pod.NodeSelector["kubernetes.io/os"] != "linux" {
		ps.addf("%s: no nodeSelector kubernetes.io/os: linux: pods would be scheduled on Windows nodes and fail", name)
	}

	// Identity and credentials.
	if !slices.ContainsFunc(k.serviceAccounts, func(sa serviceAccountObj) bool { return sa.Metadata.Name == pod.ServiceAccountName }) {
		ps.addf("%s: serviceAccountName %q is not defined in %s", name, pod.ServiceAccountName, k8sDir)
	}
	if !isFalse(pod.AutomountServiceAccountToken) {
		ps.addf("%s: automountServiceAccountToken is not false: the agent never calls the API, so it should hold no token", name)
	}
	if !slices.ContainsFunc(c.Env, func(e envVar) bool {
		return e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName"
	}) {
		ps.addf("%s: NODE_NAME is not set from the downward API (fieldRef spec.nodeName): host.name would be the pod name", name)
	}
	for _, s := range k.secrets {
		if !slices.ContainsFunc(c.EnvFrom, func(ef envFromSource) bool {
			return ef.SecretRef != nil && ef.SecretRef.Name == s.Metadata.Name && !isTrue(ef.SecretRef.Optional)
		}) {
			ps.addf("%s: Secret %s is not passed to the agent with envFrom (or is optional)", name, s.Metadata.Name)
		}
		for key, v := range s.StringData {
			if v != "" && strings.Contains(key, "PASSWORD") || strings.Contains(key, "API_KEY") && v != "" || strings.Contains(key, "TOKEN") && v != "" {
				ps.addf("Secret %s: %s has a value; the example Secret in Git must hold no credentials", s.Metadata.Name, key)
			}
		}
		if len(s.Data) > 0 {
			ps.addf("Secret %s: data holds base64 values; the example Secret in Git must hold no credentials", s.Metadata.Name)
		}
	}

	// The configuration: where it is, what it says.
	ec, ok := k.configEmbedded(&ps)
	var ac agentConfig
	if ok {
		ac = ec.decode(&ps)
		ec.checkEnvRefs(&ps)
	}

	// Logs: both directories at their host paths (the symlinks in
	// /var/log/containers point at absolute /var/log/pods/... paths),
	// read-only.
	for _, dir := range []string{"/var/log/pods", "/var/log/containers"} {
		m := mountFor(c, dir)
		switch {
		case m == nil || m.MountPath != dir:
			ps.addf("%s: %s is not mounted (the symlinks of /var/log/containers point into /var/log/pods: both are needed, at the same paths)", name, dir)
		case !m.ReadOnly:
			ps.addf("%s: %s is mounted read-write; the agent only reads logs", name, dir)
		default:
			if v := ds.volume(m.Name); v == nil || v.HostPath == nil || v.HostPath.Path != dir {
				ps.addf("%s: %s is not the node's %s (hostPath with the same path)", name, dir, dir)
			}
		}
	}
	for _, g := range ac.inputGlobs() {
		if m := mountFor(c, g); m == nil || !m.ReadOnly {
			ps.addf("%s: input %s is not under a read-only mount: the agent would find no files", name, g)
		}
	}
	for _, p := range ac.Pipelines {
		for _, in := range p.Inputs {
			for _, g := range in.Paths {
				if (under(g, "/var/log/containers") || under(g, "/var/log/pods")) && in.Parse.Format != "cri" {
					ps.addf("%s: pipeline %s reads %s with parse format %q; the kubelet writes CRI lines (want cri)", ec.name, p.Name, g, in.Parse.Format)
				}
				// The kubelet compresses a rotated file into N.log.<time>.tmp,
				// then renames it: read half-written, it is binary junk.
				if under(g, "/var/log/pods") && !slices.Contains(in.Exclude, "*.tmp") {
					ps.addf("%s: pipeline %s reads %s without excluding *.tmp, the kubelet's half-written archives", ec.name, p.Name, g)
				}
			}
		}
	}

	// State survives pod restarts: a hostPath, created if missing, writable.
	if ok {
		m := mountFor(c, ac.StateDir)
		switch {
		case ac.StateDir == "":
			ps.addf("%s: no state_dir", ec.name)
		case m == nil:
			ps.addf("%s: state_dir %s is on the container's own filesystem (read-only, and lost on restart)", name, ac.StateDir)
		case m.ReadOnly:
			ps.addf("%s: state_dir %s is mounted read-only", name, ac.StateDir)
		default:
			if v := ds.volume(m.Name); v == nil || v.HostPath == nil {
				ps.addf("%s: state_dir %s is not a hostPath: checkpoints would be lost with the pod and every file read again", name, ac.StateDir)
			} else if v.HostPath.Type != "DirectoryOrCreate" {
				ps.addf("%s: state hostPath type %q; want DirectoryOrCreate so a new node needs no preparation", name, v.HostPath.Type)
			}
		}
	}

	// The HTTP endpoint: reachable from the kubelet, and what the probes hit.
	port := 0
	if ok {
		host, p, err := net.SplitHostPort(ac.HTTP.Listen)
		if err != nil {
			ps.addf("%s: http.listen %q: %v (the probes need the endpoint)", ec.name, ac.HTTP.Listen, err)
		}
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			ps.addf("%s: http.listen %s is loopback: the kubelet's probes come from outside the pod and would fail", ec.name, ac.HTTP.Listen)
		}
		port, _ = strconv.Atoi(p)
	}
	probePort := func(pr *probe, what, wantPath string) {
		if pr == nil || pr.HTTPGet == nil {
			ps.addf("%s: no %s probe (httpGet %s)", name, what, wantPath)
			return
		}
		if pr.HTTPGet.Path != wantPath {
			ps.addf("%s: %s probe path %s, want %s", name, what, pr.HTTPGet.Path, wantPath)
		}
		n, err := strconv.Atoi(pr.HTTPGet.Port)
		if err != nil {
			n = 0
			for _, cp := range c.Ports {
				if cp.Name == pr.HTTPGet.Port {
					n = cp.ContainerPort
				}
			}
		}
		if port != 0 && n != port {
			ps.addf("%s: %s probe targets port %s but the agent listens on %d (http.listen)", name, what, pr.HTTPGet.Port, port)
		}
	}
	probePort(c.LivenessProbe, "liveness", "/healthz")
	probePort(c.ReadinessProbe, "readiness", "/readyz")
	if port != 0 && !slices.ContainsFunc(c.Ports, func(cp containerPort) bool { return cp.ContainerPort == port }) {
		ps.addf("%s: containerPort %d (http.listen) is not declared", name, port)
	}

	// Resources.
	for _, r := range []string{"cpu", "memory"} {
		req, okr := parseQuantity(c.Resources.Requests[r])
		lim, okl := parseQuantity(c.Resources.Limits[r])
		if !okr {
			ps.addf("%s: no %s request (the scheduler would not reserve room for the agent)", name, r)
		}
		if !okl {
			ps.addf("%s: no %s limit (a runaway agent could starve the node's workloads)", name, r)
		}
		if okr && okl && req > lim {
			ps.addf("%s: %s request %s above its limit %s", name, r, c.Resources.Requests[r], c.Resources.Limits[r])
		}
	}
	for _, e := range c.Env {
		if e.Name != "GOMEMLIMIT" || e.ValueFrom != nil {
			continue
		}
		gml, err := config.ParseSize(e.Value) // the Go runtime's format
		lim, okl := parseQuantity(c.Resources.Limits["memory"])
		if err != nil {
			ps.addf("%s: GOMEMLIMIT %q is not a Go memory limit (e.g. 230MiB)", name, e.Value)
		} else if okl && float64(gml) >= lim {
			ps.addf("%s: GOMEMLIMIT %s is not below the memory limit %s: the pod is OOM-killed before the GC tries harder", name, e.Value, c.Resources.Limits["memory"])
		}
	}

	// Hardening.
	sc := c.SecurityContext
	if sc == nil {
		sc = &securityContext{}
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		ps.addf("%s: readOnlyRootFilesystem is not true", name)
	}
	if !isFalse(sc.AllowPrivilegeEscalation) {
		ps.addf("%s: allowPrivilegeEscalation is not false", name)
	}
	if isTrue(sc.Privileged) {
		ps.addf("%s: the container is privileged", name)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		ps.addf("%s: capabilities are not dropped (want drop: [ALL])", name)
	} else if len(sc.Capabilities.Add) > 0 {
		ps.addf("%s: capabilities added back: %v", name, sc.Capabilities.Add)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = pod.SecurityContext.SeccompProfile
	}
	if seccomp == nil || seccomp.Type == "Unconfined" {
		ps.addf("%s: no seccomp profile (want RuntimeDefault)", name)
	}
	if pod.HostNetwork {
		ps.addf("%s: hostNetwork: the agent needs no host network, and its port would collide with other agents", name)
	}

	// Graceful stop: the kubelet waits for the agent's flush.
	if ok {
		grace := 30 * time.Second // Kubernetes' default
		if pod.TerminationGracePeriodSeconds != nil {
			grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
		}
		if st := ec.shutdownTimeout(); grace <= st {
			ps.addf("%s: terminationGracePeriodSeconds %v is not above the agent's shutdown_timeout %v: SIGKILL would cut the final flush short", name, grace, st)
		}
	}
	return ps
}

func TestKubernetes(t *testing.T) {
	reportProblems(t, checkKubernetes(loadAssets(t)))
}
