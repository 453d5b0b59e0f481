"""The scaling benchmark's tools: the synthetic log and the process-tree memory sampler."""

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from bench_scale import table, tree_sample  # noqa: E402
from synthetic_log import label, write_log  # noqa: E402


def _digest(path: Path) -> tuple:
    return duckdb.sql(f"SELECT count(*), sum(hash(customer, invoice, invoice_date, product, amount)) "
                      f"FROM '{path}'").fetchall()[0]


def test_the_log_has_the_shape_it_promises(tmp_path):
    spec = write_log(tmp_path / "log", 20_000, seed=3)
    rows = duckdb.sql(f"""SELECT count(*) AS lines, count(DISTINCT customer) AS customers,
                                 count(DISTINCT invoice) AS orders, avg((amount < 0)::INT) AS returns,
                                 min(invoice_date) AS first, max(invoice_date) AS last
                          FROM '{tmp_path / "log" / "transactions.parquet"}'""").df().iloc[0]
    assert rows["lines"] == 20_000 and rows["orders"] == 8_000
    assert 1_900 <= rows["customers"] <= 2_000  # 2,000 customer numbers, about 98 % buy
    assert 0.02 <= rows["returns"] <= 0.04
    assert str(rows["first"]) >= "2024-01-01" and str(rows["last"]) < "2026-01-01"
    assert "order_id: invoice" in spec.read_text()


def test_the_same_seed_gives_the_same_log_and_another_seed_another(tmp_path):
    a = write_log(tmp_path / "a", 5_000, seed=1).with_name("transactions.parquet")
    b = write_log(tmp_path / "b", 5_000, seed=1, threads=1).with_name("transactions.parquet")
    c = write_log(tmp_path / "c", 5_000, seed=2).with_name("transactions.parquet")
    assert _digest(a) == _digest(b) != _digest(c)


def test_the_log_can_be_csv_and_a_spec_runs_it(tmp_path):
    from seglab.collect import load_spec

    spec = write_log(tmp_path / "csv", 1_000, fmt="csv")
    assert (tmp_path / "csv" / "transactions.csv").read_text().startswith("customer,invoice,")
    assert load_spec(spec).transactions.sources[0].kind == "csv"
    assert label(50_000_000) == "50m" and label(250_000) == "250k"


def test_the_sampler_counts_the_children_of_a_process():
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(5)']); time.sleep(5)"
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(1.0)
        alone, _ = tree_sample(parent.pid)
        own = int(Path(f"/proc/{parent.pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        assert alone > own * 1.5  # the child's memory is counted too
    finally:
        parent.kill()


def test_the_table_shows_time_and_peak_per_stage(tmp_path):
    saved = tmp_path / "scale_duckdb.json"
    saved.write_text('{"name": "scale_duckdb", "rows": [{"lines": 1000000, "wall_s": 190.7, '
                     '"peak_mb": 1228.1, "collect_s": 13.2, "collect_peak_mb": 948.5}]}')
    text = table([saved])
    assert "| scale_duckdb | 1 M | 191 s | 13 s / 0.9 GB | — |" in text and "1.20 GB" in text
