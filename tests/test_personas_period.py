"""The period's own figures per segment: revenue, orders, active and new customers, then and now."""

import numpy as np
import pandas as pd
import pytest

from seglab.exceptions import InputError
from seglab.personas import PeriodFigures, period_figures
from seglab.personas.period import NOT_SEGMENTED


@pytest.fixture
def lines():
    """Customer a: since 2020, buys every quarter; b: first buys in 2021Q2 (two orders, one
    return); c: bought in 2020Q2 only; d: bought in 2021Q2 but is in no segment."""
    rows = [
        ("a", "o1", "2020-02-10", 100.0), ("a", "o2", "2020-05-03", 50.0), ("a", "o3", "2021-01-15", 70.0),
        ("a", "o4", "2021-05-20", 30.0), ("a", "o4", "2021-05-20", 20.0),  # two lines, one order
        ("b", "o5", "2021-04-02", 200.0), ("b", "o6", "2021-06-30", 80.0), ("b", "C6", "2021-06-30", -30.0),
        ("c", "o7", "2020-04-15", 500.0),
        ("d", "o8", "2021-06-01", 10.0),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


@pytest.fixture
def segments():
    return pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": [0, 1, 1]})


def test_figures_by_hand(lines, segments):
    before = lines.copy()
    f = period_figures(lines, segments, "2021Q2")
    pd.testing.assert_frame_equal(lines, before)  # the input is not modified
    assert f.available and f.windows["previous"]["label"] == "2021Q1" and f.windows["year_ago"]["label"] == "2020Q2"
    assert f.segment(0) == {"revenue": 50.0, "orders": 1, "active": 1, "new": 0, "revenue_share": pytest.approx(50 / 310)}
    # b: 200 + 80 - 30 in two orders (the return is not an order), new in 2021Q2
    assert f.segment(1) == {"revenue": 250.0, "orders": 2, "active": 1, "new": 1,
                            "revenue_share": pytest.approx(250 / 310)}
    assert f.segment(NOT_SEGMENTED)["revenue"] == 10.0  # d bought but is in no segment: counted apart
    assert f.total() == {"revenue": 310.0, "orders": 4, "active": 3, "new": 2, "revenue_share": 1.0}
    assert f.segment(0, "previous")["revenue"] == 70.0 and f.segment(1, "previous")["revenue"] == 0
    year_ago = f.segment(1, "year_ago")
    assert year_ago["revenue"] == 500.0 and year_ago["new"] == 1  # c's first purchase was in 2020Q2
    kpis = f.kpis(1)
    assert kpis["period_revenue"] == 250.0 and kpis["period_revenue_year_ago"] == 500.0
    assert {"period_orders", "period_active", "period_new", "period_revenue_share_previous"} <= set(kpis)


def test_windows_the_data_does_not_cover_are_left_out(lines, segments):
    recent = lines[lines["order_date"] >= "2020-05-01"]  # starts after 2020Q2 began
    f = period_figures(recent, segments, "2021Q2")
    assert f.windows["year_ago"] is None and f.label("year_ago") is None
    assert f.segment(1, "year_ago") == {} and "period_revenue_year_ago" not in f.kpis(1)
    assert f.total("previous")["revenue"] == 70.0 and f.total("current")["new"] == 2
    # data starting within four weeks of the period: nobody can be called new
    late = period_figures(lines[lines["order_date"] >= "2021-03-20"], segments, "2021Q2")
    assert late.total()["new"] is None and late.segment(1)["new"] is None and late.total()["revenue"] == 310.0


def test_without_order_ids_an_order_is_a_customer_day(lines, segments):
    f = period_figures(lines.drop(columns="order_id"), segments, "2021Q2")
    assert f.segment(1)["orders"] == 2 and f.segment(0)["orders"] == 1


def test_customer_tables_and_as_of_dates_have_no_period_figures(segments, lines):
    none = period_figures(None, segments, "all")
    assert not none.available and "customer table" in none.note
    dated = period_figures(lines, segments, "2021-06-30")
    assert not dated.available and "not a quarter" in dated.note
    with pytest.raises(InputError, match="period"):
        period_figures(lines, segments)


def test_round_trip_through_a_dict(lines, segments):
    f = period_figures(lines, segments, "2021Q2")
    again = PeriodFigures.from_dict(f.to_dict())
    assert again.total() == f.total() and again.kpis(1) == f.kpis(1) and again.windows == f.windows
    assert PeriodFigures.from_dict(None) is None
    frame = f.to_frame()
    assert frame.loc["total", "revenue_current"] == 310.0 and np.isclose(frame.loc[0, "revenue_previous"], 70.0)


def test_a_runs_tables_give_their_own_period(tmp_path):
    from seglab.collect import collect
    from seglab.run import RunFolder

    data = collect("sample", "2025Q4")
    run = RunFolder(tmp_path)
    run.write_canonical(data)
    segments = pd.DataFrame({"customer_id": data.customers["customer_id"], "segment": 0})
    f = period_figures(run.canonical_files(), segments)
    in_quarter = data.transactions[data.transactions["order_date"] >= "2025-10-01"]
    assert f.period == "2025Q4" and f.total()["revenue"] == pytest.approx(in_quarter["amount"].sum(), abs=0.01)
    assert f.total()["active"] == in_quarter.loc[in_quarter["amount"] > 0, "customer_id"].nunique()
