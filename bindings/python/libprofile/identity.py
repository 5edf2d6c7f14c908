"""Identity graph (``lp_idgraph``): events of identifiers in, profiles out;
mergeable shards."""
from __future__ import annotations

import ctypes
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_int, c_int32,
                    c_int64, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p)
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from . import _lib
from ._lib import (LP_EINVAL, LP_EIO, Handle, InvalidArgument, P, PSZ, _init, _sig, lib, text)

__all__ = ["IdentityGraph", "NORMALIZERS", "CHANGES"]

STORE_RAW, QUARANTINE_AFTER, DEFAULT_BLOCKLIST = 1, 2, 3
OPTIONS = {"store_raw": 1, "quarantine_after": 2, "default_blocklist": 3}
NORMALIZERS = {"generic": 0, "fold": 1, "email": 2, "email-gmail": 3, "phone": 4, "callback": 5}
CHANGES = {1: "merged", 2: "split", 3: "removed"}
HASH_SIZE = 16
MAX_EVENT_IDS = 64

NORMALIZE_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t, PSZ)
HASH_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, c_void_p)
NOTIFY_FN = CFUNCTYPE(None, c_void_p, c_uint32, c_uint64, c_uint64)


class lp_idgraph_type_def(Structure):
    _fields_ = [("struct_size", c_uint32), ("name", c_char_p), ("priority", c_int32),
                ("limit", c_uint32), ("unique", c_uint32), ("normalizer", c_uint32),
                ("country_code", c_uint32), ("normalize", NORMALIZE_FN),
                ("normalize_ud", c_void_p)]


class lp_idgraph_ident(Structure):
    _fields_ = [("type", c_uint32), ("value", c_void_p), ("len", c_size_t)]


class lp_idgraph_stats(Structure):
    _fields_ = [("struct_size", c_uint32)] + [(n, c_uint64) for n in (
        "events", "identifiers", "profiles", "merges", "conflicts", "quarantined", "blocked",
        "invalid", "tombstoned")]


class lp_idgraph_ident_info(Structure):
    _fields_ = [("type", c_uint32), ("quarantined", c_uint32), ("hash", c_uint8 * HASH_SIZE),
                ("value", c_void_p), ("len", c_size_t)]


class lp_idgraph_step(Structure):
    _fields_ = [("from_", c_uint8 * HASH_SIZE), ("to", c_uint8 * HASH_SIZE),
                ("from_type", c_uint32), ("to_type", c_uint32), ("ts", c_int64),
                ("source", c_char_p)]


_lib.declare_module("idgraph")
IDP = POINTER(lp_idgraph_ident)
_sig("lp_idgraph_set_key", c_int, P, c_char_p, c_size_t)
_sig("lp_idgraph_set_hash", c_int, P, HASH_FN, c_void_p)
_sig("lp_idgraph_set_notify", c_int, P, NOTIFY_FN, c_void_p)
_sig("lp_idgraph_add_type", c_int, P, POINTER(lp_idgraph_type_def), POINTER(c_uint32))
_sig("lp_idgraph_find_type", c_int, P, c_char_p, POINTER(c_uint32))
_sig("lp_idgraph_block_value", c_int, P, c_uint32, c_char_p, c_size_t)
_sig("lp_idgraph_normalize", c_int, P, c_uint32, c_char_p, c_size_t, c_void_p, c_size_t, PSZ)
_sig("lp_idgraph_observe", c_int, P, IDP, c_size_t, c_int64, c_char_p, c_size_t,
     POINTER(c_uint64))
_sig("lp_idgraph_merge", c_int, P, P)
_sig("lp_idgraph_profile_of", c_int, P, c_uint32, c_char_p, c_size_t, POINTER(c_uint64))
_sig("lp_idgraph_profile_identifiers", c_int, P, c_uint64, c_void_p, c_size_t, PSZ)
_sig("lp_idgraph_profiles", c_int, P, c_void_p, c_size_t, PSZ)
_sig("lp_idgraph_get_stats", c_int, P, POINTER(lp_idgraph_stats))
_sig("lp_idgraph_explain", c_int, P, IDP, IDP, c_void_p, c_size_t, PSZ)
_sig("lp_idgraph_unlink", c_int, P, IDP, IDP)
_sig("lp_idgraph_remove_identifier", c_int, P, IDP)
_sig("lp_idgraph_remove_source", c_int, P, c_char_p, c_size_t)
_sig("lp_idgraph_forget_profile", c_int, P, c_uint64)
_sig("lp_idgraph_forget_identifier", c_int, P, IDP)
_sig("lp_idgraph_lift_tombstone", c_int, P, IDP)


