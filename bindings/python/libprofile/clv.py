"""Customer lifetime value models (``lp_clv``) with the names of the
lifetimes package: BetaGeoFitter, ParetoNBDFitter, ModifiedBetaGeoFitter,
BetaGeoBetaBinomFitter and GammaGammaFitter."""
from __future__ import annotations

import ctypes
from ctypes import POINTER, Structure, c_char_p, c_double, c_int, c_size_t, c_uint32, c_uint64, c_void_p

from . import _lib
from ._lib import (LP_EINVAL, Handle, InvalidArgument, Misuse, P, PSZ, _init, _sig, as_f64, lib,
                   np)

__all__ = ["BetaGeoFitter", "ParetoNBDFitter", "ModifiedBetaGeoFitter",
           "BetaGeoBetaBinomFitter", "GammaGammaFitter"]

BGNBD, PNBD, MBGNBD, BGBB, GG = 1, 2, 3, 4, 5
MAX_ITER, WARM_START, HOLDOUT_BUCKETS, COMPRESS = 1, 2, 3, 4
PENALIZER, TOLERANCE, DISCOUNT_RATE, MARGIN, STEP = 100, 101, 102, 103, 104
PRED_CONDITIONAL, PRED_P_ALIVE, PRED_AVG_VALUE, PRED_CLV = 1, 2, 3, 4
VALUES, STDERR, COVARIANCE = 0, 1, 2
STATUS = {0: "converged", 1: "max_iter", 2: "no_progress", 3: "given"}
# lifetimes' customer_lifetime_value: periods of `freq` in one month
FREQ_PER_MONTH = {"D": 30.0, "W": 4.345, "M": 1.0, "H": 30.0 * 24}


class lp_clv_data(Structure):
    _fields_ = [("struct_size", c_uint32), ("flags", c_uint32), ("n", c_size_t),
                ("frequency", c_void_p), ("recency", c_void_p), ("T", c_void_p),
                ("monetary", c_void_p), ("weights", c_void_p)]


class lp_clv_holdout_row(Structure):
    _fields_ = [("struct_size", c_uint32), ("open_ended", c_uint32), ("frequency", c_double),
                ("customers", c_double), ("actual", c_double), ("predicted", c_double)]


class lp_clv_holdout_summary(Structure):
    _fields_ = [("struct_size", c_uint32), ("reserved", c_uint32), ("customers", c_double),
                ("actual_total", c_double), ("predicted_total", c_double), ("mae", c_double),
                ("rmse", c_double)]


class lp_clv_fit_report(Structure):
    _fields_ = [("struct_size", c_uint32), ("model", c_uint32), ("status", c_uint32),
                ("iterations", c_uint32), ("evaluations", c_uint32), ("se_available", c_uint32),
                ("loglik", c_double), ("grad_norm", c_double), ("customers", c_double),
                ("rows", c_uint64), ("unique_rows", c_uint64), ("spend_correlation", c_double)]


_lib.declare_module("clv", extra_double=True)
_sig("lp_clv_model_name", c_char_p, c_uint32)
_sig("lp_clv_param_count", c_uint32, c_uint32)
_sig("lp_clv_param_name", c_char_p, c_uint32, c_uint32)
_sig("lp_clv_fit", c_int, P, c_uint32, POINTER(lp_clv_data), POINTER(lp_clv_fit_report))
_sig("lp_clv_fit_rfm", c_int, P, c_uint32, P, c_void_p, c_size_t, ctypes.c_int64, c_double,
     c_double, POINTER(lp_clv_fit_report))
_sig("lp_clv_set_params", c_int, P, c_uint32, c_void_p, c_size_t)
_sig("lp_clv_has_model", c_int, P, c_uint32)
_sig("lp_clv_params", c_int, P, c_uint32, c_uint32, c_void_p, c_size_t, PSZ)
_sig("lp_clv_report", c_int, P, c_uint32, POINTER(lp_clv_fit_report))
_sig("lp_clv_expected", c_int, P, c_double, POINTER(c_double))
_sig("lp_clv_prob_n", c_int, P, c_double, c_uint64, POINTER(c_double))
_sig("lp_clv_holdout", c_int, P, POINTER(lp_clv_data), c_void_p, c_double, c_void_p, c_size_t,
     PSZ, POINTER(lp_clv_holdout_summary))
