#!/usr/bin/env bash
# Registers the Entra ID application signl4-sentinel uses in one customer tenant, grants the
# Microsoft Graph application permissions (with admin consent), creates a client secret and,
# optionally, assigns the Sentinel roles on a workspace. Prints the values for the
# [[tenant]] section of the configuration.
#
# Needs the Azure CLI (`az`), signed in as a Global / Privileged Role Administrator (consent)
# and, for --workspace, Owner or User Access Administrator on the workspace.
#
#   deploy/register-app.sh --tenant <TENANT_ID> [--name signl4-sentinel] [--read-only]
#                          [--workspace /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name>]
#
# Permissions (application, app role ids from microsoft-apis.md §2.1):
#   SecurityAlert.ReadWrite.All     ed4fca05-be46-441f-9803-1873825f8fdb
#   SecurityIncident.ReadWrite.All  34bf0e97-1971-4929-b999-9e2442d941d7
#   (--read-only: SecurityAlert.Read.All 472e4a4d-bb4a-4026-98d1-0b0d74cb74a5 (id from the
#    public Graph permission lists; not in the reference notes) and
#    SecurityIncident.Read.All 45cc0394-e837-488b-a098-1918f48d186c; paging only, no sync-back)
# Workspace roles: Microsoft Sentinel Responder (status, owner, labels, comments) and
# Log Analytics Reader (rule-query enrichment).
set -euo pipefail

TENANT="" NAME="signl4-sentinel" WORKSPACE="" READ_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tenant) TENANT="$2"; shift 2 ;;
    --name) NAME="$2"; shift 2 ;;
    --workspace) WORKSPACE="$2"; shift 2 ;;
    --read-only) READ_ONLY=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$TENANT" ] || { echo "--tenant is required (the Directory (tenant) ID)" >&2; exit 2; }
command -v az >/dev/null || { echo "the Azure CLI (az) is required: https://aka.ms/azcli" >&2; exit 2; }

GRAPH=00000003-0000-0000-c000-000000000000
if [ "$READ_ONLY" = 1 ]; then
  ROLES="472e4a4d-bb4a-4026-98d1-0b0d74cb74a5=Role 45cc0394-e837-488b-a098-1918f48d186c=Role"
else
  ROLES="ed4fca05-be46-441f-9803-1873825f8fdb=Role 34bf0e97-1971-4929-b999-9e2442d941d7=Role"
fi

echo "› signing in to tenant $TENANT" >&2
az account show --query tenantId -o tsv 2>/dev/null | grep -qx "$TENANT" || az login --tenant "$TENANT" --allow-no-subscriptions >/dev/null

APP_ID=$(az ad app list --display-name "$NAME" --query '[0].appId' -o tsv)
if [ -z "$APP_ID" ]; then
  echo "› creating app registration $NAME" >&2
  APP_ID=$(az ad app create --display-name "$NAME" --sign-in-audience AzureADMyOrg --query appId -o tsv)
else
  echo "› reusing app registration $NAME ($APP_ID)" >&2
fi
az ad sp show --id "$APP_ID" >/dev/null 2>&1 || az ad sp create --id "$APP_ID" >/dev/null

echo "› adding Microsoft Graph application permissions and granting admin consent" >&2
# shellcheck disable=SC2086
az ad app permission add --id "$APP_ID" --api "$GRAPH" --api-permissions $ROLES >/dev/null 2>&1 || true
# Consent can lag behind the permission change for a few seconds.
for _ in 1 2 3 4 5; do az ad app permission admin-consent --id "$APP_ID" >/dev/null 2>&1 && break; sleep 5; done

echo "› creating a client secret (valid 1 year)" >&2
SECRET=$(az ad app credential reset --id "$APP_ID" --display-name "$NAME" --years 1 --append --query password -o tsv)

if [ -n "$WORKSPACE" ]; then
  SP_ID=$(az ad sp show --id "$APP_ID" --query id -o tsv)
  for ROLE in "Microsoft Sentinel Responder" "Log Analytics Reader"; do
    echo "› assigning \"$ROLE\" on the workspace" >&2
    az role assignment create --assignee-object-id "$SP_ID" --assignee-principal-type ServicePrincipal \
      --role "$ROLE" --scope "$WORKSPACE" >/dev/null
  done
  WS_ID=$(az monitor log-analytics workspace show --ids "$WORKSPACE" --query customerId -o tsv 2>/dev/null || echo "<workspace id>")
fi

cat <<OUT

Done. Put the secret in your secret store (it is shown only once) and add to the configuration:

[[tenant]]
name = "<short name>"
tenant_id = "$TENANT"
client_id = "$APP_ID"
client_secret = "env:CLIENT_SECRET"        # CLIENT_SECRET=$SECRET
OUT
if [ -n "$WORKSPACE" ]; then
  IFS=/ read -r _ _ SUB _ RG _ _ _ WSNAME <<<"$WORKSPACE"
  cat <<OUT

[[tenant.sentinel]]
name = "$WSNAME"
subscription_id = "$SUB"
resource_group = "$RG"
workspace_name = "$WSNAME"
workspace_id = "$WS_ID"
OUT
fi
echo
echo "Role assignments and consent can take several minutes (Log Analytics up to 60) to apply." >&2
