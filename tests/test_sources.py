import gzip
import sqlite3

import duckdb
import pandas as pd
import pytest

from seglab.collect.sources import read_source
from seglab.collect.spec import spec_from_dict
from seglab.exceptions import EmptyDataError, SchemaError, SourceError, SpecError

ORDERS = pd.DataFrame({"Cust": ["0001", "0002"], "Invoice": ["C1", "2"], "Qty": [1, 2],
                       "Price": [2.5, 3.0], "When": ["2021-01-02", "2021-01-03"]})


def _read(tmp_path, source: dict, columns=None):
    spec = spec_from_dict({"name": "t", "transactions": {"sources": [source]}}, base_dir=tmp_path)
    return read_source(spec.transactions.sources[0], spec, columns=columns)


def test_csv_with_delimiter_and_encoding(tmp_path):
    (tmp_path / "o.csv").write_bytes("Cust;Name\n0001;Müller\n".encode("latin-1"))
    out = _read(tmp_path, {"path": "o.csv", "options": {"sep": ";", "encoding": "latin-1"},
                           "columns": {"customer_id": "Cust"}})
    assert out["Cust"].tolist() == ["0001"] and out["Name"].tolist() == ["Müller"]


def test_gzip_csv_keeps_zero_padded_ids(tmp_path):
    with gzip.open(tmp_path / "o.csv.gz", "wt") as fh:
        ORDERS.to_csv(fh, index=False)
    out = _read(tmp_path, {"path": "o.csv.gz", "columns": {"customer_id": "Cust", "order_id": "Invoice"}})
    assert out["Cust"].tolist() == ["0001", "0002"]


def test_wrong_encoding_says_which_option_fixes_it(tmp_path):
    (tmp_path / "o.csv").write_bytes("Cust,Name\n1,M\xfcller\n".encode("latin-1"))
    with pytest.raises(SourceError, match="encoding: latin-1"):
        _read(tmp_path, {"path": "o.csv"})


def test_a_tab_separated_file_read_as_csv_gets_a_hint(tmp_path):
    ORDERS.to_csv(tmp_path / "o.csv", sep="\t", index=False)
    with pytest.raises(SourceError, match="tab-separated"):
        _read(tmp_path, {"path": "o.csv"})


def test_parquet_reads_only_the_needed_columns(tmp_path):
    ORDERS.to_parquet(tmp_path / "o.parquet")
    out = _read(tmp_path, {"path": "o.parquet"}, columns=["Cust", "Qty"])
    assert list(out.columns) == ["Cust", "Qty"]


def test_glob_concatenates_files_in_name_order(tmp_path):
    ORDERS.iloc[:1].to_parquet(tmp_path / "part-1.parquet")
    ORDERS.iloc[1:].to_parquet(tmp_path / "part-2.parquet")
    assert _read(tmp_path, {"path": "part-*.parquet"})["Cust"].tolist() == ["0001", "0002"]


def test_excel_sheet(tmp_path):
    with pd.ExcelWriter(tmp_path / "o.xlsx") as xl:
        ORDERS.to_excel(xl, sheet_name="Year 2021", index=False)
    out = _read(tmp_path, {"path": "o.xlsx", "options": {"sheet": "Year 2021"},
                           "columns": {"customer_id": "Cust"}})
    assert out["Cust"].tolist() == ["0001", "0002"]
    with pytest.raises(SourceError, match="sheet"):
        _read(tmp_path, {"path": "o.xlsx", "options": {"sheet": "Year 2022"}})


def test_json_lines(tmp_path):
    ORDERS.to_json(tmp_path / "o.jsonl", orient="records", lines=True)
    assert _read(tmp_path, {"path": "o.jsonl"})["Cust"].tolist() == ["0001", "0002"]


def test_duckdb_file_with_table_and_query(tmp_path):
    con = duckdb.connect(str(tmp_path / "shop.duckdb"))
    con.sql("CREATE TABLE orders AS SELECT * FROM ORDERS")
    con.close()
    assert len(_read(tmp_path, {"path": "shop.duckdb", "table": "orders"})) == 2
    out = _read(tmp_path, {"path": "shop.duckdb", "query": "SELECT Cust FROM orders WHERE Qty > 1"})
    assert out["Cust"].tolist() == ["0002"]
    with pytest.raises(SourceError, match="shop.duckdb"):
        _read(tmp_path, {"path": "shop.duckdb", "table": "missing"})


def test_sqlalchemy_url_with_table_and_query(tmp_path):
    with sqlite3.connect(tmp_path / "shop.db") as con:
        ORDERS.to_sql("orders", con, index=False)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    assert len(_read(tmp_path, {"url": url, "table": "orders"})) == 2
    assert _read(tmp_path, {"url": url, "query": "SELECT Qty FROM orders"})["Qty"].tolist() == [1, 2]
    with pytest.raises(SourceError, match="failed"):
        _read(tmp_path, {"url": url, "query": "SELECT nope FROM orders"})
    with pytest.raises(SourceError, match="no such table|not found|missing"):
        _read(tmp_path, {"url": url, "table": "missing"})


