import json

import numpy as np
import pandas as pd
import pytest

from seglab import cluster
from seglab.cluster import (GROUPS, RESTATED, Preprocessor, SelectionRule, cross_segments, embed,
                            segment)
from seglab.cluster import embedding as embedding_module
from seglab.collect import collect
from seglab.exceptions import InputError, ParameterError
from seglab.features import FeatureDictionary, build_features
from seglab.run import RunFolder


@pytest.fixture(scope="module")
def features():
    return build_features(collect("sample", "2025Q4"), value_models=True)


QUICK = SelectionRule(n_bootstrap=3, n_splits=2)


def test_by_default_segments_rest_on_every_criterion_the_data_has(features):
    seg = segment(features, k=4)
    groups = seg.columns.by_group()
    assert list(groups) == [g for g in GROUPS if g != "firmographic"]  # the sample is B2C
    assert "orders" in groups["value"] and "price_sensitivity" in groups["psychographic"]
    assert not RESTATED & set(seg.columns.all)
    assert seg.params["segment_on"] is None
    written = seg.columns.groups
    assert all(written[c] == g for g, cols in groups.items() for c in cols)


def test_a_customer_table_is_segmented_on_all_its_attributes():
    fs = build_features(collect("customer_personality"))
    seg = segment(fs, k=3)
    groups = seg.columns.by_group()
    assert {"income", "kids_at_home"} <= set(groups["demographic"])
    assert {"spend_wines", "spend_meat"} <= set(groups["value"])
    assert {"web_purchases", "store_purchases"} <= set(groups["behaviour"])


def test_segment_writes_and_reads_back(features, tmp_path):
    seg = segment(features, criteria=["psychographic"], rule=QUICK)
    assert seg.params["ordered_by"] == "clv" and seg.params["chosen_automatically"]
    seg.add_map(features.features, method="pca")
    run = RunFolder(tmp_path)
    run.write_segmentation(seg)
    again = run.segmentation()
    pd.testing.assert_frame_equal(again.segments, seg.segments)
    assert again.selection.k == seg.selection.k and list(again.columns.numeric) == list(seg.columns.numeric)
    assert again.columns.groups == seg.columns.groups
    pd.testing.assert_series_equal(again.selection.segment_stability(), seg.selection.segment_stability())
    assert np.array_equal(again.model.predict(features.features[list(seg.columns.all)]), seg.segments["segment"])


def test_segments_are_numbered_by_value(features):
    seg = segment(features, criteria=["psychographic"], k=4)
    clv = features.features.set_index("customer_id")["clv"]
    means = clv.groupby(seg.labels).mean()
    assert means.is_monotonic_decreasing


def test_the_same_parameters_give_the_same_labels(features):
    a = segment(features, criteria=["psychographic"], rule=QUICK).segments
    b = segment(features, criteria=["psychographic"], rule=QUICK).segments
    pd.testing.assert_frame_equal(a, b)


def test_the_segments_do_not_depend_on_the_order_of_the_customers(features):
    table = features.features
    shuffled = table.sample(frac=1, random_state=3).reset_index(drop=True)
    a = segment(table, features.dictionary, criteria=["psychographic", "value"], rule=QUICK).labels
    b = segment(shuffled, features.dictionary, criteria=["psychographic", "value"], rule=QUICK).labels
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index())


def test_the_stability_of_each_segment_is_reported_under_its_final_number(features):
    seg = segment(features, criteria=["psychographic"], rule=QUICK)
    stability = seg.selection.segment_stability()
    assert sorted(stability.index) == sorted(seg.segments["segment"].unique())
    assert stability.between(0, 1).all()


def test_segments_keep_last_periods_numbers(features):
    last = segment(features, criteria=["psychographic"], k=4)
    shuffled = segment(features, criteria=["psychographic"], k=4, order_by="size", previous=last.model)
    pd.testing.assert_frame_equal(shuffled.segments, last.segments)
    assert shuffled.alignment is not None


def test_cross_segments_merge_small_cells(features):
    crossed = cross_segments(features.features, features.dictionary,
                             {"value": ["value"], "mind": ["psychographic"]}, k={"value": 3, "mind": 4},
                             min_share=0.05)
    shares = crossed.groups["share"]
    assert (shares >= 0.05).all() and shares.sum() == pytest.approx(1.0)
    assert len(crossed.cells) <= 12 and crossed.labels.index.is_unique
    assert set(crossed.segmenters) == {"value", "mind"}


