"""Rules that explain segment membership, from shallow surrogate decision trees.

For each segment a depth-limited tree learns "in this segment or not" (one-vs-rest) from
the segmentation features in their original units; the paths to its "in" leaves become
rules. Paths that differ only in adjacent intervals of one feature are merged (sibling
leaves, or ``≤ 0.517`` next to ``> 0.474``), so each rule reads as one box. Rules are
written for people: feature labels from the feature dictionary, thresholds rounded to
meaningful precision with their units and currency ("CLV over 12 months > £1,120 and time
between purchases ≤ 110 days", "probability still active 47% to 52%", "orders ≥ 7"),
while the SQL keeps the exact thresholds. Every figure is computed by evaluating the
exact rules:

- **precision**: of the customers the rules select, the share in the segment;
- **coverage**: of the segment's customers, the share the rules select;
- **fidelity**: the share of all customers the rules classify correctly (in or out).

A multi-class tree gives one rule set for all segments at once, written as a SQL ``CASE``
expression (:attr:`SegmentRules.assignment_sql`, which the run folder keeps) with its own fidelity: the
agreement of the SQL's segment with the actual one. Missing values are filled with the
median, which the SQL does with ``COALESCE``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from seglab._validation import check_range
from seglab.cluster.segmenter import canonical_sample
from seglab.personas.profiles import align_labels
from seglab.personas.wording import feature_label, format_value, round_threshold, words_for

__all__ = ["SegmentRules", "explain_segments", "Condition", "evaluate_rule", "RuleWording", "merge_boxes"]


class RuleWording:
    """How rule conditions are written: feature labels, kinds (money, days, shares …),
    the currency, and which columns hold whole numbers."""

    def __init__(self, dictionary=None, currency: str = "", integer: Sequence[str] = ()):
        self.dictionary = dictionary
        meta = getattr(dictionary, "meta", {}) or {}
        self.currency = currency or meta.get("currency", "") or ""
        self.integer = set(integer)

    def label(self, column: str) -> str:
        return feature_label(column, self.dictionary)

    def kind(self, column: str) -> str:
        info = None
        if self.dictionary is not None and column in self.dictionary:
            info = self.dictionary[column]
        return words_for(column, info).kind

    def is_integer(self, column: str) -> bool:
        return column in self.integer or words_for(column).integer

    def value(self, column: str, threshold: float, *, side: str) -> str:
        """A threshold in words. ``side`` is ``upper`` (≤) or ``lower`` (>); whole-number
        columns are written as the whole numbers they allow."""
        kind = self.kind(column)
        if self.is_integer(column):
            whole = math.floor(threshold) + (1 if side == "lower" else 0)
            return format_value(whole, kind, self.currency, decimals=0)
        return format_value(round_threshold(threshold, kind), kind, self.currency)

    def interval(self, column: str, low: float, high: float) -> str:
        """``low < column ≤ high`` in words (either bound may be infinite)."""
        label = self.label(column)
        if np.isfinite(low) and np.isfinite(high):
            a, b = self.value(column, low, side="lower"), self.value(column, high, side="upper")
            return f"{label} {a}" if a == b else f"{label} {a} to {b}"
        if np.isfinite(high):
            return f"{label} ≤ {self.value(column, high, side='upper')}"
        symbol = "≥" if self.is_integer(column) else ">"
        return f"{label} {symbol} {self.value(column, low, side='lower')}"

    def category(self, column: str, op: str, value: str) -> str:
        label = self.label(column)
        if value == "(missing)":
            return f"{label} {'is' if op == '==' else 'is not'} missing"
        return f"{label} {'is' if op == '==' else 'is not'} {value}"


@dataclass(frozen=True)
class Condition:
    """One test: a numeric column against a threshold, or a category equal to / not a value.

    ``value`` is exact (the tree's threshold); :meth:`text` rounds it for reading and
    :meth:`sql` keeps it.
    """

    column: str
    op: str  # "<=", ">", "==", "!="
    value: float | str

    def text(self, wording: RuleWording | None = None) -> str:
        wording = wording or RuleWording()
        if isinstance(self.value, str):
            return wording.category(self.column, self.op, self.value)
        if self.op == "<=":
            return wording.interval(self.column, -np.inf, float(self.value))
        return wording.interval(self.column, float(self.value), np.inf)

    def sql(self, medians: Mapping[str, float]) -> str:
        column = f'"{self.column}"'
        if isinstance(self.value, str):
            quoted = self.value.replace("'", "''")
            op = "=" if self.op == "==" else "<>"
            return f"{column} {op} '{quoted}'"
        fill = medians.get(self.column)
        subject = f"COALESCE({column}, {_exact(fill)})" if fill is not None and np.isfinite(fill) else column
        return f"{subject} {self.op} {_exact(self.value)}"


def _exact(value: float) -> str:
    """A number exactly as SQL should see it (``8``, ``0.5174999833106995``)."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def rule_text(conditions: Sequence[Condition], wording: RuleWording | None = None) -> str:
    """A rule in words: one phrase per numeric column (two bounds become an interval),
    then the category tests, joined by "and"."""
    wording = wording or RuleWording()
    lower, upper, other = {}, {}, []
    for c in conditions:
        if isinstance(c.value, str):
            other.append(c.text(wording))
        elif c.op == ">":
            lower[c.column] = max(lower.get(c.column, -np.inf), float(c.value))
        else:
            upper[c.column] = min(upper.get(c.column, np.inf), float(c.value))
    parts = [wording.interval(col, lower.get(col, -np.inf), upper.get(col, np.inf))
             for col in sorted(set(lower) | set(upper))]
    return " and ".join(parts + other) or "(everyone)"


def evaluate_rule(frame: pd.DataFrame, conditions: Sequence[Condition], medians: Mapping[str, float]) -> np.ndarray:
    """Which rows satisfy every condition (missing numbers taken as the median)."""
    mask = np.ones(len(frame), dtype=bool)
    for c in conditions:
        if isinstance(c.value, str):
            values = frame[c.column].astype("object").where(frame[c.column].notna(), "(missing)").astype(str)
            hit = (values == c.value).to_numpy()
            mask &= hit if c.op == "==" else ~hit
        else:
            values = pd.to_numeric(frame[c.column], errors="coerce").fillna(medians.get(c.column, np.nan))
            data = values.to_numpy(dtype=float)
            mask &= (data <= c.value) if c.op == "<=" else (data > c.value)
    return mask


@dataclass
class SegmentRules:
    """The rules of every segment and their quality, plus the all-segment SQL.

    ``rules``: one row per rule (``segment``, ``rule`` in words, ``sql`` with the exact
    thresholds, ``customers`` selected, ``precision``, ``coverage``, ``conditions``). ``summary``: one row per segment (``precision``, ``coverage``,
    ``fidelity`` of its rules taken together).
    """

    rules: pd.DataFrame
    summary: pd.DataFrame
    assignment_sql: str
    assignment_fidelity: float
    medians: dict


def _encode(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str], medians: Mapping[str, float]):
    parts = [frame[list(numeric)].apply(pd.to_numeric, errors="coerce").astype(float).fillna(medians)] if numeric else []
    dummies = []
    for col in categorical:
        values = frame[col].astype("object").where(frame[col].notna(), "(missing)").astype(str)
        for level in sorted(values.unique()):
            dummies.append((col, level))
            parts.append(pd.Series((values == level).astype(float).to_numpy(), name=f"{col}={level}",
                                   index=frame.index))
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)
    return X, list(numeric) + dummies


