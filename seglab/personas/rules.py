"""Rules that explain segment membership, from shallow surrogate decision trees.

For each segment a depth-limited tree learns "in this segment or not" (one-vs-rest) from
the segmentation features in their original units; the paths to its "in" leaves become
plain rules such as ``recency_days ≤ 45 and orders > 6``. Thresholds are rounded to three
significant digits for reading, and every figure is computed by evaluating the rules *as
written*:

- **precision**: of the customers the rules select, the share in the segment;
- **coverage**: of the segment's customers, the share the rules select;
- **fidelity**: the share of all customers the rules classify correctly (in or out).

A multi-class tree gives one rule set for all segments at once, written as a SQL ``CASE``
expression (:attr:`SegmentRules.assignment_sql`) with its own fidelity: the agreement of
the SQL's segment with the actual one. Missing values are filled with the median, which
the SQL does with ``COALESCE``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from seglab._validation import check_range
from seglab.personas.profiles import align_labels

__all__ = ["SegmentRules", "explain_segments", "Condition", "evaluate_rule"]


@dataclass(frozen=True)
class Condition:
    """One test: a numeric column against a threshold, or a category equal to / not a value."""

    column: str
    op: str  # "<=", ">", "==", "!="
    value: float | str

    def text(self) -> str:
        symbol = {"<=": "≤", ">": ">", "==": "=", "!=": "≠"}[self.op]
        value = self.value if isinstance(self.value, str) else _fmt(self.value)
        return f"{self.column} {symbol} {value}"

    def sql(self, medians: Mapping[str, float]) -> str:
        column = f'"{self.column}"'
        if isinstance(self.value, str):
            quoted = self.value.replace("'", "''")
            op = "=" if self.op == "==" else "<>"
            return f"{column} {op} '{quoted}'"
        fill = medians.get(self.column)
        subject = f"COALESCE({column}, {_fmt(fill)})" if fill is not None and np.isfinite(fill) else column
        return f"{subject} {self.op} {_fmt(self.value)}"


def _fmt(value: float) -> str:
    return f"{float(value):.3g}" if abs(value) < 1e4 else f"{float(value):.0f}"


def _round(value: float) -> float:
    return float(f"{value:.3g}") if abs(value) < 1e4 else float(round(value))


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

    ``rules``: one row per rule (``segment``, ``rule``, ``customers`` selected, ``precision``,
    ``coverage``). ``summary``: one row per segment (``precision``, ``coverage``,
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
    """Conditions along the path to every leaf that predicts ``target_class``."""
    t = tree.tree_
    found = []

    def walk(node: int, path: list[Condition]):
        if t.children_left[node] == -1:
            if int(np.argmax(t.value[node][0])) == target_class:
                found.append(path)
            return
        feature, threshold = features[t.feature[node]], t.threshold[node]
        if isinstance(feature, tuple):  # a one-hot category: ≤ 0.5 means "not this value"
            col, level = feature
            walk(t.children_left[node], path + [Condition(col, "!=", level)])
            walk(t.children_right[node], path + [Condition(col, "==", level)])
        else:
            cut = _round(threshold)
            walk(t.children_left[node], path + [Condition(feature, "<=", cut)])
            walk(t.children_right[node], path + [Condition(feature, ">", cut)])

    walk(0, [])
    return [_simplify(p) for p in found]


def _simplify(path: list[Condition]) -> list[Condition]:
    """Keep the tightest bound per column and direction; keep category tests as they are."""
    upper, lower, other = {}, {}, []
    for c in path:
        if c.op == "<=":
            upper[c.column] = min(upper.get(c.column, np.inf), c.value)
        elif c.op == ">":
            lower[c.column] = max(lower.get(c.column, -np.inf), c.value)
        elif c not in other:
            other.append(c)
    out = [Condition(col, ">", v) for col, v in lower.items()] + [Condition(col, "<=", v) for col, v in upper.items()]
    return sorted(out, key=lambda c: (c.column, c.op)) + other


def explain_segments(features: pd.DataFrame, labels, *, numeric: Sequence[str], categorical: Sequence[str] = (),
                     names: Mapping[int, str] | None = None, max_depth: int = 3, min_leaf_share: float = 0.01,
                     random_state: int = 0) -> SegmentRules:
    """Rules for each segment (one-vs-rest trees) and a SQL ``CASE`` for all of them.

    Parameters
    ----------
    features
        One row per customer, with the columns the rules may use.
    labels
        Segment by customer (see :func:`~seglab.personas.profiles.align_labels`).
    numeric, categorical
        The columns the rules may test (usually the segmentation's).
    max_depth
        Depth of the trees: at most this many conditions per rule.
    min_leaf_share
        Smallest leaf, as a share of the customers (no rule about a handful of customers).
    """
    check_range(max_depth, name="max_depth", low=1, high=6, integer=True)
    segment = align_labels(features, labels).to_numpy()
    medians = {c: float(pd.to_numeric(features[c], errors="coerce").median()) for c in numeric}
    X, encoded = _encode(features, numeric, categorical, medians)
    leaf = max(5, int(min_leaf_share * len(features)))
    rules, summary = [], []
    for s in sorted(set(segment.tolist())):
        member = segment == s
        tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf, class_weight="balanced",
                                      random_state=random_state).fit(X, member)
        selected_any = np.zeros(len(member), dtype=bool)
        classes = list(tree.classes_)
        paths = _paths(tree, encoded, classes.index(True)) if True in classes else []
        for conditions in paths:
            hit = evaluate_rule(features, conditions, medians)
            selected_any |= hit
            rules.append({"segment": int(s), "rule": " and ".join(c.text() for c in conditions) or "(everyone)",
                          "customers": int(hit.sum()),
                          "precision": float(member[hit].mean()) if hit.any() else 0.0,
                          "coverage": float(hit[member].mean()) if member.any() else 0.0,
                          "conditions": conditions})
        summary.append({"segment": int(s), "name": (names or {}).get(int(s), f"segment {s}"), "rules": len(paths),
                        "precision": float(member[selected_any].mean()) if selected_any.any() else 0.0,
                        "coverage": float(selected_any[member].mean()),
                        "fidelity": float((selected_any == member).mean())})
    sql, fidelity = _assignment(features, X, encoded, segment, medians, max_depth + 1, leaf, random_state)
    return SegmentRules(rules=pd.DataFrame(rules), summary=pd.DataFrame(summary), assignment_sql=sql,
                        assignment_fidelity=fidelity, medians=medians)


def _assignment(features, X, encoded, segment, medians, depth, leaf, random_state) -> tuple[str, float]:
    """A multi-class tree as one SQL CASE, and the agreement of its (rounded) rules with the segments."""
    tree = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=leaf, random_state=random_state).fit(X, segment)
    predicted = np.full(len(segment), -1, dtype=np.int64)
    whens = []
    for index, s in enumerate(tree.classes_):
        for conditions in _paths(tree, encoded, index):
            hit = evaluate_rule(features, conditions, medians) & (predicted == -1)
            predicted[hit] = s
            test = " AND ".join(c.sql(medians) for c in conditions) or "TRUE"
            whens.append(f"  WHEN {test} THEN {int(s)}")
    sql = "CASE\n" + "\n".join(whens) + "\n  ELSE -1\nEND AS segment"
    return sql, float((predicted == segment).mean())
