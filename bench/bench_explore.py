"""The explorer's time to screen, in JupyterLab in headless Chromium (as an analyst waits for it).

For 3,000 and 50,000 synthetic customers (and 20,000 for the UMAP map), the benchmark
writes a run folder with the features, starts JupyterLab, opens a copy of
``notebooks/explore.ipynb`` pointed at that run folder, runs it, and measures from the key
press or click to the moment the page shows the result: the status line names the new
choice and the visible figure (or table) has been replaced and loaded.

- *k step*: the slider one step (arrow key) after a 2.5 s look (the app computes the
  slider's other stops meanwhile), with the map tab open, with the profiles tab open, and
  with the evidence tab open after the evidence for k was computed, then back on the map;
- *algorithm*: k-means → mini-batch the first time (not computed before) and later;
  k-means → Gaussian mixture (in the background, with the busy line), three times, each
  to a k the mixture was not fitted for;
- *tab switch*: opening a stale tab (profiles, personas, map);
- *UMAP*: the first UMAP map of 20,000 customers in a fresh kernel, on a machine where
  UMAP ran once before (numba's compiled code on disk).

Targets (issue 17, medians, 50,000 customers): k step ≤ 1 s with any tab open, k-means ↔
mini-batch ≤ 1 s, Gaussian mixture ≤ 5 s with the busy line, first UMAP map of 20,000
customers ≤ 20 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.browser.lab: JupyterLab and Chromium
sys.path.insert(0, str(ROOT / "bench"))

from _harness import report  # noqa: E402

from tests.browser.lab import JupyterLab, NotebookPage, chrome  # noqa: E402

SIZES = tuple(int(n) for n in os.environ.get("SEGLAB_BENCH_SIZES", "3000,50000").split(","))
UMAP_SIZE = int(os.environ.get("SEGLAB_BENCH_UMAP", "20000"))  # 0: skip the UMAP case
LOOK = 2.5  # seconds the analyst looks before the next step

STATUS = "((document.querySelector('.seglab-status') || {}).innerText || '')"
IMG = "[...document.querySelectorAll('.seglab-views img')].find(i => i.offsetParent)"  # the visible tab's figure
MAP = "document.querySelector('.seglab-views img').src"  # the map, shown or not


def write_run(folder: Path, n: int) -> Path:
    """A run folder with the features of ``n`` synthetic customers."""
    from seglab.collect import collect
    from seglab.datasets import write_sample
    from seglab.features import build_features
    from seglab.run import RunFolder

    spec = write_sample(folder / "data", n_customers=n, n_segments=4, seed=3)
    data = collect(spec, "2025Q4")
    run = RunFolder(folder / "run")
    run.write_canonical(data)
    run.write_features(build_features(data))
    return run.path


def notebook(lab_root: Path, name: str, run: Path, **parameters) -> str:
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(ROOT / "notebooks" / "explore.ipynb")),
                               {"run_dir": str(run), **parameters})
    nbformat.write(nb, lab_root / name)
    return name


class Explorer:
    """The explorer open in the page: actions and what the screen shows."""

    def __init__(self, page: NotebookPage, n: int):
        self.page, self.n = page, n

    def image(self) -> str:
        return self.page.js(f"const i = {IMG}; return i ? i.src : '';")

    def shown(self, expression: str, timeout: float = 300) -> float:
        started = time.perf_counter()
        self.page.until(expression, timeout, poll=0.02)
        return time.perf_counter() - started

    def figure_replaced(self, before: str) -> str:
        return f"(() => {{ const i = {IMG}; return i && i.src !== {before!r} && i.complete && i.naturalWidth > 0; }})()"

    def k_step(self, key: str, k: int, algorithm: str, view: str) -> float:
        from selenium.webdriver.common.by import By

        before = self.image()
        handle = self.page.driver.find_element(By.CSS_SELECTOR, ".seglab-k .noUi-handle")
        started = time.perf_counter()
        handle.send_keys(key)
        if view == "evidence":
            done = f"{STATUS}.includes('your k = {k}') && {self.figure_replaced(before)}"
        elif view == "profiles":
            done = (f"{STATUS}.startsWith('✓ {k} segments') && "
                    f"document.querySelectorAll('.seglab-profiles th[title]').length === {k}")
        else:
            done = f"{STATUS}.startsWith('✓ {k} segments') && {STATUS}.includes('({algorithm}') && " \
                   f"{self.figure_replaced(before)}"
        self.page.until(done, 300, poll=0.02)
        return time.perf_counter() - started

    def algorithm(self, name: str, k: int) -> tuple[float, bool]:
        """Choose ``name``; seconds to screen and whether the busy line showed meanwhile."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        before = self.image()
        select = Select(self.page.driver.find_element(By.CSS_SELECTOR, ".seglab-algorithm select"))
        started = time.perf_counter()
        select.select_by_visible_text(name)
        busy = False
        done = f"{STATUS}.startsWith('✓ {k} segments') && {STATUS}.includes('({name}') && " \
               f"{self.figure_replaced(before)}"
        while not self.page.js(f"return {done};"):
            busy = busy or self.page.js(f"return {STATUS}.startsWith('⏳');")
            if time.perf_counter() - started > 600:
                raise TimeoutError(f"{name}: {self.page.text('.seglab-status')}")
            time.sleep(0.02)
        return time.perf_counter() - started, busy

    def tab(self, title: str, done: str) -> float:
        from selenium.webdriver.common.by import By

        tab = next(t for t in self.page.driver.find_elements(By.CSS_SELECTOR, ".seglab-views .lm-TabBar-tab")
                   if t.text.strip() == title)
        started = time.perf_counter()
        tab.click()
        self.page.until(done, 600, poll=0.02)
        return time.perf_counter() - started


