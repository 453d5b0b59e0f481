"""The workshop's checks: right answers pass, each usual mistake gets its own hint."""

import numpy as np
import pandas as pd
import pytest

from seglab.cluster import segment
from seglab.features import build_features
from seglab.personas import build_personas
from seglab.workshop import (
    check_actions,
    check_k,
    check_migration,
    check_revenue_share,
    check_rfm,
    check_segments,
    check_stayed_share,
    workshop_data,
)


@pytest.fixture(scope="module")
def data():
    return workshop_data(400)


@pytest.fixture(scope="module")
def q3(data):
    q = data.quarter("2025Q3")
    return q.transactions, q.as_of


def hand_rfm(tx, as_of, *, day=True, lines=False, gross=False):
    purchases = tx[tx["amount"] > 0]
    last = purchases.groupby("customer_id")["order_date"].max()
    recency = (as_of - (last.dt.normalize() if day else last)).dt.days
    orders = purchases.groupby("customer_id").size() if lines else purchases.groupby("customer_id")["order_id"].nunique()
    money = (purchases if gross else tx).groupby("customer_id")["amount"].sum()
    return pd.DataFrame({"recency_days": recency, "orders": orders, "monetary": money}).rename_axis("customer_id")


def test_a_right_rfm_passes_as_frame_or_with_the_id_as_index(q3):
    tx, as_of = q3
    answer = hand_rfm(tx, as_of)
    assert check_rfm(answer, tx, as_of).ok and check_rfm(answer.reset_index(), tx, as_of).ok
    assert str(check_rfm(answer, tx, as_of)).startswith("✓ your RFM table matches seglab's")


@pytest.mark.parametrize("mistake, hint", [
    ({"day": False}, "compare days, not timestamps"),
    ({"lines": True}, "you counted lines"),
    ({"gross": True}, "spend before returns"),
])
def test_each_rfm_mistake_gets_its_hint(q3, mistake, hint):
    tx, as_of = q3
    feedback = check_rfm(hand_rfm(tx, as_of, **mistake), tx, as_of)
    assert not feedback and hint in str(feedback)


def test_missing_or_malformed_answers_are_feedback_not_errors(q3):
    tx, as_of = q3
    assert "is still empty" in str(check_rfm(None, tx, as_of))
    assert "should be a pandas DataFrame" in str(check_rfm([1, 2], tx, as_of))
    assert "lacks orders, monetary" in str(check_rfm(hand_rfm(tx, as_of)[["recency_days"]], tx, as_of))
    doubled = pd.concat([hand_rfm(tx, as_of)] * 2).reset_index()
    assert "several rows for some customers" in str(check_rfm(doubled, tx, as_of))


def test_choosing_k(data):
    assert check_k(4, data.truth).ok
    too_many = check_k(8, data.truth, sizes=pd.Series([100, 10]))
    assert not too_many and "over-segmentation" in str(too_many) and "9.1%" in str(too_many)
    assert "too few" in str(check_k(2, data.truth))
    assert "whole number" in str(check_k(2.5, data.truth))


def test_segments_against_the_planted_truth(data):
    truth = data.truth
    assert check_segments(truth[["customer_id", "segment"]], truth).ok
    permuted = truth.assign(segment=(truth["segment"] + 1) % 4)  # names do not matter, groups do
    assert check_segments(permuted.set_index("customer_id")["segment"], truth).ok
    rng = np.random.default_rng(0)
    shuffled = truth.assign(segment=rng.permutation(truth["segment"].to_numpy()))
    feedback = check_segments(shuffled, truth)
    assert not feedback and "which features did you segment on" in str(feedback)
    assert "have no segment" in str(check_segments(truth.iloc[:10], truth))


@pytest.fixture(scope="module")
def personas_setup(data):
    features = build_features(data.quarter("2025Q4"))
    seg = segment(features, k=3)
    return features, seg, build_personas(features, seg)


def test_revenue_shares(personas_setup):
    features, seg, _ = personas_setup
    labelled = features.features.merge(seg.segments, on="customer_id")
    right = labelled.groupby("segment")["net_revenue"].sum() / labelled["net_revenue"].sum()
    assert check_revenue_share(right, features.features, seg).ok
    assert "percentages" in str(check_revenue_share(right * 100, features.features, seg))
    customers = labelled["segment"].value_counts(normalize=True).sort_index()
    assert "shares of customers, not of revenue" in str(check_revenue_share(customers, features.features, seg))


def test_actions_are_compared_with_the_rules_and_explained(personas_setup):
    *_, personas = personas_setup
    right = {c.segment: c.actions[0]["action"].lower() for c in personas.cards}
    assert check_actions(right, personas).ok
    wrong = {**right, 0: "send a catalogue"}
    feedback = check_actions(wrong, personas)
    assert not feedback and "you said 'send a catalogue'" in str(feedback)
    assert "why" not in str(feedback) or personas.cards[0].actions[0]["why"] in str(feedback)


def test_migration_and_stayed_share(data):
    features_q3 = build_features(data.quarter("2025Q3"))
    features_q4 = build_features(data.quarter("2025Q4"))
    then = segment(features_q3, k=3)
    now = segment(features_q4, k=3, previous=then.model)
    both = then.segments.merge(now.segments, on="customer_id", suffixes=("_then", "_now"))
    right = pd.crosstab(both["segment_then"], both["segment_now"])
    assert check_migration(right, then, now).ok
    if not right.equals(right.T):
        assert "swapped" in str(check_migration(right.T, then, now))
    by_position = pd.crosstab(then.segments["segment"].to_numpy(), now.segments["segment"].to_numpy()[::-1])
    assert not check_migration(by_position, then, now)
    stayed = np.trace(right.to_numpy()) / right.to_numpy().sum()
    assert check_stayed_share(stayed, then, now).ok
    assert "percentage" in str(check_stayed_share(stayed * 100, then, now))
    assert "is still empty" in str(check_migration(None, then, now))
