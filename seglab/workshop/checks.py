"""Checks for the workshop exercises: friendly, specific feedback on a participant's answer.

Every ``check_*`` returns a :class:`Feedback`, which prints as a short verdict and, when
the answer is not right yet, what is off and a hint that points at the usual mistake
(counting lines instead of orders, forgetting returns, comparing timestamps instead of
days, reading the migration matrix the wrong way round, …). A check never raises on a
wrong or missing answer: that is what it is for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

__all__ = ["Feedback", "check_rfm", "check_k", "check_segments", "check_revenue_share", "check_actions",
           "check_migration", "check_stayed_share"]


@dataclass
class Feedback:
    """The verdict on an answer: ``ok``, a one-line ``title`` and ``details`` (facts, hints)."""

    ok: bool
    title: str
    details: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        head = f"✓ {self.title}" if self.ok else f"✗ Not yet: {self.title}"
        return "\n".join([head, *(f"  - {d}" for d in self.details)])

    __repr__ = __str__


def _not_yet(name: str, what: str) -> Feedback:
    return Feedback(False, f"`{name}` is still empty", [f"write the code that builds {what}, then run this "
                                                        "cell again"])


def _by_customer(answer, name: str, what: str) -> pd.DataFrame | Feedback:
    if answer is None:
        return _not_yet(name, what)
    if isinstance(answer, pd.Series):
        answer = answer.to_frame()
    if not isinstance(answer, pd.DataFrame):
        return Feedback(False, f"`{name}` should be a pandas DataFrame", [f"it is a {type(answer).__name__}"])
    if "customer_id" not in answer.columns:
        if answer.index.name == "customer_id":
            answer = answer.reset_index()
        else:
            return Feedback(False, f"`{name}` has no customer_id", [
                "keep customer_id as a column (or as the index, e.g. the result of groupby('customer_id'))"])
    if answer["customer_id"].duplicated().any():
        return Feedback(False, f"`{name}` has several rows for some customers", [
            f"{int(answer['customer_id'].duplicated().sum()):,} repeated customer ids: one row per customer, "
            "please (groupby('customer_id'))"])
    return answer


def _share_close(a: pd.Series, b: pd.Series, rtol: float = 1e-6) -> float:
    """Share of rows where ``a`` equals ``b`` (missing equals missing)."""
    a, b = a.astype(float).to_numpy(), b.astype(float).to_numpy()
    same = np.isclose(a, b, rtol=rtol, atol=1e-9) | (np.isnan(a) & np.isnan(b))
    return float(same.mean()) if len(same) else 1.0


# ---------------------------------------------------------------------- exercise 1: RFM
def check_rfm(rfm, transactions: pd.DataFrame, as_of) -> Feedback:
    """Check a hand-made RFM table: ``customer_id``, ``recency_days``, ``orders``, ``monetary``.

    recency_days = days from the last purchase *day* to the snapshot day; orders = distinct
    orders with a purchase; monetary = net spend (purchases minus returns).
    """
    from seglab.features.rfm import marketing_rfm

    answer = _by_customer(rfm, "rfm", "one row per customer with recency_days, orders and monetary")
    if isinstance(answer, Feedback):
        return answer
    if "monetary" not in answer and "net_revenue" in answer:
        answer = answer.rename(columns={"net_revenue": "monetary"})
    missing = [c for c in ("recency_days", "orders", "monetary") if c not in answer]
    if missing:
        return Feedback(False, f"`rfm` lacks {', '.join(missing)}",
                        [f"its columns are {list(answer.columns)}; name them recency_days, orders, monetary"])
    as_of = pd.Timestamp(as_of)
    expected = marketing_rfm(transactions, as_of=as_of)
    merged = expected.merge(answer, on="customer_id", how="left", indicator=True)
    absent = int((merged["_merge"] == "left_only").sum())
    extra = int((~answer["customer_id"].isin(expected["customer_id"])).sum())
    details, ok = [], True
    if absent or extra:
        ok = False
        details.append(f"{absent:,} customers who bought are missing and {extra:,} are extra: use the "
                       f"transactions up to {as_of.date()} (and no customer without one)")
    merged["orders_y"] = merged["orders_y"].fillna(0)
    recency = _share_close(merged["recency_days_x"], merged["recency_days_y"])
    if recency < 0.999:
        ok = False
        diff = (merged["recency_days_y"] - merged["recency_days_x"]).dropna()
        hint = "recency_days = (as_of − the day of the last purchase).days"
        if len(diff) and ((diff == -1) | (diff == 0)).mean() > 0.95:
            hint = ("off by one day for some customers: compare days, not timestamps; the last purchase "
                    "at 15:00 on the 29th is 1 day before the 30th (use order_date.dt.normalize())")
        elif len(diff) and (diff == 1).mean() > 0.95:
            hint = "one day too many: the snapshot day is day 0 (as_of − last purchase day)"
        details.append(f"recency_days is right for {recency:.0%} of customers; {hint}")
    orders = _share_close(merged["orders_x"], merged["orders_y"])
    if orders < 0.999:
        ok = False
        known = transactions[transactions["order_date"] < as_of + pd.Timedelta(days=1)]
        as_lines = max(_share_close(merged["orders_y"], merged["customer_id"].map(lines).fillna(0))
                       for lines in (known.groupby("customer_id").size(),
                                     known[known["amount"] > 0].groupby("customer_id").size()))
        hint = ("you counted lines: an order has several lines, count distinct order_id (nunique)"
                if as_lines > 0.9 else "count distinct order_id among purchases (amount > 0): a return is not "
                                      "an order")
        details.append(f"orders is right for {orders:.0%} of customers; {hint}")
    money = _share_close(merged["net_revenue"], merged["monetary"])
    if money < 0.999:
        ok = False
        gross = _share_close(merged["gross_revenue"], merged["monetary"])
        hint = ("that is the spend before returns: sum every amount, negative ones (returns) included"
                if gross > 0.9 else "monetary = the sum of amount per customer, returns (negative amounts) "
                                    "included")
        details.append(f"monetary is right for {money:.0%} of customers; {hint}")
    if ok:
        return Feedback(True, f"your RFM table matches seglab's for all {len(expected):,} customers", [
            f"median recency {expected['recency_days'].median():.0f} days, median {expected['orders'].median():.0f}"
            f" orders, median net spend {expected['net_revenue'].median():,.2f}",
            "seglab.features.marketing_rfm computes the same in DuckDB, on millions of lines"])
    return Feedback(False, "some RFM values differ from seglab's", details)


# ---------------------------------------------------------------------- exercise 2: choosing k
def _labels(labels, name: str) -> pd.Series | Feedback:
    if labels is None:
        return _not_yet(name, "a segment per customer")
    if hasattr(labels, "segments"):  # a Segmentation
        labels = labels.segments
    if isinstance(labels, pd.DataFrame):
        if not {"customer_id", "segment"} <= set(labels.columns):
            return Feedback(False, f"`{name}` needs customer_id and segment columns",
                            [f"its columns are {list(labels.columns)}"])
        labels = labels.set_index("customer_id")["segment"]
    if not isinstance(labels, pd.Series):
        return Feedback(False, f"`{name}` should be segments by customer",
                        ["a Segmentation, a frame with customer_id and segment, or a Series indexed by "
                         f"customer_id; it is a {type(labels).__name__}"])
    return labels


def check_k(k, truth: pd.DataFrame, *, sizes: pd.Series | None = None) -> Feedback:
    """Check the chosen number of segments against the planted one (``truth``)."""
    if k is None:
        return _not_yet("chosen_k", "the number of segments you choose")
    planted = int(truth["segment"].nunique())
    if not isinstance(k, int | np.integer) or k < 1:
        return Feedback(False, "`chosen_k` should be a whole number of segments", [f"it is {k!r}"])
    if k == planted:
        return Feedback(True, f"k = {k}: the data has {planted} planted segments", [
            "every segment comes back in bootstrap resamples and from half of the customers (prediction "
            "strength); one more segment cuts a real group in two, and those pieces do not come back"])
    if k > planted:
        details = [f"the data has {planted} planted segments; with {k}, some are split in pieces that are not "
                   "real groups (over-segmentation)",
                   "look at the weakest segment's Jaccard and the prediction strength: split segments change from "
                   "one resample to the next; and at the smallest segment's share"]
        if sizes is not None and len(sizes):
            details.append(f"your smallest segment holds {sizes.min() / sizes.sum():.1%} of the customers")
        return Feedback(False, f"k = {k} is too many", details)
    return Feedback(False, f"k = {k} is too few", [
        f"the data has {planted} planted segments; with {k}, different groups are merged",
        "silhouette often prefers few segments; which is the largest k whose every segment is stable and "
        "found again (prediction strength)?"])


def check_segments(segments, truth: pd.DataFrame, *, threshold: float = 0.9) -> Feedback:
    """Check how well segments recover the planted ones (adjusted Rand index ≥ ``threshold``)."""
    labels = _labels(segments, "segments")
    if isinstance(labels, Feedback):
        return labels
    truth_labels = truth.set_index("customer_id")["segment"]
    common = truth_labels.index.intersection(labels.index)
    if len(common) < len(truth_labels):
        return Feedback(False, "some customers have no segment", [
            f"{len(truth_labels) - len(common):,} of {len(truth_labels):,} customers are missing: segment every "
            "customer of the feature table"])
    ari = adjusted_rand_score(truth_labels.loc[common], labels.loc[common])
    crosstab = pd.crosstab(truth_labels.loc[common], labels.loc[common])
    purity = float(crosstab.max(axis=1).sum() / crosstab.to_numpy().sum())
    if ari >= threshold:
        return Feedback(True, f"your segments recover the planted ones (adjusted Rand index {ari:.2f})", [
            f"{purity:.0%} of customers sit with the majority of their planted group"])
    details = [f"{labels.nunique()} segments found for {truth_labels.nunique()} planted"]
    columns = getattr(segments, "columns", None)  # a Segmentation's; a frame's columns are no basis
    if hasattr(columns, "by_group") and len(columns.by_group()) < 4:
        details.append(f"you segmented on {', '.join(columns.by_group())} only: the planted groups differ along "
                       "several criteria at once (attitudes, who they are, how they buy, their journey), and any "
                       "one criterion finds them only in part; leave criteria empty to use them all")
    else:
        details.append("which features did you segment on? The planted groups differ along several criteria "
                       "at once; any one criterion finds them only in part")
    details.append("money and counts are skewed: without a log transform a few big spenders dominate the "
                   "distances (skew='auto' does it)")
    return Feedback(False, f"your segments and the planted ones agree only partly (adjusted Rand index {ari:.2f}, "
                           f"aim for ≥ {threshold})", details)


# ---------------------------------------------------------------------- exercise 3: personas
def check_revenue_share(answer, features: pd.DataFrame, segments, *, revenue: str = "net_revenue") -> Feedback:
    """Check the share of revenue per segment (a Series indexed by segment, summing to 1)."""
    if answer is None:
        return _not_yet("revenue_share", "each segment's share of the total revenue")
    labels = _labels(segments, "segments")
    if isinstance(labels, Feedback):
        return labels
    if not isinstance(answer, pd.Series):
        return Feedback(False, "`revenue_share` should be a Series indexed by segment",
                        [f"it is a {type(answer).__name__}; groupby('segment')[...].sum() / total gives one"])
    table = features.set_index("customer_id")[revenue]
    totals = table.groupby(labels.reindex(table.index)).sum()
    expected = totals / totals.sum()
    if not answer.index.isin(expected.index).all() or len(answer) != len(expected):
        return Feedback(False, "`revenue_share` should have one value per segment",
                        [f"segments {sorted(expected.index.tolist())}; yours {sorted(answer.index.tolist())}"])
    answer = answer.reindex(expected.index).astype(float)
    if np.allclose(answer, expected, atol=1e-9):
        top = expected.idxmax()
        return Feedback(True, "revenue shares are right", [
            f"segment {top} brings {expected.max():.0%} of the revenue with "
            f"{(labels == top).mean():.0%} of the customers"])
    if abs(answer.sum() - 100) < 1e-6:
        return Feedback(False, "these look like percentages", ["give shares (0 to 1) that sum to 1"])
    counts = labels.value_counts(normalize=True).reindex(expected.index)
    if np.allclose(answer, counts, atol=1e-9):
        return Feedback(False, "these are shares of customers, not of revenue",
                        [f"sum {revenue} per segment and divide by the total {revenue}"])
    return Feedback(False, "some revenue shares differ", [
        f"expected {', '.join(f'{s}: {v:.1%}' for s, v in expected.items())}",
        f"sum {revenue} per segment, divide by the total over all customers"])


def check_actions(my_actions, personas) -> Feedback:
    """Compare the participant's action per segment with seglab's documented rules."""
    if my_actions is None:
        return _not_yet("my_actions", "a dict {segment: action}, e.g. {0: 'reward and retain'}")
    if not isinstance(my_actions, Mapping):
        return Feedback(False, "`my_actions` should be a dict {segment: action}",
                        [f"it is a {type(my_actions).__name__}"])
    details, agree = [], 0
    for card in personas.cards:
        recommended = card.actions[0]["action"] if card.actions else ""
        mine = str(my_actions.get(card.segment, "")).strip()
        same = bool(mine) and (mine.lower() in recommended.lower() or recommended.lower() in mine.lower())
        agree += same
        verdict = "✓" if same else ("no action given" if not mine else f"you said '{mine}'")
        why = card.actions[0].get("why", "") if card.actions else ""
        details.append(f"segment {card.segment} ({card.name}): seglab recommends '{recommended}' — {why} "
                       f"[{verdict}]")
    total = len(personas.cards)
    title = f"your actions match seglab's rules for {agree} of {total} segments"
    if agree < total:
        details.append("disagreeing is allowed when you can say why: the rules are a starting point "
                       "(seglab.personas.actions documents them)")
    return Feedback(agree == total, title, details)


# ---------------------------------------------------------------------- exercise 4: a quarter later
def _migration(then, now) -> tuple[pd.DataFrame, pd.Series, pd.Series] | Feedback:
    a, b = _labels(then, "then"), _labels(now, "now")
    for x in (a, b):
        if isinstance(x, Feedback):
            return x
    both = a.index.intersection(b.index)
    return pd.crosstab(a.loc[both].rename("then"), b.loc[both].rename("now")), a, b


def check_migration(migration, then, now) -> Feedback:
    """Check a migration matrix: customers in both quarters, last quarter's segment in rows."""
    if migration is None:
        return _not_yet("migration", "a table of customers by last quarter's segment (rows) and this "
                                     "quarter's (columns)")
    expected = _migration(then, now)
    if isinstance(expected, Feedback):
        return expected
    expected, a, b = expected
    if not isinstance(migration, pd.DataFrame):
        return Feedback(False, "`migration` should be a DataFrame", ["pd.crosstab(then, now) makes one"])
    got = migration.copy()
    got.index, got.columns = list(got.index), list(got.columns)
    exp = expected.copy()
    exp.index, exp.columns = list(exp.index), list(exp.columns)
    if got.shape == exp.shape and set(got.index) == set(exp.index) and set(got.columns) == set(exp.columns):
        got = got.loc[exp.index, exp.columns]
        if np.array_equal(got.to_numpy(), exp.to_numpy()):
            diagonal = np.trace(exp.to_numpy()) / exp.to_numpy().sum()
            return Feedback(True, "the migration matrix is right", [
                f"{exp.to_numpy().sum():,} customers in both quarters; {diagonal:.0%} stayed in their segment"])
        if np.array_equal(got.to_numpy(), exp.T.loc[exp.index, exp.columns].to_numpy()):
            return Feedback(False, "rows and columns are swapped",
                            ["rows: last quarter's segment (then), columns: this quarter's (now)"])
    total = int(np.asarray(migration.select_dtypes("number")).sum())
    if total != int(exp.to_numpy().sum()):
        hint = (f"your table counts {total:,} customers; {int(exp.to_numpy().sum()):,} are in both quarters: "
                "join on customer_id (inner) before counting — new and lost customers are a separate story")
        if abs(total - len(a.index.union(b.index))) == 0:
            hint += " (you counted everyone, by position or with an outer join)"
        return Feedback(False, "the counts do not add up", [hint])
    return Feedback(False, "some cells differ", [
        "match customers by customer_id, not by row position: the two quarters list them in different orders"])


def check_stayed_share(share, then, now) -> Feedback:
    """Check the share of returning customers who stayed in their segment."""
    if share is None:
        return _not_yet("stayed", "the share of customers (in both quarters) whose segment did not change")
    expected = _migration(then, now)
    if isinstance(expected, Feedback):
        return expected
    matrix = expected[0].to_numpy()
    labels_then, labels_now = list(expected[0].index), list(expected[0].columns)
    same = sum(matrix[i, labels_now.index(s)] for i, s in enumerate(labels_then) if s in labels_now)
    value = same / matrix.sum()
    try:
        share = float(share)
    except (TypeError, ValueError):
        return Feedback(False, "`stayed` should be a number between 0 and 1", [f"it is {share!r}"])
    if abs(share - value) < 1e-9:
        return Feedback(True, f"{value:.1%} of returning customers stayed in their segment", [
            "segment numbers mean the same thing in both quarters only because the second quarter was "
            "aligned to the first (segment(..., previous=model))"])
    if abs(share - value * 100) < 1e-6:
        return Feedback(False, "that is a percentage", ["give a share between 0 and 1"])
    return Feedback(False, f"expected a different share (yours: {share:.3f})", [
        "the diagonal of the migration matrix (same segment then and now) divided by everyone in it"])
