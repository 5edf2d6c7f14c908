#!/bin/sh
# Single-file amalgamation: OUTDIR/libprofile.c + OUTDIR/libprofile.h.
#   scripts/amalgamate.sh OUTDIR
# Every module folder src/meson.build builds is included (its lp_sources list),
# so new modules need no change here. Build the result with any C99 compiler:
#   cc -std=c99 -O2 -c OUTDIR/libprofile.c
# (also: `ninja -C BUILDDIR amalgamation` writes BUILDDIR/amalgamation/).
# See docs/vendoring.md. Needs python3 and the xxHash header (libxxhash-dev).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
exec python3 "$(dirname "$0")/amalgamate.py" "$1"
