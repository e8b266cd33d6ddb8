// Package deploy holds the files people deploy shipper with, and the tests
// that keep them honest.
//
//   - ../Dockerfile and ../.dockerignore: the container image.
//   - kubernetes/: a DaemonSet with its namespace, ServiceAccount, ConfigMap
//     (pipelines.yaml for CRI container logs), example Secret and
//     kustomization.yaml.
//   - systemd/shipper.service: the unit for plain Linux hosts.
//   - ../docker-compose.yml and compose/: Elasticsearch, Kibana, the agent and
//     a demo app, for people with Docker.
//
// None of these can be run on a CI machine without a container engine or a
// cluster, so the tests parse them and check what matters to a user: that
// probes, read-only log mounts, the state directory, NODE_NAME, the
// notify/watchdog protocol and the hardening are there, and that the files
// agree with each other and with the agent (the port in pipelines.yaml is the
// port the probes use, state_dir is a persistent mount, the termination
// grace period outlasts the agent's shutdown timeout, the ConfigMap's
// pipelines.yaml passes the agent's own configuration parser). Each check is
// also run against deliberately broken copies of the files (mutation tests),
// so a check that cannot fail is noticed.
//
// .ci/deploy-checks adds what external tools can check where they exist:
// systemd-analyze verify and security, kubectl kustomize.
package deploy
