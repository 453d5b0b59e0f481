"""What each segment is made of: the facts persona names and actions are decided from.

For every segment, from its profile (and the period's figures when there are any):

- **status**, from the composition, in this order: ``lapsed`` when at least two in three
  are lapsed or churned by the journey stage (or, without journey stages, the mean
  probability of being still active is at most 0.5, or the mean time since the last
  purchase is at least 180 days and twice the other customers'); ``at risk`` when at
  least half are in the RFM segments *At risk*, *Can't lose them* or *About to sleep*; ``new`` when at least half are RFM *New* or *Promising*, or
  their tenure is at most half the other customers'; else none.
- **value tier**: the segments' value per customer (the first of CLV, net revenue, total
  spend, spending score that the data has), split into at most three tiers (top, mid,
  low) at its natural breaks: the split that keeps the tiers tightest (on a log scale for
  money). Lapsed segments are tiered separately by their *past* value, since a model
  rightly gives them little future value: their rank among all segments on net revenue
  (or total spend) says whether they were big spenders.
- **capacity**: the contrast on an income-like column (income, annual income,
  employees), for spotting segments that could spend more than they do.
- **trend**: this period's revenue against the previous period's, for the same
  customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from seglab.personas.profiles import SegmentProfiles

__all__ = ["SegmentFacts", "segment_facts", "VALUE_COLUMNS", "PAST_VALUE_COLUMNS", "CAPACITY_COLUMNS",
           "natural_tiers", "LAPSED_STAGES", "AT_RISK_RFM", "NEW_RFM", "LOYAL_RFM"]

VALUE_COLUMNS = ("clv", "net_revenue", "total_spend", "spending_score")
"""The first of these the profiles have is a segment's value per customer."""
PAST_VALUE_COLUMNS = ("net_revenue", "total_spend", "gross_revenue")
"""The first of these the profiles have is a segment's past spend per customer."""
CAPACITY_COLUMNS = ("income", "income_k", "annual_income_k", "annual_revenue_m", "employees")
"""Columns that say how much a customer *could* spend."""
LAPSED_STAGES = ("lapsed", "churned")
AT_RISK_RFM = ("At risk", "Can't lose them", "About to sleep")
NEW_RFM = ("New", "Promising")
LOYAL_RFM = ("Champions", "Loyal")
LAPSED_SHARE = 2 / 3
LAPSED_PROB_ALIVE = 0.5
LAPSED_DAYS = 180
TIER_GAP = 1.15
"""Adjacent tiers whose boundary values differ by less than this factor are one tier."""


@dataclass
class SegmentFacts:
    """The composition of one segment (see the module docstring)."""

    segment: int
    customers: int
    share: float
    revenue_share: float | None = None
    status: str | None = None
    evidence: str = ""
    lapsed_share: float | None = None
    at_risk_share: float | None = None
    new_share: float | None = None
    loyal_share: float | None = None
    prob_alive: float | None = None
    value_column: str | None = None
    value: float | None = None
    tier: str | None = None
    tiers: int = 0
    value_rank: int | None = None
    past_column: str | None = None
    past_value: float | None = None
    past_rank: int | None = None
    capacity_column: str | None = None
    capacity_contrast: float | None = None
    value_contrast: float | None = None
    trend: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def past_upper(self) -> bool:
        """The segment's past value ranks in the upper half of all segments."""
        return self.past_rank is not None and self.extra.get("segments", 1) > 1 and \
            self.past_rank < self.extra["segments"] / 2


def natural_tiers(values: pd.Series, *, log: bool = True, max_tiers: int = 3) -> pd.Series:
    """Tier ``top``/``mid``/``low`` of each value: the split into at most ``max_tiers``
    contiguous groups with the smallest within-group sum of squares (Jenks' natural breaks,
    exhaustively: segmentations have few segments). Two values give ``top`` and ``low``.
    Adjacent tiers whose boundary values differ by less than :data:`TIER_GAP` (15%) are
    merged: close values share a tier, and a single tier means no tier at all. Missing
    values (a segment of prospects has no CLV) get no tier: they are left out.

    >>> natural_tiers(pd.Series({0: 4477.0, 1: 613.0, 2: 477.0, 3: 282.0})).tolist()
    ['top', 'mid', 'mid', 'low']
    >>> natural_tiers(pd.Series({0: 614.0, 1: 597.0})).tolist()
    ['top', 'top']
    >>> natural_tiers(pd.Series({0: 900.0, 1: float("nan"), 2: 100.0})).to_dict()
    {0: 'top', 2: 'low'}
    """
    values = values.dropna()
    return _merge_close(_jenks(values, log=log, max_tiers=max_tiers), values)


