import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from seglab.datasets import (SAMPLE_ARGS, SURVEY_ITEMS, list_datasets, load_customer_personality,
                             load_mall_customers, load_online_retail, load_sample, make_customers,
                             write_sample)
from seglab.exceptions import ParameterError


def test_make_customers_is_deterministic_for_a_seed():
    a, b = make_customers(300, 3, seed=7), make_customers(300, 3, seed=7)
    for name in ("customers", "transactions", "events", "truth"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert not make_customers(300, 3, seed=8).transactions.equals(a.transactions)


def test_committed_sample_is_what_the_generator_makes():
    committed, fresh = load_sample(), make_customers(**SAMPLE_ARGS)
    for name in ("customers", "transactions", "events", "truth", "campaigns", "feedback", "campaign_truth",
                 "feedback_truth"):
        pd.testing.assert_frame_equal(getattr(committed, name), getattr(fresh, name), check_dtype=False)


def test_tables_follow_the_canonical_schema():
    data = make_customers(200, 2, seed=1)
    assert {"customer_id", "order_id", "order_date", "amount"} <= set(data.transactions)
    assert {"customer_id", "timestamp", "event_type"} <= set(data.events)
    assert data.truth["customer_id"].tolist() == data.customers["customer_id"].tolist()
    assert (data.transactions["order_date"] <= pd.Timestamp("2025-12-31 23:59:59")).all()
    assert (data.transactions.loc[data.transactions["amount"] < 0, "order_id"].str.startswith("R")).all()


def test_planted_segments_differ_along_several_criteria_but_no_single_column_tells_them_apart():
    data = make_customers(1500, 4, seed=3)
    columns = list(SURVEY_ITEMS) + ["birth_year", "income_k", "household_size"]

    def recovered(cols):
        X = data.customers[cols]
        X = StandardScaler().fit_transform(X.fillna(X.median()))
        return adjusted_rand_score(data.truth["segment"], KMeans(4, n_init=10, random_state=0).fit_predict(X))

    assert max(recovered([c]) for c in columns) < 0.5  # not trivially separable on one column
    assert recovered(list(SURVEY_ITEMS)) < 0.95  # nor on one criterion alone
    assert recovered(list(SURVEY_ITEMS) + ["birth_year", "income_k"]) > 0.9  # together they do


def test_purchase_behaviour_differs_by_segment_as_planted():
    data = make_customers(2000, 4, seed=2)
    orders = (data.transactions.loc[data.transactions["amount"] > 0]
              .groupby("customer_id")["order_id"].nunique())
    per_segment = orders.groupby(data.truth.set_index("customer_id")["segment_name"]).mean()
    assert per_segment["Loyal high spenders"] > 3 * per_segment["Occasional gift buyers"]


def test_separation_zero_makes_survey_answers_uninformative():
    data = make_customers(1500, 4, seed=3, separation=0.0)
    means = data.customers.groupby(data.truth["segment"])["price_sensitivity"].mean()
    assert means.max() - means.min() < 0.3


def test_b2b_customers_have_firmographics_instead_of_demographics():
    data = make_customers(200, 3, b2b=True, seed=1)
    assert {"industry", "employees", "annual_revenue_m"} <= set(data.customers)
    assert "birth_year" not in data.customers
    assert data.transactions["quantity"].abs().median() > 10


@pytest.mark.parametrize("kwargs", [{"n_segments": 9}, {"n_segments": 1}, {"n_customers": 5},
                                    {"separation": -1}, {"start": "2024-01-01", "end": "2024-01-15"}])
def test_impossible_arguments_are_refused(kwargs):
    with pytest.raises(ParameterError):
        make_customers(**{"n_customers": 100, **kwargs})


def test_write_sample_makes_a_runnable_dataset(tmp_path):
    from seglab.collect import collect

    spec = write_sample(tmp_path / "workshop", n_customers=200, n_segments=3, seed=5)
    data = collect(spec)
    assert data.dataset == "workshop" and len(data.customers) == 200
    assert pd.read_parquet(tmp_path / "workshop" / "truth.parquet")["segment"].nunique() == 3


def test_bundled_loaders_return_the_published_tables():
    assert load_online_retail("2009-2010").shape == (525_461, 8)
    assert load_online_retail().shape == (541_909, 8)
    mall = load_mall_customers()
    assert mall.shape == (200, 5) and mall["CustomerID"].iloc[0] == "0001"
    assert load_customer_personality().shape == (2_240, 29)
    with pytest.raises(ParameterError):
        load_online_retail("2012")
    assert set(list_datasets()["name"]) == {"sample", "online_retail", "mall_customers", "customer_personality"}
