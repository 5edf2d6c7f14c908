#!/usr/bin/env python3
"""profilectl identity end to end, side by side with SQL label propagation in DuckDB.

Usage:
  bench/identity_side_by_side.py --profilectl BUILD/tools/profilectl/profilectl \
      --data DIR [--before-profilectl OLD/profilectl] [--node-modules DIR/node_modules] \
      [--runs 3] [--iterations 12]

DIR is what `profilectl demo --people N --out-dir DIR` writes (events.csv,
rules.ini). Every profilectl run is timed as a child process (wall, CPU =
user + sys, peak RSS); its outputs must be byte-identical across thread
counts and to the "before" binary. The peer is the warehouse way of
resolving identities (RudderStack-style): the identifier columns unpivoted
into (event, node) rows, each node labelled with its own number, then
ITERATIONS rounds of "an event takes the smallest label of its nodes, a node
the smallest label of its events", in DuckDB from the npm package
@duckdb/node-api (`npm install --prefix DIR @duckdb/node-api`), in process,
reading the same CSV file, on 1 and 2 threads. It does less than profilectl
(no normalisation beyond lower case, no priorities, limits, uniqueness,
quarantine or canonical order), so it is a lower bound for that way.
Prints a Markdown table.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

PEER = r"""
const { DuckDBInstance } = require('@duckdb/node-api');
const [path, runs, iters] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const load = `CREATE OR REPLACE TABLE m AS
  WITH e AS (SELECT row_number() OVER () AS ev, * FROM read_csv('${path}', header = true,
             all_varchar = true)),
  u AS (SELECT ev, 'user_id:' || user_id AS v FROM e WHERE user_id <> ''
        UNION ALL SELECT ev, 'email:' || lower(trim(email)) FROM e WHERE email <> ''
        UNION ALL SELECT ev, 'phone:' || regexp_replace(phone, '[^0-9]', '', 'g') FROM e WHERE phone <> ''
        UNION ALL SELECT ev, 'device_id:' || lower(device_id) FROM e WHERE device_id <> ''
        UNION ALL SELECT ev, 'cookie:' || cookie FROM e WHERE cookie <> '')
  SELECT ev, dense_rank() OVER (ORDER BY v) AS node FROM u`;
(async () => {
  const out = {};
  for (const threads of [1, 2]) {
    const db = await DuckDBInstance.create(':memory:', { threads: String(threads) });
    const con = await db.connect();
    let bestWall = 1e9, bestCpu = 1e9, profiles = 0, nodes = 0;
    for (let i = 0; i < runs; i++) {
      const c0 = process.cpuUsage(), t0 = performance.now();
      await con.run(load);
      await con.run('CREATE OR REPLACE TABLE lab AS SELECT DISTINCT node, node AS l FROM m');
      for (let k = 0; k < iters; k++) {
        await con.run(`CREATE OR REPLACE TABLE el AS SELECT m.ev, min(lab.l) AS l
                       FROM m JOIN lab USING (node) GROUP BY m.ev`);
        await con.run(`CREATE OR REPLACE TABLE lab AS SELECT m.node, min(el.l) AS l
                       FROM m JOIN el USING (ev) GROUP BY m.node`);
      }
      const r = await con.runAndReadAll('SELECT count(DISTINCT l), count(*) FROM lab');
      const wall = (performance.now() - t0) / 1000, c = process.cpuUsage(c0);
      profiles = Number(r.getRows()[0][0]);
      nodes = Number(r.getRows()[0][1]);
      bestWall = Math.min(bestWall, wall);
      bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
    }
    out[threads] = [bestWall, bestCpu, profiles, nodes];
  }
  console.log(JSON.stringify(out));
})();
"""


# One way to time a child process for both side-by-side scripts.
from side_by_side import run_child  # noqa: E402  (bench/ is sys.path[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profilectl", required=True)
    ap.add_argument("--before-profilectl")
    ap.add_argument("--data", required=True)
    ap.add_argument("--node-modules")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=12)
    a = ap.parse_args()
    events = os.path.join(a.data, "events.csv")
    rules = os.path.join(a.data, "rules.ini")
    with open(events, "rb") as f:
        nrows = sum(1 for _ in f) - 1
    rows = []
    outputs = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        if a.before_profilectl:
            runs.append(("`profilectl identity`, before", a.before_profilectl, []))
        for t in (1, 2):
            runs.append(("`profilectl identity --threads %d`" % t, a.profilectl,
                         ["--threads", str(t)]))
        for label, binary, extra in runs:
            best = [1e9, 1e9, 0]
            out = os.path.join(tmp, "out.csv")
            for _ in range(a.runs):
                w, c, r = run_child([binary, "identity", "--rules", rules] + extra + [events], out)
                best = [min(best[0], w), min(best[1], c), max(best[2], r)]
            with open(out, "rb") as f:
                outputs[label] = f.read()
            ids = outputs[label].count(b"\n") - 1
            rows.append((label, best[0], best[1], "%.0f MB (%.0f bytes per identifier)"
                         % (best[2] / 1e6, best[2] / max(ids, 1))))
        if a.node_modules and os.path.isdir(os.path.join(a.node_modules, "@duckdb", "node-api")):
            script = os.path.join(tmp, "peer.js")
            with open(script, "w", encoding="utf-8") as f:
                f.write(PEER)
            env = dict(os.environ, NODE_PATH=a.node_modules)
            p = subprocess.run(["node", script, events, str(a.runs), str(a.iterations)],
                               stdout=subprocess.PIPE, env=env, check=True)
            res = json.loads(p.stdout.decode().strip().splitlines()[-1])
            for t in ("1", "2"):
                w, c, profiles, nodes = res[t]
                rows.append(("DuckDB SQL label propagation, %d iterations, %s thread%s (%d labels "
                             "over %d identifiers)" % (a.iterations, t, "s" if t == "2" else "",
                                                       profiles, nodes), w, c, ""))
        else:
            print("DuckDB (@duckdb/node-api) not found: peer skipped", file=sys.stderr)
    same = len(set(outputs.values())) == 1
    print("%d event rows (%s), best of %d runs, load average %.1f at the end\n"
          % (nrows, events, a.runs, os.getloadavg()[0]))
    print("| run | wall | CPU (user+sys) | events per wall-second / CPU-second | peak RSS |")
    print("|---|---|---|---|---|")
    for label, w, c, rss in rows:
        print("| %s | %.2f s | %.2f s | %.2f M / %.2f M | %s |"
              % (label, w, c, nrows / w / 1e6, nrows / c / 1e6, rss))
    print("\nEvery profilectl run wrote the same bytes: %s" % ("yes" if same else "NO"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
