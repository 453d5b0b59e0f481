"""The sample the segments are learnt from: the same customers drawn by pandas, DuckDB and
Spark, and a run of millions segmented from it equals the in-memory segmentation."""

import json

import numpy as np
import pandas as pd
import pytest

from seglab.cluster import SelectionRule, count_customers, draw_sample, segment
from seglab.cluster.sampling import N_STRATA
from seglab.collect import collect
from seglab.exceptions import SchemaError
from seglab.features import build_features
from seglab.features.engine import connect
from seglab.run import RunFolder

QUICK = SelectionRule(n_bootstrap=3, n_splits=2)


@pytest.fixture(scope="module")
def con():
    return connect(threads=1)


@pytest.fixture(scope="module")
def table():
    """Distinct customers with ties, missing values, text (with a missing and a non-ASCII level),
    integers and flags, in shuffled order."""
    rng = np.random.default_rng(0)
    n = 6_000
    t = pd.DataFrame({"customer_id": [f"c{i:05d}" for i in rng.permutation(n)],
                      "clv": np.round(rng.gamma(1.0, 50.0, n)),
                      "orders": rng.integers(0, 5, n).astype(float),
                      "plan": pd.Series(rng.choice(["basic", "plus", "élite", None], n), dtype="str"),
                      "tenure_days": rng.integers(0, 400, n),
                      "subscribed": rng.random(n) > 0.5})
    t.loc[rng.random(n) < 0.1, "clv"] = np.nan
    t.loc[rng.random(n) < 0.1, "orders"] = np.nan
    # distinct customers, so that the same ids are drawn (identical ones are interchangeable)
    return t.drop_duplicates(subset=[c for c in t.columns if c != "customer_id"], ignore_index=True)


@pytest.fixture(scope="module")
def sample_features():
    return build_features(collect("sample", "2025Q4"), value_models=True)


def ids(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["customer_id"])


