"""``build_features``: every feature of every customer as of a snapshot, and their dictionary."""

from __future__ import annotations

import logging
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field, replace

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from seglab._validation import check_choice, check_range
from seglab.collect.canonical import CanonicalData, CanonicalFiles
from seglab.config import parse_period
from seglab.engine import EngineSettings, memory_limit_for
from seglab.exceptions import DataQualityWarning, EmptyDataError, InputError, PeriodError
from seglab.features import behaviour as _behaviour
from seglab.features import journey as _journey
from seglab.features import rfm as _rfm
from seglab.features.dictionary import FeatureDictionary
from seglab.features.engine import as_table, connect, execute, materialize
from seglab.features.profile import profile_features
from seglab.features.value.features import value_features
from seglab.features.value.validation import (ValueValidation, calibration_expr, check_holdout,
                                              evaluate_holdout, gamma_gamma_check, holdout_days_expr)

__all__ = ["build_features", "FeatureSet", "KEY_FEATURES"]

logger = logging.getLogger(__name__)

# name: (criterion, description, unit)
_FIXED = {
    "frequency": ("rfm", "repeat purchase days over the whole history: distinct purchase days − 1 "
                         "(BTYD frequency)", "purchases"),
    "recency": ("rfm", "from the first to the last purchase day (BTYD recency, whole history)", "{unit}"),
    "T": ("rfm", "from the first purchase day to the snapshot (BTYD age, whole history)", "{unit}"),
    "monetary_value": ("rfm", "mean spend per repeat purchase day (BTYD monetary value)", "{currency}"),
    "net_monetary_value": ("rfm", "mean net spend per repeat purchase day, returns netted", "{currency}"),
    "recency_days": ("rfm", "days from the last purchase to the snapshot", "days"),
    "orders": ("rfm", "orders with a purchase in the window", "orders"),
    "net_revenue": ("rfm", "purchases minus returns in the window", "{currency}"),
    "avg_order_value": ("rfm", "net revenue per order", "{currency}"),
    "gross_revenue": ("rfm", "purchases in the window, before returns", "{currency}"),
    "returned_amount": ("rfm", "value of returns and cancellations in the window", "{currency}"),
    "tenure_days": ("behaviour", "days from the first purchase in the window to the snapshot", "days"),
    "r_score": ("rfm", "recency score, 1 (longest ago) to 5 (most recent)", "score"),
    "f_score": ("rfm", "frequency score (orders), 1 to 5", "score"),
    "m_score": ("rfm", "monetary score (net revenue), 1 to 5", "score"),
    "fm_score": ("rfm", "round((F + M) / 2)", "score"),
    "rfm_cell": ("rfm", "R, F and M scores as text, e.g. 545", ""),
    "rfm_segment": ("rfm", "named RFM segment (seglab.features.RFM_SEGMENT_GRID)", ""),
    "prob_alive": ("value", "probability the customer is still active ({model})", "probability"),
    "expected_purchases": ("value", "expected purchases in the next {horizon} days ({model})", "purchases"),
    "expected_spend": ("value", "expected spend per future purchase (Gamma-Gamma, returns netted)",
                       "{currency}"),
    "clv": ("value", "customer lifetime value over {months} months, discounted at {rate:.1%} a month",
            "{currency}"),
    "orders_per_month": ("behaviour", "orders per month of tenure (tenure at least a month)", "orders"),
    "mean_interpurchase_days": ("behaviour", "mean days between purchase days", "days"),
    "interpurchase_cv": ("behaviour", "regularity: std / mean of the days between purchases "
                                      "(0 = clockwork; needs 3 purchase days)", "ratio"),
    "lines_per_order": ("behaviour", "product lines per order", "lines"),
    "items_per_order": ("behaviour", "units per order", "units"),
    "return_rate": ("behaviour", "returned value / purchased value", "share"),
    "discount_share": ("behaviour", "discounts / (purchases + discounts)", "share"),
    "discounted_order_share": ("behaviour", "share of orders with a discount", "share"),
    "weekend_share": ("behaviour", "share of orders on Saturday or Sunday", "share"),
    "morning_share": ("behaviour", "share of orders before noon", "share"),
    "evening_share": ("behaviour", "share of orders from 18:00", "share"),
    "distinct_products": ("behaviour", "distinct products bought", "products"),
    "distinct_categories": ("behaviour", "distinct categories bought", "categories"),
    "top_category_share": ("behaviour", "share of spend in the customer's favourite category", "share"),
    "journey_stage": ("journey", "never bought, one-time buyer, repeat, loyal, lapsed or churned "
                                 "(lapsed after {lapsed} days, churned after {churned}, loyal from "
                                 "{loyal} orders)", ""),
    "visits_per_month": ("journey", "site or app visits per month", "visits"),
    "product_views": ("journey", "product views in the window", "views"),
    "cart_abandons": ("journey", "abandoned carts in the window", "carts"),
    "cart_abandon_rate": ("journey", "abandoned carts / cart adds", "share"),
    "visit_conversion": ("journey", "orders / visits (capped at 1)", "share"),
    "support_contacts": ("journey", "support contacts in the window", "contacts"),
    "support_per_order": ("journey", "support contacts per order", "contacts"),
    "email_open_rate": ("journey", "emails opened / emails sent", "share"),
    "email_click_rate": ("journey", "emails clicked / emails sent", "share"),
    "days_since_last_event": ("journey", "days from the last recorded event to the snapshot", "days"),
}
KEY_FEATURES = ("recency_days", "orders", "net_revenue", "avg_order_value", "prob_alive",
                "expected_purchases", "clv", "orders_per_month", "mean_interpurchase_days",
                "return_rate", "discount_share", "distinct_products", "top_category_share",
                "visits_per_month", "cart_abandon_rate", "email_open_rate", "support_contacts")
