"""The period's own figures: what each segment brought *this* quarter, against the quarter
before and the same quarter a year earlier.

Segments are built from a look-back window (two years by default), so their revenue
shares describe two years. A quarterly report also needs the quarter itself: per segment
(today's membership) and in total,

- **revenue**: purchases minus returns dated in the period;
- **orders**: distinct orders with a purchase (customer-days when there is no order id);
- **active** customers: those with a purchase in the period;
- **new** customers: those whose first purchase in the data falls in the period (only
  when the data starts at least four weeks before the period);
- **revenue share**: the segment's share of the period's revenue.

The same figures for the previous period and for the same period a year earlier are
computed when the data covers them, for the same customers, so a change is the
segment's own trend. Transaction-scale work runs in the engine (DuckDB by default).
Customer tables without transactions, and static or as-of-date runs, have no period
figures; :attr:`PeriodFigures.note` says why.

>>> import seglab                                                                  # doctest: +SKIP
>>> figures = seglab.personas.period_figures(run.canonical_files(), segmentation.segments)  # doctest: +SKIP
>>> figures.to_frame()                                                             # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from seglab.config import Period, parse_period
from seglab.exceptions import InputError

__all__ = ["PeriodFigures", "period_figures", "PERIOD_MEASURES", "NOT_SEGMENTED"]

PERIOD_MEASURES = ("revenue", "orders", "active", "new", "revenue_share")
"""The figures per window and segment."""

NOT_SEGMENTED = -2
"""Segment number of customers who bought in a window but are in no segment (e.g. a year
ago, customers who have not bought within today's look-back window)."""

_WINDOWS = ("current", "previous", "year_ago")
_SCALE = 10_000
_NEW_NEEDS_DAYS = 28


@dataclass
class PeriodFigures:
    """Revenue, orders, active and new customers per segment for the period and the
    periods to compare it with.

    Attributes
    ----------
    period
        The period's label (``2011Q3``).
    windows
        ``current``, ``previous`` and ``year_ago`` → ``{"label", "start", "end"}``, or None
        when the data does not cover that window (or the period has none).
    table
        One row per window and segment (:data:`NOT_SEGMENTED` for customers in no
        segment): ``window``, ``segment`` and :data:`PERIOD_MEASURES`.
    totals
        One row per window: the same measures over all customers.
    note
        Why there are no figures (empty when there are).
    """

    period: str
    windows: dict = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    totals: pd.DataFrame = field(default_factory=pd.DataFrame)
    note: str = ""

    @property
    def available(self) -> bool:
        """True when the period's own figures were computed."""
        return not self.note and not self.totals.empty

    def label(self, window: str) -> str | None:
        """The period label of ``window`` (``previous`` → ``2011Q2``), or None."""
        info = self.windows.get(window)
        return info["label"] if info else None

    def total(self, window: str = "current") -> dict:
        """The totals of one window (empty when it is not covered)."""
        if self.totals.empty or window not in set(self.totals["window"]):
            return {}
        row = self.totals[self.totals["window"] == window].iloc[0]
        return {m: _plain(row[m]) for m in PERIOD_MEASURES}

    def segment(self, segment: int, window: str = "current") -> dict:
        """One segment's figures in one window (zeros when it bought nothing; empty when the
        window is not covered)."""
        if self.table.empty or self.windows.get(window) is None:
            return {}
        rows = self.table[(self.table["window"] == window) & (self.table["segment"] == segment)]
        if rows.empty:
            return {m: (None if m == "new" and self.total(window).get("new") is None else 0)
                    for m in PERIOD_MEASURES}
        return {m: _plain(rows.iloc[0][m]) for m in PERIOD_MEASURES}

    def kpis(self, segment: int) -> dict:
        """The card's period KPIs: ``period_revenue``, ``period_orders``, ``period_active``,
        ``period_new``, ``period_revenue_share``, and the same with ``_previous`` and
        ``_year_ago`` when those windows are covered."""
        out = {}
        for window, suffix in (("current", ""), ("previous", "_previous"), ("year_ago", "_year_ago")):
            for measure, value in self.segment(segment, window).items():
                out[f"period_{measure}{suffix}"] = value
        return out

    def to_frame(self) -> pd.DataFrame:
        """Segments (rows) by window and measure (columns), totals last."""
        if not self.available:
            return pd.DataFrame()
        both = pd.concat([self.table, self.totals.assign(segment="total")], ignore_index=True)
        wide = both.pivot(index="segment", columns="window", values=list(PERIOD_MEASURES))
        wide.columns = [f"{m}_{w}" for m, w in wide.columns]
        return wide

    def to_dict(self) -> dict:
        return {"period": self.period, "windows": self.windows, "note": self.note,
                "totals": {w: self.total(w) for w in _WINDOWS if self.total(w)},
                "segments": self.table.to_dict(orient="records")}

    @classmethod
    def from_dict(cls, data: dict | None) -> PeriodFigures | None:
        """The figures written by :meth:`to_dict` (the personas' ``period_figures``), or None."""
        if not data:
            return None
        totals = pd.DataFrame([{"window": w, **v} for w, v in (data.get("totals") or {}).items()])
        return cls(period=data["period"], windows=data.get("windows") or {}, note=data.get("note", ""),
                   table=pd.DataFrame(data.get("segments") or []), totals=totals)

    @classmethod
    def unavailable(cls, period: str, note: str) -> PeriodFigures:
        return cls(period=str(period), note=note)


def _plain(value):
    if value is None or pd.isna(value):
        return None
    return float(value) if isinstance(value, float) else int(value)


def _windows(period: Period, first: pd.Timestamp) -> dict:
    """The windows to compute, each covered by the data (which starts on ``first``)."""
    out = {}
    candidates = {"current": period}
    try:
        candidates["previous"] = period.previous()
    except Exception:  # noqa: BLE001 - a period kind without a previous one
        candidates["previous"] = None
    if period.kind in ("quarter", "month"):
        candidates["year_ago"] = parse_period(period.label.replace(str(period.start.year),
                                                                    str(period.start.year - 1), 1))
    for name, p in candidates.items():
        if p is None or (name != "current" and first > p.start + pd.Timedelta(days=6)):
            out[name] = None
            continue
        out[name] = {"label": p.label, "start": p.start.date().isoformat(), "end": p.end.date().isoformat(),
                     "new_counted": bool(first <= p.start - pd.Timedelta(days=_NEW_NEEDS_DAYS))}
    if out.get("year_ago") and out.get("previous") and out["year_ago"]["label"] == out["previous"]["label"]:
        out["year_ago"] = None  # a year's previous period is the year before: say it once
    return out


def _source(transactions, period):
    """Canonical files (a run's tables) into (transactions Parquet or None, period label)."""
    from seglab.collect.canonical import CanonicalFiles

    if isinstance(transactions, CanonicalFiles):
        return transactions.paths.get("transactions"), period if period is not None else transactions.period
    return transactions, period


def period_figures(transactions, segments, period: str | Period | None = None, *,
                   con=None) -> PeriodFigures:
    """Revenue, orders, active and new customers per segment in the period, the previous
    period and the same period a year earlier (see the module docstring).

    Parameters
    ----------
    transactions
        The canonical transactions: a run's tables (:meth:`seglab.run.RunFolder.canonical_files`,
        which also give the period), a Parquet path, a DataFrame or an Ibis table; None for
        a dataset without transactions.
    segments
        ``customer_id`` and ``segment`` (today's membership): the run's segments file
        (``run.file("segments")``: the engine joins it, pandas never holds it), a frame or
        an Ibis table.
    period
        The period (default: the run's).
    con
        An Ibis connection (default: a new in-process DuckDB).
    """
    from seglab.features.engine import as_table, connect, execute, membership

    transactions, period = _source(transactions, period)
    if period is None:
        raise InputError("period_figures needs the period (e.g. '2011Q3') or a run's tables (run.canonical_files())")
    parsed = parse_period(period)
    if transactions is None:
        return PeriodFigures.unavailable(parsed.label, "The data is a customer table without dated "
                                                       "purchases, so there are no figures for a period.")
    if parsed.kind not in ("quarter", "month", "year"):
        return PeriodFigures.unavailable(parsed.label, f"Period {parsed.label} is not a quarter, month or "
                                                       "year, so there are no figures for a period.")
    con = connect() if con is None else con
    lines = as_table(con, transactions, name="transactions")
    missing = [c for c in ("customer_id", "order_date", "amount") if c not in lines.columns]
    if missing:
        raise InputError(f"transactions lack {missing}; period figures need customer_id, order_date and amount")
    first = execute(con, lines.aggregate(first=lines.order_date.min()))["first"].iloc[0]
    if pd.isna(first):
        return PeriodFigures.unavailable(parsed.label, "There are no transactions.")
    windows = _windows(parsed, pd.Timestamp(first).normalize())
    import ibis

    members = membership(con, segments, id_name="member_id")
    bought = lines.filter(lines.amount > 0)
    firsts = bought.group_by(bought.customer_id.name("first_id")).aggregate(first_purchase=bought.order_date.min())
    covered = {name: (pd.Timestamp(info["start"]).to_pydatetime(),
                      (pd.Timestamp(info["end"]) + pd.Timedelta(days=1)).to_pydatetime())
               for name, info in windows.items() if info is not None}
    # the windows do not overlap: one pass labels each line with its window
    label = ibis.cases(*[((lines.order_date >= a) & (lines.order_date < b), name) for name, (a, b) in covered.items()],
                       else_=ibis.null("string"))
    inside = lines.mutate(window=label).filter(label.notnull())
    key = inside.order_id if "order_id" in inside.columns else inside.order_date.date().cast("string")
    # money summed exactly, as whole numbers of 1/10,000 (the same on every run and thread count)
    cents = (inside.amount.cast("float64") * _SCALE).round().cast("int64")
    # orders first, then customers: a plain GROUP BY at each level, which DuckDB spills to disk
    # (a DISTINCT count beside sums cannot spill, and ran out of memory at 50 M lines)
    keyed = inside.mutate(key=key, cents=cents)
    per_order = keyed.group_by(["window", "customer_id", "key"]).aggregate(
        revenue=keyed.cents.sum(), bought=(keyed.amount > 0).any())
    counted = per_order.bought & per_order.key.notnull()
    per_customer = per_order.group_by(["window", "customer_id"]).aggregate(
        revenue=per_order.revenue.sum(), orders=counted.cast("int64").sum(), active=per_order.bought.any())
    joined = (per_customer.left_join(members, per_customer.customer_id == members.member_id)
              .left_join(firsts, per_customer.customer_id == firsts.first_id))
    start = ibis.cases(*[(joined.window == name, a) for name, (a, _) in covered.items()])
    end = ibis.cases(*[(joined.window == name, b) for name, (_, b) in covered.items()])
    is_new = joined.active & (joined.first_purchase >= start) & (joined.first_purchase < end)
    joined = joined.mutate(segment=joined.segment.fill_null(NOT_SEGMENTED), new=is_new.fill_null(False))
    grouped = execute(con, joined.group_by(["window", "segment"]).aggregate(
        revenue=joined.revenue.sum(), orders=joined.orders.sum(),
        active=joined.active.cast("int64").sum(), new=joined.new.cast("int64").sum()))
    grouped["revenue"] = grouped["revenue"].astype("int64") / _SCALE
    rows, totals = [], []
    for name in covered:
        mine = grouped[grouped["window"] == name].sort_values("segment", kind="stable").reset_index(drop=True)
        total_revenue = float(mine["revenue"].sum().round(4))
        mine = mine.assign(revenue_share=mine["revenue"] / total_revenue if total_revenue else float("nan"))
        counted = windows[name]["new_counted"]
        if not counted:
            mine["new"] = None
        totals.append({"window": name, "revenue": total_revenue, "orders": int(mine["orders"].sum()),
                       "active": int(mine["active"].sum()), "new": int(mine["new"].sum()) if counted else None,
                       "revenue_share": 1.0 if total_revenue else None})
        rows.append(mine)
    table = pd.concat(rows, ignore_index=True)[["window", "segment", *PERIOD_MEASURES]]
    return PeriodFigures(period=parsed.label, windows=windows, table=table, totals=pd.DataFrame(totals))