def test_pca_map_and_the_cache(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    Z = pd.DataFrame(rng.normal(size=(300, 5)))
    cache = (tmp_path / "map.parquet", tmp_path / "map.json")
    first = embedding_module.cached_embedding(Z, cache, method="pca")
    calls = []
    monkeypatch.setattr(embedding_module, "embed", lambda *a, **k: calls.append(1))
    again = embedding_module.cached_embedding(Z, cache, method="pca")
    assert calls == [] and np.allclose(again.to_numpy(), first.to_numpy())
    assert list(embed(Z, method="pca").columns) == ["x", "y"]


@pytest.mark.slow
def test_umap_map_is_reproducible():
    rng = np.random.default_rng(0)
    Z = pd.DataFrame(np.vstack([rng.normal(0, 1, (150, 4)), rng.normal(6, 1, (150, 4))]))
    a, b = embed(Z, random_state=3), embed(Z, random_state=3)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    # the two groups stay apart on the map
    assert abs(a.iloc[:150]["x"].mean() - a.iloc[150:]["x"].mean()) + \
        abs(a.iloc[:150]["y"].mean() - a.iloc[150:]["y"].mean()) > 3


def test_too_few_customers_to_choose_k_is_a_parameter_error():
    from seglab.exceptions import ParameterError

    rng = np.random.default_rng(0)
    features = pd.DataFrame({"customer_id": [f"{i:016x}" for i in range(6)], "net_revenue": rng.random(6),
                             "orders": rng.random(6)})
    with pytest.raises(ParameterError, match=r"needs at least 16 customers .*found 6: set k_max to at most 3"):
        segment(features, names=["net_revenue", "orders"], k_values=range(2, 9))


def test_next_period_segments_on_last_periods_columns(features):
    last = segment(features, k=4)
    rng = np.random.default_rng(0)
    table = features.features.assign(new_survey_item=rng.integers(1, 8, len(features.features)).astype(float))
    dictionary = FeatureDictionary(list(features.dictionary.features), meta=dict(features.dictionary.meta))
    dictionary.add("new_survey_item", "psychographic", "a survey question added this quarter", source="customers")
    assert "new_survey_item" in segment(table, dictionary, k=4).columns.all  # chosen afresh: used
    again = segment(table, dictionary, k=4, previous=last.model)
    assert again.columns.all == last.columns.all and again.alignment is not None


def test_segment_fits_a_clone_of_the_preprocessor_with_the_chosen_columns_and_groups(features):
    chosen = Preprocessor(scaling="standard", clip=3.0)
    seg = segment(features, criteria=["psychographic", "value"], k=3, preprocessor=chosen, random_state=4)
    assert chosen.get_params() == Preprocessor(scaling="standard", clip=3.0).get_params()  # untouched
    assert not hasattr(chosen, "transformer_")
    used = seg.model.preprocessor_
    assert (used.scaling, used.clip, used.random_state) == ("standard", 3.0, 4)
    assert used.numeric_ == list(seg.columns.numeric) and used.groups == seg.columns.groups
    assert (seg.params["scaling"], seg.params["clip"], seg.params["skew"]) == ("standard", 3.0, "auto")


def test_a_preprocessor_with_its_own_groups_keeps_them(features):
    first = segment(features, criteria=["value"], k=3).columns.all[0]
    own = {first: f"{first} alone"}
    seg = segment(features, criteria=["value"], k=3, preprocessor=Preprocessor(groups=own))
    assert seg.model.preprocessor_.groups == own
    assert seg.model.preprocessor_.weights_[first] == 1.0  # a group of its own: full weight


def test_a_preprocessor_naming_columns_is_refused_by_segment(features):
    with pytest.raises(ParameterError, match="leave the preprocessor's numeric and categorical unset"):
        segment(features, k=3, preprocessor=Preprocessor(numeric=["orders"]))
    with pytest.raises(ParameterError, match="must be a seglab.cluster.Preprocessor"):
        segment(features, k=3, preprocessor="robust")


def test_segmentation_json_names_the_number_of_segments_k(features, tmp_path):
    seg = segment(features, criteria=["psychographic"], k=4)
    run = RunFolder(tmp_path)
    run.write_segmentation(seg)
    meta = json.loads(run.file("segmentation").read_text())
    assert meta["k"] == 4 == meta["params"]["k"] == seg.model.k_ and "n_segments" not in meta


def test_the_allowed_choices_are_exported_once_and_reused_by_the_explorer():
    from seglab.explorer import app, model

    assert cluster.SKEWS == ("auto", "log", "yeo-johnson", "none") and cluster.SCALINGS == ("robust", "standard")
    assert cluster.MAP_METHODS == ("pca", "umap") and "kprototypes" in cluster.ALGORITHMS
    for name in ("ALGORITHMS", "SKEWS", "SCALINGS", "MAP_METHODS"):  # the explorer's menus are these objects
        assert getattr(app, name) is getattr(cluster, name) and getattr(model, name) is getattr(cluster, name)
    with pytest.raises(ParameterError, match="skew must be one of"):
        cluster.Preprocessor(skew="sqrt").fit(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))


