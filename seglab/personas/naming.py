"""Persona names from contrast: what sets a segment apart from the *other* segments.

A name is made of a lead word and a noun phrase, each decided by a documented rule
(:mod:`seglab.personas.facts` computes the facts, :mod:`seglab.personas.wording` holds
the words):

1. **Lapsed** segments (mostly lapsed or churned) are named by their past: "Lapsed former
   top spenders" when their past spend per customer ranks first of all segments,
   "Lapsed former big spenders" in the upper half, else "Lapsed" and their strongest
   trait's noun ("Lapsed occasional buyers").
2. **At-risk** and **new** segments: "At-risk" or "New" and their strongest trait's noun.
3. Other segments of data with a value measure from transactions (CLV or net revenue):
   the **value tier** within this segmentation ("Top-value", "Mid-value", "Low-value";
   "Higher-value"/"Lower-value" for two tiers) and the noun of the strongest trait that
   is not value itself ("Top-value frequent buyers", "Mid-value heavy returners").
4. Customer tables whose value measure is a spend or a spending score: the adjective of
   the strongest other trait and a spender noun from the tier ("High-income cautious
   spenders", "Young big spenders").

Traits are ranked by contrast (the segment's mean against all *other* customers, in
standard deviations); value, status and model outputs (probability alive, CLV) never
make the noun. Names are unique and differ in their first two words wherever the traits
allow: each segment takes the first of its candidate names (tier + noun, tier +
adjective + noun, …) whose first two words no other segment uses yet; never a number.
Names the analyst supplies (``overrides``, e.g. from a YAML file) win; names of last
period's personas carry over to the aligned segments (same number), so that names follow
segments from quarter to quarter.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import yaml

from seglab._io import load_yaml

from seglab.exceptions import InputError, ParameterError
from seglab.personas.facts import PAST_VALUE_COLUMNS, VALUE_COLUMNS, SegmentFacts, segment_facts
from seglab.personas.profiles import SegmentProfiles
from seglab.personas.traits import REDUNDANT
from seglab.personas.wording import VOCABULARY, capitalize, words_for

__all__ = ["name_segments", "read_names", "NOUNS", "VALUE_COLUMNS", "NOT_IN_NAMES", "name_candidates"]

NOT_IN_NAMES = frozenset({"prob_alive", "expected_purchases", "expected_spend", "clv",
                          "tenure_days", "days_since_signup", "days_since_last_event", "journey_stage",
                          "rfm_segment", "returned_amount", "marketing_consent", *REDUNDANT})
"""Features that never give a name its noun: model outputs and status (said by the lead word)."""

TIER_WORDS = {3: {"top": "Top-value", "mid": "Mid-value", "low": "Low-value"},
              2: {"top": "Higher-value", "low": "Lower-value"}}
SPENDER_NOUNS = {"spending_score": {"top": "big spenders", "mid": "moderate spenders", "low": "cautious spenders"},
                 "total_spend": {"top": "big spenders", "mid": "moderate spenders", "low": "light spenders"}}
GENERIC_NOUNS = ("mainstream customers", "typical customers", "everyday customers", "core customers",
                 "steady customers", "regular customers")
_TRANSACTION_VALUE = ("clv", "net_revenue")


def _phrases(profiles: SegmentProfiles, segment: int, facts: SegmentFacts, dictionary,
             min_contrast: float = 0.3) -> list[tuple[str, str, str]]:
    """(feature, adjective, noun) of the segment's traits that have words, strongest first."""
    skip = set(NOT_IN_NAMES) | {facts.value_column, facts.past_column} | set(PAST_VALUE_COLUMNS)
    if facts.status in ("lapsed", "at risk"):  # the lead word says it
        skip.add("recency_days")
    rows = profiles.numeric[(profiles.numeric["segment"] == segment) & ~profiles.numeric["feature"].isin(skip)]
    rows = rows[rows["contrast"].abs() >= min_contrast]
    rows = rows.assign(strength=rows["contrast"].abs()).sort_values(["strength", "feature"],
                                                                    ascending=[False, True], kind="stable")
    out = []
    for row in rows.itertuples(index=False):
        info = dictionary[row.feature] if dictionary is not None and row.feature in dictionary else None
        words = words_for(row.feature, info)
        pair = words.high if row.contrast > 0 else words.low
        if pair is not None and pair[0] not in {p[1] for p in out}:
            out.append((row.feature, pair[0], pair[1]))
    return out


NOUNS: dict[tuple[str, str], str] = {(name, direction): pair[1] for name, words in VOCABULARY.items()
                                     for direction, pair in (("high", words.high), ("low", words.low)) if pair}
"""(feature, direction) → the noun a trait gives a name, from :data:`~seglab.personas.wording.VOCABULARY`
(direction ``high`` when the segment's mean is above the other customers')."""


