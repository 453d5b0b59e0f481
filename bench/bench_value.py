"""Value models: fitting BG/NBD, MBG/NBD and Pareto/NBD on 1 M customers, and the holdout validation.

A synthetic population of MBG/NBD customers (r = 0.8, α = 40 days, a = 1, b = 4; first
purchases uniform over two years, in days) is observed for 730 days (the calibration
summary) and then for a 91-day holdout. Each measurement runs in a fresh process, several
times; the table gives medians. Compared with lifetimes' fitters (given the distinct
(frequency, recency, T) rows with weights, the way its documentation recommends for large
data) and, when a throwaway virtual environment with pymc-marketing exists
(``--pymc-python``), with pymc-marketing's MAP fit.

Targets (issue #13): any of the three models on 1 M customers ≤ 5 s; the validation
≤ 2 × a single fit.

Run: .venv/bin/python bench/bench_value.py [--customers 1000000] [--repeat 3]
     [--pymc-python /tmp/pymc_venv/bin/python]
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
import pandas as pd

from _harness import RESULTS, report

DAYS, HOLDOUT = 730, 91
TRUE = {"r": 0.8, "alpha": 40.0, "a": 1.0, "b": 4.0}


def make_population(n: int, seed: int = 0) -> pd.DataFrame:
    """MBG/NBD customers: calibration summary at day 730 and purchase days in the next 91 days."""
    rng = np.random.default_rng(seed)
    first = np.floor(rng.uniform(0, DAYS, n))
    rate = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n)
    alive = rng.random(n) >= p  # MBG/NBD: a customer may drop out at the first purchase
    t, last, x, holdout = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    seen = np.zeros(n)  # last purchase day seen (relative to the first)
    while alive.any():  # a loop over purchases (a few dozen), vectorized over customers
        t = t + rng.exponential(1.0, n) / np.maximum(rate, 1e-12)
        day = np.floor(first + t) - first
        buy = alive & (first + day < DAYS + HOLDOUT)
        new_day = buy & (day > seen)
        in_calibration = new_day & (first + day < DAYS)
        x += in_calibration
        last = np.where(in_calibration, day, last)
        holdout += new_day & ~in_calibration
        seen = np.where(new_day, day, seen)
        alive = buy & (rng.random(n) >= p)
    return pd.DataFrame({"customer_id": np.arange(n), "frequency": x, "recency": last,
                         "T": DAYS - 1 - first, "holdout": holdout})


def _read(path) -> pd.DataFrame:
    """The population (an .npz file: readable by any venv with numpy, pyarrow or not)."""
    with np.load(path) as arrays:
        return pd.DataFrame({k: arrays[k] for k in arrays.files})


def worker(tool: str, path: str) -> None:
    """Run one measurement in this (fresh) process and print its wall time as JSON."""
    data = _read(path)
    x, t_x, T = (data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    extra = {}
    if tool.startswith("seglab_"):
        import warnings

        from seglab.features import BetaGeo, ModifiedBetaGeo, ParetoNBD, evaluate_holdout

        models = {"seglab_bg": BetaGeo, "seglab_mbg": ModifiedBetaGeo, "seglab_pareto": ParetoNBD}
        if tool in models:
            def run():
                model = models[tool]().fit(x, t_x, T)
                extra.update(params=model.params_, converged=model.converged_)
        else:
            sample = 100_000 if tool == "seglab_validation" else None
            data = data.astype({"customer_id": str})  # ids are text in a feature table

            def run():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    v = evaluate_holdout(data, None, holdout_days=HOLDOUT, max_customers=sample)
                extra.update(chosen=v.chosen, rmse={m["name"]: m.get("rmse") for m in v.models})
    elif tool.startswith("lifetimes_"):
        import lifetimes

        fitter = {"lifetimes_bg": lifetimes.BetaGeoFitter, "lifetimes_mbg": lifetimes.ModifiedBetaGeoFitter,
                  "lifetimes_pareto": lifetimes.ParetoNBDFitter}[tool]

        def run():
            rows = data.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
            model = fitter().fit(rows["frequency"], rows["recency"], rows["T"], weights=rows["n"])
            extra.update(params={k: float(v) for k, v in model.params_.items()})
    elif tool == "pymc_map_mbg":
        import pymc_marketing.clv as clv

        def run():
            model = clv.ModifiedBetaGeoModel(data=data[["customer_id", "frequency", "recency", "T"]])
            model.fit(method="map")
            posterior = model.idata.posterior
            extra.update(params={k: float(posterior[k].mean()) for k in ("r", "alpha", "a", "b")})
    else:
        raise SystemExit(f"unknown tool {tool}")
    start = time.perf_counter()
    run()
    elapsed = time.perf_counter() - start
    print(json.dumps({"seconds": elapsed, **extra}))


def measure(tool: str, path: Path, python: str = sys.executable) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([python, __file__, "--worker", tool, str(path)], capture_output=True, text=True,
                          env=env)
    if done.returncode != 0:
        raise SystemExit(f"{tool} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=2, metavar=("TOOL", "PATH"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pymc-python", default=None, help="python of a venv with pymc-marketing")
    parser.add_argument("--skip-lifetimes", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    path = RESULTS / "data" / f"value_{args.customers}.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        population = make_population(args.customers)
        np.savez(path, **{c: population[c].to_numpy() for c in population.columns})
    data = _read(path)
    distinct = len(data.groupby(["frequency", "recency", "T"]).size())
    rows, medians = [], {}
    plan = [(t, args.repeat, sys.executable) for t in
            ("seglab_bg", "seglab_mbg", "seglab_pareto", "seglab_validation", "seglab_validation_all")]
    if not args.skip_lifetimes:
        plan += [(t, 1, sys.executable) for t in ("lifetimes_bg", "lifetimes_mbg", "lifetimes_pareto")]
    if args.pymc_python:
        plan.append(("pymc_map_mbg", 1, args.pymc_python))
    for tool, repeat, python in plan:
        runs = [measure(tool, path, python) for _ in range(repeat)]
        medians[tool] = statistics.median(r["seconds"] for r in runs)
        last = runs[-1]
        detail = last.get("params") or last.get("rmse") or {}
        rows.append({"tool": tool, "customers": f"{len(data):,}", "median_s": medians[tool], "runs": repeat,
                     "detail": json.dumps({k: round(v, 4) if isinstance(v, float) else v
                                           for k, v in detail.items()})})
        print(rows[-1], flush=True)
    single = max(medians[t] for t in ("seglab_bg", "seglab_mbg", "seglab_pareto"))
    for row in rows:
        row["x_slowest_seglab_fit"] = row["median_s"] / single
    notes = [f"{len(data):,} customers, {distinct:,} distinct (frequency, recency, T) rows, "
             f"{(data['frequency'] == 0).mean():.0%} one-time buyers; true MBG/NBD parameters {TRUE}",
             "seglab_validation: three models fitted and evaluated on a 100,000-customer sample (the default); "
             "seglab_validation_all: on every customer",
             "lifetimes fitted on the distinct rows with weights; pymc-marketing: ModifiedBetaGeoModel MAP",
             f"cores {os.cpu_count()}; each run in a fresh process"]
    report("value", rows, notes="\n".join(notes))


if __name__ == "__main__":
    main()
