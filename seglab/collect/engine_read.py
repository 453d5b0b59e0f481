"""Read, map and type the line-scale tables (transactions, events) in the engine.

The engine path of :func:`seglab.collect.collect` (``con=``: an Ibis connection, e.g.
``seglab.features.connect("duckdb")``): every file DuckDB reads itself (CSV, compressed
or not, Parquet, JSON lines) is read by the engine, its columns mapped and derived (the spec's expressions,
translated by :func:`seglab.collect.expressions.to_ibis`) and given their canonical
types as Ibis expressions; nothing passes through pandas.

Reader options of a CSV source map onto DuckDB's: ``sep``/``delimiter`` (one character),
``encoding`` (UTF-8, UTF-16, Latin-1), ``header`` (0 or a row number: the rows above it
are skipped), ``skiprows`` (a number), ``quotechar``, ``decimal``, ``na_values`` (added
to pandas' own missing-value markers, which apply too) and ``compression`` (gzip, zstd).
An option DuckDB cannot honour (``thousands``, ``comment``, ``encoding_errors``, a list of
``skiprows``, ``header: null``, another encoding or compression, a longer delimiter), and
any source no engine reads (Excel, DuckDB database files, SQL databases), is read by
pandas: allowed up to :data:`PANDAS_MAX_MB` megabytes on disk (SQL: :data:`PANDAS_MAX_ROWS`
rows), refused beyond with an error naming the option and the engine and pointing to
Parquet or plain CSV.

On Spark, a CSV file is read as text with ``sep``/``delimiter``, ``encoding`` and
``quotechar`` (pandas' missing-value markers and ``na_values`` made missing after
reading; ``.gz`` and ``.bz2`` decompressed by their suffix); ``header``, ``skiprows``,
``decimal``, ``.zst`` files and the spec's date formats (``dates:``, Python ``strptime``
codes) are read by pandas under the same size limit.

Dates without a format must be ISO 8601 (``2011-12-09 12:50:00``, optionally with an
offset); other layouts need their format in the spec (``dates:``), where pandas would
guess it.
"""

from __future__ import annotations

import csv
import datetime
import functools
import logging
import os
import uuid
import warnings
from contextlib import closing
from pathlib import Path

import ibis
import pandas as pd

from seglab._validation import require_columns
from seglab.collect.expressions import parse_expression, to_ibis
from seglab.collect.mapping import _needed_columns
from seglab.collect.quality import CHECKS, CheckResult
from seglab.collect.schema import (EVENT_COLUMNS, EVENT_REQUIRED, TRANSACTION_COLUMNS,
                                   TRANSACTION_REQUIRED)
from seglab.collect.sources import (_BROKEN_COMPRESSION, _check_columns, _csv_rows, check_single_column, iter_source,
                                    read_source, source_files)
from seglab.collect.spec import DatasetSpec, SourceSpec, TableSpec
from seglab.engine import quiet
from seglab.exceptions import DataQualityWarning, DataTypeError, SeglabError, SourceError, SpecError

__all__ = ["ENGINE_TABLES", "PANDAS_MAX_MB", "PANDAS_MAX_ROWS", "EngineOptionError", "SourceTooLargeError",
           "as_count", "pandas_options", "read_table_engine", "parse_dates", "persist", "run_query"]

logger = logging.getLogger(__name__)


ENGINE_TABLES = {"transactions": (TRANSACTION_COLUMNS, TRANSACTION_REQUIRED),
                 "events": (EVENT_COLUMNS, EVENT_REQUIRED)}
"""The line-scale tables the engine path reads, with their column types and required columns."""
PANDAS_MAX_MB = float(os.environ.get("SEGLAB_PANDAS_MAX_MB", "256"))
"""Largest file (MB on disk) of a line-scale table the engine path lets pandas read
(``SEGLAB_PANDAS_MAX_MB``)."""
PANDAS_MAX_ROWS = int(os.environ.get("SEGLAB_PANDAS_MAX_ROWS", "2000000"))
"""Most rows of a SQL source of a line-scale table the engine path lets pandas read
(``SEGLAB_PANDAS_MAX_ROWS``)."""
ROW = "_row"  # the source order of a line: which source, which row (never written)
_SUSPECT = "_suspect_"  # a line whose text holds a NUL byte or an undecodable one (never written)


class EngineOptionError(SpecError):
    """A source option the engine cannot honour, on a source too large for pandas."""