def _paths(tree, features, target_class: int) -> list[list[Condition]]:
    """Conditions along the path to every leaf that predicts ``target_class`` (exact
    thresholds), with paths that form one box merged (see :func:`merge_boxes`)."""
    t = tree.tree_
    found = []

    def walk(node: int, path: list[Condition]):
        if t.children_left[node] == -1:
            if int(np.argmax(t.value[node][0])) == target_class:
                found.append(path)
            return
        feature, threshold = features[t.feature[node]], float(t.threshold[node])
        if isinstance(feature, tuple):  # a one-hot category: ≤ 0.5 means "not this value"
            col, level = feature
            walk(t.children_left[node], path + [Condition(col, "!=", level)])
            walk(t.children_right[node], path + [Condition(col, "==", level)])
        else:
            walk(t.children_left[node], path + [Condition(feature, "<=", threshold)])
            walk(t.children_right[node], path + [Condition(feature, ">", threshold)])

    walk(0, [])
    return merge_boxes([_simplify(p) for p in found])


def _box(conditions: Sequence[Condition]) -> tuple[dict, frozenset]:
    bounds: dict[str, list[float]] = {}
    other = []
    for c in conditions:
        if isinstance(c.value, str):
            other.append(c)
            continue
        low, high = bounds.setdefault(c.column, [-np.inf, np.inf])
        if c.op == ">":
            bounds[c.column][0] = max(low, float(c.value))
        else:
            bounds[c.column][1] = min(high, float(c.value))
    return {k: tuple(v) for k, v in bounds.items()}, frozenset(other)


