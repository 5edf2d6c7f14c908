#!/usr/bin/env python3
"""libprofile's command line side by side with its peers, in one run.

Usage:
  bench/side_by_side.py --profilectl BUILD/tools/profilectl/profilectl
      --bench-csv BUILD/bench/csv/bench_csv --data ONLINE_RETAIL_CSV
      [--before-profilectl OLD/profilectl --before-bench-csv OLD/bench_csv]
      [--node-modules DIR] [--runs N] [--write-doc docs/benchmarks.md]

Measures, best of --runs (default 5) each:
  * `profilectl rfm` end to end on UCI Online Retail with --threads 1 and 2
    (and the --before binary, one thread: it has no --threads), wall and
    CPU (user + sys of the child) seconds, peak RSS; every run's stdout
    must be byte-identical;
  * the CSV reader (bench/csv: 100 MB generated, reader alone, per kernel);
  * pandas (from /usr/bin/python3, Debian) computing the same recency,
    frequency, monetary and quintile scores in-process (interpreter start
    and imports not counted), floats;
  * with --kmeans: `profilectl kmeans` (Lloyd and Hamerly) and
    scikit-learn's Lloyd on one thread, n = 400k, d = 8, k = 32, the same
    starting centroids, 100 iterations (one run each: it takes a while);
  * DuckDB through the npm package @duckdb/node-api (found in
    --node-modules, e.g. installed there with
    `npm install --prefix DIR @duckdb/node-api`), the same aggregation in
    SQL on 1 and 2 threads, in-process.
A peer that is not installed is skipped and the table says so. With
--write-doc the table replaces the part of that file between the
`side-by-side:begin` and `side-by-side:end` markers.
"""
import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

RFM_ARGS = ["rfm", "--as-of", "2011-12-10", "--id-col", "CustomerID", "--ts-col", "InvoiceDate",
            "--qty-col", "Quantity", "--price-col", "UnitPrice", "--order-col", "InvoiceNo",
            "--drop-missing-id"]

PANDAS = r"""
import sys, time
import pandas as pd
path = sys.argv[1]
best_wall = best_cpu = 1e9
for _ in range(int(sys.argv[2])):
    t0, c0 = time.perf_counter(), time.process_time()
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str})
    df = df[df["CustomerID"].notna()]
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
    df["amount"] = df["Quantity"] * df["UnitPrice"]
    g = df.groupby("CustomerID").agg(last=("InvoiceDate", "max"),
                                     frequency=("InvoiceNo", "nunique"),
                                     monetary=("amount", "sum"))
    g["recency"] = (pd.Timestamp("2011-12-10") - g["last"]).dt.days
    for col, asc in (("recency", False), ("frequency", True), ("monetary", True)):
        g[col[0]] = pd.qcut(g[col].rank(method="first", ascending=asc), 5, labels=False) + 1
    n = len(g)
    best_wall = min(best_wall, time.perf_counter() - t0)
    best_cpu = min(best_cpu, time.process_time() - c0)
print(best_wall, best_cpu, n)
"""

DUCKDB = r"""
const { DuckDBInstance } = require('@duckdb/node-api');
const [path, runs] = [process.argv[2], Number(process.argv[3])];
const sql = `WITH t AS (
  SELECT CustomerID AS id, InvoiceNo AS ord, InvoiceDate AS ts, Quantity * UnitPrice AS amount
  FROM read_csv('${path}', header = true, types = {'InvoiceNo': 'VARCHAR',
       'StockCode': 'VARCHAR', 'CustomerID': 'VARCHAR', 'InvoiceDate': 'TIMESTAMP',
       'Quantity': 'BIGINT', 'UnitPrice': 'DECIMAL(18,3)'})
  WHERE CustomerID IS NOT NULL),
a AS (SELECT id, date_diff('day', max(ts), TIMESTAMP '2011-12-10') AS recency,
             count(DISTINCT ord) AS frequency, sum(amount) AS monetary FROM t GROUP BY id)
SELECT count(*) FROM (SELECT id,
  ntile(5) OVER (ORDER BY recency DESC, id) AS r,
  ntile(5) OVER (ORDER BY frequency, id) AS f,
  ntile(5) OVER (ORDER BY monetary, id) AS m FROM a)`;
(async () => {
  const out = {};
  for (const threads of [1, 2]) {
    const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
    const con = await db.connect();
    let bestWall = 1e9, bestCpu = 1e9, n = 0;
    for (let i = 0; i < runs; i++) {
      const c0 = process.cpuUsage(), t0 = performance.now();
      const r = await con.runAndReadAll(sql);
      const wall = (performance.now() - t0) / 1000, c = process.cpuUsage(c0);
      n = Number(r.getRows()[0][0]);
      bestWall = Math.min(bestWall, wall);
      bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
    }
    out[threads] = [bestWall, bestCpu, n];
  }
  console.log(JSON.stringify(out));
})();
"""


