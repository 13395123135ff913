#!/usr/bin/env python3
"""The structure check CI runs (.ci/run): no import cycle between the modules of a crate, and no
non-test source file over the line limit.

A module's dependencies are the `crate::…`, `super::…` and `self::…` paths its code names (in `use`
items and inline), resolved to the longest module path that exists, aggregated over the module's
subtree. For each module, its child modules form a graph (child A → child B when something under A
names something under B); a strongly connected component with more than one child is a cycle.
Comments (doc links included), string literals and test code (`#[cfg(test)] mod …`, `tests.rs`,
`tests/` folders under `src/`) are left out.

Usage: scripts/check-structure.py [--max-lines N] [--self-test] [CRATES_DIR]
Exit status: 0 clean, 1 a cycle or a long file was found (each printed with where it comes from).
"""

import argparse
import os
import re
import sys
import tempfile
from collections import defaultdict

MAX_LINES = 700


def strip_code(src):
    """The source without comments and string/char literals (newlines kept, so line numbers hold)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if src[i] == "\n":
                        out.append("\n")
                    i += 1
        elif c == "r" and re.match(r'r#*"', src[i:i + 260]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'r(#*)"', src[i:])
            end = '"' + m.group(1)
            j = src.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append('""' + "\n" * src.count("\n", i, j))
            i = j
        elif c == '"' or (c == "b" and src.startswith('b"', i)):
            j = i + (2 if c == "b" else 1)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append('""' + "\n" * src.count("\n", i, j))
            i = j + 1
        elif c == "'":
            # a char literal ('x', '\n', '\u{1F600}') or a lifetime ('a): only the literal is skipped
            m = re.match(r"'(\\(u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'])'", src[i:i + 12])
            if m:
                out.append("' '")
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def block_end(code, open_brace):
    depth, j = 0, open_brace
    while j < len(code):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return len(code)


TEST_MOD = re.compile(r"#\[cfg\(test\)\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*([;{])")


def without_test_code(code):
    """(code with inline test modules blanked, names of out-of-line test modules)."""
    test_files = set()
    parts, i = [], 0
    for m in TEST_MOD.finditer(code):
        if m.start() < i:
            continue
        if m.group(2) == ";":
            test_files.add(m.group(1))
            continue
        end = block_end(code, m.end() - 1)
        parts.append(code[i:m.start()])
        parts.append("\n" * code.count("\n", m.start(), end))
        i = end
    parts.append(code[i:])
    return "".join(parts), test_files


def split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def expand_use(tree, prefix=""):
    """`a::{b, c::{d as e}}` → ["a::b", "a::c::d"]."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^([\w:]*?)\{(.*)\}$", tree)
    if m:
        out = []
        for p in split_top(m.group(2)):
            out += expand_use(p, prefix + m.group(1))
        return out
    return [prefix + tree]


def crate_modules(src_dir):
    """{module path tuple: (file, code)} for the crate's non-test source files."""
    mods = {}
    skip_dirs = set()
    files = []
    for d, dirs, fs in os.walk(src_dir):
        dirs.sort()
        rel_dir = os.path.relpath(d, src_dir)
        parts = [] if rel_dir == "." else rel_dir.split(os.sep)
        if "tests" in parts or (parts and parts[0] == "bin"):
            continue
        for f in sorted(fs):
            if f.endswith(".rs"):
                files.append((parts, f))
    for parts, f in files:
        name = f[:-3]
        path = tuple(parts) if name in ("mod", "lib", "main") else tuple(parts + [name])
        if path and path[-1] == "tests":
            continue
        full = os.path.join(src_dir, *parts, f)
        with open(full, encoding="utf-8") as fh:
            raw = fh.read()
        code, test_children = without_test_code(strip_code(raw))
        for t in test_children:
            skip_dirs.add(path + (t,))
        mods[path] = (full, code, raw)
    for p in list(mods):
        if any(p[: len(s)] == s for s in skip_dirs):
            del mods[p]
    return mods


PATH = re.compile(r"(?<![\w:])((?:crate|super|self)(?:\s*::\s*(?:\w+|\{))+)")