"""The computed features worth a first look (overview plots); profile columns are added to them."""

_CRITERIA_ORDER = ("rfm", "value", "behaviour", "journey", "demographic", "firmographic",
                   "geographic", "psychographic", "needs", "other")
_INTEGER_FILL = ("orders",)
_ZERO_FILL = ("orders", "net_revenue", "gross_revenue", "returned_amount")


@dataclass
class FeatureSet:
    """The output of *features*: the table, its dictionary, the fitted value models, diagnostics.

    ``features`` has one row per customer (``customer_id`` first), sorted by id; or, read
    from a run with a ``sample_size`` (:meth:`~seglab.run.RunFolder.features`), the seeded
    sample of them the segments are learnt from, and ``customers`` counts them all.
    """

    features: pd.DataFrame
    dictionary: FeatureDictionary
    models: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)
    validation: ValueValidation | None = None
    customers: int | None = None

    def key_columns(self, limit: int = 24) -> list[str]:
        """The numeric features worth a first look: :data:`KEY_FEATURES` that exist, then the
        customer table's numeric attributes, at most ``limit`` of them."""
        numeric = set(self.dictionary.select(types=["number"]))
        key = [c for c in KEY_FEATURES if c in numeric]
        profile = [f.name for f in self.dictionary.features
                   if f.source == "customers" and f.name in numeric and f.name not in key]
        return (key + profile)[:limit]

    def value_model_table(self) -> pd.DataFrame:
        """The purchase model and the spend model used for the value features, a row each
        (name, parameters, fit); empty when no value model was fitted."""
        rows = [self.diagnostics.get(k) for k in ("purchase_model", "spend_model")]
        return pd.DataFrame([r for r in rows if r])

    def headline(self) -> str:
        """One line: customers, features and the snapshot day."""
        who = f"{len(self.features):,} customers"
        if self.customers is not None and self.customers > len(self.features):
            who = f"a seeded sample of {len(self.features):,} of {self.customers:,} customers"
        return f"{who} × {self.features.shape[1] - 1} features as of {self.dictionary.meta.get('as_of')}"

    def validation_frame(self) -> pd.DataFrame:
        """The value models' holdout figures (:meth:`ValueValidation.to_frame`); without a
        validation, one row saying why."""
        if self.validation is None or not self.validation.validated:
            status = self.validation.status if self.validation is not None else "not validated"
            return pd.DataFrame({"model": [self.diagnostics.get("purchase_model", {}).get("label", "")],
                                 "status": [status]})
        return self.validation.to_frame()


