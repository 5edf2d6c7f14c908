#!/usr/bin/env bash
# Build libprofile and run the main program on its built-in demo data set
# (identity -> RFM -> k-means), then the C example.
# Installs what is missing (Debian 12) first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh build
if [ ! -d build/meson-info ]; then
  meson setup build -Dbuildtype=release -Dtests=disabled -Ddocs=disabled >/dev/null
fi
ninja -C build >/dev/null
echo "\$ profilectl version"
build/tools/profilectl/profilectl version
echo
echo "\$ profilectl demo --people 5000"
build/tools/profilectl/profilectl demo --people 5000
echo
echo "\$ examples/counting_allocator"
build/examples/counting_allocator
