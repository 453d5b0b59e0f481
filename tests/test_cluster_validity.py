"""The segments users get by default hold up: planted truth recovered, well-known groups found,
and nothing depends on the salt, the row order or the thread count.

Every test runs what `seglab run` runs with its defaults: the stage notebooks' parameter
defaults are checked to be the library's defaults, then the library is called with nothing
chosen by hand.
"""

import ast
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
import yaml
from threadpoolctl import threadpool_limits

from seglab.cluster import SelectionRule, segment
from seglab.collect import collect
from seglab.collect.privacy import pseudonymize
from seglab.collect.spec import builtin_specs
from seglab.config import data_dir
from seglab.datasets import write_sample
from seglab.features import build_features
from seglab.personas import build_personas
from seglab.runner import notebook_parameters

pytestmark = pytest.mark.slow


def default_segments(data) -> "tuple":
    """Features and segments exactly as the pipeline's defaults make them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        features = build_features(data)
        return features, segment(features)


def agreement(truth: pd.DataFrame, seg, salt: str) -> float:
    """ARI between the planted segments and ``seg``'s (truth ids are raw, segments' pseudonymized)."""
    ids = pseudonymize(truth["customer_id"], salt)
    return adjusted_rand_score(truth["segment"], seg.labels.loc[ids].to_numpy())


def test_the_notebooks_defaults_are_the_librarys():
    literal = {name: ast.literal_eval(info["default"]) for name, info in notebook_parameters("cluster").items()}
    rule = SelectionRule()
    assert literal["criteria"] == [] and literal["names"] == [] and literal["k"] == 0  # nothing by hand
    assert (literal["k_min"], literal["k_max"]) == (2, 8) and literal["algorithms"] == ["kmeans"]
    for name in ("min_share", "min_stability", "min_jaccard", "min_prediction_strength", "stable_jaccard",
                 "n_bootstrap"):
        assert literal[name] == getattr(rule, name), name
    assert (literal["scaling"], literal["skew"], literal["random_state"]) == ("robust", "auto", 0)
    features = {name: ast.literal_eval(info["default"]) for name, info in notebook_parameters("features").items()}
    assert features["value_models"] is True and features["lookback_days"] == 730


def test_the_built_in_sample_is_recovered_by_the_default_run():
    salt = "validity"
    _, seg = default_segments(collect("sample", salt=salt))
    truth = pd.read_parquet(data_dir() / "sample" / "truth.parquet")
    assert seg.selection.k == truth["segment"].nunique()
    assert agreement(truth, seg, salt) >= 0.9
    stability = seg.selection.segment_stability()
    assert (stability >= 0.75).all()  # every segment stable on Hennig's scale


@pytest.mark.parametrize("planted, seed, b2b", [(3, 201, False), (4, 202, True), (5, 203, False),
                                                (5, 204, True), (6, 205, False), (6, 206, True)])
def test_fresh_samples_are_recovered_with_the_planted_k(tmp_path, planted, seed, b2b):
    spec = write_sample(tmp_path / "drawn", n_segments=planted, seed=seed, b2b=b2b)
    salt = f"salt-{seed}"
    _, seg = default_segments(collect(spec, salt=salt))
    truth = pd.read_parquet(tmp_path / "drawn" / "truth.parquet")
    assert seg.selection.k == planted
    assert agreement(truth, seg, salt) >= 0.8
    expected = {"firmographic"} if b2b else {"demographic"}
    assert expected <= set(seg.columns.by_group())


def test_customer_personality_is_segmented_on_its_attributes():
    features, seg = default_segments(collect("customer_personality"))
    used = set(seg.columns.all)
    assert {"income", "kids_at_home", "teens_at_home", "spend_wines", "spend_meat", "web_purchases",
            "store_purchases", "catalog_purchases"} <= used
    assert seg.selection.k >= 3
    table = features.features.assign(segment=seg.labels.loc[features.features["customer_id"]].to_numpy())
    means = table.groupby("segment")[["income", "spend_wines", "web_purchases", "kids_at_home"]].mean()
    # segments differ on several attributes, not on one
    spread = (means.max() - means.min()) / table[means.columns].std()
    assert (spread > 0.5).sum() >= 3
    # the biggest buyers (most by catalogue and in store) are named for it, not "rarely seen"
    names = build_personas(features, seg, explain=False).names
    top = means["spend_wines"].idxmax()
    assert "spender" in names[top].lower() and "rarely seen" not in names[top].lower(), names


@pytest.fixture(scope="module")
def shuffled_sample(tmp_path_factory):
    """The built-in sample's raw tables with every row order reversed and shuffled."""
    folder = tmp_path_factory.mktemp("shuffled")
    rng = np.random.default_rng(7)
    for name in ("customers", "transactions", "events"):
        table = pd.read_parquet(data_dir() / "sample" / f"{name}.parquet")
        table.iloc[rng.permutation(len(table))].to_parquet(folder / f"{name}.parquet", index=False)
    spec = yaml.safe_load(builtin_specs()["sample"].read_text(encoding="utf-8"))
    for name in ("customers", "transactions", "events"):
        spec[name]["sources"] = [{"path": f"{name}.parquet"}]
    (folder / "sample.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return folder / "sample.yaml"


def test_neither_the_salt_nor_the_row_order_changes_the_segments(shuffled_sample):
    truth = pd.read_parquet(data_dir() / "sample" / "truth.parquet")
    runs = {}
    for salt, source in (("first salt", "sample"), ("second salt", "sample"), ("third salt", shuffled_sample)):
        _, seg = default_segments(collect(source, "2025Q4", salt=salt))
        ids = pseudonymize(truth["customer_id"], salt)
        runs[salt] = (seg.selection.k, seg.labels.loc[ids].to_numpy())
    (k0, labels0), *others = runs.values()
    for k, labels in others:
        assert k == k0 and adjusted_rand_score(labels0, labels) >= 0.95


def test_the_gaussian_mixture_finds_the_planted_segments_whatever_the_salt_and_row_order(shuffled_sample):
    """Whoever picks the mixture gets segments of the built-in sample as close to the
    planted ones as before its k-means start (mean ARI over k = 3..6: 0.44 with two
    restarts from scikit-learn's start, 0.55 now), and the same ones under another salt or
    row order."""
    truth = pd.read_parquet(data_dir() / "sample" / "truth.parquet")
    runs = {}
    for salt, source in (("first salt", "sample"), ("second salt", "sample"), ("third salt", shuffled_sample)):
        features = build_features(collect(source, "2025Q4", salt=salt))
        ids = pseudonymize(truth["customer_id"], salt)
        runs[salt] = {k: segment(features, k=k, algorithms=["gmm"]).labels.loc[ids].to_numpy() for k in range(3, 7)}
    first, *others = runs.values()
    assert np.mean([adjusted_rand_score(truth["segment"], labels) for labels in first.values()]) >= 0.5
    for other in others:
        for k, labels in other.items():
            assert adjusted_rand_score(first[k], labels) >= 0.95, k


def test_the_thread_count_does_not_change_the_segments():
    features = build_features(collect("sample", salt="threads"))
    rule = SelectionRule(n_bootstrap=3, n_splits=2)
    with threadpool_limits(limits=1):
        one = segment(features, rule=rule).segments
    two = segment(features, rule=rule).segments
    pd.testing.assert_frame_equal(one, two)


@pytest.mark.notebook
def test_a_run_that_rests_on_one_variable_says_so_on_the_terminal(tmp_path, capsys):
    from seglab.cli import main

    rng = np.random.default_rng(0)
    pd.DataFrame({"id": [f"c{i}" for i in range(400)], "spend": rng.lognormal(3, 1, 400).round(2),
                  "region": "north"}).to_csv(tmp_path / "customers.csv", index=False)
    (tmp_path / "shop.yaml").write_text(
        "name: shop\ncustomers:\n  sources:\n    - path: customers.csv\n  columns: {customer_id: id}\n"
        "  criteria:\n    value: [spend]\n    geographic: [region]\n", encoding="utf-8")
    code = main(["run", "--dataset", str(tmp_path / "shop.yaml"), "--out", str(tmp_path / "reports"),
                 "--no-progress", "--config", str(_pca_config(tmp_path))])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "seglab: warning: the segmentation rests on one variable, spend" in err
    assert "the geographic criterion was left out" in err


def _pca_config(folder):
    path = folder / "quick.yaml"
    path.write_text("map_method: pca\n", encoding="utf-8")
    return path
