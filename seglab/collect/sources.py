"""Read one source of a dataset spec into a raw DataFrame (source column names).

Files (CSV, gzip CSV, Parquet, Excel, JSON lines) may be given as globs; a DuckDB
file or any SQLAlchemy URL is read with a ``table`` or a ``query``. Raw files are
only ever opened for reading.

A file that cannot be read as it should is a :class:`~seglab.exceptions.SourceError`
naming the file, the line and what was found there: a row with more fields than the
header (pandas would shift it), text that is not in the declared encoding, NUL bytes,
a truncated or damaged compressed file, a line of a JSON-lines file that is not an
object. A DuckDB ``query`` runs with external access disabled (it can read the
database's own tables and nothing else) and must be a single ``SELECT``.
"""

from __future__ import annotations

import bz2
import csv
import glob
import gzip
import io
import json
import logging
import lzma
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import closing
from functools import partial
from pathlib import Path

import pandas as pd

from seglab._validation import did_you_mean, show_list
from seglab.collect.spec import DatasetSpec, SourceSpec
from seglab.exceptions import EmptyDataError, SchemaError, SourceError, SpecError

__all__ = ["read_source", "iter_source", "source_files"]

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


# --------------------------------------------------------------------------- text files

_COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip", ".zst": "zstd"}
_BROKEN_COMPRESSION = (EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, gzip.BadGzipFile)
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _compression(path: Path, opts: dict) -> str | None:
    given = opts.get("compression")
    if given not in (None, "infer"):
        return given if isinstance(given, str) else given.get("method")
    return _COMPRESSED.get(path.suffix.lower())


def _open_binary(path: Path, opts: dict):
    """The file's (decompressed) bytes as a binary stream, for locating a problem."""
    method = _compression(path, opts)
    if method == "gzip":
        return gzip.open(path, "rb")
    if method == "bz2":
        return bz2.open(path, "rb")
    if method == "xz":
        return lzma.open(path, "rb")
    if method == "zip":
        archive = zipfile.ZipFile(path)
        return archive.open(archive.namelist()[0])
    if method == "zstd":
        import zstandard

        return zstandard.open(path, "rb")
    return open(path, "rb")


def _lines(path: Path, opts: dict) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes)`` of each line, 1-based; stops quietly where the file breaks."""
    try:
        with _open_binary(path, opts) as fh:
            yield from enumerate(fh, start=1)
    except (*_BROKEN_COMPRESSION, OSError, ImportError):
        return


def _show(text: str | bytes, width: int = 80) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.rstrip("\r\n")
    return repr(text if len(text) <= width else text[:width] + "…")


def _undecodable(path: Path, opts: dict, err: UnicodeDecodeError) -> SourceError:
    encoding = opts.get("encoding") or "utf-8"
    errors = opts.get("encoding_errors") or "strict"
    for number, line in _lines(path, opts):
        try:
            line.decode(encoding, errors)
        except UnicodeDecodeError as bad:
            found = line[bad.start:bad.end]
            return SourceError(
                f"{path}, line {number:,}: bytes {found!r} are not {encoding} text (the line reads "
                f"{_show(line)}); the file is in another encoding: add options: {{encoding: latin-1}} "
                "(or the file's encoding, e.g. cp1252, utf-16) to the source")
        except LookupError:
            break
    return SourceError(f"{path} is not in the expected text encoding ({err.reason}); add "
                       "options: {encoding: latin-1} (or the file's encoding) to the source")


def _nul_error(path: Path, opts: dict) -> SourceError:
    for number, line in _lines(path, opts):
        if b"\x00" in line:
            return SourceError(
                f"{path}, line {number:,}: a NUL byte (\\x00) inside the text (the line reads "
                f"{_show(line.replace(bytes(1), b'<NUL>'))}); the file is binary, damaged, or "
                "UTF-16 encoded (then add options: {encoding: utf-16} to the source)")
    return SourceError(f"{path} holds NUL bytes (\\x00): the file is binary, damaged, or UTF-16 "
                       "encoded (then add options: {encoding: utf-16} to the source)")


def _check_no_nul(frame: pd.DataFrame, path: Path, opts: dict) -> None:
    """Text with NUL bytes comes from a binary, damaged or UTF-16 file read as text."""
    if any("\x00" in str(c) for c in frame.columns):
        raise _nul_error(path, opts)
    for col in frame.columns:
        values = frame[col]
        if (pd.api.types.is_string_dtype(values) or values.dtype == object) and \
                values.astype("string").str.contains("\x00", regex=False).any():
            raise _nul_error(path, opts)


def _csv_rows(path: Path, opts: dict, skip: int = 0) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of a CSV file's rows (the header first) after ``skip``
    lines, split as the ``csv`` module does with the source's options (``opts``: pandas'
    ``sep``/``delimiter``, ``encoding``, ``quotechar``, ``compression``), for locating a
    problem. Nothing when the delimiter is longer than one character."""
    delimiter = opts.get("sep") or opts.get("delimiter") or ","
    if len(delimiter) != 1:
        return
    with _open_binary(path, opts) as raw:
        text = io.TextIOWrapper(raw, encoding=opts.get("encoding") or "utf-8", errors="replace", newline="")
        for _ in range(skip):
            text.readline()
        reader = csv.reader(text, delimiter=delimiter, quotechar=opts.get("quotechar") or '"')
        for row in reader:
            yield reader.line_num + skip, row


