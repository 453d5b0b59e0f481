"""Assign every customer in the engine: a fitted :class:`Segmenter` as one Ibis expression.

The model is fitted in Python on a sample; assigning millions of customers to its
segments needs no Python at all. :func:`assign_segments` translates the fitted
preprocessing and model into an Ibis expression over the feature table, which DuckDB,
Spark or any Ibis SQL backend runs where the data lives:

- **preprocessing** (:class:`Preprocessor`): missing values to the training median (and a
  0/1 indicator), ``log1p`` or Yeo-Johnson, centring and scaling, clipping, rescaling to
  unit variance, one-hot encoding (rare and unknown levels to the *infrequent* column,
  flags by their value), group weights and PCA, each column an arithmetic expression;
- **assignment**: k-means and mini-batch k-means, the nearest centre; Gaussian mixtures,
  the most probable component (weight × density, for every covariance type: the
  log-density is a sum of squares of linear expressions of the preprocessed columns);
  k-prototypes, squared numeric distance plus ``gamma`` × categorical mismatches; ward
  and HDBSCAN, the nearest centre of the segments found on the sample (HDBSCAN: farther
  than that segment's radius → :data:`UNASSIGNED`);
- **numbering**: the segmenter's canonical numbers, after any alignment or relabelling.

Only portable operations are used (arithmetic, ``ln``, ``pow``, ``least``/``greatest``,
``CASE``, ``IN``), so the expression runs unchanged on DuckDB and Spark. The result
equals :meth:`Segmenter.predict` customer for customer, except on exact ties, where
rounding in the last digits may pick the other of two equally near segments (k-means
predicts in single precision; the engine computes in double).

>>> import seglab
>>> con = seglab.features.connect()                                             # doctest: +SKIP
>>> expr = seglab.cluster.assign_segments(model, con.read_parquet(features_path))  # doctest: +SKIP
>>> seglab.cluster.write_segments(expr, segments_path, con=con)                  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
from sklearn.utils.validation import check_is_fitted

from seglab.cluster.segmenter import UNASSIGNED, Segmenter
from seglab.engine import to_parquet_file
from seglab.exceptions import InputError, ParameterError

__all__ = ["assign_segments", "write_segments", "write_assigned"]

_MISSING_LEVEL = "missing"  # the Preprocessor's fill value for a missing category
_KPROTO_MISSING = "<missing>"  # k-prototypes' level for a missing category
_ON_THE_RADIUS = 1 + 1e-9  # squared distances summed in another order differ in the last digits


def _float(table: ir.Table, col: str) -> ir.FloatingValue:
    return table[col].cast("float64")


def _is_missing(value: ir.FloatingValue) -> ir.BooleanValue:
    return value.isnull() | value.isnan()


def _text(table: ir.Table, col: str) -> ir.StringValue:
    value = table[col]
    return value if value.type().is_string() else value.cast("string")


def _yeo_johnson(x: ir.FloatingValue, lam: float) -> ir.FloatingValue:
    """scikit-learn's Yeo-Johnson transform with one fitted lambda."""
    eps = np.spacing(1.0)
    positive = ((x + 1).ln() if abs(lam) < eps else ((x + 1) ** lam - 1) / lam)
    negative = (-((1 - x).ln()) if abs(lam - 2) < eps else -(((1 - x) ** (2 - lam)) - 1) / (2 - lam))
    return ibis.ifelse(x >= 0, positive, negative)


def _numeric_branch(table: ir.Table, pipeline, cols: Sequence[str], kind: str) -> list[ir.FloatingValue]:
    imputer, *steps = [step for _, step in pipeline.steps]
    scaler = steps[-1]
    medians = imputer.statistics_
    kept = [(c, m) for c, m in zip(cols, medians) if not np.isnan(m)]  # all-missing columns are dropped
    out = []
    for j, (col, median) in enumerate(kept):
        raw = _float(table, col)
        x = ibis.ifelse(_is_missing(raw), float(median), raw)
        if kind == "log":
            x = (ibis.greatest(x, 0.0) + 1).ln()
        elif kind == "yeo-johnson":
            x = _yeo_johnson(x, float(steps[0].lambdas_[j]))
        z = (x - float(scaler.center_[j])) / float(scaler.scale_[j])
        if scaler.clip:
            z = ibis.least(ibis.greatest(z, -float(scaler.clip)), float(scaler.clip))
        out.append(z / float(scaler.unit_[j]))
    return out


def _same_flag(value: ir.FloatingValue, level: str) -> ir.BooleanValue:
    """Whether a flag's value prints as ``level`` (the Preprocessor writes flags with ``{:g}``:
    six significant digits)."""
    if level == _MISSING_LEVEL:
        return _is_missing(value)
    target = float(level)
    if target == 0 or not math.isfinite(target):
        return value == target
    half_digit = 0.5 * 10 ** (math.floor(math.log10(abs(target))) - 5)
    return (value - target).abs() < half_digit


