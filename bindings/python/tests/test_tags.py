"""Tags: taxonomy, values, attributes, rules, audiences, errors, pickling."""
import decimal
import pickle

import numpy as np
import pandas as pd
import pytest

import libprofile
from libprofile import Tags
from libprofile import tags as tm


@pytest.fixture
def t():
    t = Tags()
    t.define("vip", category="value/rfm", owner="crm")
    t.define("churned")
    t.define("visits", "int", merge="sum")
    t.define("tier", "string", merge="max")
    t.define("newsletter_ok", consent_for="newsletter")
    t.define("promo", purpose="newsletter")
    t.define_attr("spend", "decimal", scale=2)
    t.define_attr("country", "string")
    for p in range(1, 11):
        t.add_profile(p)
        t.set_attr(p, "spend", decimal.Decimal(p * 25))
        t.set_attr(p, "country", "DE" if p % 2 else "FR")
    for p in (2, 4, 6, 8):
        t.set(p, "vip")
    t.set(3, "churned", set_at=0, expires_at=100)
    return t


def test_taxonomy(t):
    d = t.describe("vip")
    assert d["category"] == "value/rfm" and d["owner"] == "crm" and d["type"] == "flag"
    assert len(t) == 6 and isinstance(t.taxonomy, pd.DataFrame) and list(t.taxonomy.name)[:2] == ["vip", "churned"]
    assert t.tag_id("churned") == 1 and t.tag_id(1) == 1
    with pytest.raises(libprofile.NotFound):
        t.tag_id("nope")
    with pytest.raises(libprofile.Error):
        t.define("vip")
    for bad in ({"type": "float"}, {"merge": "avg"}, {"sensitivity": "secret"}):
        with pytest.raises(libprofile.InvalidArgument):
            t.define("x", **bad)
    with pytest.raises(libprofile.InvalidArgument):
        t.define("")
    with pytest.raises(libprofile.InvalidArgument):
        t.define_attr("flagattr", "flag")


def test_rules_rename_retire(t):
    t.define("rich_vip", rule="vip and spend >= 100")
    t.evaluate(0)
    assert t.count("rich_vip", 0) == 3  # 4, 6, 8
    t.rename("vip", "very_important")
    assert t.describe("rich_vip")["rule"] == "very_important and spend >= 100"
    with pytest.raises(libprofile.Conflict):
        t.rename("very_important", "spend")
    with pytest.raises(libprofile.Conflict):
        t.retire("very_important")  # used by a rule
    t.set_rule("rich_vip", None)
    t.retire("very_important")
    with pytest.raises(libprofile.NotFound):
        t.retire("very_important")
    with pytest.raises(libprofile.InvalidArgument):
        t.set_rule("rich_vip", "spend >= ")
    with pytest.raises(libprofile.NotFound):
        t.count("very_important", 0)


def test_values_expiry_types(t):
    assert t.get(2, "vip", 0) is True and t.get(1, "vip", 0) is None
    assert t.get(3, "churned", 99) is True and t.get(3, "churned", 100) is None
    t.set(1, "visits", 3)
    t.set(1, "tier", "gold")
    assert t.get(1, "visits", 0) == 3 and t.get(1, "tier", 0) == "gold"
    assert t.get_attr(5, "spend") == decimal.Decimal("125.00")
    assert t.get_attr(5, "country") == "DE"
    t.clear_attr(5, "country")
    assert t.get_attr(5, "country", "?") == "?"
    t.unset(2, "vip")
    assert t.get(2, "vip", 0) is None
    with pytest.raises(libprofile.InvalidArgument, match="decimal places"):
        t.set_attr(1, "spend", "1.005")
    with pytest.raises(libprofile.InvalidArgument, match="exact"):
        t.set_attr(1, "spend", 1.5)
    with pytest.raises(libprofile.NotFound):
        t.set_attr(1, "height", 3)
    with pytest.raises(libprofile.NotFound):
        t.set(1, "nope")
    with pytest.raises(libprofile.InvalidArgument, match="INT64_MIN"):
        t.set(1, "visits", -(1 << 63))
    f = t.frame([1, 2, 3], ["vip", "visits"], as_of=0)
    assert list(f.columns) == ["profile_id", "vip", "visits"] and f.visits[0] == 3


def test_merge_profiles_and_remove(t):
    t.set(1, "visits", 2)
    t.set(2, "visits", 5)
    t.set(1, "tier", "bronze")
    t.set(2, "tier", "silver")
    t.merge_profiles(1, 2, as_of=0)
    assert t.get(1, "visits", 0) == 7 and t.get(1, "tier", 0) == "silver" and t.get(1, "vip", 0)
    t.remove_profile(1)
    assert t.get(1, "visits", 0) is None
    with pytest.raises(libprofile.Error):
        t.merge_profiles(1, 1, 0)


def test_audiences_consent_minimum_and_explain(t):
    a = t.audience("vip and country == \"FR\"", as_of=0)
    assert len(a) == 4 and list(a) == [2, 4, 6, 8] and list(a) == [2, 4, 6, 8]  # restartable
    assert a.ids().dtype == np.uint64 and a.ids().tolist() == [2, 4, 6, 8]
    roaring = a.to_roaring()
    assert roaring == t.audience("vip", 0).to_roaring() and len(roaring) > 8
    a.close()
    t.set(4, "newsletter_ok")
    t.set(4, "promo")
    t.set(5, "promo")
    # promo's purpose needs consent: 5 holds promo without newsletter_ok
    assert t.count("promo", 0) == 1 and t.count("promo", 0, purpose="newsletter") == 1
    assert t.count("vip", 0) == 4 and t.count("vip", 0, purpose="newsletter") == 1
    member, why = t.explain("vip and spend >= 150", 4, 0)
    assert member is False and "spend" in why
    member, _ = t.explain("vip", 4, 0)
    assert member is True
    strict = Tags(min_audience_size=100)
    strict.define("x")
    strict.set(1, "x")
    with pytest.raises(libprofile.Error):
        strict.count("x", 0)
    with pytest.raises(libprofile.InvalidArgument):
        t.count("vip and", 0)
    with pytest.raises(libprofile.OutOfRange):
        Tags(min_audience_size=-1)
    assert t.bitmap_bytes > 0


def test_pickle_and_snapshot(t, tmp_path):
    again = pickle.loads(pickle.dumps(t))
    assert again == t and again.count("vip", 0) == 4
    p = tmp_path / "tags.snap"
    with open(p, "wb") as f:
        t.save(f)
    u = Tags()
    with open(p, "rb") as f:
        u.load(f)
    assert u.get_attr(3, "spend") == decimal.Decimal("75.00")
    bad = bytearray(t.to_bytes())
    bad[-3] ^= 1
    with pytest.raises(libprofile.Corrupt):
        u.load_bytes(bytes(bad))
    assert u == t
    assert tm.NEVER == (1 << 63) - 1
