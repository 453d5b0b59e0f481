"""Plots of the *cluster* stage: the evidence for k, the customer map, sizes, stability."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seglab._validation import require_columns
from seglab.plotting._base import axes, count_axis, palette, segment_color, tidy, unavailable

__all__ = ["plot_k_evidence", "plot_segment_map", "plot_segment_sizes", "plot_stability"]

_PANELS = (("prediction_strength", "prediction strength (the rule: ≥ line)"),
           ("min_jaccard", "weakest segment's bootstrap Jaccard (≥ line)"),
           ("stability", "bootstrap stability, mean ARI (≥ line)"),
           ("smallest_share", "smallest segment's share (≥ line)"),
           ("silhouette", "silhouette (higher is better)"),
           ("calinski_harabasz", "Calinski-Harabasz (higher is better)"),
           ("davies_bouldin", "Davies-Bouldin (lower is better)"),
           ("bic", "BIC, Gaussian mixture (lower is better)"))
_THRESHOLDS = {"prediction_strength": "min_prediction_strength", "min_jaccard": "min_jaccard",
               "stability": "min_stability", "smallest_share": "min_share"}
_BANDS = ((0.0, 0.5, "#f4c7c3", "dissolved"), (0.5, 0.6, "#fbe3c4", "doubtful"),
          (0.6, 0.75, "#fdf1c9", "pattern"), (0.75, 0.85, "#dcefd9", "stable"),
          (0.85, 1.05, "#c3e6c0", "highly stable"))
"""Hennig's reading of a segment's bootstrap Jaccard (clusterboot)."""


def plot_k_evidence(selection, *, ncols: int = 2, panel_size: tuple[float, float] = (3.55, 2.3)) -> plt.Figure:
    """All the evidence for k in one figure: the rule's criteria first (prediction strength,
    the weakest segment's stability, mean stability, smallest segment), then quality indices,
    per algorithm and k.

    The chosen candidate is circled; the rule's thresholds are dashed lines.

    Parameters
    ----------
    selection : KSelection or None
        The evidence (:func:`~seglab.cluster.choose_k`, ``Segmentation.selection``); None
        when k was given rather than chosen (a note says so).
    ncols : int, default 2
        Panels a row.
    panel_size : tuple of float, default (3.55, 2.3)
        Inches per panel (the default fits the width of a printed A4 page with 8-pt text).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    if selection is None:
        return unavailable(None, "k was set by hand: no sweep to show").figure
    table = selection.table
    panels = [(c, t) for c, t in _PANELS if c in table and table[c].notna().any()]
    if "bic" not in [c for c, _ in panels] and "inertia" in table and table["inertia"].notna().any():
        panels.append(("inertia", "inertia, k-means (the elbow)"))
    nrows = int(np.ceil(len(panels) / ncols))
    fig, grid = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows + 0.8),
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
        if _THRESHOLDS.get(col) in settings:
            ax.axhline(settings[_THRESHOLDS[col]], color="grey", ls="--", lw=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("k (segments)", fontsize=8)
        ax.set_xticks(sorted(table["k"].unique()))
        ax.tick_params(labelsize=8)
        tidy(ax)
    for ax in grid.ravel()[len(panels):]:
        ax.set_axis_off()
    handles, labels = grid.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8, frameon=False)
    rule = textwrap.fill(selection.rule, width=int(11 * fig.get_figwidth()))  # stays within the figure
    fig.suptitle(f"Choosing k: {selection.algorithm}, k = {selection.k}\n{rule}", fontsize=9)
    return fig


