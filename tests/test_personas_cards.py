"""Persona cards (seglab.personas.cards) from hand-made profiles, traits and actions.

Four customers, two segments of two: segment 0 spends 800 each over 10 orders, segment 1
200 over 2; so segment 0 holds 50% of the customers and 80% of the revenue.
"""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from seglab.personas import PeriodFigures, persona_cards, profile_segments

NAMES = {0: "Big spenders", 1: "Light spenders"}


def _profiles(**columns):
    n = len(next(iter(columns.values())))
    table = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], **columns})
    labels = pd.Series([0 if i < 2 else 1 for i in range(n)], index=table["customer_id"])
    return profile_segments(table, labels)


@pytest.fixture
def profiles():
    return _profiles(net_revenue=[800.0, 800, 200, 200], orders=[10.0, 10, 2, 2])


def _traits(*rows):
    return pd.DataFrame([{"segment": s, "text": text, "criterion": criterion} for s, text, criterion in rows],
                        columns=["segment", "text", "criterion"])


TRAITS = _traits((0, "placed 10 orders each", "rfm"), (0, "young", "demographic"), (0, "worth a lot", "value"),
                 (0, "care about price", "psychographic"), (0, "live in the north", "geographic"))


def _cards(profiles, traits=TRAITS, actions=None, **options):
    return {c.segment: c for c in persona_cards(profiles, traits, NAMES, actions or {}, **options)}


def test_each_trait_goes_to_the_section_of_its_criterion(profiles):
    card = _cards(profiles)[0]
    assert card.who == ["young", "live in the north"] and card.how == ["placed 10 orders each"]
    assert card.worth == ["worth a lot"] and card.cares == ["care about price"]


def test_the_summary_gives_the_shares_and_the_lead_trait(profiles):
    cards = _cards(profiles)
    assert cards[0].summary == "50% of customers, 80% of revenue over all the data; placed 10 orders each."
    assert cards[1].summary == "50% of customers, 20% of revenue over all the data; no trait sets them apart."
    assert (cards[0].customers, cards[0].share, cards[0].revenue_share) == (2, 0.5, pytest.approx(0.8))


def test_without_a_value_trait_the_worth_section_states_the_value_per_customer(profiles):
    card = _cards(profiles, currency="GBP")[1]
    assert card.worth == ["Net revenue over all the data: £200 each"]
    assert card.kpis == {"net_revenue": 200.0, "orders": 2.0}


def test_the_periods_share_of_revenue_joins_the_summary_and_its_figures_the_kpis(profiles):
    rows = [{"window": "current", "segment": s, "revenue": r, "orders": o, "active": 2, "new": 0,
             "revenue_share": r / 500} for s, r, o in ((0, 450.0, 6), (1, 50.0, 1))]
    totals = pd.DataFrame([{"window": "current", "revenue": 500.0, "orders": 7, "active": 4, "new": 0,
                            "revenue_share": 1.0}])
    windows = {"current": {"label": "2025Q4", "start": "2025-10-01", "end": "2025-12-31", "new_counted": True},
               "previous": None, "year_ago": None}
    period = PeriodFigures(period="2025Q4", windows=windows, table=pd.DataFrame(rows), totals=totals)
    card = _cards(profiles, period=period)[0]
    assert card.summary.startswith("50% of customers, 90% of 2025Q4's revenue, 80% of revenue over all the data;")
    assert card.kpis["period_revenue"] == 450.0 and card.kpis["period_orders"] == 6


def test_the_actions_are_on_the_card_with_their_kpis_to_watch_once_each(profiles):
    actions = {0: [{"action": "Nurture", "why": "", "do": "", "channels": [], "kpis": ["orders", "revenue"]},
                   {"action": "Reduce returns", "why": "", "do": "", "channels": [], "kpis": ["return rate", "orders"]}]}
    cards = _cards(profiles, actions=actions)
    assert [a["action"] for a in cards[0].actions] == ["Nurture", "Reduce returns"]
    assert cards[0].kpis_to_watch == ["orders", "revenue", "return rate"]
    assert cards[1].actions == [] and cards[1].kpis_to_watch == []


