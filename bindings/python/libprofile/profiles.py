"""Profile store (``lp_profiles``): identity events, orders and tag values
kept per identifier, folded into profiles through the identity graph, with
RFM, CLV and k-means results in one view."""
from __future__ import annotations

import ctypes
from ctypes import (POINTER, Structure, c_char_p, c_double, c_int, c_int64, c_size_t,
                    c_uint32, c_uint64, c_void_p)
from typing import Dict, Iterator, List, Optional, Tuple

from . import _lib
from ._lib import LP_EINVAL, LP_ENOTFOUND, Handle, InvalidArgument, P, PSZ, _init, _sig, lib, np, text
from .identity import (IDP, IdentifierCalls, NORMALIZERS, lp_idgraph_ident, lp_idgraph_ident_info,
                       lp_idgraph_type_def)
from .rfm import STAGES, RFM
from .tags import EXPIRES_DEFAULT, TYPES, _scaled, lp_tags_def, lp_tags_info, lp_tags_value, tag_def

__all__ = ["Profiles"]

OPTIONS = {"as_of": 1, "bins": 2, "segmap": 3, "clv_horizon": 4, "store_raw": 5,
           "quarantine_after": 6, "default_blocklist": 7, "clv_period_scale": 8,
           "clv_money_scale": 9}
FEATURES = 3
ORDER_HAS_ID = 1
VIEW_HAS_ORDERS, VIEW_HAS_CLV, VIEW_HAS_VALUE, VIEW_HAS_CLUSTER = 1, 2, 4, 8


class lp_profiles_order(Structure):
    _fields_ = [("struct_size", c_uint32), ("flags", c_uint32), ("id", lp_idgraph_ident),
                ("order_id", c_uint64), ("ts", c_int64), ("amount", c_int64)]


class lp_profiles_view(Structure):
    _fields_ = [("struct_size", c_uint32), ("flags", c_uint32), ("profile_id", c_uint64),
                ("identifiers", c_uint64), ("tags", c_uint64), ("first_ts", c_int64),
                ("last_ts", c_int64), ("recency", c_int64), ("transactions", c_uint64),
                ("orders", c_uint64), ("monetary", c_int64), ("r", c_uint32), ("f", c_uint32),
                ("m", c_uint32), ("segment", c_uint32), ("stage", c_uint32),
                ("cluster", c_uint32), ("p_alive", c_double), ("expected_purchases", c_double),
                ("clv", c_double), ("segment_name", c_char_p)]


class lp_profiles_tag(Structure):
    _fields_ = [("tag_id", c_uint32), ("type", c_uint32), ("num", c_int64), ("str", c_void_p),
                ("len", c_size_t), ("set_at", c_int64), ("expires_at", c_int64)]


class lp_profiles_stats(Structure):
    _fields_ = [("struct_size", c_uint32), ("reserved", c_uint32), ("profiles", c_uint64),
                ("orders", c_uint64), ("tag_facts", c_uint64), ("erased_facts", c_uint64)]


