"""Collect in the engine (``collect(..., con=connect("duckdb"))``): the same canonical tables, schema
and quality report as the in-memory path, with the line-scale tables never in pandas."""

import gzip
import json
import sqlite3
import warnings

import ibis
import pandas as pd
import pytest

from seglab.collect import collect, load_spec, parse_expression
from seglab.collect import engine_read
from seglab.collect.engine_read import EngineOptionError, SourceTooLargeError
from seglab.collect.expressions import to_ibis
from seglab.exceptions import (DataQualityWarning, DataTypeError, EmptyDataError, SchemaError, SeglabError,
                               SourceError)
from seglab.features import connect
from seglab.run import RunFolder
from tests.conftest import write_spec
from tests.test_malformed_inputs import (FOUND_BY_COLLECT, HEADER, PARSING_CASES, checksums, make_dataset,
                                         orders_text)

TABLES = ("customers", "transactions", "events", "campaigns", "feedback")


def _written(data, folder) -> RunFolder:
    run = RunFolder(folder).make()
    run.write_canonical(data)
    return run


def assert_same_collect(dataset, period, tmp_path, con=None, **kwargs):
    """Both paths (the engine: ``con``, by default a new DuckDB) give equal canonical files
    (rows after sorting, values, dtypes), schema and quality report (every check's count
    and details)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        memory = collect(dataset, period, **kwargs)
        engine = collect(dataset, period, con=con or connect("duckdb"), **kwargs)
    for name in ("transactions", "events"):
        if getattr(memory, name) is not None:
            assert isinstance(getattr(engine, name), ibis.Table), name  # never pulled into pandas
    assert engine.quality.to_dict() == memory.quality.to_dict()
    a, b = _written(memory, tmp_path / "memory"), _written(engine, tmp_path / "engine")
    assert a.schema() == b.schema()
    for name in TABLES:
        assert a.has(name) == b.has(name), name
        if not a.has(name):
            continue
        left, right = pd.read_parquet(a.file(name)), pd.read_parquet(b.file(name))
        assert list(left.columns) == list(right.columns), name
        assert left.dtypes.to_dict() == right.dtypes.to_dict(), name
        columns = list(left.columns)
        pd.testing.assert_frame_equal(left.sort_values(columns, kind="stable").reset_index(drop=True),
                                      right.sort_values(columns, kind="stable").reset_index(drop=True),
                                      obj=name)
    return memory, engine


@pytest.mark.parametrize(("dataset", "period"), [("sample", "2025Q3"), ("sample", "2024-12-31"),
                                                 ("mall_customers", None),
                                                 ("customer_personality", None)])
def test_engine_collect_equals_the_in_memory_one_on_builtin_data(dataset, period, tmp_path):
    assert_same_collect(dataset, period, tmp_path)


def test_engine_collect_equals_the_in_memory_one_under_other_policies(tmp_path):
    policies = {"duplicates": "flag", "cancellations": "drop", "extreme_values": "drop",
                "after_snapshot": "flag", "unknown_event_type": "flag"}
    assert_same_collect("sample", "2025Q2", tmp_path, policies=policies)


@pytest.mark.slow
def test_engine_collect_equals_the_in_memory_one_on_online_retail(tmp_path):
    assert_same_collect("online_retail", "all", tmp_path)


@pytest.mark.slow
def test_engine_collect_equals_the_in_memory_one_on_a_quarter_of_online_retail(tmp_path):
    memory, _ = assert_same_collect("online_retail", "2011Q3", tmp_path, policies={"conflicting_attributes": "drop"})
    assert memory.quality.count("overlap") > 0


ORDERS = """
name: shop
transactions:
  sources:
    - path: {path}
      options: {options}
  columns:
    customer_id: Customer
    order_id: Invoice
    order_date: Date
    quantity: Qty
    unit_price: Price
    country: Country
  derive:
    amount: Qty * Price
  customer_attributes:
    country: geographic
quality:
  cancellation_pattern: "^C"