class SourceTooLargeError(SourceError):
    """A source no engine reads, too large to read into memory."""


_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf_8": "utf-8", "utf-16": "utf-16", "utf16": "utf-16",
              "latin-1": "latin-1", "latin1": "latin-1", "iso-8859-1": "latin-1", "l1": "latin-1"}
_DUCKDB_COMPRESSION = {"gzip": "gzip", "zstd": "zstd", None: None, "infer": None}
_DUCKDB_SUFFIXES = {".gz", ".zst"}
_UTF8 = {"utf-8", "utf8", "utf_8"}


def _csv_options(source: SourceSpec) -> tuple[dict, list[str]]:
    """DuckDB ``read_csv`` settings for the source's options, and the options it cannot honour."""
    from pandas._libs.parsers import STR_NA_VALUES

    out = {"header": True, "auto_detect": True, "delim": ","}  # pandas' default: no guessing
    skip, refused = 0, []
    nulls = set(STR_NA_VALUES) | {""}
    for key, value in source.options.items():
        if key in ("sep", "delimiter"):
            if isinstance(value, str) and len(value) == 1:
                out["delim"] = value
            else:
                refused.append(key)
        elif key == "encoding":
            name = _ENCODINGS.get(str(value).lower().replace(" ", ""))
            if name is None:
                refused.append(key)
            else:
                out["encoding"] = name
        elif key == "header":
            if value == "infer" or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                skip += 0 if value == "infer" else value
            else:
                refused.append(key)
        elif key == "skiprows":
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                skip += value
            else:
                refused.append(key)
        elif key == "quotechar" and isinstance(value, str) and len(value) == 1:
            out["quote"] = value
        elif key == "decimal" and value in (".", ","):
            out["decimal_separator"] = value
        elif key == "na_values" and isinstance(value, str | list):
            nulls |= {value} if isinstance(value, str) else {str(v) for v in value}
        elif key == "compression" and (value in _DUCKDB_COMPRESSION or (
                isinstance(value, dict) and value.get("method") in _DUCKDB_COMPRESSION and len(value) == 1)):
            method = value.get("method") if isinstance(value, dict) else value
            if _DUCKDB_COMPRESSION[method]:
                out["compression"] = _DUCKDB_COMPRESSION[method]
        else:
            refused.append(key)
    if skip:
        out["skip"] = skip
    out["nullstr"] = sorted(nulls)
    return out, refused


def _spark_csv_options(source: SourceSpec) -> tuple[dict, list[str]]:
    """Spark ``read.csv`` settings for the source's options, and the options it cannot honour.
    Every column is read as text (identifiers and dates as they are written; numbers are
    typed as in DuckDB), and a line with more or fewer fields than the header is an error
    (Spark would cut or pad it)."""
    out = {"header": True, "inferSchema": False, "mode": "FAILFAST"}
    refused = []
    for key, value in source.options.items():
        if key in ("sep", "delimiter") and isinstance(value, str) and len(value) == 1:
            out["sep"] = value
        elif key == "encoding" and _ENCODINGS.get(str(value).lower().replace(" ", "")):
            out["encoding"] = _ENCODINGS[str(value).lower().replace(" ", "")]
        elif key == "quotechar" and isinstance(value, str) and len(value) == 1:
            out["quote"] = value
        elif key == "na_values" and isinstance(value, str | list):
            pass  # with pandas' own markers, made missing after reading (:func:`_pandas_nulls`)
        elif key == "compression" and value in ("gzip", "infer", None):
            pass  # Spark decompresses by the file's suffix (checked in :func:`pandas_options`)
        else:
            refused.append(key)
    return out, refused


def _pandas_nulls(table: ibis.Table, source: SourceSpec) -> ibis.Table:
    """Text that pandas reads as missing (its markers such as ``NA``, and the source's
    ``na_values``) made missing, for an engine whose reader does not do it."""
    nulls = sorted(set(_csv_options(source)[0]["nullstr"]) - {""})
    fixes = {c: ibis.ifelse(table[c].isin(nulls), ibis.null("string"), table[c])
             for c, t in table.schema().items() if t.is_string()}
    return table.mutate(**fixes) if fixes else table