def _category_branch(table: ir.Table, pipeline, col: str, flag: bool) -> list[ir.FloatingValue]:
    encoder = pipeline.steps[-1][1]
    levels = [str(level) for level in encoder.categories_[0]]
    # an encoder without max_categories (no rare levels to group) has no infrequent categories
    infrequent = getattr(encoder, "infrequent_categories_", [None])[0]
    rare = set() if infrequent is None else {str(level) for level in infrequent}
    if flag:
        value = _float(table, col)
        match = {level: _same_flag(value, level) for level in levels}
    else:
        text = _text(table, col).fill_null(_MISSING_LEVEL)
        match = {level: text == level for level in levels}
    match = {level: m.fill_null(False) for level, m in match.items()}  # a missing value matches no level
    out = [match[level].cast("float64") for level in levels if level not in rare]
    if rare:  # rare levels and levels never seen in training share the infrequent column
        frequent = [match[level] for level in levels if level not in rare]
        seen = ibis.literal(False)
        for m in frequent:
            seen = seen | m
        out.append((~seen).cast("float64"))
    width = len(encoder.get_feature_names_out())
    if len(out) != width:
        raise InputError(f"cannot translate the one-hot encoding of {col!r} ({width} columns, "
                         f"{len(out)} translated)")
    return out


def _preprocessed(table: ir.Table, model: Segmenter) -> list[ir.FloatingValue]:
    """The columns of ``model.transform`` as expressions, in its order (the numeric part for k-prototypes)."""
    prep = model.preprocessor_
    columns = prep.transformer_.named_steps["columns"]
    out: list[ir.FloatingValue] = []
    for name, pipeline, cols in columns.transformers_:
        if name == "remainder" or pipeline == "drop":
            continue
        if name in ("log", "yeo-johnson", "none"):
            out += _numeric_branch(table, pipeline, cols, name)
        elif name == "missing":
            out += [_is_missing(_float(table, c)).cast("float64") for c in cols]
        else:
            out += _category_branch(table, pipeline, cols[0], flag=cols[0] in prep.flags_)
    factors = prep.transformer_.named_steps["weights"].kw_args["factors"]
    if len(out) != len(factors):
        raise InputError(f"cannot translate the preprocessing: {len(factors)} columns, {len(out)} translated")
    return [x * float(f) if f != 1 else x for x, f in zip(out, factors)]


def _sum(terms: Sequence[ir.FloatingValue]) -> ir.FloatingValue:
    """A sum as a balanced tree: a chain of hundreds of additions is slow to compile."""
    terms = list(terms)
    if not terms:
        return ibis.literal(0.0)
    while len(terms) > 1:
        terms = [terms[i] + terms[i + 1] if i + 1 < len(terms) else terms[i] for i in range(0, len(terms), 2)]
    return terms[0]


def _linear(columns: Sequence[ir.FloatingValue], weights: np.ndarray, const: float = 0.0) -> ir.FloatingValue:
    return _sum([x * float(w) for x, w in zip(columns, weights) if w != 0]) + float(const)


def _squared_distance(columns: Sequence[ir.FloatingValue], centre: np.ndarray) -> ir.FloatingValue:
    return _sum([(x - float(c)) * (x - float(c)) for x, c in zip(columns, centre)])


def _gmm_scores(step: ir.Table, columns: Sequence[ir.FloatingValue], gmm,
                id_column: str) -> tuple[ir.Table, list[ir.FloatingValue]]:
    """Per component, log weight + log density up to a constant shared by all (scikit-learn's
    ``_estimate_weighted_log_prob`` without ``-d/2 log 2π``). Full and tied covariances
    first project the whitened coordinates ``(x - mean) @ precision_cholesky`` as columns."""
    kind, chol, means = gmm.covariance_type, gmm.precisions_cholesky_, gmm.means_
    quads, log_dets = [], []
    if kind in ("full", "tied"):
        whitened = {}
        for c, mean in enumerate(means):
            p = chol[c] if kind == "full" else chol
            log_dets.append(float(np.sum(np.log(np.diag(p)))))
            shift = mean @ p
            for j in range(p.shape[1]):
                whitened[f"_y{c}_{j}"] = _linear(columns, p[:, j], -float(shift[j]))
        step = step.select(step[id_column], **whitened)
        for c in range(len(means)):
            ys = [step[f"_y{c}_{j}"] for j in range(means.shape[1])]
            quads.append(_sum([y * y for y in ys]))
    for c, mean in enumerate(means):
        if kind == "diag":
            log_dets.append(float(np.sum(np.log(chol[c]))))
            quads.append(_sum([((x - float(m)) * float(p)) * ((x - float(m)) * float(p))
                               for x, m, p in zip(columns, mean, chol[c])]))
        elif kind == "spherical":
            log_dets.append(float(len(mean) * np.log(chol[c])))
            quads.append(_squared_distance(columns, mean) * float(chol[c] ** 2))
    return step, [float(np.log(w)) + d - 0.5 * q for w, d, q in zip(gmm.weights_, log_dets, quads)]