def _inputs(data, con):
    """Customers (pandas), transactions and events (Ibis), criteria, as_of, currency, period, and what
    the spec says of the segmentation: segment_on, and the campaign-response columns."""
    if isinstance(data, CanonicalData):
        return (data.customers, as_table(con, data.transactions, name="transactions"),
                as_table(con, data.events, name="events"), data.criteria, data.as_of, data.currency,
                data.period, (list(data.segment_on), list(data.responses)))
    if not isinstance(data, CanonicalFiles):
        raise InputError(f"build_features needs the canonical tables: a CanonicalData (from collect) or the "
                         f"run folder's files (run.canonical_files()); got {type(data).__name__}")

    def _table(name):
        return as_table(con, data.paths[name], name=name) if name in data.paths else None

    return (data.customers(), _table("transactions"), _table("events"), data.criteria, data.as_of,
            data.currency, data.period, (data.segment_on, data.responses))


DEFAULT_HOLDOUT_DAYS = 91
"""Holdout window of the value-model validation when the period is not a quarter, month or year."""


def period_days(period: str | None) -> int:
    """Days of a reporting period (a quarter: 90 to 92), or :data:`DEFAULT_HOLDOUT_DAYS` for an
    as-of date or an unknown period."""
    try:
        p = parse_period(period) if period else None
    except PeriodError:
        p = None
    if p is None or p.kind not in ("quarter", "month", "year"):
        return DEFAULT_HOLDOUT_DAYS
    return int((p.end - p.start).days) + 1


def _engine_settings(con, engine_memory: str, customers: int | None) -> EngineSettings:
    """The engine to open for ``con`` (None, a name or settings); DuckDB capped at ``engine_memory``
    (``"auto"``: sized for ``customers``, see :func:`seglab.engine.memory_limit_for`)."""
    settings = con if isinstance(con, EngineSettings) else EngineSettings(con or "duckdb")
    if settings.name == "duckdb":
        limit = memory_limit_for(customers) if engine_memory == "auto" else engine_memory
        settings = replace(settings, config={"memory_limit": limit, **settings.config})
    return settings


def _customer_count(data) -> int | None:
    """How many customers the canonical tables have (from the run folder's schema: no read)."""
    if isinstance(data, CanonicalFiles):
        return ((data.schema.get("tables") or {}).get("customers") or {}).get("rows")
    customers = getattr(data, "customers", None)
    return len(customers) if isinstance(customers, pd.DataFrame) else None


