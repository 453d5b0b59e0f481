"""What the buy-till-you-die models share: input checks, compression, the optimizer."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from scipy import optimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from seglab.exceptions import ConvergenceWarning, InputError

_ADVICE = ("try: more customers with repeat purchases, a longer look-back window, time_unit='weeks', "
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


def unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (a, b) pairs and, for each row, the index of its pair.

    Hash-based (pandas factorize), so linear in the number of rows; exact for any values.
    """
    import pandas as pd

    codes_a, values_a = pd.factorize(a)
    codes_b, values_b = pd.factorize(b)
    combined = codes_a.astype(np.int64) * max(len(values_b), 1) + codes_b
    inverse, uniques = pd.factorize(combined)
    return (np.asarray(values_a)[uniques // max(len(values_b), 1)],
            np.asarray(values_b)[uniques % max(len(values_b), 1)], inverse)


def compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Unique rows of the given columns, their counts, and the inverse index.

    Customers with the same (frequency, recency, T) have the same likelihood, so the
    fit evaluates each distinct row once, weighted by how many customers share it.
    """
    stacked = np.column_stack(columns)
    unique, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float), inverse.ravel()


LOG_BOUND = 25.0
"""Fitted parameters are kept between exp(-LOG_BOUND) and exp(LOG_BOUND)."""

POLISH_EVALUATIONS = 1500
"""At most this many likelihood evaluations polish a fit the quasi-Newton step left unfinished."""


def _on_bound(log_params: np.ndarray) -> bool:
    return bool(np.any(np.abs(log_params) > LOG_BOUND - 1e-3))


class BTYDModel(BaseEstimator):
    """Base of the maximum-likelihood models: fit in log-parameter space, then check.

    Subclasses define ``_param_names`` and ``_log_likelihood(params, *data)`` (one
    value per row) and call :meth:`_fit`.
    """

    _param_names: tuple[str, ...] = ()
    _initial: tuple[float, ...] = ()

    def __init__(self, penalizer: float = 0.0, max_iter: int = 2000, tol: float = 1e-12):
        self.penalizer = penalizer
        self.max_iter = max_iter
        self.tol = tol

    def _fit(self, data: list[np.ndarray], weights: np.ndarray, n_customers: int):
        def objective(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            with np.errstate(all="ignore"):
                ll = self._log_likelihood(params, *data)
            if not np.all(np.isfinite(ll)):
                return 1e300
            return -(weights @ ll) / n_customers + self.penalizer * float(params @ params)

        start = np.log(np.asarray(self._initial, dtype=float))
        # parameters between e**-LOG_BOUND and e**LOG_BOUND: data the model does not describe
        # (e.g. nobody ever drops out) push them towards infinity, where the likelihood loses
        # all precision; a fit that ends on a bound is reported as not converged
        bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
        result = optimize.minimize(objective, start, method="L-BFGS-B", bounds=bounds,
                                   options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": 1e-9})
        best, polished_iterations = result, 0
        if not result.success and not _on_bound(result.x):
            # Nelder-Mead carries on where the quasi-Newton step stalls (e.g. on a flat ridge);
            # its evaluations are capped: each one is a pass over the customers
            polished = optimize.minimize(objective, result.x, method="Nelder-Mead", bounds=bounds,
                                         options={"maxiter": self.max_iter * 2, "maxfev": POLISH_EVALUATIONS,
                                                  "xatol": 1e-10, "fatol": 1e-14})
            polished_iterations = polished.nit
            if polished.fun <= result.fun:
                best = polished
        self.params_ = dict(zip(self._param_names, np.exp(best.x).tolist()))
        self.log_likelihood_ = float(-best.fun * n_customers
                                     + self.penalizer * n_customers * float(np.exp(best.x) @ np.exp(best.x)))
        self.n_customers_ = int(n_customers)
        self.n_iter_ = int(result.nit + polished_iterations)
        self.converged_ = bool(np.isfinite(best.fun) and best.fun < 1e299 and best.success
                               and not _on_bound(best.x))
        if not self.converged_:
            warnings.warn(f"{type(self).__name__} did not converge (parameters "
                          f"{ {k: round(v, 4) for k, v in self.params_.items()} }); its predictions "
                          f"are unreliable. {_ADVICE}", ConvergenceWarning, stacklevel=3)
        return self

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

    _log_likelihood: Callable[..., np.ndarray]
