"""The corpus of malformed inputs: each one through `seglab`, as a user meets it.

Every case asserts the exit status, the message (file, line and what was found, or what
to do), that no traceback or "internal error" reaches the user, and that the raw files
are byte-for-byte what they were. Most cases stop before any notebook runs (while the
period is chosen, or at the door of the run), so they run in-process and fast; the
cases that need the stage notebooks are marked slow.
"""

from __future__ import annotations

import bz2
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from seglab._io import sha256_file
from seglab.cli import main

SPEC = """
name: shop
transactions:
  sources:
    - path: {path}
{extra}
  columns:
    customer_id: Customer
    order_id: Invoice
    order_date: Date
    quantity: Qty
    unit_price: Price
  derive:
    amount: {amount}
"""

HEADER = "Customer,Invoice,Date,Qty,Price\n"


def orders_text(customers: int = 12, months: int = 6) -> str:
    """Orders from January to June 2021: 2021Q1 and 2021Q2 are complete."""
    lines = []
    for month in range(1, months + 1):
        for c in range(customers):
            day = 1 + (c * 7 + month) % 27 if month < months else 30
            lines.append(f"{100 + c},{month}{c:03d},2021-{month:02d}-{day:02d},{1 + c % 3},{2.5 + c}\n")
    return HEADER + "".join(lines)


def make_dataset(folder: Path, files: dict[str, bytes | str], *, path: str = "orders.csv",
                 extra: str = "", amount: str = "quantity * unit_price") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    spec = folder / "dataset.yaml"
    spec.write_text(SPEC.format(path=path, extra=extra, amount=amount), encoding="utf-8")
    return spec


def checksums(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}


