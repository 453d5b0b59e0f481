"""The explorer: an ipywidgets app for JupyterLab on top of :class:`ExplorerModel`.

Controls on the left (features by criterion or name, preprocessing, algorithm, k, map),
views on the right (map and sizes, evidence for k, profiles, persona cards, one segment's
card and rules), updated together. The k slider only reports when released, so a drag is
one update; anything slow (a new map, the evidence for k, a Gaussian mixture on many
customers) shows a busy line until it is done. Errors in a choice (no features left, an
algorithm that needs numbers) show in the status line, not as a traceback.

"Save parameters" writes the YAML that ``seglab run --config`` accepts; "Export audience"
writes the selected segment's audience files.
"""

from __future__ import annotations

import html
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import ipywidgets as w
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from seglab.cluster.segmenter import ALGORITHMS
from seglab.exceptions import SeglabError
from seglab.explorer.model import MAP_METHODS, SCALINGS, SKEWS, Choice, ExplorerModel, Preview
from seglab.personas.audiences import MIN_AUDIENCE

__all__ = ["Explorer", "explore"]

_EVIDENCE_TAB, _PROFILES_TAB, _SEGMENT_TAB = 1, 2, 4
_PREFETCHED = ("kmeans", "minibatch", "kprototypes")  # fast enough to compute ahead in the background


