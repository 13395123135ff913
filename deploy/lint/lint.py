#!/usr/bin/env python3
"""Checks for deploy/ that need more than bash -n, shellcheck, yamllint and a JSON parser.

    lint.py powershell FILE...   PowerShell syntax (tree-sitter-powershell)
    lint.py bicep FILE...        Bicep syntax (tree-sitter-bicep) and undeclared symbols
    lint.py params BICEP JSON    every parameter of the parameters file is declared in the template
    lint.py columns BICEP        the SIGNL4_CL columns in the template are the documented ones
    lint.py schema BICEP         print the SIGNL4_CL schema "(Name:type, ...)" (for kql.js)
    lint.py workbook FILE        workbook structure: items, parameters the queries refer to
    lint.py template TEMPLATE SCRIPT...  both scripts fill every @@KEY@@ and ##if NAME of the
                                 configuration template
    lint.py prometheusrule ALERTS RULE [--write]  the PrometheusRule RULE is ALERTS (Prometheus'
                                 rule file) wrapped in a PrometheusRule: the same groups, and the
                                 text generated from it (--write: generate RULE)
    lint.py kustomize DIR        the kustomization in DIR, its components and overlays: every file
                                 they name exists, every manifest is listed or an *.example.yaml,
                                 selectors, ports, the generated ConfigMap's name, the Secret keys
    lint.py dashboard FILE       Grafana dashboard layout: each row alone on its line, every panel
                                 under a row, inside the 24 columns, no two panels overlapping,
                                 unique ids, every query on the dashboard's datasource variable

The tree-sitter grammars check syntax only; they are not the PowerShell or Bicep compilers (see
docs/src/deploying/checks.md). Exit code 1 on findings, 3 when a needed Python
module is missing (check.sh reports that check as skipped).
"""

import json
import re
import sys

# The SIGNL4_CL columns and their types (the connector's audit rows, docs/src/audit.md).
COLUMNS = [
    ("TimeGenerated", "datetime"), ("Tenant", "string"), ("Source", "string"), ("AlertId", "string"),
    ("IncidentId", "string"), ("Title", "string"), ("Severity", "string"), ("Team", "string"),
    ("Signl4AlertId", "string"), ("Signl4EventId", "string"), ("Action", "string"), ("Actor", "string"),
    ("Status", "string"), ("LatencyMs", "long"), ("RecordId", "string"), ("Details", "dynamic"),
]

# Bicep functions and namespaces; the grammar sometimes parses `f()` on its own line in an
# array as an identifier followed by parentheses.
BICEP_BUILTINS = {
    "az", "sys", "resourceGroup", "subscription", "tenant", "managementGroup", "deployment",
    "environment", "true", "false", "null", "string", "int", "bool", "object", "array",
}


def grammar(name):
    try:
        from tree_sitter import Language, Parser
        if name == "powershell":
            import tree_sitter_powershell as mod
        else:
            import tree_sitter_bicep as mod
    except ImportError as e:
        print(f"skipped: {e} (deploy/check.sh --install sets it up)")
        sys.exit(3)
    return Parser(Language(mod.language()))


def syntax_errors(parser, path):
    src = open(path, "rb").read()
    tree = parser.parse(src)
    lines = src.split(b"\n")
    found = []
    stack = [tree.root_node]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            row, col = n.start_point
            what = f"missing {n.type}" if n.is_missing else "syntax error"
            found.append(f"{path}:{row + 1}:{col + 1}: {what}: {lines[row].decode(errors='replace').strip()[:100]}")
            continue
        stack.extend(reversed(n.children))
    return tree, found


def cmd_powershell(paths):
    parser = grammar("powershell")
    problems = []
    for p in paths:
        problems += syntax_errors(parser, p)[1]
    return problems


DECLARATIONS = {"parameter_declaration", "variable_declaration", "resource_declaration",
                "output_declaration", "module_declaration", "type_declaration"}