def test_unreachable_database_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="driver|URL"):
        _read(tmp_path, {"url": "nosuchdialect://host/db", "table": "orders"})


def test_missing_file_suggests_a_close_name(tmp_path):
    ORDERS.to_csv(tmp_path / "orders.csv", index=False)
    with pytest.raises(SourceError, match="did you mean 'orders.csv'"):
        _read(tmp_path, {"path": "order.csv"})
    with pytest.raises(SourceError, match="no file matches"):
        _read(tmp_path, {"path": "exports/*.csv"})


def test_empty_file_is_empty_data(tmp_path):
    (tmp_path / "o.csv").write_text("")
    with pytest.raises(EmptyDataError):
        _read(tmp_path, {"path": "o.csv"})


def test_misspelt_mapped_column_suggests_the_real_one(tmp_path):
    ORDERS.to_csv(tmp_path / "o.csv", index=False)
    with pytest.raises(SchemaError, match="'Invoce'.*did you mean 'Invoice'"):
        _read(tmp_path, {"path": "o.csv"}, columns=["Invoce"])


def test_unknown_reader_option_is_refused(tmp_path):
    ORDERS.to_csv(tmp_path / "o.csv", index=False)
    with pytest.raises(SpecError, match="did you mean 'encoding'.*allowed: .*'sep'"):
        _read(tmp_path, {"path": "o.csv", "options": {"encodng": "utf-8"}})


def test_reading_never_writes_the_source(tmp_path):
    path = tmp_path / "o.csv"
    ORDERS.to_csv(path, index=False)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    _read(tmp_path, {"path": "o.csv"})
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_duckdb_queries_read_only_the_database_they_name(tmp_path):
    con = duckdb.connect(str(tmp_path / "shop.duckdb"))
    con.sql("CREATE TABLE orders AS SELECT * FROM ORDERS")
    con.close()
    ORDERS.to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(SourceError, match="only read this database's own tables"):
        _read(tmp_path, {"path": "shop.duckdb", "query": f"SELECT * FROM '{tmp_path / 'other.csv'}'"})
    with pytest.raises(SpecError, match="one SELECT statement; found COPY"):
        _read(tmp_path, {"path": "shop.duckdb", "query": f"COPY orders TO '{tmp_path / 'out.csv'}'"})
    with pytest.raises(SpecError, match="found SELECT, SELECT"):
        _read(tmp_path, {"path": "shop.duckdb", "query": "SELECT 1; SELECT 2"})
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("name", ["o.csv", "o.csv.gz", "o.parquet", "o.jsonl"])
def test_reading_in_pieces_gives_the_same_rows(tmp_path, name):
    from seglab.collect.sources import iter_source

    big = pd.concat([ORDERS] * 50, ignore_index=True)
    if name.endswith("parquet"):
        big.to_parquet(tmp_path / name)
    elif name.endswith("jsonl"):
        big.to_json(tmp_path / name, orient="records", lines=True)
    else:
        big.to_csv(tmp_path / name, index=False)
    spec = spec_from_dict({"name": "t", "transactions": {"sources": [{"path": name}]}}, base_dir=tmp_path)
    source = spec.transactions.sources[0]
    pieces = list(iter_source(source, spec, chunk_rows=30))
    assert [len(p) for p in pieces] == [30, 30, 30, 10]
    whole = read_source(source, spec)
    pd.testing.assert_frame_equal(pd.concat(pieces, ignore_index=True), whole)


def test_reading_some_columns_of_a_csv_still_names_a_misspelt_one(tmp_path):
    from seglab.collect.sources import iter_source

    ORDERS.to_csv(tmp_path / "o.csv", index=False)
    spec = spec_from_dict({"name": "t", "transactions": {"sources": [{"path": "o.csv"}]}}, base_dir=tmp_path)
    with pytest.raises(SchemaError, match=r"no column 'Wen'.*did you mean 'When'.*found .*'Cust'"):
        list(iter_source(spec.transactions.sources[0], spec, columns=["Wen"]))
    pieces = list(iter_source(spec.transactions.sources[0], spec, columns=["When"]))
    assert [list(p.columns) for p in pieces] == [["When"]]


def test_databases_are_read_in_pieces_too(tmp_path):
    from seglab.collect.sources import iter_source

    big = pd.concat([ORDERS] * 50, ignore_index=True)
    con = duckdb.connect(str(tmp_path / "shop.duckdb"))
    con.sql("CREATE TABLE orders AS SELECT * FROM big")
    con.close()
    with sqlite3.connect(tmp_path / "shop.db") as lite:
        big.to_sql("orders", lite, index=False)
    for source in ({"path": "shop.duckdb", "query": "SELECT Cust, Qty FROM orders"},
                   {"url": f"sqlite:///{tmp_path / 'shop.db'}", "table": "orders"}):
        spec = spec_from_dict({"name": "t", "transactions": {"sources": [source]}}, base_dir=tmp_path)
        pieces = list(iter_source(spec.transactions.sources[0], spec, columns=["Cust"], chunk_rows=40))
        assert sum(map(len, pieces)) == 100 and max(map(len, pieces)) <= 40, source
