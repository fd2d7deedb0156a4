#!/usr/bin/env bash
# A throwaway etcd for minipod's tests: Debian's etcd-server on 127.0.0.1, its data in
# a temp dir, started in the background unless one already answers on the port.
# Prints the client endpoint. Tests isolate themselves with a key prefix of their own.
#
#   scripts/start-etcd.sh          start (idempotent) and print http://127.0.0.1:PORT
#   scripts/start-etcd.sh stop     stop the one this script started, remove its data
#
# MINIPOD_TEST_ETCD_PORT picks the client port (default 23790, not etcd's 2379, so that
# the tests never touch a real cluster's etcd); the peer port is the next one.
set -euo pipefail
port=${MINIPOD_TEST_ETCD_PORT:-23790}
peer=$((port + 1))
endpoint="http://127.0.0.1:$port"
dir="${TMPDIR:-/tmp}/minipod-test-etcd-$port"
log() { printf '[etcd] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

healthy() { curl -fsS --max-time 2 "$endpoint/health" 2>/dev/null | grep -q '"health":"true"'; }

stop() {
  if [ -f "$dir/etcd.pid" ]; then
    local pid; pid=$(cat "$dir/etcd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$dir"
}

start() {
  healthy && { echo "$endpoint"; return 0; }
  if ! command -v etcd >/dev/null 2>&1; then
    log "installing etcd-server"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq etcd-server >/dev/null
  fi
  # A stale dir (a previous run killed with the machine) would hold another member's WAL.
  rm -rf "$dir"
  mkdir -p "$dir"
  log "starting etcd on $endpoint (data in $dir)"
  setsid nohup etcd --name minipod-test --data-dir "$dir/data" \
    --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "minipod-test=http://127.0.0.1:$peer" --initial-cluster-state new \
    --log-level warn --logger zap >"$dir/etcd.log" 2>&1 </dev/null 9>&- &
  echo $! >"$dir/etcd.pid"
  for _ in $(seq 1 100); do
    healthy && { echo "$endpoint"; return 0; }
    kill -0 "$(cat "$dir/etcd.pid")" 2>/dev/null || break
    sleep 0.1
  done
  log "etcd did not become healthy; its log:"
  tail -20 "$dir/etcd.log" >&2 || true
  exit 1
}

# Test files run in parallel and may all ask at once: one starts it, the others wait.
mkdir -p "${TMPDIR:-/tmp}"
exec 9>"${TMPDIR:-/tmp}/minipod-test-etcd-$port.lock"
flock 9
case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