def _conditions(bounds: dict, other: frozenset) -> list[Condition]:
    out = []
    for col in sorted(bounds):
        low, high = bounds[col]
        if np.isfinite(low):
            out.append(Condition(col, ">", low))
        if np.isfinite(high):
            out.append(Condition(col, "<=", high))
    return out + sorted(other, key=lambda c: (c.column, c.op, str(c.value)))


def _merged(a: tuple[dict, frozenset], b: tuple[dict, frozenset]) -> tuple[dict, frozenset] | None:
    """The union of two boxes when it is a box: same everywhere but one column, whose
    intervals touch."""
    (ba, oa), (bb, ob) = a, b
    if oa != ob:
        return None
    everywhere = (-np.inf, np.inf)
    columns = set(ba) | set(bb)
    differ = [c for c in columns if ba.get(c, everywhere) != bb.get(c, everywhere)]
    if len(differ) != 1:
        return None
    col = differ[0]
    (la, ha), (lb, hb) = ba.get(col, everywhere), bb.get(col, everywhere)
    if ha == lb or hb == la:
        union = (min(la, lb), max(ha, hb))
        bounds = {k: v for k, v in ba.items() if k != col}
        if union != everywhere:
            bounds[col] = union
        return bounds, oa
    return None


def merge_boxes(paths: Sequence[Sequence[Condition]]) -> list[list[Condition]]:
    """Merge rules that together form one box: ``x ≤ 0.5 and y ≤ 3`` with ``x ≤ 0.5 and
    y > 3`` gives ``x ≤ 0.5``; ``p ≤ 0.69`` with ``0.69 < p ≤ 0.72`` gives ``p ≤ 0.72``.
    The rules select exactly the same customers before and after.

    >>> a = [Condition("x", "<=", 0.5), Condition("y", "<=", 3.0)]
    >>> b = [Condition("x", "<=", 0.5), Condition("y", ">", 3.0)]
    >>> merge_boxes([a, b])
    [[Condition(column='x', op='<=', value=0.5)]]
    """
    boxes = [_box(p) for p in paths]
    changed = True
    while changed:
        changed = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                union = _merged(boxes[i], boxes[j])
                if union is not None:
                    boxes[i] = union
                    del boxes[j]
                    changed = True
                    break
            if changed:
                break
    return [_conditions(*box) for box in boxes]


def _simplify(path: list[Condition]) -> list[Condition]:
    """Keep the tightest bound per column and direction; keep category tests as they are."""
    return _conditions(*_box(path))


def _integer_columns(features: pd.DataFrame, numeric: Sequence[str]) -> list[str]:
    out = []
    for col in numeric:
        values = pd.to_numeric(features[col], errors="coerce").dropna().to_numpy(dtype=float)
        if len(values) and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            out.append(col)
    return out


def explain_segments(features, labels, *, numeric: Sequence[str], categorical: Sequence[str] = (),
                     names: Mapping[int, str] | None = None, max_depth: int = 3, min_leaf_share: float = 0.01,
                     random_state: int = 0, dictionary=None, currency: str = "",
                     max_rows: int = 100_000, con=None) -> SegmentRules:
    """Rules for each segment (one-vs-rest trees) and a SQL ``CASE`` for all of them.

    Parameters
    ----------
    features
        One row per customer, with the columns the rules may use: a DataFrame, or (for the
        engine) a Parquet path or an Ibis table.
    labels
        Segment by customer (see :func:`~seglab.personas.profiles.align_labels`); for the
        engine also a Parquet path or an Ibis table with ``customer_id`` and ``segment``.
    numeric, categorical
        The columns the rules may test (usually the segmentation's).
    max_depth
        Depth of the trees: at most this many conditions per rule.
    min_leaf_share
        Smallest leaf, as a share of the customers (no rule about a handful of customers).
    dictionary, currency
        The feature dictionary and currency, for labels and units in the rules' text.
    max_rows
        Beyond this many customers the trees are grown on a seeded sample of that many (the
        same share of every segment): a depth-3 rule found on 100,000 customers is the rule
        found on millions, at a fraction of the cost. Every rule's customers, precision,
        coverage and fidelity are still counted on all customers.
    con
        The Ibis connection for features given as files or Ibis tables (default: an
        in-process DuckDB). Up to ``max_rows`` customers the rule columns are read into
        memory and the rules are exactly the in-memory ones. Beyond, the engine computes
        the medians and which columns hold whole numbers, draws the sample (each segment's
        share, the customers ranked by a seeded hash of their rule columns' values, so
        neither row order nor pseudonyms matter; another engine may draw other
        customers) and counts every rule's customers; only the sample comes back.
    """
    check_range(max_depth, name="max_depth", low=1, high=6, integer=True)
    check_range(max_rows, name="max_rows", low=2, integer=True)
    options = {"names": names, "max_depth": max_depth, "min_leaf_share": min_leaf_share,
               "random_state": random_state, "dictionary": dictionary, "currency": currency}
    if con is not None or not isinstance(features, pd.DataFrame):
        return _explain_in_engine(features, labels, numeric=numeric, categorical=categorical, max_rows=max_rows,
                                  con=con, **options)
    segment = align_labels(features, labels).to_numpy()
    medians = {c: float(pd.to_numeric(features[c], errors="coerce").median()) for c in numeric}
    grown = canonical_sample(features[[*numeric, *categorical]], max_rows, strata=segment, random_state=random_state)
    grown = np.arange(len(features)) if grown is None else grown  # the same rules whatever the row order or salt
    sample = features.iloc[grown] if len(grown) < len(features) else features
    return _explain(sample, segment[grown], numeric, categorical, medians, _integer_columns(features, numeric),
                    _InMemory(features, segment, medians), **options)


