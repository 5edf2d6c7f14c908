#!/bin/sh
# Install what libprofile needs on Debian 12, but only what is missing.
#   scripts/bootstrap.sh build   compilers, Meson, xxHash headers
#   scripts/bootstrap.sh test    everything the full test suite uses
#   scripts/bootstrap.sh cross   cross compilers, qemu-user and the s390x,
#                                i386 and arm64 cmocka/xxHash (multiarch)
# Runs apt-get as root, or through sudo when not root.
set -eu
what=${1:-build}

build_pkgs="meson ninja-build gcc g++ pkg-config libxxhash-dev python3"
test_pkgs="$build_pkgs clang libclang-rt-14-dev libcmocka-dev python3-cffi abigail-tools doxygen binutils valgrind gcovr libroaring-dev python3-numpy python3-pandas python3-sklearn python3-scipy python3-pytest python3-distributed python3-pip python3-setuptools golang-go chromium libsqlite3-dev"
# Cross: the gcc cross toolchains bring their own libc headers; libc6-dev:<arch>
# is not wanted (its linux-libc-dev must equal the host's version). The
# targets' libc6 comes along with libcmocka-dev:<arch> through multiarch.
cross_arches="s390x i386 arm64"
cross_pkgs="$build_pkgs libcmocka-dev qemu-user qemu-user-binfmt binfmt-support
  gcc-s390x-linux-gnu g++-s390x-linux-gnu gcc-aarch64-linux-gnu g++-aarch64-linux-gnu
  gcc-i686-linux-gnu g++-i686-linux-gnu
  libcmocka-dev:s390x libxxhash-dev:s390x libcmocka-dev:arm64 libxxhash-dev:arm64
  libcmocka-dev:i386 libxxhash-dev:i386"
case "$what" in
  build) pkgs=$build_pkgs ;;
  test) pkgs=$test_pkgs ;;
  cross) pkgs=$cross_pkgs ;;
  *) echo "usage: $0 build|test|cross" >&2; exit 2 ;;
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
if [ "$what" = cross ]; then
  for a in $cross_arches; do
    dpkg --print-foreign-architectures | grep -qx "$a" || $sudo dpkg --add-architecture "$a"
  done
  # A mirror-sync error on one foreign index must not stop the install.
  $sudo apt-get update -qq || echo "apt-get update reported an error; trying the install anyway" >&2
else
  $sudo apt-get update -qq
fi
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
