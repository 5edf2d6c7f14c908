"""Identity graph: every method, callbacks, errors, shards, snapshots."""
import hashlib
import pickle
import random

import pytest

import libprofile
from libprofile import IdentityGraph
from libprofile import identity as idm


def graph(**kw):
    g = IdentityGraph(key=b"test key", **kw)
    g.add_type("email", normalizer="email", priority=10, unique=True)
    g.add_type("phone", normalizer="phone", country_code=44, priority=5)
    g.add_type("cookie", priority=1)
    return g


def test_types():
    g = graph()
    assert g.type_id("email") == 0 and g.type_id("cookie") == 2 and g.type_id(1) == 1
    assert g.type_name(2) == "cookie"
    with pytest.raises(libprofile.NotFound):
        g.type_id("fax")
    with pytest.raises(libprofile.InvalidArgument, match="already"):
        g.add_type("email")
    with pytest.raises(libprofile.InvalidArgument):
        g.add_type("", normalizer="generic")
    with pytest.raises(libprofile.InvalidArgument, match="normalizer"):
        g.add_type("x", normalizer="soundex")
    with pytest.raises(libprofile.InvalidArgument, match="country_code"):
        g.add_type("p2", normalizer="phone", country_code=5000)


def test_normalize():
    g = graph()
    assert g.normalize("email", "  Ann@Example.ORG ") == "ann@example.org"
    assert g.normalize("phone", "020 7946 0000") == "+442079460000"
    with pytest.raises(libprofile.InvalidArgument):
        g.normalize("email", "no at sign")


def test_observe_and_query():
    g = graph(store_raw=1)
    p = g.observe([("email", "Ann@x.org"), ("cookie", "c1")], ts=1, source="web")
    q = g.observe([("cookie", "c2")], ts=2, source="app")
    assert p != q and sorted(g) == sorted([p, q]) and len(g) == 2
    r = g.observe([("email", "ann@x.org"), ("cookie", "c2")], ts=3, source="crm")
    assert g.profiles() == [r] and g.profile_of("cookie", "c1") == r
    ids = g.identifiers(r)
    assert sorted(i["value"] for i in ids) == ["ann@x.org", "c1", "c2"]
    assert all(len(i["hash"]) == 16 and not i["quarantined"] for i in ids)
    st = g.stats()
    assert st["events"] == 3 and st["identifiers"] == 3 and st["profiles"] == 1 and st["merges"] == 2
    steps = g.explain(("cookie", "c1"), ("cookie", "c2"))
    assert [s["source"] for s in steps] == ["web", "crm"] and steps[0]["from_type"] == "cookie"


def test_observe_errors():
    g = graph()
    with pytest.raises(libprofile.InvalidArgument, match="1..64"):
        g.observe([])
    with pytest.raises(libprofile.InvalidArgument, match="1..64"):
        g.observe([("cookie", str(i)) for i in range(65)])
    with pytest.raises(libprofile.InvalidArgument, match="pair"):
        g.observe(["cookie"])
    with pytest.raises(libprofile.NotFound):
        g.observe([("fax", "1")])
    with pytest.raises(libprofile.InvalidArgument):
        g.observe([(77, "1")])
    with pytest.raises(libprofile.NotFound):
        g.profile_of("cookie", "never")
    with pytest.raises(libprofile.NotFound):
        g.identifiers(12345)
    assert g.stats()["events"] == 0


def test_unique_conflict_and_invalid_counted():
    g = graph()
    g.observe([("email", "a@x.org"), ("cookie", "c")])
    g.observe([("email", "b@x.org"), ("cookie", "c")])  # second email refused: unique
    assert g.stats()["conflicts"] == 1
    g.observe([("email", "not an email"), ("cookie", "d")])
    assert g.stats()["invalid"] == 1


def test_block_value():
    g = graph()
    g.block_value("email", "test@test.com")
    g.observe([("email", "test@test.com"), ("cookie", "z")])
    assert g.stats()["blocked"] == 1
    with pytest.raises(libprofile.NotFound):
        g.profile_of("email", "test@test.com")


