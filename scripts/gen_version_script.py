#!/usr/bin/env python3
"""Build the linker version script from the per-module export lists.

Each src/<module>/exports.txt line is "NODE symbol" (e.g. "LIBPROFILE_1.0
lp_version"); blank lines and '#' comments are ignored. Nodes are emitted in
version order, each inheriting from the previous one, so every release adds
exactly one node and old symbols keep their version.
"""
import sys


def parse(paths):
    nodes = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                parts = line.split()
                if len(parts) != 2 or not parts[1].startswith("lp_"):
                    sys.exit(f"{path}:{lineno}: expected 'NODE lp_symbol'")
                nodes.setdefault(parts[0], set()).add(parts[1])
    return nodes


def node_key(name):
    return tuple(int(x) for x in name.split("_", 1)[1].split("."))


def main():
    out, inputs = sys.argv[1], sys.argv[2:]
    nodes = parse(inputs)
    text, prev = [], None
    for name in sorted(nodes, key=node_key):
        syms = "".join(f"    {s};\n" for s in sorted(nodes[name]))
        local = "  local:\n    *;\n" if prev is None else ""
        tail = "};" if prev is None else f"}} {prev};"
        text.append(f"{name} {{\n  global:\n{syms}{local}{tail}\n")
        prev = name
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(text))


if __name__ == "__main__":
    main()
