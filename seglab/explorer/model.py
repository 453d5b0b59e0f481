"""What the explorer computes, without widgets: segmentations, previews, maps, evidence.

:class:`ExplorerModel` answers "what do the segments look like with these choices?" for
one feature table, fast enough to follow a slider: everything is cached by the choices it
depends on (the chosen columns, ordered and preprocessed customers and the map by the
columns and preprocessing, the segments by the full :class:`Choice`, the evidence for k
by everything but k), so going back to an earlier choice is instant and a change of k or
of the algorithm recomputes only the fit, the segments and their profiles.

The segments are exactly those ``seglab run`` gives with the same parameters: the model
calls :func:`seglab.cluster.segment`, and :meth:`Choice.parameters` is the ``--config``
that reproduces them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import yaml

from seglab._io import write_text
from seglab._validation import check_choice
from seglab.cluster import (ALGORITHMS, MAP_METHODS, SCALINGS, SKEWS, Preprocessor, PreparedSegmentation,
                            Segmentation, SelectionRule, choose_k, prepare_segmentation, segment)
from seglab.cluster.columns import SegmentationColumns
from seglab.cluster.embedding import embed
from seglab.exceptions import InputError, ParameterError
from seglab.measure.scores import attach_scores
from seglab.personas import Personas, build_personas
from seglab.personas.audiences import MIN_AUDIENCE, export_audiences
from seglab.personas.rules import SegmentRules, explain_segments

__all__ = ["Choice", "ExplorerModel", "Preview", "load_features", "load_outcomes"]


@dataclass(frozen=True)
class Choice:
    """One set of segmentation choices (the cluster notebook's parameters of the same names)."""

    criteria: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    algorithm: str = "kmeans"
    k: int = 4
    scaling: str = "robust"
    skew: str = "auto"
    random_state: int = 0

    def __post_init__(self):
        check_choice(self.algorithm, ALGORITHMS, name="algorithm")
        check_choice(self.scaling, SCALINGS, name="scaling")
        check_choice(self.skew, SKEWS, name="skew")
        object.__setattr__(self, "criteria", tuple(self.criteria))
        object.__setattr__(self, "names", tuple(self.names))

    def preprocessor(self) -> Preprocessor:
        """The preprocessing this choice asks for (unfitted)."""
        return Preprocessor(skew=self.skew, scaling=self.scaling)

    @property
    def preprocessing_key(self) -> tuple:
        return self.criteria, self.names, self.scaling, self.skew, self.random_state

    def parameters(self, map_method: str = "pca") -> dict:
        """The ``seglab run --config`` parameters that give these segments."""
        return {"criteria": list(self.criteria), "names": list(self.names), "k": int(self.k),
                "algorithms": [self.algorithm], "scaling": self.scaling, "skew": self.skew,
                "random_state": int(self.random_state), "map_method": map_method}

    @classmethod
    def from_parameters(cls, params: dict) -> Choice:
        """The choice a ``--config`` mapping describes (the inverse of :meth:`parameters`)."""
        algorithms = params.get("algorithms") or ["kmeans"]
        return cls(criteria=tuple(params.get("criteria") or ()), names=tuple(params.get("names") or ()),
                   algorithm=algorithms[0], k=int(params.get("k") or cls.k), scaling=params.get("scaling", "robust"),
                   skew=params.get("skew", "auto"), random_state=int(params.get("random_state", 0)))


@dataclass
class Preview:
    """The segments of one choice with a quick persona preview (profiles, names, cards)."""

    choice: Choice
    segmentation: Segmentation
    personas: Personas
    seconds: dict = field(default_factory=dict)

    @property
    def segments(self) -> pd.DataFrame:
        return self.segmentation.segments

    @property
    def names(self) -> dict[int, str]:
        return self.personas.names


class _Cache(OrderedDict):
    """A small least-recently-used cache of futures, safe to fill from two threads.

    The first caller of a key computes it (in its own thread, or in the prefetch thread);
    later callers wait for that result instead of computing it again. A failed
    computation is forgotten, so asking again raises again.
    """

    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def claim(self, key) -> tuple[Future, bool]:
        """The future for ``key`` and whether the caller must compute it."""
        with self.lock:
            if key in self and not self[key].cancelled():
                self.move_to_end(key)
                return self[key], False
            future = self[key] = Future()
            while len(self) > self.size:
                self.popitem(last=False)
            return future, True

    def fill(self, key, future: Future, compute) -> None:
        try:
            future.set_result(compute())
        except BaseException as err:
            with self.lock:
                self.pop(key, None)
            future.set_exception(err)

    def get_or(self, key, compute):
        while True:
            future, mine = self.claim(key)
            if mine:
                self.fill(key, future, compute)
            try:
                return future.result()
            except CancelledError:  # a prefetch given up before it started: compute it now
                continue

    def drop(self, key, future: Future) -> None:
        """Forget ``future`` (not started) so that the next caller computes ``key``."""
        with self.lock:
            if self.get(key) is future:
                self.pop(key)
        future.cancel()


class ExplorerModel:
    """Cached segmentations of one feature table, for interactive exploration.

    Parameters
    ----------
    features
        A :class:`~seglab.features.FeatureSet` (its dictionary lets you choose features by
        criterion) or a feature table with ``customer_id``.
    customers
        The canonical customer table (optional): its e-mail hashes feed the ad-platform
        audience files.
    outcomes
        Campaign results and feedback per customer (:class:`seglab.measure.Outcomes`,
        optional): the persona cards then show each segment's response rate and NPS.
    min_audience
        Smallest exported audience.
    """

    def __init__(self, features, *, customers: pd.DataFrame | None = None, outcomes=None,
                 min_audience: int = MIN_AUDIENCE, cache_size: int = 32):
        self.features = features
        self.table: pd.DataFrame = getattr(features, "features", features)
        if not isinstance(self.table, pd.DataFrame) or "customer_id" not in self.table:
            raise InputError("explore needs a FeatureSet or a feature table with a customer_id column; "
                             f"got {type(self.table).__name__}. Build one with seglab.features.build_features "
                             "or read a run's with seglab.features.FeatureSet.read(run.artifacts)")
        self.dictionary = getattr(features, "dictionary", None)
        meta = self.dictionary.meta if self.dictionary is not None else {}
        self.meta = {key: meta[key] for key in ("dataset", "period") if meta.get(key)}
        """What the features are of (``dataset``, ``period``) when known, for headings."""
        self.customers = customers
        self.outcomes = outcomes
        self.min_audience = min_audience
        self._previews = _Cache(cache_size)
        # the chosen columns and preprocessed customers, by columns and preprocessing: the
        # last two (the matrix is 0.8 GB at 1 M customers and 100 preprocessed columns)
        self._prepared = _Cache(2)
        self._maps = _Cache(8)
        self._evidence = _Cache(8)
        self._rules = _Cache(cache_size)
        self._prefetcher: ThreadPoolExecutor | None = None
        self._queued: list[tuple[Future, Choice, Future]] = []  # prefetches: (job, choice, cached result)

    # ------------------------------------------------------------------ what can be chosen
    @property
    def criteria(self) -> list[str]:
        """The criteria the feature dictionary knows (value, behaviour, demographic, …)."""
        if self.dictionary is None:
            return []
        return sorted({f.criterion for f in self.dictionary.features if f.criterion and f.name in self.table})

    @property
    def feature_names(self) -> list[str]:
        return [c for c in self.table.columns if c != "customer_id"]

    # ------------------------------------------------------------------ computations
    def _arguments(self, choice: Choice) -> dict:
        """The column and preprocessing arguments of :func:`segment` for ``choice``."""
        return {"criteria": list(choice.criteria) or None, "names": list(choice.names) or None,
                "preprocessor": choice.preprocessor(), "random_state": choice.random_state}

    def prepared(self, choice: Choice) -> PreparedSegmentation:
        """The columns and preprocessed customers of ``choice`` (cached by its columns and
        preprocessing: another k or algorithm reuses them; k-prototypes has its own)."""
        unencoded = choice.algorithm == "kprototypes"
        return self._prepared.get_or((choice.preprocessing_key, unencoded), lambda: prepare_segmentation(
            self.features, algorithm=choice.algorithm, **self._arguments(choice)))

    def _segment(self, choice: Choice) -> Segmentation:
        return segment(self.features, k=choice.k, algorithms=[choice.algorithm], prepared=self.prepared(choice),
                       **self._arguments(choice))

    def preview(self, choice: Choice) -> Preview:
        """Segments, profiles, names and cards of ``choice`` (cached)."""
        return self._previews.get_or(choice, lambda: self._compute_preview(choice))

    def _compute_preview(self, choice: Choice) -> Preview:
        started = time.perf_counter()
        seg = self._segment(choice)
        middle = time.perf_counter()
        personas = build_personas(self.features, seg, explain=False, min_audience=self.min_audience,
                                  meta=self.meta)
        attach_scores(personas, seg.segments, self.outcomes)
        return Preview(choice, seg, personas, seconds={"segment": middle - started,
                                                       "personas": time.perf_counter() - middle})

    def has_preview(self, choice: Choice) -> bool:
        """Whether :meth:`preview` of ``choice`` is computed already (so showing it is free)."""
        return _ready(self._previews, choice)

    def has_coordinates(self, choice: Choice, method: str = "pca") -> bool:
        """Whether the map for ``choice``'s columns and preprocessing is computed already."""
        return _ready(self._maps, (choice.preprocessing_key, method))

    def prefetch(self, choices) -> list[Future]:
        """Compute these choices' previews in a background thread (e.g. k - 1 and k + 1
        while the user looks at k), so that moving there is instant."""
        if self._prefetcher is None:
            self._prefetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seglab-prefetch")
        futures = []
        for choice in choices:
            future, mine = self._previews.claim(choice)
            if mine:
                job = self._prefetcher.submit(self._previews.fill, choice, future,
                                              lambda c=choice: self._compute_preview(c))
                self._queued.append((job, choice, future))
            futures.append(future)
        return futures

    def cancel_prefetch(self) -> int:
        """Give up the prefetches not started yet (a new choice needs the processor more);
        returns how many. Asking for one of them later computes it then."""
        cancelled = 0
        for job, choice, future in self._queued:
            if job.cancel():
                self._previews.drop(choice, future)
                cancelled += 1
        self._queued = [q for q in self._queued if not q[0].done()]
        return cancelled

    def columns(self, choice: Choice) -> SegmentationColumns:
        return self.preview(choice).segmentation.columns

    def coordinates(self, choice: Choice, method: str = "pca", *, progress: bool = False) -> pd.DataFrame:
        """Map coordinates (``customer_id``, ``x``, ``y``); they depend on the columns and
        preprocessing only, so changing k or the algorithm reuses them."""
        check_choice(method, MAP_METHODS, name="map method")

        def compute() -> pd.DataFrame:
            seg = self.preview(choice).segmentation
            Z = seg.model.transform(self.table[seg.columns.all])
            coords = embed(Z, method=method, random_state=choice.random_state, progress=progress)
            return pd.DataFrame({"customer_id": self.table["customer_id"].to_numpy(),
                                 "x": coords["x"].to_numpy(), "y": coords["y"].to_numpy()})

        return self._maps.get_or((choice.preprocessing_key, method), compute)

    def mapped_segments(self, choice: Choice, method: str = "pca", *, progress: bool = False) -> pd.DataFrame:
        """``segments`` with the map coordinates."""
        coords = self.coordinates(choice, method, progress=progress)
        segments = self.preview(choice).segments
        return segments.assign(x=coords["x"].to_numpy(), y=coords["y"].to_numpy())

    def evidence(self, choice: Choice, k_values=range(2, 9), *, n_bootstrap: int = 5, progress: bool = False):
        """The evidence for k (quality and stability, :func:`~seglab.cluster.choose_k`) for
        the choice's columns, preprocessing and algorithm (cached; k itself does not matter)."""
        k_values = tuple(int(k) for k in k_values)

        def compute():
            seg = self.preview(choice).segmentation  # the same columns, groups and preprocessing
            return choose_k(self.table[seg.columns.all], k_values=k_values, algorithms=[choice.algorithm],
                            preprocessor=seg.model.preprocessor, rule=SelectionRule(n_bootstrap=n_bootstrap),
                            random_state=choice.random_state, progress=progress)

        return self._evidence.get_or(self._evidence_key(choice, k_values, n_bootstrap), compute)

    @staticmethod
    def _evidence_key(choice: Choice, k_values, n_bootstrap: int) -> tuple:
        return replace(choice, k=0), tuple(int(k) for k in k_values), n_bootstrap

    def has_evidence(self, choice: Choice, k_values=range(2, 9), *, n_bootstrap: int = 5) -> bool:
        """Whether :meth:`evidence` for ``choice`` is computed already (so showing it is free)."""
        return _ready(self._evidence, self._evidence_key(choice, k_values, n_bootstrap))

    def rules(self, choice: Choice) -> SegmentRules:
        """The explaining rules of every segment of ``choice`` (cached; slower than a preview)."""
        def compute() -> SegmentRules:
            preview = self.preview(choice)
            columns = preview.segmentation.columns
            return explain_segments(self.table, preview.segments, numeric=list(columns.numeric),
                                    categorical=list(columns.categorical), names=preview.names)

        return self._rules.get_or(choice, compute)

    # ------------------------------------------------------------------ outputs
    def save_parameters(self, choice: Choice, path: str | Path, *, map_method: str = "pca") -> Path:
        """Write the YAML that ``seglab run --config`` accepts to reproduce these segments."""
        from seglab.config import available_stages
        from seglab.runner import validate_config

        params = choice.parameters(map_method)
        validate_config(available_stages(), params)
        header = ("# seglab run --config this-file: the segmentation chosen in the explorer\n"
                  f"# {len(self.table):,} customers, {choice.k} segments with {choice.algorithm}\n")
        return write_text(header + yaml.safe_dump(params, sort_keys=False, allow_unicode=True), path)

    def export_audience(self, choice: Choice, segment: int, folder: str | Path) -> dict:
        """Write one segment's audience files into ``folder``, keeping the other segments'
        files there and merging ``manifest.json`` (see
        :func:`~seglab.personas.audiences.export_audiences`); returns the manifest."""
        preview = self.preview(choice)
        segments = preview.segments
        if int(segment) not in set(segments["segment"]):
            raise ParameterError(f"there is no segment {segment}; the segments are "
                                 f"{sorted(segments['segment'].unique().tolist())}")
        chosen = segments[segments["segment"] == int(segment)]
        meta = self.dictionary.meta if self.dictionary is not None else {}
        return export_audiences(chosen, folder, names=preview.names, customers=self.customers,
                                min_size=self.min_audience, as_of=meta.get("as_of"), merge=True)


def load_features(dataset: str = "sample", period: str | None = None, run_dir: str | Path | None = None):
    """The features (and customer table) to explore: from the run folder when ``seglab run``
    made one for this dataset and period, else collected and computed now.

    The run folder is ``run_dir``, else ``<dataset>/<period>`` in the project's reports
    folder (:func:`seglab.config.reports_dir`), the one ``seglab run`` writes. The feature
    dictionary's ``meta`` then names the dataset and period.

    Returns ``(FeatureSet, customers)``. A run made with another salt than this
    project's is refused (:func:`seglab.run.check_run_salt`).
    """
    from seglab.collect import collect
    from seglab.features import build_features
    from seglab.collect.stage import resolve_period
    from seglab.run import check_run_salt, open_run

    run = open_run(run_dir, dataset, period or None)
    if run.has("features"):
        check_run_salt(run)
        customers = run.canonical_files().customers() if run.has("customers") else None
        features = run.features()
        about = run.info() if run.has("schema") else {}
    else:
        data = collect(dataset, period or None, progress=True)
        features, customers = build_features(data, progress=True), data.customers
        name, label = resolve_period(dataset, period or None)
        about = {"dataset": name, "period": label}
    for key in ("dataset", "period"):
        if about.get(key):
            features.dictionary.meta.setdefault(key, about[key])
    return features, customers


def load_outcomes(dataset: str = "sample", period: str | None = None, run_dir: str | Path | None = None):
    """Campaign results, feedback and campaign responses per customer, for the persona cards'
    response rate and NPS (:class:`seglab.measure.Outcomes`).

    Read from the run folder (found as :func:`load_features` finds it) when the collect
    stage ran there, else collected now. None when the dataset has no campaigns, feedback
    or campaign-response columns.
    """
    from seglab.collect import collect
    from seglab.measure import Outcomes
    from seglab.run import check_run_salt, open_run

    run = open_run(run_dir, dataset, period or None)
    if run.has("schema"):
        check_run_salt(run)
        return run.outcomes()
    data = collect(dataset, period or None)
    if data.campaigns is None and data.feedback is None and not data.responses:
        return None
    return Outcomes.from_tables(campaigns=data.campaigns, feedback=data.feedback, customers=data.customers,
                                responses=list(data.responses), period=data.period)


def _ready(cache: _Cache, key) -> bool:
    future = cache.get(key)
    return future is not None and future.done() and future.exception() is None
