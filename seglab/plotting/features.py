"""Plots of the *features* stage: distributions, the RFM grid, named segments, CLV, correlations."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from seglab._validation import require_columns, require_frame
from seglab.features.rfm import RFM_SEGMENT_GRID, RFM_SEGMENTS
from seglab.plotting._base import axes, count_axis, tidy, unavailable

__all__ = ["plot_distributions", "plot_rfm_grid", "plot_rfm_segments", "plot_clv",
           "plot_correlations", "plot_journey_stages", "plot_value_validation"]


def _long_tailed(values: pd.Series) -> bool:
    """Worth a log scale: strongly skewed, mostly non-negative, and not a share (0 to 1)."""
    present = values.dropna()
    return bool(len(present) > 10 and (present >= 0).mean() > 0.95 and present.max() > 1
                and present.skew() > 2)


def plot_distributions(features: pd.DataFrame, columns: Sequence[str], *, ncols: int = 4,
                       dictionary=None) -> plt.Figure:
    """Small multiples: a histogram per numeric column (log scale for long tails), bars for categories.

    Parameters
    ----------
    features : DataFrame
        One row per customer.
    columns : sequence of str
        The columns to draw, one panel each.
    ncols : int, default 4
        Panels a row.
    dictionary : FeatureDictionary, optional
        Gives each panel its unit.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    require_frame(features, "features")
    require_columns(features, columns, table="features", hint="choose columns of the feature table")
    n = len(columns)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, grid = plt.subplots(nrows, min(ncols, n), figsize=(3.2 * min(ncols, n), 2.4 * nrows),
                             layout="constrained", squeeze=False)
    for ax, col in zip(grid.ravel(), columns):
        values = features[col]
        unit = dictionary[col].unit if dictionary is not None and col in dictionary else ""
        if pd.api.types.is_numeric_dtype(values):
            present = values.dropna()
            if _long_tailed(present):
                ax.hist(np.log10(present.clip(lower=0) + 1), bins=30, color="#4c72b0")
                ax.set_xlabel(f"log10(1 + {unit or 'value'})", fontsize=8)
            else:
                ax.hist(present, bins=30, color="#4c72b0")
                ax.set_xlabel(unit, fontsize=8)
        else:
            counts = values.astype("str").value_counts().head(8)[::-1]
            ax.barh(counts.index, counts.to_numpy(), color="#4c72b0")
            ax.tick_params(axis="y", labelsize=7)
        missing = values.isna().mean()
        ax.set_title(col + (f"  ({missing:.0%} missing)" if missing > 0.005 else ""), fontsize=9)
        ax.tick_params(labelsize=7)
        tidy(ax)
    for ax in grid.ravel()[n:]:
        ax.set_axis_off()
    return fig