def _numbers_as_read(table: ibis.Table, text: set[str], source: SourceSpec) -> ibis.Table:
    """The columns of a CSV read as text (other than ``text``: identifiers, dates, text)
    whose every value is a number, as numbers: whole numbers as ``int64``, others as
    ``float64``, as pandas and DuckDB read them (one query counts what parses)."""
    candidates = [c for c in table.columns if c not in text and table[c].type().is_string()]
    if not candidates:
        return table
    counts = {}
    for i, c in enumerate(candidates):
        value = table[c].strip()
        counts.update({f"n{i}": value.count(), f"i{i}": value.try_cast("int64").count(),
                       f"f{i}": value.try_cast("float64").count()})
    found = run_query(table.aggregate(**counts), source.describe()).iloc[0]
    types = {}
    for i, c in enumerate(candidates):
        n = as_count(found[f"n{i}"])
        if n and as_count(found[f"i{i}"]) == n:
            types[c] = "int64"
        elif as_count(found[f"f{i}"]) == n:  # an empty column too, as pandas reads it
            types[c] = "float64"
    return table.mutate(**{c: table[c].strip().try_cast(t) for c, t in types.items()}) if types else table


def pandas_options(source: SourceSpec, spec: DatasetSpec, engine: str = "duckdb") -> list[str]:
    """Why the engine (``duckdb`` or ``spark``) cannot read ``source`` itself: the options
    (or the format) only pandas honours; empty when the engine reads it."""
    if source.kind not in ("csv", "parquet", "jsonl"):
        return [f"format {source.kind}"]
    # Spark: the spec's date formats are Python strptime codes, which only DuckDB parses
    formats = ["dates"] if engine != "duckdb" and source.dates else []
    if source.kind == "csv":
        duckdb = engine == "duckdb"
        refused = (_csv_options(source) if duckdb else _spark_csv_options(source))[1] + formats
        unread = (".bz2", ".xz", ".zip") if duckdb else (".zst", ".xz", ".zip")
        for path in source_files(source, spec):
            suffix = path.suffix.lower()
            if suffix in unread and "compression" not in refused:
                refused.append(f"compression {suffix[1:]}")
            elif not duckdb and source.options.get("compression") == "gzip" and suffix != ".gz" \
                    and "compression" not in refused:
                refused.append("compression")
        return refused
    return [f"option {k}" for k in source.options] + formats


def persist(con: ibis.BaseBackend, expr: ibis.Table, hint: str) -> ibis.Table:
    """Compute ``expr`` once into a table the connection keeps (DuckDB: a temporary table,
    spilled to disk beyond its memory limit; other engines: a cached table)."""
    name = f"seglab_{hint}_{uuid.uuid4().hex[:10]}"
    with quiet():
        if con.name == "duckdb":
            return con.create_table(name, expr, temp=True)
        # a view first: it registers the in-memory tables ``expr`` joins (e.g. the pseudonyms)
        # in the session, which caching an expression does not do on Spark
        return con.create_view(name, expr).cache()


def _with_rows(table: ibis.Table, offset: int) -> ibis.Table:
    """The table with its rows' order (plus ``offset``) as ``_row``."""
    return table.mutate(**{ROW: ibis.row_number() + offset})


def run_query(expr: ibis.Expr, what: str):
    """Execute an engine expression to a (small) pandas result; engine errors become
    :class:`SourceError` naming ``what``."""
    try:
        with quiet():
            return expr.to_pyarrow().to_pandas() if isinstance(expr, ibis.Table) else expr.execute()
    except SeglabError:
        raise
    except Exception as err:  # the engine's own error types (duckdb.Error, Spark's …)
        raise SourceError(f"{what}: the engine could not read it: {_first_line(err)}") from None


def as_count(value) -> int:
    """A count from an engine query as an int: a sum over no rows (or only missing values)
    comes back missing, and counts nothing."""
    return 0 if pd.isna(value) else int(value)


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _nan_as_null(table: ibis.Table) -> ibis.Table:
    """NaN in float columns is missing, as in pandas."""
    fixes = {c: ibis.ifelse(table[c].isnan(), ibis.null("float64"), table[c])
             for c, t in table.schema().items() if t.is_floating()}
    return table.mutate(**fixes) if fixes else table


def _text_columns(source: SourceSpec, name: str) -> dict[str, str]:
    """The raw CSV columns read as text whatever they look like: identifiers (``0001``
    stays ``0001``), dates (parsed with the spec's formats) and text."""
    kinds = ENGINE_TABLES[name][0]
    mapped = source.columns or {c: c for c in kinds}
    return {raw: "VARCHAR" for canon, raw in mapped.items() if kinds.get(canon) in ("id", "datetime", "text")}


