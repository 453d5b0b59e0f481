"""Does the value model predict well on *this* data? A calibration/holdout check, and the choice.

The history is cut one holdout window (by default one reporting period) before the
snapshot. Each purchase model is fitted on the calibration part (each customer's whole
history up to the cut) and predicts each customer's repeat purchases in the holdout
window; those are compared with what the customers did:

- aggregate error: (predicted − actual) / actual, over all customers
- per customer: mean absolute error, root-mean-square error, correlation
- conditional expectations: mean actual and predicted holdout purchases by calibration
  frequency 0, 1, …, 6, 7+ (Fader, Hardie & Lee 2005, figure 4)
- the cumulative tracking curve: repeat purchases since the cut, day by day, actual
  against predicted

and the same for a naive baseline (each customer goes on buying at their calibration
rate, frequency / T). The model a run uses is chosen among the candidates (by default
MBG/NBD and Pareto/NBD, in which one-time buyers can have dropped out) by the
root-mean-square error, the loss the models' conditional expectations minimize: the first
candidate unless another is more than :data:`RMSE_MARGIN` better, so that near-equal fits
do not make the model flip from period to period. BG/NBD is validated beside them. The run then refits the chosen model on all data up to the
snapshot. The Gamma-Gamma spend model assumes that spend per purchase does not depend
on purchase frequency; the correlation of the two among repeat customers is reported.

The run folder keeps it (:mod:`seglab.run`; see :meth:`ValueValidation.to_dict`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from seglab._io import read_json, write_json
from seglab._validation import check_choice, check_range
from seglab.exceptions import ConvergenceWarning, EmptyDataError, ParameterError
from seglab.features.engine import as_table, connect, execute
from seglab.features.value.betageo import BetaGeo
from seglab.features.value.modbetageo import ModifiedBetaGeo
from seglab.features.value.paretonbd import ParetoNBD

__all__ = ["MODELS", "DEFAULT_CANDIDATES", "RMSE_MARGIN", "ValueValidation", "calibration_holdout",
           "validate_value_model", "evaluate_holdout", "rank_candidates", "gamma_gamma_check",
           "sample_by_id"]

logger = logging.getLogger(__name__)

MODELS = {"bg_nbd": BetaGeo, "mbg_nbd": ModifiedBetaGeo, "pareto_nbd": ParetoNBD}
"""The purchase models by name."""

DEFAULT_CANDIDATES = ("mbg_nbd", "pareto_nbd")
"""Models a run may choose: those in which one-time buyers can have dropped out."""

FREQUENCY_BINS = 8
"""Conditional expectations by calibration frequency 0 … 6 and 7+."""

TRACKING_POINTS = 13
"""Points of the cumulative tracking curve (weekly over a quarter)."""

MIN_REPEAT_CUSTOMERS = 10
"""Fewer repeat customers than this in the calibration part and nothing is validated."""

RMSE_MARGIN = 0.01
"""Another candidate replaces the first (MBG/NBD) only with an RMSE lower by more than this share."""

GAMMA_GAMMA_CORRELATION = 0.3
"""Above this absolute correlation of frequency and mean spend, Gamma-Gamma's assumption is
flagged as doubtful."""


def _id_hash(ids: pd.Series, seed: int) -> np.ndarray:
    """A seeded 64-bit hash of each id's UTF-8 bytes (FNV-1a, then murmur3's finalizer),
    vectorized over the ids (one pass per character position): the same value for an id
    whatever the row order or the platform."""
    import pyarrow as pa

    array = pa.array(ids.astype("str")).cast(pa.large_string())  # Arrow-backed: no copy to Python
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset:array.offset + len(array) + 1]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8) if array.buffers()[2] is not None \
        else np.zeros(1, dtype=np.uint8)
    lengths = np.diff(offsets)
    h = np.full(len(array), np.uint64(0xCBF29CE484222325) ^ np.uint64(seed), dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for j in range(int(lengths.max()) if len(lengths) else 0):  # character positions, not customers
            present = lengths > j
            byte = np.where(present, data[np.minimum(offsets[:-1] + j, len(data) - 1)], 0).astype(np.uint64)
            h = np.where(present, (h ^ byte) * prime, h)
        # murmur3's finalizer: ids differing in their last character get unrelated hashes
        for shift, factor in ((33, 0xFF51AFD7ED558CCD), (33, 0xC4CEB9FE1A85EC53)):
            h = (h ^ (h >> np.uint64(shift))) * np.uint64(factor)
        h ^= h >> np.uint64(33)
    return h


def sample_by_id(ids: pd.Series, size: int | None, random_state: int = 0) -> np.ndarray:
    """Positions of a seeded random sample of ``size`` rows (all rows when there are fewer).

    The customers with the smallest seeded hash of their id: the sample depends on the
    ids and the seed, not on the order of the rows (which a parallel engine does not fix),
    and takes linear time (no sort of a million ids).
    """
    n = len(ids)
    if not size or n <= size:
        return np.arange(n)
    hashed = _id_hash(ids, random_state)
    return np.sort(np.argpartition(hashed, size - 1)[:size])


def _days(time_unit: str) -> float:
    return 7.0 if time_unit == "weeks" else 1.0


def calibration_expr(daily: ibis.Table, *, calibration_end: pd.Timestamp,
                     time_unit: str = "days") -> ibis.Table:
    """Per customer who bought by ``calibration_end``: the BTYD summary as of that day
    (``frequency``, ``recency``, ``T``) and ``holdout``, the purchase days after it.

    ``daily`` is :func:`seglab.features.rfm.daily_expr`'s table up to the snapshot.
    """
    cut = ibis.date(pd.Timestamp(calibration_end).date())
    purchase = daily.purchases > 0
    before = purchase & (daily.day <= cut)
    per = daily.group_by("customer_id").aggregate(
        days_before=before.sum(), first_day=daily.day.min(where=before),
        last_day=daily.day.max(where=before), holdout=(purchase & (daily.day > cut)).sum())
    bought = per.filter(per.days_before > 0)
    unit = _days(time_unit)
    return bought.select(
        "customer_id",
        frequency=(bought.days_before - 1).cast("int64"),
        recency=bought.last_day.delta(bought.first_day, unit="day").cast("float64") / unit,
        T=cut.delta(bought.first_day, unit="day").cast("float64") / unit,
        holdout=bought.holdout.cast("int64"),
    )


def holdout_days_expr(daily: ibis.Table, calibration: ibis.Table, *,
                      calibration_end: pd.Timestamp) -> ibis.Table:
    """The holdout purchase days of calibration customers: ``customer_id``, ``offset``
    (days after the cut, 1 … holdout)."""
    cut = ibis.date(pd.Timestamp(calibration_end).date())
    after = daily.filter((daily.purchases > 0) & (daily.day > cut))
    joined = after.join(calibration.select("customer_id"), "customer_id")
    return joined.select("customer_id", offset=joined.day.delta(cut, unit="day").cast("int64"))


def check_holdout(holdout_days: int, history_days: float, *, as_of: pd.Timestamp) -> None:
    """A clear error when the holdout window leaves no calibration history."""
    check_range(holdout_days, name="holdout_days", low=1, integer=True)
    if holdout_days >= history_days:
        longest = int(history_days) - 1
        first = (pd.Timestamp(as_of) - pd.Timedelta(days=int(history_days))).date()
        fix = (f"set holdout_days to at most {longest}" if longest >= 1
               else "the data is too short for a holdout check")
        raise ParameterError(
            f"holdout_days={holdout_days} is not shorter than the history: {int(history_days)} days "
            f"from the first purchase ({first}) to the snapshot ({pd.Timestamp(as_of).date()}); "
            f"the longest possible holdout window is {max(longest, 0)} days. {fix}, or skip the "
            "value-model validation (validate_value_model=False)")


def calibration_holdout(transactions, *, as_of: str | pd.Timestamp, holdout_days: int,
                        time_unit: str = "days", con=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The calibration summary and the holdout purchase days of a transaction log.

    Returns ``calibration`` (``customer_id``, ``frequency``, ``recency``, ``T``,
    ``holdout``, sorted by id) and ``holdout_purchases`` (``customer_id``, ``offset``).
    Raises :class:`ParameterError` when ``holdout_days`` is not shorter than the history.
    """
    from seglab.features.rfm import daily_expr, window_lines

    check_choice(time_unit, ("days", "weeks"), name="time_unit")
    as_of = pd.Timestamp(as_of).normalize()
    con = connect(con or "duckdb")
    lines = window_lines(as_table(con, transactions, name="transactions"), as_of=as_of)
    daily = daily_expr(lines)
    first = execute(con, daily.filter(daily.purchases > 0).aggregate(first=daily.day.min()))["first"].iloc[0]
    if pd.isna(first):
        raise EmptyDataError(f"no purchases on or before {as_of.date()}")
    check_holdout(holdout_days, (as_of - pd.Timestamp(first)).days, as_of=as_of)
    end = as_of - pd.Timedelta(days=int(holdout_days))
    calibration = calibration_expr(daily, calibration_end=end, time_unit=time_unit)
    return (execute(con, calibration.order_by("customer_id")),
            execute(con, holdout_days_expr(daily, calibration, calibration_end=end)))


