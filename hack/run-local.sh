#!/usr/bin/env bash
# The operator's main job on a local default: a real control plane (kube-apiserver + etcd on
# loopback), the Meta simulator seeded from crates/meta-sim/examples/state.json, the CRDs and the
# examples, and the operator running against the simulator.
#
#   hack/run-local.sh          start everything, show `kubectl get wac,waba,wamt`, keep running (Ctrl-C stops)
#   hack/run-local.sh --once   start everything, show the live values once, stop
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ONCE=0
[ "${1:-}" = "--once" ] && ONCE=1
RUN_DIR="${WAO_LOCAL_DIR:-${TMPDIR:-/tmp}/whatsapp-operator-local}"
NS=messaging
log() { echo "[run-local] $*" >&2; }

BIN_DIR="$(hack/build-control-plane.sh)"
export WAO_CONTROL_PLANE_BIN="$BIN_DIR"
export PATH="$BIN_DIR:$PATH"

log "building the operator and the simulator"
cargo build --quiet -p whatsapp-operator -p meta-sim --bins
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  hack/control-plane.sh stop "$RUN_DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

hack/control-plane.sh stop "$RUN_DIR" >/dev/null 2>&1 || true
log "starting kube-apiserver and etcd"
export KUBECONFIG
KUBECONFIG="$(hack/control-plane.sh start "$RUN_DIR" --owner $$)"

log "installing the CRDs"
kubectl apply --server-side -f crds/ >/dev/null
kubectl wait --for=condition=Established crd/whatsappchannels.whatsapp-operator.io crd/whatsappmessagetemplates.whatsapp-operator.io \
  crd/whatsappbusinessaccounts.whatsapp-operator.io --timeout=60s >/dev/null

log "starting meta-sim"
"$TARGET_DIR/debug/meta-sim" --listen 127.0.0.1:0 --state crates/meta-sim/examples/state.json \
  >"$RUN_DIR/meta-sim.out" 2>"$RUN_DIR/meta-sim.log" &
pids+=($!)
for _ in $(seq 1 100); do
  SIM_URL="$(sed -n 's/^meta-sim listening on //p' "$RUN_DIR/meta-sim.out")"
  [ -n "$SIM_URL" ] && break
  sleep 0.1
done
[ -n "${SIM_URL:-}" ] || { log "meta-sim did not start; see $RUN_DIR/meta-sim.log"; exit 1; }
# Meta reviews new templates and display names; the simulator approves them after a few seconds.
curl -sf -XPOST "$SIM_URL/_sim/reviews" -H 'content-type: application/json' \
  -d '{"templates":{"decision":"APPROVED","after_seconds":3},"display_name":{"decision":"APPROVED","after_seconds":3}}' >/dev/null

log "applying the examples in namespace $NS"
kubectl create namespace "$NS" >/dev/null
for f in examples/*.yaml; do kubectl apply --server-side -n "$NS" -f "$f" >/dev/null; done

# The simulator's app delivers signed webhooks to 127.0.0.1:8081/webhooks/meta
# (crates/meta-sim/examples/state.json); the operator reads the app secret from this Secret.
kubectl create secret generic whatsapp-operator-webhook -n "$NS" \
  --from-literal=app-secret=sim-app-secret-change-me --from-literal=verify-token=sim-verify-token >/dev/null

METRICS_ADDR="127.0.0.1:${WAO_LOCAL_METRICS_PORT:-18080}"
log "starting the operator against $SIM_URL (metrics on http://$METRICS_ADDR/metrics, webhooks on http://127.0.0.1:8081/webhooks/meta)"
"$TARGET_DIR/debug/whatsapp-operator" run --graph-base-url "$SIM_URL" \
  --metrics-addr "$METRICS_ADDR" --webhook-addr 127.0.0.1:8081 --webhook-path /webhooks/meta \
  --webhook-secret-namespace "$NS" 2>"$RUN_DIR/operator.log" &
pids+=($!)

kubectl wait -n "$NS" --for=condition=Ready waba/acme wac/acme-support wac/acme-brasil \
  wac/acme-shop-app wamt/login-code wamt/summer-sale wamt/order-shipped-pt-br --timeout=120s >/dev/null || {
  log "not Ready in time; operator log: $RUN_DIR/operator.log"
  kubectl get -n "$NS" wac,waba,wamt -o yaml >&2 || true
  exit 1
}
kubectl get -n "$NS" wac,waba,wamt

if [ "$ONCE" = 1 ]; then
  exit 0
fi
cat >&2 <<MSG

Running. In another shell:
  export KUBECONFIG=$KUBECONFIG
  kubectl get -n $NS wac,waba,wamt -w
  curl -s -XPOST $SIM_URL/_sim/numbers/106540352242922 -H 'content-type: application/json' -d '{"quality_rating":"YELLOW"}'
  curl -s -XPOST $SIM_URL/_sim/webhooks/deliver -H 'content-type: application/json' \
    -d '{"app_id":"670843887433847","waba_id":"102290129340398","field":"phone_number_quality_update","value":{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_2K"}}'
  kubectl annotate -n $NS waba/acme whatsapp-operator.io/reconcile-requested-at="\$(date +%s)" --overwrite
  $TARGET_DIR/debug/kubectl-whatsapp status wac/acme-sales -n $NS   # the kubectl plugin
  kubectl get events -n $NS
Logs: $RUN_DIR/operator.log, $RUN_DIR/meta-sim.log. Ctrl-C stops everything.
MSG
wait
