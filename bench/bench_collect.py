"""Collect stage: reading, mapping, quality gate and pseudonymization on UCI Online Retail.

Target (issue #2): the 2010-2011 file (541,909 lines) in under 10 s on 2 cores.
Run: .venv/bin/python bench/bench_collect.py
"""

from __future__ import annotations

import copy
import os

import yaml

from _harness import peak_rss_mb, report, timeit
from seglab.collect import collect, spec_from_dict
from seglab.collect.spec import builtin_specs

TARGET_S = 10.0


def single_file_spec():
    raw = yaml.safe_load(builtin_specs()["online_retail"].read_text())
    raw["transactions"]["sources"] = [copy.deepcopy(raw["transactions"]["sources"][1])]
    return spec_from_dict(raw)


def main() -> None:
    os.environ.setdefault("SEGLAB_SALT", "bench")
    spec = single_file_spec()
    rows = []
    for label, dataset in (("2010-2011 file (541,909 lines)", spec),
                           ("both files (1,067,370 lines)", "online_retail")):
        result = timeit(lambda d=dataset: collect(d, "all"), repeat=5)
        rows.append({"case": label, **result, "target_s": TARGET_S if "2010-2011" in label else None,
                     "ratio_to_target": result["median_s"] / TARGET_S if "2010-2011" in label else None})
    report("collect", rows, notes=f"peak RSS {peak_rss_mb():,.0f} MB; cores {os.cpu_count()}")


if __name__ == "__main__":
    main()
