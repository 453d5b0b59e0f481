"""The whole pipeline as the CRM team runs it: `seglab run` in a fresh process, kernels included.

- the default run (what `make report` does): sample data, latest quarter; target ≤ 90 s;
- UCI Online Retail, one quarter (2011Q3, compared with 2011Q2); target ≤ 3 min.

Each run is a separate `seglab run` process into a scratch reports folder; wall time is the
median of ``--repeat`` runs; the per-stage times come from the runs' ``manifest.json``.

    python bench/bench_pipeline.py [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import report

SEGLAB = Path(sys.executable).with_name("seglab")
STAGES = ("collect", "features", "cluster", "personas", "report")


def run(args: list[str], out: Path) -> tuple[float, dict]:
    """One `seglab run` into ``out``: wall seconds and the manifest."""
    started = time.perf_counter()
    subprocess.run([str(SEGLAB), "run", "--out", str(out), *args], check=True, capture_output=True)
    wall = time.perf_counter() - started
    manifest = json.loads(next(p for p in out.rglob("manifest.json") if args_period(args) in str(p)).read_text())
    return wall, manifest


def args_period(args: list[str]) -> str:
    return args[args.index("--period") + 1] if "--period" in args else ""


def measure(name: str, args: list[str], target_s: float, repeat: int, setup: list[str] | None = None) -> dict:
    walls, stage_times = [], {s: [] for s in STAGES}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="seglab-bench-") as tmp:
            if setup:
                subprocess.run([str(SEGLAB), "run", "--out", tmp, *setup], check=True, capture_output=True)
            wall, manifest = run(args, Path(tmp))
        walls.append(wall)
        for stage, seconds in manifest["timings_s"].items():
            stage_times[stage].append(seconds)
    row = {"run": name, "median_s": statistics.median(walls), "target_s": target_s,
           "ok": statistics.median(walls) <= target_s, "runs": repeat}
    row.update({f"{s}_s": statistics.median(t) for s, t in stage_times.items() if t})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the default run only")
    options = parser.parse_args()
    rows = [measure("make report (sample, latest quarter)", [], 90, options.repeat)]
    if not options.quick:
        rows.append(measure("online_retail 2011Q3 vs 2011Q2", ["--dataset", "online_retail", "--period", "2011Q3",
                                                               "--compare-to", "2011Q2"], 180, options.repeat,
                            setup=["--dataset", "online_retail", "--period", "2011Q2"]))
    report("pipeline", rows, notes="wall time of a fresh `seglab run` process (kernel starts included); "
                                   "stage times from manifest.json; medians")


if __name__ == "__main__":
    main()