def _explain(sample: pd.DataFrame, sample_segment: np.ndarray, numeric, categorical, medians, integer, counter, *,
             names, max_depth, min_leaf_share, random_state, dictionary, currency) -> SegmentRules:
    """Grow the trees on ``sample`` and count their rules' customers with ``counter`` (on
    every customer: in memory or in the engine)."""
    X, encoded = _encode(sample, numeric, categorical, medians)
    leaf = max(5, int(min_leaf_share * len(sample)))
    wording = RuleWording(dictionary, currency, integer)
    rules, summary = [], []
    for s in counter.segments:
        tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf, class_weight="balanced",
                                      random_state=random_state).fit(X, sample_segment == s)
        classes = list(tree.classes_)
        paths = _paths(tree, encoded, classes.index(True)) if True in classes else []
        counted, together = counter.count(s, paths)
        for conditions, (customers, precision, coverage) in zip(paths, counted, strict=True):
            rules.append({"segment": int(s), "rule": rule_text(conditions, wording),
                          "sql": " AND ".join(c.sql(medians) for c in conditions) or "TRUE",
                          "customers": customers, "precision": precision, "coverage": coverage,
                          "conditions": conditions})
        summary.append({"segment": int(s), "name": (names or {}).get(int(s), f"segment {s}"), "rules": len(paths),
                        **together})
    tree = DecisionTreeClassifier(max_depth=max_depth + 1, min_samples_leaf=leaf, random_state=random_state).fit(
        X, sample_segment)
    ordered = [(int(s), conditions) for index, s in enumerate(tree.classes_)
               for conditions in _paths(tree, encoded, index)]
    whens = [f"  WHEN {' AND '.join(c.sql(medians) for c in conditions) or 'TRUE'} THEN {s}"
             for s, conditions in ordered]
    sql = "CASE\n" + "\n".join(whens) + "\n  ELSE -1\nEND AS segment"
    columns = ["segment", "rule", "sql", "customers", "precision", "coverage", "conditions"]
    return SegmentRules(rules=pd.DataFrame(rules, columns=columns), summary=pd.DataFrame(summary),
                        assignment_sql=sql, assignment_fidelity=counter.agreement(ordered), medians=medians)


class _InMemory:
    """Counts rules' customers on a feature table in memory."""

    def __init__(self, features: pd.DataFrame, segment: np.ndarray, medians: Mapping[str, float]):
        self.features, self.segment, self.medians = features, segment, medians
        self.segments = sorted(set(segment.tolist()))

    def count(self, s, paths) -> tuple[list[tuple[int, float, float]], dict]:
        """Each rule's (customers, precision, coverage), and the rules' together."""
        member = self.segment == s
        selected_any = np.zeros(len(member), dtype=bool)
        counted = []
        for conditions in paths:
            hit = evaluate_rule(self.features, conditions, self.medians)
            selected_any |= hit
            counted.append((int(hit.sum()), float(member[hit].mean()) if hit.any() else 0.0,
                            float(hit[member].mean()) if member.any() else 0.0))
        return counted, {"precision": float(member[selected_any].mean()) if selected_any.any() else 0.0,
                         "coverage": float(selected_any[member].mean()),
                         "fidelity": float((selected_any == member).mean())}

    def agreement(self, ordered) -> float:
        """The share of customers whose segment the ordered rules (first match wins, else
        -1) give."""
        predicted = np.full(len(self.segment), -1, dtype=np.int64)
        for s, conditions in ordered:
            predicted[evaluate_rule(self.features, conditions, self.medians) & (predicted == -1)] = s
        return float((predicted == self.segment).mean())