def cmd_bicep(paths):
    parser = grammar("bicep")
    problems = []
    for p in paths:
        tree, found = syntax_errors(parser, p)
        problems += found
        declared, refs = set(BICEP_BUILTINS), []

        def first_identifier(node):
            return next((c for c in node.children if c.type == "identifier"), None)

        def walk(n, parent):
            if n.type in DECLARATIONS or n.type == "lambda_expression":
                ident = first_identifier(n)
                if ident is not None:
                    declared.add(ident.text.decode())
            if n.type == "for_statement":
                ini = n.child_by_field_name("initializer")
                if ini is not None:
                    for c in [ini, *ini.children]:
                        if c.type == "identifier":
                            declared.add(c.text.decode())
            if n.type == "identifier" and parent is not None:
                own_name = parent.type in DECLARATIONS and first_identifier(parent) == n
                key = parent.type == "object_property" and parent.children[0] == n
                func = parent.type == "call_expression" and parent.child_by_field_name("function") == n
                if not (own_name or key or func or parent.type in ("type", "decorator")):
                    refs.append(n)
            for c in n.children:
                walk(c, n)

        walk(tree.root_node, None)
        for r in refs:
            if r.text.decode() not in declared:
                problems.append(f"{p}:{r.start_point[0] + 1}: undeclared symbol {r.text.decode()}")
    return problems


def bicep_columns(path):
    text = open(path, encoding="utf-8").read()
    m = re.search(r"^var columns = \[\n(.*?)^\]", text, re.S | re.M)
    if not m:
        return None
    return re.findall(r"\{ name: '(\w+)', type: '(\w+)'", m.group(1))


def cmd_columns(paths):
    cols = bicep_columns(paths[0])
    if cols is None:
        return [f"{paths[0]}: no `var columns = [...]` found"]
    if cols != COLUMNS:
        return [f"{paths[0]}: SIGNL4_CL columns {cols} differ from the documented {COLUMNS}"]
    return []


def cmd_params(paths):
    text = open(paths[0], encoding="utf-8").read()
    declared = set(re.findall(r"^param (\w+) ", text, re.M))
    given = json.load(open(paths[1], encoding="utf-8")).get("parameters", {})
    return [f"{paths[1]}: parameter {k} is not declared in {paths[0]}" for k in given if k not in declared]


def cmd_schema(paths):
    cols = bicep_columns(paths[0]) or []
    print("(" + ", ".join(f"{n}:{t}" for n, t in cols) + ")")
    return [] if cols else [f"{paths[0]}: no columns"]


def cmd_workbook(paths):
    problems = []
    path = paths[0]
    wb = json.load(open(path, encoding="utf-8"))
    if wb.get("version") != "Notebook/1.0":
        problems.append(f"{path}: version must be Notebook/1.0")
    params, names = set(), set()
    for i, item in enumerate(wb.get("items", [])):
        where = f"{path}: items[{i}]"
        if item.get("type") not in (1, 3, 9, 10, 11, 12):
            problems.append(f"{where}: unknown item type {item.get('type')}")
        name = item.get("name")
        if not name or name in names:
            problems.append(f"{where}: missing or duplicate name {name!r}")
        names.add(name)
        content = item.get("content", {})
        if item.get("type") == 9:
            for prm in content.get("parameters", []):
                params.add(prm["name"])
                for key in ("id", "version", "name", "type"):
                    if key not in prm:
                        problems.append(f"{where}: parameter without {key}")
        if item.get("type") == 3:
            for key in ("version", "query", "queryType", "resourceType"):
                if key not in content:
                    problems.append(f"{where}: query item without {key}")
            for ref in re.findall(r"\{(\w+)(?::\w+)?\}", content.get("query", "")):
                if ref not in params:
                    problems.append(f"{where}: query uses {{{ref}}}, which no parameter above defines")
            tp = content.get("timeContextFromParameter")
            if tp and tp not in params:
                problems.append(f"{where}: timeContextFromParameter {tp} is not a parameter")
    return problems


