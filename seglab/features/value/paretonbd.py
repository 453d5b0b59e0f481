"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; Fader, Hardie & Lee 2005 note).

While alive, purchases are Poisson with rate λ ~ Gamma(r, α); lifetimes are
exponential with rate μ ~ Gamma(s, β). On CDNOW the published estimates are
r = 0.553, α = 10.578, s = 0.606, β = 11.669 (log-likelihood −9595.0); a test
reproduces them. Its likelihood needs the Gaussian hypergeometric function, which
is evaluated in log space here.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, hyp2f1

from seglab.features.value._base import BTYDModel, check_rfm, compress

__all__ = ["ParetoNBD"]


def _log_a0(r, alpha, s, beta, x, t_x, T) -> np.ndarray:
    """log of A0 in Fader & Hardie's note (the part for dying between t_x and T)."""
    if alpha >= beta:
        big, second = alpha, s + 1
    else:
        big, second = beta, r + x
    z_tx = abs(alpha - beta) / (big + t_x)
    z_T = abs(alpha - beta) / (big + T)
    first = np.log(hyp2f1(r + s + x, second, r + s + x + 1, z_tx)) - (r + s + x) * np.log(big + t_x)
    last = np.log(hyp2f1(r + s + x, second, r + s + x + 1, z_T)) - (r + s + x) * np.log(big + T)
    # A0 = exp(first) - exp(last) with first ≥ last; log1p(-exp(·)) keeps precision
    with np.errstate(divide="ignore"):
        return first + np.log1p(-np.exp(np.minimum(last - first, 0.0)))


class ParetoNBD(BTYDModel):
    """Pareto/NBD purchase and lifetime model, fitted by maximum likelihood.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``s``, ``beta``.
    """

    _param_names = ("r", "alpha", "s", "beta")
    _initial = (1.0, 1.0, 1.0, 1.0)

    def fit(self, frequency, recency, T) -> ParetoNBD:
        """Fit to a BTYD summary (see :func:`seglab.features.btyd_summary`)."""
        x, t_x, T = check_rfm(frequency, recency, T)
        data, weights, _ = compress(x, t_x, T)
        return self._fit(data, weights, len(x))

    @staticmethod
    def _log_likelihood(params, x, t_x, T) -> np.ndarray:
        r, alpha, s, beta = params
        base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        died = np.log(s) - np.log(r + s + x) + _log_a0(r, alpha, s, beta, x, t_x, T)
        return base + np.logaddexp(alive, died)

    def predict_alive(self, frequency, recency, T) -> np.ndarray:
        """Probability that each customer is still alive at the end of their ``T``."""
        r, alpha, s, beta = self._params()
        x, t_x, T = check_rfm(frequency, recency, T)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_odds = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T)
                        + s * np.log(beta + T) + _log_a0(r, alpha, s, beta, x, t_x, T))
            return 1.0 / (1.0 + np.exp(log_odds))

    def predict_purchases(self, t: float, frequency, recency, T) -> np.ndarray:
        """Expected number of purchases of each customer in the next ``t`` time units."""
        r, alpha, s, beta = self._params()
        x, t_x, T = check_rfm(frequency, recency, T)
        t = float(t)
        if t <= 0:
            return np.zeros_like(x)
        if abs(s - 1) < 1e-9:  # the limit s → 1 of the closed form
            horizon = np.log((beta + T + t) / (beta + T))
        else:
            horizon = (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) / (s - 1)
        return (r + x) * (beta + T) / (alpha + T) * horizon * self.predict_alive(x, t_x, T)
