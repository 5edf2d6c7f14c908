"""RFM state (``lp_rfm``): transactions in, recency/frequency/monetary scores,
segments and lifecycle stages out; mergeable shards."""
from __future__ import annotations

import ctypes
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int,
                    c_int64, c_size_t, c_uint32, c_uint64, c_void_p)
from typing import Callable, Dict, Iterator, Optional, Sequence

from . import _lib
from ._lib import (LP_EBUFSIZE, LP_EINVAL, Handle, InvalidArgument, P, PSZ, _init,
                   _sig, check, lib, np, table, text)

__all__ = ["RFM", "SegmentMap", "STAGES", "stage_name"]

PERIOD_SECONDS = 1
ONE_TIME_ACTIVE_SECONDS = 2
ONE_TIME_AT_RISK_SECONDS = 3
ONE_TIME_DORMANT_SECONDS = 4
REPEAT_ACTIVE_PERCENT = 5
REPEAT_AT_RISK_PERCENT = 6
REPEAT_DORMANT_PERCENT = 7
OPTIONS = {"period_seconds": 1, "one_time_active_seconds": 2, "one_time_at_risk_seconds": 3,
           "one_time_dormant_seconds": 4, "repeat_active_percent": 5,
           "repeat_at_risk_percent": 6, "repeat_dormant_percent": 7}
MAX_TIMESTAMP = 4611686018427387903
SEGMENT_OTHERS = 0xFFFFFFFF
MAP_RF10 = 1
MAP_RFM11 = 2
BIN_QUANTILE = 0
BIN_THRESHOLDS = 1
TXN_HAS_ORDER = 1


class lp_rfm_txn(Structure):
    _fields_ = [("struct_size", c_uint32), ("flags", c_uint32), ("profile_id", c_uint64),
                ("ts", c_int64), ("amount", c_int64), ("order_id", c_uint64)]


class lp_rfm_profile(Structure):
    _fields_ = [("struct_size", c_uint32), ("reserved", c_uint32), ("profile_id", c_uint64),
                ("first_ts", c_int64), ("last_ts", c_int64), ("transactions", c_uint64),
                ("orders", c_uint64), ("periods", c_uint64), ("monetary", c_int64),
                ("first_period_value", c_int64), ("repeat_value", c_int64),
                ("prev_ts", c_int64)]


class lp_rfm_clv(Structure):
    _fields_ = [("struct_size", c_uint32), ("reserved", c_uint32), ("frequency", c_int64),
                ("recency", c_int64), ("t", c_int64), ("monetary", c_double)]


class lp_rfm_score_options(Structure):
    _fields_ = [("struct_size", c_uint32), ("bins", c_uint32), ("as_of", c_int64),
                ("recency_unit", c_int64), ("binning", c_uint32), ("reserved", c_uint32),
                ("r_thresholds", c_void_p), ("f_thresholds", c_void_p),
                ("m_thresholds", c_void_p)]


class lp_rfm_row(Structure):
    _fields_ = [("profile_id", c_uint64), ("recency", c_int64), ("frequency", c_int64),
                ("monetary", c_int64), ("r", c_uint32), ("f", c_uint32), ("m", c_uint32),
                ("segment", c_uint32), ("stage", c_uint32), ("reserved", c_uint32)]


class lp_rfm_rule(Structure):
    _fields_ = [("struct_size", c_uint32), ("r_min", c_uint32), ("r_max", c_uint32),
                ("f_min", c_uint32), ("f_max", c_uint32), ("m_min", c_uint32),
                ("m_max", c_uint32), ("name", c_char_p)]


class lp_rfm_segment_summary(Structure):
    _fields_ = [("customers", c_uint64), ("revenue", c_int64), ("revenue_share", c_double),
                ("mean_recency", c_double), ("mean_frequency", c_double),
                ("mean_monetary", c_double)]


TRANSITION = CFUNCTYPE(None, c_void_p, c_uint64, c_uint32, c_uint32)