_lib.declare_module("profiles")
U32P = POINTER(c_uint32)
U64P = POINTER(c_uint64)
_sig("lp_profiles_add_type", c_int, P, POINTER(lp_idgraph_type_def), U32P)
_sig("lp_profiles_set_key", c_int, P, c_char_p, c_size_t)
_sig("lp_profiles_define_tag", c_int, P, POINTER(lp_tags_def), U32P)
_sig("lp_profiles_set_clv", c_int, P, P)
_sig("lp_profiles_set_kmeans", c_int, P, P)
_sig("lp_profiles_idgraph", P, P)
_sig("lp_profiles_taxonomy", P, P)
_sig("lp_profiles_observe", c_int, P, IDP, c_size_t, c_int64, c_char_p, c_size_t, U64P)
_sig("lp_profiles_add_order", c_int, P, POINTER(lp_profiles_order), U64P)
_sig("lp_profiles_set_tag", c_int, P, IDP, c_uint32, POINTER(lp_tags_value), U64P)
_sig("lp_profiles_set_tag_profile", c_int, P, c_uint64, c_uint32, POINTER(lp_tags_value))
_sig("lp_profiles_unset_tag", c_int, P, IDP, c_uint32)
_sig("lp_profiles_unset_tag_profile", c_int, P, c_uint64, c_uint32)
_sig("lp_profiles_unlink", c_int, P, IDP, IDP)
_sig("lp_profiles_remove_identifier", c_int, P, IDP)
_sig("lp_profiles_remove_source", c_int, P, c_char_p, c_size_t)
_sig("lp_profiles_forget_identifier", c_int, P, IDP)
_sig("lp_profiles_forget_profile", c_int, P, c_uint64)
_sig("lp_profiles_refresh", c_int, P)
_sig("lp_profiles_count", c_int, P, U64P)
_sig("lp_profiles_next", c_int, P, c_uint64, U64P)
_sig("lp_profiles_view_of", c_int, P, c_uint64, POINTER(lp_profiles_view))
_sig("lp_profiles_identifiers", c_int, P, c_uint64, c_void_p, c_size_t, PSZ)
_sig("lp_profiles_tags_of", c_int, P, c_uint64, c_void_p, c_size_t, PSZ)
_sig("lp_profiles_rfm_view", c_int, P, POINTER(P))
_sig("lp_profiles_features", c_int, P, c_void_p, c_void_p, c_size_t, PSZ)
_sig("lp_profiles_get_stats", c_int, P, POINTER(lp_profiles_stats))


