"""``measure_run``: everything the report's "Did it work?" section shows, from the run folder.

The report stage calls it before rendering. It reads the canonical campaigns and feedback
tables (collect), the segments (cluster) and the persona names and actions (personas),
measures every campaign sent up to the snapshot (:func:`~seglab.measure.measure_campaigns`),
flags actions for review (:func:`~seglab.measure.review_actions`), summarises feedback for
the period and the one before (:func:`~seglab.measure.feedback_by_segment`) and, for
campaigns without a control group, response rates (:func:`~seglab.measure.response_rates`).

**Which segment a campaign customer counts in.** A campaign goes to last period's
audiences, and a campaign can move a customer to another segment (that is what a win-back
is for): counting customers in their segment *after* the campaign would mix its effect into
the groups. So when last period's run exists, customers count in the segment they were in
then (segments keep their numbers from quarter to quarter); customers new since then, and
every customer when there is no earlier run, count in today's segment.
``segments_from`` says which.

The runs are read through their typed readers (:class:`seglab.run.RunFolder`), passed in;
the run folder keeps the result (:meth:`seglab.run.RunFolder.write_measurement`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from seglab._io import to_jsonable
from seglab.measure.campaigns import MEANINGFUL_LIFT, CampaignResults, measure_campaigns, review_actions
from seglab.measure.feedback import FeedbackResults, feedback_by_segment
from seglab.measure.responses import response_rates

if TYPE_CHECKING:  # the run folder sits above the stages: passed in, never imported
    from seglab.run import RunFolder

__all__ = ["Measurement", "measure_run"]

logger = logging.getLogger(__name__)


@dataclass
class Measurement:
    """The measurement of one run (see the module docstring). The run folder keeps it
    (:meth:`seglab.run.RunFolder.write_measurement`, :meth:`~seglab.run.RunFolder.measurement`).

    Attributes
    ----------
    campaigns
        Campaign results, or None when the dataset has no campaigns table.
    reviews
        Actions flagged for review (:func:`~seglab.measure.review_actions`).
    feedback
        Feedback per segment, or None when the dataset has no feedback table.
    responses
        Response rates of campaigns without a control group, or None.
    response_labels
        A readable label for each response column.
    names
        Segment names by number.
    segments_from
        Which segmentation campaign customers were counted in, in words.
    notes
        What the measurement left out and why.
    """

    dataset: str
    period: str
    campaigns: CampaignResults | None = None
    reviews: pd.DataFrame = field(default_factory=pd.DataFrame)
    feedback: FeedbackResults | None = None
    responses: pd.DataFrame | None = None
    response_labels: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)
    segments_from: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        """True when there is anything measured (campaigns, feedback or response rates)."""
        return self.campaigns is not None or self.feedback is not None or self.responses is not None

    def to_dicts(self) -> tuple[dict, dict]:
        """Two JSON-ready dicts: the campaign results (``dataset``, ``period``,
        ``segments_from``, ``names``, ``settings``, ``notes``, ``campaigns``, ``cells``,
        ``reviews``, ``responses``) and the feedback results (``dataset``, ``period``,
        ``windows``, ``settings``, ``scores``, ``changes``, ``topics``)."""
        c = self.campaigns
        campaign = {
            "dataset": self.dataset, "period": self.period, "segments_from": self.segments_from,
            "names": {str(k): v for k, v in self.names.items()},
            "settings": c.settings if c is not None else {}, "notes": list(self.notes) + (c.notes if c else []),
            "campaigns": _records(c.campaigns) if c is not None else None,
            "cells": _records(c.cells) if c is not None else None,
            "reviews": _records(self.reviews),
            "responses": None if self.responses is None else {"labels": self.response_labels,
                                                              "rates": _records(self.responses)}}
        f = self.feedback
        feedback = {"dataset": self.dataset, "period": self.period,
                    "windows": f.windows if f is not None else None, "settings": f.settings if f else {},
                    "scores": _records(f.scores) if f is not None else None,
                    "changes": _records(f.changes) if f is not None else None,
                    "topics": _records(f.topics) if f is not None else None}
        return to_jsonable(campaign), to_jsonable(feedback)

    @classmethod
    def from_dicts(cls, campaign: dict, feedback: dict) -> Measurement:
        """The measurement :meth:`to_dicts` wrote."""
        results = None
        if campaign.get("cells") is not None:
            campaigns = pd.DataFrame(campaign["campaigns"])
            for col in ("first_sent", "last_sent"):
                if col in campaigns:
                    campaigns[col] = pd.to_datetime(campaigns[col])
            results = CampaignResults(cells=pd.DataFrame(campaign["cells"]), campaigns=campaigns,
                                      settings=campaign.get("settings", {}))
        fb = None
        if feedback.get("scores") is not None:
            fb = FeedbackResults(scores=pd.DataFrame(feedback["scores"]), changes=pd.DataFrame(feedback["changes"]),
                                 topics=pd.DataFrame(feedback["topics"]), windows=feedback.get("windows") or {},
                                 settings=feedback.get("settings") or {})
        responses = campaign.get("responses")
        return cls(dataset=campaign.get("dataset", ""), period=campaign.get("period", ""), campaigns=results,
                   reviews=pd.DataFrame(campaign.get("reviews") or [],
                                        columns=["segment", "action", "reason", "campaigns", "note"]),
                   feedback=fb, responses=pd.DataFrame(responses["rates"]) if responses else None,
                   response_labels=(responses or {}).get("labels", {}),
                   names={int(k): v for k, v in (campaign.get("names") or {}).items()},
                   segments_from=campaign.get("segments_from", ""), notes=list(campaign.get("notes") or []))

    def table(self) -> pd.DataFrame:
        """The period's campaign × segment cells, readable: counts, rates, lift, verdict."""
        if self.campaigns is None:
            return pd.DataFrame()
        cells = self.campaigns.in_period()
        columns = [c for c in ("campaign_id", "name", "segment", "action", "treated", "control", "rate_treated",
                               "rate_control", "lift", "lift_low", "lift_high", "revenue_lift", "verdict")
                   if c in cells]
        return cells[columns].reset_index(drop=True)


