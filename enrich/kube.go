package enrich

import (
	"path/filepath"
	"strings"
	"sync"

	"github.com/traceship/shipper"
)

// Kubernetes metadata from container log paths, without an API call.
//
// The kubelet writes each container's log to
//
//	/var/log/pods/<namespace>_<pod>_<pod uid>/<container>/<restart>.log
//
// and links it from
//
//	/var/log/containers/<pod>_<namespace>_<container>-<64 hex container id>.log
//
// Pod names, namespaces and container names are DNS labels or subdomains,
// which cannot hold '_', so splitting on '_' is exact. The first form lacks
// the container id, the second the pod uid; when the tailer names the link,
// the link is followed (one hop at a time, as Docker's json-file adds a
// second link to /var/lib/docker/containers) to recover the uid.
//
// Only the last components are matched, so a host /var/log mounted at
// another place (/host/var/log) works too.

// parseContainersPath reads /var/log/containers/<pod>_<ns>_<container>-<id>.log.
func parseContainersPath(p string) (k shipper.Kubernetes, ok bool) {
	dir, base := filepath.Split(p)
	if filepath.Base(filepath.Clean(dir)) != "containers" || !strings.HasSuffix(base, ".log") {
		return k, false
	}
	base = strings.TrimSuffix(base, ".log")
	dash := strings.LastIndexByte(base, '-')
	if dash < 0 || len(base)-dash-1 != 64 || !isLowerHex(base[dash+1:]) {
		return k, false
	}
	k.ContainerID = base[dash+1:]
	parts := strings.Split(base[:dash], "_")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return shipper.Kubernetes{}, false
	}
	k.PodName, k.Namespace, k.ContainerName = parts[0], parts[1], parts[2]
	return k, true
}

// parsePodsPath reads /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log,
// including the kubelet's rotated names (0.log.20261122-100000, .gz).
func parsePodsPath(p string) (k shipper.Kubernetes, ok bool) {
	p = filepath.Clean(p)
	file := filepath.Base(p)
	rest := filepath.Dir(p)
	container := filepath.Base(rest)
	rest = filepath.Dir(rest)
	podDir := filepath.Base(rest)
	if filepath.Base(filepath.Dir(rest)) != "pods" {
		return k, false
	}
	n := 0
	for n < len(file) && '0' <= file[n] && file[n] <= '9' {
		n++
	}
	if n == 0 || !strings.HasPrefix(file[n:], ".log") {
		return k, false
	}
	parts := strings.Split(podDir, "_")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" || container == "" || container == "." {
		return k, false
	}
	k.Namespace, k.PodName, k.PodUID, k.ContainerName = parts[0], parts[1], parts[2], container
	return k, true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// maxLinkHops bounds the links followed from a /var/log/containers path.
const maxLinkHops = 4

// kubeFromPath returns the metadata a path names, following links from the
// containers form to the pods form when readlink is not nil.
func kubeFromPath(p string, readlink func(string) (string, error)) (shipper.Kubernetes, bool) {
	if k, ok := parsePodsPath(p); ok {
		return k, true
	}
	k, ok := parseContainersPath(p)
	if !ok || readlink == nil {
		return k, ok
	}
	cur := p
	for range maxLinkHops {
		t, err := readlink(cur)
		if err != nil {
			break
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(cur), t)
		}
		if pk, ok := parsePodsPath(t); ok {
			if pk.Namespace == k.Namespace && pk.PodName == k.PodName && pk.ContainerName == k.ContainerName {
				k.PodUID = pk.PodUID
			}
			break
		}
		cur = t
	}
	return k, true
}

// maxKubeCache bounds the per-path cache; when full it is emptied (the
// metadata is cheap to recompute, a path's worth a few µs once).
const maxKubeCache = 4096

// kubeCache maps a file path to its metadata, one shared value per path,
// looked up once per batch.
type kubeCache struct {
	mu sync.RWMutex
	m  map[string]*shipper.Kubernetes // nil value: not a container log
}

func (c *kubeCache) get(p string, readlink func(string) (string, error)) *shipper.Kubernetes {
	c.mu.RLock()
	k, ok := c.m[p]
	c.mu.RUnlock()
	if ok {
		return k
	}
	if v, found := kubeFromPath(p, readlink); found {
		k = &v
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxKubeCache {
		c.m = make(map[string]*shipper.Kubernetes)
	}
	if prev, ok := c.m[p]; ok {
		k = prev // another worker was first: share its value
	} else {
		c.m[p] = k
	}
	c.mu.Unlock()
	return k
}
