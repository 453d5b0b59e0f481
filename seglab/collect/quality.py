"""The data-quality gate: find the problems real customer data has, count them, act on them.

Every check has a **policy**: ``drop`` (remove the rows or customers), ``keep``
(leave them; the count is still reported) or ``flag`` (keep them and add a boolean
``qc_<check>`` column). Counts are taken on the data entering the gate, each check
independently, so they match what a data profile of the source shows; a row that
fails two checks is counted by both. The extreme-value check runs last, on the
rows that survive the others.

Outliers are found with Tukey's far-out fences (``outlier_fence`` × IQR beyond the
quartiles, 3 by default), on the log scale for skewed non-negative values (money,
quantities) and on the linear scale otherwise.

An infinite number is never usable: under ``drop`` (the default) the ``non_finite``
check removes its row; under ``keep`` or ``flag`` the row stays and the infinite
value becomes missing. Either way no infinity reaches the features.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from seglab._io import escape_markdown, read_json, write_json, write_text
from seglab._validation import check_choice
from seglab.collect.schema import EVENT_TYPES
from seglab.exceptions import SchemaError

__all__ = [
    "CHECKS",
    "DEFAULT_POLICIES",
    "Check",
    "CheckResult",
    "conflict_result",
    "QualityReport",
    "check_transactions",
    "check_customers",
    "check_events",
    "check_campaigns",
    "check_feedback",
    "resolve_customer_attributes",
    "far_out",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One data-quality check: what it finds, where, and its default policy."""

    name: str
    description: str
    default: str


CHECKS: dict[str, Check] = {c.name: c for c in [
    Check("overlap", "lines of an order already read from an earlier source (overlapping extracts)",
          "drop"),
    Check("duplicates", "exact duplicate rows (every mapped column equal to an earlier row, order id "
          "included; lines without an order id are never duplicates)", "drop"),
    Check("missing_customer_id", "rows without a customer id (guest or unattributed)", "drop"),
    Check("missing_date", "rows without a date", "drop"),
    Check("missing_amount", "lines without an amount", "drop"),
    Check("non_finite", "amounts, quantities, prices or numeric attributes that are infinite "
          "(inf in the source, or an overflowing derived column)", "drop"),
    Check("after_snapshot", "rows dated after the snapshot (in the future for this period)", "drop"),
    Check("cancellations", "cancellations and returns (a cancelled order id, or a negative amount)",
          "keep"),
    Check("inconsistent_cancellations", "cancellation lines with a positive quantity or amount",
          "drop"),
    Check("negative_not_cancelled",
          "negative quantities not marked as cancellations (stock write-offs, damages)", "drop"),
    Check("non_product", "lines that are not products (postage, fees, bad-debt adjustments, samples)",
          "drop"),
    Check("zero_price", "lines with a zero unit price (free items, or missing prices); only when a "
          "unit price column is mapped", "drop"),
    Check("negative_price", "lines with a negative price (accounting adjustments)", "drop"),
    Check("unknown_event_type", "events of a type the journey features do not use", "keep"),
    Check("conflicting_attributes",
          "customers recorded with different values of one attribute (e.g. two countries); "
          "kept with their most frequent value", "keep"),
    Check("extreme_values", "extreme quantities, amounts or attribute values (far-out outliers)",
          "flag"),
    Check("missing_value", "campaign rows without a campaign id or an outcome, feedback without a kind "
          "or a score", "drop"),
    Check("unknown_group", "campaign rows whose group is neither treatment nor control", "drop"),
    Check("conflicting_groups", "customers in both the treatment and the control group of one campaign "
          "(every row of theirs in that campaign)", "drop"),
    Check("unknown_kind", "feedback of a kind other than nps, csat, rating or survey_<question>", "drop"),
    Check("out_of_range", "feedback scores outside their scale (NPS 0–10, CSAT and ratings 1–5, surveys "
          "as declared; NPS and CSAT in whole points)", "drop"),
]}
"""Every check, by name. Policies in specs and parameters refer to these names."""

DEFAULT_POLICIES: dict[str, str] = {name: c.default for name, c in CHECKS.items()}
UNITS = {"transactions": "lines", "events": "events", "customers": "customers", "campaigns": "rows",
         "feedback": "responses"}


@dataclass
class CheckResult:
    """What one check found in one table."""

    check: str
    table: str
    policy: str
    count: int
    unit: str
    description: str
    detail: dict = field(default_factory=dict)


