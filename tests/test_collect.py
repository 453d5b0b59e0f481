import json
import warnings

import pandas as pd
import pytest

from seglab._io import sha256_file
from seglab.collect import collect
from seglab.datasets import load_sample
from seglab.exceptions import DataTypeError, EmptyDataError, PeriodError, SchemaError, UnknownDatasetError
from seglab.run import RunFolder
from tests.conftest import write_spec

ORDERS_SPEC = """
name: shop
transactions:
  sources:
    - path: orders.csv
  columns:
    customer_id: Customer
    order_id: Invoice
    order_date: Date
    quantity: Qty
    unit_price: Price
    country: Country
  derive:
    amount: Qty * Price
  customer_attributes:
    country: geographic
quality:
  cancellation_pattern: "^C"
"""


@pytest.fixture(scope="module")
def sample():
    return collect("sample")


def _orders(tmp_path, rows=None):
    frame = pd.DataFrame(rows or {
        "Customer": ["1", "1", "2", "3", ""], "Invoice": ["10", "C11", "12", "13", "14"],
        "Date": ["2021-01-05", "2021-02-01", "2021-03-01", "2021-03-31", "2021-03-30"],
        "Qty": [2, -1, 1, 5, 1], "Price": [3.0, 3.0, 10.0, 1.0, 2.0],
        "Country": ["France", "France", "Spain", "Italy", "Italy"]})
    frame.to_csv(tmp_path / "orders.csv", index=False)
    return write_spec(tmp_path, ORDERS_SPEC)


def test_sample_defaults_to_the_latest_complete_quarter(sample):
    assert (sample.dataset, sample.period, sample.as_of) == ("sample", "2025Q4", pd.Timestamp("2025-12-31"))
    assert sample.transactions["order_date"].max() < pd.Timestamp("2026-01-01")
    assert {"customers", "transactions", "events"} <= set(sample.summary().index)


def test_no_personal_data_survives_collect(sample):
    raw = load_sample().customers
    text = " ".join(" ".join(map(str, frame.astype(str).to_numpy().ravel()))
                    for frame in (sample.customers, sample.transactions, sample.events))
    for value in list(raw["email"].head(50)) + list(raw["phone"].head(50)) + list(raw["name"].head(50)):
        assert value not in text
    assert not set(raw["customer_id"]) & set(sample.customers["customer_id"])
    assert "email" not in sample.customers and sample.criteria["email_sha256"] == "email"
    assert sample.criteria["name"] == "pii"


def test_ids_are_pseudonymized_consistently_across_tables(sample):
    ids = set(sample.customers["customer_id"])
    assert set(sample.transactions["customer_id"]) <= ids and set(sample.events["customer_id"]) <= ids
    assert sample.customers["customer_id"].is_unique


def test_prospects_without_orders_stay_in_the_customer_table(sample):
    buyers = set(sample.transactions["customer_id"])
    assert len(set(sample.customers["customer_id"]) - buyers) > 0


def test_write_then_read_round_trips(sample, tmp_path):
    run = RunFolder(tmp_path)
    run.write_canonical(sample)
    again = run.canonical()
    pd.testing.assert_frame_equal(again.transactions, sample.transactions)
    pd.testing.assert_frame_equal(again.customers, sample.customers)
    assert again.criteria == sample.criteria and again.as_of == sample.as_of
    assert again.quality.to_dict() == sample.quality.to_dict()


