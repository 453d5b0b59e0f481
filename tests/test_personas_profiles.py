import numpy as np
import pandas as pd
import pytest

from seglab.exceptions import InputError, ParameterError
from seglab.features import FeatureDictionary
from seglab.personas import (distinguishing_traits, name_segments, profile_segments, read_names,
                             recommend_actions, segment_facts)


@pytest.fixture
def table():
    """Segment 0: 4 frequent big spenders, mostly in Germany; segment 1: 3 light spenders who
    return a lot; segment 2: 3 who have gone quiet after spending a fair amount."""
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(10)],
        "orders": [10, 12, 8, 10, 2, 1, 2, 5, 6, 4],
        "net_revenue": [1000.0, 1200, 800, 1000, 50, 80, 50, 400, 450, 350],
        "prob_alive": [0.9, 0.95, 0.9, 0.85, 0.9, 0.8, 0.9, 0.1, 0.2, 0.15],
        "return_rate": [0.0, 0.0, 0.0, np.nan, 0.3, 0.4, 0.2, 0.05, 0.0, 0.1],
        "country": ["Germany"] * 3 + ["France"] * 7,
    })


@pytest.fixture
def labels(table):
    return pd.Series([0] * 4 + [1] * 3 + [2] * 3, index=table["customer_id"])


@pytest.fixture
def dictionary():
    d = FeatureDictionary(meta={"currency": "EUR", "lookback_days": 730, "as_of": "2025-12-31"})
    d.add("orders", "rfm", "orders", "orders")
    d.add("net_revenue", "rfm", "revenue", "EUR")
    d.add("prob_alive", "value", "alive", "probability")
    d.add("return_rate", "behaviour", "returns", "share")
    d.add("country", "geographic", "country", type="category")
    return d


def test_profiles_by_hand(table, labels):
    before = table.copy()
    p = profile_segments(table, labels)
    pd.testing.assert_frame_equal(table, before)
    assert p.overview.loc[0, "customers"] == 4 and p.overview.loc[1, "share"] == pytest.approx(0.3)
    assert p.overview.loc[0, "revenue_share"] == pytest.approx(4000 / 5380)
    orders = p.numeric[(p.numeric["segment"] == 0) & (p.numeric["feature"] == "orders")].iloc[0]
    assert orders["mean"] == 10 and orders["median"] == 10 and orders["overall_mean"] == 6.0
    assert orders["lift"] == pytest.approx(10 / 6.0)
    assert orders["effect"] == pytest.approx((10 - 6.0) / np.std(table["orders"]))
    # contrast: against the other six customers, not against an average segment 0 is part of
    assert orders["rest_mean"] == pytest.approx(20 / 6)
    assert orders["contrast"] == pytest.approx((10 - 20 / 6) / np.std(table["orders"]))
    returns = p.numeric[(p.numeric["segment"] == 0) & (p.numeric["feature"] == "return_rate")].iloc[0]
    assert returns["missing"] == 1 and returns["present"] == 3  # profiled on what is present
    assert returns["rest_mean"] == pytest.approx(1.05 / 6)
    germany = p.categorical[(p.categorical["segment"] == 0) & (p.categorical["value"] == "Germany")].iloc[0]
    assert germany["share"] == 0.75 and germany["overall_share"] == 0.3 and germany["lift"] == pytest.approx(2.5)
    assert germany["rest_share"] == 0 and germany["contrast"] == pytest.approx(0.75 / np.sqrt(0.3 * 0.7))


def test_labels_for_unknown_customers_are_a_clear_error(table, labels):
    wrong = pd.concat([labels, pd.Series([1, 1], index=["zz1", "zz2"])])
    with pytest.raises(InputError, match="2 customers in the segment labels are not in the feature table"):
        profile_segments(table, wrong)
    with pytest.raises(InputError, match="1 customers of the feature table have no segment"):
        profile_segments(table, labels.iloc[1:])


def test_traits_in_plain_language_against_the_other_customers(table, labels, dictionary):
    traits = distinguishing_traits(profile_segments(table, labels), dictionary, top=5)
    mine = traits[traits["segment"] == 0].set_index("feature")
    assert mine.loc["orders", "text"] == ("placed 10 orders each over the two years to 31 December 2025 "
                                          "(3 for other customers)")
    assert mine.loc["net_revenue", "text"] == ("spent €1,000 each over the two years to 31 December 2025 "
                                               "(€230 for other customers)")
    assert mine.loc["country", "text"] == "75% Germany (country), 0% of other customers"
    returns = traits[(traits["segment"] == 1) & (traits["feature"] == "return_rate")].iloc[0]
    assert returns["text"] == "return 30% of what they buy (2.5% for other customers)"
    assert list(traits[traits["segment"] == 0]["rank"]) == list(range(1, len(mine) + 1))
    assert traits["effect"].abs().ge(0.3).all()
    strength = traits[traits["segment"] == 0]["effect"].abs()
    assert strength.is_monotonic_decreasing


