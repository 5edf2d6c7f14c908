#!/usr/bin/env python3
"""`profilectl kmeans --init FILE --algorithm lloyd` must equal scikit-learn's
KMeans(init=those centroids, n_init=1, algorithm="lloyd") on the same data:
the same labels, centroids equal within 1e-9 relative.

The data is well separated (three groups 30+ apart, noise +-6), so no row
is near a tie and the two distance formulas (direct differences here,
|x|^2 - 2x.c + |c|^2 in scikit-learn) cannot disagree on a label.

EXPECTED_* were computed once with scikit-learn 1.2.1 / NumPy 1.24.2
(Debian 12 python3-sklearn):
    km = KMeans(3, init=np.array(INIT), n_init=1, algorithm="lloyd").fit(np.array(rows))
    km.labels_, km.cluster_centers_, km.inertia_  (n_iter_ = 2)
When scikit-learn is importable the comparison is also made live.
Usage: check_cli_sklearn.py PROFILECTL"""
import os
import random
import subprocess
import sys
import tempfile

INIT = [[1.5, -2.0, 3.0, 0.5], [30.0, 0.0, -10.0, 5.0], [-20.0, 25.0, 10.0, -20.0]]
EXPECTED_LABELS = "012" * 30
EXPECTED_CENTROIDS = [
    [-0.15200000000000014, 1.0627333333333322, 0.13999999999999968, 0.42633333333333123],
    [40.12716666666667, 4.672966666666666, -18.987533333333335, 9.793733333333337],
    [-30.363166666666668, 35.63183333333333, 14.598800000000004, -24.850866666666672]]
EXPECTED_INERTIA = 4382.0575836


def make_rows():
    rnd = random.Random(11)
    centres = [(0.0, 0.0, 0.0, 0.0), (40.0, 5.0, -20.0, 10.0), (-30.0, 35.0, 15.0, -25.0)]
    return [[round(centres[i % 3][t] + rnd.uniform(-6, 6), 3) for t in range(4)]
            for i in range(90)]


def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def main():
    profilectl = sys.argv[1]
    rows = make_rows()
    with tempfile.TemporaryDirectory() as tmp:
        feats = os.path.join(tmp, "features.csv")
        init = os.path.join(tmp, "init.csv")
        labels_out = os.path.join(tmp, "labels.csv")
        cent_out = os.path.join(tmp, "centroids.csv")
        with open(feats, "w") as f:
            f.write("customer,a,b,c,d\n")
            for i, r in enumerate(rows):
                f.write("c%03d,%s\n" % (i, ",".join(repr(v) for v in r)))
        with open(init, "w") as f:
            f.write("a,b,c,d\n")
            for r in INIT:
                f.write(",".join(repr(v) for v in r) + "\n")
        res = subprocess.run([profilectl, "kmeans", "--init", init, "--algorithm", "lloyd",
                              "--id-col", "customer", "--out-labels", labels_out,
                              "--out-centroids", cent_out, feats],
                             capture_output=True, text=True)
        if res.returncode != 0:
            print("profilectl failed:", res.stderr)
            return 1
        with open(labels_out) as f:
            lines = f.read().split()
        got_labels = "".join(line.split(",")[1] for line in lines[1:])
        with open(cent_out) as f:
            got_c = [[float(v) for v in line.split(",")[1:]] for line in f.read().split()[1:]]
    ok = True
    if got_labels != EXPECTED_LABELS:
        print("labels differ:\n got  %s\n want %s" % (got_labels, EXPECTED_LABELS))
        ok = False
    for j in range(3):
        for t in range(4):
            if not close(got_c[j][t], EXPECTED_CENTROIDS[j][t]):
                print("centroid %d,%d: got %r want %r" % (j, t, got_c[j][t], EXPECTED_CENTROIDS[j][t]))
                ok = False
    # The summary prints the inertia as the shortest text that reads back
    # to the same double; compare its value, not a fixed spelling.
    import re
    m = re.search(r"inertia=([-+0-9.eE]+)", res.stderr)
    if m is None or not close(float(m.group(1)), EXPECTED_INERTIA):
        print("inertia not reported as %r: %s" % (EXPECTED_INERTIA, res.stderr))
        ok = False
    try:
        import numpy as np
        from sklearn.cluster import KMeans
        km = KMeans(3, init=np.array(INIT), n_init=1, algorithm="lloyd").fit(np.array(rows))
        live = "".join(str(v) for v in km.labels_)
        if live != got_labels:
            print("live scikit-learn labels differ")
            ok = False
        for j in range(3):
            for t in range(4):
                if not close(got_c[j][t], float(km.cluster_centers_[j][t])):
                    print("live scikit-learn centroid %d,%d differs" % (j, t))
                    ok = False
        print("compared with live scikit-learn as well")
    except ImportError:
        print("scikit-learn not installed: compared with the recorded values only")
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


sys.exit(main())
