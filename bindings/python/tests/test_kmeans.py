"""k-means: scikit-learn equality, attributes, every error, shards, pickle."""
import pickle

import numpy as np
import pytest
from sklearn.cluster import KMeans as SKKMeans

import libprofile
from libprofile import KMeans
from libprofile import _lib


def test_labels_equal_scikit_learn_from_the_same_start(blobs):
    init = blobs[:4].copy()
    ours = KMeans(4, init=init, algorithm="lloyd", max_iter=300, tol=1e-4).fit(blobs)
    ref = SKKMeans(4, init=init, n_init=1, algorithm="lloyd", max_iter=300, tol=1e-4).fit(blobs)
    assert np.array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-12, atol=1e-12)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)
    assert np.array_equal(ours.predict(blobs[:100]), ref.predict(blobs[:100]))


def test_hamerly_equals_lloyd(blobs):
    init = blobs[10:14].copy()
    a = KMeans(4, init=init, algorithm="lloyd").fit(blobs)
    b = KMeans(4, init=init, algorithm="hamerly").fit(blobs)
    assert np.array_equal(a.labels_, b.labels_)
    assert b.algorithm_used_ == "hamerly"


def test_yinyang_equals_lloyd(blobs):
    init = blobs[10:14].copy()
    a = KMeans(4, init=init, algorithm="lloyd").fit(blobs)
    b = KMeans(4, init=init, algorithm="yinyang").fit(blobs)
    assert np.array_equal(a.labels_, b.labels_)
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_)
    assert b.algorithm_used_ == "yinyang"


def test_seeded_kmeanspp_is_reproducible(blobs):
    a = KMeans(4, random_state=3, n_init=2).fit(blobs)
    b = KMeans(4, random_state=3, n_init=2).fit(blobs)
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_)
    assert len(np.unique(a.fit_predict(blobs))) == 4
    KMeans(4, init="random", random_state=None).fit(blobs)
    KMeans(4, algorithm="minibatch", random_state=1, batch_size=256).fit(blobs)
    KMeans(4, random_state=np.random.RandomState(0), n_init="auto").fit(blobs)


def test_no_copy_for_contiguous_float64(blobs):
    assert _lib.as_f64(blobs, 2, "X") is blobs
    f = np.asfortranarray(blobs)
    assert _lib.as_f64(f, 2, "X") is not f
    ours = KMeans(4, init=blobs[:4].copy()).fit(f)  # converted, same result
    assert np.array_equal(ours.labels_, KMeans(4, init=blobs[:4].copy()).fit(blobs).labels_)


def test_errors(blobs):
    km = KMeans(4, init=blobs[:4].copy())
    with pytest.raises(libprofile.Misuse, match="not fitted"):
        km.predict(blobs)
    with pytest.raises(libprofile.Misuse):
        km.labels_
    with pytest.raises(libprofile.InvalidArgument, match="2-D"):
        km.fit(blobs[:, 0])
    with pytest.raises(libprofile.InvalidArgument, match="columns"):
        KMeans(4, init=blobs[:4, :2].copy()).fit(blobs)
    with pytest.raises(libprofile.InvalidArgument, match="rows"):
        KMeans(3, init=blobs[:4].copy()).fit(blobs)
    with pytest.raises(libprofile.InvalidArgument, match="algorithm"):
        KMeans(4, algorithm="elkan2").fit(blobs)
    with pytest.raises(libprofile.InvalidArgument, match="scale"):
        KMeans(4, scale="log2").fit(blobs)
    with pytest.raises(libprofile.InvalidArgument, match="init"):
        KMeans(4, init="greedy").fit(blobs)
    with pytest.raises(libprofile.InvalidArgument, match="sample_weight"):
        km.fit(blobs, sample_weight=np.ones(3))
    bad = blobs.copy()
    bad[5, 1] = np.nan
    with pytest.raises(libprofile.InvalidArgument):
        km.fit(bad)
    with pytest.raises(libprofile.InvalidArgument):
        KMeans(4).fit(blobs[:3])  # n < k
    with pytest.raises(libprofile.OutOfRange):
        KMeans(0).fit(blobs)
    with pytest.raises(libprofile.OutOfRange):
        KMeans(4, tol=-1.0).fit(blobs)
    km.fit(blobs)
    with pytest.raises(libprofile.InvalidArgument, match="columns"):
        km.predict(np.zeros((2, 2)))  # checked before the call: no out-of-bounds read
    with pytest.raises(libprofile.InvalidArgument):
        km.predict(np.zeros(3))
    with pytest.raises(libprofile.InvalidArgument, match="unknown parameter"):
        km.set_params(colour=1)
    with pytest.raises(libprofile.InvalidArgument, match="labels"):
        km.davies_bouldin(blobs, km.labels_[:10])


