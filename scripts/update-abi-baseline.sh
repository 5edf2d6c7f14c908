#!/bin/sh
# Regenerate abi/libprofile.abi from a fresh debug build. Run at a release,
# after checking that every change against the old baseline is intended.
set -eu
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
meson setup "$dir" -Dbuildtype=debug -Dtests=disabled -Dbench=false -Dfuzzing=none -Ddocs=disabled >/dev/null
ninja -C "$dir" >/dev/null
mkdir -p abi
abidw --headers-dir include --no-corpus-path --out-file abi/libprofile.abi "$dir/src/libprofile.so.1"
rm -rf "$dir"
echo "wrote abi/libprofile.abi"
