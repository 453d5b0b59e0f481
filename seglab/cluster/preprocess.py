"""Preprocessing for segmentation: tame skew, put every column on one scale, weigh groups equally.

Per numeric column (decided on the training data, with ``skew="auto"``):
non-negative and skewed (skewness > 1, e.g. money, counts) → ``log1p``; skewed with
negative values → Yeo-Johnson; otherwise unchanged. Then each column is centred and
scaled (``robust``: median and IQR, so that outliers do not set the scale; ``standard``:
mean and standard deviation), clipped to ±``clip`` so that a few extreme customers (a
wholesaler among shoppers) cannot form segments of their own, and rescaled to unit
variance: every numeric column starts with the same weight.

**Missing for a reason is not average.** A numeric column missing for some customers
(``mean_interpurchase_days`` of one-time buyers) gets a 0/1 *missing* indicator beside
it, and its missing values sit at the column's median, where they add nothing to the
distances: customers it does not apply to are told apart by the indicator, not by an
invented value.

Categorical columns (and numeric columns with two values, such as yes/no flags) are
one-hot encoded, rare levels grouped; two customers in different categories are as far
apart as two customers one standard deviation apart on two numeric columns, and a
category most customers share carries little weight.

**Groups weigh the same.** With ``groups`` (column → group, e.g. its criterion), every
column of a group of ``n`` columns is weighted by 1/√n, so that every group contributes
the same at most, whatever its number of columns; without it, every column is its own
group. An optional PCA comes last. Everything is a scikit-learn pipeline with pandas
output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, PowerTransformer
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from seglab._validation import check_choice, require_columns
from seglab.cluster._input import as_frame, check_values, dense_output, default_columns

__all__ = ["Preprocessor", "skew_plan", "SKEWS", "SCALINGS", "MISSING_INDICATOR"]

SKEW_THRESHOLD = 1.0
SKEWS = ("auto", "log", "yeo-johnson", "none")
"""The skew transforms :class:`Preprocessor` knows."""
SCALINGS = ("robust", "standard")
"""The scalings :class:`Preprocessor` knows."""
MISSING_INDICATOR = 0.01
"""A numeric column missing for at least this share of the training customers gets an indicator."""


def skew_plan(frame: pd.DataFrame, numeric: Sequence[str], skew: str = "auto") -> dict[str, str]:
    """How each numeric column is transformed: ``log``, ``yeo-johnson`` or ``none``.

    ``skew="log"`` applies the log to non-negative columns only; ``"yeo-johnson"`` and
    ``"none"`` apply to every column; ``"auto"`` decides per column.

    >>> skew_plan(pd.DataFrame({"spend": [1, 2, 3, 4, 100.0], "score": [1, 2, 3, 4, 5.0]}),
    ...           ["spend", "score"])
    {'spend': 'log', 'score': 'none'}
    """
    check_choice(skew, SKEWS, name="skew")
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


def _scale(frame, factors):
    return frame * factors


class _UnitScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Centre and scale (robust or standard), clip to ±clip, then rescale to unit variance."""

    def __init__(self, robust: bool = True, clip: float | None = 5.0):
        self.robust = robust
        self.clip = clip

    def fit(self, X, y=None):
        data = np.asarray(X, dtype=float)
        if self.robust:
            q1, center, q3 = np.percentile(data, [25, 50, 75], axis=0)
            scale = (q3 - q1) / 1.349  # the IQR of a normal distribution, in standard deviations
            spread = data.std(axis=0)
            scale = np.where(scale > 0, scale, np.where(spread > 0, spread, 1.0))
        else:
            center, scale = data.mean(axis=0), data.std(axis=0)
            scale = np.where(scale > 0, scale, 1.0)
        self.center_, self.scale_ = center, scale
        self.n_features_in_ = data.shape[1]
        unit = self._clipped(data).std(axis=0)
        self.unit_ = np.where(unit > 0, unit, 1.0)
        return self

    def _clipped(self, data):
        z = (data - self.center_) / self.scale_
        return np.clip(z, -self.clip, self.clip) if self.clip else z

    def transform(self, X):
        check_is_fitted(self, "unit_")
        return self._clipped(np.asarray(X, dtype=float)) / self.unit_


def _is_flag(values: pd.Series) -> bool:
    """Numeric with at most two distinct values: a yes/no flag, encoded like a category."""
    return values.dropna().nunique() <= 2


