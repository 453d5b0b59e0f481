"""Value models against the published CDNOW estimates and against lifetimes.

CDNOW (Fader, Hardie & Lee 2005): 2,357 customers, 39-week calibration period, in weeks.
The summary and the raw transactions ship with lifetimes (a dev dependency).
"""

import warnings
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from seglab.exceptions import ConvergenceWarning, DataQualityWarning, InputError
from seglab.features import (BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD, btyd_summary,
                             customer_lifetime_value, value_features)

lifetimes = pytest.importorskip("lifetimes")
DATA = resources.files("lifetimes.datasets")


@pytest.fixture(scope="module")
def cdnow():
    """The published CDNOW calibration summary (frequency, recency, T in weeks)."""
    return pd.read_csv(DATA / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_raw_summary():
    """seglab's own BTYD summary of the raw CDNOW transactions, as of 30 Sep 1997, in weeks."""
    raw = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master", "customer_id", "date", "cds", "amount"], dtype={"customer_id": str})
    tx = pd.DataFrame({"customer_id": raw["customer_id"], "order_id": raw.index.astype(str),
                       "order_date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
                       "amount": raw["amount"]})
    return btyd_summary(tx, as_of="1997-09-30", time_unit="weeks")


def test_bg_nbd_reproduces_the_published_cdnow_estimates(cdnow):
    model = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # FHL 2005, table 1
    assert {k: round(v, 3) for k, v in model.params_.items()} == published
    assert round(model.log_likelihood_, 1) == -9582.4
    assert model.converged_


def test_pareto_nbd_reproduces_the_published_cdnow_estimates(cdnow):
    model = ParetoNBD().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    p = model.params_
    assert (round(p["r"], 3), round(p["alpha"], 3), round(p["s"], 3)) == (0.553, 10.578, 0.606)
    # Published beta = 11.669. The likelihood is flat along beta (it changes by < 1e-6 between
    # 11.665 and 11.672; its standard error is 6.2), so beta is checked to two decimals.
    assert round(p["beta"], 2) == 11.67
    assert round(model.log_likelihood_, 1) == -9595.0


def test_seglab_summary_of_raw_cdnow_matches_the_published_summary(cdnow, cdnow_raw_summary):
    published = cdnow.assign(customer_id=cdnow["ID"].astype(str).str.zfill(4)).set_index("customer_id")
    mine = cdnow_raw_summary.set_index("customer_id")
    common = mine.index.intersection(published.index)
    # every published customer, the 8 who bought only $0 items included: a zero-value purchase counts
    assert len(common) == len(published) == 2357
    np.testing.assert_array_equal(mine.loc[common, "frequency"], published.loc[common, "frequency"])
    np.testing.assert_allclose(mine.loc[common, "recency"], published.loc[common, "recency"], atol=0.005)
    np.testing.assert_allclose(mine.loc[common, "T"], published.loc[common, "T"], atol=0.005)


def test_gamma_gamma_reproduces_the_published_cdnow_estimates(cdnow_raw_summary):
    repeat = cdnow_raw_summary[cdnow_raw_summary["frequency"] > 0]
    assert len(repeat) == 946
    model = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
    published = {"p": 6.25, "q": 3.74, "v": 15.44}  # Fader & Hardie (2013)
    assert {k: round(v, 2) for k, v in model.params_.items()} == published
    assert round(model.log_likelihood_, 2) == -4055.92


def test_predictions_agree_with_lifetimes(cdnow):
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    ours = BetaGeo().fit(x, t_x, T)
    theirs = lifetimes.BetaGeoFitter().fit(x, t_x, T)
    np.testing.assert_allclose(ours.predict_alive(x, t_x, T),
                               theirs.conditional_probability_alive(x, t_x, T), atol=1e-5)
    np.testing.assert_allclose(ours.predict_purchases(39, x, t_x, T),
                               theirs.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T),
                               atol=1e-4)
    np.testing.assert_allclose(ours.expected_purchases([10, 39]), theirs.expected_number_of_purchases_up_to_time(
        np.array([10, 39])), rtol=1e-5)


