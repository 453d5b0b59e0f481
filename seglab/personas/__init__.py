"""The *personas* stage: segment profiles, traits, names, cards, explaining rules, audiences.

>>> import seglab
>>> personas = seglab.personas.build_personas(feature_set, segmentation)   # doctest: +SKIP
>>> print(personas.to_markdown())                                           # doctest: +SKIP
"""

from seglab.personas.actions import ACTIONS, recommend_actions
from seglab.personas.audiences import CONTROL_SHARE, MIN_AUDIENCE, control_groups, export_audiences
from seglab.personas.cards import PersonaCard, persona_cards
from seglab.personas.facts import SegmentFacts, segment_facts
from seglab.personas.naming import NOUNS, name_segments, read_names
from seglab.personas.period import PeriodFigures, period_figures
from seglab.personas.build import Personas, SegmentFiles, build_personas
from seglab.personas.profiles import SegmentProfiles, align_labels, profile_segments
from seglab.personas.rules import SegmentRules, explain_segments
from seglab.personas.traits import describe_number, distinguishing_traits

__all__ = [
    "build_personas",
    "Personas",
    "SegmentFiles",
    "profile_segments",
    "SegmentProfiles",
    "align_labels",
    "distinguishing_traits",
    "describe_number",
    "name_segments",
    "read_names",
    "NOUNS",
    "recommend_actions",
    "ACTIONS",
    "persona_cards",
    "PersonaCard",
    "explain_segments",
    "SegmentRules",
    "export_audiences",
    "control_groups",
    "MIN_AUDIENCE",
    "CONTROL_SHARE",
    "period_figures",
    "PeriodFigures",
    "segment_facts",
    "SegmentFacts",
]
