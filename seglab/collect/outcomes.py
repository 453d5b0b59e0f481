"""Campaign outcomes derived from the transactions, when the campaigns table has none.

A dataset spec may list who got which campaign (and who was held out) without saying who
converted: ``campaigns: response_window_days: 30`` then derives, for every campaign row,

- ``converted``: the customer bought something (a line with a positive amount) on or after
  ``sent_at`` and before ``sent_at`` + the window;
- ``revenue``: what they spent in that window, net of returns.

The control group is measured the same way over the same window, so the difference is the
campaign's effect. Purchases after the snapshot are never read (the quality gate removed
them); a window that the snapshot cuts short is measured over the days it has, and
:func:`derive_outcomes` says how many campaigns that concerns. The join runs in DuckDB
(in-process), not row by row.
"""

from __future__ import annotations

import logging

import duckdb
import numpy as np
import pandas as pd

from seglab._validation import check_range, require_columns, require_frame

__all__ = ["derive_outcomes"]

logger = logging.getLogger(__name__)


def derive_outcomes(campaigns: pd.DataFrame, transactions: pd.DataFrame, *, window_days: int,
                    snapshot: pd.Timestamp | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Add ``converted`` and ``revenue`` to campaign rows from the customers' transactions.

    Parameters
    ----------
    campaigns
        ``customer_id``, ``campaign_id``, ``sent_at`` (one row per customer and campaign,
        other columns kept).
    transactions
        ``customer_id``, ``order_date``, ``amount`` (ids as in ``campaigns``).
    window_days
        How many days after ``sent_at`` a purchase counts as the campaign's outcome.
    snapshot
        The first instant after the period; used only to say which windows it cuts short.

    Returns
    -------
    (DataFrame, list of str)
        ``campaigns`` (a new frame, same rows in the same order) with ``converted`` and
        ``revenue``, and notes for the quality report.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": ["a", "b"], "campaign_id": "x",
    ...                   "sent_at": pd.to_datetime(["2025-01-01", "2025-01-01"])})
    >>> t = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [20.0, -5.0, 9.0],
    ...                   "order_date": pd.to_datetime(["2025-01-03", "2025-01-10", "2025-03-01"])})
    >>> out, notes = derive_outcomes(c, t, window_days=30)
    >>> out[["customer_id", "converted", "revenue"]].values.tolist()
    [['a', True, 15.0], ['b', False, 0.0]]
    """
    require_frame(campaigns, "campaigns")
    require_frame(transactions, "transactions")
    require_columns(campaigns, ["customer_id", "campaign_id", "sent_at"], table="campaigns")
    require_columns(transactions, ["customer_id", "order_date", "amount"], table="transactions")
    check_range(window_days, name="response_window_days", low=1, integer=True)
    rows = pd.DataFrame({"row_": np.arange(len(campaigns), dtype="int64"),  # noqa: F841 (read by DuckDB)
                         "customer_id": campaigns["customer_id"].astype("str").to_numpy(),
                         "sent_at": pd.to_datetime(campaigns["sent_at"]).to_numpy()})
    lines = pd.DataFrame({"customer_id": transactions["customer_id"].astype("str").to_numpy(),  # noqa: F841
                          "order_date": pd.to_datetime(transactions["order_date"]).to_numpy(),
                          "amount": transactions["amount"].to_numpy(dtype="float64")})
    with duckdb.connect() as con:
        found = con.sql(f"""
            SELECT r.row_, sum(l.amount) AS revenue, count(*) FILTER (WHERE l.amount > 0) AS purchases
            FROM rows AS r LEFT JOIN lines AS l
              ON l.customer_id = r.customer_id AND l.order_date >= r.sent_at
             AND l.order_date < r.sent_at + INTERVAL {int(window_days)} DAY
            GROUP BY r.row_ ORDER BY r.row_""").to_arrow_table().to_pandas()
    revenue = found["revenue"].fillna(0.0).to_numpy(dtype="float64")
    converted = found["purchases"].fillna(0).to_numpy() > 0
    out = campaigns.reset_index(drop=True).assign(converted=pd.array(converted, dtype="boolean"),
                                                  revenue=np.round(revenue, 4))
    notes = []
    if snapshot is not None:
        ends = campaigns["sent_at"] + pd.Timedelta(days=int(window_days))
        cut = campaigns.loc[(ends > snapshot).to_numpy(), "campaign_id"].nunique()
        if cut:
            notes.append(f"{cut:,} campaign{'s' if cut != 1 else ''} sent less than {window_days} days before "
                         "the end of the period: their outcomes count the purchases up to the period's end "
                         "only; the next period's run measures them in full")
    logger.info("derived outcomes of %s campaign rows over %s days", f"{len(out):,}", window_days)
    return out, notes
