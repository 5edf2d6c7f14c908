#!/usr/bin/env python3
"""End-to-end test of `profilectl demo`: deterministic output, sane figures,
CSV export readable by the other commands, usage errors."""
import os
import re
import subprocess
import sys
import tempfile

EXE = sys.argv[1]


def run(*args):
    return subprocess.run([EXE, *args], capture_output=True, text=True)


def check(cond, what):
    if not cond:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


first = run("demo", "--people", "300", "--seed", "7")
check(first.returncode == 0, f"demo exits 0 (stderr: {first.stderr.strip()})")
second = run("demo", "--people", "300", "--seed", "7")
check(first.stdout == second.stdout, "same options give byte-identical output")
other = run("demo", "--people", "300", "--seed", "8")
check(other.returncode == 0 and other.stdout != first.stdout, "another seed gives other data")

out = first.stdout
m = re.search(r"synthetic data: 300 people, (\d+) events, (\d+) orders", out)
check(m is not None, "reports the generated data")
events, orders = int(m.group(1)), int(m.group(2))
m = re.search(r"events (\d+), identifiers (\d+), profiles (\d+) \(people 300\)", out)
check(m is not None, "reports the identity graph")
stored, profiles = int(m.group(1)), int(m.group(3))
check(0 < stored <= events, "events stored never exceed events generated")
check(profiles >= 300 * 0.5, "profiles are not collapsed into a few super nodes")
m = re.search(r"(\d+) profiles mix people", out)
check(m is not None and int(m.group(1)) <= 300 * 0.05, "over-merge stays under 5% of people")
m = re.search(r"orders attributed to a profile: (\d+) of (\d+)", out)
check(m is not None and int(m.group(2)) == orders and int(m.group(1)) <= orders,
      "orders attributed are counted against all orders")
check(re.search(r"^  champions\s+\d+", out, re.M) is not None, "RFM segments are listed")
check("lifecycle:" in out, "lifecycle stages are listed")
m = re.search(r"kmeans \(k = 4 .*\n  inertia ([0-9.]+), iterations (\d+), silhouette (-?[0-9.]+)", out)
check(m is not None and -1.0 <= float(m.group(3)) <= 1.0, "k-means reports a silhouette in [-1, 1]")
clusters = re.findall(r"^  (\d+)\s+(\d+)\s+[0-9.]+\s+[0-9.]+\s+[0-9.]+$", out, re.M)
check(len(clusters) == 4, "one line per cluster")

with tempfile.TemporaryDirectory() as tmp:
    r = run("demo", "--people", "100", "--out-dir", tmp)
    check(r.returncode == 0, "demo --out-dir exits 0")
    for name in ("events.csv", "orders.csv"):
        path = os.path.join(tmp, name)
        c = run("csv-check", path)
        check(c.returncode == 0 and "malformed: 0" in c.stdout, f"{name} is well-formed CSV")
    with open(os.path.join(tmp, "events.csv")) as f:
        rows = sum(1 for _ in f) - 1
    m = re.search(r"synthetic data: 100 people, (\d+) events", r.stdout)
    check(m is not None and rows == int(m.group(1)), "events.csv holds every event")
    ident = run("identity", os.path.join(tmp, "events.csv"))
    check(ident.returncode == 0, "profilectl identity reads the exported events")
    outs = ("profiles.csv", "identifiers.csv", "state.lps", "report.html")
    check(all(os.path.getsize(os.path.join(tmp, n)) > 0 for n in outs),
          "demo --out-dir runs 'run': profiles, identifiers, state and report")
    again = os.path.join(tmp, "again")
    r2 = run("run", "--events", os.path.join(tmp, "events.csv"),
             "--orders", os.path.join(tmp, "orders.csv"), "--rules", os.path.join(tmp, "rules.ini"),
             "--key", "demo-key", "--as-of", "2024-12-31T23:59:59Z", "--out-dir", again,
             "--title", "profilectl demo: synthetic customers")
    same = all(open(os.path.join(tmp, n), "rb").read() == open(os.path.join(again, n), "rb").read()
               for n in outs)
    check(r2.returncode == 0 and same,
          "the demo's outputs are those of 'profilectl run' on its CSVs, rules.ini and key")

bad = run("demo", "--people", "5")
check(bad.returncode == 2, "--people below 10 is a usage error")
bad = run("demo", "--frobnicate", "1")
check(bad.returncode == 2, "an unknown option is a usage error")
with tempfile.TemporaryDirectory() as tmp:
    # --out-dir creates the folder and its parents.
    nested = os.path.join(tmp, "a", "b")
    r = run("demo", "--people", "10", "--out-dir", nested)
    check(r.returncode == 0 and os.path.exists(os.path.join(nested, "orders.csv")),
          "--out-dir creates missing folders")
    # A file in the way: a data error with the system's reason.
    blocker = os.path.join(tmp, "file")
    open(blocker, "w").close()
    bad = run("demo", "--people", "10", "--out-dir", os.path.join(blocker, "dir"))
    check(bad.returncode == 1 and "cannot create the folder" in bad.stderr and
          "Not a directory" in bad.stderr, "an unusable --out-dir is a data error with the reason")
    # A folder that cannot be written (a read-only file where events.csv goes).
    ro = os.path.join(tmp, "ro")
    os.mkdir(ro)
    os.mkdir(os.path.join(ro, "events.csv"))
    bad = run("demo", "--people", "10", "--out-dir", ro)
    check(bad.returncode == 1 and "cannot open" in bad.stderr and "Is a directory" in bad.stderr,
          "an unwritable output file is a data error with the reason")
print("demo: all checks passed")
