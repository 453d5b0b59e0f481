import duckdb
import numpy as np
import pandas as pd
import pytest

from seglab.exceptions import InputError
from seglab.personas import explain_segments, export_audiences
from seglab.personas.rules import Condition, evaluate_rule


@pytest.fixture
def customers():
    rng = np.random.default_rng(0)
    n = 1000
    frame = pd.DataFrame({"customer_id": [f"{i:016x}" for i in range(n)],
                          "recency_days": rng.uniform(0, 400, n), "orders": rng.integers(1, 20, n).astype(float),
                          "plan": rng.choice(["gold", "basic"], n)})
    segment = np.where((frame["recency_days"] <= 90) & (frame["orders"] > 8), 0,
                       np.where(frame["recency_days"] > 300, 2, 1))
    return frame, pd.Series(segment, index=frame["customer_id"])


def test_a_rule_the_data_follows_exactly_is_found_with_fidelity_one(customers):
    frame, labels = customers
    rules = explain_segments(frame, labels, numeric=["recency_days", "orders"], categorical=["plan"])
    s0 = rules.summary.set_index("segment").loc[0]
    assert s0["precision"] == 1.0 and s0["coverage"] == 1.0 and s0["fidelity"] == 1.0
    text = " ".join(rules.rules.loc[rules.rules["segment"] == 0, "rule"])
    # whole-number columns read as the whole numbers they allow; days as days
    assert "orders ≥ 9" in text and "time since last purchase ≤ 90 days" in text
    assert rules.assignment_fidelity == 1.0


def test_fidelity_counts_exactly_the_customers_the_rules_get_wrong(customers):
    frame, labels = customers
    noisy = labels.copy()
    flip = noisy.index[:50]  # 50 customers of 1000 moved to another segment
    noisy.loc[flip] = (noisy.loc[flip] + 1) % 3
    rules = explain_segments(frame, noisy, numeric=["recency_days", "orders"], min_leaf_share=0.05)
    # recompute by hand: the rules of each segment, evaluated as written
    for s, row in rules.summary.set_index("segment").iterrows():
        own = rules.rules[rules.rules["segment"] == s]
        selected = np.zeros(len(frame), dtype=bool)
        for conditions in own["conditions"]:
            selected |= evaluate_rule(frame, conditions, rules.medians)
        member = (noisy.to_numpy() == s)
        assert row["fidelity"] == pytest.approx((selected == member).mean())
        assert row["coverage"] == pytest.approx(selected[member].mean())
        assert row["precision"] == pytest.approx(member[selected].mean())
    assert 0.9 <= rules.summary["fidelity"].min() < 1.0


def test_the_sql_assigns_customers_as_the_reported_fidelity_says(customers):
    frame, labels = customers
    frame = frame.assign(recency_days=frame["recency_days"].where(frame.index % 97 != 0))  # some NULLs
    rules = explain_segments(frame, labels, numeric=["recency_days", "orders"], categorical=["plan"])
    assigned = duckdb.sql(f"SELECT customer_id, {rules.assignment_sql} FROM frame").df().set_index("customer_id")
    agreement = (assigned["segment"].reindex(labels.index).to_numpy() == labels.to_numpy()).mean()
    assert agreement == pytest.approx(rules.assignment_fidelity)


def test_beyond_max_rows_the_trees_grow_on_a_sample_and_the_figures_count_everyone(customers):
    frame, labels = customers
    full = explain_segments(frame, labels, numeric=["recency_days", "orders"], categorical=["plan"])
    sampled = explain_segments(frame, labels, numeric=["recency_days", "orders"], categorical=["plan"],
                               max_rows=400)
    assert sampled.assignment_fidelity > 0.95 and sampled.summary["fidelity"].min() > 0.95
    # the figures are counted on all 1,000 customers, not on the 400 the trees grew on
    member = labels.to_numpy() == 0
    selected = np.zeros(len(frame), dtype=bool)
    for conditions in sampled.rules.loc[sampled.rules["segment"] == 0, "conditions"]:
        selected |= evaluate_rule(frame, conditions, sampled.medians)
    assert sampled.rules.loc[sampled.rules["segment"] == 0, "customers"].sum() >= selected.sum() > 400 * member.mean()
    assert sampled.summary.set_index("segment").loc[0, "coverage"] == pytest.approx(selected[member].mean())
    # which customers the trees grew on depends on their values, not on the row order
    shuffled = frame.sample(frac=1, random_state=1).reset_index(drop=True)
    again = explain_segments(shuffled, labels, numeric=["recency_days", "orders"], categorical=["plan"], max_rows=400)
    assert again.assignment_sql == sampled.assignment_sql
    assert full.assignment_fidelity >= sampled.assignment_fidelity - 0.05


def test_conditions_render_as_text_and_sql():
    c = Condition("plan", "==", "it's")
    assert c.text() == "plan is it's" and c.sql({}) == '"plan" = \'it\'\'s\''
    assert Condition("orders", ">", 8.0).sql({"orders": 3.0}) == 'COALESCE("orders", 3) > 8'