def _read_files(con: ibis.BaseBackend, source: SourceSpec, paths: list[Path], name: str) -> ibis.Table:
    names = [str(p) for p in paths]
    with quiet():
        if con.name != "duckdb":  # Spark's readers take one path (a list becomes a bad glob): one each, unioned
            options = _spark_csv_options(source)[0]
            read = {"parquet": con.read_parquet, "jsonl": lambda path: con.read_json(path, mode="FAILFAST")}.get(
                source.kind, lambda path: con.read_csv(path, **options))
            table = functools.reduce(lambda a, b: a.union(b), [read(n) for n in names])
            if source.kind != "csv":
                return table
            return _numbers_as_read(_pandas_nulls(table, source), set(_text_columns(source, name)), source)
        if source.kind == "parquet":
            return con.read_parquet(names, union_by_name=True)
        if source.kind == "jsonl":
            return con.read_json(names, format="newline_delimited")
        options = _csv_options(source)[0]
        header = con.read_csv(names, **{**options, "sample_size": 1}).columns
        types = {c: t for c, t in _text_columns(source, name).items() if c in header}
        return con.read_csv(names, **options, **({"types": types} if types else {}))


def _line_problem(source: SourceSpec, spec: DatasetSpec) -> None:
    """Raise the in-memory reader's error for ``source``, naming the file and the line, if
    it finds one: a whole pass in pandas, so only on the way to an error."""
    if source.kind in ("csv", "jsonl"):
        for _ in iter_source(source, spec, columns=None):
            pass


def _diagnose(source: SourceSpec, spec: DatasetSpec, err: Exception) -> SourceError:
    """The precise error for a file the engine could not read: the pandas reader's
    (naming the file and the line), else the engine's own message."""
    _line_problem(source, spec)
    return SourceError(f"source {source.describe()}: the engine could not read it: {_first_line(err)}; "
                       "check the format and the reader options in the spec")


def _check_header(source: SourceSpec, spec: DatasetSpec, path: Path, columns: list[str]) -> None:
    """A CSV header line with fewer fields than the rows is taken by DuckDB's sniffer for a
    malformed line and skipped (a data line becomes the header), where pandas names the
    line: compare the header line's fields (read in Python: a few bytes) with the columns
    the engine found, and when they differ, or a column's name holds a NUL byte, let the
    in-memory reader find the problem."""
    options = {k: v for k, v in source.options.items()
               if k in ("sep", "delimiter", "encoding", "quotechar", "compression")}
    try:
        with closing(_csv_rows(path, options, _csv_options(source)[0].get("skip", 0))) as rows:
            header = next(rows, (0, []))[1]
    except (*_BROKEN_COMPRESSION, OSError, csv.Error, LookupError):
        return  # the engine read it: nothing more to learn here
    if len(header) != len(columns) or any("\x00" in str(c) for c in columns):
        _line_problem(source, spec)


def _suspect_mark(table: ibis.Table, columns: list[str] | None, engine: str,
                  source: SourceSpec) -> ibis.Value | None:
    """Whether a line's text holds a NUL byte, the sign of a binary, damaged or UTF-16
    file (in ``columns``, all when None), or, on engines that replace bytes they cannot
    decode instead of failing (Spark), the replacement character U+FFFD (in any column):
    text the in-memory reader refuses."""
    signs = [("\x00", columns or table.columns)]
    if engine != "duckdb" and str(source.options.get("encoding", "utf-8")).lower() in _UTF8:
        signs.append(("\ufffd", table.columns))
    found = [table[c].contains(sign).fill_null(False) for sign, names in signs for c in names
             if table[c].type().is_string()]
    return functools.reduce(lambda a, b: a | b, found) if found else None


