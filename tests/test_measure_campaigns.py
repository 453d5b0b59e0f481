"""Campaign lift per segment: counts, intervals, revenue, verdicts, reviews, bad input."""

import numpy as np
import pandas as pd
import pytest

from seglab.exceptions import SchemaError
from seglab.measure import NOT_SEGMENTED, measure_campaigns, review_actions
from seglab.measure.intervals import newcombe_interval


def _campaign(name, groups, converted, *, start=0, sent="2025-10-05", revenue=None, **extra):
    n = len(groups)
    frame = pd.DataFrame({"customer_id": [f"c{start + i:05d}" for i in range(n)], "campaign_id": name,
                          "sent_at": pd.Timestamp(sent), "group": groups, "converted": converted, **extra})
    if revenue is not None:
        frame["revenue"] = revenue
    return frame


def _groups(treated, control):
    return ["treatment"] * treated + ["control"] * control


def _flags(k_treated, treated, k_control, control):
    return [True] * k_treated + [False] * (treated - k_treated) + [True] * k_control + [False] * (control - k_control)


def _segments(frame, segment=0):
    return pd.DataFrame({"customer_id": frame["customer_id"].unique(), "segment": segment})


def test_counts_rates_and_lift_are_computed_by_hand():
    rows = _campaign("spring", _groups(300, 100), _flags(90, 300, 15, 100),
                     revenue=[50.0] * 90 + [0.0] * 210 + [40.0] * 15 + [0.0] * 85)
    cell = measure_campaigns(rows, _segments(rows)).cells.iloc[0]
    assert (cell["treated"], cell["control"], cell["conversions_treated"], cell["conversions_control"]) == \
        (300, 100, 90, 15)
    assert cell["rate_treated"] == 0.3 and cell["rate_control"] == 0.15 and cell["lift"] == pytest.approx(0.15)
    low, high = newcombe_interval(90, 300, 15, 100)
    assert (cell["lift_low"], cell["lift_high"]) == pytest.approx((float(low), float(high)))
    assert cell["relative_lift"] == pytest.approx(1.0) and cell["relative_low"] < 1.0 < cell["relative_high"]
    assert cell["revenue_treated"] == 15.0 and cell["revenue_control"] == 6.0 and cell["revenue_lift"] == 9.0
    assert cell["revenue_low"] < 9.0 < cell["revenue_high"]
    assert cell["incremental_conversions"] == pytest.approx(45.0) and cell["incremental_revenue"] == 2700.0
    assert cell["incremental_revenue_low"] == pytest.approx(cell["revenue_low"] * 300)
    assert cell["verdict"] == "worked" and "+15.0 points" in cell["note"]


def test_a_control_group_of_zero_or_one_customer_gives_no_lift_and_says_why():
    none = _campaign("a", _groups(50, 0), [True] * 10 + [False] * 40)
    one = _campaign("b", _groups(50, 1), [True] * 10 + [False] * 41, start=100)
    both = pd.concat([none, one])
    cells = measure_campaigns(both, _segments(both)).cells.set_index("campaign_id")
    assert cells.loc["a", "verdict"] == "not measured" and cells.loc["a", "note"] == "no control group"
    assert cells.loc["b", "verdict"] == "not measured" and "control group of one customer" in cells.loc["b", "note"]
    assert np.isnan(cells.loc["b", "lift_low"]) or cells.loc["b", "verdict"] == "not measured"


def test_a_customer_in_both_groups_of_a_campaign_is_left_out_and_counted():
    rows = _campaign("x", _groups(40, 40), _flags(10, 40, 10, 40))
    twice = rows.iloc[[0]].assign(group="control")
    results = measure_campaigns(pd.concat([rows, twice]), _segments(rows))
    cell = results.cells.iloc[0]
    assert (cell["treated"], cell["control"]) == (39, 40)
    assert "1 customer was in both the treatment and the control group of one campaign (1 campaign)" in results.notes[0]


def test_several_sends_to_one_customer_count_once():
    rows = _campaign("x", _groups(30, 30), _flags(5, 30, 5, 30), revenue=[10.0] * 60)
    again = rows.iloc[:10].assign(converted=True, revenue=5.0)
    cell = measure_campaigns(pd.concat([rows, again]), _segments(rows)).cells.iloc[0]
    assert cell["treated"] == 30 and cell["conversions_treated"] == 10  # five converted first, five more later
    assert cell["revenue_treated"] == pytest.approx((30 * 10 + 10 * 5) / 30)


def test_verdicts_worked_backfired_no_effect_and_underpowered():
    rng = np.random.default_rng(0)

    def drawn(name, treated, control, p_t, p_c, start):
        conv = np.concatenate([rng.random(treated) < p_t, rng.random(control) < p_c])
        return _campaign(name, _groups(treated, control), conv, start=start)

    frames = [drawn("worked", 2000, 2000, 0.45, 0.30, 0), drawn("backfired", 2000, 2000, 0.20, 0.35, 10_000),
              drawn("nothing", 5000, 5000, 0.40, 0.40, 20_000), drawn("tiny", 40, 8, 0.40, 0.40, 40_000)]
    both = pd.concat(frames)
    cells = measure_campaigns(both, _segments(both)).cells.set_index("campaign_id")
    assert cells.loc["worked", "verdict"] == "worked"
    assert cells.loc["backfired", "verdict"] == "backfired" and "−" in cells.loc["backfired", "note"]
    assert cells.loc["nothing", "verdict"] == "no effect detected"
    assert "find a lift of" in cells.loc["nothing", "note"]
    assert cells.loc["nothing", "mde"] < 0.25 * 0.40
    assert cells.loc["tiny", "verdict"] == "underpowered" and "a smaller effect may exist" in cells.loc["tiny", "note"]


