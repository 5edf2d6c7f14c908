#!/usr/bin/env python3
"""The CLI reaches only the public API and the internal containers library.

Usage: check_includes.py TOOLS_DIR

profilectl links the public library plus, on purpose, lp_containers (the
src/core containers, built as their own small library; see the end of
src/meson.build). Every `#include "..."` under TOOLS_DIR must be a file of
the tool itself, the public headers, or one of the container headers below.
"""
import os
import re
import sys

CONTAINERS = {"core/" + h for h in (
    "arena.h", "common.h", "error.h", "hash.h", "map.h", "mem.h", "rng.h", "strpool.h",
    "utf8.h", "vec.h")}


def main():
    root = sys.argv[1]
    own = set(os.listdir(root))
    bad = []
    for name in sorted(own):
        if not name.endswith((".c", ".h")):
            continue
        with open(os.path.join(root, name), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if m is None:
                    continue
                inc = m.group(1)
                if inc in own or inc == "libprofile.h" or inc.startswith("libprofile/") \
                        or inc in CONTAINERS:
                    continue
                bad.append("%s:%d: includes %s (not public, not a container)" % (name, n, inc))
    if bad:
        print("\n".join(bad))
        return 1
    print("profilectl includes only public headers and the containers library")
    return 0


sys.exit(main())
