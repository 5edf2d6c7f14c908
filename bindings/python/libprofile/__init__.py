"""libprofile: identity graph, RFM, CLV, tags and k-means from Python.

A ctypes binding (standard library only; numpy and pandas are used when
installed) over the libprofile shared library, found next to this package,
through ``LIBPROFILE_PATH`` (the file or its directory), or the system's.

Every object owns one C handle: ``close()`` frees it (also on garbage
collection and at the end of a ``with`` block). Objects pickle through the
library's snapshot format, so they travel between processes (Dask,
multiprocessing). A handle is not safe for concurrent use from several
threads: use one object per thread, or a lock.
"""
from ._lib import (BufferTooSmall, Conflict, Corrupt, Error, InvalidArgument, IOFailure,
                   LimitExceeded, Misuse, NotFound, OutOfMemory, OutOfRange,
                   UnsupportedVersion, library_path, strerror, version)
from .identity import IdentityGraph
from .kmeans import KMeans
from .rfm import RFM, SegmentMap

__all__ = ["Error", "InvalidArgument", "OutOfMemory", "IOFailure", "Corrupt",
           "UnsupportedVersion", "NotFound", "LimitExceeded", "Conflict", "OutOfRange",
           "Misuse", "BufferTooSmall", "library_path", "strerror", "version",
           "IdentityGraph", "KMeans", "RFM", "SegmentMap"]

try:  # modules whose C part may be absent from an older library
    from .clv import (BetaGeoBetaBinomFitter, BetaGeoFitter, GammaGammaFitter,  # noqa: F401
                      ModifiedBetaGeoFitter, ParetoNBDFitter)
    __all__ += ["BetaGeoFitter", "ParetoNBDFitter", "ModifiedBetaGeoFitter",
                "BetaGeoBetaBinomFitter", "GammaGammaFitter"]
except (ImportError, AttributeError):  # pragma: no cover
    pass
try:
    from .tags import Audience, Tags  # noqa: F401
    __all__ += ["Tags", "Audience"]
except (ImportError, AttributeError):  # pragma: no cover
    pass
try:
    from .profiles import Profiles  # noqa: F401
    __all__ += ["Profiles"]
except (ImportError, AttributeError):  # pragma: no cover
    pass

__version__ = "1.2.0"
