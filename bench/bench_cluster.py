"""Cluster stage: choosing k, the customer map, k-prototypes.

Targets, on 2 cores:
- the default cluster stage's segmentation on 100 k customers (issue 12): every criterion
  of the synthetic generator's customers (about 50 columns in 7 groups), k = 2..8, with
  the stability evidence (bootstrap and prediction strength): ≤ 60 s;
- model selection on 100 k customers × 10 features, k = 2..10, k-means and Gaussian
  mixture, 10 bootstrap resamples: ≤ 60 s;
- UMAP map of 50 k customers: ≤ 60 s, numba's first-call compilation included (each
  measurement runs in a fresh process, so it always pays it);
- k-prototypes on 100 k customers, 6 numeric + 4 categorical features, one k: ≤ 20 s
  (the kmodes package, one initialisation, on 20 k customers, for comparison);
- assigning 1 M customers (issue 19): the fitted default segmentation (k-means on every
  criterion: about 50 columns, 100 preprocessed) as an Ibis expression that DuckDB runs over
  the feature Parquet and writes with COPY, against reading the table into pandas,
  ``Segmenter.predict`` and writing the frame; time and peak memory of the process.

Run: .venv/bin/python bench/bench_cluster.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from _harness import RESULTS, peak_rss_mb, report

CASES = {
    "default segment(): 100k customers, every criterion, k=2..8, with stability": ("default_stage", 60.0),
    "choose_k: 100k x 10, k=2..10, kmeans+gmm, 10 bootstraps": ("choose_k", 60.0),
    "UMAP map: 50k customers (compilation included)": ("umap", 60.0),
    "k-prototypes: 100k, 6 numeric + 4 categorical, k=5": ("kprototypes", 20.0),
    "kmodes package: 20k, same columns, k=5, one init": ("kmodes", None),
    "assign 1M customers in the engine (DuckDB: read Parquet, assign, COPY)": ("assign_engine", None),
    "assign 1M customers in pandas (read Parquet, predict, write)": ("assign_pandas", None),
}
ASSIGN_CUSTOMERS = 1_000_000


def data(n: int, seed: int = 0) -> pd.DataFrame:
    """Blobs: 5 groups in 10 numeric features, plus 4 categorical features tied to the groups."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 5, n)
    centres = rng.normal(0, 3, (5, 10))
    frame = pd.DataFrame(centres[group] + rng.normal(0, 1.2, (n, 10)),
                         columns=[f"x{i}" for i in range(10)])
    for j in range(4):
        noise = rng.integers(0, 4, n)
        frame[f"c{j}"] = np.where(rng.random(n) < 0.7, group, noise).astype(str)
    return frame


def default_features(n: int = 100_000):
    """The feature table of ``n`` synthetic customers (5 planted segments), built once and cached."""
    from seglab.collect import collect
    from seglab.datasets import write_sample
    from seglab.features import build_features
    from seglab.run import RunFolder

    run = RunFolder(RESULTS / f"features_{n}")
    if not run.has("features"):
        spec = write_sample(RESULTS / f"sample_{n}", n_customers=n, n_segments=5, seed=12)
        run.write_features(build_features(collect(spec, salt="bench")))
    return run.features()


def assignment_inputs(n: int = ASSIGN_CUSTOMERS):
    """A feature Parquet of ``n`` customers and a segmenter fitted on it, made once and cached.

    The customers are drawn with replacement from the built-in sample's feature table (so
    every kind of column is there: skewed money, flags, categories, missing values) under
    new ids, their continuous values jittered by a few percent.
    """
    import joblib

    from seglab.cluster import segment
    from seglab.collect import collect
    from seglab.features import FeatureSet, build_features

    RESULTS.mkdir(exist_ok=True)
    path, model_path = RESULTS / f"assign_features_{n}.parquet", RESULTS / f"assign_model_{n}.joblib"
    if not model_path.exists():
        small = build_features(collect("sample", "2025Q4"), value_models=False)
        rng = np.random.default_rng(0)
        big = small.features.iloc[rng.integers(0, len(small.features), n)].reset_index(drop=True)
        big["customer_id"] = [f"c{i:07d}" for i in range(n)]
        for col in big.columns[1:]:
            if pd.api.types.is_float_dtype(big[col]) and big[col].nunique() > 2:
                big[col] = big[col] * rng.normal(1, 0.03, n)
        big.to_parquet(path, index=False)
        seg = segment(FeatureSet(features=big, dictionary=small.dictionary), k=5)
        joblib.dump(seg.model, model_path)
    return path, model_path


