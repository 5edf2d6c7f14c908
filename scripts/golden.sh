#!/bin/sh
# Golden outputs (tests/golden): check them, or regenerate the digests.
#   scripts/golden.sh BUILDDIR            compare this build's outputs with
#                                         tests/golden/digests.txt
#   scripts/golden.sh --update BUILDDIR   rewrite tests/golden/digests.txt from
#                                         this build (x86-64; then check every
#                                         architecture with scripts/cross.sh and
#                                         say in the commit why digests moved)
#   scripts/golden.sh --keep DIR BUILDDIR  also leave the outputs in DIR
# BUILDDIR is a configured Meson build of this tree; it is brought up to date.
set -eu
cd "$(dirname "$0")/.."
extra=""
while [ $# -gt 1 ]; do
  case "$1" in
    --update) extra="$extra --update"; shift ;;
    --keep) extra="$extra --keep $2"; shift 2 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--update] [--keep DIR] BUILDDIR" >&2; exit 2; }
build=$1
ninja -C "$build" tools/profilectl/profilectl tests/golden/golden_snapshots >/dev/null
# shellcheck disable=SC2086
exec python3 tests/golden/golden.py $extra \
  --profilectl "$build/tools/profilectl/profilectl" \
  --snapshots "$build/tests/golden/golden_snapshots" \
  --corpus fuzz/corpus --digests tests/golden/digests.txt
