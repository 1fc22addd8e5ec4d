#!/usr/bin/env bash
# Proves that the image hack/build-image.sh wrote starts and works, with no container engine:
# its root file system is unpacked and mounted read-only (the chart's readOnlyRootFilesystem),
# with a tmpfs on /tmp for the kubeconfig and CA files the check hands in, and the binary runs in
# it through chroot as 65532:65532 with an empty environment.
#
#   hack/check-image.sh [ARCHIVE]   default: <target dir>/image/whatsapp-operator-<version>.oci.tar
#
# 1. The configuration: user 65532:65532, entrypoint, OCI labels; under 25 MiB uncompressed; a
#    static binary, a non-empty CA bundle at /etc/ssl/certs/ca-certificates.crt, /tmp 1777.
# 2. `/whatsapp-operator --version` prints the version of Cargo.toml, and so does the kubectl
#    plugin, `/kubectl-whatsapp --version` (a link to the same binary).
# 3. `run` against a local control plane and meta-sim behind a TLS front whose certificate comes
#    from a throwaway CA, trusted through SSL_CERT_FILE: the operator takes its Lease, and the
#    example account and channels become Ready (every Graph call over verified TLS); the image's
#    kubectl plugin reports a channel Ready and passes `check` against that control plane.
# 4. `run` with only the image's own CA bundle: the operator starts (the bundle loads), and the
#    front sees its TLS handshakes fail with "unknown ca": the certificate is verified and refused.
# 5. `run` with an empty bundle: the operator refuses to start.
# Needs root (mount, chroot), openssl, curl, setsid, python3. Everything listens on 127.0.0.1.
# WAO_IMAGE_CHECK_KEEP=1 keeps the work directory (logs, unpacked image) for a look afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "[check-image] $*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (mount and chroot)"
for tool in openssl curl setsid python3 readelf mount chroot; do
  command -v "$tool" >/dev/null || die "$tool not found on PATH"
done
CHROOT="$(command -v chroot)" # by path: it runs with an empty environment

