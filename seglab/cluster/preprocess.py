"""Preprocessing for segmentation: tame skew, scale, encode categories, optionally reduce.

Per numeric column (decided on the training data, with ``skew="auto"``):
non-negative and skewed (skewness > 1, e.g. money, counts) → ``log1p``; skewed with
negative values → Yeo-Johnson; otherwise unchanged. Then robust (median/IQR) or
standard scaling, and scaled values are clipped to ±``clip`` (5 by default) so that a few
extreme customers (a wholesaler among shoppers) cannot form segments of their own.
Missing values are imputed (median; ``"missing"`` for categories).
Categories are one-hot encoded, rare levels grouped. An optional PCA comes last.
Everything is a scikit-learn pipeline with pandas output.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (FunctionTransformer, OneHotEncoder, PowerTransformer, RobustScaler,
                                   StandardScaler)
from sklearn.utils.validation import check_is_fitted

from seglab._validation import check_choice, require_columns, require_frame

__all__ = ["Preprocessor", "skew_plan"]

SKEW_THRESHOLD = 1.0


def skew_plan(frame: pd.DataFrame, numeric: Sequence[str], skew: str = "auto") -> dict[str, str]:
    """How each numeric column is transformed: ``log``, ``yeo-johnson`` or ``none``.

    ``skew="log"`` applies the log to non-negative columns only; ``"yeo-johnson"`` and
    ``"none"`` apply to every column; ``"auto"`` decides per column.

    >>> skew_plan(pd.DataFrame({"spend": [1, 2, 3, 4, 100.0], "score": [1, 2, 3, 4, 5.0]}),
    ...           ["spend", "score"])
    {'spend': 'log', 'score': 'none'}
    """
    check_choice(skew, ("auto", "log", "yeo-johnson", "none"), name="skew")
    plan = {}
    for col in numeric:
        values = pd.to_numeric(frame[col], errors="coerce").astype(float).dropna()
        non_negative = bool((values >= 0).all())
        if skew == "log":
            plan[col] = "log" if non_negative else "none"
        elif skew != "auto":
            plan[col] = skew
        elif len(values) > 2 and abs(values.skew()) > SKEW_THRESHOLD:
            plan[col] = "log" if non_negative else "yeo-johnson"
        else:
            plan[col] = "none"
    return plan


def _log1p(x):
    return np.log1p(np.clip(x, 0, None))


class Preprocessor(TransformerMixin, BaseEstimator):
    """Skew transforms, scaling, one-hot encoding and optional PCA, decided on ``fit``.

    Parameters
    ----------
    numeric, categorical
        Column names (default: numeric and non-numeric columns of the training frame).
    skew
        ``"auto"`` (per column, see the module docstring), ``"log"``, ``"yeo-johnson"``
        or ``"none"``.
    scaling
        ``"robust"`` (median and IQR, the default: money has outliers) or ``"standard"``.
    clip
        Scaled numeric values are clipped to [-clip, clip] (None: no clipping).
    pca
        None, a number of components, or a share of variance to keep (e.g. 0.9).
    max_categories
        One-hot columns per categorical feature at most (rarer levels grouped).
    random_state
        For PCA's solver.

    Attributes
    ----------
    plan_ : dict
        The transform chosen for each numeric column.
    transformer_ : sklearn Pipeline
    feature_names_out_ : list of str
    """

    def __init__(self, numeric: Sequence[str] | None = None, categorical: Sequence[str] | None = None,
                 skew: str = "auto", scaling: str = "robust", clip: float | None = 5.0,
                 pca: float | int | None = None, max_categories: int = 12, random_state: int = 0):
        self.clip = clip
        self.numeric = numeric
        self.categorical = categorical
        self.skew = skew
        self.scaling = scaling
        self.pca = pca
        self.max_categories = max_categories
        self.random_state = random_state

    def _columns(self, X: pd.DataFrame) -> tuple[list[str], list[str]]:
        numeric = list(self.numeric) if self.numeric is not None else [
            c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])]
        categorical = list(self.categorical) if self.categorical is not None else [
            c for c in X.columns if c not in numeric]
        return numeric, categorical

    def fit(self, X: pd.DataFrame, y=None) -> Preprocessor:
        require_frame(X, "X")
        check_choice(self.scaling, ("robust", "standard"), name="scaling")
        numeric, categorical = self._columns(X)
        require_columns(X, [*numeric, *categorical], table="X")
        self.numeric_, self.categorical_ = numeric, categorical
        self.plan_ = skew_plan(X, numeric, self.skew)
        scaler = RobustScaler if self.scaling == "robust" else StandardScaler
        branches = []
        for kind, step in (("log", FunctionTransformer(_log1p, feature_names_out="one-to-one")),
                           ("yeo-johnson", PowerTransformer(method="yeo-johnson", standardize=False)),
                           ("none", "passthrough")):
            cols = [c for c in numeric if self.plan_[c] == kind]
            if cols:
                steps = [SimpleImputer(strategy="median")] + ([step] if step != "passthrough" else [])
                steps.append(scaler())
                if self.clip:
                    steps.append(FunctionTransformer(np.clip, kw_args={"a_min": -self.clip, "a_max": self.clip},
                                                     feature_names_out="one-to-one"))
                branches.append((kind, make_pipeline(*steps), cols))
        if categorical:
            branches.append(("categories", make_pipeline(
                SimpleImputer(strategy="constant", fill_value="missing"),
                OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=self.max_categories,
                              sparse_output=False)), categorical))
        steps = [("columns", ColumnTransformer(branches, verbose_feature_names_out=False))]
        if self.pca:
            steps.append(("pca", PCA(n_components=self.pca, random_state=self.random_state)))
        self.transformer_ = Pipeline(steps).set_output(transform="pandas")
        self.transformer_.fit(self._prepare(X))
        self.feature_names_out_ = list(self.transformer_.get_feature_names_out())
        return self

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X[[*self.numeric_, *self.categorical_]].copy()
        for col in self.numeric_:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
        for col in self.categorical_:
            out[col] = out[col].astype("object").where(out[col].notna(), np.nan)
        return out

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The preprocessed matrix (a DataFrame with readable column names)."""
        check_is_fitted(self, "transformer_")
        require_columns(X, [*self.numeric_, *self.categorical_], table="X")
        return self.transformer_.transform(self._prepare(X))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "transformer_")
        return np.asarray(self.feature_names_out_, dtype=object)
