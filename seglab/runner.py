"""Run the pipeline: execute the stage notebooks with papermill into a run folder.

``run_pipeline`` builds the whole run in a temporary folder beside the target and
swaps it into place only when every stage succeeded, so a failed or interrupted
run never damages the previous results for that period. ``run_stage`` executes
one notebook into an existing run folder (its artifacts are written atomically).

Before any work a run checks that ``--out`` is (or can become) a writable folder,
and takes the **lock** of its run folder: ``reports/<dataset>/.<period>.lock``
records the pid of the run holding it, so a second run of the same dataset and
period stops at once (:class:`~seglab.exceptions.RunInProgressError`, exit 2)
instead of racing the first. The lock dies with its process; the next run also
removes the ``.partial`` folders killed runs left behind.

Every manifest records the fingerprint of the pseudonymization salt
(:func:`seglab.collect.salt_fingerprint`); a run never uses an earlier run made with
another salt (:func:`seglab.run.check_same_salt`). The run folder's layout, its
artifacts and the lock are :mod:`seglab.run`'s; this module executes notebooks into it
and keeps its manifest.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from seglab._io import sha256_file, to_jsonable, write_json, write_text
from seglab._kernel import kernel_manager_class
from seglab._validation import did_you_mean
from seglab.collect.stage import resolve_period
from seglab.config import available_stages, stage_notebook
from seglab.engine import EngineSettings, check_engine
from seglab.exceptions import ParameterError, SaltMismatchError, StageError
from seglab.run import RunFolder, check_output_folder, engine_settings, lock_run, restore_hint, run_folder

__all__ = [
    "notebook_parameters",
    "validate_config",
    "write_manifest",
    "run_stage",
    "execute_notebook",
    "run_pipeline",
    "run_single_stage",
    "RunResult",
    "retarget_notebooks",
    "ENGINE_PARAMETERS",
]

logger = logging.getLogger(__name__)

_COMMON = ("dataset", "period", "run_dir")
ENGINE_PARAMETERS = ("engine", "spark_master", "engine_config")
"""The run's engine (``--engine``, ``--spark-master``, and ``engine_config`` in ``--config``):
resolved once with the dataset spec's ``engine:`` section, checked before any stage, and
given to every notebook that declares them (the stages whose work runs in the engine)."""
_VERSIONED = ("seglab", "pandas", "numpy", "scikit-learn", "scipy", "ibis-framework", "duckdb",
              "pyarrow", "umap-learn", "seaborn", "matplotlib", "papermill", "nbconvert")


def notebook_parameters(stage: str) -> dict[str, dict[str, Any]]:
    """The parameters a stage's notebook declares: name → ``{default, type, help}``."""
    import papermill as pm

    inferred = pm.inspect_notebook(str(stage_notebook(stage)))
    return {name: {"default": info.get("default"), "type": info.get("inferred_type_name"),
                   "help": info.get("help", "")} for name, info in inferred.items()}


@dataclass
class RunResult:
    """What a run produced: the run folder, the stages run and their wall times (s)."""

    folder: RunFolder
    dataset: str
    period: str
    stages: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)














