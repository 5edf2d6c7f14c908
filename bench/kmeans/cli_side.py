#!/usr/bin/env python3
"""`profilectl kmeans` end to end (CSV in, labels, centroids and metrics
out) against scikit-learn's Lloyd on the same rows and start, per (n, d, k).

    cli_side.py --profilectl NEW [--before OLD] [--runs R] [--out FILE]
                [--shape N,D,K ...]

The data are n rows of d features around k centres (fixed seed, made by
bench/side_by_side.py's generator); the first k rows are the start; 100
iterations, tolerance 0. Each run of each binary (`--algorithm auto`, and
lloyd / hamerly / yinyang for the new one) is timed in a child process: CPU
seconds (user + sys), wall seconds, peak RSS; the best of R runs is kept.
scikit-learn (one thread, `threadpoolctl`) is timed on the fit alone, the
data already in memory. Every profilectl output must be byte-identical to
the first (the algorithms are exact). One JSON object per line to stdout
and to --out."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# The data generator and the scikit-learn timing of the side-by-side script.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from side_by_side import SKLEARN, kmeans_files  # noqa: E402


def run_child(args, out_path, err_path):
    t0 = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(args, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(args), open(err_path).read()[:400]))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profilectl", required=True)
    ap.add_argument("--before")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--shape", action="append",
                    help="N,D,K (default: 400000,8,32 and a few others)")
    a = ap.parse_args()
    shapes = [tuple(int(v) for v in s.split(",")) for s in a.shape] if a.shape else [
        (400000, 8, 32), (400000, 8, 8), (400000, 8, 128), (400000, 2, 16), (100000, 32, 64)]
    out = open(a.out, "a", encoding="ascii") if a.out else None
    load = os.getloadavg()[0]

    def emit(rec):
        rec["load_avg"] = round(load, 1)
        line = json.dumps(rec, sort_keys=True)
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()

    with tempfile.TemporaryDirectory(prefix="lp_km_cli_") as tmp:
        for n, d, k in shapes:
            data, init = kmeans_files(tmp, n, d, k)
            binaries = []
            if a.before:
                binaries.append(("before", a.before, ["auto"]))
            binaries.append(("now", a.profilectl, ["auto", "lloyd", "hamerly", "yinyang"]))
            first = None
            for label, exe, algos in binaries:
                for algo in algos:
                    best = None
                    for r in range(a.runs):
                        o = os.path.join(tmp, "out-%s-%s.csv" % (label, algo))
                        e = os.path.join(tmp, "err-%s-%s.txt" % (label, algo))
                        wall, cpu, rss = run_child(
                            [exe, "kmeans", "--k", str(k), "--init", init, "--max-iter", "100",
                             "--tol", "0", "--algorithm", algo, data], o, e)
                        if best is None or cpu < best[1]:
                            best = (wall, cpu, rss)
                    with open(o, "rb") as f:
                        body = f.read()
                    used = [w for w in open(e).read().split() if w.startswith("algorithm=")]
                    if first is None:
                        first = body
                    emit({"bench": "kmeans-cli", "build": label, "algorithm": algo,
                          "used": used[0][10:] if used else "", "n": n, "d": d, "k": k,
                          "cpu_s": round(best[1], 3), "wall_s": round(best[0], 3),
                          "peak_rss_mb": round(best[2] / 1e6, 1), "runs": a.runs,
                          "same_output": body == first})
            try:
                best = None
                for r in range(min(a.runs, 2)):
                    p = subprocess.run([a.python, "-c", SKLEARN, data, init, "100"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
                    w, c, it, ver = p.stdout.decode().split()
                    if best is None or float(c) < best[1]:
                        best = (float(w), float(c), int(it), ver)
                emit({"bench": "kmeans-cli", "build": "scikit-learn " + best[3],
                      "algorithm": "lloyd", "n": n, "d": d, "k": k, "cpu_s": round(best[1], 3),
                      "wall_s": round(best[0], 3), "n_iter": best[2],
                      "note": "fit only, data in memory, 1 thread"})
            except (OSError, subprocess.CalledProcessError, ValueError) as e:
                emit({"bench": "kmeans-cli", "build": "scikit-learn", "n": n, "d": d, "k": k,
                      "status": "skipped: %s" % str(e)[:200]})
    if out:
        out.close()


if __name__ == "__main__":
    sys.exit(main())
