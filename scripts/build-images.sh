#!/usr/bin/env bash
# Builds minipod's local images with `docker import` (no registry is needed):
#   minipod/pause:1     the pod infra container, from images/pause/pause.c
#   minipod/testbox:1   Debian's busybox-static plus a SysV shm probe, also tagged
#                       busybox:latest and busybox:1.36 for the example manifests
# Each image carries the hash of its sources and is rebuilt only when they change.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[images] %s\n' "$*" >&2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

current_hash() { docker image inspect -f '{{index .Config.Labels "minipod.io/source-hash"}}' "$1" 2>/dev/null || true; }

build_pause() {
  local hash; hash=$(sha256sum images/pause/pause.c | cut -c1-16)
  [ "$(current_hash minipod/pause:1)" = "$hash" ] && return 0
  log "building minipod/pause:1"
  mkdir -p "$work/pause"
  cc -static -Os -o "$work/pause/pause" images/pause/pause.c
  strip "$work/pause/pause" 2>/dev/null || true
  tar -C "$work/pause" -c pause | docker import \
    -c 'ENTRYPOINT ["/pause"]' -c "LABEL minipod.io/source-hash=$hash" -c 'LABEL minipod.io/managed=true' \
    - minipod/pause:1 >/dev/null
}

build_testbox() {
  local hash; hash=$( (sha256sum images/testbox/shm.c; sha256sum "$(command -v busybox)") | sha256sum | cut -c1-16)
  if [ "$(current_hash minipod/testbox:1)" != "$hash" ]; then
    log "building minipod/testbox:1 from busybox-static"
    local root="$work/testbox"
    mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/var/www" "$root/root"
    chmod 1777 "$root/tmp"
    cp "$(command -v busybox)" "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
      [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
    cc -static -Os -o "$root/bin/shm" images/testbox/shm.c
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    tar -C "$root" -c . | docker import \
      -c 'ENV PATH=/bin' -c 'CMD ["sh"]' -c "LABEL minipod.io/source-hash=$hash" -c 'LABEL minipod.io/managed=true' \
      - minipod/testbox:1 >/dev/null
  fi
  for tag in busybox:latest busybox:1.36; do
    [ "$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null)" = "$(docker image inspect -f '{{.Id}}' minipod/testbox:1)" ] ||
      docker tag minipod/testbox:1 "$tag"
  done
}

case "${1:-all}" in
  pause) build_pause ;;
  *) build_pause; build_testbox ;;
esac
