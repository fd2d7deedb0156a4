#!/usr/bin/env bash
# Sets up the benchmarks' baselines, idempotently, after scripts/bootstrap.sh:
# Debian's podman (for `podman kube play`) with catatonit (podman builds its own
# pause image from it, no registry needed), the ulimits this sandbox needs, and
# the test image in podman's own storage.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[bench-bootstrap] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
[ -x /usr/bin/catatonit ] || [ -x /usr/libexec/podman/catatonit ] || missing+=(catatonit)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    crun conmon netavark aardvark-dns fuse-overlayfs slirp4netns uidmap golang-github-containers-common >/dev/null
fi

# The sandbox's hard limits are lower than podman's defaults: without these, every
# container fails to start ("setrlimit ... operation not permitted"). This machine
# mounts cgroup v1 with a v2 hierarchy beside it ("hybrid"), which crun refuses:
# use runc, the OCI runtime Docker uses here too, so both baselines run the same.
conf=/etc/containers/containers.conf
want_conf='# written by minipod scripts/bench-bootstrap.sh
[containers]
default_ulimits = ["nofile=1024:1024","nproc=4096:4096"]

[engine]
runtime = "runc"
'
if [ "$(cat "$conf" 2>/dev/null)" != "$(printf '%s' "$want_conf")" ]; then
  log "writing $conf"
  command -v runc >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq runc >/dev/null
  as_root mkdir -p /etc/containers
  printf '%s' "$want_conf" | as_root tee "$conf" >/dev/null
fi

# Podman keeps its own image store: load the test image minipod's pods use
# (`docker import` images carry PATH=/bin from the -c ENV of build-images.sh).
image=minipod/testbox:1
want=$(docker image inspect -f '{{.Id}}' "$image")
have=$(podman image inspect -f '{{.Id}}' "localhost/$image" 2>/dev/null || true)
if [ "sha256:$have" != "$want" ] && [ "$have" != "$want" ]; then
  log "loading $image into podman"
  docker save "$image" | podman load -q >/dev/null
fi
log "ready: $(podman --version), $image loaded"
