import numpy as np
import pandas as pd
import pytest

from seglab.cluster import Segmentation, cross_segments, default_columns, embed, segment
from seglab.cluster import embedding as embedding_module
from seglab.collect import collect
from seglab.features import build_features


@pytest.fixture(scope="module")
def features():
    return build_features(collect("sample", "2025Q4"), value_models=True)


def test_default_columns_are_the_key_computed_features(features):
    columns = default_columns(features.features, features.dictionary)
    assert "clv" in columns and "orders" in columns and "age" not in columns
    mall = build_features(collect("mall_customers"))
    assert default_columns(mall.features, mall.dictionary) == ["spending_score", "age", "annual_income_k"]


def test_segment_writes_and_reads_back(features, tmp_path):
    seg = segment(features, criteria=["psychographic"], n_bootstrap=3)
    assert seg.params["ordered_by"] == "clv" and seg.params["chosen_automatically"]
    seg.add_map(features.features, method="pca")
    seg.write(tmp_path)
    again = Segmentation.read(tmp_path)
    pd.testing.assert_frame_equal(again.segments, seg.segments)
    assert again.selection.k == seg.selection.k and list(again.columns.numeric) == list(seg.columns.numeric)
    assert np.array_equal(again.model.predict(features.features[list(seg.columns.all)]), seg.segments["segment"])


def test_segments_are_numbered_by_value(features):
    seg = segment(features, criteria=["psychographic"], k=4)
    clv = features.features.set_index("customer_id")["clv"]
    means = clv.groupby(seg.labels).mean()
    assert means.is_monotonic_decreasing


def test_the_same_parameters_give_the_same_labels(features):
    a = segment(features, criteria=["psychographic"], n_bootstrap=3).segments
    b = segment(features, criteria=["psychographic"], n_bootstrap=3).segments
    pd.testing.assert_frame_equal(a, b)


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
    first = embedding_module.cached_embedding(Z, tmp_path, method="pca")
    calls = []
    monkeypatch.setattr(embedding_module, "embed", lambda *a, **k: calls.append(1))
    again = embedding_module.cached_embedding(Z, tmp_path, method="pca")
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
    with pytest.raises(ParameterError, match="needs more than 8 customers; found 6. Set k_max"):
        segment(features, names=["net_revenue", "orders"], k_values=range(2, 9))
