"""The feature dictionary: every feature's criterion, description, unit, type and source.

Kept in the run folder as JSON (:mod:`seglab.run`)::

    {"as_of": "2025-12-31", "lookback_days": 730,
     "features": [{"name": "recency_days", "criterion": "rfm", "description": "…",
                   "unit": "days", "type": "number", "source": "transactions"}, …],
     "skipped": [{"group": "journey events", "reason": "the dataset has no events table"}]}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from seglab._io import read_json, write_json
from seglab._validation import did_you_mean, show_list
from seglab.exceptions import ParameterError

__all__ = ["FeatureInfo", "FeatureDictionary"]


@dataclass(frozen=True)
class FeatureInfo:
    """What one feature is."""

    name: str
    criterion: str
    description: str
    unit: str = ""
    type: str = "number"
    source: str = "transactions"


@dataclass
class FeatureDictionary:
    """All features of a feature table, plus the groups that were skipped and why."""

    features: list[FeatureInfo] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def add(self, name: str, criterion: str, description: str, unit: str = "", type: str = "number",
            source: str = "transactions") -> None:
        """Describe a feature (a later description of the same name replaces the earlier one)."""
        self.features = [f for f in self.features if f.name != name]
        self.features.append(FeatureInfo(name, criterion, description, unit, type, source))

    def skip(self, group: str, reason: str) -> None:
        """Record a group of features that could not be computed, and why."""
        self.skipped.append({"group": group, "reason": reason})

    def restrict(self, columns: Iterable[str]) -> FeatureDictionary:
        """Only the features that are columns of the final table, in its order."""
        by_name = {f.name: f for f in self.features}
        return FeatureDictionary([by_name[c] for c in columns if c in by_name], list(self.skipped),
                                 dict(self.meta))

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def criteria(self) -> dict[str, str]:
        """Feature name → criterion."""
        return {f.name: f.criterion for f in self.features}

    def select(self, criteria: Sequence[str] | None = None, names: Sequence[str] | None = None,
               *, types: Sequence[str] | None = None) -> list[str]:
        """Feature names with one of ``criteria`` or among ``names`` (all when neither is given),
        in dictionary order, optionally only of some ``types`` (``number``, ``category``).

        >>> d = FeatureDictionary()
        >>> d.add("orders", "rfm", "orders"); d.add("age", "demographic", "age")
        >>> d.select(criteria=["demographic"])
        ['age']
        """
        known = set(self.names)
        for name in names or ():
            if name not in known:
                raise ParameterError(f"no feature named {name!r}{did_you_mean(name, known)}; "
                                     f"features: {show_list(self.names, 20)}")
        present = {f.criterion for f in self.features}
        for criterion in criteria or ():
            if criterion not in present:
                raise ParameterError(f"no feature has criterion {criterion!r}"
                                     f"{did_you_mean(criterion, present)}; criteria here: "
                                     f"{show_list(sorted(present))}")
        everything = criteria is None and names is None
        chosen = [f.name for f in self.features
                  if everything or f.criterion in (criteria or ()) or f.name in (names or ())]
        if types is not None:
            allowed = set(types)
            chosen = [n for n in chosen if self[n].type in allowed]
        return chosen

    def __getitem__(self, name: str) -> FeatureInfo:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def __contains__(self, name: str) -> bool:
        return any(f.name == name for f in self.features)

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: name, criterion, description, unit, type, source."""
        columns = ["name", "criterion", "description", "unit", "type", "source"]
        return pd.DataFrame([asdict(f) for f in self.features], columns=columns)

    def to_dict(self) -> dict:
        return {**self.meta, "features": [asdict(f) for f in self.features], "skipped": self.skipped}

    def write(self, path: str | Path) -> Path:
        """Write the dictionary as JSON (atomically)."""
        return write_json(self.to_dict(), path)

    @classmethod
    def read(cls, path: str | Path) -> FeatureDictionary:
        """Read a dictionary written by :meth:`write`."""
        data = read_json(path)
        meta = {k: v for k, v in data.items() if k not in ("features", "skipped")}
        return cls([FeatureInfo(**f) for f in data.get("features", [])], data.get("skipped", []), meta)
