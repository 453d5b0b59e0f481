"""Recency, frequency, monetary value: the BTYD summary, marketing RFM, scores and named segments.

Two RFM definitions live side by side, because two communities use the words:

**BTYD summary** (:func:`btyd_summary`), exactly as the buy-till-you-die literature
and ``lifetimes.utils.summary_data_from_transaction_data`` define it, on purchase
lines (``amount ≥ 0``: a zero-value purchase is a purchase; negative lines are returns)
up to the snapshot, over each customer's whole history:

- ``frequency``: distinct purchase days − 1 (repeat purchases)
- ``recency``: last purchase day − first purchase day
- ``T``: snapshot day − first purchase day
- ``monetary_value``: mean spend per repeat purchase day (0 without repeats)

in days, or in weeks (days / 7, like lifetimes' ``freq="D", freq_multiplier=7``).
``net_monetary_value`` is the same mean with returns netted: (net spend in the
window − first-day spend) / frequency; the Gamma-Gamma model uses it.

**Marketing RFM** (:func:`marketing_rfm`), with returns netted: ``recency_days``
(days since the last purchase), ``orders`` (purchase orders), ``net_revenue`` and
``avg_order_value``.

Without an ``order_id`` column, an order is a customer-day: every line of a customer
on one day belongs to one purchase.

**Scores** 1–5 by quantile groups that never split a tie (or custom cut points) and
the **named segments** of :data:`RFM_SEGMENT_GRID`; see :func:`rfm_scores`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

import ibis
import numpy as np
import pandas as pd

from seglab._validation import check_choice, require_columns
from seglab.exceptions import EmptyDataError, InputError, ParameterError
from seglab.features.engine import as_table, connect, execute

__all__ = [
    "window_lines",
    "btyd_summary",
    "marketing_rfm",
    "rfm_scores",
    "rfm_segments",
    "tie_groups",
    "RFM_SEGMENT_GRID",
    "RFM_SEGMENTS",
]

DAYS_PER_MONTH = 365.25 / 12

RFM_SEGMENTS = ("Champions", "Loyal", "Potential loyalists", "New", "Promising", "Need attention",
                "About to sleep", "At risk", "Can't lose them", "Hibernating", "Lost")
"""The named RFM segments, best first."""

# rows: R score 5 (most recent) … 1; columns: FM score 1 … 5, FM = round((F + M) / 2)
_GRID_ROWS = {
    5: ("New", "Potential loyalists", "Potential loyalists", "Champions", "Champions"),
    4: ("Promising", "Potential loyalists", "Loyal", "Champions", "Champions"),
    3: ("About to sleep", "Need attention", "Need attention", "Loyal", "Loyal"),
    2: ("Hibernating", "About to sleep", "At risk", "At risk", "Can't lose them"),
    1: ("Lost", "Hibernating", "At risk", "Can't lose them", "Can't lose them"),
}
RFM_SEGMENT_GRID: dict[tuple[int, int], str] = {
    (r, fm): name for r, names in _GRID_ROWS.items() for fm, name in enumerate(names, start=1)}
"""Named segment of each (R score, FM score) cell; FM = round((F + M) / 2), halves up.

====  ==============  ===================  ===================  ===============  ===============
R     FM 1            FM 2                 FM 3                 FM 4             FM 5
====  ==============  ===================  ===================  ===============  ===============
5     New             Potential loyalists  Potential loyalists  Champions        Champions
4     Promising       Potential loyalists  Loyal                Champions        Champions
3     About to sleep  Need attention       Need attention       Loyal            Loyal
2     Hibernating     About to sleep       At risk              At risk          Can't lose them
1     Lost            Hibernating          At risk              Can't lose them  Can't lose them
====  ==============  ===================  ===================  ===============  ===============