def _ragged(path: Path, opts: dict, pandas_message: str) -> SourceError:
    """Find the first row with more fields than the header (a shifted row) and show it."""
    delimiter = opts.get("sep") or opts.get("delimiter") or ","
    skip = opts.get("skiprows") if isinstance(opts.get("skiprows"), int) else 0
    try:
        rows = _csv_rows(path, opts, skip)
        header = next(rows, (0, []))[1]
        for number, row in rows:
            if len(row) > len(header) and any(f.strip() for f in row[len(header):]):
                return SourceError(
                    f"{path}, line {number:,}: {len(row)} fields where the "
                    f"header has {len(header)} (the line reads {_show(delimiter.join(row))}); "
                    "a value holds an unquoted delimiter, or the line is broken. Quote or fix "
                    "that value in the export (the columns after it would be shifted)")
    except (*_BROKEN_COMPRESSION, OSError, csv.Error):
        pass
    found = _RAGGED.search(pandas_message)
    where = f", row {int(found[2]):,}: {found[3]} fields where the header has {found[1]}" if found else ""
    return SourceError(f"{path}{where}: could not be parsed as CSV ({pandas_message.strip()}); check "
                       "the delimiter (options: {sep: ';'}) and quoting")


def _broken_compression(path: Path, opts: dict, err: BaseException) -> SourceError:
    last = max((number for number, _ in _lines(path, opts)), default=0)
    where = f" after line {last:,}" if last else " at its start"
    return SourceError(f"{path}: the compressed file is truncated or damaged{where} "
                       f"({err or type(err).__name__}); download or export it again")


