"""k-means (``lp_kmeans``) with scikit-learn's estimator shape."""
from __future__ import annotations

import ctypes
import random
from ctypes import POINTER, c_double, c_int, c_size_t, c_uint32, c_uint64, c_void_p
from typing import Optional, Union

from . import _lib
from ._lib import LP_EINVAL, Handle, InvalidArgument, Misuse, P, PSZ, _sig, as_f64, lib, np

__all__ = ["KMeans", "ALGORITHMS", "SCALES"]

K, MAX_ITER, N_INIT, ALGORITHM, INIT, SEED, BATCH_SIZE, SCALE = 1, 2, 3, 4, 5, 6, 7, 8
STOP_ON_NO_CHANGE, SILHOUETTE_SAMPLE, EXACT_SUMS, TOL = 9, 10, 11, 100
ALGORITHMS = {"auto": 0, "lloyd": 1, "hamerly": 2, "minibatch": 3, "yinyang": 4}
INITS = {"k-means++": 0, "random": 1}
SCALES = {"none": 0, "zscore": 1, "minmax": 2, "log1p": 3}
SPACE_SCALED, SPACE_ORIGINAL = 0, 1
ACC_WORDS = 56
SWEEP_COLUMNS = ("k", "inertia", "silhouette", "davies_bouldin", "calinski_harabasz", "n_iter")

_lib.declare_module("kmeans", extra_double=True)
D = c_void_p  # double * / uint32_t * etc. passed as numpy data pointers
_sig("lp_kmeans_set_column_scales", c_int, P, D, c_size_t)
_sig("lp_kmeans_set_init_centroids", c_int, P, D, c_size_t, c_size_t)
_sig("lp_kmeans_fit", c_int, P, D, c_size_t, c_size_t, D)
_sig("lp_kmeans_fit_f32", c_int, P, D, c_size_t, c_size_t, D)
_sig("lp_kmeans_k", c_size_t, P)
_sig("lp_kmeans_dim", c_size_t, P)
_sig("lp_kmeans_inertia", c_double, P)
_sig("lp_kmeans_n_iter", c_uint32, P)
_sig("lp_kmeans_algorithm_used", c_uint32, P)
_sig("lp_kmeans_centroids_bound", c_size_t, P)
_sig("lp_kmeans_centroids", c_int, P, c_uint32, D, c_size_t, PSZ)
_sig("lp_kmeans_labels_bound", c_size_t, P)
_sig("lp_kmeans_labels", c_int, P, D, c_size_t, PSZ)
_sig("lp_kmeans_transform", c_int, P, D, c_size_t, c_size_t, D)
_sig("lp_kmeans_predict", c_int, P, D, c_size_t, c_size_t, D, D)
_sig("lp_kmeans_silhouette", c_int, P, D, c_size_t, c_size_t, D, c_size_t, c_size_t,
     c_uint64, POINTER(c_double))
_sig("lp_kmeans_davies_bouldin", c_int, P, D, c_size_t, c_size_t, D, c_size_t,
     POINTER(c_double))
_sig("lp_kmeans_calinski_harabasz", c_int, P, D, c_size_t, c_size_t, D, c_size_t,
     POINTER(c_double))
_sig("lp_kmeans_adjusted_rand", c_int, P, D, D, c_size_t, POINTER(c_double))
_sig("lp_kmeans_sweep", c_int, P, D, c_size_t, c_size_t, D, c_size_t, c_size_t, D,
     c_size_t, PSZ)
_sig("lp_kmeans_partial_sums", c_int, P, D, c_size_t, c_size_t, D, D, D, D, c_size_t, PSZ,
     D, POINTER(c_double))
_sig("lp_kmeans_apply_sums", c_int, P, D, D, D, c_size_t, c_size_t, POINTER(c_double))
_sig("lp_kmeans_partial_sums_exact", c_int, P, D, c_size_t, c_size_t, D, D, c_size_t, PSZ, D)
_sig("lp_kmeans_apply_sums_exact", c_int, P, D, c_size_t, POINTER(c_double))


