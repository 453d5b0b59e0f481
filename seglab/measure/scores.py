"""Response rate and NPS of any segmentation, fast enough for the explorer.

:class:`Outcomes` adds up, once, what each customer did and said: campaign sends and
conversions (treated and control apart), answers to campaigns without a control group, NPS
and CSAT answers in the period. Scoring a segmentation (:func:`segment_scores`) is then one
join and one group-by over customers, so the explorer's persona cards show every segment's
response rate and NPS whatever k is chosen (:func:`attach_scores`).

The response rate is the share of *contacted* (treated) customers who converted, beside
the control group's rate when there is one; campaigns without a control group give a
response rate only, which is never a lift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seglab.measure._period import windows
from seglab.measure.feedback import DETRACTOR, PROMOTER, SATISFIED

__all__ = ["Outcomes", "segment_scores", "score_lines", "attach_scores"]

_COLUMNS = ("treated", "treated_converted", "control", "control_converted", "answered", "responded",
            "nps_answers", "promoters", "detractors", "csat_answers", "satisfied")


@dataclass
class Outcomes:
    """Per-customer campaign and feedback facts (see the module docstring).

    Attributes
    ----------
    per_customer
        ``customer_id`` and, per customer: ``treated`` / ``treated_converted`` (campaign
        sends in a treatment group, and how many converted), ``control`` /
        ``control_converted``, ``answered`` / ``responded`` (campaigns without a control
        group: answers recorded, and positive ones), ``nps_answers``, ``promoters``,
        ``detractors``, ``csat_answers``, ``satisfied`` (in the period).
    campaigns
        Campaigns with a control group counted.
    response_columns
        The columns of campaigns without a control group.
    feedback_window
        The period the NPS and CSAT answers come from.
    """

    per_customer: pd.DataFrame
    campaigns: int = 0
    response_columns: list[str] = field(default_factory=list)
    feedback_window: str = ""

    @classmethod
    def from_tables(cls, *, campaigns: pd.DataFrame | None = None, feedback: pd.DataFrame | None = None,
                    customers: pd.DataFrame | None = None, responses=(), period: str | None = None) -> Outcomes:
        """Add up the canonical tables per customer (any of them may be None)."""
        parts = []
        n_campaigns = 0
        if campaigns is not None and len(campaigns):
            known = campaigns[campaigns["group"].isin(["treatment", "control"]) & campaigns["converted"].notna()]
            n_campaigns = int(known["campaign_id"].nunique())
            converted = known["converted"].astype("bool").astype("int64")
            for group, name in (("treatment", "treated"), ("control", "control")):
                mine = (known["group"] == group).to_numpy()
                sends = pd.DataFrame({"customer_id": known["customer_id"].to_numpy()[mine],
                                      name: 1, f"{name}_converted": converted.to_numpy()[mine]})
                parts.append(sends.groupby("customer_id").sum())
        responses = [c for c in responses if customers is not None and c in customers]
        if responses:
            values = customers[list(responses)].apply(pd.to_numeric, errors="coerce")
            parts.append(pd.DataFrame({"answered": values.notna().sum(axis=1).to_numpy(),
                                       "responded": values.fillna(0).sum(axis=1).to_numpy()},
                                      index=pd.Index(customers["customer_id"], name="customer_id")))
        label = ""
        if feedback is not None and len(feedback):
            current, _ = windows(period)
            recent = feedback[current.holds(feedback["date"])]
            label = current.label
            if recent.empty:  # nothing in the period: every answer, said so
                recent, label = feedback, "all answers"
            score, kind = recent["score"].to_numpy(), recent["kind"].to_numpy()
            nps, csat = kind == "nps", kind == "csat"
            answers = pd.DataFrame({"customer_id": recent["customer_id"].to_numpy(),
                                    "nps_answers": nps.astype(int), "promoters": (nps & (score >= PROMOTER)).astype(int),
                                    "detractors": (nps & (score <= DETRACTOR)).astype(int),
                                    "csat_answers": csat.astype(int),
                                    "satisfied": (csat & (score >= SATISFIED)).astype(int)})
            parts.append(answers.groupby("customer_id").sum())
        per = pd.concat(parts, axis=1).fillna(0) if parts else pd.DataFrame(columns=list(_COLUMNS))
        per = per.reindex(columns=list(_COLUMNS), fill_value=0).astype("float64")
        return cls(per_customer=per.rename_axis("customer_id").reset_index(), campaigns=n_campaigns,
                   response_columns=list(responses), feedback_window=label)

    @property
    def empty(self) -> bool:
        return self.per_customer.empty


def segment_scores(segments: pd.DataFrame, outcomes: Outcomes) -> pd.DataFrame:
    """Per segment: ``response_rate`` (treated customers' conversion), ``control_rate``,
    ``contacted``, ``any_response`` (campaigns without a control group), ``nps`` (−100 … 100),
    ``nps_answers``, ``csat`` (share satisfied) and ``csat_answers``."""
    per = segments[["customer_id", "segment"]].merge(outcomes.per_customer, on="customer_id", how="left")
    sums = per.groupby("segment", sort=True)[list(_COLUMNS)].sum(min_count=1).fillna(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame({
            "contacted": sums["treated"],
            "response_rate": sums["treated_converted"] / sums["treated"],
            "control_rate": sums["control_converted"] / sums["control"],
            "any_response": sums["responded"] / sums["answered"],
            "nps": (sums["promoters"] - sums["detractors"]) / sums["nps_answers"] * 100,
            "nps_answers": sums["nps_answers"],
            "csat": sums["satisfied"] / sums["csat_answers"],
            "csat_answers": sums["csat_answers"]})
    return out.replace([np.inf, -np.inf], np.nan)


def score_lines(row: pd.Series, outcomes: Outcomes) -> list[str]:
    """The card's "Response and feedback" lines for one segment's :func:`segment_scores` row."""
    lines = []
    if row.get("contacted", 0) > 0:
        control = (f", {row['control_rate']:.0%} of their control groups" if pd.notna(row.get("control_rate"))
                   else "")
        lines.append(f"campaign response: {row['response_rate']:.0%} of contacted customers converted{control} "
                     f"({outcomes.campaigns} campaign{'s' if outcomes.campaigns != 1 else ''}; the report measures "
                     "each campaign's lift)")
    if pd.notna(row.get("any_response")):
        n = len(outcomes.response_columns)
        lines.append(f"answered at least one of {n} campaign{'s' if n != 1 else ''}: {row['any_response']:.0%} "
                     "(a response rate: sent to everyone, without a control group, so not a lift)")
    if row.get("nps_answers", 0) > 0:
        nps = f"{row['nps']:+.0f}".replace("-", "−")
        lines.append(f"NPS {nps} ({row['nps_answers']:,.0f} answers, {outcomes.feedback_window})")
    if row.get("csat_answers", 0) > 0:
        lines.append(f"satisfied (CSAT 4–5): {row['csat']:.0%} ({row['csat_answers']:,.0f} answers)")
    return lines


def attach_scores(personas, segments: pd.DataFrame, outcomes: Outcomes | None) -> None:
    """Put each segment's response rate and NPS on its persona card (``card.scores``)."""
    if outcomes is None or outcomes.empty:
        return
    scores = segment_scores(segments, outcomes)
    for card in personas.cards:
        if card.segment in scores.index:
            card.scores = score_lines(scores.loc[card.segment], outcomes)
