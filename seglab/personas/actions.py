"""Recommended actions per segment, from what the segment is made of: documented rules, not
a black box.

The facts come from :mod:`seglab.personas.facts` (status from the journey-stage and RFM
mix, value tier within this segmentation, past spend rank, income-like capacity, trend
since last period). One *main* action per segment, the first rule that applies:

======================  ===========================================================================
action                  when
======================  ===========================================================================
Win back                mostly lapsed (two in three lapsed or churned) and their past spend per
                        customer ranks in the upper half of the segments
Reactivate at low cost  mostly lapsed, past spend in the lower half
Prevent churn           at risk: half or more At risk, Can't lose them or About to sleep (RFM)
Onboard                 new: half or more New or Promising (RFM), or tenure at most half the others'
Develop and upsell      income-like capacity clearly above the other customers' (contrast ≥ 0.5)
                        while their value is below (contrast ≤ −0.3): they could spend more
Reward and retain       the top value tier
Nurture                 the middle value tier (or no value measure)
Serve at low cost       the low value tier
======================  ===========================================================================

and any of these on top:

======================  ===========================================================================
Prevent churn           revenue this period at least 25% below the previous period's (same
                        customers), when the main action is not already about lapsing
Reduce returns          return rate at least 1.5 × the other customers' and at least 10%
Protect margin          share of spend on discount at least 1.5 × the other customers'
Convert browsers        cart abandonment at least 1.2 × the other customers'
======================  ===========================================================================

Each action says why in one line with the segment's numbers, what to do, the channels
the data shows for the segment (its most used sales channel; email only when the data
has email events or addresses; matched paid-social audiences only with e-mail hashes)
and the KPIs to watch, only among measures the data has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from seglab.personas.facts import SegmentFacts, segment_facts
from seglab.personas.profiles import SegmentProfiles
from seglab.personas.wording import (feature_kind, feature_label, format_pair, format_value, signed_share,
                                     window_text)

__all__ = ["recommend_actions", "ACTIONS", "KPIS"]

ACTIONS = {
    "Win back": "a personal win-back offer and a 'we miss you' message; ask what went wrong; start with "
                "the biggest past spenders",
    "Reactivate at low cost": "one automated reminder or offer; stop after no response; no costly incentives",
    "Prevent churn": "reach out before they lapse: a check-in, a reason to come back, follow up on service",
    "Onboard": "a welcome series and an incentive for the second purchase",
    "Develop and upsell": "they can afford more: premium ranges, bundles, personalised recommendations",
    "Reward and retain": "loyalty rewards, early access, a personal thank-you; protect the relationship",
    "Nurture": "recommendations and reminders at their buying rhythm; cross-sell",
    "Serve at low cost": "automated, low-cost contact; no expensive incentives",
    "Reduce returns": "size and fit guidance, better product information; review the most returned products",
    "Protect margin": "value messaging and bundles instead of price cuts",
    "Convert browsers": "cart reminders and retargeting",
}
"""Action → what to do."""

UNDATED_ACTIONS = {"Nurture": "recommendations and regular, relevant contact; cross-sell"}
"""What to do instead when the data has no dated purchases (no buying rhythm to follow)."""

KPIS: dict[str, list[tuple[str, str]]] = {
    "Win back": [("customers buying again next period", "transactions"),
                 ("revenue from the segment next period", "transactions"),
                 ("time since last purchase", "recency_days")],
    "Reactivate at low cost": [("customers buying again next period", "transactions"),
                               ("time since last purchase", "recency_days")],
    "Prevent churn": [("probability still active", "prob_alive"), ("customers active this period", "transactions"),
                      ("time since last purchase", "recency_days")],
    "Onboard": [("second-purchase rate", "transactions"), ("orders", "orders")],
    "Develop and upsell": [("spending score", "spending_score"), ("total spend", "total_spend"),
                           ("average order value", "avg_order_value"), ("revenue this period", "transactions"),
                           ("campaign response", "responded_last_campaign")],
    "Reward and retain": [("probability still active", "prob_alive"), ("revenue this period", "transactions"),
                          ("orders", "orders"), ("spending score", "spending_score"), ("total spend", "total_spend")],
    "Nurture": [("orders per month", "orders_per_month"), ("average order value", "avg_order_value"),
                ("revenue this period", "transactions"), ("spending score", "spending_score"),
                ("total spend", "total_spend"), ("campaign response", "responded_last_campaign")],
    "Serve at low cost": [("revenue this period", "transactions"), ("orders", "orders"),
                          ("spending score", "spending_score"), ("total spend", "total_spend")],
    "Reduce returns": [("return rate", "return_rate")],
    "Protect margin": [("share of spend on discount", "discount_share")],
    "Convert browsers": [("cart abandonment rate", "cart_abandon_rate"), ("visit conversion", "visit_conversion")],
}
"""Action → (KPI, the column or ``transactions`` it needs); a KPI is listed only when the data has it."""

_CHANNEL_COLUMNS = {"web_purchases": "web", "store_purchases": "store", "catalog_purchases": "catalogue"}


def _ordinal(n: int, of: int) -> str:
    """The rank ``n`` of ``of`` in words: "highest", "2nd highest", …, "lowest".

    >>> [_ordinal(n, 5) for n in (1, 2, 3, 4, 5)]
    ['highest', '2nd highest', '3rd highest', '2nd lowest', 'lowest']
    >>> _ordinal(4, 9), _ordinal(1, 1)
    ('4th highest', 'highest')
    """
    if n > 1 and n == of:
        return "lowest"
    if n > 2 and n == of - 1:
        return "2nd lowest"
    return {1: "highest", 2: "2nd highest", 3: "3rd highest"}.get(n, f"{n}th highest")


class _Context:
    """What the why-lines need: the profiles' numbers, words and the period."""

    def __init__(self, profiles: SegmentProfiles, dictionary, period):
        self.profiles, self.dictionary, self.period = profiles, dictionary, period
        meta = dictionary.meta if dictionary is not None else {}
        self.currency = meta.get("currency", "") or ""
        self.window = window_text(meta.get("lookback_days"), meta.get("as_of"))
        self.numeric = profiles.numeric.set_index(["segment", "feature"])
        revenue = profiles.revenue
        self.revenue_words = (f"revenue over {self.window}" if revenue in (None, "net_revenue")
                              else feature_label(revenue, dictionary))

    def get(self, segment: int, feature: str, field: str = "mean") -> float:
        key = (segment, feature)
        if key not in self.numeric.index:
            return np.nan
        value = self.numeric.loc[key, field]
        return float(value) if pd.notna(value) else np.nan

    def value_text(self, feature: str, value: float) -> str:
        return format_value(value, feature_kind(feature, self.dictionary), self.currency)

    def versus(self, segment: int, feature: str) -> str:
        """"{label} {value} ({rest} for other customers)"."""
        mine, rest = format_pair(self.get(segment, feature), self.get(segment, feature, "rest_mean"),
                                 feature_kind(feature, self.dictionary), self.currency)
        return f"{feature_label(feature, self.dictionary)} {mine} ({rest} for other customers)"

    def above(self, segment: int, feature: str, factor: float) -> bool:
        """The segment's mean is positive and at least ``factor`` × the other customers' (also
        when theirs is 0: a segment that returns 15% among customers who return nothing)."""
        mine, rest = self.get(segment, feature), self.get(segment, feature, "rest_mean")
        return bool(np.isfinite(mine) and np.isfinite(rest) and mine > 0 and mine >= factor * max(rest, 0.0))

    def label(self, feature: str) -> str:
        label = feature_label(feature, self.dictionary)
        return f"{label} over {self.window}" if feature in ("net_revenue", "orders") else label


