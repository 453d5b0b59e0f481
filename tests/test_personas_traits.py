"""Distinguishing traits (seglab.personas.traits) on frames small enough to check by hand.

Four customers, two segments of two: ``x`` = 10, 10 | 0, 0 (overall mean 5, sd 5: contrast
±2), ``z`` = 3, 1 | 1, 1 (mean 1.5, sd √0.75: contrast ±1/√0.75 ≈ ±1.155), ``y`` = 2, 0 | 1, 1
(segment means equal: contrast 0).
"""

import numpy as np
import pandas as pd
import pytest

from seglab.features import FeatureDictionary
from seglab.personas import distinguishing_traits, profile_segments
from seglab.personas.traits import REDUNDANT, numeric_trait_text

Z = 1 / np.sqrt(0.75)


def _profiles(**columns):
    table = pd.DataFrame({"customer_id": ["c0", "c1", "c2", "c3"], **columns})
    labels = pd.Series([0, 0, 1, 1], index=table["customer_id"])
    return profile_segments(table, labels)


@pytest.fixture
def profiles():
    return _profiles(x=[10.0, 10, 0, 0], y=[2.0, 0, 1, 1], z=[3.0, 1, 1, 1])


def test_traits_are_ranked_by_contrast_with_the_other_customers(profiles):
    traits = distinguishing_traits(profiles)
    mine = traits[traits["segment"] == 0]
    assert mine["feature"].tolist() == ["x", "z"] and mine["rank"].tolist() == [1, 2]
    assert mine["effect"].tolist() == pytest.approx([2.0, Z])
    other = traits[traits["segment"] == 1]
    assert other["feature"].tolist() == ["x", "z"] and other["effect"].tolist() == pytest.approx([-2.0, -Z])


def test_a_feature_that_does_not_tell_the_segments_apart_is_no_trait(profiles):
    assert "y" not in set(distinguishing_traits(profiles)["feature"])


def test_a_number_that_reads_the_same_for_the_segment_and_the_others_is_no_trait():
    # a strong contrast in standard deviations (±2) of a feature that hardly varies:
    # "0.49 (0.49 for other customers)" would tell the reader nothing
    traits = distinguishing_traits(_profiles(x=[10.0, 10, 0, 0], w=[0.4901, 0.4901, 0.4899, 0.4899]))
    assert traits["feature"].tolist() == ["x", "x"]
    wider = distinguishing_traits(_profiles(w=[0.52, 0.52, 0.46, 0.46]))  # 0.52 against 0.46: a trait
    assert wider["feature"].tolist() == ["w", "w"] and "0.52 (0.46 for other customers)" in wider["text"][0]


def test_traits_weaker_than_min_effect_are_left_out(profiles):
    assert distinguishing_traits(profiles, min_effect=1.5)["feature"].tolist() == ["x", "x"]


def test_top_keeps_the_strongest_traits_of_each_segment(profiles):
    traits = distinguishing_traits(profiles, top=1)
    assert traits[["segment", "feature", "rank"]].values.tolist() == [[0, "x", 1], [1, "x", 1]]


def test_features_that_restate_others_or_are_excluded_never_make_a_trait():
    assert "r_score" in REDUNDANT
    profiles = _profiles(x=[10.0, 10, 0, 0], r_score=[5.0, 5, 1, 1], z=[3.0, 1, 1, 1])
    assert distinguishing_traits(profiles)["feature"].unique().tolist() == ["x", "z"]
    assert distinguishing_traits(profiles, exclude=["x"])["feature"].unique().tolist() == ["z"]


def test_a_category_the_segment_over_represents_is_a_trait_with_both_shares():
    # plan: gold, gold | basic, gold: segment 0 is all gold (50% of the others); segment 1
    # holds every basic (0% of the others); both contrasts 0.5 / √(0.75 × 0.25) ≈ 1.155
    traits = distinguishing_traits(_profiles(plan=["gold", "gold", "basic", "gold"]))
    assert traits[["segment", "value"]].values.tolist() == [[0, "gold"], [1, "basic"]]
    assert traits["effect"].tolist() == pytest.approx([Z, Z]) and set(traits["kind"]) == {"categorical"}
    assert traits["text"].tolist() == ["100% gold (plan), 50% of other customers",
                                       "50% basic (plan), 0% of other customers"]


def test_a_band_beside_the_number_it_bands_is_no_trait():
    traits = distinguishing_traits(_profiles(age=[60.0, 62, 20, 22], age_band=["60+", "60+", "18-24", "18-24"]))
    assert traits["feature"].unique().tolist() == ["age"]


def test_trait_texts_compare_with_the_other_customers_in_the_features_unit():
    dictionary = FeatureDictionary(meta={"currency": "EUR", "lookback_days": 365, "as_of": "2025-12-31"})
    dictionary.add("net_revenue", "rfm", "revenue", "EUR")
    dictionary.add("x", "behaviour", "x", "")
    traits = distinguishing_traits(_profiles(net_revenue=[900.0, 1100, 100, 100], x=[10.0, 10, 0, 0]), dictionary)
    text = traits.set_index(["segment", "feature"])["text"]
    assert text[(0, "net_revenue")] == "spent €1,000 each over the year to 31 December 2025 (€100 for other customers)"
    assert text[(0, "x")] == "x: 10 (0 for other customers)"
    assert traits.set_index(["segment", "feature"])["criterion"][(1, "net_revenue")] == "rfm"
    assert numeric_trait_text("orders_per_month", 1.25, 0.5, {}) == "order 1.2 times a month (0.5 for other customers)"


def test_segments_nobody_tells_apart_have_no_traits_and_the_frame_keeps_its_columns():
    traits = distinguishing_traits(_profiles(y=[2.0, 0, 1, 1]))
    assert traits.empty and {"segment", "feature", "effect", "text", "rank"} <= set(traits.columns)
