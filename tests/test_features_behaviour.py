import numpy as np
import pandas as pd
import pytest

from seglab.collect import collect
from seglab.features import build_features


@pytest.fixture
def shop():
    """Customer a: 3 orders on Fri 1, Sat 9 and Sun 24 Jan (web, web, app), one with a discount,
    one returned line; customer b: one order in the store on Monday 4 Jan."""
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "a", "b"],
        "order_id": ["1", "1", "2", "3", "R2", "4"],
        "order_date": pd.to_datetime(["2021-01-01 09:00", "2021-01-01 09:00", "2021-01-09 19:30",
                                      "2021-01-24 20:00", "2021-01-26 10:00", "2021-01-04 11:00"]),
        "amount": [30.0, 10.0, 20.0, 40.0, -20.0, 15.0],
        "quantity": [3.0, 1.0, 2.0, 4.0, -2.0, 1.0],
        "product_id": ["p1", "p2", "p1", "p3", "p1", "p4"],
        "category": ["home", "toys", "home", "garden", "home", "toys"],
        "channel": ["web", "web", "web", "app", "web", "store"],
        "discount": [5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    })
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"]})
    from seglab.collect import CanonicalData

    return CanonicalData(dataset="shop", period="2021-01-31", as_of=pd.Timestamp("2021-01-31"),
                         customers=customers, transactions=tx, currency="EUR")


@pytest.fixture
def features(shop):
    return build_features(shop, value_models=False).features.set_index("customer_id")


def test_pace_and_regularity(features):
    a = features.loc["a"]
    assert a["orders"] == 3 and a["tenure_days"] == 30
    assert a["orders_per_month"] == pytest.approx(3 / 30.4375 * 30.4375)  # tenure < a month → one month
    assert a["mean_interpurchase_days"] == pytest.approx((8 + 15) / 2)
    assert a["interpurchase_cv"] == pytest.approx(np.std([8, 15], ddof=1) / 11.5)
    assert np.isnan(features.loc["b", "interpurchase_cv"])


def test_basket_returns_and_discounts(features):
    a = features.loc["a"]
    assert a["lines_per_order"] == pytest.approx(4 / 3) and a["items_per_order"] == pytest.approx(10 / 3)
    assert a["return_rate"] == pytest.approx(20 / 100)
    assert a["discount_share"] == pytest.approx(5 / 105) and a["discounted_order_share"] == pytest.approx(1 / 3)


def test_timing_breadth_categories_and_channels(features):
    a = features.loc["a"]
    assert a["weekend_share"] == pytest.approx(2 / 3)
    assert a["morning_share"] == pytest.approx(1 / 3) and a["evening_share"] == pytest.approx(2 / 3)
    assert a["distinct_products"] == 3 and a["distinct_categories"] == 3
    assert a["category_share_home"] == pytest.approx(50 / 100) and a["top_category_share"] == pytest.approx(0.5)
    assert a["channel_share_web"] == pytest.approx(2 / 3) and a["channel_share_app"] == pytest.approx(1 / 3)
    assert features.loc["b", "channel_share_store"] == 1.0


def test_customers_without_purchases_stay_in_the_table(features):
    c = features.loc["c"]
    assert c["orders"] == 0 and c["net_revenue"] == 0 and c["journey_stage"] == "never bought"
    assert c["rfm_segment"] == "No purchases" and np.isnan(c["recency_days"])


def test_journey_stage_from_purchases(features):
    assert features.loc["a", "journey_stage"] == "repeat"
    assert features.loc["b", "journey_stage"] == "one-time buyer"


def test_optional_columns_missing_are_skipped_and_said(shop):
    shop.transactions = shop.transactions[["customer_id", "order_id", "order_date", "amount"]]
    fs = build_features(shop, value_models=False)
    groups = {s["group"] for s in fs.dictionary.skipped}
    assert {"category breadth and shares", "channel mix",
            "journey events (visits, carts, support, email)"} <= groups
    assert "channel_share_web" not in fs.features and "items_per_order" not in fs.features


def test_events_feed_journey_features():
    data = collect("sample", "2025Q4")
    f = build_features(data, value_models=False).features
    rates = f[["cart_abandon_rate", "email_open_rate", "email_click_rate", "visit_conversion"]]
    assert ((rates >= 0) & (rates <= 1) | rates.isna()).all().all()
    assert ((f["email_click_rate"] <= f["email_open_rate"] + 1e-9) | f["email_click_rate"].isna()).all()
    assert f["visits_per_month"].notna().sum() > 2500
