"""Distinguishing traits: what sets each segment apart from the *other* segments, in plain
language.

Numeric features are ranked by their contrast: the segment's mean minus the mean of all
other customers, in overall standard deviations (:mod:`seglab.personas.profiles`). A
category value counts when the segment over-represents it: its share minus the share
among the other customers, over the overall share's binomial standard deviation.
Columns that repeat others (RFM scores, the BTYD summary beside marketing RFM, birth
year beside age, bands beside the number they band) are left out. Every number is
written with its unit (:mod:`seglab.personas.wording`) and compared with the other
customers: "return 16% of what they buy (1.2% for other customers)".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seglab.personas.profiles import SegmentProfiles
from seglab.personas.wording import feature_kind, feature_label, format_pair, format_value, horizon_text, window_text

__all__ = ["distinguishing_traits", "describe_number", "REDUNDANT", "trait_context"]

REDUNDANT = frozenset({"birth_year", "r_score", "f_score", "m_score", "fm_score", "frequency", "recency", "T",
                       "monetary_value", "net_monetary_value", "gross_revenue", "rfm_cell"})
"""Features that restate others and never make a trait."""

# feature → template; {seg} and {rest} are formatted values, {window} the look-back window
# in words, {horizon} the value models' horizon
_PHRASES = {
    "recency_days": "last bought {seg} ago ({rest} for other customers)",
    "prob_alive": "{seg} likely to be still active ({rest} of other customers)",
    "expected_purchases": "expected to buy {seg} times {horizon} ({rest} for other customers)",
    "clv": "expected to be worth {seg} each {clv_horizon} ({rest} for other customers)",
    "net_revenue": "spent {seg} each over {window} ({rest} for other customers)",
    "orders": "placed {seg} orders each over {window} ({rest} for other customers)",
    "orders_per_month": "order {seg} times a month ({rest} for other customers)",
    "mean_interpurchase_days": "buy every {seg} on average ({rest} for other customers)",
    "tenure_days": "first bought {seg} ago ({rest} for other customers)",
    "return_rate": "return {seg} of what they buy ({rest} for other customers)",
    "avg_order_value": "orders worth {seg} on average ({rest} for other customers)",
    "age": "{seg} old on average ({rest} for other customers)",
    "discount_share": "{seg} of spend on discount ({rest} for other customers)",
    "email_open_rate": "open {seg} of emails ({rest} for other customers)",
    "cart_abandon_rate": "abandon {seg} of carts ({rest} for other customers)",
    "spending_score": "spending score {seg} of 100 ({rest} for other customers)",
    "income": "earn {seg} a year ({rest} for other customers)",
    "income_k": "earn {seg} a year ({rest} for other customers)",
    "annual_income_k": "earn {seg} a year ({rest} for other customers)",
}


def describe_number(value: float, unit: str = "", currency: str = "") -> str:
    """A readable number: shares as %, money with the currency, days as days.

    >>> describe_number(0.254, "share"), describe_number(1234.5, "EUR", "EUR"), describe_number(45, "days")
    ('25%', '€1,234', '45 days')
    """
    if unit in ("share", "probability"):
        kind = "share"
    elif currency and unit == currency:
        kind = "money"
    else:
        kind = unit if unit in ("days", "years") else ""
    return format_value(value, kind, currency)


def trait_context(dictionary=None) -> dict:
    """What trait texts need from the feature dictionary: currency, look-back window and
    the value models' horizons, in words."""
    meta = dictionary.meta if dictionary is not None else {}
    descriptions = {f.name: f.description for f in dictionary.features} if dictionary is not None else {}
    clv_months = ""
    if "clv" in descriptions:
        import re

        found = re.search(r"over (\d+ months?)", descriptions["clv"])
        clv_months = found[1] if found else ""
    return {"currency": meta.get("currency", "") or "", "dictionary": dictionary,
            "window": window_text(meta.get("lookback_days"), meta.get("as_of")),
            "horizon": _ahead(horizon_text(descriptions.get("expected_purchases", ""))),
            "clv_horizon": _ahead(clv_months)}


def _ahead(span: str) -> str:
    return f"in the next {span}" if span else "over the forecast horizon"


