"""``build_personas``: from segments to named, explained, actionable personas (the *personas* stage).

What the run folder keeps of them (:mod:`seglab.run`): the persona cards, the period's
own figures (``period_figures``), the look-back window in words (``window``) and the
all-segment SQL (:meth:`Personas.to_dict`, schema in the README), the same readable
(:meth:`Personas.to_markdown`), the segment profiles and traits
(:meth:`Personas.profiles_dict`), the ``CASE`` expression assigning customers to segments
in SQL, and the audience files (:mod:`seglab.personas.audiences`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from seglab.cluster.columns import SegmentationColumns
from seglab.personas.actions import recommend_actions
from seglab.personas.audiences import CONTROL_SHARE, MIN_AUDIENCE, export_audiences, has_email_hashes
from seglab.personas.cards import PersonaCard, persona_cards
from seglab.personas.facts import segment_facts
from seglab.personas.naming import name_segments
from seglab.personas.period import PeriodFigures
from seglab.personas.profiles import SegmentProfiles, profile_segments
from seglab.personas.rules import SegmentRules, explain_segments
from seglab.personas.traits import distinguishing_traits
from seglab.personas.wording import window_text

__all__ = ["Personas", "SegmentFiles", "build_personas"]


@dataclass(frozen=True)
class SegmentFiles:
    """A run's customers as files, for the engine: the feature table, the segments (one
    row per customer with ``customer_id`` and ``segment``) and the feature dictionary.
    Made by :meth:`seglab.run.RunFolder.segment_files`; :func:`build_personas` then
    profiles the segments and counts the rules' customers in the engine and reads only
    summaries and a sample (see :func:`~seglab.personas.profile_segments` and
    :func:`~seglab.personas.explain_segments`)."""

    features: Path
    segments: Path
    dictionary: object | None = None


@dataclass
class Personas:
    """The output of *personas*: profiles, traits, names, cards, rules; the period's own
    figures and the feature dictionary (for labels and units) when there are."""

    profiles: SegmentProfiles
    traits: pd.DataFrame
    names: dict[int, str]
    cards: list[PersonaCard]
    rules: SegmentRules | None = None
    meta: dict = field(default_factory=dict)
    audiences: dict | None = None
    period: PeriodFigures | None = None
    dictionary: object | None = None

    def card(self, segment: int) -> PersonaCard:
        for c in self.cards:
            if c.segment == segment:
                return c
        raise KeyError(segment)

    def to_markdown(self) -> str:
        head = [f"# Personas: {self.meta.get('dataset', '')}, {self.meta.get('period', '')}", ""]
        return "\n".join(head + [c.to_markdown() for c in self.cards])

    def to_dict(self) -> dict:
        return {**self.meta, "period_figures": self.period.to_dict() if self.period is not None else None,
                "segments": [c.to_dict() for c in self.cards],
                "assignment_sql": self.rules.assignment_sql if self.rules else None,
                "assignment_fidelity": self.rules.assignment_fidelity if self.rules
                else self.meta.get("assignment_fidelity")}

    def export(self, folder: str | Path, segments, *, customers=None, min_size: int = MIN_AUDIENCE,
               control_share: float = CONTROL_SHARE, control_seed: int = 0, con=None) -> dict:
        """Write the audience files into ``folder`` (each segment with its control group, see
        :func:`~seglab.personas.audiences.export_audiences`: ``segments`` and ``customers``
        may be the run's files, which the engine ``con`` reads) and remember the manifest."""
        self.audiences = export_audiences(segments, folder, names=self.names, customers=customers,
                                          min_size=min_size, as_of=self.meta.get("as_of"),
                                          control_share=control_share, control_seed=control_seed, con=con)
        return self.audiences

    def profiles_dict(self) -> dict:
        """The segment profiles (overview, numeric and categorical tables) and the traits."""
        return {"revenue": self.profiles.revenue,
                "overview": self.profiles.overview.reset_index().to_dict(orient="records"),
                "numeric": self.profiles.numeric.to_dict(orient="records"),
                "categorical": self.profiles.categorical.to_dict(orient="records"),
                "traits": self.traits.to_dict(orient="records")}

    @classmethod
    def from_dicts(cls, personas: dict, profiles: dict, *, dictionary=None, audiences: dict | None = None) -> Personas:
        """The personas described by :meth:`to_dict` and :meth:`profiles_dict` (without the
        rules' decision trees, which are not kept)."""
        overview = pd.DataFrame(profiles["overview"]).set_index("segment")
        prof = SegmentProfiles(overview=overview, numeric=pd.DataFrame(profiles["numeric"]),
                               categorical=pd.DataFrame(profiles["categorical"]), revenue=profiles.get("revenue"))
        cards = [PersonaCard(**c) for c in personas["segments"]]
        meta = {k: v for k, v in personas.items() if k not in ("segments", "assignment_sql", "period_figures")}
        return cls(dictionary=dictionary, profiles=prof, traits=pd.DataFrame(profiles["traits"]),
                   names={c.segment: c.name for c in cards}, cards=cards, rules=None, meta=meta,
                   audiences=audiences, period=PeriodFigures.from_dict(personas.get("period_figures")))


def build_personas(features, segmentation, *, names: Mapping[int, str] | None = None,
                   previous: Mapping[int, str] | None = None, top_traits: int = 5, rules_depth: int = 3,
                   min_audience: int = MIN_AUDIENCE, explain: bool = True, meta: dict | None = None,
                   period: PeriodFigures | None = None, customers: pd.DataFrame | None = None,
                   con=None) -> Personas:
    """Profile, describe, name and explain every segment.

    Parameters
    ----------
    features
        A :class:`~seglab.features.FeatureSet` (or a feature table), in memory; or a run's
        :class:`SegmentFiles` (:meth:`seglab.run.RunFolder.segment_files`): then the
        profiles are engine aggregations and the explaining rules are grown on a seeded
        sample of at most 100,000 customers (all of them up to that many, so the same
        personas as in memory), their customers counted by the engine; the feature table
        is never read whole.
    segmentation
        A :class:`~seglab.cluster.Segmentation` (or a frame with ``customer_id`` and ``segment``).
    names
        The analyst's names by segment number (they win).
    previous
        Last period's names by segment number (they carry over to aligned segments), e.g.
        :meth:`seglab.run.RunFolder.persona_names` of last period's run.
    top_traits, rules_depth
        Traits per segment; conditions per rule at most.
    min_audience
        Segments smaller than this are flagged (and not exported).
    explain
        Fit the explaining rules (needs a Segmentation, which says what was segmented on);
        False skips them, for quick previews.
    meta
        Facts about the run kept with the personas (dataset, period, as of, currency).
    period
        The period's own figures (:func:`~seglab.personas.period.period_figures`): they
        go into the cards' KPIs and summaries and decide the trend in the actions.
    customers
        The canonical customer table: its file (:meth:`seglab.run.RunFolder.contact_file`,
        looked at by the engine) or a frame with ``customer_id`` and ``email_sha256``.
        E-mail hashes there make email and matched paid-social audiences available channels.
    con
        The Ibis connection for :class:`SegmentFiles` (default: an in-process DuckDB);
        not used for features in memory.
    """
    dictionary = getattr(features, "dictionary", None)
    if isinstance(features, SegmentFiles):  # summaries and a sample come back from the engine
        table, labels = features.features, features.segments
    else:
        table, con = getattr(features, "features", features), None
        labels = getattr(segmentation, "segments", segmentation)[["customer_id", "segment"]]
    profiles = profile_segments(table, labels, con=con)
    traits = distinguishing_traits(profiles, dictionary, top=top_traits)
    facts = segment_facts(profiles, period)
    carried = {}
    alignment = getattr(segmentation, "alignment", None)
    if previous and alignment is not None:  # only segments matched to last period keep its name
        matched = alignment.table.dropna(subset=["previous_segment"])
        carried = {int(a): previous[int(a)] for a in matched["aligned_segment"] if int(a) in previous}
    segment_names = name_segments(profiles, overrides=names, previous=carried, dictionary=dictionary, facts=facts)
    contacts = {"email", "email_sha256"} if has_email_hashes(customers, con) else set()
    actions = recommend_actions(profiles, facts=facts, dictionary=dictionary, period=period, contacts=contacts)
    columns = getattr(segmentation, "columns", None)
    currency = dictionary.meta.get("currency", "") if dictionary is not None else ""
    rules = None
    if explain and isinstance(columns, SegmentationColumns):  # a plain frame's .columns is its Index
        rules = explain_segments(table, labels, numeric=list(columns.numeric), categorical=list(columns.categorical),
                                 names=segment_names, max_depth=rules_depth, dictionary=dictionary,
                                 currency=currency, con=con)
    cards = persona_cards(profiles, traits, segment_names, actions, rules=rules, currency=currency,
                          min_audience=min_audience, dictionary=dictionary, period=period, facts=facts)
    dmeta = dictionary.meta if dictionary is not None else {}
    info = {"currency": currency, "as_of": dmeta.get("as_of"),
            "window": {"lookback_days": dmeta.get("lookback_days"),
                       "text": window_text(dmeta.get("lookback_days"), dmeta.get("as_of"))},
            **(meta or {})}
    return Personas(profiles=profiles, traits=traits, names=segment_names, cards=cards, rules=rules, meta=info,
                    period=period, dictionary=dictionary)