class Explorer:
    """The explorer app; ``widget`` is what JupyterLab shows (``explore()`` returns it).

    The current state is readable from Python: ``choice``, ``preview`` (segments, names,
    cards), ``figures`` (the matplotlib figures last drawn, by view), ``card_text`` (the
    selected segment's card and rules, as Markdown), ``status`` (the last status line) and
    ``timings`` (seconds of the last update).
    """

    def __init__(self, model: ExplorerModel, choice: Choice | None = None, *, map_method: str = "pca",
                 k_values=range(2, 11), save_path: str = "explore_params.yaml", audience_folder: str = "audiences",
                 prefetch: bool = True):
        self.model = model
        self.prefetch = prefetch
        choice = choice or Choice()
        self.figures: dict[str, plt.Figure] = {}
        self.card_text = ""
        self.status = ""
        self.evidence = None
        self._profiles_stale = False  # the heatmap is redrawn when its tab opens
        self.timings: dict[str, float] = {}
        self.preview: Preview | None = None
        self._updating = False
        style = {"description_width": "90px"}
        layout = w.Layout(width="290px")
        self.criteria = w.SelectMultiple(options=model.criteria, value=tuple(c for c in choice.criteria
                                                                              if c in model.criteria),
                                         description="criteria", rows=min(6, max(2, len(model.criteria))),
                                         style=style, layout=layout)
        self.names = w.SelectMultiple(options=model.feature_names, value=choice.names, description="features",
                                      rows=8, style=style, layout=layout)
        self.scaling = w.Dropdown(options=SCALINGS, value=choice.scaling, description="scaling", style=style,
                                  layout=layout)
        self.skew = w.Dropdown(options=SKEWS, value=choice.skew, description="skew", style=style, layout=layout)
        self.algorithm = w.Dropdown(options=ALGORITHMS, value=choice.algorithm, description="algorithm",
                                    style=style, layout=layout)
        self.k = w.IntSlider(value=choice.k, min=min(k_values), max=max(k_values), description="k",
                             continuous_update=False, style=style, layout=layout)  # one update per drag
        self.map_method = w.Dropdown(options=MAP_METHODS, value=map_method, description="map", style=style,
                                     layout=layout)
        self.seed = w.IntText(value=choice.random_state, description="seed", style=style, layout=layout)
        self.status_line = w.HTML()
        self.evidence_button = w.Button(description="Evidence for k", icon="bar-chart",
                                        tooltip="sweep k: quality and bootstrap stability (takes a while)")
        self.k_values = tuple(k_values)
        self.segment = w.Dropdown(description="segment", style=style, layout=layout)
        self.save_path = w.Text(value=save_path, description="save to", style=style, layout=layout)
        self.save_button = w.Button(description="Save parameters", icon="save")
        self.audience_folder = w.Text(value=audience_folder, description="export to", style=style, layout=layout)
        self.export_button = w.Button(description="Export audience", icon="download")
        self.outputs = {name: w.Output() for name in ("map", "evidence", "profiles", "personas", "segment")}
        self.tabs = tabs = w.Tab(children=[self.outputs[n] for n in self.outputs])
        for i, title in enumerate(("Map and sizes", "Evidence for k", "Profiles", "Personas", "Segment")):
            tabs.set_title(i, title)
        controls = w.VBox([w.HTML("<b>Segment on</b>"), self.criteria, self.names,
                           w.HTML("<b>Preprocessing and algorithm</b>"), self.scaling, self.skew, self.algorithm,
                           self.k, self.seed, self.map_method, self.evidence_button,
                           w.HTML("<b>Keep the result</b>"), self.segment, self.save_path, self.save_button,
                           self.audience_folder, self.export_button])
        self.widget = w.VBox([w.HBox([controls, tabs]), self.status_line])
        for control in (self.criteria, self.names, self.scaling, self.skew, self.algorithm, self.k, self.seed):
            control.observe(self._on_choice, names="value")
        self.map_method.observe(self._on_map, names="value")
        self.segment.observe(self._on_segment, names="value")
        self.tabs.observe(self._on_tab, names="selected_index")
        self.evidence_button.on_click(lambda _: self.show_evidence())
        self.save_button.on_click(lambda _: self.save())
        self.export_button.on_click(lambda _: self.export())
        self.update()

    # ------------------------------------------------------------------ state
    @property
    def choice(self) -> Choice:
        return Choice(criteria=self.criteria.value, names=self.names.value, algorithm=self.algorithm.value,
                      k=self.k.value, scaling=self.scaling.value, skew=self.skew.value,
                      random_state=self.seed.value)

    def _say(self, text: str, *, kind: str = "info") -> None:
        colour = {"info": "#555", "busy": "#b36b00", "error": "#b00020", "done": "#1b7f3b"}[kind]
        self.status = text
        self.status_line.value = f'<span style="color:{colour}">{html.escape(text)}</span>'

    @contextmanager
    def _busy(self, what: str):
        """Say what is being computed while it is (the line reaches the browser at once)."""
        self._say(f"⏳ {what}…", kind="busy")
        try:
            yield
        except SeglabError as err:  # a choice that cannot work: say why, keep the last result
            self._say(f"✗ {err}", kind="error")
            raise _Reported from None

    # ------------------------------------------------------------------ views
    def _show(self, name: str, fig) -> None:
        fig = getattr(fig, "figure", fig)
        self.figures[name] = fig
        out = self.outputs[name]
        out.clear_output(wait=True)
        with out:
            display(fig)
        plt.close(fig)

    def _show_markdown(self, name: str, text: str) -> None:
        out = self.outputs[name]
        out.clear_output(wait=True)
        with out:
            display(Markdown(text))

    def _draw_map(self) -> None:
        import seglab.plotting as splot

        with self.outputs["map"]:  # a new UMAP map takes a while: its progress bar shows here
            segments = self.model.mapped_segments(self.choice, self.map_method.value,
                                                  progress=self.map_method.value == "umap")
        fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), width_ratios=(3, 2))
        splot.plot_segment_map(segments, names=self.preview.names, ax=left, max_points=8_000)
        splot.plot_segment_sizes(segments, names=self.preview.names, ax=right)
        fig.tight_layout()
        self._show("map", fig)

    def _draw_profiles(self) -> None:
        import seglab.plotting as splot

        self._show("profiles", splot.plot_profile_heatmap(self.preview.personas))
        self._profiles_stale = False

    def _draw_cards(self) -> None:
        self._show_markdown("personas", self.preview.personas.to_markdown())

    def _draw_segment(self, *, with_rules: bool = True) -> None:
        """The selected segment's card; its rules too unless ``with_rules`` is False (the
        rules take longer, so a change of k computes them only when this tab is open)."""
        segment = self.segment.value
        if segment is None or self.preview is None:
            return
        lines = [self.preview.personas.card(segment).to_markdown(), "", "**Who belongs (rules)**", ""]
        if with_rules:
            rules = self.model.rules(self.choice)
            mine = rules.rules[rules.rules["segment"] == segment]
            lines += [f"- {r['rule']} ({r['customers']:,} customers, precision {r['precision']:.0%})"
                      for _, r in mine.iterrows()] or ["- no rule separates this segment well"]
            summary = rules.summary.set_index("segment")
            if segment in summary.index:
                lines += ["", f"Rules agree with the segment for {summary.loc[segment, 'fidelity']:.0%} of its "
                              f"customers (coverage {summary.loc[segment, 'coverage']:.0%})."]
        else:
            lines.append("(open this tab or choose the segment to see its rules)")
        self.card_text = "\n".join(lines)
        self._show_markdown("segment", self.card_text)

    # ------------------------------------------------------------------ reactions
    def update(self) -> None:
        """Recompute for the current choice and redraw every view."""
        started = time.perf_counter()
        choice = self.choice
        try:
            with self._busy(f"segmenting {len(self.model.table):,} customers: {choice.algorithm}, k = {choice.k}"):
                self.preview = self.model.preview(choice)
                computed = time.perf_counter()
                self._draw_map()
                if self.tabs.selected_index == _PROFILES_TAB:
                    self._draw_profiles()
                else:  # drawn when its tab opens: the heatmap is the slowest figure to render
                    self._profiles_stale = True
                self._draw_cards()
                options = [(f"{s}: {n}", s) for s, n in sorted(self.preview.names.items())]
                keep = self.segment.value if self.segment.value in dict(options).values() else options[0][1]
                self._updating = True
                try:
                    self.segment.options = options
                    self.segment.value = keep
                finally:
                    self._updating = False
                self._draw_segment(with_rules=self.tabs.selected_index == _SEGMENT_TAB)
                if self.tabs.selected_index == _EVIDENCE_TAB or self.model.has_evidence(choice, self.k_values):
                    self._draw_evidence()  # open or already computed: keep it in step
        except _Reported:
            return
        done = time.perf_counter()
        self.timings = {"compute": computed - started, "draw": done - computed, "total": done - started}
        sizes = self.preview.segments["segment"].value_counts()
        if self.prefetch and choice.algorithm in _PREFETCHED:
            # while the user looks: the slider's other stops, nearest first (k + 1, k - 1, k + 2, …)
            stops = sorted(range(self.k.min, self.k.max + 1), key=lambda k: (abs(k - choice.k), -k))
            self.model.prefetch([replace(choice, k=k) for k in stops if k != choice.k])
        self._say(f"✓ {sizes.size} segments of {len(self.model.table):,} customers ({choice.algorithm}, "
                  f"{len(self.preview.segmentation.columns.all)} features) in {done - started:.2f} s", kind="done")

    def _on_choice(self, change) -> None:
        self.update()

    def _on_map(self, change) -> None:
        try:
            with self._busy(f"drawing the {change['new']} map (computed once, then cached)"):
                self._draw_map()
        except _Reported:
            return
        self._say(f"✓ {change['new']} map", kind="done")

    def _on_tab(self, change) -> None:
        if change["new"] == _PROFILES_TAB and self._profiles_stale and self.preview is not None:
            try:
                with self._busy("drawing the profiles"):
                    self._draw_profiles()
            except _Reported:
                return
            self._say("✓ profiles", kind="done")
        elif change["new"] == _SEGMENT_TAB:
            self._on_segment({"new": self.segment.value})
        elif change["new"] == _EVIDENCE_TAB and "evidence" not in self.figures:
            self.show_evidence()

    def _on_segment(self, change) -> None:
        if change["new"] is None or self._updating:
            return
        try:
            with self._busy("explaining the segment with rules"):
                self._draw_segment()
        except _Reported:
            return
        self._say(f"✓ segment {change['new']}: {self.preview.names.get(change['new'], '')}", kind="done")

    def _draw_evidence(self) -> None:
        """The evidence for k, with the slider's k marked on every panel."""
        import seglab.plotting as splot

        with self.outputs["evidence"]:  # the sweep's progress bar shows in its tab
            selection = self.model.evidence(self.choice, self.k_values, progress=True)
        fig = splot.plot_k_evidence(selection)
        for ax in fig.axes:
            if ax.get_visible() and ax.has_data():
                ax.axvline(self.k.value, color="#d62728", linestyle="--", linewidth=1, gid="your_k")
        self._show("evidence", fig)
        self.evidence = selection

    def show_evidence(self) -> None:
        """Sweep k for the current columns, preprocessing and algorithm, and draw the evidence
        (cached: once computed, it follows every change of k)."""
        try:
            with self._busy(f"measuring quality and stability for k = {self.k_values[0]}…{self.k_values[-1]}"):
                self._draw_evidence()
        except _Reported:
            return
        self._say(f"✓ the evidence suggests k = {self.evidence.k} ({self.evidence.rule}); the dashed line is "
                  f"your k = {self.k.value}", kind="done")

    def save(self) -> Path | None:
        """Write the parameters YAML (``seglab run --config``) to the "save to" path."""
        try:
            with self._busy("saving the parameters"):
                path = self.model.save_parameters(self.choice, self.save_path.value, map_method=self.map_method.value)
        except _Reported:
            return None
        self._say(f"✓ saved: seglab run --config {path}", kind="done")
        return path

    def export(self) -> dict | None:
        """Export the selected segment's audience into the "export to" folder."""
        try:
            with self._busy(f"exporting segment {self.segment.value}"):
                manifest = self.model.export_audience(self.choice, self.segment.value, self.audience_folder.value)
        except _Reported:
            return None
        entry = manifest["segments"][0]
        if entry["exported"]:
            self._say(f"✓ {entry['customers']:,} customers of {entry['name']} → "
                      f"{Path(self.audience_folder.value) / entry['file']}", kind="done")
        else:
            self._say(f"✗ not exported: {entry.get('note', '')}", kind="error")
        return manifest

    def _ipython_display_(self):  # so that a bare `app` in a cell shows the app
        display(self.widget)