def test_cells_are_per_segment_and_customers_in_no_segment_apart():
    rows = _campaign("x", _groups(100, 100), _flags(50, 100, 20, 100))
    segments = pd.DataFrame({"customer_id": rows["customer_id"][:150], "segment": [0] * 75 + [1] * 75})
    results = measure_campaigns(rows, segments, names={0: "Loyal", 1: "Bargain"})
    cells = results.cells.set_index("segment")
    assert set(cells.index) == {0, 1, NOT_SEGMENTED}
    assert cells.loc[0, "treated"] == 75 and cells.loc[1, "treated"] == 25 and cells.loc[1, "control"] == 50
    assert cells.loc[NOT_SEGMENTED, "control"] == 50 and cells.loc[0, "name"] == "Loyal"
    assert any("in no segment" in n for n in results.notes)
    total = results.campaigns.iloc[0]
    assert total["treated"] == 100 and total["conversions_control"] == 20


def test_the_period_marks_campaigns_and_actions_come_from_the_campaign_or_the_segment():
    q3 = _campaign("summer", _groups(20, 20), _flags(5, 20, 5, 20), sent="2025-08-01")
    q4 = _campaign("winter", _groups(20, 20), _flags(5, 20, 5, 20), sent="2025-11-01", action="Win back")
    both = pd.concat([q3, q4])
    results = measure_campaigns(both, _segments(both), period="2025Q4", actions={0: "Nurture"})
    campaigns = results.campaigns.set_index("campaign_id")
    assert not campaigns.loc["summer", "in_period"] and campaigns.loc["winter", "in_period"]
    assert campaigns.loc["summer", "period"] == "2025Q3"
    actions = results.cells.set_index("campaign_id")
    assert actions.loc["summer", "action"] == "Nurture" and actions.loc["summer", "action_from"] == "segment"
    assert actions.loc["winter", "action"] == "Win back" and actions.loc["winter", "action_from"] == "campaign"
    assert results.in_period()["campaign_id"].tolist() == ["winter"]


def test_results_do_not_depend_on_row_order_and_inputs_are_not_modified(tmp_path):
    rng = np.random.default_rng(2)
    rows = _campaign("x", _groups(500, 200), rng.random(700) < 0.3, revenue=rng.gamma(2, 20, 700))
    segments = pd.DataFrame({"customer_id": rows["customer_id"], "segment": rng.integers(0, 3, 700)})
    before = rows.copy()
    a = measure_campaigns(rows, segments).cells
    pd.testing.assert_frame_equal(rows, before)
    b = measure_campaigns(rows.sample(frac=1, random_state=1), segments.sample(frac=1, random_state=2)).cells
    pd.testing.assert_frame_equal(a, b)
    path = tmp_path / "campaigns.parquet"
    rows.to_parquet(path)
    pd.testing.assert_frame_equal(a, measure_campaigns(path, segments).cells)  # a Parquet file, read by the engine


def test_outcome_columns_are_required():
    rows = _campaign("x", _groups(5, 5), _flags(1, 5, 1, 5)).drop(columns="converted")
    with pytest.raises(SchemaError, match="converted"):
        measure_campaigns(rows, _segments(rows))


def test_reviews_flag_an_action_with_no_effect_twice_and_one_that_backfired():
    rng = np.random.default_rng(5)
    frames = []
    for i, (name, sent, p_t, action) in enumerate([("n1", "2025-04-01", 0.40, "Nurture"),
                                                   ("small", "2025-06-01", 0.40, "Nurture"),
                                                   ("n2", "2025-08-01", 0.40, "Nurture"),
                                                   ("push", "2025-11-01", 0.25, "Onboard")]):
        size = 30 if name == "small" else 4000
        conv = np.concatenate([rng.random(size) < p_t, rng.random(size) < 0.40])
        frames.append(_campaign(name, _groups(size, size), conv, start=10_000 * i, sent=sent, action=action))
    rows = pd.concat(frames)
    results = measure_campaigns(rows, _segments(rows))
    assert results.cells.set_index("campaign_id")["verdict"].to_dict() == {
        "n1": "no effect detected", "small": "underpowered", "n2": "no effect detected", "push": "backfired"}
    reviews = review_actions(results).set_index("action")
    # the underpowered test between the two does not count: it could not tell
    assert reviews.loc["Nurture", "reason"] == "no effect twice" and reviews.loc["Nurture", "campaigns"] == ["n1", "n2"]
    assert reviews.loc["Onboard", "reason"] == "backfired" and "lowered conversion" in reviews.loc["Onboard", "note"]


def test_an_action_that_worked_last_time_is_not_flagged():
    rng = np.random.default_rng(6)
    frames = [_campaign(name, _groups(3000, 3000), np.concatenate([rng.random(3000) < p, rng.random(3000) < 0.3]),
                        start=10_000 * i, sent=sent, action="Nurture")
              for i, (name, sent, p) in enumerate([("a", "2025-02-01", 0.3), ("b", "2025-05-01", 0.3),
                                                    ("c", "2025-08-01", 0.45)])]
    rows = pd.concat(frames)
    assert review_actions(measure_campaigns(rows, _segments(rows))).empty
