"""The measurement's files in the run folder: the one place that names them.

Written by the report stage into ``artifacts/``:

``campaign_results.json``
    ``dataset``, ``period``, ``segments_from`` (which segmentation the campaign customers
    were counted in), ``settings`` (confidence, power, meaningful lift, bootstrap
    replicates and seed), ``notes``, ``campaigns`` (one record per campaign),
    ``cells`` (one per campaign and segment: counts, rates, lifts with intervals, revenue,
    incremental revenue, minimum detectable effect, verdict, note), ``reviews`` (actions
    flagged for review) and ``responses`` (response rates of campaigns without a control
    group: ``labels`` by column and one record per segment and column). See
    :class:`~seglab.measure.CampaignResults` and :func:`~seglab.measure.response_rates`.
``feedback.json``
    ``dataset``, ``period``, ``windows`` (this period and the previous one), ``settings``,
    ``scores`` (per window, segment and kind), ``changes`` (NPS change per segment) and
    ``topics``. See :class:`~seglab.measure.FeedbackResults`.

Read from ``artifacts/`` (written by earlier stages): ``schema.json``, ``campaigns.parquet``,
``feedback.parquet`` and ``customers.parquet`` (collect), ``segments.parquet`` (cluster),
``personas.json`` (personas), ``feature_dictionary.json`` (features). When ``seglab/run.py`` owns every artifact's name, these
constants and functions move there unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seglab._io import read_json, write_json
from seglab.exceptions import InputError

__all__ = ["CAMPAIGN_RESULTS", "FEEDBACK_RESULTS", "read_inputs", "has_collected", "has_segments", "write_results",
           "read_results"]

CAMPAIGN_RESULTS = "campaign_results.json"
FEEDBACK_RESULTS = "feedback.json"
_SCHEMA, _SEGMENTS, _PERSONAS = "schema.json", "segments.parquet", "personas.json"
_CAMPAIGNS, _FEEDBACK, _CUSTOMERS = "campaigns.parquet", "feedback.parquet", "customers.parquet"
_DICTIONARY = "feature_dictionary.json"


def has_collected(folder: str | Path) -> bool:
    """Whether a run's ``artifacts/`` holds the canonical tables (the collect stage ran)."""
    return (Path(folder) / _SCHEMA).exists()


def has_segments(folder: str | Path) -> bool:
    """Whether a run's ``artifacts/`` holds its segments (the cluster stage ran)."""
    return (Path(folder) / _SEGMENTS).exists()


def read_inputs(folder: str | Path, *, tables: bool = True, segments: bool = True) -> dict:
    """What measurement needs from a run's ``artifacts/``.

    Returns ``schema`` (dict), ``segments`` (``customer_id``, ``segment``; None with
    ``segments=False``, which does not need the cluster stage), ``names`` and
    ``actions`` (segment → name, main action; empty before the personas stage ran),
    ``dictionary`` (the feature dictionary, or None), and,
    with ``tables``, ``campaigns`` and ``feedback`` (None when the dataset has none) and
    ``customers`` (``customer_id`` and the response columns the schema lists).
    """
    folder = Path(folder)
    for name, stage in ((_SCHEMA, "collect"), (_SEGMENTS, "cluster"))[:2 if segments else 1]:
        if not (folder / name).exists():
            raise InputError(f"{folder / name} is missing; run the {stage} stage first")
    schema = read_json(folder / _SCHEMA)
    out = {"schema": schema,
           "segments": pd.read_parquet(folder / _SEGMENTS, columns=["customer_id", "segment"]) if segments else None,
           "names": {}, "actions": {}, "dictionary": None}
    if (folder / _DICTIONARY).exists():
        from seglab.features import FeatureDictionary

        out["dictionary"] = FeatureDictionary.read(folder / _DICTIONARY)
    if (folder / _PERSONAS).exists():
        for card in read_json(folder / _PERSONAS).get("segments", []):
            out["names"][int(card["segment"])] = card["name"]
            if card.get("actions"):
                out["actions"][int(card["segment"])] = card["actions"][0]["action"]
    if tables:
        present = schema.get("tables", {})
        for key, name in (("campaigns", _CAMPAIGNS), ("feedback", _FEEDBACK)):
            out[key] = pd.read_parquet(folder / name) if present.get(key) and (folder / name).exists() else None
        responses = list(schema.get("responses") or [])
        out["customers"] = (pd.read_parquet(folder / _CUSTOMERS, columns=["customer_id", *responses])
                            if responses else None)
    return out


def write_results(campaigns: dict, feedback: dict, folder: str | Path) -> dict[str, Path]:
    """Write ``campaign_results.json`` and ``feedback.json`` into ``folder`` (atomically)."""
    folder = Path(folder)
    return {"campaign_results": write_json(campaigns, folder / CAMPAIGN_RESULTS),
            "feedback": write_json(feedback, folder / FEEDBACK_RESULTS)}


def read_results(folder: str | Path) -> tuple[dict, dict] | None:
    """The two files written by :func:`write_results`, or None when the run has none."""
    folder = Path(folder)
    if not (folder / CAMPAIGN_RESULTS).exists() or not (folder / FEEDBACK_RESULTS).exists():
        return None
    return read_json(folder / CAMPAIGN_RESULTS), read_json(folder / FEEDBACK_RESULTS)
