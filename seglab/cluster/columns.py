"""Choosing what to segment on: columns by criterion or by name, minus the unusable ones."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seglab._validation import require_columns, require_frame, show_list
from seglab.exceptions import DataQualityWarning, InputError

__all__ = ["SegmentationColumns", "select_columns", "MAX_LEVELS"]

MAX_LEVELS = 30
"""Categorical columns with more distinct values than this are left out (e.g. ``rfm_cell``)."""

_NEVER = {"customer_id"}


@dataclass(frozen=True)
class SegmentationColumns:
    """The columns a segmentation uses: numeric and categorical, and those left out (with why)."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dropped: dict[str, str]

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def select_columns(features: pd.DataFrame, dictionary=None, *, criteria: Sequence[str] | None = None,
                   names: Sequence[str] | None = None, exclude: Sequence[str] = (),
                   max_levels: int = MAX_LEVELS) -> SegmentationColumns:
    """The feature columns to segment on.

    Parameters
    ----------
    features
        One row per customer (``customer_id`` plus features).
    dictionary
        A :class:`~seglab.features.FeatureDictionary` to select by criterion; without it,
        only ``names`` (or every column) can be used.
    criteria, names
        Columns with any of these criteria, plus these columns by name. Neither: all.
    exclude
        Columns never to use.
    max_levels
        Categorical columns with more distinct values are left out.

    Constant, entirely missing and infinite columns, and categorical columns with too
    many levels, are dropped with a :class:`DataQualityWarning` naming them.

    Raises
    ------
    InputError
        When no usable column is left.
    """
    require_frame(features, "features")
    if criteria is not None and dictionary is None:
        raise InputError("selecting by criterion needs the feature dictionary "
                         "(FeatureSet.dictionary or feature_dictionary.json)")
    if dictionary is not None and (criteria is not None or names is not None):
        chosen = dictionary.select(criteria=criteria, names=names)
    elif names is not None:
        require_columns(features, names, table="features", hint="choose columns of the feature table")
        chosen = list(names)
    else:
        chosen = [c for c in features.columns if c not in _NEVER]
    chosen = [c for c in chosen if c not in set(exclude) and c not in _NEVER and c in features.columns]
    numeric, categorical, dropped = [], [], {}
    for col in chosen:
        values = features[col]
        if _is_numeric(values):
            data = values.to_numpy(dtype=float, na_value=np.nan)
            finite = data[np.isfinite(data)]
            if np.isinf(data).any():
                dropped[col] = "has infinite values"
            elif finite.size == 0:
                dropped[col] = "is entirely missing"
            elif np.nanmin(finite) == np.nanmax(finite):
                dropped[col] = "is constant"
            else:
                numeric.append(col)
        else:
            levels = values.dropna().nunique()
            if levels == 0:
                dropped[col] = "is entirely missing"
            elif levels == 1:
                dropped[col] = "is constant"
            elif levels > max_levels:
                dropped[col] = f"has {levels} levels (more than {max_levels})"
            else:
                categorical.append(col)
    if dropped:
        warnings.warn("not used for segmentation: " + "; ".join(f"{c} {why}" for c, why in dropped.items()),
                      DataQualityWarning, stacklevel=2)
    if not numeric and not categorical:
        raise InputError(f"no usable feature to segment on among {show_list(chosen)}"
                         + (f" ({'; '.join(f'{c} {w}' for c, w in dropped.items())})" if dropped else "")
                         + "; choose other criteria or features")
    return SegmentationColumns(tuple(numeric), tuple(categorical), dropped)