def _merge_close(tiers: pd.Series, values: pd.Series) -> pd.Series:
    order = ["top", "mid", "low"]
    present = [t for t in order if t in set(tiers)]
    merged = dict(zip(present, present))
    for upper, lower in zip(present, present[1:]):
        low_of_upper = values[tiers == upper].min()
        high_of_lower = values[tiers == lower].max()
        if high_of_lower > 0 and low_of_upper / high_of_lower < TIER_GAP or \
                high_of_lower <= 0 and low_of_upper - high_of_lower < 1e-9:
            merged[lower] = merged[upper]
    out = tiers.map(merged)
    kept = [t for t in order if t in set(out)]
    rename = dict(zip(kept, ["top", "low"] if len(kept) == 2 else kept))
    return out.map(rename)


def _jenks(values: pd.Series, *, log: bool, max_tiers: int) -> pd.Series:
    values = values.dropna()
    if values.empty:
        return pd.Series(dtype=object)
    ordered = values.sort_values(ascending=False, kind="stable")
    x = ordered.to_numpy(dtype=float)
    if log and (x > 0).all():
        x = np.log(x)
    n = len(x)
    if n == 1:
        return pd.Series(["top"], index=ordered.index).reindex(values.index)
    if n == 2 or max_tiers == 2:
        names = ["top"] + ["low"] * (n - 1) if n == 2 else None
        if names is None:
            best = min(range(1, n), key=lambda i: _ss(x[:i]) + _ss(x[i:]))
            names = ["top"] * best + ["low"] * (n - best)
        return pd.Series(names, index=ordered.index).reindex(values.index)
    best, best_cost = (1, 2), np.inf
    for i, j in combinations(range(1, n), 2):
        cost = _ss(x[:i]) + _ss(x[i:j]) + _ss(x[j:])
        if cost < best_cost - 1e-12:
            best, best_cost = (i, j), cost
    i, j = best
    names = ["top"] * i + ["mid"] * (j - i) + ["low"] * (n - j)
    return pd.Series(names, index=ordered.index).reindex(values.index)


def _ss(x: np.ndarray) -> float:
    return float(((x - x.mean()) ** 2).sum()) if len(x) else 0.0


def _share(categorical: pd.DataFrame, segment: int, feature: str, values) -> float | None:
    rows = categorical[(categorical["feature"] == feature)]
    if rows.empty:
        return None
    mine = rows[(rows["segment"] == segment) & rows["value"].isin(list(values))]
    return float(mine["share"].sum())


def _numeric(profiles: SegmentProfiles, column: str) -> pd.DataFrame | None:
    rows = profiles.numeric[profiles.numeric["feature"] == column]
    return None if rows.empty or not rows["mean"].notna().any() else rows.set_index("segment")


def segment_facts(profiles: SegmentProfiles, period=None) -> dict[int, SegmentFacts]:
    """The :class:`SegmentFacts` of every segment (see the module docstring).

    ``period`` is a :class:`~seglab.personas.period.PeriodFigures` (for the trend) or None.
    """
    overview = profiles.overview
    cat = profiles.categorical
    facts: dict[int, SegmentFacts] = {}
    alive = _numeric(profiles, "prob_alive")
    recency = _numeric(profiles, "recency_days")
    tenure = _numeric(profiles, "tenure_days")
    for s in profiles.segments:
        row = overview.loc[s]
        f = SegmentFacts(segment=s, customers=int(row["customers"]), share=float(row["share"]),
                         revenue_share=float(row["revenue_share"]) if "revenue_share" in row
                         and pd.notna(row["revenue_share"]) else None, extra={"segments": len(profiles.segments)})
        f.lapsed_share = _share(cat, s, "journey_stage", LAPSED_STAGES)
        f.at_risk_share = _share(cat, s, "rfm_segment", AT_RISK_RFM)
        f.new_share = _share(cat, s, "rfm_segment", NEW_RFM)
        f.loyal_share = _share(cat, s, "rfm_segment", LOYAL_RFM)
        f.prob_alive = float(alive.loc[s, "mean"]) if alive is not None and pd.notna(alive.loc[s, "mean"]) else None
        f.status, f.evidence = _status(f, recency, tenure)
        facts[s] = f
    _value(profiles, facts)
    _capacity(profiles, facts)
    if period is not None and getattr(period, "available", False) and period.label("previous"):
        for s, f in facts.items():
            now, then = period.segment(s, "current"), period.segment(s, "previous")
            if then.get("revenue"):
                f.trend = float(now.get("revenue", 0) / then["revenue"] - 1) if then["revenue"] > 0 else None
    return facts