def build_features(data: CanonicalData | CanonicalFiles, *, as_of: str | pd.Timestamp | None = None,
                   lookback_days: int | None = 730, time_unit: str = "days", horizon_days: int = 90,
                   clv_months: int = 12, discount_rate: float = 0.01, lapsed_days: int = 180,
                   churned_days: int = 365, loyal_orders: int = 4, top_categories: int = 8,
                   rfm_cuts: dict | None = None, segment_map: dict | None = None,
                   value_models: bool = True, value_model: str = "auto", holdout_days: int | None = None,
                   validate_value_model: bool = True,
                   summary_lookback_days: int | None = None, con=None, engine_memory: str = "auto",
                   progress: bool = False) -> FeatureSet:
    """Compute every feature for every customer as of the snapshot.

    Parameters
    ----------
    data
        The output of *collect*: a :class:`~seglab.collect.CanonicalData`, or the run
        folder's tables as files (:meth:`seglab.run.RunFolder.canonical_files`), which the
        engine reads directly.
    as_of
        The snapshot day (default: the period's last day, from *collect*).
    lookback_days
        Behaviour, marketing RFM and journey features count only the last
        ``lookback_days`` days of transactions and events (None or 0: all history up to
        the snapshot). The BTYD summary and the value models always use each customer's
        whole history (see ``summary_lookback_days``).
    time_unit
        Unit of the BTYD ``recency`` and ``T`` (and of the value-model fit).
    horizon_days, clv_months, discount_rate
        Horizons of ``expected_purchases`` and ``clv``; monthly discount rate.
    lapsed_days, churned_days, loyal_orders
        Journey-stage thresholds (see :mod:`seglab.features.journey`).
    top_categories
        Share-of-spend columns for this many of the most frequent categories.
    rfm_cuts, segment_map
        Custom RFM cut points and named-segment cells (see :func:`rfm_scores`,
        :func:`rfm_segments`).
    value_models
        Fit a purchase model and Gamma-Gamma (value features) or skip them.
    value_model
        ``"auto"``: the candidate (MBG/NBD, Pareto/NBD) with the best holdout fit, see
        :func:`seglab.features.validate_value_model`; or ``"mbg_nbd"``, ``"pareto_nbd"``,
        ``"bg_nbd"`` (which holds every one-time buyer alive with probability 1).
    holdout_days
        Holdout window of the value-model validation, ending at the snapshot (None: one
        period, e.g. a quarter). It must be shorter than the history; the error says how
        long it can be.
    validate_value_model
        Run the validation (and choose the model by it); without it, ``value_model="auto"``
        means MBG/NBD.
    summary_lookback_days
        Bound the BTYD summary (and so the value models) to the last this many days
        too (None: whole history, the default and the models' assumption). When it
        cuts history, a warning gives how many customers lost purchases and how many
        dropped out of the summary.
    con
        Where the engine work runs: an Ibis connection (e.g.
        ``seglab.engine.connect("spark", master="local[2]")``), which stays open; or an
        engine's name (``"duckdb"``, ``"spark"``) or :class:`seglab.engine.EngineSettings`,
        which this function connects to and closes as soon as the engine work is done, so
        that its memory is free for the per-customer phase (default: DuckDB).
    engine_memory
        Memory limit of the DuckDB this function opens (unless ``con``'s settings name
        one, e.g. ``engine_config: {"memory_limit": "2GB"}``); beyond it DuckDB spills to
        disk. ``"auto"``: sized for the number of customers by
        :func:`seglab.engine.memory_limit_for`: 512 MB up to 1.3 M customers (10 M
        transaction lines / 1 M customers build within 1.5 GB in all, the feature table
        included), 400 bytes a customer beyond (2 GB at 5 M), at most a quarter of the
        machine's memory.
    progress
        Show a progress bar over the feature groups.

    Returns
    -------
    FeatureSet
        The feature table (one row per customer), its dictionary, the value models.
    """
    check_choice(time_unit, ("days", "weeks"), name="time_unit")
    check_choice(value_model, ("auto", "bg_nbd", "mbg_nbd", "pareto_nbd"), name="value_model")
    if lookback_days:
        check_range(lookback_days, name="lookback_days", low=1, integer=True)
    if summary_lookback_days:
        check_range(summary_lookback_days, name="summary_lookback_days", low=1, integer=True)
    if holdout_days is not None:
        check_range(holdout_days, name="holdout_days", low=1, integer=True)
    lines = getattr(data, "transactions", None)
    if con is None and isinstance(lines, ibis.Table):  # collected in an engine: compute there
        con = lines.get_backend()
    # a connection we open (none given, or an engine's name or settings), we close as soon as the
    # engine work is done: its memory (DuckDB's buffers, a Spark driver) is free for the pandas phase
    owned = not isinstance(con, ibis.BaseBackend)
    con = connect(_engine_settings(con, engine_memory, _customer_count(data))) if owned else con
    customers, transactions, events, criteria, data_as_of, currency, period, (segment_on, responses) = \
        _inputs(data, con)
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else data_as_of
    if as_of is None and (transactions is not None or events is not None):
        raise InputError("as_of is needed: the data has dates but no snapshot day; pass as_of=…")
    dictionary = FeatureDictionary(meta={
        "as_of": None if as_of is None else as_of.date().isoformat(),
        "lookback_days": lookback_days or None, "summary_lookback_days": summary_lookback_days or None,
        "time_unit": time_unit, "currency": currency, "segment_on": segment_on or None,
        "responses": responses or None})
    holdout = period_days(period) if holdout_days is None else int(holdout_days)
    fmt = {"unit": time_unit, "currency": currency or "currency", "horizon": horizon_days, "model": "",
           "months": clv_months, "rate": discount_rate, "lapsed": lapsed_days,
           "churned": churned_days, "loyal": loyal_orders}
    parts: list[pd.DataFrame] = []
    models, diagnostics, summary, rfm = {}, {}, None, None
    bar = tqdm(total=4, desc="features", unit="group", disable=not progress, leave=False)
    # engine phase: every query, then the connection goes (and its memory with it)
    bar.set_postfix_str("queries")
    raw = None
    if transactions is None:
        dictionary.skip("rfm, behaviour, value", "the dataset has no transactions table")
    else:
        raw = _transaction_queries(con, transactions, as_of=as_of, lookback_days=lookback_days,
                                   summary_lookback_days=summary_lookback_days, time_unit=time_unit,
                                   top_categories=top_categories,
                                   holdout_days=holdout if value_models and validate_value_model else 0,
                                   holdout_given=holdout_days is not None)
        if raw.get("cut"):
            dictionary.meta["summary_cut"] = raw["cut"]
    event_counts = None
    if events is None:
        dictionary.skip("journey events (visits, carts, support, email)", "the dataset has no events table")
    else:
        windowed = _journey.window_events(events, as_of=as_of, lookback_days=lookback_days)
        event_counts = execute(con, _journey.events_expr(windowed, as_of=as_of))
    if owned:
        con.disconnect()
    bar.update()
    # pandas phase
    if raw is not None:
        bar.set_postfix_str("rfm and behaviour")
        summary, rfm, more = _finish_transactions(raw, rfm_cuts=rfm_cuts, segment_map=segment_map,
                                                  dictionary=dictionary)
        parts += more
        parts.append(pd.DataFrame({"customer_id": rfm["customer_id"], "journey_stage": _journey.journey_stage(
            rfm["orders"], rfm["recency_days"], lapsed_days=lapsed_days, churned_days=churned_days,
            loyal_orders=loyal_orders)}))
    if event_counts is not None:
        orders = rfm.set_index("customer_id")["orders"] if rfm is not None else pd.Series(dtype=float)
        parts.append(_journey.finish_events(event_counts, orders, lookback_days=lookback_days))
    bar.update()
    validation = None
    if summary is not None and value_models:
        bar.set_postfix_str("value models")
        if raw.get("calibration") is not None:
            validation = evaluate_holdout(raw.pop("calibration"), raw.pop("holdout_purchases"),
                                          holdout_days=holdout, time_unit=time_unit, as_of=as_of)
            validation.gamma_gamma = gamma_gamma_check(summary["frequency"], summary["net_monetary_value"])
        values, models, diagnostics = value_features(
            summary, time_unit=time_unit, horizon_days=horizon_days, clv_months=clv_months,
            discount_rate=discount_rate, model=value_model, validation=validation)
        if validation is not None:
            diagnostics["validation"] = {"status": validation.status, "chosen": validation.chosen,
                                         "holdout_days": validation.holdout_days}
        if diagnostics.get("status") != "fitted":
            dictionary.skip("value (CLV, probability alive)", diagnostics.get("status", ""))
        parts.append(values)
    elif summary is not None:
        dictionary.skip("value (CLV, probability alive)", "value models switched off")
    bar.update()
    bar.set_postfix_str("profile")
    described = FeatureDictionary()
    profile = profile_features(customers, criteria, as_of=as_of, dictionary=described)
    parts.append(_rename_collisions(profile, parts, described))
    for info in described.features:
        dictionary.add(info.name, info.criterion, info.description, info.unit, info.type, info.source)
    bar.update()
    bar.close()

    fmt["model"] = diagnostics.get("purchase_model", {}).get("label", "")
    features = _assemble(customers["customer_id"], parts, rfm is not None)
    for name, (criterion, description, unit) in _FIXED.items():
        if name in features and name not in dictionary:  # a profile column keeps its own tag
            kind = "number" if pd.api.types.is_numeric_dtype(features[name]) else "category"
            dictionary.add(name, criterion, description.format(**fmt), unit.format(**fmt), kind)
    rank = {c: i for i, c in enumerate(_CRITERIA_ORDER)}
    described = [f for f in dictionary.features if f.name in features]
    described.sort(key=lambda f: rank.get(f.criterion, len(rank)))  # stable: keeps order within
    order = ["customer_id", *[f.name for f in described]]
    features = features[order]
    return FeatureSet(features=features, dictionary=dictionary.restrict(order[1:]), models=models,
                      diagnostics=diagnostics, validation=validation)


