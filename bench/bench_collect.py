"""Collect stage: reading, mapping, quality gate, pseudonymization and writing the canonical
tables, on UCI Online Retail.

Target (issue #2): the 2010-2011 file (541,909 lines) in under 10 s on 2 cores.
Each case is timed as ``collect`` plus writing the run folder's canonical tables, so that the
engine path (whose tables are written by the engine) and the in-memory path do the same work.
Run each path in its own process (peak memory is per process):

    .venv/bin/python bench/bench_collect.py --engine duckdb
    .venv/bin/python bench/bench_collect.py --engine pandas
"""

from __future__ import annotations

import argparse
import copy
import os
import tempfile

import yaml

from _harness import peak_rss_mb, report, timeit
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
    engine = parser.parse_args().engine
    os.environ.setdefault("SEGLAB_SALT", "bench")
    spec = single_file_spec()
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for label, dataset in (("2010-2011 file (541,909 lines)", spec),
                               ("both files (1,067,370 lines)", "online_retail")):
            result = timeit(lambda d=dataset: collect_and_write(d, engine, out), repeat=5)
            rows.append({"case": label, "engine": engine, **result,
                         "target_s": TARGET_S if "2010-2011" in label else None,
                         "ratio_to_target": result["median_s"] / TARGET_S if "2010-2011" in label else None})
    report(f"collect_{engine}", rows, notes=f"peak RSS {peak_rss_mb():,.0f} MB; cores {os.cpu_count()}")


if __name__ == "__main__":
    main()
