"""``collect``: from a dataset spec and a period to canonical, checked, pseudonymized tables."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import ibis
import pandas as pd

from seglab._validation import show_list
from seglab.collect.canonical import CanonicalData
from seglab.collect.mapping import date_range, read_table
from seglab.collect.privacy import get_salt, hash_email, looks_personal, pseudonymize, salt_fingerprint
from seglab.collect.engine_quality import (check_events_engine, check_transactions_engine,
                                           pseudonymize_engine, resolve_customer_attributes_engine)
from seglab.collect.engine_read import ROW, persist, read_table_engine, run_query
from seglab.collect.quality import (CHECKS, QualityReport, check_campaigns, check_customers, check_events,
                                    check_feedback, check_transactions, resolve_customer_attributes,
                                    resolve_policies)
from seglab.collect.schema import CAMPAIGN_COLUMNS, EVENT_COLUMNS, FEEDBACK_COLUMNS, TRANSACTION_COLUMNS
from seglab.collect.spec import CRITERIA, DatasetSpec, TableSpec, load_spec
from seglab.config import Period, complete_periods, parse_period
from seglab.exceptions import DataQualityWarning, EmptyDataError, PeriodError, SchemaError

__all__ = ["collect", "choose_period", "dataset_date_range", "available_periods", "resolve_period"]

logger = logging.getLogger(__name__)


def dataset_date_range(spec: DatasetSpec | str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last transaction date of a dataset, or None when it has no transactions.

    The sources are read in pieces, only the date column (see
    :func:`seglab.collect.mapping.date_range`), so choosing a period never holds the
    table in memory.
    """
    spec = load_spec(spec)
    if spec.transactions is None:
        return None
    span = date_range(spec, spec.transactions, "transactions", "order_date")
    if span is None:
        raise EmptyDataError(f"dataset {spec.name!r} has no dated transactions")
    return span


def available_periods(first: pd.Timestamp, last: pd.Timestamp, kind: str = "quarter") -> list[Period]:
    """The complete periods a dataset can report on (see :func:`seglab.config.complete_periods`)."""
    return complete_periods(first, last, kind)


def choose_period(period: str | Period | None, dates: pd.Series | None, *,
                  kind: str = "quarter", dataset: str = "dataset") -> Period:
    """Check ``period`` against the data's dates, or pick the latest complete one when None.

    Quarters, months and years must be complete (the data reaches their last day);
    an explicit as-of date may lie after the data (with a warning). A dataset
    without dates only has the period ``all``.
    """
    if dates is None or dates.dropna().empty:
        if period is not None and parse_period(period).label != "all":
            raise PeriodError(f"dataset {dataset!r} has no dates (a customer table only); "
                              f"use period 'all' instead of {str(period)!r}")
        return parse_period("all")
    first, last = dates.min(), dates.max()
    complete = complete_periods(first, last, kind)
    span = f"the data runs from {first.date()} to {last.date()}"
    choices = (f"complete {kind}s: {complete[0].label} … {complete[-1].label}" if complete
               else f"no complete {kind}; give an as-of date such as {last.date()}")
    if period is None:
        if not complete:
            raise PeriodError(f"dataset {dataset!r}: {span}, less than one complete {kind}; "
                              f"give an as-of date such as --period {last.date()}")
        return complete[-1]
    chosen = parse_period(period)
    if chosen.is_static:
        return chosen
    if chosen.end < first.normalize():
        raise PeriodError(f"period {chosen.label} ends before the first transaction of {dataset!r} "
                          f"({first.date()}): {span}; {choices}")
    if chosen.kind != "date" and chosen.start > last:
        raise PeriodError(f"period {chosen.label} has no data in {dataset!r}: {span}; {choices}")
    if chosen.end > last.normalize():
        if chosen.kind == "date":
            warnings.warn(f"as-of date {chosen.label} is after the last transaction ({last.date()}); "
                          "customers will look more lapsed than they are", DataQualityWarning,
                          stacklevel=3)
        else:
            others = f"{choices}, or " if complete else ""
            raise PeriodError(f"period {chosen.label} is incomplete in {dataset!r}: {span}, before the "
                              f"period's last day {chosen.end.date()}; choose {others}an as-of date "
                              f"such as {last.date()}")
    return chosen


