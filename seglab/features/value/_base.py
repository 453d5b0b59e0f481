"""What the buy-till-you-die models share: input checks, grouping, the optimizer.

Speed comes from the structure of the likelihoods. Every term of BG/NBD, MBG/NBD and
Pareto/NBD depends on the frequency ``x`` alone, on ``(x, T)`` or on ``(x, t_x)``; only
a cheap final combination needs the whole triple. So a fit groups customers once into
distinct triples (weighted by how many customers share each) and evaluates the costly
terms (logarithms, digammas, hypergeometric functions) on the distinct ``x`` values and
the distinct ``(x, y)`` pairs, a few thousand even for millions of customers. Gradients
are exact (analytic) and are gathered back onto those levels with weighted counts, so
one evaluation of the likelihood and its gradient costs a few passes over the distinct
triples.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from seglab.exceptions import ConvergenceWarning, InputError

_ADVICE = ("try: more customers with repeat purchases, a longer history, time_unit='weeks', "
           "or a small penalizer (e.g. penalizer=0.001)")


def as_array(values, name: str) -> np.ndarray:
    """A 1-D float array; a clear error for anything else."""
    try:
        out = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numbers; got {type(values).__name__}") from None
    return out


def check_rfm(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a BTYD summary: equal lengths, no missing values, 0 ≤ recency ≤ T, whole frequencies."""
    x, t_x, T = as_array(frequency, "frequency"), as_array(recency, "recency"), as_array(T, "T")
    if not len(x) == len(t_x) == len(T):
        raise InputError(f"frequency, recency and T must have the same length; got {len(x)}, "
                         f"{len(t_x)}, {len(T)}")
    if len(x) == 0:
        raise InputError("no customers to fit: frequency, recency and T are empty")
    problems = {
        "missing values": ~np.isfinite(x) | ~np.isfinite(t_x) | ~np.isfinite(T),
        "negative values": (x < 0) | (t_x < 0) | (T < 0),
        "recency greater than T": t_x > T + 1e-9,
        "non-whole frequency": np.abs(x - np.round(x)) > 1e-9,
        "recency > 0 with frequency 0": (x == 0) & (t_x > 0),
    }
    for what, mask in problems.items():
        if mask.any():
            raise InputError(f"{int(mask.sum()):,} customers have {what} in the BTYD summary "
                             f"(first at position {int(np.flatnonzero(mask)[0])}); use "
                             "seglab.features.btyd_summary to build it from transactions")
    return x, t_x, T


def check_weights(weights, n: int) -> np.ndarray:
    """Customer counts per row: positive whole numbers (default: one customer per row)."""
    if weights is None:
        return np.ones(n)
    w = as_array(weights, "weights")
    if len(w) != n:
        raise InputError(f"weights must have one value per row ({n:,}); got {len(w):,}")
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise InputError("weights must be positive numbers of customers (rows with 0 customers: "
                         "leave them out)")
    return w


def unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (a, b) pairs (sorted) and, for each row, the index of its pair."""
    codes_a, values_a = pd.factorize(a, sort=True)
    codes_b, values_b = pd.factorize(b, sort=True)
    nb = max(len(values_b), 1)
    key = codes_a.astype(np.int64) * nb + codes_b
    inverse, uniques = pd.factorize(key, sort=True)
    return np.asarray(values_a)[uniques // nb], np.asarray(values_b)[uniques % nb], inverse


@dataclass(frozen=True)
class Grouped:
    """Customers grouped for the likelihood of a purchase model.

    ``x`` holds the distinct frequencies and ``pair_x``/``pair_y`` the distinct
    (frequency, time) pairs, where the time is a recency or an age. Each distinct
    triple (``weight`` customers) points at its frequency (``ix``), its (x, t_x) pair
    (``itx``) and its (x, T) pair (``iT``); ``row`` gives each input row's triple.
    Everything is sorted, so sums do not depend on the order of the customers.
    """

    x: np.ndarray
    pair_x: np.ndarray
    pair_y: np.ndarray
    ix: np.ndarray
    itx: np.ndarray
    iT: np.ndarray
    weight: np.ndarray
    x_weight: np.ndarray
    n_customers: float
    row: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray) -> Grouped:
        n = len(x)
        cx, ux = pd.factorize(x, sort=True)
        cy, uy = pd.factorize(np.concatenate([t_x, T]), sort=True)
        ny = max(len(uy), 1)
        ctx, cT = cy[:n].astype(np.int64), cy[n:].astype(np.int64)
        key = (cx.astype(np.int64) * ny + ctx) * ny + cT
        inverse, keys = pd.factorize(key, sort=True)
        weight = np.bincount(inverse, weights=weights, minlength=len(keys))
        tx_code, T_code, x_code = (keys // ny) % ny, keys % ny, keys // (ny * ny)
        pair_keys = np.concatenate([x_code * ny + tx_code, x_code * ny + T_code])
        pair_inverse, pairs = pd.factorize(pair_keys, sort=True)
        m = len(keys)
        ix = x_code.astype(np.intp)
        return cls(x=np.asarray(ux, dtype=float), pair_x=np.asarray(ux, dtype=float)[pairs // ny],
                   pair_y=np.asarray(uy, dtype=float)[pairs % ny], ix=ix,
                   itx=pair_inverse[:m].astype(np.intp), iT=pair_inverse[m:].astype(np.intp),
                   weight=weight, x_weight=np.bincount(ix, weights=weight, minlength=len(ux)),
                   n_customers=float(np.sum(weights)), row=inverse.astype(np.intp))

    @property
    def mean_T(self) -> float:
        """The customers' mean age T."""
        return dot(self.weight, self.pair_y[self.iT]) / self.n_customers

    def thin(self, fraction: float, seed: int = 0) -> Grouped:
        """A smaller, unbiased stand-in: each distinct triple kept with probability
        min(1, ``fraction`` × its customers), its weight divided by that probability.
        Seeded and drawn over the sorted triples: the same data give the same draw."""
        keep_p = np.minimum(1.0, fraction * self.weight)
        kept = np.random.default_rng(seed).random(len(self.weight)) < keep_p
        return Grouped.build(self.x[self.ix[kept]], self.pair_y[self.itx[kept]],
                             self.pair_y[self.iT[kept]], self.weight[kept] / keep_p[kept])

    def at_pairs(self, values: np.ndarray, over: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (one per triple) over each pair of index ``over``."""
        return np.bincount(over, weights=values, minlength=len(self.pair_x))

    def at_x(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` (one per triple) over each distinct frequency."""
        return np.bincount(self.ix, weights=values, minlength=len(self.x))


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two vectors, in one thread and in a fixed order (BLAS's ``@`` may use
    threads, whose start-up dominates at these sizes, and may change the rounding with them)."""
    return float(np.einsum("i,i->", a, b))


def log_add_exp(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(e^a + e^b) and the share e^a / (e^a + e^b); ``b`` may be -inf.

    Twice as fast as ``np.logaddexp`` and gives the share (the derivative) on the way.
    """
    high = np.maximum(a, b)
    with np.errstate(invalid="ignore"):
        gap = np.exp(-np.abs(a - b))
    gap = np.where(np.isnan(gap), 0.0, gap)  # a - b = inf - inf cannot occur (a is finite)
    total = high + np.log1p(gap)
    share = np.where(a >= b, 1.0, gap) / (1.0 + gap)
    return total, share


LOG_BOUND = 25.0
"""Fitted parameters are kept between exp(-LOG_BOUND) and exp(LOG_BOUND)."""

WARM_START_CUSTOMERS = 200_000
"""Above this many customers a fit starts from a fit on a thinned sample of about a quarter of
this many: the full fit then needs a few steps only."""

GRADIENT_TOLERANCE = 1e-4
"""A fit is converged when the largest gradient component of the log-likelihood per customer,
in log parameters, is below this (besides the optimizer's own criteria)."""

RESTARTS = 3
"""The quasi-Newton search is restarted (with a fresh curvature estimate) at most this many
times when it stops short of a small gradient, e.g. after a step into a region where the
likelihood overflows."""


def _on_bound(log_params: np.ndarray) -> bool:
    return bool(np.any(np.abs(log_params) > LOG_BOUND - 1e-3))


class BTYDModel(BaseEstimator):
    """Base of the maximum-likelihood models: fit in log-parameter space, then check.

    Subclasses define ``_param_names``, ``_initial`` and ``_loglik(params, data)``,
    which returns the weighted log-likelihood and its gradient with respect to the
    parameters, and call :meth:`_fit`.
    """

    _param_names: tuple[str, ...] = ()
    _initial: tuple[float, ...] = ()
    _scale_params: tuple[str, ...] = ()

    def __init__(self, penalizer: float = 0.0, max_iter: int = 2000, tol: float = 1e-12):
        self.penalizer = penalizer
        self.max_iter = max_iter
        self.tol = tol

    def _loglik(self, params: np.ndarray, data) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def _objective(self, log_params: np.ndarray, data, n: float) -> tuple[float, np.ndarray]:
        """Penalized negative log-likelihood per customer and its gradient in log parameters."""
        params = np.exp(log_params)
        with np.errstate(all="ignore"):
            ll, grad = self._loglik(params, data)
        if not (np.isfinite(ll) and np.all(np.isfinite(grad))):
            return 1e300, np.zeros_like(log_params)
        value = -ll / n + self.penalizer * float(params @ params)
        return value, -grad * params / n + 2 * self.penalizer * params * params

    def _minimize(self, start, data, n, *, ftol, gtol):
        bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
        return optimize.minimize(self._objective, start, args=(data, n), jac=True, method="L-BFGS-B",
                                 bounds=bounds, options={"maxiter": self.max_iter, "ftol": ftol, "gtol": gtol})

    def _start(self, data) -> np.ndarray:
        """Where the search starts: ``_initial``, with time-scale parameters (``_scale_params``)
        at the customers' mean age, so that the search does not depend on the time unit."""
        start = np.asarray(self._initial, dtype=float)
        scale = getattr(data, "mean_T", 0.0)
        if scale > 0:
            start = np.where([p in self._scale_params for p in self._param_names], scale, start)
        return np.log(start)

    def _search(self, start, data, n, *, ftol, gtol):
        """L-BFGS-B from ``start``, restarted while it stops short of a small gradient."""
        best = self._minimize(start, data, n, ftol=ftol, gtol=gtol)
        iterations = best.nit
        for _ in range(RESTARTS):
            if self._gradient_small(best.x, data, n) or _on_bound(best.x):
                break
            again = self._minimize(best.x, data, n, ftol=ftol, gtol=gtol)
            iterations += again.nit
            if not again.fun < best.fun:
                break
            best = again
        return best, iterations

    def _fit(self, data, n_customers: float):
        # L-BFGS-B's own linear algebra is on 4-vectors: BLAS threads only cost their wake-ups
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit_in_one_thread(data, n_customers)

    def _fit_in_one_thread(self, data, n_customers: float):
        start = self._start(data)
        if hasattr(data, "thin") and n_customers > WARM_START_CUSTOMERS:
            sample = data.thin(WARM_START_CUSTOMERS / 4 / n_customers)
            warm, _ = self._search(start, sample, sample.n_customers, ftol=1e-10, gtol=1e-7)
            if warm.fun < 1e299 and not _on_bound(warm.x):
                start = warm.x
        # parameters between e**-LOG_BOUND and e**LOG_BOUND: data the model does not describe
        # (e.g. nobody ever drops out) push them towards infinity, where the likelihood loses
        # all precision; a fit that ends on a bound is reported as not converged
        best, iterations = self._search(start, data, n_customers, ftol=self.tol, gtol=1e-9)
        params = np.exp(best.x)
        self.params_ = dict(zip(self._param_names, params.tolist()))
        self.log_likelihood_ = float(-(best.fun - self.penalizer * float(params @ params)) * n_customers)
        self.n_customers_ = int(round(n_customers))
        self.n_iter_ = int(iterations)
        self.converged_ = bool(best.fun < 1e299 and not _on_bound(best.x)
                               and self._gradient_small(best.x, data, n_customers))
        if not self.converged_:
            warnings.warn(f"{type(self).__name__} did not converge (parameters "
                          f"{ {k: round(v, 4) for k, v in self.params_.items()} }); its predictions "
                          f"are unreliable. {_ADVICE}", ConvergenceWarning, stacklevel=5)
        return self

    def _gradient_small(self, log_params, data, n) -> bool:
        value, grad = self._objective(log_params, data, n)
        if value >= 1e299:
            return False
        # a penalized fit is judged on the penalized objective: its gradient is what vanishes
        return bool(np.max(np.abs(grad)) < GRADIENT_TOLERANCE)

    @property
    def aic_(self) -> float:
        """Akaike's information criterion of the fit (lower is better)."""
        self._check_fitted()
        return 2 * len(self._param_names) - 2 * self.log_likelihood_

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(...) first")

    def _params(self) -> list[float]:
        self._check_fitted()
        return [self.params_[k] for k in self._param_names]

    def summary(self) -> dict:
        """Parameters, log-likelihood, AIC, customers and convergence, as a plain dict."""
        self._check_fitted()
        return {"model": type(self).__name__, **{k: float(v) for k, v in self.params_.items()},
                "log_likelihood": self.log_likelihood_, "aic": self.aic_,
                "n_customers": self.n_customers_, "converged": self.converged_}


class PurchaseModel(BTYDModel):
    """A model of purchases and dropout, fitted on a BTYD summary (frequency, recency, T).

    Subclasses provide ``_loglik(params, grouped)``, ``predict_alive`` and
    ``predict_purchases``.
    """

    label = ""
    """The model's name in reports (e.g. ``"BG/NBD"``)."""

    def fit(self, frequency, recency, T, weights=None):
        """Fit to a BTYD summary (see :func:`seglab.features.btyd_summary`).

        ``weights`` (optional) counts the customers each row stands for, for a summary
        already condensed to distinct (frequency, recency, T) rows.
        """
        x, t_x, T = check_rfm(frequency, recency, T)
        w = check_weights(weights, len(x))
        grouped = Grouped.build(x, t_x, T, w)
        return self._fit(grouped, grouped.n_customers)

    def predict_alive(self, frequency, recency, T) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_purchases(self, t: float, frequency, recency, T) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def predict_purchase_curve(self, times, frequency, recency, T) -> np.ndarray:
        """Expected purchases of each customer in the next ``t`` time units, for each of
        ``times``: an array of shape (len(times), customers)."""
        return np.array([self.predict_purchases(t, frequency, recency, T) for t in as_array(times, "times")])
