#!/usr/bin/env python3
"""Memory per unit of every benchmark at two or three sizes: is it linear?

Runs each benchmark program of a build (configured with -Dbench=true) at
several sizes, one child process per run, collects from its JSON lines the
memory figures per unit (per customer, identifier, set bit, profile,
value, row or map entry), and prints one table row per figure and line
with the figure at each size. A figure that grows by more than the limit
(25 % by default) from the smallest to the largest size fails the check:
the script names the line and exits 1.

Figures, by where they come from:
  rss      the benchmark's own "rss_bytes_per_<unit>" fields (bitmap, tags,
           clv, format): the RSS its phase added or the structure holds,
           divided by the units of the data set;
  library  the benchmark's own "bytes_per_<unit>" counts of the library's
           allocations (core, identity, kmeans, rfm, bitmap, tags);
  peak     the process peak RSS of the line divided by the run's units,
           computed here for the benchmarks that print only the peak
           (csv, identity, kmeans, profiles, rfm): it includes the inputs
           the benchmark holds and the fixed cost of a process.
An RSS figure is compared only between the sizes where its bytes reach
--floor (1 MiB by default): below that it is page and heap granularity
(e.g. a query whose result fits in memory an earlier phase freed adds no
RSS at all); with fewer than two such sizes it is listed as below
resolution and not checked. Lines whose units do not change with the size
(the 2,357-customer CLV fits) are not compared.

Usage:
  bench/memory_growth.py --build BUILD [--only a,b] [--skip a,b]
      [--limit 0.25] [--floor BYTES] [--markdown] [--write-doc FILE]
      [--save-json FILE]

BUILD is a build directory (release, -Dbench=true). --write-doc replaces
the text between the memory-growth markers of FILE (docs/benchmarks.md)
with the markdown output. SPDX-License-Identifier: MIT
"""

import argparse
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time

# Each benchmark: program, the sizes (label, arguments, extra environment),
# the JSON field holding the run's units for the derived peak figure (or
# None: no derived figure) and the unit's name.
BENCHES = [
    ("core", "bench/core/bench_core",
     [("100k entries", ["--quick"]), ("10M entries", [])], None, None),
    ("csv", "bench/csv/bench_csv",
     [("4 MB", ["4", "1"]), ("64 MB", ["64", "1"]), ("256 MB", ["256", "1"])], "rows", "row"),
    ("identity", "bench/identity/bench_identity",
     [("20k ids", ["--quick"]), ("200k ids", ["200000"]), ("1M ids", ["1000000"])],
     "identifiers", "identifier"),
    ("kmeans", "bench/kmeans/bench_kmeans",
     [("n 20k", ["--quick"]), ("n 1M", [])], "n", "row"),
    ("profiles", "bench/profiles/bench_profiles",
     [("20k people", ["--quick"]), ("200k people", ["200000"]), ("1M people", ["1000000"])],
     "people", "customer"),
    ("rfm", "bench/rfm/bench_rfm",
     [("10k customers", ["--quick"]),
      ("100k customers", ["--customers=100000", "--transactions=1000000"]),
      ("1M customers", [])], "customers", "customer"),
    ("bitmap", "bench/bitmap/bench_bitmap",
     [("1M profiles", ["--quick"]), ("10M profiles", [])], None, None),
    ("tags", "bench/tags/bench_tags",
     [("200k profiles", ["--quick"]), ("2M profiles", ["--profiles", "2000000"]),
      ("10M profiles", [])], None, None),
    ("clv", "bench/clv/bench_clv",
     [("100k customers", ["--quick"]), ("1M customers", [])], None, None),
    ("format", "bench/format/bench_format",
     [("20k values", ["20000", "1"]), ("200k values", ["200000", "1"]),
      ("1M values", ["1000000", "1"])], None, None),
]

# Benchmarks that are not ours to time here: the peers the programs call.
ENV = {"KM_BENCH_PYTHON": "false"}  # bench_kmeans: skip scikit-learn

# Fields that tell lines of one benchmark apart across sizes (besides the
# string-valued ones).
KEY_NUMBERS = ("k", "d", "terms", "horizon", "inputs", "pairs", "late_pct", "kiosk_pct", "tags",
               "bitmaps", "rules")
KEY_SKIP = ("digest", "checksum", "status", "query")
PEAK_FIELDS = ("peak_rss_bytes", "peak_rss")


