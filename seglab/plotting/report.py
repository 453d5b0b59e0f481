"""Plots of the *report* stage: migration between periods, segment changes.

Like every report figure, at most :data:`~seglab.plotting.personas.PAGE_WIDTH` inches
wide with text of at least 8 pt.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from seglab.plotting._base import axes, count_axis, tidy, unavailable
from seglab.plotting.personas import _FONT, PAGE_WIDTH, _column_labels, _print_style, _wrap

__all__ = ["plot_migration", "plot_segment_changes"]

def plot_migration(comparison, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Where last period's customers are now: shares of each row, with the counts.

    Rows are last period's segments (and ``new`` customers), columns this period's (and
    ``lost`` customers). A note instead when the comparison was skipped.

    Parameters
    ----------
    comparison : Comparison
        From :func:`~seglab.report.compare_runs`.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if comparison.skipped or comparison.migration.empty:
        ax = unavailable(ax, comparison.note or "no comparison", size=(PAGE_WIDTH, 1.2))
        ax.texts[0].set_fontsize(_FONT)
        return ax
    counts = comparison.migration
    shares = comparison.migration_shares().fillna(0)
    rows = counts.shape[0]
    column_names, header_lines = _column_labels(list(counts.columns), 1.8)
    ax = axes(ax, (PAGE_WIDTH, 0.5 * rows + 0.16 * header_lines + 1.3))
    annot = np.array([[f"{s:.0%}\n{c:,}" if c else "" for s, c in zip(srow, crow)]
                      for srow, crow in zip(shares.to_numpy(), counts.to_numpy())])
    sns.heatmap(shares, ax=ax, cmap="Blues", vmin=0, vmax=1, annot=annot, fmt="", annot_kws={"fontsize": _FONT},
                cbar_kws={"label": "share of the row", "shrink": 0.8}, linewidths=0.5,
                xticklabels=column_names, yticklabels=[_wrap(r, 24) for r in counts.index])
    ax.set_ylabel(f"segment in {comparison.previous_period}", fontsize=_FONT)
    ax.set_xlabel(f"segment in {comparison.current_period}", fontsize=_FONT)
    ax.xaxis.set_label_position("top")
    return _print_style(ax, f"Where {comparison.previous_period}'s customers are in {comparison.current_period}")


def plot_segment_changes(comparison, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Customers per segment, last period beside this period (a note without a comparison).

    Parameters
    ----------
    comparison : Comparison
        From :func:`~seglab.report.compare_runs`.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    changes = comparison.changes
    if comparison.skipped or changes.empty or "customers_now" not in changes:
        ax = unavailable(ax, comparison.note or "no comparison", size=(PAGE_WIDTH, 1.2))
        ax.texts[0].set_fontsize(_FONT)
        return ax
    names = changes["name"].fillna(changes["segment"].astype(str)).tolist()
    y = np.arange(len(changes))
    ax = axes(ax, (PAGE_WIDTH, 0.55 * len(changes) + 1.3))
    then = pd.to_numeric(changes.get("customers_then"), errors="coerce")
    now = pd.to_numeric(changes["customers_now"], errors="coerce")
    ax.barh(y - 0.2, then.fillna(0), height=0.4, color="#c7c7c7", label=comparison.previous_period)
    ax.barh(y + 0.2, now.fillna(0), height=0.4, color="#4c72b0", label=comparison.current_period)
    for offset, sizes, period in ((-0.2, then, comparison.previous_period), (0.2, now, comparison.current_period)):
        for yy, value in zip(y + offset, sizes):
            # a segment that did not exist in a period has no size then, not a size of 0
            known = pd.notna(value)
            ax.text(value if known else 0, yy, f" {int(value):,}" if known else f" not a segment in {period}",
                    va="center", fontsize=_FONT, color="#333333" if known else "#888888")
    ax.set_xlim(0, max(float(then.fillna(0).max()), float(now.fillna(0).max()), 1) * 1.15)
    ax.set_yticks(y)
    ax.set_yticklabels([_wrap(n, 26) for n in names], fontsize=_FONT)
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=_FONT)
    count_axis(ax.xaxis)
    ax.set_xlabel("customers", fontsize=_FONT)
    # beside the title, where no bar or number can run into it
    ax.legend(fontsize=_FONT, frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2,
              borderaxespad=0.2)
    ax.set_title("Segment sizes then and now", fontsize=10, loc="left")
    return tidy(ax)
