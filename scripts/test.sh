#!/usr/bin/env bash
# The full test suite, exactly as CI runs it (.ci/run calls this).
# Installs what is missing (Debian 12), then: gcc and clang builds with
# -Werror and all tests, a clang ASan+UBSan build under the asan setup, the
# Doxygen build (warnings are errors), an install + pkg-config consumer
# check (shared and static), and a short libFuzzer session.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/bootstrap.sh test

out=build-ci
rm -rf "$out"
mkdir -p "$out"
passed=0
failed=0

count_results() { # meson's JSON test log -> running totals
  local log=$1/meson-logs/testlog${2:+-$2}.json
  local p f
  p=$(grep -c '"result": "OK"' "$log" || true)
  f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
  passed=$((passed + p))
  failed=$((failed + f))
}

run_suite() { # name, setup args..., then meson test args
  local dir=$1; shift
  if ! meson test -C "$dir" --print-errorlogs --num-processes 2 "$@"; then
    echo "*** tests failed in $dir" >&2
  fi
}

# Each step prints how long the one before it took, so CI's log shows where
# its time goes.
step_name="" step_start=$SECONDS
step_end() { [ -z "$step_name" ] || printf '<== %s: %d s\n' "$step_name" $((SECONDS - step_start)); }
step() { step_end; step_name=$*; step_start=$SECONDS; printf '\n==> %s\n' "$*"; }

step "gcc -Werror build"
meson setup "$out/gcc" -Dwerror=true -Dbuildtype=debugoptimized >/dev/null
ninja -C "$out/gcc"
run_suite "$out/gcc"
count_results "$out/gcc"

step "Doxygen (warnings are errors)"
if ninja -C "$out/gcc" docs; then
  passed=$((passed + 1))
else
  echo "*** Doxygen reported warnings (treated as errors)" >&2
  failed=$((failed + 1))
fi

step "clang -Werror build"
CC=clang CXX=clang++ meson setup "$out/clang" -Dwerror=true -Dbuildtype=debugoptimized >/dev/null
ninja -C "$out/clang"
run_suite "$out/clang"
count_results "$out/clang"

step "clang AddressSanitizer + UndefinedBehaviorSanitizer"
CC=clang CXX=clang++ meson setup "$out/asan" -Dwerror=true -Dbuildtype=debug \
  -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C "$out/asan"
run_suite "$out/asan" --setup=asan
count_results "$out/asan" asan

step "no-stdio build (-Dstdio=false): library and unit tests"
meson setup "$out/nostdio" -Dwerror=true -Dstdio=false -Dbench=false -Ddocs=disabled >/dev/null
ninja -C "$out/nostdio"
run_suite "$out/nostdio" --suite unit --suite abi
count_results "$out/nostdio"

step "cross builds under qemu-user: s390x (big-endian), i386 (SSE2), aarch64"
# scripts/cross.sh installs the cross toolchains and the targets' libraries
# (Debian multiarch), then builds and tests each; the per-arch times go to
# $out/cross/ARCH-time.txt. What cannot run cross is skipped with a reason.
if ! CROSS_OUT=$out/cross scripts/cross.sh s390x i386 aarch64; then
  echo "*** cross builds: failures (see above)" >&2
fi
for arch in s390x i386 aarch64; do
  if [ -f "$out/cross/$arch/meson-logs/testlog.json" ]; then
    count_results "$out/cross/$arch"
  else
    echo "*** cross $arch: did not build" >&2
    failed=$((failed + 1))
  fi
done
cat "$out"/cross/*-time.txt 2>/dev/null || true

step "amalgamation: C99 builds, symbols, unit tests against it, aarch64 -Os size"
scripts/check_amalgamation.sh "$out/amalgamation" || echo "*** amalgamation checks failed" >&2
if [ -f "$out/amalgamation/counts" ]; then
  read -r ap af < "$out/amalgamation/counts"
  passed=$((passed + ap))
  failed=$((failed + af))
else
  failed=$((failed + 1))
fi

step "install, then build a consumer with pkg-config (shared and static)"
dest=$root/$out/destdir
meson install -C "$out/gcc" --destdir "$dest" --quiet
pcdir=$(dirname "$(find "$dest" -name libprofile.pc | head -n 1)")
libdir=$(dirname "$pcdir")
consumer=$out/consumer.c
cat > "$consumer" <<'C'
#include <libprofile.h>
#include <stdio.h>
int main(void) {
  lp_membuf *b;
  if (lp_membuf_create(NULL, &b) != LP_OK) return 1;
  int rc = lp_membuf_write(b, "ok", 2);
  printf("consumer linked libprofile %s, wrote %zu bytes\n", lp_version_string(), lp_membuf_size(b));
  lp_membuf_free(b);
  return rc;
}
C
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_SYSROOT_DIR=$dest
# shellcheck disable=SC2046
cc -o "$out/consumer-shared" "$consumer" $(pkg-config --cflags --libs libprofile)
# shellcheck disable=SC2046
cc -static -o "$out/consumer-static" "$consumer" $(pkg-config --static --cflags --libs libprofile)
if LD_LIBRARY_PATH=$libdir "$out/consumer-shared" && "$out/consumer-static"; then
  passed=$((passed + 1))
else
  echo "*** pkg-config consumer failed" >&2
  failed=$((failed + 1))
fi
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
echo "exported symbols of the installed library:"
nm -D --defined-only "$(find "$dest" -name 'libprofile.so.*.*' | head -n 1)" | awk '$2 != "A" {print "  " $3}'

step "use as a Meson subproject (dependency fallback)"
sub=$out/subproject
mkdir -p "$sub/subprojects/libprofile"
git archive HEAD | tar -x -C "$sub/subprojects/libprofile"
cat > "$sub/meson.build" <<'M'
project('consumer', 'c')
lp = dependency('libprofile', fallback: ['libprofile', 'libprofile_dep'],
  default_options: ['tests=disabled', 'bench=false', 'docs=disabled', 'fuzzing=none'])
executable('consumer', 'consumer.c', dependencies: lp)
M
cp "$consumer" "$sub/consumer.c"
if meson setup "$sub/build" "$sub" --force-fallback-for=libprofile >/dev/null \
   && ninja -C "$sub/build" >/dev/null && "$sub/build/consumer"; then
  passed=$((passed + 1))
else
  echo "*** subproject consumer failed" >&2
  failed=$((failed + 1))
fi

step "short libFuzzer session per target (30 s each)"
CC=clang CXX=clang++ meson setup "$out/fuzz" -Dfuzzing=libfuzzer -Db_sanitize=address,undefined \
  -Db_lundef=false -Dtests=disabled -Dbench=false -Ddocs=disabled >/dev/null
ninja -C "$out/fuzz"
for target in "$out"/fuzz/fuzz/fuzz_*; do
  case "$target" in *_replay|*.p) continue ;; esac
  [ -x "$target" ] || continue
  name=${target##*/fuzz_}
  corpus=$out/corpus-$name
  mkdir -p "$corpus"
  cp fuzz/corpus/"$name"/* "$corpus"/
  if "$target" -max_total_time=30 -max_len=65536 -print_final_stats=1 "$corpus" 2>"$out/fuzz-$name.log"; then
    passed=$((passed + 1))
    grep -E "^(stat::number_of_executed_units|Done)" "$out/fuzz-$name.log" || true
  else
    tail -n 40 "$out/fuzz-$name.log" >&2
    echo "*** fuzzing $name found a problem" >&2
    failed=$((failed + 1))
  fi
done

step_end
printf '\n'
echo "libprofile: $passed passed, $failed failed in $SECONDS s"
[ "$failed" -eq 0 ]