def _text_frames(path: Path, source: SourceSpec, kind: str, chunk_rows: int | None,
                 columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The frames of a CSV or JSON-lines file (one, or one per ``chunk_rows`` rows), with
    every parsing problem turned into a :class:`SourceError` naming the file and line.

    With ``columns``, a CSV file's other columns are not parsed (much faster), and then
    rows longer than the header go unnoticed: only a whole read checks every row.
    """
    header: list[str] = []
    if kind == "csv":
        opts = _options(source, _CSV_OPTIONS, "CSV")
        if columns is not None:
            wanted = set(columns)
            opts["usecols"] = lambda name: header.append(name) or name in wanted
        reader = partial(pd.read_csv, path, dtype=_id_dtypes(source), index_col=False, **opts)
    else:
        opts = {}
        reader = partial(pd.read_json, path, lines=True, dtype=False)
    frames = None
    try:
        frames = iter([_strict(reader)]) if chunk_rows is None else _strict(reader, chunksize=chunk_rows)
        while (frame := _strict(next, frames, None)) is not None:
            if header:  # only some columns were parsed: check the header's names too
                if any("\x00" in str(name) for name in header):
                    raise _nul_error(path, opts)
                _check_columns(list(dict.fromkeys(header)), source, columns)
            _check_no_nul(frame, path, opts)
            yield frame
    except UnicodeDecodeError as err:
        raise _undecodable(path, opts, err) from None
    except pd.errors.EmptyDataError:
        raise EmptyDataError(f"{path} is empty; expected a header line and rows") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as err:
        raise _ragged(path, opts, str(err)) from None
    except _BROKEN_COMPRESSION as err:
        raise _broken_compression(path, opts, err) from None
    except PermissionError as err:
        raise SourceError(f"{path} cannot be read: {err.strerror}; check its permissions") from None
    except OSError as err:
        if _compression(path, opts):
            raise _broken_compression(path, opts, err) from None
        raise SourceError(f"{path} cannot be read: {err}") from None
    except (ValueError, TypeError) as err:
        if kind == "jsonl":
            raise _bad_json_line(path, opts, err) from None
        raise
    finally:
        if hasattr(frames, "close"):
            frames.close()


def _strict(func, *args, **kwargs):
    """Call a pandas reader with a row longer than the header made an error: pandas would
    shift such a row (or cut it) with only a warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Length of header", category=pd.errors.ParserWarning)
        return func(*args, **kwargs)


def _bad_json_line(path: Path, opts: dict, err: Exception) -> SourceError:
    for number, line in _lines(path, opts):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as bad:
            return SourceError(f"{path}, line {number:,}: not valid JSON ({bad.msg}; the line reads "
                               f"{_show(line)}); expected one JSON object per line")
        if not isinstance(value, dict):
            return SourceError(f"{path}, line {number:,}: a JSON {type(value).__name__}, not an object "
                               f"(the line reads {_show(line)}); expected one JSON object per line")
    return SourceError(f"{path} is not JSON lines (one object per line): {err}")


def check_single_column(path: Path, columns: list, options: dict) -> None:
    """A CSV file read as one column whose name holds a tab, semicolon or pipe: name the
    separator to set."""
    if len(columns) == 1 and "sep" not in options and "delimiter" not in options:
        header = str(columns[0])
        for sep, name in (("\t", "tab"), (";", "semicolon"), ("|", "pipe")):
            if sep in header:
                raise SourceError(
                    f"{path} was read as a single column {header[:60]!r}; it looks {name}-"
                    f"separated: add options: {{sep: {sep!r}}} to the source in the spec"
                )


def _read_csv(path: Path, source: SourceSpec) -> pd.DataFrame:
    frame = _first(_text_frames(path, source, "csv", None))
    check_single_column(path, list(frame.columns), source.options)
    return frame


# --------------------------------------------------------------------------- DuckDB files

# A dataset spec may come from someone else: its query may read the database it names and
# nothing else (no other file, no COPY … TO, no ATTACH, no extension downloads).
_DUCKDB_SANDBOX = {"enable_external_access": False, "autoinstall_known_extensions": False,
                   "autoload_known_extensions": False, "lock_configuration": True}


def _duckdb_relation(con, path: Path, source: SourceSpec):
    import duckdb

    if source.table:
        return con.table(source.table)
    try:
        statements = duckdb.extract_statements(source.query)
    except duckdb.Error as err:
        raise SourceError(f"{path}: the query is not valid SQL: {str(err).splitlines()[0]}") from None
    kinds = [s.type.name for s in statements]
    if kinds != ["SELECT"]:
        raise SpecError(f"source {source.describe()}: a query must be one SELECT statement; found "
                        f"{', '.join(kinds) or 'nothing'}. Queries may only read the database's "
                        "own tables")
    return con.sql(source.query)


def _duckdb_frames(path: Path, source: SourceSpec, columns: list[str] | None,
                   chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True, config=_DUCKDB_SANDBOX)
    except duckdb.Error as err:
        raise SourceError(f"{path} is not a readable DuckDB database: {err}") from None
    try:
        rel = _duckdb_relation(con, path, source)
        if columns is not None:
            rel = rel.select(*[duckdb.ColumnExpression(c) for c in columns if c in rel.columns])
        if chunk_rows is None:
            yield rel.df()
        else:
            for batch in rel.to_arrow_reader(chunk_rows):
                yield batch.to_pandas()
    except duckdb.PermissionException as err:
        raise SourceError(f"{path}: the query may only read this database's own tables "
                          f"({str(err).splitlines()[0]})") from None
    except duckdb.Error as err:
        raise SourceError(f"{path}: {str(err).splitlines()[0]}") from None
    finally:
        con.close()


# --------------------------------------------------------------------------- any file

def _file_frames(path: Path, source: SourceSpec, columns: list[str] | None,
                 chunk_rows: int | None = None) -> Iterator[pd.DataFrame]:
    kind = source.kind
    if kind == "csv":
        if chunk_rows is None:
            yield _read_csv(path, source)
        else:
            yield from _text_frames(path, source, "csv", chunk_rows, columns)
        return
    if kind == "jsonl":
        yield from _text_frames(path, source, "jsonl", chunk_rows)
        return
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
            wanted = None if columns is None else [c for c in names if c in set(columns)] or None
            if chunk_rows is None:
                yield pd.read_parquet(path, columns=wanted)
                return
            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=wanted):
                yield batch.to_pandas()
        except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
            raise SourceError(f"{path} is not a readable Parquet file: {err}") from None
        return
    if kind == "excel":
        opts = _options(source, _EXCEL_OPTIONS, "Excel")
        sheet = opts.pop("sheet", 0)
        try:
            yield pd.read_excel(path, sheet_name=sheet, dtype=_id_dtypes(source), **opts)
        except zipfile.BadZipFile as err:
            raise SourceError(f"{path} is not a readable Excel file ({err}); open and save it again "
                              "in Excel, or export it as CSV") from None
        except ValueError as err:
            raise SourceError(f"{path}: {err}; set options: {{sheet: <name or number>}}") from None
        return
    if kind == "duckdb":
        yield from _duckdb_frames(path, source, columns, chunk_rows)
        return
    raise SourceError(f"unknown format {kind!r} for {path}")