_sig("lp_clv_predict", c_int, P, c_uint32, POINTER(lp_clv_data), c_double, c_void_p, c_size_t,
     PSZ)


class _Data:
    """Equal-length float64 columns as an lp_clv_data (checked, no copies
    for C-contiguous float64 input)."""

    def __init__(self, **cols) -> None:
        self.cols = {}
        n = None
        for name, v in cols.items():
            if v is None:
                continue
            a = as_f64(v, 1, name)
            if n is None:
                n = a.shape[0]
            elif a.shape[0] != n:
                raise InvalidArgument(LP_EINVAL, f"{name} has {a.shape[0]} values, expected {n}")
            self.cols[name] = a
        self.n = n or 0
        self.s = _init(lp_clv_data, n=self.n)
        for name in ("frequency", "recency", "T", "monetary", "weights"):
            if name in self.cols:
                setattr(self.s, name, self.cols[name].ctypes.data)


class _Fitter(Handle):
    _mod = "clv"
    _model = 0

    def __init__(self, penalizer_coef: float = 0.0, **options) -> None:
        super().__init__()
        self.penalizer_coef = penalizer_coef
        self._call("set_double", PENALIZER, float(penalizer_coef))
        for k, v in options.items():
            key = {"max_iter": MAX_ITER, "tolerance": TOLERANCE}.get(k)
            if key is None:
                self.close()
                raise InvalidArgument(LP_EINVAL, f"unknown option {k!r}; allowed: max_iter, tolerance")
            if k == "tolerance":
                self._call("set_double", key, float(v))
            else:
                self.set_int(key, int(v))

    # fitting ----------------------------------------------------------------
    def _fit(self, data: _Data):
        rep = _init(lp_clv_fit_report)
        self._call("fit", self._model, ctypes.byref(data.s), ctypes.byref(rep))
        return self

    def set_params(self, *values: float):
        """Use known parameters (no fit), in the order of ``param_names``."""
        arr = np.ascontiguousarray(values, dtype=np.float64)
        self._call("set_params", self._model, arr.ctypes.data, arr.shape[0])
        return self

    @property
    def param_names(self) -> list:
        """Names of the model's parameters, in order (as lifetimes)."""
        return [lib.lp_clv_param_name(self._model, i).decode()
                for i in range(lib.lp_clv_param_count(self._model))]

    def _fitted(self) -> None:
        if lib.lp_clv_has_model(self.handle, self._model) != 1:
            raise Misuse(_lib.LP_EMISUSE, f"{type(self).__name__} is not fitted: call fit first")

    def _table(self, what: int):
        self._fitted()
        need = c_size_t()
        self._call("params", self._model, what, None, 0, ctypes.byref(need))
        out = np.empty(need.value, dtype=np.float64)
        self._call("params", self._model, what, out.ctypes.data, need.value, ctypes.byref(need))
        return out

    @property
    def params_(self):
        """Fitted parameters: a pandas Series by name (a dict without pandas)."""
        vals = self._table(VALUES)
        if _lib.pd is not None:
            return _lib.pd.Series(vals, index=self.param_names, dtype=float)
        return dict(zip(self.param_names, vals.tolist()))

    @property
    def standard_errors_(self):
        """Standard errors (NaN when the Hessian was not positive definite)."""
        vals = self._table(STDERR)
        if _lib.pd is not None:
            return _lib.pd.Series(vals, index=self.param_names, dtype=float)
        return dict(zip(self.param_names, vals.tolist()))

    @property
    def variance_matrix_(self):
        """k x k covariance of the parameters."""
        c = self._table(COVARIANCE)
        k = len(self.param_names)
        return c.reshape(k, k)

    @property
    def summary(self):
        """coef, se(coef), lower 95% bound, upper 95% bound (as lifetimes)."""
        v, se = self._table(VALUES), self._table(STDERR)
        cols = {"coef": v, "se(coef)": se, "lower 95% bound": v - 1.96 * se,
                "upper 95% bound": v + 1.96 * se}
        if _lib.pd is not None:
            return _lib.pd.DataFrame(cols, index=self.param_names)
        return cols

    @property
    def report_(self) -> dict:
        """The fit report: status, iterations, log-likelihood, rows, ..."""
        self._fitted()
        rep = _init(lp_clv_fit_report)
        self._call("report", self._model, ctypes.byref(rep))
        out = {name: getattr(rep, name) for name, _ in lp_clv_fit_report._fields_[1:]}
        out["status"] = STATUS.get(rep.status, str(rep.status))
        out["model"] = lib.lp_clv_model_name(rep.model).decode()
        return out

    @property
    def log_likelihood_(self) -> float:
        """Log-likelihood at the fitted parameters (weighted sum)."""
        return self.report_["loglik"]

    def _predict(self, what: int, data: _Data, t: float = 0.0):
        self._fitted()
        out = np.empty(data.n, dtype=np.float64)
        need = c_size_t()
        self._call("predict", what, ctypes.byref(data.s), float(t),
                   out.ctypes.data if data.n else None, data.n, ctypes.byref(need))
        return out

    def __reduce__(self):
        return (_restore, (type(self), self.penalizer_coef, self.to_bytes()))

    def __repr__(self) -> str:
        try:
            p = ", ".join(f"{k}: {v:.4g}" for k, v in zip(self.param_names, self._table(VALUES)))
        except Misuse:
            p = "not fitted"
        return f"<libprofile.{type(self).__name__}: {p}>"


