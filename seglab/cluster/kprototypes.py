"""k-prototypes (Huang 1997): clustering mixed numeric and categorical data.

The dissimilarity of a customer to a prototype is the squared Euclidean distance on the
numeric columns plus ``gamma`` times the number of categorical columns that differ from
the prototype's modes. This implementation updates in batches (Lloyd style), fully
vectorized: numeric distances by matrix algebra, categorical mismatches one column at a
time over integer codes, modes by counting. It minimises the same cost as the ``kmodes``
package's incremental version, in a fraction of the time on large data.

``gamma`` defaults to half the mean standard deviation of the numeric columns, Huang's
suggestion (also ``kmodes``' default).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

from seglab._validation import check_range, require_columns
from seglab.cluster._input import as_frame, check_values, is_numeric
from seglab.exceptions import InputError

__all__ = ["KPrototypes"]


def _encode(frame: pd.DataFrame, columns: Sequence[str], categories: list[np.ndarray] | None):
    """Integer codes per categorical column (missing is a level of its own; unknown → -1)."""
    codes, seen = np.empty((len(frame), len(columns)), dtype=np.int64), []
    for j, col in enumerate(columns):
        values = frame[col].astype("object").where(frame[col].notna(), "<missing>").astype(str)
        if categories is None:
            c, levels = pd.factorize(values, sort=True)
            seen.append(np.asarray(levels, dtype=object))
        else:
            c = pd.Index(categories[j]).get_indexer(values)
        codes[:, j] = c
    return codes, (seen if categories is None else categories)


class KPrototypes(ClusterMixin, BaseEstimator):
    """k-prototypes for a frame of numeric and categorical columns.

    Parameters
    ----------
    k : int, default 5
        Number of clusters (``n_clusters`` in the ``kmodes`` package).
    categorical : sequence of str, default ()
        Names of the categorical columns; the others must be numeric (already scaled),
        without missing values. For an array, columns are named ``x0``, ``x1``, ….
    gamma : float, optional
        Weight of one categorical mismatch (default: half the mean numeric std).
    n_init : int, default 5
        Restarts (the lowest cost wins).
    max_iter : int, default 100
        Iterations per restart at most.
    random_state : int, default 0
        Seed of the k-means++ seeding.

    Attributes
    ----------
    labels_ : ndarray of int
        Cluster of each training row.
    cost_ : float
        Total dissimilarity of the rows to their prototypes.
    n_iter_ : int
        Iterations of the best restart.
    gamma_ : float
        The categorical weight used.
    centroids_ : ndarray
        Numeric prototype values (k × numeric columns).
    modes_ : ndarray
        Categorical prototype values (k × categorical columns), as labels.
    categories_ : list of ndarray
        The levels of each categorical column.
    numeric_, categorical_ : list of str
        The numeric and categorical columns.
    n_features_in_ : int
        Columns of the training data.
    feature_names_in_ : ndarray of str
        Their names (when fitted on a DataFrame with text column names).

    Examples
    --------
    >>> X = pd.DataFrame({"spend": [0.1, 0.2, 0.0, 3.0, 3.1, 2.9], "plan": ["a", "a", "a", "b", "b", "b"]})
    >>> KPrototypes(2, categorical=["plan"]).fit(X).labels_.tolist()
    [1, 1, 1, 0, 0, 0]
    """

    def __init__(self, k: int = 5, *, categorical: Sequence[str] = (), gamma: float | None = None,
                 n_init: int = 5, max_iter: int = 100, random_state: int = 0):
        self.k = k
        self.categorical = categorical
        self.gamma = gamma
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def _split(self, X: pd.DataFrame):
        categorical = list(self.categorical)
        require_columns(X, categorical, table="X", hint="name the categorical columns of X in categorical=")
        numeric = [c for c in X.columns if c not in categorical]
        bad = [c for c in numeric if not is_numeric(X[c])]
        if bad:
            raise InputError(f"k-prototypes: columns {bad} are not numeric; list them in categorical=")
        check_values(X, numeric, allow_nan=False)
        return numeric, categorical

    def _costs(self, num: np.ndarray, cat: np.ndarray, centroids: np.ndarray, modes: np.ndarray,
               gamma: float) -> np.ndarray:
        """n × k dissimilarities."""
        d = (np.einsum("ij,ij->i", num, num)[:, None] - 2 * num @ centroids.T
             + np.einsum("ij,ij->i", centroids, centroids)[None, :])
        d = np.maximum(d, 0)
        for j in range(cat.shape[1]):
            d += gamma * (cat[:, j][:, None] != modes[None, :, j])
        return d

    def _modes(self, cat: np.ndarray, labels: np.ndarray, k: int, n_levels: list[int]) -> np.ndarray:
        modes = np.zeros((k, cat.shape[1]), dtype=np.int64)
        for j, levels in enumerate(n_levels):
            counts = np.zeros((k, levels), dtype=np.int64)
            np.add.at(counts, (labels, cat[:, j]), 1)
            modes[:, j] = counts.argmax(axis=1)
        return modes

    def _seed(self, rng, num, cat, gamma, k):
        """k-means++ seeding on the mixed dissimilarity."""
        n = len(num)
        chosen = [int(rng.integers(n))]
        closest = self._costs(num, cat, num[chosen], cat[chosen], gamma)[:, 0]
        for _ in range(1, k):
            total = closest.sum()
            pick = int(rng.integers(n)) if total <= 0 else int(rng.choice(n, p=closest / total))
            chosen.append(pick)
            closest = np.minimum(closest, self._costs(num, cat, num[[pick]], cat[[pick]], gamma)[:, 0])
        return num[chosen].copy(), cat[chosen].copy()

    def fit(self, X, y=None) -> KPrototypes:
        """Cluster the rows of ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_columns)
            Numeric columns (scaled, no missing values) and the ``categorical`` ones.
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        KPrototypes
            ``self``, fitted.
        """
        check_range(self.k, name="k", low=1, integer=True)
        k = int(self.k)
        X = as_frame(X, self, reset=True)
        numeric, categorical = self._split(X)
        if len(X) < k:
            raise InputError(f"k-prototypes needs at least k={k} customers; got {len(X)} sample(s)")
        num = X[numeric].to_numpy(dtype=float) if numeric else np.zeros((len(X), 0))
        cat, self.categories_ = _encode(X, categorical, None)
        n_levels = [len(c) for c in self.categories_]
        gamma = self.gamma if self.gamma is not None else (
            0.5 * float(num.std(axis=0).mean()) if num.shape[1] else 1.0)
        rng = np.random.default_rng(self.random_state)
        best = None
        for _ in range(max(1, int(self.n_init))):
            centroids, modes = self._seed(rng, num, cat, gamma, k)
            labels, iterations = None, 0
            for iterations in range(1, int(self.max_iter) + 1):  # noqa: B007 (kept after the loop)
                costs = self._costs(num, cat, centroids, modes, gamma)
                new = costs.argmin(axis=1)
                empty = np.setdiff1d(np.arange(k), new)
                for cluster in empty:  # re-seed an empty cluster with the worst-served customer
                    worst = int(costs[np.arange(len(new)), new].argmax())
                    new[worst] = cluster
                if labels is not None and np.array_equal(new, labels):
                    break
                labels = new
                counts = np.bincount(labels, minlength=k).astype(float)
                if num.shape[1]:
                    sums = np.zeros((k, num.shape[1]))
                    np.add.at(sums, labels, num)
                    centroids = sums / counts[:, None]
                modes = self._modes(cat, labels, k, n_levels)
            cost = float(self._costs(num, cat, centroids, modes, gamma)[np.arange(len(labels)), labels].sum())
            if best is None or cost < best[0]:
                best = (cost, labels, centroids, modes, iterations)
        self.cost_, self.labels_, self.centroids_, codes, self.n_iter_ = best
        self._mode_codes = codes
        self.modes_ = np.array([[self.categories_[j][codes[c, j]] for j in range(len(categorical))]
                                for c in range(k)], dtype=object).reshape(k, len(categorical))
        self.gamma_, self.numeric_, self.categorical_ = gamma, numeric, categorical
        return self

    def predict(self, X) -> np.ndarray:
        """The nearest prototype of each row (unknown categories never match a mode).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, n_columns)
            Rows with the training columns.

        Returns
        -------
        ndarray of int of shape (n_rows,)
            The cluster of each row.
        """
        check_is_fitted(self, "labels_")
        X = as_frame(X, self, reset=False)
        require_columns(X, [*self.numeric_, *self.categorical_], table="X")
        check_values(X, self.numeric_, allow_nan=False)
        num = X[self.numeric_].to_numpy(dtype=float) if self.numeric_ else np.zeros((len(X), 0))
        cat, _ = _encode(X, self.categorical_, self.categories_)
        return self._costs(num, cat, self.centroids_, self._mode_codes, self.gamma_).argmin(axis=1)

    def __setstate__(self, state: dict) -> None:
        if "n_clusters" in state:  # saved before k was the one name for the number of segments
            state = dict(state)
            state["k"] = state.pop("n_clusters")
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True  # the categorical columns hold labels
        return tags
