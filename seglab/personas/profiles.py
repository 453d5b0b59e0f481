"""Segment profiles: how each segment differs from all customers, feature by feature.

For every numeric feature: the segment's mean and median, the overall mean, the lift
(segment mean / overall mean), a standardised effect size (segment mean − overall
mean, in overall standard deviations) and the **contrast** with the other segments
(segment mean − the mean of all other customers, in overall standard deviations), on the
customers who have a value (the missing count is kept). For every categorical feature:
each value's share in the segment, among the other customers and overall, their ratio,
and the contrast (share − share among the others, over the overall share's binomial
standard deviation). Contrast is what names and traits use: what sets a segment apart
from the *other* segments, not from an average it dominates. Plus the size, the share of customers and of revenue, and the KPIs the
data has (revenue, orders, order value, probability alive, CLV, return rate, campaign
response).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seglab._validation import require_columns, require_frame
from seglab.exceptions import InputError

__all__ = ["SegmentProfiles", "profile_segments", "KPI_COLUMNS", "REVENUE_COLUMNS", "MEDIAN_BATCH", "median_batch",
           "align_labels"]

REVENUE_COLUMNS = ("net_revenue", "total_spend")
"""The first of these the features have is the segment's revenue."""

KPI_COLUMNS = ("net_revenue", "orders", "avg_order_value", "prob_alive", "expected_purchases", "clv",
               "return_rate", "recency_days", "email_click_rate", "responded_last_campaign", "total_spend",
               "spending_score")
"""Per-customer KPIs shown per segment when the features have them."""

MEDIAN_BATCH = 8
"""Numeric columns per engine query where exact medians are taken: an exact median holds its
column's values in memory, which DuckDB cannot spill (8 columns of 4.9 M customers fit its
1 GB cap). On Spark one column per query (:func:`median_batch`)."""


def median_batch(con) -> int:
    """Numeric columns per exact-median query on ``con``: :data:`MEDIAN_BATCH`, or one on
    Spark, whose exact percentile keeps every distinct value of its column in the JVM heap
    of one task (8 columns of 982 k customers exhausted ``local[2]``'s default 1 GB heap)."""
    return 1 if getattr(con, "name", "") == "pyspark" else MEDIAN_BATCH
_MAX_LEVELS = 30
MISSING_VALUE = "(missing)"
_NUMERIC_COLUMNS = ["segment", "feature", "mean", "median", "overall_mean", "rest_mean", "lift", "effect", "contrast",
                    "present", "missing"]
_CATEGORICAL_COLUMNS = ["segment", "feature", "value", "share", "overall_share", "rest_share", "lift", "contrast"]


@dataclass
class SegmentProfiles:
    """Profiles of every segment.

    Attributes
    ----------
    overview : DataFrame
        One row per segment: ``customers``, ``share``, and when the data has revenue
        ``revenue``, ``revenue_share``, ``revenue_per_customer``; then the KPI means.
    numeric : DataFrame
        One row per segment and numeric feature: ``mean``, ``median``, ``overall_mean``,
        ``rest_mean`` (the other customers), ``lift``, ``effect``, ``contrast``, ``present``
        and ``missing`` (customers without a value).
    categorical : DataFrame
        One row per segment, categorical feature and value: ``share``, ``overall_share``,
        ``rest_share``, ``lift``, ``contrast``.
    revenue : str or None
        The revenue column used.
    """

    overview: pd.DataFrame
    numeric: pd.DataFrame
    categorical: pd.DataFrame
    revenue: str | None

    @property
    def segments(self) -> list[int]:
        return [int(s) for s in self.overview.index]

    def kpis(self) -> pd.DataFrame:
        """The KPI means per segment (a column per KPI the data has)."""
        return self.overview[[c for c in self.overview.columns if c in KPI_COLUMNS]]


