"""The explorer's redraw time at 50,000 customers (target: a change of k or algorithm < 1 s).

The app is driven from Python as in its tests; figures are rendered to PNG as JupyterLab's
inline backend does (``IPython.core.pylabtools.print_figure``), so the time is what the
analyst waits for, minus the browser painting the image.

- *k, cold*: a k never computed before (no prefetch);
- *k, slider step / jump*: one step of the slider after a pause, or a jump anywhere after a
  longer one (the app computes the slider's other stops in the background, nearest first);
- *algorithm*: k-means ↔ mini-batch k-means at a k not computed before.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from _harness import report  # noqa: E402
from IPython.core.pylabtools import print_figure  # noqa: E402

import seglab.explorer.app as app_module  # noqa: E402
from seglab.collect import collect  # noqa: E402
from seglab.datasets import write_sample  # noqa: E402
from seglab.features import build_features  # noqa: E402

N_CUSTOMERS = 50_000


def render(obj) -> None:
    """What the notebook front end receives: figures as PNG, Markdown as text."""
    if hasattr(obj, "savefig"):
        print_figure(obj, "png")
    elif hasattr(obj, "_repr_markdown_"):
        obj._repr_markdown_()


def timed(app, action) -> float:
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    assert app.status.startswith("✓"), app.status
    return elapsed


def main() -> None:
    warnings.simplefilter("ignore")
    app_module.display = render
    with tempfile.TemporaryDirectory() as tmp:
        spec = write_sample(Path(tmp) / "data", n_customers=N_CUSTOMERS, n_segments=4, seed=3)
        features = build_features(collect(spec, "2025Q4"))
    rows = []
    started = time.perf_counter()
    cold = app_module.explore(features, k=4, prefetch=False)
    rows.append({"case": "open the app (first segmentation, map, all views)", "median_s": time.perf_counter() - started,
                 "runs": 1})
    times = [timed(cold, lambda k=k: setattr(cold.k, "value", k)) for k in (5, 6, 7, 8, 3)]
    rows.append({"case": "change k, cold (not computed before)", "median_s": statistics.median(times),
                 "max_s": max(times), "runs": len(times)})
    warm = app_module.explore(features, k=4, prefetch=True)
    times = []
    for k in (5, 6, 7, 6, 5, 4, 3):
        time.sleep(2.5)  # the analyst looks at the result; k ± 1 is computed meanwhile
        times.append(timed(warm, lambda k=k: setattr(warm.k, "value", k)))
    rows.append({"case": "slider step, k ± 1, after a 2.5 s look (prefetched meanwhile)",
                 "median_s": statistics.median(times), "max_s": max(times), "runs": len(times)})
    time.sleep(6)
    times = [timed(warm, lambda k=k: setattr(warm.k, "value", k)) for k in (10, 2, 8, 4)]
    rows.append({"case": "slider jump to any k, after 6 s more (prefetched meanwhile)",
                 "median_s": statistics.median(times), "max_s": max(times), "runs": len(times)})
    times = []
    for k, algorithm in ((9, "minibatch"), (9, "kmeans"), (10, "minibatch"), (10, "kmeans")):
        cold.k.value = k
        times.append(timed(cold, lambda a=algorithm: setattr(cold.algorithm, "value", a)))
    rows.append({"case": "change algorithm, k-means ↔ mini-batch, cold", "median_s": statistics.median(times),
                 "max_s": max(times), "runs": len(times)})
    for row in rows:
        row["target_s"] = 1.0 if row["case"].startswith(("change", "slider")) else None
        row["ok"] = row["median_s"] <= 1.0 if row["target_s"] else None
    report("explore", rows, notes=f"{N_CUSTOMERS:,} customers, 17 features; figures rendered to PNG; medians")


if __name__ == "__main__":
    main()
