"""Library loading, errors and the handle life cycle."""
import io
import os
import pickle
import subprocess
import sys

import pytest

import libprofile
from libprofile import _lib


def test_version():
    assert libprofile.version() == "1.2.0"
    assert _lib.lib.lp_version() == 10200


@pytest.mark.parametrize("code,cls,base", [
    (-1, libprofile.InvalidArgument, ValueError), (-2, libprofile.OutOfMemory, MemoryError),
    (-3, libprofile.IOFailure, OSError), (-4, libprofile.Corrupt, ValueError),
    (-5, libprofile.UnsupportedVersion, ValueError), (-6, libprofile.NotFound, LookupError),
    (-7, libprofile.LimitExceeded, OverflowError), (-8, libprofile.Conflict, libprofile.Error),
    (-9, libprofile.OutOfRange, ValueError), (-10, libprofile.Misuse, RuntimeError),
    (-11, libprofile.BufferTooSmall, libprofile.Error),
])
def test_error_classes(code, cls, base):
    with pytest.raises(cls) as info:
        _lib.check(code)
    err = info.value
    assert isinstance(err, base) and isinstance(err, libprofile.Error)
    assert err.code == code
    assert err.message == libprofile.strerror(code)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is cls and again.code == code and again.message == err.message


def test_check_ok_and_unknown_code():
    assert _lib.check(0) == 0
    with pytest.raises(libprofile.Error) as info:
        _lib.check(-99)
    assert type(info.value) is libprofile.Error and info.value.code == -99


def test_message_comes_from_the_handle():
    r = libprofile.RFM()
    with pytest.raises(libprofile.NotFound) as info:
        r.get(42)
    assert "42" in info.value.message  # the handle's text, not lp_strerror's
    assert info.value.message != libprofile.strerror(-6)


def test_closed_handle_and_context_manager():
    with libprofile.RFM() as r:
        r.add_profile(1)
        assert r.handle
    with pytest.raises(libprofile.Misuse):
        r.add_profile(2)
    r.close()  # twice is fine


def _load_in_subprocess(env_value):
    env = dict(os.environ, LIBPROFILE_PATH=env_value)
    return subprocess.run([sys.executable, "-c", "import libprofile; print(libprofile.library_path)"],
                          env=env, capture_output=True, text=True)


def test_library_path_file_and_directory():
    so = os.environ["LIBPROFILE_PATH"]
    assert _load_in_subprocess(so).stdout.strip() == so
    out = _load_in_subprocess(os.path.dirname(so)).stdout.strip()
    assert os.path.dirname(out) == os.path.dirname(so)


def test_library_path_missing_is_import_error():
    res = _load_in_subprocess("/nonexistent/libprofile.so.1")
    assert res.returncode != 0 and "ImportError" in res.stderr


def test_text_requires_str_or_bytes():
    with pytest.raises(libprofile.InvalidArgument):
        _lib.text(3)


def test_snapshot_helpers_report_writer_and_reader_errors():
    r = libprofile.RFM()
    r.add([1], [10], [5])

    class Broken(io.RawIOBase):
        def write(self, b):
            raise OSError("disk full")

        def read(self, n=-1):
            raise OSError("unreadable")

    with pytest.raises(OSError, match="disk full"):
        r.save(Broken())
    with pytest.raises(OSError, match="unreadable"):
        r.load(Broken())
    assert r.get(1)["monetary"] == 5  # unchanged
