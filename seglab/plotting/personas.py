"""Plots of the *personas* stage: the profile heatmap, traits, size against value.

Every figure is at most :data:`PAGE_WIDTH` inches wide with text of at least 8 pt, so it
stays readable when the report is printed on A4 (figures are never scaled up, only down).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from seglab.plotting._base import axes, palette, tidy, unavailable

__all__ = ["plot_profile_heatmap", "plot_traits", "plot_all_traits", "plot_size_value", "PAGE_WIDTH"]

PAGE_WIDTH = 7.1
"""Inches: the printable width of A4 with the report's margins (210 mm − 2 × 14 mm)."""

_FONT = 8


def _wrap(text: str, width: int) -> str:
    return _plain("\n".join(textwrap.wrap(str(text), max(width, 6), break_long_words=False)) or str(text))


def _plain(text: str) -> str:
    """Text matplotlib shows as written: a ``$`` (a currency, not mathtext) is escaped."""
    return str(text).replace("$", r"\$")


def _column_labels(labels, label_width: float, extra: float = 0.9) -> tuple[list[str], int]:
    """Heatmap column labels wrapped to fit their cells at 8 pt across the page, and their
    number of lines."""
    cell = (PAGE_WIDTH - label_width - extra) / max(len(labels), 1)
    wrapped = [_wrap(label, int(cell * 72 / (0.55 * _FONT))) for label in labels]
    return wrapped, max(w.count("\n") + 1 for w in wrapped)


def _print_style(ax: plt.Axes, title: str) -> plt.Axes:
    """A heatmap set for print: column labels on top, 8-pt labels, a readable colour bar."""
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", labelrotation=0, labelsize=_FONT, length=0)
    ax.tick_params(axis="y", labelrotation=0, labelsize=_FONT, length=0)
    colorbar = ax.collections[0].colorbar
    colorbar.ax.tick_params(labelsize=_FONT)
    colorbar.ax.yaxis.label.set_size(_FONT)
    ax.set_title(title, fontsize=10, pad=8)
    return ax


def _dictionary(personas):
    return getattr(personas, "dictionary", None)


def plot_profile_heatmap(personas, features: Sequence[str] | None = None, *, max_features: int = 14,
                         ax: plt.Axes | None = None) -> plt.Axes:
    """How each segment (columns) differs from the other customers on the most telling
    features (rows): colour is the contrast in standard deviations (red above, blue
    below), each cell shows the segment's mean in its unit (£, %, days).

    Parameters
    ----------
    personas : Personas
        From :func:`~seglab.personas.build_personas` (its profiles, names and dictionary).
    features : sequence of str, optional
        The rows (default: the ``max_features`` with the strongest contrast).
    max_features : int, default 14
        Rows at most when ``features`` is not given.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    from seglab.personas.traits import REDUNDANT
    from seglab.personas.wording import feature_kind, feature_label, format_value

    numeric = personas.profiles.numeric
    if numeric.empty:
        return unavailable(ax, "no numeric features to profile")
    if "contrast" not in numeric:  # profiles written by an earlier version
        numeric = numeric.assign(contrast=numeric["effect"])
    if features is None:
        usable = numeric[~numeric["feature"].isin(REDUNDANT)]
        strength = (usable.assign(a=lambda d: d["contrast"].abs()).groupby("feature")["a"].max()
                    .sort_values(ascending=False, kind="stable"))
        features = list(strength.head(max_features).index)
    features = list(features)
    contrast = numeric.pivot(index="feature", columns="segment", values="contrast").loc[features]
    means = numeric.pivot(index="feature", columns="segment", values="mean").loc[features]
    dictionary, currency = _dictionary(personas), personas.meta.get("currency", "") if personas.meta else ""
    annot = np.array([[_plain(format_value(v, feature_kind(f, dictionary), currency)) if pd.notna(v) else ""
                       for v in means.loc[f]] for f in features])
    names, header_lines = _column_labels([personas.names.get(int(s), str(s)) for s in contrast.columns], 2.1)
    ax = axes(ax, (PAGE_WIDTH, 0.3 * len(features) + 0.16 * header_lines * 1.4 + 1.0))
    sns.heatmap(contrast.clip(-2, 2), ax=ax, cmap="vlag", center=0, vmin=-2, vmax=2, annot=annot, fmt="",
                annot_kws={"fontsize": _FONT}, linewidths=0.5,
                cbar_kws={"label": "vs other customers (sd)", "shrink": 0.8},
                yticklabels=[_wrap(feature_label(f, dictionary), 30) for f in features], xticklabels=names)
    ax.set_xlabel("")
    ax.set_ylabel("")
    return _print_style(ax, "How each segment differs from the other customers")


def plot_traits(personas, segment: int, *, ax: plt.Axes | None = None, wrap: int = 48) -> plt.Axes:
    """One persona's distinguishing traits: bars of contrast with the other customers,
    labelled in words.

    Parameters
    ----------
    personas : Personas
        From :func:`~seglab.personas.build_personas`.
    segment : int
        The segment number.
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).
    wrap : int, default 48
        Characters per line of the trait labels.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    rows = personas.traits[personas.traits["segment"] == segment].sort_values("rank", ascending=False)
    name = personas.names.get(segment, f"segment {segment}")
    if rows.empty:
        ax = unavailable(ax, f"{name}: no trait sets them apart", size=(PAGE_WIDTH, 0.9))
        ax.texts[0].set_fontsize(_FONT)
        return ax
    ax = axes(ax, (PAGE_WIDTH, 0.42 * len(rows) + 0.8))
    colors = ["#c44e52" if e > 0 else "#4c72b0" for e in rows["effect"]]
    ax.barh(range(len(rows)), rows["effect"], color=colors, height=0.6)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([_wrap(t, wrap) for t in rows["text"]], fontsize=_FONT)
    ax.axvline(0, color="black", lw=0.8)
    ax.tick_params(axis="x", labelsize=_FONT)
    ax.set_xlabel("vs other customers (standard deviations)", fontsize=_FONT)
    ax.set_title(_plain(name), fontsize=9, loc="left", fontweight="bold")
    return tidy(ax)


