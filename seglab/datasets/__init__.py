"""Bundled datasets (``load_*``) and synthetic data with planted truth (``make_*``).

Built-in datasets, usable by name everywhere (``seglab run --dataset NAME``):

``sample``
    Synthetic: 3,000 customers from 4 planted segments, two years of orders,
    web/email events, campaigns with control groups and planted effects, NPS and CSAT
    answers (the default dataset; regenerate with ``seglab sample``).
``online_retail``
    UCI Online Retail II (2009-2010) + Online Retail (2010-2011), CC BY 4.0.
``mall_customers``
    Kaggle Mall Customers: 200 customers, a customer table only.
``customer_personality``
    Kaggle Customer Personality Analysis: 2,240 customers, a customer table only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from seglab._io import write_parquet, write_text
from seglab.collect.spec import builtin_specs, load_spec
from seglab.config import data_dir
from seglab.datasets.synthetic import (ARCHETYPES, FIRMOGRAPHIC, SURVEY_ITEMS, Archetype, SyntheticCustomers,
                                      make_customers)

__all__ = [
    "make_customers",
    "SyntheticCustomers",
    "Archetype",
    "ARCHETYPES",
    "SURVEY_ITEMS",
    "SAMPLE_ARGS",
    "list_datasets",
    "load_sample",
    "write_sample",
    "load_online_retail",
    "load_mall_customers",
    "load_customer_personality",
]

SAMPLE_ARGS = {"n_customers": 3000, "n_segments": 4, "start": "2024-01-01", "end": "2025-12-31",
               "seed": 2025}
"""The arguments of :func:`make_customers` that made the committed ``sample`` dataset."""

_TABLES = ("customers", "transactions", "events", "truth", "campaigns", "feedback", "campaign_truth",
           "feedback_truth")
_SPEC_TABLES = ("customers", "transactions", "events", "campaigns", "feedback")


def list_datasets() -> pd.DataFrame:
    """The built-in datasets: name, title, tables, currency and licence."""
    rows = []
    for name in builtin_specs():
        spec = load_spec(name)
        tables = [t for t in _SPEC_TABLES if getattr(spec, t) is not None]
        rows.append({"name": name, "title": spec.title, "tables": ", ".join(tables),
                     "currency": spec.currency, "licence": spec.licence})
    return pd.DataFrame(rows)


def write_sample(folder: str | Path, **kwargs) -> Path:
    """Write synthetic data and a dataset spec for it into ``folder``; returns the spec path.

    ``kwargs`` go to :func:`make_customers` (default: :data:`SAMPLE_ARGS`). The
    folder then holds ``customers.parquet``, ``transactions.parquet``,
    ``events.parquet``, ``campaigns.parquet``, ``feedback.parquet``, the planted truth
    (``truth.parquet``: the segments; ``campaign_truth.parquet``: each campaign's effect
    per segment; ``feedback_truth.parquet``: NPS and CSAT per segment and quarter) and
    ``dataset.yaml``, usable as ``seglab run --dataset <folder>/dataset.yaml``.
    """
    folder = Path(folder)
    args = {**SAMPLE_ARGS, **kwargs}
    data = make_customers(**args)
    for name in _TABLES:
        write_parquet(getattr(data, name), folder / f"{name}.parquet")
    spec = yaml.safe_load(builtin_specs()["sample"].read_text(encoding="utf-8"))
    spec["name"] = folder.name.replace(" ", "_") or "synthetic"
    spec["description"] = (f"Synthetic customers from seglab.datasets.make_customers("
                           f"{', '.join(f'{k}={v!r}' for k, v in args.items())}).")
    for table in _SPEC_TABLES:
        spec[table]["sources"] = [{"path": f"{table}.parquet"}]
    if args.get("b2b"):  # business customers: firmographic attributes instead of demographic ones
        criteria = spec["customers"]["criteria"]
        criteria.pop("demographic", None)
        criteria["firmographic"] = list(FIRMOGRAPHIC)
    return write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), folder / "dataset.yaml")


def load_sample() -> SyntheticCustomers:
    """The committed ``sample`` dataset (raw tables, before *collect*) with its planted truth."""
    folder = data_dir() / "sample"
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in _TABLES}
    archetypes = pd.DataFrame([{"segment": i, "name": a.name} for i, a in
                               enumerate(ARCHETYPES[:SAMPLE_ARGS["n_segments"]])])
    return SyntheticCustomers(archetypes=archetypes, **tables)


def load_online_retail(which: str = "2010-2011") -> pd.DataFrame:
    """One of the two bundled UCI Online Retail files, as published.

    Parameters
    ----------
    which
        ``"2009-2010"`` (Online Retail II, first sheet) or ``"2010-2011"`` (Online Retail).
    """
    files = {"2009-2010": "online_retail_ii_2009_2010.parquet",
             "2010-2011": "online_retail_2010_2011.parquet"}
    if which not in files:
        from seglab.exceptions import ParameterError

        raise ParameterError(f"which must be '2009-2010' or '2010-2011'; got {which!r}")
    return pd.read_parquet(data_dir() / "external" / files[which])


def load_mall_customers() -> pd.DataFrame:
    """The Mall Customers table as published (``CustomerID`` kept as zero-padded text)."""
    return pd.read_csv(data_dir() / "external" / "Mall_Customers.csv", dtype={"CustomerID": str})


def load_customer_personality() -> pd.DataFrame:
    """The Customer Personality Analysis table as published (tab-separated file)."""
    return pd.read_csv(data_dir() / "external" / "marketing_campaign.csv", sep="\t")
