import numpy as np
import pandas as pd
import pytest

from seglab.exceptions import EmptyDataError, InputError, ParameterError
from seglab.features import (RFM_SEGMENT_GRID, RFM_SEGMENTS, btyd_summary, marketing_rfm, rfm_scores, tie_groups,
                             rfm_segments)


@pytest.fixture
def tx():
    """Customer a: purchases on 1, 5 (two orders) and 9 Jan, a return on 20 Jan.
    Customer b: one purchase on 3 Jan. Customer c: buys only after the snapshot."""
    return pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "a", "b", "c"],
        "order_id": ["1", "2", "3", "4", "R1", "5", "6"],
        "order_date": pd.to_datetime(["2021-01-01 10:00", "2021-01-05 09:00", "2021-01-05 17:00",
                                      "2021-01-09", "2021-01-20", "2021-01-03", "2021-02-02"], format="ISO8601"),
        "amount": [10.0, 4.0, 6.0, 20.0, -5.0, 7.0, 99.0],
    })


def test_btyd_summary_by_hand(tx):
    s = btyd_summary(tx, as_of="2021-01-31").set_index("customer_id")
    assert list(s.index) == ["a", "b"]  # c bought after the snapshot
    a = s.loc["a"]
    assert (a["frequency"], a["recency"], a["T"]) == (2, 8.0, 30.0)
    assert a.monetary_value == pytest.approx((10.0 + 20.0) / 2)  # repeat days: 5 Jan (4+6), 9 Jan (20)
    assert a.net_monetary_value == pytest.approx((10.0 + 20.0 - 5.0) / 2)
    b = s.loc["b"]
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0.0, 28.0, 0.0)


def test_btyd_summary_in_weeks_and_with_a_lookback(tx):
    weeks = btyd_summary(tx, as_of="2021-01-31", time_unit="weeks").set_index("customer_id")
    assert weeks.loc["a", "T"] == pytest.approx(30 / 7)
    recent = btyd_summary(tx, as_of="2021-01-31", lookback_days=27).set_index("customer_id")
    assert recent.loc["a", "frequency"] == 1 and "b" not in recent.index  # window starts 5 Jan


def test_nothing_after_the_snapshot_leaks_in(tx):
    later = pd.concat([tx, tx.assign(order_date=tx["order_date"] + pd.Timedelta(days=400),
                                     order_id=tx["order_id"] + "x")])
    pd.testing.assert_frame_equal(btyd_summary(tx, as_of="2021-01-31"),
                                  btyd_summary(later, as_of="2021-01-31"))


def test_btyd_summary_equals_lifetimes_on_synthetic_data():
    lifetimes = pytest.importorskip("lifetimes")
    from seglab.datasets import make_customers

    tx = make_customers(400, 3, seed=4).transactions
    mine = btyd_summary(tx, as_of="2025-09-30")
    purchases = tx[(tx["amount"] > 0) & (tx["order_date"] < "2025-10-01")]
    theirs = (lifetimes.utils.summary_data_from_transaction_data(
        purchases, "customer_id", "order_date", monetary_value_col="amount",
        observation_period_end="2025-09-30").reset_index().sort_values("customer_id"))
    assert mine["customer_id"].tolist() == theirs["customer_id"].tolist()
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(mine[col].to_numpy(), theirs[col].to_numpy())
    np.testing.assert_allclose(mine["monetary_value"], theirs["monetary_value"], rtol=1e-12)


def test_marketing_rfm_nets_returns(tx):
    r = marketing_rfm(tx, as_of="2021-01-31").set_index("customer_id")
    a = r.loc["a"]
    assert (a.recency_days, a.orders, a.net_revenue, a.gross_revenue, a.returned_amount) == (
        22.0, 4, 35.0, 40.0, 5.0)
    assert a.avg_order_value == pytest.approx(35.0 / 4) and a.tenure_days == 30.0


def test_a_customer_with_only_returns_has_no_orders():
    tx = pd.DataFrame({"customer_id": ["z"], "order_id": ["R9"], "amount": [-12.0],
                       "order_date": pd.to_datetime(["2021-01-02"])})
    r = marketing_rfm(tx, as_of="2021-01-31").iloc[0]
    assert r.orders == 0 and r.net_revenue == -12.0 and np.isnan(r.recency_days) and np.isnan(r.avg_order_value)


def test_empty_window_and_bad_tables_are_clear_errors(tx):
    with pytest.raises(EmptyDataError, match="no purchases on or before 2020-12-31"):
        btyd_summary(tx, as_of="2020-12-31")
    with pytest.raises(InputError, match="order_date"):
        btyd_summary(tx.drop(columns="order_date"), as_of="2021-01-31")
    with pytest.raises(ParameterError, match="'days', 'weeks'"):
        btyd_summary(tx, as_of="2021-01-31", time_unit="months")


def test_summary_does_not_modify_its_input(tx):
    before = tx.copy()
    btyd_summary(tx, as_of="2021-01-31")
    marketing_rfm(tx, as_of="2021-01-31")
    pd.testing.assert_frame_equal(tx, before)


def _rfm(n=10):
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                         "recency_days": np.arange(n, dtype=float) * 10,
                         "orders": np.arange(1, n + 1),
                         "net_revenue": np.arange(1, n + 1) * 100.0})


