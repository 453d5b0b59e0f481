"""The personas stage in the engine: segment profiles equal the in-memory ones (every
built-in dataset on DuckDB, the sample on Spark local[2]); the explaining rules are the
in-memory ones up to ``max_rows`` customers and, beyond, are grown on an engine-drawn
sample with every figure counted on all customers; personas built from a run's files
equal those built in memory."""

import numpy as np
import pandas as pd
import pytest

from seglab.cluster import segment
from seglab.collect import collect
from seglab.exceptions import InputError
from seglab.features import build_features
from seglab.personas import SegmentFiles, build_personas, explain_segments, profile_segments
from seglab.personas.rules import _InMemory


def built(dataset: str, period, folder, *, full: bool = False):
    """The dataset's features with the defaults a user gets, segmented (k = 4), written as
    Parquet like a run's artifacts."""
    fs = build_features(collect(dataset, period))
    seg = segment(fs, k=4)
    features, segments = folder / "features.parquet", folder / "segments.parquet"
    fs.features.to_parquet(features)
    seg.segments.to_parquet(segments)
    if full:
        return fs, seg, SegmentFiles(features, segments, fs.dictionary)
    return fs.features, seg.segments, features, segments


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return built("sample", "2025Q4", tmp_path_factory.mktemp("sample"), full=True)


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

    from seglab.features import connect
    from seglab.personas.profiles import MEDIAN_BATCH, median_batch

    table, segments, features_file, segments_file = built("sample", "2025Q4", tmp_path)
    con = ibis.pyspark.connect(spark)
    # Spark's exact percentile holds a column's distinct values in one task's heap: one column per query
    assert median_batch(con) == 1 and median_batch(connect()) == MEDIAN_BATCH > 1
    on_spark = profile_segments(str(features_file), str(segments_file), con=con)
    assert_same_profiles(profile_segments(table, segments[["customer_id", "segment"]]), on_spark)


def rule_columns(seg):
    return {"numeric": list(seg.columns.numeric), "categorical": list(seg.columns.categorical)}


def test_engine_rules_are_the_in_memory_ones_up_to_max_rows(sample):
    fs, seg, files = sample
    memory = explain_segments(fs.features, seg.segments[["customer_id", "segment"]], **rule_columns(seg))
    engine = explain_segments(files.features, files.segments, **rule_columns(seg))
    assert engine.assignment_sql == memory.assignment_sql
    assert engine.assignment_fidelity == memory.assignment_fidelity
    pd.testing.assert_frame_equal(engine.rules, memory.rules)
    pd.testing.assert_frame_equal(engine.summary, memory.summary)


def assert_counted_on_everyone(engine, fs, seg):
    """Every figure of rules grown on a sample is the count on all customers."""
    table = fs.features
    labels = seg.segments.set_index("customer_id")["segment"].reindex(table["customer_id"]).to_numpy()
    memory_medians = {c: float(table[c].median()) for c in seg.columns.numeric}
    assert engine.medians == pytest.approx(memory_medians, nan_ok=True)
    assert len(engine.rules) and (engine.rules["customers"] > 0).any()
    counter = _InMemory(table, labels, engine.medians)
    for s, rows in engine.rules.groupby("segment"):
        counted, together = counter.count(s, list(rows["conditions"]))
        assert rows["customers"].tolist() == [c for c, _, _ in counted]
        assert rows["precision"].tolist() == pytest.approx([p for _, p, _ in counted])
        assert rows["coverage"].tolist() == pytest.approx([c for _, _, c in counted])
        summary = engine.summary.set_index("segment").loc[s]
        assert summary[["precision", "coverage", "fidelity"]].tolist() == pytest.approx(list(together.values()))
    whens = [line for line in engine.assignment_sql.splitlines() if line.strip().startswith("WHEN")]
    assert whens and 0.5 < engine.assignment_fidelity <= 1
    import duckdb  # the SQL a user gets, run on the whole table, agrees as often as stated

    customers = table  # noqa: F841 (read by DuckDB below)
    predicted = duckdb.sql(f"SELECT {engine.assignment_sql} FROM customers").df()["segment"].to_numpy()
    assert (predicted == labels).mean() == pytest.approx(engine.assignment_fidelity)


def test_engine_rules_beyond_max_rows_count_every_customer(sample, tmp_path):
    fs, seg, files = sample
    engine = explain_segments(files.features, files.segments, max_rows=600, **rule_columns(seg))
    assert_counted_on_everyone(engine, fs, seg)
    table = fs.features
    # the sample is drawn from the values, not the row order
    shuffled = tmp_path / "shuffled.parquet"
    table.sample(frac=1, random_state=7).to_parquet(shuffled)
    again = explain_segments(shuffled, files.segments, max_rows=600, **rule_columns(seg))
    assert again.assignment_sql == engine.assignment_sql
    assert again.rules["rule"].tolist() == engine.rules["rule"].tolist()


def test_personas_from_a_runs_files_equal_the_in_memory_ones(sample):
    fs, seg, files = sample
    meta = {"dataset": "sample", "period": "2025Q4"}
    memory, engine = build_personas(fs, seg, meta=meta), build_personas(files, seg, meta=meta)
    assert engine.to_markdown() == memory.to_markdown()
    assert engine.rules.assignment_sql == memory.rules.assignment_sql
    assert engine.names == memory.names
    assert_same_profiles(memory.profiles, engine.profiles)
    pd.testing.assert_frame_equal(engine.traits, memory.traits, check_exact=False, rtol=1e-9)


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_rules_and_personas_from_files(spark, sample):
    import ibis

    fs, seg, files = sample
    con = ibis.pyspark.connect(spark)
    files = SegmentFiles(str(files.features), str(files.segments), files.dictionary)
    beyond = explain_segments(files.features, files.segments, max_rows=600, con=con, **rule_columns(seg))
    assert_counted_on_everyone(beyond, fs, seg)
    meta = {"dataset": "sample", "period": "2025Q4"}
    assert build_personas(files, seg, meta=meta, con=con).to_markdown() == build_personas(fs, seg, meta=meta).to_markdown()
