"""Tags (``lp_tags``): a taxonomy of host-set and rule-computed tags with
expiry, profile attributes, audiences with consent and a minimum size."""
from __future__ import annotations

import ctypes
import decimal
from ctypes import POINTER, Structure, c_char_p, c_int, c_int32, c_int64, c_size_t, c_uint32, c_uint64, c_void_p
from typing import Dict, Iterable, Iterator, Optional, Tuple, Union

from . import _lib
from ._lib import (LP_EINVAL, LP_ENOTFOUND, Handle, InvalidArgument, P, PSZ, _init,
                   _sig, check, lib, np, text)

__all__ = ["Tags", "Audience", "TYPES", "MERGES", "SENSITIVITY"]

TYPES = {"flag": 1, "int": 2, "decimal": 3, "string": 4, "time": 5}
MERGES = {"or": 1, "max": 2, "min": 3, "latest": 4, "sum": 5}
SENSITIVITY = {"normal": 0, "personal": 1, "special": 2}
NEVER = (1 << 63) - 1
EXPIRES_DEFAULT = -(1 << 63)
MIN_AUDIENCE_SIZE, TAXONOMY_VERSION, PROFILE_COUNT = 1, 2, 3
_TYPE_NAMES = {v: k for k, v in TYPES.items()}
_MERGE_NAMES = {v: k for k, v in MERGES.items()}
_SENS_NAMES = {v: k for k, v in SENSITIVITY.items()}


class lp_tags_def(Structure):
    _fields_ = [("struct_size", c_uint32), ("type", c_uint32), ("merge", c_uint32),
                ("sensitivity", c_uint32), ("scale", c_uint32), ("reserved", c_uint32),
                ("default_ttl", c_int64), ("name", c_char_p), ("category", c_char_p),
                ("description", c_char_p), ("owner", c_char_p), ("purpose", c_char_p),
                ("consent_for", c_char_p)]


class lp_tags_info(Structure):
    _fields_ = [("struct_size", c_uint32), ("type", c_uint32), ("merge", c_uint32),
                ("sensitivity", c_uint32), ("scale", c_uint32), ("retired", c_uint32),
                ("default_ttl", c_int64), ("since_version", c_uint64),
                ("changed_version", c_uint64), ("values", c_uint64), ("name", c_char_p),
                ("category", c_char_p), ("description", c_char_p), ("owner", c_char_p),
                ("purpose", c_char_p), ("consent_for", c_char_p), ("rule", c_char_p)]


class lp_tags_value(Structure):
    _fields_ = [("struct_size", c_uint32), ("type", c_uint32), ("num", c_int64),
                ("str", c_void_p), ("len", c_size_t), ("set_at", c_int64),
                ("expires_at", c_int64)]


class lp_tags_query(Structure):
    _fields_ = [("struct_size", c_uint32), ("reserved", c_uint32), ("text", c_char_p),
                ("purpose", c_char_p), ("as_of", c_int64)]


