"""How customers buy: pace, regularity, basket, breadth, channels, returns, discounts, timing.

Every feature is computed by the engine (Ibis) from the transaction lines in the
look-back window; only optional columns the data has are used (categories,
channels, discounts, quantities, times of day).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import ibis
import numpy as np
import pandas as pd

from seglab.features.engine import execute, stack_customers
from seglab.features.rfm import DAYS_PER_MONTH, SCALE

__all__ = ["behaviour_expr", "finish_behaviour", "top_values", "slug"]


def slug(value: str) -> str:
    """A column-name-safe version of a category or channel value.

    >>> slug("Home & Garden"), slug("web")
    ('home_garden', 'web')
    """
    text = re.sub(r"[^0-9a-zA-Z]+", "_", str(value)).strip("_").lower()
    return text or "blank"


def top_values(con, table: ibis.Table, column: str, k: int, *, where=None) -> list[str]:
    """The ``k`` most frequent non-missing values of ``column`` (ties by name)."""
    rows = table.filter(table[column].notnull() if where is None else where & table[column].notnull())
    counts = execute(con, rows.group_by(column).aggregate(n=rows[column].count()))
    counts = counts.sort_values(["n", column], ascending=[False, True], kind="stable")
    return [str(v) for v in counts[column].head(k)]


def _has_time_of_day(con, orders: ibis.Table) -> bool:
    t = orders.ordered_at
    seconds = t.hour() * 3600 + t.minute() * 60 + t.second()
    return bool(execute(con, orders.aggregate(n=(seconds > 0).sum()))["n"].iloc[0] > 0)


def behaviour_expr(con, lines: ibis.Table, orders: ibis.Table, daily: ibis.Table, *,
                   top_categories: int = 8, top_channels: int = 6,
                   keep: Callable[[ibis.Table, str], ibis.Table] | None = None,
                   ) -> tuple[ibis.Table, list[str], list[str], bool]:
    """The per-customer behaviour aggregates as one Ibis table.

    ``orders`` and ``daily`` are :func:`seglab.features.rfm.orders_expr` and
    :func:`~seglab.features.rfm.daily_expr` of ``lines`` (cached by the caller).
    ``keep(table, hint)`` computes an intermediate table once and returns it (the caller's
    :func:`seglab.features.engine.materialize`, dropped when the caller is done): given, each
    aggregation runs as a query of its own, not all at once (see below); None leaves them to
    run in the one query. Returns the table, the categories and channels that got share
    columns, and whether the data has times of day.
    """
    keep = keep or (lambda table, hint: table)
    columns = set(orders.columns)
    bought = orders.filter(orders.n_lines > 0)
    timed = _has_time_of_day(con, bought)
    dow = bought.ordered_at.day_of_week.index()  # Monday = 0
    # only exact aggregates here (counts, sums of whole numbers, min/max); ratios are taken in numpy
    aggs = {"n_orders": bought.gross.count(),
            "lines_total": bought.n_lines.sum(),
            "weekend_orders": (dow >= 5).sum()}
    if timed:
        hour = bought.ordered_at.hour()
        aggs["morning_orders"] = (hour < 12).sum()
        aggs["evening_orders"] = (hour >= 18).sum()
    if "items" in columns:
        aggs["items_total"] = bought["items"].sum()
    if "discount" in columns:
        aggs["discount_total"] = bought.discount.sum()
        aggs["discounted_orders"] = (bought.discount > 0).sum()
        aggs["gross_total"] = bought.gross.sum()
    channels = top_values(con, bought, "channel", top_channels) if "channel" in columns else []
    for value in channels:
        aggs[f"ch_{slug(value)}"] = (bought.channel == value).sum()
    per_order = bought.group_by("customer_id").aggregate(**aggs)

    # regularity: the gaps between distinct purchase days (whole days: exact sums of squares)
    days = daily.filter(daily.purchases > 0)
    window = ibis.window(group_by=days.customer_id, order_by=days.day)
    gaps = days.mutate(gap=days.day.delta(days.day.lag().over(window), unit="day").cast("int64"))
    per_gap = gaps.group_by("customer_id").aggregate(gap_sum=gaps.gap.sum(),
                                                     gap_squares=(gaps.gap * gaps.gap).sum(),
                                                     n_gaps=gaps.gap.count())
    parts = [keep(per_order, "orders"), keep(per_gap, "gaps")]

    # per customer over the lines. No DISTINCT aggregate next to the sums: DuckDB cannot spill
    # that combination, and on tens of millions of lines it ran out of memory at its cap;
    # distinct counts are counts of distinct (customer, value) pairs instead, a plain GROUP BY.
    line_columns = set(lines.columns)
    purchase = lines.amount_x >= 0
    categories = (top_values(con, lines, "category", top_categories, where=purchase)
                  if "category" in line_columns else [])
    counted = []
    if "product_id" in line_columns:
        products = keep(lines.filter(purchase & lines.product_id.notnull()).select("customer_id", "product_id")
                        .distinct(), "products")
        counted.append(keep(products.group_by("customer_id").aggregate(distinct_products=products.count()),
                            "product_counts"))
    if categories:
        line_aggs = {"purchase_gross": ibis.cases((purchase, lines.amount_x), else_=0).sum()}
        for value in categories:
            line_aggs[f"cat_{slug(value)}"] = ibis.cases(
                (purchase & (lines.category == value), lines.amount_x), else_=0).sum()
        parts.append(keep(lines.group_by("customer_id").aggregate(**line_aggs), "lines"))
        by_category = keep(lines.filter(purchase & lines.category.notnull())
                           .group_by(["customer_id", "category"]).aggregate(spend=lines.amount_x.sum()),
                           "categories")
        counted.append(keep(by_category.group_by("customer_id").aggregate(
            distinct_categories=by_category.count(), top_category_spend=by_category.spend.max()),
            "category_counts"))
    # The parts stacked and grouped by customer, not joined (see stack_customers): every customer
    # who bought has lines, so a customer missing from a distinct count has none of those values.
    # Each aggregation of millions of groups holds its hash table's pointer arrays in DuckDB
    # (unspillable, hundreds of MB at 4.9 M customers or 32 M customer-category pairs): two of
    # them at once, or one feeding another, ran out of memory at the 512 MB cap on 50 M lines;
    # kept, they run one at a time.
    table = stack_customers(*parts, *counted)
    counts = {name: table[name].fill_null(0) for name in ("distinct_products", "distinct_categories")
              if name in table.columns}
    return table.mutate(**counts) if counts else table, categories, channels, timed


def finish_behaviour(raw: pd.DataFrame, rfm: pd.DataFrame, categories: list[str],
                     channels: list[str], timed: bool) -> pd.DataFrame:
    """Turn the engine's per-customer aggregates into rates and shares (vectorized pandas)."""
    out = pd.DataFrame({"customer_id": raw["customer_id"].astype("str")})
    r = rfm.set_index("customer_id")[["tenure_days", "gross_revenue", "returned_amount"]].reindex(
        out["customer_id"])
    n = raw["n_orders"].astype(float).to_numpy()
    def col(name: str) -> np.ndarray:
        return raw[name].to_numpy(dtype=float, na_value=np.nan)

    with np.errstate(divide="ignore", invalid="ignore"):
        tenure = np.maximum(r["tenure_days"].to_numpy(dtype=float), DAYS_PER_MONTH)
        out["orders_per_month"] = n / tenure * DAYS_PER_MONTH
        k, total = col("n_gaps"), col("gap_sum")
        mean = np.where(k > 0, total / k, np.nan)
        variance = (col("gap_squares") - total * total / k) / (k - 1)
        out["mean_interpurchase_days"] = mean
        out["interpurchase_cv"] = np.where(k >= 2, np.sqrt(np.maximum(variance, 0)) / mean, np.nan)
        out["lines_per_order"] = col("lines_total") / n
        if "items_total" in raw:
            out["items_per_order"] = col("items_total") / SCALE / n
        gross = r["gross_revenue"].to_numpy(dtype=float)
        out["return_rate"] = np.where(gross > 0, r["returned_amount"].to_numpy(dtype=float) / gross, np.nan)
        if "discount_total" in raw:
            disc = col("discount_total")
            out["discount_share"] = disc / (col("gross_total") + disc)
            out["discounted_order_share"] = col("discounted_orders") / n
        out["weekend_share"] = col("weekend_orders") / n
        if timed:
            out["morning_share"] = col("morning_orders") / n
            out["evening_share"] = col("evening_orders") / n
        if "distinct_products" in raw:
            out["distinct_products"] = col("distinct_products")
        if categories:
            spend = col("purchase_gross")
            out["distinct_categories"] = col("distinct_categories")
            out["top_category_share"] = col("top_category_spend") / spend
            for value in categories:
                out[f"category_share_{slug(value)}"] = col(f"cat_{slug(value)}") / spend
        for value in channels:
            out[f"channel_share_{slug(value)}"] = col(f"ch_{slug(value)}") / n
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)