_lib.declare_module("rfm")
_sig("lp_rfm_add", c_int, P, c_void_p, c_size_t)
_sig("lp_rfm_add_profile", c_int, P, c_uint64)
_sig("lp_rfm_count", c_size_t, P)
_sig("lp_rfm_get", c_int, P, c_uint64, POINTER(lp_rfm_profile))
_sig("lp_rfm_clv_inputs", c_int, P, c_uint64, c_int64, POINTER(lp_rfm_clv))
_sig("lp_rfm_merge_profiles", c_int, P, c_uint64, c_uint64)
_sig("lp_rfm_merge", c_int, P, P)
_sig("lp_rfm_score", c_int, P, POINTER(lp_rfm_score_options), P, c_void_p, c_size_t, PSZ)
_sig("lp_rfm_stage_of", c_int, P, c_uint64, c_int64, POINTER(c_uint32))
_sig("lp_rfm_stage_name", c_char_p, c_uint32)
_sig("lp_rfm_update_stages", c_int, P, c_int64, TRANSITION, c_void_p, PSZ)
_sig("lp_rfm_segmap_create", c_int, P, POINTER(P))
_sig("lp_rfm_segmap_builtin", c_int, P, c_uint32, POINTER(P))
_sig("lp_rfm_segmap_free", None, P)
_sig("lp_rfm_segmap_errmsg", c_char_p, P)
_sig("lp_rfm_segmap_add", c_int, P, POINTER(lp_rfm_rule))
_sig("lp_rfm_segmap_count", c_size_t, P)
_sig("lp_rfm_segmap_name", c_char_p, P, c_uint32)
_sig("lp_rfm_segmap_find", c_int, P, c_char_p, POINTER(c_uint32))
_sig("lp_rfm_segmap_match", c_uint32, P, c_uint32, c_uint32, c_uint32)
_sig("lp_rfm_summarize", c_int, P, c_void_p, c_size_t, c_void_p, c_size_t, PSZ)

STAGES = {i: lib.lp_rfm_stage_name(i).decode() for i in range(8)}


def stage_name(stage: int) -> str:
    """Name of a lifecycle stage (``lp_rfm_stage_name``)."""
    return lib.lp_rfm_stage_name(stage).decode()


if np is not None:
    TXN_DTYPE = np.dtype([("struct_size", "<u4"), ("flags", "<u4"), ("profile_id", "<u8"),
                          ("ts", "<i8"), ("amount", "<i8"), ("order_id", "<u8")])
    ROW_DTYPE = np.dtype([("profile_id", "<u8"), ("recency", "<i8"), ("frequency", "<i8"),
                          ("monetary", "<i8"), ("r", "<u4"), ("f", "<u4"), ("m", "<u4"),
                          ("segment", "<u4"), ("stage", "<u4"), ("reserved", "<u4")])
    assert TXN_DTYPE.itemsize == ctypes.sizeof(lp_rfm_txn)
    assert ROW_DTYPE.itemsize == ctypes.sizeof(lp_rfm_row)