def resolve_policies(policies: dict[str, str] | None) -> dict[str, str]:
    """The default policies overridden by ``policies``; unknown names are an error."""
    out = dict(DEFAULT_POLICIES)
    for name, policy in (policies or {}).items():
        check_choice(name, CHECKS, name="quality check")
        out[name] = check_choice(policy, ("drop", "keep", "flag"), name=f"policy for {name!r}")
    return out


def far_out(values: pd.Series, fence: float = 3.0) -> pd.Series:
    """True where a value lies beyond Tukey's far-out fences (``fence`` × IQR).

    Skewed non-negative values (skewness > 1) are judged on the log scale. Columns
    with no spread (IQR 0, e.g. 0/1 flags) never have outliers.

    >>> far_out(pd.Series([10, 11, 12, 13, 12, 11, 500])).tolist()
    [False, False, False, False, False, False, True]
    """
    x = pd.to_numeric(values, errors="coerce").astype("float64")
    present = x.dropna()
    if len(present) < 4:
        return pd.Series(False, index=values.index)
    if (present >= 0).all() and present.skew() > 1:
        x = np.log1p(x)
        present = x.dropna()
    q1, q3 = np.percentile(present, [25, 75])
    iqr = q3 - q1
    if iqr <= 0:
        return pd.Series(False, index=values.index)
    return ((x < q1 - fence * iqr) | (x > q3 + fence * iqr)).fillna(False)


def _apply(frame: pd.DataFrame, table: str, masks: dict[str, pd.Series], policies: dict[str, str],
           details: dict[str, dict] | None = None) -> tuple[pd.DataFrame, list[CheckResult]]:
    """Count each mask, add flag columns, drop what a ``drop`` policy removes."""
    details = details or {}
    results, drop = [], np.zeros(len(frame), dtype=bool)
    flags = {}
    for name, mask in masks.items():
        mask = np.asarray(mask, dtype=bool)
        policy = policies[name]
        results.append(CheckResult(name, table, policy, int(mask.sum()), UNITS[table],
                                   CHECKS[name].description, details.get(name, {})))
        if policy == "drop":
            drop |= mask
        elif policy == "flag":
            flags[f"qc_{name}"] = mask
    out = frame.assign(**flags) if flags else frame
    return (out.loc[~drop] if drop.any() else out), results


def _duplicates(frame: pd.DataFrame) -> pd.Series:
    return frame.duplicated(keep="first")


NUMERIC_TRANSACTION_COLUMNS = ("amount", "quantity", "unit_price", "discount")


def _non_finite(frame: pd.DataFrame, columns) -> tuple[pd.Series, dict]:
    """Rows with an infinite value in any of ``columns`` (NaN is *missing*, not counted here)."""
    mask = np.zeros(len(frame), dtype=bool)
    by_column = {}
    for col in columns:
        if col in frame and pd.api.types.is_float_dtype(frame[col]):
            found = np.isinf(frame[col].to_numpy(dtype="float64", na_value=np.nan))
            if found.any():
                by_column[col] = int(found.sum())
                mask |= found
    return pd.Series(mask, index=frame.index), {"by_column": by_column}