def test_the_three_rules_covering_most_customers_are_on_the_card_with_their_quality(profiles):
    rules = SimpleNamespace(
        rules=pd.DataFrame({"segment": [0, 0, 0, 0, 1], "rule": ["a", "b", "c", "d", "e"],
                            "customers": [5, 20, 10, 1, 7]}),
        summary=pd.DataFrame({"segment": [0, 1], "precision": [0.9, 0.7], "coverage": [0.8, 0.6],
                              "fidelity": [0.85, 0.65]}))
    cards = _cards(profiles, rules=rules)
    assert cards[0].rules == ["b", "c", "a"] and cards[1].rules == ["e"]
    assert cards[0].rules_quality == {"precision": 0.9, "coverage": 0.8, "fidelity": 0.85}


def test_a_segment_of_one_customer_or_below_the_audience_minimum_is_flagged():
    profiles = _profiles(orders=[10.0, 10, 2])  # segment 1 is one customer
    cards = _cards(profiles, traits=_traits(), min_audience=5)
    assert cards[1].flags == ["a segment of one customer: not a persona; suppressed from exports"]
    assert cards[0].flags == ["fewer than 5 customers: not exported as an audience"]


def test_a_feature_unknown_for_a_tenth_of_the_segment_is_flagged():
    profiles = _profiles(orders=[10.0, 10, 2, 2], return_rate=[0.1, np.nan, 0.0, 0.0])
    cards = _cards(profiles, traits=_traits())
    assert cards[0].flags == ["Return rate is unknown for 1 customer of this segment; traits use those who have "
                              "a value"]
    assert cards[1].flags == []


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # profiling a column with an infinite value
def test_kpis_that_are_not_finite_are_left_empty():
    profiles = _profiles(orders=[10.0, 10, 2, 2], avg_order_value=[np.inf, 50.0, 20.0, 20.0])
    cards = _cards(profiles, traits=_traits())
    assert cards[0].kpis["avg_order_value"] is None and cards[1].kpis["avg_order_value"] == 20.0


def test_the_markdown_card_carries_no_raw_html(profiles):
    card = persona_cards(profiles, TRAITS, {0: "<b>VIPs</b> & co", 1: "Others"}, {})[0]
    text = card.to_markdown()
    assert text.startswith("## &lt;b>VIPs&lt;/b> &amp; co (segment 0)") and "<b>" not in text
    assert "**Who they are**\n- young\n- live in the north" in text


def test_two_segments_that_lead_with_the_same_trait_are_summarised_by_what_tells_them_apart():
    # Mall-like: segments 0 and 1 both earn little (their strongest trait); they differ in spending
    from seglab.personas import distinguishing_traits

    n = 20
    rng = np.random.default_rng(0)
    income = np.repeat([20.0, 22.0, 80.0, 85.0], n) + rng.normal(0, 3, 4 * n)
    score = np.repeat([35.0, 65.0, 50.0, 52.0], n) + rng.normal(0, 15, 4 * n)
    table = pd.DataFrame({"customer_id": [f"c{i}" for i in range(4 * n)], "annual_income_k": income,
                          "spending_score": score})
    labels = pd.Series([i // n for i in range(4 * n)], index=table["customer_id"])
    profiles = profile_segments(table, labels)
    traits = distinguishing_traits(profiles)
    firsts = {s: traits[traits["segment"] == s].iloc[0]["feature"] for s in (0, 1)}
    assert firsts == {0: "annual_income_k", 1: "annual_income_k"}  # the same lead: the summaries would match
    cards = {c.segment: c for c in persona_cards(profiles, traits, {s: f"s{s}" for s in range(4)}, {})}
    assert "spending score" in cards[0].summary and "spending score" in cards[1].summary
    assert cards[0].summary != cards[1].summary
