"""Did the campaign work? Lift per campaign and segment, against a randomised control group.

For every campaign and segment (:func:`measure_campaigns`): the treated and control
customers, their conversion rates, the **absolute lift** (treated rate − control rate,
Newcombe's interval) and **relative lift** (ratio − 1, MOVER-R interval), revenue per
customer in both groups and its difference (bucket bootstrap), the **incremental
conversions and revenue** (lift × treated customers), and the **minimum detectable
effect** at these group sizes, so that a small test says it could not tell rather than
"no effect". Each cell gets a **verdict**:

``worked``
    the lift's interval lies above zero;
``backfired``
    it lies below zero (the campaign lowered conversion);
``no effect detected``
    the interval holds zero, and the test could have found a lift of ``meaningful_lift``
    (by default a quarter of the control group's rate) with 80 % power;
``underpowered``
    the interval holds zero, and the groups were too small to find such a lift;
``not measured``
    a group has fewer than two customers (a control group of zero or one customer gives no
    lift), with a note saying so.

Customers are counted once per campaign (several sends add up: converted if any send
converted, revenue summed); a customer found in both groups of one campaign is left out
and counted. Customers in no segment are measured apart (:data:`NOT_SEGMENTED`). The
work that touches every customer runs in the engine (DuckDB by default): one aggregation
per campaign, segment, group and bootstrap bucket; everything after it is per cell.

:func:`review_actions` reads the verdicts over time: an action whose last two
conclusive tests in a segment showed no effect, or whose last one backfired, is flagged
for review, and the report puts the flag beside the recommended action.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from seglab._validation import check_range, require_columns
from seglab.config import Period
from seglab.measure._period import period_of, windows
from seglab.personas.wording import plural
from seglab.measure.intervals import (BUCKETS, bucket_bootstrap, minimum_detectable_lift, newcombe_interval,
                                      planning_rate, ratio_interval)

__all__ = ["CampaignResults", "measure_campaigns", "review_actions", "VERDICTS", "NOT_SEGMENTED",
           "MEANINGFUL_LIFT", "MIN_GROUP"]

logger = logging.getLogger(__name__)

VERDICTS = ("worked", "backfired", "no effect detected", "underpowered", "not measured")
"""Every verdict a campaign × segment cell can get, best evidence first."""

NOT_SEGMENTED = -2
"""Segment number of campaign customers who are in no segment (not in the segmentation)."""

MEANINGFUL_LIFT = 0.25
"""Default smallest lift worth finding, relative to the control group's rate: a test that
could not find it with 80 % power is *underpowered*."""

MIN_GROUP = 20
"""The report shows a campaign × segment test in full when both groups hold at least this
many customers; smaller ones (a campaign that reached a few customers of another segment)
are listed as too few to tell. They are measured all the same."""

_CONCLUSIVE = ("worked", "backfired", "no effect detected")


@dataclass
class CampaignResults:
    """The measured campaigns (see the module docstring).

    Attributes
    ----------
    cells
        One row per campaign and segment: ``campaign_id``, ``segment``, ``action``,
        ``treated``, ``control``, ``conversions_treated``, ``conversions_control``,
        ``rate_treated``, ``rate_control``, ``lift`` (``lift_low``, ``lift_high``),
        ``relative_lift`` (``relative_low``, ``relative_high``), ``revenue_treated``,
        ``revenue_control`` (per customer), ``revenue_lift`` (``revenue_low``,
        ``revenue_high``), ``incremental_conversions``, ``incremental_revenue``
        (``incremental_revenue_low``, ``incremental_revenue_high``), ``mde`` (minimum
        detectable lift, absolute), ``verdict`` and ``note``.
    campaigns
        One row per campaign: ``campaign_id``, ``channel``, ``action``, ``first_sent``,
        ``last_sent``, ``period`` (the period it was sent in), ``in_period`` (sent in the
        period of the run) and the same measures over all its customers.
    notes
        What was left out and why (customers in both groups, …).
    settings
        ``confidence``, ``power``, ``meaningful_lift``, ``n_resamples``, ``seed``.
    """

    cells: pd.DataFrame
    campaigns: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def in_period(self) -> pd.DataFrame:
        """The cells of the campaigns sent in the run's period."""
        ids = self.campaigns.loc[self.campaigns["in_period"], "campaign_id"]
        return self.cells[self.cells["campaign_id"].isin(ids)]


