"""The workshop's data: synthetic customers with planted segments, the same for everyone."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from seglab.collect.canonical import CanonicalData
from seglab.datasets import make_customers

__all__ = ["WorkshopData", "workshop_data", "WORKSHOP_SEED"]

WORKSHOP_SEED = 2024
"""The seed every participant uses, so that everyone sees the same customers."""

_PERSONAL = ("name", "email", "phone")


@dataclass
class WorkshopData:
    """Customers, transactions and the planted truth, plus the canonical tables per quarter."""

    customers: pd.DataFrame
    transactions: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame
    criteria: dict[str, str]

    def quarter(self, period: str = "2025Q3") -> CanonicalData:
        """The canonical tables as of the end of ``period`` (what *collect* would give)."""
        from seglab.config import parse_period

        when = parse_period(period)
        cutoff = when.cutoff  # the first instant after the period: nothing from then on is known
        events = self.events[self.events["timestamp"] < cutoff] if "timestamp" in self.events else self.events
        return CanonicalData(dataset="workshop", period=when.label, as_of=when.end,
                             customers=self.customers.drop(columns=list(_PERSONAL), errors="ignore"),
                             transactions=self.transactions[self.transactions["order_date"] < cutoff]
                             .reset_index(drop=True),
                             events=events.reset_index(drop=True),
                             criteria={k: v for k, v in self.criteria.items() if k not in _PERSONAL},
                             currency="EUR", sources=["seglab.workshop.workshop_data"])


def workshop_data(n_customers: int = 1500, n_segments: int = 4, *, seed: int = WORKSHOP_SEED) -> WorkshopData:
    """Draw the workshop's customers (planted segments: ``truth``), seeded.

    >>> data = workshop_data(200)
    >>> sorted(data.truth["segment"].unique().tolist())
    [0, 1, 2, 3]
    """
    from seglab.collect.spec import load_spec

    drawn = make_customers(n_customers, n_segments, seed=seed)
    criteria = dict(load_spec("sample").customers.criteria)
    return WorkshopData(customers=drawn.customers, transactions=drawn.transactions, events=drawn.events,
                        truth=drawn.truth, criteria=criteria)
