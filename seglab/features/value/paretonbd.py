"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; Fader, Hardie & Lee 2005 note).

While alive, purchases are Poisson with rate λ ~ Gamma(r, α); lifetimes are
exponential with rate μ ~ Gamma(s, β). On CDNOW the published estimates are
r = 0.553, α = 10.578, s = 0.606, β = 11.669 (log-likelihood −9595.0); a test
reproduces them. A customer can drop out at any moment, one-time buyers included.

The likelihood of dropping out between the last purchase ``t_x`` and ``T`` is
``s β^s (I(x, t_x) − I(x, T))`` with the tail integral
``I(x, y) = ∫_y^∞ (α + τ)^−(r+x) (β + τ)^−(s+1) dτ``, a Gaussian hypergeometric
function; it is evaluated once per distinct (x, y) pair, in log space.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1

from seglab.features.value._base import dot, Grouped, PurchaseModel, check_rfm, log_add_exp

__all__ = ["ParetoNBD"]

_STEP = 1e-5
"""Relative step of the central differences of log 2F1 in its first two arguments."""


_SERIES_TERMS = 8


def _hyp2f1_a1(a, b, z):
    """2F1(a, b; a + 1; z) for 0 ≤ z < 1, the form Pareto/NBD needs.

    Where ``a`` is large against ``b z / (1 − z)`` (fits run there when rates do not vary
    between customers, and scipy's series then needs thousands of terms), the recurrence
    2F1(a, b; a+1; z) = (1 − z)^−b − b z / (a + 1) · 2F1(a + 1, b + 1; a + 2; z) is unrolled
    :data:`_SERIES_TERMS` times: an alternating sum whose remainder is bounded by the next
    term, used only where that bound is below 1e-16 of the result. Elsewhere, scipy's hyp2f1.
    """
    a, b, z = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float), np.asarray(z, float))
    ratio = z / (1 - z)
    bound = np.ones_like(z)
    for j in range(_SERIES_TERMS):
        bound = bound * (b + j) * ratio / (a + j + 1)
    fast = bound < 1e-16
    out = np.empty_like(z)
    if (~fast).any():
        out[~fast] = hyp2f1(a[~fast], b[~fast], a[~fast] + 1, z[~fast])
    if fast.any():
        af, bf, rf = a[fast], b[fast], ratio[fast]
        term, total = np.ones_like(af), np.ones_like(af)
        for k in range(1, _SERIES_TERMS):
            term = -term * (bf + k - 1) * rf / (af + k)
            total += term
        out[fast] = total * (1 - z[fast]) ** -bf
    return out


def _log_tail(r, alpha, s, beta, x, y, *, gradient: bool = False):
    """log I(x, y) (see the module docstring) and, optionally, its gradient in (r, α, s, β)."""
    a = r + s + x
    if alpha >= beta:
        big, b2 = alpha, s + 1
    else:
        big, b2 = beta, r + x
    z = abs(alpha - beta) / (big + y)
    H = _hyp2f1_a1(a, b2, z)
    log_big = np.log(big + y)
    value = np.log(H) - a * log_big - np.log(a)
    if not gradient:
        return value
    # d/dz 2F1(a, b; a + 1; z) = a b / (a + 1) 2F1(a + 1, b + 1; a + 2; z)
    dz = a * b2 / (a + 1) * _hyp2f1_a1(a + 1, b2 + 1, z) / H
    ha, hb = _STEP * a, _STEP * b2
    da = (np.log(_hyp2f1_a1(a + ha, b2, z)) - np.log(_hyp2f1_a1(a - ha, b2, z))) / (2 * ha)
    db = (np.log(_hyp2f1_a1(a, b2 + hb, z)) - np.log(_hyp2f1_a1(a, b2 - hb, z))) / (2 * hb)
    common = da - log_big - 1 / a
    if alpha >= beta:
        d_alpha = dz * (beta + y) / (alpha + y) ** 2 - a / (alpha + y)
        d_beta = -dz / (alpha + y)
        return value, [common, d_alpha, common + db, d_beta]
    d_alpha = -dz / (beta + y)
    d_beta = dz * (alpha + y) / (beta + y) ** 2 - a / (beta + y)
    return value, [common + db, d_alpha, common, d_beta]


