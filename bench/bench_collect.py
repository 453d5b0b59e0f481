"""Collect stage: reading, mapping, quality gate, pseudonymization and writing the canonical
tables, on UCI Online Retail.

Target (issue #2): the 2010-2011 file (541,909 lines) in under 10 s on 2 cores.
Each case is timed as ``collect`` plus writing the run folder's canonical tables, so that the
engine path (whose tables are written by the engine) and the in-memory path do the same work.
``--case csv5m`` times a 5 M-line CSV (290 MB, written by :func:`bench_period.write_orders`)
instead, once per path (the in-memory path takes minutes). Run each path in its own process
(peak memory is per process):

    .venv/bin/python bench/bench_collect.py --engine duckdb
    .venv/bin/python bench/bench_collect.py --engine pandas
    .venv/bin/python bench/bench_collect.py --engine duckdb --case csv5m
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile
from pathlib import Path

import yaml

from _harness import peak_rss_mb, report, timeit
from bench_period import write_orders
from seglab.collect import collect, spec_from_dict
from seglab.collect.spec import builtin_specs
from seglab.features import connect
from seglab.run import RunFolder

TARGET_S = 10.0


def single_file_spec():
    raw = yaml.safe_load(builtin_specs()["online_retail"].read_text())
    raw["transactions"]["sources"] = [copy.deepcopy(raw["transactions"]["sources"][1])]
    return spec_from_dict(raw)


def collect_and_write(dataset, engine: str, out: str) -> None:
    con = connect(engine) if engine != "pandas" else None
    RunFolder(out).make().write_canonical(collect(dataset, "all", con=con))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("duckdb", "pandas"), default="duckdb",
                        help="duckdb: the engine path (default); pandas: in memory")
    parser.add_argument("--case", choices=("retail", "csv5m"), default="retail",
                        help="retail: UCI Online Retail, five runs (default); csv5m: a 5 M-line CSV, one run")
    args = parser.parse_args()
    engine = args.engine
    os.environ.setdefault("SEGLAB_SALT", "bench")
    rows = []
    with tempfile.TemporaryDirectory() as out:
        if args.case == "csv5m":
            cases, repeat, warmup = (("5 M-line CSV (290 MB)", write_orders(Path(out))),), 1, 0
        else:
            cases, repeat, warmup = (("2010-2011 file (541,909 lines)", single_file_spec()),
                                     ("both files (1,067,370 lines)", "online_retail")), 5, 1
        for label, dataset in cases:
            result = timeit(lambda d=dataset: collect_and_write(d, engine, out + "/run"), repeat=repeat,
                            warmup=warmup)
            rows.append({"case": label, "engine": engine, **result,
                         "target_s": TARGET_S if "2010-2011" in label else None,
                         "ratio_to_target": result["median_s"] / TARGET_S if "2010-2011" in label else None})
    report(f"collect_{args.case}_{engine}", rows, notes=f"peak RSS {peak_rss_mb():,.0f} MB; cores {os.cpu_count()}")


if __name__ == "__main__":
    main()