def _u32(a, n: int, name: str):
    a = np.ascontiguousarray(a, dtype=np.uint32)
    if a.ndim != 1 or a.shape[0] != n:
        raise InvalidArgument(LP_EINVAL, f"{name}: expected {n} labels, got shape {a.shape}")
    return a


class KMeans(Handle):
    """k-means clustering with scikit-learn's parameters and attributes.

    ``KMeans(n_clusters=8, init="k-means++"|"random"|array, n_init=10,
    max_iter=300, tol=1e-4, random_state=None, algorithm="lloyd"|"hamerly"|
    "yinyang"|"minibatch"|"auto")`` plus libprofile's ``scale`` ("none", "zscore",
    "minmax", "log1p", or one name per column), ``exact_sums`` and
    ``batch_size``. After ``fit``:
    ``labels_``, ``cluster_centers_`` (input units), ``inertia_``,
    ``n_iter_``, ``n_features_in_``.

    ``random_state=None`` draws a seed from Python's ``random`` (as
    scikit-learn, not reproducible); an int gives the same model on every
    platform. Data is used in place when it is a C-contiguous float64
    array; anything else is converted once. Not thread-safe: one object per
    thread, or a lock. Pickles with its fitted model (snapshot format).
    """

    _mod = "kmeans"

    def __init__(self, n_clusters: int = 8, *, init: Union[str, "np.ndarray"] = "k-means++",
                 n_init: Union[int, str] = 10, max_iter: int = 300, tol: float = 1e-4,
                 random_state: Optional[int] = None, algorithm: str = "lloyd",
                 scale: str = "none", exact_sums: bool = False, batch_size: int = 1024) -> None:
        super().__init__()
        self.n_clusters, self.init, self.n_init, self.max_iter = n_clusters, init, n_init, max_iter
        self.tol, self.random_state, self.algorithm, self.scale = tol, random_state, algorithm, scale
        self.exact_sums, self.batch_size = exact_sums, batch_size
        self._fitted = False

    # scikit-learn protocol -------------------------------------------------
    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters (scikit-learn)."""
        return {k: getattr(self, k) for k in ("n_clusters", "init", "n_init", "max_iter", "tol",
                                              "random_state", "algorithm", "scale",
                                              "exact_sums", "batch_size")}

    def set_params(self, **params) -> "KMeans":
        """Set constructor parameters (scikit-learn); applied at the next fit."""
        for k, v in params.items():
            if k not in self.get_params():
                raise InvalidArgument(LP_EINVAL, f"unknown parameter {k!r}")
            setattr(self, k, v)
        return self

    def _configure(self, d: int) -> None:
        if self.algorithm not in ALGORITHMS:
            raise InvalidArgument(LP_EINVAL, f"algorithm={self.algorithm!r}; allowed: {', '.join(ALGORITHMS)}")
        if isinstance(self.scale, str):
            if self.scale not in SCALES:
                raise InvalidArgument(LP_EINVAL, f"scale={self.scale!r}; allowed: {', '.join(SCALES)}")
            self.set_int(SCALE, SCALES[self.scale])
        else:  # one scaling per column
            names = list(self.scale)
            if len(names) != d or any(n not in SCALES for n in names):
                raise InvalidArgument(LP_EINVAL, f"scale: {d} names from {', '.join(SCALES)} expected, got {names!r}")
            cols = np.array([SCALES[n] for n in names], dtype=np.uint32)
            self._call("set_column_scales", cols.ctypes.data, d)
        self.set_int(ALGORITHM, ALGORITHMS[self.algorithm])
        self.set_int(MAX_ITER, self.max_iter)
        self.set_int(EXACT_SUMS, 1 if self.exact_sums else 0)
        self.set_int(BATCH_SIZE, self.batch_size)
        self._call("set_double", TOL, float(self.tol))
        seed = self.random_state
        if seed is None:
            seed = random.getrandbits(63)
        elif hasattr(seed, "randint"):  # numpy RandomState / Generator-like
            seed = int(seed.randint(0, 2 ** 62))
        self.set_int(SEED, int(seed) & 0xFFFFFFFFFFFFFFFF if int(seed) < 2 ** 63 else int(seed) - 2 ** 64)
        if isinstance(self.init, str):
            if self.init not in INITS:
                raise InvalidArgument(LP_EINVAL, f"init={self.init!r}; allowed: k-means++, random, or an array")
            self.set_int(K, self.n_clusters)
            self.set_int(INIT, INITS[self.init])
            self.set_int(N_INIT, 10 if self.n_init == "auto" else self.n_init)
        else:
            c = as_f64(self.init, 2, "init")
            if c.shape[1] != d:
                raise InvalidArgument(LP_EINVAL, f"init has {c.shape[1]} columns, X has {d}")
            if c.shape[0] != self.n_clusters:
                raise InvalidArgument(LP_EINVAL, f"init has {c.shape[0]} rows, n_clusters is {self.n_clusters}")
            self._call("set_init_centroids", c.ctypes.data, c.shape[0], c.shape[1])
            self.set_int(N_INIT, 1)

    def _x(self, X, name: str = "X"):
        x = as_f64(X, 2, name)
        return x, x.shape[0], x.shape[1]

    def _w(self, sample_weight, n: int):
        if sample_weight is None:
            return None
        w = as_f64(sample_weight, 1, "sample_weight")
        if w.shape[0] != n:
            raise InvalidArgument(LP_EINVAL, f"sample_weight has {w.shape[0]} values, X has {n} rows")
        return w

    def fit(self, X, y=None, sample_weight=None) -> "KMeans":
        """Fit on the rows of ``X`` (n x d); ``y`` is ignored. A C-contiguous
        float32 array is used in place too (``lp_kmeans_fit_f32``)."""
        a = np.asarray(X)
        if a.dtype == np.float32 and a.ndim == 2 and a.flags.c_contiguous:
            x, n, d, fn = a, a.shape[0], a.shape[1], "fit_f32"
        else:
            (x, n, d), fn = self._x(X), "fit"
        w = self._w(sample_weight, n)
        self._configure(d)
        self._call(fn, x.ctypes.data, n, d, None if w is None else w.ctypes.data)
        self._fitted = True
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """``fit(X).labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def _need_model(self) -> None:
        if not self._fitted:
            raise Misuse(_lib.LP_EMISUSE, "this KMeans is not fitted yet: call fit first")

    def predict(self, X, return_distances: bool = False):
        """Nearest centroid of each row (uint32; ties: lowest index).
        ``return_distances=True`` adds the squared distances (scaled space)."""
        self._need_model()
        x, n, d = self._x(X)
        if d != self.n_features_in_:
            raise InvalidArgument(LP_EINVAL, f"X has {d} columns, the model {self.n_features_in_}")
        labels = np.empty(n, dtype=np.uint32)
        dist = np.empty(n, dtype=np.float64) if return_distances else None
        self._call("predict", x.ctypes.data, n, d, labels.ctypes.data,
                   None if dist is None else dist.ctypes.data)
        return (labels, dist) if return_distances else labels

    def score(self, X, y=None, sample_weight=None) -> float:
        """Opposite of the inertia of ``X`` under the model (scikit-learn)."""
        labels, dist = self.predict(X, return_distances=True)
        w = self._w(sample_weight, dist.shape[0])
        return -float(dist.sum() if w is None else (dist * w).sum())

    def transform(self, X):
        """``X`` in the model's scaled space (n x d)."""
        self._need_model()
        x, n, d = self._x(X)
        out = np.empty_like(x)
        self._call("transform", x.ctypes.data, n, d, out.ctypes.data)
        return out

    # fitted attributes ------------------------------------------------------
    def _centroids(self, space: int):
        self._need_model()
        need = c_size_t()
        cap = lib.lp_kmeans_centroids_bound(self.handle)
        out = np.empty(cap, dtype=np.float64)
        self._call("centroids", space, out.ctypes.data, cap, ctypes.byref(need))
        return out.reshape(lib.lp_kmeans_k(self.handle), lib.lp_kmeans_dim(self.handle))

    @property
    def cluster_centers_(self):
        """k x d centroids in the input units."""
        return self._centroids(SPACE_ORIGINAL)

    @property
    def cluster_centers_scaled_(self):
        """k x d centroids in the scaled space."""
        return self._centroids(SPACE_SCALED)

    @property
    def labels_(self):
        """Training labels (uint32); Misuse after apply_sums (they no longer match)."""
        self._need_model()
        cap = lib.lp_kmeans_labels_bound(self.handle)
        out = np.empty(cap, dtype=np.uint32)
        need = c_size_t()
        self._call("labels", out.ctypes.data, cap, ctypes.byref(need))
        return out[:need.value]

    @property
    def inertia_(self) -> float:
        """Sum of weighted squared distances of the training rows (scaled space)."""
        self._need_model()
        return lib.lp_kmeans_inertia(self.handle)

    @property
    def n_iter_(self) -> int:
        """Iterations run by the best restart."""
        self._need_model()
        return lib.lp_kmeans_n_iter(self.handle)

    @property
    def n_features_in_(self) -> int:
        """Number of columns of the model."""
        self._need_model()
        return lib.lp_kmeans_dim(self.handle)

    @property
    def algorithm_used_(self) -> str:
        """The algorithm that ran ("auto" resolves to one)."""
        self._need_model()
        code = lib.lp_kmeans_algorithm_used(self.handle)
        return {v: k for k, v in ALGORITHMS.items()}.get(code, str(code))

    # metrics -----------------------------------------------------------------
    def silhouette(self, X, labels, sample_size: int = 0, seed: int = 0) -> float:
        """Mean silhouette of ``labels`` on ``X`` (sampled above sample_size rows)."""
        x, n, d = self._x(X)
        lab = _u32(labels, n, "labels")
        out = c_double()
        k = int(lab.max()) + 1 if n else 0
        self._call("silhouette", x.ctypes.data, n, d, lab.ctypes.data, k, sample_size, seed,
                   ctypes.byref(out))
        return out.value

    def _index(self, name: str, X, labels) -> float:
        x, n, d = self._x(X)
        lab = _u32(labels, n, "labels")
        out = c_double()
        self._call(name, x.ctypes.data, n, d, lab.ctypes.data, int(lab.max()) + 1 if n else 0,
                   ctypes.byref(out))
        return out.value

    def davies_bouldin(self, X, labels) -> float:
        """Davies-Bouldin index of ``labels`` on ``X``."""
        return self._index("davies_bouldin", X, labels)

    def calinski_harabasz(self, X, labels) -> float:
        """Calinski-Harabasz index of ``labels`` on ``X``."""
        return self._index("calinski_harabasz", X, labels)

    def adjusted_rand(self, a, b) -> float:
        """Adjusted Rand index between two labelings of equal length."""
        a = np.ascontiguousarray(a, dtype=np.uint32)
        b = _u32(b, a.shape[0], "b")
        out = c_double()
        self._call("adjusted_rand", a.ctypes.data, b.ctypes.data, a.shape[0], ctypes.byref(out))
        return out.value

    def sweep(self, X, kmin: int, kmax: int, sample_weight=None):
        """Fit every k in [kmin, kmax]; a table (DataFrame or dict) with
        k, inertia, silhouette, davies_bouldin, calinski_harabasz, n_iter.
        The model is not changed."""
        x, n, d = self._x(X)
        w = self._w(sample_weight, n)
        self._configure(d)
        if not isinstance(self.init, str):
            raise InvalidArgument(LP_EINVAL, "sweep needs init='k-means++' or 'random'")
        need = c_size_t()
        self._call("sweep", x.ctypes.data, n, d, None if w is None else w.ctypes.data, kmin,
                   kmax, None, 0, ctypes.byref(need))
        out = np.empty(need.value, dtype=np.float64)
        self._call("sweep", x.ctypes.data, n, d, None if w is None else w.ctypes.data, kmin,
                   kmax, out.ctypes.data, need.value, ctypes.byref(need))
        t = out.reshape(-1, len(SWEEP_COLUMNS))
        return _lib.table({c: t[:, i] for i, c in enumerate(SWEEP_COLUMNS)})

    # sharded Lloyd steps --------------------------------------------------------
    def start(self, X_sample, d: Optional[int] = None) -> "KMeans":
        """Build the starting model (max_iter 0) for sharded steps: given
        centroids (``init`` array) need only the shape, other inits run on
        ``X_sample``."""
        saved = self.max_iter
        self.max_iter = 0
        try:
            self.fit(X_sample)
        finally:
            self.max_iter = saved
        return self

    def partial_sums(self, X, sample_weight=None):
        """One shard's contribution to a Lloyd step: (sums k x d, wsums k,
        counts k, inertia). Add the shards' arrays, then apply_sums()."""
        self._need_model()
        x, n, d = self._x(X)
        w = self._w(sample_weight, n)
        k = lib.lp_kmeans_k(self.handle)
        sums = np.zeros((k, d), dtype=np.float64)
        wsums = np.zeros(k, dtype=np.float64)
        counts = np.zeros(k, dtype=np.uint64)
        need, inertia = c_size_t(), c_double(0.0)
        self._call("partial_sums", x.ctypes.data, n, d, None if w is None else w.ctypes.data,
                   sums.ctypes.data, wsums.ctypes.data, counts.ctypes.data, k,
                   ctypes.byref(need), None, ctypes.byref(inertia))
        return sums, wsums, counts, inertia.value

    def apply_sums(self, sums, wsums, counts) -> float:
        """Move the centroids to reduced sums' means; returns the squared shift."""
        self._need_model()
        k, d = lib.lp_kmeans_k(self.handle), lib.lp_kmeans_dim(self.handle)
        s = as_f64(sums, 2, "sums")
        ws = as_f64(wsums, 1, "wsums")
        c = np.ascontiguousarray(counts, dtype=np.uint64)
        if s.shape != (k, d) or ws.shape != (k,) or c.shape != (k,):
            raise InvalidArgument(LP_EINVAL, f"sums must be {k} x {d}, wsums and counts {k}")
        shift = c_double()
        self._call("apply_sums", s.ctypes.data, ws.ctypes.data, c.ctypes.data, k, d,
                   ctypes.byref(shift))
        return shift.value

    def partial_sums_exact(self, X, sample_weight=None):
        """Exact accumulators (int64, k x (d+1) x ACC_WORDS) of one shard:
        reduce in any order with ``numpy.sum(axis=0)`` of a stack, then
        apply_sums_exact() gives the bits of a fit with exact_sums=True."""
        self._need_model()
        x, n, d = self._x(X)
        w = self._w(sample_weight, n)
        need = c_size_t()
        self._call("partial_sums_exact", x.ctypes.data, n, d, None, None, 0, ctypes.byref(need),
                   None)
        acc = np.zeros(need.value, dtype=np.int64)
        self._call("partial_sums_exact", x.ctypes.data, n, d,
                   None if w is None else w.ctypes.data, acc.ctypes.data, need.value,
                   ctypes.byref(need), None)
        return acc

    def apply_sums_exact(self, acc) -> float:
        """Apply reduced exact accumulators; returns the squared shift."""
        self._need_model()
        a = np.ascontiguousarray(acc, dtype=np.int64)
        if a.ndim != 1:
            raise InvalidArgument(LP_EINVAL, "acc must be 1-D")
        shift = c_double()
        self._call("apply_sums_exact", a.ctypes.data, a.shape[0], ctypes.byref(shift))
        return shift.value

    # pickling: parameters + fitted model --------------------------------------
    def __reduce__(self):
        return (_restore, (self.get_params(), self.to_bytes() if self._fitted else None))

    def load_bytes(self, data) -> None:
        super().load_bytes(data)
        self._fitted = True

    def load(self, stream) -> None:
        super().load(stream)
        self._fitted = True

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()
                         if not hasattr(v, "shape"))
        return f"KMeans({args})"


def _restore(params: dict, snapshot: Optional[bytes]) -> KMeans:
    km = KMeans(**params)
    if snapshot is not None:
        km.load_bytes(snapshot)
    return km