def _restore(cls, penalizer, snapshot):
    obj = cls(penalizer_coef=penalizer)
    obj.load_bytes(snapshot)
    return obj


class _PurchaseFitter(_Fitter):
    def fit(self, frequency, recency, T, weights=None):
        """Fit on per-customer repeat purchases ``frequency``, time of the last
        purchase ``recency`` and age ``T`` (same units), optional row weights."""
        return self._fit(_Data(frequency=frequency, recency=recency, T=T, weights=weights))

    def fit_rfm(self, rfm, as_of: int, ids=None, period_scale: float = 1.0,
                money_scale: float = 1.0):
        """Fit straight from an RFM state (``lp_clv_fit_rfm``): every
        profile, or ``ids``, with frequency/recency/T in periods at
        ``as_of`` (x period_scale time units per period)."""
        from .rfm import RFM
        if not isinstance(rfm, RFM):
            raise InvalidArgument(LP_EINVAL, "fit_rfm expects an RFM state")
        arr = None if ids is None else np.ascontiguousarray(ids, dtype=np.uint64)
        rep = _init(lp_clv_fit_report)
        self._call("fit_rfm", self._model, rfm.handle, None if arr is None else arr.ctypes.data,
                   0 if arr is None else arr.shape[0], as_of, float(period_scale),
                   float(money_scale), ctypes.byref(rep))
        return self

    def holdout(self, frequency, recency, T, holdout_purchases, holdout_length: float,
                weights=None):
        """Calibration/holdout table: per calibration-frequency bucket the
        mean actual and predicted holdout purchases; returns (table, totals)."""
        self._fitted()
        data = _Data(frequency=frequency, recency=recency, T=T, weights=weights)
        hp = as_f64(holdout_purchases, 1, "holdout_purchases")
        if hp.shape[0] != data.n:
            raise InvalidArgument(LP_EINVAL, f"holdout_purchases has {hp.shape[0]} values, expected {data.n}")
        need = c_size_t()
        summ = _init(lp_clv_holdout_summary)
        self._call("holdout", ctypes.byref(data.s), hp.ctypes.data, float(holdout_length), None, 0,
                   ctypes.byref(need), ctypes.byref(summ))
        rows = (lp_clv_holdout_row * need.value)()
        self._call("holdout", ctypes.byref(data.s), hp.ctypes.data, float(holdout_length), rows,
                   need.value, ctypes.byref(need), ctypes.byref(summ))
        cols = {f: [getattr(r, f) for r in rows] for f, _ in lp_clv_holdout_row._fields_[1:]}
        cols["open_ended"] = [bool(v) for v in cols["open_ended"]]
        totals = {f: getattr(summ, f) for f, _ in lp_clv_holdout_summary._fields_[2:]}
        return _lib.table(cols), totals

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T):
        """Expected purchases in (T, T + t] given each customer's history."""
        return self._predict(PRED_CONDITIONAL, _Data(frequency=frequency, recency=recency, T=T), t)

    def conditional_probability_alive(self, frequency, recency, T, t: float = 0.0):
        """P(alive) at T (or at T + t with no purchase in between)."""
        return self._predict(PRED_P_ALIVE, _Data(frequency=frequency, recency=recency, T=T), t)

    def expected_number_of_purchases_up_to_time(self, t):
        """E[X(t)] of a new customer (scalar or array of t)."""
        self._fitted()
        ts = np.atleast_1d(np.asarray(t, dtype=np.float64))
        out = np.empty_like(ts)
        v = c_double()
        for i, ti in enumerate(ts):
            self._call("expected", float(ti), ctypes.byref(v))
            out[i] = v.value
        return out if np.ndim(t) else float(out[0])


