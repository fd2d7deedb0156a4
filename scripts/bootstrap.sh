#!/usr/bin/env bash
# Sets up everything minipod and its tests need on a Debian machine, idempotently:
# Docker Engine (installed and started when none answers), the pause image, the test
# images, a local registry, a throwaway etcd for the tests, node modules and the
# compiled CLI. Fast when all of it is already there.
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
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 as_root apt-get install -y -qq "$@" >/dev/null
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

# A real registry on 127.0.0.1:5000 (Docker treats loopback registries as insecure,
# so no TLS is needed) holding the test image, for the image pull policy tests.
REGISTRY_DIR=/var/lib/minipod-registry
start_registry() {
  need_pkg docker-registry docker-registry
  if ! curl -sf http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
    log "starting docker-registry on 127.0.0.1:5000"
    as_root mkdir -p "$REGISTRY_DIR/data"
    as_root sh -c "cat >$REGISTRY_DIR/config.yml" <<CONFIG
version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $REGISTRY_DIR/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:5000}
CONFIG
    as_root sh -c "nohup docker-registry serve $REGISTRY_DIR/config.yml >/var/log/minipod-registry.log 2>&1 &"
    for _ in $(seq 1 60); do curl -sf http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && break; sleep 0.25; done
  fi
  if ! curl -sf http://127.0.0.1:5000/v2/minipod/testbox/manifests/1 -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'; then
    log "pushing the test image to the local registry"
    docker tag minipod/testbox:1 127.0.0.1:5000/minipod/testbox:1
    docker push -q 127.0.0.1:5000/minipod/testbox:1 >/dev/null
    docker rmi 127.0.0.1:5000/minipod/testbox:1 >/dev/null
  fi
}

start_docker
need_pkg cc gcc libc6-dev
need_pkg busybox busybox-static
need_pkg curl curl
need_pkg tmux tmux # the terminal-rendering tests drive the CLI in a real terminal
scripts/build-images.sh
start_registry
# etcd for the etcd store's tests: Debian's etcd-server on https://127.0.0.1:23790, client
# certificates required (made with openssl), its state in /var/lib/minipod-test-etcd-23790.
need_pkg etcd etcd-server
need_pkg openssl openssl
scripts/start-etcd.sh >/dev/null

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing node modules"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
log "ready: docker $(docker version --format '{{.Server.Version}}'), images built, CLI compiled"