def numeric_trait_text(feature: str, mean: float, rest: float, context: dict) -> str:
    """One numeric trait in words: the segment's mean against the other customers'."""
    dictionary, currency = context.get("dictionary"), context.get("currency", "")
    kind = feature_kind(feature, dictionary)
    seg, other = format_pair(mean, rest, kind, currency)
    template = _PHRASES.get(feature)
    if template:
        return template.format(seg=seg, rest=other, window=context.get("window", "the look-back window"),
                               horizon=context.get("horizon", ""), clv_horizon=context.get("clv_horizon", ""))
    return f"{feature_label(feature, dictionary)}: {seg} ({other} for other customers)"


def _reads_the_same(feature: str, mean: float, rest: float, context: dict) -> bool:
    """Whether the segment's mean and the other customers' read the same once rounded for the
    reader ("0.49 (0.49 for other customers)"): a contrast in standard deviations of a
    feature that hardly varies, which tells the reader nothing."""
    seg, other = format_pair(mean, rest, feature_kind(feature, context.get("dictionary")), context.get("currency", ""))
    return seg == other


def category_trait_text(feature: str, value: str, share: float, rest: float, dictionary=None) -> str:
    """One category trait in words: "83% Champions (RFM segment), 12% of other customers"."""
    mine, other = format_pair(share, rest, "share")
    return f"{mine} {value} ({feature_label(feature, dictionary)}), {other} of other customers"


def distinguishing_traits(profiles: SegmentProfiles, dictionary=None, *, top: int = 5,
                          min_effect: float = 0.3, exclude=()) -> pd.DataFrame:
    """The ``top`` traits of each segment, strongest contrast first.

    Returns one row per trait: ``segment``, ``rank``, ``feature``, ``value`` (for a
    category), ``kind``, ``effect`` (the signed contrast with the other customers, in
    standard deviations), ``criterion`` and ``text``. Traits weaker than ``min_effect``
    are left out (a segment may have fewer than ``top``), and so is a number that reads
    the same for the segment and the other customers once rounded for the reader.
    """
    skip = set(REDUNDANT) | set(exclude)
    criteria = {f.name: f.criterion for f in dictionary.features} if dictionary is not None else {}
    context = trait_context(dictionary)
    numeric = profiles.numeric
    banded = {f"{c}_band" for c in numeric["feature"].unique()} | ({"age_band"} if "age" in set(numeric["feature"])
                                                                   else set())
    numeric = numeric[~numeric["feature"].isin(skip) & (numeric["present"] > 0)]
    rows = []
    strong = numeric[numeric["contrast"].abs() >= min_effect]
    for row in strong.itertuples(index=False):  # one row per segment and feature: small
        if _reads_the_same(row.feature, row.mean, row.rest_mean, context):
            continue
        rows.append({"segment": row.segment, "feature": row.feature, "value": None, "kind": "numeric",
                     "effect": float(row.contrast), "criterion": criteria.get(row.feature, ""),
                     "text": numeric_trait_text(row.feature, row.mean, row.rest_mean, context)})
    categorical = profiles.categorical
    categorical = categorical[~categorical["feature"].isin(skip | banded)]
    chosen = categorical[(categorical["contrast"] >= min_effect) & (categorical["share"] >= 0.15)
                         & (categorical["share"] > categorical["rest_share"])]
    for row in chosen.itertuples(index=False):
        rows.append({"segment": row.segment, "feature": row.feature, "value": row.value, "kind": "categorical",
                     "effect": float(row.contrast), "criterion": criteria.get(row.feature, ""),
                     "text": category_trait_text(row.feature, row.value, row.share, row.rest_share, dictionary)})
    traits = pd.DataFrame(rows, columns=["segment", "feature", "value", "kind", "effect", "criterion", "text"])
    if traits.empty:
        return traits.assign(rank=pd.Series(dtype=int))
    traits["strength"] = traits["effect"].abs()
    traits = (traits.sort_values(["segment", "strength", "feature"], ascending=[True, False, True], kind="stable")
              .groupby("segment", sort=True).head(top).drop(columns="strength"))
    traits["rank"] = traits.groupby("segment").cumcount() + 1
    traits["effect"] = traits["effect"].where(np.isfinite(traits["effect"]), 0.0)
    return traits.reset_index(drop=True)
