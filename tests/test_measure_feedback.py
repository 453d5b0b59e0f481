"""Feedback per segment (NPS, CSAT, ratings, topics), response rates without a control group,
and the per-segment scores the explorer's cards show."""

import numpy as np
import pandas as pd
import pytest

from seglab.measure import (ALL_CUSTOMERS, ANY_RESPONSE, Outcomes, attach_scores, feedback_by_segment,
                            response_rates, segment_scores)
from seglab.measure.intervals import nps_interval, wilson_interval


def _answers(kind, scores, customers, date="2025-11-15", topics=None):
    frame = pd.DataFrame({"customer_id": customers, "date": pd.Timestamp(date), "kind": kind,
                          "score": np.asarray(scores, dtype=float)})
    if topics is not None:
        frame["topic"] = topics
    return frame


@pytest.fixture
def feedback():
    now = _answers("nps", [10, 9, 9, 8, 3, 10, 0, 6], ["a", "b", "c", "d", "e", "f", "g", "h"],
                   topics=["price", "price", "app", None, "price", "app", "app", "delivery"])
    before = _answers("nps", [10, 10, 10, 9], ["a", "b", "c", "e"], date="2025-08-01")
    csat = _answers("csat", [5, 4, 2, 1, 3], ["a", "b", "e", "g", "h"])
    rating = _answers("rating", [4, 5], ["a", "c"])
    stranger = _answers("nps", [0], ["z"])  # in no segment
    return pd.concat([now, before, csat, rating, stranger], ignore_index=True)


@pytest.fixture
def segments():
    return pd.DataFrame({"customer_id": list("abcdefgh"), "segment": [0, 0, 0, 0, 1, 1, 1, 1]})


def test_nps_and_csat_per_segment_by_hand(feedback, segments):
    result = feedback_by_segment(feedback, segments, period="2025Q4", names={0: "Loyal", 1: "Other"})
    loyal = result.score(0, "nps")
    assert loyal["responses"] == 4 and loyal["promoters"] == 3 and loyal["detractors"] == 0
    assert loyal["score"] == 75.0
    low, high = nps_interval(3, 0, 4)
    assert (loyal["low"], loyal["high"]) == pytest.approx((float(low) * 100, float(high) * 100))
    other = result.score(1, "nps")  # 3, 10, 0, 6: one promoter, three detractors
    assert other["score"] == -50.0
    csat = result.score(1, "csat")  # 2, 1, 3: nobody satisfied
    assert csat["score"] == 0.0 and csat["responses"] == 3 and csat["mean"] == 2.0
    assert (csat["low"], csat["high"]) == pytest.approx(tuple(float(v) for v in wilson_interval(0, 3)))
    rating = result.score(0, "rating")
    assert rating["score"] == 4.5 and rating["low"] < 4.5 < rating["high"]
    assert result.windows == {"current": "2025Q4", "previous": "2025Q3"}


def test_customers_in_no_segment_count_only_for_all_customers(feedback, segments):
    result = feedback_by_segment(feedback, segments, period="2025Q4")
    everyone = result.score(ALL_CUSTOMERS, "nps")
    assert everyone["responses"] == 9 and everyone["detractors"] == 4  # the stranger's 0 included
    assert set(result.scores["segment"]) == {0, 1, ALL_CUSTOMERS}


def test_change_since_the_previous_period(feedback, segments):
    result = feedback_by_segment(feedback, segments, period="2025Q4")
    change = result.change(0)
    assert change["change"] == pytest.approx(75.0 - 100.0)
    assert change["low"] < change["change"] < change["high"]
    assert change["responses_previous"] == 3
    assert result.change(1)["change"] == pytest.approx(-50.0 - 100.0)  # customer e answered 9 in 2025Q3


def test_top_topics_with_the_share_of_detractors(feedback, segments):
    topics = feedback_by_segment(feedback, segments, period="2025Q4", top_topics=2).topics
    other = topics[topics["segment"] == 1].set_index("topic")
    assert list(other.index) == ["app", "delivery"]  # app twice; delivery and price once each: by name
    assert other.loc["app", "responses"] == 2 and other.loc["app", "detractor_share"] == 0.5
    assert other.loc["app", "share"] == pytest.approx(2 / 7)  # of the segment's 7 answers this period (4 NPS, 3 CSAT)
    loyal = topics[topics["segment"] == 0].set_index("topic")
    assert loyal.loc["price", "responses"] == 2 and loyal.loc["price", "detractor_share"] == 0.0


