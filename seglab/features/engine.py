"""Where feature queries run: Ibis expressions on DuckDB (default), Spark or another SQL engine.

Transaction-scale work (millions of lines → one row per customer) is written once
as Ibis expressions and executed by the backend: DuckDB in-process by default
(nothing to start), Spark (``connect("spark", master=...)``; :mod:`seglab.engine` starts
both) when data outgrows one machine, or another Ibis SQL backend whose SQL has
``min_by`` (Trino, Snowflake, Databricks, …; tested: DuckDB and Spark). Customer-scale work (scores,
value models, profile derivations: one row per customer) then runs in pandas/numpy.

pandas frames reach Ibis through :func:`ibis.memtable`, never through
``con.create_table(name, frame)``, which ibis 12 with sqlglot ≥ 30.18 cannot run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ibis
import pandas as pd

from seglab.engine import MEMORY_LIMIT, connect, quiet
from seglab.exceptions import InputError

__all__ = ["connect", "as_table", "execute", "join_customers", "materialize", "MEMORY_LIMIT"]

logger = logging.getLogger(__name__)


@contextmanager
def materialize(con: ibis.BaseBackend, expr: ibis.Table, hint: str) -> Iterator[ibis.Table]:
    """Compute ``expr`` once into a temporary table that later queries share; drop it afterwards.

    On DuckDB a temporary table, dropped through DuckDB itself (ibis 12's ``drop_table``
    and ``cache().release()`` emit an unnamed ``DROP`` with sqlglot ≥ 30.18); on other
    backends ``expr.cache()``.
    """
    if con.name == "duckdb":
        name = f"seglab_{hint}_{uuid.uuid4().hex[:10]}"
        with quiet():
            table = con.create_table(name, expr, temp=True)
        try:
            yield table
        finally:
            con.con.execute(f'DROP TABLE IF EXISTS "{name}"')
    else:
        with quiet():
            cached = expr.cache()
        try:
            yield cached
        finally:
            cached.release()


def as_table(con: ibis.BaseBackend, data, *, name: str) -> ibis.Table | None:
    """``data`` as an Ibis table on ``con``: a Parquet path, a pandas frame or a table.

    None stays None (an optional table that the dataset does not have).
    """
    if data is None:
        return None
    if isinstance(data, ibis.Table):
        return data
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.exists():
            raise InputError(f"{name}: no file at {path}")
        with quiet():
            return con.read_parquet(str(path))
    if isinstance(data, pd.DataFrame):
        with quiet():
            return ibis.memtable(data)
    raise InputError(f"{name} must be a Parquet path, a pandas DataFrame or an Ibis table; "
                     f"got {type(data).__name__}")


def execute(con: ibis.BaseBackend, expr: ibis.Expr) -> pd.DataFrame:
    """Run ``expr`` on ``con`` and return pandas.

    Results come back as Arrow and are converted by pyarrow: ibis's own pandas conversion
    costs about a second per million result rows, as much as the query itself.
    """
    with quiet():
        return con.to_pyarrow(expr).to_pandas(date_as_object=False)


def join_customers(left: ibis.Table, *others: ibis.Table) -> ibis.Table:
    """Left-join per-customer tables on ``customer_id``, keeping one ``customer_id`` column."""
    for right in others:
        joined = left.join(right, "customer_id", how="left")
        extra = [c for c in joined.columns if c.startswith("customer_id_")]
        left = joined.drop(*extra) if extra else joined
    return left
