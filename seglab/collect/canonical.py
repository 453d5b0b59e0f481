"""The canonical tables of one run: in memory (:class:`CanonicalData`) or as files
(:class:`CanonicalFiles`, for engines that read Parquet themselves).

Their description, the *schema* (:meth:`CanonicalData.schema`, kept in the run folder by
:mod:`seglab.run`), holds the dataset, period, snapshot (``as_of``), currency, the
fingerprint of the salt the ids were pseudonymized with
(:func:`seglab.collect.salt_fingerprint`), what the spec says to segment on, for each
table (``customers``, ``transactions``, ``events``, ``campaigns``, ``feedback``) its row
count and columns, each with its type and criterion tag, and ``responses``: the customer
columns that record answers to campaigns sent without a control group. This module is
where a schema is made and read; :mod:`seglab.run` stores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pandas as pd

from seglab._io import write_parquet

from seglab.collect.quality import QualityReport
from seglab.engine import quiet, to_parquet_file

__all__ = ["CanonicalData", "CanonicalFiles", "column_type", "write_table", "TABLES"]

TABLES = ("customers", "transactions", "events", "campaigns", "feedback")


def column_type(series) -> str:
    """``number``, ``boolean``, ``datetime`` or ``text`` (of a pandas or an engine column)."""
    if isinstance(series, ibis.Value):
        dtype = series.type()
        return ("boolean" if dtype.is_boolean() else "number" if dtype.is_numeric()
                else "datetime" if dtype.is_timestamp() or dtype.is_date() else "text")
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "text"


@dataclass
class CanonicalData:
    """The output of *collect*: canonical tables, criterion tags and the quality report.

    Attributes
    ----------
    customers
        One row per customer: ``customer_id`` plus attribute columns.
    transactions, events, campaigns, feedback
        Canonical transaction lines, events, campaign rows (who got which campaign, in
        which group, with what outcome) and feedback answers, or None when the dataset
        has none. Collected in an engine (``collect(..., con=...)``), transactions and
        events are engine tables (:class:`ibis.Table`) that live in the
        engine's connection; :func:`write_table` writes either kind.
    criteria
        Criterion tag of each customer attribute column (``demographic``, ``pii`` …).
    as_of
        The snapshot day (last day of the period), or None for a static dataset.
    salt_fingerprint
        The fingerprint of the salt the customer ids were pseudonymized with.
    responses
        Customer columns holding 0/1 answers to campaigns sent without a control group
        (shown as response rates, never as lift).
    """

    dataset: str
    period: str
    as_of: pd.Timestamp | None
    customers: pd.DataFrame
    transactions: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    criteria: dict[str, str] = field(default_factory=dict)
    quality: QualityReport | None = None
    currency: str = ""
    sources: list[str] = field(default_factory=list)
    salt_fingerprint: str | None = None
    segment_on: list[str] = field(default_factory=list)
    campaigns: pd.DataFrame | None = None
    feedback: pd.DataFrame | None = None
    responses: list[str] = field(default_factory=list)

    def schema(self) -> dict:
        """The tables' description (the run folder keeps it, :meth:`seglab.run.RunFolder.schema`)."""
        tables = {}
        for name in TABLES:
            frame = getattr(self, name)
            if frame is None:
                tables[name] = None
                continue
            tables[name] = {
                "rows": _rows(frame),
                "columns": {c: {"type": "id" if c == "customer_id" else column_type(frame[c]),
                                "criterion": self.criteria.get(c) if name == "customers" else None}
                            for c in frame.columns},
            }
        return {"dataset": self.dataset, "period": self.period,
                "as_of": None if self.as_of is None else self.as_of.date().isoformat(),
                "currency": self.currency, "salt_fingerprint": self.salt_fingerprint,
                "sources": self.sources, "segment_on": list(self.segment_on), "tables": tables,
                "responses": list(self.responses)}

    def headline(self) -> str:
        """One line: the dataset, the period and its snapshot day.

        >>> CanonicalData("shop", "2025Q4", pd.Timestamp("2025-12-31"), pd.DataFrame()).headline()
        'shop, period 2025Q4, as of 2025-12-31'
        """
        when = f"as of {self.as_of:%Y-%m-%d}" if self.as_of is not None else "no dates"
        return f"{self.dataset}, period {self.period}, {when}"

    def summary(self) -> pd.DataFrame:
        """One row per table: rows, customers, columns, first and last date."""
        rows = []
        for name, date_col in (("customers", None), ("transactions", "order_date"), ("events", "timestamp"),
                               ("campaigns", "sent_at"), ("feedback", "date")):
            frame = getattr(self, name)
            if frame is None:
                continue
            if isinstance(frame, ibis.Table):  # counted by the engine
                found = frame.aggregate(rows=frame.count(), customers=frame["customer_id"].nunique(),
                                        first=frame[date_col].min(), last=frame[date_col].max())
                with quiet():
                    row = found.to_pyarrow().to_pandas().iloc[0].to_dict()
                rows.append({"table": name, "rows": int(row["rows"]), "customers": int(row["customers"]),
                             "columns": len(frame.columns), "first": row["first"], "last": row["last"]})
                continue
            dates = frame[date_col] if date_col else None
            rows.append({"table": name, "rows": len(frame),
                         "customers": int(frame["customer_id"].nunique()),
                         "columns": frame.shape[1],
                         "first": None if dates is None else dates.min(),
                         "last": None if dates is None else dates.max()})
        return pd.DataFrame(rows).set_index("table")

    def attributes(self) -> pd.DataFrame:
        """The customer attribute columns: criterion tag, type and share missing."""
        rows = [{"column": c, "criterion": self.criteria.get(c, ""),
                 "type": column_type(self.customers[c]),
                 "missing": float(self.customers[c].isna().mean())}
                for c in self.customers.columns if c != "customer_id" and not c.startswith("qc_")]
        return pd.DataFrame(rows, columns=["column", "criterion", "type", "missing"])

    @classmethod
    def from_schema(cls, schema: dict, tables: dict[str, pd.DataFrame | None],
                    quality: QualityReport | None = None) -> CanonicalData:
        """The tables described by ``schema`` (the content of :meth:`schema`)."""
        return cls(dataset=schema["dataset"], period=schema["period"], as_of=_as_of(schema),
                   customers=tables["customers"], transactions=tables.get("transactions"),
                   events=tables.get("events"), campaigns=tables.get("campaigns"),
                   feedback=tables.get("feedback"), responses=list(schema.get("responses") or []),
                   criteria=_criteria(schema), quality=quality,
                   currency=schema.get("currency", ""), sources=schema.get("sources", []),
                   salt_fingerprint=schema.get("salt_fingerprint"),
                   segment_on=list(schema.get("segment_on") or []))


