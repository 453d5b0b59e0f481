"""Persona names (seglab.personas.naming), rule by rule, on frames small enough to check by hand.

Every segment has two identical customers, so a segment's mean is its value and the
contrasts follow from the numbers in each table.
"""

import pandas as pd
import pytest

from seglab.exceptions import InputError, ParameterError
from seglab.personas import name_segments, profile_segments, read_names


def _profiles(**columns):
    n = len(next(iter(columns.values())))
    table = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], **columns})
    labels = pd.Series([i // 2 for i in range(n)], index=table["customer_id"])
    return profile_segments(table, labels)


@pytest.fixture
def two_tiers():
    """Segment 0 spends 1,000 over 10 orders, segment 1 100 over 1: two value tiers, 10× apart."""
    return _profiles(net_revenue=[1000.0, 1000, 100, 100], orders=[10.0, 10, 1, 1])


def test_a_value_tier_and_the_strongest_other_trait_make_the_name(two_tiers):
    # net revenue is the value measure: it sets the tier and never gives the noun
    assert name_segments(two_tiers) == {0: "Higher-value regulars", 1: "Lower-value occasional buyers"}


def test_three_well_separated_tiers_are_top_mid_and_low():
    profiles = _profiles(net_revenue=[5000.0, 5000, 600, 600, 50, 50], orders=[20.0, 20, 5, 5, 1, 1])
    names = name_segments(profiles)
    assert [names[s].split()[0] for s in range(3)] == ["Top-value", "Mid-value", "Low-value"]


def test_a_lapsed_segment_that_spent_the_most_is_named_by_its_past():
    # segment 2: only 20% likely to be still active, and it spent the most of the three
    profiles = _profiles(net_revenue=[500.0, 500, 100, 100, 1000, 1000],
                         prob_alive=[0.9, 0.9, 0.9, 0.9, 0.2, 0.2])
    names = name_segments(profiles)
    assert names[2] == "Lapsed former top spenders"
    # the active segments are tiered among themselves; P(alive) is a model output, never a noun
    assert names[0] == "Higher-value customers" and names[1] == "Lower-value customers"


def test_a_spending_score_table_names_spenders_by_tier_and_their_strongest_trait():
    # income: 90 | 50 | 10 (k$): segment 1 is average, so it has no adjective
    profiles = _profiles(spending_score=[80.0, 80, 50, 50, 20, 20], annual_income_k=[90.0, 90, 50, 50, 10, 10])
    assert name_segments(profiles) == {0: "High-income big spenders", 1: "Moderate spenders",
                                       2: "Low-income cautious spenders"}


def test_a_given_name_wins_and_no_other_segment_starts_like_it(two_tiers):
    names = name_segments(two_tiers, overrides={0: "Lower-value occasional buyers"})
    assert names[0] == "Lower-value occasional buyers"
    assert names[1] == "Lower-value infrequent customers"  # its first choice is taken: the next one


def test_names_for_segments_that_do_not_exist_are_an_error(two_tiers):
    with pytest.raises(ParameterError, match=r"segments \[5\], which do not exist; segments: \[0, 1\]"):
        name_segments(two_tiers, overrides={5: "Ghosts"})


def test_last_periods_names_carry_over_to_the_same_segment_numbers(two_tiers):
    names = name_segments(two_tiers, previous={1: "Bargain hunters", 7: "Gone"})
    assert names == {0: "Higher-value regulars", 1: "Bargain hunters"}


def test_segments_that_cannot_be_told_apart_still_get_unique_names_without_numbers():
    names = name_segments(_profiles(x=[1.0, 1, 1, 1, 1, 1]))
    assert len({n.lower() for n in names.values()}) == 3 and not any(n[-1].isdigit() for n in names.values())


def test_a_names_file_maps_segment_numbers_to_names(tmp_path):
    path = tmp_path / "names.yaml"
    path.write_text("0: Champions\n2: Sleepers\n", encoding="utf-8")
    assert read_names(path) == {0: "Champions", 2: "Sleepers"}
    assert read_names("") == {}
    path.write_text("champions: 0\n", encoding="utf-8")
    with pytest.raises(InputError, match="keys must be segment numbers"):
        read_names(path)
    with pytest.raises(InputError, match="names file not found"):
        read_names(tmp_path / "missing.yaml")