def align_labels(features: pd.DataFrame, labels) -> pd.Series:
    """Segment labels as a Series aligned to ``features``' rows (by ``customer_id``).

    ``labels`` is a Series indexed by customer id or a frame with ``customer_id`` and
    ``segment``. Customers of ``labels`` missing from the features are an error.
    """
    require_columns(features, ["customer_id"], table="features")
    if isinstance(labels, pd.DataFrame):
        require_columns(labels, ["customer_id", "segment"], table="segments")
        labels = labels.set_index("customer_id")["segment"]
    if not isinstance(labels, pd.Series):
        raise InputError(f"labels must be a Series by customer_id or a segments frame; got {type(labels).__name__}")
    if not labels.index.is_unique:
        raise InputError("labels list some customers more than once; give one segment per customer")
    ids = pd.Index(features["customer_id"].astype("str"))
    unknown = labels.index.astype("str").difference(ids)
    if len(unknown):
        examples = ", ".join(map(str, unknown[:3]))
        raise InputError(f"{len(unknown):,} customers in the segment labels are not in the feature table "
                         f"(e.g. {examples}); were the segments made from another run's features?")
    aligned = labels.reindex(ids)
    if aligned.isna().any():
        raise InputError(f"{int(aligned.isna().sum()):,} customers of the feature table have no segment; "
                         "segment every customer (or filter the features first)")
    return pd.Series(aligned.to_numpy(dtype=np.int64), index=features.index, name="segment")


def profile_segments(features, labels, *, columns: Sequence[str] | None = None, revenue: str | None = "auto",
                     con=None, batch: int | None = None) -> SegmentProfiles:
    """Profile each segment against all customers.

    Two ways, one result (the same tables, columns, dtypes and row order, equal to float
    precision):

    - **in memory**: ``features`` a DataFrame, ``labels`` a Series or segments frame, no
      ``con``;
    - **in the engine**: ``features`` and ``labels`` Parquet paths (a run's
      feature table and segments, :meth:`seglab.run.RunFolder.segment_files`) or Ibis
      tables, or ``con`` given.
      Every sum, count, mean, median, standard deviation and value count is a group-by in
      the engine (DuckDB by default, Spark, …); only one row per segment × feature (and
      per segment × value) comes back, so memory does not grow with the customers.
      Medians are exact on both engines: DuckDB's ``median`` (``percentile_cont(0.5)``) and
      Spark's ``percentile(x, 0.5)`` (exact, interpolated like pandas; each group's values
      are held by one executor while it is computed).

    Parameters
    ----------
    features
        One row per customer (``customer_id`` plus features): a DataFrame, a Parquet path
        or an Ibis table.
    labels
        Segment by customer (see :func:`align_labels`): a Series by ``customer_id`` or a
        frame with ``customer_id`` and ``segment``; in the engine also a Parquet path or
        an Ibis table with those columns.
    columns
        The features to profile (default: all).
    revenue
        Column for the revenue shares: ``"auto"`` (:data:`REVENUE_COLUMNS`), a name, or None.
    con
        The Ibis connection to run on (default: an in-process DuckDB when ``features`` is
        not a DataFrame).
    batch
        In the engine, the numeric features summarised per query (exact medians hold a
        group's values in memory: fewer at a time bound the engine's memory); default
        :func:`median_batch` of the engine.

    Raises
    ------
    InputError
        When a labelled customer is not in the features, a customer of the features has
        no segment, or a customer is labelled twice.
    """
    if con is not None or not isinstance(features, pd.DataFrame):
        return _engine_profiles(features, labels, columns=columns, revenue=revenue, con=con, batch=batch)
    require_frame(features, "features")
    segment = align_labels(features, labels)
    columns = [c for c in (columns if columns is not None else features.columns) if c != "customer_id"]
    require_columns(features, columns, table="features")
    if revenue == "auto":
        revenue = next((c for c in REVENUE_COLUMNS if c in features), None)
    numeric_cols = [c for c in columns if pd.api.types.is_numeric_dtype(features[c])
                    and not pd.api.types.is_bool_dtype(features[c])]
    categorical_cols = [c for c in columns if c not in numeric_cols
                        and features[c].nunique(dropna=True) <= _MAX_LEVELS]

    counts = segment.value_counts().sort_index()
    totals = features[revenue].groupby(segment).sum() if revenue is not None else None
    kpi = [c for c in KPI_COLUMNS if c in numeric_cols]
    overview = _overview(counts, totals, features[kpi].groupby(segment).mean() if kpi else None)
    numeric = _numeric_profiles(features[numeric_cols], segment) if numeric_cols else pd.DataFrame(
        columns=_NUMERIC_COLUMNS)
    categorical = pd.concat([_categorical_profiles(features[col], segment) for col in categorical_cols],
                            ignore_index=True) if categorical_cols else pd.DataFrame(columns=_CATEGORICAL_COLUMNS)
    return SegmentProfiles(overview=overview, numeric=numeric, categorical=categorical, revenue=revenue)