@dataclass
class ValueValidation:
    """The outcome of a calibration/holdout check (see the module docstring).

    ``models`` has one dict per model (``name``, ``label``, ``converged``, ``params``
    and the figures ``predicted``, ``actual``, ``aggregate_error``, ``mae``, ``rmse``,
    ``correlation``); ``naive`` the same figures for the baseline; ``conditional``
    and ``tracking`` one row per frequency bin / day, with a column per model.
    """

    status: str
    as_of: str | None = None
    calibration_end: str | None = None
    holdout_days: int = 0
    time_unit: str = "days"
    customers: int = 0
    evaluated_on: int = 0
    repeat_customers: int = 0
    candidates: list[str] = field(default_factory=list)
    chosen: str | None = None
    ranking: list[str] = field(default_factory=list)
    models: list[dict] = field(default_factory=list)
    naive: dict = field(default_factory=dict)
    conditional: list[dict] = field(default_factory=list)
    tracking: list[dict] = field(default_factory=list)
    gamma_gamma: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def validated(self) -> bool:
        return self.status == "validated"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ValueValidation:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_frame(self) -> pd.DataFrame:
        """One row per model (and the naive baseline): holdout figures, convergence, choice."""
        rows = [{"model": m["label"], "converged": m["converged"],
                 **{k: m.get(k) for k in ("predicted", "actual", "aggregate_error", "mae", "rmse",
                                          "correlation")},
                 "chosen": m["name"] == self.chosen} for m in self.models]
        if self.naive:
            rows.append({"model": "naive (calibration rate)", "converged": None,
                         **{k: self.naive.get(k) for k in ("predicted", "actual", "aggregate_error", "mae",
                                                           "rmse", "correlation")}, "chosen": False})
        return pd.DataFrame(rows, columns=["model", "converged", "predicted", "actual", "aggregate_error",
                                           "mae", "rmse", "correlation", "chosen"])

    def write(self, path: str | Path) -> Path:
        """Write as JSON to ``path`` (atomically)."""
        return write_json(self.to_dict(), path)

    @classmethod
    def read(cls, path: str | Path) -> ValueValidation:
        return cls.from_dict(read_json(path))