def _prepare_customer_columns(frame: pd.DataFrame, criteria: dict[str, str],
                              salt: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Tag every attribute; hash ``pii``, keep only the SHA-256 of ``email``, drop ``ignore``."""
    tags: dict[str, str] = {}
    out = {}
    for col in frame.columns:
        if col == "customer_id" or col.startswith("qc_"):
            out[col] = frame[col]  # the id is pseudonymized later; quality flags are not attributes
            continue
        tag = criteria.get(col)
        if tag is None and looks_personal(col):
            warnings.warn(f"customers.{col} looks like personal data and has no criterion tag; it is "
                          f"treated as 'pii' (hashed). Tag it in the spec to silence this",
                          DataQualityWarning, stacklevel=4)
            tag = "pii"
        tag = tag or "other"
        if tag == "ignore":
            continue
        if tag == "email":
            name = "email_sha256" if col == "email" else f"{col}_sha256"
            out[name], tags[name] = hash_email(frame[col]), "email"
        elif tag == "pii":
            out[col], tags[col] = pseudonymize(frame[col], salt), "pii"
        else:
            out[col], tags[col] = frame[col], tag
    return pd.DataFrame(out, index=frame.index), tags


def collect(dataset: str | Path | DatasetSpec = "sample", period: str | Period | None = None, *,
            policies: dict[str, str] | None = None, salt: str | None = None,
            project_dir: str | Path | None = None, run=None,
            progress: bool = False, con: ibis.BaseBackend | None = None) -> CanonicalData:
    """Load a dataset, map it onto the canonical schema, run the quality gate, pseudonymize.

    Parameters
    ----------
    dataset
        A built-in dataset name (see ``seglab datasets``), a spec file path, or a spec.
    period
        ``2011Q3``, ``2011-09``, ``2011``, an as-of date, or ``all``; None picks the
        latest complete quarter (``all`` for datasets without dates).
    policies
        Quality policies by check name, overriding the spec's and the defaults,
        e.g. ``{"cancellations": "drop"}``. See :data:`seglab.collect.CHECKS`.
    salt
        Salt for the keyed hashes; see :func:`seglab.collect.get_salt`.
    project_dir
        Where the project's salt file lives (by default the project folder found from
        the working directory upwards, see :func:`seglab.config.project_dir`).
    run
        The run folder this collection is for (a :class:`seglab.run.RunFolder`). When
        the quality gate leaves nothing, the quality report is written into it before
        the error is raised, so the counts can be read there. None writes nothing.
    progress
        Show a progress bar while reading sources.
    con
        The engine (an Ibis connection) where the line-scale tables (transactions, events)
        are read, checked and pseudonymized: ``seglab.features.connect("duckdb")``
        (in-process, with a memory cap and spilling) or another engine's connection. They
        then never pass through pandas: the canonical tables hold engine tables, which
        :meth:`seglab.run.RunFolder.write_canonical` has the engine write as Parquet; the
        customer-scale tables (customers, campaigns, feedback) stay in pandas. Files the
        engine cannot read (see :mod:`seglab.collect.engine_read`) are read by pandas up
        to a size. None (the default) reads everything into pandas, for small data.

    Returns
    -------
    CanonicalData
        Customers (always), transactions, events, campaigns and feedback (when the
        dataset has them), criterion tags, the customer columns that record campaign
        responses without a control group, and the quality report (whose ``notes`` repeat every
        :class:`~seglab.exceptions.DataQualityWarning` given on the way). Customer ids
        are pseudonyms; ``salt_fingerprint`` identifies the salt.

    Raises
    ------
    EmptyDataError
        When a table holds no rows, or the quality gate leaves none: the message says
        which checks removed them, and a required column that is empty in every row
        (``column amount (mapped from 'Price') is empty in 1,200 rows``). The error's
        ``quality`` attribute holds the quality report.

    Examples
    --------
    >>> data = collect("mall_customers", salt="doc")  # doctest: +SKIP
    >>> data.customers.columns.tolist()[:3]            # doctest: +SKIP
    ['customer_id', 'gender', 'age']
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        try:
            data = _collect(dataset, period, policies=policies, salt=salt, project_dir=project_dir,
                            run=run, progress=progress, con=con, caught=caught)
        finally:
            shown = list(caught)
    for w in shown:  # show them as they came, now that they are also notes in the report
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return data


def _notes(caught: list) -> list[str]:
    notes = []
    for w in caught:
        text = str(w.message)
        if issubclass(w.category, DataQualityWarning) and text not in notes:
            notes.append(text)
    return notes