def _overview(counts: pd.Series, totals: pd.Series | None, kpis: pd.DataFrame | None) -> pd.DataFrame:
    """:attr:`SegmentProfiles.overview` from the customers, the revenue totals and the KPI
    means per segment (each indexed by segment, sorted)."""
    overview = pd.DataFrame({"customers": counts, "share": counts / counts.sum()})
    overview.index.name = "segment"
    if totals is not None:
        overview["revenue"] = totals
        overview["revenue_share"] = totals / totals.sum() if totals.sum() else np.nan
        overview["revenue_per_customer"] = totals / counts
    return overview.join(kpis) if kpis is not None else overview


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0."""
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    return np.divide(numerator, denominator, out=out, where=denominator != 0)


def _numeric_profiles(table: pd.DataFrame, segment: pd.Series) -> pd.DataFrame:
    """The rows of :attr:`SegmentProfiles.numeric`, segment by segment, feature by feature
    (computed on whole segment × feature arrays: a row at a time took a second at 50,000
    customers)."""
    values = table.apply(pd.to_numeric, errors="coerce").astype(float)
    grouped = values.groupby(segment)
    means, medians, present, sums = grouped.mean(), grouped.median(), grouped.count(), grouped.sum()
    sizes = segment.value_counts().reindex(means.index).to_numpy()
    return _numeric_rows(list(table.columns), means.index.to_numpy(dtype=np.int64), sizes, mean=means.to_numpy(),
                         median=medians.to_numpy(), count=present.to_numpy(), sums=sums.to_numpy(),
                         overall_mean=values.mean().to_numpy(),
                         spread=values.std(ddof=0).replace(0, np.nan).to_numpy(),
                         overall_count=values.count().to_numpy(), overall_sum=values.sum().to_numpy())


def _numeric_rows(columns: list[str], ids: np.ndarray, sizes: np.ndarray, *, mean, median, count, sums,
                  overall_mean, spread, overall_count, overall_sum, center=None) -> pd.DataFrame:
    """The rows of :attr:`SegmentProfiles.numeric` from per segment × feature summaries
    (segments × features arrays: ``mean``, ``median``, ``count`` present, ``sums``) and
    per feature ones (``overall_*``; ``spread`` the population standard deviation, NaN
    where it is 0): the same arithmetic whether the summaries come from pandas or an engine.
    ``center`` (per feature), when given, was subtracted from the values before summing."""
    others = overall_count - count
    rest = _ratio(overall_sum - sums, others)
    if center is not None:
        rest = rest + center
    base = np.broadcast_to(overall_mean, mean.shape)
    usable = np.isfinite(spread)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(np.isfinite(base) & (base != 0), mean / base, np.nan)
        effect = np.where(usable, (mean - base) / spread, 0.0)
        contrast = np.where(usable & np.isfinite(rest) & np.isfinite(mean), (mean - rest) / spread, 0.0)
    n_segments, n_columns = mean.shape
    return pd.DataFrame({
        "segment": np.repeat(ids, n_columns),
        "feature": columns * n_segments, "mean": mean.ravel(), "median": median.ravel(),
        "overall_mean": base.ravel(), "rest_mean": rest.ravel(), "lift": lift.ravel(), "effect": effect.ravel(),
        "contrast": contrast.ravel(), "present": count.ravel().astype(np.int64),
        "missing": (sizes[:, None] - count).ravel().astype(np.int64)})


def _categorical_profiles(column: pd.Series, segment: pd.Series) -> pd.DataFrame:
    """The rows of :attr:`SegmentProfiles.categorical` for one feature: each segment's
    values present in it, in the order of the segments, then of the values."""
    values = column.astype("object").where(column.notna(), MISSING_VALUE).astype(str)
    overall = values.value_counts(normalize=True)
    codes, levels = pd.factorize(values, sort=True)
    groups, ids = pd.factorize(segment, sort=True)
    counts = np.bincount(groups * len(levels) + codes, minlength=len(ids) * len(levels)).reshape(len(ids),
                                                                                                  len(levels))
    return _categorical_rows(column.name, np.asarray(ids, dtype=np.int64), np.asarray(levels, dtype=object), counts,
                             overall.reindex(levels).to_numpy(dtype=float))


def _categorical_rows(name: str, ids: np.ndarray, levels: np.ndarray, counts: np.ndarray,
                      overall: np.ndarray) -> pd.DataFrame:
    """The rows of :attr:`SegmentProfiles.categorical` for one feature from its counts
    (segments × values, both sorted) and each value's overall share."""
    sizes, totals = counts.sum(axis=1), counts.sum(axis=0)
    others = sizes.sum() - sizes
    share = counts / sizes[:, None]
    q = np.broadcast_to(overall, counts.shape)
    rest = _ratio((totals[None, :] - counts).astype(float), np.broadcast_to(others[:, None], counts.shape))
    spread = np.sqrt(q * (1 - q))
    with np.errstate(divide="ignore", invalid="ignore"):
        contrast = np.where((spread > 0) & np.isfinite(rest), (share - rest) / spread, 0.0)
    seen = counts > 0
    rows, cols = np.nonzero(seen)
    return pd.DataFrame({"segment": ids[rows], "feature": [name] * len(rows),
                         "value": levels[cols], "share": share[seen],
                         "overall_share": q[seen], "rest_share": rest[seen], "lift": share[seen] / q[seen],
                         "contrast": contrast[seen]})