def _why(action: str, f: SegmentFacts, ctx: _Context, facts: Mapping[int, SegmentFacts]) -> str:
    s, n = f.segment, len(facts)
    if action in ("Win back", "Reactivate at low cost"):
        past = ""
        if f.past_column is not None and f.past_value is not None:
            past = (f"; they spent {ctx.value_text(f.past_column, f.past_value)} each over {ctx.window}, the "
                    f"{_ordinal(f.past_rank + 1, n)} of {n} segments")
        fading = _trend_text(f, ctx, prefix="; ") if f.trend is not None and f.trend <= -0.25 else ""
        return f"{f.evidence}{past}{fading}"
    if action == "Prevent churn" and f.status == "at risk":
        return f.evidence + _trend_text(f, ctx, prefix="; ")
    if action == "Prevent churn":
        return _trend_text(f, ctx).lstrip("; ")
    if action == "Onboard":
        return f.evidence
    if action == "Develop and upsell":
        return f"{ctx.versus(s, f.capacity_column)} but {ctx.versus(s, f.value_column)}"
    if action == "Reward and retain":
        text = _share_text(f, ctx)
        if f.loyal_share is not None and f.loyal_share >= 0.5:
            text += f"; {format_value(f.loyal_share, 'share')} Champions or Loyal (RFM segment)"
        elif f.value_column is not None:
            text += f"; {ctx.versus(s, f.value_column)}"
        return text
    if action in ("Nurture", "Serve at low cost"):
        if f.value_column is None or f.value is None:
            return _share_text(f, ctx)
        active = [g for g in facts.values() if g.value_rank is not None and g.value is not None]
        each = "each" if feature_kind(f.value_column, ctx.dictionary) == "money" else "on average"
        text = f"{_share_text(f, ctx)}; {ctx.label(f.value_column)} {ctx.value_text(f.value_column, f.value)} {each}"
        if len(active) < 2 or f.value_rank is None:
            return text
        top = max(active, key=lambda g: g.value)
        low = min(active, key=lambda g: g.value)
        group = f"{len(active)} {'active ' if len(active) < n else ''}segments"
        if f is low:
            return f"{text}, the lowest of {group} (the top one: {ctx.value_text(f.value_column, top.value)})"
        if f is top:
            return f"{text}, the highest of {group} (the lowest: {ctx.value_text(f.value_column, low.value)})"
        if action == "Serve at low cost":
            return f"{text}, close to the lowest of {group} (the top one: {ctx.value_text(f.value_column, top.value)})"
        return (f"{text}, between the top ({ctx.value_text(f.value_column, top.value)}) and the lowest "
                f"({ctx.value_text(f.value_column, low.value)}) of {group}")
    if action == "Reduce returns":
        return f"{ctx.versus(s, 'return_rate')}"
    if action == "Protect margin":
        return f"{ctx.versus(s, 'discount_share')}"
    if action == "Convert browsers":
        return f"{ctx.versus(s, 'cart_abandon_rate')}"
    return ""