def _explain_in_engine(features, labels, *, numeric, categorical, max_rows, con, **options) -> SegmentRules:
    """:func:`explain_segments` on files or Ibis tables (see its ``con``)."""
    from seglab.features.engine import as_table, connect, execute
    from seglab.personas.profiles import SEGMENT_COLUMN, aligned_table, require_engine_columns

    con = connect() if con is None else con
    if isinstance(labels, pd.Series):
        labels = labels.rename("segment").rename_axis("customer_id").reset_index()
    table, segments = as_table(con, features, name="features"), as_table(con, labels, name="segments")
    require_engine_columns(table, ["customer_id", *numeric, *categorical], "features")
    require_engine_columns(segments, ["customer_id", "segment"], "segments")
    joined = aligned_table(con, table, segments)
    counts = execute(con, joined.group_by(SEGMENT_COLUMN).aggregate(n=joined.count())).sort_values(SEGMENT_COLUMN)
    if int(counts["n"].sum()) <= max_rows:  # small enough: the in-memory rules, exactly
        frame, label_frame = _read(con, features, table, [*numeric, *categorical]), _read(con, labels, segments)
        return explain_segments(frame, label_frame[["customer_id", "segment"]], numeric=numeric,
                                categorical=categorical, max_rows=max_rows, **options)
    counter = _InEngine(con, joined, numeric, categorical, counts)
    sample = counter.sample(max_rows, options["random_state"])
    return _explain(sample, sample[SEGMENT_COLUMN].to_numpy(dtype=np.int64), numeric, categorical, counter.medians,
                    counter.integer, counter, **options)


def _read(con, source, table, columns: Sequence[str] = ()) -> pd.DataFrame:
    """A small table in memory, in its file's row order when it is a file."""
    from seglab.features.engine import execute

    wanted = ["customer_id", *columns] if columns else None
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, str | Path):
        return pd.read_parquet(source, columns=wanted)
    return execute(con, table.select(*wanted) if wanted else table)