def _source_of(table: TableSpec, column: str) -> str:
    """How a canonical column is made, for messages: mapped from X, or derived as E."""
    ways = []
    for source in table.sources:
        if column in source.derive:
            way = f"derived as {source.derive[column]!r}"
        elif column in source.columns:
            way = f"mapped from {source.columns[column]!r}"
        else:
            way = "read under that name"
        if way not in ways:
            ways.append(way)
    return " / ".join(ways)


_REQUIRED_TX = ("amount", "customer_id", "order_date")


def _nothing_left(spec: DatasetSpec, chosen: Period, table: str, rows: int, empty: list[str],
                  report: QualityReport, run) -> EmptyDataError:
    """The error for a quality gate that left nothing: why (``empty``: the required columns
    empty in all ``rows`` read), and where the counts are."""
    reasons = []
    if spec.transactions is not None and rows:
        for col in empty:
            reasons.append(f"column {col} ({_source_of(spec.transactions, col)}) is empty in "
                           f"{rows:,} rows; check the mapping in the spec (the right column? "
                           "numbers in this export?)")
    dropped = sorted((c for c in report.checks if c.policy == "drop" and c.count and c.table == table),
                     key=lambda c: -c.count)
    if dropped:
        reasons.append("the gate dropped " + ", ".join(f"{c.count:,} {c.unit} ({c.check})"
                                                       for c in dropped[:5]))
    where = ""
    if run is not None:
        path = run.make().write_quality(report)["quality"]
        where = f"; every count is in {path}"
    rows_in = report.tables.get(table, {}).get("rows_in", 0)
    error = EmptyDataError(
        f"dataset {spec.name!r}, period {chosen.label}: no {table} are left after the quality gate "
        f"({rows_in:,} rows in): {'; '.join(reasons) or 'every row failed a check'}{where}. Fix the "
        "data or the mapping, or relax the policies that drop them")
    error.quality = report
    return error


