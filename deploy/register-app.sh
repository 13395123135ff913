#!/usr/bin/env bash
# Registers signl4-sentinel in one Microsoft Entra tenant with the Azure CLI: the same steps, checks
# and output as deploy/Register-Signl4Sentinel.ps1 (use that one from PowerShell).
#
#  1. signs in to the tenant (az login), unless the CLI is signed in there already;
#  2. finds the app registration (--client-id, or by --name) or creates it, and its service
#     principal; with --managed-identity it uses that identity's service principal instead;
#  3. adds the Microsoft Graph application permissions SecurityAlert.ReadWrite.All and
#     SecurityIncident.ReadWrite.All (--read-only: SecurityAlert.Read.All and
#     SecurityIncident.Read.All, paging without write-back) and grants admin consent (app role
#     assignments on the Microsoft Graph service principal, microsoft-apis.md §2.1);
#  4. creates a client secret, or uploads a certificate (--certificate), and/or adds a federated
#     credential for AKS workload identity (--federated-issuer and --federated-subject);
#  5. on the workspace (--workspace): Microsoft Sentinel Responder (--read-only: Microsoft
#     Sentinel Reader) and Log Analytics Reader (--custom-query-role: instead, a custom role with
#     only the three Microsoft.OperationalInsights read actions); on the data collection rule
#     (--dcr): Monitoring Metrics Publisher (the SIGNL4_CL audit trail, microsoft-apis.md §5.2);
#  6. prints the configuration on stdout (progress goes to stderr), ready for
#     `signl4-sentinel config check`.
#
# Idempotent: what is in place is left alone, so a second run changes nothing. A valid client
# secret made by an earlier run is kept (its value cannot be read back; --rotate-secret adds a
# new one). --what-if signs in and reads, then lists what it would change and changes nothing.
#
# Who can run it: creating the app needs Application Developer (or Cloud Application
# Administrator); granting Microsoft Graph application permissions needs Privileged Role
# Administrator (or Global Administrator); the workspace and DCR roles need Role Based Access
# Control Administrator (or User Access Administrator / Owner) there, and --custom-query-role
# needs User Access Administrator or Owner on the workspace's resource group (it creates a role).
#
# Usage:
#   deploy/register-app.sh --tenant <TENANT_ID> [options] > signl4-sentinel.toml
#
#   --tenant ID               Directory (tenant) ID (required)
#   --name NAME               app registration display name (default: signl4-sentinel)
#   --client-id ID            use this existing app registration instead of looking it up by name
#   --managed-identity OBJID  grant the permissions and roles to this managed identity's service
#                             principal (object id) instead of an app registration; no credential
#   --read-only               the read-only Graph permissions and Sentinel Reader; the printed
#                             configuration turns write-back off ([tenant.sync] enabled = false)
#   --credential KIND         secret (default) | certificate | none
#   --certificate FILE        public certificate (PEM or DER) to upload; implies --credential certificate
#                             (make one: openssl req -x509 -newkey rsa:3072 -nodes -days 365
#                              -subj /CN=signl4-sentinel -keyout key.pem -out cert.pem)
#   --certificate-key-path P  where the connector will read that certificate with its private key
#                             (cat cert.pem key.pem > P), for the printed certificate_path
#                             (default /etc/signl4-sentinel/<config name>.pem)
#   --secret-months N         lifetime of a new client secret (default 12; tenant policy may cap it)
#   --rotate-secret           add a new client secret even if a valid one exists
#   --federated-issuer URL    AKS OIDC issuer (az aks show --query oidcIssuerProfile.issuerUrl)
#   --federated-subject SUB   e.g. system:serviceaccount:signl4:signl4-sentinel
#   --workspace ID            Log Analytics workspace resource id (Sentinel):
#                             /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name>
#   --custom-query-role       custom query role instead of Log Analytics Reader
#   --dcr ID                  data collection rule resource id (deploy/bicep/main.bicep output dcrId)
#   --cloud NAME              public (default) | usgov | china
#   --config-name NAME        the tenant's short name in the configuration (default: tenant)
#   --env-file FILE           write a new client secret to FILE as NAME=value (mode 0600) instead
#                             of showing it on the terminal
#   --what-if                 change nothing; show what would change
#   --non-interactive         for pipelines: never prompt. Uses the Azure CLI's session when it is
#                             signed in to --tenant; otherwise signs in as a service principal from
#                             the environment: AZURE_CLIENT_ID with AZURE_FEDERATED_TOKEN_FILE (a
#                             federated token, e.g. a pipeline's OIDC token; preferred), or with
#                             AZURE_CLIENT_CERTIFICATE_PATH, or with AZURE_CLIENT_SECRET (note: the
#                             Azure CLI takes a secret on its command line). Fails if none is set.
#   --print-config            render the configuration from the ids given (--client-id,
#                             --workspace, --workspace-id, --dce-url, --dcr-immutable-id) without
#                             signing in or calling Azure (used by deploy/check.sh)
#   -h, --help                this text
set -euo pipefail
[ "${BASH_VERSINFO[0]}" -ge 4 ] || { echo "error: bash 4 or later is needed (macOS: brew install bash)" >&2; exit 2; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEMPLATE="$SCRIPT_DIR/config-snippet.toml.in"

# Microsoft Graph and its application permissions (app role ids, microsoft-apis.md §2.1 and
# signl4.md §4.4). The ids are looked up by name on the Graph service principal at run time;
# these are the expected values (a mismatch is reported, the looked-up id is used).
GRAPH_APP=00000003-0000-0000-c000-000000000000
declare -A EXPECTED_ROLE_ID=(
  [SecurityAlert.ReadWrite.All]=ed4fca05-be46-441f-9803-1873825f8fdb
  [SecurityIncident.ReadWrite.All]=34bf0e97-1971-4929-b999-9e2442d941d7
  [SecurityAlert.Read.All]=472e4a4d-bb4a-4026-98d1-0b0d74cb74a5
  [SecurityIncident.Read.All]=45cc0394-e837-488b-a098-1918f48d186c
)
# Built-in Azure roles (the same ids in every tenant).
ROLE_SENTINEL_RESPONDER=3e150937-b8fe-4cfb-8069-0eaf05ecd056
ROLE_SENTINEL_READER=8d289c81-5878-46d4-8554-54e1e3d8b5cb
ROLE_LOG_ANALYTICS_READER=73c42c96-874c-492b-b04d-ab87d138a893
ROLE_MONITORING_METRICS_PUBLISHER=3913510d-42f4-4e42-8a64-420c390055eb
# The three read actions of the incumbent's custom role (signl4.md §4.4).
QUERY_ACTIONS='"Microsoft.OperationalInsights/workspaces/read","Microsoft.OperationalInsights/workspaces/query/read","Microsoft.OperationalInsights/workspaces/query/*/read"'
# Display name of the client secrets this script (and the PowerShell script) creates.
SECRET_NAME="signl4-sentinel connector"

TENANT="" NAME="signl4-sentinel" CLIENT_ID="" MI_OBJECT_ID="" READ_ONLY=0 CREDENTIAL=secret
CERT_FILE="" SECRET_MONTHS=12 ROTATE=0 FED_ISSUER="" FED_SUBJECT="" WORKSPACE="" CUSTOM_ROLE=0
DCR="" CLOUD=public CONFIG_NAME=tenant ENV_FILE="" WHATIF=0 PRINT_ONLY=0 NON_INTERACTIVE=0 CERT_KEY_PATH=""
WORKSPACE_ID="" DCE_URL="" DCR_IMMUTABLE_ID=""

usage() { sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
say() { printf '› %s\n' "$*" >&2; }
ok() { printf '  ✓ %s\n' "$*" >&2; }
warn() { printf '  ! %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$1" >&2; exit "${2:-1}"; }
# change DESCRIPTION: announce a change; in --what-if mode say what would be done and return 1,
# so the caller skips it (`if change "..."; then ...; fi`).
change() {
  if [ "$WHATIF" = 1 ]; then printf '  ~ what-if: would %s\n' "$*" >&2; return 1; fi
  printf '  + %s\n' "$*" >&2
}
need_value() { if [ $# -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)" 2; fi; }

while [ $# -gt 0 ]; do
  case "$1" in
    --tenant) need_value "$@"; TENANT=$2; shift 2 ;;
    --name) need_value "$@"; NAME=$2; shift 2 ;;
    --client-id) need_value "$@"; CLIENT_ID=$2; shift 2 ;;
    --managed-identity) need_value "$@"; MI_OBJECT_ID=$2; shift 2 ;;
    --read-only) READ_ONLY=1; shift ;;
    --credential) need_value "$@"; CREDENTIAL=$2; shift 2 ;;
    --certificate) need_value "$@"; CERT_FILE=$2; CREDENTIAL=certificate; shift 2 ;;
    --certificate-key-path) need_value "$@"; CERT_KEY_PATH=$2; shift 2 ;;
    --non-interactive) NON_INTERACTIVE=1; shift ;;
    --secret-months) need_value "$@"; SECRET_MONTHS=$2; shift 2 ;;
    --rotate-secret) ROTATE=1; shift ;;
    --federated-issuer) need_value "$@"; FED_ISSUER=$2; shift 2 ;;
    --federated-subject) need_value "$@"; FED_SUBJECT=$2; shift 2 ;;
    --workspace) need_value "$@"; WORKSPACE=$2; shift 2 ;;
    --custom-query-role) CUSTOM_ROLE=1; shift ;;
    --dcr) need_value "$@"; DCR=$2; shift 2 ;;
    --cloud) need_value "$@"; CLOUD=$2; shift 2 ;;
    --config-name) need_value "$@"; CONFIG_NAME=$2; shift 2 ;;
    --env-file) need_value "$@"; ENV_FILE=$2; shift 2 ;;
    --what-if|--whatif|--dry-run) WHATIF=1; shift ;;
    --print-config) PRINT_ONLY=1; shift ;;
    --workspace-id) need_value "$@"; WORKSPACE_ID=$2; shift 2 ;;
    --dce-url) need_value "$@"; DCE_URL=$2; shift 2 ;;
    --dcr-immutable-id) need_value "$@"; DCR_IMMUTABLE_ID=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" 2 ;;
  esac
