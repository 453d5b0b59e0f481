"""The quality gate and pseudonymization of the line-scale tables, as engine expressions.

The checks, counts, details and policies of :mod:`seglab.collect.quality`
(:func:`~seglab.collect.quality.check_transactions`, :func:`~seglab.collect.quality.check_events`,
:func:`~seglab.collect.quality.resolve_customer_attributes`) computed by the engine: every
count is an aggregate query, rows never come into Python. Pseudonyms are those of
:func:`seglab.collect.privacy.pseudonymize`: the customers' ids (one per customer) are
hashed in Python and joined in the engine.
"""

from __future__ import annotations

import ibis
import pandas as pd

from seglab.collect.engine_read import ROW, as_count, persist, run_query
from seglab.collect.quality import (CHECKS, NUMERIC_TRANSACTION_COLUMNS, UNITS, CheckResult,
                                    conflict_result, resolve_policies)
from seglab.collect.schema import EVENT_TYPES
from seglab.exceptions import SchemaError, SpecError

__all__ = ["check_transactions_engine", "check_events_engine", "resolve_customer_attributes_engine",
           "far_out_engine", "pseudonymize_engine"]

_FALSE = ibis.literal(False)


def _apply(con, table: ibis.Table, name: str, masks: dict, policies: dict, details: dict | None = None,
           *, store: bool = False) -> tuple[ibis.Table, list[CheckResult]]:
    """:func:`seglab.collect.quality._apply` in the engine: one query counts every mask.
    ``store``: compute the masks once into an engine table (when they are costly, e.g. windows)."""
    details = details or {}
    masks = {k: m.fill_null(False) for k, m in masks.items()}
    marked = table.mutate(**{f"_m_{k}": m for k, m in masks.items()})
    marked = persist(con, marked, f"{name}_gate") if store else marked
    counts = run_query(marked.aggregate(**{k: marked[f"_m_{k}"].cast("int64").sum() for k in masks}),
                       name).iloc[0]
    results, drop, flags = [], _FALSE, {}
    for k in masks:
        policy = policies[k]
        results.append(CheckResult(k, name, policy, as_count(counts[k]), UNITS[name], CHECKS[k].description,
                                   details.get(k, {})))
        if policy == "drop":
            drop = drop | marked[f"_m_{k}"]
        elif policy == "flag":
            flags[f"qc_{k}"] = marked[f"_m_{k}"]
    out = marked.filter(~drop).mutate(**flags)
    return out.drop(*[f"_m_{k}" for k in masks]), results


def _duplicates(con, table: ibis.Table) -> ibis.Value:
    """A row equal (in every column) to an earlier row, as ``DataFrame.duplicated()``: not the
    first row of its group (grouping treats missing values as equal). DuckDB: a hash
    aggregate and a semi-join; Spark: a window over the groups (its ``NOT IN`` a subquery
    is a nested-loop join, minutes on the sample)."""
    columns = [c for c in table.columns if c != ROW]
    if con.name != "duckdb":
        return ibis.row_number().over(ibis.window(group_by=columns, order_by=ROW)) > 0
    firsts = table.group_by(columns).aggregate(_first=table[ROW].min())
    return ~table[ROW].isin(firsts["_first"])


def _non_finite(con, table: ibis.Table, columns, name: str) -> tuple[ibis.Value, dict]:
    present = [c for c in columns if c in table.columns and table[c].type().is_floating()]
    if not present:
        return _FALSE, {"by_column": {}}
    counts = run_query(table.aggregate(**{c: table[c].isinf().cast("int64").sum() for c in present}),
                       name).iloc[0]
    mask = _FALSE
    for c in present:
        mask = mask | table[c].isinf().fill_null(False)
    return mask, {"by_column": {c: as_count(counts[c]) for c in present if as_count(counts[c])}}


def _blank_non_finite(table: ibis.Table, columns) -> ibis.Table:
    fixes = {c: ibis.ifelse(table[c].isinf().fill_null(False), ibis.null("float64"), table[c])
             for c in columns if c in table.columns and table[c].type().is_floating()}
    return table.mutate(**fixes) if fixes else table