def _pandas_frame(source: SourceSpec, spec: DatasetSpec, columns: list[str] | None, refused: list[str],
                  engine: str) -> pd.DataFrame:
    """Read a source with pandas, after checking it is small enough to."""
    what = ", ".join(refused)
    fix = ("export it as Parquet (or plain CSV without those options), which the engine reads "
           "itself")
    if source.kind == "sql":
        import sqlalchemy as sa

        query = source.query or f'SELECT * FROM "{source.table}"'
        try:
            with sa.create_engine(spec.resolve(source.url or "")).connect() as db:
                rows = db.execute(sa.text(f"SELECT COUNT(*) FROM ({query}) AS seglab_rows")).scalar()
        except Exception:  # reading it below gives the precise error
            rows = 0
        if rows > PANDAS_MAX_ROWS:
            raise SourceTooLargeError(
                f"source {source.describe()} holds {rows:,} rows, more than the {PANDAS_MAX_ROWS:,} "
                f"(SEGLAB_PANDAS_MAX_ROWS) a database source may hold: it is read into memory, the "
                f"{engine} engine does not read databases. Export the table to Parquet and name the "
                "file in the spec")
    else:
        size = sum(p.stat().st_size for p in source_files(source, spec)) / 1e6
        if size > PANDAS_MAX_MB:
            error = EngineOptionError if source.kind in ("csv", "parquet", "jsonl") else SourceTooLargeError
            raise error(
                f"source {source.describe()} ({size:,.0f} MB) needs {what}, which the {engine} engine "
                f"cannot honour, and is larger than the {PANDAS_MAX_MB:,.0f} MB (SEGLAB_PANDAS_MAX_MB) "
                f"pandas may read into memory; {fix}")
    logger.info("reading %s with pandas (%s)", source.describe(), what)
    return read_source(source, spec, columns=columns)


def _mapped(table: ibis.Table, source: SourceSpec, marks: dict[str, ibis.Value] | None = None) -> ibis.Table:
    """Canonical names and derived columns, as :func:`seglab.collect.mapping.map_source`
    (and ``marks``: values of ``table`` kept beside them)."""
    if source.columns:
        out = {canon: table[raw] for canon, raw in source.columns.items()}
    else:
        out = {c: table[c] for c in table.columns}
    if source.derive:
        namespace = {**{c: table[c] for c in table.columns}, **out}
        for name, text in source.derive.items():
            value = to_ibis(parse_expression(text), namespace)
            out[name] = namespace[name] = value
    return table.select(**out, **(marks or {}))


# --------------------------------------------------------------------------- types

_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"


@ibis.udf.scalar.builtin(name="try_strptime")
def _try_strptime(text: str, fmt: str) -> datetime.datetime:
    """DuckDB's ``try_strptime``: missing where the text does not match the format."""


def parse_dates(text: ibis.Value, fmt: str | None) -> ibis.Value:
    """Text → timestamp with the spec's format (Python ``strptime`` codes), or ISO 8601;
    values with a time-zone offset converted to UTC (the engine's session is in UTC, so
    values without one are taken as they are); missing where a value does not parse."""
    if not text.type().is_string():
        return text.cast("timestamp")
    text = text.strip()
    if fmt is not None:
        return _try_strptime(text, fmt).cast("timestamp")
    return text.try_cast("timestamp('UTC')").cast("timestamp")


def _ids(value: ibis.Value) -> ibis.Value:
    """:func:`seglab.collect.schema.coerce_ids` in the engine."""
    text = value.cast("string").strip()
    # the regular expression only where it can match: most ids hold no dot
    text = ibis.ifelse(text.contains("."), text.re_replace(r"^(-?\d+)\.0+$", r"\1"), text)
    return text.nullif("")


def _numbers(value: ibis.Value, decimal: str | None) -> ibis.Value:
    if value.type().is_numeric() or value.type().is_boolean():
        return value.cast("float64")
    text = value.cast("string").strip()
    if decimal == ",":
        text = text.replace(",", ".")
    return text.nullif("").try_cast("float64")


_BAD, _OFF = "_bad_", "_off_"  # marks kept beside the typed values until they are checked


def _coerced(table: ibis.Table, name: str, source: SourceSpec) -> ibis.Table:
    """Canonical types (:func:`seglab.collect.schema.coerce_table` in the engine), with a
    ``_bad_<column>`` mark where a value is not a number or a date and an ``_off_<column>``
    column holding each date's time-zone offset, for :func:`_check_coerced`: the file is
    parsed once."""
    kinds, required = ENGINE_TABLES[name]
    require_columns(pd.DataFrame(columns=table.columns), required, table=name)
    decimal = source.options.get("decimal") if source.kind == "csv" else None
    out, marks = {}, {}
    for col, dtype in table.schema().items():
        kind = kinds.get(col)
        value = table[col]
        if kind == "id":
            out[col] = _ids(value)
        elif kind == "number":
            out[col] = _numbers(value, decimal)
            if not (dtype.is_numeric() or dtype.is_boolean()):
                text = value.cast("string").strip()
                marks[_BAD + col] = text.notnull() & (text != "") & out[col].isnull()
        elif kind == "datetime" and dtype.is_string():
            text = value.strip()
            out[col] = parse_dates(text, source.dates.get(col))
            marks[_BAD + col] = text.notnull() & (text != "") & out[col].isnull()
            if not source.dates.get(col):  # the regular expression only where an offset can be
                tail = text.right(6)
                maybe = text.endswith("Z") | tail.contains("+") | tail.contains("-")
                marks[_OFF + col] = ibis.ifelse(maybe, text.re_extract(_OFFSET, 1).nullif(""), ibis.null("string"))
        elif kind == "datetime":  # a time-zone aware timestamp becomes UTC: the session is in UTC
            out[col] = value.cast("timestamp")
        elif kind == "text":
            out[col] = value.cast("string")
        else:
            out[col] = value
    return table.select(**out, **marks)


