"""Customer maps: a seeded 2-D embedding of the preprocessed features, cached in the run folder.

UMAP (the default) keeps neighbourhoods, which makes segments visible as regions. It is
fitted on a seeded sample of at most ``fit_sample`` customers and the rest are placed with
``transform``, in chunks (with a progress bar). PCA is the fast fallback.

numba compiles UMAP's code on its first call in each process (15-40 s). Two things make
that a once-per-machine cost: the nearest neighbours are found by scikit-learn (exact,
brute force) instead of pynndescent, whose compiled code numba cannot keep on disk, and
UMAP's own compiled functions are cached on disk (``NUMBA_CACHE_DIR``, by default
``~/.cache/seglab/numba``; see :func:`numba_cache_dir`). :func:`cached_embedding` also
reuses a map already computed for the same matrix and parameters.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from seglab._io import read_json, write_json, write_parquet
from seglab._validation import check_choice, require_frame

__all__ = ["embed", "cached_embedding", "embedding_key", "numba_cache_dir", "MAP_METHODS"]

logger = logging.getLogger(__name__)

MAP_METHODS = ("pca", "umap")
"""The ways to draw the customer map: ``pca`` (instant) and ``umap`` (neighbourhoods kept)."""


def embed(Z: pd.DataFrame, *, method: str = "umap", random_state: int = 0, fit_sample: int = 20_000,
          n_neighbors: int = 15, min_dist: float = 0.1, chunk: int = 10_000,
          progress: bool = False) -> pd.DataFrame:
    """Two coordinates (``x``, ``y``) per row of the preprocessed matrix ``Z``.

    Parameters
    ----------
    Z : DataFrame
        The preprocessed features (``Segmenter.transform``), one row per customer.
    method : {"umap", "pca"}, default "umap"
        UMAP (neighbourhoods kept) or PCA (instant); see :data:`MAP_METHODS`.
    random_state : int, default 0
        Seed of the sample and of UMAP.
    fit_sample : int, default 20000
        UMAP is fitted on at most this many rows (seeded); the others are transformed.
    n_neighbors, min_dist
        UMAP's neighbourhood size and packing.
    chunk : int, default 10000
        Rows transformed at a time (one step of the progress bar).
    progress : bool, default False
        Show a progress bar.

    Returns
    -------
    DataFrame
        ``x`` and ``y``, with the index of ``Z``.
    """
    require_frame(Z, "Z")
    check_choice(method, MAP_METHODS, name="method")
    data = Z.to_numpy(dtype=np.float32)
    n = len(data)
    if method == "pca" or n < 5:
        from sklearn.decomposition import PCA

        coords = PCA(n_components=min(2, data.shape[1]), random_state=random_state).fit_transform(data)
        if coords.shape[1] == 1:
            coords = np.column_stack([coords[:, 0], np.zeros(n)])
        return pd.DataFrame(coords, columns=["x", "y"], index=Z.index)
    umap = _import_umap()

    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, fit_sample, replace=False)) if n > fit_sample else np.arange(n)
    rest = np.setdiff1d(np.arange(n), sample)
    steps = 1 + int(np.ceil(len(rest) / chunk))
    bar = tqdm(total=steps, desc="customer map (UMAP)", unit="step", disable=not progress)
    # Below 4,096 points UMAP computes exact distances through scikit-learn with a Python
    # callable (millions of Python calls); a precomputed matrix is the same idea at C speed.
    # (It cannot transform new points, so only when the whole map is fitted at once.)
    precomputed = len(sample) <= 4096 and len(rest) == 0
    n_neighbors = min(n_neighbors, max(2, len(sample) - 1))
    index = None if precomputed else _ExactNeighbours(data[sample])
    reducer = umap.UMAP(n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, random_state=random_state,
                        metric="precomputed" if precomputed else "euclidean",
                        precomputed_knn=(None, None, None) if precomputed else index.graph(n_neighbors))
    coords = np.zeros((n, 2), dtype=float)
    with warnings.catch_warnings():
        # a fixed random_state makes UMAP single-threaded, on purpose: maps are reproducible
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden")
        warnings.filterwarnings("ignore", message="using precomputed metric")  # no inverse needed
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")  # transform works: _ExactNeighbours
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


def numba_cache_dir() -> Path:
    """Where numba keeps UMAP's compiled code between processes.

    ``NUMBA_CACHE_DIR`` when set, else ``seglab/numba`` in the user's cache folder
    (``$XDG_CACHE_HOME`` or ``~/.cache``). The first UMAP map on a machine compiles (and
    fills this folder); every later process, kernel or ``seglab run`` loads the code.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seglab" / "numba"