def run_cli(capsys, argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    return code, err


def assert_clean_error(code: int, err: str, message: str, expected_code: int = 2) -> None:
    assert code == expected_code, err
    assert message in err, err
    assert err.startswith("seglab: error:"), err
    assert "Traceback" not in err and "internal error" not in err, err


def _truncated_gzip() -> bytes:
    data = gzip.compress(orders_text(customers=400).encode())
    return data[: len(data) // 2]


def _duckdb_file(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text(orders_text())
    con = duckdb.connect(str(folder / "shop.duckdb"))
    con.sql(f"CREATE TABLE orders AS SELECT * FROM read_csv('{folder / 'orders.csv'}', all_varchar=true)")
    con.close()
    (folder / "orders.csv").unlink()
    (folder / "secret.csv").write_text("secret\nTOP SECRET\n")


# (case id, files, spec options, message the user must see). Problems in the date column,
# the compression or the JSON structure stop the run while its period is chosen, before any
# work; the others are found when the collect stage reads the whole file (a notebook runs).
PARSING_CASES = [
    ("truncated_gzip", {"orders.csv.gz": _truncated_gzip()}, {"path": "orders.csv.gz"},
     "orders.csv.gz: the compressed file is truncated or damaged after line"),
    ("corrupt_gzip", {"orders.csv.gz": b"\x1f\x8b\x08\x00" + b"not really gzip" * 20},
     {"path": "orders.csv.gz"}, "orders.csv.gz: the compressed file is truncated or damaged"),
    ("corrupt_bz2", {"orders.csv.bz2": bz2.compress(orders_text().encode())[:-40]},
     {"path": "orders.csv.bz2"}, "orders.csv.bz2: the compressed file is truncated or damaged"),
    ("utf16_read_as_utf8", {"orders.csv": orders_text().encode("utf-16-le")}, {},
     "orders.csv, line 1: a NUL byte"),
    ("undecodable_date", {"orders.csv": orders_text().replace("2021-01-09", "2021-01-09\xfc", 1)
                          .encode("latin-1")}, {},
     "orders.csv, line 3: bytes b'\\xfc' are not utf-8 text"),
    ("bad_json_line", {"orders.jsonl": '{"Customer": "1", "Invoice": "1", "Date": "2021-01-05", '
                                       '"Qty": 1, "Price": 2}\n{"Customer": "2", "Invoice": \n'},
     {"path": "orders.jsonl"}, "orders.jsonl, line 2: not valid JSON"),
    ("mixed_time_zones_refused",
     {"orders.csv": HEADER + "1,1,2021-01-05T10:00:00+01:00,1,2\n2,2,2021-06-30T10:00:00+02:00,1,2\n"},
     {"extra": "      mixed_time_zones: refuse"},
     "transactions.order_date: the dates carry different time-zone offsets (+01:00, +02:00)"),
]
FOUND_BY_COLLECT = [
    ("ragged_row",
     {"orders.csv": orders_text().replace("101,1001,2021-01-09,2,3.5\n", "101,1001,2021-01-09,2,3,5\n")},
     {}, "orders.csv, line 3: 6 fields where the header has 5 (the line reads '101,1001,2021-01-09,2,3,5')"),
    ("every_row_one_field_too_many",  # pandas would shift every column by one, silently
     {"orders.csv": HEADER + "".join(line + ",x\n" for line in orders_text().splitlines()[1:])},
     {}, "orders.csv, line 2: 6 fields where the header has 5"),
    ("nul_bytes", {"orders.csv": orders_text().replace("101,1001", "101,10\x0001", 1)}, {},
     "orders.csv, line 3: a NUL byte"),
    ("undecodable_text", {"orders.csv": orders_text().replace("101,1001", "101,M\xfcller", 1)
                          .encode("latin-1")}, {},
     "orders.csv, line 3: bytes b'\\xfc' are not utf-8 text"),
]


@pytest.mark.parametrize("case, files, options, message", PARSING_CASES, ids=[c[0] for c in PARSING_CASES])
def test_a_file_that_cannot_be_read_is_named_with_its_line(tmp_path, capsys, case, files, options, message):
    data = tmp_path / "data"
    spec = make_dataset(data, files, **options)
    before = checksums(data)
    code, err = run_cli(capsys, ["collect", "--dataset", str(spec), "--period", "2021Q1",
                                 "--out", str(tmp_path / "reports")])
    assert_clean_error(code, err, message)
    assert checksums(data) == before
    assert not (tmp_path / "reports" / "shop" / "2021Q1").exists()  # stopped before any work


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("case, files, options, message", FOUND_BY_COLLECT,
                         ids=[c[0] for c in FOUND_BY_COLLECT])
def test_a_broken_row_is_named_with_its_line_by_the_collect_stage(tmp_path, capsys, case, files, options,
                                                                   message):
    data = tmp_path / "data"
    spec = make_dataset(data, files, **options)
    before = checksums(data)
    code, err = run_cli(capsys, ["run", "--dataset", str(spec), "--period", "2021Q1",
                                 "--out", str(tmp_path / "reports"), "--no-progress"])
    assert_clean_error(code, err, message)
    assert "failed in 01_collect.ipynb" in err and "SourceError" in err
    assert checksums(data) == before
    assert not (tmp_path / "reports" / "shop" / "2021Q1").exists()  # the failed run is kept aside


def test_a_duckdb_query_cannot_read_other_files(tmp_path, capsys):
    _duckdb_file(tmp_path / "data")
    spec = make_dataset(tmp_path / "data", {}, path="shop.duckdb",
                        extra="      query: SELECT * FROM read_csv('secret.csv')")
    before = checksums(tmp_path / "data")
    code, err = run_cli(capsys, ["collect", "--dataset", str(spec), "--out", str(tmp_path / "r")])
    assert_clean_error(code, err, "the query may only read this database's own tables")
    assert "TOP SECRET" not in err and checksums(tmp_path / "data") == before


@pytest.mark.parametrize("query", [
    "COPY orders TO 'stolen.csv'",
    "SELECT * FROM orders; COPY orders TO 'stolen.csv'",
])
def test_a_duckdb_query_cannot_write_files(tmp_path, capsys, query):
    _duckdb_file(tmp_path / "data")
    spec = make_dataset(tmp_path / "data", {}, path="shop.duckdb", extra=f'      query: "{query}"')
    before = checksums(tmp_path / "data")
    code, err = run_cli(capsys, ["collect", "--dataset", str(spec), "--out", str(tmp_path / "r")])
    assert_clean_error(code, err, "a query must be one SELECT statement")
    assert not list(tmp_path.rglob("stolen.csv")) and not list(Path.cwd().glob("stolen.csv"))
    assert checksums(tmp_path / "data") == before


@pytest.mark.parametrize("amount, message", [
    ("9 ** 9 ** 9", "9 ** 387420489 is larger than 10**18"),
    ("'a' * 10**11", "text repeated 100,000,000,000 times is longer than 1,000 characters"),
])
def test_a_derive_expression_cannot_hang_or_exhaust_memory(tmp_path, capsys, amount, message):
    spec = make_dataset(tmp_path / "data", {"orders.csv": orders_text()}, amount=f'"{amount}"')
    started = time.perf_counter()
    code, err = run_cli(capsys, ["collect", "--dataset", str(spec), "--out", str(tmp_path / "r")])
    assert_clean_error(code, err, message)
    assert time.perf_counter() - started < 20


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys):
    spec = make_dataset(tmp_path / "data", {"orders.csv": orders_text()})
    (tmp_path / "reports.txt").write_text("not a folder")
    code, err = run_cli(capsys, ["collect", "--dataset", str(spec), "--out", str(tmp_path / "reports.txt")])
    assert_clean_error(code, err, f"--out {tmp_path / 'reports.txt'} is a file, not a folder")


def test_out_that_cannot_be_created_is_refused_before_any_work(tmp_path, capsys):
    spec = make_dataset(tmp_path / "data", {"orders.csv": orders_text()})
    (tmp_path / "file").write_text("x")
    code, err = run_cli(capsys, ["run", "--dataset", str(spec), "--out", str(tmp_path / "file" / "reports")])
    assert_clean_error(code, err, "cannot be created: Not a directory")


def test_out_that_is_not_writable_is_refused_before_any_work(tmp_path, capsys):
    spec = make_dataset(tmp_path / "data", {"orders.csv": orders_text()})
    # /proc is a folder nobody (not even root, who ignores permission bits) can create files in
    code, err = run_cli(capsys, ["run", "--dataset", str(spec), "--out", "/proc"])
    assert_clean_error(code, err, "--out /proc is not writable")


HOLD_LOCK = """
import sys, time
from seglab._io import FileLock
lock = FileLock(sys.argv[1])
assert lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_a_second_run_of_the_same_period_exits_2_naming_the_first(tmp_path, capsys):
    spec = make_dataset(tmp_path / "data", {"orders.csv": orders_text()})
    lock = tmp_path / "reports" / "shop" / ".2021Q2.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, err = run_cli(capsys, ["run", "--dataset", str(spec), "--period", "2021Q2",
                                     "--out", str(tmp_path / "reports")])
        assert_clean_error(code, err, f"a run of shop 2021Q2 is in progress (pid {holder.pid}")
        assert not (tmp_path / "reports" / "shop" / "2021Q2").exists()
    finally:
        holder.kill()
        holder.wait()


def fake_run(folder: Path, fingerprint: str) -> None:
    """The files of a finished run that matter for choosing what to compare with."""
    (folder / "artifacts").mkdir(parents=True)
    (folder / "artifacts" / "model.joblib").write_bytes(b"")
    (folder / "manifest.json").write_text(json.dumps({"salt_fingerprint": fingerprint}))


def test_comparing_with_a_run_made_with_another_salt_is_refused_before_any_work(tmp_path, capsys):
    spec = make_dataset(tmp_path / "data", {"orders.csv": orders_text()})
    fake_run(tmp_path / "reports" / "shop" / "2021Q1", "0123456789abcdef")
    code, err = run_cli(capsys, ["run", "--dataset", str(spec), "--period", "2021Q2",
                                 "--out", str(tmp_path / "reports")])
    assert_clean_error(code, err, "pseudonymized with another salt (fingerprint 0123456789abcdef)")
    assert "SEGLAB_SALT" in err and ".seglab/salt" in err and "--compare-to none" in err
    assert not (tmp_path / "reports" / "shop" / "2021Q2").exists()


def test_bad_input_through_a_real_process_prints_no_traceback(tmp_path):
    spec = make_dataset(tmp_path / "data", {"orders.csv.gz": _truncated_gzip()}, path="orders.csv.gz")
    before = checksums(tmp_path / "data")
    done = subprocess.run([sys.executable, "-m", "seglab.cli", "collect", "--dataset", str(spec),
                           "--out", str(tmp_path / "r")], capture_output=True, text=True)
    assert_clean_error(done.returncode, done.stderr, "the compressed file is truncated or damaged")
    assert checksums(tmp_path / "data") == before


# --------------------------------------------------------------------------- through the notebooks

@pytest.mark.slow
@pytest.mark.notebook
def test_all_amounts_missing_names_the_column_and_keeps_the_quality_report(tmp_path, capsys):
    text = orders_text().replace("Customer,Invoice,Date,Qty,Price", "Customer,Invoice,Date,Qty,Total")
    rows = [line.rsplit(",", 1)[0] + ",\n" for line in text.splitlines()[1:]]
    spec = make_dataset(tmp_path / "data", {"orders.csv": text.splitlines()[0] + "\n" + "".join(rows)},
                        amount="Total")
    spec.write_text(spec.read_text().replace("    unit_price: Price\n  derive:\n    amount: Total\n",
                                             "    amount: Total\n"))
    before = checksums(tmp_path / "data")
    code, err = run_cli(capsys, ["run", "--dataset", str(spec), "--period", "2021Q1",
                                 "--out", str(tmp_path / "reports"), "--no-progress"])
    assert_clean_error(code, err, f"column amount (mapped from 'Total') is empty in {len(rows):,} rows")
    quality = Path(err.split("every count is in ")[1].split(".json")[0] + ".json")
    assert quality.is_file() and json.loads(quality.read_text())["tables"]["transactions"]["rows_out"] == 0
    assert checksums(tmp_path / "data") == before


@pytest.mark.slow
@pytest.mark.notebook
def test_too_few_customers_for_k_exits_2(tmp_path, capsys):
    spec = make_dataset(tmp_path / "data", {"orders.csv": orders_text(customers=3)})
    code, err = run_cli(capsys, ["run", "--dataset", str(spec), "--period", "2021Q2",
                                 "--out", str(tmp_path / "reports"), "--no-progress"])
    assert_clean_error(code, err, "needs at least 16 customers (half of them must still hold 8 segments); "
                                  "found 3: set k to the number of segments you want (at most 3)")


@pytest.mark.slow
@pytest.mark.notebook
def test_cli_started_in_a_subfolder_uses_the_project_folder_and_announces_a_new_salt(tmp_path):
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "shop-analytics"\ndependencies = ["seglab"]\n')
    spec = make_dataset(project / "data", {"orders.csv": orders_text()})
    env = {k: v for k, v in os.environ.items() if k != "SEGLAB_SALT"}
    done = subprocess.run([sys.executable, "-m", "seglab.cli", "collect", "--dataset", str(spec),
                           "--period", "2021Q1", "--no-progress"], cwd=project / "notebooks", env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    salt = project / ".seglab" / "salt"
    assert f"seglab: warning: created a new pseudonymization salt in {salt}" in done.stderr
    assert salt.is_file() and not (project / "notebooks" / ".seglab").exists()
    run = project / "reports" / "shop" / "2021Q1"
    from seglab.collect.privacy import salt_fingerprint

    fingerprint = salt_fingerprint(salt.read_text().strip())
    assert json.loads((run / "manifest.json").read_text())["salt_fingerprint"] == fingerprint
    assert json.loads((run / "artifacts" / "schema.json").read_text())["salt_fingerprint"] == fingerprint
