import pandas as pd
import pytest

from seglab.collect.quality import (CHECKS, QualityReport, check_customers, check_events,
                                    check_transactions, far_out, resolve_customer_attributes)
from seglab.exceptions import ParameterError, SchemaError

SNAPSHOT = pd.Timestamp("2021-04-01")


def _counts(results):
    return {r.check: r.count for r in results}


def test_each_transaction_check_counts_what_it_should(lines):
    out, results = check_transactions(lines, snapshot=SNAPSHOT, policies={},
                                      cancellation_pattern="^C", product_pattern=r"^\d{5}$")
    counts = _counts(results)
    assert counts["duplicates"] == 1              # the second line of order 1
    assert counts["missing_customer_id"] == 1
    assert counts["after_snapshot"] == 1          # 2021-04-02
    assert counts["cancellations"] == 1           # C2
    assert counts["negative_not_cancelled"] == 1  # order 6: quantity −1 without a C
    assert counts["non_product"] == 1             # POST
    assert counts["zero_price"] == 1
    assert counts["negative_price"] == 0
    # drop removes duplicates, missing id, future, negative, non-product and zero-price lines
    assert sorted(out["order_id"]) == ["1", "7", "C2"]


def test_lines_without_an_amount_are_dropped(lines):
    frame = lines.assign(amount=[10.0, None, -10.0, 0.0, 5.0, 7.0, -3.0, 8.0, 9.0])
    out, results = check_transactions(frame, snapshot=None, policies={})
    assert _counts(results)["missing_amount"] == 1 and out["amount"].notna().all()


def test_policies_keep_and_flag(lines):
    out, _ = check_transactions(lines, snapshot=SNAPSHOT, cancellation_pattern="^C",
                                policies={"duplicates": "flag", "zero_price": "keep",
                                          "cancellations": "drop"})
    assert out["qc_duplicates"].sum() == 1
    assert "3" in set(out["order_id"]) and "C2" not in set(out["order_id"])


def test_without_a_cancellation_pattern_negative_amounts_are_returns(lines):
    _, results = check_transactions(lines, snapshot=None, policies={})
    counts = _counts(results)
    assert counts["cancellations"] == 2 and counts["negative_not_cancelled"] == 0
    assert counts["after_snapshot"] == 0 and counts["non_product"] == 0


def test_check_transactions_does_not_modify_its_input(lines):
    before = lines.copy()
    check_transactions(lines, snapshot=SNAPSHOT, policies={"duplicates": "flag"})
    pd.testing.assert_frame_equal(lines, before)


def test_unknown_check_or_policy_is_a_parameter_error(lines):
    with pytest.raises(ParameterError, match="did you mean 'duplicates'"):
        check_transactions(lines, snapshot=None, policies={"duplicate": "drop"})
    with pytest.raises(ParameterError, match="'drop', 'keep', 'flag'"):
        check_transactions(lines, snapshot=None, policies={"duplicates": "delete"})


def test_extreme_lines_are_flagged_after_the_other_checks():
    frame = pd.DataFrame({
        "customer_id": list("ABCDEFGHIJ"), "order_id": [str(i) for i in range(10)],
        "order_date": pd.Timestamp("2021-01-01"),
        "amount": [10.0, 12, 9, 11, 10, 13, 8, 10, 12, 80_995.0],
        "quantity": [1.0, 2, 1, 1, 1, 2, 1, 1, 2, 80_995.0]})
    out, results = check_transactions(frame, snapshot=None, policies={})
    assert _counts(results)["extreme_values"] == 1
    assert out.loc[out["qc_extreme_values"], "customer_id"].tolist() == ["J"]


def test_far_out_uses_the_log_scale_for_skewed_money():
    spend = pd.Series([5.0, 8, 10, 12, 20, 30, 45, 60, 90, 150, 220, 400, 1_500])
    assert not far_out(spend).any()  # a long tail, not an outlier
    assert far_out(pd.Series([1970.0, 1965, 1980, 1975, 1972, 1968, 1893])).tolist()[-1]
    assert not far_out(pd.Series([0.0, 1, 0, 1, 0, 0])).any()  # flags have no outliers


def test_conflicting_attributes_take_the_most_frequent_value():
    frame = pd.DataFrame({
        "customer_id": ["A", "A", "A", "B"],
        "order_date": pd.to_datetime(["2021-01-01", "2021-02-01", "2021-03-01", "2021-01-01"]),
        "country": ["France", "France", "Germany", "Spain"]})
    customers, conflicted, result = resolve_customer_attributes(frame, ["country"], policies={})
    assert result.count == 1 and list(conflicted) == ["A"]
    assert dict(zip(customers["customer_id"], customers["country"])) == {"A": "France", "B": "Spain"}
    flagged, _, _ = resolve_customer_attributes(frame, ["country"],
                                                policies={"conflicting_attributes": "flag"})
    assert flagged["qc_conflicting_attributes"].tolist() == [True, False]


def test_ties_between_attribute_values_go_to_the_most_recent():
    frame = pd.DataFrame({"customer_id": ["A", "A"], "country": ["France", "Germany"],
                          "order_date": pd.to_datetime(["2021-01-01", "2021-06-01"])})
    customers, _, _ = resolve_customer_attributes(frame, ["country"], policies={})
    assert customers["country"].tolist() == ["Germany"]