def cmd_template(paths):
    template, scripts = paths[0], paths[1:]
    text = "\n".join(line for line in open(template, encoding="utf-8").read().split("\n") if not line.startswith("#="))
    keys = set(re.findall(r"@@([A-Z_]+)@@", text))
    flags = set(re.findall(r"^##if !?([A-Z_]+)", text, re.M))
    depth = 0
    problems = []
    for n, line in enumerate(text.split("\n"), 1):
        if line.startswith("##if "):
            depth += 1
        elif line.startswith("##endif"):
            depth -= 1
            if depth < 0:
                problems.append(f"{template}:{n}: ##endif without ##if")
    if depth:
        problems.append(f"{template}: unbalanced ##if")
    for script in scripts:
        src = open(script, encoding="utf-8").read()
        if script.endswith(".ps1"):
            have_keys = set(re.findall(r"^\s+([A-Z_]+)\s+=", src, re.M))
            have_flags = have_keys
        else:
            have_keys = {k for k in re.findall(r"S4S_([A-Z_]+)=", src) if not k.startswith("IF_")}
            have_flags = set(re.findall(r"S4S_IF_([A-Z_]+)=", src))
        for k in sorted(keys - have_keys):
            problems.append(f"{script}: gives no value for @@{k}@@ of {template}")
        for f in sorted(flags - have_flags):
            problems.append(f"{script}: gives no value for ##if {f} of {template}")
    return problems


def need_yaml():
    try:
        import yaml
    except ImportError as e:
        print(f"skipped: {e}")
        sys.exit(3)
    return yaml


RULE_HEADER = """\
# yamllint disable rule:line-length
# GENERATED from deploy/prometheus/alerts.yml: do not edit here. Change alerts.yml, then
#   python3 deploy/lint/lint.py prometheusrule deploy/prometheus/alerts.yml \\
#     {rule} --write
# (deploy/check.sh fails while the two differ). The same alerts for prometheus-operator; your
# Prometheus must select it (ruleSelector, e.g. the label `release: <kube-prometheus-stack release>`).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: signl4-sentinel
  namespace: signl4
  labels:
    app.kubernetes.io/name: signl4-sentinel
spec:
"""


def prometheusrule_text(alerts, rule):
    lines = open(alerts, encoding="utf-8").read().split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("groups:"))
    body = "\n".join(("  " + line) if line.strip() else "" for line in lines[start:])
    return RULE_HEADER.format(rule=rule) + body.rstrip("\n") + "\n"


def cmd_prometheusrule(paths):
    yaml = need_yaml()
    alerts, rule = paths[0], paths[1]
    text = prometheusrule_text(alerts, rule)
    if "--write" in paths[2:]:
        open(rule, "w", encoding="utf-8").write(text)
    problems = []
    want = yaml.safe_load(open(alerts, encoding="utf-8"))
    have = yaml.safe_load(open(rule, encoding="utf-8"))
    if (have.get("apiVersion"), have.get("kind")) != ("monitoring.coreos.com/v1", "PrometheusRule"):
        problems.append(f"{rule}: not a monitoring.coreos.com/v1 PrometheusRule")
    if set(want) != {"groups"}:
        problems.append(f"{alerts}: a rule file has only `groups`, found {sorted(want)}")
    if (have.get("spec") or {}).get("groups") != want.get("groups"):
        ha = [r.get("alert") for g in (have.get("spec") or {}).get("groups", []) for r in g.get("rules", [])]
        wa = [r.get("alert") for g in want.get("groups", []) for r in g.get("rules", [])]
        problems.append(f"{rule}: spec.groups differ from {alerts}'s groups (alerts {ha} vs {wa})")
    if open(rule, encoding="utf-8").read() != text:
        problems.append(f"{rule}: not the text generated from {alerts}")
    if problems:
        problems.append(f"regenerate: python3 deploy/lint/lint.py prometheusrule {alerts} {rule} --write")
    return problems