def _records(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None:
        return []
    return frame.to_dict(orient="records")


def measure_run(run: RunFolder, previous: RunFolder | None = None, *, confidence: float = 0.95,
                power: float = 0.8, meaningful_lift: float = MEANINGFUL_LIFT, n_resamples: int = 2000,
                seed: int = 0) -> Measurement:
    """Measure a run's campaigns, feedback and campaign responses, per segment.

    Parameters
    ----------
    run
        The run folder (collect, cluster and personas done).
    previous
        Last period's run folder, when it exists (:meth:`seglab.run.RunFolder.previous`): its
        segments say where campaign customers were when the campaigns went out, and its
        actions are the actions campaigns without an ``action`` carried out.
    confidence, power, meaningful_lift, n_resamples, seed
        See :func:`~seglab.measure.measure_campaigns`.

    Returns
    -------
    Measurement
    """
    from seglab.features.engine import connect, membership

    info = run.info()
    segments = run.require("segments")  # joined by the engine: pandas never holds every customer
    names, period = run.persona_names(), info["period"]
    out = Measurement(dataset=info["dataset"], period=period, names=names)
    con = connect()
    campaigns = run.campaigns()
    if campaigns is not None:
        actions, when, segments_then = run.persona_actions(), "this period's segments", segments
        if previous is not None and previous.has("segments"):
            actions = previous.persona_actions() or actions
            when = (f"the segments of {previous.info()['period']}, when the campaigns went out (today's for "
                    "customers new since)")
            now = membership(con, segments, id_name="customer_id")
            before = membership(con, previous.file("segments"), id_name="customer_id")
            kept = before.filter(before.segment >= 0)
            segments_then = kept.union(now.anti_join(kept, "customer_id"))
        out.segments_from = when
        out.campaigns = measure_campaigns(campaigns, segments_then, names=names, actions=actions,
                                          period=period, confidence=confidence, power=power,
                                          meaningful_lift=meaningful_lift, n_resamples=n_resamples, seed=seed,
                                          con=con)
        out.reviews = review_actions(out.campaigns)
    feedback = run.feedback()
    if feedback is not None:
        out.feedback = feedback_by_segment(feedback, segments, period=period, names=names, confidence=confidence,
                                           con=con)
    columns = run.response_columns()
    if columns:  # answers recorded as customer columns are joined in pandas
        out.responses = response_rates(run.responses(), run.segments()[["customer_id", "segment"]], columns,
                                       names=names, confidence=confidence)
        out.response_labels = _labels(run.dictionary(), columns)
    if not out.available:
        out.notes.append("the dataset has no campaigns or feedback table, nor campaign-response columns")
    logger.info("measured %s %s: %s", out.dataset, period,
                ", ".join(k for k, v in (("campaigns", out.campaigns), ("feedback", out.feedback),
                                         ("responses", out.responses)) if v is not None) or "nothing")
    return out


def _labels(dictionary, columns: list[str]) -> dict[str, str]:
    """Readable names of the response columns (the feature dictionary's labels)."""
    from seglab.personas.wording import capitalize, feature_label

    return {c: capitalize(feature_label(c, dictionary)) for c in columns}
