#!/usr/bin/env python3
"""A fake Azure CLI for testing deploy/register-app.sh without a tenant (test_register_app.sh).

It knows only the commands the script uses, keeps a small directory (apps, service principals,
app role assignments, Azure role assignments and definitions, a workspace, a DCR and its DCE) in
the JSON file $FAKE_AZ_STATE, and records every change it makes in state["changes"], so a test
can assert that a second run changes nothing. Output follows the real CLI: `--query` is
JMESPath (the jmespath package the CLI itself uses), `-o tsv` follows knack's TSV writer (each
item of a top-level list on its own line, a row's values tab-separated, booleans in a row as
True/False, null in a row as None), errors go to stderr with exit code 1.

The cloud and the sign-in are kept per configuration directory (AZURE_CONFIG_DIR, as the real
CLI does), so a test can see that the user's own setting was left alone. Replication delay:
with FAKE_AZ_LAG=N a service principal created here is unknown to the next N writes that name
it (Graph 404 Request_ResourceNotFound, ARM PrincipalNotFound); FAKE_AZ_DENY=appRoleAssignments
answers 403 Authorization_RequestDenied to every consent (an error that must not be retried).
Every failed write is counted in state["failed"].

This checks the script's control flow and idempotency, not Azure's behaviour.
"""

import base64
import hashlib
import json
import os
import re
import sys
import urllib.parse
import uuid

GRAPH = "https://graph.microsoft.com/v1.0/"
ARM = "https://management.azure.com"
GRAPH_APP = "00000003-0000-0000-c000-000000000000"
GRAPH_ROLES = {
    "SecurityAlert.ReadWrite.All": "ed4fca05-be46-441f-9803-1873825f8fdb",
    "SecurityIncident.ReadWrite.All": "34bf0e97-1971-4929-b999-9e2442d941d7",
    "SecurityAlert.Read.All": "472e4a4d-bb4a-4026-98d1-0b0d74cb74a5",
    "SecurityIncident.Read.All": "45cc0394-e837-488b-a098-1918f48d186c",
    "SecurityEvents.ReadWrite.All": "d903a879-88e0-4c09-b0c9-82f6a1333f84",
}
BUILTIN_ROLES = {
    "3e150937-b8fe-4cfb-8069-0eaf05ecd056": "Microsoft Sentinel Responder",
    "8d289c81-5878-46d4-8554-54e1e3d8b5cb": "Microsoft Sentinel Reader",
    "73c42c96-874c-492b-b04d-ab87d138a893": "Log Analytics Reader",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}
FLAGS = {"--include-inherited", "--append", "--allow-no-subscriptions", "--service-principal"}


class Fail(Exception):
    pass


def seed(path, workspace, dcr, mi_object_id):
    sub = workspace.split("/")[2]
    dce = f"/subscriptions/{sub}/resourceGroups/soc-rg/providers/Microsoft.Insights/dataCollectionEndpoints/signl4-dce"
    state = {
        "clouds": {}, "tenants": {}, "logins": [], "failed": [], "apps": [], "changes": [],
        "sps": [{"id": str(uuid.uuid4()), "appId": GRAPH_APP, "displayName": "Microsoft Graph",
                 "servicePrincipalType": "Application",
                 "appRoles": [{"id": i, "value": v, "allowedMemberTypes": ["Application"]} for v, i in GRAPH_ROLES.items()]},
                {"id": mi_object_id, "appId": str(uuid.uuid4()), "displayName": "signl4-sentinel-id",
                 "servicePrincipalType": "ManagedIdentity"}],
        "appRoleAssignments": [], "roleAssignments": [], "roleDefinitions": [],
        "resources": {
            workspace.lower(): {"id": workspace, "properties": {"customerId": "c8c99641-985d-4e4e-8e91-fb3466cd0e5b"}},
            dcr.lower(): {"id": dcr, "properties": {"immutableId": "dcr-0123456789abcdef0123456789abcdef",
                                                    "dataCollectionEndpointId": dce,
                                                    "streamDeclarations": {"Custom-SIGNL4_CL": {"columns": []}}}},
            dce.lower(): {"id": dce, "properties": {"logsIngestion": {"endpoint": "https://signl4-dce-abcd.westeurope-1.ingest.monitor.azure.com"}}},
        },
    }
    json.dump(state, open(path, "w"), indent=1)


