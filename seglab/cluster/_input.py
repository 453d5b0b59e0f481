"""The door of seglab's estimators: what ``fit``, ``predict`` and ``transform`` accept.

A DataFrame is used as it is, its columns taken by name (a feature table may carry more
columns, in any order, than a fitted model uses). Any other 2-D array-like (a NumPy
array, a list of rows) becomes a DataFrame whose columns are named ``x0``, ``x1``, …
(scikit-learn's names for unnamed features) or, once fitted on a DataFrame, the names
seen in ``fit``, by position. Sparse, complex, empty and infinite input is refused with
an :class:`~seglab.exceptions.InputError` that says what was found.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.utils.validation import check_array, validate_data

from seglab.exceptions import InputError

__all__ = ["as_frame", "check_values", "dense_output", "default_columns", "is_numeric"]


def is_numeric(values: pd.Series) -> bool:
    """Numbers or booleans (the columns scaled rather than one-hot encoded)."""
    return pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)


def default_columns(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric and other columns of ``X``, ``customer_id`` (an identifier, never a feature) left out."""
    used = [c for c in X.columns if c != "customer_id"]
    numeric = [c for c in used if is_numeric(X[c])]
    return numeric, [c for c in used if c not in numeric]


def _array_frame(X, estimator, *, reset: bool, name: str) -> pd.DataFrame:
    try:
        array = check_array(X, dtype=None, ensure_all_finite=False, ensure_min_samples=0,
                            ensure_min_features=0, input_name=name)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be a DataFrame or a 2-D array with one row per customer; {err}") from None
    if not reset:
        try:
            validate_data(estimator, X=array, skip_check_array=True, reset=False)
        except ValueError as err:
            raise InputError(f"{err}; pass the columns {type(estimator).__name__} was fitted on") from None
    names = getattr(estimator, "feature_names_in_", None) if not reset else None
    columns = list(names) if names is not None else [f"x{i}" for i in range(array.shape[1])]
    frame = pd.DataFrame(array, columns=columns)
    return frame.infer_objects() if array.dtype == object else frame


def as_frame(X, estimator, *, reset: bool, min_samples: int = 1, name: str = "X") -> pd.DataFrame:
    """``X`` as a DataFrame of at least ``min_samples`` rows and one column (see the module
    docstring).

    ``reset=True`` (in ``fit``) records ``n_features_in_`` (and ``feature_names_in_`` for
    a DataFrame with text column names) on ``estimator``; ``reset=False`` (``predict``,
    ``transform``) checks an array's width against them. The input is never modified.
    """
    if sparse.issparse(X):
        raise InputError(f"{name} is a sparse matrix; seglab's estimators need dense data: pass X.toarray() "
                         "or a DataFrame")
    if reset:
        try:
            validate_data(estimator, X=X, skip_check_array=True, reset=True)
        except (TypeError, ValueError) as err:
            raise InputError(f"{name}: {err}") from None
    frame = X if isinstance(X, pd.DataFrame) else _array_frame(X, estimator, reset=reset, name=name)
    n, width = frame.shape
    if width == 0:
        raise InputError(f"{name} has 0 feature(s) (shape=({n}, 0)) while a minimum of 1 is required; "
                         "give at least one column")
    if n < min_samples:
        raise InputError(f"{name} has {n} sample(s) (customers), shape=({n}, {width}), while a minimum of "
                         f"{min_samples} is required")
    return frame


def check_values(frame: pd.DataFrame, columns, *, allow_nan: bool = True, name: str = "X") -> None:
    """Refuse complex or infinite numbers in ``columns`` of ``frame`` (and missing ones
    unless ``allow_nan``); other columns are not looked at."""
    numeric = [c for c in columns if is_numeric(frame[c])]
    complex_ = [c for c in numeric if pd.api.types.is_complex_dtype(frame[c])]
    if complex_:
        raise InputError(f"Complex data not supported: {name} columns {complex_} hold complex numbers")
    if not numeric:
        return
    values = frame[numeric].to_numpy(dtype=float, na_value=np.nan)
    infinite = [c for c, bad in zip(numeric, np.isinf(values).any(axis=0)) if bad]
    if infinite:
        raise InputError(f"{name} columns {infinite} hold infinite values (inf); replace them with missing "
                         "values or finite numbers")
    if not allow_nan:
        missing = [c for c, bad in zip(numeric, np.isnan(values).any(axis=0)) if bad]
        if missing:
            raise InputError(f"{name} columns {missing} hold missing values (NaN); impute them first")


def dense_output(estimator, Z: pd.DataFrame):
    """``Z`` as a DataFrame (seglab's default output), or a NumPy array when the estimator
    was set to scikit-learn's default output (``set_output(transform="default")``)."""
    config = getattr(estimator, "_sklearn_output_config", {}).get("transform")
    return Z.to_numpy() if config == "default" else Z
