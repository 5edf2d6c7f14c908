#!/usr/bin/env python3
"""Fail unless every global symbol DEFINED in an archive or object is public.

    check_static_symbols.py NM FILE EXPORTS.txt...

FILE is the installed static archive (libprofile.a) or the amalgamation's
object; the public API is the union of the export lists (src/*/exports*.txt).
Internal symbols (idg_*, km_*, rfm_*, lp_vec_*, ...) must be local there, or
a host that links the archive beside its own code could clash with them.
"""
import subprocess
import sys


def main():
    nm, path, lists = sys.argv[1], sys.argv[2], sys.argv[3:]
    public = set()
    for p in lists:
        with open(p, encoding="utf-8") as f:
            for line in f:
                w = line.split("#", 1)[0].split()
                if len(w) == 2:
                    public.add(w[1])
    out = subprocess.run([nm, "-g", "--defined-only", path], check=True,
                         capture_output=True, text=True).stdout
    defined = set()
    for line in out.splitlines():
        w = line.split()
        if len(w) >= 3:
            defined.add(w[2])
    extra = sorted(defined - public)
    for name in extra:
        print(f"non-public global symbol: {name}")
    missing = sorted(public - defined)
    for name in missing:
        print(f"public symbol not defined: {name}")
    print(f"{path}: {len(defined)} global symbols, {len(extra)} not public, "
          f"{len(missing)} public ones missing")
    return 1 if extra or missing else 0


if __name__ == "__main__":
    sys.exit(main())