def parse(argv):
    words, opts, i = [], {}, 0
    while i < len(argv) and not argv[i].startswith("-"):
        words.append(argv[i])
        i += 1
    while i < len(argv):
        key = argv[i]
        i += 1
        if key in FLAGS:
            opts[key] = True
            continue
        values = []
        while i < len(argv) and not argv[i].startswith("--") and not (argv[i] == "-o"):
            values.append(argv[i])
            i += 1
            if key != "--api-permissions":
                break
        opts[key] = values[0] if len(values) == 1 else values
    return words, opts


def tsv_cell(v):
    if isinstance(v, list):
        return str(len(v))
    if isinstance(v, dict):
        return ""
    return v if isinstance(v, str) else str(v)


def tsv(result):
    rows = result if isinstance(result, list) else [result]
    out = []
    for row in rows:
        if isinstance(row, dict):
            out.append("\t".join(tsv_cell(v) for _, v in sorted(row.items())))
        elif isinstance(row, list):
            out.append("\t".join(tsv_cell(v) for v in row))
        elif isinstance(row, bool):
            out.append(str(row).lower())
        else:
            out.append(tsv_cell(row))
    return "".join(r + "\n" for r in out)


def emit(result, opts):
    if "--query" in opts:
        import jmespath
        result = jmespath.search(opts["--query"], result)
    fmt = opts.get("-o", opts.get("--output", "json"))
    if fmt == "none" or result is None:
        return
    sys.stdout.write(tsv(result) if fmt == "tsv" else json.dumps(result, indent=2) + "\n")


def change(state, what):
    state["changes"].append(what)


def find(items, **kw):
    return [x for x in items if all(str(x.get(k, "")).lower() == str(v).lower() for k, v in kw.items())]


def one(items, what):
    if not items:
        raise Fail(f"Not Found({{\"error\":{{\"code\":\"Request_ResourceNotFound\",\"message\":\"{what} does not exist.\"}}}})")
    return items[0]


def app_by_appid(state, app_id):
    return one(find(state["apps"], appId=app_id), f"Application with appId {app_id}")


def graph(state, method, path, body):
    url = urllib.parse.urlsplit(path)
    route, query = urllib.parse.unquote(url.path), urllib.parse.parse_qs(url.query)
    m = re.fullmatch(r"(applications|servicePrincipals)\(appId='([^']+)'\)", route)
    if m and method == "get":
        items = state["apps"] if m.group(1) == "applications" else state["sps"]
        return one(find(items, appId=m.group(2)), f"{m.group(1)} with appId {m.group(2)}")
    if route == "applications" and method == "get":
        f = re.fullmatch(r"displayName eq '(.*)'", query.get("$filter", [""])[0])
        return {"value": find(state["apps"], displayName=f.group(1)) if f else state["apps"]}
    if route == "applications" and method == "post":
        app = {"id": str(uuid.uuid4()), "appId": str(uuid.uuid4()), "displayName": body["displayName"],
               "signInAudience": body.get("signInAudience"), "requiredResourceAccess": [],
               "passwordCredentials": [], "keyCredentials": [], "federatedIdentityCredentials": []}
        state["apps"].append(app)
        change(state, f"create app {app['displayName']}")
        return app
    if route == "servicePrincipals" and method == "post":
        app = app_by_appid(state, body["appId"])
        sp = {"id": str(uuid.uuid4()), "appId": app["appId"], "displayName": app["displayName"],
              "servicePrincipalType": "Application", "lag": int(os.environ.get("FAKE_AZ_LAG", "0"))}
        state["sps"].append(sp)
        change(state, "create service principal")
        return sp
    m = re.fullmatch(r"applications/([^/]+)(/addPassword)?", route)
    if m:
        app = one(find(state["apps"], id=m.group(1)), f"Application {m.group(1)}")
        if m.group(2) and method == "post":
            cred = dict(body["passwordCredential"], keyId=str(uuid.uuid4()))
            app["passwordCredentials"].append(cred)
            change(state, "add password")
            return dict(cred, secretText="fake~secret~" + cred["keyId"][:8])
        return app
    m = re.fullmatch(r"servicePrincipals/([^/]+)(/appRoleAssignments)?", route)
    if m:
        sp = one(find(state["sps"], id=m.group(1)), f"ServicePrincipal {m.group(1)}")
        if not m.group(2):
            return sp
        if method == "get":
            return {"value": find(state["appRoleAssignments"], principalId=sp["id"])}
        if os.environ.get("FAKE_AZ_DENY") == "appRoleAssignments":
            state["failed"].append("appRoleAssignments denied")
            raise Fail("Forbidden({\"error\":{\"code\":\"Authorization_RequestDenied\",\"message\":\"Insufficient privileges to complete the operation.\"}})")
        if sp.get("lag", 0) > 0:
            sp["lag"] -= 1
            state["failed"].append("appRoleAssignments lag")
            raise Fail(f"Not Found({{\"error\":{{\"code\":\"Request_ResourceNotFound\",\"message\":\"Resource '{sp['id']}' does not exist or one of its queried reference-property objects are not present.\"}}}})")
        if find(state["appRoleAssignments"], principalId=body["principalId"], appRoleId=body["appRoleId"]):
            raise Fail("Bad Request({\"error\":{\"message\":\"Permission being assigned already exists on the object\"}})")
        assignment = dict(body, id=str(uuid.uuid4()))
        state["appRoleAssignments"].append(assignment)
        change(state, f"grant app role {body['appRoleId']}")
        return assignment
    raise Fail(f"fake az: no Graph route for {method.upper()} {path}")


