"""``segment``: from the feature table to segments, in one call (the *cluster* stage)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from seglab._validation import check_choice, check_range, require_columns
from seglab.cluster.alignment import Alignment, align_segments
from seglab.cluster.columns import SegmentationColumns, select_columns
from seglab.cluster.embedding import MAP_METHODS, cached_embedding, embed
from seglab.cluster.preprocess import Preprocessor
from seglab.cluster.sampling import ORDER_COLUMNS, SAMPLE_SIZE, draw_sample, order_values
from seglab.cluster.segmenter import (ALGORITHMS, FIT_SAMPLE, PreparedData, Segmenter, canonical_sample,
                                      load_segmenter)
from seglab.cluster.selection import KSelection, SelectionRule, choose_k
from seglab.exceptions import InputError, ParameterError

__all__ = ["Segmentation", "segment", "PreparedSegmentation", "prepare_segmentation", "ORDER_COLUMNS", "SAMPLE_SIZE",
           "MAP_POINTS"]

logger = logging.getLogger(__name__)

MAP_POINTS = 50_000
"""Customers placed on the map at most (a seeded sample beyond)."""


@dataclass
class Segmentation:
    """The output of *cluster*.

    ``segments`` has ``customer_id``, ``segment`` and, once :meth:`add_map` ran, ``x`` and
    ``y``; it is None when a run's segmentation was opened without its customers
    (:meth:`seglab.run.RunFolder.segmentation`). ``model`` assigns new customers
    (``model.predict``).
    """

    segments: pd.DataFrame | None
    model: Segmenter
    columns: SegmentationColumns
    selection: KSelection | None = None
    alignment: Alignment | None = None
    params: dict = field(default_factory=dict)

    @property
    def labels(self) -> pd.Series:
        """Segment by ``customer_id``."""
        return self._customers().set_index("customer_id")["segment"]

    def _customers(self) -> pd.DataFrame:
        if self.segments is None:
            raise InputError("this segmentation was opened without its customers "
                             "(run.segmentation(customers=False)): open it with run.segmentation(), or count "
                             "them with run.segment_sizes()")
        return self.segments

    def evidence_table(self) -> pd.DataFrame:
        """The evidence for every k (:attr:`KSelection.table`), rounded; one row saying so
        when k was set by hand."""
        if self.selection is None:
            return pd.DataFrame({"k": [int(self.model.k_)], "chosen": ["set by hand"]})
        return self.selection.table.round(3)

    def headline(self) -> str:
        """One line: segments, features and algorithm (and the sample they were learnt from)."""
        line = f"{self.model.k_} segments from {len(self.columns.all)} features with {self.model.algorithm}"
        customers, learned_from = self.params.get("customers"), self.params.get("learned_from")
        if customers and learned_from and learned_from < customers:
            line += f", learnt from a seeded sample of {learned_from:,} of {customers:,} customers"
        return line

    def alignment_table(self) -> pd.DataFrame:
        """How segments were renumbered to match last period's (empty when not aligned)."""
        if self.alignment is None:
            return pd.DataFrame(columns=["segment", "previous_segment", "aligned_segment"])
        return self.alignment.table

    def sizes(self) -> pd.DataFrame:
        """Customers and share per segment."""
        counts = self._customers()["segment"].value_counts().sort_index()
        return pd.DataFrame({"customers": counts, "share": counts / counts.sum()})

    def add_map(self, features: pd.DataFrame, *, method: str = "umap",
                cache: tuple[str | Path, str | Path] | None = None, max_points: int = MAP_POINTS,
                progress: bool = False, **params) -> Segmentation:
        """Add 2-D map coordinates (``x``, ``y``) to :attr:`segments`.

        Parameters
        ----------
        features : DataFrame
            The feature table the segments were made from (``customer_id`` and the
            segmentation's columns).
        method : {"umap", "pca"}, default "umap"
            See :data:`~seglab.cluster.MAP_METHODS`.
        cache : (path, path), optional
            Cache the map in this pair of files (see :func:`~seglab.cluster.cached_embedding`;
            a run folder gives its pair) and reuse it when made from the same input.
        max_points : int, default 50000
            Beyond this many customers only a seeded sample of that many (the same share of
            every segment, drawn in the customers' canonical order, so the same customers
            whatever the row order or the pseudonyms) is placed on the map; the others' ``x`` and ``y`` are missing. A
            map shows no more points legibly (:func:`~seglab.plotting.plot_segment_map` draws
            50,000 at most), and placing millions of customers with UMAP would take hours.
        progress : bool, default False
            Show a progress bar.
        **params
            More settings of :func:`~seglab.cluster.embed`.

        Returns
        -------
        Segmentation
            ``self``, with ``x`` and ``y`` in :attr:`segments`.
        """
        check_choice(method, MAP_METHODS, name="method")
        check_range(max_points, name="max_points", low=5, integer=True)
        settings = {"method": method, "random_state": self.params.get("random_state", 0), **params}
        X = features.set_index("customer_id").loc[self._customers()["customer_id"], list(self.columns.all)]
        X = X.reset_index(drop=True)
        placed = canonical_sample(X, max_points, strata=self.segments["segment"].to_numpy(),
                                  random_state=settings["random_state"])
        if placed is None:
            placed = np.arange(len(X))
        Z = self.model.transform(X.iloc[placed].reset_index(drop=True))
        coords = (cached_embedding(Z, cache, progress=progress, **settings) if cache is not None
                  else embed(Z, progress=progress, **settings))
        x, y = np.full(len(self.segments), np.nan), np.full(len(self.segments), np.nan)
        x[placed], y[placed] = coords["x"].to_numpy(), coords["y"].to_numpy()
        self.segments = self.segments.drop(columns=["x", "y"], errors="ignore").assign(x=x, y=y)
        self.params["map"] = {**settings, "max_points": int(max_points)}
        return self

    def meta(self) -> dict:
        """What the run folder keeps of the segmentation: parameters, columns and their groups, columns left
        out and why, notes, algorithm, k, sizes and the alignment."""
        return {"params": self.params, "numeric": list(self.columns.numeric),
                "categorical": list(self.columns.categorical), "groups": self.columns.groups,
                "notes": list(self.columns.notes), "dropped": self.columns.dropped,
                "algorithm": self.model.algorithm, "k": int(self.model.k_),
                "sizes": {int(k): int(v) for k, v in self.sizes()["customers"].items()},
                "alignment": None if self.alignment is None else {
                    "method": self.alignment.method, "mapping": self.alignment.mapping,
                    "table": self.alignment.table.to_dict(orient="records")}}

    @classmethod
    def from_meta(cls, meta: dict, *, segments: pd.DataFrame, model: Segmenter,
                  selection: KSelection | None = None) -> Segmentation:
        """The segmentation described by :meth:`meta`, with its segments, model and evidence."""
        alignment = None
        if meta.get("alignment"):
            a = meta["alignment"]
            alignment = Alignment({int(k): int(v) for k, v in a["mapping"].items()}, a["method"],
                                  pd.DataFrame(a["table"]))
        return cls(segments=segments, model=model, columns=cls.columns_from_meta(meta), selection=selection,
                   alignment=alignment, params=meta.get("params", {}))

    @staticmethod
    def columns_from_meta(meta: dict) -> SegmentationColumns:
        """The columns described by :meth:`meta`."""
        return SegmentationColumns(tuple(meta["numeric"]), tuple(meta["categorical"]), meta.get("dropped", {}),
                                   meta.get("groups", {}), tuple(meta.get("notes", ())))