def _first(frames: Iterator[pd.DataFrame]) -> pd.DataFrame:
    with closing(frames):
        return next(frames)


def _read_file(path: Path, source: SourceSpec, columns: list[str] | None) -> pd.DataFrame:
    return _first(_file_frames(path, source, columns))


def _read_sql(source: SourceSpec, spec: DatasetSpec, chunk_rows: int | None = None):
    """The rows of a database source: one frame, or an iterator of frames of ``chunk_rows``."""
    if chunk_rows is not None:
        return _sql_frames(source, spec, chunk_rows)
    return _first(_sql_frames(source, spec, None))


def _sql_frames(source: SourceSpec, spec: DatasetSpec, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
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
                result = pd.read_sql_query(sa.text(source.query), con, chunksize=chunk_rows)
            else:
                result = pd.read_sql_table(source.table, con, chunksize=chunk_rows)
            if chunk_rows is None:
                yield result
            else:
                yield from result
    except ValueError as err:  # read_sql_table: no such table
        raise SourceError(f"{source.describe()}: {err}") from None
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as err:
        cause = err.__cause__ if isinstance(err, pd.errors.DatabaseError) and err.__cause__ else err
        first = str(getattr(cause, "orig", cause)).splitlines()[0]
        raise SourceError(f"reading {source.describe()} failed: {first}") from None
    finally:
        engine.dispose()


def _check_columns(found: list, source: SourceSpec, columns: list[str] | None) -> None:
    """A clear error when the source lacks a column the mapping names (``found``: its columns)."""
    if columns is not None:
        missing = [c for c in columns if c not in found]
        if missing:
            parts = [f"{c!r}{did_you_mean(c, found)}" for c in missing]
            raise SchemaError(
                f"source {source.describe()} has no column {', '.join(parts)}; found "
                f"{show_list(list(found))}; fix the column mapping in the dataset spec"
            )


def iter_source(source: SourceSpec, spec: DatasetSpec, *, columns: list[str] | None = None,
                chunk_rows: int = 250_000) -> Iterator[pd.DataFrame]:
    """Read ``source`` in pieces of at most ``chunk_rows`` rows (Excel files: whole).

    The same checks and messages as :func:`read_source`, in bounded memory: this is how
    the period of a run is chosen without loading the table. Only ``columns`` are
    parsed (all when None); in a CSV file the other fields of a row are not looked at,
    so a row longer than the header is found by :func:`read_source`, not here.
    """
    if source.kind == "sql":
        frames = _read_sql(source, spec, chunk_rows)
    else:
        frames = (frame for path in source_files(source, spec)
                  for frame in _file_frames(path, source, columns, chunk_rows))
    for frame in frames:
        _check_columns(list(frame.columns), source, columns)
        yield frame


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
    _check_columns(list(frame.columns), source, columns)
    return frame