def _figures(predicted: np.ndarray, actual: np.ndarray) -> dict:
    total = float(actual.sum())
    with np.errstate(all="ignore"):
        corr = (_correlation(predicted, actual)
                if len(actual) > 1 and np.std(predicted) > 0 and np.std(actual) > 0 else None)
    return {"predicted": float(predicted.sum()), "actual": total,
            "aggregate_error": float((predicted.sum() - total) / total) if total > 0 else None,
            "mae": float(np.mean(np.abs(predicted - actual))),
            "rmse": float(np.sqrt(np.mean((predicted - actual) ** 2))),
            "correlation": corr}


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r by plain sums: the same bits whatever the number of BLAS threads
    (``np.corrcoef`` goes through BLAS, whose threaded sums may round differently)."""
    a = np.asarray(a, dtype=float) - np.mean(a)
    b = np.asarray(b, dtype=float) - np.mean(b)
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def gamma_gamma_check(frequency, monetary_value) -> dict:
    """Correlation of purchase frequency and mean spend among repeat customers with positive
    spend; Gamma-Gamma assumes none (|r| above :data:`GAMMA_GAMMA_CORRELATION` is flagged)."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    keep = (x > 0) & (m > 0) & np.isfinite(m)
    n = int(keep.sum())
    if n < 3 or np.std(x[keep]) == 0 or np.std(m[keep]) == 0:
        return {"customers": n, "correlation": None, "assumption_holds": None,
                "note": "too few repeat customers with varying frequency and spend to check"}
    r = _correlation(x[keep], m[keep])
    holds = abs(r) <= GAMMA_GAMMA_CORRELATION
    note = (f"frequency and mean spend are {'nearly ' if holds else ''}independent (r = {r:.2f})"
            + ("" if holds else f"; |r| > {GAMMA_GAMMA_CORRELATION}: Gamma-Gamma's expected spend "
               "and CLV are biased for the most and least frequent buyers"))
    return {"customers": n, "correlation": r, "assumption_holds": bool(holds), "note": note}


