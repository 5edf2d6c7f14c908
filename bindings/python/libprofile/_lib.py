"""Loading the shared library, error mapping and snapshot I/O (internal).

The binding uses ctypes only (standard library): no compiler, no header
parsing at run time. Every struct that crosses the API is declared here with
the field order of the C header and carries ``struct_size`` like the C
``_INIT`` macros set it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int,
                    c_int64, c_size_t, c_uint32, c_void_p)
from typing import Any, Callable, Dict, Optional, Type

__all__ = ["lib", "Error", "check", "library_path"]

# --------------------------------------------------------------------------
# Finding the library: next to the package, LIBPROFILE_PATH, the system's.

_NAMES = ("libprofile.so.1", "libprofile.so", "libprofile.dylib", "profile.dll")


def _candidates() -> list:
    env = os.environ.get("LIBPROFILE_PATH")
    if env:  # explicit: only there, no silent fallback to another copy
        return [os.path.join(env, n) for n in _NAMES] if os.path.isdir(env) else [env]
    here = os.path.dirname(os.path.abspath(__file__))
    out = [os.path.join(here, n) for n in _NAMES]
    found = ctypes.util.find_library("profile")
    if found:
        out.append(found)
    return out + list(_NAMES)


def _load() -> tuple:
    errors = []
    for cand in _candidates():
        if os.path.sep in cand and not os.path.exists(cand):
            errors.append(f"{cand}: no such file")
            continue
        try:
            return ctypes.CDLL(cand), cand
        except OSError as exc:  # try the next place
            errors.append(f"{cand}: {exc}")
    raise ImportError("libprofile shared library not found (LIBPROFILE_PATH names the "
                      "file or its directory): " + "; ".join(errors[-3:]))


lib, library_path = _load()

# --------------------------------------------------------------------------
# Status codes and exceptions.

LP_OK = 0
LP_EINVAL = -1
LP_ENOMEM = -2
LP_EIO = -3
LP_ECORRUPT = -4
LP_EVERSION = -5
LP_ENOTFOUND = -6
LP_ELIMIT = -7
LP_ECONFLICT = -8
LP_ERANGE = -9
LP_EMISUSE = -10
LP_EBUFSIZE = -11


class Error(Exception):
    """A libprofile call failed.

    ``code`` is the C status (``LP_E*``, negative), ``message`` the handle's
    message (``lp_*_errmsg``) or the code's text.
    """

    code: int = 0

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self):
        return (_error_from, (self.code, self.message))

    def __str__(self) -> str:
        return f"{self.message} [{strerror(self.code)}]"


class InvalidArgument(Error, ValueError):
    """LP_EINVAL: an argument is invalid."""


class OutOfMemory(Error, MemoryError):
    """LP_ENOMEM: the allocator returned NULL; nothing was changed."""


class IOFailure(Error, OSError):
    """LP_EIO: a reader or writer reported failure."""


class Corrupt(Error, ValueError):
    """LP_ECORRUPT: input is corrupt or truncated."""


class UnsupportedVersion(Error, ValueError):
    """LP_EVERSION: a format version or feature this library does not support."""


class NotFound(Error, LookupError):
    """LP_ENOTFOUND: the requested item does not exist."""


class LimitExceeded(Error, OverflowError):
    """LP_ELIMIT: a size or count limit would be exceeded."""


class Conflict(Error):
    """LP_ECONFLICT: the operation conflicts with existing state or a rule."""


class OutOfRange(Error, ValueError):
    """LP_ERANGE: a value is outside the permitted range."""


class Misuse(Error, RuntimeError):
    """LP_EMISUSE: out of sequence, or a re-entrant call from a callback."""


class BufferTooSmall(Error):
    """LP_EBUFSIZE: an output buffer was too small (the binding retries)."""


_BY_CODE: Dict[int, Type[Error]] = {
    LP_EINVAL: InvalidArgument, LP_ENOMEM: OutOfMemory, LP_EIO: IOFailure,
    LP_ECORRUPT: Corrupt, LP_EVERSION: UnsupportedVersion, LP_ENOTFOUND: NotFound,
    LP_ELIMIT: LimitExceeded, LP_ECONFLICT: Conflict, LP_ERANGE: OutOfRange,
    LP_EMISUSE: Misuse, LP_EBUFSIZE: BufferTooSmall,
}


def _error_from(code: int, message: str) -> Error:
    return _BY_CODE.get(code, Error)(code, message)


def strerror(code: int) -> str:
    """The library's text for a status code (``lp_strerror``)."""
    s = lib.lp_strerror(code)
    return s.decode("utf-8", "replace") if s else str(code)


