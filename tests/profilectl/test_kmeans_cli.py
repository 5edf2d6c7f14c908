#!/usr/bin/env python3
"""End-to-end tests of `profilectl kmeans`: fit, labels, centroids, the
metrics summary, --sweep, --init FILE, quoting, and every error path.

Usage: test_kmeans_cli.py PROFILECTL

The data are six points on a line in three tight pairs, so the answers are
worked out by hand: with centres 1, 11 and 21 every point is 1 away, so the
inertia at k = 3 is 6; k = 2 puts one pair with another (either way
2 x (25 + 1) + 2 x (1 + 25)... = 104 + 2 = 106); k = 1 has the mean 11 and
121 + 81 + 1 + 1 + 81 + 121 = 406.
"""
import csv
import io
import math
import os
import subprocess
import sys
import tempfile

EXE = os.path.abspath(sys.argv[1])
failures = []


def run(args, cwd):
    p = subprocess.run([EXE, "kmeans"] + args, capture_output=True, text=True, cwd=cwd,
                       timeout=120)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    if not cond:
        failures.append("%s: %s" % (name, detail))


def write(d, name, text):
    with open(os.path.join(d, name), "w", newline="") as f:
        f.write(text)
    return name


def main():
    with tempfile.TemporaryDirectory() as d:
        # Ids with a comma and a quote, a feature column name with a comma.
        write(d, "p.csv", 'id,"x,pos"\n'
              '"a,1",0\nb,2\n"q""c",10\nd,12\ne,20\nf,22\n')

        # --sweep 1..3: one row per k, the hand-worked inertia, integers as integers.
        rc, out, err = run(["--id-col", "id", "--sweep", "1..3", "p.csv"], d)
        rows = list(csv.reader(io.StringIO(out)))
        check("sweep rc", rc == 0, err)
        check("sweep header", rows[0] == ["k", "inertia", "silhouette", "davies_bouldin",
                                          "calinski_harabasz", "iterations"], out)
        check("sweep k", [r[0] for r in rows[1:]] == ["1", "2", "3"], out)
        check("sweep inertia", [float(r[1]) for r in rows[1:]] == [406.0, 106.0, 6.0], out)
        check("sweep inertia text", [r[1] for r in rows[1:]] == ["406", "106", "6"], out)
        check("sweep k=1 has no silhouette", rows[1][2] == "nan", out)
        check("sweep silhouette in [-1, 1]",
              all(-1 <= float(r[2]) <= 1 for r in rows[2:]), out)
        check("sweep iterations are integers",
              all(r[5].isdigit() for r in rows[1:]), out)
        # Same command twice: byte-identical.
        rc2, out2, _ = run(["--id-col", "id", "--sweep", "1..3", "p.csv"], d)
        check("sweep deterministic", (rc2, out2) == (rc, out))

        # Fit k = 3: centroids (stdout by default) and labels, RFC 4180 quoting.
        rc, out, err = run(["--k", "3", "--id-col", "id", "--out-labels", "lab.csv",
                            "--out-centroids", "-", "p.csv"], d)
        check("fit rc", rc == 0, err)
        cent = list(csv.reader(io.StringIO(out)))
        check("centroid header quoted", out.startswith('cluster,"x,pos"\n'), out)
        check("centroids", sorted(float(r[1]) for r in cent[1:]) == [1.0, 11.0, 21.0], out)
        check("centroid text is shortest", sorted(r[1] for r in cent[1:]) == ["1", "11", "21"], out)
        with open(os.path.join(d, "lab.csv"), newline="") as f:
            text = f.read()
        check("labels quoted", text.startswith('id,cluster\n"a,1",') and '\n"q""c",' in text, text)
        lab = {r[0]: r[1] for r in list(csv.reader(io.StringIO(text)))[1:]}
        check("labels pair up", lab["a,1"] == lab["b"] and lab['q"c'] == lab["d"] and
              lab["e"] == lab["f"] and len({lab["a,1"], lab["d"], lab["f"]}) == 3, text)
        # The label of each point names the centroid nearest to it.
        cx = {r[0]: float(r[1]) for r in cent[1:]}
        check("label is nearest centroid", abs(cx[lab["a,1"]] - 1) < 1e-12, (cx, lab))
        check("summary", "kmeans: n=6 d=1 k=3" in err and "inertia=6\n" in err and
              "cluster sizes 2 2 2" in err and "silhouette=" in err, err)

        # Labels to stdout without --id-col: row numbers; centroids to a file.
        rc, out, err = run(["--k", "2", "--cols", "x,pos", "--out-labels", "-",
                            "--out-centroids", "c.csv", "p.csv"], d)
        check("cols with comma is two names", rc == 1 and "column 'x' not found" in err, err)
        # --cols is one CSV line: a quoted name may hold a comma.
        rc, out, err = run(["--k", "3", "--cols", '"x,pos"', "p.csv"], d)
        check("quoted --cols", rc == 0 and out.startswith('cluster,"x,pos"\n'), out + err)
        write(d, "plain.csv", "id,x,y\na,0,0\nb,0,1\nc,10,10\nd,10,11\n")
        rc, out, err = run(["--k", "2", "--cols", "y,x", "--out-labels", "-",
                            "--out-centroids", "c.csv", "plain.csv"], d)
        check("labels stdout", rc == 0 and out.startswith("row,cluster\n0,") and
              out.count("\n") == 5, out + err)
        with open(os.path.join(d, "c.csv")) as f:
            ctext = f.read()
        check("centroids file in --cols order", ctext.startswith("cluster,y,x\n"), ctext)
        check("centroid values", sorted(ctext.splitlines()[1:]) in (
            ["0,0.5,0", "1,10.5,10"], ["0,10.5,10", "1,0.5,0"]), ctext)

        # --init FILE, with and without a header; --k must agree.
        write(d, "init.csv", "x,y\n0,0\n10,10\n")
        write(d, "init_nohead.csv", "0,0\n10,10\n")
        for name in ("init.csv", "init_nohead.csv"):
            rc, out, err = run(["--init", name, "--cols", "x,y", "--algorithm", "lloyd",
                                "plain.csv"], d)
            check("init " + name, rc == 0 and out == "cluster,x,y\n0,0,0.5\n1,10,10.5\n",
                  out + err)
        rc, out, err = run(["--init", "init.csv", "--k", "3", "--cols", "x,y", "plain.csv"], d)
        check("init k mismatch", rc == 2 and "--k 3 but init.csv holds 2 centroids" in err, err)
        write(d, "init_bad.csv", "x,y\n0,zero\n")
        rc, out, err = run(["--init", "init_bad.csv", "--cols", "x,y", "plain.csv"], d)
        check("init bad value", rc == 1 and "init_bad.csv:2: value 2 is not a finite number" in err,
              err)
        write(d, "init_wide.csv", "0,0,0\n")
        rc, out, err = run(["--init", "init_wide.csv", "--cols", "x,y", "plain.csv"], d)
        check("init wrong width", rc == 1 and "init_wide.csv:1: 3 values, the features have 2" in err,
              err)
        write(d, "init_empty.csv", "x,y\n")
        rc, out, err = run(["--init", "init_empty.csv", "--cols", "x,y", "plain.csv"], d)
        check("init empty", rc == 1 and "init_empty.csv: no centroids" in err, err)
        write(d, "init_broken.csv", '0,0\n"1,1\n')
        rc, out, err = run(["--init", "init_broken.csv", "--cols", "x,y", "plain.csv"], d)
        check("init malformed", rc == 1 and "init_broken.csv:2:" in err, err)
        rc, out, err = run(["--init", "absent.csv", "--cols", "x,y", "plain.csv"], d)
        check("init absent", rc == 1 and "cannot open 'absent.csv'" in err, err)
        rc, out, err = run(["--init", "init.csv", "--sweep", "1..2", "plain.csv"], d)
        check("init with sweep", rc == 2, err)

        # Options, scaling, algorithms, init methods: all run and agree on this easy data.
        for extra in (["--scale", "zscore"], ["--scale", "minmax"], ["--scale", "log1p"],
                      ["--algorithm", "hamerly"], ["--algorithm", "minibatch"],
                      ["--algorithm", "yinyang"],
                      ["--init", "random"], ["--n-init", "1", "--seed", "7"],
                      ["--max-iter", "50", "--tol", "0"]):
            rc, out, err = run(["--k", "2", "--cols", "x,y", "--out-labels", "-"] + extra +
                               ["plain.csv"], d)
            labels = [line.split(",")[1] for line in out.splitlines()[1:]]
            check("run %r" % extra, rc == 0 and labels[0] == labels[1] != labels[2] == labels[3],
                  out + err)

        # Numbers as written in CSV files: the reader's own decimal path and
        # strtod must give Python's (correctly rounded) doubles. With
        # --max-iter 0 the given centroids come back unchanged, printed as
        # the shortest text that reads back to the same double.
        import random
        rng = random.Random(14)
        texts = ["0", "-0", "1.", ".5", "-.25", "+3", " 7", "8 ", "1e3", "2.5E-3", "0.1",
                 "9007199254740993", "9007199254740992", "0.30000000000000004",
                 "123456789012345678901", "1.0000000000000000000000001", "-4.9e-300"]
        for _ in range(300):
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 18)))
            cut = rng.randint(0, len(digits))
            texts.append(rng.choice(["", "-"]) + digits[:cut] + "." + digits[cut:]
                         if cut < len(digits) else rng.choice(["", "-"]) + digits)
        write(d, "num_init.csv", "v\n" + "\n".join(texts) + "\n")
        write(d, "num_data.csv", "v\n" + "\n".join(str(i) for i in range(len(texts))) + "\n")
        rc, out, err = run(["--init", "num_init.csv", "--max-iter", "0", "num_data.csv"], d)
        got = [float(r[-1]) for r in list(csv.reader(io.StringIO(out)))[1:]]
        check("number parsing", rc == 0 and got == [float(t) for t in texts],
              [(t, g) for t, g in zip(texts, got) if float(t) != g][:5] or err)

        # Lloyd, Hamerly and Yinyang: the same bytes on data with overlapping
        # clusters (k = 25: Yinyang has two groups of centers).
        rows = ["x,y,z"] + ["%.3f,%.3f,%.3f" % (rng.gauss(i % 7, 1.5), rng.gauss(i % 5, 1.5),
                                                 rng.gauss(i % 3, 1.5)) for i in range(3000)]
        write(d, "many.csv", "\n".join(rows) + "\n")
        outs = []
        for algo in ("lloyd", "hamerly", "yinyang"):
            rc, out, err = run(["--k", "25", "--seed", "3", "--n-init", "2", "--algorithm", algo,
                                "--out-labels", "-", "many.csv"], d)
            outs.append((rc, out, err.replace("algorithm=" + algo, "algorithm=")))
        check("exact algorithms agree", outs[0] == outs[1] == outs[2] and outs[0][0] == 0,
              [o[2] for o in outs])

        # One cluster: no metrics.
        rc, out, err = run(["--k", "1", "--cols", "x", "plain.csv"], d)
        check("k=1 metrics", rc == 0 and "metrics need 2 <= non-empty clusters" in err, err)

        # Data errors: FILE:LINE and exit 1.
        write(d, "nan.csv", "x\n1\nnan\n")
        rc, out, err = run(["--k", "1", "nan.csv"], d)
        check("non-finite", rc == 1 and "nan.csv:3: column 'x' is not a finite number" in err, err)
        write(d, "text.csv", "x\n1\n1 2\n")
        rc, out, err = run(["--k", "1", "text.csv"], d)
        check("junk", rc == 1 and "text.csv:3:" in err, err)
        write(d, "short.csv", "x,y\n1,2\n3\n")
        rc, out, err = run(["--k", "1", "short.csv"], d)
        check("short row", rc == 1 and "short.csv:3: expected 2 fields" in err, err)
        write(d, "onlyid.csv", "id\na\n")
        rc, out, err = run(["--k", "1", "--id-col", "id", "onlyid.csv"], d)
        check("no features", rc == 1 and "onlyid.csv:1: no feature columns" in err, err)
        write(d, "wide.csv", ",".join("c%d" % i for i in range(300)) + "\n")
        rc, out, err = run(["--k", "1", "wide.csv"], d)
        check("too many features", rc == 1 and "more than 256 feature columns" in err, err)
        rc, out, err = run(["--k", "1", "--id-col", "nope", "plain.csv"], d)
        check("missing id col", rc == 1 and "plain.csv: column 'nope' not found" in err, err)
        rc, out, err = run(["--k", "9", "--cols", "x", "plain.csv"], d)
        check("k above n", rc == 1 and out == "", err)
        write(d, "empty.csv", "")
        rc, out, err = run(["--k", "1", "empty.csv"], d)
        check("empty file", rc == 1, err)
        rc, out, err = run(["--k", "1", "absent.csv"], d)
        check("absent file", rc == 1 and "No such file" in err, err)
        rc, out, err = run(["--k", "2", "--cols", "x", "--out-labels", "nodir/l.csv", "plain.csv"], d)
        check("unwritable labels", rc == 1 and "cannot open 'nodir/l.csv' for writing: No such file"
              in err, err)
        rc, out, err = run(["--k", "2", "--cols", "x", "--out-centroids", "nodir/c.csv",
                            "plain.csv"], d)
        check("unwritable centroids", rc == 1 and "nodir/c.csv" in err, err)
        if os.path.exists("/dev/full"):
            rc, out, err = run(["--k", "2", "--cols", "x", "--out-centroids", "/dev/full",
                                "plain.csv"], d)
            check("full disk", rc == 1 and "cannot write '/dev/full': No space left" in err, err)
            rc, out, err = run(["--sweep", "1..2", "--cols", "x", "--out-centroids", "/dev/full",
                                "plain.csv"], d)
            check("sweep ignores out files", rc == 0, err)
        rc, out, err = run(["--sweep", "1..9", "--cols", "x", "plain.csv"], d)
        check("sweep k above n", rc == 1 and out == "", err)

        # Usage errors: exit 2, nothing on stdout.
        for args in (["plain.csv"], ["--k", "2"], ["--k", "0", "plain.csv"],
                     ["--k", "two", "plain.csv"], ["--seed", "-5", "--k", "2", "plain.csv"],
                     ["--seed", "x", "--k", "2", "plain.csv"],
                     ["--scale", "huge", "--k", "2", "plain.csv"],
                     ["--algorithm", "elkan", "--k", "2", "plain.csv"],
                     ["--tol", "-1", "--k", "2", "plain.csv"],
                     ["--tol", "inf", "--k", "2", "plain.csv"],
                     ["--n-init", "0", "--k", "2", "plain.csv"],
                     ["--max-iter", "-1", "--k", "2", "plain.csv"],
                     ["--sweep", "3..2", "plain.csv"], ["--sweep", "0..2", "plain.csv"],
                     ["--sweep", "2", "plain.csv"], ["--sweep", "..2", "plain.csv"],
                     ["--sweep", "1..", "plain.csv"], ["--sweep", "a..b", "plain.csv"],
                     ["--sweep", "1..99999999999999999999", "plain.csv"],
                     ["--sweep", "123456789012345678901234567890123..2", "plain.csv"],
                     ["--out-labels", "", "--k", "2", "plain.csv"],
                     ["--cols", ",x", "--k", "2", "plain.csv"],
                     ["--cols", "", "--k", "2", "plain.csv"],
                     ["--cols", "x\ny", "--k", "2", "plain.csv"],
                     ["--cols", '"x', "--k", "2", "plain.csv"],
                     ["--cols", "y" * 300, "--k", "2", "plain.csv"],
                     ["--cols", ",".join(["x"] * 300), "--k", "2", "plain.csv"],
                     ["--k", "2", "plain.csv", "plain.csv"], ["--frobnicate", "plain.csv"]):
            rc, out, err = run(args, d)
            check("usage %r" % args, rc == 2 and out == "" and "Run 'profilectl help kmeans'" in err,
                  (rc, out, err))
        rc, out, err = run(["--seed", "-5", "--k", "2", "plain.csv"], d)
        check("seed message", "option '--seed': -5 is out of range (at least 0)" in err, err)

    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("profilectl kmeans: all checks passed")


main()