def _transaction_queries(con, transactions, *, as_of, lookback_days, summary_lookback_days, time_unit,
                         top_categories, holdout_days, holdout_given=True) -> dict:
    """Every transaction query's per-customer result (behaviour is finished in pandas later).

    The BTYD summary (and the value-model validation) read each customer's whole history
    (or ``summary_lookback_days`` of it); the other features the ``lookback_days`` window.
    A history too short for the holdout window is an error when the window was asked for
    (``holdout_given``), else the validation is skipped with a warning.
    """
    history = _rfm.window_lines(transactions, as_of=as_of, lookback_days=summary_lookback_days)
    lines = _rfm.window_lines(transactions, as_of=as_of, lookback_days=lookback_days)
    _check_window(con, transactions, lines, as_of, lookback_days)
    raw: dict = {}
    if summary_lookback_days:
        raw["cut"] = _summary_cut(con, transactions, as_of, summary_lookback_days)
    with ExitStack() as shared:
        # the per-order and per-day tables feed several queries: compute each once
        orders = shared.enter_context(materialize(con, _rfm.orders_expr(lines, _rfm.order_channels(con, lines)),
                                                   "orders"))
        daily_all = shared.enter_context(materialize(con, _rfm.daily_expr(history), "daily"))
        daily = daily_all
        if lookback_days and lookback_days != summary_lookback_days:
            start = ibis.date((as_of - pd.Timedelta(days=int(lookback_days) - 1)).date())
            daily = daily_all.filter(daily_all.day >= start)
        raw["summary"] = execute(con, _rfm.summary_expr(daily_all, as_of, time_unit))
        raw["rfm"] = execute(con, _rfm.marketing_expr(orders, as_of))
        history_days = float(raw["summary"]["T"].max()) * (7.0 if time_unit == "weeks" else 1.0) + 1 \
            if not raw["summary"].empty else 0.0
        if holdout_days and not holdout_given and holdout_days >= history_days:
            warnings.warn(f"the purchase history ({int(history_days)} days) is not longer than the value "
                          f"models' holdout window (one period, {holdout_days} days): the value models are "
                          "not checked against a holdout; set holdout_days shorter to check them",
                          DataQualityWarning, stacklevel=3)
            holdout_days = 0
        if holdout_days and not raw["summary"].empty:
            check_holdout(holdout_days, history_days, as_of=as_of)
            end = as_of - pd.Timedelta(days=int(holdout_days))
            calibration = calibration_expr(daily_all, calibration_end=end, time_unit=time_unit)
            raw["calibration"] = execute(con, calibration.order_by("customer_id"))
            raw["holdout_purchases"] = execute(con, holdout_days_expr(daily_all, calibration,
                                                                      calibration_end=end))
        def keep(table, hint):
            return shared.enter_context(materialize(con, table, hint))

        table, raw["categories"], raw["channels"], raw["timed"] = _behaviour.behaviour_expr(
            con, lines, orders, daily, top_categories=top_categories, keep=keep)
        raw["behaviour"] = execute(con, table)
    return raw


