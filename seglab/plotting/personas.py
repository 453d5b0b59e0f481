"""Plots of the *personas* stage: the profile heatmap, traits, size against value."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from seglab.plotting._base import axes, palette, tidy, unavailable

__all__ = ["plot_profile_heatmap", "plot_traits", "plot_all_traits", "plot_size_value"]


def plot_profile_heatmap(personas, features: Sequence[str] | None = None, *, max_features: int = 16,
                         ax: plt.Axes | None = None) -> plt.Axes:
    """Standardised means (effect sizes) of each segment on the most telling features.

    Red above the average, blue below; each cell shows the segment's mean. Features are
    those with the largest effects somewhere (or ``features``).
    """
    numeric = personas.profiles.numeric
    if numeric.empty:
        return unavailable(ax, "no numeric features to profile")
    if features is None:
        from seglab.personas.traits import REDUNDANT

        strength = (numeric[~numeric["feature"].isin(REDUNDANT)].assign(a=lambda d: d["effect"].abs())
                    .groupby("feature")["a"].max().sort_values(ascending=False))
        features = list(strength.head(max_features).index)
    effect = numeric.pivot(index="segment", columns="feature", values="effect")[list(features)]
    means = numeric.pivot(index="segment", columns="feature", values="mean")[list(features)]
    labels = [f"{personas.names.get(int(s), s)}" for s in effect.index]
    ax = axes(ax, (max(7, 0.7 * len(features) + 3), 0.6 * len(effect) + 2.5))
    annot = means.map(lambda v: "" if pd.isna(v) else f"{v:.2g}" if abs(v) < 100 else f"{v:,.0f}")
    sns.heatmap(effect.clip(-2, 2), ax=ax, cmap="vlag", center=0, vmin=-2, vmax=2, annot=annot.to_numpy(),
                fmt="", annot_kws={"fontsize": 7}, cbar_kws={"label": "difference from all customers (sd)"},
                yticklabels=labels, xticklabels=[f.replace("_", " ") for f in features], linewidths=0.5)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    ax.set_title("Segment profiles: how each segment differs from all customers")
    return ax


def plot_traits(personas, segment: int, *, ax: plt.Axes | None = None) -> plt.Axes:
    """One persona's distinguishing traits: bars of effect size, labelled in words."""
    rows = personas.traits[personas.traits["segment"] == segment].sort_values("rank", ascending=False)
    if rows.empty:
        return unavailable(ax, f"{personas.names.get(segment, segment)}: no trait stands out")
    ax = axes(ax, (8, 0.5 * len(rows) + 1.2))
    colors = ["#c44e52" if e > 0 else "#4c72b0" for e in rows["effect"]]
    ax.barh(range(len(rows)), rows["effect"], color=colors)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows["text"], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("difference from all customers (standard deviations)")
    ax.set_title(personas.names.get(segment, f"segment {segment}"))
    return tidy(ax)


def plot_all_traits(personas, *, ncols: int = 2) -> plt.Figure:
    """Every persona's traits, one panel each (see :func:`plot_traits`). Returns the figure."""
    segments = [c.segment for c in personas.cards]
    nrows = int(np.ceil(len(segments) / ncols))
    fig, grid = plt.subplots(nrows, ncols, figsize=(8 * ncols, 2.6 * nrows), layout="constrained",
                             squeeze=False)
    for ax, s in zip(grid.ravel(), segments):
        plot_traits(personas, s, ax=ax)
    for ax in grid.ravel()[len(segments):]:
        ax.set_axis_off()
    return fig


def plot_size_value(personas, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Each segment as a bubble: share of customers against value per customer; size = revenue share."""
    overview = personas.profiles.overview
    value_col = next((c for c in ("clv", "revenue_per_customer", "total_spend", "spending_score")
                      if c in overview and overview[c].notna().any()), None)
    if value_col is None:
        return unavailable(ax, "no value measure to plot")
    ax = axes(ax, (7.5, 5))
    sizes = overview["revenue_share"].fillna(overview["share"]) if "revenue_share" in overview else overview["share"]
    colors = palette(len(overview))
    for (s, row), size, color in zip(overview.iterrows(), sizes, colors):
        ax.scatter(row["share"], row[value_col], s=300 + 4000 * max(size, 0), color=color, alpha=0.7,
                   edgecolors="white")
        ax.annotate(personas.names.get(int(s), str(s)), (row["share"], row[value_col]), ha="center",
                    va="center", fontsize=8)
    ax.set_xlabel("share of customers")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_ylabel(value_col.replace("_", " ") + " (mean per customer)")
    ax.margins(0.25)
    ax.set_title("Size against value (bubble area: share of revenue)")
    return tidy(ax)
