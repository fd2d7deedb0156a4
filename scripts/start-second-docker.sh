#!/usr/bin/env bash
# A second Docker Engine on this machine, for tests of a node agent on an engine of
# its own: its own --data-root, --exec-root, --pidfile, socket, and bridge. The bridge
# is made here with `ip link add … type bridge` and passed as --bridge: a second
# dockerd with --bridge none deletes the first engine's docker0. No iptables rules
# (the first engine owns them), so its containers reach each other and the host, not
# the outside; the tests need no more. The test images are copied in from the first
# engine (docker save | docker load).
#
#   scripts/start-second-docker.sh          start (idempotent); prints unix:///…/docker.sock
#   scripts/start-second-docker.sh stop     stop it, remove its containers, data and bridge
#
# MINIPOD_DOCKER2_DIR (default /var/lib/minipod-d2: root's, never a predictable path in a
# world-writable /tmp, where another user could plant a link) holds everything; MINIPOD_DOCKER2_BRIDGE
# (default mpbr2) and MINIPOD_DOCKER2_CIDR (default 172.31.254.1/24) name the bridge.
set -euo pipefail
dir=${MINIPOD_DOCKER2_DIR:-/var/lib/minipod-d2}
bridge=${MINIPOD_DOCKER2_BRIDGE:-mpbr2}
cidr=${MINIPOD_DOCKER2_CIDR:-172.31.254.1/24}
sock="$dir/docker.sock"
host="unix://$sock"
images=(minipod/pause:1 minipod/testbox:1 busybox:1.36 busybox:latest)
log() { printf '[docker2] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "must run as root (it starts dockerd and makes a bridge)"
  exit 1
fi

# The state folder: made 0700, refused when it is a symlink or someone else's.
private_dir() {
  if [ -L "$1" ]; then log "$1 is a symlink: refusing to use it"; exit 1; fi
  mkdir -p -m 0700 "$1"
  if [ "$(stat -c %u "$1")" != "$(id -u)" ]; then log "$1 is not owned by $(id -un): refusing to use it"; exit 1; fi
  chmod 0700 "$1"
}

answers() { docker -H "$host" info >/dev/null 2>&1; }
first_bridge_ok() { ip link show docker0 >/dev/null 2>&1; }

stop() {
  if [ -f "$dir/docker.pid" ]; then
    local pid; pid=$(cat "$dir/docker.pid")
    if kill -0 "$pid" 2>/dev/null; then
      # Containers first: dockerd would only stop them, and their mounts would stay.
      docker -H "$host" ps -aq 2>/dev/null | xargs -r docker -H "$host" rm -f >/dev/null 2>&1 || true
      kill "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  # Anything dockerd left mounted under its roots must go before the files can.
  grep -o " $dir/[^ ]*" /proc/mounts 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$dir"
  first_bridge_ok || log "warning: docker0 is missing; restart the first dockerd to bring it back"
}

load_images() {
  local missing=()
  for img in "${images[@]}"; do
    local want; want=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || continue
    [ "$(docker -H "$host" image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)" = "$want" ] || missing+=("$img")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "loading ${missing[*]}"
  docker save "${missing[@]}" | docker -H "$host" load >/dev/null
}

start() {
  if answers; then
    load_images
    echo "$host"
    return 0
  fi
  command -v dockerd >/dev/null || { log "dockerd is missing: run scripts/bootstrap.sh"; exit 1; }
  if ! command -v ip >/dev/null; then
    log "installing iproute2"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
  fi
  first_bridge_ok || { log "the first engine's docker0 is missing: refusing to start beside a broken engine"; exit 1; }
  private_dir "$dir"
  mkdir -p "$dir/data" "$dir/exec"
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
    ip addr add "$cidr" dev "$bridge"
  fi
  ip link set "$bridge" up
  log "starting dockerd on $host (bridge $bridge $cidr)"
  setsid nohup dockerd \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" -H "$host" \
    --bridge "$bridge" --iptables=false --ip-masq=false \
    >"$dir/dockerd.log" 2>&1 </dev/null 9>&- &
  for _ in $(seq 1 300); do
    answers && break
    sleep 0.1
  done
  if ! answers; then
    log "dockerd did not answer within 30 s; its log:"
    tail -20 "$dir/dockerd.log" >&2 || true
    exit 1
  fi
  first_bridge_ok || { log "docker0 vanished when the second engine started"; stop; exit 1; }
  load_images
  echo "$host"
}

exec 9>"/run/minipod-d2.lock" # /run is root's alone
flock 9
case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
