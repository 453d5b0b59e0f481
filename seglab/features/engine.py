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

__all__ = ["connect", "as_table", "execute", "membership", "stack_customers", "materialize", "MEMORY_LIMIT"]

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


def membership(con: ibis.BaseBackend, segments, *, id_name: str = "member") -> ibis.Table:
    """Each customer's segment as an engine table of two columns, ``id_name`` (the
    ``customer_id``, as text: renamed so that it joins without clashing) and ``segment``
    (int64), from ``segments``: a run's segments file (read by the engine, never by
    pandas), a frame or a table with ``customer_id`` and ``segment``.

    >>> con = connect()
    >>> seg = pd.DataFrame({"customer_id": ["a", "b"], "segment": [0, 1], "x": [0.1, 0.2]})
    >>> execute(con, membership(con, seg)).to_dict(orient="list")
    {'member': ['a', 'b'], 'segment': [0, 1]}
    """
    from seglab._validation import require_columns

    table = as_table(con, segments, name="segments")
    if table is None:
        raise InputError("segments are missing: pass a run's segments file (run.file('segments')) or a frame with customer_id "
                         "and segment")
    require_columns(pd.DataFrame(columns=list(table.columns)), ["customer_id", "segment"], table="segments",
                    hint="pass the cluster stage's segments (run.file('segments'))")
    return table.select(table.customer_id.cast("string").name(id_name), table.segment.cast("int64").name("segment"))


def execute(con: ibis.BaseBackend, expr: ibis.Expr) -> pd.DataFrame:
    """Run ``expr`` on ``con`` and return pandas.

    Results come back as Arrow and are converted by pyarrow: ibis's own pandas conversion
    costs about a second per million result rows, as much as the query itself.
    """
    with quiet():
        return con.to_pyarrow(expr).to_pandas(date_as_object=False)


def stack_customers(first: ibis.Table, *others: ibis.Table) -> ibis.Table:
    """The customers of ``first`` with the columns of every table: ``first`` left-joined with
    ``others`` on ``customer_id``, computed as one aggregation instead of joins.

    Every table has one row per customer. They are stacked (``UNION ALL``, each missing column
    null) and grouped by customer, keeping each column's one value (``max``); customers absent
    from ``first`` are dropped. DuckDB holds every hash join's table in memory while the joins
    stream (on millions of customers, a 128 MiB pointer array each): four joins of 4.9 M
    customers ran out of memory at the engine's 512 MB cap, where the aggregation spills.
    """
    tables = [first.mutate(_seglab_first=ibis.literal(1, "int8")), *others]
    columns: dict[str, object] = {}
    for table in tables:
        for name, dtype in table.schema().items():
            if name != "customer_id":
                columns.setdefault(name, dtype)
    stacked = ibis.union(*(table.select("customer_id", **{
        name: table[name] if name in table.columns else ibis.null(dtype) for name, dtype in columns.items()})
        for table in tables))
    merged = stacked.group_by("customer_id").aggregate(**{name: stacked[name].max() for name in columns})
    return merged.filter(merged._seglab_first.notnull()).drop("_seglab_first")
