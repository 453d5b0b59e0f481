import numpy as np
import pandas as pd
import pytest

from seglab.exceptions import InputError, ParameterError
from seglab.features import FeatureDictionary
from seglab.personas import (distinguishing_traits, name_segments, profile_segments, read_names,
                             recommend_actions)


@pytest.fixture
def table():
    """Segment 0: 4 frequent, high-spending customers in Germany; segment 1: 6 lapsed ones in France."""
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(10)],
        "orders": [10, 12, 8, 10, 1, 2, 1, 1, 2, 1],
        "net_revenue": [1000.0, 1200, 800, 1000, 50, 100, 50, 50, 100, 50],
        "prob_alive": [0.9, 0.95, 0.9, 0.85, 0.2, 0.1, 0.3, 0.2, 0.1, 0.2],
        "return_rate": [0.0, 0.0, 0.0, np.nan, 0.3, 0.4, 0.2, 0.3, 0.5, 0.3],
        "country": ["Germany"] * 3 + ["France"] + ["France"] * 6,
    })


@pytest.fixture
def labels(table):
    return pd.Series([0] * 4 + [1] * 6, index=table["customer_id"])


def test_profiles_by_hand(table, labels):
    p = profile_segments(table, labels)
    assert p.overview.loc[0, "customers"] == 4 and p.overview.loc[1, "share"] == pytest.approx(0.6)
    assert p.overview.loc[0, "revenue_share"] == pytest.approx(4000 / 4400)
    orders = p.numeric[(p.numeric["segment"] == 0) & (p.numeric["feature"] == "orders")].iloc[0]
    assert orders["mean"] == 10 and orders["median"] == 10 and orders["overall_mean"] == 4.8
    assert orders["lift"] == pytest.approx(10 / 4.8)
    assert orders["effect"] == pytest.approx((10 - 4.8) / np.std(table["orders"]))
    returns = p.numeric[(p.numeric["segment"] == 0) & (p.numeric["feature"] == "return_rate")].iloc[0]
    assert returns["missing"] == 1 and returns["present"] == 3  # profiled on what is present
    germany = p.categorical[(p.categorical["segment"] == 0) & (p.categorical["value"] == "Germany")].iloc[0]
    assert germany["share"] == 0.75 and germany["overall_share"] == 0.3 and germany["lift"] == pytest.approx(2.5)


def test_labels_for_unknown_customers_are_a_clear_error(table, labels):
    wrong = pd.concat([labels, pd.Series([1, 1], index=["zz1", "zz2"])])
    with pytest.raises(InputError, match="2 customers in the segment labels are not in the feature table"):
        profile_segments(table, wrong)
    with pytest.raises(InputError, match="1 customers of the feature table have no segment"):
        profile_segments(table, labels.iloc[1:])


def test_traits_in_plain_language(table, labels):
    d = FeatureDictionary(meta={"currency": "EUR"})
    d.add("orders", "rfm", "orders", "orders")
    d.add("net_revenue", "rfm", "revenue", "EUR")
    d.add("prob_alive", "value", "alive", "probability")
    d.add("return_rate", "behaviour", "returns", "share")
    d.add("country", "geographic", "country", type="category")
    traits = distinguishing_traits(profile_segments(table, labels), d, top=5)
    mine = traits[traits["segment"] == 0].set_index("feature")
    assert mine.loc["orders", "text"] == "2.1× as many orders (10.0 vs 4.8)"
    assert mine.loc["net_revenue", "text"] == "spends 1,000 EUR (2.3× the average 440 EUR)"
    assert mine.loc["country", "text"] == "75% Germany (country) vs 30% overall"
    assert list(traits[traits["segment"] == 0]["rank"]) == [1, 2, 3, 4, 5][:len(mine)]
    assert traits["effect"].abs().ge(0.3).all()


def test_names_are_data_driven_unique_and_overridable(table, labels, tmp_path):
    profiles = profile_segments(table, labels)
    traits = distinguishing_traits(profiles, top=5)
    names = name_segments(profiles, traits)
    assert names == {0: "High-value loyalists", 1: "Low-value lapsed returners"}
    assert name_segments(profiles, traits) == names  # deterministic
    assert name_segments(profiles, traits, overrides={1: "Sleepers"})[1] == "Sleepers"
    assert name_segments(profiles, traits, previous={0: "VIPs"})[0] == "VIPs"
    with pytest.raises(ParameterError, match="segments \\[7\\]"):
        name_segments(profiles, traits, overrides={7: "x"})
    (tmp_path / "names.yaml").write_text("0: Champions\n1: Sleepers\n")
    assert read_names(tmp_path / "names.yaml") == {0: "Champions", 1: "Sleepers"}


def test_duplicate_names_are_made_unique():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"customer_id": [f"c{i}" for i in range(9)], "x": rng.normal(size=9)})
    labels = pd.Series([0, 0, 0, 1, 1, 1, 2, 2, 2], index=table["customer_id"])
    profiles = profile_segments(table, labels)
    names = name_segments(profiles, distinguishing_traits(profiles))
    assert len(set(names.values())) == 3


def test_actions_follow_the_documented_rules(table, labels):
    actions = recommend_actions(profile_segments(table, labels))
    assert [a["action"] for a in actions[0]] == ["Reward and retain"]
    assert [a["action"] for a in actions[1]][:1] == ["Win back"]
    assert "Reduce returns" in [a["action"] for a in actions[1]]
    assert "paid social / retargeting" in actions[1][0]["channels"]