def _check_coerced(stored: ibis.Table, mapped: ibis.Table, name: str, source: SourceSpec) -> ibis.Table:
    """Values that are not numbers or dates are an error naming them, and dates with
    different time-zone offsets (or some with one, some without) a warning or, under
    ``mixed_time_zones: refuse``, an error, as in :func:`seglab.collect.schema.coerce_table`;
    returns the table without its marks. ``mapped``: the values as read, for examples."""
    kinds = ENGINE_TABLES[name][0]
    bad = [c[len(_BAD):] for c in stored.columns if c.startswith(_BAD)]
    offsets = [c[len(_OFF):] for c in stored.columns if c.startswith(_OFF)]
    if not bad and not offsets:
        return stored
    stats = {f"bad_{c}": stored[_BAD + c].cast("int64").sum() for c in bad}
    for c in offsets:
        stats[f"kinds_{c}"] = stored[_OFF + c].nunique()
        stats[f"plain_{c}"] = (stored[_OFF + c].isnull() & stored[c].notnull()).cast("int64").sum()
    found = run_query(stored.aggregate(n=stored.count(), **stats), source.describe()).iloc[0]
    for col in bad:
        n = as_count(found[f"bad_{col}"])
        if not n:
            continue
        examples = _examples(mapped, col, kinds[col], source)
        if kinds[col] == "number":
            hint = ("they use a decimal comma: add options: {decimal: ',', thousands: '.'} to the source"
                    if "," in examples else "clean the source or derive the column with an expression")
            what = "numbers"
        else:
            fmt = source.dates.get(col)
            hint = (f"the format {fmt!r} does not match them" if fmt else
                    f"set its format in the spec, e.g. dates: {{{col}: \"%d/%m/%Y %H:%M\"}} (the "
                    "engine reads ISO dates by itself, other layouts with their format)")
            what = "dates"
        raise DataTypeError(f"{name}.{col}: {n:,} of {int(found['n']):,} values are not {what} "
                            f"(e.g. {examples}); {hint}")
    for col in offsets:
        n_kinds, plain = as_count(found[f"kinds_{col}"]), as_count(found[f"plain_{col}"])
        if n_kinds > 1 or (n_kinds and plain):
            found_offsets = stored.filter(stored[_OFF + col].notnull())
            seen = run_query(found_offsets.group_by(o=found_offsets[_OFF + col])  # in order of appearance
                             .aggregate(first=found_offsets[ROW].min()).order_by("first").limit(5),
                             source.describe())["o"].tolist()
            message = (f"{name}.{col}: the dates carry different time-zone offsets ("
                       + ", ".join(seen[:4]) + (", …" if len(seen) > 4 else "")
                       + (f"; {plain:,} without one" if plain else "") + ")")
            if source.mixed_time_zones == "refuse":
                raise DataTypeError(f"{message} and the spec says mixed_time_zones: refuse. Export the "
                                    "dates with one offset, or remove that option to have them "
                                    "converted to UTC")
            warnings.warn(f"{message}; converted them to UTC"
                          + (" (values without an offset taken as UTC)" if plain else "")
                          + ". Add mixed_time_zones: refuse to the source in the spec to stop instead",
                          DataQualityWarning, stacklevel=6)
    return stored.drop(*[c for c in stored.columns if c.startswith((_BAD, _OFF))])


