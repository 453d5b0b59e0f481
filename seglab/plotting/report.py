"""Plots of the *report* stage: migration between periods, segment changes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from seglab.plotting._base import axes, tidy, unavailable

__all__ = ["plot_migration", "plot_segment_changes"]


def plot_migration(comparison, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Where last period's customers are now: shares of each row, with the counts.

    Rows are last period's segments (and ``new`` customers), columns this period's (and
    ``lost`` customers). A note instead when the comparison was skipped.
    """
    if comparison.skipped or comparison.migration.empty:
        return unavailable(ax, comparison.note or "no comparison")
    counts = comparison.migration
    shares = comparison.migration_shares().fillna(0)
    ax = axes(ax, (1.4 * counts.shape[1] + 3, 0.7 * counts.shape[0] + 2))
    annot = np.array([[f"{s:.0%}\n{c:,}" if c else "" for s, c in zip(srow, crow)]
                      for srow, crow in zip(shares.to_numpy(), counts.to_numpy())])
    sns.heatmap(shares, ax=ax, cmap="Blues", vmin=0, vmax=1, annot=annot, fmt="", annot_kws={"fontsize": 8},
                cbar_kws={"label": "share of the row"}, linewidths=0.5)
    ax.set_ylabel(f"{comparison.previous_period} segment")
    ax.set_xlabel(f"{comparison.current_period} segment")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.tick_params(axis="y", labelrotation=0, labelsize=8)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    ax.set_title(f"Migration {comparison.previous_period} → {comparison.current_period}")
    return ax


def plot_segment_changes(comparison, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Customers per segment, last period beside this period."""
    changes = comparison.changes
    if comparison.skipped or changes.empty or "customers_now" not in changes:
        return unavailable(ax, comparison.note or "no comparison")
    names = changes["name"].fillna(changes["segment"].astype(str)).tolist()
    y = np.arange(len(changes))
    ax = axes(ax, (8, 0.6 * len(changes) + 1.5))
    then = pd.to_numeric(changes.get("customers_then"), errors="coerce").fillna(0)
    now = pd.to_numeric(changes["customers_now"], errors="coerce").fillna(0)
    ax.barh(y + 0.2, then, height=0.4, color="#c7c7c7", label=comparison.previous_period)
    ax.barh(y - 0.2, now, height=0.4, color="#4c72b0", label=comparison.current_period)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("customers")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Segment sizes then and now")
    return tidy(ax)
