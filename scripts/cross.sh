#!/usr/bin/env bash
# Cross-architecture build and test under qemu user emulation (Debian 12).
#   scripts/cross.sh [ARCH...]      ARCH: s390x (big-endian), i386 (SSE2), aarch64
#                                   (default: all three, one after the other)
# Environment: CROSS_OUT (build folders, default build-ci/cross),
#              CROSS_JOBS (ninja -j and test processes, default 2).
# Installs what is missing (scripts/bootstrap.sh cross), registers the qemu
# binfmt handlers when it can (the Python-driven tests exec profilectl
# directly, not through meson's exe_wrapper), then for each ARCH configures
# build DIR/ARCH with cross/<triplet>.ini, builds and runs the tests.
#
# Not run in a cross build, each for a reason:
#   abi-baseline           the committed baseline describes the x86-64 ABI
#   cffi-parse             host Python's cffi parses with the host's types
#   example-python-identity  host Python cannot dlopen a foreign .so
#   reference suite        slow reference checks (sklearn, Online Retail):
#                          native builds run them
#   clv on s390x, bitmap on aarch64   minutes under qemu: each runs on i386
#                          (native speed) and on the other emulated ARCH
# Cross builds are -Werror like the native gcc and clang builds (32-bit
# size_t and the cross gcc's own warnings count as errors too). Each ARCH leaves
# DIR/ARCH/meson-logs/testlog.json, which scripts/test.sh counts.
# Exit status: 0 when every test passed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${CROSS_OUT:-build-ci/cross}
jobs=${CROSS_JOBS:-2}
[ $# -gt 0 ] || set -- s390x i386 aarch64

scripts/bootstrap.sh cross || exit 1

binfmt_ok=1
register_binfmt() { # qemu-user-binfmt ships the handlers; the kernel needs them registered
  local a
  for a in s390x aarch64; do
    [ -e /proc/sys/fs/binfmt_misc/qemu-$a ] && continue
    if [ "$(id -u)" -ne 0 ]; then binfmt_ok=0; continue; fi
    mountpoint -q /proc/sys/fs/binfmt_misc 2>/dev/null \
      || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
    if [ -w /proc/sys/fs/binfmt_misc/register ] && [ -r /usr/lib/binfmt.d/qemu-$a.conf ]; then
      cat /usr/lib/binfmt.d/qemu-$a.conf > /proc/sys/fs/binfmt_misc/register 2>/dev/null || true
    fi
    [ -e /proc/sys/fs/binfmt_misc/qemu-$a ] || binfmt_ok=0
  done
}
register_binfmt

# Unit tests that take minutes under emulation run on i386 (native speed)
# and on one emulated ARCH each: bitmap (integer, byte order) on s390x,
# clv (floating point) on aarch64.
slow_reason="slow under qemu; run on i386 and one other ARCH"
slow_on() {
  case "$1" in
    s390x) echo clv ;;
    aarch64) echo bitmap ;;
    *) echo "" ;;
  esac
}

status=0
mkdir -p "$out"
for arch in "$@"; do
  extra_ini=()
  case "$arch" in
    s390x) triplet=s390x-linux-gnu ;;
    aarch64|arm64) arch=aarch64; triplet=aarch64-linux-gnu ;;
    i386|i686) arch=i386; triplet=i686-linux-gnu
      # An x86-64 kernel runs i686 binaries itself; where it cannot, use qemu-i386.
      probe=$out/i686-probe
      printf 'int main(void) { return 0; }\n' > "$probe.c"
      if ! { i686-linux-gnu-gcc -o "$probe" "$probe.c" && "$probe"; } 2>/dev/null; then
        extra_ini=(--cross-file cross/i686-linux-gnu-qemu.ini)
      fi ;;
    *) echo "cross.sh: unknown ARCH '$arch' (s390x, i386, aarch64)" >&2; exit 2 ;;
  esac
  dir=$out/$arch
  printf '\n==> cross %s (%s)\n' "$arch" "$triplet"
  start=$(date +%s)
  rm -rf "$dir"
  if ! meson setup "$dir" --cross-file "cross/$triplet.ini" "${extra_ini[@]}" \
       -Dwerror=true -Dbench=false -Ddocs=disabled -Dfuzzing=replay >"$out/$arch-setup.log" 2>&1; then
    tail -n 30 "$out/$arch-setup.log" >&2
    echo "*** cross $arch: configure failed" >&2
    status=1
    continue
  fi
  if ! nice ninja -C "$dir" -j "$jobs" >"$out/$arch-build.log" 2>&1; then
    tail -n 40 "$out/$arch-build.log" >&2
    echo "*** cross $arch: build failed" >&2
    status=1
    continue
  fi
  # Which tests: all but those that cannot run cross, the reference suite,
  # and a slow test on one emulated ARCH where another covers it.
  skip_names=" abi-baseline cffi-parse example-python-identity $(slow_on "$arch") "
  skip_suites=" reference "
  if [ "$binfmt_ok" -eq 0 ] && [ "$arch" != i386 ]; then
    echo "cross $arch: no qemu binfmt handler (needs root and binfmt_misc):" \
         "skipping the suites that exec profilectl from Python" >&2
    skip_suites+="profilectl golden "
  fi
  tests=()
  while IFS= read -r line; do
    case "$line" in *" / "*) ;; *) continue ;; esac
    name=${line##* / }
    suites=${line%% / *}; suites=${suites#*:}
    keep=1
    case "$skip_names" in *" $name "*) keep=0 ;; esac
    for s in ${suites//+/ }; do
      case "$skip_suites" in *" $s "*) keep=0 ;; esac
    done
    [ "$keep" -eq 0 ] || tests+=("$name")
  done < <(meson test -C "$dir" --list 2>/dev/null)
  slow=$(slow_on "$arch")
  echo "cross $arch: not run here: abi-baseline (the baseline is x86-64), cffi-parse (host cffi)," \
       "example-python-identity (host Python cannot load a foreign .so), the reference suite" \
       "(slow; native builds run it)${slow:+, $slow ($slow_reason)}"
  # qemu-user cannot run a forked copy of a process with threads (the
  # child dies or hangs): profilectl run saves in-process here.
  # Under emulation the slowest property tests run a quarter of their random
  # cases (LP_TEST_QUICK, tests/harness/lp_test.h); i386 runs natively, all.
  quick=1
  [ "$arch" != i386 ] || quick=0
  LP_TEST_QUICK=$quick PROFILECTL_TEST_SAVE=in-process nice meson test -C "$dir" --num-processes "$jobs" \
    --timeout-multiplier 6 --print-errorlogs \
    "${tests[@]}" || status=1
  warnings=$(grep -c 'warning:' "$out/$arch-build.log" || true)
  [ "$warnings" -eq 0 ] || echo "cross $arch: $warnings compiler warnings (see $out/$arch-build.log)" >&2
  end=$(date +%s)
  echo "cross $arch: $((end - start)) s (configure, build and tests)" | tee "$out/$arch-time.txt"
done
cd "$root"
exit $status
