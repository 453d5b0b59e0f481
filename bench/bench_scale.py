"""The whole quarterly run at scale: `seglab run` end to end on 1 M, 10 M and 50 M order lines.

For each size a synthetic log (``synthetic_log.py``: seeded, written by DuckDB, about 10
lines per customer) is run with the defaults a user gets, in a fresh `seglab run`
process. Measured per stage:

- wall time, from the run's ``manifest.json`` (the run's own wall time too, kernel
  starts included);
- peak memory of **all processes together** — the CLI, the papermill kernel of each
  stage and whatever it starts (a Spark JVM): the resident memory (RSS) of the whole
  process tree, sampled every 0.2 s from ``/proc``. A stage's peak is the largest sum
  while its kernel is alive. Shared pages count once per process, so this is an upper
  bound.

A run that exceeds ``--timeout`` or ``--max-memory-gb`` is stopped and reported with the
stage it was in.
Results go to ``bench/results/scale_<engine>[_<tag>].json``; ``--table`` prints the
saved results as the README's scaling table.

    python bench/bench_scale.py --sizes 1000000 10000000 [--engine duckdb] [--tag before]
    python bench/bench_scale.py --table
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import RESULTS
from synthetic_log import PERIOD, label, write_log

SEGLAB = Path(sys.executable).with_name("seglab")
STAGES = ("collect", "features", "cluster", "personas", "report")
_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: pid → (parent pid, command line)."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out[int(entry.name)] = (ppid, cmdline)
    return out


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * _PAGE_MB
    except OSError:
        return 0.0


def _tree(root: int, procs: dict[int, tuple[int, str]]) -> list[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def tree_sample(root: int) -> tuple[float, list[int]]:
    """RSS (MB) of ``root`` and all its descendants; the pids of the Jupyter kernels among them."""
    procs = _processes()
    tree = _tree(root, procs)
    kernels = sorted(p for p in tree if "ipykernel" in procs.get(p, (0, ""))[1])
    return sum(_rss_mb(p) for p in tree), kernels


def run_measured(args: list[str], *, timeout: float, max_mb: float = float("inf"),
                 command: str = "run", interval: float = 0.2) -> dict:
    """Run ``seglab <command> args`` (``run``, or one stage) and sample its process tree until
    it exits; stop it after
    ``timeout`` seconds or when the tree holds more than ``max_mb`` (the machine is shared:
    a run must not push other people's work out of memory)."""
    started = time.perf_counter()
    stages = STAGES if command == "run" else (command,)
    proc = subprocess.Popen([str(SEGLAB), command, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen: list[int] = []  # kernels in order of appearance: the n-th runs the n-th stage
    peaks: dict[str, float] = {}
    overall = 0.0
    timed_out = over_memory = False
    while proc.poll() is None:
        total, kernels = tree_sample(proc.pid)
        overall = max(overall, total)
        for pid in kernels:
            if pid not in seen:
                seen.append(pid)
            stage = stages[seen.index(pid)] if seen.index(pid) < len(stages) else "extra"
            peaks[stage] = max(peaks.get(stage, 0.0), total)
        timed_out = time.perf_counter() - started > timeout
        over_memory = total > max_mb
        if timed_out or over_memory:
            for pid in _tree(proc.pid, _processes()):  # kernels may run in sessions of their own
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            break
        time.sleep(interval)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    return {"wall_s": wall, "peak_mb": overall, "stage_peak_mb": peaks, "returncode": proc.returncode,
            "timed_out": timed_out, "over_memory": over_memory,
            "stages_started": list(stages[:len(seen)]), "stderr": stderr[-2000:], "stdout": stdout[-500:]}


def _stage_by_stage(args: list[str], stages: list[str], *, timeout: float, max_mb: float) -> dict:
    """Run ``stages`` one command each (``seglab collect``, ``seglab features`` …) into one run
    folder, as one measurement; stops at the first that fails."""
    parts = []
    for stage in stages:
        parts.append(run_measured(args, timeout=timeout, max_mb=max_mb, command=stage))
        if parts[-1]["returncode"] != 0:
            break
    last = parts[-1]
    return {"wall_s": sum(p["wall_s"] for p in parts), "peak_mb": max(p["peak_mb"] for p in parts),
            "stage_peak_mb": {k: v for p in parts for k, v in p["stage_peak_mb"].items()},
            "returncode": last["returncode"], "timed_out": last["timed_out"],
            "over_memory": last["over_memory"], "stages_started": stages[:len(parts)],
            "stderr": last["stderr"], "stdout": last["stdout"]}


def measure(n_lines: int, *, engine: str, data: Path, timeout: float, repeat: int,
            extra: list[str], engine_option: bool = True, max_mb: float = float("inf"),
            stages: list[str] | None = None) -> dict:
    """Generate (or reuse) the log of ``n_lines`` lines and run it ``repeat`` times: ``seglab
    run``, or only ``stages``, one ``seglab <stage>`` command each."""
    started = time.perf_counter()
    spec = write_log(data / label(n_lines), n_lines)
    generated = time.perf_counter() - started
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="seglab-scale-", dir=data) as out:
            args = ["--dataset", str(spec), "--period", PERIOD, "--out", out, "--no-progress",
                    *(["--engine", engine] if engine_option else []), *extra]
            result = _stage_by_stage(args, stages, timeout=timeout, max_mb=max_mb) if stages else \
                run_measured(args, timeout=timeout, max_mb=max_mb)
            manifests = list(Path(out).rglob("manifest.json"))
            result["timings_s"] = json.loads(manifests[0].read_text())["timings_s"] if manifests else {}
        runs.append(result)
        if result["returncode"] != 0:
            break  # a failed or stopped run is reported, not repeated
    ok = [r for r in runs if r["returncode"] == 0]
    row = {"lines": n_lines, "engine": engine, "runs": len(runs), "completed": len(ok),
           "generate_s": round(generated, 1), "stages": " ".join(stages) if stages else "run"}
    chosen = ok or runs
    row["wall_s"] = statistics.median(r["wall_s"] for r in chosen)
    row["peak_mb"] = statistics.median(r["peak_mb"] for r in chosen)
    for stage in STAGES:
        times = [r["timings_s"][stage] for r in chosen if stage in r.get("timings_s", {})]
        peaks = [r["stage_peak_mb"][stage] for r in chosen if stage in r["stage_peak_mb"]]
        row[f"{stage}_s"] = statistics.median(times) if times else None
        row[f"{stage}_peak_mb"] = statistics.median(peaks) if peaks else None
    if not ok:
        last = runs[-1]
        row["failed"] = ("timed out" if last["timed_out"] else
                         f"stopped above {max_mb / 1024:g} GB" if last["over_memory"] else
                         f"exit {last['returncode']}") + \
            f" in {last['stages_started'][-1] if last['stages_started'] else 'setup'}"
        row["stderr"] = last["stderr"]
    return row


def table(paths: list[Path]) -> str:
    """The saved results as a Markdown table: time (s) and peak (GB) per stage."""
    lines = ["| run | lines | total | " + " | ".join(STAGES) + " | peak (all processes) |",
             "| --- | ---: | ---: | " + " | ".join("---:" for _ in STAGES) + " | ---: |"]
    for path in paths:
        saved = json.loads(path.read_text())
        for row in saved["rows"]:
            cells = []
            for stage in STAGES:
                t, m = row.get(f"{stage}_s"), row.get(f"{stage}_peak_mb")
                time_ = "—" if t is None else f"{t:.0f} s"
                memory = "—" if m is None else f"{m / 1024:.1f} GB"
                cells.append("—" if t is None and m is None else f"{time_} / {memory}")
            total = f"{row['wall_s']:.0f} s" + (f" ({row['failed']})" if row.get("failed") else "")
            name = saved["name"] + (f" ({row['stages']} only)" if row.get("stages", "run") != "run" else "")
            lines.append(f"| {name} | {row['lines'] / 1e6:g} M | {total} | " + " | ".join(cells)
                         + f" | {row['peak_mb'] / 1024:.2f} GB |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000, 50_000_000])
    parser.add_argument("--engine", default="duckdb", choices=("duckdb", "spark"))
    parser.add_argument("--tag", default="", help="suffix of the results file (e.g. before)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "seglab-scale",
                        help="where the logs and scratch run folders go")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument("--max-memory-gb", type=float, default=12,
                        help="stop a run whose processes hold more than this (default 12 GB)")
    parser.add_argument("--no-engine-option", dest="engine_option", action="store_false",
                        help="do not pass --engine (a seglab from before the option)")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=None,
                        help="run only these stages, one `seglab <stage>` command each (e.g. collect "
                             "features: the engine's stages without waiting for the others)")
    parser.add_argument("--table", action="store_true", help="print the saved results as Markdown")
    options, extra = parser.parse_known_args()
    if options.table:
        print(table(sorted(RESULTS.glob("scale_*.json"))))
        return
    options.data.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SEGLAB_SALT", "bench")
    name = f"scale_{options.engine}" + (f"_{options.tag}" if options.tag else "")
    rows = []
    for n in options.sizes:
        row = measure(n, engine=options.engine, data=options.data, timeout=options.timeout,
                      repeat=options.repeat, extra=extra, engine_option=options.engine_option,
                      max_mb=options.max_memory_gb * 1024, stages=options.stages)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "stderr"}), flush=True)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{name}.json").write_text(json.dumps({"name": name, "rows": rows}, indent=2))
    print(table([RESULTS / f"{name}.json"]))


if __name__ == "__main__":
    main()
