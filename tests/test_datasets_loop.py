"""The synthetic data's campaigns and feedback: planted effects, truth beside the data, and
customers, orders and events untouched by them."""

import numpy as np
import pandas as pd

from seglab.datasets import make_customers, write_sample
from seglab.datasets.synthetic import CAMPAIGN_PLAN


def test_campaigns_plant_zero_positive_and_negative_effects_per_segment():
    data = make_customers(1500, 4, seed=11)
    truth = data.campaign_truth
    assert (truth["lift"] == 0).any() and (truth["lift"] > 0).any() and (truth["lift"] < 0).sum() == 1
    assert truth["lift"].equals(truth["treatment_rate"] - truth["control_rate"])
    assert truth["revenue_lift"].equals(truth["lift"] * truth["revenue_per_converter"])
    campaigns = data.campaigns
    assert set(campaigns["group"]) == {"treatment", "control"}
    assert set(campaigns["campaign_id"]) == set(truth["campaign_id"])
    assert not campaigns.duplicated(["campaign_id", "customer_id"]).any()
    # every campaign reaches only the planted segments its truth names, with its control share
    planted = data.truth.set_index("customer_id")["segment"]
    reached = campaigns.assign(segment=campaigns["customer_id"].map(planted))
    for campaign_id, rows in reached.groupby("campaign_id"):
        assert set(rows["segment"]) == set(truth.loc[truth["campaign_id"] == campaign_id, "segment"])
        share = truth.loc[truth["campaign_id"] == campaign_id, "control_share"].iloc[0]
        assert (rows["group"] == "control").mean() == round(share * len(rows)) / len(rows)


def test_the_planted_lift_is_what_the_data_shows():
    from seglab.measure.intervals import newcombe_interval

    data = make_customers(3000, 4, seed=12)
    planted = data.truth.set_index("customer_id")["segment"]
    rows = data.campaigns.assign(segment=data.campaigns["customer_id"].map(planted))
    counts = rows.groupby(["campaign_id", "segment", "group"])["converted"].agg(["sum", "size"]).unstack("group")
    low, high = newcombe_interval(counts[("sum", "treatment")], counts[("size", "treatment")],
                                  counts[("sum", "control")], counts[("size", "control")], confidence=0.999)
    truth = data.campaign_truth.set_index(["campaign_id", "segment"])["lift"].reindex(counts.index)
    inside = (low <= truth) & (truth <= high)
    assert len(inside) > 30 and inside.mean() >= 0.95  # the planted lifts, inside 99.9 % intervals
    push = rows[rows["campaign_id"].str.endswith("app push")]
    by_group = push.groupby("group")["converted"].mean()
    assert by_group["treatment"] < by_group["control"]  # the negative effect shows


def test_feedback_has_planted_nps_differences_and_a_drop_in_the_last_quarter():
    data = make_customers(3000, 4, seed=13)
    answers = data.feedback.merge(data.truth[["customer_id", "segment"]], on="customer_id")
    assert set(answers["kind"]) == {"nps", "csat"}
    assert answers.loc[answers["kind"] == "nps", "score"].between(0, 10).all()
    assert answers.loc[answers["kind"] == "csat", "score"].between(1, 5).all()
    nps = answers[answers["kind"] == "nps"]
    score = nps.groupby("segment")["score"].apply(lambda s: ((s >= 9).mean() - (s <= 6).mean()) * 100)
    assert score.loc[0] > score.loc[1] + 25  # loyal customers recommend, bargain hunters less
    truth = data.feedback_truth
    last, before = truth["period"].max(), sorted(truth["period"].unique())[-2]
    drop = truth.set_index(["period", "segment"])["nps"]
    assert drop[(last, 3)] < drop[(before, 3)] - 30


def test_loop_data_follows_the_seed_and_leaves_customers_orders_and_events_alone():
    a, b = make_customers(400, 3, seed=21), make_customers(400, 3, seed=21)
    for name in ("campaigns", "feedback", "campaign_truth", "feedback_truth"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not make_customers(400, 3, seed=22).campaigns.equals(a.campaigns)
    # the campaigns come from a generator of their own: the plan can change without touching the orders
    import seglab.datasets.synthetic as synthetic

    original = synthetic.CAMPAIGN_PLAN
    try:
        synthetic.CAMPAIGN_PLAN = original[:1]
        fewer = make_customers(400, 3, seed=21)
    finally:
        synthetic.CAMPAIGN_PLAN = original
    for name in ("customers", "transactions", "events", "truth"):
        pd.testing.assert_frame_equal(getattr(fewer, name), getattr(a, name))
    assert len(fewer.campaigns) < len(a.campaigns)


def test_write_sample_writes_the_loop_tables_and_a_spec_that_reads_them(tmp_path):
    from seglab.collect import collect

    spec = write_sample(tmp_path / "drawn", n_customers=300, n_segments=3, seed=5)
    for name in ("campaigns", "feedback", "campaign_truth", "feedback_truth"):
        assert (tmp_path / "drawn" / f"{name}.parquet").exists()
    data = collect(spec)
    assert data.campaigns is not None and data.feedback is not None
    assert data.campaigns["campaign_id"].nunique() == len(pd.read_parquet(tmp_path / "drawn" / "campaign_truth.parquet")
                                                          ["campaign_id"].unique())
    assert np.isin(data.campaigns["customer_id"], data.customers["customer_id"]).all()


def test_the_plan_names_its_parts():
    names = [p.name for p in CAMPAIGN_PLAN]
    assert "newsletter" in names and "app push" in names
    assert any(p.control_share <= 0.05 for p in CAMPAIGN_PLAN)  # an underpowered test