def feature_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The drawn customers' features, ids left out, in a fixed order (identical customers
    are interchangeable)."""
    rows = frame.drop(columns="customer_id").astype("string")
    return rows.sort_values(list(rows.columns)).reset_index(drop=True)


@pytest.mark.parametrize("order_by", ["auto", "size", "tenure_days"])
@pytest.mark.parametrize("size", [1_000, 4_321])
def test_the_engine_draws_the_customers_pandas_draws(con, table, tmp_path, order_by, size):
    path = tmp_path / "features.parquet"
    table.to_parquet(path)
    in_memory = draw_sample(table, size, order_by=order_by, random_state=7)
    by_engine = draw_sample(path, size, order_by=order_by, random_state=7, con=con)
    assert len(in_memory) == len(by_engine) == size
    assert ids(by_engine) == ids(in_memory)
    pd.testing.assert_frame_equal(by_engine.sort_values("customer_id").reset_index(drop=True),
                                  in_memory.sort_values("customer_id").reset_index(drop=True), check_dtype=False)
    again = draw_sample(path, size, order_by=order_by, random_state=7, con=con)
    assert again["customer_id"].tolist() == by_engine["customer_id"].tolist()  # repeatable, order too
    assert ids(draw_sample(path, size, order_by=order_by, random_state=8, con=con)) != ids(by_engine)


def test_identical_customers_are_interchangeable(con, table, tmp_path):
    twins = pd.concat([table, table.assign(customer_id="twin-" + table["customer_id"])], ignore_index=True)
    path = tmp_path / "features.parquet"
    twins.to_parquet(path)
    in_memory = draw_sample(twins, 2_000, random_state=1)
    by_engine = draw_sample(path, 2_000, random_state=1, con=con)
    pd.testing.assert_frame_equal(feature_rows(by_engine), feature_rows(in_memory))


def test_neither_row_order_nor_pseudonyms_change_the_sample(table):
    drawn = draw_sample(table, 1_500, random_state=3)
    renamed = table.assign(customer_id="x" + table["customer_id"].str[::-1]).sample(frac=1, random_state=5)
    again = draw_sample(renamed, 1_500, random_state=3)
    pd.testing.assert_frame_equal(feature_rows(again), feature_rows(drawn))


def test_every_value_decile_gives_its_share(table):
    distinct = table.assign(clv=np.random.default_rng(1).permutation(len(table)).astype(float))
    drawn = draw_sample(distinct, 1_000)
    deciles = pd.qcut(distinct["clv"], N_STRATA, labels=False)
    shares = deciles[drawn.index].value_counts()
    assert len(shares) == N_STRATA and shares.min() == shares.max() == 100


def test_up_to_size_everyone_is_returned(con, table, tmp_path):
    path = tmp_path / "features.parquet"
    table.to_parquet(path)
    assert draw_sample(table, len(table)) is table
    assert ids(draw_sample(path, len(table), con=con)) == ids(table)
    assert count_customers(path, con=con) == count_customers(table) == len(table)


def test_an_unknown_order_column_is_named(con, table, tmp_path):
    path = tmp_path / "features.parquet"
    table.to_parquet(path)
    for source in (table, path):
        with pytest.raises(SchemaError, match="'tenure'.*did you mean 'tenure_days'"):
            draw_sample(source, 100, order_by="tenure", con=con)


def test_beyond_the_sample_size_everything_is_learnt_from_the_sample(sample_features):
    full = sample_features.features
    seg = segment(sample_features, criteria=["psychographic", "value"], rule=QUICK, sample_size=1_500)
    learnt = draw_sample(full, 1_500)
    on_sample = segment(learnt, sample_features.dictionary, criteria=["psychographic", "value"], rule=QUICK,
                        sample_size=1_500)
    # the same model as one made from the sample alone; every customer is assigned by it
    assert seg.model.k_ == on_sample.model.k_
    pd.testing.assert_frame_equal(seg.model.centers_, on_sample.model.centers_)
    assert len(seg.segments) == len(full)
    assert np.array_equal(seg.segments["segment"], on_sample.model.predict(full[list(seg.columns.all)]))
    assert seg.params["customers"] == len(full) and seg.params["learned_from"] == 1_500
    assert "learnt from a seeded sample of 1,500 of 3,000 customers" in seg.headline()


def test_a_run_reads_only_the_sample_and_writes_the_segments_of_everyone(sample_features, tmp_path, con):
    run = RunFolder(tmp_path / "run")
    run.write_features(sample_features)
    fs = run.features(sample_size=1_500, con=con)
    assert len(fs.features) == 1_500 and fs.customers == 3_000
    assert fs.headline().startswith("a seeded sample of 1,500 of 3,000 customers")
    seg = segment(fs, rule=QUICK, sample_size=1_500).add_map(fs.features, method="pca")
    assert len(seg.segments) == 1_500
    assert seg.params["customers"] == 3_000 and seg.params["learned_from"] == 1_500
    run.write_segmentation(seg, con=con)
    in_memory = segment(run.features(), rule=QUICK, sample_size=1_500)  # everyone read, the same sample drawn
    written = run.segments()
    assert len(written) == 3_000 and written["x"].notna().sum() == 1_500
    pd.testing.assert_frame_equal(written[["customer_id", "segment"]],
                                  in_memory.segments.sort_values("customer_id").reset_index(drop=True),
                                  check_dtype=False)
    sizes = run.segment_sizes(con=con)
    pd.testing.assert_frame_equal(sizes, in_memory.sizes(), check_names=False, check_dtype=False)
    meta = json.loads(run.file("segmentation").read_text())
    assert meta["sizes"] == {str(s): int(n) for s, n in in_memory.sizes()["customers"].items()}
    assert sum(meta["sizes"].values()) == 3_000


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_draws_the_customers_duckdb_draws(con, table, spark, tmp_path):
    import ibis

    path = tmp_path / "features.parquet"
    table.to_parquet(path)
    on_spark = draw_sample(path, 1_234, random_state=2, con=ibis.pyspark.connect(spark))
    on_duckdb = draw_sample(path, 1_234, random_state=2, con=con)
    assert ids(on_spark) == ids(on_duckdb)
