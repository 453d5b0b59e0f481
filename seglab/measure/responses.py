"""Response rates of campaigns sent without a control group.

Some data records who answered a campaign but not who would have bought anyway: the
Customer Personality data's ``AcceptedCmp1``–``5`` and ``Response`` columns, an offer sent
to every customer. Without a control group there is no lift to measure, only how often
each segment answered. :func:`response_rates` gives that rate per segment and campaign
column, with Wilson's interval, labelled as a response rate: a segment that answers more
may simply be a segment that buys more, campaign or not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from seglab._validation import require_columns, require_frame
from seglab.measure.intervals import wilson_interval

__all__ = ["response_rates", "ANY_RESPONSE"]

ANY_RESPONSE = "any"
"""The ``column`` of the rows that count customers who answered at least one campaign."""


def response_rates(customers: pd.DataFrame, segments: pd.DataFrame, columns: Sequence[str], *,
                   names: Mapping[int, str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Share of each segment's customers who answered each campaign (0/1 columns).

    Parameters
    ----------
    customers
        ``customer_id`` and the 0/1 response columns (missing answers are left out).
    segments
        ``customer_id`` and ``segment``.
    columns
        The response columns, in the order to show them.
    names
        Segment names by number (a ``name`` column is added; ``All customers`` for the total).

    Returns
    -------
    DataFrame
        One row per segment (then ``-9`` for all customers) and column (then
        :data:`ANY_RESPONSE`): ``customers`` (with an answer), ``responded``, ``rate``,
        ``low``, ``high``.

    Examples
    --------
    >>> c = pd.DataFrame({"customer_id": list("abcd"), "offer": [1, 0, 0, 1]})
    >>> s = pd.DataFrame({"customer_id": list("abcd"), "segment": [0, 0, 1, 1]})
    >>> response_rates(c, s, ["offer"])[["segment", "column", "rate"]].values.tolist()[:2]
    [[0, 'offer', 0.5], [0, 'any', 0.5]]
    """
    from seglab.measure.feedback import ALL_CUSTOMERS

    require_frame(customers, "customers")
    require_columns(customers, ["customer_id", *columns], table="customers")
    require_columns(segments, ["customer_id", "segment"], table="segments")
    answers = customers[["customer_id", *columns]].merge(segments[["customer_id", "segment"]], on="customer_id")
    values = answers[list(columns)].apply(pd.to_numeric, errors="coerce")
    values[ANY_RESPONSE] = values.max(axis=1, skipna=True)
    frames = []
    for key, data in ((answers["segment"], values), (pd.Series(ALL_CUSTOMERS, index=answers.index), values)):
        grouped = data.groupby(key.to_numpy(), sort=True)
        counts, sums = grouped.count(), grouped.sum(min_count=1).fillna(0)
        long = (counts.stack().rename("customers").to_frame()
                .join(sums.stack().rename("responded")).reset_index())
        frames.append(long.rename(columns={"level_0": "segment", "level_1": "column"}))
    out = pd.concat(frames, ignore_index=True)
    out["segment"] = out["segment"].astype("int64")
    order = {c: i for i, c in enumerate([*columns, ANY_RESPONSE])}
    out = out.assign(order=out["column"].map(order),
                     top=(out["segment"] == ALL_CUSTOMERS).astype(int))
    out = out.sort_values(["top", "segment", "order"], kind="stable").drop(columns=["order", "top"])
    n, k = out["customers"].to_numpy(dtype="float64"), out["responded"].to_numpy(dtype="float64")
    low, high = wilson_interval(k, n, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = out.assign(customers=n.astype("int64"), responded=k.astype("int64"), rate=k / n, low=low, high=high)
    if names is not None:
        out.insert(1, "name", out["segment"].map(
            lambda s: "All customers" if s == ALL_CUSTOMERS else names.get(int(s), f"segment {s}")))
    return out.reset_index(drop=True)
