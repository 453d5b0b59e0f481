import numpy as np
import pandas as pd
import pytest

from seglab.cluster import KSelection, Preprocessor, SelectionRule, choose_k, prediction_strength, segment
from seglab.cluster.selection import _jaccard, _strength, bootstrap_stability
from seglab.collect import collect
from seglab.exceptions import DataQualityWarning, ParameterError
from seglab.features import build_features


@pytest.mark.slow
def test_mall_customers_give_the_well_known_five_groups_by_default():
    # the spec says to segment on income and spending score (segment_on); nothing is passed here
    seg = segment(build_features(collect("mall_customers")))
    assert seg.selection.k == 5 and seg.columns.all == ["annual_income_k", "spending_score"]
    profile = seg.model.profile_.assign(customers=seg.model.sizes_)
    # the five groups every tutorial finds: (income k$, spending score) and their sizes
    known = pd.DataFrame({"annual_income_k": [55.3, 86.5, 88.2, 26.3, 25.7],
                          "spending_score": [49.5, 82.1, 17.1, 20.9, 79.4],
                          "customers": [81, 39, 35, 23, 22]})
    for _, group in known.iterrows():
        match = profile[(profile["annual_income_k"].sub(group["annual_income_k"]).abs() < 1)
                        & (profile["spending_score"].sub(group["spending_score"]).abs() < 1)]
        assert len(match) == 1 and int(match["customers"].iloc[0]) == group["customers"]


def test_the_over_segmentation_guard_rules_out_tiny_segments():
    rng = np.random.default_rng(0)
    groups = [rng.normal(c, 0.5, (n, 2)) for c, n in (([0, 0], 450), ([6, 0], 450), ([3, 6], 100))]
    X = pd.DataFrame(np.vstack(groups), columns=["a", "b"])  # the third group is 10 %
    settings = dict(k_values=range(2, 5), preprocessor=Preprocessor(scaling="standard", skew="none"))
    assert choose_k(X, rule=SelectionRule(min_share=0.05, n_bootstrap=3), **settings).k == 3
    guarded = choose_k(X, rule=SelectionRule(min_share=0.15, n_bootstrap=3), **settings)  # 10 % is too small
    assert guarded.k == 2
    assert guarded.table.set_index("k").loc[3, "smallest_share"] < 0.15
    with pytest.raises(ParameterError, match="smaller than min_share=48%.*the best has 45"):
        choose_k(X, rule=SelectionRule(min_share=0.48, n_bootstrap=3), **settings)  # even two split 45 / 55 %


def test_an_impossible_k_range_is_refused_up_front():
    X = pd.DataFrame({"a": np.arange(100.0)})
    with pytest.raises(ParameterError, match="k × min_share > 1"):
        choose_k(X, k_values=[6, 7], rule=SelectionRule(min_share=0.2))
    with pytest.raises(ParameterError, match="min_jaccard must be"):
        SelectionRule(min_jaccard=1.5)


def test_jaccard_and_stability_by_hand():
    ref = np.array([0, 0, 0, 1, 1, 1])
    other = np.array([5, 5, 1, 1, 1, 1])
    assert _jaccard(ref, other) == {0: pytest.approx(2 / 3), 1: pytest.approx(3 / 4)}
    rng = np.random.default_rng(0)
    X = pd.DataFrame(np.vstack([rng.normal(0, 0.2, (100, 2)), rng.normal(5, 0.2, (100, 2))]))
    labels = np.repeat([0, 1], 100)
    ari, per_segment = bootstrap_stability("kmeans", X, labels, 2, n_bootstrap=4)
    assert ari == pytest.approx(1.0) and per_segment == {0: pytest.approx(1.0), 1: pytest.approx(1.0)}


def test_several_algorithms_are_compared_and_the_evidence_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    X = pd.DataFrame(np.vstack([rng.normal(c, 0.4, (150, 2)) for c in ([0, 0], [4, 0], [0, 4])]),
                     columns=["a", "b"])
    sel = choose_k(X, k_values=range(2, 6), algorithms=["kmeans", "gmm"], rule=SelectionRule(n_bootstrap=3))
    assert sel.k == 3 and set(sel.table["algorithm"]) == {"kmeans", "gmm"}
    assert sel.table.loc[sel.table["algorithm"] == "gmm", "bic"].notna().all()
    assert {"silhouette", "calinski_harabasz", "davies_bouldin", "stability", "min_jaccard",
            "prediction_strength", "inertia", "smallest_share", "admissible"} <= set(sel.table.columns)
    sel.write(tmp_path / "k.json")
    again = KSelection.read(tmp_path / "k.json")
    assert (again.algorithm, again.k) == (sel.algorithm, sel.k) and len(again.jaccard) == len(sel.jaccard)


