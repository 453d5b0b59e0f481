"""Where feature queries run: Ibis expressions on DuckDB (default) or any Ibis backend.

Transaction-scale work (millions of lines → one row per customer) is written once
as Ibis expressions and executed by the backend: DuckDB in-process by default
(nothing to start), PySpark (``ibis.pyspark.connect(spark)``) or any other Ibis
backend when data outgrows one machine. Customer-scale work (scores, value models,
profile derivations: one row per customer) then runs in pandas/numpy.

pandas frames reach Ibis through :func:`ibis.memtable`, never through
``con.create_table(name, frame)``, which ibis 12 with sqlglot ≥ 30.18 cannot run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import ibis
import pandas as pd

from seglab.exceptions import InputError

__all__ = ["connect", "as_table", "execute"]

logger = logging.getLogger(__name__)

def connect(backend: str | object = "duckdb", **kwargs) -> ibis.BaseBackend:
    """An Ibis connection: ``"duckdb"`` (in-process), or pass an existing connection through.

    Parameters
    ----------
    backend
        ``"duckdb"`` for a new in-process DuckDB, or an Ibis backend object already
        connected (for Spark: ``ibis.pyspark.connect(spark_session)``).
    kwargs
        Passed to :func:`ibis.duckdb.connect` (e.g. ``threads=2``, ``memory_limit="2GB"``).
    """
    if isinstance(backend, ibis.BaseBackend):
        return backend
    if backend == "duckdb":
        return ibis.duckdb.connect(**kwargs)
    raise InputError(f"backend must be 'duckdb' or an Ibis connection; got {backend!r}. For Spark: "
                     "seglab.features.connect(ibis.pyspark.connect(spark_session))")


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
        return con.read_parquet(str(path))
    if isinstance(data, pd.DataFrame):
        return ibis.memtable(data)
    raise InputError(f"{name} must be a Parquet path, a pandas DataFrame or an Ibis table; "
                     f"got {type(data).__name__}")


def execute(con: ibis.BaseBackend, expr: ibis.Expr) -> pd.DataFrame:
    """Run ``expr`` on ``con`` and return pandas."""
    return con.execute(expr)
