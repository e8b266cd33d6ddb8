# syntax=docker/dockerfile:1
#
# shipper container image: a static binary on an empty (scratch) base.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t shipper .
#   docker run --rm shipper version
#
# The image holds only /shipper, the CA certificates (for Elasticsearch over
# HTTPS) and an empty, writable /var/lib/shipper (state_dir). It runs as the
# unprivileged uid/gid 65532 by default. The Kubernetes DaemonSet overrides
# that with uid 0 (all capabilities dropped) because on most nodes the CRI log
# files under /var/log/pods are root:root 0640; see deploy/kubernetes/README.md
# for running it as non-root with supplementalGroups instead.
#
# deploy/deploy_test.go checks this file: pinned base images, a non-root USER,
# exec-form ENTRYPOINT/CMD, no ADD of URLs, the version stamp, and a Go
# toolchain at least as new as go.mod's `go` line.

# The builder runs on the build machine's platform and cross-compiles, so
# multi-arch builds (docker buildx --platform linux/amd64,linux/arm64) do not
# run the compiler under emulation.
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src

# Modules first, so that a source change does not re-download them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .

ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
# CGO_ENABLED=0: a static binary that needs no libc in the final image.
# -trimpath and -s -w: reproducible, smaller, no build paths in the binary.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/shipper ./cmd/shipper

# state_dir must exist and be writable by the default user. Mount a volume
# over it so checkpoints outlive the container; a new named Docker volume
# copies this ownership on first use.
RUN mkdir -p /out/state && chmod 0750 /out/state

FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="shipper" \
      org.opencontainers.image.description="Ships JSON logs to Elasticsearch with trace correlation, redaction and trace-aware sampling" \
      org.opencontainers.image.source="https://github.com/traceship/shipper" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chown=65532:65532 /out/state /var/lib/shipper
COPY --from=build /out/shipper /shipper

# 65532 is the conventional "nonroot" id of distroless images; scratch has no
# /etc/passwd, so it is numeric (which also lets Kubernetes' runAsNonRoot
# verify it).
USER 65532:65532
# The HTTP endpoint (/healthz, /readyz, /metrics) when http.listen is set to
# 0.0.0.0:5066; the built-in default listens on loopback only.
EXPOSE 5066

ENTRYPOINT ["/shipper"]
CMD ["run", "-c", "/etc/shipper/pipelines.yaml"]
