"""The optional campaigns and feedback tables: spec, mapping, quality gate, outcomes, pseudonyms."""

import numpy as np
import pandas as pd
import pytest
import yaml

from seglab.collect import collect, pseudonymize, spec_from_dict
from seglab.exceptions import DataTypeError, SchemaError, SpecError
from seglab.run import RunFolder
from tests.conftest import TEST_SALT

TRANSACTIONS = pd.DataFrame({
    "cust": ["a", "b", "c", "a", "d"],
    "date": ["2025-01-02", "2025-02-03", "2025-03-31", "2025-01-20", "2025-03-05"],
    "amt": [10.0, 20.0, 30.0, 5.0, 8.0]})


def _write(folder, *, campaigns=None, feedback=None, spec_extra=None, customers=None):
    TRANSACTIONS.to_csv(folder / "tx.csv", index=False)
    spec = {"name": "shop", "transactions": {"sources": [{"path": "tx.csv"}],
                                             "columns": {"customer_id": "cust", "order_date": "date",
                                                         "amount": "amt"}}}
    if campaigns is not None:
        campaigns.to_csv(folder / "campaigns.csv", index=False)
        spec["campaigns"] = {"sources": [{"path": "campaigns.csv"}],
                             "columns": {"customer_id": "cust", "campaign_id": "campaign", "sent_at": "sent",
                                         "group": "arm"}}
        spec["campaigns"]["columns"].update({c: c for c in ("converted", "revenue", "channel")
                                             if c in campaigns})
    if feedback is not None:
        feedback.to_csv(folder / "feedback.csv", index=False)
        spec["feedback"] = {"sources": [{"path": "feedback.csv"}],
                            "columns": {"customer_id": "cust", "date": "when", "kind": "kind", "score": "score"}}
        if "topic" in feedback:
            spec["feedback"]["columns"]["topic"] = "topic"
    if customers is not None:
        customers.to_csv(folder / "customers.csv", index=False)
        spec["customers"] = {"sources": [{"path": "customers.csv"}], "columns": {"customer_id": "cust"}}
    for table, extra in (spec_extra or {}).items():
        spec[table].update(extra)
    path = folder / "shop.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _campaigns(**overrides):
    frame = pd.DataFrame({"cust": ["a", "b", "c", "d"], "campaign": "spring", "sent": "2025-01-01",
                          "arm": ["Treatment", " test ", "CONTROL", "holdout"], "converted": ["yes", "no", "1", "0"],
                          "email": ["a@x.com", "b@x.com", "c@x.com", "d@x.com"]})
    return frame.assign(**overrides)


def test_campaigns_are_mapped_typed_normalised_and_pseudonymized(tmp_path):
    path = _write(tmp_path, campaigns=_campaigns())
    raw = (tmp_path / "campaigns.csv").read_bytes()
    data = collect(path, "2025Q1")
    c = data.campaigns
    assert list(c.columns) == ["customer_id", "campaign_id", "sent_at", "group", "converted"]  # no e-mail
    assert c["group"].tolist() == ["treatment", "treatment", "control", "control"]
    assert c["converted"].tolist() == [True, False, True, False]
    assert c["customer_id"].tolist() == pseudonymize(pd.Series(["a", "b", "c", "d"]), TEST_SALT).tolist()
    assert set(c["customer_id"]) <= set(data.customers["customer_id"])
    assert (tmp_path / "campaigns.csv").read_bytes() == raw  # raw input never modified


def test_campaigns_after_the_snapshot_are_ignored_and_counted(tmp_path):
    late = _campaigns(campaign="summer", sent="2025-05-01")
    path = _write(tmp_path, campaigns=pd.concat([_campaigns(), late]))
    data = collect(path, "2025Q1")
    assert set(data.campaigns["campaign_id"]) == {"spring"}
    check = next(c for c in data.quality.checks if c.table == "campaigns" and c.check == "after_snapshot")
    assert check.count == 4 and check.detail == {"campaigns": 1}


def test_a_customer_in_both_groups_is_dropped_and_counted(tmp_path):
    both = pd.concat([_campaigns(), _campaigns().iloc[[0]].assign(arm="control")])
    data = collect(_write(tmp_path, campaigns=both), "2025Q1")
    assert len(data.campaigns) == 3
    assert data.quality.count("conflicting_groups", "campaigns") == 1
    kept = collect(_write(tmp_path, campaigns=both), "2025Q1", policies={"conflicting_groups": "flag"})
    assert kept.campaigns["qc_conflicting_groups"].sum() == 2


def test_unknown_groups_and_missing_outcomes_are_dropped_and_counted(tmp_path):
    bad = _campaigns(arm=["treatment", "maybe", "control", "control"], converted=["yes", "no", None, "0"])
    data = collect(_write(tmp_path, campaigns=bad), "2025Q1")
    assert data.quality.count("unknown_group", "campaigns") == 1
    assert data.quality.count("missing_value", "campaigns") == 1
    assert len(data.campaigns) == 2


def test_converted_that_is_not_yes_or_no_is_a_clear_error(tmp_path):
    with pytest.raises(DataTypeError, match="campaigns.converted: 1 of 4 values are not yes/no values"):
        collect(_write(tmp_path, campaigns=_campaigns(converted=["yes", "no", "perhaps", "0"])), "2025Q1")


def test_revenue_alone_gives_conversions(tmp_path):
    frame = _campaigns(revenue=[12.0, 0.0, 3.0, 0.0]).drop(columns="converted")
    data = collect(_write(tmp_path, campaigns=frame), "2025Q1")
    assert data.campaigns["converted"].tolist() == [True, False, True, False]