def _import_umap():
    """``umap``, with numba's compiled code cached on disk (see :func:`numba_cache_dir`).

    umap-learn declares most of its numba functions without ``cache=True``; caching is
    switched on for those not compiled yet (what ``cache=True`` does at decoration time).
    """
    first = "umap" not in sys.modules
    if first:
        import numba

        folder = numba_cache_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            numba.config.CACHE_DIR = str(folder)  # read when a function's cache is set up
        except OSError as err:  # a read-only home: numba's own default places still work
            logger.info("numba cache folder %s is not writable (%s)", folder, err)
    import umap

    if first:
        from numba.core.dispatcher import Dispatcher

        for name, module in list(sys.modules.items()):
            if name.split(".")[0] not in ("umap", "pynndescent") or module is None:
                continue
            for fn in list(vars(module).values()):
                if isinstance(fn, Dispatcher) and not fn.overloads and type(fn._cache).__name__ == "NullCache":
                    fn.enable_caching()
    return umap


class _ExactNeighbours:
    """Exact nearest neighbours among the fitted rows, by brute force (scikit-learn).

    UMAP's default, pynndescent, is compiled by numba on every process start (about half
    of UMAP's first-call cost) and cannot be cached. UMAP takes the neighbour graph as
    ``precomputed_knn`` and, to place new rows in ``transform``, asks this object's
    ``query`` for their neighbours (the interface of pynndescent's index).
    """

    _angular_trees = False  # read by UMAP.transform: euclidean, not angular

    def __init__(self, data: np.ndarray):
        from sklearn.neighbors import NearestNeighbors

        self._nn = NearestNeighbors(algorithm="brute").fit(data)
        self._data = data

    def graph(self, k: int) -> tuple[np.ndarray, np.ndarray, _ExactNeighbours]:
        indices, dists = self.query(self._data, k)  # each row's first neighbour is itself
        return indices, dists, self

    def query(self, X: np.ndarray, k: int, epsilon: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        dists, indices = self._nn.kneighbors(X, n_neighbors=k)
        return indices.astype(np.int32), dists.astype(np.float32)


def embedding_key(Z: pd.DataFrame, **params) -> str:
    """A fingerprint of the matrix and the parameters (what the cached map was made from)."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(Z.to_numpy(dtype=np.float64)).tobytes())
    digest.update(json.dumps(list(map(str, Z.columns))).encode())
    digest.update(json.dumps(params, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def cached_embedding(Z: pd.DataFrame, cache: tuple[str | Path, str | Path], *, progress: bool = False,
                     **params) -> pd.DataFrame:
    """:func:`embed`, reusing the coordinates cached in ``cache`` when made from the same input.

    ``cache`` is a pair of files: the coordinates (Parquet) and their fingerprint
    (:func:`embedding_key`, JSON); a run folder gives its pair
    (:meth:`seglab.run.RunFolder.embedding_cache`).

    Parameters
    ----------
    Z : DataFrame
        The preprocessed features, one row per customer.
    cache : (path, path)
        The coordinates' Parquet file and their fingerprint's JSON file.
    progress : bool, default False
        Show a progress bar when the map is computed.
    **params
        :func:`embed`'s settings (``method``, ``random_state``, …): part of the fingerprint.

    Returns
    -------
    DataFrame
        ``x`` and ``y``, with the index of ``Z``.
    """
    data_path, meta_path = (Path(p) for p in cache)
    key = embedding_key(Z, **params)
    if data_path.exists() and meta_path.exists() and read_json(meta_path).get("key") == key:
        cached = pd.read_parquet(data_path)
        if len(cached) == len(Z):
            logger.info("reusing the customer map in %s", data_path)
            return cached.set_index(Z.index)
    coords = embed(Z, progress=progress, **params)
    write_parquet(coords.reset_index(drop=True), data_path)
    write_json({"key": key, "params": params, "rows": len(coords)}, meta_path)
    return coords
