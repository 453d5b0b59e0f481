"""The MBG/NBD model (Batislam, Denizel & Filiztekin 2007; Wagner & Hoppe 2008 erratum).

BG/NBD with one change: a customer may also drop out right after their *first*
purchase, not only after repeat purchases. While alive, purchases are Poisson with
rate λ ~ Gamma(r, α); at the first purchase and after each purchase the customer
drops out with probability p ~ Beta(a, b). So a one-time buyer silent for a long
time is probably gone, where BG/NBD holds them alive with probability 1.

Log-likelihood of a customer with ``x`` repeat purchases, the last at ``t_x``, observed
for ``T``::

    log Γ(r + x) − log Γ(r) + r log α + log B(a, b + x + 1) − log B(a, b)
    + log[(α + T)^−(r+x) + a / (b + x) · (α + t_x)^−(r+x)]
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from seglab.features.value._base import Grouped, as_array, check_rfm, dot, log_add_exp
from seglab.features.value.betageo import BetaGeo

__all__ = ["ModifiedBetaGeo"]


class ModifiedBetaGeo(BetaGeo):
    """MBG/NBD purchase and dropout model, fitted by maximum likelihood.

    Same contract as :class:`BetaGeo`: ``fit(frequency, recency, T)`` returns the
    model; ``params_`` (``r``, ``alpha``, ``a``, ``b``), ``predict_alive``,
    ``predict_purchases`` and ``expected_purchases`` use it.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters (0: plain maximum likelihood).
    max_iter, tol
        Optimizer limits.

    Examples
    --------
    >>> model = ModifiedBetaGeo().fit([2, 1, 0, 0, 5], [30.4, 1.7, 0, 0, 35.0], [38.9] * 5)
    >>> bool(model.predict_alive([0], [0.0], [38.9])[0] < 1)
    True
    """

    label = "MBG/NBD"  # parameters, start and scale as BG/NBD
    _first_purchase_dropout = 1

    def _loglik(self, params, g: Grouped) -> tuple[float, np.ndarray]:
        r, alpha, a, b = params
        x, px, py = g.x, g.pair_x, g.pair_y
        c = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x + 1) - betaln(a, b)
        e = np.log(a) - np.log(b + x)
        log_ay = np.log(alpha + py)
        P = -(r + px) * log_ay
        ll, stay = log_add_exp(P[g.iT], e[g.ix] + P[g.itx])
        w_stay, w_drop = g.weight * stay, g.weight * (1 - stay)
        gP = g.at_pairs(w_stay, g.iT) + g.at_pairs(w_drop, g.itx)
        ge, gc = g.at_x(w_drop), g.x_weight
        psi_abx = digamma(a + b + x + 1)
        grad = np.array([
            dot(gc, digamma(r + x) - digamma(r) + np.log(alpha)) - dot(gP, log_ay),
            gc.sum() * r / alpha - dot(gP, (r + px) / (alpha + py)),
            dot(gc, digamma(a + b) - psi_abx) + ge.sum() / a,
            dot(gc, digamma(b + x + 1) - psi_abx - digamma(b) + digamma(a + b)) - dot(ge, 1 / (b + x)),
        ])
        return float(dot(g.weight, ll) + dot(gc, c)), grad

    def predict_alive(self, frequency, recency, T) -> np.ndarray:
        """Probability that each customer is still alive at the end of their ``T``."""
        r, alpha, a, b = self._params()
        x, t_x, T = check_rfm(frequency, recency, T)
        with np.errstate(over="ignore"):
            log_odds = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            return 1.0 / (1.0 + np.exp(log_odds))

    def expected_purchases(self, t) -> np.ndarray:
        """Expected purchases of a new customer in their first ``t`` time units (population level)."""
        r, alpha, a, b = self._params()
        t = as_array(t, "t")
        return b / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b + 1, a + b, t / (alpha + t)))