def measure_campaigns(campaigns, segments, *, names: Mapping[int, str] | None = None,
                      actions: Mapping[int, str] | None = None, period: str | Period | None = None,
                      confidence: float = 0.95, power: float = 0.8,
                      meaningful_lift: float = MEANINGFUL_LIFT, n_resamples: int = 2000, seed: int = 0,
                      con=None) -> CampaignResults:
    """Lift of every campaign in every segment, with intervals, power and a verdict.

    Parameters
    ----------
    campaigns
        The canonical campaigns table (a pandas frame, a Parquet path or an Ibis table):
        ``customer_id``, ``campaign_id``, ``sent_at``, ``group`` (``treatment`` or
        ``control``), ``converted``; optional ``revenue``, ``channel``, ``action``.
    segments
        A run's segments file (joined by the engine), a frame or an Ibis table with
        ``customer_id`` and ``segment``: which segment each customer was in.
    names
        Segment names by number (for notes).
    actions
        The recommended action of each segment, used as the action of a campaign that
        names none (the campaigns table has no ``action`` column, or it is empty).
    period
        The run's period: campaigns first sent in it are ``in_period``; None (or a static
        period) puts every campaign in it.
    confidence, power
        Of the intervals; of the minimum detectable effect.
    meaningful_lift
        Smallest lift worth finding, relative to the control rate (see :data:`MEANINGFUL_LIFT`).
    n_resamples, seed
        Bootstrap replicates for revenue, and their seed (same inputs and seed, same intervals).
    con
        An Ibis connection (default: a new in-process DuckDB).

    Returns
    -------
    CampaignResults

    Raises
    ------
    SchemaError
        When a required column is missing.

    Examples
    --------
    >>> rows = pd.DataFrame({"customer_id": [f"c{i}" for i in range(400)], "campaign_id": "spring",
    ...                      "sent_at": pd.Timestamp("2025-04-01"),
    ...                      "group": ["treatment"] * 300 + ["control"] * 100,
    ...                      "converted": [True] * 90 + [False] * 210 + [True] * 15 + [False] * 85})
    >>> seg = pd.DataFrame({"customer_id": rows["customer_id"], "segment": 0})
    >>> cell = measure_campaigns(rows, seg).cells.iloc[0]
    >>> float(round(cell["lift"], 2)), cell["verdict"]
    (0.15, 'worked')
    """
    from seglab.features.engine import as_table, connect, execute, membership

    check_range(confidence, name="confidence", low=0.5, high=0.999)
    check_range(power, name="power", low=0.5, high=0.99)
    check_range(meaningful_lift, name="meaningful_lift", low=0.0, high=10.0)
    check_range(n_resamples, name="n_resamples", low=100, integer=True)
    con = connect(con or "duckdb")
    table = as_table(con, campaigns, name="campaigns")
    require_columns(pd.DataFrame(columns=table.columns), ["customer_id", "campaign_id", "sent_at", "group",
                                                          "converted"], table="campaigns")
    has_revenue = "revenue" in table.columns
    settings = {"confidence": confidence, "power": power, "meaningful_lift": meaningful_lift,
                "n_resamples": int(n_resamples), "seed": int(seed), "buckets": BUCKETS}

    per_customer = _per_customer(table, has_revenue)
    seg = membership(con, segments)
    joined = per_customer.join(seg, per_customer.customer_id == seg.member, how="left")
    joined = joined.mutate(segment=joined.segment.fill_null(NOT_SEGMENTED),
                           bucket=joined.customer_id.hexdigest("md5").substr(0, 2))
    sums = {"customers": joined.count(), "conversions": joined.converted.sum()}
    if has_revenue:
        # exact decimal sums, one rounding at the end: a float sum's order (threads) would change
        # the last digits from run to run, and the artifacts must not
        sums |= {"revenue": joined.revenue.sum().cast("float64"),
                 "revenue_squares": (joined.revenue * joined.revenue).sum().cast("float64")}
    keys = ["campaign_id", "segment", "group", "bucket"]
    # the engine returns groups in any order: sorted, every later float sum adds in one order
    buckets = execute(con, joined.group_by(keys).aggregate(**sums)).sort_values(keys, kind="stable",
                                                                                ignore_index=True)
    both = buckets["group"] == _BOTH  # one pass over the campaign rows: conflicts are counted here
    notes = []
    n_conflicted = int(buckets.loc[both, "customers"].sum())
    if n_conflicted:
        n_campaigns = int(buckets.loc[both, "campaign_id"].nunique())
        notes.append(f"{plural(n_conflicted, 'customer')} {'was' if n_conflicted == 1 else 'were'} in both the "
                     f"treatment and the control group of one campaign ({plural(n_campaigns, 'campaign')}); "
                     "they are left out of it")
    buckets = buckets.loc[~both.to_numpy()].reset_index(drop=True)
    about = execute(con, _campaign_facts(table))

    cells = _measure(buckets, ["campaign_id", "segment"], has_revenue, settings)
    totals = _measure(buckets, ["campaign_id"], has_revenue, settings)
    cells = _with_actions(cells, about, actions)
    campaigns_frame = _campaign_table(about, totals, period)
    unsegmented = cells.loc[cells["segment"] == NOT_SEGMENTED, ["treated", "control"]].sum().sum()
    if unsegmented:
        notes.append(f"{plural(int(unsegmented), 'campaign customer')} {'is' if unsegmented == 1 else 'are'} in no "
                     "segment (not among the customers segmented); they are measured apart")
    order = cells.merge(campaigns_frame[["campaign_id", "first_sent"]], on="campaign_id")
    cells = order.sort_values(["first_sent", "campaign_id", "segment"], kind="stable").drop(columns="first_sent")
    if names:
        cells.insert(2, "name", cells["segment"].map(lambda s: names.get(int(s), "in no segment"
                                                                           if s == NOT_SEGMENTED else f"segment {s}")))
    logger.info("measured %d campaigns in %d cells", len(campaigns_frame), len(cells))
    return CampaignResults(cells=cells.reset_index(drop=True), campaigns=campaigns_frame, notes=notes,
                           settings=settings)