METADATA="$(cargo metadata --format-version 1 --no-deps --locked)"
read -r VERSION TARGET_DIR < <(python3 -c '
import json, sys
m = json.load(sys.stdin)
pkg = next(p for p in m["packages"] if p["name"] == "whatsapp-operator")
print(pkg["version"], m["target_directory"])' <<<"$METADATA")
ARCHIVE="${1:-${WAO_IMAGE_OUT:-$TARGET_DIR/image/whatsapp-operator-$VERSION.oci.tar}}"
[ -f "$ARCHIVE" ] || die "$ARCHIVE not found: run hack/build-image.sh first"

if [ -z "${WAO_CONTROL_PLANE_BIN:-}" ]; then
  WAO_CONTROL_PLANE_BIN="$(bash hack/build-control-plane.sh)" || die "building the control plane failed"
fi
export WAO_CONTROL_PLANE_BIN
KUBECTL="$WAO_CONTROL_PLANE_BIN/kubectl"
[ -x "$KUBECTL" ] || KUBECTL="$(command -v kubectl)" || die "kubectl not found"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/wao-image-check.XXXXXX")"
ROOTFS="$WORK/rootfs" # the unpacked image
ROOT="$WORK/root"     # its read-only view, with a tmpfs on /tmp
mounted=()
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  hack/control-plane.sh stop "$WORK/cp" >/dev/null 2>&1 || true
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" || true; done
  if [ "$rc" -ne 0 ]; then
    for f in "$WORK"/*.log; do
      [ -f "$f" ] || continue
      echo "----- last lines of $(basename "$f") -----" >&2
      tail -n 30 "$f" >&2
    done
  fi
  # Never delete through a mount that is still there.
  if [ "${WAO_IMAGE_CHECK_KEEP:-}" = 1 ]; then
    log "kept $WORK (logs, unpacked root file system)"
  elif ! grep -qF " $WORK/" /proc/self/mounts; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die "no free port on 127.0.0.1"
}

# wait_for SECONDS COMMAND...: polls every 0.2 s.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# image_cmd [ENV=VALUE...] -- ARGS...: sets CMD to run the image's binary in its root as
# 65532:65532 with nothing of this shell's environment (no proxies, no SSL_CERT_FILE of the host).
# env and chroot exec: CMD run in the background keeps one PID, the operator's. PROGRAM picks
# another path of the image (the plugin's link).
image_cmd() {
  local env=() program="${PROGRAM:-/whatsapp-operator}"
  while [ "$1" != "--" ]; do
    env+=("$1")
    shift
  done
  shift
  CMD=(env -i "${env[@]}" "$CHROOT" --userspec=65532:65532 --groups=65532 "$ROOT" "$program" "$@")
}

### 1. Configuration and file system
log "checking $ARCHIVE"
python3 hack/oci-image.py config "$ARCHIVE" >"$WORK/config.json"
python3 - "$WORK/config.json" "$VERSION" <<'PY' || die "image configuration"
import json, sys
cfg = json.load(open(sys.argv[1]))["config"]
version = sys.argv[2]
labels = cfg.get("Labels") or {}
problems = []
def want(what, got, expected):
    if got != expected:
        problems.append(f"{what} is {got!r}, expected {expected!r}")
want("User", cfg.get("User"), "65532:65532")
want("Entrypoint", cfg.get("Entrypoint"), ["/whatsapp-operator"])
want("Cmd", cfg.get("Cmd"), ["run"])
want("title label", labels.get("org.opencontainers.image.title"), "whatsapp-operator")
want("version label", labels.get("org.opencontainers.image.version"), version)
want("licenses label", labels.get("org.opencontainers.image.licenses"), "Apache-2.0")
for key in ("revision", "source"):
    if not labels.get(f"org.opencontainers.image.{key}"):
        problems.append(f"label org.opencontainers.image.{key} is empty")
for p in problems:
    print(f"[check-image] {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
log "config: user 65532:65532, entrypoint /whatsapp-operator run, revision $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["Labels"]["org.opencontainers.image.revision"])' "$WORK/config.json")"

# The Containerfile (not run here: its builder stage needs a base image from a registry) must
# describe the same final image.
python3 - Containerfile "$VERSION" <<'PY' || die "the Containerfile's final stage differs from hack/build-image.sh's image"
import re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
final = re.split(r"(?m)^FROM ", text)[-1]
want = [
    r"^scratch\b",
    rf"(?m)^ARG VERSION={re.escape(sys.argv[2])}$",
    r"(?m)^COPY --from=builder /rootfs/ /$",
    r"(?m)^USER 65532:65532$",
    r'(?m)^ENTRYPOINT \["/whatsapp-operator"\]$',
    r'(?m)^CMD \["run"\]$',
] + [rf"org\.opencontainers\.image\.{k}=" for k in ("title", "version", "revision", "source", "licenses")]
missing = [w for w in want if not re.search(w, final)]
for w in ("install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt",
          "ln -s whatsapp-operator /rootfs/kubectl-whatsapp",
          "install -d -m 1777 /rootfs/tmp", "--target x86_64-unknown-linux-musl"):
    if w not in text:
        missing.append(w)
for m in missing:
    print(f"[check-image] Containerfile: no match for {m}", file=sys.stderr)
sys.exit(1 if missing else 0)
PY
log "Containerfile: its final stage declares the same image (version $VERSION)"

SIZE="$(python3 hack/oci-image.py size "$ARCHIVE")"
LIMIT=$((25 * 1024 * 1024))
log "image: $SIZE bytes uncompressed ($(awk -v b="$SIZE" 'BEGIN { printf "%.1f", b / 1048576 }') MiB, budget 25 MiB)"
[ "$SIZE" -lt "$LIMIT" ] || die "image is $SIZE bytes uncompressed, over the 25 MiB budget"

python3 hack/oci-image.py unpack "$ARCHIVE" "$ROOTFS"
log "files: $(cd "$ROOTFS" && find . -mindepth 1 -printf '%p(%m %U:%G) ' | sort)"
BIN="$ROOTFS/whatsapp-operator"
{ [ -f "$BIN" ] && [ "$(stat -c %a "$BIN")" = 755 ]; } || die "/whatsapp-operator missing or not mode 0755"
if readelf -lW "$BIN" | grep -q 'Requesting program interpreter' || readelf -dW "$BIN" | grep -q '(NEEDED)'; then
  die "/whatsapp-operator is not statically linked"
fi
log "binary: $(stat -c %s "$BIN") bytes, static"
PLUGIN="$ROOTFS/kubectl-whatsapp"
{ [ -L "$PLUGIN" ] && [ "$(readlink "$PLUGIN")" = whatsapp-operator ]; } ||
  die "/kubectl-whatsapp is not a link to whatsapp-operator"
log "plugin: /kubectl-whatsapp -> whatsapp-operator"
BUNDLE="$ROOTFS/etc/ssl/certs/ca-certificates.crt"
[ -s "$BUNDLE" ] || die "/etc/ssl/certs/ca-certificates.crt missing or empty"
[ "$(stat -c %a "$BUNDLE")" = 644 ] || die "/etc/ssl/certs/ca-certificates.crt is not mode 0644"
ROOTS="$(grep -c -- '-----BEGIN CERTIFICATE-----' "$BUNDLE" || true)"
[ "$ROOTS" -ge 50 ] || die "/etc/ssl/certs/ca-certificates.crt holds $ROOTS certificates; a CA bundle has over a hundred"
# Every certificate in it parses.
PARSED="$(openssl storeutl -noout -certs "$BUNDLE" 2>/dev/null | grep -c '^[0-9]*: Certificate' || true)"
[ "$PARSED" = "$ROOTS" ] || die "only $PARSED of the $ROOTS certificates in the bundle parse"
log "CA bundle: $ROOTS certificates, $(stat -c %s "$BUNDLE") bytes"
{ [ -d "$ROOTFS/tmp" ] && [ "$(stat -c %a "$ROOTFS/tmp")" = 1777 ]; } || die "/tmp missing or not mode 1777"

# Read-only root (readOnlyRootFilesystem in the chart) with a writable /tmp.
mkdir -p "$ROOT"
mount --bind "$ROOTFS" "$ROOT"
mounted+=("$ROOT")
mount -o remount,bind,ro "$ROOT"
mount -t tmpfs -o size=16m,mode=1777 image-check-tmp "$ROOT/tmp"
mounted+=("$ROOT/tmp")
if touch "$ROOT/probe" 2>/dev/null; then die "the read-only view of the root file system is writable"; fi

### 2. --version
image_cmd -- --version
GOT="$("${CMD[@]}")" || die "/whatsapp-operator --version failed"
[ "$GOT" = "whatsapp-operator $VERSION" ] || die "--version printed '$GOT', expected 'whatsapp-operator $VERSION'"
log "--version (uid 65532, read-only root): $GOT"
PROGRAM=/kubectl-whatsapp image_cmd -- --version
GOT="$("${CMD[@]}")" || die "/kubectl-whatsapp --version failed"
[ "$GOT" = "kubectl-whatsapp $VERSION" ] || die "/kubectl-whatsapp --version printed '$GOT', expected 'kubectl-whatsapp $VERSION'"
log "plugin --version: $GOT"

### The test bed: control plane, meta-sim, a TLS front with a throwaway CA
log "starting a control plane"
KUBECONFIG_HOST="$(hack/control-plane.sh start "$WORK/cp" --owner $$)"
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_HOST" "$@"; }
kc apply --server-side -f crds/ >/dev/null
kc wait --for=condition=Established crd/whatsappchannels.whatsapp-operator.io crd/whatsappmessagetemplates.whatsapp-operator.io \
  crd/whatsappbusinessaccounts.whatsapp-operator.io --timeout=60s >/dev/null
# The kubeconfig (certificates inline) goes where the operator can see it: the image's /tmp.
install -m 0400 -o 65532 -g 65532 "$KUBECONFIG_HOST" "$ROOT/tmp/kubeconfig"

log "building and starting meta-sim"
cargo build --locked --quiet -p meta-sim --bin meta-sim
"$TARGET_DIR/debug/meta-sim" --listen 127.0.0.1:0 --state crates/meta-sim/examples/state.json \
  </dev/null >"$WORK/meta-sim.out" 2>"$WORK/meta-sim.log" &
pids+=($!)
sim_url() { SIM_URL="$(sed -n 's/^meta-sim listening on //p' "$WORK/meta-sim.out" 2>/dev/null)" && [ -n "$SIM_URL" ]; }
wait_for 30 sim_url || die "meta-sim did not start"

PKI="$WORK/pki"
mkdir -p "$PKI"
(
  cd "$PKI"
  umask 077
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout ca.key -out ca.crt \
    -days 1 -subj "/CN=whatsapp-operator image check CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1" >server.ext
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout server.key -out server.csr \
    -subj "/CN=127.0.0.1" 2>/dev/null
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1 \
    -extfile server.ext 2>/dev/null
)
python3 hack/tls-front.py --cert "$PKI/server.crt" --key "$PKI/server.key" --upstream "${SIM_URL#http://}" \
  </dev/null >"$WORK/tls-front.out" 2>"$WORK/tls-front.log" &
pids+=($!)
front_url() { FRONT_URL="$(sed -n 's/^tls-front listening on //p' "$WORK/tls-front.out" 2>/dev/null)" && [ -n "$FRONT_URL" ]; }
wait_for 30 front_url || die "the TLS front did not start"
curl -s -o /dev/null --cacert "$PKI/ca.crt" "$FRONT_URL/" || die "the TLS front does not answer HTTPS"
# The image's own roots plus the throwaway CA, as a user adds a private CA.
cat "$BUNDLE" "$PKI/ca.crt" >"$ROOT/tmp/roots-and-test-ca.pem"
: >"$ROOT/tmp/no-roots.pem"
chmod 0444 "$ROOT/tmp/roots-and-test-ca.pem" "$ROOT/tmp/no-roots.pem"
count() { grep -c "$1" "$WORK/tls-front.log" || true; }

# start_operator LOG [ENV=VALUE...] -- ARGS...: sets OP_PID.
start_operator() {
  local logfile="$WORK/$1"
  shift
  local env=(KUBECONFIG=/tmp/kubeconfig RUST_LOG=info)
  while [ "$1" != "--" ]; do
    env+=("$1")
    shift
  done
  shift
  image_cmd "${env[@]}" -- run --graph-base-url "$FRONT_URL" "$@"
  (exec "${CMD[@]}" </dev/null >"$logfile" 2>&1) &
  OP_PID=$!
  pids+=("$OP_PID")
}
# stop_operator LOG: SIGTERM, then it must exit 0 within 20 s.
stop_operator() {
  kill -TERM "$OP_PID"
  (sleep 20 && kill -KILL "$OP_PID" 2>/dev/null) &
  local killer=$! rc=0
  wait "$OP_PID" || rc=$?
  kill "$killer" 2>/dev/null || true
  wait "$killer" 2>/dev/null || true
  local p kept=()
  for p in "${pids[@]}"; do [ "$p" = "$OP_PID" ] || kept+=("$p"); done
  pids=("${kept[@]}")
  [ "$rc" -ne 137 ] || die "the operator ignored SIGTERM for 20 s (see $1)"
  [ "$rc" -eq 0 ] || die "the operator exited with $rc after SIGTERM (see $1)"
}

### 3. run: Lease, account and channels Ready over verified TLS
NS=messaging
kc create namespace "$NS" >/dev/null
for f in examples/*.yaml; do kc apply --server-side -n "$NS" -f "$f" >/dev/null; done
METRICS_PORT="$(free_port)"
start_operator operator-trusted.log SSL_CERT_FILE=/tmp/roots-and-test-ca.pem POD_NAME=image-check -- \
  --metrics-addr "127.0.0.1:$METRICS_PORT" --namespaces "$NS" \
  --leader-election --lease-namespace default --lease-name whatsapp-operator-image-check
log "operator started in the image (pid $OP_PID, Graph at $FRONT_URL, CA through SSL_CERT_FILE)"
# Real, effective, saved and file-system IDs, once chroot has exec'd the operator.
ids_of() { awk '/^(Uid|Gid):/ { printf "%s %s %s %s %s ", $1, $2, $3, $4, $5 }' "/proc/$OP_PID/status" 2>/dev/null; }
as_65532() { [ "$(ids_of)" = "Uid: 65532 65532 65532 65532 Gid: 65532 65532 65532 65532 " ]; }
wait_for 10 as_65532 || die "the operator does not run as 65532:65532 ($(ids_of))"
[ "$(readlink "/proc/$OP_PID/root")" = "$ROOT" ] || die "the operator does not run inside the image's root"
holder() { [ "$(kc get lease -n default whatsapp-operator-image-check -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)" = image-check ]; }
wait_for 60 holder || die "the operator did not take its Lease"
log "Lease default/whatsapp-operator-image-check held by image-check"
kc wait -n "$NS" --for=condition=Ready waba/acme wac/acme-support wac/acme-brasil wac/acme-shop-app \
  --timeout=120s >/dev/null || {
  kc get -n "$NS" wac,waba -o yaml >&2 || true
  die "the example account and channels did not become Ready"
}
kc get -n "$NS" wac,waba >&2
log "waba/acme and wac/acme-support, acme-brasil, acme-shop-app Ready"
# The image's kubectl plugin, as a person in a debug container would run it.
PROGRAM=/kubectl-whatsapp image_cmd KUBECONFIG=/tmp/kubeconfig -- status wac/acme-support -n "$NS"
"${CMD[@]}" >"$WORK/plugin-status.log" 2>&1 || die "kubectl-whatsapp status exited $? (see plugin-status.log)"
grep -q "Ready=True" "$WORK/plugin-status.log" || die "kubectl-whatsapp status does not show Ready=True"
PROGRAM=/kubectl-whatsapp image_cmd KUBECONFIG=/tmp/kubeconfig -- check --operator-namespace default \
  --operator-name whatsapp-operator-image-check --skip-webhook
"${CMD[@]}" >"$WORK/plugin-check.log" 2>&1 || die "kubectl-whatsapp check exited $? (see plugin-check.log)"
log "plugin: status wac/acme-support Ready=True; check: $(grep -c '^OK' "$WORK/plugin-check.log") OK"
curl -sf -o /dev/null "http://127.0.0.1:$METRICS_PORT/readyz" || die "/readyz is not 200"
OK="$(count 'handshake ok; first request: [A-Z]* /v')"
FAILED="$(count 'handshake failed')"
[ "$OK" -ge 1 ] || die "no Graph request reached the TLS front"
[ "$FAILED" -eq 0 ] || die "TLS handshakes failed with the throwaway CA trusted"
log "TLS: $OK verified connection(s) to the Graph front, e.g. '$(grep -m1 -o 'first request: [A-Z]* /v.*' "$WORK/tls-front.log")'"
stop_operator operator-trusted.log
log "the operator stopped cleanly on SIGTERM"

### 4. run with the image's own CA bundle only: the certificate is refused
NS2=image-check-untrusted
kc create namespace "$NS2" >/dev/null
kc apply --server-side -n "$NS2" -f examples/account.yaml >/dev/null
OK_BEFORE="$(count 'handshake ok')"
start_operator operator-untrusted.log POD_NAME=image-check-untrusted -- \
  --metrics-addr "127.0.0.1:$(free_port)" --namespaces "$NS2"
# Both ends say why: the front gets the client's "unknown ca" alert, the client logs the
# verifier's UnknownIssuer.
refused() {
  [ "$(count 'handshake failed.*unknown ca')" -ge 1 ] &&
    grep -q 'invalid peer certificate: UnknownIssuer' "$WORK/operator-untrusted.log"
}
wait_for 60 refused || die "the TLS handshake with an untrusted certificate did not fail with 'unknown ca' / UnknownIssuer"
# Still running (not a zombie): the verifier found roots in the image's bundle.
{ [ -e "/proc/$OP_PID" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$OP_PID/status"; } ||
  die "the operator exited with the image's own CA bundle (it must load it)"
[ "$(count 'handshake ok')" = "$OK_BEFORE" ] || die "a TLS handshake succeeded without the throwaway CA"
ready2="$(kc get -n "$NS2" waba/acme -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')"
[ "$ready2" != True ] || die "the account became Ready through an untrusted certificate"
log "TLS: with the image's roots only, the front saw '$(grep -m1 -o 'handshake failed: [A-Z0-9_]*' "$WORK/tls-front.log")', the operator logged '$(grep -m1 -o 'failed to verify TLS certificate: .*' "$WORK/operator-untrusted.log")'"
stop_operator operator-untrusted.log

### 5. run with no CA roots at all: refuses to start
rc=0
image_cmd KUBECONFIG=/tmp/kubeconfig SSL_CERT_FILE=/tmp/no-roots.pem -- run --graph-base-url "$FRONT_URL" \
  --metrics-addr "127.0.0.1:$(free_port)" --namespaces "$NS2"
timeout 60 "${CMD[@]}" </dev/null >"$WORK/operator-no-roots.log" 2>&1 || rc=$?
[ "$rc" -ne 124 ] || die "the operator kept running with no CA roots"
[ "$rc" -ne 0 ] || die "the operator started with no CA roots"
grep -q "building the Graph client" "$WORK/operator-no-roots.log" ||
  die "the operator failed without CA roots, but not on the Graph client (see operator-no-roots.log)"
log "with no CA roots the operator refuses to start: $(grep -o 'building the Graph client[^"]*' "$WORK/operator-no-roots.log" | head -n1)"

log "ok: $ARCHIVE starts, runs as 65532 on a read-only root, and verifies TLS with its CA bundle"