def _summary_cut(con, transactions, as_of, days) -> dict:
    """What bounding the BTYD summary to the last ``days`` days cuts; warns when it cuts."""
    everything = _rfm.window_lines(transactions, as_of=as_of)
    start = ibis.date((as_of - pd.Timedelta(days=int(days) - 1)).date())
    bought = everything.filter(everything.amount_x >= 0)
    per = bought.group_by("customer_id").aggregate(first=bought.day.min(), last=bought.day.max(),
                                                   before=(bought.day < start).sum())
    counts = execute(con, per.aggregate(
        customers=per.customer_id.count(), shortened=((per.before > 0) & (per["last"] >= start)).sum(),
        vanished=(per["last"] < start).sum(), first=per["first"].min(), lines_before=per.before.sum()))
    row = counts.iloc[0]
    cut = {"days": int(days), "customers": int(row["customers"]), "shortened": int(row["shortened"] or 0),
           "vanished": int(row["vanished"] or 0), "purchase_lines_cut": int(row["lines_before"] or 0),
           "history_days": int((as_of - pd.Timestamp(row["first"])).days) + 1 if not pd.isna(row["first"]) else 0}
    if cut["shortened"] or cut["vanished"]:
        warnings.warn(
            f"summary_lookback_days={days} cuts the BTYD summary: {cut['shortened']:,} of {cut['customers']:,} "
            f"customers lose purchases made before the window (their frequency and T restart at its "
            f"start) and {cut['vanished']:,} drop out of it (no purchase in the window); the history "
            f"is {cut['history_days']:,} days long. The value models assume each customer's whole "
            "history: leave summary_lookback_days unset", DataQualityWarning, stacklevel=4)
    return cut


