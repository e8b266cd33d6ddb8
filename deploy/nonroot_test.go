package deploy

import (
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const nonrootDir = "deploy/kubernetes-nonroot"

// checkNonroot checks the overlay that runs the agent without uid 0: it
// builds on the base, the agent's uid is not 0, it can read root-group
// logs, and the init container hands the state directory to exactly that
// uid (a mismatch would leave the agent unable to write checkpoints).
func checkNonroot(a assets) problems {
	var ps problems
	var ku kustomizationObj
	decodeDocs(nonrootDir+"/kustomization.yaml", a[nonrootDir+"/kustomization.yaml"], &ps, func(kind string) any {
		if kind == "Kustomization" {
			return &ku
		}
		return nil
	})
	if !slices.Contains(ku.Resources, "../kubernetes") {
		ps.addf("%s: does not build on ../kubernetes", nonrootDir)
	}
	var patch daemonSetObj
	for _, p := range ku.Patches {
		name := path.Join(nonrootDir, p.Path)
		if _, ok := a[name]; !ok {
			ps.addf("%s: patch %s does not exist", nonrootDir, p.Path)
			continue
		}
		decodeDocs(name, a[name], &ps, func(kind string) any {
			if kind == "DaemonSet" {
				return &patch
			}
			return nil
		})
	}
	pod := patch.Spec.Template.Spec
	var sc *securityContext
	for _, c := range pod.Containers {
		if c.Name == "shipper" {
			sc = c.SecurityContext
		}
	}
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 || !isTrue(sc.RunAsNonRoot) {
		ps.addf("%s: the shipper container does not get a non-zero runAsUser with runAsNonRoot: true (the base's uid 0 would stay)", nonrootDir)
		return ps
	}
	if !slices.Contains(pod.SecurityContext.SupplementalGroups, 0) {
		ps.addf("%s: no supplementalGroups [0]: uid %d cannot read root:root 0640 container logs", nonrootDir, *sc.RunAsUser)
	}

	// The state directory's owner.
	base := loadKubernetes(a, &ps)
	ds, c := base.agent(&ps)
	if c == nil {
		return ps
	}
	ec, ok := base.configEmbedded(&ps)
	if !ok {
		return ps
	}
	stateDir := ec.decode(&ps).StateDir
	m := mountFor(c, stateDir)
	if m == nil {
		return ps // reported by checkKubernetes
	}
	owner := strconv.FormatInt(*sc.RunAsUser, 10)
	if sc.RunAsGroup != nil {
		owner += ":" + strconv.FormatInt(*sc.RunAsGroup, 10)
	}
	chowned := false
	for _, ic := range pod.InitContainers {
		cmd := strings.Join(append(ic.Command, ic.Args...), " ")
		if !strings.Contains(cmd, "chown") {
			continue
		}
		for _, im := range ic.VolumeMounts {
			if im.Name == m.Name && strings.HasSuffix(cmd, " "+owner+" "+im.MountPath) {
				chowned = true
			}
		}
		if ic.SecurityContext == nil || ic.SecurityContext.Capabilities == nil || !slices.Contains(ic.SecurityContext.Capabilities.Drop, "ALL") {
			ps.addf("%s: init container %s keeps root's full capabilities (want drop ALL, add CHOWN)", nonrootDir, ic.Name)
		}
	}
	if !chowned {
		ps.addf("%s: no init container chowns state volume %q (%s in DaemonSet %s) to %s: the agent could not write checkpoints", nonrootDir, m.Name, stateDir, ds.Metadata.Name, owner)
	}
	return ps
}

func TestKubernetesNonroot(t *testing.T) {
	reportProblems(t, checkNonroot(loadAssets(t)))
}