def _blank_non_finite(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """Infinite values made missing (the ``keep``/``flag`` policies of ``non_finite``)."""
    fixes = {c: frame[c].mask(np.isinf(frame[c].to_numpy(dtype="float64", na_value=np.nan)))
             for c in columns if c in frame and pd.api.types.is_float_dtype(frame[c])}
    return frame.assign(**fixes) if fixes else frame


def check_transactions(frame: pd.DataFrame, *, snapshot: pd.Timestamp | None,
                       policies: dict[str, str], cancellation_pattern: str | None = None,
                       product_pattern: str | None = None, non_product_codes: tuple[str, ...] = (),
                       outlier_fence: float = 3.0) -> tuple[pd.DataFrame, list[CheckResult]]:
    """Run every transaction check on a canonical transactions frame.

    Returns the frame after the policies (flag columns added, dropped rows removed)
    and one :class:`CheckResult` per check. The input is not modified.
    """
    policies = resolve_policies(policies)
    masks: dict[str, pd.Series] = {}
    details: dict[str, dict] = {}
    # without an order id, two identical lines (same customer, day, amount) may be two purchases
    has_order = frame["order_id"].notna() if "order_id" in frame else pd.Series(False, index=frame.index)
    masks["duplicates"] = _duplicates(frame) & has_order
    if "order_id" not in frame:
        details["duplicates"] = {"note": "no order_id column: identical lines are kept as separate purchases"}
    masks["missing_customer_id"] = frame["customer_id"].isna()
    masks["missing_date"] = frame["order_date"].isna()
    masks["missing_amount"] = frame["amount"].isna()
    masks["non_finite"], details["non_finite"] = _non_finite(frame, NUMERIC_TRANSACTION_COLUMNS)
    masks["after_snapshot"] = (frame["order_date"] >= snapshot if snapshot is not None
                               else pd.Series(False, index=frame.index))
    quantity = frame["quantity"] if "quantity" in frame else frame["amount"]
    if "order_id" in frame:
        order_ids = frame["order_id"].astype("string")
    else:  # an order is a customer-day
        order_ids = (frame["customer_id"].astype("string") + "@"
                     + frame["order_date"].dt.strftime("%Y-%m-%d").astype("string"))
    if cancellation_pattern and "order_id" not in frame:
        raise SchemaError(f"quality.cancellation_pattern ({cancellation_pattern!r}) matches order ids, "
                          "but the transactions have no order_id column; map order_id in the spec or "
                          "remove the pattern (negative amounts are then the cancellations)")
    if cancellation_pattern:
        cancelled = order_ids.str.contains(cancellation_pattern, regex=True).fillna(False)
        masks["cancellations"] = cancelled
        masks["inconsistent_cancellations"] = cancelled & ((quantity > 0) | (frame["amount"] > 0))
        masks["negative_not_cancelled"] = ~cancelled & (quantity < 0)
    else:
        cancelled = frame["amount"] < 0
        masks["cancellations"] = cancelled
        masks["inconsistent_cancellations"] = pd.Series(False, index=frame.index)
        masks["negative_not_cancelled"] = (quantity < 0) & (frame["amount"] >= 0)
    details["cancellations"] = {"orders": int(order_ids[cancelled].nunique())}
    if "product_id" in frame and (product_pattern or non_product_codes):
        codes = frame["product_id"].astype("string")
        non_product = codes.isin(list(non_product_codes)).fillna(False)
        if product_pattern:
            non_product |= ~codes.str.fullmatch(re.compile(product_pattern)).fillna(True)
        masks["non_product"] = non_product
        top = codes[non_product].value_counts()
        details["non_product"] = {"distinct_codes": int(len(top)),
                                  "top_codes": {str(k): int(v) for k, v in top.head(10).items()}}
    else:
        masks["non_product"] = pd.Series(False, index=frame.index)
    # prices are checked only when a price column is mapped: a zero amount without one is a
    # zero-value purchase (a free sample, a voucher), which the features count as a purchase
    no_price = pd.Series(False, index=frame.index)
    masks["zero_price"] = (frame["unit_price"] == 0) if "unit_price" in frame else no_price
    masks["negative_price"] = (frame["unit_price"] < 0) if "unit_price" in frame else no_price
    if "unit_price" not in frame:
        details["zero_price"] = details["negative_price"] = {"note": "no unit_price column mapped"}
    out, results = _apply(frame, "transactions", masks, policies, details)
    out = _blank_non_finite(out, NUMERIC_TRANSACTION_COLUMNS)

    extreme = far_out(out["amount"].abs(), outlier_fence)
    if "quantity" in out:
        extreme |= far_out(out["quantity"].abs(), outlier_fence)
    out, more = _apply(out, "transactions", {"extreme_values": extreme}, policies)
    return out, results + more


def check_events(frame: pd.DataFrame, *, snapshot: pd.Timestamp | None,
                 policies: dict[str, str]) -> tuple[pd.DataFrame, list[CheckResult]]:
    """Run the event checks (duplicates, missing ids and dates, future events, unknown types)."""
    policies = resolve_policies(policies)
    unknown = ~frame["event_type"].isin(EVENT_TYPES)
    masks = {
        "duplicates": _duplicates(frame),
        "missing_customer_id": frame["customer_id"].isna(),
        "missing_date": frame["timestamp"].isna(),
        "after_snapshot": (frame["timestamp"] >= snapshot if snapshot is not None
                           else pd.Series(False, index=frame.index)),
        "unknown_event_type": unknown,
    }
    details = {"unknown_event_type": {"types": sorted(map(str, frame.loc[unknown, "event_type"]
                                                          .dropna().unique()))[:20]}}
    return _apply(frame, "events", masks, policies, details)


def check_campaigns(frame: pd.DataFrame, *, snapshot: pd.Timestamp | None,
                    policies: dict[str, str]) -> tuple[pd.DataFrame, list[CheckResult]]:
    """Run the campaign checks on a canonical campaigns frame (groups already normalised).

    Duplicates, missing ids, dates and values, non-finite revenue, campaigns sent on or
    after the snapshot (ignored: they belong to a later period), groups other than
    treatment and control, and customers found in both groups of one campaign (all their
    rows of that campaign; the count is of customers).
    """
    policies = resolve_policies(policies)
    missing = frame["campaign_id"].isna()
    if "converted" in frame and "revenue" in frame:
        missing |= frame["converted"].isna() & frame["revenue"].isna()
    elif "converted" in frame:
        missing |= frame["converted"].isna()
    elif "revenue" in frame:
        missing |= frame["revenue"].isna()
    after = (frame["sent_at"] >= snapshot if snapshot is not None else pd.Series(False, index=frame.index))
    masks = {
        "duplicates": _duplicates(frame),
        "missing_customer_id": frame["customer_id"].isna(),
        "missing_date": frame["sent_at"].isna(),
        "missing_value": missing,
        "non_finite": _non_finite(frame, ("revenue",))[0],
        "after_snapshot": after,
        "unknown_group": frame["group"].notna() & ~frame["group"].isin(["treatment", "control"]),
    }
    details = {"after_snapshot": {"campaigns": int(frame.loc[after, "campaign_id"].nunique())},
               "unknown_group": {"values": sorted(map(str, frame.loc[frame["group"].notna() & ~frame["group"].isin(
                   ["treatment", "control"]), "group"].unique()))[:10]}}
    masks["missing_value"] |= frame["group"].isna()
    out, results = _apply(frame, "campaigns", masks, policies, details)
    out = _blank_non_finite(out, ("revenue",))
    both = out.groupby(["campaign_id", "customer_id"], sort=False, dropna=True)["group"].transform("nunique") > 1
    customers = int(out.loc[both, ["campaign_id", "customer_id"]].drop_duplicates().shape[0])
    policy = policies["conflicting_groups"]
    results.append(CheckResult("conflicting_groups", "campaigns", policy, customers, "customers",
                               CHECKS["conflicting_groups"].description,
                               {"rows": int(both.sum()),
                                "campaigns": int(out.loc[both, "campaign_id"].nunique())}))
    if policy == "drop":
        out = out.loc[~both.to_numpy()]
    elif policy == "flag":
        out = out.assign(qc_conflicting_groups=both.to_numpy())
    return out, results


def check_feedback(frame: pd.DataFrame, *, snapshot: pd.Timestamp | None, policies: dict[str, str],
                   scales: dict[str, tuple[float, float]] | None = None) -> tuple[pd.DataFrame, list[CheckResult]]:
    """Run the feedback checks on a canonical feedback frame (kinds already lower-case).

    Duplicates, missing ids, dates, kinds and scores, non-finite scores, answers dated on
    or after the snapshot, unknown kinds and scores outside their kind's scale
    (:data:`~seglab.collect.schema.FEEDBACK_SCALES`, and ``scales`` for ``rating`` and
    ``survey_<question>``; a survey kind without a declared scale is not range-checked).
    """
    from seglab.collect.schema import FEEDBACK_SCALES

    policies = resolve_policies(policies)
    scales = {**FEEDBACK_SCALES, **(scales or {})}
    kind, score = frame["kind"], frame["score"]
    known = kind.isin(list(scales)) | kind.str.match(r"^survey_\w+$").fillna(False)
    outside = pd.Series(False, index=frame.index)
    by_kind = {}
    for name, (low, high) in scales.items():
        these = kind == name
        bad = these & score.notna() & ((score < low) | (score > high))
        if name in ("nps", "csat"):  # answered in whole points
            bad |= these & score.notna() & np.isfinite(score) & (score != np.round(score))
        if bad.any():
            by_kind[name] = int(bad.sum())
        outside |= bad
    unchecked = sorted({str(k) for k in kind[known & ~kind.isin(list(scales))].dropna().unique()})
    masks = {
        "duplicates": _duplicates(frame),
        "missing_customer_id": frame["customer_id"].isna(),
        "missing_date": frame["date"].isna(),
        "missing_value": kind.isna() | score.isna(),
        "non_finite": _non_finite(frame, ("score",))[0],
        "after_snapshot": (frame["date"] >= snapshot if snapshot is not None
                           else pd.Series(False, index=frame.index)),
        "unknown_kind": kind.notna() & ~known,
        "out_of_range": outside,
    }
    details = {"unknown_kind": {"kinds": sorted(map(str, kind[kind.notna() & ~known].unique()))[:10]},
               "out_of_range": {"by_kind": by_kind, "scales": {k: list(v) for k, v in scales.items()},
                                **({"not_checked": unchecked} if unchecked else {})}}
    out, results = _apply(frame, "feedback", masks, policies, details)
    return _blank_non_finite(out, ("score",)), results


def _conflicts(frame: pd.DataFrame, attributes: list[str]) -> tuple[pd.Series, dict]:
    """Customers (one per row of ``frame``) that appear more than once with different attributes."""
    ids = frame["customer_id"]
    conflicted = pd.Series(False, index=frame.index)
    per_attribute = {}
    for col in attributes:
        n = frame.groupby(ids, sort=False, dropna=True)[col].transform("nunique")
        mask = n > 1
        per_attribute[col] = int(ids[mask].nunique())
        conflicted |= mask
    return conflicted, per_attribute


def check_customers(frame: pd.DataFrame, *, policies: dict[str, str], attributes: list[str],
                    outlier_fence: float = 3.0) -> tuple[pd.DataFrame, list[CheckResult]]:
    """Checks for a customers table read from its own sources.

    Exact duplicate rows, missing ids, ids recorded twice with different attributes
    (``keep`` keeps each customer's first row) and extreme numeric attribute values.
    """
    policies = resolve_policies(policies)
    numeric = [c for c in attributes if pd.api.types.is_float_dtype(frame[c])]
    non_finite, non_finite_detail = _non_finite(frame, numeric)
    masks = {"duplicates": _duplicates(frame), "missing_customer_id": frame["customer_id"].isna(),
             "non_finite": non_finite}
    out, results = _apply(frame, "customers", masks, policies, {"non_finite": non_finite_detail})
    out = _blank_non_finite(out, numeric)

    conflicted, per_attr = _conflicts(out, attributes)
    n_customers = int(out.loc[conflicted, "customer_id"].nunique())
    policy = policies["conflicting_attributes"]
    results.append(CheckResult("conflicting_attributes", "customers", policy, n_customers, "customers",
                               CHECKS["conflicting_attributes"].description, {"by_attribute": per_attr}))
    if policy == "drop":
        out = out.loc[~conflicted]
    elif policy == "flag":
        out = out.assign(qc_conflicting_attributes=conflicted.to_numpy())
    out = out.drop_duplicates("customer_id", keep="first")

    numeric = [c for c in attributes if pd.api.types.is_numeric_dtype(out[c])
               and not pd.api.types.is_bool_dtype(out[c])]
    extreme = pd.Series(False, index=out.index)
    by_column = {}
    for col in numeric:
        mask = far_out(out[col], outlier_fence)
        if mask.any():
            by_column[col] = int(mask.sum())
        extreme |= mask
    out, more = _apply(out, "customers", {"extreme_values": extreme}, policies,
                       {"extreme_values": {"by_column": by_column}})
    return out, results + more


def resolve_customer_attributes(transactions: pd.DataFrame, attributes: list[str], *,
                                policies: dict[str, str]) -> tuple[pd.DataFrame, pd.Index, CheckResult]:
    """Customer attributes recorded on transaction lines (e.g. ``country``) → one value per customer.

    Each customer gets the value seen on most lines (ties: the most recent). Pass
    every line with a customer id (up to the snapshot), not only the lines the gate
    keeps: an attribute is a fact about the customer, whatever the line's fate.

    Returns the customers frame (``customer_id`` + attributes, plus
    ``qc_conflicting_attributes`` under the ``flag`` policy), the ids of the
    customers with conflicting values, and the check's result. Under ``drop`` the
    caller removes those customers (the frame still lists them).
    """
    policies = resolve_policies(policies)
    policy = policies["conflicting_attributes"]
    lines = transactions.loc[transactions["customer_id"].notna()]
    customers = pd.DataFrame({"customer_id": pd.unique(lines["customer_id"])})
    conflicted = pd.Index([], dtype="str")
    per_attr = {}
    for col in attributes:
        pairs = (lines.loc[lines[col].notna(), ["customer_id", col, "order_date"]]
                 .groupby(["customer_id", col], sort=False, observed=True)
                 .agg(lines=("order_date", "size"), last=("order_date", "max"))
                 .reset_index())
        counts = pairs.groupby("customer_id", sort=False).size()
        several = counts.index[counts > 1]
        per_attr[col] = int(len(several))
        conflicted = conflicted.union(pd.Index(several.astype("str")))
        best = (pairs.sort_values(["customer_id", "lines", "last"], ascending=[True, False, False],
                                  kind="stable")
                .drop_duplicates("customer_id")[["customer_id", col]])
        customers = customers.merge(best, on="customer_id", how="left")
    return conflict_result(customers, conflicted, per_attr, policy)


def conflict_result(customers: pd.DataFrame, conflicted: pd.Index, per_attr: dict[str, int],
                    policy: str) -> tuple[pd.DataFrame, pd.Index, CheckResult]:
    """The conflicting-attributes check's result (and, with ``policy="flag"``, its flag
    column on ``customers``), shared by the in-memory and the engine paths."""
    result = CheckResult("conflicting_attributes", "customers", policy, len(conflicted), "customers",
                         CHECKS["conflicting_attributes"].description, {"by_attribute": per_attr})
    if policy == "flag":
        customers = customers.assign(qc_conflicting_attributes=customers["customer_id"].isin(conflicted))
    return customers, conflicted, result


@dataclass
class QualityReport:
    """Everything the quality gate found (the run folder keeps it, :mod:`seglab.run`).

    ``tables`` holds per-table counts (``rows_in``, ``rows_out``, ``customers``);
    ``checks`` one :class:`CheckResult` per check and table; ``notes`` what was
    repaired or assumed on the way in (e.g. mixed time-zone offsets converted to UTC).
    """

    dataset: str
    period: str
    snapshot: str | None
    tables: dict[str, dict] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "period": self.period, "snapshot": self.snapshot,
                "tables": self.tables, "checks": [asdict(c) for c in self.checks],
                "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: dict) -> QualityReport:
        return cls(dataset=data["dataset"], period=data["period"], snapshot=data.get("snapshot"),
                   tables=data.get("tables", {}),
                   checks=[CheckResult(**c) for c in data.get("checks", [])],
                   notes=list(data.get("notes", [])))

    def to_frame(self) -> pd.DataFrame:
        """One row per check and table: policy, count, unit and description."""
        columns = ["table", "check", "policy", "count", "unit", "description"]
        return pd.DataFrame([{k: getattr(c, k) for k in columns} for c in self.checks], columns=columns)

    def count(self, check: str, table: str = "transactions") -> int:
        """The count one check found in one table (0 when it did not run there)."""
        return next((c.count for c in self.checks if c.check == check and c.table == table), 0)

    def to_markdown(self) -> str:
        """A readable summary: what came in, what went out, and why."""
        lines = [f"# Data quality: {self.dataset}, {self.period}", ""]
        if self.snapshot:
            lines += [f"Snapshot: {self.snapshot} (rows on or after it are in the future).", ""]
        for table, info in self.tables.items():
            lines.append(f"- **{table}**: {info.get('rows_in', 0):,} rows in, "
                         f"{info.get('rows_out', 0):,} rows out"
                         + (f", {info['customers']:,} customers" if "customers" in info else ""))
        lines += ["", "| table | check | policy | count | what it finds |", "|---|---|---|---:|---|"]
        for c in self.checks:
            unit = c.unit[:-1] if c.count == 1 and c.unit.endswith("s") else c.unit  # "1 line", not "1 lines"
            lines.append(f"| {c.table} | {c.check} | {c.policy} | {c.count:,} {unit} | {c.description} |")
        if self.notes:
            lines += ["", "Notes:", "", *[f"- {escape_markdown(n)}" for n in self.notes]]
        return "\n".join(lines) + "\n"

    def write(self, path: str | Path, markdown: str | Path | None = None) -> Path:
        """Write the report as JSON to ``path`` (and as Markdown to ``markdown``); returns ``path``."""
        if markdown is not None:
            write_text(self.to_markdown(), markdown)
        return write_json(self.to_dict(), path)

    @classmethod
    def read(cls, path: str | Path) -> QualityReport:
        """Read a report written by :meth:`write`."""
        return cls.from_dict(read_json(path))
