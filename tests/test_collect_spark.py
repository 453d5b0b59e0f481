"""Collect on Spark (``collect(..., con=<Spark>)``): the in-memory path's canonical tables and
quality report, and its error for every case of the malformed-input corpus."""

import ibis
import pytest

from seglab.collect import engine_read, load_spec
from seglab.exceptions import EmptyDataError
from tests.test_collect_engine import READER_OPTIONS, assert_same_collect, both_errors, no_amounts, orders_source
from tests.test_malformed_inputs import FOUND_BY_COLLECT, PARSING_CASES, checksums, make_dataset

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.xdist_group("spark")]


@pytest.fixture(scope="module")
def con(spark):
    return ibis.pyspark.connect(spark)


@pytest.mark.parametrize(("name", "options", "write"), READER_OPTIONS)
def test_spark_reads_a_source_as_pandas_does(con, name, options, write, tmp_path):
    spec = orders_source(tmp_path, name, options, write)
    memory, _ = assert_same_collect(spec, "2021-03-31", tmp_path, con=con)
    assert memory.quality.count("duplicates") == 1


def test_spark_collects_the_sample_as_pandas_does(con, tmp_path):
    memory, engine = assert_same_collect("sample", "2025Q3", tmp_path, con=con)
    assert isinstance(engine.transactions, ibis.Table) and engine.transactions.get_backend() is con


@pytest.mark.parametrize("case, files, options, message", PARSING_CASES + FOUND_BY_COLLECT,
                         ids=[c[0] for c in PARSING_CASES + FOUND_BY_COLLECT])
def test_a_malformed_file_gives_the_in_memory_error_on_spark(con, tmp_path, case, files, options, message):
    data = tmp_path / "data"
    spec = make_dataset(data, files, **options)
    before = checksums(data)
    memory, engine = both_errors(spec, "2021Q1", con)
    assert message in str(engine), str(engine)
    assert (type(engine), str(engine)) == (type(memory), str(memory))
    assert checksums(data) == before


def test_every_amount_missing_gives_the_in_memory_error_on_spark(con, tmp_path):
    memory, engine = both_errors(no_amounts(tmp_path / "data"), "2021Q1", con)
    assert isinstance(engine, EmptyDataError) and str(engine) == str(memory)
    assert engine.quality.to_dict() == memory.quality.to_dict()


def test_a_source_only_pandas_reads_on_spark_is_read_by_pandas(con, tmp_path):
    # a decimal comma: DuckDB reads it, Spark's reader cannot; a small file goes through pandas
    spec = orders_source(tmp_path, *READER_OPTIONS[1])
    loaded = load_spec(spec)
    assert engine_read.pandas_options(loaded.transactions.sources[0], loaded, con.name) == ["decimal"]
    assert_same_collect(spec, "2021-03-31", tmp_path, con=con)


def test_spark_writes_a_table_without_collecting_it_into_python(con, tmp_path, monkeypatch):
    # a table is written by Spark's executors as parts, then copied batch by batch into the one
    # file: collecting it into the driver (toPandas) ran out of Java heap at 10 M lines
    import pandas as pd

    from seglab.engine import connect, to_parquet_file

    frame = pd.DataFrame({"customer_id": [f"c{i:05d}" for i in range(30_000)][::-1],
                          "order_date": pd.date_range("2024-01-01", periods=30_000, freq="min"),
                          "amount": [float(i % 97) - 3.5 for i in range(30_000)],
                          "channel": [None if i % 11 == 0 else "web" for i in range(30_000)]})
    for name in ("execute", "to_pyarrow", "to_pyarrow_batches", "to_pandas"):
        monkeypatch.setattr(type(con), name, lambda *a, **k: pytest.fail("the table went through the driver"))
    spark_file = to_parquet_file(ibis.memtable(frame).order_by("customer_id"), tmp_path / "spark.parquet", con=con)
    monkeypatch.undo()
    duck = connect("duckdb")
    duck_file = to_parquet_file(ibis.memtable(frame).order_by("customer_id"), tmp_path / "duck.parquet", con=duck)
    got, expected = pd.read_parquet(spark_file), pd.read_parquet(duck_file)
    pd.testing.assert_frame_equal(got, expected)
    assert got["customer_id"].is_monotonic_increasing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["duck.parquet", "spark.parquet"]  # no parts left


def test_an_empty_table_is_written_with_its_columns_on_spark(con, tmp_path):
    import pandas as pd

    from seglab.engine import to_parquet_file

    frame = pd.DataFrame({"customer_id": ["a"], "amount": [1.0]})
    table = ibis.memtable(frame)
    written = pd.read_parquet(to_parquet_file(table.filter(table.amount < 0), tmp_path / "empty.parquet", con=con))
    assert list(written.columns) == ["customer_id", "amount"] and written.empty