def far_out_engine(table: ibis.Table, values: dict[str, ibis.Value], fence: float, name: str) -> ibis.Value:
    """:func:`seglab.collect.quality.far_out` in the engine for each of ``values`` (OR-ed):
    Tukey's far-out fences (on the log scale for skewed non-negative values), from
    quartiles the engine computes; three queries whatever the number of values."""
    xs = {k: v.cast("float64") for k, v in values.items()}
    stats = run_query(table.aggregate(**{f"{s}_{k}": f(x) for k, x in xs.items() for s, f in (
        ("n", lambda x: x.count()), ("low", lambda x: x.min()), ("mean", lambda x: x.mean()))}), name).iloc[0]
    xs = {k: x for k, x in xs.items() if int(stats[f"n_{k}"]) >= 4}
    signed = {k: x - float(stats[f"mean_{k}"]) for k, x in xs.items() if stats[f"low_{k}"] >= 0}
    if signed:
        m = run_query(table.aggregate(**{f"{s}_{k}": f(d) for k, d in signed.items() for s, f in (
            ("m2", lambda d: (d * d).sum()), ("m3", lambda d: (d * d * d).sum()))}), name).iloc[0]
        for k in signed:
            n, m2, m3 = float(stats[f"n_{k}"]), float(m[f"m2_{k}"] or 0), float(m[f"m3_{k}"] or 0)
            # pandas' Series.skew: the adjusted Fisher-Pearson coefficient
            if m2 > 0 and (n * (n - 1) ** 0.5 / (n - 2)) * (m3 / m2 ** 1.5) > 1:
                xs[k] = (xs[k] + 1).ln()
    if not xs:
        return _FALSE
    mask = _FALSE
    for x in xs.values():
        q1, q3 = exact_quantiles(table, x, (0.25, 0.75), name)
        if q3 - q1 > 0:
            mask = mask | ((x < q1 - fence * (q3 - q1)) | (x > q3 + fence * (q3 - q1))).fill_null(False)
    return mask