def plot_rfm_grid(features: pd.DataFrame, *, value: str = "customers", ax: plt.Axes | None = None) -> plt.Axes:
    """Heatmap of customers (or any numeric column, averaged) by R score × FM score, with segment names.

    Draws a note instead when the features have no RFM scores (no transactions).

    Parameters
    ----------
    features : DataFrame
        One row per customer with ``r_score`` and ``fm_score``.
    value : str, default "customers"
        ``"customers"`` (counts) or a numeric column to average per cell.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if "r_score" not in features:
        return unavailable(ax, "No RFM scores: the dataset has no transactions")
    scored = features.dropna(subset=["r_score", "fm_score"])
    if value == "customers":
        grid = scored.groupby(["r_score", "fm_score"]).size().unstack(fill_value=0)
        fmt = ",.0f"
    else:
        require_columns(features, [value], table="features")
        grid = scored.groupby(["r_score", "fm_score"])[value].mean().unstack()
        fmt = ",.0f" if grid.abs().max().max() >= 100 else ",.2f"
    grid = grid.reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5])
    ax = axes(ax, (7, 5))
    sns.heatmap(grid, ax=ax, cmap="Blues", cbar_kws={"label": value.replace("_", " ")}, linewidths=0.5)
    for i, r in enumerate(grid.index):
        for j, fm in enumerate(grid.columns):
            cell = grid.loc[r, fm]
            text = "–" if pd.isna(cell) else format(cell, fmt)
            dark = not pd.isna(cell) and cell > np.nanmax(grid.to_numpy()) * 0.6
            ax.text(j + 0.5, i + 0.42, text, ha="center", va="center", fontsize=9,
                    color="white" if dark else "black")
            ax.text(j + 0.5, i + 0.72, RFM_SEGMENT_GRID[(int(r), int(fm))], ha="center", va="center",
                    fontsize=6.5, color="white" if dark else "#444444")
    ax.set_xlabel("FM score (frequency and monetary, 1 = low)")
    ax.set_ylabel("R score (5 = most recent)")
    ax.set_title("Customers on the RFM grid" if value == "customers" else f"Mean {value} on the RFM grid")
    return ax


def plot_rfm_segments(features: pd.DataFrame, *, revenue: str = "net_revenue",
                      currency: str = "") -> plt.Figure:
    """The named RFM segments: share of customers beside share of revenue (a note without them).

    Parameters
    ----------
    features : DataFrame
        One row per customer with ``rfm_segment``.
    revenue : str, default "net_revenue"
        The revenue column.
    currency : str, default ""
        The currency, for the axis label.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (two panels).
    """
    if "rfm_segment" not in features:
        return unavailable(None, "No named RFM segments: the dataset has no transactions").figure
    require_columns(features, [revenue], table="features")
    grouped = features.groupby("rfm_segment")
    table = pd.DataFrame({"customers": grouped.size(), "revenue": grouped[revenue].sum()})
    order = [s for s in (*RFM_SEGMENTS, "No purchases") if s in table.index][::-1]
    table = table.loc[order]
    shares = table / table.sum()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 0.38 * len(table) + 1.2), sharey=True,
                                      layout="constrained")
    left.barh(table.index, shares["customers"], color="#4c72b0")
    right.barh(table.index, shares["revenue"].clip(lower=0), color="#55a868")
    for y, (c, r) in enumerate(zip(table["customers"], table["revenue"])):
        left.text(shares["customers"].iloc[y], y, f" {c:,}", va="center", fontsize=8)
        right.text(max(shares["revenue"].iloc[y], 0), y, f" {r:,.0f}", va="center", fontsize=8)
    left.set_xlim(right=shares["customers"].max() * 1.2)
    right.set_xlim(right=max(shares["revenue"].max(), 0.01) * 1.3)
    left.set_xlabel("share of customers")
    right.set_xlabel(f"share of net revenue{' (' + currency + ')' if currency else ''}")
    for ax in (left, right):
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        tidy(ax)
    fig.suptitle("Named RFM segments: size and revenue")
    return fig


def plot_clv(features: pd.DataFrame, *, column: str = "clv", currency: str = "",
             ax: plt.Axes | None = None) -> plt.Axes:
    """Distribution of customer lifetime value (log scale), with the median and top-decile share.

    Draws a note instead when there is no such column (no transactions, or models switched off).

    Parameters
    ----------
    features : DataFrame
        One row per customer.
    column : str, default "clv"
        The value column.
    currency : str, default ""
        The currency, for the labels.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    if column not in features:
        return unavailable(ax, "No customer lifetime values: no transactions, or value models off")
    values = features[column].dropna()
    ax = axes(ax, (7, 3.5))
    positive = values[values > 0]
    if positive.empty:
        ax.text(0.5, 0.5, "no customer lifetime values", ha="center", transform=ax.transAxes)
        return ax
    bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()), 40)
    ax.hist(positive, bins=bins, color="#8172b2")
    ax.set_xscale("log")
    median = values.median()
    ax.axvline(max(median, positive.min()), color="black", lw=1, ls="--")
    top = values.sort_values(ascending=False)
    share = top.head(max(1, len(top) // 10)).sum() / top.sum() if top.sum() > 0 else np.nan
    ax.set_title(f"Customer lifetime value: median {median:,.0f}{' ' + currency if currency else ''}; "
                 f"the top 10% hold {share:.0%}")
    ax.set_xlabel(f"{column}{' (' + currency + ')' if currency else ''}, log scale")
    count_axis(ax.yaxis)
    ax.set_ylabel("customers")
    return tidy(ax)


def plot_correlations(features: pd.DataFrame, columns: Sequence[str], *,
                      ax: plt.Axes | None = None, max_rows: int = 100_000, random_state: int = 0) -> plt.Axes:
    """Spearman correlations between numeric features, ordered so that related features sit together.

    Parameters
    ----------
    features : DataFrame
        One row per customer.
    columns : sequence of str
        The features to correlate (non-numeric and constant ones are left out).
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).
    max_rows : int, default 100000
        Above this many customers the correlations are measured on a seeded sample of that
        many (their standard error is then below 0.005: the same picture, in a fraction of
        the time); the title says so.
    random_state : int, default 0
        Seed of that sample.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    require_columns(features, columns, table="features")
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(features[c]) and features[c].nunique() > 1]
    sampled = len(features) > max_rows
    data = features[numeric].sample(max_rows, random_state=random_state) if sampled else features[numeric]
    corr = data.corr(method="spearman").fillna(0)
    if len(numeric) > 2:
        from scipy.cluster.hierarchy import leaves_list, linkage
        from scipy.spatial.distance import squareform

        distance = squareform(1 - np.abs(corr.to_numpy()), checks=False).clip(min=0)
        order = leaves_list(linkage(distance, method="average"))
        corr = corr.iloc[order, order]
    size = max(5, 0.32 * len(numeric) + 2)
    ax = axes(ax, (size + 1, size))
    sns.heatmap(corr, ax=ax, cmap="vlag", vmin=-1, vmax=1, square=True,
                cbar_kws={"label": "Spearman correlation", "shrink": 0.7},
                xticklabels=True, yticklabels=True)
    ax.tick_params(labelsize=7)
    ax.set_title("How features move together"
                 + (f" (a sample of {max_rows:,} of {len(features):,} customers)" if sampled else ""))
    return ax


def plot_journey_stages(features: pd.DataFrame, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Customers per journey stage, in life-cycle order (a note without journey stages).

    Parameters
    ----------
    features : DataFrame
        One row per customer with ``journey_stage``.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    from seglab.features.journey import JOURNEY_STAGES

    if "journey_stage" not in features:
        return unavailable(ax, "No journey stages: the dataset has no transactions")
    counts = features["journey_stage"].value_counts().reindex(JOURNEY_STAGES, fill_value=0)
    ax = axes(ax, (7, 3))
    ax.bar(counts.index, counts.to_numpy(), color="#4c72b0")
    for x, c in enumerate(counts):
        ax.text(x, c, f"{c:,}", ha="center", va="bottom", fontsize=8)
    count_axis(ax.yaxis)
    ax.set_ylabel("customers")
    ax.set_title("Customers by journey stage")
    return tidy(ax)


def plot_value_validation(validation) -> plt.Figure:
    """The value models' holdout check: conditional expectations by calibration frequency and
    the cumulative tracking curve, actual against each model and the naive baseline.

    Parameters
    ----------
    validation : ValueValidation, dict or None
        The check (:class:`seglab.features.ValueValidation`, or its dict); a note instead
        when it is None or was skipped.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (two panels).
    """
    if validation is None:
        data = {"status": "the value models were not validated"}
    else:
        data = validation if isinstance(validation, dict) else validation.to_dict()
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.1, 3.4), layout="constrained")  # A4 width
    if data.get("status") != "validated":
        unavailable(left, data.get("status", "not validated"))
        right.set_axis_off()
        return fig
    labels = {m["name"]: m["label"] for m in data["models"] if m.get("converged")}
    styles = {"bg_nbd": ("#8c8c8c", ":"), "mbg_nbd": ("#4c72b0", "-"), "pareto_nbd": ("#dd8452", "--")}
    chosen = data.get("chosen")
    cond = pd.DataFrame(data["conditional"])
    x = np.arange(len(cond))
    left.bar(x, cond["actual"], color="#d9d9d9", label="actual")
    for name, label in labels.items():
        color, style = styles.get(name, ("k", "-"))
        left.plot(x, cond[name], color=color, linestyle=style, marker="o", markersize=3,
                  linewidth=2.2 if name == chosen else 1.2, label=label + (" (chosen)" if name == chosen else ""))
    left.plot(x, cond["naive"], color="#55a868", linestyle="-.", linewidth=1, label="naive")
    left.set_xticks(x)
    left.set_xticklabels(cond["frequency"])
    left.set_xlabel("repeat purchases before the holdout", fontsize=8)
    left.set_ylabel("mean purchases in the holdout", fontsize=8)
    left.set_title("Conditional expectations", fontsize=9)
    left.legend(fontsize=8, frameon=False)
    track = pd.DataFrame(data["tracking"])
    if "actual" in track:
        right.plot(track["day"], track["actual"], color="k", linewidth=2, label="actual")
    for name, label in labels.items():
        color, style = styles.get(name, ("k", "-"))
        right.plot(track["day"], track[name], color=color, linestyle=style,
                   linewidth=2.2 if name == chosen else 1.2, label=label)
    right.plot(track["day"], track["naive"], color="#55a868", linestyle="-.", linewidth=1, label="naive")
    right.set_xlabel(f"days after {data.get('calibration_end') or 'the cut'}", fontsize=8)
    right.set_ylabel("cumulative repeat purchases", fontsize=8)
    right.set_title(f"Tracking over the {data['holdout_days']}-day holdout", fontsize=9)
    right.legend(fontsize=8, frameon=False)
    for ax in (left, right):
        ax.tick_params(labelsize=8)
        tidy(ax)
    return fig
