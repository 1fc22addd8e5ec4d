#!/usr/bin/env bash
# Checks the Argo CD resource customizations in docs/argocd: runs the health and action tests of
# each kind (health_test.yaml, actions/action_test.yaml) with Lua 5.1, the interpreter version
# Argo CD embeds; checks that the test runner does fail on a wrong expectation; and checks that
# docs/argocd/argocd-cm-patch.yaml holds exactly the scripts (`--write` regenerates it).
#
# Needs lua5.1 (Debian: apt-get install lua5.1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "[check-argocd-health] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

ROOT=docs/argocd
GROUP=whatsapp-operator.io
KINDS=(WhatsAppBusinessAccount WhatsAppChannel)
PATCH="$ROOT/argocd-cm-patch.yaml"

indent() { sed "/./s/^/$(printf '%*s' "$1" '')/" "$2"; }

# The argocd-cm data keys for every kind, as a merge patch of the ConfigMap.
generate_patch() {
  echo "# Generated from docs/argocd/$GROUP by hack/check-argocd-health.sh --write; do not edit."
  echo "# kubectl -n argocd patch configmap argocd-cm --type merge --patch-file docs/argocd/argocd-cm-patch.yaml"
  echo "data:"
  local kind dir action
  for kind in "${KINDS[@]}"; do
    dir="$ROOT/$GROUP/$kind"
    echo "  resource.customizations.health.${GROUP}_$kind: |"
    indent 4 "$dir/health.lua"
    echo "  resource.customizations.actions.${GROUP}_$kind: |"
    echo "    discovery.lua: |"
    indent 6 "$dir/actions/discovery.lua"
    echo "    definitions:"
    for action in "$dir"/actions/*/action.lua; do
      echo "      - name: $(basename "$(dirname "$action")")"
      echo "        action.lua: |"
      indent 10 "$action"
    done
  done
}

if [ "${1:-}" = "--write" ]; then
  generate_patch >"$PATCH"
  log "wrote $PATCH"
  exit 0
fi

command -v lua5.1 >/dev/null || die "lua5.1 not found (Debian: apt-get install lua5.1)"
log "$(lua5.1 -v 2>&1)"

dirs=()
for kind in "${KINDS[@]}"; do
  dir="$ROOT/$GROUP/$kind"
  for f in health.lua health_test.yaml actions/discovery.lua actions/action_test.yaml; do
    [ -f "$dir/$f" ] || die "$dir/$f is missing"
  done
  dirs+=("$dir")
done
lua5.1 "$ROOT/test/run.lua" "${dirs[@]}"

# Both kinds offer the same actions with the same scripts.
diff -r "$ROOT/$GROUP/WhatsAppChannel/actions/resync" "$ROOT/$GROUP/WhatsAppBusinessAccount/actions/resync" ||
  die "the resync action differs between the kinds"
diff "$ROOT/$GROUP/WhatsAppChannel/actions/discovery.lua" "$ROOT/$GROUP/WhatsAppBusinessAccount/actions/discovery.lua" ||
  die "discovery.lua differs between the kinds"

# The runner must fail when a health expectation or an action's expected output is wrong.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$ROOT/$GROUP/WhatsAppChannel" "$work/health"
sed -i '0,/status: Healthy/s//status: Degraded/' "$work/health/health_test.yaml"
if lua5.1 "$ROOT/test/run.lua" "$work/health" >"$work/out" 2>&1; then
  die "the runner passed a wrong health expectation"
fi
grep -q '^FAIL' "$work/out" || die "the runner failed without reporting the case: $(cat "$work/out")"
cp -r "$ROOT/$GROUP/WhatsAppChannel" "$work/action"
sed -i 's/0001-01-01T00:00:00Z/0001-01-01T00:00:01Z/' "$work/action/actions/testdata/channel-resynced.yaml"
if lua5.1 "$ROOT/test/run.lua" "$work/action" >"$work/out" 2>&1; then
  die "the runner passed a wrong action output"
fi
grep -q '^FAIL' "$work/out" || die "the runner failed without reporting the case: $(cat "$work/out")"

generate_patch >"$work/patch.yaml"
diff -u "$PATCH" "$work/patch.yaml" || die "$PATCH is out of date: run hack/check-argocd-health.sh --write"
log "health and action tests pass; $PATCH is current"