def _first(scores: Sequence[ir.FloatingValue], best: ir.FloatingValue, labels: Sequence[int]) -> ir.IntegerValue:
    """The label of the first score equal to ``best`` (numpy's argmin/argmax on ties)."""
    if len(scores) == 1:
        return ibis.literal(int(labels[0]), type="int64")
    return ibis.cases(*[(s == best, int(label)) for s, label in zip(scores[:-1], labels[:-1])],
                      else_=int(labels[-1])).cast("int64")


def _canonical(model: Segmenter, raw) -> list[int]:
    """The segmenter's numbers for raw clusters; one it never saw is unassigned, as in ``predict``."""
    return [model._mapping.get(int(r), UNASSIGNED) for r in raw]


def _scores(model: Segmenter, step: ir.Table, columns, id_column: str):
    """(table, scores, raw cluster of each score, lowest wins)."""
    algorithm = model.algorithm
    if algorithm in ("kmeans", "minibatch"):
        centres = model.model_.cluster_centers_.astype(float)
        return step, [_squared_distance(columns, c) for c in centres], range(len(centres)), True
    if algorithm == "gmm":
        step, scores = _gmm_scores(step, columns, model.model_, id_column)
        return step, scores, range(len(scores)), False
    if algorithm == "kprototypes":
        kp = model.model_
        scores = []
        for c, centroid in enumerate(kp.centroids_):
            mismatches = [(step[f"_c{j}"] != str(kp.categories_[j][kp._mode_codes[c, j]])).cast("float64")
                          for j in range(len(model.categorical_))]
            scores.append(_squared_distance(columns, centroid) + _sum(mismatches) * float(kp.gamma_))
        return step, scores, range(len(scores)), True
    # ward, hdbscan: the nearest centre of the segments found on the sample
    return step, [_squared_distance(columns, c) for c in model._raw_centres], model._raw_ids, True


def assign_segments(model: Segmenter, table: ir.Table, *, id_column: str = "customer_id") -> ir.Table:
    """The segment of every customer of ``table``, as an Ibis expression run by the engine.

    Parameters
    ----------
    model : Segmenter
        A fitted segmenter (any algorithm, after any :meth:`~Segmenter.relabel`).
    table : ibis.Table
        The feature table on any Ibis backend (e.g. ``con.read_parquet(...)``): one row per
        customer with ``id_column`` and the columns the model was fitted on.
    id_column : str, default "customer_id"
        The column that identifies a customer (carried through unchanged).

    Returns
    -------
    ibis.Table
        ``customer_id`` and ``segment`` (int64, the numbers of :attr:`Segmenter.labels_`;
        :data:`UNASSIGNED` for customers HDBSCAN's segments do not reach), one row per
        row of ``table``, unordered.

    Raises
    ------
    ParameterError
        When ``model`` is not a fitted :class:`Segmenter` or ``table`` not an Ibis table.
    InputError
        When ``table`` lacks a column the model needs.

    Notes
    -----
    The result equals ``model.predict`` on the same customers except on exact ties
    (two segments equally near up to rounding), see the module docstring. HDBSCAN's radius
    is compared with a relative tolerance of 1e-9: the radius is a quantile of the sampled
    customers' distances, so a customer lies exactly on it, and stays assigned.
    """
    if not isinstance(model, Segmenter):
        raise ParameterError(f"model must be a fitted seglab Segmenter; got {type(model).__name__}")
    check_is_fitted(model, "labels_")
    if not isinstance(table, ir.Table):
        raise ParameterError(f"table must be an Ibis table (e.g. con.read_parquet(path)); got "
                             f"{type(table).__name__}")
    needed = [id_column, *model.numeric_, *model.categorical_]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise InputError(f"the feature table lacks columns {missing} that the segmenter was fitted on; "
                         f"found {list(table.columns)}; assign with the feature table the model was made from")
    algorithm = model.algorithm
    z = _preprocessed(table, model)
    names = [f"_z{j}" for j in range(len(z))]
    fields = {id_column: table[id_column], **dict(zip(names, z))}
    if algorithm == "kprototypes":
        for j, col in enumerate(model.categorical_):
            fields[f"_c{j}"] = _text(table, col).fill_null(_KPROTO_MISSING)
    step = table.select(**fields)
    columns = [step[n] for n in names]
    pca = model.preprocessor_.transformer_.named_steps.get("pca")
    if pca is not None:
        pcs = {f"_p{i}": _linear(columns, component, -float(pca.mean_ @ component))
               for i, component in enumerate(pca.components_)}
        step = step.select(step[id_column], *[step[c] for c in step.columns if c.startswith("_c")], **pcs)
        columns = [step[n] for n in pcs]
    step, scores, raw, lowest = _scores(model, step, columns, id_column)
    step = step.select(step[id_column], **{f"_s{i}": score for i, score in enumerate(scores)})
    scores = [step[f"_s{i}"] for i in range(len(scores))]
    best = scores[0] if len(scores) == 1 else ibis.least(*scores) if lowest else ibis.greatest(*scores)
    step = step.select(step[id_column], *scores, _best=best)
    scores, best = [step[f"_s{i}"] for i in range(len(scores))], step["_best"]
    label = _first(scores, best, _canonical(model, raw))
    if algorithm == "hdbscan":  # beyond its segment's radius: unassigned
        within = _first(scores, best, [i for i in range(len(scores))])
        reached = ibis.literal(False)
        for i, radius in enumerate(model._radii):
            # the radius is a quantile of the sample's distances: a customer lies on it exactly, and is in
            near = ((within == i) & (best <= float(radius) ** 2 * _ON_THE_RADIUS) if np.isfinite(radius)
                    else (within == i))
            reached = reached | near
        label = ibis.ifelse(reached, label, UNASSIGNED)
    return step.select(step[id_column].name("customer_id"), segment=label.cast("int64"))


