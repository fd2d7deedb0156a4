#!/usr/bin/env bash
# A throwaway etcd for minipod's tests: Debian's etcd-server on 127.0.0.1, started in
# the background unless it already answers on the port. It speaks TLS only and wants a
# client certificate (--client-cert-auth): etcd holds every object of the cluster and has
# no authentication of its own, so without this anyone on the machine could write a pod
# into it. Tests isolate themselves with a key prefix of their own.
#
#   scripts/start-etcd.sh          start (idempotent) and print https://127.0.0.1:PORT
#   scripts/start-etcd.sh env      start (idempotent) and print, as shell exports, the endpoint and the
#                                  CA, client certificate and client key that minipod reads:
#                                    eval "$(scripts/start-etcd.sh env)"
#                                    minipod daemon --store etcds://127.0.0.1:23790
#   scripts/start-etcd.sh stop     stop the one this script started, remove its data and certificates
#
# MINIPOD_TEST_ETCD_PORT picks the client port (default 23790, not etcd's 2379, so that
# the tests never touch a real cluster's etcd); the peer port (plain HTTP on loopback,
# one member only) is the next one. MINIPOD_TEST_ETCD_DIR (default /var/lib/minipod-test-etcd-PORT
# for root, else ~/.local/state/minipod-test-etcd-PORT; never a predictable path in a
# world-writable /tmp, where another user could plant a link) holds the data, the log and,
# in pki/, the certificates: ca.crt, server.{crt,key}, client.{crt,key} (keys 0600).
set -euo pipefail
port=${MINIPOD_TEST_ETCD_PORT:-23790}
peer=$((port + 1))
endpoint="https://127.0.0.1:$port"
if [ "$(id -u)" = 0 ]; then default_dir="/var/lib/minipod-test-etcd-$port"
else default_dir="${XDG_STATE_HOME:-$HOME/.local/state}/minipod-test-etcd-$port"; fi
dir=${MINIPOD_TEST_ETCD_DIR:-$default_dir}
pki="$dir/pki"
# Where the script kept its state before it used TLS: removed when found, if it is ours.
legacy="${TMPDIR:-/tmp}/minipod-test-etcd-$port"
log() { printf '[etcd] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_pkg() { # need_pkg COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$2" >/dev/null
}

# The state folder: made 0700, refused when it is a symlink or someone else's.
private_dir() {
  if [ -L "$1" ]; then log "$1 is a symlink: refusing to use it"; exit 1; fi
  mkdir -p "$(dirname "$1")"
  mkdir -p -m 0700 "$1"
  if [ -L "$1" ] || [ ! -d "$1" ]; then log "$1 is not a directory: refusing to use it"; exit 1; fi
  if [ "$(stat -c %u "$1")" != "$(id -u)" ]; then log "$1 is not owned by $(id -un): refusing to use it"; exit 1; fi
  chmod 0700 "$1"
}