class _InEngine:
    """Medians, whole-number columns, a seeded sample and rules' counts, in the engine, on
    the aligned feature table (:func:`~seglab.personas.profiles.aligned_table`)."""

    def __init__(self, con, joined, numeric, categorical, counts: pd.DataFrame):
        import ibis

        from seglab.features.engine import execute
        from seglab.personas.profiles import SEGMENT_COLUMN, as_float, median_batch

        self.con, self.joined, self.numeric, self.categorical = con, joined, list(numeric), list(categorical)
        self.counts = counts
        self.segments = [int(s) for s in counts[SEGMENT_COLUMN]]
        self.total = int(counts["n"].sum())
        self.medians, self.integer = {}, []
        if self.numeric:
            values = {f"v{i}": as_float(joined[c]) for i, c in enumerate(self.numeric)}
            aggregates = {}
            for key, v in values.items():
                fraction = (v.isinf() | (v != v.round())).fill_null(False)
                aggregates.update({f"{key}_present": v.count(), f"{key}_fractional": ibis.ifelse(fraction, 1, 0).sum()})
            found = execute(con, joined.aggregate(**aggregates)).iloc[0]
            # an exact median holds every value of its column in memory, which DuckDB cannot
            # spill: a few columns per query (all of them at once ran out of memory at its 1 GB
            # cap on 4.9 M customers)
            keys, batch = list(values), median_batch(con)
            for start in range(0, len(keys), batch):
                chunk = keys[start:start + batch]
                found = pd.concat([found, execute(con, joined.aggregate(
                    **{f"{key}_median": values[key].median() for key in chunk})).iloc[0]])
            for key, col in zip(values, self.numeric, strict=True):
                median = found[f"{key}_median"]
                self.medians[col] = float("nan") if pd.isna(median) else float(median)
                if int(found[f"{key}_present"]) and not int(found[f"{key}_fractional"] or 0):
                    self.integer.append(col)

    def sample(self, size: int, random_state: int) -> pd.DataFrame:
        """``size`` customers, each segment's share of them (largest remainders, as
        :func:`~seglab.cluster.sample_rows`), ranked within their segment by a seeded hash of
        their rule columns' values; in the canonical order of those values."""
        import ibis

        from seglab.cluster.segmenter import canonical_order
        from seglab.features.engine import execute
        from seglab.personas.profiles import SEGMENT_COLUMN

        n = self.counts["n"].to_numpy(dtype=np.int64)
        exact = n * size / self.total
        quota = np.floor(exact).astype(int)
        quota[np.argsort(-(exact - quota), kind="stable")[:size - quota.sum()]] += 1
        columns = [*self.numeric, *self.categorical]
        values = {"seed": ibis.literal(int(random_state), type="int64"),
                  **{f"c{i}": self.joined[col] for i, col in enumerate(columns)}}
        keyed = self.joined.mutate(_key=ibis.struct(values).hash())  # ties (identical values) by the values
        rank = ibis.row_number().over(group_by=keyed[SEGMENT_COLUMN],
                                      order_by=[keyed._key, *[keyed[col] for col in columns]])
        limit = ibis.cases(*[(keyed[SEGMENT_COLUMN] == s, int(q)) for s, q in zip(self.segments, quota, strict=True)],
                           else_=0)
        drawn = keyed.mutate(_rank=rank, _quota=limit)
        drawn = drawn.filter(drawn._rank < drawn._quota).select(*columns, SEGMENT_COLUMN)
        sample = execute(self.con, drawn)
        return sample.iloc[canonical_order(sample[[*columns, SEGMENT_COLUMN]])].reset_index(drop=True)

    def _hit(self, conditions):
        """A rule as an engine expression (missing numbers taken as the median, as
        :func:`evaluate_rule`)."""
        import ibis

        from seglab.personas.profiles import as_float, engine_text

        hit = ibis.literal(True)
        for c in conditions:
            if isinstance(c.value, str):
                same = engine_text(self.joined[c.column]) == c.value
                hit &= same if c.op == "==" else ~same
            else:
                value = as_float(self.joined[c.column])
                fill = self.medians.get(c.column)
                if fill is not None and np.isfinite(fill):
                    value = value.fill_null(fill)
                test = (value <= float(c.value)) if c.op == "<=" else (value > float(c.value))
                hit &= test.fill_null(False)
        return hit

    def count(self, s, paths) -> tuple[list[tuple[int, float, float]], dict]:
        """As :meth:`_InMemory.count`, from one aggregate query."""
        import ibis

        from seglab.features.engine import execute
        from seglab.personas.profiles import SEGMENT_COLUMN

        member = self.joined[SEGMENT_COLUMN] == s
        hits = [self._hit(conditions) for conditions in paths]
        selected = ibis.literal(False)
        aggregates = {}
        for i, hit in enumerate(hits):
            selected |= hit
            aggregates[f"h{i}"] = ibis.ifelse(hit, 1, 0).sum()
            aggregates[f"m{i}"] = ibis.ifelse(hit & member, 1, 0).sum()
        aggregates.update(any=ibis.ifelse(selected, 1, 0).sum(), any_member=ibis.ifelse(selected & member, 1, 0).sum())
        found = {k: int(v or 0) for k, v in execute(self.con, self.joined.aggregate(**aggregates)).iloc[0].items()}
        members = int(self.counts.loc[self.counts[SEGMENT_COLUMN] == s, "n"].sum())
        counted = [(found[f"h{i}"], found[f"m{i}"] / found[f"h{i}"] if found[f"h{i}"] else 0.0,
                    found[f"m{i}"] / members if members else 0.0) for i in range(len(hits))]
        wrong = found["any"] + members - 2 * found["any_member"]
        return counted, {"precision": found["any_member"] / found["any"] if found["any"] else 0.0,
                         "coverage": found["any_member"] / members if members else float("nan"),
                         "fidelity": (self.total - wrong) / self.total}

    def agreement(self, ordered) -> float:
        """As :meth:`_InMemory.agreement`, in the engine."""
        import ibis

        from seglab.features.engine import execute
        from seglab.personas.profiles import SEGMENT_COLUMN

        if ordered:
            predicted = ibis.cases(*[(self._hit(conditions), s) for s, conditions in ordered], else_=-1)
        else:
            predicted = ibis.literal(-1)
        right = ibis.ifelse(predicted == self.joined[SEGMENT_COLUMN], 1, 0).sum()
        found = execute(self.con, self.joined.aggregate(right=right))["right"].iloc[0]
        return int(found or 0) / self.total