def plot_segment_map(segments: pd.DataFrame, *, names: Mapping[int, str] | None = None,
                     ax: plt.Axes | None = None, max_points: int = 50_000, random_state: int = 0,
                     sizes: pd.DataFrame | None = None) -> plt.Axes:
    """The customer map (``x``, ``y`` from :meth:`Segmentation.add_map`) coloured by segment.

    Parameters
    ----------
    segments : DataFrame
        ``segment``, ``x`` and ``y`` per customer.
    names : mapping of int to str, optional
        Segment names for the legend (default: "segment 0", …).
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).
    max_points : int, default 50000
        Above this many customers a seeded sample is drawn (the map stays readable and fast).
    random_state : int, default 0
        Seed of that sample.
    sizes : DataFrame, optional
        Customers per segment (``customers``, indexed by segment:
        :meth:`RunFolder.segment_sizes <seglab.run.RunFolder.segment_sizes>`) when
        ``segments`` holds only the customers placed on the map
        (:meth:`RunFolder.segment_map <seglab.run.RunFolder.segment_map>`); default: counted
        in ``segments``.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    require_columns(segments, ["segment", "x", "y"], table="segments",
                    hint="add the map first: segmentation.add_map(features)")
    data = segments.dropna(subset=["x", "y"])  # beyond add_map's max_points, a sample is placed
    if len(data) > max_points:
        data = data.sample(max_points, random_state=random_state)
    counts = segments["segment"].value_counts() if sizes is None else sizes["customers"]
    ids = sorted(data["segment"].unique())
    ax = axes(ax, (7.1, 6))
    for s in ids:
        rows = data[data["segment"] == s]
        label = (names or {}).get(s, "unassigned" if s < 0 else f"segment {s}")
        ax.scatter(rows["x"], rows["y"], s=6, alpha=0.6, color=segment_color(s),
                   label=f"{label} ({int(counts.get(s, 0)):,})", linewidths=0)
    ax.legend(markerscale=3, fontsize=8, loc="best", frameon=False)
    ax.set_xticks([])
    ax.set_yticks([])
    total = int(counts.sum())
    shown = f"; {len(data):,} of {total:,} customers shown" if len(data) < total else ""
    ax.set_title(f"Customer map (nearby customers are similar{shown})")
    return ax


def plot_segment_sizes(segments: pd.DataFrame, *, names: Mapping[int, str] | None = None,
                       ax: plt.Axes | None = None) -> plt.Axes:
    """Customers per segment, with their share.

    Parameters
    ----------
    segments : DataFrame
        ``segment`` per customer, or ``customers`` per segment (indexed by segment:
        :meth:`Segmentation.sizes <seglab.cluster.Segmentation.sizes>`,
        :meth:`RunFolder.segment_sizes <seglab.run.RunFolder.segment_sizes>`).
    names : mapping of int to str, optional
        Segment names (default: "segment 0", …).
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if "segment" not in segments.columns and "customers" in segments.columns:
        counts = segments["customers"].sort_index()
    else:
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
    count_axis(ax.xaxis)
    ax.set_xlabel("customers")
    ax.set_title("Segment sizes")
    return tidy(ax)


def plot_stability(selection, *, names: dict[int, str] | None = None, ax: plt.Axes | None = None) -> plt.Axes:
    """Bootstrap Jaccard similarity of each chosen segment against Hennig's bands: below 0.5
    a segment dissolves, 0.6 – 0.75 it is a pattern, from 0.75 stable, from 0.85 highly stable.
    The dashed line is the rule's minimum.

    Parameters
    ----------
    selection : KSelection or None
        The evidence for k; None when k was given (a note says stability was not measured).
    names : dict, optional
        Segment names by number (the personas'), shown beside the numbers.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if selection is None:
        return unavailable(ax, "k was set by hand: stability was not measured")
    rows = selection.segment_stability()
    ax = axes(ax, (6.2, 0.45 * len(rows) + 1.4))  # with its labels, prints at its size on A4
    for i, (low, high, colour, label) in enumerate(_BANDS):
        ax.axvspan(low, high, color=colour, zorder=0, lw=0)
        ax.text((low + min(high, 1.0)) / 2, 1.01 + 0.09 * (i % 2), label, transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=8, color="#555555")  # staggered: narrow bands
    colors = ["#2f7d32" if v >= 0.75 else "#c77c02" if v >= 0.6 else "#c44e52" for v in rows]
    labels = [f"{int(s)} · {(names or {}).get(int(s), f'segment {int(s)}')}" for s in rows.index]
    positions = np.arange(len(rows))[::-1]  # segment 0 on top
    ax.barh(positions, rows.to_numpy(), color=colors, zorder=2, height=0.6)
    ax.set_yticks(positions, labels)
    for y, v in zip(positions, rows.to_numpy()):
        ax.text(min(v, 0.93) + 0.01, y, f"{v:.2f}", va="center", fontsize=8, zorder=3)
    if "min_jaccard" in selection.settings:
        ax.axvline(selection.settings["min_jaccard"], color="black", ls="--", lw=1, zorder=3)
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("mean Jaccard over bootstrap resamples (1 = always found again)")
    ax.set_title("How stable is each segment? (Hennig's bands)", pad=30)
    return tidy(ax)
