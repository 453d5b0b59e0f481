"""Keeping segment numbers (and so names) from one period to the next.

A fresh fit numbers segments canonically (by value or size), so "segment 2" last quarter
and "segment 2" now may be different groups. :func:`align_segments` matches this
period's segments to last period's with the Hungarian algorithm, either on their
centres (``method="centroids"``: both periods' segment profiles are placed in this
period's preprocessed space) or on their members (``method="overlap"``: customers
present in both periods; the matching maximises the customers who keep their segment).
Matched segments take last period's number; new segments get numbers after the highest
previous one, largest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from seglab._validation import check_choice
from seglab.cluster.segmenter import UNASSIGNED, Segmenter
from seglab.exceptions import InputError

__all__ = ["Alignment", "align_segments"]


@dataclass
class Alignment:
    """How this period's segments map to last period's.

    ``mapping`` is ``{current segment: aligned number}``; ``table`` lists each current
    segment, its match, and the distance (centroids) or shared customers (overlap).
    """

    mapping: dict[int, int]
    method: str
    table: pd.DataFrame

    @property
    def changed(self) -> bool:
        """True when alignment renumbers at least one segment."""
        return any(k != v for k, v in self.mapping.items())


def _profiles_in_space(model: Segmenter, profile: pd.DataFrame) -> np.ndarray:
    missing = [c for c in [*model.numeric_, *model.categorical_] if c not in profile.columns]
    if missing:
        raise InputError(f"segments can be aligned on centres only when both periods use the same "
                         f"features; last period lacks {missing}. Use method='overlap' instead")
    frame = profile[[*model.numeric_, *model.categorical_]].reset_index(drop=True)
    return model.transform(frame).to_numpy(dtype=float)


def align_segments(current: Segmenter, previous: Segmenter | None = None, *, method: str = "centroids",
                   current_labels: pd.Series | None = None,
                   previous_labels: pd.Series | None = None) -> Alignment:
    """Match ``current``'s segments to last period's.

    Parameters
    ----------
    current, previous
        This and last period's fitted segmenters (``previous`` is needed for centroids).
    method
        ``"centroids"`` or ``"overlap"``.
    current_labels, previous_labels
        For ``"overlap"``: segment by customer id (Series indexed by ``customer_id``).

    Returns
    -------
    Alignment
        Apply it with ``current.relabel(alignment.mapping)``.
    """
    check_choice(method, ("centroids", "overlap"), name="method")
    segments = sorted(int(s) for s in current.centers_.index)
    if method == "centroids":
        if previous is None:
            raise InputError("aligning on centroids needs last period's fitted segmenter")
        previous_segments = sorted(int(s) for s in previous.profile_.index)
        here = _profiles_in_space(current, current.profile_.loc[segments])
        there = _profiles_in_space(current, previous.profile_.loc[previous_segments])
        cost = np.linalg.norm(here[:, None, :] - there[None, :, :], axis=2)  # k × k', tiny
        score_name, better_low = "distance", True
    else:
        if current_labels is None or previous_labels is None:
            raise InputError("aligning on overlap needs current_labels and previous_labels "
                             "(segment by customer id for both periods)")
        common = current_labels.index.intersection(previous_labels.index)
        if len(common) == 0:
            raise InputError("no customer appears in both periods: align on centroids instead")
        previous_segments = sorted(int(s) for s in set(previous_labels.loc[common]) if s != UNASSIGNED)
        table = pd.crosstab(current_labels.loc[common], previous_labels.loc[common])
        table = table.reindex(index=segments, columns=previous_segments, fill_value=0)
        cost = -table.to_numpy(dtype=float)
        score_name, better_low = "shared_customers", False
    rows, cols = linear_sum_assignment(cost)
    mapping, records = {}, []
    for r, c in zip(rows, cols):
        mapping[segments[r]] = previous_segments[c]
        value = cost[r, c] if better_low else -cost[r, c]
        records.append({"segment": segments[r], "previous_segment": previous_segments[c], score_name: value})
    new_number = max(previous_segments, default=-1) + 1
    unmatched = [s for s in segments if s not in mapping]
    sizes = current.sizes_.reindex(unmatched).fillna(0)
    for s in sorted(unmatched, key=lambda s: (-sizes.get(s, 0), s)):
        mapping[s] = new_number
        records.append({"segment": s, "previous_segment": None, score_name: np.nan})
        new_number += 1
    table = pd.DataFrame(records).sort_values("segment").reset_index(drop=True)
    table["aligned_segment"] = table["segment"].map(mapping)
    return Alignment(mapping=dict(sorted(mapping.items())), method=method, table=table)
