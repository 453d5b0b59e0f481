"""The explorer's views, drawn cheaply at the size they are shown.

Figures are drawn at the pixel width of the app's figure area (``width`` pixels at
:data:`DPI`), so the browser shows them at their own size: no scaling, readable text. They
are made with matplotlib's object-oriented API (no pyplot state), so a view can be drawn
in a background thread while another is drawn in the kernel's.

- :class:`MapFigure` keeps its scatter plot while the coordinates stay the same (a change
  of k or algorithm only recolours the points);
- :class:`EvidenceFigure` keeps the evidence for k and only moves the "your k" line;
- the profiles are an HTML table coloured by effect size (instant, sharp at any width).
"""

from __future__ import annotations

import html
import io

import numpy as np
import pandas as pd
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

__all__ = ["DPI", "MapFigure", "EvidenceFigure", "sizes_png", "profiles_html", "png"]

DPI = 100
"""Dots per inch of the explorer's figures (``width`` pixels = ``width / DPI`` inches)."""


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes, at its own size (one drawing, no tight bounding box)."""
    buffer = io.BytesIO()
    # light compression: a third faster to write, and the bytes only travel to this machine's browser
    fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _label(names: dict, s: int) -> str:
    return names.get(s, "unassigned" if s < 0 else f"segment {s}")


class MapFigure:
    """The customer map, coloured by segment; keeps its points while the coordinates stay.

    Parameters
    ----------
    width
        Width in pixels; the height is 0.62 of it.
    max_points
        At most this many customers are drawn (a seeded sample; the legend counts all).
    """

    def __init__(self, width: int = 600, *, max_points: int = 6_000, random_state: int = 0):
        self.width, self.max_points, self.random_state = width, max_points, random_state
        self.fig = Figure(figsize=(width / DPI, 0.62 * width / DPI), dpi=DPI)
        # a fixed layout (the legend in the right 46 %): no layout engine to run at every redraw
        self.ax = self.fig.add_axes((0.01, 0.02, 0.52, 0.88))
        self._key = None
        self._rows = None
        self._points = None

    def render(self, segments: pd.DataFrame, names: dict[int, str], *, key, title: str) -> bytes:
        """PNG of ``segments`` (``segment``, ``x``, ``y``); ``key`` names the coordinates
        (same key: the points are only recoloured)."""
        from seglab.plotting import segment_color

        if key != self._key or self._rows is None or len(self._rows) > len(segments):
            n = len(segments)
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(n, self.max_points, replace=False)) if n > self.max_points else np.arange(n)
            self.ax.clear()
            self._points = self.ax.scatter(segments["x"].to_numpy()[rows], segments["y"].to_numpy()[rows], s=5,
                                           alpha=0.6, linewidths=0)
            self.ax.set_xticks([])
            self.ax.set_yticks([])
            self._key, self._rows = key, rows
        labels = segments["segment"].to_numpy()
        ids = sorted(int(s) for s in np.unique(labels))
        colours = {s: segment_color(s) for s in ids}
        self._points.set_facecolors([colours[int(s)] for s in labels[self._rows]])
        counts = pd.Series(labels).value_counts()
        handles = [Line2D([], [], ls="", marker="o", ms=6, color=colours[s]) for s in ids]
        texts = [f"{_label(names, s)} ({counts[s]:,})" for s in ids]
        self.ax.legend(handles, texts, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
                       handletextpad=0.2, borderaxespad=0.2)
        self.ax.set_title(title, fontsize=10, loc="left")
        return png(self.fig)


def sizes_png(segments: pd.DataFrame, names: dict[int, str], width: int = 600) -> bytes:
    """Customers per segment as horizontal bars with their share (PNG)."""
    import seglab.plotting as splot

    n = segments["segment"].nunique()
    height = 22 * n + 70
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    fig.subplots_adjust(left=250 / width, right=1 - 30 / width, top=1 - 28 / height, bottom=42 / height)
    ax = splot.plot_segment_sizes(segments, names=names, ax=fig.add_subplot())
    ax.title.set_fontsize(10)
    ax.tick_params(labelsize=8)
    ax.xaxis.label.set_fontsize(8)
    return png(fig)


class EvidenceFigure:
    """The evidence for k (:func:`seglab.plotting.plot_k_evidence`, two panels a row), with
    the slider's k marked; a change of k only moves that line."""

    def __init__(self, selection, width: int = 600):
        import matplotlib.pyplot as plt

        import seglab.plotting as splot

        self.selection = selection
        self.fig = splot.plot_k_evidence(selection, ncols=2, panel_size=(width / DPI / 2, 0.36 * width / DPI))
        plt.close(self.fig)  # drawn here only: keep it out of pyplot's list of open figures
        self.lines = [ax.axvline(0, color="#d62728", linestyle="--", linewidth=1, gid="your_k")
                      for ax in self.fig.axes if ax.get_visible() and ax.has_data()]

    def render(self, k: int) -> bytes:
        for line in self.lines:
            line.set_xdata([k, k])
        image = png(self.fig)
        self.fig.set_layout_engine("none")  # laid out once: moving a line changes no margins
        return image