SKLEARN = r"""
import sys, time
import numpy as np
from threadpoolctl import threadpool_limits
import sklearn
from sklearn.cluster import KMeans
x = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
init = np.loadtxt(sys.argv[2], delimiter=",", skiprows=1)
with threadpool_limits(1):
    t0, c0 = time.perf_counter(), time.process_time()
    km = KMeans(n_clusters=init.shape[0], init=init, n_init=1, max_iter=int(sys.argv[3]),
                tol=0.0, algorithm="lloyd").fit(x)
    print(time.perf_counter() - t0, time.process_time() - c0, km.n_iter_, sklearn.__version__)
"""


def kmeans_files(tmp, n, d, k):
    """n rows of d features around k centers (fixed seed), and the first k
    rows as the starting centroids."""
    import random
    rng = random.Random(14)
    centers = [[rng.uniform(-10, 10) for _ in range(d)] for _ in range(k)]
    head = ",".join("f%d" % t for t in range(d)) + "\n"
    data = os.path.join(tmp, "features.csv")
    init = os.path.join(tmp, "init.csv")
    with open(data, "w", encoding="ascii") as f, open(init, "w", encoding="ascii") as g:
        f.write(head)
        g.write(head)
        for i in range(n):
            c = centers[rng.randrange(k)]
            row = ",".join(repr(round(v + rng.gauss(0, 2.0), 6)) for v in c) + "\n"
            f.write(row)
            if i < k:
                g.write(row)
    return data, init


def run_child(args, stdout_path):
    """Wall seconds, CPU seconds (user + sys) and peak RSS bytes of one run."""
    with open(stdout_path, "wb") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit("failed: %s" % " ".join(args))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


def best_of(args, runs, stdout_path):
    walls, cpus, rss = [], [], 0
    for _ in range(runs):
        w, c, r = run_child(args, stdout_path)
        walls.append(w)
        cpus.append(c)
        rss = max(rss, r)
    return min(walls), min(cpus), rss


def csv_bench(binary, runs):
    p = subprocess.run([binary, "100", str(runs)], stdout=subprocess.PIPE, check=True)
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


# Where each path option points, as the generated text names it: the
# document describes the command, not the machine it happened to run on.
PLACEHOLDERS = {
    "--profilectl": "BUILD/tools/profilectl/profilectl",
    "--bench-csv": "BUILD/bench/csv/bench_csv",
    "--before-profilectl": "BEFORE/tools/profilectl/profilectl",
    "--before-bench-csv": "BEFORE/bench/csv/bench_csv",
    "--data": "DATA/online_retail.csv",
    "--node-modules": "PEERS/node_modules",
    "--write-doc": "docs/benchmarks.md",
}