def steps(app: Explorer, k: int, algorithm: str, view: str, moves=(1, 1, -1, -1, -1, 1)) -> tuple[list[float], int]:
    """Slider steps (+1 right, -1 left), each after a look; seconds to screen and the k reached."""
    from selenium.webdriver.common.keys import Keys

    times = []
    for move in moves:
        time.sleep(LOOK)
        k += move
        times.append(app.k_step(Keys.ARROW_RIGHT if move > 0 else Keys.ARROW_LEFT, k, algorithm, view))
    return times, k


def row(case: str, n: int, times: list[float], target: float | None = None, **extra) -> dict:
    median = statistics.median(times)
    return {"case": case, "customers": n, "median_s": median, "max_s": max(times), "runs": len(times),
            "target_s": target, "ok": None if target is None else median <= target, **extra}


def measure(lab: JupyterLab, home: Path, name: str, n: int) -> list[dict]:
    from selenium.webdriver.common.keys import Keys

    driver = chrome(home / f"profile-{n}")
    rows = []
    try:
        page = NotebookPage(driver, lab, name, timeout=300)
        app = Explorer(page, n)
        started = time.perf_counter()
        page.run_all()
        page.until(f"{STATUS}.startsWith('✓ 4 segments')", 900)
        rows.append(row("open: run the notebook, first segmentation on screen", n, [time.perf_counter() - started]))
        page.js("document.querySelector('.seglab-explorer').scrollIntoView();")
        times, k = steps(app, 4, "kmeans", "map")
        rows.append(row("k step, map tab", n, times, 1.0))
        rows.append(row("tab switch to a stale tab: profiles", n, [app.tab(
            "Profiles", f"document.querySelectorAll('.seglab-profiles th[title]').length === {k}")]))
        times, k = steps(app, k, "kmeans", "profiles", moves=(1, 1, 1, -1, 1, -1))  # the map is stale after
        rows.append(row("k step, profiles tab", n, times, 1.0))
        rows.append(row("tab switch to a stale tab: personas", n, [app.tab(
            "Personas", f"document.querySelector('.seglab-views').innerText.includes('Personas: {k} segments')")]))
        stale_map = page.js(f"return {MAP};")
        rows.append(row("tab switch to a stale tab: map", n, [app.tab("Map and sizes", app.figure_replaced(stale_map))]))
        sweep = app.tab("Evidence for k", f"{STATUS}.includes('your k = {k}') && {app.figure_replaced('')}")
        rows.append(row("evidence for k, k = 2..10 (computed once per columns and algorithm)", n, [sweep]))
        times, k = steps(app, k, "kmeans", "evidence", moves=(1, 1, -1, -1, 1, 1))
        rows.append(row("k step, evidence tab, evidence computed", n, times, 1.0))
        stale_map = page.js(f"return {MAP};")
        app.tab("Map and sizes", app.figure_replaced(stale_map))
        times, k = steps(app, k, "kmeans", "map")
        rows.append(row("k step, map tab, evidence computed", n, times, 1.0))
        time.sleep(LOOK)
        first, _ = app.algorithm("minibatch", k)
        rows.append(row("k-means → mini-batch, not computed before", n, [first], 1.0))
        later = []
        for name_ in ("kmeans", "minibatch", "kmeans"):
            time.sleep(LOOK)
            later.append(app.algorithm(name_, k)[0])
        rows.append(row("k-means ↔ mini-batch, later switches", n, later, 1.0))
        gmm, busy = [], []
        for move in (0, -1, -1):  # three switches, each to a k the mixture was not fitted for
            if move:
                time.sleep(LOOK)
                app.algorithm("kmeans", k)
                time.sleep(LOOK)
                k += move
                app.k_step(Keys.ARROW_LEFT, k, "kmeans", "map")
            time.sleep(LOOK)
            seconds, shown = app.algorithm("gmm", k)
            gmm.append(seconds)
            busy.append(shown)
        rows.append(row("k-means → Gaussian mixture (background)", n, gmm, 5.0, busy_line=all(busy)))
        assert not page.errors(), page.errors()
        page.screenshot(home / f"explore-{n}.png")
    finally:
        driver.quit()
    return rows


