"""Plots of the *collect* stage: the quality gate and activity over time."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seglab._validation import require_columns, require_frame
from seglab.exceptions import ParameterError

__all__ = ["plot_quality", "plot_activity"]

from seglab.plotting._base import axes as _axes
from seglab.plotting._base import count_axis
from seglab.plotting._base import unavailable

POLICY_COLORS = {"drop": "#c44e52", "flag": "#dd8452", "keep": "#8c8c8c", "outside the period": "#9db4cc"}
_SCOPE_CHECKS = {"after_snapshot"}
"""Checks that set the period's scope rather than find a problem: drawn apart, not as drops."""


def plot_quality(report, *, ax: plt.Axes | None = None) -> plt.Axes:
    """What the quality gate found: one bar per check with a non-zero count, coloured by policy.

    Parameters
    ----------
    report : QualityReport
        The quality gate's findings (:class:`~seglab.collect.QualityReport`).
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    frame = report.to_frame()
    frame = frame.loc[frame["count"] > 0].sort_values("count")
    ax = _axes(ax, (7, 0.45 * max(len(frame), 2) + 1))
    if frame.empty:
        ax.text(0.5, 0.5, "no problems found", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    labels = frame["table"] + " · " + frame["check"].str.replace("_", " ")
    frame = frame.assign(policy=frame["policy"].where(~frame["check"].isin(_SCOPE_CHECKS), "outside the period"))
    ax.barh(labels, frame["count"], color=frame["policy"].map(POLICY_COLORS))
    log = frame["count"].max() / max(frame["count"].min(), 1) > 100
    if log:
        ax.set_xscale("log")
    ax.set_xlim(right=frame["count"].max() * (8 if log else 1.3))  # room for the labels
    count_axis(ax.xaxis)
    for y, (count, unit) in enumerate(zip(frame["count"], frame["unit"])):
        unit = unit[:-1] if count == 1 and unit.endswith("s") else unit
        ax.text(count, y, f" {count:,} {unit}", va="center", fontsize=8)
    present = [p for p in POLICY_COLORS if p in set(frame["policy"])]
    handles = [plt.Rectangle((0, 0), 1, 1, color=POLICY_COLORS[p]) for p in present]
    ax.legend(handles, present, title="policy", loc="lower right", fontsize=8)
    ax.set_xlabel("rows, lines or customers affected")
    ax.set_title("Data-quality gate")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


_ENGINE_UNITS = {"MS": "M", "D": "D"}  # pandas frequency → the engine's truncation unit


def _activity(transactions, freq: str) -> tuple[pd.Series, pd.Series]:
    """Net revenue and active customers per ``freq`` period; an engine table (collected in
    DuckDB or Spark) is aggregated where it lives, only one row per period comes back."""
    if not isinstance(transactions, pd.DataFrame) and hasattr(transactions, "group_by"):
        if freq not in _ENGINE_UNITS:
            raise ParameterError(f"freq must be one of {sorted(_ENGINE_UNITS)} for transactions held in an "
                                 f"engine; got {freq!r}")
        t = transactions
        per = (t.group_by(period=t.order_date.truncate(_ENGINE_UNITS[freq]))
               .aggregate(amount=t.amount.sum(), customers=t.customer_id.nunique()).order_by("period")
               .to_pandas())
        index = pd.DatetimeIndex(per["period"])
        return (pd.Series(per["amount"].to_numpy(dtype=float), index=index),
                pd.Series(per["customers"].to_numpy(dtype=float), index=index))
    require_frame(transactions, "transactions")
    require_columns(transactions, ["customer_id", "order_date", "amount"], table="transactions")
    grouped = transactions.groupby(pd.Grouper(key="order_date", freq=freq))
    return grouped["amount"].sum(), grouped["customer_id"].nunique()


def plot_activity(transactions: pd.DataFrame | None, *, freq: str = "MS", currency: str = "",
                  ax: plt.Axes | None = None) -> plt.Axes:
    """Net revenue per month (bars) and active customers (line, right axis); a note instead
    when the data has no transactions (``transactions`` None).

    Parameters
    ----------
    transactions : DataFrame or None
        Canonical transactions (``customer_id``, ``order_date``, ``amount``).
    freq : str, default "MS"
        The pandas frequency of the bars (months).
    currency : str, default ""
        The currency, for the axis label.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if transactions is None:
        return unavailable(ax, "the data has no transactions: no activity over time to show")
    revenue, active = _activity(transactions, freq)
    ax = _axes(ax, (9, 3.5))
    width = 20 if freq == "MS" else 5
    ax.bar(revenue.index, revenue.to_numpy(), width=width, color="#4c72b0", label="net revenue")
    ax.set_ylabel(f"net revenue{' (' + currency + ')' if currency else ''}")
    right = ax.twinx()
    right.plot(active.index, active.to_numpy(), color="#dd8452", marker="o", ms=3,
               label="active customers")
    right.set_ylabel("active customers")
    count_axis(ax.yaxis)
    count_axis(right.yaxis)
    right.set_ylim(0, max(float(np.nanmax(active.to_numpy(), initial=0)) * 1.15, 1))
    ax.set_title("Activity per month")
    ax.spines[["top"]].set_visible(False)
    return ax
