"""The explorer: an ipywidgets app for JupyterLab on top of :class:`ExplorerModel`.

Controls on the left (features by criterion or name, preprocessing, algorithm, k, map),
views in tabs on the right (map and sizes, evidence for k, profiles, persona cards, one
segment's card and rules). When the row is too narrow for both (below about 1,000 px of
notebook), the tabs go below the controls; the controls never shrink.

Staying fast after every click:

- only the visible tab is drawn; the others are marked stale and drawn when opened;
- figures are drawn at the size they are shown (``width`` pixels), reusing what does not
  change (the map's points, the evidence figure), and sent as PNG images;
- every computation runs in a background thread, so the controls stay usable. Anything
  not done within ``patience`` seconds (a Gaussian mixture, HDBSCAN, k-prototypes, a UMAP
  map, the evidence for k) shows a busy line with the seconds passing; a newer choice
  supersedes it (its result is kept in the cache, not shown);
- while you look at one k, the slider's other stops are computed ahead (k-means,
  mini-batch, k-prototypes).

Errors in a choice (no features left, an algorithm that needs numbers) show in the
status line, not as a traceback; the last good result stays on screen.

"Save parameters" writes the YAML that ``seglab run --config`` accepts; "Export audience"
adds the selected segment's audience files to a folder (other segments' files stay).
Relative paths in both boxes are taken from the project folder (the folder that holds
``reports/``, :func:`seglab.config.reports_dir`).
"""

from __future__ import annotations

import html
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from pathlib import Path

import ipywidgets as w
from IPython.display import display

from seglab.cluster import ALGORITHMS, MAP_METHODS, SCALINGS, SKEWS
from seglab.config import reports_dir
from seglab.exceptions import SeglabError
from seglab.explorer.figures import EvidenceFigure, MapFigure, profiles_html, sizes_png
from seglab.explorer.model import Choice, ExplorerModel, Preview
from seglab.personas.audiences import MIN_AUDIENCE
from seglab.personas.wording import plural

__all__ = ["Explorer", "explore", "next_choices"]

logger = logging.getLogger(__name__)

VIEWS = ("map", "evidence", "profiles", "personas", "segment")
_TITLES = ("Map and sizes", "Evidence for k", "Profiles", "Personas", "Segment")
_PREFETCHED = ("kmeans", "minibatch", "kprototypes")  # fast enough to compute ahead in the background
_SIBLING = {"kmeans": "minibatch", "minibatch": "kmeans"}  # the other k-means: a likely next click


def next_choices(choice: Choice, k_min: int, k_max: int) -> list[Choice]:
    """The choices worth computing while the user looks at ``choice``: the slider's
    neighbours k + 1 and k - 1, the other k-means at this k, then the farther stops.

    >>> [(c.algorithm, c.k) for c in next_choices(Choice(k=4), 2, 6)]
    [('kmeans', 5), ('kmeans', 3), ('minibatch', 4), ('kmeans', 6), ('kmeans', 2)]
    """
    stops = sorted(range(k_min, k_max + 1), key=lambda k: (abs(k - choice.k), -k))
    choices = [replace(choice, k=k) for k in stops if k != choice.k]
    if choice.algorithm in _SIBLING:
        choices.insert(min(2, len(choices)), replace(choice, algorithm=_SIBLING[choice.algorithm]))
    return choices
_CONTROLS_PX = 290


