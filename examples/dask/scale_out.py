#!/usr/bin/python3
"""Scale-out with Dask distributed through the libprofile Python binding.

Three patterns, each checked against a single-process run (docs/scale-out.md):

1. RFM: transactions partitioned by a hash of the customer id -> one RFM
   state per partition (on the workers) -> snapshots merged by a tree
   reduction (snapshot bytes travel between workers) -> the merged snapshot
   bytes and the scores equal a single-process state's.
2. Identity: events partitioned arbitrarily -> one identity graph per
   partition -> merged by a tree reduction -> byte-identical to one graph
   built from all events (the graph is defined by the set of events).
3. k-means: rows partitioned -> per iteration, each partition's exact
   partial sums (lp_kmeans_partial_sums_exact) -> summed on the client ->
   apply_sums_exact -> the same centroids, bit for bit, as the
   single-machine fit with exact_sums=True from the same start.

Prints one JSON line per stage (seconds, bytes moved) and, with --check,
exits 1 when an equality fails.

usage: scale_out.py [--transactions N] [--events N] [--partitions P]
                    [--workers W] [--check] [--workdir DIR]
"""
import argparse
import json
import os
import pickle
import sys
import time

import numpy as np
from dask.distributed import Client, LocalCluster

import libprofile
from libprofile import RFM, IdentityGraph, KMeans, SegmentMap

DAY = 86400
T0 = 1704067200  # 2024-01-01
AS_OF = T0 + 366 * DAY


def log(**kw):
    print(json.dumps(kw), flush=True)


