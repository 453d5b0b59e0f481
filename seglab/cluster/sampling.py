"""The customers a segmentation learns from: beyond :data:`SAMPLE_SIZE`, a seeded sample.

The columns, the preprocessing, k and the model all come from one seeded sample of the
customers, stratified by value deciles and drawn in their canonical order (so neither the
row order nor the pseudonyms change it); every customer is then assigned by the model.
:func:`draw_sample` draws it from a pandas table, or in the engine from a Parquet file or
an Ibis table: the same customers either way, and from the engine only the sample comes
back to Python (the cluster stage of a run with millions of customers).

>>> import pandas as pd
>>> clv = [float(7 * i % 20 + 1) for i in range(20)]  # 1 to 20 in a shuffled order
>>> table = pd.DataFrame({"customer_id": [f"c{i}" for i in range(20)], "clv": clv})
>>> sorted(draw_sample(table, 10)["clv"].astype(int))  # one customer of each CLV decile
[2, 4, 6, 7, 9, 11, 13, 15, 17, 20]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from seglab._validation import check_range, did_you_mean, require_columns
from seglab.cluster.segmenter import canonical_sample, stratum_draws
from seglab.exceptions import InputError, SchemaError

__all__ = ["draw_sample", "count_customers", "order_values", "SAMPLE_SIZE", "ORDER_COLUMNS", "N_STRATA"]

SAMPLE_SIZE = 100_000
"""Customers the segmentation learns from, at most, by default (beyond: a seeded sample
stratified by value; every customer is then assigned by the model)."""
ORDER_COLUMNS = ("clv", "net_revenue", "total_spend")
"""With ``order_by="auto"``, segments are numbered by the first of these the table has
(highest value first), else by size; the sample is stratified by its deciles."""
N_STRATA = 10
"""Value strata of the sample: deciles."""


def _order_column(columns: Iterable[str], order_by: str | None,
                  has_values: Callable[[str], bool]) -> str | None:
    """The column segments are numbered and the sample stratified by, or None (by size)."""
    if order_by in (None, "size"):
        return None
    columns = list(columns)
    if order_by == "auto":
        return next((c for c in ORDER_COLUMNS if c in columns and has_values(c)), None)
    if order_by not in columns:
        raise SchemaError(f"features is missing column {order_by!r}{did_you_mean(order_by, columns)} to "
                          "order the segments by; name a feature, or 'auto' or 'size'")
    return order_by


def order_values(features: pd.DataFrame, order_by: str | None) -> tuple[np.ndarray | None, str]:
    """The values segments are numbered by (missing as 0) and the name of their column, or
    (None, "size")."""
    col = _order_column(features.columns, order_by, lambda c: bool(features[c].notna().any()))
    if col is None:
        return None, "size"
    return features[col].fillna(0).to_numpy(dtype=float), col


def draw_sample(features, size: int = SAMPLE_SIZE, *, order_by: str | None = "auto", random_state: int = 0,
                con: ibis.BaseBackend | None = None) -> pd.DataFrame:
    """A seeded sample of ``size`` customers, stratified by value deciles; every customer
    when there are no more.

    The customers are drawn in their canonical order (:func:`~seglab.cluster.canonical_order`
    of every column but ``customer_id``), stratified by the deciles of the ordering value
    (see :func:`order_values`), as :func:`~seglab.cluster.segment` draws them.

    Parameters
    ----------
    features : DataFrame, str, Path or ibis.Table
        The feature table (``customer_id`` and the features). A Parquet file or an Ibis
        table is sampled by the engine (``con``): only the sample is read into Python.
    size : int, default 100000
        Customers to draw.
    order_by : str or None, default "auto"
        The ordering value, as for :func:`~seglab.cluster.segment`: ``"auto"``
        (:data:`ORDER_COLUMNS`), a column, or ``"size"``/None (not stratified).
    random_state : int, default 0
        Seed of the draw.
    con : ibis backend, optional
        Where a file or an Ibis table is sampled (default: a new in-process DuckDB).

    Returns
    -------
    DataFrame
        The sampled customers with all their columns: the same customers whether drawn
        from pandas or by DuckDB or Spark (rows with identical features are
        interchangeable; their order is not meaningful).
    """
    check_range(size, name="size", low=1, integer=True)
    if isinstance(features, pd.DataFrame):
        require_columns(features, ["customer_id"], table="features")
        values, _ = order_values(features, order_by)
        rows = canonical_sample(features.drop(columns="customer_id"), size, order_values=values,
                                random_state=random_state)
        return features if rows is None else features.iloc[rows]
    from seglab.features.engine import as_table, connect

    con = connect() if con is None else con
    return _engine_sample(con, as_table(con, features, name="features"), size, order_by=order_by,
                          random_state=random_state)


def count_customers(features, *, con: ibis.BaseBackend | None = None) -> int:
    """How many customers a feature table has.

    Parameters
    ----------
    features : DataFrame, str, Path or ibis.Table
        The feature table; a Parquet file or an Ibis table is counted by the engine.
    con : ibis backend, optional
        Where to count (default: a new in-process DuckDB).

    Returns
    -------
    int
        Its rows, one per customer.
    """
    if isinstance(features, pd.DataFrame):
        return len(features)
    from seglab.features.engine import as_table, connect

    con = connect() if con is None else con
    return int(con.execute(as_table(con, features, name="features").count()))


def _canonical_key(column: ir.Column) -> ir.Column:
    """The engine's sort key of a column, as :func:`~seglab.cluster.canonical_order` sorts
    it: numbers to single precision with missing (and NaN) last, text by its value."""
    kind = column.type()
    if kind.is_numeric() or kind.is_boolean():
        number = column.cast("float64")
        missing = number.isnull() | number.isnan() if kind.is_floating() else number.isnull()
        return ibis.ifelse(missing, ibis.literal(np.inf, type="float32"), number.cast("float32")).asc()
    return column.cast("string").asc(nulls_first=False)


def _engine_sample(con, table: ir.Table, size: int, *, order_by, random_state: int) -> pd.DataFrame:
    from seglab.features.engine import execute

    if "customer_id" not in table.columns:
        raise InputError("features: expected a customer_id column; found " + ", ".join(table.columns))
    n = int(con.execute(table.count()))
    if n <= size:
        return execute(con, table)
    columns = [c for c in table.columns if c != "customer_id"]
    order_col = _order_column(columns, order_by, lambda c: bool(con.execute(
        (table[c].notnull() & ~table[c].cast("float64").isnan()).any())))
    # the canonical order; identical customers are interchangeable, the id only makes it
    # repeatable. No window spans the whole table (Spark would move it into one task):
    # customers are ordered within a value and within a stratum only.
    def canonical(t: ir.Table) -> list:
        return [*(_canonical_key(t[c]) for c in columns), t["customer_id"].asc()]

    if order_col is None:
        ranked = table.mutate(_stratum=ibis.literal(0, type="int64"))
    else:
        value = table[order_col].cast("float64")
        table_v = table.mutate(_value=ibis.ifelse(value.isnull() | value.isnan(), 0.0, value))
        ties = table_v.group_by("_value").aggregate(_ties=table_v.count())
        ties = ties.mutate(_below=ties["_ties"].cumsum(order_by=ties["_value"]) - ties["_ties"])
        ranked = table_v.join(ties.select("_value", "_below"), "_value")
        # the rank of the value, ties in the canonical order (1-based): pandas' rank(method="first")
        rank = ranked["_below"] + ibis.row_number().over(group_by=ranked["_value"], order_by=canonical(ranked)) + 1
        # pandas.qcut of the ranks 1..n into deciles: bin i holds ranks in (edge_i, edge_i+1],
        # where the linear-interpolated quantile q of 1..n is 1 + q (n - 1), rounded as qcut's
        edges = 1.0 + np.linspace(0, 1, N_STRATA + 1)[1:-1] * (n - 1)
        ranked = ranked.mutate(_rank=rank)
        ranked = ranked.mutate(_stratum=sum(((ranked["_rank"] > float(e)).cast("int64") for e in edges),
                                            ibis.literal(0, type="int64")))
    ranked = ranked.mutate(_ordinal=ibis.row_number().over(group_by=ranked["_stratum"], order_by=canonical(ranked)))
    counts = execute(con, ranked.group_by("_stratum").aggregate(_rows=ranked.count()).order_by("_stratum"))
    draws = stratum_draws(counts["_rows"].to_numpy(), size, random_state=random_state)
    picks = pd.DataFrame({"_stratum": np.repeat(counts["_stratum"].to_numpy(dtype=np.int64), [len(d) for d in draws]),
                          "_ordinal": np.concatenate(draws).astype(np.int64)})
    chosen = ranked.join(ibis.memtable(picks), ["_stratum", "_ordinal"])
    return execute(con, chosen.order_by(["_stratum", "_ordinal"]).select(*table.columns)).reset_index(drop=True)
