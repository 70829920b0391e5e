#!/usr/bin/env python3
"""Checks the shape of a crate's modules: no import cycle between the
top-level modules of SRC, and no source file over MAX lines.

usage: module_graph.py SRC [MAX]

A top-level module is a file `SRC/x.rs` or a folder `SRC/x/`; everything
under it counts as that module. A module depends on another when its code
names `crate::other`. Exits 1 and names each cycle and each long file.
"""

import re
import sys
from pathlib import Path

PATH = re.compile(r"\bcrate::(\w+)")
GROUP = re.compile(r"\buse\s+crate::\{(.*?)\};", re.S)
GROUP_ITEM = re.compile(r"(?:^|[{,])\s*(\w+)")


def top_module(src: Path, file: Path) -> str | None:
    first = file.relative_to(src).parts[0]
    name = first[:-3] if first.endswith(".rs") else first
    return None if name in ("lib", "main") else name


def without_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


def graph(src: Path) -> dict[str, set[str]]:
    deps: dict[str, set[str]] = {}
    for file in sorted(src.rglob("*.rs")):
        module = top_module(src, file)
        if module is None:
            continue
        code = without_comments(file.read_text(encoding="utf-8"))
        named = set(PATH.findall(code))
        for group in GROUP.findall(code):
            named.update(GROUP_ITEM.findall(group))
        deps.setdefault(module, set()).update(named - {module})
    modules = set(deps)
    return {m: {d for d in ds if d in modules} for m, ds in deps.items()}


def cycles(deps: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Kosaraju)."""
    order: list[str] = []
    seen: set[str] = set()
    for start in sorted(deps):
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(sorted(deps[start])))]
        while stack:
            node, edges = stack[-1]
            nxt = next((d for d in edges if d not in seen), None)
            if nxt is None:
                order.append(node)
                stack.pop()
            else:
                seen.add(nxt)
                stack.append((nxt, iter(sorted(deps[nxt]))))
    reverse: dict[str, set[str]] = {m: set() for m in deps}
    for m, ds in deps.items():
        for d in ds:
            reverse[d].add(m)
    groups, assigned = [], set()
    for root in reversed(order):
        if root in assigned:
            continue
        group, todo = [], [root]
        assigned.add(root)
        while todo:
            node = todo.pop()
            group.append(node)
            for prev in reverse[node] - assigned:
                assigned.add(prev)
                todo.append(prev)
        if len(group) > 1:
            groups.append(sorted(group))
    return groups


def main() -> int:
    src = Path(sys.argv[1])
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 450
    failed = False
    for group in cycles(graph(src)):
        print("import cycle between modules: " + " <-> ".join(group))
        failed = True
    for file in sorted(src.rglob("*.rs")):
        lines = file.read_text(encoding="utf-8").count("\n")
        if lines > limit:
            print(f"{file}: {lines} lines, over the {limit}-line limit")
            failed = True
    if not failed:
        print(f"{src}: no import cycles, no file over {limit} lines")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