class Profiles(IdentifierCalls, Handle):
    """The profile store (``lp_profiles``).

    Facts (events, orders, tag values) are kept under their identifier;
    profiles are the identity graph's current partition, so merges and
    splits re-fold them. Options are keyword arguments (OPTIONS: as_of,
    bins, segmap, clv_horizon, store_raw, ...). Identifiers are
    ``(type, value)`` pairs; tags are named by name or id. Iterating yields
    profile ids (ascending). Pickles through the PRFS snapshot. Not
    thread-safe: one object per thread, or a lock.
    """

    _mod = "profiles"
    _run = Handle._call

    def __init__(self, key: Optional[bytes] = None, **options: int) -> None:
        super().__init__()
        self._config = {"key": None if key is None else text(key, "key"), "options": dict(options)}
        for k, v in options.items():
            if k not in OPTIONS:
                self.close()
                raise InvalidArgument(LP_EINVAL, f"unknown option {k!r}; allowed: {', '.join(OPTIONS)}")
            self.set_int(OPTIONS[k], int(v))
        if key is not None:
            k = text(key, "key")
            self._call("set_key", k, len(k))

    # configuration ------------------------------------------------------------
    def add_type(self, name: str, *, priority: int = 0, limit: int = 0, unique: bool = False,
                 normalizer: str = "generic", country_code: int = 0) -> int:
        """Declare an identifier type (as IdentityGraph.add_type, without
        Python normalisers); returns its id."""
        if normalizer not in NORMALIZERS or normalizer == "callback":
            raise InvalidArgument(LP_EINVAL, f"normalizer={normalizer!r}; allowed: generic, fold, email, email-gmail, phone")
        d = _init(lp_idgraph_type_def, name=text(name, "name"), priority=priority, limit=limit,
                  unique=1 if unique else 0, normalizer=NORMALIZERS[normalizer],
                  country_code=country_code)
        tid = c_uint32()
        self._call("add_type", ctypes.byref(d), ctypes.byref(tid))
        return tid.value

    def type_id(self, name) -> int:
        """Id of an identifier type (NotFound when unknown)."""
        if isinstance(name, int):
            return name
        out = c_uint32()
        _lib.check(lib.lp_idgraph_find_type(lib.lp_profiles_idgraph(self.handle),
                                            text(name, "type"), ctypes.byref(out)),
                   lib.lp_idgraph_errmsg, lib.lp_profiles_idgraph(self.handle))
        return out.value

    def define_tag(self, name: str, type: str = "flag", *, merge: str = "or",
                   sensitivity: str = "normal", scale: int = 0, default_ttl: int = 0,
                   category: Optional[str] = None, purpose: Optional[str] = None,
                   consent_for: Optional[str] = None) -> int:
        """Define a tag in the store's taxonomy; returns its id."""
        d = tag_def(name, type, merge, sensitivity, scale, default_ttl, category=category,
                    purpose=purpose, consent_for=consent_for)
        tid = c_uint32()
        self._call("define_tag", ctypes.byref(d), ctypes.byref(tid))
        return tid.value

    def _tag(self, tag) -> Tuple[int, dict]:
        tax = lib.lp_profiles_taxonomy(self.handle)
        if isinstance(tag, int):
            tid = tag
        else:
            out = c_uint32()
            _lib.check(lib.lp_tags_find(tax, text(tag, "tag"), ctypes.byref(out)),
                       lib.lp_tags_errmsg, tax)
            tid = out.value
        info = _init(lp_tags_info)
        _lib.check(lib.lp_tags_describe(tax, tid, ctypes.byref(info)), lib.lp_tags_errmsg, tax)
        return tid, {"type": info.type, "scale": info.scale, "name": info.name.decode()}

    def set_clv(self, model) -> None:
        """Install a fitted purchase (and optionally spend) model: a CLV
        fitter; the store keeps a copy."""
        self._call("set_clv", model.handle)

    def set_kmeans(self, model) -> None:
        """Install a fitted KMeans over the store's features(); the store keeps a copy."""
        self._call("set_kmeans", model.handle)

    # facts -----------------------------------------------------------------------
    def add_order(self, identifier, ts: int, amount: int, order_id: Optional[int] = None) -> int:
        """An order line under an identifier; returns the profile."""
        keep: list = []
        o = _init(lp_profiles_order, id=self._ident(identifier, keep), ts=ts, amount=amount)
        if order_id is not None:
            o.flags, o.order_id = ORDER_HAS_ID, order_id
        pid = c_uint64()
        self._call("add_order", ctypes.byref(o), ctypes.byref(pid))
        return pid.value

    def _value(self, tag, value, set_at: int, expires_at: Optional[int], keep: list):
        tid, info = self._tag(tag)
        v = _init(lp_tags_value, set_at=set_at,
                  expires_at=EXPIRES_DEFAULT if expires_at is None else expires_at)
        if info["type"] == TYPES["string"]:
            b = text(value, "value")
            keep.append(b)
            v.str, v.len = ctypes.cast(c_char_p(b), c_void_p), len(b)
        elif info["type"] == TYPES["decimal"]:
            v.num = _scaled(value, info["scale"])
        elif info["type"] != TYPES["flag"]:
            v.num = int(value)
        return tid, v

    def set_tag(self, identifier, tag, value=True, *, set_at: int = 0,
                expires_at: Optional[int] = None) -> int:
        """A tag value observed for an identifier; returns the profile."""
        keep: list = []
        ident = self._ident(identifier, keep)
        tid, v = self._value(tag, value, set_at, expires_at, keep)
        pid = c_uint64()
        self._call("set_tag", ctypes.byref(ident), tid, ctypes.byref(v), ctypes.byref(pid))
        return pid.value

    def set_tag_profile(self, profile_id: int, tag, value=True, *, set_at: int = 0,
                        expires_at: Optional[int] = None) -> None:
        """A tag value for a whole profile (kept under its anchor identifier)."""
        keep: list = []
        tid, v = self._value(tag, value, set_at, expires_at, keep)
        self._call("set_tag_profile", profile_id, tid, ctypes.byref(v))

    def unset_tag(self, identifier, tag) -> None:
        """Remove an identifier's value of a tag."""
        keep: list = []
        self._call("unset_tag", ctypes.byref(self._ident(identifier, keep)), self._tag(tag)[0])

    def unset_tag_profile(self, profile_id: int, tag) -> None:
        """Remove a profile's values of a tag."""
        self._call("unset_tag_profile", profile_id, self._tag(tag)[0])

    # the view ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute the view now if it is stale."""
        self._call("refresh")

    def __len__(self) -> int:
        n = c_uint64()
        self._call("count", ctypes.byref(n))
        return n.value

    def __iter__(self) -> Iterator[int]:
        after, nxt = 0, c_uint64()
        while True:
            rc = lib.lp_profiles_next(self.handle, after, ctypes.byref(nxt))
            if rc == LP_ENOTFOUND:
                return
            self._check(rc)
            after = nxt.value
            yield after

    def view(self, profile_id: int) -> dict:
        """One profile's view: identifiers and tags counts, RFM, stage,
        CLV figures and cluster (None where the flags say absent)."""
        v = _init(lp_profiles_view)
        self._call("view_of", profile_id, ctypes.byref(v))
        out = {name: getattr(v, name) for name, _ in lp_profiles_view._fields_[2:]}
        out["segment_name"] = v.segment_name.decode() if v.segment_name else None
        out["stage"] = STAGES.get(v.stage, v.stage)
        if not v.flags & VIEW_HAS_CLV:
            out["p_alive"] = out["expected_purchases"] = None
        if not v.flags & VIEW_HAS_VALUE:
            out["clv"] = None
        if not v.flags & VIEW_HAS_CLUSTER:
            out["cluster"] = None
        return out

    def views(self):
        """Every profile's view as a table (DataFrame or dict of lists)."""
        rows = [self.view(p) for p in self]
        keys = [n for n, _ in lp_profiles_view._fields_[2:]]
        return _lib.table({k: [r[k] for r in rows] for k in keys})

    def identifiers(self, profile_id: int) -> List[dict]:
        """The identifiers of a profile (type id, quarantined, hash, value)."""
        need = c_size_t()
        self._call("identifiers", profile_id, None, 0, ctypes.byref(need))
        buf = (lp_idgraph_ident_info * need.value)()
        self._call("identifiers", profile_id, buf, need.value, ctypes.byref(need))
        return [{"type": i.type, "quarantined": bool(i.quarantined), "hash": bytes(i.hash),
                 "value": ctypes.string_at(i.value, i.len).decode() if i.value else None}
                for i in buf[:need.value]]

    def tags_of(self, profile_id: int) -> Dict[str, object]:
        """The profile's live tag values at as_of, by tag name."""
        need = c_size_t()
        self._call("tags_of", profile_id, None, 0, ctypes.byref(need))
        buf = (lp_profiles_tag * need.value)()
        self._call("tags_of", profile_id, buf, need.value, ctypes.byref(need))
        out = {}
        for t in buf[:need.value]:
            _tid, info = self._tag(t.tag_id)
            if t.type == TYPES["string"]:
                val = ctypes.string_at(t.str, t.len).decode()
            elif t.type == TYPES["decimal"]:
                import decimal
                val = decimal.Decimal(t.num).scaleb(-info["scale"])
            elif t.type == TYPES["flag"]:
                val = True
            else:
                val = t.num
            out[info["name"]] = val
        return out

    def rfm(self) -> RFM:
        """A copy of the store's RFM state (as of its current partition)."""
        ptr = P()
        self._call("rfm_view", ctypes.byref(ptr))
        copy = RFM()
        buf = P()
        _lib.check(lib.lp_membuf_create(None, ctypes.byref(buf)))
        try:
            _lib.check(lib.lp_rfm_save(ptr, _lib._membuf_write, buf))
            copy.load_bytes(ctypes.string_at(lib.lp_membuf_data(buf), lib.lp_membuf_size(buf)))
        finally:
            lib.lp_membuf_free(buf)
        return copy

    def features(self):
        """(ids, X): the k-means feature rows of every profile with an order
        (recency days, orders, monetary), as numpy arrays."""
        _lib.need_numpy("features")
        need = c_size_t()
        self._call("features", None, None, 0, ctypes.byref(need))
        ids = np.empty(need.value, dtype=np.uint64)
        x = np.empty((need.value, FEATURES), dtype=np.float64)
        if need.value:
            self._call("features", ids.ctypes.data, x.ctypes.data, need.value, ctypes.byref(need))
        return ids, x

    # A snapshot is checked against the hash key, which it does not hold:
    # pickles carry the key and options given to the constructor (treat
    # them as secret), then the snapshot.
    def __reduce__(self):
        return (_restore, (self._config, self.to_bytes()))

    def stats(self) -> Dict[str, int]:
        """profiles, orders, tag_facts, erased_facts."""
        s = _init(lp_profiles_stats)
        self._call("get_stats", ctypes.byref(s))
        return {n: getattr(s, n) for n, _ in lp_profiles_stats._fields_[2:]}


def _restore(config: dict, snapshot: bytes) -> Profiles:
    s = Profiles(key=config["key"], **config["options"])
    s.load_bytes(snapshot)
    return s