def references(path, full, code):
    """[(target module path segments, line)] named by one file's code."""
    refs = []
    is_dir_mod = os.path.basename(full) in ("mod.rs", "lib.rs", "main.rs")
    here = list(path) if is_dir_mod else list(path)
    uses = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        line = code.count("\n", 0, m.start()) + 1
        for p in expand_use(m.group(1)):
            uses.append((p, line))
    blanked = re.sub(r"\buse\s+[^;]+;", lambda m: "\n" * m.group(0).count("\n"), code)
    for m in PATH.finditer(blanked):
        text = re.sub(r"\s+", "", m.group(1)).rstrip(":{")
        uses.append((text, code.count("\n", 0, m.start()) + 1))
    for text, line in uses:
        segs = [s for s in text.split("::") if s]
        if not segs:
            continue
        if segs[0] == "crate":
            base, segs = [], segs[1:]
        elif segs[0] in ("super", "self"):
            # `super` of a file module `a/b.rs` (path a::b) is `a`; of `a/b/mod.rs` (path a::b) too.
            base = here
            while segs and segs[0] in ("super", "self"):
                if segs[0] == "super":
                    base = base[:-1]
                segs = segs[1:]
        else:
            continue
        refs.append((base + segs, line))
    return refs


def find_cycles(mods):
    """[(parent, [children in the cycle], {(a, b): (file, line)})]."""
    deps = defaultdict(dict)  # module -> {target module: (file, line)}
    for path, (full, code, _) in mods.items():
        for segs, line in references(path, full, code):
            for k in range(len(segs), -1, -1):
                if tuple(segs[:k]) in mods:
                    target = tuple(segs[:k])
                    if target != path:
                        deps[path].setdefault(target, (full, line))
                    break
    result = []
    parents = sorted({p[:-1] for p in mods if p} | {()})
    for par in parents:
        depth = len(par)
        graph, where = defaultdict(set), {}
        for a, targets in deps.items():
            if len(a) <= depth or a[:depth] != par:
                continue
            for t, loc in targets.items():
                if len(t) > depth and t[:depth] == par and t[depth] != a[depth]:
                    graph[a[depth]].add(t[depth])
                    where.setdefault((a[depth], t[depth]), loc)
        for comp in sccs(graph):
            result.append((par, sorted(comp), where))
    return result