_lib.declare_module("tags")
U32P = POINTER(c_uint32)
_sig("lp_tags_define", c_int, P, POINTER(lp_tags_def), U32P)
_sig("lp_tags_set_rule", c_int, P, c_uint32, c_char_p)
_sig("lp_tags_rename", c_int, P, c_uint32, c_char_p)
_sig("lp_tags_retire", c_int, P, c_uint32)
_sig("lp_tags_tag_count", c_uint32, P)
_sig("lp_tags_find", c_int, P, c_char_p, U32P)
_sig("lp_tags_describe", c_int, P, c_uint32, POINTER(lp_tags_info))
_sig("lp_tags_define_attr", c_int, P, c_char_p, c_uint32, c_uint32, U32P)
_sig("lp_tags_attr_count", c_uint32, P)
_sig("lp_tags_find_attr", c_int, P, c_char_p, U32P, U32P, U32P)
_sig("lp_tags_attr_name", c_char_p, P, c_uint32)
_sig("lp_tags_set_attr_int", c_int, P, c_uint64, c_uint32, c_int64)
_sig("lp_tags_set_attr_string", c_int, P, c_uint64, c_uint32, c_char_p, c_size_t)
_sig("lp_tags_clear_attr", c_int, P, c_uint64, c_uint32)
_sig("lp_tags_get_attr", c_int, P, c_uint64, c_uint32, POINTER(lp_tags_value))
_sig("lp_tags_add_profile", c_int, P, c_uint64)
_sig("lp_tags_set", c_int, P, c_uint64, c_uint32, POINTER(lp_tags_value))
_sig("lp_tags_unset", c_int, P, c_uint64, c_uint32)
_sig("lp_tags_get", c_int, P, c_uint64, c_uint32, c_int64, POINTER(lp_tags_value))
_sig("lp_tags_remove_profile", c_int, P, c_uint64)
_sig("lp_tags_merge_profiles", c_int, P, c_uint64, c_uint64, c_int64)
_sig("lp_tags_evaluate", c_int, P, c_int64)
_sig("lp_tags_count", c_int, P, POINTER(lp_tags_query), POINTER(c_uint64))
_sig("lp_tags_audience_create", c_int, P, POINTER(lp_tags_query), POINTER(P))
_sig("lp_tags_audience_free", None, P)
_sig("lp_tags_audience_errmsg", c_char_p, P)
_sig("lp_tags_audience_size", c_uint64, P)
_sig("lp_tags_audience_next", c_int, P, c_void_p, c_size_t, PSZ)
_sig("lp_tags_audience_rewind", c_int, P)
_sig("lp_tags_audience_export", c_int, P, c_void_p, c_void_p)
_sig("lp_tags_explain", c_int, P, POINTER(lp_tags_query), c_uint64, POINTER(c_int32), c_void_p,
     c_size_t, PSZ)
_sig("lp_tags_bitmap_bytes", c_uint64, P)


def _opt(s: Optional[str], name: str) -> Optional[bytes]:
    return None if s is None else text(s, name)


def _scaled(value, scale: int) -> int:
    """An exact decimal (Decimal, str, int) as an int64 scaled by 10^scale."""
    if isinstance(value, float):
        raise InvalidArgument(LP_EINVAL, "decimal values are exact: pass a Decimal, str or int, not a float")
    d = decimal.Decimal(value) if not isinstance(value, decimal.Decimal) else value
    q = d.scaleb(scale)
    if q != q.to_integral_value():
        raise InvalidArgument(LP_EINVAL, f"{value} has more than {scale} decimal places")
    return int(q)


def tag_def(name: str, type: str, merge: str, sensitivity: str, scale: int, default_ttl: int,
            **texts: Optional[str]) -> lp_tags_def:
    """An lp_tags_def from names (checked) and optional texts."""
    for val, table, what in ((type, TYPES, "type"), (merge, MERGES, "merge"),
                             (sensitivity, SENSITIVITY, "sensitivity")):
        if val not in table:
            raise InvalidArgument(LP_EINVAL, f"{what}={val!r}; allowed: {', '.join(table)}")
    return _init(lp_tags_def, type=TYPES[type], merge=MERGES[merge],
                 sensitivity=SENSITIVITY[sensitivity], scale=scale, default_ttl=default_ttl,
                 name=text(name, "name"), **{k: _opt(v, k) for k, v in texts.items()})


def _query(q: str, as_of: int, purpose: Optional[str], keep: list) -> lp_tags_query:
    t = text(q, "query")
    keep.append(t)
    return _init(lp_tags_query, text=t, purpose=_opt(purpose, "purpose"), as_of=as_of)