Pass your own mapping to :func:`rfm_segments` to override any cell.
"""


SCALE = 10_000
"""Money and quantities are summed as whole numbers of 1/SCALE units, held in doubles: sums of
whole numbers below 2**53 (about 9 × 10**11 currency units per customer) are exact whatever the
order of addition, so parallel engines (DuckDB's threads, Spark's partitions) give identical
results, run after run. Doubles, not 64-bit integers: DuckDB sums those into 128-bit integers,
which made the whole RFM query a third slower."""


@ibis.udf.scalar.builtin(name="round")
def _round(value: float, digits: int) -> float:
    """SQL ``ROUND`` on a double, which stays a double (ibis's ``round()`` casts to an integer)."""


@ibis.udf.agg.builtin(name="min_by")
def _min_by(value: float, key: datetime.date) -> float:
    """SQL ``min_by``: ``value`` on the row with the smallest ``key`` (DuckDB and Spark both have
    it; ibis compiles ``argmin`` for DuckDB into an ordered ``FIRST``, which is slower)."""


def _scaled(column: ibis.NumericValue) -> ibis.FloatingValue:
    return _round(column.cast("float64") * SCALE, 0)


def window_lines(transactions: ibis.Table, *, as_of: pd.Timestamp,
                 lookback_days: int | None = None) -> ibis.Table:
    """Lines dated on or before ``as_of`` (and within the look-back window), with a ``day``
    column and exact scaled copies of the amounts (``amount_x``, ``quantity_x``, ``discount_x``).

    Nothing after the snapshot day gets through: this is the only door to the data.
    """
    as_of = pd.Timestamp(as_of).normalize()
    cutoff = as_of + pd.Timedelta(days=1)
    keep = (transactions.order_date < cutoff.to_pydatetime()) & transactions.amount.notnull()
    if lookback_days:
        start = cutoff - pd.Timedelta(days=int(lookback_days))
        keep &= transactions.order_date >= start.to_pydatetime()
    lines = transactions.filter(keep)
    extra = {"day": lines.order_date.date(), "amount_x": _scaled(lines.amount)}
    if "quantity" in lines.columns:
        extra["quantity_x"] = _scaled(lines.quantity.fill_null(0))
    if "discount" in lines.columns:
        extra["discount_x"] = _scaled(lines.discount.fill_null(0))
    return lines.mutate(**extra)


def daily_expr(lines: ibis.Table) -> ibis.Table:
    """One row per customer and day: purchase lines, purchase spend and net spend (scaled
    integers). A day with a purchase line (``amount`` ≥ 0, zero-value purchases included)
    is a purchase day."""
    bought = lines.amount_x >= 0
    return lines.group_by(["customer_id", "day"]).aggregate(
        purchases=bought.sum(),
        spend=ibis.cases((bought, lines.amount_x), else_=0).sum(),
        net=lines.amount_x.sum(),
    )


def order_channels(con, lines: ibis.Table) -> list[str]:
    """The distinct non-missing channels of ``lines``, in the engines' string order (code
    points, which is UTF-8 byte order): what :func:`orders_expr` needs to carry each order's
    channel. Empty when the lines have no ``channel`` column."""
    if "channel" not in lines.columns:
        return []
    values = execute(con, lines.filter(lines.channel.notnull()).select("channel").distinct())["channel"]
    return sorted(str(v) for v in values)


def orders_expr(lines: ibis.Table, channels: Sequence[str] | None = None) -> ibis.Table:
    """One row per order: day, time, net, purchased and returned amounts, purchase lines
    (``amount`` ≥ 0), and (when the data has them) units, discount and channel. Amounts are
    scaled integers. Without an ``order_id`` column an order is a customer-day.

    An order's channel is the first of its lines' channels in string order. ``channels``
    (:func:`order_channels`) lists them all; without it the orders have no channel. The
    lines carry a channel's number in that list, not its name: an aggregate that keeps a
    string per group cannot spill to disk in DuckDB, so on tens of millions of lines the
    query ran out of memory at the engine's cap.
    """
    bought = lines.amount_x >= 0
    columns = set(lines.columns)
    aggs = {"day": lines.day.min(), "ordered_at": lines.order_date.min(),
            "net": lines.amount_x.sum(),
            "gross": ibis.cases((bought, lines.amount_x), else_=0).sum(),
            "returned": ibis.cases((lines.amount_x < 0, -lines.amount_x), else_=0).sum(),
            "n_lines": bought.sum()}
    if "quantity_x" in columns:
        aggs["items"] = ibis.cases((bought, lines.quantity_x), else_=0).sum()
    if "discount_x" in columns:
        aggs["discount"] = ibis.cases((bought, lines.discount_x), else_=0).sum()
    channels = list(channels) if channels is not None and "channel" in columns else None
    if channels:
        aggs["channel_code"] = ibis.cases(*((lines.channel == value, code) for code, value in enumerate(channels)),
                                          else_=ibis.null("int32")).min()
    key = "order_id" if "order_id" in columns else "day"
    if key == "day":
        del aggs["day"]
    orders = lines.group_by(["customer_id", key]).aggregate(**aggs)
    if channels is None:
        return orders
    if not channels:  # every channel missing
        return orders.mutate(channel=ibis.null("string"))
    code = orders.channel_code
    name = ibis.cases(*((code == i, value) for i, value in enumerate(channels)), else_=ibis.null("string"))
    return orders.mutate(channel=name).drop("channel_code")


def summary_expr(daily: ibis.Table, as_of: pd.Timestamp, time_unit: str = "days") -> ibis.Table:
    """The BTYD summary of every customer who bought, from :func:`daily_expr`'s table.

    Days with only returns count towards the net spend, not as purchase days. Everything,
    monetary values included, is computed by the engine: each value is one division of
    exact sums, so DuckDB and Spark agree to the last bit.
    """
    purchase = daily.purchases > 0
    per_customer = daily.group_by("customer_id").aggregate(
        purchase_days=purchase.sum(),
        first_day=daily.day.min(where=purchase),
        last_day=daily.day.max(where=purchase),
        first_spend=_min_by(daily.spend, daily.day, where=purchase),
        purchase_spend=daily.spend.sum(),
        net_spend=daily.net.sum(),
    )
    bought = per_customer.filter(per_customer.purchase_days > 0)
    frequency = bought.purchase_days - 1
    repeat = frequency > 0
    per_repeat_day = ibis.greatest(frequency, 1).cast("float64") * SCALE
    days = 7.0 if time_unit == "weeks" else 1.0
    snapshot = ibis.date(pd.Timestamp(as_of).date())
    return bought.select(
        "customer_id",
        frequency=frequency.cast("int64"),
        recency=bought.last_day.delta(bought.first_day, unit="day").cast("float64") / days,
        T=snapshot.delta(bought.first_day, unit="day").cast("float64") / days,
        monetary_value=ibis.ifelse(repeat, (bought.purchase_spend - bought.first_spend)
                                   / per_repeat_day, 0.0),
        net_monetary_value=ibis.ifelse(repeat, (bought.net_spend - bought.first_spend)
                                       / per_repeat_day, 0.0),
    )


def _check_transactions(frame) -> None:
    if isinstance(frame, pd.DataFrame):
        require_columns(frame, ["customer_id", "order_date", "amount"], table="transactions")


def btyd_summary(transactions, *, as_of: str | pd.Timestamp, lookback_days: int | None = None,
                 time_unit: str = "days", con=None) -> pd.DataFrame:
    """The BTYD summary (frequency, recency, T, monetary value) per customer who bought.

    Parameters
    ----------
    transactions
        Canonical transactions: a pandas frame, a Parquet path or an Ibis table.
    as_of
        The snapshot day (inclusive); later lines are ignored.
    lookback_days
        Only lines in the last ``lookback_days`` days count (None: all history).
    time_unit
        ``"days"`` or ``"weeks"`` (days / 7) for ``recency`` and ``T``.
    con
        An Ibis connection (default: a new in-process DuckDB).

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``frequency``, ``recency``, ``T``, ``monetary_value``,
        ``net_monetary_value``, sorted by ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"], "order_id": ["1", "2", "2", "3"],
    ...                    "order_date": pd.to_datetime(["2021-01-01", "2021-01-05", "2021-01-05",
    ...                                                  "2021-01-03"]),
    ...                    "amount": [10.0, 4.0, 6.0, 5.0]})
    >>> btyd_summary(tx, as_of="2021-01-10")[["customer_id", "frequency", "recency", "T",
    ...                                       "monetary_value"]]
      customer_id  frequency  recency    T  monetary_value
    0           a          1      4.0  9.0            10.0
    1           b          0      0.0  7.0             0.0
    """
    check_choice(time_unit, ("days", "weeks"), name="time_unit")
    _check_transactions(transactions)
    con = connect(con or "duckdb")
    lines = window_lines(as_table(con, transactions, name="transactions"), as_of=as_of,
                         lookback_days=lookback_days)
    out = execute(con, summary_expr(daily_expr(lines), as_of, time_unit).order_by("customer_id"))
    if out.empty:
        raise EmptyDataError(f"no purchases on or before {pd.Timestamp(as_of).date()}"
                             + (f" in the last {lookback_days} days" if lookback_days else "")
                             + "; check the period and the look-back window")
    return out


def marketing_expr(orders: ibis.Table, as_of: pd.Timestamp) -> ibis.Table:
    """Marketing RFM of every customer with a line in the window, from :func:`orders_expr`'s
    table; money back in currency units."""
    bought = orders.n_lines > 0
    snapshot = ibis.date(pd.Timestamp(as_of).date())
    agg = orders.group_by("customer_id").aggregate(
        orders=bought.sum(),
        net_revenue=orders.net.sum() / SCALE,
        gross_revenue=orders.gross.sum() / SCALE,
        returned_amount=orders.returned.sum() / SCALE,
        first_purchase=orders.day.min(where=bought),
        last_purchase=orders.day.max(where=bought),
    )
    return agg.select(
        "customer_id",
        recency_days=snapshot.delta(agg.last_purchase, unit="day").cast("float64"),
        orders=agg.orders.cast("int64"),
        net_revenue=agg.net_revenue,
        avg_order_value=ibis.cases((agg.orders > 0, agg.net_revenue / ibis.greatest(agg.orders, 1))),
        gross_revenue=agg.gross_revenue,
        returned_amount=agg.returned_amount,
        tenure_days=snapshot.delta(agg.first_purchase, unit="day").cast("float64"),
    )


def marketing_rfm(transactions, *, as_of: str | pd.Timestamp, lookback_days: int | None = None,
                  con=None) -> pd.DataFrame:
    """Marketing RFM per customer, returns netted.

    Returns ``customer_id``, ``recency_days`` (days from the last purchase to the
    snapshot), ``orders`` (orders with a purchase), ``net_revenue`` (purchases minus
    returns), ``avg_order_value`` (net revenue per order), ``gross_revenue``,
    ``returned_amount`` and ``tenure_days`` (days since the first purchase).
    Customers with only returns in the window have 0 orders and no recency.
    """
    _check_transactions(transactions)
    con = connect(con or "duckdb")
    lines = window_lines(as_table(con, transactions, name="transactions"), as_of=as_of,
                         lookback_days=lookback_days)
    out = execute(con, marketing_expr(orders_expr(lines), as_of).order_by("customer_id"))
    if out.empty:
        raise EmptyDataError(f"no transactions on or before {pd.Timestamp(as_of).date()}"
                             + (f" in the last {lookback_days} days" if lookback_days else ""))
    return out


def tie_groups(counts: np.ndarray, groups: int = 5) -> np.ndarray:
    """Split distinct values (in order, with their customer counts) into at most ``groups``
    consecutive groups of about equal size; returns each value's group, 0-based.

    Values are taken worst first. Each group takes whole values until it holds its fair
    share of the customers not yet placed (remaining customers / remaining groups),
    stopping before the value that crosses the share when that comes closer to it; it
    takes at least one value and leaves one for every group still to fill. A value
    holding more than a share (e.g. the 60 % of customers with one order) is a group
    on its own. Without ties the groups are quintiles (sizes differing by at most one);
    with fewer distinct values than groups, each value is a group.

    >>> tie_groups(np.array([60, 15, 8, 7, 10])).tolist()
    [0, 1, 2, 3, 4]
    >>> tie_groups(np.array([1] * 10)).tolist()
    [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    """
    counts = np.asarray(counts, dtype=float)
    d = len(counts)
    out = np.zeros(d, dtype=int)
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    start, total = 0, cumulative[-1]
    n_groups = min(groups, d)
    for g in range(n_groups):
        left = n_groups - g
        if left == 1:
            out[start:] = g
            break
        target = cumulative[start] + (total - cumulative[start]) / left
        # first value index whose cumulative count reaches the target
        end = int(np.searchsorted(cumulative, target, side="left"))  # group = values [start, end)
        if end > start + 1 and target - cumulative[end - 1] < cumulative[end] - target:
            end -= 1  # stopping before the crossing value comes closer to the share
        end = min(max(end, start + 1), d - (left - 1))
        out[start:end] = g
        start = end
    return out


def _tie_score(values: pd.Series, *, higher_is_better: bool) -> pd.Series:
    """1-5 by :func:`tie_groups` on the distinct values (missing stays missing)."""
    present = values.dropna()
    if present.empty:
        return pd.Series(pd.NA, index=values.index, dtype="Int64")
    distinct, counts = np.unique(present.to_numpy(dtype=float), return_counts=True)
    # groups are formed worst value first: the smallest, or the largest when lower is better
    group = tie_groups(counts) if higher_is_better else tie_groups(counts[::-1])[::-1]
    n_groups = group.max() + 1
    score = group + 1
    # with fewer than five groups, spread them over 1..5 so that 5 stays the best score
    if n_groups < 5:
        score = np.rint(1 + (score - 1) * 4 / max(n_groups - 1, 1)).astype(int) if n_groups > 1 \
            else np.ones_like(score)
    position = np.searchsorted(distinct, values.to_numpy(dtype=float, na_value=np.nan))
    position = np.clip(position, 0, len(distinct) - 1)
    out = pd.Series(score[position], index=values.index).where(values.notna())
    return out.astype("Int64")


def _cut_score(values: pd.Series, cuts: Sequence[float], *, higher_is_better: bool) -> pd.Series:
    cuts = sorted(float(c) for c in cuts)
    if len(cuts) != 4:
        raise ParameterError(f"custom cut points need 4 values (5 scores); got {cuts}")
    score = pd.Series(np.digitize(values.to_numpy(dtype=float), cuts, right=True) + 1,
                      index=values.index)
    score = score if higher_is_better else 6 - score
    return score.where(values.notna()).astype("Int64")


def rfm_scores(rfm: pd.DataFrame, *, recency: str = "recency_days", frequency: str = "orders",
               monetary: str = "net_revenue",
               cuts: Mapping[str, Sequence[float]] | None = None) -> pd.DataFrame:
    """R, F and M scores from 1 (worst) to 5 (best), and ``fm_score`` = round((F + M) / 2).

    Scores are quantile groups that keep ties together (:func:`tie_groups`): customers
    with the same value always share a score, and the whole 1–5 range is used whenever
    the data has five distinct values. So the customers who ordered once (often over
    half of a retail base) get F = 1, and the next order counts fill F = 2 … 5; without
    ties the scores are quintiles. With fewer than five distinct values the groups are
    spread over 1–5 (two values: 1 and 5). Or scores come from custom cut points:
    ``cuts={"recency": [30, 90, 180, 365]}`` (4 ascending values per score; for recency
    lower is better). Customers without purchases get no scores.

    Returns a new frame: ``customer_id``, ``r_score``, ``f_score``, ``m_score``,
    ``fm_score`` and ``rfm_cell`` (e.g. ``"545"``).
    """
    require_columns(rfm, ["customer_id", recency, frequency, monetary], table="rfm")
    cuts = dict(cuts or {})
    for key in cuts:
        check_choice(key, ("recency", "frequency", "monetary"), name="cuts key")
    bought = rfm[frequency].fillna(0) > 0
    columns = {"r_score": (recency, False, "recency"), "f_score": (frequency, True, "frequency"),
               "m_score": (monetary, True, "monetary")}
    out = pd.DataFrame({"customer_id": rfm["customer_id"]})
    for name, (col, higher, key) in columns.items():
        values = pd.to_numeric(rfm[col], errors="coerce").where(bought)
        out[name] = (_cut_score(values, cuts[key], higher_is_better=higher) if key in cuts
                     else _tie_score(values, higher_is_better=higher))
    fm = (out["f_score"].astype("Float64") + out["m_score"].astype("Float64")) / 2
    out["fm_score"] = np.floor(fm + 0.5).astype("Int64")
    out["rfm_cell"] = (out["r_score"].astype("string") + out["f_score"].astype("string")
                       + out["m_score"].astype("string"))
    return out


def rfm_segments(scores: pd.DataFrame, segment_map: Mapping[tuple[int, int], str] | None = None,
                 *, no_purchase: str = "No purchases") -> pd.Series:
    """The named RFM segment of each customer, from ``r_score`` and ``fm_score``.

    ``segment_map`` overrides cells of :data:`RFM_SEGMENT_GRID` (keys ``(R, FM)``).
    Customers without scores (no purchases in the window) get ``no_purchase``.
    """
    require_columns(scores, ["r_score", "fm_score"], table="scores")
    grid = dict(RFM_SEGMENT_GRID)
    for key, name in (segment_map or {}).items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(1 <= int(k) <= 5 for k in key)):
            raise InputError(f"segment_map keys must be (R score, FM score) pairs from 1 to 5; got {key!r}")
        grid[(int(key[0]), int(key[1]))] = str(name)
    lookup = np.full((6, 6), no_purchase, dtype=object)  # index 0: no score
    for (r, fm), name in grid.items():
        lookup[r, fm] = name
    r = scores["r_score"].astype("Float64").fillna(0).astype(int).to_numpy()
    fm = scores["fm_score"].astype("Float64").fillna(0).astype(int).to_numpy()
    names = np.where((r == 0) | (fm == 0), no_purchase, lookup[r, fm])
    return pd.Series(names, index=scores.index, name="rfm_segment", dtype="str")