def test_rules_read_with_labels_units_and_rounding_while_sql_keeps_exact_thresholds():
    from seglab.features import FeatureDictionary
    from seglab.personas.rules import RuleWording, rule_text

    d = FeatureDictionary(meta={"currency": "GBP"})
    d.add("clv", "value", "customer lifetime value over 12 months, discounted at 1.0% a month", "GBP")
    d.add("prob_alive", "value", "probability the customer is still active (BG/NBD)", "probability")
    d.add("recency_days", "rfm", "days from the last purchase to the snapshot", "days")
    wording = RuleWording(d)
    rule = [Condition("clv", ">", 1116.4499969482422), Condition("prob_alive", ">", 0.47412),
            Condition("prob_alive", "<=", 0.51735), Condition("recency_days", ">", 189.5)]
    assert rule_text(rule, wording) == ("CLV over 12 months > £1,120 and probability still active 47% to 52% "
                                        "and time since last purchase > 190 days")
    assert "1.12e" not in rule_text(rule, wording)
    assert Condition("clv", ">", 1116.4499969482422).sql({}) == '"clv" > 1116.4499969482422'


def test_adjacent_boxes_merge_and_select_the_same_customers(customers):
    from seglab.personas.rules import merge_boxes

    frame, _ = customers
    pieces = [[Condition("recency_days", "<=", 90.0), Condition("orders", "<=", 8.5)],
              [Condition("recency_days", "<=", 90.0), Condition("orders", ">", 8.5)],
              [Condition("recency_days", ">", 90.0), Condition("recency_days", "<=", 120.0),
               Condition("orders", ">", 8.5)]]
    merged = merge_boxes(pieces)
    assert merged[0] == [Condition("recency_days", "<=", 90.0)] and len(merged) == 2
    before = np.zeros(len(frame), dtype=bool)
    for p in pieces:
        before |= evaluate_rule(frame, p, {})
    after = np.zeros(len(frame), dtype=bool)
    for p in merged:
        after |= evaluate_rule(frame, p, {})
    assert (before == after).all()
    # interval next to interval: p ≤ 0.69 with 0.69 < p ≤ 0.72 is p ≤ 0.72
    assert merge_boxes([[Condition("p", "<=", 0.69)], [Condition("p", ">", 0.69), Condition("p", "<=", 0.72)]]) \
        == [[Condition("p", "<=", 0.72)]]


@pytest.fixture
def segments():
    ids = [f"{i:016x}" for i in range(260)]
    segment = [0] * 150 + [1] * 100 + [2] * 9 + [-1]
    return pd.DataFrame({"customer_id": ids, "segment": segment})


def test_audiences_export_pseudonyms_and_suppress_small_segments(segments, tmp_path):
    names = {0: "High-value loyalists", 1: "Lapsed", 2: "Tiny"}
    manifest = export_audiences(segments, tmp_path / "aud", names=names, min_size=100, as_of="2025-12-31",
                                refreshed="2026-01-05")
    files = sorted(p.name for p in (tmp_path / "aud").iterdir())
    assert files == ["manifest.json", "segment_0.csv", "segment_1.csv"]
    by_segment = {e["segment"]: e for e in manifest["segments"]}
    assert by_segment[2]["exported"] is False and "suppressed" in by_segment[2]["note"]
    assert by_segment[-1]["exported"] is False
    assert manifest["refreshed"] == "2026-01-05" and manifest["as_of"] == "2025-12-31"
    exported = pd.read_csv(tmp_path / "aud" / "segment_0.csv", dtype=str)
    assert list(exported.columns) == ["customer_id", "segment", "segment_name", "group"] and len(exported) == 150


def test_a_segment_of_one_customer_is_never_exported(tmp_path):
    segments = pd.DataFrame({"customer_id": [f"{i:016x}" for i in range(3)], "segment": [0, 0, 1]})
    manifest = export_audiences(segments, tmp_path / "aud", names={0: "a", 1: "b"}, min_size=2)
    assert [e["exported"] for e in manifest["segments"]] == [True, False]


def test_ad_platform_files_hold_only_email_hashes(segments, tmp_path):
    customers = pd.DataFrame({"customer_id": segments["customer_id"],
                              "email_sha256": [f"{i:064x}" for i in range(len(segments))]})
    export_audiences(segments, tmp_path / "aud", names={0: "a", 1: "b", 2: "c"}, customers=customers, min_size=100)
    ad = pd.read_csv(tmp_path / "aud" / "ad_platform" / "segment_0.csv", dtype=str)
    assert list(ad.columns) == ["email_sha256"] and ad["email_sha256"].str.len().eq(64).all()


def test_raw_identifiers_are_refused(tmp_path):
    raw = pd.DataFrame({"customer_id": ["12346", "12347"], "segment": [0, 0]})
    with pytest.raises(InputError, match="pseudonyms"):
        export_audiences(raw, tmp_path / "aud", names={0: "a"}, min_size=1)


def test_a_new_export_leaves_no_stale_file(segments, tmp_path):
    export_audiences(segments, tmp_path / "aud", names={}, min_size=100)
    (tmp_path / "aud" / "segment_7.csv").write_text("old")
    export_audiences(segments, tmp_path / "aud", names={}, min_size=100)
    assert not (tmp_path / "aud" / "segment_7.csv").exists()