def test_unlink_remove_forget():
    g = graph()
    g.observe([("cookie", "a"), ("cookie", "b")], ts=1, source="s1")
    g.observe([("cookie", "b"), ("cookie", "c")], ts=2, source="s2")
    assert len(g) == 1
    g.unlink(("cookie", "a"), ("cookie", "b"))
    assert len(g) == 2
    g.remove_source("s2")  # b and c were only seen in s2's event
    assert len(g) == 1 and g.stats()["events"] == 1 and g.stats()["identifiers"] == 1
    with pytest.raises(libprofile.NotFound):
        g.remove_identifier(("cookie", "c"))
    with pytest.raises(libprofile.NotFound):
        g.unlink(("cookie", "a"), ("cookie", "b"))
    g.observe([("cookie", "c"), ("cookie", "d")])
    g.remove_identifier(("cookie", "c"))
    assert g.stats()["identifiers"] == 2
    g.forget_identifier(("cookie", "a"))
    g.observe([("cookie", "a")])
    assert g.stats()["tombstoned"] == 1
    g.lift_tombstone(("cookie", "a"))
    pid = g.observe([("cookie", "a")])
    g.forget_profile(pid)
    with pytest.raises(libprofile.NotFound):
        g.forget_profile(pid)


def test_notify_callback_kept_alive_and_reentry():
    g = graph()
    seen = []
    g.on_change(lambda change, old, new: seen.append((change, old, new)))
    import gc
    gc.collect()  # the ctypes thunk must survive: this object holds it
    a = g.observe([("cookie", "1")])
    b = g.observe([("cookie", "2")])
    m = g.observe([("cookie", "1"), ("cookie", "2")])
    assert seen == [("merged", b if m == a else a, m)]

    def reenter(*args):
        g.stats()

    g.on_change(reenter)
    with pytest.raises(libprofile.Misuse):
        g.observe([("cookie", "3")])
        g.observe([("cookie", "3"), ("cookie", "1")])
    g.on_change(None)
    g.observe([("cookie", "4"), ("cookie", "1")])


def test_python_normalizer_and_hash():
    g = IdentityGraph(store_raw=1)
    g.set_hash(lambda data: hashlib.blake2b(data, digest_size=16).digest())
    g.add_type("sku", normalize=lambda s: s.strip().upper() if s.strip() else None)
    assert g.normalize("sku", " ab1 ") == "AB1"
    p = g.observe([("sku", "ab1 ")])
    assert g.profile_of("sku", "AB1") == p
    g.observe([("sku", "   "), ("sku", "x")])
    assert g.stats()["invalid"] == 1
    with pytest.raises(TypeError, match="callbacks"):
        pickle.dumps(g)

    def bad(data):
        raise RuntimeError("hash service down")

    h = IdentityGraph()
    h.set_hash(bad)
    h.add_type("t")
    with pytest.raises(RuntimeError, match="hash service down"):
        h.observe([("t", "v")])
    h.set_hash(lambda d: b"short")
    with pytest.raises(ValueError, match="16"):
        h.observe([("t", "v")])


def test_options():
    g = IdentityGraph(quarantine_after=5)
    assert g.get_int(idm.QUARANTINE_AFTER) == 5
    assert g.int_bounds(idm.QUARANTINE_AFTER) == (1, 63)
    with pytest.raises(libprofile.OutOfRange):
        g.set_int(idm.QUARANTINE_AFTER, 64)
    with pytest.raises(libprofile.InvalidArgument, match="unknown option"):
        IdentityGraph(bogus=1)
    with pytest.raises(libprofile.InvalidArgument):
        g.set_key(b"")


def events(n, seed):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ids = [("cookie", f"c{rng.randrange(n)}")]
        if rng.random() < 0.5:
            ids.append(("email", f"u{rng.randrange(n // 2)}@x.org"))
        if rng.random() < 0.3:
            ids.append(("phone", f"+44 20 7946 {rng.randrange(10000):04d}"))
        out.append((ids, i, rng.choice(["web", "app", "crm"])))
    return out


def test_shards_merge_to_one_graph():
    ev = events(3000, 7)
    single = graph()
    single.observe_many(ev)
    shards = [single.copy_config() for _ in range(3)]
    rng = random.Random(3)
    for e in ev:
        shards[rng.randrange(3)].observe(*e)
    merged = shards[0]
    merged.merge(shards[2])
    merged.merge(shards[1])
    assert merged == single
    with pytest.raises(libprofile.InvalidArgument):
        merged.merge(None)


def test_pickle_and_files(tmp_path):
    g = graph(store_raw=1)
    g.observe_many(events(500, 1))
    h = pickle.loads(pickle.dumps(g))
    assert h == g and h.profiles() == g.profiles()
    path = tmp_path / "g.idg"
    with open(path, "wb") as f:
        g.save(f)
    k = graph(store_raw=1)
    with open(path, "rb") as f:
        k.load(f)
    assert k == g
    with pytest.raises(libprofile.Conflict):
        IdentityGraph().load_bytes(g.to_bytes())  # types not declared