def test_beyond_sample_size_k_is_chosen_on_a_seeded_stratified_sample_and_everyone_is_assigned(features):
    table = features.features
    full = segment(features, criteria=["psychographic", "value"], rule=QUICK)
    sampled = segment(features, criteria=["psychographic", "value"], rule=QUICK, sample_size=1_500)
    assert sampled.params["sample_size"] == 1_500 and len(sampled.segments) == len(table)
    assert len(sampled.selection.labels) == 1_500  # the evidence for k came from the sample
    assert sampled.model.max_fit_rows == 1_500
    assert sampled.selection.k == full.selection.k
    both = pd.concat([full.labels, sampled.labels], axis=1).dropna()
    from sklearn.metrics import adjusted_rand_score
    assert adjusted_rand_score(both.iloc[:, 0], both.iloc[:, 1]) > 0.8
    # the sample's evidence carries the final numbers: segment n's stability is segment n's
    assert sorted(sampled.selection.segment_stability().index) == sorted(sampled.segments["segment"].unique())
    # which customers are drawn depends on their values and the seed, not on the row order
    shuffled = table.sample(frac=1, random_state=3).reset_index(drop=True)
    again = segment(shuffled, features.dictionary, criteria=["psychographic", "value"], rule=QUICK, sample_size=1_500)
    pd.testing.assert_series_equal(again.labels.sort_index(), sampled.labels.sort_index())
    pd.testing.assert_frame_equal(again.selection.table, sampled.selection.table)


def test_a_sample_too_small_for_the_candidate_ks_is_a_parameter_error(features):
    with pytest.raises(ParameterError, match="sample_size"):
        segment(features, criteria=["psychographic"], rule=QUICK, sample_size=10)


def test_beyond_max_points_the_map_places_a_seeded_sample_of_every_segment(features, tmp_path):
    import matplotlib.pyplot as plt

    from seglab.plotting import plot_segment_map

    seg = segment(features, criteria=["psychographic"], k=4).add_map(features.features, method="pca",
                                                                      max_points=600)
    placed = seg.segments.dropna(subset=["x", "y"])
    assert len(placed) == 600 and seg.segments["x"].isna().sum() == len(seg.segments) - 600
    shares = placed["segment"].value_counts(normalize=True).sort_index()
    overall = seg.segments["segment"].value_counts(normalize=True).sort_index()
    assert (shares - overall).abs().max() < 0.01  # every segment in its own share
    assert seg.params["map"]["max_points"] == 600
    again = segment(features, criteria=["psychographic"], k=4).add_map(features.features, method="pca",
                                                                        max_points=600)
    pd.testing.assert_frame_equal(again.segments, seg.segments)  # seeded
    ax = plot_segment_map(seg.segments)
    assert sum(len(c.get_offsets()) for c in ax.collections) == 600
    assert f"600 of {len(seg.segments):,} customers shown" in ax.get_title()
    plt.close("all")
    run = RunFolder(tmp_path)
    run.write_segmentation(seg)
    pd.testing.assert_frame_equal(run.segmentation().segments, seg.segments)


def test_the_map_sample_is_the_same_customers_whatever_the_row_order(features):
    table = features.features
    shuffled = table.sample(frac=1.0, random_state=7).reset_index(drop=True)
    placed = {}
    for name, frame in (("as read", table), ("shuffled", shuffled)):
        seg = segment(frame, features.dictionary, criteria=["psychographic", "value"], k=4)
        seg.add_map(frame, method="pca", max_points=600)
        placed[name] = set(seg.segments.dropna(subset=["x"])["customer_id"])
    assert len(placed["as read"]) == 600
    assert placed["shuffled"] == placed["as read"]


@pytest.mark.parametrize("algorithm", cluster.ALGORITHMS)
def test_a_prepared_segmentation_gives_the_same_segments(features, algorithm):
    chosen = {"criteria": ["psychographic", "value"], "preprocessor": Preprocessor(scaling="standard"),
              "random_state": 2}
    prepared = cluster.prepare_segmentation(features, **chosen)  # for every algorithm but k-prototypes
    plain = segment(features, k=3, algorithms=[algorithm], **chosen)
    reused = segment(features, k=3, algorithms=[algorithm], prepared=prepared, **chosen)
    pd.testing.assert_frame_equal(reused.segments, plain.segments)
    pd.testing.assert_frame_equal(reused.model.profile_, plain.model.profile_)
    assert reused.columns == plain.columns and reused.params == plain.params


def test_a_prepared_segmentation_follows_last_periods_columns(features):
    last = segment(features, criteria=["psychographic"], k=4)
    prepared = cluster.prepare_segmentation(features, previous=last.model)
    plain = segment(features, k=4, previous=last.model)
    reused = segment(features, k=4, previous=last.model, prepared=prepared)
    pd.testing.assert_frame_equal(reused.segments, plain.segments)
    assert reused.columns.all == last.columns.all and reused.alignment.mapping == plain.alignment.mapping


def test_a_prepared_segmentation_made_with_other_arguments_is_refused(features):
    prepared = cluster.prepare_segmentation(features, criteria=["value"])
    with pytest.raises(ParameterError, match="other criteria than"):
        segment(features, k=3, criteria=["psychographic"], prepared=prepared)
    with pytest.raises(ParameterError, match="other preprocessor, random_state"):
        segment(features, k=3, criteria=["value"], preprocessor=Preprocessor(skew="none"), random_state=1,
                prepared=prepared)
    used = prepared.columns.numeric[0]
    other = features.features.assign(**{used: features.features[used] + 1})
    with pytest.raises(InputError, match="other data"):
        segment(other, features.dictionary, k=3, criteria=["value"], prepared=prepared)
