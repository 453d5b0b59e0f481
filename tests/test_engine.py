"""Choosing and starting the engine: DuckDB by default, Spark on request, clear errors."""

import json
import os
import stat

import pandas as pd
import pytest

from seglab.cli import main
from seglab.collect import spec_from_dict
from seglab.engine import EngineSettings, check_engine, connect, memory_limit_for, parse_engine, resolve_engine
from seglab.exceptions import EngineUnavailableError, ParameterError, SpecError
from seglab.runner import _engine_parameters

SPARK = EngineSettings("spark", "local[2]")


def _spec(engine):
    return spec_from_dict({"name": "shop", "engine": engine,
                           "transactions": {"sources": [{"path": "orders.parquet"}]}})


@pytest.fixture
def no_java(monkeypatch, tmp_path):
    """A PATH without java and no JAVA_HOME."""
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


def fake_java(folder, version: str):
    """A ``bin/java`` under ``folder`` that reports ``version`` as Java does (on stderr)."""
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2020-01-01' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return folder


def test_duckdb_is_the_default():
    assert resolve_engine(None) == EngineSettings("duckdb", None, {})


def test_the_spec_names_the_engine_and_the_command_line_overrides_it():
    spec = _spec({"name": "spark", "master": "spark://head:7077", "config": {"spark.executor.memory": "8g"}})
    assert spec.engine == EngineSettings("spark", "spark://head:7077", {"spark.executor.memory": "8g"})
    assert resolve_engine(spec.engine).master == "spark://head:7077"
    mine = resolve_engine(spec.engine, master="local[2]", config={"spark.sql.shuffle.partitions": "8"})
    assert mine.master == "local[2]"
    assert mine.config == {"spark.executor.memory": "8g", "spark.sql.shuffle.partitions": "8"}
    # choosing DuckDB leaves the spec's Spark settings behind
    assert resolve_engine(spec.engine, engine="duckdb") == EngineSettings("duckdb", None, {})


def test_a_spec_may_name_the_engine_alone():
    assert _spec("spark").engine == EngineSettings("spark", None, {})
    assert _spec(None).engine is None


@pytest.mark.parametrize("engine, message", [
    ("sparc", "did you mean 'spark'"),
    ({"name": "spark", "masters": "yarn"}, "unknown key 'masters'"),
    ({"name": "duckdb", "master": "yarn"}, "is a Spark setting"),
    ({"name": "spark", "config": ["spark.executor.memory=8g"]}, "must map setting names"),
    (["spark"], "must be an engine name"),
])
def test_a_bad_engine_section_is_a_spec_error(engine, message):
    with pytest.raises(SpecError, match=message):
        _spec(engine)


def test_an_unknown_engine_or_a_master_for_duckdb_is_a_parameter_error():
    with pytest.raises(ParameterError, match="did you mean 'duckdb'"):
        resolve_engine(None, engine="duckd")
    with pytest.raises(ParameterError, match="add --engine spark"):
        resolve_engine(None, master="local[2]")


def test_parse_engine_leaves_no_section_unset():
    assert parse_engine(None) is None


def test_duckdb_starts_with_its_memory_cap_and_the_settings_given(monkeypatch):
    import seglab.engine

    monkeypatch.setattr(seglab.engine, "MEMORY_LIMIT", "1GB")
    con = connect("duckdb")
    assert con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0] == "953.6 MiB"  # 1 GB
    con = connect(EngineSettings("duckdb", None, {"memory_limit": "300MB", "threads": 1}))
    assert con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0] == "286.1 MiB"
    assert con.raw_sql("SELECT current_setting('threads')").fetchone()[0] == 1


def test_memory_limit_grows_with_customers_within_the_machine():
    from seglab.engine import machine_memory

    gb = 2**30
    assert memory_limit_for(None) == memory_limit_for(0) == memory_limit_for(1_000_000, machine=64 * gb) == "512MB"
    assert memory_limit_for(5_000_000, machine=64 * gb) == "1907MB"  # 400 bytes a customer
    assert memory_limit_for(50_000_000, machine=64 * gb) == "16384MB"  # a quarter of the machine
    assert memory_limit_for(5_000_000, machine=1 * gb) == "512MB"  # never below the floor
    assert memory_limit_for(5_000_000) == memory_limit_for(5_000_000, machine=machine_memory())  # this one's


