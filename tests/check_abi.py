#!/usr/bin/env python3
"""Compare the built library's ABI with the committed baseline using
libabigail. Added functions are fine (exit bit 4 alone); an incompatible
change (bit 8) or a tool error fails. Regenerate the baseline at a release
with scripts/update-abi-baseline.sh."""
import subprocess
import sys


def main():
    lib, baseline, headers = sys.argv[1:4]
    try:
        open(baseline).close()
    except OSError:
        sys.exit(f"no ABI baseline at {baseline}: run scripts/update-abi-baseline.sh")
    rc = subprocess.run(["abidiff", "--headers-dir2", headers, baseline, lib]).returncode
    if rc & 1 or rc & 2:
        sys.exit(f"abidiff failed (exit {rc})")
    if rc & 8:
        sys.exit("incompatible ABI change against the baseline")
    print("ABI compatible with the baseline" + (" (additions only)" if rc & 4 else ""))


if __name__ == "__main__":
    main()
