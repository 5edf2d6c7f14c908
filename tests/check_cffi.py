#!/usr/bin/env python3
"""The public headers, after the C preprocessor, must parse with Python
cffi (no varargs, no bitfields, no struct by value), and the library must
load and answer through it."""
import os
import subprocess
import sys
import tempfile

import cffi


def main():
    cc, include_dir, lib = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as fake:
        # cffi knows size_t and the <stdint.h> types itself: empty stand-ins
        # keep the C library's own declarations out of the parse.
        for name in ("stddef.h", "stdint.h"):
            open(os.path.join(fake, name), "w").close()
        text = subprocess.run(
            [cc, "-E", "-P", "-nostdinc", "-I", fake, "-I", include_dir, "-DLP_API=",
             os.path.join(include_dir, "libprofile.h")],
            check=True, capture_output=True, text=True).stdout
    ffi = cffi.FFI()
    ffi.cdef(text)
    lp = ffi.dlopen(lib)
    version = ffi.string(lp.lp_version_string()).decode()
    if version != "%d.%d.%d" % (lp.lp_version() // 10000, lp.lp_version() // 100 % 100,
                                lp.lp_version() % 100):
        sys.exit(f"version mismatch through cffi: {version}")
    buf = ffi.new("lp_membuf **")
    if lp.lp_membuf_create(ffi.NULL, buf) != 0:
        sys.exit("lp_membuf_create failed through cffi")
    if lp.lp_membuf_write(buf[0], b"abc", 3) != 0 or lp.lp_membuf_size(buf[0]) != 3:
        sys.exit("lp_membuf_write failed through cffi")
    lp.lp_membuf_free(buf[0])
    print(f"cffi parsed {len(text)} bytes of declarations; libprofile {version} loaded")


if __name__ == "__main__":
    main()
