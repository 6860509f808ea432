#!/usr/bin/env bash
# make helm-check: the Helm chart checked with real tools, offline.
#   1. helm (built once from the Go module proxy, cached outside the clone)
#   2. helm lint and helm template for the defaults and every overlay
#   3. every rendered manifest validated against the Kubernetes 1.30 schemas
#      (kubernetes-validate from PyPI, which bundles them)
#   4. tests/helm/test_chart.py: what the overlays claim is what they render,
#      and every rendered config is accepted by the real service binaries
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="${PASOKH_STATE_DIR:-$ROOT/.local}"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
TOOLS="${PASOKH_TOOLS_DIR:-$HOME/.cache/pasokh/tools}"
HELM_VERSION=v3.22.0
KUBERNETES_VALIDATE_VERSION=1.37.0
KUBE_VERSION=1.30.0
CHART=helm/pasokh
HELM="$TOOLS/helm-$HELM_VERSION/helm"
VENV="$STATE/venv"
OUT="$STATE/helm"
say() { printf '[helm-check] %s\n' "$*" >&2; }
# shellcheck source=scripts/venv.sh
source "$ROOT/scripts/venv.sh"

if [ ! -x "$HELM" ]; then
  command -v go >/dev/null || { say "Go is needed to build helm (it is not downloadable here): install golang"; exit 1; }
  say "building helm $HELM_VERSION from the Go module proxy into $TOOLS (once; a few minutes on 2 cores)"
  mkdir -p "$(dirname "$HELM")"
  GOBIN="$(dirname "$HELM")" GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi

if ! "$VENV/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$KUBERNETES_VALIDATE_VERSION"; then
  say "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION into $VENV"
  project_venv "$VENV"
  "$VENV/bin/pip" install -q "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" pyyaml
fi

rm -rf "$OUT" && mkdir -p "$OUT"
overlays=(
  "default:"
  "dev:values-dev.yaml"
  "production:values-production.yaml"
  "event-tehran-friday-prayer:values-production.yaml values-event-tehran-friday-prayer.yaml"
  "all-features:ci/values-all-features.yaml"
)
for overlay in "${overlays[@]}"; do
  name="${overlay%%:*}"
  args=()
  for file in ${overlay#*:}; do args+=(-f "$CHART/$file"); done
  "$HELM" lint "$CHART" --strict --kube-version "$KUBE_VERSION" "${args[@]}" >"$OUT/$name.lint" 2>&1 \
    || { cat "$OUT/$name.lint" >&2; say "helm lint failed for $name"; exit 1; }
  "$HELM" template pasokh "$CHART" --namespace pasokh --kube-version "$KUBE_VERSION" "${args[@]}" >"$OUT/$name.yaml"
  # Strimzi's and Prometheus operator's kinds have no bundled schema: only those may be skipped
  report="$("$VENV/bin/kubernetes-validate" -k "$KUBE_VERSION" --strict --quiet "$OUT/$name.yaml" 2>&1)" \
    || { echo "$report" >&2; say "$name: manifests do not validate against Kubernetes $KUBE_VERSION"; exit 1; }
  unexpected="$(echo "$report" | grep -v -E "Couldn't find schema for kind (KafkaTopic|KafkaUser|ServiceMonitor|PrometheusRule) " | grep -v '^$' || true)"
  [ -z "$unexpected" ] || { echo "$unexpected" >&2; say "$name: unexpected validation warnings"; exit 1; }
  say "$name: lint ok, $(grep -c '^kind:' "$OUT/$name.yaml") resources valid for Kubernetes $KUBE_VERSION"
done

HELM="$HELM" PASOKH_BIN="$BIN" "$VENV/bin/python" tests/helm/test_chart.py