def shown_command(args):
    out, i = ["bench/side_by_side.py"], 0
    while i < len(args):
        opt, _, val = args[i].partition("=")
        if opt in PLACEHOLDERS and (val or i + 1 < len(args)):
            out += [opt, PLACEHOLDERS[opt]]
            i += 1 if val else 2
            continue
        out.append(args[i])
        i += 1
    return " ".join(shlex.quote(x) for x in out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profilectl", required=True)
    ap.add_argument("--bench-csv", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--before-profilectl")
    ap.add_argument("--before-bench-csv")
    ap.add_argument("--before-label", default="before",
                    help="what the --before-profilectl build is, for its row")
    ap.add_argument("--before-threads", type=int, default=0,
                    help="--threads for the before build (0: none, for builds without it)")
    ap.add_argument("--node-modules")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--write-doc")
    ap.add_argument("--kmeans", action="store_true",
                    help="also k-means, n = 400k, d = 8, k = 32, 100 iterations, one run each")
    a = ap.parse_args()

    rows, notes = [], []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    tmp = tempfile.mkdtemp(prefix="side-by-side-")
    outputs = []

    def rfm(label, binary, threads):
        out = os.path.join(tmp, "rfm-%d.csv" % len(outputs))
        args = [binary] + RFM_ARGS + (["--threads", str(threads)] if threads else []) + [a.data]
        w, c, r = best_of(args, a.runs, out)
        with open(out, "rb") as f:
            outputs.append(f.read())
        customers = outputs[-1].count(b"\n") - 1
        rows.append((label, "%.3f s" % w, "%.3f s" % c, "%.1f MB (%.0f kB per customer)"
                     % (r / 1e6, r / 1e3 / max(customers, 1))))
        return customers

    customers = 0
    if a.before_profilectl:
        customers = rfm("`profilectl rfm`, %s, %s" % (
            a.before_label, "`--threads %d`" % a.before_threads if a.before_threads
            else "one thread"), a.before_profilectl, a.before_threads)
    customers = rfm("`profilectl rfm --threads 1`", a.profilectl, 1)
    rfm("`profilectl rfm --threads 2`", a.profilectl, 2)
    ours = {"1": rows[-2], "2": rows[-1]}
    identical = all(o == outputs[0] for o in outputs)
    notes.append("Every `profilectl rfm` run above wrote the same %d bytes (%d customers): %s."
                 % (len(outputs[0]), customers, "identical" if identical else "NOT IDENTICAL"))

    py = "/usr/bin/python3"
    try:
        p = subprocess.run([py, "-c", PANDAS, a.data, str(a.runs)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=True)
        w, c, n = p.stdout.split()
        ver = subprocess.run([py, "-c", "import pandas; print(pandas.__version__)"],
                             stdout=subprocess.PIPE, check=True).stdout.decode().strip()
        rows.append(("pandas %s (floats, in-process, %s customers)" % (ver, n.decode()),
                     "%.3f s" % float(w), "%.3f s" % float(c), ""))
    except (OSError, subprocess.CalledProcessError) as e:
        notes.append("pandas skipped: %s" % (getattr(e, "stderr", b"") or str(e)).strip()[:200])

    if a.node_modules and os.path.isdir(os.path.join(a.node_modules, "@duckdb", "node-api")):
        script = os.path.join(tmp, "duck.js")
        with open(script, "w", encoding="utf-8") as f:
            f.write(DUCKDB)
        env = dict(os.environ, NODE_PATH=a.node_modules)
        try:
            p = subprocess.run(["node", script, a.data, str(a.runs)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, check=True, env=env)
            res = json.loads(p.stdout.decode().strip().splitlines()[-1])
            pkg = os.path.join(a.node_modules, "@duckdb", "node-api", "package.json")
            with open(pkg, encoding="utf-8") as f:
                ver = json.load(f).get("version", "?")
            for t in ("1", "2"):
                w, c, n = res[t]
                rows.append(("DuckDB %s SQL, %s thread%s (in-process, %d customers)"
                             % (ver, t, "" if t == "1" else "s", n), "%.3f s" % w,
                             "%.3f s" % c, ""))
        except (OSError, subprocess.CalledProcessError, ValueError, KeyError) as e:
            notes.append("DuckDB skipped: %s" % (getattr(e, "stderr", b"") or str(e))[:200])
    else:
        notes.append("DuckDB skipped: @duckdb/node-api not found (give --node-modules)")

    # How many times faster the command is than each peer (wall, CPU).
    def secs(text):
        return float(text.split()[0])
    for label, w, c, _ in rows:
        for peer in ("pandas", "DuckDB"):
            if not label.startswith(peer):
                continue
            t = "2" if "2 threads" in label else "1"
            mine = ours[t]
            notes.append("`--threads %s` against %s: %.1fx the speed in wall time, %.1fx in "
                         "CPU time." % (t, label.split(" (")[0], secs(w) / secs(mine[1]),
                                        secs(c) / secs(mine[2])))

    km_rows = []
    if a.kmeans:
        data, init = kmeans_files(tmp, 400000, 8, 32)
        for algo in ("lloyd", "hamerly", "yinyang", "auto"):
            args = [a.profilectl, "kmeans", "--k", "32", "--init", init, "--max-iter", "100",
                    "--tol", "0", "--algorithm", algo, data]
            w, c, r = run_child(args, os.path.join(tmp, "km-%s.csv" % algo))
            km_rows.append(("`profilectl kmeans --algorithm %s` (from CSV, with metrics)" % algo,
                            "%.2f s" % w, "%.2f s" % c, "%.0f MB" % (r / 1e6)))
        try:
            p = subprocess.run([py, "-c", SKLEARN, data, init, "100"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, check=True,
                               env=dict(os.environ, OMP_NUM_THREADS="1"))
            w, c, it, ver = p.stdout.decode().split()
            km_rows.append(("scikit-learn %s Lloyd, 1 thread, %s iterations (fit only, "
                            "data already in memory)" % (ver, it), "%.2f s" % float(w),
                            "%.2f s" % float(c), ""))
        except (OSError, subprocess.CalledProcessError, ValueError) as e:
            notes.append("scikit-learn skipped: %s"
                         % (getattr(e, "stderr", b"") or str(e)).strip()[:200])

    scan_rows = []
    for label, binary in (("before", a.before_bench_csv), ("now", a.bench_csv)):
        if not binary:
            continue
        d = csv_bench(binary, a.runs)
        kern = ", ".join("%s %.0f" % (k, d[k + "_mb_per_s"]) for k in ("byte", "word", "sse2")
                         if k + "_mb_per_s" in d)
        scan_rows.append((label, "%.0f MB/s" % d["mb_per_s"],
                          "%.0f MB/s" % d["with_values_mb_per_s"], kern or "one kernel only"))

    lines = ["<!-- side-by-side:begin (generated by bench/side_by_side.py; do not edit) -->", ""]
    busy = ("other builds running: wall times are inflated and noisy, CPU times are "
            "the steadier figure" if load >= 2 else "a quiet machine: wall times are "
            "the command's own")
    lines.append("Generated by `bench/side_by_side.py` on the shared 2-core development "
                 "machine (%s), %d runs each, best shown; load average %.1f at the start "
                 "(%s)." % (platform.machine(), a.runs, load, busy))
    lines += ["", "Command (BUILD and BEFORE are release builds of this tree and of the "
              "'before' commit, DATA the UCI Online Retail CSV, PEERS the npm prefix of the "
              "DuckDB package):", "", "```", shown_command(sys.argv[1:]),
              "```", "", "UCI Online Retail (541,909 rows, 48 MB), RFM per customer end to end:",
              "", "| run | wall | CPU (user+sys) | peak RSS |", "|---|---|---|---|"]
    lines += ["| %s | %s | %s | %s |" % r for r in rows]
    lines += [""] + ["- " + n for n in notes]
    if km_rows:
        lines += ["", "k-means, n = 400,000, d = 8, k = 32, the same 32 starting centroids, "
                  "100 iterations (tolerance 0), one run each:", "",
                  "| run | wall | CPU (user+sys) | peak RSS |", "|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s |" % r for r in km_rows]
    if scan_rows:
        lines += ["", "CSV reader (`bench/csv`, 100 MB generated, CPU seconds, best of %d):"
                  % a.runs, "", "| build | reader alone | reader + timestamp + amount | "
                  "reader alone per kernel (MB/s) |", "|---|---|---|---|"]
        lines += ["| %s | %s | %s | %s |" % r for r in scan_rows]
    lines += ["", "<!-- side-by-side:end -->"]
    doc = None
    if a.write_doc:
        with open(a.write_doc, encoding="utf-8") as f:
            doc = f.read()
        b = doc.find("<!-- side-by-side:begin")
        e = doc.find("<!-- side-by-side:end -->")
        if b < 0 or e < 0:
            raise SystemExit("%s has no side-by-side markers" % a.write_doc)
        if not km_rows:
            # Without --kmeans the k-means table of the earlier run stays.
            old = doc[b:e].split("\n")
            k0 = next((i for i, l in enumerate(old) if l.startswith("k-means, n =")), None)
            if k0 is not None:
                k1 = k0 + 2
                while k1 < len(old) and old[k1].startswith("|"):
                    k1 += 1
                at = lines.index("<!-- side-by-side:end -->")
                if scan_rows:
                    at = next(i for i, l in enumerate(lines) if l.startswith("CSV reader")) - 1
                lines[at:at] = [""] + old[k0:k1]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.write_doc:
        doc = doc[:b] + text + doc[e + len("<!-- side-by-side:end -->\n"):]
        with open(a.write_doc, "w", encoding="utf-8") as f:
            f.write(doc)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