def exact_quantiles(table: ibis.Table, x: ibis.Value, probabilities, name: str) -> list[float]:
    """Quantiles of ``x`` as pandas computes them (linear interpolation between order
    statistics), from the count of each distinct value: a grouped count and a running sum,
    which the engine spills to disk, where its own exact quantile holds every value in
    memory (50 M order lines ran DuckDB out of memory at its 1 GB cap)."""
    values = table.select(v=x).filter(ibis._.v.notnull())
    counts = values.group_by("v").aggregate(c=ibis._.count())
    ranked = counts.mutate(upto=counts.c.sum().over(ibis.window(order_by="v", preceding=None, following=0)))
    n = int(run_query(counts.c.sum(), name) or 0)
    if n == 0:
        return [float("nan")] * len(probabilities)
    wanted = {}
    for i, p in enumerate(probabilities):
        h = (n - 1) * float(p)
        low = int(h // 1)
        wanted[i] = (low, min(low + 1, n - 1), h - low)
    ranks = sorted({r for low, high, _ in wanted.values() for r in (low, high)})
    # the value at 0-based rank r: the smallest value whose running count exceeds r
    found = run_query(ranked.aggregate(**{f"r{r}": ranked.v.min(where=ranked.upto > r) for r in ranks}),
                      name).iloc[0]
    return [float(found[f"r{low}"]) + frac * (float(found[f"r{high}"]) - float(found[f"r{low}"]))
            for low, high, frac in wanted.values()]


def _regex(pattern: str, name: str):
    import re

    try:
        re.compile(pattern)
    except re.error as err:
        raise SpecError(f"quality.{name} {pattern!r} is not a valid regular expression: {err}") from None
    return pattern


def check_transactions_engine(con, table: ibis.Table, *, snapshot: pd.Timestamp | None,
                              policies: dict[str, str], cancellation_pattern: str | None = None,
                              product_pattern: str | None = None, non_product_codes: tuple[str, ...] = (),
                              outlier_fence: float = 3.0) -> tuple[ibis.Table, list[CheckResult]]:
    """:func:`seglab.collect.quality.check_transactions` on an engine table (with ``_row``)."""
    policies = resolve_policies(policies)
    t, masks, details = table, {}, {}
    has_order = t["order_id"].notnull() if "order_id" in t.columns else _FALSE
    masks["duplicates"] = _duplicates(con, t) & has_order
    if "order_id" not in t.columns:
        details["duplicates"] = {"note": "no order_id column: identical lines are kept as separate purchases"}
    masks["missing_customer_id"] = t["customer_id"].isnull()
    masks["missing_date"] = t["order_date"].isnull()
    masks["missing_amount"] = t["amount"].isnull()
    masks["non_finite"], details["non_finite"] = _non_finite(con, t, NUMERIC_TRANSACTION_COLUMNS,
                                                             "transactions")
    masks["after_snapshot"] = t["order_date"] >= snapshot.to_pydatetime() if snapshot is not None else _FALSE
    quantity = t["quantity"] if "quantity" in t.columns else t["amount"]
    if "order_id" in t.columns:
        order_ids = t["order_id"].cast("string")
    else:  # an order is a customer-day
        order_ids = t["customer_id"].cast("string") + "@" + t["order_date"].strftime("%Y-%m-%d")
    if cancellation_pattern and "order_id" not in t.columns:
        raise SchemaError(f"quality.cancellation_pattern ({cancellation_pattern!r}) matches order ids, "
                          "but the transactions have no order_id column; map order_id in the spec or "
                          "remove the pattern (negative amounts are then the cancellations)")
    if cancellation_pattern:
        cancelled = order_ids.re_search(_regex(cancellation_pattern, "cancellation_pattern")).fill_null(False)
        masks["inconsistent_cancellations"] = cancelled & ((quantity > 0) | (t["amount"] > 0)).fill_null(False)
        masks["negative_not_cancelled"] = ~cancelled & (quantity < 0).fill_null(False)
    else:
        cancelled = (t["amount"] < 0).fill_null(False)
        masks["inconsistent_cancellations"] = _FALSE
        masks["negative_not_cancelled"] = ((quantity < 0) & (t["amount"] >= 0)).fill_null(False)
    masks["cancellations"] = cancelled
    orders = run_query(t.filter(cancelled).aggregate(n=order_ids.nunique()), "transactions")
    details["cancellations"] = {"orders": as_count(orders["n"].iloc[0])}
    if "product_id" in t.columns and (product_pattern or non_product_codes):
        codes = t["product_id"].cast("string")
        non_product = codes.isin(list(non_product_codes)).fill_null(False) if non_product_codes else _FALSE
        if product_pattern:
            full = f"^(?:{_regex(product_pattern, 'product_pattern')})$"
            non_product = non_product | ~codes.re_search(full).fill_null(True)
        masks["non_product"] = non_product
        found = t.select(code=codes, found=non_product, first=t[ROW]).filter(lambda f: f.found & f.code.notnull())
        top = run_query(found.group_by("code").aggregate(n=found.count(), first=found["first"].min()),
                        "transactions")
        top = top.sort_values(["n", "first"], ascending=[False, True], kind="stable")
        details["non_product"] = {"distinct_codes": int(len(top)),
                                  "top_codes": {str(k): int(v) for k, v in zip(top["code"].head(10),
                                                                               top["n"].head(10))}}
    else:
        masks["non_product"] = _FALSE
    masks["zero_price"] = (t["unit_price"] == 0) if "unit_price" in t.columns else _FALSE
    masks["negative_price"] = (t["unit_price"] < 0) if "unit_price" in t.columns else _FALSE
    if "unit_price" not in t.columns:
        details["zero_price"] = details["negative_price"] = {"note": "no unit_price column mapped"}
    order = ["duplicates", "missing_customer_id", "missing_date", "missing_amount", "non_finite",
             "after_snapshot", "cancellations", "inconsistent_cancellations", "negative_not_cancelled",
             "non_product", "zero_price", "negative_price"]
    out, results = _apply(con, t, "transactions", {k: masks[k] for k in order}, policies, details, store=True)
    out = _blank_non_finite(out, NUMERIC_TRANSACTION_COLUMNS)

    values = {c: out[c].abs() for c in ("amount", "quantity") if c in out.columns}
    extreme = far_out_engine(out, values, outlier_fence, "transactions")
    out, more = _apply(con, out, "transactions", {"extreme_values": extreme}, policies)
    return out, results + more


def check_events_engine(con, table: ibis.Table, *, snapshot: pd.Timestamp | None,
                        policies: dict[str, str]) -> tuple[ibis.Table, list[CheckResult]]:
    """:func:`seglab.collect.quality.check_events` on an engine table (with ``_row``)."""
    policies = resolve_policies(policies)
    t = table
    unknown = ~t["event_type"].isin(list(EVENT_TYPES)).fill_null(False)
    masks = {
        "duplicates": _duplicates(con, t),
        "missing_customer_id": t["customer_id"].isnull(),
        "missing_date": t["timestamp"].isnull(),
        "after_snapshot": t["timestamp"] >= snapshot.to_pydatetime() if snapshot is not None else _FALSE,
        "unknown_event_type": unknown,
    }
    types = run_query(t.filter(unknown & t["event_type"].notnull()).select(v=t["event_type"].cast("string"))
                      .distinct(), "events")["v"]
    details = {"unknown_event_type": {"types": sorted(map(str, types))[:20]}}
    return _apply(con, t, "events", masks, policies, details, store=True)


def resolve_customer_attributes_engine(table: ibis.Table, attributes: list[str], *,
                                       policies: dict[str, str]
                                       ) -> tuple[pd.DataFrame, pd.Index, CheckResult]:
    """:func:`seglab.collect.quality.resolve_customer_attributes` in the engine; returns the
    customer-scale results (one row per customer) in pandas."""
    policies = resolve_policies(policies)
    policy = policies["conflicting_attributes"]
    lines = table.filter(table["customer_id"].notnull())
    first = lines.group_by("customer_id").aggregate(_first=lines[ROW].min())
    customers = run_query(first, "transactions").sort_values("_first", kind="stable")
    customers = customers[["customer_id"]].reset_index(drop=True)
    conflicted = pd.Index([], dtype="str")
    per_attr = {}
    for col in attributes:
        known = lines.filter(lines[col].notnull())
        pairs = known.group_by(["customer_id", col]).aggregate(
            n=known.count(), last=known["order_date"].max(), first=known[ROW].min())
        ranked = pairs.mutate(
            values=pairs["customer_id"].count().over(ibis.window(group_by="customer_id")),
            rank=ibis.row_number().over(ibis.window(group_by="customer_id",
                                                    order_by=[ibis.desc("n"), ibis.desc("last"), "first"])))
        several = run_query(ranked.filter(ranked["values"] > 1).select("customer_id").distinct(),
                            "transactions")["customer_id"]
        per_attr[col] = int(len(several))
        conflicted = conflicted.union(pd.Index(several.astype("str")))
        best = run_query(ranked.filter(ranked["rank"] == 0).select("customer_id", col), "transactions")
        customers = customers.merge(best, on="customer_id", how="left")
    return conflict_result(customers, conflicted, per_attr, policy)


def pseudonymize_engine(table: ibis.Table, pseudonyms: pd.DataFrame) -> ibis.Table:
    """``customer_id`` replaced by its pseudonym, from ``pseudonyms`` (``customer_id``,
    ``pseudonym``: one row per customer, made by :func:`seglab.collect.privacy.pseudonymize`),
    joined in the engine."""
    lookup = ibis.memtable(pd.DataFrame({"_id": pseudonyms["customer_id"].to_numpy(),
                                         "_pseudonym": pseudonyms["pseudonym"].to_numpy()}))
    joined = table.left_join(lookup, table["customer_id"] == lookup["_id"])
    return joined.mutate(customer_id=joined["_pseudonym"]).drop("_id", "_pseudonym")