def _collect(dataset, period, *, policies, salt, project_dir, run, progress, con,
             caught: list) -> CanonicalData:
    spec = load_spec(dataset)
    rules = resolve_policies({**spec.quality.policies, **(policies or {})})
    salt = get_salt(salt, project_dir=project_dir)
    checks, tables, sources = [], {}, []

    transactions, tx_customers = None, None
    if spec.transactions is not None and con is not None:
        transactions, tx_customers, chosen = _transactions_in_engine(con, spec, period, rules, tables, checks,
                                                                     caught, run)
        sources += [s.describe() for s in spec.transactions.sources]
    elif spec.transactions is not None:
        raw, overlap, described = read_table(spec, spec.transactions, "transactions", progress=progress)
        sources += described
        checks += overlap
        if raw.empty:
            raise EmptyDataError(f"dataset {spec.name!r}: the transaction sources hold no rows "
                                 f"({show_list(described)})")
        chosen = choose_period(period, raw["order_date"], kind=spec.period_kind, dataset=spec.name)
        rows_in = len(raw) + (overlap[0].count if overlap and overlap[0].policy == "drop" else 0)
        transactions, found = check_transactions(
            raw, snapshot=chosen.cutoff, policies=rules,
            cancellation_pattern=spec.quality.cancellation_pattern,
            product_pattern=spec.quality.product_pattern,
            non_product_codes=spec.quality.non_product_codes,
            outlier_fence=spec.quality.outlier_fence)
        checks += found
        attributes = [c for c in spec.transactions.customer_attributes if c in transactions.columns]
        if attributes:
            seen = raw if chosen.cutoff is None else raw.loc[raw["order_date"] < chosen.cutoff]
            tx_customers, conflicted, conflict = resolve_customer_attributes(seen, attributes,
                                                                             policies=rules)
            checks.append(conflict)
            transactions = transactions.drop(columns=attributes)
            if conflict.policy == "drop":
                transactions = transactions.loc[~transactions["customer_id"].isin(conflicted)]
            tx_customers = tx_customers.loc[tx_customers["customer_id"].isin(
                transactions["customer_id"].unique())]
        tables["transactions"] = {"rows_in": rows_in, "rows_out": len(transactions),
                                  "customers": int(transactions["customer_id"].nunique())}
        if transactions.empty:
            empty = [c for c in _REQUIRED_TX if c in raw and raw[c].isna().all()]
            raise _nothing_left(spec, chosen, "transactions", len(raw), empty,
                                _report(spec, chosen, tables, checks, caught), run)
    else:
        chosen = choose_period(period, None, dataset=spec.name)
    if chosen.end is not None or transactions is None:
        as_of = chosen.end if chosen.end is not None else (pd.Timestamp(spec.as_of) if spec.as_of else None)
    elif con is not None:
        as_of = pd.Timestamp(run_query(transactions["order_date"].max(), "transactions")).normalize()
    else:
        as_of = transactions["order_date"].max().normalize()

    customers, criteria = None, {}
    if spec.customers is not None:
        raw, _, described = read_table(spec, spec.customers, "customers", progress=progress)
        sources += described
        if raw.empty:
            raise EmptyDataError(f"dataset {spec.name!r}: the customer sources hold no rows")
        attributes = [c for c in raw.columns if c != "customer_id"]
        customers, found = check_customers(raw, policies=rules, attributes=attributes,
                                           outlier_fence=spec.quality.outlier_fence)
        checks += found
        customers, criteria = _prepare_customer_columns(customers, spec.customers.criteria, salt)
        tables["customers"] = {"rows_in": len(raw), "rows_out": len(customers)}

    events = None
    if spec.events is not None and con is not None:
        raw, _, rows_in = read_table_engine(con, spec, spec.events, "events", policy="keep")
        sources += [s.describe() for s in spec.events.sources]
        events, found = check_events_engine(con, raw, snapshot=chosen.cutoff, policies=rules)
        checks += found
        tables["events"] = {"rows_in": rows_in, "rows_out": int(run_query(events.count(), "events"))}
    elif spec.events is not None:
        raw, _, described = read_table(spec, spec.events, "events", progress=progress)
        sources += described
        events, found = check_events(raw, snapshot=chosen.cutoff, policies=rules)
        checks += found
        tables["events"] = {"rows_in": len(raw), "rows_out": len(events)}

    campaigns = None
    if spec.campaigns is not None:
        raw, _, described = read_table(spec, spec.campaigns, "campaigns", progress=progress)
        sources += described
        campaigns, found = check_campaigns(raw, snapshot=chosen.cutoff, policies=rules)
        checks += found
        if con is not None and transactions is not None and spec.campaigns.response_window_days:
            # the purchases of the campaigns' customers only: customer-scale, not the whole log
            ids = ibis.memtable(pd.DataFrame({"_id": campaigns["customer_id"].dropna().unique()}))
            bought = run_query(transactions.filter(transactions["customer_id"].isin(ids["_id"]))
                               .select("customer_id", "order_date", "amount"), "transactions")
            campaigns = _campaign_outcomes(spec, campaigns, bought, chosen)
        else:
            campaigns = _campaign_outcomes(spec, campaigns, transactions, chosen)
        tables["campaigns"] = {"rows_in": len(raw), "rows_out": len(campaigns),
                               "campaigns": int(campaigns["campaign_id"].nunique())}

    feedback = None
    if spec.feedback is not None:
        raw, _, described = read_table(spec, spec.feedback, "feedback", progress=progress)
        sources += described
        feedback, found = check_feedback(raw, snapshot=chosen.cutoff, policies=rules,
                                         scales=spec.feedback.scales)
        checks += found
        tables["feedback"] = {"rows_in": len(raw), "rows_out": len(feedback)}

    if tx_customers is not None:
        tx_criteria = dict(spec.transactions.customer_attributes)
        if customers is None:
            customers = tx_customers
        else:
            # the customer table's own values win over those read off transaction lines
            extra = [c for c in tx_customers.columns if c == "customer_id" or c not in customers.columns]
            customers = customers.merge(tx_customers[extra], on="customer_id", how="outer", sort=False)
        criteria = {**{c: t for c, t in tx_criteria.items() if c in customers.columns}, **criteria}
    # every customer who bought or left a trace in the events belongs to the universe
    ids = [_customer_ids(f) for f in (customers, transactions, events) if f is not None]
    universe = pd.unique(pd.concat(ids, ignore_index=True).dropna())
    if customers is None:
        customers = pd.DataFrame({"customer_id": universe})
    else:
        missing = pd.Index(universe).difference(pd.Index(customers["customer_id"]))
        if len(missing):
            customers = pd.concat([customers, pd.DataFrame({"customer_id": missing})], ignore_index=True)
    if customers.empty:
        raise _nothing_left(spec, chosen, "customers", 0, [], _report(spec, chosen, tables, checks, caught),
                            run)
    tables.setdefault("customers", {})["customers"] = len(customers)

    # the ids of the engine's tables are all in the customer table: hashed once, joined in the engine
    hashed = pseudonymize(customers["customer_id"], salt)
    pseudonyms = (pd.DataFrame({"customer_id": customers["customer_id"], "pseudonym": hashed}).dropna()
                  .drop_duplicates("customer_id"))

    def _pseudo(frame, order: tuple[str, ...]):
        if frame is None:
            return None
        columns = [c for c in order if c in frame.columns]
        columns += [c for c in frame.columns if c not in columns and c != ROW]
        if isinstance(frame, ibis.Table):  # in the engine, in the order the lines were read
            return persist(con, pseudonymize_engine(frame, pseudonyms).order_by(ROW).select(*columns),
                           "canonical")
        ids = hashed if frame is customers else pseudonymize(frame["customer_id"], salt)
        return frame[columns].assign(customer_id=ids).reset_index(drop=True)

    responses = list(spec.customers.responses) if spec.customers is not None else []
    _check_responses(customers, responses)
    report = _report(spec, chosen, tables, checks, caught)
    logger.info("collected %s %s: %s", spec.name, chosen.label,
                ", ".join(f"{k} {v.get('rows_out', v.get('customers', 0)):,}" for k, v in tables.items()))
    return CanonicalData(
        dataset=spec.name, period=chosen.label, as_of=as_of,
        customers=_pseudo(customers, ("customer_id",)),
        transactions=_pseudo(transactions, tuple(TRANSACTION_COLUMNS)),
        events=_pseudo(events, tuple(EVENT_COLUMNS)),
        campaigns=_pseudo(campaigns, tuple(CAMPAIGN_COLUMNS)),
        feedback=_pseudo(feedback, tuple(FEEDBACK_COLUMNS)), responses=responses,
        criteria={c: t for c, t in criteria.items() if t in CRITERIA or t in ("pii", "email")},
        quality=report, currency=spec.currency, sources=sources,
        salt_fingerprint=salt_fingerprint(salt), segment_on=list(spec.segment_on))


