"""Confidence intervals and power for campaign lift and customer feedback.

Every function is vectorized: it takes counts (or sums) as numbers or numpy arrays and
returns arrays of the same shape, so one call covers every campaign × segment cell.
The methods are the ones the literature recommends for small and lopsided groups, where
the textbook Wald interval fails:

- **a rate** (:func:`wilson_interval`): Wilson's score interval (Wilson 1927), as in
  Newcombe (1998b), *Two-sided confidence intervals for the single proportion*, Statistics
  in Medicine 17:857–872;
- **a difference of two rates** (:func:`newcombe_interval`): Newcombe's hybrid score
  interval, method 10 of Newcombe (1998a), *Interval estimation for the difference between
  independent proportions: comparison of eleven methods*, Statistics in Medicine 17:873–890;
- **a ratio of two rates** (:func:`ratio_interval`): MOVER-R with Wilson limits (Donner &
  Zou 2012, *Closed-form confidence intervals for functions of the normal mean and standard
  deviation*, Statistical Methods in Medical Research 21:347–359; Newcombe 2012,
  *Confidence Intervals for Proportions and Related Measures of Effect Size*, ch. 10), so
  relative lift has an interval even when the treated group converted nobody;
- **a difference of two means** (:func:`bucket_bootstrap`): a percentile bootstrap over
  random buckets of customers (below);
- **the Net Promoter Score** (:func:`nps_interval`): the adjusted Wald interval (add 3 to
  the answers and ¾ to promoters and detractors), the best of six methods in Rocks (2016),
  *Interval estimation for the "Net Promoter Score"*, The American Statistician 70:365–372;
- **a mean score** (:func:`mean_interval`): Student's t interval;
- **the minimum detectable effect** (:func:`minimum_detectable_lift`): the smallest lift a
  two-sided test at level α finds with the given power, by inverting the usual sample-size
  formula for two proportions (Fleiss, Levin & Paik 2003, *Statistical Methods for Rates and
  Proportions*, eq. 4.14, without continuity correction).

**The bucket bootstrap.** Revenue per customer is mostly zeros and a few large
purchases, so its difference between treated and control customers gets a bootstrap
interval rather than a normal one. Resampling millions of customers thousands of times is
too slow, so the engine first adds up each group's customers in :data:`BUCKETS` random
buckets (a hash of the customer id decides the bucket), and the bootstrap resamples
buckets: every replicate is one matrix product of multinomial bucket weights with the
bucket sums, for all cells at once. Buckets of randomly assigned customers are independent
and identically distributed, so resampling them estimates the sampling distribution of the
mean as resampling customers does (the batch bootstrap experimentation platforms use); in
a small group, where most buckets hold one customer or none, it is the Poisson bootstrap
(each customer drawn a Poisson(1) number of times; Hanley & MacGibbon 2006). The tests
check it against :func:`scipy.stats.bootstrap`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "BUCKETS",
    "z_value",
    "wilson_interval",
    "newcombe_interval",
    "ratio_interval",
    "nps_interval",
    "nps_difference_interval",
    "mean_interval",
    "minimum_detectable_lift",
    "planning_rate",
    "bucket_bootstrap",
]

BUCKETS = 256
"""Buckets the customers of a group are hashed into for :func:`bucket_bootstrap`."""


def z_value(confidence: float = 0.95) -> float:
    """The two-sided normal quantile for ``confidence`` (1.96 for 95 %)."""
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def _arrays(*values):
    return [np.asarray(v, dtype="float64") for v in values]


def wilson_interval(successes, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's score interval for ``successes`` out of ``n``; NaN where ``n`` is 0.

    >>> low, high = wilson_interval(81, 263)          # Newcombe (1998b), table I
    >>> round(float(low), 4), round(float(high), 4)
    (0.2553, 0.3662)
    """
    k, n = _arrays(successes, n)
    z = z_value(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        centre = (k + z * z / 2) / (n + z * z)
        half = z * np.sqrt(n * p * (1 - p) + z * z / 4) / (n + z * z)
        low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    empty = n <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def newcombe_interval(successes_1, n_1, successes_2, n_2,
                      confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for the difference of two rates, ``p1 − p2``.

    >>> low, high = newcombe_interval(56, 70, 48, 80)   # Newcombe (1998a), table II (a)
    >>> round(float(low), 4), round(float(high), 4)
    (0.0524, 0.3339)
    """
    k1, n1, k2, n2 = _arrays(successes_1, n_1, successes_2, n_2)
    l1, u1 = wilson_interval(k1, n1, confidence)
    l2, u2 = wilson_interval(k2, n2, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high


def ratio_interval(successes_1, n_1, successes_2, n_2,
                   confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """MOVER-R interval for the ratio of two rates, ``p1 / p2`` (relative lift is ratio − 1).

    NaN where ``p2`` is 0 (no ratio); the upper limit is infinite when the second group's
    Wilson interval reaches 0.

    >>> low, high = ratio_interval(60, 200, 40, 200)
    >>> round(float(low), 3), round(float(high), 3)
    (1.062, 2.123)
    """
    k1, n1, k2, n2 = _arrays(successes_1, n_1, successes_2, n_2)
    l1, u1 = wilson_interval(k1, n1, confidence)
    l2, u2 = wilson_interval(k2, n2, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1 / n1, k2 / n2
        pp = p1 * p2
        low = (pp - np.sqrt(np.maximum(pp * pp - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2), 0))) \
            / (u2 * (2 * p2 - u2))
        high = (pp + np.sqrt(np.maximum(pp * pp - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2), 0))) \
            / (l2 * (2 * p2 - l2))
    high = np.where(l2 <= 0, np.inf, high)
    none = ~(p2 > 0)
    return np.where(none, np.nan, np.maximum(low, 0)), np.where(none, np.nan, high)


def nps_interval(promoters, detractors, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The adjusted Wald interval for the Net Promoter Score, on the −1 … 1 scale.

    Three answers are added, ¾ of them promoters and ¾ detractors (Rocks 2016); the
    variance is that of a difference of two proportions of one sample,
    ``(p_P + p_D − (p_P − p_D)²) / n``. Multiply by 100 for the usual −100 … 100.

    >>> low, high = nps_interval(30, 10, 60)
    >>> round(float(low), 3), round(float(high), 3)
    (0.133, 0.502)
    """
    adjusted, variance = _nps_adjusted(promoters, detractors, n)
    half = z_value(confidence) * np.sqrt(variance)
    empty = np.asarray(n, dtype="float64") <= 0
    return (np.where(empty, np.nan, np.clip(adjusted - half, -1, 1)),
            np.where(empty, np.nan, np.clip(adjusted + half, -1, 1)))


def _nps_adjusted(promoters, detractors, n):
    p, d, n = _arrays(promoters, detractors, n)
    m = n + 3
    pp, pd_ = (p + 0.75) / m, (d + 0.75) / m
    adjusted = pp - pd_
    return adjusted, (pp + pd_ - adjusted ** 2) / m


def nps_difference_interval(promoters_1, detractors_1, n_1, promoters_2, detractors_2, n_2,
                            confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted Wald interval for the change in NPS between two independent samples
    (``NPS₁ − NPS₂``, −2 … 2)."""
    a1, v1 = _nps_adjusted(promoters_1, detractors_1, n_1)
    a2, v2 = _nps_adjusted(promoters_2, detractors_2, n_2)
    half = z_value(confidence) * np.sqrt(v1 + v2)
    empty = (np.asarray(n_1, dtype="float64") <= 0) | (np.asarray(n_2, dtype="float64") <= 0)
    return np.where(empty, np.nan, a1 - a2 - half), np.where(empty, np.nan, a1 - a2 + half)


def mean_interval(n, total, total_squares, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Student's t interval for a mean, from the count, the sum and the sum of squares
    (what an engine aggregation returns); NaN below two values."""
    n, s, ss = _arrays(n, total, total_squares)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s / n
        variance = np.maximum(ss - n * mean * mean, 0) / (n - 1)
        half = stats.t.ppf(1 - (1 - confidence) / 2, np.maximum(n - 1, 1)) * np.sqrt(variance / n)
    few = n < 2
    return np.where(few, np.nan, mean - half), np.where(few, np.nan, mean + half)


def minimum_detectable_lift(rate, n_treated, n_control, *, alpha: float = 0.05,
                            power: float = 0.8) -> np.ndarray:
    """The smallest change of a rate a two-sided test at level ``alpha`` finds with ``power``.

    Solves ``δ = (z₁₋α/₂ + z_power) · √(p(1−p)/n_control + q(1−q)/n_treated)`` for δ, with
    ``q = p + δ`` (a rise) and ``q = p − δ`` (a fall), and returns the larger: the change
    the test finds in either direction. ``p`` is the control group's rate; pass a
    shrunken one (:func:`planning_rate`) so that a small group in which everyone or no one
    converted does not look precise. NaN where a group is empty.

    >>> round(float(minimum_detectable_lift(0.10, 683, 683)), 3)  # 10 % → 15 % needs 683 a group
    0.05
    """
    p, nt, nc = _arrays(rate, n_treated, n_control)
    k = z_value(1 - alpha) + float(stats.norm.ppf(power))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.clip(p, 1e-9, 1 - 1e-9)
        found = []
        for sign in (1, -1):
            delta = k * np.sqrt(p * (1 - p) * (1 / nc + 1 / nt))
            for _ in range(50):  # a contraction: converges in a few steps
                q = np.clip(p + sign * delta, 0, 1)
                delta = k * np.sqrt(p * (1 - p) / nc + q * (1 - q) / nt)
            found.append(delta)
        delta = np.maximum(*found)
    return np.where((nt > 0) & (nc > 0), delta, np.nan)


def planning_rate(successes, n) -> np.ndarray:
    """A rate for power calculations: ``(successes + 2) / (n + 4)`` (Agresti & Coull 1998), so
    that 8 conversions out of 8 plan as 83 %, not as a certain 100 %."""
    k, n = _arrays(successes, n)
    return (k + 2) / (n + 4)


def bucket_bootstrap(treated_sums, treated_counts, control_sums, control_counts, *,
                     n_resamples: int = 2000, confidence: float = 0.95,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Percentile bootstrap intervals for the difference (and ratio) of two means, per cell.

    Parameters
    ----------
    treated_sums, treated_counts, control_sums, control_counts
        Arrays of shape (buckets, cells): each group's sum of the value and its number of
        customers in every bucket of every cell (see the module docstring).
    n_resamples
        Bootstrap replicates.
    confidence
        Two-sided confidence of the percentile intervals.
    seed
        Seed of the resampling: the same inputs and seed give the same intervals.

    Returns
    -------
    dict
        ``difference_low``, ``difference_high`` (mean of treated minus mean of control) and
        ``ratio_low``, ``ratio_high`` (mean of treated over mean of control), one value per
        cell; NaN for a cell whose groups hold fewer than two customers.
    """
    ts, tc, cs, cc = _arrays(treated_sums, treated_counts, control_sums, control_counts)
    if ts.ndim == 1:
        ts, tc, cs, cc = (a[:, None] for a in (ts, tc, cs, cc))
    buckets = ts.shape[0]
    rng = np.random.default_rng(seed)
    uniform = np.full(buckets, 1 / buckets)
    w_treated = rng.multinomial(buckets, uniform, size=n_resamples).astype("float64")
    w_control = rng.multinomial(buckets, uniform, size=n_resamples).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_t = (w_treated @ ts) / (w_treated @ tc)
        mean_c = (w_control @ cs) / (w_control @ cc)
        difference = mean_t - mean_c
        ratio = np.where(mean_c > 0, mean_t / mean_c, np.nan)
    tail = (1 - confidence) / 2 * 100
    out = {}
    for name, values in (("difference", difference), ("ratio", ratio)):
        finite = np.isfinite(values)
        enough = finite.mean(axis=0) >= 0.5  # a replicate without customers has no mean
        with np.errstate(invalid="ignore"):
            low, high = np.nanpercentile(np.where(finite, values, np.nan)[:, enough], [tail, 100 - tail],
                                         axis=0) if enough.any() else (np.empty(0), np.empty(0))
        out[f"{name}_low"] = np.full(ts.shape[1], np.nan)
        out[f"{name}_high"] = np.full(ts.shape[1], np.nan)
        out[f"{name}_low"][enough], out[f"{name}_high"][enough] = low, high
    few = (tc.sum(axis=0) < 2) | (cc.sum(axis=0) < 2)
    for key in out:
        out[key][few] = np.nan
    return out
