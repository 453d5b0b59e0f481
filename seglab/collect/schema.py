"""The canonical schema every stage after *collect* relies on.

=============  ==========================================================================
table          columns
=============  ==========================================================================
transactions   ``customer_id`` (str), ``order_date`` (timestamp), ``amount`` (float,
               reporting currency; returns negative). Optional: ``order_id`` (str; without
               it a purchase is a customer-day), ``quantity``, ``unit_price``,
               ``product_id``, ``product_name``, ``category``, ``channel``, ``discount``
               (discount amount on the line, ≥ 0).
customers      ``customer_id`` plus attribute columns, each tagged with a criterion.
events         ``customer_id``, ``timestamp``, ``event_type`` (see :data:`EVENT_TYPES`);
               optional ``channel``.
campaigns      ``customer_id``, ``campaign_id``, ``sent_at`` (timestamp), ``group``
               (``treatment`` or ``control``); optional ``channel``, ``action`` (the
               recommended action the campaign carried out), ``converted`` (boolean),
               ``revenue`` (float). Without outcomes they are derived from the transactions
               (see :func:`seglab.collect.outcomes.derive_outcomes`).
feedback       ``customer_id``, ``date`` (timestamp), ``kind`` (``nps``, ``csat``,
               ``rating`` or ``survey_<question>``), ``score`` (float); optional ``topic``.
=============  ==========================================================================
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from seglab._validation import require_columns
from seglab.exceptions import DataQualityWarning, DataTypeError

__all__ = [
    "TRANSACTION_COLUMNS",
    "TRANSACTION_REQUIRED",
    "EVENT_COLUMNS",
    "EVENT_REQUIRED",
    "EVENT_TYPES",
    "CAMPAIGN_COLUMNS",
    "CAMPAIGN_REQUIRED",
    "GROUPS",
    "FEEDBACK_COLUMNS",
    "FEEDBACK_REQUIRED",
    "FEEDBACK_SCALES",
    "coerce_ids",
    "coerce_booleans",
    "TIME_ZONE_POLICIES",
    "coerce_dates",
    "coerce_numbers",
    "coerce_table",
    "infer_attribute",
]

TRANSACTION_REQUIRED = ("customer_id", "order_date", "amount")
TRANSACTION_COLUMNS = {
    "customer_id": "id", "order_id": "id", "order_date": "datetime", "amount": "number",
    "quantity": "number", "unit_price": "number", "product_id": "text", "product_name": "text",
    "category": "text", "channel": "text", "discount": "number",
}
EVENT_REQUIRED = ("customer_id", "timestamp", "event_type")
EVENT_COLUMNS = {"customer_id": "id", "timestamp": "datetime", "event_type": "text",
                 "channel": "text"}
EVENT_TYPES = ("visit", "product_view", "cart_add", "cart_abandon", "checkout",
               "support_contact", "email_sent", "email_open", "email_click")
"""Event types the journey features understand; others are kept and counted."""
CAMPAIGN_REQUIRED = ("customer_id", "campaign_id", "sent_at", "group")
CAMPAIGN_COLUMNS = {"customer_id": "id", "campaign_id": "id", "sent_at": "datetime", "group": "text",
                    "channel": "text", "action": "text", "converted": "boolean", "revenue": "number"}
GROUPS = {"treatment": "treatment", "treated": "treatment", "test": "treatment",
          "control": "control", "holdout": "control"}
"""Values of ``campaigns.group`` (case and surrounding spaces ignored) and what they mean."""
FEEDBACK_REQUIRED = ("customer_id", "date", "kind", "score")
FEEDBACK_COLUMNS = {"customer_id": "id", "date": "datetime", "kind": "text", "score": "number",
                    "topic": "text"}
FEEDBACK_SCALES = {"nps": (0.0, 10.0), "csat": (1.0, 5.0), "rating": (1.0, 5.0)}
"""The scale of each feedback kind; ``survey_<question>`` scales are declared in the spec
(``feedback: scales:``). NPS and CSAT answers are whole numbers."""

_INTEGRAL_FLOAT = re.compile(r"^(-?\d+)\.0+$")
DATETIME_DTYPE = "datetime64[us]"


def _examples(values: pd.Series, n: int = 3) -> str:
    return ", ".join(repr(v) for v in values.drop_duplicates().head(n).tolist())


def coerce_ids(series: pd.Series) -> pd.Series:
    """Identifiers as text: ``12346`` and ``12346.0`` both become ``"12346"``; blanks become missing.

    >>> coerce_ids(pd.Series([12346.0, None, " A7 "])).tolist()
    ['12346', nan, 'A7']
    """
    if pd.api.types.is_float_dtype(series):
        whole = series.dropna()
        if (whole == np.floor(whole)).all():
            series = series.astype("Int64")
    out = series.astype("string").str.strip().str.replace(_INTEGRAL_FLOAT, r"\1", regex=True)
    out = out.mask(out == "")
    return out.astype("str")


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def coerce_booleans(series: pd.Series, *, column: str, table: str) -> pd.Series:
    """Yes/no values as a nullable boolean: ``True``/``False``, 1/0, ``yes``/``no``, ``y``/``n``.

    >>> coerce_booleans(pd.Series(["yes", "0", None, "TRUE"]), column="converted", table="campaigns").tolist()
    [True, False, <NA>, True]
    """
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    text = series.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False)] = True
    out[text.isin(_FALSE).fillna(False)] = False
    bad = text.notna() & (text != "") & out.isna()
    if bad.any():
        raise DataTypeError(
            f"{table}.{column}: {int(bad.sum()):,} of {len(text):,} values are not yes/no values "
            f"(e.g. {_examples(series[bad])}); expected true/false, 1/0 or yes/no")
    return out


_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
TIME_ZONE_POLICIES = ("utc", "refuse")
"""What to do with dates that carry different time-zone offsets (or some an offset and
some none): convert them to UTC, with a note, or refuse them."""


def _to_datetime(text: pd.Series, fmt: str | None) -> pd.Series:
    parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    bad = text.notna() & (text != "") & parsed.isna()
    if bad.any() and fmt is None:
        # pandas infers one format from the first value; "2021-01-05" followed by
        # "2021-01-05 10:00" is still valid, so read the misfits one by one
        misfits = pd.to_datetime(text.where(bad), format="mixed", errors="coerce")
        if str(getattr(misfits.dt, "tz", None)) != str(getattr(parsed.dt, "tz", None)) \
                and misfits.notna().any():
            raise ValueError("mixed timezones: some values carry an offset the others lack")
        parsed = parsed.where(~bad, misfits)
    return parsed


def _mixed_offsets(text: pd.Series, fmt: str | None, *, column: str, table: str,
                   mixed_time_zones: str) -> pd.Series:
    """Dates with different time-zone offsets: read as UTC with a warning, or refused."""
    offsets = text.str.extract(_OFFSET, expand=False)
    seen = list(pd.unique(offsets.dropna()))
    plain = int((text.notna() & (text != "") & offsets.isna()).sum())
    found = (f"{table}.{column}: the dates carry different time-zone offsets ("
             + ", ".join(seen[:4]) + (", …" if len(seen) > 4 else "")
             + (f"; {plain:,} without one" if plain else "") + ")")
    if mixed_time_zones == "refuse":
        raise DataTypeError(f"{found} and the spec says mixed_time_zones: refuse. Export the dates "
                            "with one offset, or remove that option to have them converted to UTC")
    warnings.warn(f"{found}; converted them to UTC"
                  + (" (values without an offset taken as UTC)" if plain else "")
                  + ". Add mixed_time_zones: refuse to the source in the spec to stop instead",
                  DataQualityWarning, stacklevel=5)
    try:
        return pd.to_datetime(text, format=fmt or "mixed", errors="coerce", utc=True)
    except (ValueError, TypeError) as err:
        raise DataTypeError(f"{table}.{column}: date format {fmt!r} is not usable: {err}") from None


def coerce_dates(series: pd.Series, *, column: str, table: str, fmt: str | None = None,
                 mixed_time_zones: str = "utc") -> pd.Series:
    """Timestamps (naive, microsecond resolution); a clear error when values do not parse.

    Values with a time-zone offset are converted to UTC. When the values carry
    different offsets (``+01:00`` in winter, ``+02:00`` in summer), or some carry one
    and some none, ``mixed_time_zones="utc"`` converts them all to UTC with a
    :class:`~seglab.exceptions.DataQualityWarning`; ``"refuse"`` raises
    :class:`~seglab.exceptions.DataTypeError`.
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        out = series
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_convert("UTC").dt.tz_localize(None)
        return out.astype(DATETIME_DTYPE)
    text = series.astype("string").str.strip()
    try:
        parsed = _to_datetime(text, fmt)
    except (ValueError, TypeError) as err:
        if "timezone" not in str(err).lower():
            raise DataTypeError(f"{table}.{column}: date format {fmt!r} is not usable: {err}") from None
        parsed = _mixed_offsets(text, fmt, column=column, table=table, mixed_time_zones=mixed_time_zones)
    bad = text.notna() & (text != "") & parsed.isna()
    if bad.any():
        hint = (f"the format {fmt!r} does not match them" if fmt else
                f"set its format in the spec, e.g. dates: {{{column}: \"%d/%m/%Y %H:%M\"}}")
        raise DataTypeError(
            f"{table}.{column}: {int(bad.sum()):,} of {len(text):,} values are not dates "
            f"(e.g. {_examples(text[bad])}); {hint}"
        )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype(DATETIME_DTYPE)


