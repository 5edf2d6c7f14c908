#!/usr/bin/env python3
"""The BG/NBD likelihood in numpy/scipy (lifetimes' formulation: log-
parameters, Nelder-Mead as lifetimes' BetaGeoFitter uses), fitted on the
benchmark's rows for a side-by-side time. Called by bench_clv with:
    scipy_side.py SUMMARY.csv OUR_CPU_SECONDS
Prints one JSON line, or one saying scipy is not installed."""
import json
import sys
import time

try:
    import numpy as np
    from scipy.optimize import minimize
    from scipy.special import gammaln
except ImportError:
    print(json.dumps({"bench": "clv-scipy", "status": "scipy: not installed"}))
    sys.exit(0)


def negll(logp, x, tx, T):
    r, alpha, a, b = np.exp(logp)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + tx), -np.inf)
    return -np.mean(a1 + a2 + np.logaddexp(a3, a4))


def main():
    path, ours = sys.argv[1], float(sys.argv[2])
    d = np.loadtxt(path, delimiter=",", skiprows=1)
    x, tx, T = d[:, 0], d[:, 1], d[:, 2]
    best = None
    for _ in range(3):
        t0 = time.process_time()
        res = minimize(negll, np.zeros(4), args=(x, tx, T), method="Nelder-Mead",
                       options={"maxiter": 2000, "xatol": 1e-8, "fatol": 1e-10})
        t = time.process_time() - t0
        best = t if best is None else min(best, t)
    p = np.exp(res.x)
    print(json.dumps({"bench": "clv-scipy", "model": "bgnbd", "customers": int(len(x)),
                      "method": "Nelder-Mead", "cpu_ms": round(best * 1e3, 3),
                      "ratio_to_libprofile": round(best / ours, 1), "loglik": -res.fun * len(x),
                      "params": [round(v, 6) for v in p]}))


main()
