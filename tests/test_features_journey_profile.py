import pandas as pd
import pytest

from seglab.exceptions import ParameterError
from seglab.features import FeatureDictionary, journey_stage, profile_features


def test_journey_stage_thresholds_are_parameters():
    orders, recency = pd.Series([2, 2, 2]), pd.Series([50, 100, 200])
    assert journey_stage(orders, recency, lapsed_days=90, churned_days=150).tolist() == [
        "repeat", "lapsed", "churned"]
    with pytest.raises(ParameterError, match="greater than lapsed_days"):
        journey_stage(orders, recency, lapsed_days=200, churned_days=100)


def test_profile_derivations():
    customers = pd.DataFrame({
        "customer_id": ["b", "a"], "birth_year": [1990.0, 1950.0], "income": [20.0, 90.0],
        "signup_date": pd.to_datetime(["2020-12-01", "2019-01-01"]), "newsletter": [True, False],
        "employees": [5.0, 300.0], "city": ["Lyon", "Bonn"], "name": ["x1", "x2"],
        "email_sha256": ["h1", "h2"], "qc_extreme_values": [False, True]})
    criteria = {"birth_year": "demographic", "income": "demographic", "signup_date": "journey",
                "newsletter": "journey", "employees": "firmographic", "city": "geographic",
                "name": "pii", "email_sha256": "email"}
    d = FeatureDictionary()
    f = profile_features(customers, criteria, as_of=pd.Timestamp("2021-01-01"), dictionary=d)
    f = f.set_index("customer_id")
    assert list(f.index) == ["a", "b"]  # sorted by id
    assert f.loc["b", "age"] == 31 and f.loc["b", "age_band"] == "25-34" and f.loc["a", "age_band"] == "65+"
    assert f.loc["b", "days_since_signup"] == 31
    assert f.loc["a", "newsletter"] == 0.0 and f.loc["a", "company_size"] == "large"
    assert f.loc["b", "company_size"] == "micro"
    assert not {"name", "email_sha256", "qc_extreme_values"} & set(f.columns)
    assert d["age"].criterion == "demographic" and d["company_size"].criterion == "firmographic"
    assert d["city"].type == "category" and d["days_since_signup"].unit == "days"


def test_income_band_thirds():
    customers = pd.DataFrame({"customer_id": list("abcdef"), "income": [10.0, 20, 30, 40, 50, 60]})
    f = profile_features(customers, {"income": "demographic"})
    assert f["income_band"].tolist() == ["low", "low", "middle", "middle", "high", "high"]


def test_profile_does_not_modify_the_customer_table():
    customers = pd.DataFrame({"customer_id": ["a"], "birth_year": [1980.0]})
    before = customers.copy()
    profile_features(customers, {"birth_year": "demographic"}, as_of=pd.Timestamp("2020-01-01"))
    pd.testing.assert_frame_equal(customers, before)


def test_dictionary_selects_by_criterion_name_and_type(tmp_path):
    d = FeatureDictionary()
    d.add("orders", "rfm", "orders")
    d.add("age", "demographic", "age", "years")
    d.add("city", "geographic", "city", type="category")
    assert d.select(criteria=["rfm", "geographic"]) == ["orders", "city"]
    assert d.select(names=["age"]) == ["age"]
    assert d.select(types=["number"]) == ["orders", "age"]
    with pytest.raises(ParameterError, match="did you mean 'orders'"):
        d.select(names=["order"])
    with pytest.raises(ParameterError, match="did you mean 'demographic'"):
        d.select(criteria=["demographics"])
    d.skip("journey events", "no events table")
    again = FeatureDictionary.read(d.write(tmp_path / "d.json"))
    assert again.to_dict() == d.to_dict()