def validate_config(stages: list[str], config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Fail clearly when ``config`` names a parameter no notebook of ``stages`` declares;
    returns each stage's declared parameters."""
    declared = {s: notebook_parameters(s) for s in stages}
    known = set().union(*[set(p) for p in declared.values()]) if declared else set()
    for key in config:
        if key not in known:
            raise ParameterError(f"parameter {key!r} is not declared by any notebook of this run "
                                 f"({', '.join(stages)}){did_you_mean(key, known)}; see seglab run "
                                 "--help for the parameters")
    return declared


def _split_config(stages: list[str], config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Give each notebook the configured values of the parameters it declares."""
    declared = validate_config(stages, config)
    return {s: {k: v for k, v in config.items() if k in declared[s]} for s in stages}


def _effective_parameters(stages: list[str], config: dict[str, Any], *, dataset: str,
                          period: str) -> dict[str, Any]:
    """Every parameter the run used: each notebook's defaults, overridden by the config."""
    import ast

    params: dict[str, Any] = {}
    for stage in stages:
        for name, info in notebook_parameters(stage).items():
            if name in _COMMON or name in ENGINE_PARAMETERS:
                continue
            try:
                params[name] = ast.literal_eval(str(info["default"]))
            except (ValueError, SyntaxError):
                params[name] = info["default"]
    return {"dataset": dataset, "period": period, **params, **config}


def _stage_error(err: Exception, stage: str, notebook: Path) -> StageError:
    ename = getattr(err, "ename", type(err).__name__)
    evalue = getattr(err, "evalue", str(err))
    cell = getattr(err, "exec_count", None)
    message = (f"stage {stage!r} failed in {notebook.name}"
               + (f", cell [{cell}]" if cell is not None else "")
               + f": {ename}: {evalue}\nThe executed notebook is kept for inspection: {notebook}")
    return StageError(message, notebook=str(notebook), cell=cell, error_name=ename)


def execute_notebook(source: str | Path, target: str | Path, parameters: dict[str, Any] | None = None, *,
                     progress: bool = True, cwd: str | Path | None = None, name: str | None = None) -> Path:
    """Execute a notebook with papermill in seglab's kernel; returns ``target``.

    ``name`` (default: the notebook's name) is what an error message calls it.

    Raises
    ------
    StageError
        When a cell fails: the message names the notebook, the cell and the error.
    """
    import papermill as pm

    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        pm.execute_notebook(str(source), str(target), parameters=to_jsonable(parameters or {}),
                            progress_bar=progress, cwd=str(cwd or os.getcwd()), kernel_name="python3",
                            log_output=False, kernel_manager_class=kernel_manager_class())
    except pm.PapermillExecutionError as err:
        raise _stage_error(err, name or source.stem, target) from None
    return target


def run_stage(stage: str, folder: RunFolder, parameters: dict[str, Any], *,
              progress: bool = True) -> Path:
    """Execute one stage's notebook with ``parameters`` into ``folder``; returns its path.

    Raises
    ------
    StageError
        When a cell fails: the message names the notebook, the cell and the error.
    """
    folder.make()
    source = stage_notebook(stage)
    if not source.exists():
        raise ParameterError(f"stage {stage!r} has no notebook ({source}) in this version of seglab")
    return execute_notebook(source, folder.notebooks / source.name, parameters, progress=progress, name=stage)


def _require_chromium(config: dict[str, Any] | None) -> None:
    """With ``pdf`` set, fail now, with the fix, rather than after every other stage."""
    if (config or {}).get("pdf"):
        from seglab.report.pdf import find_chromium

        find_chromium()


def _engine(dataset: str, config: dict[str, Any]) -> EngineSettings:
    """Take the engine options out of ``config``, resolve them with the dataset spec's and
    check, before any work, that the engine can be started here."""
    settings = engine_settings(dataset, str(config.pop("engine", "") or ""),
                               str(config.pop("spark_master", "") or ""), config.pop("engine_config", None))
    check_engine(settings)
    return settings


def _engine_parameters(stage: str, settings: EngineSettings) -> dict[str, Any]:
    """The resolved engine, as the parameters ``stage``'s notebook declares (none for a stage
    whose work does not run in the engine)."""
    values = {"engine": settings.name, "spark_master": settings.master or "",
              "engine_config": dict(settings.config)}
    declared = notebook_parameters(stage)
    return {k: v for k, v in values.items() if k in declared}


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _input_checksums(dataset: str) -> dict[str, str]:
    from seglab.collect.sources import source_files
    from seglab.collect.spec import load_spec

    spec = load_spec(dataset)
    sums = {}
    if spec.origin is not None:
        sums[spec.origin.name] = sha256_file(spec.origin)
    for table in (spec.customers, spec.transactions, spec.events, spec.campaigns, spec.feedback):
        for source in (table.sources if table else ()):
            if source.path is not None:
                for path in source_files(source, spec):
                    sums[path.name] = sha256_file(path)
            else:
                sums[source.describe()] = "database (not checksummed)"
    return sums


def _environment(dataset: str) -> dict[str, Any]:
    """The manifest's facts that do not change during a run: versions, inputs, platform."""
    return {"versions": _versions(), "inputs": _input_checksums(dataset),
            "platform": {"system": platform.system(), "machine": platform.machine(),
                         "cpus": os.cpu_count(), "executable": sys.executable}}


def write_manifest(folder: RunFolder, *, dataset: str, period: str, parameters: dict[str, Any],
                   timings: dict[str, float], environment: dict[str, Any] | None = None,
                   salt_fingerprint: str | None = None, engine: EngineSettings | None = None) -> Path:
    """Write ``manifest.json``: parameters, versions, input checksums, seed, per-stage timings,
    the engine (name, Spark master, settings with secrets masked), and the fingerprint of
    the pseudonymization salt.

    ``environment`` (from a first call's ``_environment``) saves hashing the inputs again
    when a run rewrites its manifest after each stage. The salt fingerprint is the one
    *collect* recorded in the run's schema when it has run, else ``salt_fingerprint``.
    """
    manifest = {
        "dataset": dataset,
        "period": period,
        "salt_fingerprint": folder.collected_salt_fingerprint() or salt_fingerprint,
        "parameters": parameters,
        "seed": parameters.get("random_state"),
        "stages": list(timings),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "engine": (engine or EngineSettings()).to_dict(),
        **(environment or _environment(parameters.get("dataset", dataset))),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return write_json(manifest, folder.manifest)



def run_pipeline(dataset: str = "sample", period: str | None = None, *,
                 config: dict[str, Any] | None = None, out: str | Path | None = None,
                 stages: list[str] | None = None, progress: bool = True) -> RunResult:
    """Run the stages in order into ``<out>/<dataset>/<period>/``, atomically.

    Parameters
    ----------
    dataset, period
        The dataset (built-in name or spec path) and the period (default: the
        latest complete quarter).
    config
        Notebook parameters by name (any notebook's); unknown names are an error. The
        engine is ``engine`` (``"duckdb"`` or ``"spark"``), ``spark_master`` and
        ``engine_config`` (see :data:`ENGINE_PARAMETERS`); unset, the dataset spec's
        ``engine:`` section or DuckDB.
    out
        The reports folder (default: ``reports/`` in the project folder, see
        :func:`seglab.config.project_dir`); checked before any work.
    stages
        The stages to run (default: every stage, in order).

    Raises
    ------
    EngineUnavailableError
        When the engine cannot be started here (e.g. Spark without Java); before any work.
    RunInProgressError
        When another process is running the same dataset and period.
    SaltMismatchError
        When the run it would be compared with was made with another salt.
    """
    from tqdm.auto import tqdm

    from seglab._io import atomic_dir

    stages = stages or available_stages()
    for stage in stages:
        stage_notebook(stage)
    check_output_folder(out)
    config = dict(config or {})
    engine = _engine(str(dataset), config)
    per_stage = _split_config(stages, config)
    _require_chromium(config)
    name, label = resolve_period(dataset, period)
    target = run_folder(name, label, out)
    fingerprint = _project_fingerprint(create="collect" in stages)
    _check_previous_salt(target, label, str((config or {}).get("compare_to", "")), fingerprint)
    result = RunResult(folder=target, dataset=name, period=label, stages=list(stages))
    params = _effective_parameters(stages, config, dataset=str(dataset), period=label)
    environment = _environment(str(dataset))
    with lock_run(target, dataset=name, period=label), atomic_dir(target.path) as tmp:
        building = RunFolder(tmp).make()
        # the manifest exists from the start (the report stage shows it) and gains timings
        write_manifest(building, dataset=name, period=label, parameters=params, timings={},
                       environment=environment, salt_fingerprint=fingerprint, engine=engine)
        bar = tqdm(stages, desc=f"seglab run {name} {label}", unit="stage", disable=not progress)
        for stage in bar:
            bar.set_postfix_str(stage)
            stage_params = {"dataset": str(dataset), "period": label, "run_dir": str(tmp),
                            **_engine_parameters(stage, engine), **per_stage[stage]}
            started = time.perf_counter()
            try:
                run_stage(stage, building, stage_params, progress=progress)
            except StageError as err:
                # keep the failed notebook where the user can open it; the old run stays intact
                kept = _keep_failed(building, target)
                notebook = err.notebook.replace(str(tmp), str(kept)) if err.notebook else None
                raise StageError(str(err).replace(str(tmp), str(kept)), notebook=notebook,
                                 cell=err.cell, error_name=err.error_name) from None
            result.timings[stage] = time.perf_counter() - started
            write_manifest(building, dataset=name, period=label, parameters=params, timings=result.timings,
                           environment=environment, salt_fingerprint=fingerprint, engine=engine)
            _warn_stage_notes(building, stage)
        retarget_notebooks(building, tmp, target.path.absolute())  # "Run all" works in the finished folder
    return result


def _warn_stage_notes(folder: RunFolder, stage: str) -> None:
    """What a stage noted for the reader (e.g. a segmentation that rests on one variable), as
    warnings: the command line prints them, not only the executed notebook."""
    from seglab.exceptions import DataQualityWarning

    if stage == "cluster" and folder.has("segmentation"):
        for note in folder.segmentation_columns().notes:
            warnings.warn(note, DataQualityWarning, stacklevel=2)


def _project_fingerprint(*, create: bool) -> str | None:
    """The fingerprint of this project's salt; with ``create``, a first run creates the salt
    here (its notice appears on the terminal, not only inside the collect notebook)."""
    from seglab.collect.privacy import find_salt, get_salt, salt_fingerprint

    salt = get_salt() if create else find_salt()
    return salt_fingerprint(salt) if salt else None


def _check_previous_salt(target: RunFolder, period: str, compare_to: str, fingerprint: str | None) -> None:
    """Before any work: refuse when the run this one will be compared with has another salt."""
    previous = target.previous_folder(period, compare_to)
    recorded = previous and previous.salt_fingerprint()
    if recorded and fingerprint and recorded != fingerprint:
        raise SaltMismatchError(
            f"this run would be compared with {previous.path}, which was pseudonymized with another "
            f"salt (fingerprint {recorded}) than this project's ({fingerprint}): no customer would "
            f"match, and every customer would look lost and new. {restore_hint(recorded)}; or run "
            "without a comparison (--compare-to none)")


def run_single_stage(stage: str, dataset: str = "sample", period: str | None = None, *,
                     config: dict[str, Any] | None = None, out: str | Path | None = None,
                     progress: bool = True) -> RunResult:
    """Run one stage into the run folder in place (each artifact is written atomically).

    The stages before it must have run for the same dataset and period.
    """
    stage_notebook(stage)
    check_output_folder(out)
    config = dict(config or {})
    engine = _engine(str(dataset), config)
    config_params = _split_config([stage], config)[stage]
    _require_chromium(config)
    name, label = resolve_period(dataset, period)
    target = run_folder(name, label, out)
    fingerprint = _project_fingerprint(create=stage == "collect")
    with lock_run(target, dataset=name, period=label):
        target.make()
        params = {"dataset": str(dataset), "period": label, "run_dir": str(target.path),
                  **_engine_parameters(stage, engine), **config_params}
        started = time.perf_counter()
        run_stage(stage, target, params, progress=progress)
        result = RunResult(folder=target, dataset=name, period=label, stages=[stage],
                           timings={stage: time.perf_counter() - started})
        previous = target.read_manifest()
        timings = {**previous.get("timings_s", {}), **result.timings}
        parameters = {**previous.get("parameters", {}),
                      **_effective_parameters([stage], config, dataset=str(dataset), period=label)}
        write_manifest(target, dataset=name, period=label, parameters=parameters, timings=timings,
                       salt_fingerprint=fingerprint, engine=engine)
    return result


def _keep_failed(building: RunFolder, target: RunFolder) -> Path:
    """Copy a failed run (executed notebooks, artifacts so far) to ``<target>.failed/``."""
    import shutil

    kept = target.path.with_name(f"{target.path.name}.failed")
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(building.path, kept)
    retarget_notebooks(RunFolder(kept), building.path, kept.absolute())
    return kept


def retarget_notebooks(folder: RunFolder, old: str | Path, new: str | Path) -> None:
    """Point the executed notebooks' ``run_dir`` parameter at ``new`` instead of ``old``.

    A run is built in a temporary folder and then moved into place; its notebooks were
    executed with the temporary path, and re-running them as they are ("Run all") must
    work on the folder they now live in.
    """
    import nbformat

    old, new = str(old), str(new)
    for path in sorted(folder.notebooks.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            if "injected-parameters" in cell.metadata.get("tags", []) and old in cell.source:
                cell.source = cell.source.replace(old, new)  # the temporary folder's name is unique
                changed = True
        parameters = nb.metadata.get("papermill", {}).get("parameters", {})
        if parameters.get("run_dir") == old:
            parameters["run_dir"] = new
            changed = True
        if changed:
            write_text(nbformat.writes(nb) + "\n", path)
