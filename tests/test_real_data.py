"""The quality gate on the real UCI Online Retail files: counts equal those documented in
../shared/data/README.md. Both formats (Parquet and gzip CSV) of both files are checked."""

import copy

import pytest
import yaml

from seglab.collect import collect, spec_from_dict
from seglab.collect.spec import builtin_specs

pytestmark = pytest.mark.slow

DOCUMENTED = {
    "online_retail_ii_2009_2010": {
        "rows": 525_461, "cancellations": 10_206, "cancelled_orders": 4_592,
        "negative_not_cancelled": 2_121, "inconsistent_cancellations": 1, "zero_price": 3_687,
        "negative_price": 3, "missing_customer_id": 107_927, "duplicates": 6_865,
        "conflicting_attributes": 5, "non_product_codes": 55, "valid_customers": 4_312,
        "valid_customers_uk": 3_969},
    "online_retail_2010_2011": {
        "rows": 541_909, "cancellations": 9_288, "cancelled_orders": 3_836,
        "negative_not_cancelled": 1_336, "inconsistent_cancellations": 0, "zero_price": 2_515,
        "negative_price": 2, "missing_customer_id": 135_080, "duplicates": 5_268,
        "conflicting_attributes": 8, "non_product_codes": 33, "valid_customers": 4_338,
        "valid_customers_uk": 3_920},
}


def _single_file_spec(path):
    raw = yaml.safe_load(builtin_specs()["online_retail"].read_text())
    index = 0 if "2009" in path.name else 1
    source = copy.deepcopy(raw["transactions"]["sources"][index])
    source["path"] = str(path)
    raw["transactions"]["sources"] = [source]
    return spec_from_dict(raw)


@pytest.mark.parametrize("stem", list(DOCUMENTED))
@pytest.mark.parametrize("suffix", [".parquet", ".csv.gz"])
def test_quality_counts_equal_the_documented_ones(shared_data, stem, suffix):
    expected = DOCUMENTED[stem]
    # keep non-product lines and duplicates so that the customer counts can be compared too
    data = collect(_single_file_spec(shared_data / f"{stem}{suffix}"), "all",
                   policies={"non_product": "keep", "duplicates": "keep"})
    q = data.quality
    assert q.tables["transactions"]["rows_in"] == expected["rows"]
    for check in ("cancellations", "negative_not_cancelled", "inconsistent_cancellations", "zero_price",
                  "negative_price", "missing_customer_id", "duplicates"):
        assert q.count(check) == expected[check], check
    assert q.count("conflicting_attributes", "customers") == expected["conflicting_attributes"]
    by_name = {c.check: c for c in q.checks}
    assert by_name["cancellations"].detail["orders"] == expected["cancelled_orders"]
    assert by_name["non_product"].detail["distinct_codes"] == expected["non_product_codes"]
    tx = data.transactions
    valid = tx.loc[(tx["quantity"] > 0) & (tx["unit_price"] > 0) & ~tx["order_id"].str.startswith("C")]
    assert valid["customer_id"].nunique() == expected["valid_customers"]
    uk = set(data.customers.loc[data.customers["country"] == "United Kingdom", "customer_id"])
    assert len(uk & set(valid["customer_id"])) == expected["valid_customers_uk"]


def test_combined_dataset_reads_the_overlapping_week_once():
    data = collect("online_retail", "all", policies={"duplicates": "keep", "missing_customer_id": "keep",
                                                      "cancellations": "keep", "negative_not_cancelled": "keep",
                                                      "inconsistent_cancellations": "keep", "non_product": "keep",
                                                      "zero_price": "keep", "negative_price": "keep"})
    assert data.quality.count("overlap") == 22_523
    assert data.quality.tables["transactions"]["rows_in"] == 525_461 + 541_909
    assert len(data.transactions) == 1_044_847
