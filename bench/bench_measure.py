"""Measurement: lift of 50 campaigns in 10 segments over 1 M customers, and feedback per segment.

A synthetic population of 1 M customers in 10 segments; 50 campaigns, each sent to a
random 10 % of the customers (100 k rows, so 5 M campaign rows), 10 % of each held out as
the control group, with conversions and revenue; 500 k NPS and CSAT answers over two
quarters. The tables are Parquet files, as in a run folder; the segments a pandas frame,
as :func:`seglab.measure.measure_run` passes them. Each case runs ``--repeat`` times in
this process after one unmeasured warm-up run; the table gives medians.

Target (issue #18): the measurement of 50 campaigns × 10 segments over 1 M customers
≤ 10 s (aggregations in the engine, not per-customer Python).

Run: .venv/bin/python bench/bench_measure.py [--customers 1000000] [--campaigns 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from _harness import peak_rss_mb, report, timeit
from seglab.measure import feedback_by_segment, measure_campaigns

SEGMENTS = 10


def make_tables(folder: Path, n: int, campaigns: int, seed: int = 0) -> pd.DataFrame:
    """Write campaigns.parquet and feedback.parquet into ``folder``; return the segments."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("c", np.arange(n).astype("str")).astype(object)
    segment = rng.integers(0, SEGMENTS, n)
    frames = []
    for c in range(campaigns):
        who = rng.choice(n, size=n // 10, replace=False)
        control = rng.random(len(who)) < 0.1
        base = 0.05 + 0.01 * segment[who]
        converted = rng.random(len(who)) < base + np.where(control, 0.0, 0.01 * (c % 3))
        frames.append(pd.DataFrame({
            "customer_id": ids[who], "campaign_id": f"campaign {c:02d}",
            "sent_at": pd.Timestamp("2025-10-01") + pd.Timedelta(days=int(c % 60)),
            "group": np.where(control, "control", "treatment"), "converted": converted,
            "revenue": np.where(converted, rng.gamma(2.0, 30.0, len(who)), 0.0).round(2)}))
    pd.concat(frames, ignore_index=True).to_parquet(folder / "campaigns.parquet", index=False)
    answers = n // 2
    who = rng.integers(0, n, answers)
    kind = np.where(rng.random(answers) < 0.6, "nps", "csat")
    score = np.where(kind == "nps", rng.integers(0, 11, answers), rng.integers(1, 6, answers)).astype("float64")
    pd.DataFrame({"customer_id": ids[who],
                  "date": pd.Timestamp("2025-07-01") + pd.to_timedelta(rng.integers(0, 184, answers), unit="D"),
                  "kind": kind, "score": score,
                  "topic": rng.choice(["price", "delivery", "app", "returns", "quality"], answers)}
                 ).to_parquet(folder / "feedback.parquet", index=False)
    return pd.DataFrame({"customer_id": ids, "segment": segment})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        segments = make_tables(folder, args.customers, args.campaigns)
        rows_read = len(pd.read_parquet(folder / "campaigns.parquet", columns=["campaign_id"]))
        cells = {}

        def campaigns():
            cells["n"] = len(measure_campaigns(folder / "campaigns.parquet", segments, period="2025Q4").cells)

        def feedback():
            feedback_by_segment(folder / "feedback.parquet", segments, period="2025Q4")

        lift = timeit(campaigns, repeat=args.repeat)
        said = timeit(feedback, repeat=args.repeat)
    rows = [{"case": f"lift: {args.campaigns} campaigns x {SEGMENTS} segments, {args.customers:,} customers, "
                     f"{rows_read:,} campaign rows, 2,000 bootstrap replicates",
             "cells": cells["n"], "median_s": lift["median_s"], "min_s": lift["min_s"], "target_s": 10.0},
            {"case": f"feedback: {args.customers // 2:,} NPS and CSAT answers, two quarters",
             "cells": None, "median_s": said["median_s"], "min_s": said["min_s"], "target_s": None}]
    report("measure", rows, notes=f"peak memory {peak_rss_mb():,.0f} MB (the data generation included)")


if __name__ == "__main__":
    main()
