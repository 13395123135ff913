#!/usr/bin/env python3
"""Checks the internal links of the documentation site (docs/src/**/*.md) and of README.md.

Every relative link must point at a file that exists, a link inside the book must stay inside
docs/src (the site has no other files), and a `#fragment` must name a heading of the target page
(mdBook's heading ids: lower case, spaces to '-', other punctuation dropped, repeats numbered).
Every page must be listed in docs/src/SUMMARY.md. External links (http, https, mailto) are not
fetched. Exit code 1 with one line per broken link: FILE:LINE: what is wrong.

    scripts/check-docs-links.py [REPO_ROOT]
"""

import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
SRC = os.path.join(ROOT, "docs", "src")
LINK = re.compile(r"(?<!\!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def strip_code(line):
    return re.sub(r"`[^`]*`", "", line)


def lines_outside_fences(text):
    fence = False
    for n, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```"):
            fence = not fence
            continue
        if not fence:
            yield n, line


def heading_ids(path):
    ids, seen = set(), {}
    for _, line in lines_outside_fences(open(path, encoding="utf-8").read()):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1)).replace("`", "")
        base = "".join(c.lower() if (c.isalnum() or c in "-_") else "-" if c.isspace() else "" for c in text)
        n = seen.get(base, 0)
        seen[base] = n + 1
        ids.add(base if n == 0 else f"{base}-{n}")
    return ids


def check(path, in_book, problems):
    text = open(path, encoding="utf-8").read()
    rel = os.path.relpath(path, ROOT)
    for n, line in lines_outside_fences(text):
        for m in LINK.finditer(strip_code(line)):
            target = m.group(1)
            if re.match(r"^[a-z]+:", target):
                continue
            file_part, _, frag = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            if not os.path.exists(dest):
                problems.append(f"{rel}:{n}: {target}: no such file")
                continue
            if in_book and not dest.startswith(SRC + os.sep):
                problems.append(f"{rel}:{n}: {target}: points outside docs/src (the site has no such page; name the repository path in code instead)")
                continue
            if frag and dest.endswith(".md") and frag not in heading_ids(dest):
                problems.append(f"{rel}:{n}: {target}: {os.path.relpath(dest, ROOT)} has no heading #{frag}")


def main():
    problems = []
    pages = []
    for d, _, files in os.walk(SRC):
        pages += [os.path.join(d, f) for f in files if f.endswith(".md")]
    for p in sorted(pages):
        check(p, True, problems)
    check(os.path.join(ROOT, "README.md"), False, problems)
    summary = open(os.path.join(SRC, "SUMMARY.md"), encoding="utf-8").read()
    listed = {os.path.normpath(os.path.join(SRC, t)) for t in re.findall(r"\]\(([^)]+\.md)\)", summary)}
    for p in sorted(pages):
        if not p.endswith("SUMMARY.md") and p not in listed:
            problems.append(f"{os.path.relpath(p, ROOT)}: not listed in docs/src/SUMMARY.md")
    for p in problems:
        print(p)
    print(f"docs links: {len(pages)} pages, {len(problems)} broken")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
