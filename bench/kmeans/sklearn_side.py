#!/usr/bin/env python3
"""scikit-learn's KMeans on the benchmark's problem, single-threaded, from
the same initial centroids. Called by bench_kmeans with:
    sklearn_side.py DATA INIT LABELS N D K MAX_ITER TOL
(raw little-endian float64 / uint32 files). Prints one JSON line per
algorithm, or one line saying scikit-learn is not installed."""
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
try:
    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits
except ImportError:
    print(json.dumps({"bench": "kmeans-sklearn", "status": "sklearn: not installed"}))
    sys.exit(0)


def main():
    data, init, labels, n, d, k, max_iter, tol = sys.argv[1:9]
    n, d, k, max_iter, tol = int(n), int(d), int(k), int(max_iter), float(tol)
    x = np.fromfile(data, dtype="<f8").reshape(n, d)
    c0 = np.fromfile(init, dtype="<f8").reshape(k, d)
    ours = np.fromfile(labels, dtype="<u4")
    for algo in ("lloyd", "elkan"):
        with threadpool_limits(limits=1):
            t0 = time.perf_counter()
            km = KMeans(n_clusters=k, init=c0, n_init=1, max_iter=max_iter, tol=tol,
                        algorithm=algo).fit(x)
            t = time.perf_counter() - t0
        same = float(np.mean(km.labels_ == ours)) if ours.size == n else -1.0
        print(json.dumps({
            "bench": "kmeans-sklearn", "sklearn": sklearn.__version__, "algorithm": algo,
            "n": n, "d": d, "k": k, "threads": 1, "seconds": round(t, 4),
            "n_iter": int(km.n_iter_), "s_per_iter": round(t / max(km.n_iter_, 1), 5),
            "inertia": float(km.inertia_), "labels_equal_to_lloyd": round(same, 6)}),
            flush=True)


main()
