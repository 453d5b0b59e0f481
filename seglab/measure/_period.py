"""Which dates count as the run's period, and the period before it, for measurement."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from seglab.config import Period, parse_period

AS_OF_DAYS = 91
"""For a run as of a date (no quarter), the period is the 91 days up to that date."""


@dataclass(frozen=True)
class Window:
    """A span of dates: ``start`` (inclusive) to ``end`` (exclusive); None means open."""

    label: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None

    def holds(self, dates: pd.Series) -> pd.Series:
        """True for the dates inside the window."""
        inside = pd.Series(True, index=dates.index)
        if self.start is not None:
            inside &= dates >= self.start
        if self.end is not None:
            inside &= dates < self.end
        return inside


def windows(period: str | Period | None) -> tuple[Window, Window | None]:
    """The run's period and the one before it (None when there is none: a static run)."""
    chosen = parse_period(period) if period is not None else None
    if chosen is None or chosen.is_static:
        return Window(chosen.label if chosen is not None else "all", None, None), None
    if chosen.kind == "date":
        end = chosen.cutoff
        start = end - pd.Timedelta(days=AS_OF_DAYS)
        before = start - pd.Timedelta(days=AS_OF_DAYS)
        return (Window(f"the {AS_OF_DAYS} days to {chosen.label}", start, end),
                Window(f"the {AS_OF_DAYS} days before", before, start))
    previous = chosen.previous()
    return (Window(chosen.label, chosen.start, chosen.cutoff),
            Window(previous.label, previous.start, previous.cutoff))


def period_of(dates: pd.Series, period: str | Period | None) -> list[str]:
    """The label of the period (of the run's kind) each date falls in; the run's own label
    for static and as-of runs."""
    chosen = parse_period(period) if period is not None else None
    if chosen is None or chosen.is_static or chosen.kind == "date":
        return [windows(period)[0].label] * len(dates)
    freq = {"quarter": "Q", "month": "M", "year": "Y"}[chosen.kind]
    return [f"{p.year}Q{p.quarter}" if chosen.kind == "quarter" else str(p)
            for p in pd.to_datetime(dates).dt.to_period(freq)]