def check(rc: int, errmsg: Optional[Callable[[Any], bytes]] = None, handle: Any = None) -> int:
    """Raise the Error subclass for ``rc`` (with the handle's message) unless 0."""
    if rc == LP_OK:
        return rc
    msg = None
    if errmsg is not None and handle is not None:
        raw = errmsg(handle)
        if raw:
            msg = raw.decode("utf-8", "replace")
    raise _error_from(rc, msg or strerror(rc))


# --------------------------------------------------------------------------
# Structs (field order and types of include/libprofile/*.h).

def _init(struct_type, **kw):
    """A struct with struct_size set and the given fields (the _INIT macros)."""
    s = struct_type(**kw)
    s.struct_size = ctypes.sizeof(struct_type)
    return s


class lp_memreader(Structure):
    _fields_ = [("struct_size", c_uint32), ("data", c_void_p), ("size", c_size_t),
                ("pos", c_size_t)]


WRITER = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
READER = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, POINTER(c_size_t))


def _sig(name: str, res, *args) -> None:
    fn = getattr(lib, name)
    fn.restype = res
    fn.argtypes = list(args)


P = c_void_p  # every handle is an opaque pointer
PSZ = POINTER(c_size_t)

_sig("lp_strerror", c_char_p, c_int)
_sig("lp_version", c_uint32)
_sig("lp_version_string", c_char_p)
_sig("lp_membuf_create", c_int, P, POINTER(P))
_sig("lp_membuf_free", None, P)
_sig("lp_membuf_data", c_void_p, P)
_sig("lp_membuf_size", c_size_t, P)
_sig("lp_memreader_init", c_int, POINTER(lp_memreader), c_void_p, c_size_t)

_membuf_write = ctypes.cast(lib.lp_membuf_write, c_void_p).value
_memreader_read = ctypes.cast(lib.lp_memreader_read, c_void_p).value


def declare_module(mod: str, extra_double: bool = False) -> None:
    """Declare the template calls (create/free/errmsg/save/load/options) of a module."""
    _sig(f"lp_{mod}_create", c_int, P, POINTER(P))
    _sig(f"lp_{mod}_free", None, P)
    _sig(f"lp_{mod}_errmsg", c_char_p, P)
    _sig(f"lp_{mod}_save", c_int, P, c_void_p, c_void_p)
    _sig(f"lp_{mod}_load", c_int, P, c_void_p, c_void_p)
    _sig(f"lp_{mod}_set_int", c_int, P, c_uint32, c_int64)
    _sig(f"lp_{mod}_get_int", c_int, P, c_uint32, POINTER(c_int64))
    _sig(f"lp_{mod}_int_bounds", c_int, P, c_uint32, POINTER(c_int64), POINTER(c_int64))
    if extra_double:
        _sig(f"lp_{mod}_set_double", c_int, P, c_uint32, c_double)
        _sig(f"lp_{mod}_get_double", c_int, P, c_uint32, POINTER(c_double))
        _sig(f"lp_{mod}_double_bounds", c_int, P, c_uint32, POINTER(c_double),
             POINTER(c_double))


