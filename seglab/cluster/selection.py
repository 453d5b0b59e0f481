"""Choosing k: quality indices, bootstrap stability, and a guard against over-segmentation.

For each algorithm and each k, :func:`choose_k` reports the silhouette (on a sample
above ``silhouette_sample`` customers), Calinski-Harabasz, Davies-Bouldin, BIC (Gaussian
mixtures), inertia (k-means), the smallest segment's share of customers, and stability:
the algorithm is refitted on ``n_bootstrap`` bootstrap resamples (of at most
``stability_sample`` customers) and compared with the fit on all customers, on the
resampled customers: the mean adjusted Rand index, and per segment the Jaccard
similarity with its best-matching bootstrap segment (Hennig's *clusterboot*; ≥ 0.75
stable, 0.6 – 0.75 a pattern, < 0.5 dissolved).

**The rule** that picks k:

1. keep the candidates whose smallest segment holds at least ``min_share`` of the
   customers (no segment too small to act on);
2. of those, keep the stable ones: mean bootstrap ARI ≥ ``min_stability``;
3. pick the highest silhouette; candidates within ``tolerance`` of it count as ties,
   and the smallest k among the ties wins (the simplest segmentation that is as good).

When no candidate is stable the most stable one that meets ``min_share`` is taken, with
a warning; when none meets ``min_share`` it is an error.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score
from tqdm.auto import tqdm

from seglab._io import read_json, write_json
from seglab._validation import check_choice, check_range, require_frame
from seglab.cluster.preprocess import Preprocessor
from seglab.cluster.segmenter import ALGORITHMS, UNASSIGNED, fit_labels
from seglab.exceptions import DataQualityWarning, ParameterError

__all__ = ["KSelection", "choose_k", "bootstrap_stability", "silhouette", "sample_distances"]

logger = logging.getLogger(__name__)


@dataclass
class KSelection:
    """The evidence for k, and the choice.

    ``table`` has one row per (algorithm, k); ``jaccard`` one row per (algorithm, k,
    segment) with its bootstrap Jaccard similarity.
    """

    table: pd.DataFrame
    jaccard: pd.DataFrame
    algorithm: str
    k: int
    rule: str
    settings: dict = field(default_factory=dict)

    @property
    def chosen(self) -> pd.Series:
        """The chosen row of :attr:`table`."""
        rows = self.table[(self.table["algorithm"] == self.algorithm) & (self.table["k"] == self.k)]
        return rows.iloc[0]

    def to_dict(self) -> dict:
        return {"algorithm": self.algorithm, "k": self.k, "rule": self.rule, "settings": self.settings,
                "table": self.table.to_dict(orient="records"),
                "jaccard": self.jaccard.to_dict(orient="records")}

    def write(self, path) -> None:
        """Write as JSON (``k_selection.json`` in the run folder)."""
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
             algorithms: Sequence[str] = ("kmeans",), numeric: Sequence[str] | None = None,
             categorical: Sequence[str] | None = None, skew: str = "auto", scaling: str = "robust",
             clip: float | None = 5.0, pca: float | int | None = None, min_share: float = 0.05, min_stability: float = 0.6,
             tolerance: float = 0.01, n_bootstrap: int = 10, stability_sample: int = 10_000,
             silhouette_sample: int = 8_000, min_cluster_size: int | None = None, random_state: int = 0,
             progress: bool = False) -> KSelection:
    """Sweep k (and algorithms), measure quality and stability, and pick k by the module's rule.

    Parameters
    ----------
    X
        One row per customer, the columns to segment on.
    k_values, algorithms
        The candidates. HDBSCAN finds its own k (one candidate per run).
    numeric, categorical, skew, scaling, clip, pca
        Preprocessing (as :class:`~seglab.cluster.Segmenter`).
    min_share, min_stability, tolerance
        The rule's thresholds (see the module docstring).
    n_bootstrap, stability_sample, silhouette_sample
        Stability resamples and their size; silhouette sample size.

    Returns
    -------
    KSelection
    """
    require_frame(X, "X")
    for algorithm in algorithms:
        check_choice(algorithm, ALGORITHMS, name="algorithm")
    k_values = sorted({int(k) for k in k_values})
    if not k_values:
        raise ParameterError("k_values is empty; give candidates such as range(2, 11)")
    check_range(min_share, name="min_share", low=0, high=0.5)
    if k_values[0] * min_share > 1:
        raise ParameterError(f"no k in {k_values[0]}…{k_values[-1]} can give every segment at least "
                             f"{min_share:.0%} of the customers (k × min_share > 1); lower min_share or k")
    if len(X) < max(k_values):
        k_values = [k for k in k_values if k <= len(X)]
        if not k_values:
            raise ParameterError(f"only {len(X)} customers: fewer than the smallest k")
    kproto = "kprototypes" in algorithms
    prep = Preprocessor(numeric, categorical, skew=skew, scaling=scaling, clip=clip, pca=pca,
                        random_state=random_state).fit(X)
    Z = prep.transform(X)
    cat_cols = list(prep.categorical_)
    Zk = None
    if kproto:
        numeric_only = Preprocessor(prep.numeric_, [], skew=skew, scaling=scaling, clip=clip,
                                    random_state=random_state).fit(X)
        Zk = pd.concat([numeric_only.transform(X).reset_index(drop=True),
                        X[cat_cols].reset_index(drop=True).astype("object")], axis=1)
    Zm = Z.to_numpy(dtype=float)
    rows_sampled, D = sample_distances(Zm, silhouette_sample, random_state)
    candidates = [(a, k) for a in algorithms for k in (k_values if a != "hdbscan" else [0])]
    rows, jaccard_rows = [], []
    bar = tqdm(candidates, desc="choosing k", unit="fit", disable=not progress)
    for algorithm, k in bar:
        bar.set_postfix_str(f"{algorithm} k={k}" if k else algorithm)
        data = Zk if algorithm == "kprototypes" else Z
        # the sweep compares candidates: fewer restarts than the final model's are enough
        model, labels = fit_labels(algorithm, data, k, random_state=random_state, n_init=4,
                                   categorical=cat_cols, min_cluster_size=min_cluster_size)
        found = int(len(np.unique(labels[labels != UNASSIGNED])))
        sizes = np.bincount(labels[labels != UNASSIGNED]) if found else np.array([0])
        row = {"algorithm": algorithm, "k": found if algorithm == "hdbscan" else k,
               **_quality(Zm, labels, rows_sampled, D),
               "bic": float(model.bic(Zm)) if algorithm == "gmm" else np.nan,
               "inertia": float(model.inertia_) if hasattr(model, "inertia_") else np.nan,
               "smallest_share": float(sizes.min() / len(labels)),
               "unassigned_share": float((labels == UNASSIGNED).mean())}
        stability, per_segment = bootstrap_stability(
            algorithm, data, labels, k, n_bootstrap=n_bootstrap, sample=stability_sample,
            random_state=random_state, categorical=cat_cols, min_cluster_size=min_cluster_size)
        row["stability"] = stability
        row["min_jaccard"] = min(per_segment.values()) if per_segment else np.nan
        rows.append(row)
        jaccard_rows += [{"algorithm": algorithm, "k": row["k"], "segment": s, "jaccard": v}
                         for s, v in per_segment.items()]
    table = pd.DataFrame(rows)
    algorithm, k, rule = _decide(table, min_share=min_share, min_stability=min_stability,
                                 tolerance=tolerance)
    settings = {"k_values": k_values, "algorithms": list(algorithms), "min_share": min_share,
                "min_stability": min_stability, "tolerance": tolerance, "n_bootstrap": n_bootstrap,
                "stability_sample": stability_sample, "silhouette_sample": silhouette_sample,
                "random_state": random_state, "skew": skew, "scaling": scaling, "clip": clip, "pca": pca}
    return KSelection(table=table, jaccard=pd.DataFrame(jaccard_rows, columns=["algorithm", "k", "segment",
                                                                                "jaccard"]),
                      algorithm=algorithm, k=k, rule=rule, settings=settings)


def _decide(table: pd.DataFrame, *, min_share: float, min_stability: float,
            tolerance: float) -> tuple[str, int, str]:
    table = table.assign(big_enough=table["smallest_share"] >= min_share,
                         stable=table["stability"] >= min_stability)
    table["admissible"] = table["big_enough"] & table["stable"]
    if not table["big_enough"].any():
        best = table["smallest_share"].max()
        raise ParameterError(f"every candidate has a segment smaller than min_share={min_share:.0%} of the "
                             f"customers (the best has {best:.1%}); lower min_share or try smaller k")
    pool = table[table["admissible"]]
    if pool.empty:
        pool = table[table["big_enough"]].sort_values(["stability", "k"], ascending=[False, True])
        pick = pool.iloc[0]
        warnings.warn(f"no candidate reaches the stability threshold {min_stability}; taking the most "
                      f"stable one ({pick['algorithm']}, k={int(pick['k'])}, ARI {pick['stability']:.2f}): "
                      "treat its segments with care", DataQualityWarning, stacklevel=3)
        return str(pick["algorithm"]), int(pick["k"]), "most stable (no candidate met the stability threshold)"
    best = pool["silhouette"].max()
    ties = pool[pool["silhouette"] >= best - tolerance].sort_values(["k", "silhouette"], ascending=[True, False])
    pick = ties.iloc[0]
    rule = (f"smallest segment ≥ {min_share:.0%}, bootstrap ARI ≥ {min_stability}, highest silhouette "
            f"(ties within {tolerance} → smallest k)")
    return str(pick["algorithm"]), int(pick["k"]), rule