def test_clv_agrees_with_lifetimes(cdnow_raw_summary):
    s = cdnow_raw_summary
    bg = lifetimes.BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    ours = BetaGeo()
    ours.params_ = {k: float(bg.params_[k]) for k in ("r", "alpha", "a", "b")}
    spend = np.where(s["frequency"] > 0, s["monetary_value"], 30.0)
    expected = lifetimes.utils._customer_lifetime_value(
        bg, s["frequency"], s["recency"], s["T"], pd.Series(spend), time=12, discount_rate=0.01, freq="W")
    mine = customer_lifetime_value(ours, s["frequency"], s["recency"], s["T"], spend, horizon_months=12,
                                   discount_rate=0.01, time_unit="weeks")
    np.testing.assert_allclose(mine, expected, rtol=1e-9)


def test_pareto_nbd_predictions_agree_with_lifetimes(cdnow):
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    ours = ParetoNBD().fit(x, t_x, T)
    theirs = lifetimes.ParetoNBDFitter()
    theirs.params_ = pd.Series(ours.params_)
    np.testing.assert_allclose(ours.predict_alive(x, t_x, T),
                               theirs.conditional_probability_alive(x, t_x, T), atol=1e-6)
    np.testing.assert_allclose(ours.predict_purchases(10, x, t_x, T),
                               theirs.conditional_expected_number_of_purchases_up_to_time(10, x, t_x, T),
                               atol=1e-6)


def test_spend_prediction_shrinks_towards_the_population_mean():
    model = GammaGamma()
    model.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    population = model.population_spend()
    one, many = model.predict_spend([1, 50], [100.0, 100.0])
    assert population < one < many < 100.0
    assert model.predict_spend([0], [0.0])[0] == pytest.approx(population)


def test_unfitted_models_say_so():
    with pytest.raises(NotFittedError, match="fit"):
        BetaGeo().predict_alive([1], [1], [2])


@pytest.mark.parametrize("frequency, recency, T, message", [
    ([1, 2], [1, 2, 3], [5, 5, 5], "same length"),
    ([1], [6], [5], "recency greater than T"),
    ([1.5], [1], [5], "non-whole frequency"),
    ([0], [2], [5], "recency > 0 with frequency 0"),
    ([np.nan], [1], [5], "missing values"),
    ([], [], [], "empty"),
])
def test_bad_summaries_are_refused(frequency, recency, T, message):
    with pytest.raises(InputError, match=message):
        BetaGeo().fit(frequency, recency, T)


def test_gamma_gamma_refuses_non_repeat_or_non_positive_spend():
    with pytest.raises(InputError, match="repeat customers with positive spend"):
        GammaGamma().fit([0, 2], [10.0, 5.0])


def test_a_model_that_does_not_converge_warns_with_advice():
    # every customer bought once, on the day of the snapshot: nothing identifies the dropout process
    with pytest.warns(ConvergenceWarning, match="penalizer"):
        model = BetaGeo(max_iter=3).fit([0] * 50 + [1], [0] * 50 + [1], [0.0] * 50 + [1.0])
    assert not model.converged_


def test_value_features_exclude_non_positive_net_spend_with_a_count():
    rng = np.random.default_rng(0)
    n = 300
    x = rng.poisson(2, n)
    T = rng.uniform(100, 300, n)
    t_x = np.where(x > 0, T * rng.uniform(0.2, 1, n), 0.0)
    net = np.where(x > 0, rng.gamma(5, 10, n), 0.0)
    net[:5] = np.where(x[:5] > 0, -1.0, 0.0)
    summary = pd.DataFrame({"customer_id": [str(i) for i in range(n)], "frequency": x, "recency": t_x,
                            "T": T, "monetary_value": np.abs(net), "net_monetary_value": net})
    with pytest.warns(DataQualityWarning, match=f"{int((x[:5] > 0).sum())} repeat customers"):
        out, models, diag = value_features(summary)
    assert diag["status"] == "fitted" and diag["gamma_gamma_excluded"] == int((x[:5] > 0).sum())
    assert (out.loc[(x > 0) & (net <= 0), "expected_spend"] == 0).all()
    assert out["prob_alive"].between(0, 1).all() and (out["clv"] >= 0).all()
    assert models["purchase"].converged_ and models["spend"].converged_