def covers(at, scope):
    at, scope = at.lower().rstrip("/"), scope.lower().rstrip("/")
    return scope == at or scope.startswith(at + "/")


def role_guid(state, role):
    role = role.split("/")[-1]
    for guid, name in BUILTIN_ROLES.items():
        if role.lower() in (guid, name.lower()):
            return guid
    for d in state["roleDefinitions"]:
        if role.lower() in (d["name"].lower(), d["roleName"].lower()):
            return d["name"]
    raise Fail(f"Role '{role}' doesn't exist.")


def run(state, words, opts):
    cmd = " ".join(words)
    config_dir = os.environ.get("AZURE_CONFIG_DIR", "~/.azure")
    if cmd == "cloud show":
        return {"name": state["clouds"].get(config_dir, "AzureCloud"),
                "endpoints": {"microsoftGraphResourceId": "https://graph.microsoft.com/",
                              "resourceManager": "https://management.azure.com/"}}
    if cmd == "cloud set":
        state["clouds"][config_dir] = opts["--name"]
        return None
    if cmd == "account show":
        if not state["tenants"].get(config_dir):
            raise Fail("Please run 'az login' to setup account.")
        return {"tenantId": state["tenants"][config_dir]}
    if cmd == "login":
        kind = "interactive"
        if opts.get("--service-principal"):
            kind = "federated" if "--federated-token" in opts else "certificate" if "--certificate" in opts else "secret"
        state["logins"].append({"kind": kind, "dir": config_dir, "username": opts.get("--username")})
        state["tenants"][config_dir] = opts["--tenant"]
        return []
    if not state["tenants"].get(config_dir):
        raise Fail("Please run 'az login' to setup account.")
    if cmd == "rest":
        url, method = opts["--url"], opts["--method"].lower()
        body = json.loads(opts["--body"]) if "--body" in opts else None
        if url.startswith(GRAPH):
            return graph(state, method, url[len(GRAPH):], body)
        if url.startswith(ARM) and method == "get":
            rid = urllib.parse.urlsplit(url[len(ARM):]).path
            return one([state["resources"][rid.lower()]] if rid.lower() in state["resources"] else [], rid)
        raise Fail(f"fake az: no route for {method.upper()} {url}")
    if cmd == "ad app permission add":
        app = app_by_appid(state, opts["--id"])
        perms = opts["--api-permissions"]
        for perm in perms if isinstance(perms, list) else [perms]:
            pid, kind = perm.split("=")
            entry = next((r for r in app["requiredResourceAccess"] if r["resourceAppId"] == opts["--api"]), None)
            if entry is None:
                entry = {"resourceAppId": opts["--api"], "resourceAccess": []}
                app["requiredResourceAccess"].append(entry)
            if not any(a["id"] == pid for a in entry["resourceAccess"]):
                entry["resourceAccess"].append({"id": pid, "type": kind})
                change(state, f"request permission {pid}")
        return None
    if cmd == "ad app credential reset":
        app = app_by_appid(state, opts["--id"])
        pem = open(opts["--cert"].lstrip("@")).read()
        der = base64.b64decode("".join(re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END", pem, re.S).group(1).split()))
        thumb = base64.b64encode(hashlib.sha1(der).digest()).decode()
        if not opts.get("--append"):
            app["keyCredentials"] = []
        app["keyCredentials"].append({"customKeyIdentifier": thumb, "type": "AsymmetricX509Cert", "usage": "Verify"})
        change(state, f"upload certificate {thumb}")
        return {"appId": app["appId"]}
    if cmd == "ad app federated-credential list":
        return app_by_appid(state, opts["--id"])["federatedIdentityCredentials"]
    if cmd == "ad app federated-credential create":
        fic = json.loads(opts["--parameters"])
        app_by_appid(state, opts["--id"])["federatedIdentityCredentials"].append(fic)
        change(state, f"add federated credential {fic['name']}")
        return fic
    if cmd == "role assignment list":
        guid = role_guid(state, opts["--role"])
        return [a for a in state["roleAssignments"] if a["roleDefinitionId"].endswith(guid)
                and (covers(a["scope"], opts["--scope"]) if opts.get("--include-inherited")
                     else a["scope"].lower() == opts["--scope"].lower())]
    if cmd == "role assignment create":
        guid = role_guid(state, opts["--role"])
        sp = find(state["sps"], id=opts["--assignee-object-id"])
        if sp and sp[0].get("lag", 0) > 0:
            sp[0]["lag"] -= 1
            state["failed"].append("role assignment lag")
            raise Fail(f"(PrincipalNotFound) Principal {sp[0]['id']} does not exist in the directory {state['tenants'].get(config_dir)}.")
        if any(a["principalId"] == opts["--assignee-object-id"] and a["roleDefinitionId"].endswith(guid)
               and a["scope"].lower() == opts["--scope"].lower() for a in state["roleAssignments"]):
            raise Fail("The role assignment already exists.")
        a = {"principalId": opts["--assignee-object-id"], "scope": opts["--scope"],
             "roleDefinitionId": f"/subscriptions/{opts['--scope'].split('/')[2]}/providers/Microsoft.Authorization/roleDefinitions/{guid}"}
        state["roleAssignments"].append(a)
        change(state, f"assign {BUILTIN_ROLES.get(guid, guid)} on {opts['--scope'].split('/')[-1]}")
        return a
    if cmd == "role definition list":
        return [dict(d, id=f"{d['assignableScopes'][0]}/providers/Microsoft.Authorization/roleDefinitions/{d['name']}")
                for d in state["roleDefinitions"] if d["roleName"] == opts.get("--name")]
    if cmd == "role definition create":
        spec = json.loads(opts["--role-definition"])
        if any(d["roleName"] == spec["Name"] for d in state["roleDefinitions"]):
            raise Fail("RoleDefinitionWithSameNameExists")
        state["roleDefinitions"].append({"name": str(uuid.uuid4()), "roleName": spec["Name"],
                                         "assignableScopes": spec["AssignableScopes"], "actions": spec["Actions"]})
        change(state, f"create role {spec['Name']}")
        return None
    raise Fail(f"fake az: unknown command '{cmd}'")


def main():
    path = os.environ["FAKE_AZ_STATE"]
    if sys.argv[1:2] == ["--seed"]:
        seed(path, *sys.argv[2:5])
        return 0
    state = json.load(open(path))
    words, opts = parse(sys.argv[1:])
    try:
        result = run(state, words, opts)
    except Fail as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    finally:
        json.dump(state, open(path, "w"), indent=1)
    emit(result, opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