class ParetoNBD(PurchaseModel):
    """Pareto/NBD purchase and lifetime model, fitted by maximum likelihood.

    Attributes
    ----------
    params_ : dict
        ``r``, ``alpha``, ``s``, ``beta``.
    """

    _param_names = ("r", "alpha", "s", "beta")
    _initial = (1.0, 1.0, 1.0, 1.0)
    _scale_params = ("alpha", "beta")
    label = "Pareto/NBD"

    def _loglik(self, params, g: Grouped) -> tuple[float, np.ndarray]:
        r, alpha, s, beta = params
        x, px, py = g.x, g.pair_x, g.pair_y
        c = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        log_ay, log_by = np.log(alpha + py), np.log(beta + py)
        alive = -(r + px) * log_ay - s * log_by  # at (x, T) pairs: alive at T
        L, dL = _log_tail(r, alpha, s, beta, px, py, gradient=True)
        first, last = L[g.itx], L[g.iT]
        gap = np.minimum(last - first, 0.0)
        with np.errstate(divide="ignore"):
            died = np.log(s) + first + np.log(-np.expm1(gap))
        ll, stay = log_add_exp(alive[g.iT], died)
        w_drop = g.weight * (1 - stay)
        # d died / d first = 1 / (1 - e^gap); d died / d last = 1 - that; nothing where nobody died
        d_first = np.where(w_drop > 0, -1.0 / np.expm1(np.where(gap < 0, gap, -1.0)), 0.0)
        g_alive = g.at_pairs(g.weight * stay, g.iT)
        g_L = g.at_pairs(w_drop * d_first, g.itx) + g.at_pairs(w_drop * (1 - d_first), g.iT)
        gc, g_log_s = g.x_weight, float(w_drop.sum())
        dc = [digamma(r + x) - digamma(r) + np.log(alpha), r / alpha + 0 * x, np.log(beta) + 0 * x,
              s / beta + 0 * x]
        d_alive = [-log_ay, -(r + px) / (alpha + py), -log_by, -s / (beta + py)]
        grad = np.array([dot(gc, dc[k]) + dot(g_alive, d_alive[k]) + dot(g_L, dL[k]) for k in range(4)])
        grad[2] += g_log_s / s
        return float(dot(g.weight, ll) + dot(gc, c)), grad

    def _log_odds_dead(self, x, t_x, T) -> np.ndarray:
        """log(P(dead) / P(alive)) of each customer, from the distinct (x, y) pairs."""
        r, alpha, s, beta = self._params()
        g = Grouped.build(x, t_x, T, np.ones(len(x)))
        px, py = g.pair_x, g.pair_y
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            L = _log_tail(r, alpha, s, beta, px, py)
            alive = -(r + px) * np.log(alpha + py) - s * np.log(beta + py)
            first, last = L[g.itx], L[g.iT]
            died = np.log(s) + first + np.log(-np.expm1(np.minimum(last - first, 0.0)))
            return (died - alive[g.iT])[g.row]

    def predict_alive(self, frequency, recency, T) -> np.ndarray:
        """Probability that each customer is still alive at the end of their ``T``."""
        x, t_x, T = check_rfm(frequency, recency, T)
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(self._log_odds_dead(x, t_x, T)))

    def predict_purchases(self, t: float, frequency, recency, T) -> np.ndarray:
        """Expected number of purchases of each customer in the next ``t`` time units."""
        return self.predict_purchase_curve([t], frequency, recency, T)[0]

    def predict_purchase_curve(self, times, frequency, recency, T) -> np.ndarray:
        """Expected purchases in the next ``t`` time units for each of ``times`` (rows);
        the probability alive, the costly part, is computed once."""
        r, alpha, s, beta = self._params()
        x, t_x, T = check_rfm(frequency, recency, T)
        times = np.asarray(times, dtype=float).reshape(-1, 1)
        alive = self.predict_alive(x, t_x, T)
        t = np.maximum(times, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            if abs(s - 1) < 1e-9:  # the limit s → 1 of the closed form
                horizon = np.log((beta + T + t) / (beta + T))
            else:
                horizon = (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) / (s - 1)
        return (r + x) * (beta + T) / (alpha + T) * horizon * alive
