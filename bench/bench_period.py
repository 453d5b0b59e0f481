"""Choosing a run's period: `seglab run` reads the dates of a 5 M-line CSV before any stage.

The period is chosen from the date column alone, read in pieces (issue #15); reading the
whole table for it held ~1.7 GB in the command-line process for the whole run.
Each measurement runs in a fresh process, so its peak memory is its own.
Run: .venv/bin/python bench/bench_period.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from _harness import report

LINES = 5_000_000
TARGET_MB = 300.0  # the CLI process must not hold the table (the CSV alone is ~300 MB)

SPEC = """name: big
transactions:
  sources:
    - path: orders.csv
  columns: {customer_id: Customer, order_id: Invoice, order_date: Date, quantity: Qty,
            unit_price: Price, product_id: SKU, country: Country}
  derive: {amount: quantity * unit_price}
"""

MEASURE = """
import json, resource, sys, time
from seglab.collect import resolve_period
start = time.perf_counter()
name, period = resolve_period(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - start, "period": period,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_orders(folder: Path) -> Path:
    """Seven columns, two years of orders, written by DuckDB in a few seconds."""
    duckdb.sql(f"""
        COPY (SELECT (10000 + hash(i) % 490000)::VARCHAR AS Customer, i::VARCHAR AS Invoice,
                     strftime(TIMESTAMP '2022-01-01' + to_seconds((hash(i * 7) % (730 * 86400))::BIGINT),
                              '%Y-%m-%d %H:%M:%S') AS Date,
                     1 + hash(i * 3) % 9 AS Qty, round((hash(i * 5) % 2000) / 100, 2) AS Price,
                     (10000 + hash(i * 11) % 89999)::VARCHAR AS SKU,
                     list_extract(['United Kingdom', 'France', 'Germany'], (1 + hash(i * 13) % 3)::INTEGER) AS Country
              FROM range({LINES}) t(i)) TO '{folder / "orders.csv"}' (HEADER)""")
    (folder / "dataset.yaml").write_text(SPEC)
    return folder / "dataset.yaml"


def main() -> None:
    env = {**os.environ, "SEGLAB_SALT": os.environ.get("SEGLAB_SALT", "bench")}
    with tempfile.TemporaryDirectory() as tmp:
        spec = write_orders(Path(tmp))
        size_mb = (Path(tmp) / "orders.csv").stat().st_size / 1e6
        runs = [json.loads(subprocess.run([sys.executable, "-c", MEASURE, str(spec)], env=env,
                                          capture_output=True, text=True, check=True).stdout)
                for _ in range(3)]
    peak = statistics.median(r["peak_mb"] for r in runs)
    report("period", [{"case": f"choose the period of a {LINES:,}-line CSV ({size_mb:,.0f} MB)",
                       "median_s": statistics.median(r["seconds"] for r in runs), "peak_mb": peak,
                       "target_mb": TARGET_MB, "ratio_to_target": peak / TARGET_MB,
                       "period": runs[0]["period"]}],
           notes="each run in a fresh process; peak = the whole process (Python and pandas included)")


if __name__ == "__main__":
    main()