def write_segments(expr: ir.Table, path: str | Path, *, con: ibis.BaseBackend | None = None,
                   extra: ir.Table | None = None) -> Path:
    """Write an assignment (:func:`assign_segments`) to Parquet, by the engine, atomically.

    Parameters
    ----------
    expr : ibis.Table
        ``customer_id`` and ``segment``.
    path : str or Path
        The Parquet file to write (a temporary file beside it is renamed into place).
    con : ibis backend, optional
        The backend ``expr`` runs on (default: the expression's own).
    extra : ibis.Table, optional
        More columns per customer (e.g. the map's ``x`` and ``y`` for the customers that
        have them), left-joined on ``customer_id``.

    Returns
    -------
    Path
        ``path``. Rows are ordered by ``customer_id``; DuckDB writes with ``COPY``, other
        backends stream Arrow batches into one file (zstd, as every artifact).
    """
    if extra is not None:
        joined = expr.left_join(extra, "customer_id")
        expr = joined.drop(*[c for c in joined.columns if c.startswith("customer_id_")])
    return to_parquet_file(expr.order_by("customer_id"), path, con=con)


def write_assigned(model: Segmenter, features: str | Path | ir.Table, path: str | Path, *,
                   segments=None, con: ibis.BaseBackend | None = None) -> Path:
    """Assign every customer of a feature table in the engine and write ``segments`` there.

    The cluster stage's writer: ``model`` was fitted in Python (on a sample of the
    customers); every customer of ``features`` is assigned by the engine and written to
    ``path`` by it, so no table of all customers passes through Python.

    Parameters
    ----------
    model : Segmenter
        The fitted segmenter.
    features : str, Path or ibis.Table
        The feature table: a Parquet file (read by the engine) or an Ibis table.
    path : str or Path
        The Parquet file to write (see :func:`write_segments`).
    segments : DataFrame, optional
        Segments already known in Python (``customer_id``, ``segment`` and perhaps the
        map's ``x`` and ``y``, for all customers or a sample): checked against the
        engine's assignment (they must agree: same model, same features), and their
        other columns written beside ``segment``.
    con : ibis backend, optional
        Where to run (default: a new in-process DuckDB, :func:`seglab.features.connect`).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        When ``segments`` disagree with the engine's assignment of the same customers
        (the segmentation was not made from this feature table).
    """
    from seglab.features.engine import as_table, connect, execute, quiet

    con = connect() if con is None else con
    table = as_table(con, features, name="features")
    expr = assign_segments(model, table)
    extra = None
    if segments is not None:
        known = as_table(con, segments[["customer_id", "segment"]], name="segments")
        joined = expr.join(known, "customer_id")
        check = joined.aggregate(customers=joined.count(),
                                 differ=(joined["segment"] != joined["segment_right"]).cast("int64").sum())
        result = execute(con, check).iloc[0]
        if int(result["customers"]) != len(segments) or int(result["differ"] or 0):
            raise InputError(f"the segmentation does not belong to this feature table: of its {len(segments)} "
                             f"customers, {int(result['customers'])} are in the table and "
                             f"{int(result['differ'] or 0)} of those are assigned another segment by its model; "
                             "segment the feature table you write the segments for")
        more = [c for c in segments.columns if c not in ("customer_id", "segment")]
        if more:
            extra = as_table(con, segments[["customer_id", *more]], name="segment columns")
    with quiet():
        return write_segments(expr, path, con=con, extra=extra)