def _columns(table, dictionary, *, criteria, names, exclude, segment_on, previous) -> SegmentationColumns:
    """What to segment on; with last period's model and nothing chosen by hand, last period's
    columns (so that this period's segments are comparable with them), when they are all
    still there and usable."""
    if previous is not None and criteria is None and names is None:
        before = [c for c in (*previous.numeric_, *previous.categorical_) if c not in set(exclude)]
        if before and set(before) <= set(table.columns):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                kept = select_columns(table, dictionary, names=before)
            if kept.all and not kept.dropped:
                for warning in caught:
                    warnings.warn(warning.message, warning.category, stacklevel=3)
                return kept
            logger.info("last period's columns cannot all be used now; choosing the columns afresh")
    return select_columns(table, dictionary, criteria=criteria, names=names, exclude=exclude,
                          segment_on=segment_on)


def _preprocessor(preprocessor: Preprocessor | None, columns: SegmentationColumns,
                  random_state: int) -> Preprocessor:
    """An unfitted clone of ``preprocessor`` on the chosen columns, their groups unless it
    has its own, and the segmentation's seed."""
    base = preprocessor if preprocessor is not None else Preprocessor()
    if not isinstance(base, Preprocessor):
        raise ParameterError(f"preprocessor must be a seglab.cluster.Preprocessor; got {type(base).__name__}")
    if base.numeric is not None or base.categorical is not None:
        raise ParameterError("segment chooses the columns (criteria=, names=, exclude=); leave the "
                             "preprocessor's numeric and categorical unset")
    return clone(base).set_params(numeric=list(columns.numeric), categorical=list(columns.categorical),
                                  groups=base.groups if base.groups is not None else columns.groups,
                                  random_state=random_state)


