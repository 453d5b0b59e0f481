"""Customer lifetime value over a horizon: expected purchases × expected spend, discounted."""

from __future__ import annotations

import numpy as np

from seglab._validation import check_choice, check_range
from seglab.features.value._base import as_array

__all__ = ["customer_lifetime_value"]

_UNITS_PER_MONTH = {"days": 30.0, "weeks": 4.345}


def customer_lifetime_value(purchase_model, frequency, recency, T, spend, *,
                            horizon_months: int = 12, discount_rate: float = 0.01,
                            time_unit: str = "days") -> np.ndarray:
    """Discounted value of each customer's expected purchases over the next ``horizon_months``.

    For each month i = 1 … horizon, the purchases the model expects in that month
    times ``spend`` (expected spend per purchase, e.g. from
    :meth:`GammaGamma.predict_spend`), divided by (1 + ``discount_rate``)^i. This is
    the computation of ``lifetimes.utils._customer_lifetime_value`` (30-day months
    in day units, 4.345 weeks per month in week units), so results agree with it.

    Parameters
    ----------
    purchase_model
        A fitted :class:`BetaGeo`, :class:`ModifiedBetaGeo` or :class:`ParetoNBD`.
    spend
        Expected spend per purchase, one value per customer.
    discount_rate
        Monthly discount rate (0.01 ≈ 12.7 % a year).
    """
    check_choice(time_unit, tuple(_UNITS_PER_MONTH), name="time_unit")
    check_range(horizon_months, name="horizon_months", low=1, integer=True)
    check_range(discount_rate, name="discount_rate", low=0, high=1)
    spend = as_array(spend, "spend")
    per_month = _UNITS_PER_MONTH[time_unit]
    months = np.arange(1, int(horizon_months) + 1)
    cumulative = purchase_model.predict_purchase_curve(months * per_month, frequency, recency, T)
    per_month_purchases = np.diff(cumulative, axis=0, prepend=0.0)
    discount = (1 + discount_rate) ** -months.astype(float)
    return spend * np.einsum("m,mn->n", discount, per_month_purchases)  # fixed order, one thread
