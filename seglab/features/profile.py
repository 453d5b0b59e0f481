"""Who customers are: the customer table's attributes, typed and tagged, with derived bands.

Derivations (each keeps the criterion of the column it comes from):

- a birth year → ``age`` (as of the snapshot) and ``age_band``
- an ``age`` column → ``age_band`` (18-24, 25-34, 35-44, 45-54, 55-64, 65+)
- an income column → ``<column>_band`` (low, middle, high: the thirds of the customers)
- a date → ``days_since_<name>`` (e.g. ``signup_date`` → ``days_since_signup``)
- an employee count → ``company_size`` (micro < 10, small < 50, medium < 250, large)
- booleans → 0/1

Personal columns (tagged ``pii`` or ``email``) never become features.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from seglab.collect.canonical import column_type
from seglab.features.dictionary import FeatureDictionary

__all__ = ["profile_features", "AGE_BANDS"]

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
_AGE_EDGES = [-np.inf, 25, 35, 45, 55, 65, np.inf]
_SIZE_EDGES = [-np.inf, 10, 50, 250, np.inf]
_SIZES = ("micro", "small", "medium", "large")
_NOT_FEATURES = {"pii", "email", "ignore"}


def _band(values: pd.Series, edges, labels) -> pd.Series:
    return pd.cut(values, bins=edges, labels=list(labels), right=False).astype("str").where(values.notna())


def _thirds(values: pd.Series) -> pd.Series:
    present = values.dropna()
    if present.nunique() < 3:
        return pd.Series(np.nan, index=values.index, dtype="str")
    low, high = np.quantile(present, [1 / 3, 2 / 3])
    band = np.select([values < low, values < high], ["low", "middle"], default="high")
    return pd.Series(band, index=values.index, dtype="str").where(values.notna())


def _kind(series: pd.Series) -> str:
    """The canonical column type, with text as the feature kind ``category``."""
    kind = column_type(series)
    return "category" if kind == "text" else kind


def profile_features(customers: pd.DataFrame, criteria: dict[str, str], *,
                     as_of: pd.Timestamp | None = None,
                     dictionary: FeatureDictionary | None = None) -> pd.DataFrame:
    """Profile features from a canonical customer table (one row per customer).

    Parameters
    ----------
    customers
        ``customer_id`` plus attribute columns.
    criteria
        Column → criterion tag (from *collect*'s schema, :meth:`~seglab.collect.CanonicalData.schema`).
    as_of
        The snapshot day, for ages and "days since" (default: today).
    dictionary
        When given, every feature is described in it.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` plus one column per feature, sorted by ``customer_id``. The
        input is not modified.
    """
    as_of = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.today().normalize()
    dictionary = dictionary if dictionary is not None else FeatureDictionary()
    out = {"customer_id": customers["customer_id"].astype("str")}

    def add(name: str, values: pd.Series, criterion: str, description: str, unit: str = "",
            kind: str | None = None) -> None:
        out[name] = values
        dictionary.add(name, criterion, description, unit, kind or _kind(values), source="customers")

    for col in customers.columns:
        criterion = criteria.get(col, "other")
        if col == "customer_id" or col.startswith("qc_") or criterion in _NOT_FEATURES:
            continue
        values = customers[col]
        lower = col.lower()
        if pd.api.types.is_datetime64_any_dtype(values):
            stem = re.sub(r"(^date_|_date$|_at$|_on$)", "", lower) or lower
            days = (as_of - values).dt.days.astype("float64")
            add(f"days_since_{stem}", days, criterion, f"days from customers.{col} to the snapshot", "days")
            continue
        if pd.api.types.is_bool_dtype(values):
            add(col, values.astype("float64"), criterion, f"customers.{col} (1 = yes)", kind="number")
            continue
        add(col, values, criterion, f"customers.{col}")
        if pd.api.types.is_numeric_dtype(values):
            if "birth" in lower and "year" in lower:
                age = as_of.year - values
                add("age", age, criterion, f"age in years at the snapshot, from customers.{col}", "years")
                add("age_band", _band(age, _AGE_EDGES, AGE_BANDS), criterion, "age band", kind="category")
            elif lower == "age":
                dictionary.add(col, criterion, "age in years", "years", "number", "customers")
                add("age_band", _band(values, _AGE_EDGES, AGE_BANDS), criterion, "age band", kind="category")
            elif "income" in lower:
                add(f"{col}_band", _thirds(values), criterion,
                    f"thirds of customers.{col}: low, middle, high", kind="category")
            elif "employees" in lower:
                add("company_size", _band(values, _SIZE_EDGES, _SIZES), criterion,
                    "company size by employees: micro < 10, small < 50, medium < 250, large",
                    kind="category")
    frame = pd.DataFrame(out)
    return frame.sort_values("customer_id", kind="stable").reset_index(drop=True)