def _fit_rows(algorithm: str, sample_size: int) -> int | None:
    """The segmenter's ``max_fit_rows``: the sample size, but never more than the algorithm's
    own default limit when that is smaller (Ward and HDBSCAN grow quadratically)."""
    if sample_size == SAMPLE_SIZE:
        return None  # the segmenter's own default per algorithm
    return min(sample_size, FIT_SAMPLE[algorithm]) if FIT_SAMPLE[algorithm] < SAMPLE_SIZE else sample_size


@dataclass(frozen=True, eq=False)
class PreparedSegmentation:
    """The columns chosen and the data preprocessed, for several :func:`segment` calls.

    Made by :func:`prepare_segmentation`; passed as ``segment(..., prepared=...)`` with the
    same features and the same column and preprocessing arguments, it saves choosing the
    columns, ordering the customers and fitting the preprocessing again when only k, the
    algorithm or its seed change (the explorer's clicks). Read-only.

    Attributes
    ----------
    columns : SegmentationColumns
        The columns chosen.
    data : PreparedData
        The customers in canonical order and preprocessed (:meth:`Segmenter.prepare`).
    settings : dict
        The arguments it was made with (criteria, names, exclude, the spec's
        ``segment_on``, last period's columns, the preprocessing and the seed).
    """

    columns: SegmentationColumns
    data: PreparedData
    settings: dict


def _settings(criteria, names, exclude, segment_on, previous_model, preprocessor, random_state,
              sample_size, order_by) -> dict:
    """What the columns and the preprocessing depend on besides the data (to check a
    :class:`PreparedSegmentation` against the arguments of :func:`segment`)."""
    base = preprocessor if preprocessor is not None else Preprocessor()
    return {"criteria": None if criteria is None else list(criteria), "names": None if names is None else list(names),
            "exclude": list(exclude), "segment_on": list(segment_on) if segment_on else None,
            "previous": None if previous_model is None else [*previous_model.numeric_, *previous_model.categorical_],
            "preprocessor": base.get_params(deep=False) if isinstance(base, Preprocessor) else base,
            "random_state": random_state, "sample_size": sample_size, "order_by": order_by}


def _inputs(features, dictionary, criteria, names, exclude, previous, preprocessor, random_state,
            sample_size, order_by):
    """The feature table, its dictionary, the spec's segment_on, last period's model and
    the settings."""
    table = getattr(features, "features", features)
    dictionary = dictionary if dictionary is not None else getattr(features, "dictionary", None)
    require_columns(table, ["customer_id"], table="features")
    segment_on = (dictionary.meta.get("segment_on") if dictionary is not None else None) or None
    previous_model = load_segmenter(previous) if isinstance(previous, str | Path) else previous
    settings = _settings(criteria, names, exclude, segment_on, previous_model, preprocessor, random_state,
                         sample_size, order_by)
    return table, dictionary, segment_on, previous_model, settings


def _learning_sample(table: pd.DataFrame, sample_size: int, order_by, random_state: int):
    """(everyone, the customers to learn from): beyond ``sample_size`` customers, everyone
    and the seeded sample of :func:`~seglab.cluster.draw_sample`; else (None, everyone)."""
    if len(table) <= sample_size:
        return None, table
    sample = draw_sample(table, sample_size, order_by=order_by, random_state=random_state)
    logger.info("learning the segments from a sample of %d of %d customers", len(sample), len(table))
    return table, sample


