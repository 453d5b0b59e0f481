"""Confidence intervals and power: published worked examples, scipy, and coverage by simulation."""

import numpy as np
import pytest
from scipy import stats

from seglab.measure.intervals import (bucket_bootstrap, mean_interval, minimum_detectable_lift, newcombe_interval,
                                      nps_difference_interval, nps_interval, planning_rate, ratio_interval,
                                      wilson_interval, z_value)


@pytest.mark.parametrize("k, n, low, high", [  # Newcombe (1998b), Statistics in Medicine 17:857, table I
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718),
    (29, 29, 0.8830, 1.0)])
def test_wilson_interval_matches_newcombes_worked_examples(k, n, low, high):
    got = wilson_interval(k, n)
    assert got[0] == pytest.approx(low, abs=5e-5) and got[1] == pytest.approx(high, abs=5e-5)


def test_wilson_interval_matches_scipy_on_a_grid():
    ks, ns = np.meshgrid(np.arange(0, 60, 7), [1, 7, 60, 500, 12_345])
    ks = np.minimum(ks, ns)
    low, high = wilson_interval(ks.ravel(), ns.ravel(), confidence=0.9)
    for k, n, lo, hi in zip(ks.ravel(), ns.ravel(), low, high):
        ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=0.9, method="wilson")
        assert (lo, hi) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_wilson_interval_of_an_empty_group_is_missing():
    low, high = wilson_interval([0, 3], [0, 10])
    assert np.isnan(low[0]) and np.isnan(high[0]) and 0 < low[1] < high[1] < 1


@pytest.mark.parametrize("counts, low, high", [  # Newcombe (1998a), Statistics in Medicine 17:873, table II, method 10
    ((56, 70, 48, 80), 0.0524, 0.3339), ((9, 10, 3, 10), 0.1705, 0.8090), ((5, 56, 0, 29), -0.0381, 0.1926),
    ((0, 10, 0, 20), -0.1611, 0.2775), ((0, 10, 0, 10), -0.2775, 0.2775), ((10, 10, 0, 20), 0.6791, 1.0),
    ((10, 10, 0, 10), 0.6075, 1.0)])
def test_newcombe_interval_matches_the_published_examples(counts, low, high):
    got = newcombe_interval(*counts)
    assert got[0] == pytest.approx(low, abs=5e-5) and got[1] == pytest.approx(high, abs=5e-5)


def test_newcombe_interval_covers_the_true_difference_95_percent_of_the_time():
    rng = np.random.default_rng(4)
    p1, p2, n1, n2 = 0.18, 0.12, 300, 90
    k1, k2 = rng.binomial(n1, p1, 20_000), rng.binomial(n2, p2, 20_000)
    low, high = newcombe_interval(k1, n1, k2, n2)
    coverage = np.mean((low <= p1 - p2) & (p1 - p2 <= high))
    assert 0.94 <= coverage <= 0.965  # Newcombe's method 10 is close to nominal


def test_ratio_interval_agrees_with_scipys_relative_risk_on_large_groups():
    for k1, n1, k2, n2 in ((600, 2000, 400, 2000), (900, 10_000, 450, 5_000), (130, 1000, 100, 1000)):
        ci = stats.contingency.relative_risk(k1, n1, k2, n2).confidence_interval(0.95)
        low, high = ratio_interval(k1, n1, k2, n2)
        assert float(low) == pytest.approx(ci.low, rel=0.01) and float(high) == pytest.approx(ci.high, rel=0.01)
        assert low < (k1 / n1) / (k2 / n2) < high


def test_ratio_interval_handles_zero_conversions():
    low, high = ratio_interval([0, 5, 5], [50, 50, 50], [5, 0, 5], [50, 50, 0])
    assert low[0] == 0 and 0 < high[0] < 1  # no treated conversion: the ratio lies below 1, from 0
    assert np.isnan(low[1]) and np.isnan(high[1])  # no control conversion: no ratio
    assert np.isnan(low[2])  # an empty control group


def test_nps_interval_is_the_adjusted_wald_interval():
    # by hand: 60 answers, 30 promoters, 10 detractors; add 3 answers, 3/4 to each end
    n, p, d = 63, 30.75 / 63, 10.75 / 63
    centre, half = p - d, 1.959964 * np.sqrt((p + d - (p - d) ** 2) / n)
    low, high = nps_interval(30, 10, 60)
    assert (float(low), float(high)) == pytest.approx((centre - half, centre + half), abs=1e-6)
    assert nps_interval(0, 0, 0)[0] != nps_interval(0, 0, 0)[0]  # NaN: no answers