def plot_all_traits(personas) -> plt.Figure:
    """Every persona's traits, one panel each, stacked (see :func:`plot_traits`).

    Parameters
    ----------
    personas : Personas
        From :func:`~seglab.personas.build_personas`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    segments = [c.segment for c in personas.cards]
    counts = [max(int((personas.traits["segment"] == s).sum()), 1) for s in segments]
    heights = [0.42 * c + 0.75 for c in counts]
    fig, grid = plt.subplots(len(segments), 1, figsize=(PAGE_WIDTH, sum(heights) + 0.2), layout="constrained",
                             squeeze=False, gridspec_kw={"height_ratios": heights})
    for ax, s in zip(grid.ravel(), segments):
        plot_traits(personas, s, ax=ax)
    return fig


def plot_size_value(personas, *, ax: plt.Axes | None = None) -> plt.Axes:
    """Each segment's share of customers beside its share of revenue (over the look-back
    window, and in the period itself when the data has dated purchases); without revenue,
    the value measure per customer (spending score, total spend).

    Parameters
    ----------
    personas : Personas
        From :func:`~seglab.personas.build_personas` (its profiles, names and period).
    ax : matplotlib.axes.Axes, optional
        The axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    from seglab.personas.wording import feature_kind, feature_label, format_value

    overview = personas.profiles.overview
    names = [personas.names.get(int(s), str(s)) for s in overview.index]
    dictionary = _dictionary(personas)
    y = np.arange(len(overview))
    colors = palette(3)
    if "revenue_share" in overview and overview["revenue_share"].notna().any():
        bars = [("customers", overview["share"].to_numpy(dtype=float), "#b0b0b0")]
        window = (personas.meta or {}).get("window", {}).get("text")
        bars.append((f"revenue, {window}" if window else "revenue", overview["revenue_share"].to_numpy(dtype=float),
                     colors[0]))
        period = getattr(personas, "period", None)
        if period is not None and period.available:
            shares = [period.segment(int(s)).get("revenue_share") or 0.0 for s in overview.index]
            bars.append((f"revenue in {period.period}", np.array(shares, dtype=float), colors[1]))
        ax = axes(ax, (PAGE_WIDTH, 0.32 * len(bars) * len(overview) + 1.6))
        height = 0.8 / len(bars)
        for i, (label, values, color) in enumerate(bars):
            offset = (i - (len(bars) - 1) / 2) * height
            ax.barh(y + offset, values, height=height * 0.95, color=color, label=f"share of {label}")
            for yy, v in zip(y + offset, values):
                ax.text(v, yy, f" {format_value(v, 'share')}", va="center", fontsize=_FONT)
        ax.set_xlim(0, max(float(np.nanmax([b[1] for b in bars])), 0.01) * 1.18)
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        ax.set_xlabel("share", fontsize=_FONT)
        ax.legend(fontsize=_FONT, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.02 * len(bars)),
                  ncols=1)
        title = "Share of customers against share of revenue"
    else:
        value_col = next((c for c in ("clv", "total_spend", "spending_score") if c in overview
                          and overview[c].notna().any()), None)
        if value_col is None:
            return unavailable(ax, "no value measure to plot")
        ax = axes(ax, (PAGE_WIDTH, 0.5 * len(overview) + 1.2))
        values = overview[value_col].to_numpy(dtype=float)
        ax.barh(y, values, color=palette(len(overview)), height=0.6)
        kind = feature_kind(value_col, dictionary)
        currency = (personas.meta or {}).get("currency", "")
        for yy, v, share in zip(y, values, overview["share"]):
            ax.text(v, yy, _plain(f" {format_value(v, kind, currency)} ({format_value(share, 'share')} of customers)"),
                    va="center", fontsize=_FONT)
        ax.set_xlim(0, np.nanmax(values) * 1.45)
        label = feature_label(value_col, dictionary)
        ax.set_xlabel(f"{label}, mean per customer", fontsize=_FONT)
        title = f"{label[:1].upper() + label[1:]} per customer"
    ax.set_yticks(y)
    ax.set_yticklabels([_wrap(n, 26) for n in names], fontsize=_FONT)
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=_FONT)
    ax.set_title(title, fontsize=10)
    return tidy(ax)
