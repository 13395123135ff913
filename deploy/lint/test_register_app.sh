#!/usr/bin/env bash
# deploy/register-app.sh against a fake Azure CLI (fake_az.py): a first run creates everything,
# a second run changes nothing and prints the same configuration, --what-if changes nothing,
# a certificate is uploaded once, --read-only adds the read permissions and Sentinel Reader,
# a managed identity gets its grants once, each credential kind prints its own configuration,
# Graph and ARM writes are retried on replication delay only, --non-interactive signs in from the
# environment or fails, and --cloud leaves the user's own `az cloud` alone. Checks the script's control flow and idempotency,
# not Azure's behaviour.
#
#   test_register_app.sh PYTHON [SIGNL4_SENTINEL_BINARY]    (PYTHON needs the jmespath package)
# Exit 0: passed, 1: failed, 3: skipped (no jmespath or openssl).
set -uo pipefail
PY=${1:?python}
BIN=${2:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT="$HERE/../register-app.sh"
"$PY" -c 'import jmespath' 2>/dev/null || { echo "skipped: no jmespath for $PY (deploy/check.sh --install)"; exit 3; }

WORK=${KEEP_WORK:-$(mktemp -d)}; [ -n "${KEEP_WORK:-}" ] || trap 'rm -rf "$WORK"' EXIT; mkdir -p "$WORK"
mkdir -p "$WORK/bin"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$PY" "$HERE/fake_az.py" > "$WORK/bin/az"
chmod +x "$WORK/bin/az"
export PATH="$WORK/bin:$PATH" FAKE_AZ_STATE="$WORK/state.json"

T=72f988bf-0000-4000-8000-000000000001
MI=5b1c6f3e-9d0a-4c55-8f21-000000000042
WS=/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/soc-rg/providers/Microsoft.OperationalInsights/workspaces/soc-workspace
DCR=/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/soc-rg/providers/Microsoft.Insights/dataCollectionRules/signl4-dcr
ISSUER=https://westeurope.oic.prod-aks.azure.com/72f988bf/5a0e/
SUBJECT=system:serviceaccount:signl4:signl4-sentinel
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
changes() { "$PY" -c 'import json, os; print(len(json.load(open(os.environ["FAKE_AZ_STATE"]))["changes"]))'; }
# reg OUT ARGS...: run the script, stdout to $WORK/OUT.toml, stderr to $WORK/OUT.log
reg() {
  local out=$1; shift
  if ! "$SCRIPT" --tenant "$T" "$@" > "$WORK/$out.toml" 2> "$WORK/$out.log"; then
    fail "register-app.sh $* exited non-zero:"; sed 's/^/    /' "$WORK/$out.log"; return 1
  fi
}
check_config() { # check_config OUT: signl4-sentinel config check on the printed configuration
  [ -n "$BIN" ] || return 0
  (cd "$WORK" && env CONTOSO_CLIENT_SECRET=x TENANT_CLIENT_SECRET=x SIGNL4_TEAM_SECRET=x "$BIN" config check "$1.toml" >/dev/null) ||
    fail "$1.toml does not pass config check"
}

# --- what-if on an empty tenant: reads only ---------------------------------------------------
"$PY" "$HERE/fake_az.py" --seed "$WS" "$DCR" "$MI"
reg whatif --config-name contoso --workspace "$WS" --dcr "$DCR" --custom-query-role --what-if
[ "$(changes)" = 0 ] || fail "--what-if changed $(changes) things"
for want in "would create the app registration" "would grant admin consent for SecurityAlert.ReadWrite.All" \
  "would create a client secret" "would assign \"Microsoft Sentinel Responder\"" \
  "would create the custom role" "would assign \"Monitoring Metrics Publisher\"" "nothing was changed"; do
  grep -qF "$want" "$WORK/whatif.log" || fail "--what-if output lacks: $want"
done

# --- first run: everything is created ---------------------------------------------------------
reg first --config-name contoso --workspace "$WS" --dcr "$DCR" --custom-query-role \
  --federated-issuer "$ISSUER" --federated-subject "$SUBJECT" --env-file "$WORK/s4s.env"
N1=$(changes)
# app, service principal, 2 requested permissions, 2 consents, secret, federated credential,
# Sentinel Responder, custom role, its assignment, Monitoring Metrics Publisher
[ "$N1" = 12 ] || fail "first run made $N1 changes, expected 12: $("$PY" -c 'import json,os; print(json.load(open(os.environ["FAKE_AZ_STATE"]))["changes"])')"
grep -q '^CONTOSO_CLIENT_SECRET=fake~secret~' "$WORK/s4s.env" || fail "the new secret is not in the env file"
[ "$(stat -c %a "$WORK/s4s.env" 2>/dev/null || stat -f %Lp "$WORK/s4s.env")" = 600 ] || fail "the env file is not mode 0600"
grep -q 'fake~secret' "$WORK/first.toml" && fail "the secret is in the printed configuration"
grep -q '^workspace_id = "c8c99641-985d-4e4e-8e91-fb3466cd0e5b"' "$WORK/first.toml" || fail "no workspace_id in the configuration"
grep -q '^endpoint = "https://signl4-dce-abcd' "$WORK/first.toml" || fail "no audit endpoint in the configuration"
grep -q '^dcr_immutable_id = "dcr-0123456789abcdef' "$WORK/first.toml" || fail "no DCR immutable id in the configuration"
check_config first

# --- second run: nothing changes, same configuration ------------------------------------------
reg second --config-name contoso --workspace "$WS" --dcr "$DCR" --custom-query-role \
  --federated-issuer "$ISSUER" --federated-subject "$SUBJECT" --env-file "$WORK/s4s.env"
[ "$(changes)" = "$N1" ] || fail "the second run changed $(( $(changes) - N1 )) things"
cmp -s "$WORK/first.toml" "$WORK/second.toml" || fail "the second run printed another configuration"
grep -q 'kept the existing secret' "$WORK/second.log" || fail "the second run did not keep the secret"
grep -q '  + ' "$WORK/second.log" && fail "the second run announced a change: $(grep '  + ' "$WORK/second.log")"

# --- --client-id finds the same app: nothing changes -----------------------------------------
APP_ID=$("$PY" -c 'import json, os; print(json.load(open(os.environ["FAKE_AZ_STATE"]))["apps"][0]["appId"])')
reg byid --config-name contoso --client-id "$APP_ID" --workspace "$WS" --dcr "$DCR" --custom-query-role
[ "$(changes)" = "$N1" ] || fail "--client-id changed $(( $(changes) - N1 )) things"
grep -q "^client_id = \"$APP_ID\"" "$WORK/byid.toml" || fail "--client-id configuration has another client id"

# --- --rotate-secret adds exactly one secret --------------------------------------------------
reg rotate --config-name contoso --rotate-secret --env-file "$WORK/s4s.env"
[ "$(changes)" = $((N1 + 1)) ] || fail "--rotate-secret made $(( $(changes) - N1 )) changes, expected 1"
[ "$(grep -c '^CONTOSO_CLIENT_SECRET=' "$WORK/s4s.env")" = 1 ] || fail "the env file has more than one CONTOSO_CLIENT_SECRET line"

# --- a certificate is uploaded once ------------------------------------------------------------
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=signl4-sentinel-test \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
  cat "$WORK/cert.pem" "$WORK/key.pem" > "$WORK/app.pem"
  N=$(changes)
  reg cert1 --config-name contoso --certificate "$WORK/cert.pem" --certificate-key-path "$WORK/app.pem"
  [ "$(changes)" = $((N + 1)) ] || fail "uploading the certificate made $(( $(changes) - N )) changes, expected 1"
  reg cert2 --config-name contoso --certificate "$WORK/cert.pem" --certificate-key-path "$WORK/app.pem"
  [ "$(changes)" = $((N + 1)) ] || fail "the certificate was uploaded again"
  grep -q '^credential = "certificate"' "$WORK/cert2.toml" || fail "the certificate configuration has no credential = \"certificate\""
  grep -q "^certificate_path = \"$WORK/app.pem\"" "$WORK/cert2.toml" || fail "the certificate configuration has no certificate_path"
  grep -q '^client_secret' "$WORK/cert2.toml" && fail "the certificate configuration still has a client_secret"
  check_config cert2
else
  echo "note: no openssl, certificate steps not tested"
fi

# --- read-only on the same app: the read pair, Sentinel Reader, sync off ----------------------
N=$(changes)
reg ro --config-name contoso --read-only --workspace "$WS"
# 2 requested permissions, 2 consents, Microsoft Sentinel Reader, Log Analytics Reader
[ "$(changes)" = $((N + 6)) ] || fail "--read-only made $(( $(changes) - N )) changes, expected 6"
grep -q 'also granted: SecurityAlert.ReadWrite.All' "$WORK/ro.log" || fail "--read-only did not report the extra grants"
grep -q '^enabled = false' "$WORK/ro.toml" || fail "--read-only configuration does not turn sync off"
check_config ro

# --- a managed identity -----------------------------------------------------------------------
N=$(changes)
reg mi1 --managed-identity "$MI" --workspace "$WS"
# 2 consents, Sentinel Responder, Log Analytics Reader; no app, no credential
[ "$(changes)" = $((N + 4)) ] || fail "--managed-identity made $(( $(changes) - N )) changes, expected 4"
reg mi2 --managed-identity "$MI" --workspace "$WS"
[ "$(changes)" = $((N + 4)) ] || fail "the second --managed-identity run changed something"
grep -q '^credential = "managed_identity"' "$WORK/mi2.toml" || fail "the managed identity configuration has no credential = \"managed_identity\""
grep -q '^client_secret' "$WORK/mi2.toml" && fail "the managed identity configuration has a client_secret that does not exist"
check_config mi2

# --- workload identity only (--credential none + federated credential) --------------------------
reg wi --config-name contoso --credential none --federated-issuer "$ISSUER" --federated-subject "$SUBJECT"
grep -q '^credential = "workload_identity"' "$WORK/wi.toml" || fail "the workload identity configuration has no credential = \"workload_identity\""
grep -q '^client_secret' "$WORK/wi.toml" && fail "the workload identity configuration has a client_secret"
echo "header.payload.signature" > "$WORK/token"
[ -z "$BIN" ] || (cd "$WORK" && env AZURE_FEDERATED_TOKEN_FILE="$WORK/token" SIGNL4_TEAM_SECRET=x "$BIN" config check wi.toml >/dev/null) ||
  fail "wi.toml does not pass config check"

# --- replication delay: retried by error code, with a bound; other errors are not retried ------
export S4S_REPLICATION_WAIT=0
N=$(changes)
FAKE_AZ_LAG=2 reg lag --name lagged-app --config-name lag --workspace "$WS"
grep -q 'not replicated yet (Request_ResourceNotFound)' "$WORK/lag.log" || fail "a consent that met replication delay was not retried"
# app, service principal, 2 requested permissions, 2 consents, secret, Sentinel Responder, Log Analytics Reader
[ "$(changes)" = $((N + 9)) ] || fail "the run with replication delay made $(( $(changes) - N )) changes, expected 9"
failed() { "$PY" -c 'import json, os, sys; print(json.load(open(os.environ["FAKE_AZ_STATE"]))["failed"].count(sys.argv[1]))' "$1"; }
[ "$(failed 'appRoleAssignments lag')" = 2 ] || fail "expected 2 retried consents, saw $(failed 'appRoleAssignments lag')"
FAKE_AZ_LAG=9 "$SCRIPT" --tenant "$T" --name never-replicates --config-name never > /dev/null 2> "$WORK/never.log" &&
  fail "a principal that never replicates was accepted"
[ "$(failed 'appRoleAssignments lag')" = 8 ] || fail "the retries are not bounded to 6 tries: $(failed 'appRoleAssignments lag') failed consents in all"
FAKE_AZ_DENY=appRoleAssignments "$SCRIPT" --tenant "$T" --name denied-app --config-name denied > /dev/null 2> "$WORK/denied.log" &&
  fail "a denied consent was accepted"
[ "$(failed 'appRoleAssignments denied')" = 1 ] || fail "a denied consent was retried ($(failed 'appRoleAssignments denied') tries)"
grep -q 'Authorization_RequestDenied' "$WORK/denied.log" || fail "the denied consent's error is not shown"

# --- --non-interactive: signs in from the environment, never prompts ---------------------------
logins() { "$PY" -c 'import json, os, sys; print(" ".join(l["kind"] for l in json.load(open(os.environ["FAKE_AZ_STATE"]))["logins"] if l["dir"] == sys.argv[1]))' "$1"; }
N=$(changes)
AZURE_CONFIG_DIR="$WORK/ci-az" "$SCRIPT" --tenant "$T" --config-name contoso --non-interactive > /dev/null 2> "$WORK/ni0.log" &&
  fail "--non-interactive without a session or a service principal was accepted"
grep -q -- '--non-interactive: the Azure CLI is not signed in' "$WORK/ni0.log" || fail "unclear --non-interactive error: $(cat "$WORK/ni0.log")"
[ -z "$(logins "$WORK/ci-az")" ] || fail "--non-interactive tried to sign in interactively"
[ "$(changes)" = "$N" ] || fail "a refused --non-interactive run changed something"
AZURE_CONFIG_DIR="$WORK/ci-az" AZURE_CLIENT_ID=$APP_ID AZURE_FEDERATED_TOKEN_FILE="$WORK/token" \
  reg ni --config-name contoso --non-interactive
[ "$(logins "$WORK/ci-az")" = federated ] || fail "--non-interactive did not sign in with the federated token: $(logins "$WORK/ci-az")"

# --- --cloud usgov leaves the user's own az cloud setting alone ---------------------------------
S4S_AZURE_CONFIG_DIR="$WORK/gov-az" reg gov --config-name contoso --cloud usgov
[ "$(az cloud show --query name -o tsv)" = AzureCloud ] || fail "--cloud usgov changed the user's az cloud to $(az cloud show --query name -o tsv)"
[ "$(AZURE_CONFIG_DIR="$WORK/gov-az" az cloud show --query name -o tsv)" = AzureUSGovernment ] || fail "--cloud usgov did not use AzureUSGovernment"
grep -q '^cloud = "usgov"' "$WORK/gov.toml" || fail "the US Gov configuration has no cloud = \"usgov\""

# --- bad input changes nothing and names the option --------------------------------------------
N=$(changes)
out=$("$SCRIPT" --tenant "$T" --workspace /subscriptions/x/oops 2>&1) && fail "a bad --workspace was accepted"
printf '%s' "$out" | grep -q -- '--workspace must be a workspace resource id' || fail "unclear error for a bad --workspace: $out"
[ "$(changes)" = "$N" ] || fail "a bad --workspace changed something"

if [ "$FAILS" = 0 ]; then echo "register-app.sh against the fake az: all steps as expected"; exit 0; fi
echo "$FAILS failures"; exit 1