def _rows(frame) -> int:
    if isinstance(frame, ibis.Table):
        with quiet():
            return int(frame.count().execute())
    return len(frame)


def write_table(table, path: str | Path) -> Path:
    """Write a canonical table to Parquet atomically (a temporary name, then renamed):
    a pandas frame by pyarrow, an engine table by the engine (one file, see
    :func:`seglab.engine.to_parquet_file`)."""
    if not isinstance(table, ibis.Table):
        return write_parquet(table.reset_index(drop=True), path)
    return to_parquet_file(table, path)


def _as_of(schema: dict) -> pd.Timestamp | None:
    return pd.Timestamp(schema["as_of"]) if schema.get("as_of") else None


def _criteria(schema: dict) -> dict[str, str]:
    return {c: info["criterion"] for c, info in schema["tables"]["customers"]["columns"].items()
            if info.get("criterion")}


@dataclass(frozen=True)
class CanonicalFiles:
    """The canonical tables of a run folder as Parquet files, with their schema.

    ``paths`` maps each table the run has (``customers``, ``transactions``, ``events``,
    ``campaigns``, ``feedback``) to its file. Made by :meth:`seglab.run.RunFolder.canonical_files`.
    """

    schema: dict
    paths: dict[str, Path]

    @property
    def dataset(self) -> str:
        return self.schema["dataset"]

    @property
    def period(self) -> str:
        return self.schema["period"]

    @property
    def as_of(self) -> pd.Timestamp | None:
        return _as_of(self.schema)

    @property
    def currency(self) -> str:
        return self.schema.get("currency", "")

    @property
    def criteria(self) -> dict[str, str]:
        return _criteria(self.schema)

    @property
    def segment_on(self) -> list[str]:
        return list(self.schema.get("segment_on") or [])

    @property
    def responses(self) -> list[str]:
        return list(self.schema.get("responses") or [])

    def customers(self) -> pd.DataFrame:
        """The customer table, read into memory."""
        return pd.read_parquet(self.paths["customers"])
