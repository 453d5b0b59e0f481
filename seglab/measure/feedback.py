"""What customers say, per segment: NPS, CSAT, ratings and survey answers, and their topics.

:func:`feedback_by_segment` summarises the canonical feedback table for the run's period
and the period before it:

- **NPS** (answers 0–10): promoters (9–10) minus detractors (0–6), on the usual −100 … 100
  scale, with the adjusted Wald interval, and its **change** since the previous period with
  an interval for the difference (:func:`~seglab.measure.intervals.nps_difference_interval`);
- **CSAT** (answers 1–5): the share satisfied (4 or 5) with Wilson's interval, and the
  mean answer;
- **ratings** and **survey_<question>** answers: the mean with Student's t interval;
- **top topics**: the topics answers mention most in the period, with the share of the
  segment's answers and, among NPS answers, the share of detractors (what unhappy customers
  talk about).

Answers are counted per segment of the customer who gave them (today's segments: a
customer's answers from the previous period count for the segment they are in now, so a
change is the segment's own). The aggregation runs in the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from seglab._validation import check_range, require_columns
from seglab.config import Period
from seglab.measure._period import windows
from seglab.measure.intervals import (mean_interval, nps_difference_interval, nps_interval,
                                      wilson_interval)

__all__ = ["FeedbackResults", "feedback_by_segment", "PROMOTER", "DETRACTOR", "SATISFIED", "ALL_CUSTOMERS"]

PROMOTER, DETRACTOR = 9, 6
"""NPS answers of 9 or more are promoters, 6 or less detractors."""
SATISFIED = 4
"""CSAT answers of 4 or more (on 1–5) count as satisfied."""
ALL_CUSTOMERS = -9
"""The segment number of the all-customers row."""


@dataclass
class FeedbackResults:
    """Feedback per segment (see the module docstring).

    Attributes
    ----------
    scores
        One row per window (``current``, ``previous``), segment (:data:`ALL_CUSTOMERS` for
        everyone) and kind: ``responses``, ``score`` (NPS −100 … 100, CSAT share satisfied,
        else the mean), ``low``, ``high``, ``mean`` (the mean answer), and for NPS
        ``promoters`` and ``detractors``.
    changes
        One row per segment with NPS in both windows: ``change``, ``low``, ``high``
        (points on the −100 … 100 scale).
    topics
        The top topics per segment in the current window: ``segment``, ``topic``,
        ``responses``, ``share`` (of the segment's answers), ``detractor_share`` (of its
        NPS answers with that topic; NaN without any).
    windows
        ``current`` and ``previous`` → period label (previous None when there is none).
    """

    scores: pd.DataFrame
    changes: pd.DataFrame
    topics: pd.DataFrame
    windows: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def score(self, segment: int, kind: str, window: str = "current") -> dict:
        """One segment's score of one kind (empty when it has no answers)."""
        rows = self.scores[(self.scores["segment"] == segment) & (self.scores["kind"] == kind)
                           & (self.scores["window"] == window)]
        return {} if rows.empty else rows.iloc[0].to_dict()

    def change(self, segment: int) -> dict:
        """One segment's NPS change since the previous period (empty when unknown)."""
        rows = self.changes[self.changes["segment"] == segment]
        return {} if rows.empty else rows.iloc[0].to_dict()


def feedback_by_segment(feedback, segments, *, period: str | Period | None = None,
                        names: Mapping[int, str] | None = None, top_topics: int = 3,
                        confidence: float = 0.95, con=None) -> FeedbackResults:
    """NPS, CSAT, ratings and topics per segment, this period and the one before.

    Parameters
    ----------
    feedback
        The canonical feedback table (pandas, a Parquet path or an Ibis table):
        ``customer_id``, ``date``, ``kind``, ``score``; optional ``topic``.
    segments
        A run's segments file (joined by the engine), a frame or an Ibis table with
        ``customer_id`` and ``segment`` (customers in no segment are left out of the
        segment rows, not of the all-customers row).
    period
        The run's period (None or a static period: every answer, no previous period).
    names
        Segment names by number (a ``name`` column is added).
    top_topics
        Topics kept per segment.
    confidence
        Of the intervals.
    con
        An Ibis connection (default: a new in-process DuckDB).

    Examples
    --------
    >>> answers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "kind": "nps",
    ...                         "date": pd.Timestamp("2025-11-02"), "score": [10, 9, 7, 2]})
    >>> seg = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "segment": 0})
    >>> result = feedback_by_segment(answers, seg, period="2025Q4")
    >>> result.score(0, "nps")["score"]
    25.0
    """
    from seglab.features.engine import as_table, connect, execute, membership

    check_range(top_topics, name="top_topics", low=0, integer=True)
    con = connect(con or "duckdb")
    table = as_table(con, feedback, name="feedback")
    require_columns(pd.DataFrame(columns=table.columns), ["customer_id", "date", "kind", "score"],
                    table="feedback")
    current, previous = windows(period)
    seg = membership(con, segments)
    window = ibis.cases(*[(_inside(table.date, w), name) for name, w in (("current", current),
                                                                          ("previous", previous)) if w],
                        else_=None)
    rows = table.filter(table.score.notnull() & table.kind.notnull()).mutate(window=window)
    rows = rows.filter(rows.window.notnull())
    joined = rows.join(seg, rows.customer_id == seg.member, how="left")
    joined = joined.mutate(segment=joined.segment.fill_null(ALL_CUSTOMERS - 1))
    sums = {"responses": joined.count(), "total": joined.score.sum(),
            "squares": (joined.score * joined.score).sum(),
            "promoters": (joined.score >= PROMOTER).sum(), "detractors": (joined.score <= DETRACTOR).sum(),
            "satisfied": (joined.score >= SATISFIED).sum()}
    per_segment = execute(con, joined.group_by(["window", "segment", "kind"]).aggregate(**sums))
    everyone = execute(con, joined.group_by(["window", "kind"]).aggregate(**sums)).assign(segment=ALL_CUSTOMERS)
    counts = pd.concat([per_segment[per_segment["segment"] != ALL_CUSTOMERS - 1], everyone], ignore_index=True)
    scores = _scores(counts, confidence)
    changes = _changes(counts, confidence) if previous is not None else _changes(counts.iloc[:0], confidence)
    topics = _topics(con, joined, top_topics) if "topic" in table.columns and top_topics else \
        pd.DataFrame(columns=["segment", "topic", "responses", "share", "detractor_share"])
    if names:
        label = lambda s: "All customers" if s == ALL_CUSTOMERS else names.get(int(s), f"segment {s}")  # noqa: E731
        for frame in (scores, changes, topics):
            frame.insert(1, "name", frame["segment"].map(label) if len(frame) else pd.Series(dtype="str"))
    return FeedbackResults(scores=scores, changes=changes, topics=topics,
                           windows={"current": current.label, "previous": previous.label if previous else None},
                           settings={"confidence": confidence, "promoter": PROMOTER, "detractor": DETRACTOR,
                                     "satisfied": SATISFIED})