class Audience(_lib.Owned):
    """The profiles a query selects (``lp_tags_audience``): ``len()``,
    iteration over ids in ascending order (restartable), ``ids()`` as a
    numpy array, ``to_roaring()`` as 64-bit Roaring bytes."""

    def __init__(self, tags: "Tags", handle: int) -> None:
        self._tags = tags  # the taxonomy outlives the audience
        self._h = handle

    def _check(self, rc: int) -> None:
        check(rc, lib.lp_tags_audience_errmsg, self._h)

    def __len__(self) -> int:
        return lib.lp_tags_audience_size(self._h)

    def __iter__(self) -> Iterator[int]:
        self._check(lib.lp_tags_audience_rewind(self._h))
        buf = (c_uint64 * 4096)()
        got = c_size_t()
        while True:
            self._check(lib.lp_tags_audience_next(self._h, buf, 4096, ctypes.byref(got)))
            if got.value == 0:
                return
            yield from buf[:got.value]

    def ids(self):
        """Every id (numpy uint64 array when numpy is installed, else a list)."""
        n = len(self)
        self._check(lib.lp_tags_audience_rewind(self._h))
        if np is None:
            return list(self)
        out = np.empty(n, dtype=np.uint64)
        got = c_size_t()
        if n:
            self._check(lib.lp_tags_audience_next(self._h, out.ctypes.data, n, ctypes.byref(got)))
            assert got.value == n
        return out

    def to_roaring(self) -> bytes:
        """The ids as a portable 64-bit Roaring bitmap (CRoaring's format)."""
        buf = P()
        check(lib.lp_membuf_create(None, ctypes.byref(buf)))
        try:
            self._check(lib.lp_tags_audience_export(self._h, _lib._membuf_write, buf))
            n = lib.lp_membuf_size(buf)
            return ctypes.string_at(lib.lp_membuf_data(buf), n) if n else b""
        finally:
            lib.lp_membuf_free(buf)

    def _release(self, h: int) -> None:
        lib.lp_tags_audience_free(h)