_MONEY = "decimal(18, 4)"
"""Revenue is summed exactly, in ten-thousandths of the currency."""

_BOTH = "both"
"""The group of a customer found in both groups of one campaign (left out of it, counted)."""


def _per_customer(table: ibis.Table, has_revenue: bool) -> ibis.Table:
    """One row per campaign and customer: their group (:data:`_BOTH` when they were in both),
    whether any send converted, revenue. (``min != max`` rather than a distinct count: the
    distinct count made this aggregation, the measurement's costliest, six times slower.)"""
    clean = table.filter(table.customer_id.notnull() & table.campaign_id.notnull()
                         & table.group.isin(["treatment", "control"]) & table.converted.notnull())
    metrics = {"group": (clean.group.min() != clean.group.max()).ifelse(_BOTH, clean.group.max()),
               "converted": clean.converted.cast("int8").max()}
    if has_revenue:
        metrics["revenue"] = clean.revenue.fill_null(0).cast(_MONEY).sum()  # in 1/10,000 of the currency
    return clean.group_by(["campaign_id", "customer_id"]).aggregate(**metrics)


def _campaign_facts(table: ibis.Table) -> ibis.Table:
    """Per campaign: first and last send, its channels and its action (the first by name
    when rows disagree)."""
    facts = {"first_sent": table.sent_at.min(), "last_sent": table.sent_at.max()}
    if "channel" in table.columns:
        facts["channels"] = table.channel.collect(distinct=True)
    if "action" in table.columns:
        facts["action"] = table.action.min()
    return table.filter(table.campaign_id.notnull()).group_by("campaign_id").aggregate(**facts)