def cmd_kustomize(paths):
    """A structural look at deploy/kubernetes without kustomize (check.sh renders it with
    `kubectl kustomize` too when kubectl is there)."""
    import os
    yaml = need_yaml()
    root = paths[0]
    problems = []

    def load_all(path):
        return [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]

    def kustomization(d, kind):
        path = os.path.join(d, "kustomization.yaml")
        if not os.path.exists(path):
            problems.append(f"{d}: no kustomization.yaml")
            return {}
        k = load_all(path)[0]
        if k.get("kind") != kind:
            problems.append(f"{path}: kind {k.get('kind')}, expected {kind}")
        for key in ("resources", "components"):
            for r in k.get(key, []):
                if not os.path.exists(os.path.join(d, r)):
                    problems.append(f"{path}: {key} entry {r} does not exist")
        for g in k.get("configMapGenerator", []):
            for f in g.get("files", []):
                if not os.path.exists(os.path.join(d, f.split("=")[-1])):
                    problems.append(f"{path}: configMapGenerator {g.get('name')}: file {f} does not exist")
        return k

    base = kustomization(root, "Kustomization")
    docs = {}  # kind/name -> (file, doc)
    listed = set(base.get("resources", []))
    for f in sorted(os.listdir(root)):
        if not f.endswith(".yaml") or f == "kustomization.yaml":
            continue
        if f not in listed and not f.endswith(".example.yaml"):
            problems.append(f"{root}/{f}: neither in kustomization.yaml's resources nor named *.example.yaml")
        for d in load_all(os.path.join(root, f)):
            docs[(d["kind"], d["metadata"]["name"])] = (f, d)
    comps = os.path.join(root, "components")
    for c in sorted(os.listdir(comps)) if os.path.isdir(comps) else []:
        k = kustomization(os.path.join(comps, c), "Component")
        for r in k.get("resources", []):
            for d in load_all(os.path.join(comps, c, r)):
                docs[(d["kind"], d["metadata"]["name"])] = (f"components/{c}/{r}", d)
        in_dir = {f for f in os.listdir(os.path.join(comps, c)) if f.endswith(".yaml")} - {"kustomization.yaml"}
        for f in sorted(in_dir - set(k.get("resources", []))):
            problems.append(f"{comps}/{c}/{f}: not in the component's resources")
    ovl = os.path.join(root, "overlays")
    for o in sorted(os.listdir(ovl)) if os.path.isdir(ovl) else []:
        kustomization(os.path.join(ovl, o), "Kustomization")

    for (kind, name), (f, d) in docs.items():
        if kind != "Namespace" and d["metadata"].get("namespace") != base.get("namespace"):
            problems.append(f"{f}: {kind} {name} is not in the namespace {base.get('namespace')}")
    dep = docs.get(("Deployment", "signl4-sentinel"), (None, None))[1]
    if dep is None:
        return problems + [f"{root}: no Deployment signl4-sentinel"]
    pod = dep["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    container = pod["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}

    def selects(sel, what):
        for k2, v in (sel or {}).items():
            if pod_labels.get(k2) != v:
                problems.append(f"{what}: selector {k2}={v} does not select the Deployment's pods")

    selects(dep["spec"]["selector"]["matchLabels"], "Deployment")
    svc = docs.get(("Service", "signl4-sentinel"), (None, None))[1]
    for (kind, name), (f, d) in docs.items():
        spec = d.get("spec", {})
        if kind == "PodDisruptionBudget":
            selects(spec["selector"]["matchLabels"], f)
            if spec.get("minAvailable") in (1, "100%") and dep["spec"]["replicas"] == 1:
                problems.append(f"{f}: minAvailable with one replica blocks every node drain")
        elif kind == "NetworkPolicy":
            selects(spec["podSelector"].get("matchLabels"), f)
            for rule in spec.get("ingress", []):
                got = {(p.get("protocol", "TCP"), p.get("port")) for p in rule.get("ports", [])}
                allowed = {("TCP", v) for v in ports.values()} | {("TCP", k2) for k2 in ports}
                if not got or got - allowed:
                    problems.append(f"{f}: ingress must name only the container's ports {ports}, found {sorted(got)}")
            for rule in spec.get("egress", []):
                got = {(p.get("protocol", "TCP"), p.get("port")) for p in rule.get("ports", [])}
                if not got or got - {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 5432)}:
                    problems.append(f"{f}: egress beyond DNS, 443 and 5432: {sorted(got) or 'every port'}")
        elif kind == "Service":
            selects(spec["selector"], f)
            for p in spec["ports"]:
                if p.get("targetPort") not in ports and p.get("targetPort") not in ports.values():
                    problems.append(f"{f}: targetPort {p.get('targetPort')} is not a container port {ports}")
        elif kind == "ServiceMonitor":
            if svc is None:
                problems.append(f"{f}: no Service signl4-sentinel to monitor")
                continue
            for k2, v in spec["selector"]["matchLabels"].items():
                if svc["metadata"].get("labels", {}).get(k2) != v:
                    problems.append(f"{f}: selector {k2}={v} does not select the Service")
            secret = docs.get(("Secret", "signl4-sentinel-secrets"), (None, {}))[1]
            for ep in spec["endpoints"]:
                if ep.get("port") not in {p.get("name") for p in svc["spec"]["ports"]}:
                    problems.append(f"{f}: port {ep.get('port')} is not a named port of the Service")
                cred = (ep.get("authorization") or {}).get("credentials") or {}
                if cred.get("name") != "signl4-sentinel-secrets" or cred.get("key") not in secret.get("stringData", {}):
                    problems.append(f"{f}: the bearer token must come from a key of signl4-sentinel-secrets")
        elif kind == "HTTPRoute":
            for rule in spec.get("rules", []):
                for m in rule.get("matches", [{}]):
                    if (m.get("path") or {}).get("value") != "/signl4/":
                        problems.append(f"{f}: routes more than /signl4/ from the outside: {m}")
        elif kind == "Ingress":
            for rule in spec.get("rules", []):
                for p in rule["http"]["paths"]:
                    if p.get("path") != "/signl4/":
                        problems.append(f"{f}: exposes more than /signl4/: {p.get('path')}")
    # The generated ConfigMap: the Deployment names the generator's name (kustomize adds the hash).
    gens = {g["name"] for g in base.get("configMapGenerator", [])}
    for v in pod["spec"].get("volumes", []):
        if "configMap" in v and v["configMap"]["name"] not in gens:
            problems.append(f"deployment.yaml: volume {v['name']} names ConfigMap {v['configMap']['name']}, "
                            f"which no configMapGenerator makes ({sorted(gens)})")
    return problems