def measure_umap(lab: JupyterLab, home: Path, name: str, n: int) -> dict:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = chrome(home / "profile-umap")
    try:
        page = NotebookPage(driver, lab, name, timeout=300)
        app = Explorer(page, n)
        page.run_all()
        page.until(f"{STATUS}.startsWith('✓ 4 segments')", 900)
        page.js("document.querySelector('.seglab-explorer').scrollIntoView();")
        before = app.image()
        select = Select(driver.find_element(By.CSS_SELECTOR, ".seglab-map-method select"))
        started = time.perf_counter()
        select.select_by_visible_text("umap")
        page.until(f"{STATUS}.startsWith('✓ 4 segments') && {app.figure_replaced(before)}", 900, poll=0.05)
        seconds = time.perf_counter() - started
        page.screenshot(home / "explore-umap.png")
    finally:
        driver.quit()
    return row("first UMAP map in a fresh kernel, UMAP ran before on this machine", n, [seconds], 20.0)


def warm_numba() -> None:
    """'A machine where it ran once before': one UMAP map in another process."""
    code = ("import numpy as np, pandas as pd; from seglab.cluster.embedding import embed; "
            "X = np.random.default_rng(0).normal(size=(6000, 8)); embed(pd.DataFrame(X), method='umap')")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def main() -> None:
    warnings.simplefilter("ignore")
    os.environ.setdefault("SEGLAB_SALT", "bench-salt")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        lab_root = home / "lab"
        lab_root.mkdir()
        names = {n: notebook(lab_root, f"explore_{n}.ipynb", write_run(home / f"data{n}", n)) for n in SIZES}
        if UMAP_SIZE:
            umap_name = notebook(lab_root, f"explore_{UMAP_SIZE}.ipynb",
                                 write_run(home / f"data{UMAP_SIZE}", UMAP_SIZE))
            warm_numba()
        with JupyterLab(lab_root, home / "jupyterlab") as lab:
            for n in SIZES:
                rows += measure(lab, home, names[n], n)
            if UMAP_SIZE:
                rows.append(measure_umap(lab, home, umap_name, UMAP_SIZE))
        shots = ROOT / "bench" / "results"
        shots.mkdir(exist_ok=True)
        for png in home.glob("explore-*.png"):
            (shots / png.name).write_bytes(png.read_bytes())
    load = os.getloadavg()[0]
    report("explore", rows, notes=f"time to screen in JupyterLab (headless Chromium), medians; load average "
                                  f"{load:.1f} on {os.cpu_count()} cores at the end; screenshots in bench/results/")


if __name__ == "__main__":
    main()
