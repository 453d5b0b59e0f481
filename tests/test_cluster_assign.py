"""The engine's assignment (an Ibis expression) equals the segmenter's own, customer for customer."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.mixture import GaussianMixture

from seglab.cluster import Preprocessor, Segmenter, assign_segments, segment, write_segments
from seglab.collect import collect
from seglab.exceptions import InputError, ParameterError
from seglab.features import build_features
from seglab.features.engine import as_table, connect, execute
from seglab.run import RunFolder


@pytest.fixture(scope="module")
def con():
    return connect(threads=1)


@pytest.fixture(scope="module")
def sample():
    return build_features(collect("sample", "2025Q4"), value_models=False)


def engine_labels(con, model, table: pd.DataFrame) -> np.ndarray:
    """The engine's segment of each row of ``table``, in its row order."""
    out = execute(con, assign_segments(model, as_table(con, table, name="features")))
    assert len(out) == len(table) and out["customer_id"].is_unique
    return out.set_index("customer_id")["segment"].reindex(table["customer_id"]).to_numpy()


def columns(fs) -> list[str]:
    return list(segment(fs, k=2, preprocessor=Preprocessor(), algorithms=("kmeans",)).columns.all)


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch", "gmm", "kprototypes", "ward", "hdbscan"])
def test_engine_assigns_like_predict_for_every_algorithm(con, sample, algorithm):
    table = sample.features
    cols = columns(sample)
    model = Segmenter(4, algorithm, max_fit_rows=1_000, n_init=2).fit(table[cols],
                                                                     order_values=table["net_revenue"].fillna(0))
    got = engine_labels(con, model, table)
    np.testing.assert_array_equal(got, model.predict(table[cols]))
    if algorithm not in ("ward", "hdbscan"):  # fitted on 1,000 customers, every customer assigned by the model
        np.testing.assert_array_equal(got, model.labels_)
    if algorithm == "hdbscan":  # fitted on a sample: customers beyond every segment's radius stay unassigned
        assert (got == -1).any() and (got >= 0).any()


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
def test_engine_takes_the_most_probable_gaussian_component(con, sample, covariance):
    table = sample.features
    cols = ["net_revenue", "orders", "recency_days", "avg_order_value", "price_sensitivity", "gender"]
    model = Segmenter(4, "gmm", n_init=1).fit(table[cols])
    Z = model.transform(table[cols]).to_numpy()
    model.model_ = GaussianMixture(4, covariance_type=covariance, random_state=0).fit(Z)
    got = engine_labels(con, model, table)
    np.testing.assert_array_equal(got, model.predict(table[cols]))
    assert len(np.unique(got)) >= 2


@pytest.mark.parametrize("preprocessor", [
    Preprocessor(pca=0.9),
    Preprocessor(skew="yeo-johnson", scaling="standard", clip=None),
    Preprocessor(skew="log", max_categories=3),
], ids=["pca", "yeo-johnson-standard", "log-rare-levels"])
def test_engine_preprocesses_like_the_preprocessor(con, sample, preprocessor):
    seg = segment(sample, k=5, preprocessor=preprocessor)
    got = engine_labels(con, seg.model, sample.features)
    np.testing.assert_array_equal(got, seg.model.labels_)


def test_default_segmentation_of_the_sample_is_assigned_exactly(con, sample):
    seg = segment(sample)  # what `seglab run` does: k chosen from the evidence
    got = engine_labels(con, seg.model, sample.features)
    np.testing.assert_array_equal(got, seg.segments["segment"].to_numpy())


@pytest.mark.slow
@pytest.mark.parametrize(("dataset", "names"), [("mall_customers", None), ("mall_customers", ["gender", "age"]),
                                                ("customer_personality", None)])
@pytest.mark.parametrize("algorithm", ["kmeans", "kprototypes"])
def test_engine_assigns_real_customers(con, dataset, names, algorithm):
    fs = build_features(collect(dataset))
    seg = segment(fs, k=4, algorithms=(algorithm,), names=names)  # the spec's columns, plus names
    assert bool(seg.model.categorical_) == (dataset == "customer_personality" or names is not None)
    got = engine_labels(con, seg.model, fs.features)
    np.testing.assert_array_equal(got, seg.model.labels_)
    np.testing.assert_array_equal(got, seg.model.predict(fs.features[list(seg.columns.all)]))


def test_new_customers_with_unseen_levels_and_missing_values(con, sample):
    table = sample.features
    seg = segment(sample, k=4, preprocessor=Preprocessor(max_categories=3))
    cat = seg.model.categorical_[0]
    new = table.head(40).copy()
    new["customer_id"] = [f"new{i}" for i in range(len(new))]
    new.loc[new.index[:10], cat] = "a level never seen"
    numeric = [c for c in seg.model.numeric_ if c not in seg.model.preprocessor_.flags_]
    new.loc[new.index[10:20], numeric[:3]] = np.nan
    new.loc[new.index[20:30], seg.model.preprocessor_.flags_[:1]] = np.nan
    new.loc[new.index[30:], cat] = None
    got = engine_labels(con, seg.model, new)
    np.testing.assert_array_equal(got, seg.model.predict(new[list(seg.columns.all)]))