def test_names_come_from_contrast_and_tiers(table, labels, dictionary):
    profiles = profile_segments(table, labels)
    names = name_segments(profiles, dictionary=dictionary)
    # two active segments make two value tiers; the quiet one is named by its past spend (2nd of 3)
    assert names == {0: "Higher-value regulars", 1: "Lower-value heavy returners", 2: "Lapsed former big spenders"}
    assert name_segments(profiles, dictionary=dictionary) == names  # deterministic


def test_names_can_be_given_or_carried_over(table, labels, tmp_path):
    profiles = profile_segments(table, labels)
    assert name_segments(profiles, overrides={1: "Sleepers"})[1] == "Sleepers"
    assert name_segments(profiles, previous={0: "VIPs"})[0] == "VIPs"
    # a placeholder carried from an old run ("Customers 1") is not kept: names never end in a number
    assert name_segments(profiles, previous={0: "Customers 1"})[0] != "Customers 1"
    with pytest.raises(ParameterError, match="segments \\[7\\]"):
        name_segments(profiles, overrides={7: "x"})
    (tmp_path / "names.yaml").write_text("0: Champions\n1: Sleepers\n")
    assert read_names(tmp_path / "names.yaml") == {0: "Champions", 1: "Sleepers"}


def test_segments_alike_get_unique_names_without_numbers():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"customer_id": [f"c{i}" for i in range(12)], "x": rng.normal(size=12)})
    labels = pd.Series(np.repeat([0, 1, 2, 3], 3), index=table["customer_id"])
    names = name_segments(profile_segments(table, labels))
    assert len({n.lower() for n in names.values()}) == 4
    assert not any(n[-1].isdigit() for n in names.values())


def test_facts_say_what_a_segment_is_made_of(table, labels):
    facts = segment_facts(profile_segments(table, labels))
    assert facts[2].status == "lapsed" and "15% likely to be still active" in facts[2].evidence
    assert (facts[0].tier, facts[1].tier, facts[2].tier) == ("top", "low", None)
    assert facts[2].past_rank == 1 and facts[2].past_upper
    assert facts[0].status is None and facts[0].value_column == "net_revenue"


def test_actions_follow_the_documented_rules(table, labels, dictionary):
    actions = recommend_actions(profile_segments(table, labels), dictionary=dictionary)
    assert [a["action"] for a in actions[0]] == ["Reward and retain"]
    assert [a["action"] for a in actions[1]] == ["Serve at low cost", "Reduce returns"]
    assert [a["action"] for a in actions[2]] == ["Win back"]
    assert "€400 each" in actions[2][0]["why"] and "2nd highest of 3 segments" in actions[2][0]["why"]
    assert actions[1][1]["why"] == "return rate 30% (2.5% for other customers)"
    # KPIs and channels only from what the data has: no recency, no transactions, no e-mail
    assert actions[2][0]["kpis"] == [] and actions[0][0]["kpis"] == ["probability still active", "orders"]
    assert all(a["channels"] == [] for acts in actions.values() for a in acts)
    with_email = recommend_actions(profile_segments(table, labels), contacts={"email", "email_sha256"})
    assert with_email[2][0]["channels"] == ["email", "paid social (matched audience)"]
    assert with_email[0][0]["channels"] == ["email"]


def test_profiles_of_degenerate_columns_and_a_single_segment():
    table = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "flat": [3.0] * 4,
                          "sparse": [np.nan, np.nan, 1.0, 5.0], "plan": ["x", None, "x", "y"]})
    two = profile_segments(table, pd.Series([1, 1, 0, 0], index=table["customer_id"]))
    assert two.numeric[["segment", "feature"]].values.tolist() == [[0, "flat"], [0, "sparse"], [1, "flat"],
                                                                    [1, "sparse"]]
    flat = two.numeric.set_index(["segment", "feature"]).loc[(0, "flat")]
    assert flat["effect"] == 0 and flat["contrast"] == 0 and flat["lift"] == 1  # no spread to compare
    empty = two.numeric.set_index(["segment", "feature"]).loc[(1, "sparse")]
    assert np.isnan(empty["mean"]) and np.isnan(empty["lift"]) and empty["contrast"] == 0
    assert (empty["present"], empty["missing"]) == (0, 2) and empty["rest_mean"] == 3  # (1 + 5) / 2
    assert two.categorical[["segment", "value"]].values.tolist() == [[0, "x"], [0, "y"], [1, "(missing)"],
                                                                      [1, "x"]]  # only values present
    one = profile_segments(table, pd.Series(0, index=table["customer_id"]))
    assert one.numeric["rest_mean"].isna().all() and (one.numeric["contrast"] == 0).all()  # no other customers
    assert one.categorical["rest_share"].isna().all() and (one.categorical["contrast"] == 0).all()
    assert one.categorical["lift"].tolist() == [1.0, 1.0, 1.0]