def test_a_static_period_uses_every_answer_and_has_no_change(feedback, segments):
    result = feedback_by_segment(feedback, segments, period="all")
    assert result.score(0, "nps")["responses"] == 7 and result.changes.empty  # 4 this quarter, 3 before
    assert result.windows["previous"] is None


def test_the_input_is_not_modified(feedback, segments):
    before = feedback.copy()
    feedback_by_segment(feedback, segments, period="2025Q4")
    pd.testing.assert_frame_equal(feedback, before)


def test_response_rates_per_segment_and_campaign():
    customers = pd.DataFrame({"customer_id": list("abcdef"), "offer_1": [1, 0, 0, 1, 0, None],
                              "offer_2": [0, 0, 1, 1, 0, 0]})
    segments = pd.DataFrame({"customer_id": list("abcdef"), "segment": [0, 0, 0, 1, 1, 1]})
    rates = response_rates(customers, segments, ["offer_1", "offer_2"], names={0: "A", 1: "B"})
    table = rates.set_index(["segment", "column"])
    assert table.loc[(0, "offer_1"), "rate"] == pytest.approx(1 / 3)
    assert table.loc[(1, "offer_1"), "customers"] == 2  # the missing answer is left out
    assert table.loc[(0, ANY_RESPONSE), "responded"] == 2 and table.loc[(1, ANY_RESPONSE), "rate"] == pytest.approx(1 / 3)
    assert table.loc[(ALL_CUSTOMERS, ANY_RESPONSE), "responded"] == 3
    assert (rates["low"] <= rates["rate"]).all() and (rates["rate"] <= rates["high"]).all()
    assert rates["column"].tolist()[:3] == ["offer_1", "offer_2", ANY_RESPONSE]


def test_segment_scores_for_any_segmentation(feedback, segments):
    campaigns = pd.DataFrame({"customer_id": list("abcdefgh"), "campaign_id": "x",
                              "group": ["treatment"] * 3 + ["control"] + ["treatment"] * 3 + ["control"],
                              "converted": [True, True, False, False, False, False, True, True]})
    outcomes = Outcomes.from_tables(campaigns=campaigns, feedback=feedback, period="2025Q4")
    scores = segment_scores(segments, outcomes)
    assert scores.loc[0, "response_rate"] == pytest.approx(2 / 3) and scores.loc[0, "control_rate"] == 0
    assert scores.loc[1, "response_rate"] == pytest.approx(1 / 3) and scores.loc[1, "control_rate"] == 1
    assert scores.loc[0, "nps"] == 75.0 and scores.loc[1, "nps_answers"] == 4
    other = segment_scores(segments.assign(segment=[0, 1] * 4), outcomes)  # another k, same outcomes
    assert other.loc[0, "contacted"] + other.loc[1, "contacted"] == 6


def test_persona_cards_get_response_and_nps_lines(feedback, segments):
    from types import SimpleNamespace

    from seglab.personas import PersonaCard

    cards = [PersonaCard(segment=s, name=n, summary="", customers=4, share=0.5, revenue_share=None)
             for s, n in ((0, "Loyal"), (1, "Other"))]
    personas = SimpleNamespace(cards=cards, card=lambda s: cards[s])
    customers = pd.DataFrame({"customer_id": list("abcdefgh"), "offer": [1, 0, 0, 0, 1, 1, 0, 0]})
    outcomes = Outcomes.from_tables(feedback=feedback, customers=customers, responses=["offer"], period="2025Q4")
    attach_scores(personas, segments, outcomes)
    text = personas.card(0).to_markdown()
    assert "**Response and feedback**" in text and "NPS +75 (4 answers, 2025Q4)" in text
    assert "answered at least one of 1 campaign: 25% (a response rate" in text
    assert "not a lift" in text
