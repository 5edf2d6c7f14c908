"""Profile store: facts under identifiers folded into profiles, the view,
erasure, features and installed models, errors, pickling."""
import decimal
import pickle

import numpy as np
import pytest

import libprofile
from libprofile import KMeans, Profiles
from libprofile import profiles as pm

DAY = 86400
T0 = 1704067200


def store():
    s = Profiles(key=b"store key", as_of=T0 + 100 * DAY)
    s.add_type("email", normalizer="email", priority=10)
    s.add_type("cookie")
    s.define_tag("vip")
    s.define_tag("tier", "string")
    s.define_tag("score", "decimal", scale=2, merge="max")
    return s


def test_orders_fold_through_the_graph():
    s = store()
    s.add_order(("cookie", "c1"), T0 + DAY, 1250, order_id=1)
    s.add_order(("email", "A@x.org"), T0 + 5 * DAY, 990, order_id=2)
    assert len(s) == 2
    p = s.observe([("email", "a@x.org"), ("cookie", "c1")], ts=T0, source="web")
    assert len(s) == 1 and list(s) == [p]
    v = s.view(p)
    assert v["orders"] == 2 and v["monetary"] == 2240 and v["transactions"] == 2
    assert v["identifiers"] == 2 and v["recency"] == 95 * DAY
    assert v["first_ts"] == T0 + DAY and v["last_ts"] == T0 + 5 * DAY
    assert v["stage"] in libprofile.rfm.STAGES.values() and v["segment_name"]
    assert v["p_alive"] is None and v["cluster"] is None  # no models installed
    assert sorted(i["value"] is None for i in s.identifiers(p)) == [True, True]
    assert s.stats() == {"profiles": 1, "orders": 2, "tag_facts": 0, "erased_facts": 0}
    r = s.rfm()
    assert len(r) == 1 and r.get(p)["monetary"] == 2240
    s.unlink(("email", "a@x.org"), ("cookie", "c1"))
    assert len(s) == 2
    assert sorted(s.view(q)["monetary"] for q in s) == [990, 1250]


def test_tags_and_values():
    s = store()
    p = s.set_tag(("cookie", "c1"), "vip")
    p = s.set_tag(("cookie", "c1"), "score", decimal.Decimal("7.25"))
    s.set_tag_profile(p, "tier", "gold")
    assert s.tags_of(p) == {"vip": True, "score": decimal.Decimal("7.25"), "tier": "gold"}
    s.unset_tag(("cookie", "c1"), "vip")
    assert "vip" not in s.tags_of(p)
    s.unset_tag_profile(p, "tier")
    assert s.tags_of(p) == {"score": decimal.Decimal("7.25")}
    with pytest.raises(libprofile.NotFound):
        s.set_tag(("cookie", "c1"), "nope")
    with pytest.raises(libprofile.InvalidArgument):
        s.set_tag(("cookie", "c1"), "score", "1.001")


def test_erasure():
    s = store()
    s.add_order(("cookie", "c1"), T0, 5)
    s.add_order(("cookie", "c2"), T0, 7)
    s.forget_identifier(("cookie", "c1"))
    assert len(s) == 1
    s.add_order(("cookie", "c1"), T0, 5)  # refused: erased
    assert s.stats()["erased_facts"] == 1 and len(s) == 1
    (p,) = list(s)
    s.forget_profile(p)
    assert len(s) == 0
    s.observe([("cookie", "z")], ts=1, source="crm")
    s.remove_source("crm")
    s.add_order(("cookie", "y"), T0, 1)
    s.remove_identifier(("cookie", "y"))
    assert len(s) == 0


def test_features_models_and_pickle():
    s = store()
    rng = np.random.default_rng(3)
    for i in range(200):
        for _ in range(int(rng.integers(1, 4))):
            s.add_order(("cookie", f"c{i}"), T0 + int(rng.integers(0, 90)) * DAY,
                        int(rng.integers(100, 5000)))
    ids, x = s.features()
    assert ids.shape == (200,) and x.shape == (200, pm.FEATURES)
    assert list(ids) == sorted(s)
    v = s.view(int(ids[0]))
    assert x[0].tolist() == [v["recency"] / DAY, v["orders"], v["monetary"]]
    km = KMeans(3, random_state=0, n_init=1).fit(x)
    s.set_kmeans(km)
    assert [s.view(int(p))["cluster"] for p in ids] == km.predict(x).tolist()
    bg = libprofile.BetaGeoFitter().fit_rfm(s.rfm(), T0 + 100 * DAY)
    s.set_clv(bg)
    v = s.view(int(ids[0]))
    assert 0 < v["p_alive"] <= 1 and v["expected_purchases"] > 0 and v["clv"] is None
    tab = s.views()
    assert len(tab["profile_id"]) == 200
    s.refresh()
    again = pickle.loads(pickle.dumps(s))
    assert again == s and again.view(int(ids[5]))["cluster"] == s.view(int(ids[5]))["cluster"]


def test_errors():
    with pytest.raises(libprofile.InvalidArgument, match="unknown option"):
        Profiles(colour=1)
    with pytest.raises(libprofile.OutOfRange):
        Profiles(bins=0)
    s = store()
    with pytest.raises(libprofile.InvalidArgument, match="normalizer"):
        s.add_type("x", normalizer="callback")
    with pytest.raises(libprofile.NotFound):
        s.type_id("fax")
    with pytest.raises(libprofile.InvalidArgument, match="1..64"):
        s.observe([])
    with pytest.raises(libprofile.InvalidArgument, match="pair"):
        s.add_order("cookie", T0, 1)
    with pytest.raises(libprofile.NotFound):
        s.view(12345)
    with pytest.raises(libprofile.InvalidArgument):
        s.define_tag("t", type="float")
    with pytest.raises(libprofile.OutOfRange):
        s.add_order(("cookie", "c"), T0, -(1 << 63))
    assert s.stats()["orders"] == 0