def _transactions_in_engine(con, spec: DatasetSpec, period, rules: dict, tables: dict, checks: list,
                            caught: list, run):
    """Read, check and resolve the transactions in the engine (the pandas branch of
    :func:`_collect`, as engine expressions); returns them (an engine table), the customer
    attributes read off their lines (pandas, one row per customer) and the period."""
    policy = spec.quality.policies.get("overlap", CHECKS["overlap"].default)
    raw, overlap, rows_in = read_table_engine(con, spec, spec.transactions, "transactions", policy=policy)
    checks += overlap
    span = run_query(raw.aggregate(n=raw.count(), first=raw["order_date"].min(),
                                   last=raw["order_date"].max()), "transactions").iloc[0]
    if int(span["n"]) == 0:
        raise EmptyDataError(f"dataset {spec.name!r}: the transaction sources hold no rows "
                             f"({show_list([s.describe() for s in spec.transactions.sources])})")
    dates = pd.Series([span["first"], span["last"]], dtype="datetime64[us]")
    chosen = choose_period(period, dates, kind=spec.period_kind, dataset=spec.name)
    transactions, found = check_transactions_engine(
        con, raw, snapshot=chosen.cutoff, policies=rules,
        cancellation_pattern=spec.quality.cancellation_pattern,
        product_pattern=spec.quality.product_pattern,
        non_product_codes=spec.quality.non_product_codes,
        outlier_fence=spec.quality.outlier_fence)
    checks += found
    tx_customers = None
    attributes = [c for c in spec.transactions.customer_attributes if c in transactions.columns]
    if attributes:
        seen = raw if chosen.cutoff is None else raw.filter(raw["order_date"] < chosen.cutoff.to_pydatetime())
        tx_customers, conflicted, conflict = resolve_customer_attributes_engine(seen, attributes,
                                                                                policies=rules)
        checks.append(conflict)
        transactions = transactions.drop(*attributes)
        if conflict.policy == "drop" and len(conflicted):
            gone = ibis.memtable(pd.DataFrame({"_id": conflicted.to_numpy()}))
            transactions = transactions.filter(~transactions["customer_id"].isin(gone["_id"]))
    counts = run_query(transactions.aggregate(n=transactions.count(),
                                              customers=transactions["customer_id"].nunique()),
                       "transactions").iloc[0]
    if tx_customers is not None:
        kept = _customer_ids(transactions)
        tx_customers = tx_customers.loc[tx_customers["customer_id"].isin(kept)]
    tables["transactions"] = {"rows_in": rows_in, "rows_out": int(counts["n"]),
                              "customers": int(counts["customers"])}
    if not int(counts["n"]):
        nulls = run_query(raw.aggregate(**{c: raw[c].count() for c in _REQUIRED_TX}), "transactions").iloc[0]
        raise _nothing_left(spec, chosen, "transactions", int(span["n"]),
                            [c for c in _REQUIRED_TX if not int(nulls[c])],
                            _report(spec, chosen, tables, checks, caught), run)
    return transactions, tx_customers, chosen