class BetaGeoFitter(_PurchaseFitter):
    """BG/NBD (Fader, Hardie, Lee 2005): parameters r, alpha, a, b."""
    _model = BGNBD

    def probability_of_n_purchases_up_to_time(self, t: float, n: int) -> float:
        """P(X(t) = n) for a new customer."""
        self._fitted()
        v = c_double()
        self._call("prob_n", float(t), int(n), ctypes.byref(v))
        return v.value


class ParetoNBDFitter(_PurchaseFitter):
    """Pareto/NBD (Schmittlein et al. 1987): parameters r, alpha, s, beta."""
    _model = PNBD


class ModifiedBetaGeoFitter(_PurchaseFitter):
    """MBG/NBD (Batislam et al. 2007): parameters r, alpha, a, b."""
    _model = MBGNBD


class BetaGeoBetaBinomFitter(_PurchaseFitter):
    """BG/BB, discrete time (Fader, Hardie, Shang 2010): alpha, beta, gamma, delta.

    ``fit(frequency, recency, n_periods, weights)`` as lifetimes: whole
    numbers, recency and n_periods counted in opportunities."""
    _model = BGBB

    def fit(self, frequency, recency, n_periods, weights=None):
        return super().fit(frequency, recency, n_periods, weights)


class GammaGammaFitter(_Fitter):
    """Gamma-Gamma spend model (Fader, Hardie, Lee 2005): p, q, v."""
    _model = GG

    def fit(self, frequency, monetary_value, weights=None):
        """Fit on repeat purchase counts and mean repeat spends (rows with
        frequency 0 are ignored, as lifetimes requires them removed)."""
        # recency and T are not used by the spend model; rows take t_x = T = x
        # so every row is inside the purchase-data domain.
        f = as_f64(frequency, 1, "frequency")
        return self._fit(_Data(frequency=f, recency=f, T=f, monetary=monetary_value,
                               weights=weights))

    def conditional_expected_average_profit(self, frequency, monetary_value):
        """Expected mean spend per purchase of each customer."""
        f = as_f64(frequency, 1, "frequency")
        return self._predict(PRED_AVG_VALUE, _Data(frequency=f, recency=f, T=f,
                                                   monetary=monetary_value))

    def customer_lifetime_value(self, transaction_prediction_model, frequency, recency, T,
                                monetary_value, time: int = 12, discount_rate: float = 0.01,
                                freq: str = "D", margin: float = 1.0):
        """Discounted lifetime value over ``time`` months, lifetimes' way:
        month i's expected purchases x expected spend x margin / (1 + rate)^i;
        ``freq`` is the unit of recency and T ("D", "W", "M", "H")."""
        if not isinstance(transaction_prediction_model, _PurchaseFitter):
            raise InvalidArgument(LP_EINVAL, "transaction_prediction_model must be a fitted purchase model")
        if freq not in FREQ_PER_MONTH:
            raise InvalidArgument(LP_EINVAL, f"freq={freq!r}; allowed: {', '.join(FREQ_PER_MONTH)}")
        step = FREQ_PER_MONTH[freq]
        tm = transaction_prediction_model
        combined = _Fitter()
        try:
            combined._model = tm._model
            combined.set_params(*tm._table(VALUES))
            combined._model = GG
            combined.set_params(*self._table(VALUES))
            combined._call("set_double", DISCOUNT_RATE, float(discount_rate))
            combined._call("set_double", MARGIN, float(margin))
            combined._call("set_double", STEP, float(step))
            return combined._predict(PRED_CLV, _Data(frequency=frequency, recency=recency, T=T,
                                                     monetary=monetary_value), time * step)
        finally:
            combined.close()
