"""Distinguishing traits: what sets each segment apart, in plain language.

Numeric features are ranked by the absolute standardised effect size (the segment mean
minus the overall mean, in standard deviations); a category by the standardised
difference between its share in the segment and overall, counting only values the
segment over-represents. Columns that repeat others (RFM scores, the BTYD summary beside
marketing RFM, birth year beside age) are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seglab.personas.profiles import SegmentProfiles

__all__ = ["distinguishing_traits", "describe_number", "REDUNDANT"]

REDUNDANT = frozenset({"birth_year", "r_score", "f_score", "m_score", "fm_score", "frequency", "recency", "T",
                       "monetary_value", "net_monetary_value", "gross_revenue", "rfm_cell"})
"""Features that restate others and never make a trait."""

# feature: template; {seg} and {all} are formatted values, {ratio} the lift
_PHRASES = {
    "recency_days": "last bought {seg} ago ({all} on average)",
    "orders": "{ratio_text} orders ({seg} vs {all})",
    "net_revenue": "spends {seg} ({ratio_text} the average {all})",
    "avg_order_value": "orders worth {seg} ({all} on average)",
    "prob_alive": "{seg} likely to be still active ({all} overall)",
    "expected_purchases": "expected to buy {seg} times in the coming months ({all} on average)",
    "clv": "worth {seg} over the horizon ({ratio_text} the average {all})",
    "orders_per_month": "buys {seg} times a month ({all} on average)",
    "return_rate": "returns {seg} of what they buy ({all} overall)",
    "discount_share": "{seg} of spend on discount ({all} overall)",
    "tenure_days": "first bought {seg} ago ({all} on average)",
    "age": "{seg} old on average ({all} overall)",
    "visits_per_month": "visits {seg} times a month ({all} on average)",
    "email_open_rate": "opens {seg} of emails ({all} overall)",
    "cart_abandon_rate": "abandons {seg} of carts ({all} overall)",
}


def describe_number(value: float, unit: str = "", currency: str = "") -> str:
    """A readable number: shares as %, money with the currency, days as days.

    >>> describe_number(0.254, "share"), describe_number(1234.5, "EUR", "EUR"), describe_number(45, "days")
    ('25%', '1,234 EUR', '45 days')
    """
    if value is None or not np.isfinite(value):
        return "n/a"
    if unit in ("share", "probability"):
        return f"{value:.0%}"
    if currency and unit == currency:
        return f"{value:,.0f} {currency}" if abs(value) >= 10 else f"{value:,.2f} {currency}"
    if unit == "days":
        return f"{value:,.0f} days"
    if unit == "years":
        return f"{value:,.0f} years"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2g}" if abs(value) < 1 else f"{value:,.1f}"


def _ratio_text(lift: float) -> str:
    if not np.isfinite(lift):
        return "unlike"
    if lift >= 1.05:
        return f"{lift:.1f}× as many" if lift < 10 else f"{lift:.0f}× as many"
    if lift <= 0.95:
        return f"{1 - lift:.0%} fewer"
    return "about as many"


def _numeric_text(row: pd.Series, unit: str, currency: str) -> str:
    seg, base = describe_number(row["mean"], unit, currency), describe_number(row["overall_mean"], unit, currency)
    lift = row["lift"]
    template = _PHRASES.get(row["feature"])
    if template:
        ratio = _ratio_text(lift)
        if row["feature"] in ("net_revenue", "clv"):
            ratio = f"{lift:.1f}×" if np.isfinite(lift) else "unlike"
        return template.format(seg=seg, all=base, ratio_text=ratio)
    label = row["feature"].replace("_", " ")
    direction = "higher" if row["effect"] > 0 else "lower"
    ratio = f", {lift:.1f}×" if np.isfinite(lift) and lift > 0 and abs(lift - 1) >= 0.1 else ""
    return f"{label} {direction}: {seg} vs {base} on average{ratio}"


def distinguishing_traits(profiles: SegmentProfiles, dictionary=None, *, top: int = 5,
                          min_effect: float = 0.3, exclude=()) -> pd.DataFrame:
    """The ``top`` traits of each segment, strongest first.

    Returns one row per trait: ``segment``, ``rank``, ``feature``, ``value`` (for a
    category), ``kind``, ``effect`` (signed), ``criterion`` and ``text``. Traits weaker
    than ``min_effect`` are left out (a segment may have fewer than ``top``).
    """
    skip = set(REDUNDANT) | set(exclude)
    units = {f.name: f.unit for f in dictionary.features} if dictionary is not None else {}
    criteria = {f.name: f.criterion for f in dictionary.features} if dictionary is not None else {}
    currency = dictionary.meta.get("currency", "") if dictionary is not None else ""
    rows = []
    numeric = profiles.numeric[~profiles.numeric["feature"].isin(skip)].copy()
    numeric = numeric[numeric["present"] > 0]
    for _, row in numeric.iterrows():  # one row per segment and feature: small
        if abs(row["effect"]) >= min_effect:
            rows.append({"segment": row["segment"], "feature": row["feature"], "value": None, "kind": "numeric",
                         "effect": float(row["effect"]), "criterion": criteria.get(row["feature"], ""),
                         "text": _numeric_text(row, units.get(row["feature"], ""), currency)})
    categorical = profiles.categorical[~profiles.categorical["feature"].isin(skip)]
    for _, row in categorical.iterrows():
        p, q = row["share"], row["overall_share"]
        if row["lift"] <= 1 or q >= 1:
            continue
        effect = (p - q) / np.sqrt(q * (1 - q))
        if effect >= min_effect and p >= 0.15:
            label = row["feature"].replace("_", " ")
            rows.append({"segment": row["segment"], "feature": row["feature"], "value": row["value"],
                         "kind": "categorical", "effect": float(effect), "criterion": criteria.get(row["feature"], ""),
                         "text": f"{p:.0%} {row['value']} ({label}) vs {q:.0%} overall"})
    traits = pd.DataFrame(rows, columns=["segment", "feature", "value", "kind", "effect", "criterion", "text"])
    if traits.empty:
        return traits.assign(rank=pd.Series(dtype=int))
    traits["strength"] = traits["effect"].abs()
    traits = (traits.sort_values(["segment", "strength", "feature"], ascending=[True, False, True], kind="stable")
              .groupby("segment", sort=True).head(top).drop(columns="strength"))
    traits["rank"] = traits.groupby("segment").cumcount() + 1
    return traits.reset_index(drop=True)