class IdentifierCalls:
    """The calls on identifiers that IdentityGraph and Profiles share; the
    class gives ``type_id`` and ``_run``."""

    def _ident(self, pair, keep: list) -> lp_idgraph_ident:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InvalidArgument(LP_EINVAL, f"an identifier is a (type, value) pair, got {pair!r}")
        v = text(pair[1], "value")
        keep.append(v)
        return lp_idgraph_ident(self.type_id(pair[0]), ctypes.cast(c_char_p(v), c_void_p), len(v))

    def observe(self, identifiers: Sequence[Tuple[object, str]], ts: int = 0,
                source: str = "") -> int:
        """Record one event (1..64 identifiers seen together); returns the
        profile of its highest-priority identifier."""
        n = len(identifiers)
        if not 1 <= n <= MAX_EVENT_IDS:
            raise InvalidArgument(LP_EINVAL, f"an event has 1..{MAX_EVENT_IDS} identifiers, got {n}")
        keep: list = []
        arr = (lp_idgraph_ident * n)(*[self._ident(p, keep) for p in identifiers])
        src = text(source, "source")
        pid = c_uint64()
        self._run("observe", arr, n, ts, src, len(src), ctypes.byref(pid))
        return pid.value

    def unlink(self, a, b) -> None:
        """Cut every link between two identifiers (may split a profile)."""
        keep: list = []
        ia, ib = self._ident(a, keep), self._ident(b, keep)
        self._run("unlink", ctypes.byref(ia), ctypes.byref(ib))

    def remove_identifier(self, ident) -> None:
        """Remove one identifier from the graph (it may come back)."""
        keep: list = []
        self._run("remove_identifier", ctypes.byref(self._ident(ident, keep)))

    def remove_source(self, source: str) -> None:
        """Remove every event of a source and replay the rest."""
        s = text(source, "source")
        self._run("remove_source", s, len(s))

    def forget_profile(self, profile_id: int) -> None:
        """Erase a profile (right to erasure): its identifiers are tombstoned."""
        self._run("forget_profile", profile_id)

    def forget_identifier(self, ident) -> None:
        """Erase one identifier and refuse it from now on (tombstone)."""
        keep: list = []
        self._run("forget_identifier", ctypes.byref(self._ident(ident, keep)))


