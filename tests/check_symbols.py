#!/usr/bin/env python3
"""Fail unless the shared library exports exactly the symbols listed in the
export lists (src/*/exports.txt), each under its version node."""
import subprocess
import sys


def expected(paths):
    want = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.split("#", 1)[0].split()
                if line:
                    want[line[1]] = line[0]
    return want


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    got = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[1] == "A":
            continue  # version node definitions
        name, _, node = parts[2].partition("@@")
        if not node:
            name, _, node = parts[2].partition("@")
        got[name] = node
    return got


def main():
    lib, lists = sys.argv[1], sys.argv[2:]
    want, got = expected(lists), exported(lib)
    errors = []
    for name in sorted(set(got) - set(want)):
        errors.append(f"unexpected export: {name}")
    for name in sorted(set(want) - set(got)):
        errors.append(f"missing export: {name}")
    for name in sorted(set(want) & set(got)):
        if want[name] != got[name]:
            errors.append(f"{name}: version {got[name] or '(none)'}, expected {want[name]}")
    for e in errors:
        print(e)
    print(f"{len(got)} exported symbols checked, {len(errors)} problems")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
