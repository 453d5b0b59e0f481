"""Multi-criteria segments: segment on each criterion separately, cross, merge small cells.

Marketers often want segments that read "high value × young urban" rather than one
clustering on everything. :func:`cross_segments` fits one segmentation per group of
criteria (e.g. value, then demographics), crosses the labels into cells, and merges every
cell smaller than ``min_share`` into its nearest neighbour (centroids in the combined
preprocessed space), smallest first, until every group is big enough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seglab._validation import check_range, require_frame
from seglab.cluster.columns import select_columns
from seglab.cluster.preprocess import Preprocessor
from seglab.cluster.segmenter import Segmenter
from seglab.cluster.selection import SelectionRule, choose_k
from seglab.exceptions import InputError

__all__ = ["CrossedSegments", "cross_segments"]


@dataclass
class CrossedSegments:
    """The result of :func:`cross_segments`.

    Attributes
    ----------
    labels : pandas.Series
        Final group (0 = largest) by ``customer_id``.
    cells : pandas.DataFrame
        Every crossed cell: its segment per criterion group, customers, and final group.
    groups : pandas.DataFrame
        Every final group: customers, share, and the cells it holds.
    segmenters : dict
        The fitted segmenter of each criterion group.
    """

    labels: pd.Series
    cells: pd.DataFrame
    groups: pd.DataFrame
    segmenters: dict = field(default_factory=dict)


def cross_segments(features: pd.DataFrame, dictionary, groups: Mapping[str, Sequence[str]], *,
                   k: int | Mapping[str, int] | None = None, min_share: float = 0.03,
                   algorithm: str = "kmeans", k_values: Sequence[int] = range(2, 7),
                   rule: SelectionRule | None = None, random_state: int = 0) -> CrossedSegments:
    """Segment on each criterion group, cross the segments, merge cells below ``min_share``.

    Parameters
    ----------
    features : DataFrame
        The feature table (``customer_id`` plus features).
    dictionary : FeatureDictionary
        Its dictionary (the criterion of each feature).
    groups : mapping of str to sequence of str
        Name → criteria, e.g. ``{"value": ["rfm", "value"], "who": ["demographic"]}``.
    k : int, mapping of str to int, or None
        Segments per group: one number for all, a number per group name, or None to
        choose each by :func:`choose_k` over ``k_values``.
    min_share : float, default 0.03
        Cells with fewer customers than this share are merged into their nearest cell.
    algorithm : str, default "kmeans"
        The algorithm of every group's segmentation.
    k_values : sequence of int, default 2 to 6
        The candidates when k is chosen.
    rule : SelectionRule, optional
        The rule that chooses k (default: :class:`SelectionRule` with 5 bootstrap resamples).
    random_state : int, default 0
        Seed of every random step.

    Returns
    -------
    CrossedSegments
        The final group of each customer, the crossed cells and the segmenters.
    """
    require_frame(features, "features")
    check_range(min_share, name="min_share", low=0, high=0.5)
    if not groups:
        raise InputError("groups is empty; give at least one criterion group, e.g. {'value': ['value']}")
    per_group, spaces, segmenters = {}, [], {}
    for name, criteria in groups.items():
        columns = select_columns(features, dictionary, criteria=list(criteria))
        X = features[columns.all]
        prep = Preprocessor(list(columns.numeric), list(columns.categorical), random_state=random_state)
        chosen = k.get(name) if isinstance(k, Mapping) else k
        if chosen is None:
            chosen = choose_k(X, k_values=k_values, algorithms=[algorithm], preprocessor=prep,
                              rule=rule if rule is not None else SelectionRule(n_bootstrap=5),
                              random_state=random_state).k
        model = Segmenter(int(chosen), algorithm, preprocessor=prep, random_state=random_state).fit(X)
        segmenters[name] = model
        per_group[name] = model.labels_
        Z = model.transform(X).to_numpy(dtype=float)
        spaces.append(Z / np.sqrt(max(Z.shape[1], 1)))  # each group weighs the same
    space = np.hstack(spaces)
    names = list(groups)
    codes = pd.DataFrame(per_group)
    cell_index = codes.groupby(names, sort=True).ngroup().to_numpy()
    cells = codes.assign(cell=cell_index).drop_duplicates("cell").sort_values("cell").reset_index(drop=True)
    sizes = np.bincount(cell_index).astype(float)
    sums = np.zeros((len(cells), space.shape[1]))
    np.add.at(sums, cell_index, space)
    group_of = np.arange(len(cells))  # each cell starts as its own group
    n = len(features)
    while True:
        active = np.unique(group_of)
        group_sizes = np.array([sizes[group_of == g].sum() for g in active])  # few groups
        smallest = int(np.argmin(group_sizes))
        if group_sizes[smallest] / n >= min_share or len(active) == 1:
            break
        centre = {g: sums[group_of == g].sum(axis=0) / sizes[group_of == g].sum() for g in active}
        target = active[smallest]
        others = [g for g in active if g != target]
        nearest = min(others, key=lambda g: (np.linalg.norm(centre[g] - centre[target]), g))
        group_of[group_of == target] = nearest
    # number the final groups by size, largest first
    final_sizes = pd.Series(sizes).groupby(group_of).sum().sort_values(ascending=False, kind="stable")
    renumber = {g: i for i, g in enumerate(final_sizes.index)}
    cells["group"] = [renumber[g] for g in group_of]
    cells["customers"] = sizes.astype(int)
    labels = pd.Series(cells["group"].to_numpy()[cell_index], index=features["customer_id"].to_numpy(),
                       name="segment")
    described = cells.assign(cell_name=cells[names].astype(str).agg(
        lambda row: " · ".join(f"{g} {v}" for g, v in zip(names, row)), axis=1))
    group_table = described.groupby("group").agg(customers=("customers", "sum"),
                                                 cells=("cell_name", lambda s: list(s)))
    group_table["share"] = group_table["customers"] / n
    return CrossedSegments(labels=labels, cells=described.drop(columns="cell"), groups=group_table,
                           segmenters=segmenters)
