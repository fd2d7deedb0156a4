#!/usr/bin/env bash
# Sets up everything minipod and its tests need on a Debian machine, idempotently:
# Docker Engine (installed and started when none answers), the pause image, the test
# images, node modules and the compiled CLI. Fast when all of it is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[bootstrap] %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
need_pkg() { # need_pkg COMMAND PACKAGE...
  command -v "$1" >/dev/null 2>&1 && return 0
  shift
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

start_docker() {
  docker info >/dev/null 2>&1 && return 0
  need_pkg dockerd docker.io
  log "starting dockerd"
  as_root sh -c 'nohup dockerd >/var/log/minipod-dockerd.log 2>&1 &'
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  log "dockerd did not answer within 60 s; see /var/log/minipod-dockerd.log"
  tail -20 /var/log/minipod-dockerd.log >&2 || true
  exit 1
}

start_docker
need_pkg cc gcc libc6-dev
need_pkg busybox busybox-static
scripts/build-images.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing node modules"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
log "ready: docker $(docker version --format '{{.Server.Version}}'), images built, CLI compiled"
