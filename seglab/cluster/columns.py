"""What to segment on: the default basis, criteria, names, and the columns left out (with why).

**The default basis** (what ``seglab run`` segments on when nothing is said) uses every
criterion the dataset carries, each as one *group*:

- ``value`` (the RFM and value features: recency, orders, revenue, CLV, P(alive), …;
  RFM and value say the same thing, so they form one group), ``behaviour``, ``journey``,
  and the customer table's ``demographic``, ``geographic``, ``psychographic``,
  ``firmographic`` and ``needs`` attributes, numeric and categorical;
- features that only restate others are left out (:data:`RESTATED`: the BTYD inputs,
  RFM scores and cells, named RFM and journey stages, bands cut from a number that is
  itself used, counts beside their rates);
- columns that cannot inform a segmentation are dropped with a note: constant, almost
  constant (one value for at least :data:`NEAR_CONSTANT` of the customers), missing for
  at least :data:`MOSTLY_MISSING` of them, infinite, or categorical with too many
  scattered levels (see :data:`MAX_LEVELS`);
- redundant columns are collapsed: of two numeric columns with a rank correlation above
  :data:`REDUNDANT` in absolute value, or two categorical ones with a Cramér's V above it,
  the later one (the one with more levels, for categories) is dropped, naming the one kept;
- untagged customer columns (criterion ``other``) are used only when nothing else is.

:class:`~seglab.cluster.Preprocessor` then gives every group the same weight, whatever
its number of columns, so that ten spend columns do not drown one survey scale.

A dataset spec may say what to segment on (``segment_on:``, criteria and/or column
names; e.g. Mall Customers' income and spending score); explicit ``criteria`` or
``names`` (the notebook parameters, the explorer) override it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seglab._validation import did_you_mean, require_columns, require_frame, show_list
from seglab.cluster.segmenter import canonical_sample
from seglab.exceptions import DataQualityWarning, InputError, ParameterError

__all__ = ["SegmentationColumns", "select_columns", "segmentation_group", "MAX_LEVELS", "RESTATED",
           "GROUPS", "NEAR_CONSTANT", "MOSTLY_MISSING", "REDUNDANT"]

logger = logging.getLogger(__name__)

MAX_LEVELS = 30
"""A categorical column with more levels than this is used only when its :data:`TOP_LEVELS`
most common levels hold :data:`TOP_LEVELS_SHARE` of the customers (the rest are grouped);
otherwise it is too scattered to segment on (e.g. a postcode)."""
TOP_LEVELS = 12
TOP_LEVELS_SHARE = 0.8
NEAR_CONSTANT = 0.99
"""A column whose most common value holds this share of the customers is left out."""
MOSTLY_MISSING = 0.9
"""A column missing for this share of the customers is left out."""
REDUNDANT = 0.9
"""Two columns more strongly related than this (|Spearman r| or Cramér's V) count once."""

GROUPS = ("value", "behaviour", "journey", "demographic", "firmographic", "geographic",
          "psychographic", "needs")
"""The segmentation groups of the default basis, in order of preference when collapsing."""
_GROUP_OF = {"rfm": "value"}

RESTATED = frozenset({
    # the BTYD summary restates recency_days, orders and the order values
    "frequency", "recency", "T", "monetary_value", "net_monetary_value",
    # parts and labels of other features
    "gross_revenue", "returned_amount", "expected_spend", "tenure_days",
    "r_score", "f_score", "m_score", "fm_score", "rfm_cell", "rfm_segment", "journey_stage",
    # counts beside their rates, and a second recency
    "product_views", "cart_abandons", "support_per_order", "days_since_last_event",
    # derived from a number that is used itself
    "age_band", "company_size", "birth_year",
})
"""Features never in the default basis: each restates features that are in it."""

_NEVER = {"customer_id"}


@dataclass(frozen=True)
class SegmentationColumns:
    """The columns a segmentation uses, their groups, and those left out (with why).

    ``groups`` maps each used column to its group (its criterion; RFM counts as value):
    each group weighs the same in the distances. ``notes`` say what the reader of the
    report should know (e.g. a segmentation that rests on one variable).
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dropped: dict[str, str]
    groups: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def by_group(self) -> dict[str, list[str]]:
        """Group → its columns, in the order of :data:`GROUPS`."""
        out: dict[str, list[str]] = {}
        for col in self.all:
            out.setdefault(self.groups.get(col, col), []).append(col)
        order = {g: i for i, g in enumerate(GROUPS)}
        return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


def segmentation_group(criterion: str) -> str:
    """The group a criterion's features belong to (RFM and value are one group).

    >>> segmentation_group("rfm"), segmentation_group("psychographic")
    ('value', 'psychographic')
    """
    return _GROUP_OF.get(criterion, criterion)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _unusable(values: pd.Series, max_levels: int, *, basis: bool) -> str | None:
    """Why a column cannot inform a segmentation, or None. ``basis``: the stricter
    rules of the default basis (almost constant, mostly missing) apply too."""
    n = len(values)
    if _is_numeric(values):
        data = values.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(data).any():
            return "has infinite values"
        present = data[~np.isnan(data)]
        if present.size == 0:
            return "is entirely missing"
        if present.min() == present.max():
            return "is constant"
        counts = pd.Series(present).value_counts()
    else:
        counts = values.dropna().astype("str").value_counts()
        if counts.empty:
            return "is entirely missing"
        if len(counts) == 1:
            return "is constant"
        if len(counts) > max_levels and counts.iloc[:TOP_LEVELS].sum() < TOP_LEVELS_SHARE * counts.sum():
            return (f"has {len(counts)} levels, too scattered to segment on (the {TOP_LEVELS} most common "
                    f"hold {counts.iloc[:TOP_LEVELS].sum() / counts.sum():.0%} of the customers)")
    if basis:
        missing = 1 - counts.sum() / n
        if missing >= MOSTLY_MISSING:
            return f"is missing for {missing:.0%} of the customers"
        top = counts.iloc[0] / n
        if top >= NEAR_CONSTANT:
            value = counts.index[0]
            shown = f"{value:g}" if isinstance(value, float) else value
            return f"is almost constant ({shown} for {top:.1%} of the customers)"
    return None


def _ranks(frame: pd.DataFrame) -> np.ndarray:
    """Average ranks per column, missing values at the mean rank (they add nothing)."""
    ranks = frame.rank(method="average").to_numpy(dtype=float)
    means = np.nanmean(ranks, axis=0)
    return np.where(np.isnan(ranks), means[None, :], ranks)


def _cramers_v(a: pd.Series, b: pd.Series) -> float:
    table = pd.crosstab(a.astype("str"), b.astype("str")).to_numpy(dtype=float)
    n = table.sum()
    if n == 0 or min(table.shape) < 2:
        return 0.0
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / np.where(expected > 0, expected, 1)).sum()
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


REDUNDANCY_SAMPLE = 100_000
"""Customers the redundancy check measures correlations on, at most (a seeded sample,
drawn in the canonical order, beyond: correlations to ±0.005)."""


def _collapse(features: pd.DataFrame, numeric: list[str], categorical: list[str],
              dropped: dict[str, str], keep: set[str]) -> tuple[list[str], list[str]]:
    """Drop the later of two redundant columns (see :data:`REDUNDANT`); never one in ``keep``."""
    sampled = canonical_sample(features[[*numeric, *categorical]], REDUNDANCY_SAMPLE)
    if sampled is not None:
        features = features.iloc[sampled]
    if len(numeric) > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.nan_to_num(np.corrcoef(_ranks(features[numeric]), rowvar=False))
        kept: list[int] = []
        for i, col in enumerate(numeric):
            twins = [j for j in kept if abs(corr[i, j]) > REDUNDANT]
            if twins and col not in keep:
                j = twins[0]
                dropped[col] = f"restates {numeric[j]} (rank correlation {corr[i, j]:+.2f})"
            else:
                kept.append(i)
        numeric = [numeric[i] for i in kept]
    if len(categorical) > 1:
        levels = {c: features[c].nunique() for c in categorical}
        kept_cat: list[str] = []
        for col in sorted(categorical, key=lambda c: (levels[c], categorical.index(c))):
            twin = next((k for k in kept_cat if _cramers_v(features[col], features[k]) > REDUNDANT), None)
            if twin is not None and col not in keep:
                dropped[col] = f"restates {twin} (Cramér's V > {REDUNDANT})"
            else:
                kept_cat.append(col)
        categorical = [c for c in categorical if c in kept_cat]
    return numeric, categorical


OUTCOME = "answers a campaign: an outcome to compare segments by, not to segment on"
"""Why the spec's campaign-response columns (``responses:``) are not in the default basis:
segmenting on them would build the outcome into the segments (they are reported as
response rates per segment instead). Naming them (``names``, ``segment_on``) uses them."""


def _basis_candidates(dictionary, criteria: Sequence[str] | None) -> list[str]:
    """The default basis's candidate columns (restricted to ``criteria`` when given)."""
    infos = [f for f in dictionary.features if f.name not in RESTATED and not f.name.endswith("_band")]
    if criteria is not None:
        wanted = set(criteria)
        return [f.name for f in infos if f.criterion in wanted]
    tagged = [f.name for f in infos if segmentation_group(f.criterion) in GROUPS]
    return tagged or [f.name for f in infos]


def _resolve_segment_on(entries: Sequence[str], features: pd.DataFrame, dictionary) -> tuple[list, list]:
    """Split a spec's ``segment_on`` into criteria and column names; unknown entries are an error."""
    criteria_here = {f.criterion for f in dictionary.features} if dictionary is not None else set()
    criteria, names = [], []
    for entry in entries:
        if entry in criteria_here:
            criteria.append(entry)
        elif entry in features.columns:
            names.append(entry)
        else:
            known = sorted(criteria_here | {c for c in features.columns if c not in _NEVER})
            raise ParameterError(
                f"segment_on names {entry!r}, which is neither a criterion nor a feature of this "
                f"dataset{did_you_mean(entry, known)}; criteria here: {show_list(sorted(criteria_here))}; "
                "fix segment_on in the dataset spec")
    return criteria, names


def select_columns(features: pd.DataFrame, dictionary=None, *, criteria: Sequence[str] | None = None,
                   names: Sequence[str] | None = None, exclude: Sequence[str] = (),
                   segment_on: Sequence[str] | None = None,
                   max_levels: int = MAX_LEVELS) -> SegmentationColumns:
    """The feature columns to segment on, and their groups.

    Parameters
    ----------
    features
        One row per customer (``customer_id`` plus features).
    dictionary
        A :class:`~seglab.features.FeatureDictionary`: gives each column its criterion
        (its group) and allows selecting by criterion. Without it every column is its own
        group and only ``names`` (or every column) can be used.
    criteria
        The default basis restricted to these criteria (see the module docstring).
    names
        These columns, as they are (added to the criteria's).
    exclude
        Columns never to use.
    segment_on
        What the dataset spec says to segment on (criteria and/or names); used when
        neither ``criteria`` nor ``names`` is given.
    max_levels
        Categorical columns with more distinct values are left out unless a few common
        levels hold most customers (see :data:`MAX_LEVELS`).

    With neither ``criteria``, ``names`` nor ``segment_on``: the default basis. Columns
    that cannot be used are dropped with a :class:`DataQualityWarning` naming them; a
    segmentation that rests on one column says so (a warning and a note). Redundant columns
    are left out quietly: ``dropped`` says which column each restates.

    Returns
    -------
    SegmentationColumns
        The numeric and categorical columns to use, their groups, the columns left out
        with why, and notes for the reader.

    Raises
    ------
    InputError
        When no usable column is left.
    ParameterError
        When ``segment_on`` names something that is neither a criterion nor a feature.
    """
    require_frame(features, "features")
    if criteria is not None and dictionary is None:
        raise InputError("selecting by criterion needs the feature dictionary "
                         "(FeatureSet.dictionary, or run.dictionary() of a run folder)")
    if criteria is None and names is None and segment_on:
        criteria, names = _resolve_segment_on(segment_on, features, dictionary)
        criteria = criteria or None
    explicit = list(names or ())
    if explicit:
        require_columns(features, explicit, table="features", hint="choose columns of the feature table")
    basis = names is None or criteria is not None  # the basis rules apply to criteria-chosen columns
    if dictionary is None:
        chosen = explicit or [c for c in features.columns if c not in _NEVER]
        basis = not explicit
    elif criteria is not None or names is None:
        if criteria is not None:
            dictionary.select(criteria=criteria)  # unknown criteria: an error naming the ones here
        chosen = _basis_candidates(dictionary, criteria)
        chosen += [c for c in explicit if c not in chosen]
    else:
        chosen = explicit
    skip = set(exclude) | _NEVER
    chosen = [c for c in dict.fromkeys(chosen) if c not in skip and c in features.columns]
    dropped = {}
    if dictionary is not None and (criteria is not None or names is None):  # the basis chose them
        outcomes = set(dictionary.meta.get("responses") or ()) - set(explicit)
        dropped = {c: OUTCOME for c in chosen if c in outcomes}
        chosen = [c for c in chosen if c not in outcomes]
    criterion = dictionary.criteria() if dictionary is not None else {}
    groups = {c: segmentation_group(criterion.get(c, c)) for c in chosen}
    numeric, categorical = [], []
    for col in chosen:
        why = _unusable(features[col], max_levels, basis=basis and col not in explicit)
        if why:
            dropped[col] = why
        elif _is_numeric(features[col]):
            numeric.append(col)
        else:
            categorical.append(col)
    if basis and len(chosen) > 1:
        order = {g: i for i, g in enumerate(GROUPS)}
        rank = {c: (c not in explicit, order.get(groups[c], len(order)), i) for i, c in enumerate(chosen)}
        numeric, categorical = _collapse(features, sorted(numeric, key=rank.get),
                                         sorted(categorical, key=rank.get), dropped, set(explicit))
    unusable = {c: why for c, why in dropped.items() if not why.startswith("restates ") and why != OUTCOME}
    if unusable:  # a data problem; redundant columns are a choice, recorded in ``dropped``
        warnings.warn("not used for segmentation: " + "; ".join(f"{c} {why}" for c, why in unusable.items()),
                      DataQualityWarning, stacklevel=2)
    if len(dropped) > len(unusable):
        logger.info("counted once: %s", "; ".join(f"{c} {why}" for c, why in dropped.items() if c not in unusable))
    if not numeric and not categorical:
        raise InputError(f"no usable feature to segment on among {show_list(chosen)}"
                         + (f" ({'; '.join(f'{c} {w}' for c, w in dropped.items())})" if dropped else "")
                         + "; choose other criteria or features")
    used = [*numeric, *categorical]
    notes = []
    lost = sorted({groups[c] for c in chosen} - {groups[c] for c in used})
    for group in lost:
        notes.append(f"the {group} criterion was left out: none of its columns can inform a segmentation "
                     f"({'; '.join(f'{c} {dropped[c]}' for c in chosen if groups[c] == group and c in dropped)})")
    if len(used) == 1:
        message = (f"the segmentation rests on one variable, {used[0]}: segments are ranges of it; "
                   "add criteria or features to segment on")
        warnings.warn(message, DataQualityWarning, stacklevel=2)
        notes.append(message)
    return SegmentationColumns(tuple(numeric), tuple(categorical), dropped,
                               {c: groups[c] for c in used}, tuple(notes))