def _finish_transactions(raw: dict, *, rfm_cuts, segment_map, dictionary) -> tuple:
    """The BTYD summary, marketing RFM with scores and segments, and behaviour, from the raw
    query results. Returns the summary (for the value models), the marketing RFM (for the
    journey stage) and the feature parts."""
    summary, rfm = raw.pop("summary"), raw.pop("rfm")
    categories, channels = raw["categories"], raw["channels"]
    behaviour = _behaviour.finish_behaviour(raw.pop("behaviour"), rfm, categories, channels, raw["timed"])
    scores = _rfm.rfm_scores(rfm, cuts=rfm_cuts)
    scores["rfm_segment"] = _rfm.rfm_segments(scores, segment_map)
    for value in categories:
        dictionary.add(f"category_share_{_behaviour.slug(value)}", "behaviour",
                       f"share of spend in category {value!r}", "share")
    for value in channels:
        dictionary.add(f"channel_share_{_behaviour.slug(value)}", "behaviour",
                       f"share of orders through channel {value!r}", "share")
    if not categories:
        dictionary.skip("category breadth and shares", "transactions have no category column")
    if not channels:
        dictionary.skip("channel mix", "transactions have no channel column")
    if not raw["timed"]:
        dictionary.skip("time-of-day shares", "order dates carry no time of day")
    return summary, rfm, [summary, rfm, scores, behaviour]