def prepare_segmentation(features, dictionary=None, *, criteria: Sequence[str] | None = None,
                         names: Sequence[str] | None = None, exclude: Sequence[str] = (),
                         preprocessor: Preprocessor | None = None, previous: Segmenter | str | Path | None = None,
                         algorithm: str = "kmeans", random_state: int = 0, order_by: str | None = "auto",
                         sample_size: int = SAMPLE_SIZE) -> PreparedSegmentation:
    """Choose the columns and preprocess the customers once, for several :func:`segment` calls.

    ``segment(features, ..., prepared=prepare_segmentation(features, ...))`` gives exactly
    the segments ``segment`` gives without it; it only skips the work that does not depend
    on k, the algorithm or the order of the segments.

    Parameters
    ----------
    features, dictionary, criteria, names, exclude, preprocessor, previous, random_state, order_by, sample_size
        As for :func:`segment` (pass the same to ``segment``).
    algorithm : str, default "kmeans"
        Any algorithm but ``"kprototypes"`` prepares for every algorithm but k-prototypes
        (which leaves the categorical columns unencoded); ``"kprototypes"`` for it alone.
        ``segment`` with the other kind reuses the columns only.

    Returns
    -------
    PreparedSegmentation
        The columns and the preprocessed customers.

    Raises
    ------
    ParameterError
        When the preprocessor names columns of its own.
    """
    check_choice(algorithm, ALGORITHMS, name="algorithm")
    table, dictionary, segment_on, previous_model, settings = _inputs(
        features, dictionary, criteria, names, exclude, previous, preprocessor, random_state, sample_size, order_by)
    table = _learning_sample(table, sample_size, order_by, random_state)[1]
    columns = _columns(table, dictionary, criteria=criteria, names=names, exclude=exclude,
                       segment_on=segment_on, previous=previous_model)
    prep = _preprocessor(preprocessor, columns, random_state)
    data = Segmenter(algorithm=algorithm, preprocessor=prep, random_state=random_state).prepare(
        table[columns.all].reset_index(drop=True))
    return PreparedSegmentation(columns, data, settings)


