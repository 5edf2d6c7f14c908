"""Shared fixtures: the binding is imported from the source tree (PYTHONPATH)
and loads the build's library (LIBPROFILE_PATH), both set by
bindings/run_tests.py."""
import os

import numpy as np
import pytest

DAY = 86400
T0 = 1704067200  # 2024-01-01


@pytest.fixture
def txns():
    """20 000 transactions of 3 000 customers over 200 days (seeded)."""
    rng = np.random.default_rng(5)
    n = 20000
    return {
        "profile_id": rng.integers(100000, 103000, n).astype(np.uint64),
        "ts": rng.integers(T0, T0 + 200 * DAY, n),
        "amount": rng.integers(-500, 100000, n),
        "order_id": rng.integers(0, 4000, n).astype(np.uint64),
    }


@pytest.fixture
def blobs():
    """4 000 rows, 3 columns, 4 separated clusters (seeded)."""
    rng = np.random.default_rng(1)
    centers = np.array([[0, 0, 0], [5, 5, 0], [0, 6, 6], [7, 0, 7]], dtype=float)
    x = np.concatenate([c + rng.normal(size=(1000, 3)) for c in centers])
    return x[rng.permutation(len(x))]


@pytest.fixture
def profilectl():
    path = os.environ.get("PROFILECTL")
    if not path or not os.path.exists(path):
        pytest.skip("PROFILECTL not set")
    return path