def _customer_ids(frame) -> pd.Series:
    """The customer ids of a table (an engine table's distinct ids: customer-scale)."""
    if isinstance(frame, ibis.Table):
        return run_query(frame.select("customer_id").distinct(), "customer ids")["customer_id"]
    return frame["customer_id"]


def _campaign_outcomes(spec: DatasetSpec, campaigns: pd.DataFrame, transactions: pd.DataFrame | None,
                       chosen: Period) -> pd.DataFrame:
    """The campaigns with their outcomes: as given, or derived from the transactions."""
    window = spec.campaigns.response_window_days
    given = [c for c in ("converted", "revenue") if c in campaigns.columns]
    if given and window:
        raise SchemaError(f"campaigns has {' and '.join(given)} and the spec sets response_window_days: "
                          "give the outcomes or have them derived from the transactions, not both "
                          "(remove response_window_days, or the outcome columns from the mapping)")
    if given:
        if "converted" not in campaigns:  # revenue alone: a purchase is a conversion
            campaigns = campaigns.assign(converted=(campaigns["revenue"] > 0).astype("boolean"))
        elif "revenue" in campaigns:  # a missing yes/no with a revenue: the revenue decides
            campaigns = campaigns.assign(converted=campaigns["converted"].fillna(campaigns["revenue"] > 0))
        return campaigns
    if not window:
        raise SchemaError(f"campaigns has no outcome: map its converted and/or revenue columns, or set "
                          f"campaigns: response_window_days: 30 in the spec of {spec.name!r} to derive them "
                          "from each customer's purchases after the campaign")
    if transactions is None:
        raise SchemaError(f"campaigns: response_window_days derives outcomes from the transactions, but "
                          f"dataset {spec.name!r} has none; map the converted and revenue columns instead")
    from seglab.collect.outcomes import derive_outcomes

    derived, notes = derive_outcomes(campaigns, transactions, window_days=window, snapshot=chosen.cutoff)
    for note in notes:
        warnings.warn(note, DataQualityWarning, stacklevel=4)
    return derived


def _check_responses(customers: pd.DataFrame, responses: list[str]) -> None:
    """The spec's campaign-response columns exist in the customer table and hold 0/1 answers."""
    if not responses:
        return
    missing = [c for c in responses if c not in customers.columns]
    if missing:
        raise SchemaError(f"customers.responses names {show_list(missing)}, which the customer table does not "
                          f"have; columns: {show_list([c for c in customers.columns if c != 'customer_id'], 20)}")
    for col in responses:
        values = pd.to_numeric(customers[col], errors="coerce")
        bad = customers[col].notna() & ~values.isin([0, 1])
        if bad.any():
            raise SchemaError(f"customers.{col} is listed under responses, so it must hold 0/1 answers "
                              f"answers; found {show_list(customers.loc[bad, col].drop_duplicates().head(3).tolist())}")


def _report(spec: DatasetSpec, chosen: Period, tables: dict, checks: list, caught: list) -> QualityReport:
    return QualityReport(dataset=spec.name, period=chosen.label,
                         snapshot=None if chosen.cutoff is None else chosen.cutoff.isoformat(),
                         tables=tables, checks=checks, notes=_notes(caught))


def resolve_period(dataset: str | Path | DatasetSpec = "sample", period: str | None = None) -> tuple[str, str]:
    """The dataset's name and the label of the period a run of it will use, checked against
    the data (an empty period: the latest complete one; only the date column is read).

    >>> resolve_period("mall_customers")
    ('mall_customers', 'all')
    """
    spec = load_spec(dataset)
    if spec.transactions is None:
        return spec.name, choose_period(period, None, dataset=spec.name).label
    if period is not None and parse_period(period).is_static:
        return spec.name, "all"
    first, last = dataset_date_range(spec)
    return spec.name, choose_period(period, pd.Series([first, last]), kind=spec.period_kind,
                                    dataset=spec.name).label
