#!/usr/bin/env bash
# Builds the operator's container image on a machine with no container daemon and no base image
# to pull: a static musl release binary (also the kubectl plugin, through the link
# /kubectl-whatsapp), the CA bundle of this machine and an empty /tmp in an image FROM scratch,
# assembled with buildah (vfs storage) and written as an OCI archive.
# It is the image the Containerfile builds; keep the two in step.
#
#   hack/build-image.sh [OUTPUT]   default: <target dir>/image/whatsapp-operator-<version>.oci.tar
#
# Prints the archive's path on stdout. As root with apt-get it installs what it lacks (buildah,
# musl-tools, ca-certificates, binutils, python3) and the Rust musl target.
# Load the result with `podman load -i OUTPUT`, or push it with
# `skopeo copy oci-archive:OUTPUT docker://REGISTRY/whatsapp-operator:VERSION`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUST_TARGET=x86_64-unknown-linux-musl
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
SOURCE_URL="${WAO_IMAGE_SOURCE:-https://github.com/whatsapp-operator/whatsapp-operator}"

log() { echo "[build-image] $*" >&2; }
die() { log "$*"; exit 1; }

install_prerequisites() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  # aws-lc-sys (the crypto of rustls) compiles C; for musl the cc crate calls musl-gcc. Its
  # default builder needs neither cmake nor clang.
  command -v musl-gcc >/dev/null || missing+=(musl-tools)
  [ -s "$CA_BUNDLE" ] || missing+=(ca-certificates)
  command -v readelf >/dev/null || missing+=(binutils)
  command -v python3 >/dev/null || missing+=(python3)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      log "installing ${missing[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >&2
    else
      die "missing ${missing[*]} and cannot install them (needs root and apt-get)"
    fi
  fi
  if ! rustup target list --installed 2>/dev/null | grep -qx "$RUST_TARGET"; then
    command -v rustup >/dev/null || die "rustup not found: cannot add the $RUST_TARGET target"
    log "adding the Rust target $RUST_TARGET"
    rustup target add "$RUST_TARGET" </dev/null >&2
  fi
}

install_prerequisites

METADATA="$(cargo metadata --format-version 1 --no-deps --locked)"
read -r VERSION TARGET_DIR < <(python3 -c '
import json, sys
m = json.load(sys.stdin)
pkg = next(p for p in m["packages"] if p["name"] == "whatsapp-operator")
print(pkg["version"], m["target_directory"])' <<<"$METADATA")
REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ "$REVISION" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  REVISION="$REVISION-dirty"
fi
# Commit time as the image's creation time: the same commit gives the same image.
CREATED="$(git log -1 --format=%ct 2>/dev/null || date +%s)"

OUT="${1:-${WAO_IMAGE_OUT:-$TARGET_DIR/image/whatsapp-operator-$VERSION.oci.tar}}"
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

log "building whatsapp-operator $VERSION ($REVISION) for $RUST_TARGET"
build_start=$SECONDS
cargo build --release --locked --target "$RUST_TARGET" --bin whatsapp-operator
BIN="$TARGET_DIR/$RUST_TARGET/release/whatsapp-operator"
log "release build took $((SECONDS - build_start))s"

# Static: no program interpreter and no shared libraries.
if readelf -lW "$BIN" | grep -q 'Requesting program interpreter' || readelf -dW "$BIN" | grep -q '(NEEDED)'; then
  die "$BIN is not statically linked"
fi
[ -s "$CA_BUNDLE" ] || die "$CA_BUNDLE is missing or empty (install ca-certificates)"

# A storage of its own under the target directory: nothing outside it is touched, and a run
# starts from nothing whatever an earlier one left.
STORAGE="$TARGET_DIR/image/buildah"
rm -rf "$STORAGE"
mkdir -p "$STORAGE"
bah() { buildah --root "$STORAGE/root" --runroot "$STORAGE/run" --storage-driver vfs "$@"; }

CTR=""
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/wao-image.XXXXXX")"
cleanup() {
  if [ -n "$CTR" ]; then bah rm "$CTR" >/dev/null 2>&1 || true; fi
  rm -rf "$STAGE" "$STORAGE"
}
trap cleanup EXIT

# The root file system, staged: the Containerfile copies the same tree in one COPY.
ROOTFS="$STAGE/rootfs"
umask 022
install -d -m 0755 "$ROOTFS"
install -D -m 0755 "$BIN" "$ROOTFS/whatsapp-operator"
# The kubectl plugin is the same binary under another name (src/main.rs dispatches on it): a
# second static binary (about 15 MB) would take the image over its 25 MiB budget.
ln -s whatsapp-operator "$ROOTFS/kubectl-whatsapp"
install -D -m 0644 "$CA_BUNDLE" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
install -d -m 1777 "$ROOTFS/tmp"
CTR="$(bah from --name "whatsapp-operator-build-$$" scratch)"
bah copy --quiet --chown 0:0 "$CTR" "$ROOTFS" / >/dev/null
bah config \
  --os linux --arch amd64 \
  --user 65532:65532 \
  --workingdir / \
  --created-by "hack/build-image.sh: COPY rootfs /" \
  --entrypoint '["/whatsapp-operator"]' \
  --cmd run \
  --label org.opencontainers.image.title=whatsapp-operator \
  --label "org.opencontainers.image.description=Kubernetes operator for WhatsApp Business phone numbers on Meta's Cloud API" \
  --label "org.opencontainers.image.version=$VERSION" \
  --label "org.opencontainers.image.revision=$REVISION" \
  --label "org.opencontainers.image.source=$SOURCE_URL" \
  --label org.opencontainers.image.licenses=Apache-2.0 \
  "$CTR"
IMAGE="localhost/whatsapp-operator:$VERSION"
bah commit --quiet --format oci --timestamp "$CREATED" "$CTR" "$IMAGE" >/dev/null
rm -f "$OUT"
bah push --quiet "$IMAGE" "oci-archive:$OUT:whatsapp-operator:$VERSION" >&2

human() { awk -v b="$1" 'BEGIN { printf "%d bytes (%.1f MiB)", b, b / 1048576 }'; }
log "binary:                   $(human "$(stat -c %s "$BIN")")"
log "image, uncompressed:      $(human "$(python3 hack/oci-image.py size "$OUT")")"
log "archive:                  $(human "$(stat -c %s "$OUT")")"
log "wrote $OUT"
echo "$OUT"
