import json

import pandas as pd
import pytest

from seglab._io import sha256_file
from seglab.collect import collect
from seglab.collect.spec import CRITERIA
from seglab.exceptions import DataQualityWarning, EmptyDataError
from seglab.features import build_features
from seglab.run import RunFolder


@pytest.fixture(scope="module")
def sample():
    return collect("sample", "2025Q4")


@pytest.fixture(scope="module")
def built(sample):
    with pytest.warns(DataQualityWarning, match="net repeat spend"):  # a few returned everything
        return build_features(sample)


def test_one_row_per_customer_with_every_group(built, sample):
    f = built.features
    assert f["customer_id"].is_unique and len(f) == len(sample.customers)
    criteria = {i.criterion for i in built.dictionary.features}
    assert {"rfm", "value", "behaviour", "journey", "demographic", "geographic", "psychographic",
            "needs"} <= criteria
    assert built.diagnostics["status"] == "fitted"


def test_the_dictionary_describes_every_column(built):
    f, d = built.features, built.dictionary
    assert d.names == list(f.columns[1:])
    for info in d.features:
        assert info.description and info.criterion in CRITERIA and info.type in ("number", "category")
    assert d.meta["as_of"] == "2025-12-31" and d["clv"].unit == "EUR"
    assert "12 months" in d["clv"].description


def test_no_personal_data_becomes_a_feature(built):
    assert not {"name", "phone", "email_sha256"} & set(built.features.columns)


def test_features_ignore_everything_after_the_snapshot(sample):
    # Q4 data with a Q3 snapshot must give what Q3 data gives: nothing later leaks in
    early = build_features(sample, as_of="2025-09-30", value_models=False).features
    only_before = build_features(collect("sample", "2025Q3"), value_models=False).features
    merged = early.merge(only_before, on="customer_id", suffixes=("", "_q3"))
    assert len(merged) == len(only_before)
    for col in ("frequency", "recency", "T", "orders", "net_revenue", "return_rate", "orders_per_month",
                "visits_per_month", "email_open_rate"):
        pd.testing.assert_series_equal(merged[col], merged[f"{col}_q3"], check_names=False)


@pytest.mark.filterwarnings("ignore::seglab.exceptions.DataQualityWarning")
def test_same_input_same_bytes(sample, tmp_path):
    a = RunFolder(tmp_path / "a").write_features(build_features(sample))
    b = RunFolder(tmp_path / "b").write_features(build_features(sample))
    for key in ("features", "feature_dictionary", "value_diagnostics"):
        assert sha256_file(a[key]) == sha256_file(b[key]), key


@pytest.mark.filterwarnings("ignore::seglab.exceptions.DataQualityWarning")
def test_reads_the_run_folder_directly(sample, built, tmp_path):
    run = RunFolder(tmp_path)
    run.write_canonical(sample)
    from_files = build_features(run.canonical_files())
    pd.testing.assert_frame_equal(from_files.features, built.features)


def test_write_and_read_back(built, tmp_path):
    run = RunFolder(tmp_path)
    written = run.write_features(built)
    again = run.features()
    pd.testing.assert_frame_equal(again.features, built.features)
    assert again.dictionary.to_dict() == built.dictionary.to_dict()
    assert again.models["purchase"].params_ == built.models["purchase"].params_
    assert json.loads(written["value_diagnostics"].read_text())["status"] == "fitted"


def test_customer_table_only_datasets_get_profile_features():
    built = build_features(collect("customer_personality"))
    skipped = {s["group"] for s in built.dictionary.skipped}
    assert "rfm, behaviour, value" in skipped
    assert {"age", "age_band", "income_band", "days_since_signup", "total_spend"} <= set(built.features)
    assert built.dictionary["recency_days"].criterion == "behaviour"  # the spec's tag, not rfm


def test_snapshot_before_the_first_transaction(sample):
    with pytest.raises(EmptyDataError, match="before the first transaction"):
        build_features(sample, as_of="2023-06-30")


def test_window_with_no_data(sample):
    data = collect("sample", "2024Q1")
    data.transactions = data.transactions[data.transactions["order_date"] < "2024-01-15"]
    with pytest.raises(EmptyDataError, match="no transactions in the 30-day window"):
        build_features(data, as_of="2024-03-31", lookback_days=30)


def test_value_models_can_be_switched_off(sample):
    built = build_features(sample, value_models=False)
    assert "clv" not in built.features and built.models == {}


def test_a_profile_column_named_like_a_computed_feature_is_kept_under_another_name(sample):
    data = collect("sample", "2025Q4")
    data.customers = data.customers.assign(orders=1.0)
    data.criteria = {**data.criteria, "orders": "behaviour"}
    f = build_features(data, value_models=False)
    assert "orders_profile" in f.features and f.dictionary["orders"].criterion == "rfm"


@pytest.mark.filterwarnings("ignore::seglab.exceptions.DataQualityWarning")
def test_the_thread_count_does_not_change_a_bit(sample, built):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        single = build_features(sample)
    pd.testing.assert_frame_equal(single.features, built.features)
    assert json.dumps(single.diagnostics, sort_keys=True) == json.dumps(built.diagnostics, sort_keys=True)
    assert single.validation.to_dict() == built.validation.to_dict()
