#!/usr/bin/env bash
# Runs the whole test suite, integration tests included, against a real
# kube-apiserver + etcd built (once, then cached) by hack/build-control-plane.sh.
# Extra arguments go to cargo test, e.g. `hack/test.sh --test integration -- sync::`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() { echo "[test] $*" >&2; exit 1; }

for tool in cargo openssl curl setsid; do
  command -v "$tool" >/dev/null || fail "$tool not found on PATH (see docs/testing.md)"
done

if [ -z "${WAO_CONTROL_PLANE_BIN:-}" ]; then
  WAO_CONTROL_PLANE_BIN="$(bash hack/build-control-plane.sh)" || fail "building the control plane failed"
fi
for b in kube-apiserver etcd; do
  [ -x "$WAO_CONTROL_PLANE_BIN/$b" ] || fail "$WAO_CONTROL_PLANE_BIN/$b missing"
done
[ -x "$WAO_CONTROL_PLANE_BIN/kubectl" ] || command -v kubectl >/dev/null ||
  fail "kubectl neither in $WAO_CONTROL_PLANE_BIN nor on PATH"
export WAO_CONTROL_PLANE_BIN

# With no target selection of its own, run the library, binaries and every
# test file (benchmarks are run with `cargo bench`, not as tests; clippy still
# builds them). An explicit selection such as `--test NAME` replaces this.
targets=(--workspace --lib --bins --tests)
for arg in "$@"; do
  [ "$arg" = "--" ] && break
  case "$arg" in
    --lib | --bins | --bin | --bin=* | --tests | --test | --test=* | --benches | --bench | --bench=* | \
      --examples | --example | --example=* | --doc) targets=() ;;
  esac
done
# Each integration test starts its own operator process against the shared control plane; on a
# 2-core machine more than two at once mostly measures the scheduler.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-2}"
cargo test "${targets[@]}" "$@"
