"""The segmenter: preprocessing plus a clustering algorithm, as one scikit-learn estimator.

Algorithms:

``kmeans`` (default), ``minibatch`` (mini-batch k-means, for large data), ``gmm``
(Gaussian mixture), ``ward`` (agglomerative), ``hdbscan`` (density-based; its noise
becomes the explicit *unassigned* group, label :data:`UNASSIGNED`), ``kprototypes``
(mixed numeric and categorical data).

**Fitted on a sample.** Beyond ``max_fit_rows`` customers (default
:data:`FIT_SAMPLE`: 100,000; 20,000 for Ward and HDBSCAN, which scale quadratically, and
for the Gaussian mixture, whose EM steps are slow and many) the
algorithm is fitted on a seeded sample, stratified by the ordering value (e.g. CLV
deciles) when there is one, and every customer is then assigned by the fitted model:
nearest centre (k-means, mini-batch, Ward), most probable component (Gaussian mixture),
nearest prototype (k-prototypes); HDBSCAN leaves a customer unassigned when farther from
every centre than that segment's own customers are. Segments are as stable on a 100,000
sample as on all customers, and the fit no longer grows with the customer base.

The Gaussian mixture's covariance is full up to :data:`FULL_COVARIANCE_MAX_COLUMNS`
preprocessed columns and diagonal beyond: a full covariance costs d(d+1)/2 parameters
per segment and O(n k d²) per EM step. On 50,000 drawn customers with 104 columns
(one-hot criteria) diagonal was 20 × faster and recovered the planted segments at
least as well (ARI 0.53 vs 0.44).

The Gaussian mixture's EM runs once, from the segments of single-precision k-means (the
best of a third of ``n_init`` k-means++ runs): their shares, means and covariances are
its start. scikit-learn's default start runs one double-precision k-means per EM
restart, and one restart from it was not enough. On the built-in sample and on 50,000
and 40,000 drawn customers (k = 3..8; five, five and three seeds) one EM run from the
k-means start recovered the planted segments at least as well as two restarts from
scikit-learn's (mean adjusted Rand index 0.55 vs 0.51, 0.57 vs 0.51, 0.55 vs 0.54);
fitted on 20,000 of the 50,000 and 40,000 (then assigning everyone), 0.55 and 0.54, in
3.2 – 3.7 × less time (k = 4..8) than two restarts on everyone.

Segments are numbered canonically: by decreasing mean of ``order_values`` (e.g. CLV)
when given to :meth:`Segmenter.fit`, else by decreasing size; so the same input and
parameters always give the same labels.

**Independent of row order.** Every random step (k-means++ seeds, samples, bootstrap
resamples) draws rows by position, so customers are first put in a canonical order
that depends only on their feature values (:func:`canonical_order`), never on their
ids (pseudonyms change with the salt) or on the order the rows came in.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from seglab._io import atomic_path
from seglab._validation import check_choice, check_range
from seglab.cluster._input import as_frame, dense_output
from seglab.cluster.kprototypes import KPrototypes
from seglab.cluster.preprocess import Preprocessor
from seglab.exceptions import InputError, ParameterError

__all__ = ["Segmenter", "PreparedData", "load_segmenter", "ALGORITHMS", "UNASSIGNED", "FIT_SAMPLE", "FULL_COVARIANCE_MAX_COLUMNS",
           "GMM_REG_COVAR",
           "fit_labels", "canonical_order", "sample_rows", "stratum_draws", "canonical_sample"]

logger = logging.getLogger(__name__)

ALGORITHMS = ("kmeans", "minibatch", "gmm", "ward", "hdbscan", "kprototypes")
"""The clustering algorithms :class:`Segmenter` knows (see the module docstring)."""
UNASSIGNED = -1
"""Label of customers no segment claims (HDBSCAN's noise)."""
FIT_SAMPLE = {"kmeans": 100_000, "minibatch": 100_000, "gmm": 20_000, "kprototypes": 100_000,
              "ward": 20_000, "hdbscan": 20_000}
"""Customers each algorithm is fitted on at most by default (a seeded sample beyond)."""
FULL_COVARIANCE_MAX_COLUMNS = 30
"""The Gaussian mixture's covariance is full up to this many preprocessed columns, diagonal beyond."""
GMM_REG_COVAR = 1e-5
"""Added to the Gaussian mixture's variances, so that a column constant within a segment
(a one-hot category) cannot make its likelihood infinite."""
_NEAREST_CENTRE = ("ward", "hdbscan")  # no predict of their own: the rest go to the nearest centre


def _lookup(mapping: dict[int, int], values: np.ndarray) -> np.ndarray:
    """Map integer labels through ``mapping`` (vectorized; unknown labels → UNASSIGNED)."""
    values = np.asarray(values, dtype=np.int64)
    keys = np.array(sorted(mapping), dtype=np.int64)
    targets = np.array([mapping[k] for k in keys], dtype=np.int64)
    where = np.clip(np.searchsorted(keys, values), 0, len(keys) - 1)
    return np.where(keys[where] == values, targets[where], UNASSIGNED)


def canonical_order(X: pd.DataFrame) -> np.ndarray:
    """Row positions that sort ``X`` by its values (numbers to single precision, missing last).

    The same customers in any order, under any pseudonyms, get the same sequence of
    rows; rows with identical values are interchangeable.

    Parameters
    ----------
    X : DataFrame
        One row per customer, the columns to order by (never the ids).

    Returns
    -------
    ndarray of int
        Positions: ``X.iloc[canonical_order(X)]`` is in the canonical order.

    >>> X = pd.DataFrame({"spend": [3.0, 1.0, 2.0], "plan": ["b", "a", "a"]})
    >>> canonical_order(X).tolist()
    [1, 2, 0]
    """
    keys = []
    for col in X.columns:
        values = X[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            data = values.to_numpy(dtype=float, na_value=np.nan).astype(np.float32)
            keys.append(np.where(np.isnan(data), np.inf, data))
        else:
            keys.append(pd.Series(values.astype("str").where(values.notna())).rank(
                method="dense", na_option="bottom").to_numpy())
    if not keys:
        return np.arange(len(X))
    return np.lexsort(keys[::-1])


def _distances(data: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Euclidean distances (n × k) without an n × k × d intermediate."""
    squared = (np.einsum("ij,ij->i", data, data)[:, None] - 2 * data @ centres.T
               + np.einsum("ij,ij->i", centres, centres)[None, :])
    return np.sqrt(np.maximum(squared, 0))


def stratum_draws(counts, size: int, *, random_state: int = 0) -> list[np.ndarray]:
    """Which rows of each stratum a seeded sample of ``size`` draws: per stratum (``counts``
    rows each, in order), the sorted ordinals of its drawn rows.

    Each stratum gives rows in proportion to its size (largest remainders), so a small
    stratum such as the top CLV decile is neither missed nor over-drawn. The draw needs
    only the counts, so an engine that numbers the rows of each stratum draws the same
    customers as :func:`sample_rows` (see :func:`seglab.cluster.draw_sample`).

    >>> [d.tolist() for d in stratum_draws([5, 5], 4)]
    [[3, 4], [1, 4]]
    """
    rng = np.random.default_rng(random_state)
    counts = np.asarray(counts, dtype=np.int64)
    n_rows = int(counts.sum())
    if size >= n_rows:
        return [np.arange(c) for c in counts]
    exact = counts * size / n_rows
    quota = np.floor(exact).astype(int)
    short = size - quota.sum()
    quota[np.argsort(-(exact - quota), kind="stable")[:short]] += 1
    return [np.sort(rng.choice(c, q, replace=False)) if q else np.empty(0, dtype=np.int64)
            for c, q in zip(counts, quota, strict=True)]


def sample_rows(n_rows: int, size: int, *, strata: np.ndarray | None = None, random_state: int = 0) -> np.ndarray:
    """Sorted positions of a seeded sample of ``size`` of ``n_rows`` rows.

    With ``strata`` (a label per row), each stratum gives rows in proportion to its size
    (:func:`stratum_draws`).

    >>> sample_rows(10, 4, strata=np.array([0] * 5 + [1] * 5)).tolist()
    [3, 4, 6, 9]
    """
    if size >= n_rows:
        return np.arange(n_rows)
    codes = np.zeros(n_rows, dtype=np.int64) if strata is None else \
        np.unique(np.asarray(strata), return_inverse=True)[1].ravel()
    counts = np.bincount(codes)
    draws = stratum_draws(counts, size, random_state=random_state)
    return np.sort(np.concatenate([np.flatnonzero(codes == s)[d] for s, d in enumerate(draws) if len(d)]))


def canonical_sample(X: pd.DataFrame, size: int, *, strata: np.ndarray | None = None,
                     order_values: np.ndarray | None = None, random_state: int = 0) -> np.ndarray | None:
    """Sorted positions of a seeded sample of ``size`` rows of ``X`` drawn in its canonical
    order (:func:`canonical_order`: the same customers whatever the row order or the
    pseudonyms), stratified by ``strata`` (a label per row of ``X``) or by the deciles of
    ``order_values`` (ranked in the canonical order, so ties split the same way) when
    given; None when ``X`` has no more than ``size`` rows."""
    if len(X) <= size:
        return None
    order = canonical_order(X)
    if order_values is not None:
        strata = _value_strata(np.asarray(order_values, dtype=float)[order])
    elif strata is not None:
        strata = np.asarray(strata)[order]
    return np.sort(order[sample_rows(len(X), size, strata=strata, random_state=random_state)])


def _value_strata(order_values: np.ndarray | None, n_bins: int = 10) -> np.ndarray | None:
    """Deciles of the ordering value (missing values a stratum of their own), or None."""
    if order_values is None:
        return None
    values = pd.Series(order_values, dtype=float)
    bins = pd.qcut(values.rank(method="first"), n_bins, labels=False) if values.notna().any() else values
    return bins.fillna(-1).to_numpy(dtype=np.int64)


def _model(algorithm: str, k: int, *, random_state: int, n_init: int, min_cluster_size: int | None,
           categorical: Sequence[str], n_rows: int, n_columns: int):
    if algorithm == "kmeans":
        return KMeans(k, n_init=n_init, random_state=random_state)
    if algorithm == "minibatch":
        return MiniBatchKMeans(k, n_init=max(3, n_init // 3), batch_size=4096, random_state=random_state)
    if algorithm == "gmm":  # one EM run, from the k-means start fit_labels gives it
        covariance = "full" if n_columns <= FULL_COVARIANCE_MAX_COLUMNS else "diag"
        return GaussianMixture(k, covariance_type=covariance, n_init=1, random_state=random_state,
                               reg_covar=GMM_REG_COVAR)
    if algorithm == "ward":
        return AgglomerativeClustering(k, linkage="ward")
    if algorithm == "hdbscan":
        size = min_cluster_size or max(10, n_rows // 100)
        return HDBSCAN(min_cluster_size=size, copy=True)
    return KPrototypes(k, categorical=categorical, n_init=max(1, n_init // 2), random_state=random_state)


def _dtype(algorithm: str):
    """k-means runs in single precision: 3-6x faster on scaled, clipped features, with
    centres precise to far more digits than the features mean anything."""
    return np.float32 if algorithm in ("kmeans", "minibatch") else np.float64


def fit_labels(algorithm: str, Z: pd.DataFrame, k: int, *, random_state: int = 0, n_init: int = 10,
               min_cluster_size: int | None = None, categorical: Sequence[str] = ()):
    """Fit one algorithm on a preprocessed matrix; returns (model, raw labels).

    For k-prototypes, ``Z`` holds the scaled numeric columns plus the raw categorical ones.
    """
    model = _model(algorithm, k, random_state=random_state, n_init=n_init,
                   min_cluster_size=min_cluster_size, categorical=categorical, n_rows=len(Z),
                   n_columns=Z.shape[1] - len(categorical) if algorithm == "kprototypes" else Z.shape[1])
    data = Z if algorithm == "kprototypes" else Z.to_numpy(dtype=_dtype(algorithm))
    with _threads(algorithm):
        if algorithm == "gmm":
            model.set_params(**_gmm_start(data, k, model.covariance_type, n_init=_gmm_kmeans_runs(n_init),
                                          random_state=random_state))
            labels = model.fit(data).predict(data)
        else:
            labels = model.fit_predict(data)
    return model, np.asarray(labels, dtype=np.int64)


def _gmm_kmeans_runs(n_init: int) -> int:
    """Runs of k-means the Gaussian mixture's start is the best of: a third of ``n_init``
    (3 for the default 10; 1 for the quick refits of the evidence for k)."""
    return max(1, n_init // 3)


def _gmm_start(data: np.ndarray, k: int, covariance: str, *, n_init: int, random_state: int) -> dict:
    """The Gaussian mixture's starting point: the segments of single-precision k-means
    (best of ``n_init`` k-means++ runs), each segment's share, mean and covariance (plus
    :data:`GMM_REG_COVAR`) as ``weights_init``, ``means_init`` and ``precisions_init``.

    scikit-learn's own start (``init_params="kmeans"``) runs one double-precision k-means
    per EM restart; this one runs k-means as seglab's k-means does, once, and EM once from
    its result."""
    labels = KMeans(k, n_init=n_init, random_state=random_state).fit(data.astype(np.float32)).labels_
    # as scikit-learn's start: a segment k-means left empty (fewer distinct customers than
    # k) gets a tiny weight, a zero mean and the regularising variance
    counts = np.bincount(labels, minlength=k) + 10 * np.finfo(float).eps
    members = [data[labels == c] for c in range(k)]
    means = np.vstack([rows.sum(axis=0) / counts[c] for c, rows in enumerate(members)])
    if covariance == "diag":
        variances = np.vstack([((rows - means[c]) ** 2).sum(axis=0) / counts[c] for c, rows in enumerate(members)])
        precisions = 1.0 / (variances + GMM_REG_COVAR)
    else:
        eye = np.eye(data.shape[1])
        precisions = []
        for c, rows in enumerate(members):
            centred = rows - means[c]
            inverse = np.linalg.inv(centred.T @ centred / counts[c] + GMM_REG_COVAR * eye)
            precisions.append((inverse + inverse.T) / 2)  # exactly symmetric, as scikit-learn checks
        precisions = np.array(precisions)
    return {"weights_init": counts / counts.sum(), "means_init": means, "precisions_init": precisions}


def _threads(algorithm: str):
    """The thread setting an algorithm runs fastest with. The Gaussian mixture's EM works on
    k small covariance matrices and mini-batch k-means on batches of 4,096 customers, where
    threads cost more than they bring: one thread fits 3,000 customers 8 × faster (GMM) and
    50,000 customers 3 × (GMM) and 8 × (mini-batch) faster on a busy 2-core machine."""
    if algorithm in ("gmm", "minibatch"):
        return threadpool_limits(limits=1)
    return nullcontext()


def _fingerprint(X: pd.DataFrame) -> str:
    """A digest of the values and column names of ``X`` (row order included)."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    digest.update(repr(list(X.columns)).encode())
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class PreparedData:
    """Customers put in canonical order and preprocessed once (:meth:`Segmenter.prepare`).

    What :meth:`Segmenter.fit` does before the algorithm runs depends only on the data and
    the preprocessing, not on k, the algorithm or its seed (except k-prototypes, which
    leaves the categorical columns unencoded). Passing this to ``fit(prepared=...)``
    skips that work and gives exactly the segments a fit without it gives. Treat it as
    read-only: segmenters fitted with it share its matrices.

    Attributes
    ----------
    numeric, categorical : tuple of str
        The columns used.
    encoded : bool
        Whether the categorical columns are one-hot encoded (every algorithm but
        k-prototypes).
    order : ndarray of int
        The canonical order (:func:`canonical_order`) of the rows of the data.
    X : DataFrame
        The data in that order (index 0, 1, …).
    preprocessor : Preprocessor
        The preprocessing, fitted on ``X``.
    Z : DataFrame
        The matrix the algorithm sees, rows in the canonical order.
    fingerprint : str
        A digest of the data it was made from (values, column names, row order).
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    encoded: bool
    order: np.ndarray
    X: pd.DataFrame
    preprocessor: Preprocessor
    Z: pd.DataFrame
    fingerprint: str


class Segmenter(ClusterMixin, TransformerMixin, BaseEstimator):
    """Segment customers: preprocessing and a clustering algorithm in one estimator.

    Parameters
    ----------
    k : int, default 5
        Number of segments (ignored by ``hdbscan``, which finds its own).
    algorithm : str, default "kmeans"
        One of :data:`ALGORITHMS`.
    preprocessor : Preprocessor, optional
        The preprocessing, unfitted (a clone is fitted): its columns, group weights,
        skew, scaling, clipping and PCA. Default: ``Preprocessor()``, every numeric and
        categorical column of ``X`` but ``customer_id``. For ``kprototypes`` its
        categorical columns go to the algorithm unencoded.
    min_cluster_size : int, optional
        HDBSCAN's smallest segment (default: 1 % of the customers, at least 10).
    max_fit_rows : int, optional
        Fit on a seeded sample of at most this many customers (stratified by
        ``order_values`` when given) and assign the rest with the fitted model. Default:
        :data:`FIT_SAMPLE` (100,000; Ward, HDBSCAN and the Gaussian mixture 20,000).
    n_init : int, default 10
        Restarts of the algorithm (the Gaussian mixture: of the k-means its EM starts
        from, a third as many; EM itself runs once).
    random_state : int, default 0
        Seed of the algorithm.

    Attributes
    ----------
    labels_ : ndarray of int
        Canonical segment of each training customer (0, 1, …; -1 unassigned).
    k_ : int
        Segments found (``k``, except for ``hdbscan``).
    sizes_ : pandas.Series
        Customers per segment.
    centers_ : pandas.DataFrame
        Segment centres in the preprocessed space (for assignment and alignment).
    profile_ : pandas.DataFrame
        Mean of each numeric column and mode of each categorical one, per segment,
        in the original units.
    numeric_, categorical_ : list of str
        The columns used.
    preprocessor_ : Preprocessor
        The fitted clone of ``preprocessor``.
    model_ : estimator
        The fitted clustering estimator.
    n_features_in_ : int
        Columns of the training data.
    feature_names_in_ : ndarray of str
        Their names (when fitted on a DataFrame with text column names).

    Notes
    -----
    ``fit``, ``predict`` and ``transform`` take a DataFrame (columns by name: it may hold
    more columns than the model uses) or any 2-D array (columns ``x0``, ``x1``, …).

    Examples
    --------
    >>> X = pd.DataFrame({"spend": [1.0, 1.2, 0.9, 10.0, 11.0, 9.5], "visits": [1, 2, 1, 9, 8, 9]})
    >>> model = Segmenter(2, preprocessor=Preprocessor(scaling="standard")).fit(X, order_values=X["spend"])
    >>> model.labels_.tolist()  # segment 0 spends most
    [1, 1, 1, 0, 0, 0]
    """

    def __init__(self, k: int = 5, algorithm: str = "kmeans", *, preprocessor: Preprocessor | None = None,
                 min_cluster_size: int | None = None, max_fit_rows: int | None = None, n_init: int = 10,
                 random_state: int = 0):
        self.k = k
        self.algorithm = algorithm
        self.preprocessor = preprocessor
        self.min_cluster_size = min_cluster_size
        self.max_fit_rows = max_fit_rows
        self.n_init = n_init
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def _check(self, X) -> tuple[pd.DataFrame, Preprocessor]:
        check_choice(self.algorithm, ALGORITHMS, name="algorithm")
        if self.algorithm != "hdbscan":
            check_range(self.k, name="k", low=1, integer=True)
        if self.preprocessor is not None and not isinstance(self.preprocessor, Preprocessor):
            raise ParameterError(f"preprocessor must be a seglab.cluster.Preprocessor; got "
                                 f"{type(self.preprocessor).__name__}")
        X = as_frame(X, self, reset=True, min_samples=2)
        if self.algorithm != "hdbscan" and len(X) < self.k:
            raise InputError(f"k={self.k} segments but there are only {len(X)} customers; choose a smaller k")
        # a clone, always with DataFrame output: the segmenter reads the columns by name
        prep = clone(self.preprocessor if self.preprocessor is not None else Preprocessor()).set_output(
            transform="pandas")
        numeric, categorical = prep.columns(X)
        if not numeric and not categorical:
            raise InputError("no features to segment on: X has no column but customer_id")
        return X, prep.set_params(numeric=numeric, categorical=categorical)

    def prepare(self, X) -> PreparedData:
        """Put ``X`` in canonical order and fit the preprocessing, once for several fits.

        Segmenters with the same preprocessor (any k, any algorithm but k-prototypes with
        any other, any seed) fitted on the same ``X`` with ``fit(X, prepared=...)`` skip
        that work and give exactly the segments they give without it.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_columns)
            The customers, as they will be passed to :meth:`fit`.

        Returns
        -------
        PreparedData
            The canonical order, the fitted preprocessing and the preprocessed matrix.
        """
        X, prep = self._check(X)
        return self._prepare(X, prep, _fingerprint(X))

    def _prepare(self, X: pd.DataFrame, prep: Preprocessor, fingerprint: str) -> PreparedData:
        numeric, categorical = list(prep.numeric), list(prep.categorical)
        encoded = self.algorithm != "kprototypes"
        X = X.reset_index(drop=True)  # positions, not labels: any index (even duplicated) works
        order = canonical_order(X[[*numeric, *categorical]])
        X = X.iloc[order].reset_index(drop=True)
        prep = prep.set_params(categorical=categorical if encoded else []).fit(X)
        Z = prep.transform(X)
        if not encoded:  # k-prototypes sees the categorical columns as they are
            Z = pd.concat([Z.reset_index(drop=True), X[categorical].reset_index(drop=True).astype("object")],
                          axis=1)
        return PreparedData(tuple(numeric), tuple(categorical), encoded, order, X, prep, Z, fingerprint)

    def _prepared(self, X, prepared: PreparedData) -> PreparedData:
        """``prepared`` after checking it was made from ``X`` with this segmenter's preprocessing."""
        if not isinstance(prepared, PreparedData):
            raise ParameterError(f"prepared must come from Segmenter.prepare; got {type(prepared).__name__}")
        X, prep = self._check(X)
        encoded = self.algorithm != "kprototypes"
        prep = prep.set_params(categorical=list(prep.categorical) if encoded else [])
        if prepared.encoded != encoded:
            raise ParameterError(f"prepared was made for {'k-prototypes' if encoded else 'encoded categories'}; "
                                 f"{self.algorithm} needs its own: make it with this segmenter's prepare(X)")
        if prepared.preprocessor.get_params(deep=False) != prep.get_params(deep=False):
            raise ParameterError("prepared was made with another preprocessing than this segmenter's; make it "
                                 "with this segmenter's prepare(X)")
        if len(X) != len(prepared.order) or _fingerprint(X) != prepared.fingerprint:
            raise InputError(f"prepared was made from other data than X ({len(prepared.order)} customers then, "
                             f"{len(X)} now); make it with prepare(X) from this X")
        return prepared

    def fit(self, X, y=None, *, order_values: pd.Series | np.ndarray | None = None,
            prepared: PreparedData | None = None) -> Segmenter:
        """Fit on one row per customer.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_columns)
            The customers (any index, any row order: the segments are the same).
        y : None
            Ignored (scikit-learn's signature).
        order_values : array-like of shape (n_customers,), optional
            A value per customer (e.g. CLV): segments are numbered by its mean, highest
            first. Default: by size, largest first.
        prepared : PreparedData, optional
            :meth:`prepare` of this ``X`` (by a segmenter with the same preprocessor): its
            canonical order and fitted preprocessing are used instead of being made again.
            The segments are the same.

        Returns
        -------
        Segmenter
            ``self``, fitted.
        """
        data = self._prepare(*self._check(X), "") if prepared is None else self._prepared(X, prepared)
        order, X, Z = data.order, data.X, data.Z
        if order_values is not None:
            order_values = np.asarray(order_values, dtype=float)
            if len(order_values) != len(X):
                raise InputError(f"order_values has {len(order_values)} values for {len(X)} customers")
            order_values = order_values[order]
        self.numeric_, self.categorical_ = list(data.numeric), list(data.categorical)
        # a prepared preprocessing is shared: this segmenter gets its own copy
        self.preprocessor_ = data.preprocessor if prepared is None else copy.deepcopy(data.preprocessor)
        limit = self.max_fit_rows if self.max_fit_rows is not None else FIT_SAMPLE[self.algorithm]
        check_range(limit, name="max_fit_rows", low=max(2, self.k), integer=True)
        fit_rows = sample_rows(len(Z), limit, strata=_value_strata(order_values), random_state=self.random_state)
        if len(fit_rows) < len(Z):
            logger.info("%s fitted on a sample of %d of %d customers", self.algorithm, len(fit_rows), len(Z))
        self.model_, raw = fit_labels(self.algorithm, Z.iloc[fit_rows], self.k,
                                      random_state=self.random_state, n_init=self.n_init,
                                      min_cluster_size=self.min_cluster_size, categorical=self.categorical_)
        for name in ("_raw_centres", "_raw_ids", "_radii", "_bic"):  # state of an earlier fit
            self.__dict__.pop(name, None)
        if len(fit_rows) < len(Z):  # the rest assigned by the model fitted on the sample
            raw = self._nearest(Z, raw, fit_rows) if self.algorithm in _NEAREST_CENTRE else self._raw_labels(Z)
        self._set_mapping(raw, order_values)
        self._fit_summary(X, Z, self._map(raw))
        if self.algorithm == "gmm":
            self._bic = float(self.model_.bic(Z.iloc[fit_rows].to_numpy(dtype=float)))
        labels = np.empty(len(order), dtype=np.int64)
        labels[order] = self._map(raw)
        self.labels_ = labels  # in the caller's row order
        return self

    def _matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        Z = self.preprocessor_.transform(X)
        if self.algorithm == "kprototypes":
            Z = pd.concat([Z.reset_index(drop=True),
                           X[self.categorical_].reset_index(drop=True).astype("object")], axis=1)
        return Z

    def _numeric_part(self, Z: pd.DataFrame) -> np.ndarray:
        columns = [c for c in Z.columns if c not in self.categorical_] if self.algorithm == "kprototypes" \
            else list(Z.columns)
        return Z[columns].to_numpy(dtype=float)

    def _nearest(self, Z: pd.DataFrame, raw_fit: np.ndarray, fit_rows: np.ndarray) -> np.ndarray:
        """Assign every row to the nearest centre of the segments found on the sample."""
        data = self._numeric_part(Z)
        ids = np.unique(raw_fit[raw_fit != UNASSIGNED])
        centres = np.vstack([data[fit_rows][raw_fit == c].mean(axis=0) for c in ids])
        fitted = data[fit_rows]
        radii = np.array([np.quantile(_distances(fitted[raw_fit == c], centres[[i]])[:, 0], 0.95)
                          for i, c in enumerate(ids)])  # one per segment
        # the quantile is often one customer's own distance: a hair wider keeps that customer
        # inside whichever way (NumPy, the engine's SQL) the distance is rounded
        radii = radii * (1 + 1e-9)
        self._raw_centres, self._raw_ids, self._radii = centres, ids, radii
        labels = self._assign(data)
        labels[fit_rows] = raw_fit
        return labels

    def _assign(self, data: np.ndarray) -> np.ndarray:
        distances = _distances(data, self._raw_centres)
        nearest = distances.argmin(axis=1)
        labels = self._raw_ids[nearest]
        if self.algorithm == "hdbscan":
            labels = np.where(distances[np.arange(len(data)), nearest] <= self._radii[nearest],
                              labels, UNASSIGNED)
        return labels

    def _set_mapping(self, raw: np.ndarray, order_values) -> None:
        ids = [c for c in np.unique(raw) if c != UNASSIGNED]
        if not ids:
            raise InputError(f"{self.algorithm} found no segment: every customer is noise; lower "
                             "min_cluster_size or use another algorithm")
        if order_values is not None:
            values = pd.Series(np.asarray(order_values, dtype=float))
            if len(values) != len(raw):
                raise InputError(f"order_values has {len(values)} values for {len(raw)} customers")
            key = {c: -float(values[raw == c].mean()) for c in ids}
        else:
            key = {c: -float((raw == c).sum()) for c in ids}
        ordered = sorted(ids, key=lambda c: (key[c], c))
        self._mapping = {int(c): i for i, c in enumerate(ordered)}
        self._mapping[UNASSIGNED] = UNASSIGNED

    def _map(self, raw: np.ndarray) -> np.ndarray:
        return _lookup(self._mapping, raw)

    def _fit_summary(self, X: pd.DataFrame, Z: pd.DataFrame, labels: np.ndarray) -> None:
        labels = pd.Series(labels, index=X.index)
        assigned = labels[labels != UNASSIGNED]
        self.k_ = int(assigned.nunique())
        self.sizes_ = labels.value_counts().sort_index().rename("customers")
        data = pd.DataFrame(self._numeric_part(Z), index=X.index)
        self.centers_ = data.loc[assigned.index].groupby(assigned).mean()
        profile = X.loc[assigned.index, self.numeric_].apply(pd.to_numeric, errors="coerce").groupby(assigned).mean()
        for col in self.categorical_:
            modes = X.loc[assigned.index, col].astype("object").groupby(assigned).agg(
                lambda s: s.mode().iloc[0] if s.notna().any() else np.nan)
            profile[col] = modes
        self.profile_ = profile
        if not hasattr(self, "_raw_centres"):  # centres used to assign new customers
            inverse = {v: k for k, v in self._mapping.items() if v != UNASSIGNED}
            self._raw_ids = np.array([inverse[i] for i in self.centers_.index])
            self._raw_centres = self.centers_.to_numpy()
            self._radii = np.full(len(self._raw_ids), np.inf)

    # ------------------------------------------------------------------ using
    def predict(self, X) -> np.ndarray:
        """The canonical segment of each customer of ``X`` (new customers too).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_columns)
            Customers with the training columns (a DataFrame may hold more, in any order).

        Returns
        -------
        ndarray of int of shape (n_customers,)
            Segment numbers as in ``labels_`` (-1: unassigned, HDBSCAN only).
        """
        check_is_fitted(self, "labels_")
        X = as_frame(X, self, reset=False)
        return self._map(self._raw_labels(self._matrix(X.reset_index(drop=True))))

    def _raw_labels(self, Z: pd.DataFrame) -> np.ndarray:
        """The fitted model's own label of each row of the preprocessed matrix ``Z``."""
        if self.algorithm in ("kmeans", "minibatch", "gmm"):
            with _threads(self.algorithm):
                raw = self.model_.predict(Z.to_numpy(dtype=_dtype(self.algorithm)))
        elif self.algorithm == "kprototypes":
            raw = self.model_.predict(Z)
        else:
            raw = self._assign(self._numeric_part(Z))
        return np.asarray(raw, dtype=np.int64)

    def transform(self, X):
        """The preprocessed matrix the algorithm sees (the numeric part for k-prototypes).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_columns)
            Customers with the training columns.

        Returns
        -------
        DataFrame of shape (n_customers, n_features_out)
            Readable column names, the index of ``X``; a NumPy array after
            ``set_output(transform="default")``.
        """
        check_is_fitted(self, "labels_")
        return dense_output(self, self.preprocessor_.transform(as_frame(X, self, reset=False)))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The names of :meth:`transform`'s columns (``input_features`` is only checked)."""
        check_is_fitted(self, "labels_")
        _check_feature_names_in(self, input_features)
        return self.preprocessor_.get_feature_names_out()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # the preprocessor imputes and flags missing values
        tags.input_tags.string = True  # categorical columns are encoded (or used as such by k-prototypes)
        return tags

    def relabel(self, mapping: dict[int, int]) -> Segmenter:
        """Renumber segments (``{old: new}``), e.g. to keep last quarter's numbers."""
        check_is_fitted(self, "labels_")
        segments = sorted(set(self.centers_.index))
        if sorted(mapping) != segments or len(set(mapping.values())) != len(mapping):
            raise InputError(f"relabel needs a one-to-one mapping of segments {segments}; got {mapping}")
        self._mapping = {raw: (mapping[new] if new != UNASSIGNED else UNASSIGNED)
                         for raw, new in self._mapping.items()}
        self.labels_ = _lookup({**mapping, UNASSIGNED: UNASSIGNED}, self.labels_)
        self.centers_ = self.centers_.rename(index=mapping).sort_index()
        self.profile_ = self.profile_.rename(index=mapping).sort_index()
        self.sizes_ = self.sizes_.rename(index=lambda c: mapping.get(c, c)).sort_index()
        return self

    @property
    def bic_(self) -> float | None:
        """BIC of a Gaussian mixture on its training data (None for other algorithms)."""
        check_is_fitted(self, "labels_")
        return getattr(self, "_bic", None)

    def __setstate__(self, state: dict) -> None:
        # a segmenter saved before k was the one name for the number of segments (it was
        # n_segments) and the preprocessing one object loads as today's segmenter
        if "n_segments" in state:
            state = dict(state)
            state["k"] = state.pop("n_segments")
            if "n_segments_" in state:
                state["k_"] = state.pop("n_segments_")
            options = {name: state.pop(name) for name in ("numeric", "categorical", "groups", "skew", "scaling",
                                                          "clip", "pca") if name in state}
            state["preprocessor"] = Preprocessor(**options, random_state=state.get("random_state", 0))
        super().__setstate__(state)

    def save(self, path: str | Path) -> Path:
        """Save to ``path``, atomically."""
        check_is_fitted(self, "labels_")
        with atomic_path(path) as tmp:
            joblib.dump(self, tmp)
        return Path(path)


def load_segmenter(path: str | Path) -> Segmenter:
    """Load a segmenter saved with :meth:`Segmenter.save`.

    Parameters
    ----------
    path : str or Path
        The file (a run folder keeps its segmenter, see :meth:`seglab.run.RunFolder.segmenter`).

    Returns
    -------
    Segmenter
        The fitted segmenter.

    Raises
    ------
    InputError
        When the file is missing or holds something else.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} is missing; run the cluster stage first (seglab cluster …)")
    model = joblib.load(path)
    if not isinstance(model, Segmenter):
        raise InputError(f"{path} does not hold a seglab Segmenter")
    return model
