"""`seglab run --engine spark` on a local[2] session: the same run folder as on DuckDB.

The whole pipeline runs twice on the sample with the defaults a user gets, once per engine;
the canonical tables collect writes, the features, the segments (up to a label permutation, adjusted Rand index ≥ 0.99) and the
period figures agree. CI installs Java (``.ci/run``); elsewhere, without Java or the spark
extra, the test is skipped and says why.
"""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from seglab.engine import EngineSettings, check_engine
from seglab.exceptions import EngineUnavailableError
from seglab.run import RunFolder
from seglab.runner import run_pipeline

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.xdist_group("spark")]

PERIOD = "2025Q4"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    pytest.importorskip("pyspark", reason="the spark extra is not installed (pip install 'seglab[spark]')")
    try:
        check_engine(EngineSettings("spark", "local[2]"))
    except EngineUnavailableError as err:
        pytest.skip(str(err))
    out = tmp_path_factory.mktemp("engines")
    folders = {}
    for engine in ("duckdb", "spark"):
        config = {"engine": engine, **({"spark_master": "local[2]"} if engine == "spark" else {})}
        result = run_pipeline("sample", PERIOD, config=config, out=out / engine, progress=False)
        folders[engine] = result.folder
    yield folders
    shutil.rmtree(out, ignore_errors=True)


def test_the_manifest_says_which_engine_ran(runs):
    for engine, folder in runs.items():
        assert folder.read_manifest()["engine"]["name"] == engine
    assert runs["spark"].read_manifest()["engine"]["master"] == "local[2]"


def test_spark_and_duckdb_runs_have_the_same_files(runs):
    def files(folder: RunFolder):
        return sorted(str(p.relative_to(folder.path)) for p in folder.path.rglob("*") if p.is_file())

    assert files(runs["spark"]) == files(runs["duckdb"])


def test_spark_collects_the_canonical_tables_duckdb_does(runs):
    duck, spark = runs["duckdb"], runs["spark"]
    assert spark.schema() == duck.schema()
    assert json.loads(spark.file("quality").read_text()) == json.loads(duck.file("quality").read_text())
    for name in ("customers", "transactions", "events", "campaigns", "feedback"):
        assert spark.has(name) and duck.has(name), name
        pd.testing.assert_frame_equal(pd.read_parquet(spark.file(name)), pd.read_parquet(duck.file(name)),
                                      obj=name)  # in the same order too: the lines' source order


def test_spark_computes_the_features_duckdb_does(runs):
    duck, spark = runs["duckdb"].feature_table(), runs["spark"].feature_table()
    assert list(spark.columns) == list(duck.columns)
    assert spark["customer_id"].tolist() == duck["customer_id"].tolist()
    for col in duck.columns[1:]:
        if pd.api.types.is_numeric_dtype(duck[col]):
            np.testing.assert_allclose(spark[col].to_numpy(dtype=float), duck[col].to_numpy(dtype=float),
                                       rtol=1e-7, atol=1e-9, equal_nan=True, err_msg=col)
        else:
            assert spark[col].astype(str).tolist() == duck[col].astype(str).tolist(), col


def test_spark_finds_the_segments_duckdb_does(runs):
    duck = runs["duckdb"].segments().set_index("customer_id")["segment"]
    spark = runs["spark"].segments().set_index("customer_id")["segment"].reindex(duck.index)
    assert spark.notna().all()
    assert duck.nunique() == spark.nunique() >= 2
    assert adjusted_rand_score(duck, spark) >= 0.99


def test_spark_gives_the_same_period_figures(runs):
    def figures(folder: RunFolder):
        personas = json.loads(folder.file("personas").read_text())
        return personas["period_figures"]

    assert figures(runs["spark"]) == figures(runs["duckdb"])


def test_spark_writes_the_audience_files_duckdb_writes(runs, tmp_path):
    from seglab.engine import connect
    from seglab.personas import export_audiences

    duck = runs["duckdb"]
    options = {"names": duck.persona_names(), "customers": duck.contact_file(), "min_size": 100,
               "refreshed": "2026-01-05", "control_seed": 3}
    on_duckdb = export_audiences(duck.file("segments"), tmp_path / "duckdb", con=connect("duckdb"), **options)
    on_spark = export_audiences(duck.file("segments"), tmp_path / "spark", con=connect("spark", master="local[2]"),
                                **options)
    assert on_spark == on_duckdb and any(e.get("ad_platform_file") for e in on_duckdb["segments"])
    written = sorted(p.relative_to(tmp_path / "duckdb") for p in (tmp_path / "duckdb").rglob("*.csv"))
    assert written == sorted(p.relative_to(tmp_path / "spark") for p in (tmp_path / "spark").rglob("*.csv"))
    for name in written:  # the same customers, groups and order: byte for byte
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "duckdb" / name).read_bytes()