class SegmentMap(_lib.Owned):
    """Ordered segment rules over R, F and M scores (``lp_rfm_segmap``).

    ``SegmentMap.builtin("rf10")`` or ``"rfm11"`` gives the library's maps;
    ``SegmentMap([(name, r_min, r_max, f_min, f_max, m_min, m_max), ...])``
    builds one (first matching rule wins).
    """

    def __init__(self, rules: Sequence[tuple] = (), _handle: Optional[int] = None) -> None:
        if _handle is None:
            out = P()
            check(lib.lp_rfm_segmap_create(None, ctypes.byref(out)))
            _handle = out.value
        self._h = _handle
        for rule in rules:
            self.add(*rule)

    @classmethod
    def builtin(cls, which: str = "rf10") -> "SegmentMap":
        """The built-in map ``"rf10"`` (10 segments on R and F) or ``"rfm11"``."""
        code = {"rf10": MAP_RF10, "rfm11": MAP_RFM11}.get(which)
        if code is None:
            raise InvalidArgument(LP_EINVAL, f"unknown built-in map {which!r}; allowed: rf10, rfm11")
        out = P()
        check(lib.lp_rfm_segmap_builtin(None, code, ctypes.byref(out)))
        return cls(_handle=out.value)

    def add(self, name: str, r_min: int = 1, r_max: int = 100, f_min: int = 1,
            f_max: int = 100, m_min: int = 1, m_max: int = 100) -> None:
        """Append a rule: scores within [min, max] on all three map to ``name``."""
        rule = _init(lp_rfm_rule, r_min=r_min, r_max=r_max, f_min=f_min, f_max=f_max,
                     m_min=m_min, m_max=m_max, name=text(name, "name"))
        check(lib.lp_rfm_segmap_add(self._h, ctypes.byref(rule)), lib.lp_rfm_segmap_errmsg,
              self._h)

    def __len__(self) -> int:
        return lib.lp_rfm_segmap_count(self._h)

    def name(self, index: int) -> str:
        """Name of rule ``index`` ("others" for SEGMENT_OTHERS)."""
        if index == SEGMENT_OTHERS:
            return "others"
        s = lib.lp_rfm_segmap_name(self._h, index)
        if s is None:
            raise _lib.NotFound(_lib.LP_ENOTFOUND, f"no segment {index}")
        return s.decode()

    @property
    def names(self) -> list:
        """Every rule's name, in order."""
        return [self.name(i) for i in range(len(self))]

    def find(self, name: str) -> int:
        """Index of the rule called ``name`` (NotFound otherwise)."""
        idx = c_uint32()
        check(lib.lp_rfm_segmap_find(self._h, text(name), ctypes.byref(idx)),
              lib.lp_rfm_segmap_errmsg, self._h)
        return idx.value

    def match(self, r: int, f: int, m: int) -> int:
        """Index of the first rule matching the scores, or SEGMENT_OTHERS."""
        return lib.lp_rfm_segmap_match(self._h, r, f, m)

    def _release(self, h: int) -> None:
        lib.lp_rfm_segmap_free(h)