class Owned:
    """Frees its C object on close(), at the end of a ``with`` block and on
    garbage collection; subclasses give ``_release(h)``."""

    _h: Optional[int] = None

    def _release(self, h: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Free the C object now (also done when the object is collected)."""
        h, self._h = self._h, None
        if h:
            self._release(h)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Handle(Owned):
    """Base of every wrapped handle: life cycle, messages, options, snapshots.

    Subclasses set ``_mod`` (the C prefix, e.g. ``"rfm"``). A handle is a
    context manager (``close()`` on exit) and pickles through the library's
    snapshot format. Not safe for concurrent use from several threads: use
    one object per thread or a lock (the C handle's message slot is written
    even by read-only calls).
    """

    _mod = ""

    def __init__(self) -> None:
        out = P()
        rc = getattr(lib, f"lp_{self._mod}_create")(None, ctypes.byref(out))
        check(rc)
        self._h = out.value
        self._free = getattr(lib, f"lp_{self._mod}_free")
        self._errmsg = getattr(lib, f"lp_{self._mod}_errmsg")
        self._busy_refs: list = []  # callbacks the library may call

    def _release(self, h: int) -> None:
        self._free(h)

    @property
    def handle(self) -> int:
        """The raw C pointer (an int); raises Misuse when closed."""
        if not self._h:
            raise Misuse(LP_EMISUSE, f"{type(self).__name__} is closed")
        return self._h

    def _check(self, rc: int) -> int:
        return check(rc, self._errmsg, self._h)

    def _call(self, name: str, *args) -> int:
        return self._check(getattr(lib, f"lp_{self._mod}_{name}")(self.handle, *args))

    # options --------------------------------------------------------------
    def set_int(self, key: int, value: int) -> None:
        """Set an integer option (``lp_*_set_int``)."""
        self._call("set_int", key, value)

    def get_int(self, key: int) -> int:
        """Read an integer option (``lp_*_get_int``)."""
        v = c_int64()
        self._call("get_int", key, ctypes.byref(v))
        return v.value

    def int_bounds(self, key: int) -> tuple:
        """(min, max) accepted for an integer option (``lp_*_int_bounds``)."""
        lo, hi = c_int64(), c_int64()
        self._call("int_bounds", key, ctypes.byref(lo), ctypes.byref(hi))
        return lo.value, hi.value

    # snapshots ------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The snapshot (``lp_*_save``) as bytes, written by the C memory buffer."""
        buf = P()
        check(lib.lp_membuf_create(None, ctypes.byref(buf)))
        try:
            self._call("save", _membuf_write, buf)
            n = lib.lp_membuf_size(buf)
            return ctypes.string_at(lib.lp_membuf_data(buf), n) if n else b""
        finally:
            lib.lp_membuf_free(buf)

    def load_bytes(self, data) -> None:
        """Replace the state by a snapshot (atomic: unchanged on failure)."""
        mv = memoryview(data).cast("B")
        cbuf = (ctypes.c_char * len(mv)).from_buffer_copy(mv) if mv.readonly else \
            (ctypes.c_char * len(mv)).from_buffer(mv)
        rd = _init(lp_memreader)
        check(lib.lp_memreader_init(ctypes.byref(rd), cbuf, len(mv)))
        self._call("load", _memreader_read, ctypes.byref(rd))

    def save(self, stream) -> None:
        """Write the snapshot to a binary file object (its ``write``)."""
        err: list = []

        def write(_ud, buf, n):
            try:
                stream.write(ctypes.string_at(buf, n))
                return 0
            except BaseException as exc:  # reported after the call
                err.append(exc)
                return LP_EIO

        cb = WRITER(write)
        try:
            self._call("save", cb, None)
        except IOFailure:
            if err:
                raise err[0]
            raise

    def load(self, stream) -> None:
        """Replace the state by a snapshot read from a binary file object."""
        err: list = []

        def read(_ud, buf, cap, got):
            try:
                chunk = stream.read(cap)
                ctypes.memmove(buf, chunk, len(chunk))
                got[0] = len(chunk)
                return 0
            except BaseException as exc:
                err.append(exc)
                return LP_EIO

        cb = READER(read)
        try:
            self._call("load", cb, None)
        except IOFailure:
            if err:
                raise err[0]
            raise

    @classmethod
    def from_bytes(cls, data):
        """A new object loaded from snapshot bytes."""
        obj = cls()
        obj.load_bytes(data)
        return obj

    def __reduce__(self):
        return (type(self).from_bytes, (self.to_bytes(),))

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    __hash__ = None  # mutable


# --------------------------------------------------------------------------
# numpy helpers (optional dependency)

try:  # pragma: no cover - depends on the environment
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

try:  # pragma: no cover
    import pandas as pd
except ImportError:  # pragma: no cover
    pd = None


def need_numpy(what: str):
    if np is None:
        raise ImportError(f"{what} needs numpy")
    return np


def as_f64(x, ndim: int, name: str):
    """``x`` as a C-contiguous float64 numpy array (no copy when it already is)."""
    need_numpy(name)
    a = np.ascontiguousarray(x, dtype=np.float64)
    if a.ndim != ndim:
        raise InvalidArgument(LP_EINVAL, f"{name}: expected a {ndim}-D array, got {a.ndim}-D")
    return a


def table(columns: Dict[str, Any]):
    """A pandas DataFrame when pandas is installed, else the dict itself."""
    if pd is not None:
        return pd.DataFrame(columns, copy=False)
    return columns


def ptr(a) -> Optional[int]:
    """Data pointer of a numpy array (None for None)."""
    return None if a is None else a.ctypes.data


def text(s, name: str = "text") -> bytes:
    """UTF-8 bytes of a str (bytes pass through)."""
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode("utf-8")
    raise InvalidArgument(LP_EINVAL, f"{name}: expected str or bytes, got {type(s).__name__}")


def version() -> str:
    """The library's version string (``lp_version_string``)."""
    return lib.lp_version_string().decode()
