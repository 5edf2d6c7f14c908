#!/usr/bin/env python3
"""Calling libprofile from Python through cffi (ABI mode, no compiler at
run time beyond the preprocessor used once to read the header).

Merges three events of one person seen on the web, in the app and in the
CRM, then asks which profile an e-mail spelled differently belongs to.

Usage: identity_demo.py LIBPROFILE_SO INCLUDE_DIR [CC]
"""
import os
import subprocess
import sys
import tempfile

import cffi


def load(lib_path, include_dir, cc):
    ffi = cffi.FFI()
    with tempfile.TemporaryDirectory() as fake:
        # cffi knows size_t and the stdint types: empty stand-ins keep the C
        # library's own headers out of the declarations.
        for name in ("stddef.h", "stdint.h"):
            open(os.path.join(fake, name), "w").close()
        decls = subprocess.run(
            [cc, "-E", "-P", "-nostdinc", "-I", fake, "-I", include_dir, "-DLP_API=",
             os.path.join(include_dir, "libprofile.h")],
            check=True, capture_output=True, text=True).stdout
    ffi.cdef(decls)
    return ffi, ffi.dlopen(lib_path)


def check(rc, lp, ffi, graph):
    if rc != 0:
        raise RuntimeError(ffi.string(lp.lp_idgraph_errmsg(graph)).decode())


def main():
    lib_path, include_dir = sys.argv[1], sys.argv[2]
    cc = sys.argv[3] if len(sys.argv) > 3 else "cc"
    ffi, lp = load(lib_path, include_dir, cc)

    out = ffi.new("lp_idgraph **")
    if lp.lp_idgraph_create(ffi.NULL, out) != 0:
        raise RuntimeError("lp_idgraph_create failed")
    graph = ffi.gc(out[0], lp.lp_idgraph_free)  # freed with the Python object
    key = b"host secret"
    check(lp.lp_idgraph_set_key(graph, key, len(key)), lp, ffi, graph)

    types = {}
    for name, priority, norm, unique in (("user_id", 100, lp.LP_IDGRAPH_NORM_GENERIC, 1),
                                         ("email", 80, lp.LP_IDGRAPH_NORM_EMAIL_GMAIL, 0),
                                         ("cookie", 10, lp.LP_IDGRAPH_NORM_GENERIC, 0)):
        d = ffi.new("lp_idgraph_type_def *")
        d.struct_size = ffi.sizeof("lp_idgraph_type_def")
        cname = ffi.new("char[]", name.encode())
        d.name = cname
        d.priority = priority
        d.unique = unique
        d.normalizer = norm
        tid = ffi.new("uint32_t *")
        check(lp.lp_idgraph_add_type(graph, d, tid), lp, ffi, graph)
        types[name] = tid[0]

    events = [
        (1700000000, b"web", [("cookie", b"ck-123"), ("email", b"Jane.Doe+news@GoogleMail.com")]),
        (1700003600, b"app", [("user_id", b"u42"), ("email", b"janedoe@gmail.com")]),
        (1700007200, b"crm", [("user_id", b"u42")]),
    ]
    keep = []  # the byte strings must outlive each call
    for ts, source, ids in events:
        arr = ffi.new("lp_idgraph_ident[]", len(ids))
        for i, (tname, value) in enumerate(ids):
            buf = ffi.new("char[]", value)
            keep.append(buf)
            arr[i].type = types[tname]
            arr[i].value = buf
            arr[i].len = len(value)
        pid = ffi.new("uint64_t *")
        check(lp.lp_idgraph_observe(graph, arr, len(ids), ts, source, len(source), pid),
              lp, ffi, graph)

    stats = ffi.new("lp_idgraph_stats *")
    stats.struct_size = ffi.sizeof("lp_idgraph_stats")
    check(lp.lp_idgraph_get_stats(graph, stats), lp, ffi, graph)
    a, b = ffi.new("uint64_t *"), ffi.new("uint64_t *")
    check(lp.lp_idgraph_profile_of(graph, types["cookie"], b"ck-123", 6, a), lp, ffi, graph)
    email = b" JANE.DOE@gmail.com "
    check(lp.lp_idgraph_profile_of(graph, types["email"], email, len(email), b), lp, ffi, graph)
    print(f"libprofile {ffi.string(lp.lp_version_string()).decode()} from Python: "
          f"{stats.events} events, {stats.identifiers} identifiers, {stats.profiles} profile(s)")
    print(f"cookie ck-123 -> {a[0]:#018x}; e-mail '{email.decode().strip()}' -> {b[0]:#018x}")
    if stats.profiles != 1 or stats.identifiers != 3 or a[0] != b[0]:
        sys.exit("expected one profile holding the cookie, the e-mail and the login")


if __name__ == "__main__":
    main()