SEGMENT_COLUMN = "_seglab_segment"
"""The segment column of :func:`aligned_table` (a name no feature has)."""


def _engine_profiles(features, labels, *, columns, revenue, con, batch: int) -> SegmentProfiles:
    """:func:`profile_segments` in the engine (see there)."""
    import ibis

    from seglab._validation import check_range
    from seglab.features.engine import as_table, connect, execute

    con = connect() if con is None else con
    batch = median_batch(con) if batch is None else batch
    check_range(batch, name="batch", low=1, integer=True)
    if isinstance(labels, pd.Series):
        labels = labels.rename("segment").rename_axis("customer_id").reset_index()
    table = as_table(con, features, name="features")
    segments = as_table(con, labels, name="segments")
    require_engine_columns(table, ["customer_id"], "features")
    require_engine_columns(segments, ["customer_id", "segment"], "segments")
    joined = aligned_table(con, table, segments)
    schema = table.schema()
    columns = [c for c in (columns if columns is not None else table.columns) if c != "customer_id"]
    require_engine_columns(table, columns, "features")
    if revenue == "auto":
        revenue = next((c for c in REVENUE_COLUMNS if c in schema), None)
    elif revenue is not None:
        require_engine_columns(table, [revenue], "features")
    numeric_cols = [c for c in columns if schema[c].is_numeric() and not schema[c].is_decimal()]
    others = [c for c in columns if c not in numeric_cols]
    if others:
        levels = execute(con, table.aggregate(**{f"c{i}": table[c].nunique() for i, c in enumerate(others)}))
        categorical_cols = [c for i, c in enumerate(others) if int(levels[f"c{i}"].iloc[0]) <= _MAX_LEVELS]
    else:
        categorical_cols = []

    group = joined[SEGMENT_COLUMN]
    head = {"customers": group.count()}
    if revenue is not None:
        money = as_float(joined[revenue]) if schema[revenue].is_floating() else joined[revenue]
        head["revenue"] = money.sum().fill_null(ibis.literal(0, type=money.sum().type()))
    sizes = execute(con, joined.group_by(SEGMENT_COLUMN).aggregate(**head)).sort_values(SEGMENT_COLUMN).set_index(SEGMENT_COLUMN)
    sizes.index = sizes.index.astype(np.int64).rename("segment")
    counts = sizes["customers"].astype(np.int64).rename("count")
    totals = None
    if revenue is not None:
        totals = sizes["revenue"].astype(np.int64 if schema[revenue].is_integer() else float).rename(revenue)

    numeric = pd.DataFrame(columns=_NUMERIC_COLUMNS)
    kpis = None
    if numeric_cols:
        summary = _engine_numeric(con, joined, numeric_cols, batch)
        ids = counts.index.to_numpy(dtype=np.int64)
        numeric = _numeric_rows(numeric_cols, ids, counts.to_numpy(), **summary)
        kpi = [c for c in KPI_COLUMNS if c in numeric_cols]
        if kpi:
            kpis = pd.DataFrame(summary["mean"][:, [numeric_cols.index(c) for c in kpi]], index=counts.index,
                                columns=kpi)
    overview = _overview(counts, totals, kpis)
    if categorical_cols:
        categorical = pd.concat([_engine_categorical(con, joined, col, schema[col], counts.index)
                                 for col in categorical_cols], ignore_index=True)
    else:
        categorical = pd.DataFrame(columns=_CATEGORICAL_COLUMNS)
    return SegmentProfiles(overview=overview, numeric=numeric, categorical=categorical, revenue=revenue)


