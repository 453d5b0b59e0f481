"""Choosing k: quality, stability of every segment, prediction strength, no over-segmentation.

For each algorithm and each k, :func:`choose_k` reports:

- quality: silhouette (on a shared sample of ``silhouette_sample`` customers),
  Calinski-Harabasz, Davies-Bouldin, BIC (Gaussian mixtures), inertia (k-means);
- size: the smallest segment's share of the customers;
- **stability** (Hennig's *clusterboot*): the algorithm is refitted on ``n_bootstrap``
  bootstrap resamples (of at most ``stability_sample`` customers) and compared with the
  fit on all customers, on the customers each resample drew: the mean adjusted Rand
  index, and **per segment** the mean Jaccard similarity with its best-matching bootstrap
  segment. Hennig's reading: below 0.5 a segment *dissolves*, 0.6 – 0.75 it is a pattern,
  above 0.75 stable, above 0.85 highly stable;
- **prediction strength** (Tibshirani & Walther 2005): the customers are split in two
  halves ``n_splits`` times; each half is segmented, and for every segment of the test
  half we measure how many of its pairs of customers the training half's segments also
  put together. The worst segment's share, averaged over the splits, is the prediction
  strength: 1 when every segment can be found again from other customers, and it falls
  as soon as k splits a real group in two arbitrary halves.

**The rule** (:class:`SelectionRule`) that picks k:

1. a candidate is admissible when every segment holds at least ``min_share`` of the
   customers, the mean bootstrap ARI is at least ``min_stability``, **every** segment's
   bootstrap Jaccard is at least ``min_jaccard`` (no dissolving segment), and every
   segment is found again from other customers: the prediction strength is at least
   ``min_prediction_strength`` (0.8, Tibshirani & Walther's cut-off) **or** every
   segment's bootstrap Jaccard is at least ``stable_jaccard`` (0.75, *stable* on Hennig's
   scale). The two measure the same thing with different resampling: prediction strength
   segments halves of the customers, so it is the stricter of the two for small segments
   (each half holds only half of them); a segmentation whose every segment is stable in
   full-size resamples is supported even when a half-sample is too small to show it;
2. the **largest admissible k** wins (between algorithms at that k: the higher prediction
   strength, then the higher silhouette). Silhouette alone would pick k = 2 on skewed
   customer data; prediction strength falls as soon as k splits a real group, so the
   largest k that still predicts well is the finest segmentation the data supports.

When no candidate is admissible, the one with the highest prediction strength among
those meeting ``min_share`` is taken (ties: smaller k), with a warning; when none meets
``min_share`` it is an error.

Everything is computed on the customers in a canonical order (their feature values, see
:func:`~seglab.cluster.segmenter.canonical_order`), so k and the segments do not depend
on the salt of the pseudonyms or on the order of the input rows.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from seglab._io import read_json, write_json
from seglab._validation import check_choice, check_range, require_frame
from seglab.cluster.preprocess import Preprocessor
from seglab.cluster.segmenter import ALGORITHMS, UNASSIGNED, _distances, canonical_order, fit_labels
from seglab.exceptions import DataQualityWarning, ParameterError

__all__ = ["KSelection", "SelectionRule", "choose_k", "bootstrap_stability", "prediction_strength",
           "silhouette", "sample_distances", "JACCARD_BANDS"]

logger = logging.getLogger(__name__)

JACCARD_BANDS = {0.5: "dissolved below", 0.6: "pattern from", 0.75: "stable from", 0.85: "highly stable from"}
"""Hennig's reading of a segment's mean bootstrap Jaccard similarity."""


@dataclass(frozen=True)
class SelectionRule:
    """The thresholds of the rule that picks k, and how much evidence to gather.

    Parameters
    ----------
    min_share
        Every segment holds at least this share of the customers.
    min_stability
        Mean bootstrap adjusted Rand index at least this.
    min_jaccard
        Every segment's mean bootstrap Jaccard at least this (Hennig: < 0.5 dissolved).
    min_prediction_strength, stable_jaccard
        Prediction strength at least ``min_prediction_strength`` (Tibshirani & Walther
        suggest 0.8), or every segment's bootstrap Jaccard at least ``stable_jaccard``
        (Hennig's *stable*, 0.75).
    n_bootstrap, stability_sample
        Bootstrap resamples (at least; more for small data, see :meth:`repeats`), and
        customers drawn in each.
    n_splits, strength_sample
        Half-splits for the prediction strength (at least; more for small data), and
        customers split each time.
    silhouette_sample
        Customers in the silhouette's sample.
    """

    min_share: float = 0.05
    min_stability: float = 0.6
    min_jaccard: float = 0.6
    min_prediction_strength: float = 0.8
    stable_jaccard: float = 0.75
    n_bootstrap: int = 10
    stability_sample: int = 10_000
    n_splits: int = 5
    strength_sample: int = 20_000
    silhouette_sample: int = 8_000

    def __post_init__(self):
        check_range(self.min_share, name="min_share", low=0, high=0.5)
        for name in ("min_stability", "min_jaccard", "min_prediction_strength", "stable_jaccard"):
            check_range(getattr(self, name), name=name, low=0, high=1)
        for name in ("n_bootstrap", "n_splits"):
            check_range(getattr(self, name), name=name, low=1, integer=True)
        for name in ("stability_sample", "strength_sample", "silhouette_sample"):
            check_range(getattr(self, name), name=name, low=20, integer=True)

    def repeats(self, n_customers: int) -> tuple[int, int]:
        """Bootstrap resamples and half-splits for ``n_customers``: at least ``n_bootstrap``
        and ``n_splits``, and on small data more of them (up to 50), so that about as many
        customers are drawn in all as in one resample of large data: steadier estimates
        where one resample says little.

        >>> SelectionRule().repeats(200), SelectionRule().repeats(100_000)
        ((50, 50), (10, 5))
        """
        def enough(minimum: int, sample: int) -> int:
            return int(max(minimum, min(50, np.ceil(sample / max(n_customers, 1)))))
        return enough(self.n_bootstrap, self.stability_sample), enough(self.n_splits, self.strength_sample)

    def describe(self) -> str:
        """The rule in one sentence."""
        return (f"every segment ≥ {self.min_share:.0%} of the customers, bootstrap ARI ≥ "
                f"{self.min_stability:g}, every segment's bootstrap Jaccard ≥ {self.min_jaccard:g}, and "
                f"prediction strength ≥ {self.min_prediction_strength:g} or every segment's Jaccard ≥ "
                f"{self.stable_jaccard:g}; then the largest such k")

    def admissible(self, table: pd.DataFrame) -> pd.DataFrame:
        """``table`` with the rule's columns: ``big_enough``, ``stable``, ``reproducible``, ``admissible``."""
        jaccard = table["min_jaccard"].fillna(0)
        out = table.assign(big_enough=table["smallest_share"] >= self.min_share,
                           stable=(table["stability"] >= self.min_stability) & (jaccard >= self.min_jaccard),
                           reproducible=(table["prediction_strength"].fillna(0) >= self.min_prediction_strength)
                           | (jaccard >= self.stable_jaccard))
        return out.assign(admissible=out["big_enough"] & out["stable"] & out["reproducible"])


@dataclass
class KSelection:
    """The evidence for k, and the choice.

    ``table`` has one row per (algorithm, k); ``jaccard`` one row per (algorithm, k,
    segment) with its bootstrap Jaccard similarity (the chosen candidate's segments carry
    the final segment numbers once :meth:`matched_to` ran).
    """

    table: pd.DataFrame
    jaccard: pd.DataFrame
    algorithm: str
    k: int
    rule: str
    settings: dict = field(default_factory=dict)
    labels: np.ndarray | None = field(default=None, repr=False)
    """The chosen candidate's labels in the sweep (not written)."""

    @property
    def chosen(self) -> pd.Series:
        """The chosen row of :attr:`table`."""
        rows = self.table[(self.table["algorithm"] == self.algorithm) & (self.table["k"] == self.k)]
        return rows.iloc[0]

    def segment_stability(self) -> pd.Series:
        """Bootstrap Jaccard of each segment of the chosen candidate, by segment."""
        rows = self.jaccard[(self.jaccard["algorithm"] == self.algorithm) & (self.jaccard["k"] == self.k)]
        return rows.set_index("segment")["jaccard"].sort_index()

    def matched_to(self, labels: np.ndarray) -> KSelection:
        """A copy whose chosen candidate's segments are numbered like ``labels`` (the final
        model's, same customers and order): each sweep segment takes the number of the
        final segment it shares most customers with."""
        if self.labels is None or len(self.labels) != len(labels):
            return self
        sweep, final = np.asarray(self.labels), np.asarray(labels)
        a = [c for c in np.unique(sweep) if c != UNASSIGNED]
        b = [c for c in np.unique(final) if c != UNASSIGNED]
        overlap = pd.crosstab(pd.Categorical(sweep, categories=a), pd.Categorical(final, categories=b),
                              dropna=False).to_numpy()
        rows, cols = linear_sum_assignment(-overlap)
        mapping = {int(a[r]): int(b[c]) for r, c in zip(rows, cols)}
        chosen = (self.jaccard["algorithm"] == self.algorithm) & (self.jaccard["k"] == self.k)
        jaccard = self.jaccard.copy()
        jaccard.loc[chosen, "segment"] = [mapping.get(int(s), int(s)) for s in jaccard.loc[chosen, "segment"]]
        return replace(self, jaccard=jaccard.sort_values(["algorithm", "k", "segment"], kind="stable")
                       .reset_index(drop=True), labels=final)

    def to_dict(self) -> dict:
        return {"algorithm": self.algorithm, "k": self.k, "rule": self.rule, "settings": self.settings,
                "table": self.table.to_dict(orient="records"),
                "jaccard": self.jaccard.to_dict(orient="records")}

    def write(self, path) -> None:
        """Write as JSON to ``path``."""
        write_json(self.to_dict(), path)

    @classmethod
    def read(cls, path) -> KSelection:
        data = read_json(path)
        return cls(table=pd.DataFrame(data["table"]), jaccard=pd.DataFrame(data["jaccard"]),
                   algorithm=data["algorithm"], k=int(data["k"]), rule=data["rule"],
                   settings=data.get("settings", {}))


def _jaccard(reference: np.ndarray, other: np.ndarray) -> dict[int, float]:
    """Per reference segment: the best Jaccard similarity with any segment of ``other``."""
    out = {}
    ref_ids = [c for c in np.unique(reference) if c != UNASSIGNED]
    oth_ids = [c for c in np.unique(other) if c != UNASSIGNED]
    if not oth_ids:
        return {int(c): 0.0 for c in ref_ids}
    r = pd.Categorical(reference, categories=ref_ids)
    o = pd.Categorical(other, categories=oth_ids)
    table = pd.crosstab(r, o, dropna=False).to_numpy(dtype=float)
    ref_sizes, oth_sizes = table.sum(axis=1), table.sum(axis=0)
    union = ref_sizes[:, None] + oth_sizes[None, :] - table
    similarity = np.where(union > 0, table / np.where(union > 0, union, 1), 0.0)
    for i, c in enumerate(ref_ids):
        out[int(c)] = float(similarity[i].max())
    return out


def bootstrap_stability(algorithm: str, Z: pd.DataFrame, reference: np.ndarray, k: int, *,
                        n_bootstrap: int = 10, sample: int = 10_000, random_state: int = 0,
                        n_init: int = 1, categorical: Sequence[str] = (),
                        min_cluster_size: int | None = None) -> tuple[float, dict[int, float]]:
    """Mean ARI and per-segment mean Jaccard of bootstrap refits against ``reference``.

    Each resample draws ``min(n, sample)`` customers with replacement, refits, and is
    compared with the reference labels on the distinct customers it drew.

    Parameters
    ----------
    algorithm : str
        One of :data:`~seglab.cluster.ALGORITHMS`.
    Z : DataFrame
        The preprocessed matrix (for k-prototypes, scaled numeric plus raw categorical columns).
    reference : ndarray of int
        The labels of the fit on all customers.
    k : int
        Segments per refit.
    n_bootstrap : int, default 10
        Resamples.
    sample : int, default 10000
        Customers drawn per resample at most.
    random_state : int, default 0
        Seed of the resamples and refits.
    n_init : int, default 1
        Restarts per refit.
    categorical : sequence of str, default ()
        The categorical columns of ``Z`` (k-prototypes).
    min_cluster_size : int, optional
        HDBSCAN's smallest segment.

    Returns
    -------
    tuple of (float, dict of int to float)
        The mean adjusted Rand index, and each reference segment's mean Jaccard similarity
        with its best-matching bootstrap segment.
    """
    rng = np.random.default_rng(random_state)
    n = len(Z)
    size = min(n, sample)
    aris, jaccards = [], {int(c): [] for c in np.unique(reference) if c != UNASSIGNED}
    for b in range(n_bootstrap):
        draw = rng.choice(n, size, replace=True)
        _, labels = fit_labels(algorithm, Z.iloc[draw].reset_index(drop=True), k,
                               random_state=random_state + b + 1, n_init=n_init,
                               categorical=categorical, min_cluster_size=min_cluster_size)
        rows, first = np.unique(draw, return_index=True)
        ref, boot = reference[rows], labels[first]
        aris.append(adjusted_rand_score(ref, boot))
        for c, value in _jaccard(ref, boot).items():
            jaccards.setdefault(c, []).append(value)
    return float(np.mean(aris)), {c: float(np.mean(v)) if v else 0.0 for c, v in jaccards.items()}


def _assign(algorithm: str, model, train: pd.DataFrame, train_labels: np.ndarray,
            test: pd.DataFrame) -> np.ndarray:
    """Segments of the training fit for the test customers."""
    if algorithm in ("kmeans", "minibatch", "gmm"):
        dtype = np.float32 if algorithm != "gmm" else np.float64
        return np.asarray(model.predict(test.to_numpy(dtype=dtype)), dtype=np.int64)
    if algorithm == "kprototypes":
        return np.asarray(model.predict(test), dtype=np.int64)
    ids = np.array([c for c in np.unique(train_labels) if c != UNASSIGNED])
    if ids.size == 0:
        return np.full(len(test), UNASSIGNED)
    data = train.to_numpy(dtype=float)
    centres = np.vstack([data[train_labels == c].mean(axis=0) for c in ids])
    return ids[_distances(test.to_numpy(dtype=float), centres).argmin(axis=1)]


def _strength(labels: np.ndarray, predicted: np.ndarray) -> float:
    """The worst test segment's share of pairs that ``predicted`` also puts together."""
    keep = labels != UNASSIGNED
    labels, predicted = labels[keep], predicted[keep]
    predicted = np.where(predicted == UNASSIGNED, -1 - np.arange(len(predicted)), predicted)  # noise: alone
    table = pd.crosstab(labels, predicted).to_numpy(dtype=float)
    sizes = table.sum(axis=1)
    together = (table * (table - 1)).sum(axis=1)
    pairs = sizes * (sizes - 1)
    shares = together[pairs > 0] / pairs[pairs > 0]
    return float(shares.min()) if shares.size else 0.0


def prediction_strength(algorithm: str, Z: pd.DataFrame, k: int, *, n_splits: int = 5,
                        sample: int = 20_000, random_state: int = 0, n_init: int = 4,
                        categorical: Sequence[str] = (), min_cluster_size: int | None = None) -> float:
    """Prediction strength of ``algorithm`` with ``k`` segments (Tibshirani & Walther 2005).

    ``n_splits`` times: draw ``min(n, sample)`` customers, split them into a training and
    a test half, segment both, and for each test segment take the share of its pairs of
    customers that the training segments also put together; the split's value is the
    worst segment's.

    Parameters
    ----------
    algorithm : str
        One of :data:`~seglab.cluster.ALGORITHMS`.
    Z : DataFrame
        The preprocessed matrix.
    k : int
        Segments in each half.
    n_splits : int, default 5
        Half-splits.
    sample : int, default 20000
        Customers split each time at most.
    random_state : int, default 0
        Seed of the splits and fits.
    n_init : int, default 4
        Restarts per fit.
    categorical : sequence of str, default ()
        The categorical columns of ``Z`` (k-prototypes).
    min_cluster_size : int, optional
        HDBSCAN's smallest segment.

    Returns
    -------
    float
        The mean over the splits, between 0 and 1.

    >>> rng = np.random.default_rng(0)
    >>> blobs = pd.DataFrame(np.vstack([rng.normal(c, 0.3, (100, 2)) for c in (0, 4, 8)]))
    >>> round(prediction_strength("kmeans", blobs, 3), 2), prediction_strength("kmeans", blobs, 5) < 0.8
    (1.0, True)
    """
    rng = np.random.default_rng(random_state)
    n = len(Z)
    half = min(n, sample) // 2
    values = []
    for split in range(n_splits):
        rows = rng.permutation(n)[:2 * half]
        train, test = Z.iloc[np.sort(rows[:half])], Z.iloc[np.sort(rows[half:])]
        common = {"n_init": n_init, "categorical": categorical, "min_cluster_size": min_cluster_size}
        model, train_labels = fit_labels(algorithm, train, k, random_state=random_state + 2 * split + 1, **common)
        _, test_labels = fit_labels(algorithm, test, k, random_state=random_state + 2 * split + 2, **common)
        values.append(_strength(test_labels, _assign(algorithm, model, train, train_labels, test)))
    return float(np.mean(values))


def sample_distances(Z: np.ndarray, size: int, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a seeded sample of ``Z`` and their pairwise Euclidean distances (float32).

    Computed once and shared by every candidate's silhouette.
    """
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(len(Z), size, replace=False)) if len(Z) > size else np.arange(len(Z))
    data = Z[rows].astype(np.float32)
    norms = np.einsum("ij,ij->i", data, data)
    squared = norms[:, None] - 2 * data @ data.T + norms[None, :]
    np.maximum(squared, 0, out=squared)
    np.fill_diagonal(squared, 0)
    return rows, np.sqrt(squared, out=squared)


def silhouette(D: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette from a distance matrix (the definition of sklearn's silhouette_score).

    One matrix product gives every customer's mean distance to every segment.

    >>> D = np.array([[0, 1, 4, 5], [1, 0, 3, 4], [4, 3, 0, 1], [5, 4, 1, 0]], dtype=float)
    >>> round(silhouette(D, np.array([0, 0, 1, 1])), 4)
    0.746
    """
    ids, codes = np.unique(labels, return_inverse=True)
    if len(ids) < 2:
        return float("nan")
    onehot = np.zeros((len(labels), len(ids)), dtype=D.dtype)
    onehot[np.arange(len(labels)), codes] = 1
    sums = (D @ onehot).astype(np.float64)
    counts = onehot.sum(axis=0).astype(np.float64)
    own = sums[np.arange(len(labels)), codes]
    own_count = counts[codes]
    a = np.where(own_count > 1, own / np.maximum(own_count - 1, 1), 0.0)
    mean_other = sums / counts[None, :]
    mean_other[np.arange(len(labels)), codes] = np.inf
    b = mean_other.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(own_count > 1, (b - a) / np.maximum(a, b), 0.0)
    return float(np.nan_to_num(s).mean())


def _quality(Z: np.ndarray, labels: np.ndarray, rows: np.ndarray, D: np.ndarray) -> dict:
    keep = labels != UNASSIGNED
    if len(np.unique(labels[keep])) < 2:
        return {"silhouette": np.nan, "calinski_harabasz": np.nan, "davies_bouldin": np.nan}
    sampled = labels[rows]
    in_sample = sampled != UNASSIGNED
    return {"silhouette": silhouette(D[np.ix_(in_sample, in_sample)] if not in_sample.all() else D,
                                     sampled[in_sample]),
            "calinski_harabasz": float(calinski_harabasz_score(Z[keep], labels[keep])),
            "davies_bouldin": float(davies_bouldin_score(Z[keep], labels[keep]))}


def choose_k(X: pd.DataFrame, *, k_values: Sequence[int] = range(2, 11),
             algorithms: Sequence[str] = ("kmeans",), preprocessor: Preprocessor | None = None,
             rule: SelectionRule | None = None, min_cluster_size: int | None = None, random_state: int = 0,
             progress: bool = False) -> KSelection:
    """Sweep k (and algorithms), measure quality, stability and prediction strength, and pick
    k by the module's rule.

    Parameters
    ----------
    X : DataFrame
        One row per customer, the columns to segment on (any row order: the result is
        the same).
    k_values : sequence of int, default 2 to 10
        The candidate numbers of segments (each at least 2).
    algorithms : sequence of str, default ("kmeans",)
        The candidate algorithms (:data:`~seglab.cluster.ALGORITHMS`). HDBSCAN finds its
        own k (one candidate per run).
    preprocessor : Preprocessor, optional
        The preprocessing, unfitted (a clone is fitted once and shared by every
        candidate). Default: ``Preprocessor()``.
    rule : SelectionRule, optional
        The thresholds and the evidence to gather (default: :class:`SelectionRule`'s
        defaults).
    min_cluster_size : int, optional
        HDBSCAN's smallest segment.
    random_state : int, default 0
        Seed of every fit, resample and split.
    progress : bool, default False
        Show a progress bar over the candidates.

    Returns
    -------
    KSelection
        The evidence (one row per algorithm and k) and the chosen candidate.

    Raises
    ------
    ParameterError
        When no k in ``k_values`` can satisfy the rule, or there are too few customers.
    """
    require_frame(X, "X")
    rule = rule if rule is not None else SelectionRule()
    for algorithm in algorithms:
        check_choice(algorithm, ALGORITHMS, name="algorithm")
    k_values = sorted({int(k) for k in k_values})
    if not k_values:
        raise ParameterError("k_values is empty; give candidates such as range(2, 11)")
    if k_values[0] < 2:
        raise ParameterError(f"k_values must start at 2 or more (one segment is no segmentation); "
                             f"got {k_values[0]}")
    if k_values[0] * rule.min_share > 1:
        raise ParameterError(f"no k in {k_values[0]}…{k_values[-1]} can give every segment at least "
                             f"{rule.min_share:.0%} of the customers (k × min_share > 1); lower min_share or k")
    if 2 * k_values[-1] > len(X):  # half of the customers must still hold k segments (prediction strength)
        limit = len(X) // 2
        fix = (f"set k_max to at most {limit} (or set k)" if limit >= k_values[0]
               else f"set k to the number of segments you want (at most {len(X)})")
        raise ParameterError(f"choosing k among {k_values[0]}..{k_values[-1]} needs at least {2 * k_values[-1]} "
                             f"customers (half of them must still hold {k_values[-1]} segments); found "
                             f"{len(X):,}: {fix}, or use more data")
    prep = clone(preprocessor if preprocessor is not None else Preprocessor()).set_output(transform="pandas")
    numeric, categorical = prep.columns(X)
    prep.set_params(numeric=numeric, categorical=categorical)
    order = canonical_order(X[[*numeric, *categorical]])
    X = X.iloc[order].reset_index(drop=True)
    prep.fit(X)
    Z = prep.transform(X)
    Zk = None
    if "kprototypes" in algorithms:  # scaled numeric columns beside the raw categorical ones
        numeric_only = clone(prep).set_params(categorical=[]).fit(X)
        Zk = pd.concat([numeric_only.transform(X).reset_index(drop=True),
                        X[categorical].reset_index(drop=True).astype("object")], axis=1)
    Zm = Z.to_numpy(dtype=float)
    rows_sampled, D = sample_distances(Zm, rule.silhouette_sample, random_state)
    n_bootstrap, n_splits = rule.repeats(len(X))
    candidates = [(a, k) for a in algorithms for k in (k_values if a != "hdbscan" else [0])]
    rows, jaccard_rows, labels_of = [], [], {}
    bar = tqdm(candidates, desc="choosing k", unit="candidate", disable=not progress)
    for algorithm, k in bar:
        bar.set_postfix_str(f"{algorithm} k={k}" if k else algorithm)
        data = Zk if algorithm == "kprototypes" else Z
        # the sweep compares candidates: fewer restarts than the final model's are enough
        model, labels = fit_labels(algorithm, data, k, random_state=random_state, n_init=4,
                                   categorical=categorical, min_cluster_size=min_cluster_size)
        found = int(len(np.unique(labels[labels != UNASSIGNED])))
        sizes = np.bincount(labels[labels != UNASSIGNED]) if found else np.array([0])
        row = {"algorithm": algorithm, "k": found if algorithm == "hdbscan" else k,
               **_quality(Zm, labels, rows_sampled, D),
               "bic": float(model.bic(Zm)) if algorithm == "gmm" else np.nan,
               "inertia": float(model.inertia_) if hasattr(model, "inertia_") else np.nan,
               "smallest_share": float(sizes[sizes > 0].min() / len(labels)) if found else 0.0,
               "unassigned_share": float((labels == UNASSIGNED).mean())}
        common = {"random_state": random_state, "categorical": categorical, "min_cluster_size": min_cluster_size}
        # many small refits: one thread each is fastest, and does not stall on a busy machine
        # (OpenMP and BLAS threads spin while they wait for a core)
        with threadpool_limits(limits=1):
            stability, per_segment = bootstrap_stability(algorithm, data, labels, k, n_bootstrap=n_bootstrap,
                                                         sample=rule.stability_sample, **common)
            row["prediction_strength"] = prediction_strength(algorithm, data, k, n_splits=n_splits,
                                                             sample=rule.strength_sample, **common)
        row["stability"] = stability
        row["min_jaccard"] = min(per_segment.values()) if per_segment else np.nan
        rows.append(row)
        labels_of[(algorithm, row["k"])] = labels
        jaccard_rows += [{"algorithm": algorithm, "k": row["k"], "segment": s, "jaccard": v}
                         for s, v in per_segment.items()]
    table = pd.DataFrame(rows)
    algorithm, k, text = _decide(table, rule)
    settings = {"k_values": k_values, "algorithms": list(algorithms), **asdict(rule),
                "bootstrap_resamples": n_bootstrap, "strength_splits": n_splits,
                "random_state": random_state, "skew": prep.skew, "scaling": prep.scaling, "clip": prep.clip,
                "pca": prep.pca}
    chosen = np.empty(len(order), dtype=np.int64)
    chosen[order] = labels_of[(algorithm, k)]
    return KSelection(table=rule.admissible(table), jaccard=pd.DataFrame(
        jaccard_rows, columns=["algorithm", "k", "segment", "jaccard"]),
        algorithm=algorithm, k=k, rule=text, settings=settings, labels=chosen)


def _decide(table: pd.DataFrame, rule: SelectionRule) -> tuple[str, int, str]:
    table = rule.admissible(table)
    if not table["big_enough"].any():
        best = table["smallest_share"].max()
        raise ParameterError(f"every candidate has a segment smaller than min_share={rule.min_share:.0%} of "
                             f"the customers (the best has {best:.1%}); lower min_share or try smaller k")
    pool = table[table["admissible"]]
    if pool.empty:
        pool = table[table["big_enough"]].sort_values(["prediction_strength", "k"], ascending=[False, True])
        pick = pool.iloc[0]
        warnings.warn(f"no candidate meets the rule ({rule.describe()}); taking the one with the highest "
                      f"prediction strength ({pick['algorithm']}, k={int(pick['k'])}, prediction strength "
                      f"{pick['prediction_strength']:.2f}, weakest segment's Jaccard {pick['min_jaccard']:.2f}): "
                      "its segments are weakly supported by the data, treat them with care",
                      DataQualityWarning, stacklevel=3)
        return (str(pick["algorithm"]), int(pick["k"]),
                "highest prediction strength (no candidate met the rule: " + rule.describe() + ")")
    pick = pool.sort_values(["k", "prediction_strength", "silhouette"], ascending=[False, False, False]).iloc[0]
    return str(pick["algorithm"]), int(pick["k"]), rule.describe()
