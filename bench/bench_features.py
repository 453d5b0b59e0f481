"""Features stage: seglab against a hand-written DuckDB RFM query and lifetimes.

Synthetic transaction logs of 1 M and 10 M lines (about 10 lines per customer in about 4
orders over two years, 3 % returns) are written as Parquet in a canonical run folder. Each measurement
runs in a fresh process (so its peak memory is its own), several times; the table gives
medians, peak RSS and ratios. On the 1 M case seglab's RFM columns are checked equal to
lifetimes'.

Targets (issue #3), at 10 M lines: seglab ≤ 1.5 × the hand-written DuckDB query,
≥ 5 × faster than lifetimes, peak memory ≤ 1.5 GB.

Run: .venv/bin/python bench/bench_features.py [--sizes 1000000 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from _harness import RESULTS, report

AS_OF = "2025-12-31"
HAND_WRITTEN = """
WITH daily AS (
    SELECT customer_id, CAST(order_date AS DATE) AS day, SUM(amount) AS spend
    FROM read_parquet('{path}')
    WHERE amount > 0 AND order_date < DATE '{as_of}' + INTERVAL 1 DAY
    GROUP BY customer_id, day
)
SELECT customer_id,
       COUNT(*) - 1 AS frequency,
       DATE_DIFF('day', MIN(day), MAX(day)) AS recency,
       DATE_DIFF('day', MIN(day), DATE '{as_of}') AS T,
       CASE WHEN COUNT(*) > 1 THEN (SUM(spend) - ARG_MIN(spend, day)) / (COUNT(*) - 1) ELSE 0 END
           AS monetary_value
