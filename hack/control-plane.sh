#!/usr/bin/env bash
# Starts or stops a throwaway Kubernetes control plane (etcd + kube-apiserver,
# no nodes) on loopback, the way envtest does, for integration tests and local
# experiments.
#
#   hack/control-plane.sh start DIR [--owner PID]   writes DIR/kubeconfig
#   hack/control-plane.sh stop DIR [--purge]
#
# start prints the kubeconfig path on stdout. With --owner, a watchdog stops
# both processes (and deletes DIR) once PID has exited: test binaries exit
# without running destructors, so they cannot stop it themselves.
#
# Binaries come from $WAO_CONTROL_PLANE_BIN, or else from the output of
# hack/build-control-plane.sh (instant when its cache is warm).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"

log() { echo "[control-plane] $*" >&2; }
die() { log "$*"; exit 1; }

usage() { die "usage: $0 start DIR [--owner PID] | stop DIR [--purge]"; }

# Start time of a process in clock ticks since boot: together with the PID it
# names one process, so a recycled PID is never signalled by mistake.
start_time() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  # Field 22 overall; the command name (field 2) may contain spaces, so count
  # from the closing parenthesis.
  stat="${stat##*) }"
  awk '{print $20}' <<<"$stat"
}

alive() { # alive PID STARTTIME
  local now
  now="$(start_time "$1")" || return 1
  [ "$now" = "$2" ]
}

# A free TCP port on 127.0.0.1. Probing leaves a small race with other
# processes; start retries with new ports when a bind fails.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die "no free port found on 127.0.0.1"
}

record_pid() { # record_pid NAME PID
  echo "$2 $(start_time "$2")" >"$DIR/$1.pid"
}