def test_customer_table_checks():
    frame = pd.DataFrame({"customer_id": ["1", "1", "2", "2", None, "3", "4", "5", "6", "7"],
                          "income": [50.0, 50, 40, 41, 30, 45, 55, 60, 52, 5_000],
                          "city": ["a", "a", "b", "b", "c", "d", "e", "f", "g", "h"]})
    out, results = check_customers(frame, policies={}, attributes=["income", "city"])
    counts = _counts(results)
    assert counts["duplicates"] == 1 and counts["missing_customer_id"] == 1
    assert counts["conflicting_attributes"] == 1   # customer 2 with two incomes
    assert out["customer_id"].is_unique and len(out) == 7
    assert counts["extreme_values"] == 1 and out.loc[out["qc_extreme_values"], "customer_id"].tolist() == ["7"]


def test_event_checks_count_unknown_types():
    events = pd.DataFrame({"customer_id": ["A", "A", None], "event_type": ["visit", "teleport", "visit"],
                           "timestamp": pd.to_datetime(["2021-01-01", "2021-01-02", "2021-05-01"])})
    out, results = check_events(events, snapshot=SNAPSHOT, policies={})
    counts = _counts(results)
    assert counts["unknown_event_type"] == 1 and counts["missing_customer_id"] == 1
    assert counts["after_snapshot"] == 1 and len(out) == 2
    assert results[-1].detail == {"types": ["teleport"]}


def test_report_round_trips_and_reads_well(tmp_path, lines):
    _, results = check_transactions(lines, snapshot=SNAPSHOT, policies={})
    report = QualityReport("shop", "2021Q1", SNAPSHOT.isoformat(), {"transactions": {"rows_in": 9}}, results)
    path = report.write(tmp_path / "quality.json", tmp_path / "quality.md")
    again = QualityReport.read(path)
    assert again.to_dict() == report.to_dict()
    assert again.count("duplicates") == 1
    text = (tmp_path / "quality.md").read_text()
    assert "| transactions | duplicates | drop | 1 line |" in text
    assert set(report.to_frame()["check"]) <= set(CHECKS)


def test_infinite_amounts_and_quantities_are_counted_and_dropped(lines):
    import numpy as np

    frame = lines.assign(amount=[10.0, 10.0, -10.0, 0.0, np.inf, 7.0, -3.0, 8.0, 9.0],
                         quantity=[1.0, 1.0, -1.0, 1.0, 1.0, 1.0, -np.inf, 1.0, 1.0])
    out, results = check_transactions(frame, snapshot=None, policies={})
    result = next(r for r in results if r.check == "non_finite")
    assert (result.count, result.policy, result.detail["by_column"]) == (2, "drop", {"amount": 1, "quantity": 1})
    assert np.isfinite(out[["amount", "quantity"]].to_numpy()).all()
    assert set(out["order_id"]).isdisjoint({"4", "6"})


@pytest.mark.parametrize("policy", ["keep", "flag"])
def test_kept_infinite_values_become_missing_never_infinite(lines, policy):
    import numpy as np

    frame = lines.assign(unit_price=[10.0, 10.0, 10.0, 0.0, 5.0, 7.0, np.inf, 8.0, 9.0])
    out, results = check_transactions(frame, snapshot=None, policies={"non_finite": policy})
    assert _counts(results)["non_finite"] == 1 and "6" in set(out["order_id"])
    assert not np.isinf(out["unit_price"].to_numpy(dtype=float, na_value=np.nan)).any()
    assert out.loc[out["order_id"] == "6", "unit_price"].isna().all()
    assert ("qc_non_finite" in out) == (policy == "flag")


def test_infinite_customer_attributes_are_a_quality_check():
    import numpy as np

    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "income": [1.0, np.inf, 3.0]})
    out, results = check_customers(frame, policies={}, attributes=["income"])
    assert _counts(results)["non_finite"] == 1 and list(out["customer_id"]) == ["a", "c"]


def test_notes_are_kept_in_the_quality_report(tmp_path):
    report = QualityReport("shop", "2021Q1", None, notes=["dates converted to <UTC>"])
    report.write(tmp_path / "quality.json", tmp_path / "quality.md")
    assert QualityReport.read(tmp_path / "quality.json").notes == ["dates converted to <UTC>"]
    assert "- dates converted to &lt;UTC>" in (tmp_path / "quality.md").read_text()


def test_without_an_order_id_identical_lines_are_separate_purchases():
    # a CDNOW-style log: one line per purchase, no order id, no price
    frame = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
                          "order_date": pd.to_datetime(["2021-01-05"] * 3 + ["2021-01-06"]),
                          "amount": [12.0, 12.0, 0.0, 5.0]})
    out, results = check_transactions(frame, snapshot=None, policies={})
    counts = {r.check: r.count for r in results}
    assert counts["duplicates"] == 0 and counts["zero_price"] == 0
    assert len(out) == 4  # the two identical purchases and the zero-value one are kept
    notes = {r.check: r.detail for r in results}
    assert "no order_id" in notes["duplicates"]["note"] and "no unit_price" in notes["zero_price"]["note"]


def test_lines_differing_only_by_a_missing_order_id_are_not_duplicates(lines):
    frame = pd.concat([lines, lines.iloc[[3]]], ignore_index=True).assign(
        order_id=lambda f: f["order_id"].where(f.index < 3))  # order ids missing from row 3 on
    frame["unit_price"] = frame["unit_price"].replace(0.0, 1.0)
    _, results = check_transactions(frame, snapshot=None, policies={})
    assert next(r.count for r in results if r.check == "duplicates") == 1  # rows 0 and 1 only


def test_a_cancellation_pattern_needs_an_order_id():
    frame = pd.DataFrame({"customer_id": ["a"], "order_date": pd.to_datetime(["2021-01-05"]), "amount": [1.0]})
    with pytest.raises(SchemaError, match="no order_id column"):
        check_transactions(frame, snapshot=None, policies={}, cancellation_pattern="^C")