def test_nps_interval_coverage_by_simulation():
    rng = np.random.default_rng(7)
    shares, n = (0.45, 0.35, 0.20), 80
    draws = rng.multinomial(n, shares, 20_000)
    low, high = nps_interval(draws[:, 0], draws[:, 2], n)
    truth = shares[0] - shares[2]
    assert 0.935 <= np.mean((low <= truth) & (truth <= high)) <= 0.965
    low, high = nps_difference_interval(draws[:10_000, 0], draws[:10_000, 2], n, draws[10_000:, 0],
                                        draws[10_000:, 2], n)
    assert 0.935 <= np.mean((low <= 0) & (0 <= high)) <= 0.97


def test_mean_interval_matches_scipys_t_interval():
    rng = np.random.default_rng(1)
    for size in (2, 5, 40, 1000):
        x = rng.integers(1, 8, size) + np.arange(size) * 0.01  # never all equal
        ci = stats.ttest_1samp(x, 0).confidence_interval(0.95)
        low, high = mean_interval(size, x.sum(), (x * x).sum())
        assert (float(low), float(high)) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert np.isnan(mean_interval(1, 3.0, 9.0)[0])


def test_minimum_detectable_lift_inverts_the_sample_size_formula():
    # Fleiss, Levin & Paik eq. 4.14 without correction: 10 % vs 15 %, 80 % power, 5 % level → 683 a group
    n = (z_value(0.95) + stats.norm.ppf(0.8)) ** 2 * (0.1 * 0.9 + 0.15 * 0.85) / 0.05 ** 2
    assert round(n) == 683
    assert float(minimum_detectable_lift(0.10, n, n)) == pytest.approx(0.05, abs=1e-6)
    # at that lift, a two-sided test at 5 % has 80 % power (normal approximation)
    mde = float(minimum_detectable_lift(0.3, 400, 100))
    se = np.sqrt(0.3 * 0.7 / 100 + (0.3 + mde) * (0.7 - mde) / 400)
    assert stats.norm.cdf(mde / se - z_value(0.95)) == pytest.approx(0.8, abs=1e-6)
    # smaller groups detect only larger effects; an empty group detects nothing
    assert minimum_detectable_lift(0.3, 40, 10) > minimum_detectable_lift(0.3, 400, 100)
    assert np.isnan(minimum_detectable_lift(0.3, 40, 0))


def test_planning_rate_keeps_an_all_converted_group_from_looking_certain():
    assert float(planning_rate(8, 8)) == pytest.approx(10 / 12)
    assert float(minimum_detectable_lift(planning_rate(8, 8), 38, 8)) > 0.25


def _scipy_bootstrap(treated, control, seed):
    return stats.bootstrap((treated, control), lambda a, b, axis=-1: a.mean(axis=axis) - b.mean(axis=axis),
                           method="percentile", n_resamples=4000, random_state=seed, vectorized=True)


@pytest.mark.parametrize("n_treated, n_control", [(3000, 800), (60, 25)])
def test_bucket_bootstrap_agrees_with_scipys_bootstrap(n_treated, n_control):
    rng = np.random.default_rng(3)
    # revenue per customer: mostly nothing, a few large purchases
    treated = np.where(rng.random(n_treated) < 0.3, rng.gamma(2, 60, n_treated), 0.0)
    control = np.where(rng.random(n_control) < 0.2, rng.gamma(2, 60, n_control), 0.0)

    def buckets(values):
        where = rng.integers(0, 256, len(values))
        return (np.bincount(where, weights=values, minlength=256), np.bincount(where, minlength=256).astype(float))

    (ts, tc), (cs, cc) = buckets(treated), buckets(control)
    ours = bucket_bootstrap(ts, tc, cs, cc, n_resamples=4000, seed=1)
    theirs = _scipy_bootstrap(treated, control, 2).confidence_interval
    width = theirs.high - theirs.low
    assert ours["difference_low"][0] == pytest.approx(theirs.low, abs=0.1 * width)
    assert ours["difference_high"][0] == pytest.approx(theirs.high, abs=0.1 * width)
    assert ours["difference_low"][0] < treated.mean() - control.mean() < ours["difference_high"][0]


def test_bucket_bootstrap_is_seeded_and_needs_two_customers_a_group():
    sums = np.array([[10.0, 5.0], [0.0, 1.0], [3.0, 0.0]])
    counts = np.array([[2.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    a = bucket_bootstrap(sums, counts, sums, counts, seed=5)
    b = bucket_bootstrap(sums, counts, sums, counts, seed=5)
    assert np.array_equal(a["difference_low"], b["difference_low"], equal_nan=True)
    assert not np.isnan(a["difference_low"][0]) and np.isnan(a["difference_low"][1])  # one customer: no interval