def run_one(exe, args, env, cwd):
    """Runs one benchmark; returns (lines, wall, cpu, largest peak RSS it
    printed).

    The benchmark is started by a shell that forks it (the command is not
    the shell's last, so the shell does not exec it): getrusage's ru_maxrss
    in a process counts the image it was exec'd from, which for a child
    Python starts directly is this script's whole RSS; the shell's fork
    leaves only the small shell behind."""
    with open(os.path.join(cwd, "stdout"), "w+b") as fo, \
            open(os.path.join(cwd, "stderr"), "w+b") as fe:
        t0 = time.monotonic()
        p = subprocess.Popen(["/bin/sh", "-c", '"$@"; exit $?', "sh", exe] + args, stdout=fo,
                             stderr=fe, cwd=cwd, env=env)
        _, status, ru = os.wait4(p.pid, 0)  # reaped here, for its (and its child's) rusage
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
    cpu = ru.ru_utime + ru.ru_stime
    if p.returncode != 0:
        raise RuntimeError("%s %s: exit %d: %s" % (exe, " ".join(args), p.returncode,
                                                  err.decode(errors="replace")[-400:]))
    lines = []
    for raw in out.decode(errors="replace").splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except ValueError:
                pass
    peak = max([d[f] for d in lines for f in PEAK_FIELDS
                 if isinstance(d.get(f), (int, float))] + [0])
    return lines, wall, cpu, peak


def line_key(d, seen):
    parts = [str(d.get("bench"))]
    for k in sorted(d):
        v = d[k]
        if k == "bench" or k in KEY_SKIP:
            continue
        if isinstance(v, str) or (k in KEY_NUMBERS and isinstance(v, (int, float))):
            parts.append("%s=%s" % (k, v))
    key = " ".join(parts)
    seen[key] = seen.get(key, 0) + 1
    return key if seen[key] == 1 else "%s #%d" % (key, seen[key])


def line_label(d):
    """A short, readable name of a line."""
    extra = []
    for k in ("model", "what", "algorithm", "op", "set", "format", "label"):
        if isinstance(d.get(k), str):
            extra.append(d[k])
    for k in ("terms", "k"):
        if k in d:
            extra.append("%s=%s" % (k, d[k]))
    return d.get("bench", "?") + (" (" + ", ".join(extra) + ")" if extra else "")


# The count field of each unit a figure is per: the line's own, or the last
# one an earlier line of the run printed (the op lines of bench_bitmap come
# after the build line that names the set bits).
UNIT_COUNT = {"set bit": "set_bits", "profile": "profiles", "customer": "customers",
              "value": "values", "identifier": "identifiers", "row": "n", "entry": "n",
              "txn": "transactions"}


def figures(d, unit_field, unit_name, context):
    """(figure name, kind, bytes per unit, units) of one line; context holds
    the last count of each unit seen in the run, this line's included."""
    out = []
    for k, v in d.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        m = re.match(r"^(rss_)?bytes_per_(.+)$", k)
        if not m:
            continue
        unit = m.group(2).replace("_", " ")
        base = unit.split(" ")[0] if unit.split(" ")[0] in ("profile", "customer", "value") \
            else unit.replace(" croaring", "")
        units = context.get(UNIT_COUNT.get(base, ""))
        if m.group(1):
            kind = "rss"
        elif "snapshot" in str(d.get("bench")):
            kind = "file"
        else:
            kind = "library"
        out.append((unit, kind, float(v), units))
    if unit_field and not any(f[1] == "rss" for f in out):
        peak = next((d[f] for f in PEAK_FIELDS if isinstance(d.get(f), (int, float))), None)
        u = context.get(unit_field)
        if peak and u:
            out.append((unit_name, "peak", float(peak) / float(u), float(u)))
    return out


def collect(build, only, skip, log, failed):
    """{bench: [(size label, args, [lines], wall, cpu, peak)]}; a run that
    fails is named in failed and its benchmark left out."""
    results = {}
    env = dict(os.environ)
    env.update(ENV)
    for name, prog, sizes, unit_field, unit_name in BENCHES:
        if (only and name not in only) or name in skip:
            continue
        exe = os.path.join(build, prog)
        if not os.access(exe, os.X_OK):
            log("skipped %s: %s not built" % (name, exe))
            continue
        runs = []
        for label, args in sizes:
            with tempfile.TemporaryDirectory(prefix="memory_growth_") as cwd:
                log("running %s %s" % (prog, " ".join(args)))
                try:
                    lines, wall, cpu, peak = run_one(exe, args, env, cwd)
                except RuntimeError as e:
                    failed.append(str(e))
                    log("FAIL: %s" % e)
                    break
            runs.append((label, args, lines, wall, cpu, peak))
            log("  %d lines, %.1f s wall, %.1f s CPU, peak RSS %.0f MB" % (len(lines), wall, cpu,
                                                                          peak / 1e6))
        else:
            results[name] = runs
    return results