FROM daily GROUP BY customer_id
"""


def make_log(folder: Path, n_lines: int, seed: int = 0) -> Path:
    """Write ``transactions.parquet``, ``customers.parquet`` and ``schema.json`` into ``folder``.

    About 10 lines per customer in about 4 orders (1 + Poisson(3)) of about 2.5 lines
    (1 + Poisson(1.5)), as retail logs have several lines per order; dates uniform over
    two years; 3 % of lines are returns (negative amounts).
    """
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "transactions.parquet").exists():
        return folder
    rng = np.random.default_rng(seed)
    n_customers = n_lines // 10
    orders_per_customer = 1 + rng.poisson(3.0, n_customers)
    n_orders = int(orders_per_customer.sum())
    order_owner = np.repeat(np.arange(n_customers), orders_per_customer)
    lines_per_order = 1 + rng.poisson(1.5, n_orders)
    # trim or pad the last orders so that the log has exactly n_lines lines
    cumulative = np.cumsum(lines_per_order)
    keep = int(np.searchsorted(cumulative, n_lines)) + 1
    lines_per_order, order_owner = lines_per_order[:keep], order_owner[:keep]
    lines_per_order[-1] -= int(lines_per_order.sum()) - n_lines
    order_seconds = rng.integers(0, 731 * 86400, len(lines_per_order))
    line_order = np.repeat(np.arange(len(lines_per_order)), lines_per_order)
    owner = order_owner[line_order]
    start = np.datetime64("2024-01-01T00:00:00", "s")
    amount = np.round(rng.lognormal(3.0, 0.8, n_lines), 2)
    returns = rng.random(n_lines) < 0.03
    amount[returns] *= -1
    ids = pc.cast(pa.array(owner + 100_000), pa.string())
    table = pa.table({
        "customer_id": ids,
        "order_id": pc.cast(pa.array(line_order + 10_000_000), pa.string()),
        "order_date": pa.array(start + order_seconds[line_order].astype("timedelta64[s]"), pa.timestamp("us")),
        "amount": pa.array(amount),
        "quantity": pa.array(np.where(returns, -1.0, 1.0 + rng.poisson(0.5, n_lines))),
        "product_id": pc.cast(pa.array(rng.integers(10_000, 13_000, n_lines)), pa.string()),
    })
    pq.write_table(table, folder / "transactions.parquet", compression="zstd")
    customers = pa.table({"customer_id": pc.unique(ids)})
    pq.write_table(customers, folder / "customers.parquet")
    schema = {"dataset": "bench", "period": AS_OF, "as_of": AS_OF, "currency": "EUR", "sources": [],
              "tables": {"customers": {"rows": len(customers), "columns": {"customer_id": {"type": "id",
                                                                                            "criterion": None}}},
                         "transactions": {"rows": n_lines, "columns": {}}, "events": None}}
    (folder / "schema.json").write_text(json.dumps(schema))
    return folder


def worker(tool: str, folder: str) -> None:
    """Run one measurement in this (fresh) process and print its wall time as JSON."""
    import pandas as pd

    path = Path(folder) / "transactions.parquet"
    os.environ.setdefault("SEGLAB_SALT", "bench")
    # imports happen before the clock starts: the measurement is the computation
    if tool == "duckdb_sql":
        import duckdb

        def run():
            return duckdb.sql(HAND_WRITTEN.format(path=path, as_of=AS_OF)).df()
    elif tool == "seglab_rfm":
        import ibis.backends.duckdb  # noqa: F401  (ibis loads its backends lazily: an import)

        from seglab.features import btyd_summary

        def run():
            return btyd_summary(path, as_of=AS_OF)
    elif tool == "seglab_full":
        import ibis.backends.duckdb  # noqa: F401

        from seglab.features import build_features

        def run():
            return build_features(Path(folder), as_of=AS_OF, lookback_days=None).features
    elif tool == "lifetimes":
        from lifetimes.utils import summary_data_from_transaction_data

        def run():
            tx = pd.read_parquet(path, columns=["customer_id", "order_date", "amount"])
            tx = tx[tx["amount"] > 0]
            return summary_data_from_transaction_data(tx, "customer_id", "order_date",
                                                      monetary_value_col="amount",
                                                      observation_period_end=AS_OF)
    else:
        raise SystemExit(f"unknown tool {tool}")
    start = time.perf_counter()
    out = run()
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, "rows": len(out), "peak_mb": _own_peak_mb()}))


def _own_peak_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: on Linux a child's
    ru_maxrss keeps the high-water mark of the parent it was forked from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(tool: str, folder: Path) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one fresh-process run."""
    done = subprocess.run([sys.executable, __file__, "--worker", tool, str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{tool} failed on {folder}:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["seconds"], result["peak_mb"]


def check_equal_to_lifetimes(folder: Path) -> str:
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    from seglab.features import btyd_summary

    path = folder / "transactions.parquet"
    mine = btyd_summary(path, as_of=AS_OF).set_index("customer_id")
    tx = pd.read_parquet(path, columns=["customer_id", "order_date", "amount"])
    theirs = summary_data_from_transaction_data(tx[tx["amount"] > 0], "customer_id", "order_date",
                                                monetary_value_col="amount", observation_period_end=AS_OF)
    theirs = theirs.loc[mine.index]
    same = all((mine[c].to_numpy() == theirs[c].to_numpy()).all() for c in ("frequency", "recency", "T"))
    close = np.allclose(mine["monetary_value"], theirs["monetary_value"], rtol=1e-9, atol=1e-9)
    return (f"RFM equal to lifetimes on {len(mine):,} customers: frequency/recency/T "
            f"{'identical' if same else 'DIFFERENT'}, monetary value "
            f"{'equal to 1e-9' if close else 'DIFFERENT'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=2, metavar=("TOOL", "FOLDER"))
    parser.add_argument("--sizes", nargs="+", type=int, default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", type=Path, default=RESULTS / "data")
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    rows, notes = [], []
    for size in args.sizes:
        folder = make_log(args.data / f"lines_{size}", size)
        medians = {}
        for tool in ("duckdb_sql", "seglab_rfm", "seglab_full", "lifetimes"):
            runs = [measure(tool, folder) for _ in range(args.repeat if tool != "lifetimes" else 1)]
            seconds = statistics.median(r[0] for r in runs)
            medians[tool] = seconds
            rows.append({"lines": f"{size:,}", "tool": tool, "median_s": seconds,
                         "runs": len(runs), "peak_rss_mb": max(r[1] for r in runs)})
            print(rows[-1], flush=True)
        for row in rows[-4:]:
            row["x_duckdb_sql"] = row["median_s"] / medians["duckdb_sql"]
            row["lifetimes_x_faster"] = medians["lifetimes"] / row["median_s"]
        if size == min(args.sizes):
            notes.append(check_equal_to_lifetimes(folder))
    notes.append(f"cores {os.cpu_count()}; each run in a fresh process; lifetimes run once per size")
    report("features", rows, notes="\n".join(notes))


if __name__ == "__main__":
    main()