def _share_text(f: SegmentFacts, ctx: _Context) -> str:
    text = f"{format_value(f.share, 'share')} of customers"
    period = ctx.period
    if period is not None and getattr(period, "available", False):
        mine = period.segment(f.segment)
        if mine.get("revenue_share") is not None:
            text += f" bring {format_value(mine['revenue_share'], 'share')} of {period.period}'s revenue"
            if f.revenue_share is not None:
                text += f" ({format_value(f.revenue_share, 'share')} over {ctx.window})"
            return text
    if f.revenue_share is not None:
        text += f" bring {format_value(f.revenue_share, 'share')} of {ctx.revenue_words}"
    return text


def _trend_text(f: SegmentFacts, ctx: _Context, prefix: str = "") -> str:
    period = ctx.period
    if f.trend is None or period is None:
        return ""
    now, then = period.segment(f.segment, "current"), period.segment(f.segment, "previous")
    if now["revenue"] < 0:  # more refunded than sold: a percentage below −100% reads as nonsense
        return (f"{prefix}{period.period} brought net returns of {ctx.value_text('net_revenue', now['revenue'])}, "
                f"against {ctx.value_text('net_revenue', then['revenue'])} of revenue in {period.label('previous')}")
    return (f"{prefix}{period.period} revenue {ctx.value_text('net_revenue', now['revenue'])}, "
            f"{signed_share(f.trend)} on {period.label('previous')} "
            f"({ctx.value_text('net_revenue', then['revenue'])})")


NEWCOMER_SHARE = 0.4
"""A segment holding this share of the period's new customers (and at least 20 of them) is
also told to onboard them, whatever its main action."""


def _newcomers(segment: int, period) -> str:
    """Why to onboard a segment's newcomers ("234 of 2011Q3's 396 new customers (59%)"), or ""."""
    if period is None or not getattr(period, "available", False):
        return ""
    mine, total = period.segment(segment).get("new"), period.total().get("new")
    if not mine or not total or mine < 20 or mine / total < NEWCOMER_SHARE:
        return ""
    return (f"{mine:,} of {period.period}'s {total:,} new customers ({format_value(mine / total, 'share')}) "
            "are in this segment")