def _status(f: SegmentFacts, recency, tenure) -> tuple[str | None, str]:
    from seglab.personas.wording import format_value

    pct = lambda v: format_value(v, "share")  # noqa: E731
    if f.lapsed_share is not None:
        if f.lapsed_share >= LAPSED_SHARE:
            return "lapsed", f"{pct(f.lapsed_share)} lapsed or churned (journey stage)"
    elif f.prob_alive is not None:
        if f.prob_alive <= LAPSED_PROB_ALIVE:
            return "lapsed", f"only {pct(f.prob_alive)} likely to be still active"
    elif recency is not None and f.segment in recency.index:
        mean, rest = recency.loc[f.segment, "mean"], recency.loc[f.segment, "rest_mean"]
        if pd.notna(mean) and mean >= LAPSED_DAYS and pd.notna(rest) and mean >= 2 * rest:
            return "lapsed", f"last bought {format_value(mean, 'days')} ago on average"
    if f.at_risk_share is not None and f.at_risk_share >= 0.5:
        return "at risk", f"{pct(f.at_risk_share)} At risk, Can't lose them or About to sleep (RFM segment)"
    if f.new_share is not None and f.new_share >= 0.5:
        return "new", f"{pct(f.new_share)} New or Promising (RFM segment)"
    if tenure is not None and f.segment in tenure.index:
        mean, rest = tenure.loc[f.segment, "mean"], tenure.loc[f.segment, "rest_mean"]
        if pd.notna(mean) and pd.notna(rest) and rest > 0 and mean <= 0.5 * rest:
            return "new", f"first bought {format_value(mean, 'days')} ago on average"
    return None, ""


def _value(profiles: SegmentProfiles, facts: dict[int, SegmentFacts]) -> None:
    column = next((c for c in VALUE_COLUMNS if _numeric(profiles, c) is not None), None)
    past = next((c for c in PAST_VALUE_COLUMNS if _numeric(profiles, c) is not None), None)
    if column is not None:
        table = _numeric(profiles, column)
        values = table["mean"].astype(float)
        active = [s for s, f in facts.items() if f.status != "lapsed"] or list(facts)
        log = column != "spending_score"
        tiers = natural_tiers(values.loc[active], log=log)
        ranks = values.loc[active].rank(ascending=False, method="first")
        for s, f in facts.items():
            f.value_column, f.value = column, float(values.loc[s]) if pd.notna(values.loc[s]) else None
            f.value_contrast = float(table.loc[s, "contrast"])
            if s in tiers.index:
                f.tier, f.tiers = tiers.loc[s], int(tiers.nunique())
                f.value_rank = int(ranks.loc[s]) - 1
    if past is not None:
        table = _numeric(profiles, past)
        ranks = table["mean"].rank(ascending=False, method="first")
        for s, f in facts.items():
            f.past_column, f.past_value = past, float(table.loc[s, "mean"])
            f.past_rank = int(ranks.loc[s]) - 1


def _capacity(profiles: SegmentProfiles, facts: dict[int, SegmentFacts]) -> None:
    column = next((c for c in CAPACITY_COLUMNS if _numeric(profiles, c) is not None), None)
    if column is None:
        return
    table = _numeric(profiles, column)
    for s, f in facts.items():
        f.capacity_column, f.capacity_contrast = column, float(table.loc[s, "contrast"])