def test_value_features_skip_with_too_few_repeat_customers():
    summary = pd.DataFrame({"customer_id": ["a", "b"], "frequency": [0, 1], "recency": [0.0, 3.0],
                            "T": [10.0, 10.0], "monetary_value": [0.0, 5.0], "net_monetary_value": [0.0, 5.0]})
    with pytest.warns(DataQualityWarning, match="repeat customers"):
        out, models, diag = value_features(summary)
    assert out["clv"].isna().all() and models["purchase"] is None and diag["status"].startswith("skipped")


def test_value_features_fitted_on_a_sample_do_not_depend_on_the_row_order():
    rng = np.random.default_rng(1)
    n = 600
    x = rng.poisson(2, n)
    T = rng.uniform(100, 300, n)
    summary = pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(n)], "frequency": x,
                            "recency": np.where(x > 0, T * rng.uniform(0.2, 1, n), 0.0), "T": T,
                            "monetary_value": np.where(x > 0, rng.gamma(5, 10, n), 0.0)})
    summary["net_monetary_value"] = summary["monetary_value"]
    shuffled = summary.sample(frac=1, random_state=3).reset_index(drop=True)
    out, models, diag = value_features(summary, max_fit_customers=300)
    out_shuffled, models_shuffled, _ = value_features(shuffled, max_fit_customers=300)
    assert diag["fitted_on"] == 300
    assert models_shuffled["purchase"].params_ == models["purchase"].params_
    assert models_shuffled["spend"].params_ == models["spend"].params_
    pd.testing.assert_frame_equal(out_shuffled.sort_values("customer_id", ignore_index=True), out)


def test_a_fit_on_data_the_model_does_not_describe_stays_finite_and_short():
    """Customers who all buy at one Poisson rate and never drop out push BG/NBD's parameters
    towards infinity; the fit must stay within bounds and give up after a bounded effort."""
    from seglab.features.value._base import LOG_BOUND, RESTARTS

    calls = []

    class CountingBetaGeo(BetaGeo):
        def _loglik(self, params, data):
            calls.append(1)
            return super()._loglik(params, data)

    rng = np.random.default_rng(5)
    n, T = 3000, 730.0
    purchase_days = [np.unique(np.floor(rng.uniform(0, T, rng.poisson(4) + 1))) for _ in range(n)]
    frequency = np.array([len(d) - 1 for d in purchase_days])
    recency = np.array([d[-1] - d[0] for d in purchase_days])
    age = np.array([T - d[0] for d in purchase_days])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = CountingBetaGeo().fit(frequency, recency, age)
    params = np.array(list(model.params_.values()))
    assert np.all(np.isfinite(params))
    assert np.all(np.abs(np.log(params)) <= LOG_BOUND + 1e-9)
    assert len(calls) <= (15_000 + 10) * (1 + RESTARTS)  # L-BFGS-B's own cap per search
    if model.converged_:
        assert np.all(np.isfinite(model.predict_alive(frequency, recency, age)))


# --- MBG/NBD ---------------------------------------------------------------------------------

def assert_mbg_agrees_with_lifetimes(x, t_x, T, horizon: float) -> None:
    """Parameters within 0.5 % of lifetimes' own fit; predictions from the same parameters to 1e-6."""
    ours = ModifiedBetaGeo().fit(x, t_x, T)
    theirs = lifetimes.ModifiedBetaGeoFitter().fit(x, t_x, T)
    for name in ("r", "alpha", "a", "b"):
        assert ours.params_[name] == pytest.approx(float(theirs.params_[name]), rel=0.005)
    assert ours.converged_
    theirs.params_ = pd.Series(ours.params_)
    np.testing.assert_allclose(ours.predict_alive(x, t_x, T), theirs.conditional_probability_alive(x, t_x, T),
                               atol=1e-6)
    np.testing.assert_allclose(ours.predict_purchases(horizon, x, t_x, T),
                               theirs.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T),
                               atol=1e-6)
    np.testing.assert_allclose(ours.expected_purchases([horizon / 4, horizon]),
                               theirs.expected_number_of_purchases_up_to_time(np.array([horizon / 4, horizon])),
                               atol=1e-6)