def coerce_numbers(series: pd.Series, *, column: str, table: str) -> pd.Series:
    """Floats; a clear error naming the values that are not numbers."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("Float64").astype("float64") if series.dtype == "Int64" else series.astype("float64")
    text = series.astype("string").str.strip()
    parsed = pd.to_numeric(text, errors="coerce")
    bad = text.notna() & (text != "") & parsed.isna()
    if bad.any():
        sample = text[bad]
        hint = ("they use a decimal comma: add options: {decimal: ',', thousands: '.'} to the source"
                if sample.str.contains(r"^\s*-?\d+,\d+\s*$", regex=True).any()
                else "clean the source or derive the column with an expression")
        raise DataTypeError(
            f"{table}.{column}: {int(bad.sum()):,} of {len(text):,} values are not numbers "
            f"(e.g. {_examples(sample)}); {hint}"
        )
    return parsed.astype("float64")


def coerce_table(frame: pd.DataFrame, columns: dict[str, str], *, table: str,
                 required: tuple[str, ...], dates: dict[str, str] | None = None,
                 mixed_time_zones: str = "utc") -> pd.DataFrame:
    """Check the required columns and give every known column its canonical type."""
    require_columns(frame, required, table=table)
    dates = dates or {}
    out = {}
    for name in frame.columns:
        kind = columns.get(name)
        if kind == "id":
            out[name] = coerce_ids(frame[name])
        elif kind == "datetime":
            out[name] = coerce_dates(frame[name], column=name, table=table, fmt=dates.get(name),
                                     mixed_time_zones=mixed_time_zones)
        elif kind == "number":
            out[name] = coerce_numbers(frame[name], column=name, table=table)
        elif kind == "boolean":
            out[name] = coerce_booleans(frame[name], column=name, table=table)
        elif kind == "text":
            out[name] = frame[name].astype("string").astype("str")
        else:
            out[name] = frame[name]
    return pd.DataFrame(out, index=frame.index)


def infer_attribute(series: pd.Series, *, column: str, table: str = "customers",
                    date_format: str | None = None) -> pd.Series:
    """A customer attribute with a sensible type: number, boolean, timestamp or text.

    Text that is entirely numeric becomes a number; 0/1 and true/false stay as they are
    read (numbers), so that shares can be computed.
    """
    if date_format is not None:
        return coerce_dates(series, column=column, table=table, fmt=date_format)
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return series
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    text = series.astype("string").str.strip()
    numbers = pd.to_numeric(text, errors="coerce")
    if text.notna().any() and (numbers.notna() == text.notna()).all():
        return numbers.astype("float64")
    return text.mask(text == "").astype("str")
