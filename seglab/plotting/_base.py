"""Shared plotting helpers: axes creation, the segment palette, number formatting."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns


def axes(ax: plt.Axes | None, size: tuple[float, float] = (7, 4)) -> plt.Axes:
    """``ax`` itself, or a new axes of ``size`` inches on its own figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def palette(n: int) -> list:
    """``n`` distinguishable colours (colour-blind-safe up to 8, then husl)."""
    return sns.color_palette("colorblind", n) if n <= 8 else sns.color_palette("husl", n)


def segment_color(segment: int):
    """The colour of segment number ``segment``, the same whatever the other segments are
    (so a segment keeps its colour when k changes); unassigned customers (-1) are grey.

    Parameters
    ----------
    segment : int
        The segment number (-1: unassigned).

    Returns
    -------
    colour
        An RGB tuple (a hex string for unassigned), as matplotlib takes it.
    """
    if segment < 0:
        return "#bbbbbb"
    colours = sns.color_palette("colorblind", 10)  # segments 0-9: colour-blind safe
    return colours[segment] if segment < len(colours) else sns.color_palette("husl", 24)[segment % 24]


def tidy(ax: plt.Axes) -> plt.Axes:
    """Remove the top and right spines."""
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def compact_count(value: float) -> str:
    """A count as an axis tick: ``1.5M``, ``250k``, ``40`` (never matplotlib's ``1e6`` offset).

    >>> [compact_count(v) for v in (0, 40, 2500, 250_000, 1_500_000, 2e9)]
    ['0', '40', '2.5k', '250k', '1.5M', '2bn']
    """
    for step, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= step:
            return f"{value / step:,.4g}{suffix}"
    return f"{value:,.4g}"


def count_axis(axis) -> None:
    """Label ``axis`` (``ax.xaxis`` or ``ax.yaxis``) with :func:`compact_count` ticks."""
    axis.set_major_formatter(plt.FuncFormatter(lambda value, _: compact_count(value)))


def unavailable(ax: plt.Axes | None, message: str, size: tuple[float, float] = (7, 2)) -> plt.Axes:
    """An empty panel that says why there is nothing to draw (e.g. no transactions)."""
    ax = axes(ax, size)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_axis_off()
    return ax