def _rename_collisions(profile: pd.DataFrame, parts: list[pd.DataFrame],
                       dictionary: FeatureDictionary) -> pd.DataFrame:
    """A customer-table column named like a computed feature becomes ``<name>_profile``."""
    taken = {c for part in parts for c in part.columns} - {"customer_id"}
    clashes = {c: f"{c}_profile" for c in profile.columns if c in taken}
    for old, new in clashes.items():  # ``dictionary`` holds only the profile's entries here
        info = dictionary[old]
        dictionary.features.remove(info)
        dictionary.add(new, info.criterion, info.description, info.unit, info.type, info.source)
    return profile.rename(columns=clashes)


def _check_window(con, transactions, lines, as_of, lookback_days) -> None:
    if execute(con, lines.aggregate(n=lines.amount.count()))["n"].iloc[0] > 0:
        return
    first = execute(con, transactions.aggregate(first=transactions.order_date.min()))["first"].iloc[0]
    if pd.isna(first) or pd.Timestamp(first).normalize() > as_of:
        raise EmptyDataError(f"the snapshot {as_of.date()} is before the first transaction "
                             f"({pd.Timestamp(first).date() if not pd.isna(first) else 'none'}); "
                             "choose a later period")
    raise EmptyDataError(f"no transactions in the {lookback_days}-day window ending {as_of.date()}; "
                         "lengthen lookback_days or choose another period")


def _rows_in_part(universe: pa.Array, part_ids: pd.Series) -> np.ndarray:
    """For each id of ``universe``: its row in ``part_ids``, or -1 when the part lacks it.

    Arrow's hash lookup: pandas' ``get_indexer`` takes twice as long on a million string ids.
    """
    positions = pc.index_in(pa.array(part_ids, pa.string()), value_set=universe)
    positions = positions.fill_null(-1).to_numpy()
    rows = np.full(len(universe), -1, dtype=np.int64)
    found = positions >= 0
    rows[positions[found]] = np.flatnonzero(found)
    return rows


def _assemble(ids: pd.Series, parts: list[pd.DataFrame], has_transactions: bool) -> pd.DataFrame:
    """Every customer of the customer table with every part's columns, aligned on the id.

    Each part's rows are located in the sorted universe of ids once per distinct id order
    (parts computed from the same query share it); its columns are then placed by position
    (numbers) or taken (text, kept Arrow-backed), without copying whole parts. Infinities
    from empty denominators become missing values.
    """
    universe = pa.array(pd.Index(ids.astype("str")).sort_values().to_numpy(), pa.string())
    n = len(universe)
    columns: dict[str, object] = {"customer_id": pd.array(universe, dtype="str")}
    located: list[tuple[pd.Series, np.ndarray]] = []
    while parts:
        part = parts.pop(0)
        part_ids = part["customer_id"].astype("str").reset_index(drop=True)
        rows = next((rows for seen, rows in located if seen.equals(part_ids)), None)
        if rows is None:
            rows = _rows_in_part(universe, part_ids)
            located.append((part_ids, rows))
        present = rows >= 0
        for col in part.columns:
            if col == "customer_id" or col in columns:
                continue
            values = part[col]
            if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                data = values.to_numpy(dtype=float, na_value=np.nan)
                out = np.full(n, np.nan)
                out[present] = data[rows[present]]
                out[np.isinf(out)] = np.nan
                columns[col] = out
            else:
                taken = values.astype("str").array.take(rows, allow_fill=True)
                columns[col] = taken
        del part
    table = pd.DataFrame(columns, copy=False)  # no consolidation copy of a million-row table
    if has_transactions:
        for col in _ZERO_FILL:
            table[col] = table[col].fillna(0)
        for col in _INTEGER_FILL:
            table[col] = table[col].astype("int64")
        if "rfm_segment" in table:
            table["rfm_segment"] = table["rfm_segment"].fillna("No purchases")
        if "journey_stage" in table:
            table["journey_stage"] = table["journey_stage"].fillna("never bought")
    return table