def cmd_dashboard(paths):
    problems = []
    d = json.load(open(paths[0], encoding="utf-8"))
    panels = d.get("panels", [])
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)):
        problems.append(f"{paths[0]}: panel ids repeat: {sorted(i for i in ids if ids.count(i) > 1)}")
    cells = {}
    row_y = None
    for p in panels:
        g = p.get("gridPos") or {}
        name = f"panel {p.get('id')} \"{p.get('title', '')}\""
        x, y, w, h = g.get("x", -1), g.get("y", -1), g.get("w", 0), g.get("h", 0)
        if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > 24:
            problems.append(f"{paths[0]}: {name}: gridPos {g} is outside the 24 columns or empty")
            continue
        if p.get("type") == "row":
            if w != 24 or h != 1 or x != 0:
                problems.append(f"{paths[0]}: {name}: a row spans the whole width with height 1 (x 0, w 24, h 1)")
            if row_y is not None and y <= row_y:
                problems.append(f"{paths[0]}: {name}: rows must go down the page in order")
            row_y = y
        elif row_y is None or y <= row_y:
            problems.append(f"{paths[0]}: {name}: y {y} is not below its row (Grafana would put it under another row)")
        for cx in range(x, x + w):
            for cy in range(y, y + h):
                if (cx, cy) in cells:
                    problems.append(f"{paths[0]}: {name} overlaps {cells[(cx, cy)]} at x {cx}, y {cy}")
                    break
                cells[(cx, cy)] = name
            else:
                continue
            break
        for t in p.get("targets", []):
            if (t.get("datasource") or {}).get("uid") != "${datasource}":
                problems.append(f"{paths[0]}: {name}: query {t.get('refId')} is not on the ${{datasource}} variable")
            if not t.get("expr"):
                problems.append(f"{paths[0]}: {name}: query {t.get('refId')} has no expr")
    return problems


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    cmd = {"powershell": cmd_powershell, "bicep": cmd_bicep, "columns": cmd_columns,
           "schema": cmd_schema, "params": cmd_params, "workbook": cmd_workbook, "template": cmd_template,
           "prometheusrule": cmd_prometheusrule, "kustomize": cmd_kustomize,
           "dashboard": cmd_dashboard}.get(sys.argv[1])
    if cmd is None:
        print(__doc__)
        return 2
    problems = cmd(sys.argv[2:])
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