def test_weights_predict_transform_score(blobs):
    w = np.ones(len(blobs))
    a = KMeans(4, init=blobs[:4].copy()).fit(blobs, sample_weight=w)
    b = KMeans(4, init=blobs[:4].copy()).fit(blobs)
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_)
    labels, dist = a.predict(blobs, return_distances=True)
    assert np.array_equal(labels, a.labels_)
    assert -a.score(blobs) == pytest.approx(a.inertia_, rel=1e-9)
    assert np.array_equal(a.transform(blobs), blobs)  # scale none
    z = KMeans(4, init=blobs[:4].copy(), scale="zscore").fit(blobs)
    t = z.transform(blobs)
    np.testing.assert_allclose(t.mean(axis=0), 0, atol=1e-9)
    assert z.cluster_centers_scaled_.shape == (4, 3)
    assert a.n_features_in_ == 3


def test_metrics_and_sweep(blobs):
    from sklearn import metrics
    km = KMeans(4, init=blobs[:4].copy()).fit(blobs)
    lab = km.labels_
    assert km.davies_bouldin(blobs, lab) == pytest.approx(metrics.davies_bouldin_score(blobs, lab), rel=1e-9)
    assert km.calinski_harabasz(blobs, lab) == pytest.approx(metrics.calinski_harabasz_score(blobs, lab), rel=1e-9)
    assert km.silhouette(blobs, lab) == pytest.approx(metrics.silhouette_score(blobs, lab), rel=1e-9)
    other = (lab + 1) % 4
    assert km.adjusted_rand(lab, other) == pytest.approx(1.0)
    table = KMeans(random_state=0, n_init=1).sweep(blobs, 2, 5)
    assert list(table["k"]) == [2, 3, 4, 5]
    with pytest.raises(libprofile.InvalidArgument):
        KMeans(random_state=0).sweep(blobs, 5, 2)
    with pytest.raises(libprofile.InvalidArgument, match="sweep needs"):
        KMeans(4, init=blobs[:4].copy()).sweep(blobs, 2, 3)


def test_pickle_and_params(blobs):
    km = KMeans(4, init=blobs[:4].copy()).fit(blobs)
    again = pickle.loads(pickle.dumps(km))
    assert np.array_equal(again.predict(blobs), km.labels_)
    assert np.array_equal(again.cluster_centers_, km.cluster_centers_)
    assert again.get_params()["n_clusters"] == 4
    fresh = pickle.loads(pickle.dumps(KMeans(3)))
    with pytest.raises(libprofile.Misuse):
        fresh.cluster_centers_
    assert "n_clusters=3" in repr(fresh)
    assert km.set_params(max_iter=5) is km and km.max_iter == 5


def test_sharded_lloyd_equals_fit(blobs):
    init = blobs[:4].copy()
    ref = KMeans(4, init=init, tol=0, exact_sums=True).fit(blobs)
    km = KMeans(4, init=init, exact_sums=True).start(blobs[:4])
    parts = np.array_split(blobs, 5)
    for _ in range(300):
        acc = np.sum([km.partial_sums_exact(p) for p in reversed(parts)], axis=0)
        if km.apply_sums_exact(acc) == 0.0:
            break
    assert np.array_equal(km.cluster_centers_, ref.cluster_centers_)
    # plain sums, accumulated in row order, follow fit's Lloyd steps too
    km2 = KMeans(4, init=init).start(blobs[:4])
    plain = KMeans(4, init=init, max_iter=3, tol=0).fit(blobs)
    for _ in range(3):
        parts_sums = [km2.partial_sums(p) for p in parts]
        km2.apply_sums(sum(p[0] for p in parts_sums), sum(p[1] for p in parts_sums),
                       sum(p[2] for p in parts_sums))
    np.testing.assert_allclose(km2.cluster_centers_, plain.cluster_centers_, rtol=1e-12)
    with pytest.raises(libprofile.InvalidArgument):
        km2.apply_sums(np.zeros((3, 3)), np.zeros(3), np.zeros(3))
    with pytest.raises(libprofile.InvalidArgument):
        km.apply_sums_exact(np.zeros(5, dtype=np.int64))
    with pytest.raises(libprofile.Misuse):
        KMeans(2).partial_sums(blobs)


def test_float32_in_place_and_per_column_scales(blobs):
    init = blobs[:4].copy()
    x32 = np.ascontiguousarray(blobs, dtype=np.float32)
    a = KMeans(4, init=init).fit(x32)
    b = KMeans(4, init=init).fit(x32.astype(np.float64))  # the same values as doubles
    assert np.array_equal(a.labels_, b.labels_)
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_)
    z = KMeans(4, init=init, scale=["zscore", "none", "minmax"]).fit(blobs)
    t = z.transform(blobs)
    assert abs(t[:, 0].mean()) < 1e-9 and np.array_equal(t[:, 1], blobs[:, 1])
    assert t[:, 2].min() == 0.0 and t[:, 2].max() == 1.0
    with pytest.raises(libprofile.InvalidArgument, match="3 names"):
        KMeans(4, init=init, scale=["zscore"]).fit(blobs)
