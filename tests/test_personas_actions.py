"""Names and actions from what each segment is made of (journey stages, RFM mix, value,
capacity, trend) rather than from one average."""

import numpy as np
import pandas as pd
import pytest

from seglab.personas import PeriodFigures, name_segments, profile_segments, recommend_actions, segment_facts
from seglab.personas.facts import natural_tiers


def _mix(rng, n, shares: dict) -> list:
    values = [v for v, share in shares.items() for _ in range(round(share * n))]
    return list(rng.permutation(values))[:n]


@pytest.fixture
def shop():
    """Four segments of 50: top loyal buyers; lapsed former big spenders (92% lapsed or
    churned, over three times the light buyers' past spend); active light buyers; an at-risk middle."""
    rng = np.random.default_rng(1)
    n = 50
    parts = []
    specs = [
        (0, {"loyal": 0.9, "repeat": 0.1}, {"Champions": 0.8, "Loyal": 0.2}, 5000, 3000, 20, 0.97),
        (1, {"lapsed": 0.5, "churned": 0.42, "repeat": 0.08}, {"At risk": 0.5, "Can't lose them": 0.24,
                                                                "Hibernating": 0.26}, 1700, 150, 380, 0.3),
        (2, {"repeat": 0.6, "one-time buyer": 0.4}, {"Need attention": 0.5, "Potential loyalists": 0.5},
         500, 400, 90, 0.9),
        (3, {"repeat": 0.7, "loyal": 0.3}, {"At risk": 0.4, "About to sleep": 0.3, "Loyal": 0.3},
         1500, 900, 150, 0.8),
    ]
    for segment, journey, rfm, revenue, clv, recency, alive in specs:
        parts.append(pd.DataFrame({
            "segment": segment, "journey_stage": _mix(rng, n, journey), "rfm_segment": _mix(rng, n, rfm),
            "net_revenue": rng.normal(revenue, revenue * 0.1, n), "clv": rng.normal(clv, clv * 0.1, n),
            "recency_days": rng.normal(recency, 10, n), "prob_alive": np.clip(rng.normal(alive, 0.03, n), 0, 1),
            "orders_per_month": rng.normal({0: 1.2, 1: 0.5, 2: 0.1, 3: 0.4}[segment], 0.05, n)}))
    table = pd.concat(parts, ignore_index=True)
    table.insert(0, "customer_id", [f"c{i:03d}" for i in range(len(table))])
    labels = table.set_index("customer_id")["segment"]
    return table.drop(columns="segment"), labels


def test_composition_decides_status_and_action(shop):
    table, labels = shop
    profiles = profile_segments(table, labels)
    facts = segment_facts(profiles)
    assert [facts[s].status for s in range(4)] == [None, "lapsed", None, "at risk"]
    assert facts[1].lapsed_share == pytest.approx(0.92) and facts[1].past_upper
    actions = recommend_actions(profiles)
    main = {s: acts[0]["action"] for s, acts in actions.items()}
    # the segment the old rules told to "serve at low cost" (low CLV) is won back: it spent a lot
    assert main == {0: "Reward and retain", 1: "Win back", 2: "Serve at low cost", 3: "Prevent churn"}
    why = actions[1][0]["why"]
    assert why.startswith("92% lapsed or churned (journey stage)") and "2nd highest of 4 segments" in why
    assert "70% At risk, Can't lose them or About to sleep" in actions[3][0]["why"]
    assert actions[1][0]["kpis"] == ["time since last purchase"]  # no transactions here: no reactivation KPI


def test_names_tell_the_segments_apart(shop):
    table, labels = shop
    names = name_segments(profile_segments(table, labels))
    assert names[1] == "Lapsed former big spenders"
    assert names[3].startswith("At-risk") and names[0].startswith("Top-value")
    starts = {" ".join(n.lower().split()[:2]) for n in names.values()}
    assert len(starts) == 4


def test_a_lapsed_segment_that_spent_little_is_reactivated_cheaply(shop):
    table, labels = shop
    cheap = table.copy()
    lapsed = labels.to_numpy() == 1
    cheap.loc[lapsed, "net_revenue"] = cheap.loc[lapsed, "net_revenue"] / 10  # now the lowest past spend
    actions = recommend_actions(profile_segments(cheap, labels))
    assert actions[1][0]["action"] == "Reactivate at low cost"
    assert name_segments(profile_segments(cheap, labels))[1] != "Lapsed former big spenders"


def _period(current: list[float], previous: list[float]) -> PeriodFigures:
    rows = [{"window": w, "segment": s, "revenue": r, "orders": 10, "active": 5, "new": 0, "revenue_share": 0.25}
            for w, revenues in (("current", current), ("previous", previous)) for s, r in enumerate(revenues)]
    totals = pd.DataFrame([{"window": w, "revenue": float(sum(r)), "orders": 40, "active": 20, "new": 0,
                            "revenue_share": 1.0} for w, r in (("current", current), ("previous", previous))])
    windows = {"current": {"label": "2025Q4", "start": "2025-10-01", "end": "2025-12-31", "new_counted": True},
               "previous": {"label": "2025Q3", "start": "2025-07-01", "end": "2025-09-30", "new_counted": True},
               "year_ago": None}
    return PeriodFigures(period="2025Q4", windows=windows, table=pd.DataFrame(rows), totals=totals)


def test_a_falling_segment_gets_prevent_churn_with_the_numbers(shop):
    table, labels = shop
    profiles = profile_segments(table, labels)
    steady = _period([900, 0, 300, 600], [1000, 50, 280, 200])
    assert segment_facts(profiles, steady)[0].trend == pytest.approx(-0.1)
    assert [a["action"] for a in recommend_actions(profiles, period=steady)[0]] == ["Reward and retain"]
    falling = _period([500, 0, 300, 600], [1000, 50, 280, 200])
    actions = recommend_actions(profiles, period=falling)
    assert [a["action"] for a in actions[0]] == ["Reward and retain", "Prevent churn"]
    assert actions[0][1]["why"] == "2025Q4 revenue 500, −50% on 2025Q3 (1,000)"
    assert "revenue this period" in actions[0][0]["kpis"]  # the data has dated purchases now
    assert "19% of customers" not in actions[0][0]["why"] and "of 2025Q4's revenue" in actions[0][0]["why"]


def test_natural_tiers_split_at_the_gaps_and_merge_close_values():
    assert natural_tiers(pd.Series([82.0, 77, 49, 47, 19, 17]), log=False).tolist() == \
        ["top", "top", "mid", "mid", "low", "low"]
    assert natural_tiers(pd.Series([614.0, 597.0])).tolist() == ["top", "top"]  # 3% apart: one tier
    assert natural_tiers(pd.Series([4477.0, 613.0, 477.0])).tolist() == ["top", "mid", "low"]
    assert natural_tiers(pd.Series([5.0])).tolist() == ["top"]


def test_a_segment_without_a_value_gets_no_tier_and_the_others_still_do(shop):
    """Prospects (no purchases) have no CLV: their segment's mean is missing."""
    table, labels = shop
    table = table.assign(clv=table["clv"].where(labels.to_numpy() != 2))
    facts = segment_facts(profile_segments(table, labels))
    assert facts[2].tier is None and facts[2].value is None
    assert facts[0].tier == "top" and facts[3].tier in {"mid", "low"}  # segment 1 lapsed: not tiered
    assert name_segments(profile_segments(table, labels))  # names every segment without a tier error
