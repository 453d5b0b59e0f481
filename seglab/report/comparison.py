"""What changed since last period: migration between segments, size and value changes, drift.

Segments are comparable across periods because the cluster stage renumbers them to match
last period's (see :mod:`seglab.cluster.alignment`). :func:`compare_runs` then measures:

- **migration**: customers in both periods, by last period's segment (rows) and this
  period's (columns), with ``new`` customers (only now) and ``lost`` ones (only then);
- **changes** per segment: customers, share, revenue and the KPIs, then and now;
- **drift**: per segment, how far its mean on each segmentation feature moved, in
  standard deviations of the feature this period; a move beyond ``drift_threshold``
  (0.5 by default) is a warning: the segment is not quite the same group any more;
- **movements**: the moves between segments that matter for value, largest first:
  customers moving × the gap between the two segments' value per customer (CLV, else
  revenue per customer), split into moves down and moves up.

The run folder keeps it (:meth:`seglab.run.RunFolder.write_comparison`). When there is no
earlier run the comparison is *skipped* with a note saying why (and the command that makes
the missing run, when the data has that period), and the report says so. Two runs
pseudonymized with different salts are never compared (:func:`seglab.run.check_same_salt`).

The runs are read through their typed readers (:class:`seglab.run.RunFolder`), passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from seglab._io import read_json, write_json
from seglab.config import parse_period
from seglab.exceptions import SeglabError

if TYPE_CHECKING:  # the run folder sits above the stages: passed in, never imported
    from seglab.run import RunFolder

__all__ = ["Comparison", "compare_runs", "rerun_command"]

_DRIFT_COLUMNS = ["segment", "name", "feature", "then", "now", "shift_sd"]
_MOVE_COLUMNS = ["from_segment", "from_name", "to_segment", "to_name", "customers", "from_share", "value_from",
                 "value_to", "direction", "weight"]


@dataclass
class Comparison:
    """The comparison of a run with an earlier one (or why there is none)."""

    current_period: str
    previous_period: str | None
    skipped: bool = False
    note: str = ""
    migration: pd.DataFrame = field(default_factory=pd.DataFrame)
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    drift: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    movements: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_MOVE_COLUMNS))
    value_measure: str | None = None
    drift_threshold: float = 0.5
    """Shifts (in standard deviations) from which :attr:`drift` counts as a warning."""

    @classmethod
    def skipped_because(cls, current_period: str, note: str, previous_period: str | None = None) -> Comparison:
        return cls(current_period=current_period, previous_period=previous_period, skipped=True, note=note)

    def migration_shares(self) -> pd.DataFrame:
        """Migration as shares of each row (where last period's customers went)."""
        if self.migration.empty:
            return self.migration
        return self.migration.div(self.migration.sum(axis=1).replace(0, np.nan), axis=0)

    def to_dict(self) -> dict:
        return {"current_period": self.current_period, "previous_period": self.previous_period,
                "skipped": self.skipped, "note": self.note, "totals": self.totals,
                "migration": {"rows": [str(i) for i in self.migration.index],
                              "columns": [str(c) for c in self.migration.columns],
                              "counts": self.migration.to_numpy().tolist()} if not self.migration.empty else None,
                "changes": self.changes.to_dict(orient="records"),
                "drift": self.drift.to_dict(orient="records"), "warnings": self.warnings,
                "movements": self.movements.to_dict(orient="records"), "value_measure": self.value_measure,
                "drift_threshold": self.drift_threshold}

    def drifted_segments(self) -> int:
        """Segments with at least one feature that moved :attr:`drift_threshold` or more."""
        if self.drift.empty:
            return 0
        return int(self.drift[self.drift["shift_sd"].abs() >= self.drift_threshold]["name"].nunique())

    def segments_only_in(self, when: str) -> list[str]:
        """Names of the segments found only ``"now"`` (new this period) or only ``"then"``:
        the number of segments changed, so part of the movement is the new split."""
        column = {"now": "customers_then", "then": "customers_now"}[when]
        if self.changes.empty or column not in self.changes:
            return []
        return [str(n) for n in self.changes.loc[self.changes[column].isna(), "name"]]

    def split_changed(self) -> str:
        """A sentence when the number of segments changed since last period, else ``""``."""
        new, gone = self.segments_only_in("now"), self.segments_only_in("then")
        if not new and not gone:
            return ""
        n_now = int(self.changes["customers_now"].notna().sum())
        n_then = int(self.changes["customers_then"].notna().sum())
        parts = [f"new: {', '.join(new)}"] if new else []
        parts += [f"not found again: {', '.join(gone)}"] if gone else []
        return (f"The segmentation has {n_now} segments in {self.current_period} against {n_then} in "
                f"{self.previous_period} ({'; '.join(parts)}), so part of the movement between segments is "
                "the new split rather than customers changing.")

    def write(self, path: str | Path) -> Path:
        """Write the comparison as JSON to ``path``."""
        return write_json(self.to_dict(), path)

    @classmethod
    def read(cls, path: str | Path) -> Comparison:
        data = read_json(path)
        migration = pd.DataFrame()
        if data.get("migration"):
            m = data["migration"]
            migration = pd.DataFrame(m["counts"], index=m["rows"], columns=m["columns"])
        return cls(current_period=data["current_period"], previous_period=data.get("previous_period"),
                   skipped=data["skipped"], note=data.get("note", ""), migration=migration,
                   changes=pd.DataFrame(data.get("changes", [])), drift=pd.DataFrame(data.get("drift", [])),
                   warnings=data.get("warnings", []), totals=data.get("totals", {}),
                   movements=pd.DataFrame(data.get("movements") or [], columns=_MOVE_COLUMNS),
                   value_measure=data.get("value_measure"), drift_threshold=float(data.get("drift_threshold", 0.5)))

    def biggest_moves(self, direction: str, n: int = 1) -> pd.DataFrame:
        """The ``n`` largest moves ``down`` or ``up`` in value (see the module docstring)."""
        if self.movements.empty:
            return self.movements
        return self.movements[self.movements["direction"] == direction].head(n)


def compare_runs(current: RunFolder, previous: RunFolder | None, *, requested: str = "",
                 drift_threshold: float = 0.5, con=None) -> Comparison:
    """Compare ``current`` with ``previous`` (two runs of the same dataset).

    Parameters
    ----------
    current, previous
        The runs (:class:`seglab.run.RunFolder`); ``previous`` None when there is none
        (the comparison is then skipped with a note saying why and what to run).
    requested
        The period the user asked to compare with (for the note when its run is missing);
        ``none`` switches the comparison off.
    drift_threshold
        A segment whose mean on a segmentation feature moved at least this many standard
        deviations is flagged (the comparison keeps the threshold).
    con
        The engine that reads both runs' segment and feature files (default: an in-process
        DuckDB). The migration, the moves and the drift are group-bys there: only counts
        per pair of segments and means per segment come back, whatever the customer base.

    Returns
    -------
    Comparison

    Raises
    ------
    SaltMismatchError
        When the two runs were pseudonymized with different salts: their customer ids
        cannot match, and the message says how to restore the salt.
    """
    period = current.info()["period"]
    if str(requested).strip().lower() == "none":
        return Comparison.skipped_because(period, "comparison switched off (compare_to: none)")
    if previous is None:
        if parse_period(period).is_static:
            return Comparison.skipped_because(period, "the data is a customer table without dates, so there is no "
                                                      "earlier period to compare with")
        try:
            wanted = parse_period(requested).label if requested else parse_period(period).previous().label
        except SeglabError:
            return Comparison.skipped_because(period, f"period {period} has no previous period to compare with; "
                                                      "name one with --compare-to")
        command = rerun_command(current, wanted)
        if command is None:
            return Comparison.skipped_because(period, f"there is nothing to compare with: the data has no complete "
                                                      f"period {wanted}", wanted)
        return Comparison.skipped_because(
            period, f"no earlier run to compare with: there is no complete run of {wanted} beside this one "
            f"(make it with: {command})", wanted)
    current.check_same_salt(previous)
    previous_period = previous.info()["period"]
    names_now, names_then = current.persona_names(), previous.persona_names()
    con = _engine(con)
    pairs = _segment_pairs(con, previous, current)
    was, now_in = pairs["segment_then"].notna(), pairs["segment_now"].notna()

    def label(names: dict, s) -> str:
        s = int(s)
        return names.get(s, "unassigned" if s < 0 else f"segment {s}")

    rows = pairs["segment_then"].map(lambda s: "new" if pd.isna(s) else label(names_then, s))
    cols = pairs["segment_now"].map(lambda s: "lost" if pd.isna(s) else label(names_now, s))
    migration = pd.crosstab(rows, cols, values=pairs["customers"], aggfunc="sum").fillna(0).astype("int64")
    order_rows = [label(names_then, s) for s in sorted(pairs.loc[was, "segment_then"].unique())] + \
        (["new"] if "new" in migration.index else [])
    order_cols = [label(names_now, s) for s in sorted(pairs.loc[now_in, "segment_now"].unique())] + \
        (["lost"] if "lost" in migration.columns else [])
    migration = migration.reindex(index=order_rows, columns=order_cols, fill_value=0).rename_axis(
        index="segment_then", columns="segment_now")
    both = pairs[was & now_in].astype({"segment_then": "int64", "segment_now": "int64"})
    in_both = int(both["customers"].sum())
    stayed = int(both.loc[both["segment_then"] == both["segment_now"], "customers"].sum())
    totals = {"customers_now": int(pairs.loc[now_in, "customers"].sum()),
              "customers_then": int(pairs.loc[was, "customers"].sum()), "in_both": in_both,
              "new": int(pairs.loc[~was, "customers"].sum()), "lost": int(pairs.loc[~now_in, "customers"].sum()),
              "stayed_in_segment": float(stayed / in_both) if in_both else None}

    ov_now, ov_then = current.segment_overview(), previous.segment_overview()
    change_rows = []
    for s in sorted(set(ov_now.index) | set(ov_then.index)):
        row = {"segment": int(s), "name": names_now.get(int(s)) or names_then.get(int(s)),
               "previous_name": names_then.get(int(s))}
        for col in ("customers", "share", "revenue", "revenue_share", "clv", "prob_alive", "avg_order_value",
                    "orders", "net_revenue"):
            a = ov_then.loc[s, col] if s in ov_then.index and col in ov_then else np.nan
            b = ov_now.loc[s, col] if s in ov_now.index and col in ov_now else np.nan
            if pd.isna(a) and pd.isna(b):
                continue
            row[f"{col}_then"], row[f"{col}_now"] = (None if pd.isna(a) else float(a)), (None if pd.isna(b) else float(b))
            if pd.notna(a) and pd.notna(b):
                row[f"{col}_change"] = float(b - a)
        change_rows.append(row)
    changes = pd.DataFrame(change_rows)

    movements, measure = _movements(both, ov_now, names_then, names_now)
    drift, warnings = _drift(con, current, previous, names_now, drift_threshold)
    for _, r in changes.iterrows():
        a, b = r.get("customers_then"), r.get("customers_now")
        if a and b and abs(b - a) / a >= 0.3:
            warnings.append(f"{r['name']}: {int(a):,} → {int(b):,} customers ({(b - a) / a:+.0%})")
    return Comparison(current_period=period, previous_period=previous_period, migration=migration,
                      changes=changes, drift=drift, warnings=warnings, totals=totals, movements=movements,
                      value_measure=measure, drift_threshold=drift_threshold)


def rerun_command(run: RunFolder, period: str) -> str | None:
    """The ``seglab run`` command that makes ``run``'s dataset's run of ``period`` beside
    it, or None when the data has no such complete period."""
    from pathlib import Path

    from seglab.collect.stage import resolve_period

    dataset = str(run.read_manifest().get("parameters", {}).get("dataset") or run.info()["dataset"])
    try:
        resolve_period(dataset, period)
    except SeglabError:
        return None
    reports = Path(run.path).resolve().parents[1]
    out = "" if reports == (Path.cwd() / "reports").resolve() else f" --out {_quote(str(reports))}"
    return f"seglab run --dataset {_quote(dataset)} --period {period}{out}"


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _movements(both: pd.DataFrame, overview: pd.DataFrame, names_then: dict, names_now: dict
               ) -> tuple[pd.DataFrame, str | None]:
    """Moves between segments weighted by the gap in value per customer (largest first), from
    the customers in both runs counted per pair of segments (``segment_then``, ``segment_now``,
    ``customers``)."""
    measure = next((c for c in ("clv", "revenue_per_customer", "total_spend", "spending_score")
                    if c in overview and overview[c].notna().any()), None)
    if measure is None or both.empty:
        return pd.DataFrame(columns=_MOVE_COLUMNS), measure
    value = overview[measure].astype(float)
    sizes = both.groupby("segment_then")["customers"].sum()
    counts = both[both["segment_then"] != both["segment_now"]].sort_values(["segment_then", "segment_now"])
    rows = []
    for r in counts.itertuples(index=False):
        a, b = int(r.segment_then), int(r.segment_now)
        if a not in value.index or b not in value.index:
            continue
        gap = float(value.loc[b] - value.loc[a])
        rows.append({"from_segment": a, "from_name": names_then.get(a, f"segment {a}"), "to_segment": b,
                     "to_name": names_now.get(b, f"segment {b}"), "customers": int(r.customers),
                     "from_share": float(r.customers / sizes.loc[r.segment_then]), "value_from": float(value.loc[a]),
                     "value_to": float(value.loc[b]), "direction": "down" if gap < 0 else "up",
                     "weight": float(r.customers * abs(gap))})
    table = pd.DataFrame(rows, columns=_MOVE_COLUMNS)
    if not table.empty:
        table = table.sort_values(["weight", "from_segment", "to_segment"], ascending=[False, True, True],
                                  kind="stable").reset_index(drop=True)
    return table, measure


def _drift_text(row, currency: str) -> str:
    from seglab.personas.wording import feature_kind, feature_label, format_pair

    then, now = format_pair(row["then"], row["now"], feature_kind(row["feature"]), currency)
    return (f"{row['name']}: {feature_label(row['feature'])} moved {row['shift_sd']:+.1f} standard deviations "
            f"({then} → {now})")


def _drift(con, current: RunFolder, previous: RunFolder, names: dict[int, str],
           threshold: float) -> tuple[pd.DataFrame, list[str]]:
    currency = current.info().get("currency", "")
    if not current.has("segmentation") or not previous.has("features") or not current.has("features"):
        return pd.DataFrame(columns=_DRIFT_COLUMNS), []
    from seglab.features.engine import execute
    from seglab.personas.profiles import as_float

    f_now, f_then = (con.read_parquet(str(run.file("features"))) for run in (current, previous))
    columns = [c for c in current.segmentation_columns().numeric if c in f_now.columns and c in f_then.columns]
    if not columns:
        return pd.DataFrame(columns=_DRIFT_COLUMNS), []
    whole = execute(con, f_now.aggregate(**{f"v{i}": as_float(f_now[c]).std(how="pop")
                                            for i, c in enumerate(columns)}))
    spread = pd.Series(whole.iloc[0].to_numpy(dtype=float), index=columns).replace(0, np.nan)
    mean_now, mean_then = (_segment_means(con, features, run, columns)
                           for features, run in ((f_now, current), (f_then, previous)))
    common = mean_now.index.intersection(mean_then.index)
    shift = (mean_now.loc[common] - mean_then.loc[common]) / spread
    long = shift.stack().rename("shift_sd").reset_index().rename(columns={"level_1": "feature"})
    long["then"] = [mean_then.loc[s, f] for s, f in zip(long["segment"], long["feature"])]
    long["now"] = [mean_now.loc[s, f] for s, f in zip(long["segment"], long["feature"])]
    long["name"] = long["segment"].map(lambda s: names.get(int(s), f"segment {s}"))
    long = long.loc[long["shift_sd"].abs().sort_values(ascending=False).index]
    flagged = long[long["shift_sd"].abs() >= threshold]
    warnings = [_drift_text(r, currency) for _, r in flagged.head(10).iterrows()]
    return long[_DRIFT_COLUMNS].reset_index(drop=True), warnings


def _engine(con):
    from seglab.engine import connect

    return connect("duckdb") if con is None else con


def _segment_pairs(con, previous: RunFolder, current: RunFolder) -> pd.DataFrame:
    """Customers per (last run's segment, this run's segment), missing where a customer is
    in one run only: one full outer join and group-by in the engine."""
    from seglab.features.engine import execute

    then = con.read_parquet(str(previous.file("segments")))
    now = con.read_parquet(str(current.file("segments")))
    then = then.select(id_then=then.customer_id, segment_then=then.segment.cast("int64"))
    now = now.select(id_now=now.customer_id, segment_now=now.segment.cast("int64"))
    joined = then.outer_join(now, then.id_then == now.id_now)
    counts = execute(con, joined.group_by(["segment_then", "segment_now"]).aggregate(customers=joined.count()))
    return counts.sort_values(["segment_then", "segment_now"], na_position="last").reset_index(drop=True)


def _segment_means(con, features, run: RunFolder, columns: list[str]) -> pd.DataFrame:
    """The mean of each of ``columns`` per segment of ``run`` (its customers with features)."""
    from seglab.features.engine import execute
    from seglab.personas.profiles import as_float

    segments = con.read_parquet(str(run.file("segments")))
    segments = segments.select(member=segments.customer_id, segment=segments.segment.cast("int64"))
    joined = features.join(segments, features.customer_id == segments.member)
    means = execute(con, joined.group_by("segment").aggregate(
        **{f"v{i}": as_float(joined[c]).mean() for i, c in enumerate(columns)}))
    means = means.set_index("segment").sort_index()
    means.columns = columns
    return means.astype(float)