def analyse(results, limit, floor):
    """Rows: (bench, line label, figure, kind, [per-unit or None per size],
    growth, status)."""
    rows = []
    for name, prog, sizes, unit_field, unit_name in BENCHES:
        if name not in results:
            continue
        runs = results[name]
        table = {}  # key -> {"label":, "figs": {(fig, kind): [(units, value)] per size}}
        order = []
        for si, (label, args, lines, wall, cpu, peak) in enumerate(runs):
            seen = {}
            context = {}
            for d in lines:
                for k in set(UNIT_COUNT.values()) | {unit_field}:
                    if k and isinstance(d.get(k), (int, float)) and d[k] > 0:
                        context[k] = d[k]
                key = line_key(d, seen)
                if key not in table:
                    table[key] = {"label": line_label(d), "figs": {}}
                    order.append(key)
                for fig, kind, value, units in figures(d, unit_field, unit_name, context):
                    slot = table[key]["figs"].setdefault((fig, kind), [None] * len(runs))
                    slot[si] = (units, value)
        for key in order:
            for (fig, kind), vals in table[key]["figs"].items():
                present = [(i, v) for i, v in enumerate(vals) if v is not None]
                if len(present) < 2:
                    continue
                growth = None
                # RSS figures count at the sizes where their bytes reach the
                # floor; counts of the library's allocations at every size
                resolved = [(i, (u, v)) for i, (u, v) in present
                            if kind in ("library", "file") or (u is not None and v * u >= floor)]
                u0, u1 = present[0][1][0], present[-1][1][0]
                if u0 is not None and u0 == u1:
                    status = "same size"
                elif len(resolved) < 2:
                    status = "below resolution"
                else:
                    v0, v1 = resolved[0][1][1], resolved[-1][1][1]
                    growth = v1 / v0 - 1.0 if v0 > 0 else (0.0 if v1 <= 0 else float("inf"))
                    status = "FAIL" if growth > limit else "ok"
                u, v = present[-1][1]
                rows.append((name, table[key]["label"], fig, kind,
                             [None if v is None else v[1] for v in vals], growth, status,
                             [r[0] for r in runs], None if u is None else u * v))
    return rows


def fmt_value(v):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def render(rows, results, markdown, command, limit, floor):
    out = []
    checked, prev = [], {}
    for r in rows:
        if r[6] not in ("ok", "FAIL"):
            continue
        # a process peak repeated by the next lines of the run says nothing new
        if r[3] == "peak" and prev.get(r[0]) == r[4]:
            continue
        if r[3] == "peak":
            prev[r[0]] = r[4]
        checked.append(r)
    other = [r for r in rows if r[6] not in ("ok", "FAIL")]
    if markdown:
        out.append("Generated by `bench/memory_growth.py`; command (BUILD is a release build "
                   "with `-Dbench=true`):")
        out.append("")
        out.append("```")
        out.append(command)
        out.append("```")
        out.append("")
        out.append("Runs (one child process each: wall and CPU seconds, the largest peak RSS the "
                   "benchmark printed):")
        out.append("")
        out.append("| benchmark | sizes (wall s / CPU s / peak RSS) |")
        out.append("|---|---|")
        for name, runs in results.items():
            out.append("| %s | %s |" % (name, "; ".join(
                "%s (%.1f / %.1f / %.0f MB)" % (r[0], r[3], r[4], r[5] / 1e6) for r in runs)))
        out.append("")
        out.append("Bytes per unit at each size (smallest to largest), growth from the smallest "
                   "to the largest, check at +%d %%:" % round(limit * 100))
        out.append("")
        out.append("| benchmark | line | bytes per | kind | at each size | growth | check |")
        out.append("|---|---|---|---|---|---|---|")
        for name, label, fig, kind, vals, growth, status, labels, top in checked:
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                name, label, fig, kind, " / ".join(fmt_value(v) for v in vals),
                "-" if growth is None else "%+.0f %%" % (growth * 100), status))
        if other:
            out.append("")
            groups = {}
            for name, label, fig, kind, vals, growth, status, labels, top in other:
                g = groups.setdefault(status, {})
                item = g.setdefault(label, [[], 0])
                item[0].append(fig)
                item[1] = max(item[1], top or 0)
            for status, items in groups.items():
                what = ("Not checked, below %.0f MiB of RSS at all sizes but one at most (the "
                        "bytes at the largest size in brackets)" % (floor / 1048576)
                        if status == "below resolution" else
                        "Not compared, the same number of units at every size")
                out.append("%s: %s." % (what, "; ".join(
                    label + (" (%.2f MiB)" % (top / 1048576) if status == "below resolution"
                             else "")
                    for label, (figs, top) in items.items())))
                out.append("")
    else:
        w = max([len(r[1]) for r in rows] + [10])
        for name, label, fig, kind, vals, growth, status, labels, top in rows:
            out.append("%-9s %-*s %-18s %-8s %-32s %8s  %s" % (
                name, w, label, fig, kind, " / ".join(fmt_value(v) for v in vals),
                "-" if growth is None else "%+.0f%%" % (growth * 100), status))
    return "\n".join(out) + "\n"


