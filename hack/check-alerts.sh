#!/usr/bin/env bash
# Checks the chart's PrometheusRule: renders it with helm, runs `promtool check rules` and the
# unit tests in tests/alerts/ with `promtool test rules`, checks that every alert has a test
# file with a firing case and a must-not-fire case and a section in docs/runbooks.md, and
# that the chart's overrides (enabled, severity, for, labels, selector, extra rules) work.
#
# Needs promtool (Debian: apt-get install --no-install-recommends prometheus) and helm: $HELM,
# else $WAO_CONTROL_PLANE_BIN/helm, else the helm that hack/build-control-plane.sh provides.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "[check-alerts] $*" >&2; }
die() { log "FAILED: $*"; exit 1; }

command -v promtool >/dev/null ||
  die "promtool not found (Debian: apt-get install --no-install-recommends prometheus)"
if [ -z "${HELM:-}" ]; then
  bin="${WAO_CONTROL_PLANE_BIN:-$(bash hack/build-control-plane.sh)}"
  HELM="$bin/helm"
fi
[ -x "$HELM" ] || die "helm not found at $HELM"

CHART=charts/whatsapp-operator
TESTS=tests/alerts
RUNBOOKS=docs/runbooks.md
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The PrometheusRule's spec as a plain rules file (`groups:` at the top).
render_rules() { # render_rules OUT [helm args...]
  local out="$1"
  shift
  "$HELM" template whatsapp-operator "$CHART" --namespace whatsapp-operator \
    --show-only templates/prometheusrule.yaml "$@" >"$work/rendered.yaml"
  awk '/^spec:$/ {on = 1; next} on && /^[^ ]/ {on = 0} on {sub(/^  /, ""); print}' \
    "$work/rendered.yaml" >"$out"
  grep -q '^groups:' "$out" || die "no spec.groups in the rendered PrometheusRule"
}

log "promtool: $(promtool --version 2>&1 | head -1)"
render_rules "$work/rules.yaml" --set metrics.prometheusRule.enabled=true
promtool check rules "$work/rules.yaml"

mapfile -t alerts < <(sed -n 's/^ *- alert: //p' "$work/rules.yaml")
[ "${#alerts[@]}" -gt 0 ] || die "the rendered rules have no alerts"
log "${#alerts[@]} alerts: ${alerts[*]}"

# Every alert: a test file that makes it fire and has a case where it must not; a runbook
# section (its heading gives the anchor of runbook_url); summary, description, runbook_url.
problems=()
for alert in "${alerts[@]}"; do
  file="$TESTS/$alert.yaml"
  if [ ! -f "$file" ]; then
    problems+=("$alert: no $file")
    continue
  fi
  grep -q "alertname: $alert\$" "$file" || problems+=("$alert: $file never evaluates it")
  grep -q 'exp_labels:' "$file" || problems+=("$alert: $file has no case where it fires")
  grep -q 'exp_alerts: \[\]' "$file" || problems+=("$alert: $file has no case where it must not fire")
  if grep -q "alertname:" "$file" && grep "alertname:" "$file" | grep -vq "alertname: $alert\$"; then
    problems+=("$alert: $file evaluates other alerts; keep one alert per file")
  fi
  grep -qx "## $alert" "$RUNBOOKS" || problems+=("$alert: no '## $alert' section in $RUNBOOKS")
done
for file in "$TESTS"/*.yaml; do
  name="$(basename "$file" .yaml)"
  printf '%s\n' "${alerts[@]}" | grep -qx "$name" || problems+=("$file: no alert $name in the chart")
done
while read -r heading; do
  printf '%s\n' "${alerts[@]}" | grep -qx "$heading" || problems+=("$RUNBOOKS: section $heading names no alert")
done < <(sed -n 's/^## \(WhatsApp[A-Za-z]*\)$/\1/p' "$RUNBOOKS")
annotated="$(grep -c '^ *runbook_url: https\?://.*#whatsapp' "$work/rules.yaml" || true)"
summaries="$(grep -c '^ *summary: ' "$work/rules.yaml" || true)"
descriptions="$(grep -c '^ *description: ' "$work/rules.yaml" || true)"
for count in "$annotated" "$summaries" "$descriptions"; do
  [ "$count" -eq "${#alerts[@]}" ] ||
    problems+=("$count of ${#alerts[@]} alerts carry summary/description/runbook_url")
done
if [ "${#problems[@]}" -gt 0 ]; then
  printf '  %s\n' "${problems[@]}" >&2
  die "${#problems[@]} problems"
fi

cp "$TESTS"/*.yaml "$work/"
(cd "$work" && promtool test rules "${alerts[@]/%/.yaml}")

# Overrides: the values in tests/alerts/overrides drop one alert, change others and add rules.
render_rules "$work/rules-overrides.yaml" -f "$TESTS/overrides/values.yaml"
promtool check rules "$work/rules-overrides.yaml"
cp "$TESTS/overrides/overrides.yaml" "$work/"
(cd "$work" && promtool test rules overrides.yaml)
if grep -q 'alert: WhatsAppChannelFlagged$' "$work/rules-overrides.yaml"; then
  die "alerts.WhatsAppChannelFlagged.enabled=false left the alert in"
fi
grep -q 'release: kube-prometheus-stack' "$work/rendered.yaml" ||
  die "prometheusRule.labels are not on the PrometheusRule"
if grep -q 'job="whatsapp-operator"' "$work/rules-overrides.yaml"; then
  die "prometheusRule.selector did not replace the default job in every expression"
fi

# A misspelt alert name is refused, not ignored.
if "$HELM" template whatsapp-operator "$CHART" --set metrics.prometheusRule.enabled=true \
  --set metrics.prometheusRule.alerts.WhatsAppChannelBaned.enabled=false >/dev/null 2>"$work/err"; then
  die "an unknown alert name in metrics.prometheusRule.alerts was accepted"
fi
grep -q 'no such alert' "$work/err" || die "unexpected error for an unknown alert: $(cat "$work/err")"

# The ServiceMonitor keeps the operator's namespace/name labels unless told otherwise.
sm() { "$HELM" template whatsapp-operator "$CHART" --show-only templates/servicemonitor.yaml \
  --set metrics.serviceMonitor.enabled=true "$@"; }
sm | grep -q 'honorLabels: true$' || die "the ServiceMonitor does not honor labels by default"
sm --set metrics.serviceMonitor.honorLabels=false | grep -q 'honorLabels: false$' ||
  die "serviceMonitor.honorLabels=false is not rendered"
sm --set metrics.serviceMonitor.labels.release=kube-prometheus-stack |
  grep -q 'release: kube-prometheus-stack' || die "serviceMonitor.labels are not rendered"

log "${#alerts[@]} alerts checked and unit-tested, overrides tested"
