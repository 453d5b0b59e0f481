"""The canonical tables of one run, as written to (and read back from) the run folder.

Files in ``artifacts/``:

``customers.parquet``
    ``customer_id`` (pseudonym) and attribute columns.
``transactions.parquet``, ``events.parquet``, ``campaigns.parquet``, ``feedback.parquet``
    When the dataset has them.
``schema.json``
    Dataset, period, snapshot (``as_of``), currency, the fingerprint of the salt the
    ids were pseudonymized with (:func:`seglab.collect.salt_fingerprint`), for each
    table its row count and columns, each with its type and criterion tag, and
    ``responses``: the customer columns that record answers to campaigns sent without a
    control group.
``quality.json``, ``quality.md``
    The quality gate's report (:class:`~seglab.collect.quality.QualityReport`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from seglab._io import read_json, write_json, write_parquet
from seglab.collect.quality import QualityReport
from seglab.exceptions import InputError

__all__ = ["CanonicalData", "column_type"]

TABLES = ("customers", "transactions", "events", "campaigns", "feedback")


def column_type(series: pd.Series) -> str:
    """``number``, ``boolean``, ``datetime`` or ``text``."""
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
        has none.
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
        """The content of ``schema.json``."""
        tables = {}
        for name in TABLES:
            frame = getattr(self, name)
            if frame is None:
                tables[name] = None
                continue
            tables[name] = {
                "rows": len(frame),
                "columns": {c: {"type": "id" if c == "customer_id" else column_type(frame[c]),
                                "criterion": self.criteria.get(c) if name == "customers" else None}
                            for c in frame.columns},
            }
        return {"dataset": self.dataset, "period": self.period,
                "as_of": None if self.as_of is None else self.as_of.date().isoformat(),
                "currency": self.currency, "salt_fingerprint": self.salt_fingerprint,
                "sources": self.sources, "segment_on": list(self.segment_on), "tables": tables,
                "responses": list(self.responses)}

    def summary(self) -> pd.DataFrame:
        """One row per table: rows, customers, columns, first and last date."""
        rows = []
        for name, date_col in (("customers", None), ("transactions", "order_date"), ("events", "timestamp"),
                               ("campaigns", "sent_at"), ("feedback", "date")):
            frame = getattr(self, name)
            if frame is None:
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

    def write(self, folder: str | Path) -> dict[str, Path]:
        """Write every table and ``schema.json``/``quality.json`` into ``folder`` (atomically)."""
        folder = Path(folder)
        written = {}
        for name in TABLES:
            frame = getattr(self, name)
            path = folder / f"{name}.parquet"
            if frame is not None:
                written[name] = write_parquet(frame.reset_index(drop=True), path)
            elif path.exists():
                path.unlink()  # a stale table from an earlier run must not be read back
        written["schema"] = write_json(self.schema(), folder / "schema.json")
        if self.quality is not None:
            written["quality"] = self.quality.write(folder)
        return written

    @classmethod
    def read(cls, folder: str | Path) -> CanonicalData:
        """Read the tables written by :meth:`write` (``folder`` is the run's ``artifacts/``)."""
        folder = Path(folder)
        schema_path = folder / "schema.json"
        if not schema_path.exists():
            raise InputError(f"{schema_path} is missing; run the collect stage first "
                             "(seglab collect --dataset … --period …)")
        schema = read_json(schema_path)
        tables = {name: (pd.read_parquet(folder / f"{name}.parquet") if schema["tables"].get(name)
                         else None) for name in TABLES}
        criteria = {c: info["criterion"] for c, info in schema["tables"]["customers"]["columns"].items()
                    if info.get("criterion")}
        quality = QualityReport.read(folder / "quality.json") if (folder / "quality.json").exists() else None
        return cls(dataset=schema["dataset"], period=schema["period"],
                   as_of=pd.Timestamp(schema["as_of"]) if schema.get("as_of") else None,
                   customers=tables["customers"], transactions=tables["transactions"],
                   events=tables["events"], campaigns=tables["campaigns"], feedback=tables["feedback"],
                   responses=list(schema.get("responses") or []), criteria=criteria, quality=quality,
                   currency=schema.get("currency", ""), sources=schema.get("sources", []),
                   salt_fingerprint=schema.get("salt_fingerprint"),
                   segment_on=list(schema.get("segment_on") or []))