def _colour(effect: float) -> str:
    """Red above the average, blue below (seaborn's "vlag" map, ±2 sd)."""
    import seaborn as sns

    if pd.isna(effect):
        return "#ffffff"
    cmap = sns.color_palette("vlag", as_cmap=True)
    return to_hex(cmap((float(np.clip(effect, -2, 2)) + 2) / 4))


def _number(value: float) -> str:
    if pd.isna(value):
        return ""
    return f"{value:.2g}" if abs(value) < 100 else f"{value:,.0f}"


def profiles_html(personas, *, max_features: int = 14) -> str:
    """The profile heatmap as an HTML table: one row per telling feature, one column per
    segment; each cell the segment's mean, coloured by its difference from all customers
    (standard deviations, red above, blue below)."""
    from seglab.personas.traits import REDUNDANT

    numeric = personas.profiles.numeric
    if numeric.empty:
        return "<p>No numeric features to profile.</p>"
    strength = (numeric[~numeric["feature"].isin(REDUNDANT)].assign(a=lambda d: d["effect"].abs())
                .groupby("feature")["a"].max().sort_values(ascending=False))
    features = list(strength.head(max_features).index)
    effect = numeric.pivot(index="feature", columns="segment", values="effect").loc[features]
    means = numeric.pivot(index="feature", columns="segment", values="mean").loc[features]
    names = personas.names
    head = "".join(f'<th title="{html.escape(names.get(int(s), str(s)))}" style="padding:2px 4px;'
                   f'font-weight:normal;vertical-align:bottom;min-width:48px">'
                   f'<span style="color:{to_hex(_segment_color(int(s)))}">■</span> {int(s)}<br>'
                   f'<small>{html.escape(names.get(int(s), ""))}</small></th>' for s in effect.columns)
    rows = []
    for feature in features:
        cells = "".join(f'<td style="background:{_colour(effect.loc[feature, s])};text-align:right;'
                        f'padding:2px 6px" title="{effect.loc[feature, s]:+.2f} sd">'
                        f'{_number(means.loc[feature, s])}</td>' for s in effect.columns)
        rows.append(f'<tr><th style="text-align:left;font-weight:normal;padding:2px 6px;white-space:nowrap">'
                    f'{html.escape(feature.replace("_", " "))}</th>{cells}</tr>')
    return ('<div class="seglab-profiles" style="overflow-x:auto">'
            '<p style="margin:0 0 4px 0"><b>Segment profiles</b>: each segment\'s mean; colour: difference '
            'from all customers (<span style="background:#a9565a;color:white">&nbsp;above&nbsp;</span> '
            '<span style="background:#2369bd;color:white">&nbsp;below&nbsp;</span>, up to ±2 sd)</p>'
            '<table style="border-collapse:collapse;font-size:12px;line-height:1.3">'
            f'<thead><tr><th></th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def _segment_color(s: int):
    from seglab.plotting import segment_color

    return segment_color(s)