def _measure(buckets: pd.DataFrame, keys: list[str], has_revenue: bool, settings: dict) -> pd.DataFrame:
    """The measures per ``keys`` cell from the per-bucket sums."""
    value_cols = ["customers", "conversions"] + (["revenue", "revenue_squares"] if has_revenue else [])
    per_bucket = buckets.groupby([*keys, "group", "bucket"], sort=True)[value_cols].sum().reset_index()
    wide = per_bucket.groupby([*keys, "group"])[value_cols].sum().unstack("group", fill_value=0)
    out = pd.DataFrame(index=wide.index)
    for col in value_cols:
        for group, short in (("treatment", "treated"), ("control", "control")):
            values = wide[(col, group)] if (col, group) in wide.columns else 0
            out[f"{col}_{short}"] = np.asarray(values, dtype="float64") if not np.isscalar(values) else 0.0
    out = out.reset_index()
    nt, nc = out["customers_treated"].to_numpy(), out["customers_control"].to_numpy()
    kt, kc = out["conversions_treated"].to_numpy(), out["conversions_control"].to_numpy()
    conf = settings["confidence"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_t, rate_c = kt / nt, kc / nc
    lift_low, lift_high = newcombe_interval(kt, nt, kc, nc, conf)
    ratio_low, ratio_high = ratio_interval(kt, nt, kc, nc, conf)
    planned = planning_rate(kc, nc)
    mde = minimum_detectable_lift(planned, nt, nc, alpha=1 - conf, power=settings["power"])
    cells = pd.DataFrame({k: out[k] for k in keys})
    cells = cells.assign(
        treated=nt.astype("int64"), control=nc.astype("int64"),
        conversions_treated=kt.astype("int64"), conversions_control=kc.astype("int64"),
        rate_treated=rate_t, rate_control=rate_c, lift=rate_t - rate_c, lift_low=lift_low, lift_high=lift_high,
        relative_lift=np.where(rate_c > 0, rate_t / np.where(rate_c > 0, rate_c, 1) - 1, np.nan),
        relative_low=ratio_low - 1, relative_high=ratio_high - 1)
    cells["incremental_conversions"] = cells["lift"] * nt
    cells["mde"] = mde
    cells["planning_rate"] = planned
    if has_revenue:
        with np.errstate(divide="ignore", invalid="ignore"):
            rev_t, rev_c = out["revenue_treated"].to_numpy() / nt, out["revenue_control"].to_numpy() / nc
        boot = _bootstrap(per_bucket, out[keys], keys, settings)
        cells = cells.assign(revenue_treated=rev_t, revenue_control=rev_c, revenue_lift=rev_t - rev_c,
                             revenue_low=boot["difference_low"], revenue_high=boot["difference_high"])
        cells["incremental_revenue"] = cells["revenue_lift"] * nt
        cells["incremental_revenue_low"] = cells["revenue_low"] * nt
        cells["incremental_revenue_high"] = cells["revenue_high"] * nt
    verdict, note = _verdicts(cells, settings["meaningful_lift"], settings["power"])
    return cells.assign(verdict=verdict, note=note)


def _bootstrap(per_bucket: pd.DataFrame, cells: pd.DataFrame, keys: list[str], settings: dict) -> dict:
    """Arrays (bucket × cell) of each group's revenue and customers, bootstrapped."""
    cell_index = pd.MultiIndex.from_frame(cells[keys]) if len(keys) > 1 else pd.Index(cells[keys[0]])
    row_keys = (pd.MultiIndex.from_frame(per_bucket[keys]) if len(keys) > 1 else pd.Index(per_bucket[keys[0]]))
    column = cell_index.get_indexer(row_keys)
    buckets = pd.Index(sorted(per_bucket["bucket"].astype("str").unique()))
    row = buckets.get_indexer(per_bucket["bucket"].astype("str"))
    arrays = {}
    for group in ("treatment", "control"):
        mine = (per_bucket["group"] == group).to_numpy()
        for value in ("revenue", "customers"):
            grid = np.zeros((max(len(buckets), 1), len(cells)))
            grid[row[mine], column[mine]] = per_bucket.loc[mine, value].to_numpy(dtype="float64")
            arrays[(group, value)] = grid
    return bucket_bootstrap(arrays[("treatment", "revenue")], arrays[("treatment", "customers")],
                            arrays[("control", "revenue")], arrays[("control", "customers")],
                            n_resamples=settings["n_resamples"], confidence=settings["confidence"],
                            seed=settings["seed"])


def _points(value: float) -> str:
    """A lift in percentage points with its sign: ``+4.1 points``, ``−2.3 points``."""
    return f"{_signed(value)} points"


def _signed(value: float) -> str:
    text = f"{value * 100:+.1f}"
    return "−" + text[1:] if text.startswith("-") else ("0.0" if text in ("+0.0", "-0.0") else text)


def _span(low: float, high: float) -> str:
    return f"{_signed(low)} to {_signed(high)}"


def _verdicts(cells: pd.DataFrame, meaningful_lift: float, power: float) -> tuple[list[str], list[str]]:
    verdicts, notes = [], []
    for row in cells.itertuples(index=False):  # one per cell, not per customer
        if row.treated < 2 or row.control < 2:
            group, n = ("control", row.control) if row.control < 2 else ("treatment", row.treated)
            verdicts.append("not measured")
            notes.append(f"no {group} group" if n == 0 else
                         f"a {group} group of one customer: no lift can be measured")
            continue
        wanted = meaningful_lift * row.planning_rate
        reach = (f"groups of {row.treated:,} treated and {row.control:,} control customers find a lift of "
                 f"{row.mde * 100:.1f} points or more {power:.0%} of the time")
        measured = f"conversion {_points(row.lift)} ({_span(row.lift_low, row.lift_high)})"
        if row.lift_low > 0:
            verdicts.append("worked")
            notes.append(measured)
        elif row.lift_high < 0:
            verdicts.append("backfired")
            notes.append(measured)
        elif not (row.mde <= wanted):
            verdicts.append("underpowered")
            notes.append(f"{measured}; {reach}, more than {meaningful_lift:.0%} of the control group's rate "
                         f"({wanted * 100:.1f} points): a smaller effect may exist")
        else:
            verdicts.append("no effect detected")
            notes.append(f"{measured}; {reach}")
    return verdicts, notes


def _with_actions(cells: pd.DataFrame, about: pd.DataFrame, actions: Mapping[int, str] | None) -> pd.DataFrame:
    """Each cell's action: the campaign's own, else the segment's recommended action."""
    own = about.set_index("campaign_id")["action"] if "action" in about else pd.Series(dtype="object")
    action = cells["campaign_id"].map(own).astype("object")
    fallback = cells["segment"].map(lambda s: (actions or {}).get(int(s))).astype("object")
    source = np.where(action.notna(), "campaign", np.where(fallback.notna(), "segment", ""))
    return cells.assign(action=action.where(action.notna(), fallback), action_from=source)


def _campaign_table(about: pd.DataFrame, totals: pd.DataFrame, period: str | Period | None) -> pd.DataFrame:
    frame = about.merge(totals, on="campaign_id", how="left")
    if "channels" in frame:
        frame["channel"] = [", ".join(sorted(str(c) for c in v if c is not None and c == c)) or None
                            if v is not None else None for v in frame.pop("channels")]
    for col in ("channel", "action"):
        if col not in frame:
            frame[col] = None
    first = pd.to_datetime(frame["first_sent"])
    frame["in_period"] = windows(period)[0].holds(first).to_numpy()
    frame["period"] = period_of(first, period)
    columns = ["campaign_id", "channel", "action", "first_sent", "last_sent", "period", "in_period"]
    rest = [c for c in frame.columns if c not in columns]
    return frame[columns + rest].sort_values(["first_sent", "campaign_id"], kind="stable").reset_index(drop=True)


def review_actions(results: CampaignResults) -> pd.DataFrame:
    """Actions to review: per segment and action, the last two conclusive tests showed no
    effect, or the last one backfired.

    Returns one row per flagged segment and action: ``segment``, ``action``, ``reason``
    (``no effect twice`` or ``backfired``), ``campaigns`` (the tests, oldest first) and
    ``note`` (a sentence for the report).
    """
    cells = results.cells
    columns = ["segment", "action", "reason", "campaigns", "note"]
    if cells.empty:
        return pd.DataFrame(columns=columns)
    dated = cells.merge(results.campaigns[["campaign_id", "first_sent", "period"]], on="campaign_id")
    dated = dated[dated["verdict"].isin(_CONCLUSIVE) & dated["action"].notna()
                  & (dated["segment"] != NOT_SEGMENTED)]
    rows = []
    for (segment, action), tests in dated.sort_values(["first_sent", "campaign_id"], kind="stable").groupby(
            ["segment", "action"], sort=True):
        last = tests.tail(2)
        ids = last["campaign_id"].astype("str").tolist()
        if last["verdict"].iloc[-1] == "backfired":
            rows.append({"segment": int(segment), "action": action, "reason": "backfired",
                         "campaigns": ids[-1:],
                         "note": f"{action} lowered conversion in its last test ({ids[-1]}): review it before "
                                 "running it again"})
        elif len(last) == 2 and (last["verdict"] == "no effect detected").all():
            rows.append({"segment": int(segment), "action": action, "reason": "no effect twice",
                         "campaigns": ids,
                         "note": f"{action} showed no effect in its last two tests ({ids[0]} and {ids[1]}): "
                                 "review it, or try another action"})
    return pd.DataFrame(rows, columns=columns)