class IdentityGraph(IdentifierCalls, Handle):
    """Deterministic identity resolution (``lp_idgraph``).

    >>> g = IdentityGraph(key=b"secret")
    >>> g.add_type("email", normalizer="email", priority=10)
    0
    >>> p = g.observe([("email", "Ann@x.org")], ts=1, source="web")
    >>> g.profile_of("email", "ann@x.org") == p
    True

    Identifiers are ``(type, value)`` pairs with the type as a name or id.
    Iterating yields profile ids (ascending). ``on_change`` (``notify``)
    and callback normalisers are kept referenced by this object while the
    library holds them. Pickles through the snapshot format (host
    callbacks and the hash key are not part of a snapshot: set them again).
    Not thread-safe: one object per thread, or a lock.
    """

    _mod = "idgraph"

    def __init__(self, key: Optional[bytes] = None, **options: int) -> None:
        super().__init__()
        self._types: Dict[str, int] = {}
        self._names: Dict[int, str] = {}
        self._cb_error: List[BaseException] = []
        self._notify_cb = None
        self._norm_cbs: Dict[str, object] = {}
        self._config: dict = {"key": None, "options": dict(options), "types": []}
        for k, v in options.items():
            if k not in OPTIONS:
                self.close()
                raise InvalidArgument(LP_EINVAL, f"unknown option {k!r}; allowed: {', '.join(OPTIONS)}")
            self.set_int(OPTIONS[k], int(v))
        if key is not None:
            self.set_key(key)

    # configuration -----------------------------------------------------------
    def set_key(self, key: bytes) -> None:
        """Key of the built-in keyed hash (SipHash-style; 1..64 bytes)."""
        key = text(key, "key")
        self._call("set_key", key, len(key))
        self._config["key"] = key

    def set_hash(self, fn: Callable[[bytes], bytes]) -> None:
        """Use ``fn(data) -> 16 bytes`` as the identifier hash (kept alive here)."""
        def hashcb(_ud, data, n, out):
            try:
                digest = bytes(fn(ctypes.string_at(data, n)))
                if len(digest) != HASH_SIZE:
                    raise ValueError(f"hash returned {len(digest)} bytes, expected {HASH_SIZE}")
                ctypes.memmove(out, digest, HASH_SIZE)
                return 0
            except BaseException as exc:
                self._cb_error.append(exc)
                return LP_EIO
        cb = HASH_FN(hashcb)
        self._call("set_hash", cb, None)
        self._hash_cb = cb

    def on_change(self, fn: Optional[Callable[[str, int, int], None]]) -> None:
        """Call ``fn(change, old_id, new_id)`` ("merged", "split", "removed")
        after each profile change; None removes it. ``fn`` must not call
        this graph (that is Misuse)."""
        if fn is None:
            self._call("set_notify", NOTIFY_FN(), None)
            self._notify_cb = None
            return

        def notify(_ud, change, old, new):
            try:
                fn(CHANGES.get(change, str(change)), old, new)
            except BaseException as exc:
                self._cb_error.append(exc)
        cb = NOTIFY_FN(notify)
        self._call("set_notify", cb, None)
        self._notify_cb = cb  # the library holds it: keep it alive

    def add_type(self, name: str, *, priority: int = 0, limit: int = 0, unique: bool = False,
                 normalizer: str = "generic", country_code: int = 0,
                 normalize: Optional[Callable[[str], Optional[str]]] = None) -> int:
        """Declare an identifier type; returns its id.

        ``normalizer`` is one of NORMALIZERS; ``normalize`` (a function
        str -> str, or None for an invalid value) implies "callback".
        """
        if normalize is not None:
            normalizer = "callback"
        if normalizer not in NORMALIZERS:
            raise InvalidArgument(LP_EINVAL, f"normalizer={normalizer!r}; allowed: {', '.join(NORMALIZERS)}")
        d = _init(lp_idgraph_type_def, name=text(name, "name"), priority=priority, limit=limit,
                  unique=1 if unique else 0, normalizer=NORMALIZERS[normalizer],
                  country_code=country_code)
        cb = None
        if normalize is not None:
            def norm(_ud, data, n, out, cap, out_len):
                try:
                    res = normalize(ctypes.string_at(data, n).decode("utf-8"))
                    if res is None:
                        return _lib.LP_EINVAL
                    b = res.encode("utf-8")
                    out_len[0] = len(b)
                    if len(b) > cap:
                        return _lib.LP_EBUFSIZE
                    ctypes.memmove(out, b, len(b))
                    return 0
                except BaseException as exc:
                    self._cb_error.append(exc)
                    return LP_EIO
            cb = NORMALIZE_FN(norm)
            d.normalize = cb
        tid = c_uint32()
        self._call("add_type", ctypes.byref(d), ctypes.byref(tid))
        if cb is not None:
            self._norm_cbs[name] = cb
        self._config["types"].append(dict(name=name, priority=priority, limit=limit, unique=unique,
                                          normalizer=normalizer, country_code=country_code,
                                          normalize=normalize))
        self._types[name] = tid.value
        self._names[tid.value] = name
        return tid.value

    def type_id(self, name) -> int:
        """Id of a type given by name (NotFound when unknown); ints pass through."""
        if isinstance(name, int):
            return name
        tid = self._types.get(name)
        if tid is None:
            out = c_uint32()
            self._call("find_type", text(name, "type"), ctypes.byref(out))
            tid = self._types[name] = out.value
            self._names[tid] = name
        return tid

    def block_value(self, type, value: str) -> None:
        """Refuse a value of a type from now on (e.g. a shared test address)."""
        v = text(value, "value")
        self._call("block_value", self.type_id(type), v, len(v))

    def normalize(self, type, value: str) -> str:
        """The value as the type's normaliser stores it."""
        v = text(value, "value")
        need = c_size_t()
        self._call("normalize", self.type_id(type), v, len(v), None, 0, ctypes.byref(need))
        buf = ctypes.create_string_buffer(max(need.value, 1))
        self._call("normalize", self.type_id(type), v, len(v), buf, need.value, ctypes.byref(need))
        return buf.raw[:need.value].decode("utf-8")

    # events ---------------------------------------------------------------------
    def _run(self, name: str, *args) -> None:
        self._cb_error.clear()
        try:
            self._call(name, *args)
        finally:
            if self._cb_error:
                exc = self._cb_error[0]
                self._cb_error.clear()
                raise exc
        return None

    def observe_many(self, events: Iterable) -> List[int]:
        """observe() for each ``(identifiers, ts, source)``; returns the profile ids."""
        return [self.observe(ids, ts, src) for ids, ts, src in events]

    def merge(self, other: "IdentityGraph") -> None:
        """Merge a shard graph into this one (``other`` unchanged): the result
        equals one graph of both shards' events."""
        if not isinstance(other, IdentityGraph):
            raise InvalidArgument(LP_EINVAL, "merge expects an IdentityGraph")
        self._run("merge", other.handle)

    # queries -----------------------------------------------------------------------
    def profile_of(self, type, value: str) -> int:
        """Profile holding an identifier (NotFound when unknown)."""
        v = text(value, "value")
        pid = c_uint64()
        self._run("profile_of", self.type_id(type), v, len(v), ctypes.byref(pid))
        return pid.value

    def profiles(self) -> List[int]:
        """Every profile id, ascending."""
        need = c_size_t()
        self._call("profiles", None, 0, ctypes.byref(need))
        while True:
            buf = (c_uint64 * need.value)()
            rc = lib.lp_idgraph_profiles(self.handle, buf, need.value, ctypes.byref(need))
            if rc != _lib.LP_EBUFSIZE:
                self._check(rc)
                return list(buf[:need.value])

    def __iter__(self) -> Iterator[int]:
        return iter(self.profiles())

    def __len__(self) -> int:
        return self.stats()["profiles"]

    def identifiers(self, profile_id: int) -> List[dict]:
        """The identifiers of a profile: dicts of type (name), quarantined,
        hash (bytes) and value (str when raw storage is on, else None)."""
        need = c_size_t()
        self._call("profile_identifiers", profile_id, None, 0, ctypes.byref(need))
        buf = (lp_idgraph_ident_info * need.value)()
        self._call("profile_identifiers", profile_id, buf, need.value, ctypes.byref(need))
        out = []
        for i in buf[:need.value]:
            out.append({"type": self._names.get(i.type, i.type), "quarantined": bool(i.quarantined),
                        "hash": bytes(i.hash),
                        "value": ctypes.string_at(i.value, i.len).decode("utf-8") if i.value else None})
        return out

    def stats(self) -> Dict[str, int]:
        """Counters: events, identifiers, profiles, merges, conflicts, ..."""
        s = _init(lp_idgraph_stats)
        self._call("get_stats", ctypes.byref(s))
        return {name: getattr(s, name) for name, _ in lp_idgraph_stats._fields_[1:]}

    def explain(self, a, b) -> List[dict]:
        """The chain of events linking two identifiers (NotFound when not linked)."""
        keep: list = []
        ia, ib = self._ident(a, keep), self._ident(b, keep)
        need = c_size_t()
        self._call("explain", ctypes.byref(ia), ctypes.byref(ib), None, 0, ctypes.byref(need))
        buf = (lp_idgraph_step * need.value)()
        self._call("explain", ctypes.byref(ia), ctypes.byref(ib), buf, need.value, ctypes.byref(need))
        return [{"from": bytes(s.from_), "to": bytes(s.to), "from_type": self._names.get(s.from_type, s.from_type),
                 "to_type": self._names.get(s.to_type, s.to_type), "ts": s.ts,
                 "source": s.source.decode("utf-8")} for s in buf[:need.value]]

    def lift_tombstone(self, ident) -> None:
        """Accept an erased identifier again."""
        keep: list = []
        self._run("lift_tombstone", ctypes.byref(self._ident(ident, keep)))

    # snapshots -------------------------------------------------------------------------------
    # A snapshot names its types; load needs them declared first (as in C).
    # Pickling carries the configuration made through this object (options,
    # types, the hash key: treat such pickles as secret) and the snapshot.
    def __reduce__(self):
        if self._norm_cbs or getattr(self, "_hash_cb", None) is not None:
            raise TypeError("an IdentityGraph with Python callbacks (normalize, set_hash) "
                            "cannot be pickled: rebuild it and load_bytes() the snapshot")
        return (_restore, (self._config, self.to_bytes()))

    def copy_config(self) -> "IdentityGraph":
        """A new empty graph with this one's options, key and types."""
        return _restore(self._config, None)

    def type_name(self, type_id: int) -> str:
        """Name of a type id known to this object."""
        return self._names[type_id]


def _restore(config: dict, snapshot: Optional[bytes]) -> IdentityGraph:
    g = IdentityGraph(key=config["key"], **config["options"])
    for t in config["types"]:
        g.add_type(**t)
    if snapshot is not None:
        g.load_bytes(snapshot)
    return g