def test_quintile_scores():
    s = rfm_scores(_rfm())
    assert s["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]  # lower recency is better
    assert s["f_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert s["rfm_cell"].iloc[0] == "511" and s["fm_score"].iloc[-1] == 5


def test_tied_customers_share_a_score():
    frame = _rfm().assign(orders=[1, 1, 1, 1, 1, 1, 2, 3, 4, 5])
    s = rfm_scores(frame)
    assert s["f_score"].iloc[:6].nunique() == 1


def test_custom_cut_points():
    s = rfm_scores(_rfm(), cuts={"recency": [15, 35, 55, 75]})
    assert s["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    with pytest.raises(ParameterError, match="4 values"):
        rfm_scores(_rfm(), cuts={"recency": [1, 2]})
    with pytest.raises(ParameterError, match="cuts key"):
        rfm_scores(_rfm(), cuts={"recent": [1, 2, 3, 4]})


def test_customers_without_purchases_get_no_scores():
    s = rfm_scores(_rfm().assign(orders=[0] + list(range(2, 11))))
    assert s.iloc[0][["r_score", "f_score", "m_score"]].isna().all()
    assert rfm_segments(s).iloc[0] == "No purchases"


def test_the_segment_grid_covers_every_cell_with_the_eleven_names():
    assert len(RFM_SEGMENT_GRID) == 25 and set(RFM_SEGMENT_GRID.values()) == set(RFM_SEGMENTS)
    scores = pd.DataFrame({"r_score": [5, 5, 1, 1, 3], "fm_score": [5, 1, 1, 5, 2]})
    assert rfm_segments(scores).tolist() == ["Champions", "New", "Lost", "Can't lose them", "Need attention"]


def test_segment_map_overrides_cells():
    scores = pd.DataFrame({"r_score": [5, 4], "fm_score": [5, 5]})
    assert rfm_segments(scores, {(5, 5): "VIP"}).tolist() == ["VIP", "Champions"]
    with pytest.raises(InputError, match="pairs from 1 to 5"):
        rfm_segments(scores, {(6, 1): "x"})


def _retail_like(n: int = 5000, seed: int = 0) -> pd.DataFrame:
    """60 % one-time buyers; repeat buyers more recent and richer; recency skewed to recent."""
    rng = np.random.default_rng(seed)
    one = rng.random(n) < 0.6
    orders = np.where(one, 1, 2 + rng.geometric(0.35, n))
    recency = np.where(one, rng.exponential(160, n), rng.exponential(60, n)).round()
    revenue = (orders * rng.lognormal(3, 0.6, n)).round(2)
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "recency_days": recency,
                         "orders": orders, "net_revenue": revenue})


def test_scores_keep_ties_together_and_one_time_buyers_get_f_1():
    rfm = _retail_like()
    scores = rfm_scores(rfm)
    assert (scores.loc[rfm["orders"] == 1, "f_score"] == 1).all()
    for col, score in (("orders", "f_score"), ("recency_days", "r_score"), ("net_revenue", "m_score")):
        assert (scores.groupby(rfm[col])[score].nunique() == 1).all()  # a tie never splits
        assert sorted(scores[score].unique()) == [1, 2, 3, 4, 5]
    # the repeat buyers fill F = 2 … 5 in order of their order counts
    assert scores.groupby(rfm["orders"])["f_score"].first().is_monotonic_increasing


def test_every_named_cell_is_reachable_and_a_silent_one_time_buyer_is_lost():
    rfm = _retail_like()
    scores = rfm_scores(rfm)
    cells = set(zip(scores["r_score"].astype(int), scores["fm_score"].astype(int)))
    assert cells == set(RFM_SEGMENT_GRID)  # all 25 cells occupied
    names = rfm_segments(scores)
    assert set(names) == set(RFM_SEGMENTS)
    silent = (rfm["orders"] == 1) & (rfm["recency_days"] >= 365) & (scores["m_score"] == 1)
    assert silent.sum() > 0 and (names[silent] == "Lost").all()
    assert (scores.loc[rfm["recency_days"] >= 365, "r_score"] == 1).all()


def test_tie_groups_use_every_score_the_distinct_values_allow():
    assert tie_groups(np.array([60, 15, 8, 7, 10])).tolist() == [0, 1, 2, 3, 4]
    assert tie_groups(np.array([90, 10])).tolist() == [0, 1]
    assert np.bincount(tie_groups(np.ones(100))).tolist() == [20] * 5  # no ties: quintiles
    two = rfm_scores(pd.DataFrame({"customer_id": list("abcd"), "recency_days": [1, 1, 9, 9],
                                   "orders": [1, 1, 1, 2], "net_revenue": [5.0, 5.0, 6.0, 7.0]}))
    assert two["f_score"].tolist() == [1, 1, 1, 5] and two["r_score"].tolist() == [5, 5, 1, 1]


def test_an_orders_channel_is_its_first_lines_channel_in_string_order():
    # the orders carry channel numbers through the aggregation (DuckDB cannot spill a string per
    # group); the result must be the channel a string MIN gives, missing channels included
    from seglab.features.engine import as_table, connect, execute
    from seglab.features.rfm import order_channels, orders_expr, window_lines

    lines = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "c", "d", "d"],
        "order_id": ["1", "1", "2", "3", "3", "4", "5", "5"],
        "order_date": pd.to_datetime(["2024-01-02"] * 8),
        "amount": [5.0, 3.0, 2.0, 1.0, -1.0, 4.0, 2.0, 2.0],
        "channel": ["web", "app", "zoo", "épicerie", "zoo", None, None, "web"],
    })
    con = connect("duckdb")
    table = window_lines(as_table(con, lines, name="transactions"), as_of=pd.Timestamp("2024-01-31"))
    channels = order_channels(con, table)
    assert channels == ["app", "web", "zoo", "épicerie"]  # code-point order, like the engines'
    got = execute(con, orders_expr(table, channels)).set_index("order_id")["channel"]
    expected = lines.groupby("order_id")["channel"].min()
    pd.testing.assert_series_equal(got.sort_index(), expected, check_names=False, check_dtype=False)
    assert "channel" not in execute(con, orders_expr(table)).columns  # no list, no channel
    assert execute(con, orders_expr(table, [])).channel.isna().all()
