#!/usr/bin/env bash
# pgo.sh regenerates cmd/shipper/default.pgo, the CPU profile the Go
# compiler uses for profile-guided optimisation of `go build ./cmd/shipper`
# (and of the Docker image): the agent's profile from the end-to-end bench,
# with bulk compression off (2.8M lines) and on (the default, 1M lines),
# merged. Rerun it after large changes to the hot path; a stale profile
# only optimises less.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
go run ./bench/e2e -lines 2800000 -only plain -profile "$work/plain.pprof"
go run ./bench/e2e -lines 1000000 -only gzip -profile "$work/gzip.pprof"
go tool pprof -proto "$work/plain.pprof" "$work/gzip.pprof" >"$work/merged.pprof"
mv "$work/merged.pprof" cmd/shipper/default.pgo
ls -l cmd/shipper/default.pgo