def rank_candidates(candidates, rmse: dict[str, float]) -> list[str]:
    """Candidates with a holdout RMSE, best first; the first candidate stays first unless
    another is more than :data:`RMSE_MARGIN` better (near-equal fits are the rule, and a
    model that flipped from period to period would change every customer's value for
    nothing).

    >>> rank_candidates(["mbg_nbd", "pareto_nbd"], {"mbg_nbd": 1.000, "pareto_nbd": 0.995})
    ['mbg_nbd', 'pareto_nbd']
    >>> rank_candidates(["mbg_nbd", "pareto_nbd"], {"mbg_nbd": 1.000, "pareto_nbd": 0.980})
    ['pareto_nbd', 'mbg_nbd']
    """
    ranked = sorted((n for n in candidates if n in rmse), key=lambda n: (rmse[n], n))
    first = next((n for n in candidates if n in rmse), None)
    if ranked and first != ranked[0] and rmse[ranked[0]] > (1 - RMSE_MARGIN) * rmse[first]:
        ranked = [first, *[n for n in ranked if n != first]]
    return ranked


def evaluate_holdout(calibration: pd.DataFrame, holdout_purchases: pd.DataFrame | None, *,
                     holdout_days: int, time_unit: str = "days",
                     candidates: tuple[str, ...] = DEFAULT_CANDIDATES, penalizer: float = 0.0,
                     max_customers: int | None = 100_000, random_state: int = 0,
                     as_of: str | pd.Timestamp | None = None) -> ValueValidation:
    """Fit every purchase model on ``calibration``, compare its holdout predictions with
    the ``holdout`` column, and rank the ``candidates`` (see the module docstring).

    ``calibration`` is :func:`calibration_holdout`'s first frame; ``holdout_purchases``
    its second (for the tracking curve; None leaves the curve out). With more than
    ``max_customers`` customers, a seeded sample of them (chosen by id) is used.
    """
    for name in candidates:
        check_choice(name, tuple(MODELS), name="candidate model")
    as_of = None if as_of is None else pd.Timestamp(as_of).normalize()
    end = None if as_of is None else as_of - pd.Timedelta(days=int(holdout_days))
    out = ValueValidation(status="validated", holdout_days=int(holdout_days), time_unit=time_unit,
                          as_of=None if as_of is None else as_of.date().isoformat(),
                          calibration_end=None if end is None else end.date().isoformat(),
                          customers=len(calibration), candidates=list(candidates),
                          repeat_customers=int((calibration["frequency"] > 0).sum()))
    if out.repeat_customers < MIN_REPEAT_CUSTOMERS:
        out.status = (f"skipped: {out.repeat_customers} repeat customers before the holdout window "
                      f"(at least {MIN_REPEAT_CUSTOMERS} needed)")
        out.notes.append(out.status)
        return out
    rows = sample_by_id(calibration["customer_id"], max_customers, random_state)
    sample = calibration.iloc[rows]
    out.evaluated_on = len(sample)
    if len(sample) < len(calibration):
        out.notes.append(f"fitted and evaluated on a seeded sample of {len(sample):,} of "
                         f"{len(calibration):,} customers")
    x, t_x, T = (sample[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    actual = sample["holdout"].to_numpy(dtype=float)
    horizon = holdout_days / _days(time_unit)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(T > 0, x / T, 0.0)
    out.naive = _figures(rate * horizon, actual)

    bins = np.minimum(x, FREQUENCY_BINS - 1).astype(int)
    conditional = pd.DataFrame({"bin": bins, "actual": actual, "naive": rate * horizon})
    grid_days = np.unique(np.round(np.linspace(0, holdout_days, TRACKING_POINTS + 1))).astype(int)[1:]
    tracking = pd.DataFrame({"day": grid_days})
    tracking["naive"] = [float((rate * d / _days(time_unit)).sum()) for d in grid_days]
    if holdout_purchases is not None:
        in_sample = holdout_purchases.loc[holdout_purchases["customer_id"].isin(sample["customer_id"]),
                                          "offset"].to_numpy()
        tracking["actual"] = np.searchsorted(np.sort(in_sample), grid_days, side="right").astype(float)

    fitted = {}
    for name, cls in MODELS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = cls(penalizer=penalizer).fit(x, t_x, T)
        predicted = model.predict_purchases(horizon, x, t_x, T)
        finite = bool(np.all(np.isfinite(predicted)))
        entry = {"name": name, "label": cls.label, "converged": bool(model.converged_ and finite),
                 "params": {k: float(v) for k, v in model.params_.items()},
                 "log_likelihood": model.log_likelihood_}
        if entry["converged"]:
            entry.update(_figures(predicted, actual))
            conditional[name] = predicted
            curve = model.predict_purchase_curve(grid_days / _days(time_unit), x, t_x, T)
            tracking[name] = curve.sum(axis=1)
            fitted[name] = entry
        else:
            out.notes.append(f"{cls.label} did not converge on the calibration data; it is not "
                             "a candidate")
        out.models.append(entry)

    table = conditional.groupby("bin").agg(customers=("actual", "size"),
                                           **{c: (c, "mean") for c in conditional.columns if c != "bin"})
    table.index = [str(i) if i < FREQUENCY_BINS - 1 else f"{i}+" for i in table.index]
    out.conditional = table.rename_axis("frequency").reset_index().to_dict(orient="records")
    out.tracking = tracking.to_dict(orient="records")
    ranked = rank_candidates(candidates, {n: f["rmse"] for n, f in fitted.items()})
    out.ranking = ranked
    out.chosen = ranked[0] if ranked else None
    if out.chosen is None:
        out.notes.append("no candidate model converged on the calibration data")
    else:
        best = fitted[out.chosen]
        out.notes.append(f"{MODELS[out.chosen].label} chosen among "
                         f"{', '.join(MODELS[n].label for n in candidates)} (RMSE {best['rmse']:.3f} "
                         f"purchases per customer; naive baseline {out.naive['rmse']:.3f}; another "
                         f"candidate replaces {MODELS[candidates[0]].label} only when more than "
                         f"{RMSE_MARGIN:.0%} better)")
    return out


def validate_value_model(transactions, *, as_of: str | pd.Timestamp, holdout_days: int = 91,
                         time_unit: str = "days", candidates: tuple[str, ...] = DEFAULT_CANDIDATES,
                         penalizer: float = 0.0, max_customers: int | None = 100_000,
                         random_state: int = 0, con=None) -> ValueValidation:
    """Calibration/holdout validation of the purchase models on a transaction log.

    Parameters
    ----------
    transactions
        Canonical transactions (a pandas frame, a Parquet path or an Ibis table).
    as_of
        The snapshot day; the holdout window is the last ``holdout_days`` days up to it.
    holdout_days
        Length of the holdout window (default: a quarter). Must be shorter than the
        history; the error says how long it can be.
    candidates
        Models the choice is made among (``bg_nbd``, ``mbg_nbd``, ``pareto_nbd``).
    max_customers, random_state
        Above this many customers, a seeded sample chosen by id is used.

    Returns
    -------
    ValueValidation
        Figures per model and for the naive baseline, the ranking and the choice.

    Examples
    --------
    >>> v = validate_value_model(tx, as_of="2011-09-30", holdout_days=91)   # doctest: +SKIP
    >>> v.to_frame(); v.chosen                                               # doctest: +SKIP
    """
    calibration, purchases = calibration_holdout(transactions, as_of=as_of, holdout_days=holdout_days,
                                                 time_unit=time_unit, con=con)
    return evaluate_holdout(calibration, purchases, holdout_days=holdout_days, time_unit=time_unit,
                            candidates=candidates, penalizer=penalizer, max_customers=max_customers,
                            random_state=random_state, as_of=as_of)
