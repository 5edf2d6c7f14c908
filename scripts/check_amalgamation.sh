#!/usr/bin/env bash
# The amalgamation, checked: scripts/check_amalgamation.sh OUTDIR
#  1. scripts/amalgamate.sh OUTDIR
#  2. `cc -std=c99 -O2 -c libprofile.c` and nothing else, with gcc and with
#     clang (-pedantic -Werror: C99 as the compilers define it)
#  3. the object defines no global symbol outside the export lists
#  4. the cmocka unit tests, built against the amalgamation's object instead
#     of the Meson library (-DLP_AMALGAMATION_EXTERN_INTERNALS: the tests call
#     internals), each run once
#  5. aarch64 cross build with -Os: bytes of .text against the budget of
#     docs/benchmarks.md ("Code size")
# Prints `amalgamation: N passed, N failed` and writes "N M" to OUTDIR/counts.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:?usage: $0 OUTDIR}
# Budget for .text of libprofile.c, aarch64, -Os (see docs/benchmarks.md).
text_budget=${LP_TEXT_BUDGET:-327680}
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "*** FAIL: $*" >&2; }
finish() {
  echo "$passed $failed" > "$out/counts"
  echo "amalgamation: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

mkdir -p "$out"
if ! scripts/amalgamate.sh "$out"; then
  bad "scripts/amalgamate.sh"
  finish
fi
c=$out/libprofile.c

for cc in gcc clang; do
  command -v "$cc" >/dev/null || continue
  if (cd "$out" && "$cc" -std=c99 -O2 -c libprofile.c -o "libprofile-$cc.o") \
     && "$cc" -std=c99 -pedantic -Werror -O2 -c "$c" -o /dev/null; then
    ok "$cc -std=c99 -O2 -c libprofile.c"
  else
    bad "$cc -std=c99 builds libprofile.c"
  fi
done

lists=(src/*/exports*.txt)
if [ -f "$out/libprofile-gcc.o" ] && python3 tests/check_static_symbols.py nm "$out/libprofile-gcc.o" "${lists[@]}"; then
  ok "the object exports only the public API"
else
  bad "symbols of the amalgamation's object"
fi

# Unit tests against the amalgamation.
obj=$out/libprofile-internals.o
if gcc -std=c99 -O2 -DLP_AMALGAMATION_EXTERN_INTERNALS -c "$c" -o "$obj"; then
  harness=$out/lp_test.o
  gcc -std=c11 -O1 -Iinclude -Isrc -Itests -c tests/harness/lp_test.c -o "$harness" || bad "test harness"
  for t in tests/test_*.c tests/*/test_*.c; do
    case "$t" in
      tests/profilectl/*|*_reference.c) continue ;;  # the CLI's own pieces; reference data
    esac
    name=$(basename "$t" .c)
    exe=$out/$name
    if ! gcc -std=c11 -O1 -Iinclude -Isrc -Itests -I"$(dirname "$t")" "$t" "$harness" "$obj" \
         -lcmocka -lm -o "$exe" 2>"$out/$name.log"; then
      tail -n 20 "$out/$name.log" >&2
      bad "$name: build against the amalgamation"
    elif (cd "$out" && "./$name" >"$name.log" 2>&1); then
      ok "$name against the amalgamation"
    else
      tail -n 20 "$out/$name.log" >&2
      bad "$name against the amalgamation"
    fi
  done
else
  bad "gcc -DLP_AMALGAMATION_EXTERN_INTERNALS"
fi

# Code size for a mobile target.
if command -v aarch64-linux-gnu-gcc >/dev/null; then
  arm=$out/libprofile-aarch64-Os.o
  if aarch64-linux-gnu-gcc -std=c99 -Os -c "$c" -o "$arm"; then
    text=$(aarch64-linux-gnu-size -A "$arm" | awk '$1 == ".text" {print $2}')
    echo "amalgamation: aarch64 -Os .text = $text bytes (budget $text_budget)" | tee "$out/text-size.txt"
    if [ "$text" -le "$text_budget" ]; then ok "aarch64 -Os .text $text <= $text_budget"; else bad "aarch64 -Os .text $text > budget $text_budget"; fi
  else
    bad "aarch64-linux-gnu-gcc -Os builds libprofile.c"
  fi
else
  echo "amalgamation: no aarch64-linux-gnu-gcc (scripts/bootstrap.sh cross): size not measured"
fi
cd "$root"
finish
