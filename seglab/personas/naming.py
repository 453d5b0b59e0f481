"""Readable segment names, made from the data: "High-value loyalists", "Lapsed bargain hunters".

A name has up to three parts, each decided by a documented rule:

1. **value tier**, from the segment's mean of the first value column it has (CLV, net
   revenue, total spend, spending score): ≥ 1.5 × the average → "High-value",
   ≤ 0.6 × → "Low-value", else none;
2. **status**, from activity: probability alive ≤ 0.5 (or recency ≥ 2 × the average)
   → "Lapsed"; tenure ≤ 0.5 × the average → "New";
3. **noun**, from the segment's strongest trait that has a noun in :data:`NOUNS`
   (e.g. a high discount share → "bargain hunters"); "customers" when none does.

Names are unique: a duplicate gets its next distinguishing trait in brackets. Names the
analyst supplies (``overrides``, e.g. from a YAML file) win; names of last period's
personas carry over to the aligned segments (same number) so that names follow
segments from quarter to quarter.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from seglab.exceptions import InputError, ParameterError
from seglab.personas.profiles import SegmentProfiles

__all__ = ["name_segments", "read_names", "NOUNS", "VALUE_COLUMNS"]

VALUE_COLUMNS = ("clv", "net_revenue", "total_spend", "spending_score", "income", "income_k",
                 "annual_income_k", "annual_revenue_m")

NOUNS: dict[tuple[str, str], str] = {
    ("orders", "high"): "loyalists", ("orders_per_month", "high"): "frequent buyers",
    ("discount_share", "high"): "bargain hunters", ("discounted_order_share", "high"): "bargain hunters",
    ("deal_purchases", "high"): "bargain hunters",
    ("return_rate", "high"): "returners", ("avg_order_value", "high"): "big-basket buyers",
    ("distinct_products", "high"): "explorers", ("distinct_categories", "high"): "explorers",
    ("cart_abandon_rate", "high"): "window shoppers", ("visits_per_month", "high"): "browsers",
    ("email_open_rate", "high"): "newsletter fans", ("email_click_rate", "high"): "newsletter fans",
    ("support_contacts", "high"): "service seekers", ("support_per_order", "high"): "service seekers",
    ("channel_share_app", "high"): "app shoppers", ("channel_share_store", "high"): "store shoppers",
    ("channel_share_web", "high"): "online shoppers", ("web_purchases", "high"): "online shoppers",
    ("store_purchases", "high"): "store shoppers", ("catalog_purchases", "high"): "catalogue shoppers",
    ("weekend_share", "high"): "weekend shoppers", ("evening_share", "high"): "evening shoppers",
    ("mean_interpurchase_days", "high"): "occasional buyers", ("orders_per_month", "low"): "occasional buyers",
    ("distinct_products", "low"): "focused buyers", ("top_category_share", "high"): "category specialists",
    ("items_per_order", "high"): "bulk buyers", ("lines_per_order", "high"): "big-basket buyers",
    ("price_sensitivity", "high"): "price-conscious shoppers", ("brand_loyalty", "high"): "brand loyalists",
    ("sustainability", "high"): "eco-minded shoppers", ("novelty_seeking", "high"): "trendsetters",
    ("convenience_focus", "high"): "convenience seekers", ("social_influence", "high"): "social shoppers",
    ("spending_score", "high"): "big spenders", ("spending_score", "low"): "cautious spenders",
    ("spend_wines", "high"): "wine lovers", ("spend_meat", "high"): "meat lovers",
    ("spend_gold", "high"): "gold buyers", ("spend_fish", "high"): "seafood lovers",
    ("spend_sweets", "high"): "sweet tooths", ("spend_fruits", "high"): "fresh-food fans",
    ("kids_at_home", "high"): "families", ("household_size", "high"): "families",
    ("age", "low"): "young customers", ("age", "high"): "mature customers",
    ("income", "high"): "affluent customers", ("income_k", "high"): "affluent customers",
    ("annual_income_k", "high"): "affluent customers",
    ("employees", "high"): "large accounts", ("employees", "low"): "small businesses",
}
"""(feature, direction) → noun. A trait's direction is ``high`` when the segment's mean is
above the average."""


def _value_tier(profiles: SegmentProfiles, segment: int) -> str:
    numeric = profiles.numeric
    for col in VALUE_COLUMNS:
        row = numeric[(numeric["segment"] == segment) & (numeric["feature"] == col)]
        if not row.empty and np.isfinite(row["lift"].iloc[0]):
            lift = row["lift"].iloc[0]
            return "High-value" if lift >= 1.5 else "Low-value" if lift <= 0.6 else ""
    return ""


def _status(profiles: SegmentProfiles, segment: int) -> str:
    numeric = profiles.numeric.set_index(["segment", "feature"])

    def get(col, field):
        key = (segment, col)
        return numeric.loc[key, field] if key in numeric.index else np.nan

    alive, recency_lift, tenure_lift = get("prob_alive", "mean"), get("recency_days", "lift"), get("tenure_days", "lift")
    if (np.isfinite(alive) and alive <= 0.5) or (np.isfinite(recency_lift) and recency_lift >= 2):
        return "Lapsed"
    if np.isfinite(tenure_lift) and tenure_lift <= 0.5:
        return "New"
    return ""


def _nouns(traits: pd.DataFrame, segment: int) -> list[str]:
    found = []
    for _, trait in traits[traits["segment"] == segment].iterrows():  # a segment's few traits
        if trait["kind"] != "numeric":
            continue
        noun = NOUNS.get((trait["feature"], "high" if trait["effect"] > 0 else "low"))
        if noun and noun not in found:
            found.append(noun)
    return found


def _compose(*parts: str) -> str:
    text = " ".join(p for p in parts if p).strip()
    return text[:1].upper() + text[1:] if text else text


def name_segments(profiles: SegmentProfiles, traits: pd.DataFrame, *,
                  overrides: Mapping[int, str] | None = None,
                  previous: Mapping[int, str] | None = None) -> dict[int, str]:
    """A unique, readable name for each segment (see the module docstring for the rules).

    Parameters
    ----------
    profiles, traits
        From :func:`profile_segments` and :func:`distinguishing_traits`.
    overrides
        The analyst's names by segment number; they win.
    previous
        Last period's names by (aligned) segment number; they carry over.
    """
    segments = profiles.segments
    overrides = {int(k): str(v) for k, v in (overrides or {}).items()}
    unknown = sorted(set(overrides) - set(segments))
    if unknown:
        raise ParameterError(f"names were given for segments {unknown}, which do not exist; segments: {segments}")
    names, alternatives = {}, {}
    for s in segments:
        nouns = _nouns(traits, s)
        tier, status = _value_tier(profiles, s), _status(profiles, s)
        noun = nouns[0] if nouns else "customers"
        if status == "New" and noun == "loyalists":
            noun = nouns[1] if len(nouns) > 1 else "customers"
        names[s] = _compose(tier, status.lower() if tier else status, noun)
        alternatives[s] = nouns[1:]
    for s in segments:  # previous names first, then the analyst's
        if previous and previous.get(s):
            names[s] = str(previous[s])
    names.update(overrides)
    seen: dict[str, int] = {}
    for s in segments:  # make names unique, deterministically
        name = names[s]
        if name in seen and s not in overrides:
            extra = next((a for a in alternatives[s] if a not in name), None)
            candidate = f"{name} ({extra})" if extra else f"{name} {s}"
            while candidate in seen:
                candidate = f"{name} {s}"
            names[s] = name = candidate
        seen[name] = s
    if len(set(names.values())) != len(names):
        raise ParameterError("the segment names given are not unique: " + ", ".join(sorted(set(names.values()))))
    return names


def read_names(path: str | Path | None) -> dict[int, str]:
    """Segment names from a YAML file mapping segment numbers to names (``0: Champions``).

    An empty path means no names (the generated ones are used).
    """
    if not path:
        return {}
    path = Path(path)
    if not path.is_file():
        raise InputError(f"names file not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise InputError(f"{path} must map segment numbers to names, e.g. '0: High-value loyalists'")
    try:
        return {int(k): str(v) for k, v in data.items()}
    except (TypeError, ValueError):
        raise InputError(f"{path}: keys must be segment numbers; got {list(data)}") from None