class Tags(Handle):
    """Tag taxonomy and values (``lp_tags``).

    >>> t = Tags()
    >>> vip = t.define("vip")
    >>> t.define_attr("spend", "decimal", scale=2)
    0
    >>> t.set(1, "vip"); t.set_attr(1, "spend", "120.50")
    >>> t.count("vip and spend >= 100", as_of=0)
    1

    Tags and attributes are named by their name or id. Decimal values are
    exact (``decimal.Decimal``, str or int in, ``Decimal`` out); strings are
    UTF-8. Pickles through the snapshot format. Not thread-safe.
    """

    _mod = "tags"

    def __init__(self, min_audience_size: Optional[int] = None) -> None:
        super().__init__()
        if min_audience_size is not None:
            self.set_int(MIN_AUDIENCE_SIZE, min_audience_size)

    # taxonomy --------------------------------------------------------------
    def define(self, name: str, type: str = "flag", *, merge: str = "or",
               sensitivity: str = "normal", scale: int = 0, default_ttl: int = 0,
               category: Optional[str] = None, description: Optional[str] = None,
               owner: Optional[str] = None, purpose: Optional[str] = None,
               consent_for: Optional[str] = None, rule: Optional[str] = None) -> int:
        """Define a tag; returns its id. ``rule`` makes it rule-computed."""
        d = tag_def(name, type, merge, sensitivity, scale, default_ttl, category=category,
                    description=description, owner=owner, purpose=purpose,
                    consent_for=consent_for)
        tid = c_uint32()
        self._call("define", ctypes.byref(d), ctypes.byref(tid))
        if rule is not None:
            self.set_rule(tid.value, rule)
        return tid.value

    def tag_id(self, tag: Union[str, int]) -> int:
        """Id of a tag given by name (NotFound when unknown); ints pass through."""
        if isinstance(tag, int):
            return tag
        out = c_uint32()
        self._call("find", text(tag, "tag"), ctypes.byref(out))
        return out.value

    def set_rule(self, tag, rule: Optional[str]) -> None:
        """Make a tag rule-computed (None: host-set again)."""
        self._call("set_rule", self.tag_id(tag), _opt(rule, "rule"))

    def rename(self, tag, new_name: str) -> None:
        """Rename a tag (rules that use it follow)."""
        self._call("rename", self.tag_id(tag), text(new_name, "new_name"))

    def retire(self, tag) -> None:
        """Retire a tag: its values are erased, the name stays reserved."""
        self._call("retire", self.tag_id(tag))

    def describe(self, tag) -> dict:
        """Everything the taxonomy knows about a tag."""
        info = _init(lp_tags_info)
        self._call("describe", self.tag_id(tag), ctypes.byref(info))
        out = {}
        for name, _ in lp_tags_info._fields_[1:]:
            v = getattr(info, name)
            out[name] = v.decode("utf-8") if isinstance(v, bytes) else v
        out["type"] = _TYPE_NAMES.get(info.type, info.type)
        out["merge"] = _MERGE_NAMES.get(info.merge, info.merge)
        out["sensitivity"] = _SENS_NAMES.get(info.sensitivity, info.sensitivity)
        out["retired"] = bool(info.retired)
        return out

    def __len__(self) -> int:
        return lib.lp_tags_tag_count(self.handle)

    @property
    def taxonomy(self):
        """Every tag (retired included) as a table (DataFrame or dict)."""
        rows = [self.describe(i) for i in range(len(self))]
        cols = {k: [r[k] for r in rows] for k in (rows[0] if rows else {"name": []})}
        return _lib.table(cols)

    # attributes ------------------------------------------------------------
    def define_attr(self, name: str, type: str = "int", scale: int = 0) -> int:
        """Define a profile attribute (int, decimal, string or time); returns its id."""
        if type not in TYPES or type == "flag":
            raise InvalidArgument(LP_EINVAL, f"attribute type={type!r}; allowed: int, decimal, string, time")
        aid = c_uint32()
        self._call("define_attr", text(name, "name"), TYPES[type], scale, ctypes.byref(aid))
        return aid.value

    def _attr(self, attr) -> Tuple[int, int, int]:
        aid, typ, scale = c_uint32(), c_uint32(), c_uint32()
        name = attr if not isinstance(attr, int) else (lib.lp_tags_attr_name(self.handle, attr) or b"")
        self._call("find_attr", text(name, "attribute"), ctypes.byref(aid), ctypes.byref(typ),
                   ctypes.byref(scale))
        return aid.value, typ.value, scale.value

    def set_attr(self, profile_id: int, attr, value) -> None:
        """Set an attribute of a profile (decimal: exact, string: UTF-8)."""
        aid, typ, scale = self._attr(attr)
        if typ == TYPES["string"]:
            b = text(value, "value")
            self._call("set_attr_string", profile_id, aid, b, len(b))
        else:
            num = _scaled(value, scale) if typ == TYPES["decimal"] else int(value)
            self._call("set_attr_int", profile_id, aid, num)

    def clear_attr(self, profile_id: int, attr) -> None:
        """Unset an attribute of a profile."""
        self._call("clear_attr", profile_id, self._attr(attr)[0])

    def _value(self, v: lp_tags_value, scale: int):
        if v.type == TYPES["string"]:
            return ctypes.string_at(v.str, v.len).decode("utf-8")
        if v.type == TYPES["decimal"]:
            return decimal.Decimal(v.num).scaleb(-scale)
        if v.type == TYPES["flag"]:
            return True
        return v.num

    def get_attr(self, profile_id: int, attr, default=None):
        """An attribute's value, or ``default`` when unset."""
        aid, _typ, scale = self._attr(attr)
        v = _init(lp_tags_value)
        rc = lib.lp_tags_get_attr(self.handle, profile_id, aid, ctypes.byref(v))
        if rc == LP_ENOTFOUND:
            return default
        self._check(rc)
        return self._value(v, scale)

    # values -----------------------------------------------------------------
    def add_profile(self, profile_id: int) -> None:
        """Register a profile without values."""
        self._call("add_profile", profile_id)

    def set(self, profile_id: int, tag, value=True, *, set_at: int = 0,
            expires_at: Optional[int] = None) -> None:
        """Set a host-set tag of a profile. ``expires_at``: live while
        as_of < expires_at (None: the tag's default TTL from set_at;
        NEVER: forever)."""
        tid = self.tag_id(tag)
        info = self.describe(tid)
        v = _init(lp_tags_value, set_at=set_at,
                  expires_at=EXPIRES_DEFAULT if expires_at is None else expires_at)
        keep = None
        if info["type"] == "string":
            keep = text(value, "value")
            v.str = ctypes.cast(c_char_p(keep), c_void_p)
            v.len = len(keep)
        elif info["type"] == "decimal":
            v.num = _scaled(value, info["scale"])
        elif info["type"] != "flag":
            v.num = int(value)
        self._call("set", profile_id, tid, ctypes.byref(v))
        del keep

    def unset(self, profile_id: int, tag) -> None:
        """Remove a host-set tag's value from a profile."""
        self._call("unset", profile_id, self.tag_id(tag))

    def get(self, profile_id: int, tag, as_of: int, default=None):
        """The live value at ``as_of`` (flags: True), or ``default``."""
        tid = self.tag_id(tag)
        v = _init(lp_tags_value)
        rc = lib.lp_tags_get(self.handle, profile_id, tid, as_of, ctypes.byref(v))
        if rc == LP_ENOTFOUND:
            return default
        self._check(rc)
        return self._value(v, self.describe(tid)["scale"])

    def frame(self, profile_ids: Iterable[int], tags: Iterable, as_of: int):
        """A table of live values: one row per profile, one column per tag
        (None where absent); a DataFrame when pandas is installed."""
        ids = [int(p) for p in profile_ids]
        cols: Dict[str, list] = {"profile_id": ids}
        for tag in tags:
            name = self.describe(tag)["name"]
            cols[name] = [self.get(p, tag, as_of) for p in ids]
        return _lib.table(cols)

    def remove_profile(self, profile_id: int) -> None:
        """Erase a profile and all its values."""
        self._call("remove_profile", profile_id)

    def merge_profiles(self, into: int, from_: int, as_of: int) -> None:
        """Fold ``from_``'s values into ``into`` by each tag's merge policy."""
        self._call("merge_profiles", into, from_, as_of)

    def evaluate(self, as_of: int) -> None:
        """Recompute every rule-computed tag at ``as_of``."""
        self._call("evaluate", as_of)

    # audiences ---------------------------------------------------------------
    def count(self, query: str, as_of: int, purpose: Optional[str] = None) -> int:
        """Size of the audience of ``query`` (consent to ``purpose`` required)."""
        keep: list = []
        q = _query(query, as_of, purpose, keep)
        n = c_uint64()
        self._call("count", ctypes.byref(q), ctypes.byref(n))
        return n.value

    def audience(self, query: str, as_of: int, purpose: Optional[str] = None) -> Audience:
        """The profiles of ``query`` as an Audience."""
        keep: list = []
        q = _query(query, as_of, purpose, keep)
        out = P()
        self._call("audience_create", ctypes.byref(q), ctypes.byref(out))
        return Audience(self, out.value)

    def explain(self, query: str, profile_id: int, as_of: int,
                purpose: Optional[str] = None) -> Tuple[bool, str]:
        """(member, why): whether a profile is in the audience and the
        evaluation of each term for it."""
        keep: list = []
        q = _query(query, as_of, purpose, keep)
        member, need = c_int32(), c_size_t()
        self._call("explain", ctypes.byref(q), profile_id, ctypes.byref(member), None, 0,
                   ctypes.byref(need))
        buf = ctypes.create_string_buffer(need.value)
        self._call("explain", ctypes.byref(q), profile_id, ctypes.byref(member), buf, need.value,
                   ctypes.byref(need))
        return bool(member.value), buf.value.decode("utf-8")

    @property
    def bitmap_bytes(self) -> int:
        """Memory held by the value bitmaps."""
        return lib.lp_tags_bitmap_bytes(self.handle)
