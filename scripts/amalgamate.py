#!/usr/bin/env python3
"""Write the single-file amalgamation: OUTDIR/libprofile.c + OUTDIR/libprofile.h.

    amalgamate.py [--xxhash-include DIR] OUTDIR

Sources are every .c file named in src/<dir>/meson.build, for every folder
that src/meson.build builds (its subdir() calls, in order), so a new module
is picked up without editing this script. libprofile.h is include/libprofile.h with the public headers inlined.
libprofile.c inlines xxHash (XXH_INLINE_ALL: every xxHash function static,
under xxHash's private XXH_INLINE_ namespace), then the private headers and
the sources. Every internal function is declared `static` (through the macro
LP__INTERNAL, which -DLP_AMALGAMATION_EXTERN_INTERNALS turns into plain extern
declarations, for the unit tests that call internals); the region is also
between `#pragma GCC visibility push(hidden)` and `pop`, so only the LP_API
declarations (visibility "default") are exported. File-static names that two
sources both define are renamed per file with a #define, and the macros a
source defines are #undef'd after it.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def sources():
    src = os.path.join(ROOT, "src")
    # The modules src/meson.build builds: its subdir() calls, in order.
    with open(os.path.join(src, "meson.build")) as f:
        text = re.sub(r"#.*", "", f.read())
    dirs = [d for d in re.findall(r"subdir\(\s*'([\w-]+)'\s*\)", text)
            if os.path.isfile(os.path.join(src, d, "meson.build"))]
    out = []
    for d in dirs:
        with open(os.path.join(src, d, "meson.build")) as f:
            text = re.sub(r"#.*", "", f.read())
        for name in re.findall(r"'([\w./-]+\.c)'", text):
            path = os.path.join(src, d, name)
            if os.path.isfile(path) and path not in out:
                out.append(path)
    return out


class Inliner:
    def __init__(self, search, xxhash_dir):
        self.search = search
        self.xxhash_dir = xxhash_dir
        self.seen = set()
        self.system = []

    def resolve(self, name, here):
        for d in [os.path.dirname(here)] + self.search:
            p = os.path.normpath(os.path.join(d, name))
            if os.path.isfile(p):
                return p
        return None

    def inline(self, path, out, own=None):
        """Append path's text to out with its quoted includes inlined once;
        own(line) rewrites the lines of path itself (not of its headers)."""
        if path in self.seen:
            return
        self.seen.add(path)
        rel = os.path.relpath(path, ROOT)
        out.append(f"/* ---- {rel} ---- */\n")
        # A system header included under a condition (an SSE2 intrinsics
        # header, say) stays where it is, under that condition; the others
        # are hoisted to the top once. A header's include guard is the one
        # condition that does not count.
        depth, guard = 0, 1 if path.endswith(".h") else 0
        with open(path) as f:
            for line in f:
                if own is not None:
                    line = own(line)
                d = line.lstrip()
                if re.match(r"#\s*if", d):
                    depth += 1
                elif re.match(r"#\s*endif", d):
                    depth -= 1
                m = INCLUDE.match(line)
                if m and m.group(1) == "<" and depth > guard and m.group(2) != "xxhash.h":
                    out.append(line)
                    continue
                if m and m.group(1) == "<":
                    if m.group(2) == "xxhash.h":
                        continue  # inlined once at the top
                    if m.group(2) not in self.system:
                        self.system.append(m.group(2))
                    continue
                if m:
                    p = self.resolve(m.group(2), path)
                    if p is None:
                        sys.exit(f"amalgamate: {rel}: cannot find \"{m.group(2)}\"")
                    self.inline(p, out)
                    continue
                out.append(line)
        if not out[-1].endswith("\n"):
            out.append("\n")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def file_scope_names(text):
    """File-static functions/objects, types and tags defined in a source, and its macros."""
    t = strip_comments(text)
    names = set()
    for m in re.finditer(r"^static\b[^;{=]*?\b(\w+)\s*\(", t, re.M):
        names.add(m.group(1))
    for m in re.finditer(r"^static\b(?:(?!\().)*?\b(\w+)\s*(?:\[[^\]]*\])*\s*[=;]", t, re.M):
        names.add(m.group(1))
    for m in re.finditer(r"^(?:typedef\s+)?(?:struct|union|enum)\s+(\w+)\s*\{", t, re.M):
        names.add(m.group(1))
    for m in re.finditer(r"^typedef\b[^;{]*?\b(\w+)\s*;", t, re.M):
        names.add(m.group(1))
    for m in re.finditer(r"^}\s*(\w+)\s*;", t, re.M):
        names.add(m.group(1))
    # enumerators of file-local enums
    for m in re.finditer(r"^(?:typedef\s+)?enum\b[^{;]*\{([^}]*)\}", t, re.M):
        for e in re.findall(r"(?:^|,)\s*(\w+)", m.group(1)):
            names.add(e)
    macros = set(re.findall(r"^\s*#\s*define\s+(\w+)", t, re.M))
    return names - {"static", "inline", "const"}, macros


FUNC_LINE = re.compile(
    r"^(?!static\b|typedef\b|extern\b|return\b|LP_API\b|#|struct\s+\w+\s*\{|union\b|enum\b)"
    r"([A-Za-z_][\w \t*]*?[\s*])(\w+)\s*\(")


def public_names():
    names = set()
    src = os.path.join(ROOT, "src")
    for d in os.listdir(src):
        dd = os.path.join(src, d)
        if not os.path.isdir(dd):
            continue
        for f in os.listdir(dd):
            if f.startswith("exports") and f.endswith(".txt"):
                with open(os.path.join(dd, f)) as fh:
                    for line in fh:
                        w = line.split()
                        if len(w) == 2 and not line.startswith("#"):
                            names.add(w[1])
    return names


EXTERN_DATA = re.compile(r"^extern\s+(?!\"C\")[^();{}]*;")
DECLARATOR = re.compile(r"\b(\w+)\s*((?:\[[^\]]*\])*)\s*(?=[,;])")
DATA_DEF = re.compile(
    r"^(?!static\b|typedef\b|extern\b|return\b|LP_API\b|#|struct\s+\w+\s*\{|union\b|enum\b)"
    r"([A-Za-z_][\w \t*]*?[\s*])(\w+)\s*(?:\[[^\]]*\])*\s*=")


def internalize(lines, public):
    """Mark column-0 declarations and definitions of internal functions and
    objects (an extern array of unknown size stays extern, and hidden)."""
    out = []
    n = 0
    for line in lines:
        for piece in line.splitlines(keepends=True):
            m = FUNC_LINE.match(piece) or DATA_DEF.match(piece)
            if m and m.group(2) not in public and m.group(1).strip() not in ("else", "do"):
                piece = "LP__INTERNAL " + piece
                n += 1
            elif EXTERN_DATA.match(piece):
                # "extern T a, b[4];": static when no name is public and no
                # array is of unknown size (that needs extern; it stays hidden)
                decl = DECLARATOR.findall(piece)
                if decl and all(d[0] not in public and "[]" not in d[1].replace(" ", "")
                                for d in decl):
                    piece = "LP__INTERNAL " + piece[len("extern"):].lstrip()
                    n += 1
            out.append(piece)
    return out, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xxhash-include", default=None,
                    help="folder holding xxhash.h (default: pkg-config, then /usr/include)")
    ap.add_argument("outdir")
    args = ap.parse_args()
    xdir = args.xxhash_include
    if xdir is None:
        try:
            import subprocess
            flags = subprocess.run(["pkg-config", "--cflags-only-I", "libxxhash"],
                                   capture_output=True, text=True).stdout.split()
            cands = [f[2:] for f in flags] + ["/usr/include", "/usr/local/include"]
        except OSError:
            cands = ["/usr/include", "/usr/local/include"]
        xdir = next((d for d in cands if os.path.isfile(os.path.join(d, "xxhash.h"))), None)
    if xdir is None or not os.path.isfile(os.path.join(xdir, "xxhash.h")):
        sys.exit("amalgamate: xxhash.h not found (pass --xxhash-include DIR)")
    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(ROOT, "meson.build")) as f:
        version = re.search(r"version:\s*'([^']+)'", f.read()).group(1)
    banner = (f"/* libprofile {version}, single-file amalgamation, generated by\n"
              " * scripts/amalgamate.sh: do not edit (edit the sources instead).\n"
              " * SPDX-License-Identifier: MIT (xxHash inside: BSD-2-Clause, see below).\n"
              " * Build: cc -std=c99 -O2 -c libprofile.c  (libprofile.h next to it). */\n")

    inc = os.path.join(ROOT, "include")
    src = os.path.join(ROOT, "src")

    # libprofile.h: the public headers, inlined.
    pub = Inliner([inc], xdir)
    hdr = []
    pub.inline(os.path.join(inc, "libprofile.h"), hdr)
    sys_h = "".join(f"#include <{s}>\n" for s in pub.system)
    body = "".join(hdr)
    with open(os.path.join(args.outdir, "libprofile.h"), "w") as f:
        f.write(banner + "#ifndef LIBPROFILE_AMALGAMATION_H\n#define LIBPROFILE_AMALGAMATION_H\n"
                + sys_h + body + "#endif /* LIBPROFILE_AMALGAMATION_H */\n")

    # libprofile.c
    files = sources()
    priv = Inliner([src, inc], xdir)
    priv.seen |= pub.seen  # public headers come through libprofile.h
    scoped = {}
    count = {}
    for p in files:
        with open(p) as f:
            names, macros = file_scope_names(f.read())
        scoped[p] = (names, macros)
        for n in names:
            count[n] = count.get(n, 0) + 1
    clash = {n for n, c in count.items() if c > 1}
    public = public_names()
    marked = 0
    parts = []
    for p in files:
        stem = re.sub(r"\W", "_", os.path.relpath(p, src)[:-2])
        names, macros = scoped[p]
        ren = sorted(names & clash)
        text = []
        own = None
        if ren:
            # Rename the clashing file-static names in this file's own lines,
            # but not member names (after '.' or '->').
            pat = re.compile(r"(?<![.\w])(?<!->)\b(" + "|".join(map(re.escape, ren)) + r")\b")
            own = lambda line, stem=stem, pat=pat: pat.sub(lambda m: f"lp__{stem}__{m.group(1)}", line)
        priv.inline(p, text, own)
        text, k = internalize(text, public)
        marked += k
        undefs = "".join(f"#undef {n}\n" for n in sorted(macros))
        parts.append("".join(text) + undefs)
    with open(os.path.join(xdir, "xxhash.h")) as f:
        xxh = f.read()
    sys_c = "".join(f"#include <{s}>\n" for s in priv.system if s not in pub.system)
    out = (banner
           + "#define LP_BUILDING 1\n#define LP_AMALGAMATION 1\n"
           + "#include \"libprofile.h\"\n" + sys_c
           + "/* The library computes in double only: FLT_EVAL_METHOD 0 (or 1,\n"
           + " * float as double) keeps results bit-identical across platforms;\n"
           + " * on 32-bit x86 compile with -msse2 -mfpmath=sse. */\n"
           + "#include <float.h>\n"
           + "/* No fused multiply-add contraction (the Meson build's -ffp-contract=off):\n"
           + " * clang honours the standard pragma; gcc contracts only outside ISO C\n"
           + " * modes, so build with -std=c99 (or c11) or -ffp-contract=off. */\n"
           + "#if defined(__clang__)\n#pragma STDC FP_CONTRACT OFF\n"
           + "#elif defined(__GNUC__) && !defined(__STRICT_ANSI__) && !defined(LP_ALLOW_FP_CONTRACT)\n"
           + "#pragma GCC optimize(\"fp-contract=off\")\n#endif\n"
           + "#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0 && FLT_EVAL_METHOD != 1 \\\n"
           + "    && !defined(LP_ALLOW_EXCESS_PRECISION)\n"
           + "#error \"libprofile: FLT_EVAL_METHOD is not 0 or 1 (x87?): use -msse2 -mfpmath=sse, \" \\\n"
           + "       \"or define LP_ALLOW_EXCESS_PRECISION to accept results that differ in the last bits\"\n"
           + "#endif\n"
           + "/* ---- xxHash (" + os.path.join(xdir, "xxhash.h") + "), every function static ---- */\n"
           + "#define XXH_INLINE_ALL\n" + xxh + "\n"
           + "#ifdef LP_AMALGAMATION_EXTERN_INTERNALS\n#define LP__INTERNAL\n#else\n"
           + "#define LP__INTERNAL static /* internal: not visible outside this file */\n#endif\n"
           + "#if defined(__GNUC__) && __GNUC__ >= 4\n#pragma GCC visibility push(hidden)\n"
           + "#pragma GCC diagnostic push\n"
           + "#pragma GCC diagnostic ignored \"-Wunused-function\"\n#endif\n"
           + "".join(parts)
           + "#if defined(__GNUC__) && __GNUC__ >= 4\n#pragma GCC diagnostic pop\n"
           + "#pragma GCC visibility pop\n#endif\n")
    with open(os.path.join(args.outdir, "libprofile.c"), "w") as f:
        f.write(out)
    print(f"amalgamate: {len(files)} sources -> {args.outdir}/libprofile.c "
          f"({len(out)} bytes), libprofile.h; {marked} internal declarations static, "
          f"{len(clash)} clashing file-static names renamed ({' '.join(sorted(clash))})")


if __name__ == "__main__":
    main()