"""


def _orders_frame():
    return pd.DataFrame({
        "Customer": ["001", "001", "2", "3", "", "4", "4", "5"],
        "Invoice": ["10", "C11", "12", "13", "14", "15", "15", "16"],
        "Date": ["2021-01-05", "2021-02-01 10:00", "2021-03-01", "2021-03-31", "2021-03-30", "2021-02-02",
                 "2021-02-02", "NA"],
        "Qty": [2, -1, 1, 5, 1, 3, 3, 1], "Price": [3.5, 3.5, 10.0, 0.0, 2.0, 1.25, 1.25, 4.0],
        "Country": ["France", "France", "Spain", "Italy", "Italy", "Spain", "Spain", "Peru"]})


READER_OPTIONS = [
    ("orders.csv", "{}", lambda f, p: f.to_csv(p, index=False)),
    ("orders.csv.gz", "{sep: ';', decimal: ','}",
     lambda f, p: gzip.open(p, "wt").write(f.to_csv(index=False, sep=";", decimal=","))),
    ("orders.txt", "{sep: '|', skiprows: 2, encoding: latin-1, quotechar: \"'\"}",
     lambda f, p: p.write_bytes(b"export\nof orders\n" + f.to_csv(index=False, sep="|").encode("latin-1"))),
    ("orders.jsonl", "{}", lambda f, p: f.to_json(p, orient="records", lines=True)),
    ("orders.parquet", "{}", lambda f, p: f.to_parquet(p)),
]
"""Sources of the same orders (:func:`_orders_frame`) written with reader options."""


def orders_source(tmp_path, name, options, write):
    """The spec of a source of :func:`_orders_frame`, written as ``name`` with ``options``."""
    frame = _orders_frame()
    if name.endswith("jsonl") or name.endswith("parquet"):
        frame["Date"] = frame["Date"].replace("NA", None)
    write(frame, tmp_path / name)
    return write_spec(tmp_path, ORDERS.format(path=name, options=options))


@pytest.mark.parametrize(("name", "options", "write"), READER_OPTIONS)
def test_reader_options_are_honoured_by_the_engine(name, options, write, tmp_path):
    spec = orders_source(tmp_path, name, options, write)
    loaded = load_spec(spec)
    assert engine_read.pandas_options(loaded.transactions.sources[0], loaded) == []  # the engine reads it
    memory, engine = assert_same_collect(spec, "2021-03-31", tmp_path)
    assert memory.quality.count("duplicates") == 1
    assert memory.quality.count("missing_customer_id") == 1


def test_an_option_only_pandas_honours_reads_the_source_with_pandas(tmp_path):
    frame = _orders_frame()
    frame["Price"] = [1234.5, 1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 6.0]
    frame.to_csv(tmp_path / "orders.csv", index=False, sep=";", decimal=",")
    text = (tmp_path / "orders.csv").read_text().replace("1234,5", "\"1.234,5\"")
    (tmp_path / "orders.csv").write_text(text)
    spec = write_spec(tmp_path, ORDERS.format(path="orders.csv",
                                              options="{sep: ';', decimal: ',', thousands: '.'}"))
    memory, engine = assert_same_collect(spec, "2021-03-31", tmp_path)
    assert 2469.0 in set(memory.transactions["amount"])


def test_an_option_the_engine_cannot_honour_on_a_large_source_is_an_error(tmp_path, monkeypatch):
    _orders_frame().to_csv(tmp_path / "orders.csv", index=False)
    spec = write_spec(tmp_path, ORDERS.format(path="orders.csv", options="{thousands: ','}"))
    monkeypatch.setattr(engine_read, "PANDAS_MAX_MB", 0.0001)
    with pytest.raises(EngineOptionError, match=r"needs thousands, which the duckdb engine cannot honour.*Parquet"):
        collect(spec, "2021-03-31", con=connect("duckdb"))


def test_a_database_source_too_large_for_pandas_is_an_error(tmp_path, monkeypatch):
    db = tmp_path / "shop.db"
    frame = _orders_frame()
    frame["Date"] = frame["Date"].replace("NA", None)
    with sqlite3.connect(db) as con:
        frame.to_sql("orders", con, index=False)
    spec = write_spec(tmp_path, ORDERS.replace("    - path: {path}\n      options: {options}",
                                               f"    - url: sqlite:///{db}\n      table: orders"))
    assert collect(spec, "2021-03-31", con=connect("duckdb")).quality.count("duplicates") == 1  # small: read
    monkeypatch.setattr(engine_read, "PANDAS_MAX_ROWS", 3)
    with pytest.raises(SourceTooLargeError, match=r"holds 8 rows.*Export the table to Parquet"):
        collect(spec, "2021-03-31", con=connect("duckdb"))


def test_a_broken_csv_row_is_named_with_its_line(tmp_path):
    text = _orders_frame().to_csv(index=False).splitlines()
    text[3] += ",surplus,fields"
    (tmp_path / "orders.csv").write_text("\n".join(text) + "\n")
    spec = write_spec(tmp_path, ORDERS.format(path="orders.csv", options="{}"))
    with pytest.raises(SourceError, match=r"line 4"):
        collect(spec, "2021-03-31", con=connect("duckdb"))


def test_values_that_are_not_dates_are_named(tmp_path):
    frame = _orders_frame()
    frame["Date"] = ["05/01/2021"] * len(frame)
    frame.to_csv(tmp_path / "orders.csv", index=False)
    spec = write_spec(tmp_path, ORDERS.format(path="orders.csv", options="{}"))
    with pytest.raises(DataTypeError, match=r"transactions.order_date: 8 of 8 values are not dates.*'05/01/2021'"):
        collect(spec, "2021-03-31", con=connect("duckdb"))


def test_mixed_time_zone_offsets_give_the_same_note(tmp_path):
    frame = _orders_frame()
    frame["Date"] = ["2021-01-05T10:00:00+01:00", "2021-02-01T10:00:00+02:00"] * 4
    frame.to_csv(tmp_path / "orders.csv", index=False)
    spec = write_spec(tmp_path, ORDERS.format(path="orders.csv", options="{}"))
    memory, engine = assert_same_collect(spec, "2021-03-31", tmp_path)
    assert engine.quality.notes and engine.quality.notes == memory.quality.notes


def test_a_mapped_column_missing_from_the_file_is_named(tmp_path):
    _orders_frame().drop(columns="Qty").to_csv(tmp_path / "orders.csv", index=False)
    spec = write_spec(tmp_path, ORDERS.format(path="orders.csv", options="{}"))
    with pytest.raises(SchemaError, match="has no column 'Qty'"):
        collect(spec, "2021-03-31", con=connect("duckdb"))


@pytest.mark.parametrize("text", [
    "Quantity * Price", "Quantity / Zero", "-Quantity // 4", "Quantity % 4", "Price ** 2",
    "abs(Quantity) + log1p(Price)", "round(Price / 3, 2)", "clip(Quantity, 0, 3)",
    "where(Quantity < 0, 'return', 'sale')", "Price if Quantity > 1 else 0",
    "concat(Code, '-', upper(strip(Name)))", "startswith(Code, 'C') or isnull(Name)",
    "not (Quantity > 1 and Price < 5)", "year(to_date(Day)) * 100 + month(to_date(Day))",
    "to_number(Text) * 2", "fillna(Price, 0) + 2 ** 3", "1 < Quantity <= 5",
])
def test_expressions_give_the_same_values_in_the_engine(text):
    frame = pd.DataFrame({"Quantity": [2, -1, 5, 0], "Price": [1.5, 4.0, None, 2.0], "Zero": [0, 0, 0, 0],
                          "Code": ["C1", "A2", None, "C3"], "Name": [" ab ", "cd", None, "e"],
                          "Day": ["2021-01-05", "2021-02-01", "2021-12-31", "2022-03-01"],
                          "Text": ["1.5", "2", "-3", "4e2"]})
    expression = parse_expression(text)
    expected = expression.evaluate(frame)
    table = ibis.memtable(frame)
    got = table.select(v=to_ibis(expression, {c: table[c] for c in table.columns})).to_pandas()["v"]
    pd.testing.assert_series_equal(got.astype(expected.dtype) if expected.dtype != object else got,
                                   expected.rename("v"), check_dtype=False, check_names=False)


def test_features_computed_on_engine_tables_equal_the_in_memory_ones():
    import seglab

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        engine = collect("sample", "2025Q3", con=connect("duckdb"))
        memory = collect("sample", "2025Q3")
    pd.testing.assert_frame_equal(engine.summary(), memory.summary(), check_dtype=False)
    left = seglab.features.build_features(engine).features  # in the connection that holds the tables
    right = seglab.features.build_features(memory).features
    pd.testing.assert_frame_equal(left.sort_index(), right.sort_index())


def both_errors(spec, period, con=None):
    """The error ``collect`` raises in memory and in the engine (``con``, by default a new DuckDB)."""
    errors = []
    for engine in (None, con or connect("duckdb")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            with pytest.raises(SeglabError) as caught:
                collect(spec, period, con=engine, salt="test")
        errors.append(caught.value)
    return errors


@pytest.mark.parametrize("case, files, options, message", PARSING_CASES + FOUND_BY_COLLECT,
                         ids=[c[0] for c in PARSING_CASES + FOUND_BY_COLLECT])
def test_a_malformed_file_gives_the_in_memory_error_in_the_engine(tmp_path, case, files, options, message):
    data = tmp_path / "data"
    spec = make_dataset(data, files, **options)
    before = checksums(data)
    memory, engine = both_errors(spec, "2021Q1")
    assert message in str(engine), str(engine)
    assert (type(engine), str(engine)) == (type(memory), str(memory))
    assert checksums(data) == before


def test_every_row_with_one_field_too_many_is_named_at_its_first_line(tmp_path):
    # DuckDB's sniffer would take the header for a bad line and the first row for the header
    text = HEADER + "".join(line + ",x\n" for line in orders_text().splitlines()[1:])
    spec = make_dataset(tmp_path, {"orders.csv": text})
    with pytest.raises(SourceError, match=r"orders\.csv, line 2: 6 fields where the header has 5"):
        collect(spec, "2021Q1", con=connect("duckdb"), salt="test")


def test_a_nul_byte_is_named_with_its_line(tmp_path):
    spec = make_dataset(tmp_path, {"orders.csv": orders_text().replace("105,1005", "105,10\x0005", 1)})
    with pytest.raises(SourceError, match=r"orders\.csv, line 7: a NUL byte"):
        collect(spec, "2021Q1", con=connect("duckdb"), salt="test")


def test_a_nul_byte_in_a_json_lines_file_gives_the_in_memory_error(tmp_path):
    lines = [json.dumps({"Customer": str(100 + i), "Invoice": str(i), "Date": f"2021-0{1 + i % 6}-05",
                         "Qty": 1, "Price": 2.0}) for i in range(12)]
    lines[4] = lines[4].replace('"Invoice": "4"', '"Invoice": "4\\u0000"')
    spec = make_dataset(tmp_path, {"orders.jsonl": "\n".join(lines) + "\n"}, path="orders.jsonl")
    memory, engine = both_errors(spec, "2021Q1")
    assert "NUL bytes" in str(engine), str(engine)
    assert (type(engine), str(engine)) == (type(memory), str(memory))


def test_a_well_formed_csv_is_not_read_again_in_pandas(tmp_path, monkeypatch):
    # a well-formed file never reaches the in-memory reader
    spec = make_dataset(tmp_path, {"orders.csv": orders_text()})
    monkeypatch.setattr(engine_read, "_line_problem", lambda *a: pytest.fail("read in pandas"))
    collect(spec, "2021Q1", con=connect("duckdb"), salt="test")


def no_amounts(folder):
    """A dataset whose amount column (``Total``) is empty in every one of its 72 rows."""
    text = orders_text().replace("Customer,Invoice,Date,Qty,Price", "Customer,Invoice,Date,Qty,Total")
    rows = [line.rsplit(",", 1)[0] + ",\n" for line in text.splitlines()[1:]]
    spec = make_dataset(folder, {"orders.csv": text.splitlines()[0] + "\n" + "".join(rows)}, amount="Total")
    spec.write_text(spec.read_text().replace("    unit_price: Price\n  derive:\n    amount: Total\n",
                                             "    amount: Total\n"))
    return spec


def test_every_amount_missing_gives_the_in_memory_error_and_quality_report(tmp_path):
    memory, engine = both_errors(no_amounts(tmp_path / "data"), "2021Q1")
    assert isinstance(engine, EmptyDataError)
    assert "column amount (mapped from 'Total') is empty in 72 rows" in str(engine), str(engine)
    assert str(engine) == str(memory)
    assert engine.quality.to_dict() == memory.quality.to_dict()
    assert engine.quality.tables["transactions"]["rows_out"] == 0


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 7, 100, 1001])
def test_quartiles_in_the_engine_equal_pandas_from_counts_of_distinct_values(n):
    import numpy as np

    from seglab.collect.engine_quality import exact_quantiles
    from seglab.features.engine import as_table

    rng = np.random.default_rng(n)
    con = connect(threads=1)
    for x in (rng.lognormal(3, 1, n), rng.integers(0, 5, n).astype(float)):  # continuous, and many ties
        x[rng.random(n) < 0.1] = np.nan
        t = as_table(con, pd.DataFrame({"x": x}), name="values")
        got = exact_quantiles(t, t.x, (0.25, 0.75, 0.5, 0.0, 1.0), "values")
        want = pd.Series(x, dtype=float).quantile([0.25, 0.75, 0.5, 0.0, 1.0]).tolist()
        assert np.allclose(got, want, equal_nan=True)