class _Reported(Exception):
    """An error already shown in the status line."""


def explore(features, *, customers=None, outcomes=None, choice: Choice | None = None, map_method: str = "pca",
            k_values=range(2, 11), min_audience: int = MIN_AUDIENCE, prefetch: bool = True,
            **choices) -> Explorer:
    """Open the explorer on a feature table (a :class:`~seglab.features.FeatureSet`).

    Parameters
    ----------
    features
        The customers to segment, e.g. ``FeatureSet.read(run.artifacts)``.
    customers
        The canonical customer table, for ad-platform audiences (optional).
    outcomes
        Campaign results and feedback (:func:`seglab.measure.load_outcomes`, optional): each
        persona card then shows its segment's response rate and NPS.
    choice, **choices
        Where to start: a :class:`Choice` or its fields (``k=5, algorithm="gmm"``).
    map_method
        ``"pca"`` (instant) or ``"umap"`` (better separated; computed once per feature set).
    prefetch
        Compute the segments of the slider's other k in the background while you look at
        one (nearest first), so that moving the slider is instant.

    Examples
    --------
    >>> app = seglab.explore(seglab.features.FeatureSet.read(run.artifacts), k=5)   # doctest: +SKIP
    >>> app                                                                          # doctest: +SKIP
    """
    model = ExplorerModel(features, customers=customers, outcomes=outcomes, min_audience=min_audience)
    return Explorer(model, choice or Choice(**choices), map_method=map_method, k_values=k_values,
                    prefetch=prefetch)