class RFM(Handle):
    """Per-profile purchase aggregates and scores (``lp_rfm``).

    >>> r = RFM()
    >>> r.add([1, 1, 2], [86400, 2 * 86400, 86400], [500, 700, 100])
    >>> r.score(as_of=3 * 86400)["frequency"].tolist()
    [2, 1]

    Options are keyword arguments (``period_seconds``, ...: see OPTIONS).
    Amounts are int64 minor units. Pickles through the snapshot format.
    Not thread-safe: one object per thread, or a lock.
    """

    _mod = "rfm"

    def __init__(self, **options: int) -> None:
        super().__init__()
        for k, v in options.items():
            if k not in OPTIONS:
                self.close()
                raise InvalidArgument(LP_EINVAL, f"unknown option {k!r}; allowed: {', '.join(OPTIONS)}")
            self.set_int(OPTIONS[k], v)

    def add(self, profile_id, ts, amount, order_id=None) -> None:
        """Ingest transactions given as equal-length columns (all or nothing).

        ``order_id`` (optional; None/absent means every line is its own
        order) groups lines of one order. Columns may be numpy arrays or
        sequences of ints.
        """
        if np is None:
            n = len(profile_id)
            if len(ts) != n or len(amount) != n or (order_id is not None and len(order_id) != n):
                raise InvalidArgument(LP_EINVAL, "profile_id, ts, amount and order_id must have the same length")
            arr = (lp_rfm_txn * n)()
            for i in range(n):
                t = arr[i]
                t.struct_size = ctypes.sizeof(lp_rfm_txn)
                t.profile_id, t.ts, t.amount = profile_id[i], ts[i], amount[i]
                if order_id is not None:
                    t.flags, t.order_id = TXN_HAS_ORDER, order_id[i]
            self._call("add", arr, n)
            return
        pid = np.asarray(profile_id)
        n = pid.shape[0] if pid.ndim == 1 else -1
        cols = [np.asarray(ts), np.asarray(amount)] + ([] if order_id is None else [np.asarray(order_id)])
        if n < 0 or any(c.ndim != 1 or c.shape[0] != n for c in cols):
            raise InvalidArgument(LP_EINVAL, "profile_id, ts, amount (and order_id) must be 1-D of the same length")
        arr = np.empty(n, dtype=TXN_DTYPE)
        arr["struct_size"] = TXN_DTYPE.itemsize
        arr["flags"] = 0 if order_id is None else TXN_HAS_ORDER
        arr["profile_id"] = pid
        arr["ts"] = cols[0]
        arr["amount"] = cols[1]
        arr["order_id"] = 0 if order_id is None else cols[2]
        self.add_records(arr)

    def add_records(self, records) -> None:
        """Ingest a numpy array of TXN_DTYPE records as is (no copy)."""
        if records.dtype != TXN_DTYPE or not records.flags.c_contiguous:
            raise InvalidArgument(LP_EINVAL, "records must be a C-contiguous TXN_DTYPE array")
        self._call("add", records.ctypes.data, records.shape[0])

    def add_profile(self, profile_id: int) -> None:
        """Register a profile without a transaction (a prospect)."""
        self._call("add_profile", profile_id)

    def __len__(self) -> int:
        return lib.lp_rfm_count(self.handle)

    def get(self, profile_id: int) -> Dict[str, int]:
        """The aggregates of one profile as a dict (NotFound when unknown)."""
        p = _init(lp_rfm_profile)
        self._call("get", profile_id, ctypes.byref(p))
        return {name: getattr(p, name) for name, _ in lp_rfm_profile._fields_[2:]}

    def __contains__(self, profile_id: int) -> bool:
        p = _init(lp_rfm_profile)
        return lib.lp_rfm_get(self.handle, profile_id, ctypes.byref(p)) == 0

    def __iter__(self) -> Iterator[Dict[str, int]]:
        """The aggregates of every profile with a transaction, by id."""
        for pid in self.score(as_of=MAX_TIMESTAMP, raw=True)["profile_id"]:
            yield self.get(int(pid))

    def clv_inputs(self, profile_id: int, as_of: int) -> Dict[str, float]:
        """(frequency, recency, T, monetary) in periods for CLV models."""
        c = _init(lp_rfm_clv)
        self._call("clv_inputs", profile_id, as_of, ctypes.byref(c))
        return {"frequency": c.frequency, "recency": c.recency, "T": c.t, "monetary": c.monetary}

    def merge_profiles(self, into_id: int, from_id: int) -> None:
        """Move every aggregate of ``from_id`` into ``into_id`` (identity merge)."""
        self._call("merge_profiles", into_id, from_id)

    def merge(self, other: "RFM") -> None:
        """Merge a whole shard state into this one (``other`` unchanged)."""
        if not isinstance(other, RFM):
            raise InvalidArgument(LP_EINVAL, "merge expects an RFM")
        self._call("merge", other.handle)

    def score(self, as_of: int, bins: int = 5, recency_unit: int = 86400,
              segments: Optional[SegmentMap] = None, thresholds: Optional[Sequence] = None,
              raw: bool = False):
        """Score every profile with a transaction, sorted by profile id.

        Returns a pandas DataFrame (a dict of numpy arrays without pandas;
        ``raw=True`` gives the numpy record array) with columns profile_id,
        recency, frequency, monetary, r, f, m, segment, stage (and
        segment_name, stage_name when pandas is present). ``thresholds`` =
        (r_cuts, f_cuts, m_cuts), each bins-1 ascending ints, selects fixed
        cut points instead of quantiles.
        """
        opts = _init(lp_rfm_score_options, bins=bins, as_of=as_of, recency_unit=recency_unit,
                     binning=BIN_QUANTILE)
        keep = []
        if thresholds is not None:
            if len(thresholds) != 3:
                raise InvalidArgument(LP_EINVAL, "thresholds: (r_cuts, f_cuts, m_cuts)")
            opts.binning = BIN_THRESHOLDS
            for name, cuts in zip(("r_thresholds", "f_thresholds", "m_thresholds"), thresholds):
                if len(cuts) != bins - 1:
                    raise InvalidArgument(LP_EINVAL, f"{name}: {bins - 1} cut points expected, got {len(cuts)}")
                arr = (c_int64 * len(cuts))(*cuts)
                keep.append(arr)
                setattr(opts, name, ctypes.cast(arr, c_void_p))
        seg = segments._h if segments is not None else None
        need = c_size_t()
        self._call("score", ctypes.byref(opts), seg, None, 0, ctypes.byref(need))
        while True:
            cap = need.value
            if np is not None:
                rows = np.zeros(cap, dtype=ROW_DTYPE)
                buf = rows.ctypes.data if cap else None
            else:
                rows = (lp_rfm_row * cap)()
                buf = ctypes.cast(rows, c_void_p) if cap else None
            rc = lib.lp_rfm_score(self.handle, ctypes.byref(opts), seg, buf, cap, ctypes.byref(need))
            if rc != LP_EBUFSIZE:  # grown since the size query (cannot: const), but be safe
                self._check(rc)
                break
        if np is None:
            return {name: [getattr(r, name) for r in rows] for name, _ in lp_rfm_row._fields_[:-1]}
        if raw:
            return rows
        cols = {name: rows[name] for name in ROW_DTYPE.names[:-1]}
        out = table(cols)
        if _lib.pd is not None:
            names = {SEGMENT_OTHERS: "others"}
            if segments is not None:
                names.update(enumerate(segments.names))
            out["segment_name"] = [names.get(int(s), "others") for s in rows["segment"]]
            out["stage_name"] = [STAGES.get(int(s), "?") for s in rows["stage"]]
        return out

    def stage_of(self, profile_id: int, as_of: int) -> str:
        """Lifecycle stage name of one profile at ``as_of``."""
        st = c_uint32()
        self._call("stage_of", profile_id, as_of, ctypes.byref(st))
        return stage_name(st.value)

    def update_stages(self, as_of: int,
                      callback: Optional[Callable[[int, str, str], None]] = None) -> int:
        """Re-evaluate every stage at ``as_of``; ``callback(id, from, to)`` per
        change (it must not call this object: that is Misuse). Returns the
        number of changes. An exception in the callback is raised after the
        call completes."""
        err: list = []

        def tr(_ud, pid, frm, to):
            if callback is not None and not err:
                try:
                    callback(pid, stage_name(frm), stage_name(to))
                except BaseException as exc:
                    err.append(exc)

        cb = TRANSITION(tr)  # referenced until the call returns
        changed = c_size_t()
        self._call("update_stages", as_of, cb, None, ctypes.byref(changed))
        if err:
            raise err[0]
        return changed.value

    def summarize(self, rows, segments: SegmentMap):
        """Per-segment summary of score rows (``raw=True`` records)."""
        if rows.dtype != ROW_DTYPE:
            raise InvalidArgument(LP_EINVAL, "summarize expects score(..., raw=True) rows")
        rows = np.ascontiguousarray(rows)
        need = c_size_t()
        check(lib.lp_rfm_summarize(segments._h, rows.ctypes.data, rows.shape[0], None, 0,
                                   ctypes.byref(need)), lib.lp_rfm_segmap_errmsg, segments._h)
        out = (lp_rfm_segment_summary * need.value)()
        check(lib.lp_rfm_summarize(segments._h, rows.ctypes.data, rows.shape[0], out,
                                   need.value, ctypes.byref(need)), lib.lp_rfm_segmap_errmsg,
              segments._h)
        names = segments.names + ["others"]
        cols = {"segment": names[:need.value]}
        for f, _ in lp_rfm_segment_summary._fields_:
            cols[f] = [getattr(s, f) for s in out]
        return table(cols)
