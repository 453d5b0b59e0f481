"""The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive, a customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase
they drop out with probability p ~ Beta(a, b). On the CDNOW data the paper reports
r = 0.243, α = 4.414, a = 0.793, b = 2.426 (log-likelihood −9582.4); a test
reproduces them.

Dropout can only follow a *repeat* purchase, so every customer who bought once is
alive with probability 1, however long ago that was: use :class:`ModifiedBetaGeo`
or :class:`ParetoNBD` where that matters (it does on most retail data).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from seglab.features.value._base import dot, Grouped, PurchaseModel, as_array, check_rfm, log_add_exp, unique_pairs

__all__ = ["BetaGeo"]


class BetaGeo(PurchaseModel):
    """BG/NBD purchase and dropout model, fitted by maximum likelihood.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters (0: plain maximum likelihood). A small value
        helps on small or degenerate data.
    max_iter, tol
        Optimizer limits.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_ : float
    converged_ : bool

    Examples
    --------
    >>> model = BetaGeo().fit([2, 1, 0, 0, 5], [30.4, 1.7, 0, 0, 35.0], [38.9, 38.9, 38.9, 38.9, 38.9])
    >>> sorted(model.params_)
    ['a', 'alpha', 'b', 'r']
    """

    _param_names = ("r", "alpha", "a", "b")
    _initial = (1.0, 1.0, 1.0, 1.0)
    _scale_params = ("alpha",)
    label = "BG/NBD"

    def _loglik(self, params, g: Grouped) -> tuple[float, np.ndarray]:
        r, alpha, a, b = params
        x, px, py = g.x, g.pair_x, g.pair_y
        repeat = x > 0
        # log L = c(x) + log(exp(P(x, T)) + exp(e(x) + P(x, t_x))), P(x, y) = -(r + x) log(alpha + y)
        c = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b))
        e = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)), -np.inf)
        log_ay = np.log(alpha + py)
        P = -(r + px) * log_ay
        ll, stay = log_add_exp(P[g.iT], e[g.ix] + P[g.itx])
        w_stay, w_drop = g.weight * stay, g.weight * (1 - stay)
        gP = g.at_pairs(w_stay, g.iT) + g.at_pairs(w_drop, g.itx)
        ge = g.at_x(w_drop)
        gc = g.x_weight
        dc = [digamma(r + x) - digamma(r) + np.log(alpha), r / alpha + 0 * x,
              digamma(a + b) - digamma(a + b + x), digamma(b + x) - digamma(a + b + x) - digamma(b) + digamma(a + b)]
        de = [0 * x, 0 * x, np.where(repeat, 1 / a, 0.0), np.where(repeat, -1 / np.where(repeat, b + x - 1, 1.0), 0.0)]
        dP = [-log_ay, -(r + px) / (alpha + py), None, None]
        grad = np.array([dot(gc, dc[k]) + dot(ge, de[k]) + (dot(gP, dP[k]) if dP[k] is not None else 0.0)
                         for k in range(4)])
        return float(dot(g.weight, ll) + dot(gc, c)), grad

    def predict_alive(self, frequency, recency, T) -> np.ndarray:
        """Probability that each customer is still alive at the end of their ``T``."""
        r, alpha, a, b = self._params()
        x, t_x, T = check_rfm(frequency, recency, T)
        with np.errstate(divide="ignore", over="ignore"):
            log_odds = (np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
        return np.where(x > 0, 1.0 / (1.0 + np.exp(log_odds)), 1.0)

    _first_purchase_dropout = 0
    """1 where a customer may also drop out at the first purchase (MBG/NBD)."""

    def predict_purchases(self, t: float, frequency, recency, T) -> np.ndarray:
        """Expected number of purchases of each customer in the next ``t`` time units."""
        r, alpha, a, b = self._params()
        x, t_x, T = check_rfm(frequency, recency, T)
        t = float(t)
        if t <= 0:
            return np.zeros_like(x)
        d = self._first_purchase_dropout  # MBG/NBD's formula is BG/NBD's with b + 1, a + b + 1
        ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
        # hyp2f1 is costly and depends on (x, T) only: millions of customers share far fewer pairs
        px, pT, inverse = unique_pairs(x, T)
        f = hyp2f1(r + px, b + px + d, a + b + px - 1 + d, t / (alpha + pT + t))[inverse]
        return (a + b + x - 1 + d) / (a - 1) * (1 - ratio * f) * self.predict_alive(x, t_x, T)

    def expected_purchases(self, t) -> np.ndarray:
        """Expected purchases of a new customer in their first ``t`` time units (population level)."""
        r, alpha, a, b = self._params()
        t = as_array(t, "t")
        return ((a + b - 1) / (a - 1)
                * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t))))