def segment(features, dictionary=None, *, criteria: Sequence[str] | None = None,
            names: Sequence[str] | None = None, exclude: Sequence[str] = (), k: int | None = None,
            algorithms: Sequence[str] = ("kmeans",), k_values: Sequence[int] = range(2, 9),
            rule: SelectionRule | None = None, preprocessor: Preprocessor | None = None,
            order_by: str | None = "auto", previous: Segmenter | str | Path | None = None,
            align: str = "centroids", previous_labels: pd.Series | None = None, random_state: int = 0,
            sample_size: int = SAMPLE_SIZE, prepared: PreparedSegmentation | None = None,
            progress: bool = False) -> Segmentation:
    """Segment customers: choose the columns, choose k (unless given), fit, number, align.

    Parameters
    ----------
    features : FeatureSet or DataFrame
        A :class:`~seglab.features.FeatureSet`, or a feature table with ``customer_id``
        (then pass ``dictionary`` to select by criterion). A FeatureSet read from a run
        with ``sample_size`` (:meth:`~seglab.run.RunFolder.features`) holds the sample the
        engine drew: the segments are learnt from it, and only its customers are in
        :attr:`Segmentation.segments` (the run's writer assigns everyone in the engine).
    dictionary : FeatureDictionary, optional
        The feature table's dictionary (default: the FeatureSet's).
    criteria, names, exclude : sequence of str, optional
        What to segment on (see :func:`select_columns`). Neither criteria nor names: what
        the dataset spec says (``segment_on``, carried by the feature dictionary), else the
        default basis (every criterion the data has, each group weighing the same).
    k : int, optional
        Number of segments, or None to choose it with :func:`choose_k` among ``k_values``
        and ``algorithms`` by ``rule``.
    algorithms : sequence of str, default ("kmeans",)
        Candidate algorithms (the first is used when ``k`` is given).
    k_values : sequence of int, default 2 to 8
        Candidate numbers of segments when ``k`` is None.
    rule : SelectionRule, optional
        The thresholds of the rule that picks k (default: :class:`SelectionRule`'s).
    preprocessor : Preprocessor, optional
        The preprocessing, unfitted: skew, scaling, clipping, PCA (and ``groups`` to
        override the criteria's). Default: ``Preprocessor()``. Its columns are the ones
        chosen here, its groups the columns' criteria unless it has its own, its seed
        ``random_state``; a clone is fitted.
    order_by : str or None, default "auto"
        ``"auto"`` (by value, see :data:`ORDER_COLUMNS`), ``"size"`` or a column: how
        segments are numbered (0 first).
    previous : Segmenter, str or Path, optional
        Last period's segmenter (or the path of its saved model): segments are renumbered to
        match it.
    align : {"centroids", "overlap"}, default "centroids"
        How to match last period's segments (``"overlap"`` needs ``previous_labels``).
    previous_labels : Series, optional
        Last period's segment by ``customer_id`` (for ``align="overlap"``).
    random_state : int, default 0
        Seed of every random step; the same data, parameters and seed give the same
        segments, whatever the row order or the salt of the pseudonyms.
    sample_size : int, default 100000
        Beyond this many customers, the segments are learnt from a seeded sample of that
        many (:func:`~seglab.cluster.draw_sample`: stratified by value deciles, drawn in the
        canonical order, so row order and pseudonyms do not change it): the columns, the
        preprocessing, k and the model; then the model assigns everyone. The evidence for
        k and the segments are as steady on 100,000 customers as on millions, and the cost
        stops growing with the customer base. Ward, HDBSCAN and the Gaussian mixture are
        fitted on at most 20,000 of the sample (:data:`~seglab.cluster.FIT_SAMPLE`).
    prepared : PreparedSegmentation, optional
        :func:`prepare_segmentation` of the same features with the same ``criteria``,
        ``names``, ``exclude``, ``preprocessor``, ``previous`` and ``random_state``: its
        columns and preprocessed customers are used instead of being made again (for
        several k or algorithms on the same columns). The segments are the same.
    progress : bool, default False
        Show progress bars.

    Returns
    -------
    Segmentation
        The segments, the fitted :class:`Segmenter`, the columns, the evidence for k
        (when it was chosen) and the alignment with last period (when there was one).

    Raises
    ------
    ParameterError
        When ``k`` exceeds the customers, no k can satisfy the rule, the preprocessor
        names columns of its own, or ``prepared`` was made with other arguments.
    InputError
        When ``prepared`` was made from other features.
    """
    table, dictionary, segment_on, previous_model, settings = _inputs(
        features, dictionary, criteria, names, exclude, previous, preprocessor, random_state, sample_size, order_by)
    if k is not None and len(table) < int(k):
        raise ParameterError(f"k={k} segments but there are only {len(table)} customers; choose a smaller k "
                             "(or k=0 to choose it from the data)")
    check_range(sample_size, name="sample_size", low=2 * max(k or 0, max(k_values, default=2)), integer=True)
    everyone, table = _learning_sample(table, sample_size, order_by, random_state)
    if prepared is not None:
        if not isinstance(prepared, PreparedSegmentation):
            raise ParameterError(f"prepared must come from prepare_segmentation; got {type(prepared).__name__}")
        changed = sorted(key for key, value in settings.items() if prepared.settings.get(key) != value)
        if changed:
            raise ParameterError(f"prepared was made with other {', '.join(changed)} than this segment call's; "
                                 "make it with prepare_segmentation and the same arguments")
        columns = prepared.columns
    else:
        columns = _columns(table, dictionary, criteria=criteria, names=names, exclude=exclude,
                           segment_on=segment_on, previous=previous_model)
    X = table[columns.all].reset_index(drop=True)
    prep = _preprocessor(preprocessor, columns, random_state)
    selection = None
    algorithm = list(algorithms)[0]
    values, ordered_by = order_values(table, order_by)
    if k is None:
        selection = choose_k(X, k_values=k_values, algorithms=algorithms, preprocessor=prep, rule=rule,
                             random_state=random_state, progress=progress)
        algorithm, k = selection.algorithm, selection.k
    model = Segmenter(int(k), algorithm, preprocessor=prep, random_state=random_state,
                      max_fit_rows=_fit_rows(algorithm, sample_size))
    reuse = prepared is not None and prepared.data.encoded == (algorithm != "kprototypes")
    model.fit(X, order_values=values, prepared=prepared.data if reuse else None)
    alignment = None
    if previous_model is not None or previous_labels is not None:
        current_labels = pd.Series(model.labels_, index=table["customer_id"].to_numpy())
        alignment = align_segments(model, previous_model, method=align, current_labels=current_labels,
                                   previous_labels=previous_labels)
        model.relabel(alignment.mapping)
    if selection is not None:
        selection = selection.matched_to(model.labels_)
    assigned = table if everyone is None else everyone  # beyond the sample, everyone assigned by the model
    labels = model.labels_ if everyone is None else model.predict(everyone[columns.all])
    segments = pd.DataFrame({"customer_id": assigned["customer_id"].to_numpy(),
                             "segment": np.asarray(labels, dtype=np.int64)})
    customers = getattr(features, "customers", None) or len(assigned)
    params = {"criteria": list(criteria) if criteria is not None else None,
              "names": list(names) if names is not None else None, "exclude": list(exclude),
              "segment_on": list(segment_on) if segment_on else None,
              "k": int(k), "chosen_automatically": selection is not None, "algorithm": algorithm,
              "algorithms": list(algorithms), "k_values": [int(v) for v in k_values],
              "rule": asdict(rule if rule is not None else SelectionRule()), "skew": prep.skew, "clip": prep.clip,
              "scaling": prep.scaling, "pca": prep.pca, "ordered_by": ordered_by,
              "align": align if alignment else None, "random_state": random_state,
              "sample_size": int(sample_size), "customers": int(customers), "learned_from": len(table)}
    return Segmentation(segments=segments, model=model, columns=columns, selection=selection,
                        alignment=alignment, params=params)
