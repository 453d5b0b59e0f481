import pandas as pd
import pytest

from seglab.collect.schema import coerce_dates, coerce_ids, coerce_numbers, infer_attribute
from seglab.exceptions import DataTypeError


def test_ids_become_text_without_float_artefacts():
    out = coerce_ids(pd.Series([12346.0, None, 17850.0]))
    assert out.tolist()[0] == "12346" and pd.isna(out.tolist()[1])
    assert coerce_ids(pd.Series(["0001", " 0002 ", "13.0", ""])).tolist()[:3] == ["0001", "0002", "13"]
    assert pd.isna(coerce_ids(pd.Series([""])).iloc[0])
    assert coerce_ids(pd.Series([1, 2], dtype="Int64")).tolist() == ["1", "2"]


def test_dates_parse_with_an_explicit_format():
    out = coerce_dates(pd.Series(["30-07-2012", "01-12-2013"]), column="d", table="t", fmt="%d-%m-%Y")
    assert out.tolist() == [pd.Timestamp("2012-07-30"), pd.Timestamp("2013-12-01")]


def test_dates_with_and_without_a_time_of_day_mix():
    out = coerce_dates(pd.Series(["2021-01-05", "2021-01-05 10:00", None]), column="d", table="t")
    assert out.tolist()[:2] == [pd.Timestamp("2021-01-05"), pd.Timestamp("2021-01-05 10:00")]


def test_unparseable_dates_are_counted_shown_and_a_format_suggested():
    with pytest.raises(DataTypeError, match=r"t\.order_date: 2 of 3 values are not dates \(e\.g\. 'soon', "
                                            r"'yesterday'\); set its format"):
        coerce_dates(pd.Series(["2020-01-01", "soon", "yesterday"]), column="order_date", table="t")


def test_timezones_are_converted_to_naive_utc():
    out = coerce_dates(pd.Series(pd.to_datetime(["2020-01-01 12:00"]).tz_localize("Europe/Berlin")),
                       column="d", table="t")
    assert out.iloc[0] == pd.Timestamp("2020-01-01 11:00")


def test_non_numeric_amounts_are_named_and_decimal_commas_recognised():
    with pytest.raises(DataTypeError, match="1 of 3 values are not numbers.*'12,50'.*decimal"):
        coerce_numbers(pd.Series(["1.5", "12,50", "3"]), column="amount", table="transactions")
    with pytest.raises(DataTypeError, match="'free'"):
        coerce_numbers(pd.Series(["1.5", "free"]), column="amount", table="transactions")
    assert coerce_numbers(pd.Series(["1.5", "", None]), column="a", table="t").iloc[0] == 1.5


def test_attributes_get_a_sensible_type():
    assert infer_attribute(pd.Series(["1", "2", None]), column="kids").dtype == "float64"
    assert infer_attribute(pd.Series(["Male", "Female"]), column="g").tolist() == ["Male", "Female"]
    assert infer_attribute(pd.Series([True, False]), column="b").dtype == bool
