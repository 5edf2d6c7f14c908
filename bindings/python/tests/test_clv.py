"""CLV fitters: fits against an independent maximum likelihood (scipy),
predictions against the published closed forms, errors, pickling."""
import pickle

import numpy as np
import pytest
from scipy import optimize, special

import libprofile
from libprofile import (BetaGeoBetaBinomFitter, BetaGeoFitter, GammaGammaFitter,
                        ModifiedBetaGeoFitter, ParetoNBDFitter)

R, ALPHA, A, B = 0.25, 4.0, 0.8, 2.5


def simulate(n=2000, seed=11):
    """BG/NBD customers (whole-day times so rows compress)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(R, 1.0 / ALPHA, n)
    p = rng.beta(A, B, n)
    T = rng.integers(30, 40, n).astype(float)
    x = np.zeros(n)
    tx = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            tx[i] = t
            if rng.random() < p[i]:
                break
    return x, np.floor(tx), T


@pytest.fixture(scope="module")
def cust():
    return simulate()


def bgnbd_ll(params, x, tx, T):
    r, alpha, a, b = params
    base = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    l1 = special.betaln(a, b + x) - special.betaln(a, b) + base - (r + x) * np.log(alpha + T)
    l2 = special.betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - special.betaln(a, b) + base \
        - (r + x) * np.log(alpha + tx)
    return np.where(x > 0, np.logaddexp(l1, l2), l1).sum()


def test_bgnbd_fit_equals_independent_mle(cust):
    x, tx, T = cust
    m = BetaGeoFitter().fit(x, tx, T)
    assert m.report_["status"] == "converged"
    res = optimize.minimize(lambda lp: -bgnbd_ll(np.exp(lp), x, tx, T), np.log([1, 1, 1, 1]),
                            method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000})
    np.testing.assert_allclose(m.params_.values, np.exp(res.x), rtol=2e-3)
    assert list(m.params_.index) == ["r", "alpha", "a", "b"] == m.param_names
    assert m.log_likelihood_ == pytest.approx(-res.fun, rel=1e-7)
    assert (m.standard_errors_ > 0).all() and m.variance_matrix_.shape == (4, 4)
    assert list(m.summary.columns) == ["coef", "se(coef)", "lower 95% bound", "upper 95% bound"]


def test_bgnbd_predictions_equal_closed_forms(cust):
    x, tx, T = cust
    m = BetaGeoFitter().fit(x, tx, T)
    r, alpha, a, b = m.params_.values
    t = 10.0
    odds = np.where(x > 0, a / np.maximum(b + x - 1, 1e-300) * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)
    p_alive = 1.0 / (1.0 + odds)
    np.testing.assert_allclose(m.conditional_probability_alive(x, tx, T), p_alive, rtol=1e-10)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    cond = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp) / (1 + odds)
    np.testing.assert_allclose(m.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T),
                               cond, rtol=1e-9)
    ex = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    assert m.expected_number_of_purchases_up_to_time(t) == pytest.approx(ex, rel=1e-9)
    np.testing.assert_allclose(m.expected_number_of_purchases_up_to_time([t, t]), [ex, ex], rtol=1e-9)
    p0 = m.probability_of_n_purchases_up_to_time(t, 0)
    assert 0 < p0 < 1


def test_other_purchase_models_fit(cust):
    x, tx, T = cust
    sub = slice(0, 600)
    for cls, names in ((ParetoNBDFitter, ["r", "alpha", "s", "beta"]),
                       (ModifiedBetaGeoFitter, ["r", "alpha", "a", "b"])):
        m = cls().fit(x[sub], tx[sub], T[sub])
        assert m.param_names == names and np.isfinite(m.params_.values).all()
        pa = m.conditional_probability_alive(x[sub], tx[sub], T[sub])
        assert ((pa > 0) & (pa <= 1)).all()
    n = 6
    rng = np.random.default_rng(2)
    fx = rng.integers(0, n + 1, 400).astype(float)
    rec = np.where(fx > 0, np.maximum(fx, rng.integers(0, n + 1, 400)), 0).astype(float)
    m = BetaGeoBetaBinomFitter().fit(fx, rec, np.full(400, float(n)))
    assert m.param_names == ["alpha", "beta", "gamma", "delta"]
    assert np.isfinite(m.conditional_expected_number_of_purchases_up_to_time(3, fx, rec, np.full(400, float(n)))).all()


def test_gamma_gamma_and_clv(cust):
    x, tx, T = cust
    rng = np.random.default_rng(4)
    rep = x > 0
    spend = rng.gamma(6.0, 5.0, int(rep.sum()))
    gg = GammaGammaFitter().fit(x[rep], spend)
    p, q, v = gg.params_.values
    want = p * (v + x[rep] * spend) / (p * x[rep] + q - 1)
    np.testing.assert_allclose(gg.conditional_expected_average_profit(x[rep], spend), want, rtol=1e-10)
    bg = BetaGeoFitter().fit(x, tx, T)
    clv = gg.customer_lifetime_value(bg, x[rep], tx[rep], T[rep], spend, time=12,
                                     discount_rate=0.01, freq="D")
    # lifetimes' definition: month i's purchases x spend, discounted (1.01)^i
    months = [bg.conditional_expected_number_of_purchases_up_to_time(30.0 * i, x[rep], tx[rep], T[rep])
              for i in range(13)]
    ref = sum(want * (months[i] - months[i - 1]) / 1.01 ** i for i in range(1, 13))
    np.testing.assert_allclose(clv, ref, rtol=1e-9)
    with pytest.raises(libprofile.InvalidArgument, match="freq"):
        gg.customer_lifetime_value(bg, x, tx, T, x, freq="Y")
    with pytest.raises(libprofile.InvalidArgument, match="purchase model"):
        gg.customer_lifetime_value(gg, x, tx, T, x)


def test_errors(cust):
    x, tx, T = cust
    m = BetaGeoFitter()
    with pytest.raises(libprofile.Misuse, match="not fitted"):
        m.params_
    with pytest.raises(libprofile.Misuse):
        m.conditional_probability_alive(x, tx, T)
    with pytest.raises(libprofile.InvalidArgument, match="expected"):
        m.fit(x, tx[:-1], T)
    with pytest.raises(libprofile.InvalidArgument):
        m.fit(-x - 1, tx, T)
    with pytest.raises(libprofile.InvalidArgument):
        m.fit(x, T + 1, T)  # recency after T
    with pytest.raises(libprofile.InvalidArgument):
        m.fit([], [], [])
    with pytest.raises(libprofile.InvalidArgument):
        GammaGammaFitter().fit([0.0, 0.0], [1.0, 2.0])  # no repeat buyer
    with pytest.raises(libprofile.InvalidArgument):
        BetaGeoBetaBinomFitter().fit([0.5], [1.0], [3.0])  # not whole
    with pytest.raises(libprofile.InvalidArgument, match="unknown option"):
        BetaGeoFitter(colour=1)
    with pytest.raises(libprofile.OutOfRange):
        BetaGeoFitter(penalizer_coef=-1.0)
    m.fit(x, tx, T)
    with pytest.raises(libprofile.InvalidArgument, match="expected"):
        m.conditional_probability_alive(x, tx[:3], T)
    with pytest.raises(libprofile.InvalidArgument):
        m.set_params(1.0, 2.0)


def test_penalizer_set_params_and_pickle(cust):
    x, tx, T = cust
    plain = BetaGeoFitter().fit(x, tx, T)
    pen = BetaGeoFitter(penalizer_coef=0.1, max_iter=2000).fit(x, tx, T)
    assert not np.allclose(plain.params_.values, pen.params_.values)
    again = pickle.loads(pickle.dumps(pen))
    assert again.params_.equals(pen.params_) and again.penalizer_coef == 0.1
    given = BetaGeoFitter().set_params(R, ALPHA, A, B)
    assert given.report_["status"] == "given"
    assert "r: 0.25" in repr(given) and "not fitted" in repr(BetaGeoFitter())


def test_fit_rfm_equals_fit_on_clv_inputs():
    from libprofile import RFM
    rng = np.random.default_rng(8)
    n = 4000
    day = 86400
    r = RFM()
    r.add(rng.integers(1, 400, n), rng.integers(0, 300 * day, n), rng.integers(100, 9000, n))
    as_of = 301 * day
    ids = [p["profile_id"] for p in r]
    rows = [r.clv_inputs(i, as_of) for i in ids]
    x = np.array([c["frequency"] for c in rows], dtype=float)
    tx = np.array([c["recency"] for c in rows], dtype=float)
    T = np.array([c["T"] for c in rows], dtype=float)
    a = BetaGeoFitter().fit_rfm(r, as_of)
    b = BetaGeoFitter().fit(x, tx, T)
    np.testing.assert_allclose(a.params_.values, b.params_.values, rtol=1e-12)
    c = BetaGeoFitter().fit_rfm(r, as_of, ids=ids[:100])
    assert c.report_["rows"] == 100
    with pytest.raises(libprofile.NotFound):
        BetaGeoFitter().fit_rfm(r, as_of, ids=[10 ** 9])
    with pytest.raises(libprofile.InvalidArgument):
        BetaGeoFitter().fit_rfm("not rfm", as_of)


def test_holdout_table(cust):
    x, tx, T = cust
    m = BetaGeoFitter().fit(x, tx, T)
    rng = np.random.default_rng(9)
    hold = rng.poisson(0.5, len(x)).astype(float)
    table, totals = m.holdout(x, tx, T, hold, 10.0)
    assert table["open_ended"].iloc[-1] and table["customers"].sum() == pytest.approx(len(x))
    assert totals["actual_total"] == pytest.approx(hold.sum())
    pred = m.conditional_expected_number_of_purchases_up_to_time(10.0, x, tx, T)
    assert totals["predicted_total"] == pytest.approx(pred.sum(), rel=1e-12)
    assert totals["mae"] == pytest.approx(np.abs(hold - pred).mean(), rel=1e-9)
    with pytest.raises(libprofile.InvalidArgument, match="holdout_purchases"):
        m.holdout(x, tx, T, hold[:5], 10.0)