def require_engine_columns(table, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"{name} lack {missing}; found {list(table.columns)[:12]}")


def aligned_table(con, table, segments):
    """The feature table with each customer's segment (column :data:`SEGMENT_COLUMN`), after
    the checks of :func:`align_labels` (counted in the engine)."""
    from seglab.features.engine import execute

    ids = segments.select(label_id=segments.customer_id.cast("string"),
                          **{SEGMENT_COLUMN: segments.segment.cast("int64")})
    counted = execute(con, ids.aggregate(rows=ids.count(), distinct=ids.label_id.nunique()))
    if int(counted["rows"].iloc[0]) != int(counted["distinct"].iloc[0]):
        raise InputError("labels list some customers more than once; give one segment per customer")
    keyed = table.mutate(feature_id=table.customer_id.cast("string"))
    unknown = ids.anti_join(keyed, ids.label_id == keyed.feature_id)
    found = execute(con, unknown.aggregate(n=unknown.count()))["n"].iloc[0]
    if found:
        examples = ", ".join(execute(con, unknown.select("label_id").order_by("label_id").limit(3))["label_id"])
        raise InputError(f"{int(found):,} customers in the segment labels are not in the feature table "
                         f"(e.g. {examples}); were the segments made from another run's features?")
    joined = keyed.left_join(ids, keyed.feature_id == ids.label_id)
    joined = joined.select(*table.columns, SEGMENT_COLUMN)
    unlabelled = execute(con, joined.aggregate(n=joined[SEGMENT_COLUMN].isnull().sum()))["n"].iloc[0]
    if unlabelled:
        raise InputError(f"{int(unlabelled):,} customers of the feature table have no segment; "
                         "segment every customer (or filter the features first)")
    return joined


def engine_text(value):
    """A column's values as the text the in-memory profiles and rules compare (``True`` /
    ``False`` for booleans, :data:`MISSING_VALUE` for missing), as an engine expression."""
    import ibis

    if value.type().is_boolean():
        text = ibis.cases((value, "True"), (~value, "False"), else_=ibis.null("string"))
    else:
        text = value.cast("string")
    return text.fill_null(MISSING_VALUE)


def as_float(value):
    """A numeric column as float64, NaN taken as missing (as pandas does)."""
    import ibis

    number = value.cast("float64")
    return ibis.ifelse(number.isnan(), ibis.null("float64"), number) if value.type().is_floating() else number