def name_candidates(facts: SegmentFacts, phrases: list[tuple[str, str, str]]) -> list[str]:
    """The names a segment could take, best first (see the module docstring)."""
    nouns = [p[2] for p in phrases if p[2] != "customers"]
    adjectives = [p[1] for p in phrases]
    out: list[str] = []
    if facts.status == "lapsed":
        if facts.past_rank == 0 and facts.extra.get("segments", 1) > 2:
            out.append("Lapsed former top spenders")
        if facts.past_upper:
            out.append("Lapsed former big spenders")
        out += [f"Lapsed {n}" for n in nouns]
        out += [f"Lapsed {a} customers" for a in adjectives]
        out.append("Lapsed low spenders" if facts.past_rank is not None and not facts.past_upper
                   else "Lapsed customers")
        return out
    lead = {"at risk": "At-risk", "new": "New"}.get(facts.status or "")
    if lead:
        out += [f"{lead} {n}" for n in nouns]
        out += [f"{lead} {a} customers" for a in adjectives]
        tier = _tier_word(facts)
        if tier:
            out.append(f"{lead} {tier.lower()} customers")
        out.append(f"{lead} customers")
        return out
    tier = _tier_word(facts)
    spender = SPENDER_NOUNS.get(facts.value_column or "", {}).get(facts.tier or "") if facts.tiers >= 2 else None
    if facts.value_column in _TRANSACTION_VALUE and tier:
        out += [f"{tier} {n}" for n in nouns]
        out += [f"{tier} {a} {n}" for a, n in zip(adjectives[1:], nouns)]
        out += [f"{tier} {a} customers" for a in adjectives]
        out.append(f"{tier} customers")
    elif spender:
        out += [f"{capitalize(a)} {spender}" for a in adjectives]
        out += [f"{capitalize(a)} {b} {spender}" for a, b in zip(adjectives, adjectives[1:])]
        out.append(capitalize(spender))
        out += [f"{tier} {n}" for n in nouns if tier]
    else:
        out += [f"{capitalize(a)} {n}" for a, n in zip(adjectives[1:], nouns)]
        out += [capitalize(n) for n in nouns]
        out += [f"{capitalize(a)} customers" for a in adjectives]
        if tier:
            out.append(f"{tier} customers")
    return out


def _tier_word(facts: SegmentFacts) -> str:
    return TIER_WORDS.get(min(facts.tiers, 3), {}).get(facts.tier or "", "") if facts.tiers >= 2 else ""


def _first_two(name: str) -> str:
    return " ".join(name.lower().split()[:2])


def name_segments(profiles: SegmentProfiles, traits: pd.DataFrame | None = None, *,
                  overrides: Mapping[int, str] | None = None, previous: Mapping[int, str] | None = None,
                  dictionary=None, facts: Mapping[int, SegmentFacts] | None = None) -> dict[int, str]:
    """A unique, readable name for each segment (see the module docstring for the rules).

    Parameters
    ----------
    profiles
        From :func:`~seglab.personas.profiles.profile_segments`.
    traits
        Unused; kept for callers of earlier versions (names now come from the profiles'
        contrasts directly).
    overrides
        The analyst's names by segment number; they win.
    previous
        Last period's names by (aligned) segment number; they carry over.
    dictionary
        The feature dictionary (labels and units of features the vocabulary lacks).
    facts
        :func:`~seglab.personas.facts.segment_facts` of the profiles (computed when omitted).
    """
    segments = profiles.segments
    overrides = {int(k): str(v) for k, v in (overrides or {}).items()}
    unknown = sorted(set(overrides) - set(segments))
    if unknown:
        raise ParameterError(f"names were given for segments {unknown}, which do not exist; segments: {segments}")
    facts = dict(facts) if facts is not None else segment_facts(profiles)
    fixed = {s: str(previous[s]) for s in segments if previous and previous.get(s)
             and not str(previous[s])[-1:].isdigit()}
    fixed.update(overrides)
    taken_names = {n.lower() for n in fixed.values()}
    taken_starts = {_first_two(n) for n in fixed.values()}
    names = dict(fixed)
    for s in segments:
        if s in names:
            continue
        candidates = name_candidates(facts[s], _phrases(profiles, s, facts[s], dictionary))
        choice = next((c for c in candidates if _first_two(c) not in taken_starts and c.lower() not in taken_names),
                      None)
        pool = [*candidates, *(capitalize(g) for g in GENERIC_NOUNS)]
        choice = choice or next((c for c in pool if c.lower() not in taken_names), None)
        if choice is None:  # every word is taken: letters, never numbers
            choice = next(f"{pool[0]}, group {letter}" for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          if f"{pool[0]}, group {letter}".lower() not in taken_names)
        names[s] = choice
        taken_names.add(choice.lower())
        taken_starts.add(_first_two(choice))
    if len({n.lower() for n in names.values()}) != len(names):
        raise ParameterError("the segment names given are not unique: " + ", ".join(sorted(names.values())))
    return {s: names[s] for s in segments}


def read_names(path: str | Path | None) -> dict[int, str]:
    """Segment names from a YAML file mapping segment numbers to names (``0: Champions``).

    An empty path means no names (the generated ones are used).
    """
    if not path:
        return {}
    path = Path(path)
    if not path.is_file():
        raise InputError(f"names file not found: {path}")
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise InputError(f"names file {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must map segment numbers to names, e.g. '0: High-value loyalists'")
    try:
        return {int(k): str(v) for k, v in data.items()}
    except (TypeError, ValueError):
        raise InputError(f"{path}: keys must be segment numbers; got {list(data)}") from None