def test_silhouette_from_shared_distances_equals_sklearns():
    from sklearn.metrics import silhouette_score

    from seglab.cluster.selection import sample_distances, silhouette

    rng = np.random.default_rng(4)
    Z = np.vstack([rng.normal(c, 1.0, (120, 3)) for c in (0, 3, 6)])
    labels = np.repeat([0, 1, 2], 120)
    labels[5] = 2  # a misfit, and a singleton-free but uneven segmentation
    rows, D = sample_distances(Z, 10_000)
    assert len(rows) == len(Z)
    assert silhouette(D, labels) == pytest.approx(silhouette_score(Z, labels), abs=1e-5)


def four_groups_in_two_pairs(n=1600, seed=0):
    """Four tight groups in two far-apart pairs: silhouette prefers k = 2, yet the groups are real."""
    rng = np.random.default_rng(seed)
    centres = np.array([0, 1.6, 12, 13.6])
    truth = rng.integers(0, 4, n)
    return pd.DataFrame({"a": centres[truth] + rng.normal(0, 0.3, n)}), truth


def test_prediction_strength_by_hand():
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert _strength(labels, np.array([7, 7, 7, 3, 3, 3])) == 1.0
    # test segment 0's pairs: (0,1) together, (0,2), (1,2) apart → 1/3; segment 1 intact
    assert _strength(labels, np.array([7, 7, 3, 3, 3, 3])) == pytest.approx(1 / 3)


def test_prediction_strength_is_high_for_real_groups_and_low_for_arbitrary_splits():
    X, _ = four_groups_in_two_pairs()
    strength = {k: prediction_strength("kmeans", X, k, n_splits=3) for k in (2, 4, 6)}
    assert strength[2] > 0.95 and strength[4] > 0.95 and strength[6] < 0.8


def test_the_rule_takes_the_largest_k_the_data_supports_not_the_best_silhouette():
    X, truth = four_groups_in_two_pairs()
    sel = choose_k(X, k_values=range(2, 8), rule=SelectionRule(n_bootstrap=4, n_splits=3),
                   preprocessor=Preprocessor(skew="none"))
    table = sel.table.set_index("k")
    assert table["silhouette"].idxmax() == 2  # silhouette alone would collapse to the two pairs
    assert sel.k == 4 and table.loc[4, "admissible"] and not table.loc[5:, "admissible"].any()
    assert "largest" in sel.rule


def test_a_dissolving_segment_rules_its_k_out():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(900, 2)), columns=["a", "b"])  # one round blob: no real groups
    rule = SelectionRule(n_bootstrap=5, n_splits=3, min_prediction_strength=0.0, min_stability=0.0)
    sel = choose_k(X, k_values=range(2, 7), rule=rule, preprocessor=Preprocessor(skew="none"))
    table = sel.table.set_index("k")
    weak = table[table["min_jaccard"] < 0.6]
    assert not weak.empty and not weak["admissible"].any()


def test_the_choice_does_not_depend_on_the_row_order():
    X, _ = four_groups_in_two_pairs(n=900, seed=2)
    rule = SelectionRule(n_bootstrap=3, n_splits=3)
    a = choose_k(X, k_values=range(2, 6), rule=rule)
    b = choose_k(X.sample(frac=1, random_state=5), k_values=range(2, 6), rule=rule)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.k == b.k


def test_when_no_candidate_is_admissible_the_most_predictive_is_taken_with_a_warning():
    X = pd.DataFrame(np.random.default_rng(0).uniform(size=(400, 2)), columns=["a", "b"])
    rule = SelectionRule(n_bootstrap=3, n_splits=3, min_prediction_strength=0.99, min_jaccard=0.99)
    with pytest.warns(DataQualityWarning, match="no candidate meets the rule"):
        sel = choose_k(X, k_values=range(2, 5), rule=rule)
    assert sel.rule.startswith("highest prediction strength")


def test_segment_stability_carries_the_final_segment_numbers():
    X, truth = four_groups_in_two_pairs(n=800, seed=4)
    sel = choose_k(X, k_values=[4], rule=SelectionRule(n_bootstrap=3, n_splits=2))
    swapped = (sel.labels + 1) % 4  # the final model numbered the segments differently
    matched = sel.matched_to(swapped)
    before = sel.segment_stability()
    after = matched.segment_stability()
    assert sorted(after.index) == [0, 1, 2, 3]
    for s in range(4):
        assert after[(s + 1) % 4] == before[s]
