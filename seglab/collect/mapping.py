"""Map raw sources onto canonical column names, derive columns, and combine sources."""

from __future__ import annotations

import logging
import warnings

import pandas as pd
from tqdm.auto import tqdm

from seglab.collect.expressions import parse_expression
from seglab.collect.quality import CHECKS, CheckResult
from seglab.collect.schema import (CAMPAIGN_COLUMNS, CAMPAIGN_REQUIRED, EVENT_COLUMNS, EVENT_REQUIRED,
                                   FEEDBACK_COLUMNS, FEEDBACK_REQUIRED, GROUPS, TRANSACTION_COLUMNS,
                                   TRANSACTION_REQUIRED, coerce_dates, coerce_ids, coerce_table,
                                   infer_attribute)
from seglab.collect.sources import iter_source, read_source
from seglab._validation import require_columns
from seglab.collect.spec import DatasetSpec, SourceSpec, TableSpec
from seglab.exceptions import DataQualityWarning

__all__ = ["map_source", "coerce_source", "read_table", "date_range"]

logger = logging.getLogger(__name__)


def _needed_columns(source: SourceSpec) -> list[str] | None:
    """Raw columns a source must provide, or None when it is read whole (no mapping)."""
    if not source.columns:
        return None
    needed = list(dict.fromkeys(source.columns.values()))
    produced = set(source.columns)
    for text in source.derive.values():
        for col in parse_expression(text).columns:
            if col not in produced and col not in needed:
                needed.append(col)
        produced.update(source.derive)
    return needed


def map_source(raw: pd.DataFrame, source: SourceSpec, *, keep_unmapped: bool) -> pd.DataFrame:
    """Rename mapped columns to canonical names and compute derived columns.

    Derived expressions may use raw source names and canonical names (canonical
    names win when both exist). ``raw`` is not modified.
    """
    if source.columns:
        out = pd.DataFrame({canon: raw[src] for canon, src in source.columns.items()}, index=raw.index)
        if keep_unmapped:
            mapped = set(source.columns.values())
            extra = [c for c in raw.columns if c not in mapped and c not in out.columns]
            out = pd.concat([out, raw[extra]], axis=1) if extra else out
    else:
        out = raw.copy(deep=False)
    if source.derive:
        namespace = raw.assign(**{c: out[c] for c in out.columns})
        for name, text in source.derive.items():
            value = parse_expression(text).evaluate(namespace)
            out[name] = value
            namespace[name] = value
    return out


def coerce_source(frame: pd.DataFrame, table: str, source: SourceSpec) -> pd.DataFrame:
    """Give a mapped source's columns their canonical types (per source: date formats differ)."""
    if table == "transactions":
        return coerce_table(frame, TRANSACTION_COLUMNS, table=table, required=TRANSACTION_REQUIRED,
                            dates=source.dates, mixed_time_zones=source.mixed_time_zones)
    if table == "events":
        return coerce_table(frame, EVENT_COLUMNS, table=table, required=EVENT_REQUIRED,
                            dates=source.dates, mixed_time_zones=source.mixed_time_zones)
    if table in ("campaigns", "feedback"):
        # only the canonical columns: a free-text comment or an e-mail never enters the run
        columns, required = ((CAMPAIGN_COLUMNS, CAMPAIGN_REQUIRED) if table == "campaigns"
                             else (FEEDBACK_COLUMNS, FEEDBACK_REQUIRED))
        require_columns(frame, required, table=table)
        out = coerce_table(frame[[c for c in frame.columns if c in columns]], columns, table=table,
                           required=required, dates=source.dates, mixed_time_zones=source.mixed_time_zones)
        key = "group" if table == "campaigns" else "kind"
        text = out[key].astype("string").str.strip().str.lower()
        if table == "campaigns":
            text = text.replace(GROUPS)
        return out.assign(**{key: text.mask(text == "").astype("str")})
    coerce_table(frame.iloc[:0], {}, table=table, required=("customer_id",))
    return pd.DataFrame({
        col: coerce_ids(frame[col]) if col == "customer_id"
        else infer_attribute(frame[col], column=col, table=table, date_format=source.dates.get(col))
        for col in frame.columns
    }, index=frame.index)


def read_table(spec: DatasetSpec, table: TableSpec, name: str, *,
               progress: bool = False) -> tuple[pd.DataFrame, list[CheckResult], list[str]]:
    """Read, map and combine every source of one table.

    With ``overlap_key`` set, rows of a later source whose key value already
    appeared in an earlier source are counted as ``overlap`` (and dropped under
    the default policy), so overlapping extracts are not double-counted.

    Returns the combined frame (canonical types), the overlap result (empty list when
    not applicable) and the source descriptions.
    """
    keep_unmapped = name == "customers"
    policy = spec.quality.policies.get("overlap", CHECKS["overlap"].default)
    frames, seen, overlap = [], None, 0
    sources = tqdm(table.sources, desc=f"reading {name}", unit="source", disable=not progress,
                   leave=False)
    for source in sources:
        raw = read_source(source, spec, columns=_needed_columns(source))
        frame = coerce_source(map_source(raw, source, keep_unmapped=keep_unmapped), name, source)
        key = table.overlap_key
        if key and key in frame.columns:
            keys = frame[key].astype("string")
            if seen is not None:
                repeated = keys.isin(seen).to_numpy()
                overlap += int(repeated.sum())
                if policy == "drop" and repeated.any():
                    frame = frame.loc[~repeated]
                    keys = keys.loc[~repeated]
            seen = keys.unique() if seen is None else pd.Index(seen).union(keys.unique())
        frames.append(frame)
    combined = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if len(frames) == 1:
        combined = combined.reset_index(drop=True)
    results = []
    if table.overlap_key and len(table.sources) > 1:
        results.append(CheckResult("overlap", name, policy, overlap, "lines",
                                   CHECKS["overlap"].description, {"key": table.overlap_key}))
    return combined, results, [s.describe() for s in table.sources]


def date_range(spec: DatasetSpec, table: TableSpec, name: str, column: str, *,
               chunk_rows: int = 250_000) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last value of a date column over every source, read in pieces.

    Only the columns the date needs are read (the mapped one, or those of its
    expression), ``chunk_rows`` rows at a time, with the same parsing and checks as
    :func:`read_table`: memory stays small whatever the table's size. Returns None
    when no source has a date.
    """
    first = last = None
    for source in table.sources:
        direct = column not in source.derive and (column in source.columns or not source.columns)
        needed = [source.columns.get(column, column)] if direct else _needed_columns(source)
        for chunk in iter_source(source, spec, columns=needed, chunk_rows=chunk_rows):
            if direct:
                values = chunk[needed[0]]
            else:
                mapped = map_source(chunk, source, keep_unmapped=False)
                require_columns(mapped, [column], table=name)
                values = mapped[column]
            with warnings.catch_warnings():
                # notes about the data are the collect stage's to give, once
                warnings.simplefilter("ignore", DataQualityWarning)
                dates = coerce_dates(values, column=column, table=name, fmt=source.dates.get(column),
                                     mixed_time_zones=source.mixed_time_zones).dropna()
            if dates.empty:
                continue
            low, high = dates.min(), dates.max()
            first = low if first is None else min(first, low)
            last = high if last is None else max(last, high)
    return None if first is None else (first, last)
