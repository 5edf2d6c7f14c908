#!/usr/bin/env python3
"""Make the installed static archive: only the public lp_* API is global.

    static_archive.py OBJCOPY AR INPUT.a OUTPUT.a CC [CC-ARGS...]

Partially links every object of INPUT.a into one relocatable object
(`CC -r`), so the library's internal calls are resolved inside it, makes
the hidden symbols (everything not marked LP_API) local with
`objcopy --localize-hidden`, and archives that one object as OUTPUT.a. A
host linking OUTPUT.a beside its own code then cannot clash with, or
call, an internal symbol (idg_*, km_*, rfm_*, lp_vec_*, ...).
"""
import argparse
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    a = argparse.Namespace(objcopy=sys.argv[1], ar=sys.argv[2], input=sys.argv[3],
                           output=sys.argv[4], cc=sys.argv[5:])
    with tempfile.TemporaryDirectory(prefix="lp-static-") as tmp:
        obj = os.path.join(tmp, "libprofile.o")
        subprocess.run(a.cc + ["-r", "-nostdlib", "-o", obj, "-Wl,--whole-archive",
                               os.path.abspath(a.input), "-Wl,--no-whole-archive"], check=True)
        subprocess.run([a.objcopy, "--localize-hidden", obj], check=True)
        if os.path.exists(a.output):
            os.unlink(a.output)
        subprocess.run([a.ar, "rcs", a.output, obj], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
