"""Customer maps: a seeded 2-D embedding of the preprocessed features, cached in the run folder.

UMAP (the default) keeps neighbourhoods, which makes segments visible as regions. It is
fitted on a seeded sample of at most ``fit_sample`` customers and the rest are placed with
``transform``, in chunks (with a progress bar). PCA is the fast fallback. numba compiles
UMAP's code on its first call in each process (15-40 s): :func:`cached_embedding` reuses
a map already computed for the same matrix and parameters.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from seglab._io import read_json, write_json, write_parquet
from seglab._validation import check_choice, require_frame

__all__ = ["embed", "cached_embedding", "embedding_key"]

logger = logging.getLogger(__name__)


def embed(Z: pd.DataFrame, *, method: str = "umap", random_state: int = 0, fit_sample: int = 20_000,
          n_neighbors: int = 15, min_dist: float = 0.1, chunk: int = 10_000,
          progress: bool = False) -> pd.DataFrame:
    """Two coordinates (``x``, ``y``) per row of the preprocessed matrix ``Z``.

    Parameters
    ----------
    Z
        The preprocessed features (``Segmenter.transform``), one row per customer.
    method
        ``"umap"`` or ``"pca"``.
    fit_sample
        UMAP is fitted on at most this many rows (seeded); the others are transformed.
    """
    require_frame(Z, "Z")
    check_choice(method, ("umap", "pca"), name="method")
    data = Z.to_numpy(dtype=np.float32)
    n = len(data)
    if method == "pca" or n < 5:
        from sklearn.decomposition import PCA

        coords = PCA(n_components=min(2, data.shape[1]), random_state=random_state).fit_transform(data)
        if coords.shape[1] == 1:
            coords = np.column_stack([coords[:, 0], np.zeros(n)])
        return pd.DataFrame(coords, columns=["x", "y"], index=Z.index)
    import umap

    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, fit_sample, replace=False)) if n > fit_sample else np.arange(n)
    rest = np.setdiff1d(np.arange(n), sample)
    steps = 1 + int(np.ceil(len(rest) / chunk))
    bar = tqdm(total=steps, desc="customer map (UMAP)", unit="step", disable=not progress)
    # Below 4,096 points UMAP computes exact distances through scikit-learn with a Python
    # callable (millions of Python calls); a precomputed matrix is the same idea at C speed.
    # (It cannot transform new points, so only when the whole map is fitted at once.)
    precomputed = len(sample) <= 4096 and len(rest) == 0
    reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, max(2, len(sample) - 1)),
                        min_dist=min_dist, random_state=random_state,
                        metric="precomputed" if precomputed else "euclidean")
    coords = np.zeros((n, 2), dtype=float)
    with warnings.catch_warnings():
        # a fixed random_state makes UMAP single-threaded, on purpose: maps are reproducible
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden")
        warnings.filterwarnings("ignore", message="using precomputed metric")  # no inverse needed
        if precomputed:
            from sklearn.metrics import pairwise_distances

            coords[sample] = reducer.fit_transform(pairwise_distances(data[sample]))
        else:
            coords[sample] = reducer.fit_transform(data[sample])
        bar.update()
        for start in range(0, len(rest), chunk):
            part = rest[start:start + chunk]
            coords[part] = reducer.transform(data[part])
            bar.update()
    bar.close()
    return pd.DataFrame(coords, columns=["x", "y"], index=Z.index)


def embedding_key(Z: pd.DataFrame, **params) -> str:
    """A fingerprint of the matrix and the parameters (what the cached map was made from)."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(Z.to_numpy(dtype=np.float64)).tobytes())
    digest.update(json.dumps(list(map(str, Z.columns))).encode())
    digest.update(json.dumps(params, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def cached_embedding(Z: pd.DataFrame, folder: str | Path, *, progress: bool = False,
                     **params) -> pd.DataFrame:
    """:func:`embed`, reusing ``embedding.parquet`` in ``folder`` when made from the same input.

    The fingerprint (:func:`embedding_key`) is kept in ``embedding.json`` beside it.
    """
    folder = Path(folder)
    key = embedding_key(Z, **params)
    data_path, meta_path = folder / "embedding.parquet", folder / "embedding.json"
    if data_path.exists() and meta_path.exists() and read_json(meta_path).get("key") == key:
        cached = pd.read_parquet(data_path)
        if len(cached) == len(Z):
            logger.info("reusing the customer map in %s", data_path)
            return cached.set_index(Z.index)
    coords = embed(Z, progress=progress, **params)
    write_parquet(coords.reset_index(drop=True), data_path)
    write_json({"key": key, "params": params, "rows": len(coords)}, meta_path)
    return coords