done

# --- input checks (before anything is signed in to or changed) -----------------------------
GUID_RE='^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
WS_RE='^/subscriptions/([0-9a-fA-F-]{36})/resourceGroups/([-A-Za-z0-9._()]+)/providers/Microsoft\.OperationalInsights/workspaces/([A-Za-z0-9][-A-Za-z0-9]*[A-Za-z0-9])$'
DCR_RE='^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-A-Za-z0-9._()]+/providers/Microsoft\.Insights/dataCollectionRules/[-A-Za-z0-9._]+$'
[ -n "$TENANT" ] || die "--tenant is required: the Directory (tenant) ID, a GUID (see --help)" 2
[[ $TENANT =~ $GUID_RE ]] || die "--tenant \"$TENANT\" is not a GUID (Entra ID → Overview → Tenant ID)" 2
[[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9\ ._-]{0,119}$ ]] || die "--name: use letters, digits, spaces, '.', '_' and '-' (at most 120)" 2
[[ $CONFIG_NAME =~ ^[A-Za-z0-9_-]{1,40}$ ]] || die "--config-name: use letters, digits, '-' and '_' only" 2
[ -z "$CLIENT_ID" ] || [[ $CLIENT_ID =~ $GUID_RE ]] || die "--client-id \"$CLIENT_ID\" is not a GUID" 2
[ -z "$MI_OBJECT_ID" ] || [[ $MI_OBJECT_ID =~ $GUID_RE ]] || die "--managed-identity needs the identity's object (principal) id, a GUID" 2
[ -z "$MI_OBJECT_ID" ] || [ -z "$CLIENT_ID" ] || die "--managed-identity and --client-id exclude each other" 2
case "$CREDENTIAL" in secret|certificate|none) ;; *) die "--credential: use secret, certificate or none" 2 ;; esac
[ "$CREDENTIAL" != certificate ] || [ -n "$CERT_FILE" ] || [ "$PRINT_ONLY" = 1 ] || die "--credential certificate needs --certificate FILE" 2
[ -z "$CERT_FILE" ] || [ -r "$CERT_FILE" ] || die "--certificate: cannot read $CERT_FILE" 2
[ -z "$CERT_KEY_PATH" ] || [[ $CERT_KEY_PATH =~ ^/[^\"]*$ ]] || die "--certificate-key-path: an absolute path without quotes" 2
if ! [[ $SECRET_MONTHS =~ ^[0-9]+$ ]] || [ "$SECRET_MONTHS" -lt 1 ] || [ "$SECRET_MONTHS" -gt 24 ]; then
  die "--secret-months: a number from 1 to 24" 2
fi
{ [ -z "$FED_ISSUER" ] && [ -z "$FED_SUBJECT" ]; } || { [ -n "$FED_ISSUER" ] && [ -n "$FED_SUBJECT" ]; } ||
  die "--federated-issuer and --federated-subject go together" 2
[ -z "$FED_ISSUER" ] || [[ $FED_ISSUER =~ ^https://[^\ \"\']+$ ]] || die "--federated-issuer must be an https:// URL" 2
[ -z "$FED_SUBJECT" ] || [[ $FED_SUBJECT =~ ^[A-Za-z0-9:._/-]+$ ]] || die "--federated-subject: e.g. system:serviceaccount:<namespace>:<service account>" 2
if [ -n "$MI_OBJECT_ID" ]; then
  [ -z "$FED_ISSUER" ] || die "a user-assigned managed identity gets its federated credential on the identity itself (az identity federated-credential create, or deploy/bicep/main.bicep with aksOidcIssuer)" 2
  CREDENTIAL=none
fi
SUB="" RG="" WS_NAME=""
if [ -n "$WORKSPACE" ]; then
  [[ $WORKSPACE =~ $WS_RE ]] || die "--workspace must be a workspace resource id: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name> (Log Analytics workspace → Properties → Resource ID)" 2
  SUB=${BASH_REMATCH[1]} RG=${BASH_REMATCH[2]} WS_NAME=${BASH_REMATCH[3]}
fi
[ "$CUSTOM_ROLE" = 0 ] || [ -n "$WORKSPACE" ] || die "--custom-query-role needs --workspace" 2
[ -z "$DCR" ] || [[ $DCR =~ $DCR_RE ]] || die "--dcr must be a data collection rule resource id: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Insights/dataCollectionRules/<name>" 2
case "$CLOUD" in
  public) AZ_CLOUD=AzureCloud FIC_AUDIENCE=api://AzureADTokenExchange ;;
  usgov) AZ_CLOUD=AzureUSGovernment FIC_AUDIENCE=api://AzureADTokenExchangeUSGov ;;
  china) AZ_CLOUD=AzureChinaCloud FIC_AUDIENCE=api://AzureADTokenExchangeChina ;;
  *) die "--cloud: use public, usgov or china" 2 ;;
esac
[ -r "$TEMPLATE" ] || die "cannot read $TEMPLATE (keep config-snippet.toml.in next to this script)"

if [ "$READ_ONLY" = 1 ]; then
  GRAPH_ROLES=(SecurityAlert.Read.All SecurityIncident.Read.All)
  SENTINEL_ROLE_NAME="Microsoft Sentinel Reader" SENTINEL_ROLE=$ROLE_SENTINEL_READER
else
  GRAPH_ROLES=(SecurityAlert.ReadWrite.All SecurityIncident.ReadWrite.All)
  SENTINEL_ROLE_NAME="Microsoft Sentinel Responder" SENTINEL_ROLE=$ROLE_SENTINEL_RESPONDER
fi
SECRET_ENV="$(printf '%s' "$CONFIG_NAME" | tr '[:lower:]-' '[:upper:]_')_CLIENT_SECRET"
CERT_KEY_PATH=${CERT_KEY_PATH:-/etc/signl4-sentinel/$CONFIG_NAME.pem}

# --- configuration output (deploy/config-snippet.toml.in) -------------------------------------
# render_config: substitutes @@KEY@@ from S4S_<KEY> and keeps ##if NAME blocks when S4S_IF_<NAME>=1.
render_config() {
  local on_secret=0 on_cert=0 on_fed=0 on_mi=0 on_cloud=0 on_sentinel=0 on_audit=0
  [ "$CREDENTIAL" = secret ] && on_secret=1
  [ "$CREDENTIAL" = certificate ] && on_cert=1
  [ -n "$FED_ISSUER" ] && on_fed=1
  [ -n "$MI_OBJECT_ID" ] && on_mi=1
  [ "$CLOUD" != public ] && on_cloud=1
  [ -n "$WORKSPACE" ] && on_sentinel=1
  [ -n "$DCR" ] || [ -n "$DCR_IMMUTABLE_ID" ] && on_audit=1
  S4S_SCRIPT=register-app.sh S4S_TENANT_ID=$TENANT S4S_NAME=$CONFIG_NAME \
  S4S_CLIENT_ID=${APP_ID:-<client id>} S4S_SECRET_ENV=$SECRET_ENV S4S_CLOUD=$CLOUD S4S_CERT_KEY_PATH=$CERT_KEY_PATH \
  S4S_SENTINEL_NAME=$(printf '%s' "$WS_NAME" | tr -c 'A-Za-z0-9_\n-' '_') \
  S4S_SUBSCRIPTION_ID=$SUB S4S_RESOURCE_GROUP=$RG S4S_WORKSPACE_NAME=$WS_NAME \
  S4S_WORKSPACE_ID=${WORKSPACE_ID:-<workspace id>} S4S_DCE_URL=${DCE_URL:-<logs ingestion endpoint>} \
  S4S_DCR_IMMUTABLE_ID=${DCR_IMMUTABLE_ID:-<dcr immutable id>} \
  S4S_IF_SECRET=$on_secret S4S_IF_CERT=$on_cert S4S_IF_FEDERATED=$on_fed S4S_IF_MI=$on_mi \
  S4S_IF_CLOUD=$on_cloud S4S_IF_READ_ONLY=$READ_ONLY S4S_IF_SENTINEL=$on_sentinel S4S_IF_AUDIT=$on_audit \
  awk '
    /^#=/ { next }
    /^##if / {
      name = $2; neg = 0
      if (substr(name, 1, 1) == "!") { neg = 1; name = substr(name, 2) }
      on = (ENVIRON["S4S_IF_" name] == "1"); if (neg) on = !on
      stack[++depth] = on; next
    }
    /^##endif/ { if (depth == 0) { print "unbalanced ##endif at line " NR > "/dev/stderr"; exit 3 }; depth--; next }
    {
      for (i = 1; i <= depth; i++) if (!stack[i]) next
      rest = $0; out = ""
      while (match(rest, /@@[A-Z_]+@@/)) {
        key = "S4S_" substr(rest, RSTART + 2, RLENGTH - 4)
        if (!(key in ENVIRON)) { print "no value for " key > "/dev/stderr"; exit 3 }
        out = out substr(rest, 1, RSTART - 1) ENVIRON[key]; rest = substr(rest, RSTART + RLENGTH)
      }
      print out rest
    }
    END { if (depth != 0) { print "unbalanced ##if" > "/dev/stderr"; exit 3 } }
  ' "$TEMPLATE"
}

