"""How often does the default segmentation find the planted segments? A sweep over drawn samples.

For every planted k (3 to 6), consumer and business customers, and several seeds: draw
3,000 customers with :func:`seglab.datasets.write_sample`, run collect, features and
cluster with the pipeline's defaults, and record the chosen k, the adjusted Rand index
with the planted truth, and the evidence for every k. The README quotes the summary.

Run: .venv/bin/python bench/validity_sweep.py [--seeds 5] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from _harness import RESULTS, report


def worker(planted: int, seed: int, b2b: bool) -> dict:
    import warnings

    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    from seglab.cluster import segment
    from seglab.collect import collect
    from seglab.collect.privacy import pseudonymize
    from seglab.datasets import write_sample
    from seglab.features import build_features

    warnings.simplefilter("ignore")
    salt = f"sweep-{seed}"
    with tempfile.TemporaryDirectory() as folder:
        spec = write_sample(f"{folder}/drawn", n_segments=planted, seed=seed, b2b=b2b)
        features = build_features(collect(spec, salt=salt))
        truth = pd.read_parquet(f"{folder}/drawn/truth.parquet")
    seg = segment(features)
    labels = seg.labels.loc[pseudonymize(truth["customer_id"], salt)].to_numpy()
    table = seg.selection.table[["k", "stability", "min_jaccard", "prediction_strength", "smallest_share",
                                 "admissible"]]
    return {"planted": planted, "seed": seed, "b2b": b2b, "chosen": seg.selection.k,
            "ari": adjusted_rand_score(truth["segment"], labels), "table": table.to_dict(orient="records")}


def measure(planted: int, seed: int, b2b: bool) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", str(planted), str(seed), str(int(b2b))],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"k={planted} seed={seed} b2b={b2b} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", nargs=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if args.worker:
        planted, seed, b2b = (int(v) for v in args.worker)
        print(json.dumps(worker(planted, seed, bool(b2b))))
        return
    cases = [(k, 100 + s, b2b) for b2b in (False, True) for k in (3, 4, 5, 6) for s in range(1, args.seeds + 1)]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda case: measure(*case), cases))
    (RESULTS / "validity_sweep_detail.json").parent.mkdir(exist_ok=True)
    (RESULTS / "validity_sweep_detail.json").write_text(json.dumps(results, indent=1))
    rows = []
    for k in (3, 4, 5, 6):
        for b2b in (False, True):
            mine = [r for r in results if r["planted"] == k and r["b2b"] == b2b]
            rows.append({"planted k": k, "customers": "business" if b2b else "consumer", "samples": len(mine),
                         "planted k found": sum(r["chosen"] == k for r in mine),
                         "min ARI": min(r["ari"] for r in mine), "median ARI": sorted(r["ari"] for r in mine)[len(mine) // 2]})
    report("validity_sweep", rows, notes="3,000 drawn customers each; the pipeline's defaults; seeds 101 and up")


if __name__ == "__main__":
    main()