kill_recorded() { # kill_recorded NAME
  local file="$DIR/$1.pid" pid st
  [ -f "$file" ] || return 0
  read -r pid st <"$file" || true
  rm -f "$file"
  [ -n "${pid:-}" ] && [ -n "${st:-}" ] || return 0
  alive "$pid" "$st" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    alive "$pid" "$st" || return 0
    sleep 0.1
  done
  log "$1 (pid $pid) ignored SIGTERM for 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

gen_pki() {
  local pki="$DIR/pki"
  mkdir -p "$pki"
  (
    cd "$pki"
    umask 077
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
      -keyout ca.key -out ca.crt -days 2 -subj "/CN=whatsapp-operator-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    cat >serving.ext <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT
    cat >client.ext <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
EXT
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
      -keyout serving.key -out serving.csr -subj "/CN=kube-apiserver" 2>/dev/null
    openssl x509 -req -in serving.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out serving.crt -days 2 -extfile serving.ext 2>/dev/null
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
      -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=test-admin" 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -out admin.crt -days 2 -extfile client.ext 2>/dev/null
    # Service-account tokens are signed with RS256, the signing algorithm
    # every Kubernetes client expects.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key 2>/dev/null
    openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

write_kubeconfig() { # write_kubeconfig PORT
  local pki="$DIR/pki" b64="base64 -w0"
  umask 077
  cat >"$DIR/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$1
    certificate-authority-data: $($b64 <"$pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $($b64 <"$pki/admin.crt")
    client-key-data: $($b64 <"$pki/admin.key")
contexts:
- name: test
  context:
    cluster: test
    user: admin
current-context: test
YAML
}

tail_logs() {
  for f in "$DIR/etcd.log" "$DIR/kube-apiserver.log"; do
    [ -f "$f" ] || continue
    echo "----- last lines of $f -----" >&2
    tail -n 25 "$f" >&2
  done
}

# One attempt on fresh ports. Returns 2 when a process died early (maybe a
# port taken in the meantime), 1 on any other failure.
launch() {
  local etcd_port peer_port api_port
  etcd_port="$(free_port)"
  peer_port="$(free_port)"
  api_port="$(free_port)"
  [ "$etcd_port" != "$peer_port" ] && [ "$peer_port" != "$api_port" ] && [ "$etcd_port" != "$api_port" ] || return 2

  local shm=/dev/shm data
  [ -d "$shm" ] && [ -w "$shm" ] || shm="$DIR"
  # Runs in `launch || ...`, where set -e is off: check each step by hand.
  data="$(mktemp -d "$shm/whatsapp-operator-etcd.XXXXXX")" || return 1
  echo "$data" >"$DIR/etcd-data-dir" || return 1

  setsid "$BIN/etcd" \
    --name=test \
    --data-dir="$data" \
    --listen-client-urls="http://127.0.0.1:$etcd_port" \
    --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-cluster="test=http://127.0.0.1:$peer_port" \
    --unsafe-no-fsync \
    --log-level=warn \
    </dev/null >"$DIR/etcd.log" 2>&1 &
  record_pid etcd $!

  local pki="$DIR/pki"
  setsid "$BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$api_port" \
    --cert-dir="$pki" \
    --tls-cert-file="$pki/serving.crt" \
    --tls-private-key-file="$pki/serving.key" \
    --client-ca-file="$pki/ca.crt" \
    --authorization-mode=RBAC \
    --service-account-issuer="https://127.0.0.1:$api_port" \
    --service-account-key-file="$pki/sa.pub" \
    --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --allow-privileged=true \
    --disable-admission-plugins=ServiceAccount \
    --endpoint-reconciler-type=none \
    </dev/null >"$DIR/kube-apiserver.log" 2>&1 &
  record_pid kube-apiserver $!

  write_kubeconfig "$api_port" || return 1

  local deadline=$((SECONDS + ${WAO_CONTROL_PLANE_TIMEOUT:-90}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if curl -sf -o /dev/null --max-time 2 --cacert "$pki/ca.crt" \
      --cert "$pki/admin.crt" --key "$pki/admin.key" \
      "https://127.0.0.1:$api_port/readyz"; then
      return 0
    fi
    local name pid st
    for name in etcd kube-apiserver; do
      read -r pid st <"$DIR/$name.pid"
      if ! alive "$pid" "$st"; then
        log "$name exited during start-up"
        return 2
      fi
    done
    sleep 0.1
  done
  log "kube-apiserver not ready after ${WAO_CONTROL_PLANE_TIMEOUT:-90} s"
  return 1
}

stop_processes() {
  kill_recorded kube-apiserver
  kill_recorded etcd
  if [ -f "$DIR/etcd-data-dir" ]; then
    rm -rf "$(cat "$DIR/etcd-data-dir")"
    rm -f "$DIR/etcd-data-dir"
  fi
}

start_watchdog() { # start_watchdog OWNER_PID
  local owner="$1" owner_st
  owner_st="$(start_time "$owner")" || die "owner process $owner does not exist"
  local purge=--purge
  [ "${WAO_KEEP_CONTROL_PLANE:-}" = "1" ] && purge=""
  # Polls once a second: short enough that back-to-back test binaries do not
  # pile up control planes, cheap enough to be invisible.
  # shellcheck disable=SC2016 # expanded by the watchdog's own shell
  setsid bash -c '
    self=$1 dir=$2 owner=$3 owner_st=$4 purge=$5
    while [ "$(sed "s/.*) //" "/proc/$owner/stat" 2>/dev/null | cut -d" " -f20)" = "$owner_st" ]; do
      sleep 1
    done
    WAO_FROM_WATCHDOG=1 exec bash "$self" stop "$dir" $purge
  ' watchdog "$SELF" "$DIR" "$owner" "$owner_st" "$purge" </dev/null >>"$DIR/watchdog.log" 2>&1 &
  record_pid watchdog $!
}

cmd_start() {
  local owner=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --owner) owner="${2:?--owner needs a PID}"; shift 2 ;;
      *) usage ;;
    esac
  done
  for tool in openssl curl setsid; do
    command -v "$tool" >/dev/null || die "$tool not found on PATH (needed to start the control plane)"
  done
  if [ -n "${WAO_CONTROL_PLANE_BIN:-}" ]; then
    BIN="$WAO_CONTROL_PLANE_BIN"
  else
    BIN="$(bash "$HERE/build-control-plane.sh")" || die "hack/build-control-plane.sh failed"
  fi
  for b in etcd kube-apiserver; do
    [ -x "$BIN/$b" ] || die "$BIN/$b missing: run hack/build-control-plane.sh or set WAO_CONTROL_PLANE_BIN"
  done
  mkdir -p "$DIR"
  DIR="$(cd "$DIR" && pwd)"
  if [ -f "$DIR/kube-apiserver.pid" ]; then
    local pid st
    read -r pid st <"$DIR/kube-apiserver.pid" || true
    if [ -n "${pid:-}" ] && alive "$pid" "${st:-}"; then
      die "$DIR already holds a running control plane; stop it first"
    fi
  fi
  echo "$BIN" >"$DIR/bin-dir"
  gen_pki
  # Started before the processes, so an owner that dies during start-up still
  # cleans up.
  if [ -n "$owner" ]; then start_watchdog "$owner"; fi

  local rc
  for attempt in 1 2 3; do
    rc=0
    launch || rc=$?
    if [ "$rc" -eq 0 ]; then
      echo "$DIR/kubeconfig"
      return 0
    fi
    tail_logs
    stop_processes
    [ "$rc" -eq 2 ] || break
    log "retrying on new ports (attempt $attempt failed)"
  done
  [ -z "$owner" ] || kill_recorded watchdog
  die "control plane did not start; logs in $DIR"
}

cmd_stop() {
  local purge=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --purge) purge=1; shift ;;
      *) usage ;;
    esac
  done
  [ -d "$DIR" ] || return 0
  DIR="$(cd "$DIR" && pwd)"
  stop_processes
  # The watchdog runs this very command; it must not signal itself.
  [ "${WAO_FROM_WATCHDOG:-}" = "1" ] || kill_recorded watchdog
  rm -f "$DIR/watchdog.pid"
  if [ -n "$purge" ]; then rm -rf "$DIR"; fi
}

[ $# -ge 2 ] || usage
CMD="$1" DIR="$2"
shift 2
case "$CMD" in
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  *) usage ;;
esac
