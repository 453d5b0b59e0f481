"""Where customers are in their journey: stage, browsing, carts, support, email engagement.

The **stage** comes from purchases in the look-back window (thresholds are
parameters), checked in this order:

==================  =========================================================
stage               rule
==================  =========================================================
never bought        no purchase in the window (visitors, sign-ups, prospects)
churned             last purchase ``churned_days`` or more before the snapshot
lapsed              last purchase ``lapsed_days`` or more before the snapshot
loyal               ``loyal_orders`` or more orders
repeat              2 or more orders
one-time buyer      1 order
==================  =========================================================

Event features (from the optional ``events`` table) count visits, product views,
cart adds and abandons, checkouts, support contacts and emails in the window.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from seglab._validation import check_range
from seglab.exceptions import ParameterError
from seglab.features.rfm import DAYS_PER_MONTH

__all__ = ["JOURNEY_STAGES", "journey_stage", "events_expr", "finish_events", "window_events"]

JOURNEY_STAGES = ("never bought", "one-time buyer", "repeat", "loyal", "lapsed", "churned")
"""The journey stages, in the order of the customer life cycle."""

_COUNTS = {"visit": "visits", "product_view": "product_views", "cart_add": "cart_adds",
           "cart_abandon": "cart_abandons", "checkout": "checkouts",
           "support_contact": "support_contacts", "email_sent": "emails_sent",
           "email_open": "email_opens", "email_click": "email_clicks"}


def journey_stage(orders: pd.Series, recency_days: pd.Series, *, lapsed_days: int = 180,
                  churned_days: int = 365, loyal_orders: int = 4) -> pd.Series:
    """The journey stage of each customer (see the module docstring for the rules).

    >>> journey_stage(pd.Series([0, 1, 3, 6, 6, 2]), pd.Series([None, 10, 20, 5, 200, 400])).tolist()
    ['never bought', 'one-time buyer', 'repeat', 'loyal', 'lapsed', 'churned']
    """
    check_range(lapsed_days, name="lapsed_days", low=1, integer=True)
    check_range(loyal_orders, name="loyal_orders", low=2, integer=True)
    if churned_days <= lapsed_days:
        raise ParameterError(f"churned_days ({churned_days}) must be greater than lapsed_days "
                             f"({lapsed_days})")
    n = orders.fillna(0).to_numpy(dtype=float)
    days = recency_days.to_numpy(dtype=float)
    stage = np.select(
        [n <= 0, days >= churned_days, days >= lapsed_days, n >= loyal_orders, n >= 2],
        ["never bought", "churned", "lapsed", "loyal", "repeat"], default="one-time buyer")
    return pd.Series(pd.Categorical(stage, categories=JOURNEY_STAGES, ordered=True),
                     index=orders.index, name="journey_stage")


def window_events(events: ibis.Table, *, as_of: pd.Timestamp, lookback_days: int | None) -> ibis.Table:
    """Events on or before the snapshot day and within the look-back window."""
    cutoff = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    keep = events.timestamp < cutoff.to_pydatetime()
    if lookback_days:
        keep &= events.timestamp >= (cutoff - pd.Timedelta(days=int(lookback_days))).to_pydatetime()
    return events.filter(keep)


def events_expr(events: ibis.Table, *, as_of: pd.Timestamp) -> ibis.Table:
    """Per customer: a count per known event type, first and last event day."""
    aggs = {name: (events.event_type == kind).sum() for kind, name in _COUNTS.items()}
    day = events.timestamp.date()
    snapshot = ibis.date(pd.Timestamp(as_of).date())
    agg = events.group_by("customer_id").aggregate(first_event=day.min(), last_event=day.max(), **aggs)
    return agg.mutate(days_since_last_event=snapshot.delta(agg.last_event, unit="day"),
                      days_since_first_event=snapshot.delta(agg.first_event, unit="day"))


def finish_events(raw: pd.DataFrame, orders: pd.Series, *, lookback_days: int | None) -> pd.DataFrame:
    """Rates from the event counts: abandonment, email engagement, visits per month, support per order.

    ``orders`` holds each customer's purchase orders (indexed by customer id).
    """
    out = pd.DataFrame({"customer_id": raw["customer_id"].astype("str")})
    counts = {name: raw[name].astype(float).to_numpy() for name in _COUNTS.values()}
    n_orders = orders.reindex(out["customer_id"]).fillna(0).to_numpy(dtype=float)
    span = raw["days_since_first_event"].astype(float).to_numpy() + 1
    if lookback_days:
        span = np.minimum(span, lookback_days)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["visits_per_month"] = counts["visits"] / np.maximum(span, DAYS_PER_MONTH) * DAYS_PER_MONTH
        out["product_views"] = counts["product_views"]
        out["cart_abandons"] = counts["cart_abandons"]
        out["cart_abandon_rate"] = np.where(counts["cart_adds"] > 0,
                                            counts["cart_abandons"] / counts["cart_adds"], np.nan)
        out["visit_conversion"] = np.where(counts["visits"] > 0,
                                           np.minimum(n_orders / counts["visits"], 1.0), np.nan)
        out["support_contacts"] = counts["support_contacts"]
        out["support_per_order"] = np.where(n_orders > 0, counts["support_contacts"] / n_orders, np.nan)
        sent = counts["emails_sent"]
        out["email_open_rate"] = np.where(sent > 0, np.minimum(counts["email_opens"] / sent, 1.0), np.nan)
        out["email_click_rate"] = np.where(sent > 0, np.minimum(counts["email_clicks"] / sent, 1.0), np.nan)
        out["days_since_last_event"] = raw["days_since_last_event"].astype(float).to_numpy()
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)