def sccs(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    nodes = sorted(set(graph) | {w for ws in graph.values() for w in ws})

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def check(crates_dir, max_lines, out=sys.stdout):
    problems = 0
    for crate in sorted(os.listdir(crates_dir)):
        src = os.path.join(crates_dir, crate, "src")
        if not os.path.isdir(src):
            continue
        mods = crate_modules(src)
        for par, comp, where in find_cycles(mods):
            problems += 1
            name = "::".join(par) or "crate root"
            print(f"import cycle in {crate} ({name}): {' ↔ '.join(comp)}", file=out)
            for a in comp:
                for b in comp:
                    if (a, b) in where:
                        f, line = where[(a, b)]
                        print(f"    {a} → {b}  ({os.path.relpath(f)}:{line})", file=out)
        for path, (full, _, raw) in sorted(mods.items()):
            lines = raw.count("\n") + (0 if raw.endswith("\n") or not raw else 1)
            if lines > max_lines:
                problems += 1
                print(f"{os.path.relpath(full)}: {lines} lines (limit {max_lines}): split it by concern", file=out)
    return problems


def check_code_map(crates_dir, doc, out=sys.stdout):
    """The code map (the table rows of `doc` naming `crate/src/…` paths) names only paths that
    exist, and every top-level module of every crate (its `src/x.rs` or `src/x/`)."""
    problems = 0
    named = set()
    crates = [c for c in sorted(os.listdir(crates_dir)) if os.path.isdir(os.path.join(crates_dir, c, "src"))]
    CODE_PATH = re.compile(r"`((?:" + "|".join(map(re.escape, crates)) + r")/src/[\w./]*)`")
    with open(doc, encoding="utf-8") as fh:
        rows = [line for line in fh if line.startswith("| ")]
    for row in rows:
        cells = row.split(" | ")
        first = CODE_PATH.findall(cells[0])
        # the first column may name more files of the first path's folder: `a/src/x.rs`, `y.rs`
        if first:
            base = first[0] if first[0].endswith("/") else os.path.dirname(first[0]) + "/"
            for extra in re.findall(r"`([\w./]+)`", cells[0]):
                if "/src/" not in extra:
                    first.append(base + extra)
        for path in first + CODE_PATH.findall(row):
            named.add(path.rstrip("/"))
    for path in sorted(named):
        if not os.path.exists(os.path.join(crates_dir, path)):
            problems += 1
            print(f"{os.path.relpath(doc)}: the code map names {path}, which does not exist", file=out)
    for crate in sorted(os.listdir(crates_dir)):
        src = os.path.join(crates_dir, crate, "src")
        if not os.path.isdir(src):
            continue
        for entry in sorted(os.listdir(src)):
            if entry in ("lib.rs",) or not (entry.endswith(".rs") or os.path.isdir(os.path.join(src, entry))):
                continue
            path = f"{crate}/src/{entry}"
            if not any(n == path or n.startswith(path + "/") for n in named):
                problems += 1
                print(f"{os.path.relpath(doc)}: the code map does not name {path}", file=out)
    return problems


def self_test():
    import io

    def tree(files):
        d = tempfile.mkdtemp()
        for p, text in files.items():
            full = os.path.join(d, "c", "src", p)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
        return d

    def run(files, max_lines=MAX_LINES):
        buf = io.StringIO()
        n = check(tree(files), max_lines, buf)
        return n, buf.getvalue()

    # a plain cycle, through grouped and inline paths
    n, text = run({"lib.rs": "mod a; mod b;", "a.rs": "use crate::{b::{X, Y}};", "b.rs": "fn f() { crate::a::g() }"})
    assert n == 1 and "a ↔ b" in text, text
    # one-way is fine; comments, strings, doc links and test modules do not count
    n, text = run({
        "lib.rs": "mod a; mod b;",
        "a.rs": "use crate::b::X;",
        "b.rs": "//! see [`crate::a`]\n/* crate::a::x */\nconst S: &str = \"crate::a::y\";\nconst R: &str = r#\"crate::a\"#;\n"
                "#[cfg(test)]\nmod tests { use crate::a::T; }\nfn f<'a>(c: char) -> bool { c == '\"' }\n",
    })
    assert n == 0, text
    # out-of-line test modules and tests/ folders are test code
    n, text = run({"lib.rs": "mod a; mod b;", "a.rs": "use crate::b::X;", "b/mod.rs": "#[cfg(test)]\nmod checks;\n",
                   "b/checks.rs": "use crate::a::Y;", "b/tests/x.rs": "use crate::a::Z;"})
    assert n == 0, text
    # super:: from a nested file module names its parent's siblings
    n, text = run({"lib.rs": "mod jobs;", "jobs/mod.rs": "mod deliver; mod page;", "jobs/deliver.rs": "use super::page::P;",
                   "jobs/page.rs": "fn f() { super::deliver::send() }"})
    assert n == 1 and "jobs" in text and "deliver ↔ page" in text, text
    # a child using its parent (mod.rs) is not a sibling cycle
    n, text = run({"lib.rs": "mod jobs;", "jobs/mod.rs": "mod page; pub use page::P; pub trait H {}", "jobs/page.rs": "use super::H;"})
    assert n == 0, text
    # a subtree's dependencies count for its top module
    n, text = run({"lib.rs": "mod a; mod b;", "a/mod.rs": "mod x;", "a/x.rs": "use crate::b::B;", "b.rs": "use crate::a::x::X;"})
    assert n == 1, text
    # long files
    n, text = run({"lib.rs": "mod a;", "a.rs": "fn f() {}\n" * 701})
    assert n == 1 and "701 lines" in text, text
    n, text = run({"lib.rs": "#[cfg(test)]\nmod tests;", "tests.rs": "fn f() {}\n" * 900})
    assert n == 0, text
    # the code map
    d = tree({"lib.rs": "mod a; mod b; mod c;", "a.rs": "", "b/mod.rs": "", "c.rs": ""})
    doc = os.path.join(d, "MAP.md")
    with open(doc, "w") as f:
        f.write("| `c/src/a.rs`, `c.rs` | x |\n| `c/src/gone.rs` | y |\n")
    buf = io.StringIO()
    n = check_code_map(d, doc, buf)
    assert n == 2 and "c/src/gone.rs, which does not exist" in buf.getvalue() and "not name c/src/b" in buf.getvalue(), buf.getvalue()
    print("check-structure self-test: ok")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("crates", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates"))
    ap.add_argument("--max-lines", type=int, default=MAX_LINES)
    ap.add_argument("--self-test", action="store_true", help="check the checker on made-up trees first")
    ap.add_argument("--code-map", metavar="DOC", help="also check the code map in DOC (e.g. ARCHITECTURE.md)")
    a = ap.parse_args()
    if a.self_test:
        self_test()
    n = check(os.path.normpath(a.crates), a.max_lines)
    if a.code_map:
        n += check_code_map(os.path.normpath(a.crates), a.code_map)
    if n:
        sys.stdout.flush()
        print(f"{n} structure problem(s): see ARCHITECTURE.md (layers; files split by concern)", file=sys.stderr)
        return 1
    print("structure: no import cycles, no source file over", a.max_lines, "lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
