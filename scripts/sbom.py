#!/usr/bin/env python3
"""A CycloneDX 1.5 SBOM (JSON) of the signl4-sentinel binary's Rust dependencies, from
`cargo metadata` (the locked dependency graph of the binary's package, normal dependencies
only: what is linked into it, not build tools or dev-dependencies).

    scripts/sbom.py [--no-default-features] [OUT.json]        (default: stdout)

--no-default-features: the binary built without its default features (no `demo`, so no
s4s-fakecloud), as `scripts/release.sh --no-demo` builds it.

Every component has its purl (pkg:cargo/NAME@VERSION), its licence expression as the crate
declares it, and its source (crates.io or a path in this workspace). C code vendored by crates
(SQLite, aws-lc) is part of those crates and is listed as the crate, not separately.
"""

import json
import subprocess
import sys
import uuid
from datetime import datetime, timezone

ROOT_PACKAGE = "signl4-sentinel"


def main():
    args = sys.argv[1:]
    flags = [a for a in args if a == "--no-default-features"]
    args = [a for a in args if a != "--no-default-features"]
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", "x86_64-unknown-linux-gnu"]
        + flags,
        check=True, capture_output=True, text=True).stdout)
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = next(p["id"] for p in meta["packages"] if p["name"] == ROOT_PACKAGE)
    # Walk the normal (linked) dependencies from the binary's package.
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]):
                todo.append(dep["pkg"])

    def ref(p):
        return f"pkg:cargo/{p['name']}@{p['version']}"

    components = []
    for pid in sorted(seen - {root}, key=lambda i: (packages[i]["name"], packages[i]["version"])):
        p = packages[pid]
        c = {"type": "library", "bom-ref": ref(p), "name": p["name"], "version": p["version"], "purl": ref(p)}
        if p.get("license"):
            c["licenses"] = [{"expression": p["license"]}]
        if p.get("description"):
            c["description"] = p["description"].strip()
        src = p.get("source") or "path (this workspace)"
        c["externalReferences"] = [{"type": "distribution", "url": src}] if src.startswith("registry+") else []
        components.append(c)
    rp = packages[root]
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": [{"name": "scripts/sbom.py (cargo metadata)"}],
            "component": {"type": "application", "bom-ref": ref(rp), "name": rp["name"], "version": rp["version"],
                          "purl": ref(rp), "licenses": [{"expression": rp.get("license") or "NOASSERTION"}]},
        },
        "components": components,
        "dependencies": [
            {"ref": ref(packages[pid]),
             "dependsOn": sorted(ref(packages[d["pkg"]]) for d in nodes[pid]["deps"]
                                 if d["pkg"] in seen and any(k["kind"] is None for k in d["dep_kinds"]))}
            for pid in sorted(seen)
        ],
    }
    out = json.dumps(bom, indent=1) + "\n"
    if args:
        open(args[0], "w").write(out)
    else:
        sys.stdout.write(out)


if __name__ == "__main__":
    main()