def _inside(dates, window) -> ibis.BooleanValue:
    test = ibis.literal(True)
    if window.start is not None:
        test &= dates >= window.start
    if window.end is not None:
        test &= dates < window.end
    return test


def _scores(counts: pd.DataFrame, confidence: float) -> pd.DataFrame:
    counts = counts.sort_values(["window", "segment", "kind"], kind="stable").reset_index(drop=True)
    n = counts["responses"].to_numpy(dtype="float64")
    mean = counts["total"].to_numpy(dtype="float64") / n
    low, high = mean_interval(n, counts["total"], counts["squares"], confidence)
    score = mean.copy()
    nps = (counts["kind"] == "nps").to_numpy()
    p, d = counts["promoters"].to_numpy(dtype="float64"), counts["detractors"].to_numpy(dtype="float64")
    nps_low, nps_high = nps_interval(p, d, n, confidence)
    score = np.where(nps, (p - d) / n * 100, score)
    low, high = np.where(nps, nps_low * 100, low), np.where(nps, nps_high * 100, high)
    csat = (counts["kind"] == "csat").to_numpy()
    sat = counts["satisfied"].to_numpy(dtype="float64")
    csat_low, csat_high = wilson_interval(sat, n, confidence)
    score = np.where(csat, sat / n, score)
    low, high = np.where(csat, csat_low, low), np.where(csat, csat_high, high)
    out = counts[["window", "segment", "kind", "responses"]].assign(score=score, low=low, high=high, mean=mean)
    out["promoters"] = np.where(nps, p, np.nan)
    out["detractors"] = np.where(nps, d, np.nan)
    return out[["segment", "window", "kind", "responses", "score", "low", "high", "mean", "promoters",
                "detractors"]]


def _changes(counts: pd.DataFrame, confidence: float) -> pd.DataFrame:
    nps = counts[counts["kind"] == "nps"]
    now = nps[nps["window"] == "current"].set_index("segment")
    then = nps[nps["window"] == "previous"].set_index("segment")
    both = now.index.intersection(then.index).sort_values()
    now, then = now.loc[both], then.loc[both]
    low, high = nps_difference_interval(now["promoters"], now["detractors"], now["responses"],
                                        then["promoters"], then["detractors"], then["responses"], confidence)
    change = ((now["promoters"] - now["detractors"]) / now["responses"]
              - (then["promoters"] - then["detractors"]) / then["responses"]) * 100
    return pd.DataFrame({"segment": both.astype("int64"), "change": change.to_numpy(dtype="float64"),
                         "low": np.asarray(low) * 100, "high": np.asarray(high) * 100,
                         "responses": now["responses"].to_numpy(), "responses_previous": then["responses"].to_numpy()})


def _topics(con, joined: ibis.Table, top: int) -> pd.DataFrame:
    from seglab.features.engine import execute

    current = joined.filter((joined.window == "current") & joined.topic.notnull() & (joined.topic != ""))
    is_nps = current.kind == "nps"
    per = execute(con, current.group_by(["segment", "topic"]).aggregate(
        responses=current.count(), nps_answers=is_nps.sum(),
        nps_detractors=(is_nps & (current.score <= DETRACTOR)).sum()))
    everyone = execute(con, current.group_by("topic").aggregate(
        responses=current.count(), nps_answers=is_nps.sum(),
        nps_detractors=(is_nps & (current.score <= DETRACTOR)).sum())).assign(segment=ALL_CUSTOMERS)
    answers = execute(con, joined.filter(joined.window == "current").group_by("segment")
                      .aggregate(answers=lambda t: t.count()))
    per = pd.concat([per[per["segment"] != ALL_CUSTOMERS - 1], everyone], ignore_index=True)
    totals = answers.set_index("segment")["answers"]
    totals.loc[ALL_CUSTOMERS] = float(answers["answers"].sum())
    per["share"] = per["responses"] / per["segment"].map(totals)
    with np.errstate(divide="ignore", invalid="ignore"):
        per["detractor_share"] = np.where(per["nps_answers"] > 0, per["nps_detractors"] / per["nps_answers"], np.nan)
    per = per.sort_values(["segment", "responses", "topic"], ascending=[True, False, True], kind="stable")
    return (per.groupby("segment", sort=True).head(top)[["segment", "topic", "responses", "share", "detractor_share"]]
            .reset_index(drop=True))