def worker(case: str) -> None:
    import warnings

    warnings.simplefilter("ignore")
    if case == "default_stage":
        from seglab.cluster import segment

        fs = default_features()

        def run():
            return segment(fs).selection
    elif case == "choose_k":
        from seglab.cluster import SelectionRule, choose_k

        X = data(100_000)[[f"x{i}" for i in range(10)]]

        def run():
            return choose_k(X, k_values=range(2, 11), algorithms=["kmeans", "gmm"],
                            rule=SelectionRule(n_bootstrap=10))
    elif case == "umap":
        from seglab.cluster import embed

        Z = data(50_000)[[f"x{i}" for i in range(10)]]

        def run():
            return embed(Z, method="umap")
    elif case == "kprototypes":
        from seglab.cluster import KPrototypes

        X = data(100_000)[[f"x{i}" for i in range(6)] + [f"c{j}" for j in range(4)]]

        def run():
            return KPrototypes(5, categorical=[f"c{j}" for j in range(4)], n_init=1).fit(X)
    elif case == "kmodes":
        from kmodes.kprototypes import KPrototypes

        X = data(20_000)[[f"x{i}" for i in range(6)] + [f"c{j}" for j in range(4)]]

        def run():
            return KPrototypes(n_clusters=5, n_init=1, init="Cao", random_state=0).fit(
                X.to_numpy(dtype=object), categorical=[6, 7, 8, 9])
    elif case in ("assign_engine", "assign_pandas"):
        import joblib

        from seglab._io import write_parquet
        from seglab.cluster import write_assigned

        path, model_path = assignment_inputs()
        model = joblib.load(model_path)
        out = RESULTS / f"{case}_segments.parquet"

        def run():
            if case == "assign_engine":
                return write_assigned(model, path, out)
            features = pd.read_parquet(path, columns=["customer_id", *model.numeric_, *model.categorical_])
            segments = pd.DataFrame({"customer_id": features["customer_id"], "segment": model.predict(features)})
            return write_parquet(segments, out)
    else:
        raise SystemExit(f"unknown case {case}")
    start = time.perf_counter()
    out = run()
    seconds = time.perf_counter() - start
    chosen = getattr(out, "k", None)
    print(json.dumps({"seconds": seconds, "chosen_k": chosen, "peak_rss_mb": _peak_mb()}))


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return peak_rss_mb()


def measure(case: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", case], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{case} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="cases to run (default: all), e.g. assign_engine assign_pandas")
    args = parser.parse_args()
    if args.worker == "prepare":
        assignment_inputs()
        return
    if args.worker:
        worker(args.worker)
        return
    if not args.only or {"assign_engine", "assign_pandas"} & set(args.only):
        subprocess.run([sys.executable, __file__, "--worker", "prepare"], check=True)  # made once, unmeasured
    rows = []
    for label, (case, target) in CASES.items():
        if args.only and case not in args.only:
            continue
        runs = [measure(case) for _ in range(args.repeat if case != "kmodes" else 1)]
        seconds = statistics.median(r["seconds"] for r in runs)
        row = {"case": label, "median_s": seconds, "runs": len(runs), "target_s": target,
               "ratio_to_target": seconds / target if target else None,
               "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs)}
        if runs[0].get("chosen_k"):
            row["chosen_k"] = runs[0]["chosen_k"]
        rows.append(row)
        print(row, flush=True)
    report("cluster" if not args.only else "cluster_" + "_".join(args.only), rows,
           notes="each run in a fresh process; 2 cores; the planted k is 5")


if __name__ == "__main__":
    main()