def test_mbg_nbd_agrees_with_lifetimes_on_cdnow(cdnow):
    assert_mbg_agrees_with_lifetimes(cdnow["frequency"], cdnow["recency"], cdnow["T"], 39)


def test_mbg_nbd_log_likelihood_and_alive_by_hand():
    """One customer, r = 1, α = 2, a = 1, b = 2: x = 1, t_x = 1, T = 2 (the formula of the module)."""
    import math

    model = ModifiedBetaGeo()
    params = np.array([1.0, 2.0, 1.0, 2.0])
    from seglab.features.value._base import Grouped

    grouped = Grouped.build(np.array([1.0]), np.array([1.0]), np.array([2.0]), np.ones(1))
    ll, _ = model._loglik(params, grouped)
    beta = math.gamma(1) * math.gamma(4) / math.gamma(5), math.gamma(1) * math.gamma(2) / math.gamma(3)
    by_hand = (math.lgamma(2) - math.lgamma(1) + math.log(2) + math.log(beta[0] / beta[1])
               + math.log(4.0 ** -2 + (1 / 3) * 3.0 ** -2))
    assert ll == pytest.approx(by_hand, rel=1e-12)
    model.params_ = {"r": 1.0, "alpha": 2.0, "a": 1.0, "b": 2.0}
    assert model.predict_alive([1], [1.0], [2.0])[0] == pytest.approx(1 / (1 + (1 / 3) * (4 / 3) ** 2))
    # a one-time buyer: a / b instead of a / (b + x), and t_x = 0
    assert model.predict_alive([0], [0.0], [2.0])[0] == pytest.approx(1 / (1 + 0.5 * (4 / 2) ** 1))


def test_only_bg_nbd_holds_silent_one_time_buyers_alive(cdnow):
    x, t_x, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    one_time = (x == 0).to_numpy()
    assert (BetaGeo().fit(x, t_x, T).predict_alive(x, t_x, T)[one_time] == 1).all()
    for model in (ModifiedBetaGeo(), ParetoNBD()):
        alive = model.fit(x, t_x, T).predict_alive(x, t_x, T)[one_time]
        assert (alive < 1).all() and alive.mean() < 0.9


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo, ParetoNBD])
def test_a_weighted_fit_on_distinct_rows_equals_the_fit_on_customers(cdnow, model):
    rows = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    assert len(rows) < len(cdnow)
    one = model().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    weighted = model().fit(rows["frequency"], rows["recency"], rows["T"], weights=rows["n"])
    for name, value in one.params_.items():
        assert weighted.params_[name] == pytest.approx(value, rel=1e-6)
    assert weighted.n_customers_ == len(cdnow)


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo, ParetoNBD])
def test_the_fit_does_not_depend_on_the_row_order(cdnow, model):
    shuffled = cdnow.sample(frac=1, random_state=7)
    a = model().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    b = model().fit(shuffled["frequency"], shuffled["recency"], shuffled["T"])
    assert a.params_ == b.params_


@pytest.mark.parametrize("model", [BetaGeo, ModifiedBetaGeo, ParetoNBD, GammaGamma])
def test_analytic_gradients_match_finite_differences(cdnow, cdnow_raw_summary, model):
    from scipy import optimize

    from seglab.features.value._base import Grouped

    if model is GammaGamma:
        repeat = cdnow_raw_summary[cdnow_raw_summary["frequency"] > 0]
        x, m = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
        data, params = (x, m, np.ones(len(x))), np.array([6.0, 3.5, 15.0])
    else:
        x, t_x, T = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        data, params = Grouped.build(x, t_x, T, np.ones(len(x))), np.array([0.6, 7.0, 0.8, 3.0])
    instance = model()
    _, analytic = instance._loglik(params, data)
    numeric = optimize.approx_fprime(params, lambda p: instance._loglik(p, data)[0], 1e-7)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-2)


@pytest.mark.slow
def test_mbg_nbd_agrees_with_lifetimes_on_online_retail(shared_data):
    from seglab.collect import collect

    tx = collect("online_retail", "2011Q3").transactions
    s = btyd_summary(tx, as_of="2011-09-30", time_unit="weeks")
    assert_mbg_agrees_with_lifetimes(s["frequency"], s["recency"], s["T"], 13)