def test_engine_follows_a_relabelling(con, sample):
    seg = segment(sample, k=3)
    seg.model.relabel({0: 2, 1: 0, 2: 1})
    np.testing.assert_array_equal(engine_labels(con, seg.model, sample.features), seg.model.labels_)


def test_write_segments_writes_ordered_parquet_with_extra_columns(con, sample, tmp_path):
    seg = segment(sample, k=3)
    table = as_table(con, sample.features, name="features")
    coords = pd.DataFrame({"customer_id": sample.features["customer_id"].iloc[::-2].to_numpy()})
    coords = coords.assign(x=np.arange(len(coords), dtype=float), y=-np.arange(len(coords), dtype=float))
    path = write_segments(assign_segments(seg.model, table), tmp_path / "segments.parquet", con=con,
                          extra=as_table(con, coords, name="map"))
    written = pd.read_parquet(path)
    assert list(written.columns) == ["customer_id", "segment", "x", "y"]
    assert written["customer_id"].is_monotonic_increasing and len(written) == len(sample.features)
    expected = seg.segments.merge(coords, on="customer_id", how="left").sort_values("customer_id")
    pd.testing.assert_frame_equal(written.reset_index(drop=True), expected.reset_index(drop=True),
                                  check_dtype=False)
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    assert [p.name for p in tmp_path.iterdir()] == ["segments.parquet"]  # no temporary file left


def test_bad_input_is_refused_clearly(con, sample):
    seg = segment(sample, k=3)
    table = as_table(con, sample.features.drop(columns=[seg.model.numeric_[0]]), name="features")
    with pytest.raises(InputError, match=seg.model.numeric_[0]):
        assign_segments(seg.model, table)
    with pytest.raises(ParameterError, match="Segmenter"):
        assign_segments(object(), table)
    with pytest.raises(ParameterError, match="Ibis table"):
        assign_segments(seg.model, sample.features)


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
@pytest.mark.parametrize("algorithm", ["kmeans", "gmm", "kprototypes", "hdbscan"])
def test_spark_assigns_as_duckdb(con, sample, spark, tmp_path, algorithm):  # noqa: F811
    import ibis
    from sklearn.metrics import adjusted_rand_score

    path = tmp_path / "features.parquet"
    sample.features.to_parquet(path)
    seg = segment(sample, k=4, algorithms=(algorithm,))
    on_spark = ibis.pyspark.connect(spark)
    spark_labels = execute(on_spark, assign_segments(seg.model, as_table(on_spark, path, name="features")))
    duck_labels = execute(con, assign_segments(seg.model, as_table(con, path, name="features")))
    both = duck_labels.merge(spark_labels, on="customer_id", suffixes=("_duckdb", "_spark"), validate="1:1")
    assert len(both) == len(sample.features)
    assert adjusted_rand_score(both["segment_duckdb"], both["segment_spark"]) >= 0.99
    assert (both["segment_duckdb"] == both["segment_spark"]).all()  # in fact identical, numbers and all
    written = write_segments(assign_segments(seg.model, as_table(on_spark, path, name="features")),
                             tmp_path / "segments.parquet", con=on_spark)
    assert pd.read_parquet(written)["segment"].tolist() == both.sort_values("customer_id")["segment_duckdb"].tolist()


def test_the_run_folder_writes_segments_with_the_engine(sample, tmp_path):
    run = RunFolder(tmp_path / "run")
    run.write_features(sample)
    seg = segment(sample, k=4).add_map(sample.features, method="pca")
    run.write_segmentation(seg)
    first = run.file("segments").read_bytes()
    assert pq.ParquetFile(run.file("segments")).metadata.created_by.lower().startswith("duckdb")
    pd.testing.assert_frame_equal(run.segments(), seg.segments.sort_values("customer_id").reset_index(drop=True),
                                  check_dtype=False)
    run.write_segmentation(seg)
    assert run.file("segments").read_bytes() == first  # the same bytes every time
    assert [p.name for p in run.artifacts.iterdir() if p.name.startswith(".")] == []


def test_the_run_folder_refuses_segments_of_other_features(sample, tmp_path):
    import dataclasses

    run = RunFolder(tmp_path / "run")
    ids = sample.features["customer_id"]
    run.write_features(dataclasses.replace(sample, features=sample.features.assign(customer_id=np.roll(ids, 1))))
    seg = segment(sample, k=4)  # made from other features: each customer's row is another's
    with pytest.raises(InputError, match="does not belong to this feature table"):
        run.write_segmentation(seg)
    assert not run.has("segments")
