"""Read one source of a dataset spec into a raw DataFrame (source column names).

Files (CSV, gzip CSV, Parquet, Excel, JSON lines) may be given as globs; a DuckDB
file or any SQLAlchemy URL is read with a ``table`` or a ``query``. Raw files are
only ever opened for reading.
"""

from __future__ import annotations

import glob
import logging
from pathlib import Path

import pandas as pd

from seglab._validation import did_you_mean, show_list
from seglab.collect.spec import DatasetSpec, SourceSpec
from seglab.exceptions import EmptyDataError, SchemaError, SourceError, SpecError

__all__ = ["read_source", "source_files"]

logger = logging.getLogger(__name__)

_CSV_OPTIONS = {"sep", "delimiter", "encoding", "encoding_errors", "decimal", "thousands",
                "skiprows", "header", "quotechar", "na_values", "comment", "compression"}
_EXCEL_OPTIONS = {"sheet", "skiprows", "header", "na_values"}
# canonical columns whose values are identifiers: read them as text so that
# zero-padded codes ("0001") and letter prefixes ("C536379") survive
_ID_COLUMNS = ("customer_id", "order_id", "product_id")


def source_files(source: SourceSpec, spec: DatasetSpec) -> list[Path]:
    """The files a file source reads (a glob may match several), sorted by name."""
    if source.path is None:
        return []
    pattern = spec.resolve_path(source.path)
    if any(ch in str(pattern) for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(str(pattern)))
        if not files:
            raise SourceError(f"no file matches {pattern} (dataset {spec.name!r}); check the "
                              f"path in the spec (relative paths start at {spec.base_dir})")
        return files
    if not pattern.exists():
        near = did_you_mean(pattern.name, [p.name for p in pattern.parent.glob("*")]
                            if pattern.parent.is_dir() else [])
        raise SourceError(f"file not found: {pattern}{near} (dataset {spec.name!r}); check the "
                          f"path in the spec (relative paths start at {spec.base_dir})")
    return [pattern]


def _options(source: SourceSpec, allowed: set[str], kind: str) -> dict:
    for key in source.options:
        if key not in allowed:
            raise SpecError(f"source {source.describe()}: option {key!r} is not a {kind} option"
                            f"{did_you_mean(key, allowed)}; allowed: {show_list(sorted(allowed))}")
    return dict(source.options)


def _id_dtypes(source: SourceSpec) -> dict[str, type]:
    return {source.columns[c]: str for c in _ID_COLUMNS if c in source.columns}


def _read_csv(path: Path, source: SourceSpec) -> pd.DataFrame:
    opts = _options(source, _CSV_OPTIONS, "CSV")
    try:
        frame = pd.read_csv(path, dtype=_id_dtypes(source), **opts)
    except UnicodeDecodeError as err:
        raise SourceError(f"{path} is not in the expected text encoding ({err.reason}); add "
                          "options: {encoding: latin-1} (or the file's encoding) to the source") from None
    except pd.errors.EmptyDataError:
        raise EmptyDataError(f"{path} is empty; expected a header line and rows") from None
    except pd.errors.ParserError as err:
        raise SourceError(f"{path} could not be parsed as CSV: {str(err).strip()}; check the "
                          "delimiter (options: {sep: ';'}) and quoting") from None
    if frame.shape[1] == 1 and "sep" not in opts and "delimiter" not in opts:
        header = str(frame.columns[0])
        for sep, name in (("\t", "tab"), (";", "semicolon"), ("|", "pipe")):
            if sep in header:
                raise SourceError(
                    f"{path} was read as a single column {header[:60]!r}; it looks {name}-"
                    f"separated: add options: {{sep: {sep!r}}} to the source in the spec"
                )
    return frame


def _read_file(path: Path, source: SourceSpec, columns: list[str] | None) -> pd.DataFrame:
    kind = source.kind
    if kind == "csv":
        return _read_csv(path, source)
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
        except Exception as err:  # pyarrow raises several types for a bad file
            raise SourceError(f"{path} is not a readable Parquet file: {err}") from None
        wanted = None if columns is None else [c for c in names if c in set(columns)]
        return pd.read_parquet(path, columns=wanted or None)
    if kind == "excel":
        opts = _options(source, _EXCEL_OPTIONS, "Excel")
        sheet = opts.pop("sheet", 0)
        try:
            return pd.read_excel(path, sheet_name=sheet, dtype=_id_dtypes(source), **opts)
        except ValueError as err:
            raise SourceError(f"{path}: {err}; set options: {{sheet: <name or number>}}") from None
    if kind == "jsonl":
        try:
            return pd.read_json(path, lines=True, dtype=False)
        except ValueError as err:
            raise SourceError(f"{path} is not JSON lines (one object per line): {err}") from None
    if kind == "duckdb":
        import duckdb

        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as err:
            raise SourceError(f"{path} is not a readable DuckDB database: {err}") from None
        try:
            rel = con.sql(source.query) if source.query else con.table(source.table)
            return rel.df()
        except duckdb.Error as err:
            raise SourceError(f"{path}: {str(err).splitlines()[0]}") from None
        finally:
            con.close()
    raise SourceError(f"unknown format {kind!r} for {path}")


def _read_sql(source: SourceSpec, spec: DatasetSpec) -> pd.DataFrame:
    import sqlalchemy as sa

    url = spec.resolve(source.url or "")
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as err:
        raise SourceError(f"cannot connect to {source.describe()}: {err}. Check the URL form "
                          "(dialect+driver://user:password@host/db) and that the driver is installed"
                          ) from None
    try:
        with engine.connect() as con:
            if source.query:
                return pd.read_sql_query(sa.text(source.query), con)
            return pd.read_sql_table(source.table, con)
    except ValueError as err:  # read_sql_table: no such table
        raise SourceError(f"{source.describe()}: {err}") from None
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as err:
        cause = err.__cause__ if isinstance(err, pd.errors.DatabaseError) and err.__cause__ else err
        first = str(getattr(cause, "orig", cause)).splitlines()[0]
        raise SourceError(f"reading {source.describe()} failed: {first}") from None
    finally:
        engine.dispose()


def read_source(source: SourceSpec, spec: DatasetSpec, *,
                columns: list[str] | None = None) -> pd.DataFrame:
    """Read ``source`` with its raw column names.

    Parameters
    ----------
    source, spec
        The source and the spec it belongs to (for resolving relative paths).
    columns
        Source columns that will be used; columnar formats read only these.
    """
    if source.kind == "sql":
        frame = _read_sql(source, spec)
    else:
        files = source_files(source, spec)
        parts = [_read_file(p, source, columns) for p in files]
        frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        logger.info("read %d rows from %d file(s) for %s", len(frame), len(files), source.describe())
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            parts = [f"{c!r}{did_you_mean(c, frame.columns)}" for c in missing]
            raise SchemaError(
                f"source {source.describe()} has no column {', '.join(parts)}; found "
                f"{show_list(list(frame.columns))}; fix the column mapping in the dataset spec"
            )
    return frame