# curl with the client certificate: the only way in once etcd wants one.
curl_tls() { curl -fsS --max-time 2 --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" "$@"; }
healthy() { curl_tls "$endpoint/health" 2>/dev/null | grep -q '"health":"true"'; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

# A CA, a server certificate for 127.0.0.1/localhost and a client certificate, unless
# valid ones are there (for another day at least). New ones mean etcd must restart.
# The server certificate is a client one too: etcd's HTTP gateway dials its own gRPC with it.
ensure_pki() {
  local f ok=1
  for f in ca.crt ca.key server.crt server.key client.crt client.key; do [ -s "$pki/$f" ] || ok=""; done
  if [ -n "$ok" ]; then
    for f in ca server client; do openssl x509 -checkend 86400 -noout -in "$pki/$f.crt" >/dev/null 2>&1 || ok=""; done
  fi
  [ -n "$ok" ] && return 0
  need_pkg openssl openssl
  log "making a CA, a server and a client certificate in $pki"
  rm -rf "$pki"
  (
    umask 077 # keys are born 0600
    mkdir -m 0700 "$pki" && cd "$pki"
    cat >openssl.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = minipod-test-etcd
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
CNF
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
    key ca
    openssl req -config openssl.cnf -new -x509 -key ca.key -subj /CN=minipod-test-etcd-ca -days 3650 -sha256 -extensions ca -out ca.crt
    for leaf in server client; do
      key "$leaf"
      openssl req -config openssl.cnf -new -key "$leaf.key" -subj "/CN=minipod-test-etcd-$leaf" -out "$leaf.csr"
      openssl x509 -req -in "$leaf.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 \
        -extfile openssl.cnf -extensions "$leaf" -out "$leaf.crt" 2>/dev/null
      rm -f "$leaf.csr"
    done
    chmod 0600 ./*.key
    chmod 0644 ./*.crt openssl.cnf
  )
}

# Stops etcd processes of this user that serve this port: the one this script started,
# a plain-HTTP one from before TLS, or one whose certificates are gone. Nothing else.
stop_ours() {
  local p pid args cmd
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    # Builtins only: a fork per process is slow on a busy machine.
    [ -O "$p" ] && mapfile -d '' args 2>/dev/null <"$p/cmdline" || continue
    cmd=" ${args[*]} "
    [[ "${args[0]:-}" =~ (^|/)etcd$ ]] || continue
    [[ "$cmd" == *" --listen-client-urls http://127.0.0.1:$port "* || "$cmd" == *" --listen-client-urls https://127.0.0.1:$port "* ]] || continue
    log "stopping etcd (pid $pid) on port $port"
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  rm -f "$dir/etcd.pid"
}

remove_legacy() {
  if [ -d "$legacy" ] && [ ! -L "$legacy" ] && [ "$(stat -c %u "$legacy")" = "$(id -u)" ]; then rm -rf "$legacy"; fi
  if [ -f "$legacy.lock" ] && [ ! -L "$legacy.lock" ] && [ "$(stat -c %u "$legacy.lock")" = "$(id -u)" ]; then rm -f "$legacy.lock"; fi
}

stop() {
  stop_ours
  remove_legacy
  # The folder and its lock stay: another run may be waiting on the lock.
  rm -rf "$dir/data" "$pki" "$dir/etcd.log"
}

start() {
  need_pkg etcd etcd-server
  ensure_pki
  healthy && return 0
  # Something answers, but not with our certificates: an etcd of ours from before (plain
  # HTTP, or older certificates) is replaced; anything else is not ours to stop.
  stop_ours
  remove_legacy
  if port_taken; then log "127.0.0.1:$port is taken by something that is not an etcd this script started"; exit 1; fi
  # Stale data (a previous run killed with the machine) would hold another member's WAL.
  rm -rf "$dir/data"
  log "starting etcd on $endpoint (data in $dir, client certificates required)"
  (
    umask 077
    setsid nohup etcd --name minipod-test --data-dir "$dir/data" \
      --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
      --client-cert-auth --trusted-ca-file "$pki/ca.crt" --cert-file "$pki/server.crt" --key-file "$pki/server.key" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "minipod-test=http://127.0.0.1:$peer" --initial-cluster-state new \
      --log-level warn --logger zap >"$dir/etcd.log" 2>&1 </dev/null 9>&- &
    echo $! >"$dir/etcd.pid"
  )
  for _ in $(seq 1 100); do
    healthy && return 0
    kill -0 "$(cat "$dir/etcd.pid")" 2>/dev/null || break
    sleep 0.1
  done
  log "etcd did not become healthy; its log:"
  tail -20 "$dir/etcd.log" >&2 || true
  exit 1
}

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
print_env() {
  echo "export MINIPOD_TEST_ETCD_ENDPOINT=$(q "$endpoint")"
  echo "export MINIPOD_ETCD_CAFILE=$(q "$pki/ca.crt")"
  echo "export MINIPOD_ETCD_CERTFILE=$(q "$pki/client.crt")"
  echo "export MINIPOD_ETCD_KEYFILE=$(q "$pki/client.key")"
}

case "${1:-start}" in
  start | env | stop) ;;
  *) echo "usage: $0 [start|env|stop]" >&2; exit 2 ;;
esac
private_dir "$dir"
# Test files run in parallel and may all ask at once: one starts it, the others wait.
exec 9>>"$dir/lock"
flock 9
case "${1:-start}" in
  start) start && echo "$endpoint" ;;
  env) start && print_env ;;
  stop) stop ;;
esac
