#!/usr/bin/env python3
"""Markdown tables of docs/kmeans.md and docs/benchmarks.md from the JSON
lines of the k-means benchmarks.

    tables.py grid GRID.jsonl          # bench_kmeans --grid: the `auto` rule
    tables.py cli CLI_SIDE.jsonl       # cli_side.py: profilectl vs scikit-learn

`grid` prints one row per (n, d, k): iterations, CPU seconds of Lloyd,
Hamerly and Yinyang, the fastest, and what `auto` chose (the "used" field
of its run), then how far the rule's choice was from the fastest. `cli`
prints one row per shape: the best CPU seconds of each build and
algorithm, scikit-learn's fit and the ratio to `auto`."""
import json
import sys
from collections import defaultdict


def load(path):
    with open(path, encoding="ascii") as f:
        return [json.loads(line) for line in f if line.startswith("{")]


def grid(rows):
    t = defaultdict(dict)
    for r in rows:
        t[(r["n"], r["d"], r["k"])][r["algorithm"]] = r
    print("| n | d | k | iterations | Lloyd | Hamerly | Yinyang | fastest | `auto` |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst, total, count = 0.0, 0.0, 0
    always = {"hamerly": 0.0, "yinyang": 0.0}
    for key in sorted(t, key=lambda k: (k[1], k[0], k[2])):
        v = t[key]
        if any(a not in v for a in ("lloyd", "hamerly", "yinyang")):
            continue
        if not all(v[a]["labels_equal_to_lloyd"] for a in v):
            raise SystemExit("labels differ from Lloyd's at %s" % (key,))
        best = min(("lloyd", "hamerly", "yinyang"), key=lambda a: v[a]["cpu_s"])
        chose = v["auto"]["used"] if "auto" in v else "-"
        for a in always:
            if v[best]["cpu_s"] > 0:
                always[a] = max(always[a], v[a]["cpu_s"] / v[best]["cpu_s"])
        if chose in v and v[best]["cpu_s"] > 0:
            ratio = v[chose]["cpu_s"] / v[best]["cpu_s"]
            worst = max(worst, ratio)
            total += ratio
            count += 1
        n, d, k = key
        print("| %d | %d | %d | %d | %.3f | %.3f | %.3f | %s | %s |" % (
            n, d, k, v["lloyd"]["n_iter"], v["lloyd"]["cpu_s"], v["hamerly"]["cpu_s"],
            v["yinyang"]["cpu_s"], best, chose))
    if count:
        print("\n`auto`'s choice over %d shapes: at most %.3fx the fastest, %.3fx on average; "
              "always Hamerly at most %.2fx, always Yinyang at most %.2fx."
              % (count, worst, total / count, always["hamerly"], always["yinyang"]))


def cli(rows):
    t = defaultdict(dict)
    for r in rows:
        name = "sk" if r["build"].startswith("scikit") else r["build"] + "-" + r.get("algorithm", "")
        t[(r["n"], r["d"], r["k"])][name] = r
    print("| n | d | k | before auto | now auto | now lloyd | now hamerly | now yinyang "
          "| scikit-learn Lloyd (fit only) | now auto vs scikit-learn |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key, v in t.items():
        def c(nm):
            if nm not in v or "cpu_s" not in v[nm]:
                return "-"
            used = v[nm].get("used")
            return "%.2f" % v[nm]["cpu_s"] + (" (%s)" % used if nm.endswith("auto") and used else "")
        auto, sk = v.get("now-auto"), v.get("sk")
        ratio = "%.1fx" % (sk["cpu_s"] / auto["cpu_s"]) if auto and sk and "cpu_s" in sk else "-"
        its = " (%d it.)" % sk["n_iter"] if sk and "n_iter" in sk else ""
        if not all(r.get("same_output", True) for r in v.values()):
            raise SystemExit("outputs differ at %s" % (key,))
        print("| %d | %d | %d | %s | %s | %s | %s | %s | %s%s | %s |" % (
            key[0], key[1], key[2], c("before-auto"), c("now-auto"), c("now-lloyd"),
            c("now-hamerly"), c("now-yinyang"), c("sk"), its, ratio))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("grid", "cli"):
        raise SystemExit(__doc__)
    rows = load(sys.argv[2])
    (grid if sys.argv[1] == "grid" else cli)(rows)


if __name__ == "__main__":
    main()