def test_same_input_gives_byte_identical_artifacts(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    RunFolder(a).write_canonical(collect("sample", "2025Q3"))
    RunFolder(b).write_canonical(collect("sample", "2025Q3"))
    for name in ("customers", "transactions", "events", "schema", "quality"):
        assert sha256_file(RunFolder(a).file(name)) == sha256_file(RunFolder(b).file(name)), name


def test_a_spec_with_mapping_derivation_and_customer_attributes(tmp_path):
    data = collect(_orders(tmp_path), "2021Q1")
    tx = data.transactions
    assert sorted(tx["amount"]) == [-3.0, 5.0, 6.0, 10.0]
    assert data.quality.count("missing_customer_id") == 1 and data.quality.count("cancellations") == 1
    assert set(data.customers["country"]) == {"France", "Spain", "Italy"}
    assert data.criteria == {"country": "geographic"}


def test_raw_files_are_never_written(tmp_path):
    spec = _orders(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    RunFolder(tmp_path / "out").write_canonical(collect(spec, "2021Q1"))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_customer_table_only_datasets():
    mall = collect("mall_customers")
    assert mall.period == "all" and mall.transactions is None and len(mall.customers) == 200
    assert mall.criteria["spending_score"] == "behaviour"
    personality = collect("customer_personality")
    assert personality.as_of == pd.Timestamp("2014-06-30")
    assert "cost_contact" not in personality.customers           # tagged ignore
    assert personality.customers["signup_date"].dtype.kind == "M"
    assert personality.quality.count("extreme_values", "customers") >= 4  # income 666,666; born 1893/99/1900


def test_period_errors_say_what_is_available(tmp_path):
    spec = _orders(tmp_path)
    with pytest.raises(PeriodError, match="incomplete.*2021-03-31.*complete quarters: 2021Q1"):
        collect(spec, "2021")
    with pytest.raises(PeriodError, match="2021Q2 has no data"):
        collect(spec, "2021Q2")
    with pytest.raises(PeriodError, match="ends before the first transaction"):
        collect(spec, "2019Q4")
    with pytest.raises(PeriodError, match="has no data"):
        collect(spec, "2023Q1")
    with pytest.raises(PeriodError, match="use period 'all'"):
        collect("mall_customers", "2011Q3")


def test_an_as_of_date_after_the_data_warns():
    with pytest.warns(UserWarning, match="after the last transaction"):
        collect("sample", "2026-01-15")


def test_unknown_dataset():
    with pytest.raises(UnknownDatasetError, match="built-in datasets"):
        collect("nonesuch")


def test_misspelt_source_column_is_reported_with_a_suggestion(tmp_path):
    spec = _orders(tmp_path)
    spec.write_text(spec.read_text().replace("order_id: Invoice", "order_id: Invoce"))
    with pytest.raises(SchemaError, match="'Invoce'.*did you mean 'Invoice'"):
        collect(spec, "2021Q1")


def test_missing_canonical_column_is_reported(tmp_path):
    spec = _orders(tmp_path)
    spec.write_text(spec.read_text().replace("  derive:\n    amount: Qty * Price\n", ""))
    with pytest.raises(SchemaError, match="transactions is missing column 'amount'"):
        collect(spec, "2021Q1")


def test_unparseable_dates_and_amounts(tmp_path):
    rows = {"Customer": ["1", "2"], "Invoice": ["1", "2"], "Date": ["2021-01-05", "someday"],
            "Qty": [1, 1], "Price": [1.0, 2.0], "Country": ["A", "B"]}
    with pytest.raises(DataTypeError, match="order_date: 1 of 2 values are not dates"):
        collect(_orders(tmp_path, rows), "2021-01-31")
    rows = {**rows, "Date": ["2021-01-05", "2021-01-06"], "Price": ["1.0", "two"]}
    with pytest.raises(DataTypeError, match="cannot be computed|not numbers"):
        collect(_orders(tmp_path, rows), "2021-01-31")


def test_empty_table_and_nothing_left_after_the_gate(tmp_path):
    (tmp_path / "orders.csv").write_text("Customer,Invoice,Date,Qty,Price,Country\n")
    write_spec(tmp_path, ORDERS_SPEC)
    with pytest.raises(EmptyDataError, match="hold no rows"):
        collect(tmp_path / "dataset.yaml", "2021Q1")
    rows = {"Customer": ["", ""], "Invoice": ["1", "2"], "Date": ["2021-01-05", "2021-03-31"],
            "Qty": [1, 1], "Price": [1.0, 2.0], "Country": ["A", "B"]}
    with pytest.raises(EmptyDataError, match="no transactions are left"):
        collect(_orders(tmp_path, rows), "2021Q1")


def test_untagged_personal_columns_are_hashed_with_a_warning(tmp_path):
    pd.DataFrame({"id": ["1", "2"], "email_address": ["a@x.org", "b@x.org"], "age": [30, 40]}).to_csv(
        tmp_path / "c.csv", index=False)
    spec = write_spec(tmp_path, "name: c\ncustomers:\n  sources:\n    - path: c.csv\n"
                                "  columns:\n    customer_id: id\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = collect(spec)
    assert any("email_address" in str(w.message) for w in caught)
    assert "a@x.org" not in set(data.customers["email_address"])
    assert data.criteria == {"email_address": "pii", "age": "other"}


def test_no_infinite_value_reaches_the_features(tmp_path):
    import numpy as np

    from seglab.features import build_features

    rows = {"Customer": ["1", "1", "2", "2", "3", "3", "4"],
            "Invoice": ["10", "11", "12", "13", "14", "15", "16"],
            "Date": ["2021-01-05", "2021-02-01", "2021-01-09", "2021-03-01", "2021-02-11", "2021-03-20",
                     "2021-03-31"],
            "Qty": ["2", "inf", "1", "3", "1", "-inf", "1"],
            "Price": ["3.0", "3.0", "1e308", "2.0", "5.0", "5.0", "Infinity"],
            "Country": ["France", "France", "Spain", "Spain", "Italy", "Italy", "Italy"]}
    spec = _orders(tmp_path, rows)  # 1e308 * 1 is finite; inf quantities and prices are not
    for policies in ({}, {"non_finite": "keep"}):
        data = collect(spec, "2021Q1", policies=policies)
        assert data.quality.count("non_finite") == 3
        numbers = data.transactions.select_dtypes("number").to_numpy(dtype=float, na_value=np.nan)
        assert not np.isinf(numbers).any()
        features = build_features(data).features.select_dtypes("number")
        assert not np.isinf(features.to_numpy(dtype=float, na_value=np.nan)).any(), policies


def test_all_amounts_missing_says_which_column_and_writes_the_quality_report(tmp_path):
    rows = {"Customer": ["1", "2", "3"], "Invoice": ["1", "2", "3"],
            "Date": ["2021-01-05", "2021-02-01", "2021-03-31"], "Qty": [1, 2, 3], "Price": ["", "", ""],
            "Country": ["A", "B", "C"]}
    spec = _orders(tmp_path, rows)
    spec.write_text(spec.read_text().replace("    unit_price: Price\n", "    amount: Price\n")
                    .replace("  derive:\n    amount: Qty * Price\n", ""))
    with pytest.raises(EmptyDataError, match=r"column amount \(mapped from 'Price'\) is empty in 3 rows") as err:
        collect(spec, "2021Q1", run=RunFolder(tmp_path / "run"))
    assert "missing_amount" in str(err.value) and str(tmp_path / "run") in str(err.value)
    written = json.loads(RunFolder(tmp_path / "run").file("quality").read_text())
    assert written["tables"]["transactions"] == {"rows_in": 3, "rows_out": 0, "customers": 0}
    assert err.value.quality.count("missing_amount") == 3


def test_a_derived_amount_is_named_with_its_expression_when_empty(tmp_path):
    rows = {"Customer": ["1", "2"], "Invoice": ["1", "2"], "Date": ["2021-01-05", "2021-03-31"],
            "Qty": ["", ""], "Price": [1.0, 2.0], "Country": ["A", "B"]}
    with pytest.raises(EmptyDataError, match=r"column amount \(derived as 'Qty \* Price'\) is empty in 2 rows"):
        collect(_orders(tmp_path, rows), "2021Q1")


def test_mixed_time_zone_offsets_become_utc_with_a_note(tmp_path):
    rows = {"Customer": ["1", "2"], "Invoice": ["1", "2"],
            "Date": ["2021-01-05T23:30:00+01:00", "2021-03-31T10:00:00+02:00"], "Qty": [1, 1],
            "Price": [1.0, 2.0], "Country": ["A", "B"]}
    with pytest.warns(UserWarning, match=r"different time-zone offsets \(\+01:00, \+02:00\); converted them to UTC"):
        data = collect(_orders(tmp_path, rows), "2021Q1")
    assert sorted(data.transactions["order_date"]) == [pd.Timestamp("2021-01-05 22:30"),
                                                       pd.Timestamp("2021-03-31 08:00")]
    assert any("converted them to UTC" in n for n in data.quality.notes)


def test_the_salt_fingerprint_is_recorded_with_the_tables(tmp_path):
    from seglab.collect.privacy import salt_fingerprint
    from tests.conftest import TEST_SALT

    data = collect(_orders(tmp_path), "2021Q1")
    run = RunFolder(tmp_path / "out")
    run.write_canonical(data)
    schema = run.schema()
    assert schema["salt_fingerprint"] == salt_fingerprint(TEST_SALT) == data.salt_fingerprint
    assert TEST_SALT not in run.file("schema").read_text()
    assert run.canonical().salt_fingerprint == data.salt_fingerprint


def test_a_log_without_order_ids_keeps_every_purchase(tmp_path):
    """One line per purchase, no order id, no price (CDNOW-style): a purchase is a customer-day,
    same-day identical purchases and zero-value purchases are all kept."""
    from seglab.features import build_features

    pd.DataFrame({"cust": ["1", "1", "1", "2", "3"],
                  "date": ["19970101", "19970101", "19970301", "19970102", "19970105"],
                  "dollars": [12.0, 12.0, 0.0, 5.0, 0.0]}).to_csv(tmp_path / "log.csv", index=False)
    spec = write_spec(tmp_path, "name: cdnow\ntransactions:\n  sources:\n    - path: log.csv\n"
                                "  columns: {customer_id: cust, order_date: date, amount: dollars}\n"
                                "  dates: {order_date: '%Y%m%d'}\n")
    data = collect(spec, "1997-03-01")
    assert len(data.transactions) == 5 and "order_id" not in data.transactions
    assert data.quality.count("duplicates") == 0 and data.quality.count("zero_price") == 0
    f = build_features(data, value_models=False).features.sort_values("net_revenue")
    # customer 3 bought only a $0 item: still a buyer; customer 1 has two orders (two days)
    assert f["orders"].tolist() == [1, 1, 2] and f["frequency"].tolist() == [0, 0, 1]
    assert f["net_revenue"].tolist() == [0.0, 5.0, 24.0]