class Explorer:
    """The explorer app; ``widget`` is what JupyterLab shows (``explore()`` returns it).

    The current state is readable from Python: ``choice``, ``preview`` (segments, names,
    cards), ``figures`` (the matplotlib figures last drawn: ``map``, ``evidence``),
    ``texts`` (what the other views show: ``profiles`` as HTML, ``personas`` and
    ``segment`` as Markdown), ``card_text`` (the selected segment's card and rules),
    ``status`` (the last status line), ``stale`` (views to redraw when their tab opens) and
    ``timings`` (seconds of the last update). Changes made from code are computed in the
    background like clicks: :meth:`wait` returns once the screen shows the current choice.
    """

    def __init__(self, model: ExplorerModel, choice: Choice | None = None, *, map_method: str = "pca",
                 k_values=range(2, 11), save_path: str = "explore_params.yaml",
                 audience_folder: str = "reports/audiences", prefetch: bool = True, width: int = 600,
                 patience: float = 0.5):
        self.model = model
        self.prefetch = prefetch
        self.width = int(width)
        self.patience = patience
        choice = choice or Choice()
        self.figures: dict = {}
        self.texts: dict[str, str] = {}
        self.card_text = ""
        self.status = ""
        self.evidence = None
        self.timings: dict[str, float] = {}
        self.preview: Preview | None = None
        self.stale: set[str] = set(VIEWS)
        self._drawn: dict[str, object] = {}
        self._map = MapFigure(self.width)
        self._evidence_figures: dict = {}
        self._jobs = ThreadPoolExecutor(max_workers=3, thread_name_prefix="seglab-explorer")
        self._screen = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seglab-explorer-screen")
        self._screen_thread: threading.Thread | None = None
        self._running = 0
        self._idle = threading.Condition()
        self._busy: tuple | None = None  # (text, started, still_current, future) the busy line shows
        self._updating = False
        self._started = time.perf_counter()
        self.k_values = tuple(k_values)

        style = {"description_width": "72px"}
        self.criteria = w.SelectMultiple(options=model.criteria, value=tuple(c for c in choice.criteria
                                                                              if c in model.criteria),
                                         description="criteria", rows=min(6, max(2, len(model.criteria))),
                                         style=style, layout=w.Layout(width="auto"))
        self.names = w.SelectMultiple(options=model.feature_names, value=choice.names, description="features",
                                      rows=8, style=style, layout=w.Layout(width="auto"))
        self.scaling = w.Dropdown(options=SCALINGS, value=choice.scaling, description="scaling", style=style,
                                  layout=w.Layout(width="auto"))
        self.skew = w.Dropdown(options=SKEWS, value=choice.skew, description="skew", style=style,
                               layout=w.Layout(width="auto"))
        self.algorithm = w.Dropdown(options=ALGORITHMS, value=choice.algorithm, description="algorithm",
                                    style=style, layout=w.Layout(width="auto"))
        self.k = w.IntSlider(value=choice.k, min=min(k_values), max=max(k_values), description="k",
                             continuous_update=False, style=style,  # one update per drag
                             layout=w.Layout(width="auto"))
        self.seed = w.IntText(value=choice.random_state, description="seed", style=style,
                              layout=w.Layout(width="auto"))
        self.map_method = w.Dropdown(options=MAP_METHODS, value=map_method, description="map", style=style,
                                     layout=w.Layout(width="auto"))
        self.evidence_button = w.Button(description="Evidence for k", icon="bar-chart",
                                        tooltip="sweep k: quality and bootstrap stability (takes a while)",
                                        layout=w.Layout(width="auto"))
        self.segment = w.Dropdown(layout=w.Layout(width="auto"))  # the whole column: names are long
        self.save_path = w.Text(value=save_path, description="save to", style=style, layout=w.Layout(width="auto"))
        self.save_button = w.Button(description="Save parameters", icon="save", layout=w.Layout(width="auto"))
        self.audience_folder = w.Text(value=audience_folder, description="export to", style=style,
                                      layout=w.Layout(width="auto"))
        self.export_button = w.Button(description="Export audience", icon="download", layout=w.Layout(width="auto"))
        self.status_line = w.HTML(layout=w.Layout(width="auto"))

        image = dict(format="png", layout=w.Layout(max_width="100%", height="auto"))
        self.images = {"map": w.Image(**image), "sizes": w.Image(**image), "evidence": w.Image(**image)}
        self.evidence_note = w.HTML("<i>Press “Evidence for k” or open this tab: seglab sweeps k and measures "
                                    "quality and bootstrap stability.</i>")
        self.outputs = {"map": w.VBox([self.images["map"], self.images["sizes"]]),
                        "evidence": w.VBox([self.evidence_note, self.images["evidence"]]),
                        "profiles": w.HTML(), "personas": w.Output(), "segment": w.Output()}
        self.tabs = w.Tab(children=[self.outputs[n] for n in VIEWS],
                          layout=w.Layout(flex="1 1 0%", min_width="420px", max_width=f"{self.width + 40}px"))
        self.tabs.titles = _TITLES
        heading = dict(layout=w.Layout(margin="6px 0 0 0"))
        self.controls = w.VBox([w.HTML("<b>Segment on</b>", **heading), self.criteria, self.names,
                                w.HTML("<b>Preprocessing and algorithm</b>", **heading), self.scaling, self.skew,
                                self.algorithm, self.k, self.seed, self.map_method, self.evidence_button,
                                w.HTML("<b>Keep the result</b>", **heading),
                                w.HTML("segment (its card, rules and audience):"), self.segment, self.save_path,
                                self.save_button, self.audience_folder, self.export_button],
                               layout=w.Layout(flex=f"0 0 {_CONTROLS_PX}px", width=f"{_CONTROLS_PX}px",
                                               min_width=f"{_CONTROLS_PX}px", margin="0 12px 8px 0"))
        for name in ("criteria", "names", "scaling", "skew", "algorithm", "k", "seed", "map_method", "segment",
                     "save_path", "audience_folder", "evidence_button", "save_button", "export_button"):
            getattr(self, name).add_class(f"seglab-{name.replace('_', '-')}")  # for tests and styling
        self.controls.add_class("seglab-controls")
        self.tabs.add_class("seglab-views")
        self.status_line.add_class("seglab-status")
        self.widget = w.VBox([w.HBox([self.controls, self.tabs],
                                     layout=w.Layout(flex_flow="row wrap", align_items="flex-start",
                                                     width="100%")),
                              self.status_line], layout=w.Layout(width="auto"))
        self.widget.add_class("seglab-explorer")
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

    @property
    def visible(self) -> str:
        """The view whose tab is open."""
        return VIEWS[self.tabs.selected_index or 0]

    def wait(self, timeout: float = 600) -> Explorer:
        """Wait until every computation and drawing started so far is done (for scripts
        and tests: a change made from code is computed in the background like a click)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                self._screen.submit(lambda: None).result(max(left, 0.01))  # what was queued has run
            except FutureTimeout:
                pass
            with self._idle:
                if not self._running:
                    return self
                while self._running and time.monotonic() < deadline:
                    self._idle.wait(deadline - time.monotonic())
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the explorer is still busy after {timeout} s: {self.status}")

    def _say(self, text: str, *, kind: str = "info") -> None:
        """Set the status line (on the screen thread: see :meth:`_on_screen`)."""
        colour = {"info": "#555", "busy": "#b36b00", "error": "#b00020", "done": "#1b7f3b"}[kind]
        self.status = text
        self.status_line.value = f'<span class="seglab-{kind}" style="color:{colour}">{html.escape(text)}</span>'

    def _done(self, text: str) -> None:
        self._busy = None
        self._say(text, kind="done")

    def _on_screen(self, fn: Callable, *args, wait: bool = False, **kwargs) -> None:
        """Run ``fn`` on the one thread that changes what is shown.

        ipykernel sends each thread's messages through its own pipe, so two threads'
        updates of one widget can reach the browser in either order (a "busy" line could
        arrive after the "done" that followed it). Every view, the status line and the
        segment list are therefore changed from this one thread, in order.
        """
        if threading.current_thread() is self._screen_thread:
            fn(*args, **kwargs)
            return
        future = self._screen.submit(self._guarded, fn, *args, **kwargs)
        if wait:
            future.result()

    def _guarded(self, fn: Callable, *args, **kwargs) -> None:
        self._screen_thread = threading.current_thread()
        try:
            fn(*args, **kwargs)
        except Exception:  # never lose the screen thread; say what failed where the analyst looks
            logger.exception("explorer: drawing failed")
            self._busy = None
            self._say("✗ drawing failed (see the log)", kind="error")

    def _busy_line(self, text: str, started: float, current: Callable[[], bool], future: Future) -> None:
        """Say what is being computed, with the seconds passing, until it is done or superseded
        (runs on the screen thread, like everything that changes the screen)."""
        if future.done() or not current():
            return
        self._busy = (text, started, current, future)
        self._tick()

    def _tick(self) -> None:
        busy = self._busy
        if busy is None or busy[3].done() or not busy[2]():
            return
        text, started = busy[:2]
        self._say(f"⏳ {text}… {time.perf_counter() - started:.0f} s", kind="busy")
        timer = threading.Timer(1.0, self._on_screen, (self._tick,))
        timer.daemon = True
        timer.start()

    # ------------------------------------------------------------------ running things
    def _run(self, what: str, compute: Callable[[], object], then: Callable[[object], None],
             current: Callable[[], bool]) -> None:
        """Compute in the background; show the result (``then``, on the screen thread) if it
        is still wanted (``current()``) when it arrives. Anything not done within
        ``patience`` seconds gets a busy line meanwhile. Never blocks the caller."""
        started = time.perf_counter()
        with self._idle:
            self._running += 1
        future = self._jobs.submit(compute)
        timer = threading.Timer(self.patience, self._on_screen, (self._busy_line, what, started, current, future))
        timer.daemon = True
        timer.start()
        future.add_done_callback(lambda f: self._on_screen(self._finish, f, what, then, current))

    def _finish(self, future: Future, what: str, then: Callable[[object], None],
                current: Callable[[], bool]) -> None:
        try:
            if not current():  # superseded by a newer choice (the result stays cached)
                return
            try:
                then(future.result())
            except SeglabError as err:  # a choice that cannot work: say why, keep the last result
                self._busy = None
                self._say(f"✗ {err}", kind="error")
            except Exception as err:  # a bug: say so where the analyst looks, log the traceback
                logger.exception("explorer: %s failed", what)
                self._busy = None
                self._say(f"✗ {what} failed: {type(err).__name__}: {err}", kind="error")
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    # ------------------------------------------------------------------ reactions
    def update(self) -> None:
        """Segment with the current choice (in the background) and show the result."""
        choice = self.choice
        self._started = time.perf_counter()
        self.model.cancel_prefetch()  # the stops of the last choice: this one needs the processor now
        n = len(self.model.table)
        self._run(f"segmenting {n:,} customers: {choice.algorithm}, k = {choice.k}",
                  lambda: self.model.preview(choice), self._show_preview, lambda: self.choice == choice)

    def _show_preview(self, preview: Preview) -> None:
        self.preview = preview
        self.stale = set(VIEWS)
        counts = preview.segments["segment"].value_counts()
        options = [(f"{s}: {n} ({counts.get(s, 0):,})", s) for s, n in sorted(preview.names.items())]
        keep = self.segment.value if self.segment.value in dict(options).values() else options[0][1]
        self._updating = True
        try:
            self.segment.options = options
            self.segment.value = keep
        finally:
            self._updating = False
        computed = time.perf_counter()
        self.timings = {"compute": computed - self._started}
        self._draw(self.visible)
        if self.prefetch and preview.choice.algorithm in _PREFETCHED:
            # while the user looks: the slider's other stops, nearest first (k + 1, k - 1, k + 2, …)
            self.model.prefetch(next_choices(preview.choice, self.k.min, self.k.max))

    def _summary(self) -> str:
        choice = self.preview.choice
        sizes = self.preview.segments["segment"].value_counts()
        return (f"✓ {plural(sizes.size, 'segment')} of {plural(len(self.model.table), 'customer')} "
                f"({choice.algorithm}, {plural(len(self.preview.segmentation.columns.all), 'feature')}) in "
                f"{time.perf_counter() - self._started:.2f} s")

    def _on_choice(self, change) -> None:
        self.update()

    def _on_map(self, change) -> None:
        self._started = time.perf_counter()
        self.model.cancel_prefetch()  # a new map needs the processor more than the other stops of k
        self._on_screen(self._redraw, "map")

    def _on_tab(self, change) -> None:
        self._started = time.perf_counter()
        self._on_screen(self._redraw, None)

    def _on_segment(self, change) -> None:
        if change["new"] is None or self._updating:
            return
        self._started = time.perf_counter()
        if self.visible == "segment":
            self._on_screen(self._redraw, "segment")
        else:
            self.stale.add("segment")
            self.tabs.selected_index = VIEWS.index("segment")  # choosing a segment shows its card

    def _redraw(self, changed: str | None) -> None:
        """Mark view ``changed`` stale; draw the visible view if it is stale."""
        if changed:
            self.stale.add(changed)
        if self.preview is not None and self.visible in self.stale:
            self._draw(self.visible)

    # ------------------------------------------------------------------ views
    def _view_key(self, name: str) -> tuple:
        """What view ``name`` shows for the current state (drawn again when it changes)."""
        choice = self.preview.choice if self.preview is not None else None
        if name == "map":
            return choice, self.map_method.value
        if name == "evidence":
            return choice, self.k_values
        if name == "segment":
            return choice, self.segment.value
        return (choice,)

    def _draw(self, name: str) -> None:
        """Draw view ``name`` for the preview on screen (its data computed in the background)."""
        key = self._view_key(name)
        preview = self.preview
        if name == "map":
            method = key[1]
            prepare, draw = (lambda: self.model.mapped_segments(preview.choice, method)), self._draw_map
            what = f"drawing the {method} map" + (" (the first UMAP map on a machine compiles for about a minute)"
                                                  if method == "umap" else "")
        elif name == "evidence":
            prepare, draw = (lambda: self.model.evidence(preview.choice, self.k_values)), self._draw_evidence
            what = f"measuring quality and stability for k = {self.k_values[0]}…{self.k_values[-1]}"
        else:
            prepare = lambda: preview  # noqa: E731
            draw = {"profiles": self._draw_profiles, "personas": self._draw_personas,
                    "segment": self._draw_segment}[name]
            what = f"drawing the {name}"

        def then(data) -> None:
            started = time.perf_counter()
            draw(data)
            self._drawn[name] = key
            self.stale.discard(name)
            self.timings.update(draw=time.perf_counter() - started, total=time.perf_counter() - self._started)
            self._done(self._done_text(name))

        self._run(what, prepare, then, lambda: self._view_key(name) == key and self.preview is preview)

    def _done_text(self, name: str) -> str:
        if name == "evidence" and self.evidence is not None:
            return (f"✓ the evidence suggests k = {self.evidence.k} ({self.evidence.rule}); the dashed line is "
                    f"your k = {self.k.value}")
        return self._summary()

    def _draw_map(self, segments) -> None:
        method = self.map_method.value
        title = f"Customer map ({method.upper()}; nearby customers are similar)"
        self.images["map"].value = self._map.render(segments, self.preview.names,
                                                    key=(self.preview.choice.preprocessing_key, method),
                                                    title=title)
        self.images["sizes"].value = sizes_png(segments, self.preview.names, self.width)
        self.figures["map"] = self._map.fig

    def _draw_evidence(self, selection) -> None:
        key = self.model._evidence_key(self.preview.choice, self.k_values, 5)
        figure = self._evidence_figures.get(key)
        if figure is None:
            figure = self._evidence_figures[key] = EvidenceFigure(selection, self.width)
        self.images["evidence"].value = figure.render(self.k.value)
        self.evidence_note.value = ""
        self.figures["evidence"] = figure.fig
        self.evidence = selection

    def _draw_profiles(self, preview: Preview) -> None:
        self.texts["profiles"] = profiles_html(preview.personas)
        self.outputs["profiles"].value = self.texts["profiles"]

    def _draw_personas(self, preview: Preview) -> None:
        choice = preview.choice
        about = ", ".join(str(self.model.meta[k]) for k in ("dataset", "period") if k in self.model.meta)
        heading = (f"# Personas: {len(preview.personas.cards)} segments of {len(self.model.table):,} customers"
                   f"{f' ({about})' if about else ''}, {choice.algorithm}")
        text = "\n\n".join([heading] + [card.to_markdown() for card in preview.personas.cards])
        self.texts["personas"] = text
        self.outputs["personas"].outputs = (_markdown(text),)

    def _draw_segment(self, preview: Preview) -> None:
        """The selected segment's card at once; its rules follow (they take longer)."""
        segment = self.segment.value
        if segment is None:
            return
        card = preview.personas.card(segment).to_markdown()
        self._show_card(card + "\n\n**Who belongs (rules)**\n\n*finding rules that explain this segment…*")
        choice = preview.choice
        self._run("explaining the segment with rules", lambda: self.model.rules(choice),
                  lambda rules: self._show_rules(card, segment, rules),
                  lambda: self.preview is preview and self.segment.value == segment)

    def _show_rules(self, card: str, segment: int, rules) -> None:
        mine = rules.rules[rules.rules["segment"] == segment]
        lines = [card, "", "**Who belongs (rules)**", ""]
        lines += [f"- {r['rule']} ({r['customers']:,} customers, precision {r['precision']:.0%})"
                  for _, r in mine.iterrows()] or ["- no rule separates this segment well"]
        summary = rules.summary.set_index("segment")
        if segment in summary.index:
            lines += ["", f"Rules agree with the segment for {summary.loc[segment, 'fidelity']:.0%} of its "
                          f"customers (coverage {summary.loc[segment, 'coverage']:.0%})."]
        self._show_card("\n".join(lines))

    def _show_card(self, text: str) -> None:
        self.card_text = self.texts["segment"] = text
        self.outputs["segment"].outputs = (_markdown(text),)

    # ------------------------------------------------------------------ buttons
    def show_evidence(self) -> None:
        """Sweep k for the current columns, preprocessing and algorithm, and show the evidence
        (cached: once computed, it follows every change of k)."""
        if self.visible == "evidence":
            self._on_screen(self._redraw, "evidence")
        else:
            self.tabs.selected_index = VIEWS.index("evidence")

    def _project_path(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else reports_dir().parent / path

    def save(self) -> Path | None:
        """Write the parameters YAML (``seglab run --config``) to the "save to" path."""
        try:
            path = self.model.save_parameters(self.choice, self._project_path(self.save_path.value),
                                              map_method=self.map_method.value)
        except SeglabError as err:
            self._on_screen(self._say, f"✗ {err}", wait=True, kind="error")
            return None
        self._on_screen(self._done, f"✓ saved: seglab run --config {_shown(path)}", wait=True)
        return path

    def export(self) -> dict | None:
        """Add the selected segment's audience to the "export to" folder (the other
        segments' files there stay; ``manifest.json`` lists them all)."""
        folder = self._project_path(self.audience_folder.value)
        segment = self.segment.value
        try:
            manifest = self.model.export_audience(self.choice, segment, folder)
        except SeglabError as err:
            self._on_screen(self._say, f"✗ {err}", wait=True, kind="error")
            return None
        entry = next(e for e in manifest["segments"] if e["segment"] == segment)
        if entry["exported"]:
            self._on_screen(self._done, f"✓ {entry['customers']:,} customers of {entry['name']} → "
                                        f"{_shown(folder / entry['file'])}", wait=True)
        else:
            self._on_screen(self._say, f"✗ not exported: {entry.get('note', '')}", wait=True, kind="error")
        return manifest

    def _ipython_display_(self):  # so that a bare `app` in a cell shows the app
        display(self.widget)


def _shown(path: Path) -> str:
    """``path`` relative to the project folder when inside it (as a command there takes it)."""
    try:
        return str(Path(path).resolve().relative_to(reports_dir().parent.resolve()))
    except ValueError:
        return str(path)


def _markdown(text: str) -> dict:
    """An output widget's content showing Markdown (set from any thread, unlike ``with out:``)."""
    return {"output_type": "display_data", "data": {"text/markdown": text, "text/plain": text}, "metadata": {}}


def explore(features, *, customers=None, outcomes=None, choice: Choice | None = None, map_method: str = "pca",
            k_values=range(2, 11), min_audience: int = MIN_AUDIENCE, prefetch: bool = True, width: int = 600,
            **choices) -> Explorer:
    """Open the explorer on a feature table (a :class:`~seglab.features.FeatureSet`).

    Parameters
    ----------
    features
        The customers to segment, e.g. ``FeatureSet.read(run.artifacts)``.
    customers
        The canonical customer table, for ad-platform audiences (optional).
    outcomes
        Campaign results and feedback (:func:`seglab.explorer.load_outcomes`, optional): each
        persona card then shows its segment's response rate and NPS.
    choice, **choices
        Where to start: a :class:`Choice` or its fields (``k=5, algorithm="gmm"``).
    map_method
        ``"pca"`` (instant) or ``"umap"`` (better separated; computed once per feature set).
    prefetch
        Compute the segments of the slider's other k in the background while you look at
        one (nearest first), so that moving the slider is instant.
    width
        Width of the figures in pixels. The default fits JupyterLab in a 1,400 px wide
        window with the file browser open, beside the controls.

    Examples
    --------
    >>> app = seglab.explore(seglab.features.FeatureSet.read(run.artifacts), k=5)   # doctest: +SKIP
    >>> app                                                                          # doctest: +SKIP
    """
    model = ExplorerModel(features, customers=customers, outcomes=outcomes, min_audience=min_audience)
    return Explorer(model, choice or Choice(**choices), map_method=map_method, k_values=k_values,
                    prefetch=prefetch, width=width)