def _main_action(f: SegmentFacts) -> str:
    if f.status == "lapsed":
        return "Win back" if f.past_upper or f.past_rank is None else "Reactivate at low cost"
    if f.status == "at risk":
        return "Prevent churn"
    if f.status == "new":
        return "Onboard"
    if f.capacity_contrast is not None and f.capacity_contrast >= 0.5 and f.value_contrast is not None \
            and f.value_contrast <= -0.3:
        return "Develop and upsell"
    if f.tiers >= 2 and f.tier == "top":
        return "Reward and retain"
    if f.tiers >= 2 and f.tier == "low":
        return "Serve at low cost"
    return "Nurture"


def _channels(profiles: SegmentProfiles, segment: int, status: str | None, contacts: set[str]) -> list[str]:
    """The segment's most used sales channel, then any channel it uses distinctly more than the
    other customers (half as much again, and half a standard deviation), then the contacts."""
    mine = profiles.numeric[profiles.numeric["segment"] == segment]
    channels = []
    for rows, name in ((mine[mine["feature"].str.startswith("channel_share_")],
                        lambda f: f.removeprefix("channel_share_")),
                       (mine[mine["feature"].isin(list(_CHANNEL_COLUMNS))], _CHANNEL_COLUMNS.get)):
        if rows.empty or not rows["mean"].notna().any():
            continue
        channels.append(name(rows.sort_values(["mean", "feature"], ascending=[False, True]).iloc[0]["feature"]))
        distinct = rows[(rows["mean"] >= 1.5 * rows["rest_mean"]) & (rows["contrast"] >= 0.5)]
        channels += [name(f) for f in distinct.sort_values(["contrast", "feature"], ascending=[False, True])["feature"]]
    if "email" in contacts:
        channels.append("email")
    if status in ("lapsed", "at risk") and "email_sha256" in contacts:
        channels.append("paid social (matched audience)")
    return list(dict.fromkeys(channels))


def recommend_actions(profiles: SegmentProfiles, *, facts: Mapping[int, SegmentFacts] | None = None,
                      dictionary=None, period=None, contacts: Iterable[str] = ()) -> dict[int, list[dict]]:
    """The actions of each segment (see the module docstring for the rules).

    Parameters
    ----------
    profiles
        From :func:`~seglab.personas.profiles.profile_segments`.
    facts
        :func:`~seglab.personas.facts.segment_facts` (computed when omitted).
    dictionary
        The feature dictionary (labels, units, currency, look-back window).
    period
        The period's figures (:func:`~seglab.personas.period.period_figures`), for the
        trend and this period's revenue.
    contacts
        The contact data the customers have: ``email`` (e-mail events or addresses),
        ``email_sha256`` (hashed addresses for matched ad audiences). Email events in the
        features (an email open rate) count as ``email`` too.

    Returns
    -------
    dict
        Segment → list of ``{"action", "why", "do", "channels", "kpis"}``, main action first.
    """
    facts = dict(facts) if facts is not None else segment_facts(profiles, period)
    ctx = _Context(profiles, dictionary, period)
    have = set(profiles.numeric["feature"]) | set(profiles.categorical["feature"])
    if period is not None and getattr(period, "available", False):
        have.add("transactions")
    dated = bool(have & {"transactions", "recency_days", "orders_per_month"})
    contacts = set(contacts)
    if "email_open_rate" in have:
        contacts.add("email")
    out = {}
    for s, f in facts.items():
        chosen = [_main_action(f)]
        if f.trend is not None and f.trend <= -0.25 and chosen[0] not in ("Win back", "Reactivate at low cost",
                                                                           "Prevent churn"):
            chosen.append("Prevent churn")
        if ctx.above(s, "return_rate", 1.5) and ctx.get(s, "return_rate") >= 0.1:
            chosen.append("Reduce returns")
        if ctx.above(s, "discount_share", 1.5):
            chosen.append("Protect margin")
        if ctx.above(s, "cart_abandon_rate", 1.2):
            chosen.append("Convert browsers")
        newcomers = _newcomers(s, period)
        if newcomers and "Onboard" not in chosen:
            chosen.append("Onboard")
        channels = _channels(profiles, s, f.status, contacts)
        out[s] = [{"action": a, "why": newcomers if a == "Onboard" and f.status != "new" else _why(a, f, ctx, facts),
                   "do": ACTIONS[a] if dated else
                   UNDATED_ACTIONS.get(a, ACTIONS[a]), "channels": channels,
                   "kpis": [k for k, need in KPIS[a] if need in have][:3]} for a in dict.fromkeys(chosen)]
    return out