# ---------------------------------------------------------------- data
def transactions(n, seed=1):
    rng = np.random.default_rng(seed)
    customers = max(n // 10, 1)
    return {
        "profile_id": rng.zipf(1.3, n).astype(np.uint64) % customers + 1,
        "ts": rng.integers(T0, T0 + 365 * DAY, n),
        "amount": rng.integers(-2000, 50000, n),
        "order_id": rng.integers(0, 1 << 40, n).astype(np.uint64),
    }


def events(n, seed=2):
    rng = np.random.default_rng(seed)
    cookie = rng.integers(0, n, n)
    email = rng.integers(0, n // 3 + 1, n)
    has_email = rng.random(n) < 0.4
    phone = rng.integers(0, n // 4 + 1, n)
    has_phone = rng.random(n) < 0.15
    src = rng.integers(0, 3, n)
    out = []
    for i in range(n):
        ids = [("cookie", f"c{cookie[i]}")]
        if has_email[i]:
            ids.append(("email", f"user{email[i]}@example.org"))
        if has_phone[i]:
            ids.append(("phone", f"+4420{phone[i]:08d}"))
        out.append((ids, int(T0 + i), ("web", "app", "crm")[src[i]]))
    return out


def hash_partition(ids, parts):
    """Partition index of each customer id: a 64-bit multiplicative hash."""
    with np.errstate(over="ignore"):
        h = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return ((h >> np.uint64(33)) % np.uint64(parts)).astype(np.int64)


# ---------------------------------------------------------------- worker tasks
def rfm_shard(cols):
    r = RFM()
    r.add(**cols)
    return r.to_bytes()


def rfm_merge(a, b):
    r = RFM.from_bytes(a)
    r.merge(RFM.from_bytes(b))
    return r.to_bytes()


def new_graph():
    g = IdentityGraph(key=b"dask example key")
    g.add_type("email", normalizer="email", priority=10)
    g.add_type("phone", normalizer="phone", country_code=44, priority=5)
    g.add_type("cookie", priority=1)
    return g


def graph_shard(evs):
    g = new_graph()
    for ids, ts, src in evs:
        g.observe(ids, ts, src)
    return g.to_bytes()


def graph_merge(a, b):
    g = new_graph()
    g.load_bytes(a)
    other = new_graph()
    other.load_bytes(b)
    g.merge(other)
    return g.to_bytes()


def km_partial(model, x):
    return pickle.loads(model).partial_sums_exact(x)


# ---------------------------------------------------------------- helpers
def tree_reduce(client, futures, merge):
    """Pairwise merges until one is left; returns (future, bytes sent to merges)."""
    sizes = dict(zip((f.key for f in futures), client.gather(client.map(len, futures))))
    moved = 0
    while len(futures) > 1:
        nxt = []
        for i in range(0, len(futures) - 1, 2):
            moved += sizes[futures[i + 1].key]  # at most the right side travels
            nxt.append(client.submit(merge, futures[i], futures[i + 1], pure=False))
        if len(futures) % 2:
            nxt.append(futures[-1])
        got = client.gather(client.map(len, nxt))
        sizes.update(zip((f.key for f in nxt), got))
        futures = nxt
    return futures[0], moved


def nbytes(obj):
    return sum(v.nbytes for v in obj.values()) if isinstance(obj, dict) else len(pickle.dumps(obj))


# ---------------------------------------------------------------- stages
def stage_rfm(client, n, parts):
    ok = True
    t = time.perf_counter()
    data = transactions(n)
    gen = time.perf_counter() - t

    t = time.perf_counter()
    single = RFM()
    single.add(**data)
    want = single.to_bytes()
    single_s = time.perf_counter() - t

    t = time.perf_counter()
    p = hash_partition(data["profile_id"], parts)
    chunks = [{k: v[p == i] for k, v in data.items()} for i in range(parts)]
    sent = sum(nbytes(c) for c in chunks)
    scattered = client.scatter(chunks)
    shards = client.map(rfm_shard, scattered, pure=False)
    merged, moved = tree_reduce(client, shards, rfm_merge)
    got = merged.result()
    dist_s = time.perf_counter() - t

    same_bytes = got == want
    seg = SegmentMap.builtin("rf10")
    a = single.score(as_of=AS_OF, segments=seg, raw=True)
    b = RFM.from_bytes(got).score(as_of=AS_OF, segments=seg, raw=True)
    same_scores = a.tobytes() == b.tobytes()
    ok = same_bytes and same_scores
    log(stage="rfm", transactions=n, profiles=len(single), partitions=parts,
        generate_s=round(gen, 3), single_process_s=round(single_s, 3),
        dask_s=round(dist_s, 3), input_bytes_scattered=sent,
        snapshot_bytes_into_merges=moved, merged_snapshot_bytes=len(got),
        snapshot_equal=same_bytes, scores_equal=same_scores)
    return ok, data


def stage_identity(client, n, parts):
    evs = events(n)
    t = time.perf_counter()
    single = new_graph()
    for ids, ts, src in evs:
        single.observe(ids, ts, src)
    want = single.to_bytes()
    single_s = time.perf_counter() - t

    t = time.perf_counter()
    rng = np.random.default_rng(3)
    where = rng.integers(0, parts, len(evs))  # arbitrary: not by any key
    chunks = [[e for e, w in zip(evs, where) if w == i] for i in range(parts)]
    sent = sum(len(pickle.dumps(c)) for c in chunks)
    shards = client.map(graph_shard, client.scatter(chunks), pure=False)
    merged, moved = tree_reduce(client, shards, graph_merge)
    got = merged.result()
    dist_s = time.perf_counter() - t
    same = got == want
    log(stage="identity", events=n, profiles=single.stats()["profiles"], partitions=parts,
        single_process_s=round(single_s, 3), dask_s=round(dist_s, 3),
        input_bytes_scattered=sent, snapshot_bytes_into_merges=moved,
        merged_snapshot_bytes=len(got), snapshot_equal=same)
    return same


def stage_kmeans(client, data, parts, k=6):
    # Features per customer from the transactions: log spend, orders, last day.
    r = RFM()
    r.add(**data)
    rows = r.score(as_of=AS_OF, raw=True)
    x = np.column_stack([np.log1p(np.maximum(rows["monetary"], 0) / 100.0),
                         np.log1p(rows["frequency"]), rows["recency"] / DAY]).astype(np.float64)
    start = KMeans(k, random_state=0, n_init=1, max_iter=0).fit(x).cluster_centers_

    t = time.perf_counter()
    ref = KMeans(k, init=start, exact_sums=True, tol=0.0).fit(x)
    single_s = time.perf_counter() - t

    t = time.perf_counter()
    xs = client.scatter(np.array_split(x, parts))
    km = KMeans(k, init=start, exact_sums=True).start(x[:k])
    moved = 0
    steps = 0
    for steps in range(1, 301):
        model = pickle.dumps(km)
        accs = client.gather(client.map(km_partial, [model] * parts, xs, pure=False))
        moved += len(model) * parts + sum(a.nbytes for a in accs)
        if km.apply_sums_exact(np.sum(accs, axis=0)) == 0.0:
            break
    dist_s = time.perf_counter() - t
    same = np.array_equal(km.cluster_centers_, ref.cluster_centers_)
    labels_same = np.array_equal(km.predict(x), ref.labels_)
    log(stage="kmeans", rows=len(x), k=k, d=x.shape[1], partitions=parts, steps=steps,
        fit_n_iter=ref.n_iter_, single_process_s=round(single_s, 3), dask_s=round(dist_s, 3),
        bytes_moved=moved, centroids_equal=same, labels_equal=labels_same)
    return same and labels_same


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=1_000_000)
    ap.add_argument("--events", type=int, default=60_000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    if a.workdir:
        os.makedirs(a.workdir, exist_ok=True)
    t = time.perf_counter()
    with LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, local_directory=a.workdir) as cluster, \
            Client(cluster) as client:
        log(stage="cluster", workers=a.workers, start_s=round(time.perf_counter() - t, 3),
            library=libprofile.library_path)
        ok_rfm, data = stage_rfm(client, a.transactions, a.partitions)
        ok_id = stage_identity(client, a.events, a.partitions)
        ok_km = stage_kmeans(client, data, a.partitions)
    ok = ok_rfm and ok_id and ok_km
    log(stage="total", seconds=round(time.perf_counter() - t, 3), all_equal=ok)
    return 0 if ok or not a.check else 1


if __name__ == "__main__":
    sys.exit(main())
