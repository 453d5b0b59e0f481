"""Plots of the *cluster* stage: the evidence for k, the customer map, sizes, stability."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seglab._validation import require_columns
from seglab.plotting._base import axes, palette, segment_color, tidy, unavailable

__all__ = ["plot_k_evidence", "plot_segment_map", "plot_segment_sizes", "plot_stability"]

_PANELS = (("silhouette", "silhouette (higher is better)"),
           ("stability", "bootstrap stability, mean ARI"),
           ("smallest_share", "smallest segment's share"),
           ("calinski_harabasz", "Calinski-Harabasz (higher is better)"),
           ("davies_bouldin", "Davies-Bouldin (lower is better)"),
           ("bic", "BIC, Gaussian mixture (lower is better)"))


def plot_k_evidence(selection, *, ncols: int = 3, panel_size: tuple[float, float] = (4, 3.2)) -> plt.Figure:
    """All the evidence for k in one figure: quality, stability and size per algorithm and k.

    The chosen candidate is circled; the thresholds of the rule are dashed lines
    (minimum stability, minimum segment share). ``ncols`` panels a row, each
    ``panel_size`` inches. Returns the figure; a note when k was given rather than chosen
    (``selection`` None).
    """
    if selection is None:
        return unavailable(None, "k was set by hand: no sweep to show").figure
    table = selection.table
    panels = [(c, t) for c, t in _PANELS if c in table and table[c].notna().any()]
    if "bic" not in [c for c, _ in panels] and "inertia" in table and table["inertia"].notna().any():
        panels.append(("inertia", "inertia, k-means (the elbow)"))
    nrows = int(np.ceil(len(panels) / ncols))
    fig, grid = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
                             layout="constrained", squeeze=False)
    colors = dict(zip(table["algorithm"].unique(), palette(table["algorithm"].nunique())))
    settings = selection.settings
    for ax, (col, title) in zip(grid.ravel(), panels):
        for algorithm, rows in table.groupby("algorithm", sort=False):
            rows = rows.sort_values("k")
            ax.plot(rows["k"], rows[col], marker="o", color=colors[algorithm], label=algorithm)
        chosen = selection.chosen
        if pd.notna(chosen.get(col)):
            ax.scatter([chosen["k"]], [chosen[col]], s=220, facecolors="none", edgecolors="black", lw=1.5,
                       zorder=5, label="chosen")
        if col == "stability" and "min_stability" in settings:
            ax.axhline(settings["min_stability"], color="grey", ls="--", lw=1)
        if col == "smallest_share" and "min_share" in settings:
            ax.axhline(settings["min_share"], color="grey", ls="--", lw=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("k (segments)", fontsize=8)
        ax.set_xticks(sorted(table["k"].unique()))
        ax.tick_params(labelsize=8)
        tidy(ax)
    for ax in grid.ravel()[len(panels):]:
        ax.set_axis_off()
    handles, labels = grid.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8, frameon=False)
    fig.suptitle(f"Choosing k: {selection.algorithm}, k = {selection.k}\n{selection.rule}", fontsize=10)
    return fig


def plot_segment_map(segments: pd.DataFrame, *, names: Mapping[int, str] | None = None,
                     ax: plt.Axes | None = None, max_points: int = 50_000, random_state: int = 0) -> plt.Axes:
    """The customer map (``x``, ``y`` from :meth:`Segmentation.add_map`) coloured by segment.

    Above ``max_points`` customers a seeded sample is drawn (the map stays readable and fast).
    """
    require_columns(segments, ["segment", "x", "y"], table="segments",
                    hint="add the map first: segmentation.add_map(features)")
    data = segments
    if len(data) > max_points:
        data = data.sample(max_points, random_state=random_state)
    ids = sorted(data["segment"].unique())
    ax = axes(ax, (7.5, 6))
    for s in ids:
        rows = data[data["segment"] == s]
        label = (names or {}).get(s, "unassigned" if s < 0 else f"segment {s}")
        ax.scatter(rows["x"], rows["y"], s=6, alpha=0.6, color=segment_color(s),
                   label=f"{label} ({(segments['segment'] == s).sum():,})", linewidths=0)
    ax.legend(markerscale=3, fontsize=8, loc="best", frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("Customer map (nearby customers are similar)")
    return ax


def plot_segment_sizes(segments: pd.DataFrame, *, names: Mapping[int, str] | None = None,
                       ax: plt.Axes | None = None) -> plt.Axes:
    """Customers per segment, with their share."""
    require_columns(segments, ["segment"], table="segments")
    counts = segments["segment"].value_counts().sort_index()
    labels = [(names or {}).get(s, "unassigned" if s < 0 else f"segment {s}") for s in counts.index]
    ax = axes(ax, (7, 0.45 * len(counts) + 1))
    colors = [segment_color(s) for s in counts.index]
    ax.barh(labels[::-1], counts.to_numpy()[::-1], color=colors[::-1])
    total = counts.sum()
    for y, c in enumerate(counts.to_numpy()[::-1]):
        ax.text(c, y, f" {c:,} ({c / total:.0%})", va="center", fontsize=8)
    ax.set_xlim(right=counts.max() * 1.25)
    ax.set_xlabel("customers")
    ax.set_title("Segment sizes")
    return tidy(ax)


def plot_stability(selection, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Bootstrap Jaccard similarity of each chosen segment (≥ 0.75 stable, < 0.5 dissolved)."""
    if selection is None:
        return unavailable(ax, "k was set by hand: stability was not measured")
    rows = selection.jaccard[(selection.jaccard["algorithm"] == selection.algorithm)
                             & (selection.jaccard["k"] == selection.k)].sort_values("segment")
    ax = axes(ax, (7, 3))
    colors = ["#55a868" if v >= 0.75 else "#dd8452" if v >= 0.5 else "#c44e52" for v in rows["jaccard"]]
    ax.bar([f"segment {int(s)}" for s in rows["segment"]], rows["jaccard"], color=colors)
    for level in (0.5, 0.75):
        ax.axhline(level, color="grey", ls="--", lw=1)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean Jaccard (bootstrap)")
    ax.set_title("How stable is each segment? (≥ 0.75 stable, < 0.5 dissolves)")
    return tidy(ax)