def test_outcomes_are_derived_from_the_transactions_within_the_window(tmp_path):
    frame = _campaigns().drop(columns="converted")
    path = _write(tmp_path, campaigns=frame, spec_extra={"campaigns": {"response_window_days": 30}})
    data = collect(path, "2025Q1")
    c = data.campaigns.assign(raw=["a", "b", "c", "d"]).set_index("raw")
    # a bought 10 on 2 January and 5 on 20 January; b on 3 February, after the window; d on 5 March
    assert c.loc["a", "revenue"] == 15.0 and bool(c.loc["a", "converted"])
    assert c.loc["b", "revenue"] == 0.0 and not bool(c.loc["b", "converted"])
    assert not bool(c.loc["d", "converted"])


def test_outcomes_given_and_a_window_is_refused(tmp_path):
    path = _write(tmp_path, campaigns=_campaigns(), spec_extra={"campaigns": {"response_window_days": 30}})
    with pytest.raises(SchemaError, match="give the outcomes or have them derived"):
        collect(path, "2025Q1")


def test_no_outcome_and_no_window_says_how_to_fix_it(tmp_path):
    path = _write(tmp_path, campaigns=_campaigns().drop(columns="converted"))
    with pytest.raises(SchemaError, match="response_window_days: 30"):
        collect(path, "2025Q1")


def test_feedback_scales_are_checked(tmp_path):
    feedback = pd.DataFrame({
        "cust": list("abcdefgh"), "when": "2025-02-01",
        "kind": ["NPS", "nps", "nps", "csat", "csat", "survey_ease", "survey_ease", "mood"],
        "score": [9, 11, 7.5, 0, 5, 8, 7, 3], "topic": ["price", None, None, "app", None, None, None, None],
        "comment": ["call me on 0123"] * 8})
    path = _write(tmp_path, feedback=feedback, spec_extra={"feedback": {"scales": {"survey_ease": [1, 7]}}})
    data = collect(path, "2025Q1")
    f = data.feedback
    assert "comment" not in f.columns  # free text never enters the run folder
    assert f["kind"].tolist() == ["nps", "csat", "survey_ease"] and f["score"].tolist() == [9.0, 5.0, 7.0]
    out = next(c for c in data.quality.checks if c.table == "feedback" and c.check == "out_of_range")
    assert out.count == 4 and out.detail["by_kind"] == {"nps": 2, "csat": 1, "survey_ease": 1}
    assert data.quality.count("unknown_kind", "feedback") == 1


def test_spec_options_belong_to_their_table():
    base = {"name": "s", "transactions": {"sources": [{"path": "t.csv"}]}}
    with pytest.raises(SpecError, match="response_window_days only applies to the campaigns table"):
        spec_from_dict({**base, "feedback": {"sources": [{"path": "f.csv"}], "response_window_days": 3}})
    with pytest.raises(SpecError, match=r"scales.survey_x must be \[lowest, highest\]"):
        spec_from_dict({**base, "feedback": {"sources": [{"path": "f.csv"}], "scales": {"survey_x": [7, 1]}}})
    with pytest.raises(SpecError, match="NPS scale is fixed"):
        spec_from_dict({**base, "feedback": {"sources": [{"path": "f.csv"}], "scales": {"nps": [1, 5]}}})
    with pytest.raises(SpecError, match="whole number of days"):
        spec_from_dict({**base, "campaigns": {"sources": [{"path": "c.csv"}], "response_window_days": 0}})
    spec = spec_from_dict({**base, "customers": {"sources": [{"path": "c.csv"}], "responses": ["offer"]}})
    assert spec.customers.responses == ("offer",)


def test_response_columns_must_exist_and_hold_answers(tmp_path):
    customers = pd.DataFrame({"cust": ["a", "b"], "offer": [1, 0], "mood": ["happy", "sad"]})
    path = _write(tmp_path, customers=customers, spec_extra={"customers": {"responses": ["offer"]}})
    assert collect(path, "2025Q1").responses == ["offer"]
    with pytest.raises(SchemaError, match="does not have"):
        collect(_write(tmp_path, customers=customers, spec_extra={"customers": {"responses": ["offers"]}}), "2025Q1")
    with pytest.raises(SchemaError, match="must hold 0/1 answers"):
        collect(_write(tmp_path, customers=customers, spec_extra={"customers": {"responses": ["mood"]}}), "2025Q1")


def test_the_tables_round_trip_through_the_run_folder(tmp_path):
    feedback = pd.DataFrame({"cust": ["a"], "when": "2025-02-01", "kind": "nps", "score": [9]})
    path = _write(tmp_path, campaigns=_campaigns(), feedback=feedback)
    data = collect(path, "2025Q1")
    run = RunFolder(tmp_path / "run").make()
    run.write_canonical(data)
    again = run.canonical()
    pd.testing.assert_frame_equal(again.campaigns, data.campaigns)
    pd.testing.assert_frame_equal(again.feedback, data.feedback)
    pd.testing.assert_frame_equal(run.campaigns(), data.campaigns)
    pd.testing.assert_frame_equal(run.feedback(), data.feedback)
    assert run.response_columns() == [] and run.responses() is None
    schema = data.schema()
    assert schema["tables"]["campaigns"]["columns"]["converted"]["type"] == "boolean"
    assert schema["tables"]["feedback"]["rows"] == 1 and schema["responses"] == []
    assert set(data.summary().index) == {"customers", "transactions", "campaigns", "feedback"}
    assert not np.isnan(data.summary().loc["campaigns", "rows"])