BEGIN = "<!-- memory-growth:begin (generated by bench/memory_growth.py; do not edit) -->"
END = "<!-- memory-growth:end -->"


def write_doc(path, text):
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    a, b = doc.find(BEGIN), doc.find(END)
    if a < 0 or b < a:
        raise SystemExit("%s: no memory-growth markers" % path)
    doc = doc[:a + len(BEGIN)] + "\n\n" + text.rstrip("\n") + "\n\n" + doc[b:]
    with open(path, "w", encoding="utf-8") as f:
        f.write(doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="build directory (-Dbench=true)")
    ap.add_argument("--only", default="", help="comma-separated benchmarks to run")
    ap.add_argument("--skip", default="", help="comma-separated benchmarks not to run")
    ap.add_argument("--limit", type=float, default=0.25,
                    help="largest growth of bytes per unit allowed (0.25: +25 %%)")
    ap.add_argument("--floor", type=float, default=1048576,
                    help="bytes below which a figure is not checked (1 MiB)")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    ap.add_argument("--write-doc", help="rewrite the marked section of this file")
    ap.add_argument("--save-json", help="write the collected lines to this file")
    ap.add_argument("--load-json", help="analyse lines saved by --save-json instead of running")
    a = ap.parse_args()
    only = set(x for x in a.only.split(",") if x)
    skip = set(x for x in a.skip.split(",") if x)
    known = set(b[0] for b in BENCHES)
    for x in only | skip:
        if x not in known:
            ap.error("unknown benchmark %r (known: %s)" % (x, ", ".join(sorted(known))))
    log = lambda s: print(s, file=sys.stderr, flush=True)
    if a.load_json:
        with open(a.load_json, encoding="utf-8") as f:
            results = {k: [tuple(r) for r in v] for k, v in json.load(f).items()}
    else:
        failed = []
        results = collect(a.build, only, skip, log, failed)
        if failed:
            return 1
    if not results:
        log("no benchmark ran")
        return 2
    if a.save_json:
        with open(a.save_json, "w", encoding="utf-8") as f:
            json.dump(results, f)
    rows = analyse(results, a.limit, a.floor)
    cmd = ["bench/memory_growth.py", "--build", "BUILD"]
    if a.only:
        cmd += ["--only", a.only]
    if a.skip:
        cmd += ["--skip", a.skip]
    if a.limit != 0.25:
        cmd += ["--limit", str(a.limit)]
    if a.floor != 1048576:
        cmd += ["--floor", "%.0f" % a.floor]
    if a.write_doc:
        cmd += ["--write-doc", "docs/benchmarks.md"]
    command = " ".join(shlex.quote(c) for c in cmd)
    text = render(rows, results, a.markdown or bool(a.write_doc), command, a.limit, a.floor)
    sys.stdout.write(text)
    if a.write_doc:
        write_doc(a.write_doc, text)
    bad = [r for r in rows if r[6] == "FAIL"]
    for name, label, fig, kind, vals, growth, status, labels, top in bad:
        log("FAIL: %s %s: %s bytes per %s grew %s -> %s (%+.0f %%) from %s to %s" % (
            name, label, kind, fig, fmt_value(vals[0]), fmt_value(vals[-1]),
            (growth or 0) * 100, labels[0], labels[-1]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