if [ "$PRINT_ONLY" = 1 ]; then
  APP_ID=${CLIENT_ID:-}
  render_config
  exit 0
fi

# --- helpers for the Azure CLI ----------------------------------------------------------------
command -v az >/dev/null || die "the Azure CLI (az) is required: https://aka.ms/azcli" 2
# iso_after "+N days" | "+N months": an ISO-8601 UTC timestamp (GNU date, or BSD date on macOS).
iso_after() {
  local n=${1#+}; n=${n%% *}; local unit=${1##* }
  date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null ||
    date -u "-v+${n}$([ "$unit" = months ] && echo m || echo d)" +%Y-%m-%dT%H:%M:%SZ
}
# quiet CMD...: run a command, show its output only when it fails.
quiet() { local out; if ! out=$("$@" 2>&1); then printf '%s\n' "$out" >&2; return 1; fi; }
# (az -o tsv prints each item of a top-level list on its own line, so several values for one
# `read` are queried as a list in a list: --query "[[a, b]]".)
graph() { local method=$1 path=$2; shift 2; az rest --method "$method" --url "$GRAPH/v1.0/$path" "$@"; }
graph_post() { local path=$1 body=$2; shift 2; graph post "$path" --body "$body" --headers Content-Type=application/json "$@"; }
urlenc() { local s=${1// /%20}; printf '%s' "${s//\'/%27%27}"; }
# lines NAME < TEXT: the non-empty lines of TEXT into the array NAME. Lookups are captured with
# $(...) first, so a failing az call stops the script (set -e) instead of looking like "none".
lines() { local -n _into=$1; _into=(); local l; while IFS= read -r l; do [ -z "$l" ] || _into+=("$l"); done; }

# replicated CMD...: run CMD; when it fails only because an object made moments ago has not
# replicated yet, try again: Microsoft Graph answers Request_ResourceNotFound for a new app or
# service principal, ARM PrincipalNotFound for a new principal, and the CLI "Role '…' doesn't
# exist" for a new custom role (microsoft-apis.md: directory writes replicate asynchronously).
# Any other error fails at once. At most 6 tries, waiting 10, 20, 30, 30, 30 s in between
# (scaled by S4S_REPLICATION_WAIT, default 1; the tests set 0). Output: CMD's stdout.
REPLICATION_ERRORS="Request_ResourceNotFound|PrincipalNotFound|does not exist in the directory|Role '[^']*' doesn't exist"
replicated() {
  local try out rc errfile; errfile=$(mktemp)
  for try in 1 2 3 4 5 6; do
    rc=0; out=$("$@" 2>"$errfile") || rc=$?
    if [ "$rc" = 0 ]; then rm -f "$errfile"; [ -z "$out" ] || printf '%s\n' "$out"; return 0; fi
    if [ "$try" = 6 ] || ! grep -Eq "$REPLICATION_ERRORS" "$errfile"; then
      cat "$errfile" >&2; rm -f "$errfile"; return "$rc"
    fi
    local wait=$(( try * 10 > 30 ? 30 : try * 10 ))
    warn "not replicated yet ($(grep -Eo "$REPLICATION_ERRORS" "$errfile" | head -n1)); try $((try + 1)) of 6 in $(( wait * ${S4S_REPLICATION_WAIT:-1} )) s"
    sleep $(( wait * ${S4S_REPLICATION_WAIT:-1} ))
  done
}

# The cloud: never change the user's global `az cloud` setting. When the CLI is set to another
# cloud, this script uses a configuration directory of its own for that cloud (AZURE_CONFIG_DIR,
# kept for the next run, so one sign-in there is enough).
say "Azure CLI cloud $AZ_CLOUD, tenant $TENANT"
if [ "$(az cloud show --query name -o tsv 2>/dev/null)" != "$AZ_CLOUD" ]; then
  AZURE_CONFIG_DIR=${S4S_AZURE_CONFIG_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/signl4-sentinel/azure-$AZ_CLOUD}
  export AZURE_CONFIG_DIR
  mkdir -p "$AZURE_CONFIG_DIR"
  say "the Azure CLI is set to another cloud: using $AZURE_CONFIG_DIR for $AZ_CLOUD (your own setting is left alone)"
  [ "$(az cloud show --query name -o tsv 2>/dev/null)" = "$AZ_CLOUD" ] || az cloud set --name "$AZ_CLOUD" -o none
fi
if [ "$(az account show --query tenantId -o tsv 2>/dev/null || true)" != "$TENANT" ]; then
  if [ "$NON_INTERACTIVE" = 0 ]; then
    say "signing in to tenant $TENANT"
    az login --tenant "$TENANT" --allow-no-subscriptions -o none
  elif [ -n "${AZURE_CLIENT_ID:-}" ] && [ -n "${AZURE_FEDERATED_TOKEN_FILE:-}" ]; then
    [ -r "$AZURE_FEDERATED_TOKEN_FILE" ] || die "AZURE_FEDERATED_TOKEN_FILE: cannot read $AZURE_FEDERATED_TOKEN_FILE" 2
    say "signing in to tenant $TENANT as service principal $AZURE_CLIENT_ID (federated token)"
    quiet az login --service-principal --username "$AZURE_CLIENT_ID" --tenant "$TENANT" \
      --federated-token "$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --allow-no-subscriptions -o none
  elif [ -n "${AZURE_CLIENT_ID:-}" ] && [ -n "${AZURE_CLIENT_CERTIFICATE_PATH:-}" ]; then
    say "signing in to tenant $TENANT as service principal $AZURE_CLIENT_ID (certificate)"
    quiet az login --service-principal --username "$AZURE_CLIENT_ID" --tenant "$TENANT" \
      --certificate "$AZURE_CLIENT_CERTIFICATE_PATH" --allow-no-subscriptions -o none
  elif [ -n "${AZURE_CLIENT_ID:-}" ] && [ -n "${AZURE_CLIENT_SECRET:-}" ]; then
    say "signing in to tenant $TENANT as service principal $AZURE_CLIENT_ID (client secret)"
    quiet az login --service-principal --username "$AZURE_CLIENT_ID" --tenant "$TENANT" \
      --password "$AZURE_CLIENT_SECRET" --allow-no-subscriptions -o none
  else
    die "--non-interactive: the Azure CLI is not signed in to tenant $TENANT and no service principal is given (AZURE_CLIENT_ID with AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_CLIENT_SECRET)" 2
  fi
fi
GRAPH=$(az cloud show --query endpoints.microsoftGraphResourceId -o tsv); GRAPH=${GRAPH%/}
[ "$WHATIF" = 0 ] || say "what-if: reading only; nothing will be changed"

# --- 2. the app registration and its service principal ----------------------------------------
APP_OBJ="" APP_ID="" SP_OBJ="" NEW_SECRET="" OUT=""
FOUND=() REQUESTED=() GRANTED=()
if [ -n "$MI_OBJECT_ID" ]; then
  say "managed identity $MI_OBJECT_ID"
  read -r SP_OBJ APP_ID SP_TYPE < <(graph get "servicePrincipals/$MI_OBJECT_ID?\$select=id,appId,servicePrincipalType" \
    --query "[[id,appId,servicePrincipalType]]" -o tsv) || true
  [ -n "$SP_OBJ" ] || die "no service principal with object id $MI_OBJECT_ID in tenant $TENANT (use the identity's Object (principal) ID)"
  [ "$SP_TYPE" = ManagedIdentity ] || warn "service principal $MI_OBJECT_ID is of type $SP_TYPE, not ManagedIdentity"
  ok "service principal $SP_OBJ (client id $APP_ID)"
else
  say "app registration"
  if [ -n "$CLIENT_ID" ]; then
    read -r APP_OBJ APP_ID < <(graph get "applications(appId='$CLIENT_ID')?\$select=id,appId" --query "[[id,appId]]" -o tsv) || true
    [ -n "$APP_OBJ" ] || die "no app registration with client id $CLIENT_ID in tenant $TENANT"
    ok "using app registration $APP_ID (--client-id)"
  else
    OUT=$(graph get "applications?\$filter=displayName%20eq%20'$(urlenc "$NAME")'&\$select=id,appId" \
      --query "value[].[id,appId]" -o tsv)
    lines FOUND <<<"$OUT"
    if [ "${#FOUND[@]}" -gt 1 ]; then
      die "${#FOUND[@]} app registrations are named \"$NAME\"; pass --client-id to pick one"
    elif [ "${#FOUND[@]}" = 1 ]; then
      read -r APP_OBJ APP_ID <<<"${FOUND[0]}"
      ok "reusing app registration \"$NAME\" ($APP_ID)"
    elif change "create the app registration \"$NAME\" (single tenant)"; then
      OUT=$(graph_post applications \
        "{\"displayName\":\"$NAME\",\"signInAudience\":\"AzureADMyOrg\",\"notes\":\"signl4-sentinel: Microsoft Defender / Sentinel alerts to SIGNL4 (deploy/register-app.sh)\"}" \
        --query "[[id,appId]]" -o tsv)
      read -r APP_OBJ APP_ID <<<"$OUT"
      ok "created app registration $APP_ID"
    fi
  fi
  if [ -n "$APP_ID" ]; then
    SP_OBJ=$(graph get "servicePrincipals(appId='$APP_ID')?\$select=id" --query id -o tsv 2>/dev/null || true)
  fi
  if [ -n "$SP_OBJ" ]; then
    ok "service principal $SP_OBJ"
  elif change "create the service principal (enterprise application) of the app"; then
    SP_OBJ=$(graph_post servicePrincipals "{\"appId\":\"$APP_ID\"}" --query id -o tsv)
    ok "created service principal $SP_OBJ"
  fi
fi

# --- 3. Microsoft Graph application permissions and admin consent ------------------------------
say "Microsoft Graph application permissions: ${GRAPH_ROLES[*]}"
GRAPH_SP=$(graph get "servicePrincipals(appId='$GRAPH_APP')?\$select=id" --query id -o tsv)
OUT=$(graph get "servicePrincipals/$GRAPH_SP?\$select=appRoles" \
  --query "appRoles[?contains(allowedMemberTypes, 'Application')].[value,id]" -o tsv)
declare -A ROLE_ID=() ROLE_NAME=()
while IFS=$'\t' read -r value id; do
  [ -n "$id" ] || continue
  ROLE_ID[$value]=$id; ROLE_NAME[$id]=$value
done <<<"$OUT"
for role in "${GRAPH_ROLES[@]}"; do
  [ -n "${ROLE_ID[$role]:-}" ] || die "Microsoft Graph has no application permission $role in this tenant"
  [ "${ROLE_ID[$role]}" = "${EXPECTED_ROLE_ID[$role]}" ] ||
    warn "$role has id ${ROLE_ID[$role]} here (expected ${EXPECTED_ROLE_ID[$role]}); using ${ROLE_ID[$role]}"
done
if [ -n "$APP_OBJ" ]; then
  # The permissions the app asks for (shown under API permissions); consent is step 3b.
  OUT=$(graph get "applications/$APP_OBJ?\$select=requiredResourceAccess" \
    --query "requiredResourceAccess[?resourceAppId=='$GRAPH_APP'].resourceAccess[] | [?type=='Role'].id" -o tsv)
  lines REQUESTED <<<"$OUT"
  for role in "${GRAPH_ROLES[@]}"; do
    if [ "${#REQUESTED[@]}" -gt 0 ] && printf '%s\n' "${REQUESTED[@]}" | grep -qx "${ROLE_ID[$role]}"; then
      ok "requested: $role"
    elif change "add the application permission $role to the app registration"; then
      replicated az ad app permission add --id "$APP_ID" --api "$GRAPH_APP" --api-permissions "${ROLE_ID[$role]}=Role" -o none
    fi
  done
elif [ -z "$MI_OBJECT_ID" ]; then
  for role in "${GRAPH_ROLES[@]}"; do change "add the application permission $role to the app registration" || true; done
fi
if [ -n "$SP_OBJ" ]; then
  OUT=$(graph get "servicePrincipals/$SP_OBJ/appRoleAssignments" \
    --query "value[?resourceId=='$GRAPH_SP'].appRoleId" -o tsv)
  lines GRANTED <<<"$OUT"
fi
for role in "${GRAPH_ROLES[@]}"; do
  if [ "${#GRANTED[@]}" -gt 0 ] && printf '%s\n' "${GRANTED[@]}" | grep -qx "${ROLE_ID[$role]}"; then
    ok "admin consent: $role"
  elif change "grant admin consent for $role (app role assignment on Microsoft Graph)"; then
    replicated graph_post "servicePrincipals/$SP_OBJ/appRoleAssignments" \
      "{\"principalId\":\"$SP_OBJ\",\"resourceId\":\"$GRAPH_SP\",\"appRoleId\":\"${ROLE_ID[$role]}\"}" -o none
  fi
done
for id in "${GRANTED[@]}"; do
  case " ${GRAPH_ROLES[*]} " in *" ${ROLE_NAME[$id]:-?} "*) continue ;; esac
  warn "also granted: ${ROLE_NAME[$id]:-$id} (not needed by signl4-sentinel; left as it is)"
done

# --- 4. credentials ---------------------------------------------------------------------------
if [ "$CREDENTIAL" = secret ]; then
  say "client secret \"$SECRET_NAME\""
  VALID_UNTIL=""
  if [ -n "$APP_OBJ" ]; then
    VALID_UNTIL=$(graph get "applications/$APP_OBJ?\$select=passwordCredentials" \
      --query "sort_by(passwordCredentials[?displayName=='$SECRET_NAME'], &endDateTime)[-1].endDateTime" -o tsv)
  fi
  if [ -n "$VALID_UNTIL" ] && [[ $VALID_UNTIL > $(iso_after "+30 days") ]] && [ "$ROTATE" = 0 ]; then
    ok "kept the existing secret (valid until $VALID_UNTIL; its value cannot be shown again, --rotate-secret adds a new one)"
  elif change "create a client secret valid for $SECRET_MONTHS months"; then
    NEW_SECRET=$(replicated graph_post "applications/$APP_OBJ/addPassword" \
      "{\"passwordCredential\":{\"displayName\":\"$SECRET_NAME\",\"endDateTime\":\"$(iso_after "+$SECRET_MONTHS months")\"}}" \
      --query secretText -o tsv)
    ok "created a client secret"
    [ -z "$VALID_UNTIL" ] || warn "the older secret (valid until $VALID_UNTIL) still works; delete it in Certificates & secrets once the new one is deployed"
  fi
elif [ "$CREDENTIAL" = certificate ]; then
  say "certificate $CERT_FILE"
  command -v openssl >/dev/null || die "openssl is needed to read the certificate's thumbprint"
  DER=$(mktemp); trap 'rm -f "$DER"' EXIT
  openssl x509 -in "$CERT_FILE" -outform der -out "$DER" 2>/dev/null ||
    openssl x509 -inform der -in "$CERT_FILE" -outform der -out "$DER" 2>/dev/null ||
    die "$CERT_FILE is not a PEM or DER certificate"
  THUMB=$(openssl dgst -sha1 -binary "$DER" | base64)
  HAVE=0
  [ -z "$APP_OBJ" ] || HAVE=$(graph get "applications/$APP_OBJ?\$select=keyCredentials" \
    --query "length(keyCredentials[?customKeyIdentifier=='$THUMB'])" -o tsv)
  if [ "$HAVE" != 0 ]; then
    ok "already uploaded (thumbprint $THUMB)"
  elif change "upload the certificate (thumbprint $THUMB) to the app registration"; then
    replicated az ad app credential reset --id "$APP_ID" --cert "@$CERT_FILE" --append -o none
  fi
fi
if [ -n "$FED_ISSUER" ]; then
  say "federated credential for $FED_SUBJECT"
  HAVE=0
  [ -z "$APP_OBJ" ] || HAVE=$(az ad app federated-credential list --id "$APP_ID" \
    --query "length([?issuer=='$FED_ISSUER' && subject=='$FED_SUBJECT'])" -o tsv)
  FIC_NAME=$(printf 'signl4-sentinel-%s' "${FED_SUBJECT##*:}" | tr -c 'A-Za-z0-9-' '-' | cut -c1-120)
  if [ "$HAVE" != 0 ]; then
    ok "already present"
  elif change "add the federated credential $FIC_NAME (issuer $FED_ISSUER)"; then
    replicated az ad app federated-credential create --id "$APP_ID" --parameters \
      "{\"name\":\"$FIC_NAME\",\"issuer\":\"$FED_ISSUER\",\"subject\":\"$FED_SUBJECT\",\"audiences\":[\"$FIC_AUDIENCE\"]}" -o none
  fi
fi

# --- 5. Azure roles ---------------------------------------------------------------------------
# assign ROLE_DISPLAY ROLE (name or id) SCOPE: unless the principal has the role at SCOPE or above.
assign() {
  local display=$1 role=$2 scope=$3 sub found
  sub=$(printf '%s' "$scope" | cut -d/ -f3)
  if [ -n "$SP_OBJ" ]; then
    found=$(az role assignment list --subscription "$sub" --scope "$scope" --include-inherited --role "$role" \
      --query "[?principalId=='$SP_OBJ'].scope | [0]" -o tsv)
  else
    found=""
  fi
  if [ -n "$found" ]; then
    if [ "$found" = "$scope" ]; then ok "$display"; else ok "$display (inherited from $found)"; fi
    return 0
  fi
  change "assign \"$display\" on ${scope##*/providers/}" || return 0
  # A new service principal or custom role can take a minute to replicate (retried by code only).
  replicated az role assignment create --subscription "$sub" --assignee-object-id "$SP_OBJ" \
    --assignee-principal-type ServicePrincipal --role "$role" --scope "$scope" -o none ||
    die "could not assign \"$display\" (see the error above)"
}
if [ -n "$WORKSPACE" ]; then
  say "roles on workspace $WS_NAME"
  assign "$SENTINEL_ROLE_NAME" "$SENTINEL_ROLE" "$WORKSPACE"
  if [ "$CUSTOM_ROLE" = 1 ]; then
    RG_SCOPE="/subscriptions/$SUB/resourceGroups/$RG"
    CUSTOM_NAME="signl4-sentinel Log Analytics query - $RG (${SUB:0:8})"
    if [ -n "$(az role definition list --subscription "$SUB" --scope "$RG_SCOPE" --custom-role-only true \
      --name "$CUSTOM_NAME" --query '[0].id' -o tsv)" ]; then
      ok "custom role \"$CUSTOM_NAME\" exists"
    elif change "create the custom role \"$CUSTOM_NAME\" (the three Microsoft.OperationalInsights read actions, assignable in $RG)"; then
      quiet az role definition create --subscription "$SUB" --role-definition \
        "{\"Name\":\"$CUSTOM_NAME\",\"IsCustom\":true,\"Description\":\"signl4-sentinel: read Log Analytics workspaces and run queries (rule-query enrichment)\",\"Actions\":[$QUERY_ACTIONS],\"NotActions\":[],\"DataActions\":[],\"NotDataActions\":[],\"AssignableScopes\":[\"$RG_SCOPE\"]}" -o none
    fi
    assign "$CUSTOM_NAME" "$CUSTOM_NAME" "$WORKSPACE"
  else
    assign "Log Analytics Reader" "$ROLE_LOG_ANALYTICS_READER" "$WORKSPACE"
  fi
  ARM=$(az cloud show --query endpoints.resourceManager -o tsv); ARM=${ARM%/}
  WORKSPACE_ID=$(az rest --method get --url "$ARM$WORKSPACE?api-version=2022-10-01" --query properties.customerId -o tsv)
  ok "workspace id $WORKSPACE_ID"
fi
if [ -n "$DCR" ]; then
  say "data collection rule ${DCR##*/}"
  assign "Monitoring Metrics Publisher" "$ROLE_MONITORING_METRICS_PUBLISHER" "$DCR"
  ARM=$(az cloud show --query endpoints.resourceManager -o tsv); ARM=${ARM%/}
  OUT=$(az rest --method get --url "$ARM$DCR?api-version=2023-03-11" \
    --query "[[properties.immutableId, properties.dataCollectionEndpointId || '-', properties.endpoints.logsIngestion || '-', contains(keys(properties.streamDeclarations || \`{}\`), 'Custom-SIGNL4_CL')]]" -o tsv)
  read -r DCR_IMMUTABLE_ID DCE_ID DIRECT_URL HAS_STREAM <<<"$OUT"
  # (az prints JSON booleans as True / False in tsv)
  [ "${HAS_STREAM,,}" = true ] || warn "the DCR declares no stream Custom-SIGNL4_CL (deploy it with deploy/bicep/main.bicep)"
  if [ "$DCE_ID" != - ]; then
    DCE_URL=$(az rest --method get --url "$ARM$DCE_ID?api-version=2023-03-11" --query properties.logsIngestion.endpoint -o tsv)
  elif [ "$DIRECT_URL" != - ]; then
    DCE_URL=$DIRECT_URL
  fi
  ok "immutable id $DCR_IMMUTABLE_ID, logs ingestion endpoint ${DCE_URL:-?}"
fi

# --- 6. the configuration ---------------------------------------------------------------------
render_config
{
  echo
  if [ "$WHATIF" = 1 ]; then echo "what-if: nothing was changed."; fi
  if [ -n "$NEW_SECRET" ]; then
    if [ -n "$ENV_FILE" ]; then
      ( umask 077; touch "$ENV_FILE"; { grep -v "^$SECRET_ENV=" "$ENV_FILE" || true; echo "$SECRET_ENV=$NEW_SECRET"; } > "$ENV_FILE.tmp" )
      mv "$ENV_FILE.tmp" "$ENV_FILE"
      echo "The new client secret is in $ENV_FILE as $SECRET_ENV (mode 0600)."
    else
      echo "The new client secret (shown once; put it in your secret store, e.g. /etc/signl4-sentinel.env):"
      echo "  $SECRET_ENV=$NEW_SECRET"
    fi
  fi
  if [ "$CREDENTIAL" = certificate ]; then
    echo "Put the certificate with its private key at $CERT_KEY_PATH (cat cert.pem key.pem > that file, mode 0600) before \`signl4-sentinel config check\`."
  fi
  [ -z "$MI_OBJECT_ID" ] || echo "The managed identity signs in (credential = \"managed_identity\"): run the connector where that identity is assigned."
  [ -z "$FED_ISSUER" ] || echo "AKS workload identity: annotate the service account with azure.workload.identity/client-id: $APP_ID and label the pod azure.workload.identity/use: \"true\"."
  if [ "$CREDENTIAL" = secret ]; then
    echo "Set SIGNL4_TEAM_SECRET and $SECRET_ENV before \`signl4-sentinel config check\`."
  else
    echo "Set SIGNL4_TEAM_SECRET before \`signl4-sentinel config check\`."
  fi
  echo "Consent and role assignments can take several minutes to apply (Log Analytics up to an hour, a DCR up to 30 minutes)."
} >&2