def _examples(mapped: ibis.Table, column: str, kind: str, source: SourceSpec, n: int = 3) -> str:
    """A few values of ``column`` that are not numbers (or dates), as read."""
    text = mapped[column].cast("string").strip()
    parsed = _numbers(mapped[column], source.options.get("decimal") if source.kind == "csv" else None) \
        if kind == "number" else parse_dates(text, source.dates.get(column))
    found = run_query(mapped.filter(text.notnull() & (text != "") & parsed.isnull()).select(v=text)
                      .distinct().limit(n), source.describe())
    return ", ".join(repr(v) for v in found["v"].tolist())


# --------------------------------------------------------------------------- tables

def _source_table(con: ibis.BaseBackend, spec: DatasetSpec, source: SourceSpec, name: str,
                  offset: int) -> tuple[ibis.Table, int]:
    """One source, mapped and typed, persisted with its row order; and its row count."""
    columns = _needed_columns(source)
    refused = pandas_options(source, spec, con.name)
    marks = {}
    if refused:
        frame = _pandas_frame(source, spec, columns, refused, con.name)
        raw = ibis.memtable(frame)
    else:
        try:
            raw = _read_files(con, source, source_files(source, spec), name)
        except Exception as err:  # the engine's own error types
            raise _diagnose(source, spec, err) from None
        if source.kind == "csv":
            first = source_files(source, spec)[0]
            check_single_column(first, raw.columns, source.options)
            _check_header(source, spec, first, list(raw.columns))
        _check_columns(raw.columns, source, columns)
        suspect = _suspect_mark(raw, columns, con.name, source) if source.kind in ("csv", "jsonl") else None
        marks = {} if suspect is None else {_SUSPECT: suspect}
    mapped = _mapped(_nan_as_null(raw), source, marks)
    typed = _nan_as_null(_coerced(mapped, name, source))
    counts = {"n": ibis._.count(), **({"suspect": ibis._[_SUSPECT].cast("int64").sum()} if marks else {})}
    try:  # the file is parsed here, once (Spark: at the count): a line the engine cannot read fails here
        stored = persist(con, _with_rows(typed, offset), name)
        found = run_query(stored.aggregate(**counts), source.describe()).iloc[0]
    except Exception as err:  # the engine's own error types
        if refused:
            raise
        raise _diagnose(source, spec, err) from None
    if marks and as_count(found["suspect"]):
        _line_problem(source, spec)  # names the line; nothing found: the text is what the file holds
    stored = stored.drop(_SUSPECT) if marks else stored
    return _check_coerced(stored, mapped, name, source), int(found["n"])


def _aligned(tables: list[ibis.Table]) -> list[ibis.Table]:
    """The tables with the same columns in the same order (missing ones as nulls; a column
    typed differently across sources as text)."""
    names = list(dict.fromkeys(c for t in tables for c in t.columns))
    types = {}
    for t in tables:
        for c, dtype in t.schema().items():
            types[c] = dtype if types.get(c, dtype) == dtype else ibis.dtype("string")
    return [t.select(**{c: (t[c] if c in t.columns else ibis.null(types[c])).cast(types[c])
                        for c in names}) for t in tables]


def read_table_engine(con: ibis.BaseBackend, spec: DatasetSpec, table: TableSpec, name: str, *,
                      policy: str) -> tuple[ibis.Table, list[CheckResult], int]:
    """Read, map, type and combine every source of a line-scale table in the engine
    (:func:`seglab.collect.mapping.read_table` for ``transactions`` and ``events``).

    Returns the combined table (with ``_row``, the lines' source order; each source is
    persisted in the engine), the ``overlap`` result (as there) and the number of rows read before the
    overlap is dropped.
    """
    parts, overlap, seen, total = [], 0, None, 0
    for source in table.sources:
        part, rows = _source_table(con, spec, source, name, offset=total)
        total += rows
        key = table.overlap_key
        if key and key in part.columns:
            if seen is not None:
                repeated = part[key].isin(seen[key])
                overlap += int(run_query(part.filter(repeated).count(), source.describe()))
                if policy == "drop":
                    part = part.filter(~repeated)
            keys = part.select(key).filter(part[key].notnull()).distinct()
            seen = keys if seen is None else persist(con, seen.union(keys, distinct=True), "keys")
        parts.append(part)
    combined = parts[0] if len(parts) == 1 else ibis.union(*_aligned(parts))
    results = []
    if table.overlap_key and len(table.sources) > 1:
        results.append(CheckResult("overlap", name, policy, overlap, "lines",
                                   CHECKS["overlap"].description, {"key": table.overlap_key}))
    return combined, results, total