def _engine_numeric(con, joined, columns: list[str], batch: int) -> dict:
    """The summaries :func:`_numeric_rows` takes, by group-bys in the engine, ``batch``
    features per query; segments in ascending order.

    Means, sums and standard deviations are taken of each value minus the feature's
    smallest value (added back to the means): an engine's plain floating-point sums of a
    million values near 1 lose the digits that a feature with a tiny spread (a
    probability alive of 0.99999999 ± 1e-8) differs by, where pandas sums with
    compensation."""
    from seglab.features.engine import execute

    lowest = execute(con, joined.aggregate(**{f"v{i}": as_float(joined[c]).min() for i, c in enumerate(columns)}))
    center = np.nan_to_num(lowest.iloc[0].to_numpy(dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    parts = {key: [] for key in ("mean", "median", "count", "sums", "overall_mean", "spread", "overall_count",
                                 "overall_sum")}
    for start in range(0, len(columns), batch):
        chunk = columns[start:start + batch]
        per, whole = {}, {}
        for i, c in enumerate(chunk):
            value = as_float(joined[c])
            shifted = value - float(center[start + i])
            per.update({f"v{i}_mean": shifted.mean(), f"v{i}_median": value.median(), f"v{i}_count": value.count(),
                        f"v{i}_sum": shifted.sum()})
            whole.update({f"v{i}_mean": shifted.mean(), f"v{i}_std": shifted.std(how="pop"),
                          f"v{i}_count": value.count(), f"v{i}_sum": shifted.sum()})
        grouped = execute(con, joined.group_by(SEGMENT_COLUMN).aggregate(**per)).sort_values(SEGMENT_COLUMN)
        overall = execute(con, joined.aggregate(**whole)).iloc[0]
        keys = [f"v{i}" for i in range(len(chunk))]
        shift = center[start:start + len(chunk)]

        def summary(frame, name, dtype=float, keys=keys):
            return frame[[f"{k}_{name}" for k in keys]].to_numpy(dtype=dtype)

        parts["mean"].append(summary(grouped, "mean") + shift)
        parts["median"].append(summary(grouped, "median"))
        parts["count"].append(summary(grouped, "count", np.int64))
        parts["sums"].append(np.nan_to_num(summary(grouped, "sum"), nan=0.0, posinf=np.inf, neginf=-np.inf))
        parts["overall_mean"].append(overall[[f"{k}_mean" for k in keys]].to_numpy(dtype=float) + shift)
        spread = overall[[f"{k}_std" for k in keys]].to_numpy(dtype=float)
        parts["spread"].append(np.where(spread == 0, np.nan, spread))
        parts["overall_count"].append(overall[[f"{k}_count" for k in keys]].to_numpy(dtype=np.int64))
        parts["overall_sum"].append(np.nan_to_num(overall[[f"{k}_sum" for k in keys]].to_numpy(dtype=float),
                                                  nan=0.0, posinf=np.inf, neginf=-np.inf))
    rows = {"mean", "median", "count", "sums"}
    out = {key: np.concatenate(value, axis=1 if key in rows else 0) for key, value in parts.items()}
    return {**out, "center": center}


def _engine_categorical(con, joined, column: str, dtype, ids: pd.Index) -> pd.DataFrame:
    """The categorical rows of one feature from its value counts per segment (engine)."""
    import ibis

    from seglab.features.engine import execute

    value = engine_text(joined[column])
    found = execute(con, joined.mutate(_value=value).group_by([SEGMENT_COLUMN, "_value"]).aggregate(n=ibis._.count()))
    levels = np.asarray(sorted(set(found["_value"].astype(str))), dtype=object)
    counts = (found.assign(_value=found["_value"].astype(str))
              .pivot_table(index=SEGMENT_COLUMN, columns="_value", values="n", aggfunc="sum", fill_value=0)
              .reindex(index=ids, columns=levels, fill_value=0).to_numpy(dtype=np.int64))
    totals = counts.sum(axis=0)
    return _categorical_rows(column, ids.to_numpy(dtype=np.int64), levels, counts, totals / totals.sum())
