import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from seglab.cluster import KSelection, choose_k, segment
from seglab.cluster.selection import _jaccard, bootstrap_stability
from seglab.collect import collect
from seglab.collect.privacy import get_salt, pseudonymize
from seglab.datasets import write_sample
from seglab.exceptions import ParameterError
from seglab.features import build_features


@pytest.mark.slow
@pytest.mark.parametrize("planted, seed", [(3, 11), (4, 12), (5, 13)])
def test_the_automatic_choice_finds_the_planted_segments(tmp_path, planted, seed):
    spec = write_sample(tmp_path / "planted", n_customers=1500, n_segments=planted, seed=seed)
    features = build_features(collect(spec), value_models=False)
    seg = segment(features, criteria=["psychographic"])
    assert seg.selection.k == planted
    truth = pd.read_parquet(tmp_path / "planted" / "truth.parquet")
    truth["customer_id"] = pseudonymize(truth["customer_id"], get_salt())
    labels = seg.labels.loc[truth["customer_id"]]
    assert adjusted_rand_score(truth["segment"], labels) >= 0.9


def test_mall_customers_give_the_well_known_five_groups():
    features = build_features(collect("mall_customers"))
    seg = segment(features, names=["annual_income_k", "spending_score"], scaling="standard")
    assert seg.selection.k == 5
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
    settings = dict(k_values=range(2, 5), n_bootstrap=3, scaling="standard", skew="none")
    assert choose_k(X, min_share=0.05, **settings).k == 3
    guarded = choose_k(X, min_share=0.15, **settings)  # 10 % is too small to act on
    assert guarded.k == 2
    assert guarded.table.set_index("k").loc[3, "smallest_share"] < 0.15
    with pytest.raises(ParameterError, match="smaller than min_share=48%.*the best has 45"):
        choose_k(X, min_share=0.48, **settings)  # even two segments split 45 / 55 %


def test_an_impossible_k_range_is_refused_up_front():
    X = pd.DataFrame({"a": np.arange(100.0)})
    with pytest.raises(ParameterError, match="k × min_share > 1"):
        choose_k(X, k_values=[6, 7], min_share=0.2)


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
    sel = choose_k(X, k_values=range(2, 6), algorithms=["kmeans", "gmm"], n_bootstrap=3)
    assert sel.k == 3 and set(sel.table["algorithm"]) == {"kmeans", "gmm"}
    assert sel.table.loc[sel.table["algorithm"] == "gmm", "bic"].notna().all()
    assert {"silhouette", "calinski_harabasz", "davies_bouldin", "stability", "min_jaccard",
            "inertia", "smallest_share"} <= set(sel.table.columns)
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
