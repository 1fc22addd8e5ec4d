#!/usr/bin/env bash
# Builds kube-apiserver, etcd, kubectl and helm from the Go module proxy into a
# cache outside the repository, keyed by version, so later runs reuse them.
# Prints the bin directory on stdout; everything else goes to stderr.
#
# Env: K8S_VERSION, ETCD_VERSION, HELM_VERSION pin versions; WAO_CACHE_DIR
# moves the cache; WAO_SKIP_HELM=1 skips helm.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.8}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE_ROOT="${WAO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/whatsapp-operator}"
BIN_DIR="$CACHE_ROOT/control-plane-$K8S_VERSION-etcd-$ETCD_VERSION"
HELM_DIR="$CACHE_ROOT/helm-$HELM_VERSION"
K8S_TOOLS=(kube-apiserver etcd kubectl)

log() { echo "[build-control-plane] $*" >&2; }

# kube-openapi vendored by Kubernetes <= 1.36 breaks under the JSON v2
# experiment; pin the local toolchain so GOTOOLCHAIN cannot switch it on.
export CGO_ENABLED=0 GOEXPERIMENT=nojsonv2 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

require_go() {
  command -v go >/dev/null || { log "go toolchain not found: install Go >= 1.24 (needed once to build the control plane)"; exit 1; }
}

# Go package that provides each binary.
pkg_of() {
  case "$1" in
    kube-apiserver) echo k8s.io/kubernetes/cmd/kube-apiserver ;;
    kubectl) echo k8s.io/kubernetes/cmd/kubectl ;;
    etcd) echo go.etcd.io/etcd/server/v3 ;;
  esac
}

# Builds the named binaries from one consumer module and adds them to BIN_DIR
# (staged in a sibling directory and swapped in, so readers never see half a
# binary).
build_k8s() {
  require_go
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local staging="v0.${K8S_VERSION#v1.}"
  # Staging modules of k8s.io/kubernetes (v1.36.x); they are replaced with
  # their published tags because the main module points them at v0.0.0.
  # Another Kubernetes version needs the list from its own go.mod.
  local mods=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
    cloud-provider cluster-bootstrap code-generator component-base component-helpers
    controller-manager cri-api cri-client cri-streaming csi-translation-lib
    dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
    kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
    pod-security-admission sample-apiserver sample-cli-plugin sample-controller streaming)
  {
    echo "module whatsapp-operator.io/control-plane"
    echo
    echo "go 1.24"
    echo
    echo "require ("
    echo "  k8s.io/kubernetes $K8S_VERSION"
    echo "  go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    echo ")"
    echo
    echo "replace ("
    for m in "${mods[@]}"; do echo "  k8s.io/$m => k8s.io/$m $staging"; done
    echo ")"
    echo
    echo "tool ("
    for t in "${K8S_TOOLS[@]}"; do echo "  $(pkg_of "$t")"; done
    echo ")"
  } >"$work/go.mod"
  local stage="$BIN_DIR.tmp"
  rm -rf "$stage"
  mkdir -p "$stage"
  if [ -d "$BIN_DIR" ]; then cp -a "$BIN_DIR/." "$stage/"; fi
  (
    cd "$work"
    log "resolving modules for Kubernetes $K8S_VERSION and etcd $ETCD_VERSION"
    go mod tidy >&2
    local ld=""
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    for t in "$@"; do
      log "building $t (kube-apiserver cold: about 10 minutes on 2 cores)"
      go build -trimpath -ldflags "-s -w$ld" -o "$stage/$t" "$(pkg_of "$t")" >&2
    done
  )
  rm -rf "$BIN_DIR"
  mv "$stage" "$BIN_DIR"
}

build_helm() {
  require_go
  rm -rf "$HELM_DIR.tmp"
  mkdir -p "$HELM_DIR.tmp"
  log "building helm $HELM_VERSION"
  # helm's own go.mod has no replace directives, so go install works and
  # keeps helm's Kubernetes libraries independent of the module above.
  # Without the version in ldflags, helm reports only its major.minor.
  GOBIN="$HELM_DIR.tmp" go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  rm -rf "$HELM_DIR"
  mv "$HELM_DIR.tmp" "$HELM_DIR"
}

mkdir -p "$CACHE_ROOT"
# Concurrent test runs on one machine must not build into the same staging
# directory; the second one waits and then reuses the first one's result.
exec 9>"$CACHE_ROOT/.build.lock"
flock 9

missing=()
for t in "${K8S_TOOLS[@]}"; do [ -x "$BIN_DIR/$t" ] || missing+=("$t"); done
if [ "${#missing[@]}" -gt 0 ]; then
  build_k8s "${missing[@]}"
else
  log "reusing $BIN_DIR"
fi
if [ "${WAO_SKIP_HELM:-}" != "1" ]; then
  if [ -x "$HELM_DIR/helm" ]; then log "reusing $HELM_DIR"; else build_helm; fi
  ln -sfn "$HELM_DIR/helm" "$BIN_DIR/helm"
fi
echo "$BIN_DIR"