def test_features_cap_their_engine_for_the_customers_of_the_run(tmp_path, monkeypatch):
    import seglab.features.build
    from seglab.collect import collect
    from seglab.features import build_features
    from seglab.run import RunFolder

    run = RunFolder(tmp_path)
    run.write_canonical(collect("sample", "2025Q4"))
    files = run.canonical_files()
    opened = []

    def recording_connect(settings, **kwargs):
        opened.append(dict(settings.config))
        return connect(settings, **kwargs)

    monkeypatch.setattr(seglab.features.build, "connect", recording_connect)
    features = build_features(files, value_models=False).features
    files.schema["tables"]["customers"]["rows"] = 5_000_000  # as a run folder of 5 M customers says
    big = build_features(files, value_models=False).features
    given = build_features(files, value_models=False,
                           con=EngineSettings("duckdb", None, {"memory_limit": "300MB"})).features
    assert [o["memory_limit"] for o in opened] == ["512MB", memory_limit_for(5_000_000), "300MB"]
    pd.testing.assert_frame_equal(big, features)  # the cap never changes a result
    pd.testing.assert_frame_equal(given, features)


def test_spark_without_java_names_what_to_install(no_java):
    with pytest.raises(EngineUnavailableError, match="needs Java.*openjdk-17-jre-headless.*JAVA_HOME"):
        check_engine(SPARK)
    with pytest.raises(EngineUnavailableError, match="needs Java"):
        connect("spark", master="local[2]")


def test_spark_with_an_old_java_says_which_version_it_needs(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path / "jdk8", "1.8.0_392")))
    with pytest.raises(EngineUnavailableError, match="Java 17 or later.*is Java 8"):
        check_engine(SPARK)
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path / "jdk21", "21.0.2")))
    check_engine(SPARK)  # no error: new enough


def test_spark_without_pyspark_names_the_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    with pytest.raises(EngineUnavailableError, match=r"seglab\[spark\]"):
        check_engine(SPARK)


def test_duckdb_needs_nothing_to_be_checked(no_java):
    check_engine(EngineSettings())


def test_seglab_run_on_spark_without_java_stops_before_any_work(no_java, tmp_path, capsys):
    code = main(["run", "--engine", "spark", "--out", str(tmp_path / "reports"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "seglab: error: the Spark engine needs Java" in err and "Traceback" not in err
    assert not (tmp_path / "reports" / "sample").exists()


def test_a_spark_master_without_the_spark_engine_is_refused(tmp_path, capsys):
    code = main(["features", "--spark-master", "local[2]", "--out", str(tmp_path), "--no-progress"])
    assert code == 2 and "add --engine spark" in capsys.readouterr().err


def test_the_engine_reaches_the_notebooks_that_run_in_it():
    settings = EngineSettings("spark", "yarn", {"spark.executor.memory": "8g"})
    expected = {"engine": "spark", "spark_master": "yarn", "engine_config": {"spark.executor.memory": "8g"}}
    assert _engine_parameters("features", settings) == expected
    assert _engine_parameters("personas", settings) == expected


def test_the_manifest_records_the_engine_with_secrets_masked(tmp_path):
    from seglab.run import RunFolder
    from seglab.runner import write_manifest

    folder = RunFolder(tmp_path).make()
    settings = EngineSettings("spark", "yarn", {"spark.hadoop.fs.s3a.secret.key": "hunter2",
                                                "spark.executor.memory": "8g"})
    write_manifest(folder, dataset="sample", period="2025Q4", parameters={}, timings={},
                   environment={}, engine=settings)
    recorded = json.loads(folder.manifest.read_text())["engine"]
    assert recorded == {"name": "spark", "master": "yarn",
                        "config": {"spark.hadoop.fs.s3a.secret.key": "***", "spark.executor.memory": "8g"}}
    assert "hunter2" not in folder.manifest.read_text()


def test_java_home_is_preferred_to_the_path(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    with pytest.raises(EngineUnavailableError, match="JAVA_HOME=.*holds no working bin/java"):
        check_engine(SPARK)


def test_features_open_and_close_the_engine_they_are_given_by_name(tmp_path):
    from seglab.collect import collect
    from seglab.features import build_features
    from seglab.run import RunFolder

    run = RunFolder(tmp_path)
    run.write_canonical(collect("sample", "2025Q4"))
    default = build_features(run.canonical_files(), value_models=False).features
    named = build_features(run.canonical_files(), value_models=False,
                           con=EngineSettings("duckdb", None, {"memory_limit": "300MB", "threads": 1})).features
    con = connect("duckdb")
    given = build_features(run.canonical_files(), value_models=False, con=con).features
    # a connection passed in stays open, and holds no table of the build's
    assert con.raw_sql("SELECT count(*) FROM duckdb_tables()").fetchone()[0] == 0

    pd.testing.assert_frame_equal(named, default)
    pd.testing.assert_frame_equal(given, default)
