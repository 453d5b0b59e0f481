"""Plots of the measurement: campaign lift per segment, NPS per segment.

Like every report figure, at most :data:`~seglab.plotting.personas.PAGE_WIDTH` inches wide
with text of at least 8 pt.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seglab.measure.campaigns import MIN_GROUP
from seglab.plotting._base import axes, tidy, unavailable
from seglab.plotting.personas import _FONT, PAGE_WIDTH, _wrap

__all__ = ["plot_campaign_lift", "plot_nps", "VERDICT_COLOURS"]

VERDICT_COLOURS = {"worked": "#2a9d4b", "backfired": "#c0392b", "no effect detected": "#4c72b0",
                   "underpowered": "#999999", "not measured": "#cccccc"}
"""The colour of each verdict, in plots and in the report."""


def _note(ax, text: str) -> plt.Axes:
    ax = unavailable(ax, text, size=(PAGE_WIDTH, 1.0))
    ax.texts[0].set_fontsize(_FONT)
    return ax


def plot_campaign_lift(measurement, *, period_only: bool = True, min_group: int = MIN_GROUP,
                       ax: plt.Axes | None = None) -> plt.Axes:
    """Each campaign's lift in conversion per segment, with its 95 % interval, coloured by verdict.

    Parameters
    ----------
    measurement : Measurement, CampaignResults or None
        A :class:`~seglab.measure.Measurement` (or :class:`~seglab.measure.CampaignResults`);
        None (no campaigns table) draws a note saying so.
    period_only : bool, default True
        Only the campaigns sent in the run's period.
    min_group : int
        Leave out cells with fewer customers than this in either group.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    results = getattr(measurement, "campaigns", measurement)
    if results is None:
        return _note(ax, "no campaigns table in this dataset")
    cells = results.in_period() if period_only else results.cells
    cells = cells[(cells["treated"] >= min_group) & (cells["control"] >= min_group) & cells["lift"].notna()]
    if cells.empty:
        return _note(ax, f"no campaign reached {min_group} customers in each group")
    names = cells["name"] if "name" in cells else cells["segment"].map(lambda s: f"segment {s}")
    labels = [_wrap(f"{n} · {c}", 52) for n, c in zip(names, cells["campaign_id"])]
    lines = sum(label.count("\n") + 1 for label in labels)
    ax = axes(ax, (PAGE_WIDTH, 0.2 * lines + 0.12 * len(cells) + 1.2))
    y = np.arange(len(cells))[::-1]
    colours = cells["verdict"].map(VERDICT_COLOURS).fillna("#999999").tolist()
    lift, low, high = (cells[c].to_numpy(dtype="float64") * 100 for c in ("lift", "lift_low", "lift_high"))
    ax.hlines(y, low, high, colors=colours, linewidth=2)
    ax.scatter(lift, y, color=colours, zorder=3, s=22)
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_yticks(y, labels, fontsize=_FONT)
    ax.tick_params(axis="x", labelsize=_FONT)
    ax.set_xlabel("lift: conversion rate minus the control group's,\n"
                  "in percentage points (95% interval)", fontsize=_FONT)
    shown = [v for v in VERDICT_COLOURS if v in set(cells["verdict"])]
    for verdict in shown:
        ax.scatter([], [], color=VERDICT_COLOURS[verdict], s=22, label=verdict)
    # one row, right-aligned: it may reach over the labels, never past the page
    ax.legend(fontsize=_FONT, frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(shown),
              handletextpad=0.2, columnspacing=1.0)
    ax.set_ylim(-0.7, len(cells) - 0.3)
    return tidy(ax)


def plot_nps(measurement, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Each segment's Net Promoter Score this period with its 95 % interval, and last period's.

    Parameters
    ----------
    measurement : Measurement, FeedbackResults or None
        A :class:`~seglab.measure.Measurement` (or :class:`~seglab.measure.FeedbackResults`);
        None, or no NPS answers, draws a note saying so.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    feedback = getattr(measurement, "feedback", measurement)
    if feedback is None or feedback.scores.empty or "nps" not in set(feedback.scores["kind"]):
        return _note(ax, "no NPS answers in this period")
    scores = feedback.scores[feedback.scores["kind"] == "nps"]
    now = scores[scores["window"] == "current"].set_index("segment")
    then = scores[scores["window"] == "previous"].set_index("segment")
    order = [s for s in now.index if s >= 0] + [s for s in now.index if s < 0]
    now = now.loc[order]
    names = now["name"] if "name" in now else pd.Series([f"segment {s}" for s in now.index], index=now.index)
    ax = axes(ax, (PAGE_WIDTH, 0.38 * len(now) + 1.3))
    y = np.arange(len(now))[::-1]
    ax.hlines(y, now["low"], now["high"], colors="#4c72b0", linewidth=2)
    ax.scatter(now["score"], y, color="#4c72b0", zorder=3, s=24, label=feedback.windows.get("current", "now"))
    if not then.empty:
        before = then["score"].reindex(now.index)
        ax.scatter(before, y, facecolors="none", edgecolors="#555555", zorder=4, s=30,
                   label=feedback.windows.get("previous") or "before")
    ax.axvline(0, color="#333333", linewidth=0.8)
    ax.set_xlim(-100, 100)
    ax.set_yticks(y, [_wrap(n, 34) for n in names], fontsize=_FONT)
    ax.tick_params(axis="x", labelsize=_FONT)
    ax.set_xlabel("Net Promoter Score: promoters minus detractors, % of answers (95% interval)", fontsize=_FONT)
    ax.legend(fontsize=_FONT, frameon=False, loc="lower right")
    return tidy(ax)
