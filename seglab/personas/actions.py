"""Recommended actions per segment: documented rules, not a black box.

=====================  ==========================================================  ==========================
action                 when (segment vs all customers)                             KPIs to watch
=====================  ==========================================================  ==========================
Reward and retain      value ≥ 1.5 × the average and not lapsed                    retention, CLV, orders
Win back               lapsed: probability alive ≤ 0.5 or recency ≥ 2 × average    reactivation, recency
Onboard                new: tenure ≤ 0.5 × the average                              second purchase, orders
Nurture                value between 0.6 and 1.5 × the average, not lapsed         order value, orders/month
Serve at low cost      value ≤ 0.6 × the average, not lapsed or new                cost to serve, orders
Reduce returns         return rate ≥ 1.5 × the average and ≥ 10 %                  return rate
Protect margin         discount share ≥ 1.5 × the average                           discount share, margin
Convert browsers       cart abandonment ≥ 1.2 × the average                         conversion, cart abandons
=====================  ==========================================================  ==========================

"Value" is the first value column the data has (CLV, net revenue, total spend, spending
score). Channels: the segment's most used sales channel, email when its open rate is
at least the average, and paid social / retargeting for win-back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seglab.personas.naming import VALUE_COLUMNS
from seglab.personas.profiles import SegmentProfiles

__all__ = ["recommend_actions", "ACTIONS"]

ACTIONS = {
    "Reward and retain": ("keep your most valuable customers: loyalty rewards, early access, a personal thank-you",
                          ["retention (probability alive)", "CLV", "orders"]),
    "Win back": ("they have gone quiet: a win-back offer, a 'we miss you' reminder, ask what went wrong",
                 ["reactivation rate", "days since last purchase"]),
    "Onboard": ("new customers: a welcome series and an incentive for the second purchase",
                ["second-purchase rate", "orders"]),
    "Nurture": ("steady customers with room to grow: recommendations, cross-sell and upsell",
                ["average order value", "orders per month"]),
    "Serve at low cost": ("low value: automated, low-cost contact; no expensive incentives",
                          ["cost to serve", "orders"]),
    "Reduce returns": ("they return a lot: size and fit guidance, better product information",
                       ["return rate"]),
    "Protect margin": ("they buy on discount: value messaging and bundles instead of price cuts",
                       ["discount share", "margin"]),
    "Convert browsers": ("many abandoned carts: cart reminders and retargeting",
                         ["conversion", "cart abandonment rate"]),
}
"""Action → (why, KPIs to watch)."""


def _lookup(profiles: SegmentProfiles, segment: int):
    table = profiles.numeric[profiles.numeric["segment"] == segment].set_index("feature")

    def get(col: str, field: str = "lift") -> float:
        return float(table.loc[col, field]) if col in table.index and pd.notna(table.loc[col, field]) else np.nan
    return get


def recommend_actions(profiles: SegmentProfiles) -> dict[int, list[dict]]:
    """The actions of each segment (see the module docstring), each with why, channels, KPIs."""
    out = {}
    for s in profiles.segments:
        get = _lookup(profiles, s)
        value = next((get(c) for c in VALUE_COLUMNS if np.isfinite(get(c))), np.nan)
        lapsed = (get("prob_alive", "mean") <= 0.5) or (get("recency_days") >= 2)
        new = get("tenure_days") <= 0.5
        chosen = []
        if lapsed:
            chosen.append("Win back")
        elif new:
            chosen.append("Onboard")
        if np.isfinite(value) and not lapsed:
            chosen.append("Reward and retain" if value >= 1.5 else "Serve at low cost" if value <= 0.6 and not new
                          else "Nurture")
        if get("return_rate") >= 1.5 and get("return_rate", "mean") >= 0.1:
            chosen.append("Reduce returns")
        if get("discount_share") >= 1.5:
            chosen.append("Protect margin")
        if get("cart_abandon_rate") >= 1.2:
            chosen.append("Convert browsers")
        if not chosen:
            chosen.append("Nurture")
        channels = _channels(profiles, s, lapsed)
        out[s] = [{"action": a, "why": ACTIONS[a][0], "channels": channels, "kpis": ACTIONS[a][1]}
                  for a in dict.fromkeys(chosen)]
    return out


def _channels(profiles: SegmentProfiles, segment: int, lapsed: bool) -> list[str]:
    get = _lookup(profiles, segment)
    shares = profiles.numeric[(profiles.numeric["segment"] == segment)
                              & profiles.numeric["feature"].str.startswith("channel_share_")]
    channels = []
    if not shares.empty:
        best = shares.sort_values("mean", ascending=False).iloc[0]
        channels.append(best["feature"].removeprefix("channel_share_"))
    if get("email_open_rate") >= 1 or not np.isfinite(get("email_open_rate")):
        channels.append("email")
    if lapsed:
        channels.append("paid social / retargeting")
    return channels
