#!/usr/bin/env bash
# Builds kube-apiserver, etcd and helm from the Go module proxy into a cache
# outside the repository, keyed by version, so later runs reuse them.
# Prints the bin directory on stdout.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.8}"
HELM_VERSION="${HELM_VERSION:-v3.19.0}"
CACHE_ROOT="${WAO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/whatsapp-operator}"
BIN_DIR="$CACHE_ROOT/control-plane-$K8S_VERSION-etcd-$ETCD_VERSION"
HELM_DIR="$CACHE_ROOT/helm-$HELM_VERSION"

log() { echo "[build-control-plane] $*" >&2; }

command -v go >/dev/null || { log "go toolchain not found: install Go >= 1.24"; exit 1; }

# kube-openapi vendored by Kubernetes <= 1.36 breaks under the JSON v2
# experiment; pin the local toolchain so GOTOOLCHAIN cannot switch it on.
export CGO_ENABLED=0 GOEXPERIMENT=nojsonv2 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false

build_k8s() {
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local staging="v0.${K8S_VERSION#v1.}"
  # Staging modules of k8s.io/kubernetes (v1.36.x); they are replaced with
  # their published tags because the main module points them at v0.0.0.
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
    echo "  k8s.io/kubernetes/cmd/kube-apiserver"
    echo "  go.etcd.io/etcd/server/v3"
    echo ")"
  } >"$work/go.mod"
  (
    cd "$work"
    log "resolving modules for kube-apiserver $K8S_VERSION and etcd $ETCD_VERSION"
    go mod tidy >&2
    local ld=""
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    mkdir -p "$BIN_DIR.tmp"
    log "building kube-apiserver (cold: about 10 minutes on 2 cores)"
    go build -trimpath -ldflags "-s -w$ld" -o "$BIN_DIR.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
    log "building etcd"
    go build -trimpath -ldflags "-s -w" -o "$BIN_DIR.tmp/etcd" go.etcd.io/etcd/server/v3 >&2
  )
  rm -rf "$BIN_DIR"
  mv "$BIN_DIR.tmp" "$BIN_DIR"
}

build_helm() {
  mkdir -p "$HELM_DIR.tmp"
  log "building helm $HELM_VERSION"
  GOBIN="$HELM_DIR.tmp" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  rm -rf "$HELM_DIR"
  mv "$HELM_DIR.tmp" "$HELM_DIR"
}

mkdir -p "$CACHE_ROOT"
if [ -x "$BIN_DIR/kube-apiserver" ] && [ -x "$BIN_DIR/etcd" ]; then
  log "reusing $BIN_DIR"
else
  build_k8s
fi
if [ "${WAO_SKIP_HELM:-}" != "1" ]; then
  if [ -x "$HELM_DIR/helm" ]; then log "reusing $HELM_DIR"; else build_helm; fi
  ln -sf "$HELM_DIR/helm" "$BIN_DIR/helm"
fi
echo "$BIN_DIR"
