#!/bin/sh
# Install what libprofile needs on Debian 12, but only what is missing.
#   scripts/bootstrap.sh build   compilers, Meson, xxHash headers
#   scripts/bootstrap.sh test    everything the full test suite uses
# Runs apt-get as root, or through sudo when not root.
set -eu
what=${1:-build}

build_pkgs="meson ninja-build gcc g++ pkg-config libxxhash-dev python3"
test_pkgs="$build_pkgs clang libclang-rt-14-dev libcmocka-dev python3-cffi abigail-tools doxygen binutils valgrind"
case "$what" in
  build) pkgs=$build_pkgs ;;
  test) pkgs=$test_pkgs ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing packages:$missing (no apt-get here: install them by hand)" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "missing packages:$missing (run as root, or install sudo)" >&2
  exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