class Preprocessor(TransformerMixin, BaseEstimator):
    """Skew transforms, unit scaling, missing indicators, one-hot encoding, group weights and
    optional PCA, decided on ``fit`` (see the module docstring).

    An unfitted ``Preprocessor`` is how the preprocessing is chosen everywhere: pass it to
    :class:`~seglab.cluster.Segmenter`, :func:`~seglab.cluster.choose_k` or
    :func:`~seglab.cluster.segment`, which fit a clone of it.

    Parameters
    ----------
    numeric, categorical : sequence of str, optional
        Column names (default: the numeric and the other columns of the training frame,
        ``customer_id`` left out).
    groups : mapping of str to str, optional
        Column → group (e.g. its criterion): each group weighs the same. None: each
        column is its own group.
    skew : {"auto", "log", "yeo-johnson", "none"}, default "auto"
        ``"auto"`` decides per column (see :func:`skew_plan`).
    scaling : {"robust", "standard"}, default "robust"
        ``"robust"`` (median and IQR decide what is extreme; the default: money has
        outliers) or ``"standard"`` (mean and standard deviation).
    clip : float or None, default 5.0
        Scaled numeric values are clipped to [-clip, clip] before the rescaling to unit
        variance (None: no clipping).
    pca : int, float or None, default None
        None, a number of components, or a share of variance to keep (e.g. 0.9).
    max_categories : int, default 12
        One-hot columns per categorical feature at most (rarer levels grouped).
    random_state : int, default 0
        For PCA's solver.

    Attributes
    ----------
    numeric_, categorical_ : list of str
        The columns used.
    plan_ : dict
        The transform chosen for each numeric column.
    flags_ : list of str
        Numeric columns with two values, encoded like categories.
    indicators_ : list of str
        Numeric columns that got a missing indicator.
    weights_ : dict
        The weight of each used column (1/√n for a group of n columns).
    transformer_ : sklearn.pipeline.Pipeline
        The fitted steps.
    feature_names_out_ : list of str
        The names of the output columns.
    n_features_in_ : int
        Columns of the training data.
    feature_names_in_ : ndarray of str
        Their names (when fitted on a DataFrame with text column names).

    Notes
    -----
    ``fit`` and ``transform`` take a DataFrame (columns by name) or any 2-D array (columns
    ``x0``, ``x1``, …). ``transform`` returns a DataFrame with readable column names, or
    a NumPy array after ``set_output(transform="default")``.

    Examples
    --------
    >>> X = pd.DataFrame({"spend": [10.0, 20, 30, 400], "plan": ["a", "b", "a", "b"]})
    >>> Preprocessor(skew="none").fit(X).get_feature_names_out().tolist()
    ['spend', 'plan_a', 'plan_b']
    """

    def __init__(self, numeric: Sequence[str] | None = None, categorical: Sequence[str] | None = None,
                 groups: Mapping[str, str] | None = None, skew: str = "auto", scaling: str = "robust",
                 clip: float | None = 5.0, pca: float | int | None = None, max_categories: int = 12,
                 random_state: int = 0):
        self.numeric = numeric
        self.categorical = categorical
        self.groups = groups
        self.skew = skew
        self.scaling = scaling
        self.clip = clip
        self.pca = pca
        self.max_categories = max_categories
        self.random_state = random_state

    def columns(self, X: pd.DataFrame) -> tuple[list[str], list[str]]:
        """The numeric and categorical columns this preprocessor uses of ``X`` (its
        ``numeric`` and ``categorical``, each defaulting to what ``X`` holds)."""
        numeric, categorical = default_columns(X)
        numeric = list(self.numeric) if self.numeric is not None else numeric
        categorical = list(self.categorical) if self.categorical is not None else [
            c for c in X.columns if c != "customer_id" and c not in numeric]
        return numeric, categorical

    def fit(self, X, y=None) -> Preprocessor:
        """Decide every transform on ``X`` (one row per customer); ``y`` is ignored.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_columns)
            The training customers.
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        Preprocessor
            ``self``, fitted.
        """
        check_choice(self.scaling, SCALINGS, name="scaling")
        check_choice(self.skew, SKEWS, name="skew")
        X = as_frame(X, self, reset=True)
        numeric, categorical = self.columns(X)
        require_columns(X, [*numeric, *categorical], table="X", hint="choose columns of X")
        check_values(X, numeric)
        self.numeric_, self.categorical_ = numeric, categorical
        self.flags_ = [c for c in numeric if _is_flag(pd.to_numeric(X[c], errors="coerce"))]
        prepared = self._prepare(X)
        scaled = [c for c in numeric if c not in self.flags_]
        self.plan_ = skew_plan(prepared, scaled, self.skew)
        missing = prepared[scaled].isna().mean() if scaled else pd.Series(dtype=float)
        self.indicators_ = [c for c in scaled if missing[c] >= MISSING_INDICATOR]
        branches = []
        for kind, step in (("log", FunctionTransformer(_log1p, feature_names_out="one-to-one")),
                           ("yeo-johnson", PowerTransformer(method="yeo-johnson", standardize=False)),
                           ("none", None)):
            cols = [c for c in scaled if self.plan_[c] == kind]
            if cols:
                steps = [SimpleImputer(strategy="median"), *([step] if step is not None else []),
                         _UnitScaler(robust=self.scaling == "robust", clip=self.clip)]
                branches.append((kind, make_pipeline(*steps), cols))
        if self.indicators_:
            branches.append(("missing", MissingIndicator(features="all"), self.indicators_))
        for col in [*self.flags_, *categorical]:  # one encoder per column: its outputs are its own
            # grouping infrequent categories needs the encoder to count every value in
            # Python (2 s at 50,000 customers); only a column with more categories than
            # max_categories has any to group, and without them the two encoders agree
            # (an unknown category is all zeros)
            many = self.max_categories is not None and prepared[col].nunique(dropna=False) > self.max_categories
            encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=self.max_categories,
                                    sparse_output=False) if many else OneHotEncoder(handle_unknown="ignore",
                                                                                    sparse_output=False)
            branches.append((f"category:{col}", make_pipeline(
                SimpleImputer(strategy="constant", fill_value="missing"), encoder), [col]))
        columns = ColumnTransformer(branches, verbose_feature_names_out=False).set_output(transform="pandas")
        encoded = columns.fit_transform(prepared)
        weights = FunctionTransformer(_scale, kw_args={"factors": self._factors(columns)},
                                      feature_names_out="one-to-one").set_output(transform="pandas")
        weighted = weights.fit_transform(encoded)
        steps = [("columns", columns), ("weights", weights)]
        if self.pca:
            pca = PCA(n_components=self.pca, random_state=self.random_state).set_output(transform="pandas")
            steps.append(("pca", pca.fit(weighted)))
        self.transformer_ = Pipeline(steps)
        self.feature_names_out_ = list(self.transformer_.get_feature_names_out())
        return self

    def _factors(self, columns: ColumnTransformer) -> np.ndarray:
        """The weight of each output column: 1/√(columns in its group)."""
        used = [*self.numeric_, *self.categorical_]
        group = {c: (self.groups or {}).get(c, c) for c in used}
        sizes = pd.Series(group).value_counts()
        self.weights_ = {c: float(1 / np.sqrt(sizes[group[c]])) for c in used}
        factors = np.ones(len(columns.get_feature_names_out()))
        for name, _, cols in columns.transformers_:
            if name == "remainder":
                continue
            where = columns.output_indices_[name]
            sources = cols if where.stop - where.start == len(cols) else [cols[0]] * (where.stop - where.start)
            factors[where] = [self.weights_[c] for c in sources]
        return factors

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X[[*self.numeric_, *self.categorical_]].copy()
        for col in self.numeric_:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
        for col in self.flags_:  # encoded as categories: "0", "1"
            out[col] = out[col].map(lambda v: f"{v:g}", na_action="ignore").astype("object")
        for col in self.categorical_:  # as text: mixed types (2 and "2") sort and encode as one
            out[col] = out[col].map(str, na_action="ignore").astype("object").where(out[col].notna(), np.nan)
        return out

    def transform(self, X):
        """The preprocessed matrix.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_columns)
            Customers with the training columns (a DataFrame may hold more, in any order).

        Returns
        -------
        DataFrame of shape (n_customers, n_features_out)
            Readable column names (:meth:`get_feature_names_out`), the index of ``X``; a
            NumPy array after ``set_output(transform="default")``.
        """
        check_is_fitted(self, "transformer_")
        X = as_frame(X, self, reset=False)
        require_columns(X, [*self.numeric_, *self.categorical_], table="X",
                        hint="pass the columns the preprocessor was fitted on")
        check_values(X, self.numeric_)
        return dense_output(self, self.transformer_.transform(self._prepare(X)))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The names of the output columns (``input_features`` is only checked against the
        training columns: the names come from them)."""
        check_is_fitted(self, "transformer_")
        _check_feature_names_in(self, input_features)
        return np.asarray(self.feature_names_out_, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing for a reason: an indicator, not an invented value
        tags.input_tags.string = True  # categorical columns are one-hot encoded
        return tags
