"""Segment profiles computed by the engine equal the in-memory ones: on every built-in
dataset on DuckDB, and on the sample on Spark (local[2])."""

import numpy as np
import pandas as pd
import pytest

from seglab.cluster import segment
from seglab.collect import collect
from seglab.exceptions import InputError
from seglab.features import build_features
from seglab.personas import profile_segments


def built(dataset: str, period, folder):
    """The dataset's features with the defaults a user gets, segmented (k = 4), written as
    Parquet like a run's artifacts."""
    fs = build_features(collect(dataset, period))
    seg = segment(fs, k=4)
    features, segments = folder / "features.parquet", folder / "segments.parquet"
    fs.features.to_parquet(features)
    seg.segments.to_parquet(segments)
    return fs.features, seg.segments, features, segments


def assert_same_profiles(memory, engine):
    assert engine.revenue == memory.revenue
    for name in ("overview", "numeric", "categorical"):
        left, right = getattr(memory, name), getattr(engine, name)
        assert list(right.columns) == list(left.columns), name
        assert right.dtypes.astype(str).tolist() == left.dtypes.astype(str).tolist(), name
        pd.testing.assert_frame_equal(right, left, check_exact=False, rtol=1e-9, atol=1e-9, obj=name)


@pytest.mark.parametrize("dataset, period", [
    ("sample", "2025Q4"),
    pytest.param("mall_customers", None, marks=pytest.mark.slow),
    pytest.param("customer_personality", None, marks=pytest.mark.slow),
    pytest.param("online_retail", "2011Q3", marks=pytest.mark.slow)])
def test_engine_profiles_equal_the_in_memory_ones(dataset, period, tmp_path):
    table, segments, features_file, segments_file = built(dataset, period, tmp_path)
    memory = profile_segments(table, segments[["customer_id", "segment"]])
    engine = profile_segments(features_file, segments_file)
    assert len(engine.numeric) and len(engine.overview) == segments["segment"].nunique()
    assert_same_profiles(memory, engine)


@pytest.fixture
def table():
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(8)],
                         "orders": [1, 2, 3, 4, 5, 6, 7, 8],
                         "net_revenue": [10.0, 20, np.nan, 40, 50, 60, 70, 80],
                         "constant": [1.0] * 8,
                         "vip": [True, False, True, None, False, False, True, False],
                         "country": ["DE", "FR", None, "DE", "FR", "FR", "UK", "DE"]})


@pytest.fixture
def labels(table):
    return pd.DataFrame({"customer_id": table["customer_id"], "segment": [2, 0, 2, 0, 1, 1, 2, 0]})


def test_engine_profiles_by_hand(table, labels, tmp_path):
    table.to_parquet(tmp_path / "f.parquet")
    labels.to_parquet(tmp_path / "s.parquet")
    engine = profile_segments(tmp_path / "f.parquet", tmp_path / "s.parquet")
    assert_same_profiles(profile_segments(table, labels), engine)
    revenue = engine.numeric.set_index(["segment", "feature"]).loc[(2, "net_revenue")]
    assert revenue["present"] == 2 and revenue["missing"] == 1 and revenue["median"] == 40.0
    vip = engine.categorical[(engine.categorical["feature"] == "vip") & (engine.categorical["segment"] == 2)]
    assert vip.set_index("value")["share"].to_dict() == {"True": 1.0}
    assert engine.overview["revenue"].tolist() == [140.0, 110.0, 80.0]


def test_engine_profiles_take_nan_as_missing():
    import ibis

    con = ibis.duckdb.connect()
    con.raw_sql("CREATE TABLE f AS SELECT * FROM (VALUES ('a', 1.0), ('b', 'nan'::DOUBLE), ('c', 3.0)) "
                "t(customer_id, x)")
    features = con.table("f")
    labels = pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": [0, 0, 1]})
    engine = profile_segments(features, labels, con=con)
    memory = profile_segments(pd.DataFrame({"customer_id": ["a", "b", "c"], "x": [1.0, np.nan, 3.0]}), labels)
    assert_same_profiles(memory, engine)
    assert engine.numeric["missing"].tolist() == [1, 0]


@pytest.mark.parametrize("change, message", [
    (lambda s: pd.concat([s, s.head(1)]), "more than once"),
    (lambda s: pd.concat([s, pd.DataFrame({"customer_id": ["zz"], "segment": [0]})]), "not in the feature table"),
    (lambda s: s.iloc[1:], "have no segment")])
def test_engine_profiles_refuse_labels_that_do_not_match(table, labels, change, message):
    bad = change(labels)
    for features in (table, None):
        with pytest.raises(InputError, match=message):
            if features is None:
                import ibis

                profile_segments(ibis.memtable(table), bad)
            else:
                profile_segments(table, bad)


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_profiles_equal_duckdb_and_in_memory_ones(spark, tmp_path):
    import ibis

    table, segments, features_file, segments_file = built("sample", "2025Q4", tmp_path)
    on_spark = profile_segments(str(features_file), str(segments_file), con=ibis.pyspark.connect(spark))
    assert_same_profiles(profile_segments(table, segments[["customer_id", "segment"]]), on_spark)
