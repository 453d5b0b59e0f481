"""The engines that run seglab's table work: DuckDB in-process (default) or Spark.

Every stage that works on transaction-scale tables takes one Ibis connection (``con``)
and runs its queries there. This module starts that connection:

- ``duckdb`` (default): in-process, nothing to start. Its memory is capped
  (:data:`MEMORY_LIMIT`, ``SEGLAB_MEMORY_LIMIT``); beyond the cap DuckDB spills to a
  temporary folder, so logs larger than memory run on a laptop.
- ``spark``: a SparkSession (PySpark, the ``spark`` extra, and Java 17 or later) on
  ``master`` — ``local[*]`` by default, ``local[2]``, ``spark://host:7077``, ``yarn``,
  ``k8s://…``, or a Spark Connect URL ``sc://host:15002`` — with any Spark settings in
  ``config``. A session already running in the process is reused.

Where the engine is chosen, strongest first: ``seglab run --engine`` (or the notebooks'
``engine`` parameter), the dataset spec's ``engine:`` section, the default ``duckdb``::

    engine:
      name: spark
      master: spark://head-node:7077
      config: {spark.executor.memory: 8g, spark.executor.instances: 20}

>>> settings = resolve_engine(None, engine="spark", master="local[2]")
>>> settings.name, settings.master
('spark', 'local[2]')
>>> resolve_engine(settings, engine="duckdb").name   # the command line wins over the spec
'duckdb'
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seglab._validation import did_you_mean, show_list
from seglab.exceptions import EngineUnavailableError, ParameterError, SpecError

__all__ = [
    "ENGINES",
    "MEMORY_LIMIT",
    "memory_limit_for",
    "EngineSettings",
    "parse_engine",
    "resolve_engine",
    "check_engine",
    "connect",
    "spark_session",
    "quiet",
    "to_parquet_file",
]

logger = logging.getLogger(__name__)

@contextmanager
def quiet() -> Iterator[None]:
    """Silence deprecation notices raised inside ibis 12 on every query (not the user's concern)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The 'future.infer_string' option is deprecated")
        warnings.filterwarnings("ignore", message=r"fetch_arrow_table\(\) is deprecated")
        yield


ENGINES = ("duckdb", "spark")
"""The engines ``seglab run --engine`` accepts."""

MEMORY_LIMIT = os.environ.get("SEGLAB_MEMORY_LIMIT", "1GB")
"""DuckDB's memory limit (``SEGLAB_MEMORY_LIMIT``); beyond it DuckDB spills to a temporary
folder, so large logs run in bounded memory on a laptop."""

MIN_MEMORY_LIMIT = 512 * 2**20
"""The smallest cap :func:`memory_limit_for` gives: 10 M lines / 1 M customers run within it."""

BYTES_PER_CUSTOMER = 400
"""DuckDB memory :func:`memory_limit_for` gives each customer: an aggregation over millions of
customers holds pointer arrays DuckDB cannot spill (about 128 MiB per hash table at 4.9 M)."""


def machine_memory() -> int | None:
    """The machine's physical memory in bytes (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def memory_limit_for(customers: int | None, *, machine: int | None = None) -> str:
    """A DuckDB memory cap for work over ``customers`` customers.

    :data:`BYTES_PER_CUSTOMER` per customer, at least :data:`MIN_MEMORY_LIMIT` (512 MB: up
    to 1.3 M customers) and at most a quarter of the machine's memory (``machine`` bytes,
    default: this machine's), where DuckDB spills the rest. The cap changes only how much
    DuckDB holds before it spills, never a result.

    >>> memory_limit_for(1_000_000), memory_limit_for(5_000_000, machine=16 * 2**30)
    ('512MB', '1907MB')
    >>> memory_limit_for(5_000_000, machine=4 * 2**30)   # a 4 GB laptop: a quarter of it
    '1024MB'
    """
    limit = max(MIN_MEMORY_LIMIT, BYTES_PER_CUSTOMER * int(customers or 0))
    machine = machine_memory() if machine is None else machine
    if machine:
        limit = max(MIN_MEMORY_LIMIT, min(limit, machine // 4))
    return f"{limit // 2**20}MB"


SPARK_INSTALL = "pip install 'seglab[spark]' (or pip install pyspark)"
JAVA_INSTALL = ("install a Java runtime, 17 or later (Debian/Ubuntu: apt-get install "
                "openjdk-17-jre-headless; macOS: brew install openjdk@17), or set JAVA_HOME to one")
_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')
_SECRET = re.compile(r"secret|password|passwd|token|credential|key$", re.IGNORECASE)
_LOCAL = re.compile(r"^local(\[(\d+|\*)(,\d+)?\])?$")


@dataclass(frozen=True)
class EngineSettings:
    """Which engine to start and how.

    Parameters
    ----------
    name
        ``"duckdb"`` or ``"spark"``.
    master
        Spark's master URL (``local[2]``, ``spark://host:7077``, ``yarn``, ``sc://host:15002``);
        None means ``local[*]``. Not used by DuckDB.
    config
        Engine settings: Spark properties (``{"spark.executor.memory": "8g"}``) or DuckDB
        settings (``{"memory_limit": "4GB", "threads": 4}``).
    """

    name: str = "duckdb"
    master: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """A short description for logs and the manifest (no settings values)."""
        if self.name == "spark":
            return f"spark ({self.master or 'local[*]'})"
        return "duckdb"

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values, for the manifest: the values of settings whose name
        says they hold a secret (``…secret…``, ``…password…``, ``…token…``, ``…key``) masked.

        >>> EngineSettings("spark", "yarn", {"spark.hadoop.fs.s3a.secret.key": "x"}).to_dict()["config"]
        {'spark.hadoop.fs.s3a.secret.key': '***'}
        """
        config = {k: "***" if _SECRET.search(k) else v for k, v in self.config.items()}
        return {"name": self.name, "master": self.master, "config": config}


def _check_name(name: Any, where: str) -> str:
    if name not in ENGINES:
        raise ParameterError(f"{where} must be one of {show_list(ENGINES)}; got {name!r}"
                             f"{did_you_mean(str(name), ENGINES)}")
    return name


def _check_config(config: Any, where: str, error=ParameterError) -> dict[str, Any]:
    if config is None:
        return {}
    if not isinstance(config, Mapping) or not all(isinstance(k, str) for k in config):
        raise error(f"{where} must map setting names to values, like {{spark.executor.memory: 8g}}; "
                    f"got {config!r}")
    return dict(config)


def parse_engine(raw: Any, where: str = "engine") -> EngineSettings | None:
    """The ``engine:`` section of a dataset spec: a name, or ``{name, master, config}``.

    Raises
    ------
    SpecError
        When the section is not one of those forms.

    >>> parse_engine("spark").name
    'spark'
    >>> parse_engine({"name": "spark", "master": "yarn"}).master
    'yarn'
    """
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, Mapping):
        raise SpecError(f"{where} must be an engine name ({show_list(ENGINES)}) or a mapping with "
                        f"name, master and config; got {raw!r}")
    unknown = [k for k in raw if k not in ("name", "master", "config")]
    if unknown:
        raise SpecError(f"{where} has unknown key {unknown[0]!r}"
                        f"{did_you_mean(str(unknown[0]), ('name', 'master', 'config'))}; "
                        "allowed keys: config, master, name")
    name = raw.get("name", "duckdb")
    if name not in ENGINES:
        raise SpecError(f"{where}.name must be one of {show_list(ENGINES)}; got {name!r}"
                        f"{did_you_mean(str(name), ENGINES)}")
    master = raw.get("master")
    if master is not None and (not isinstance(master, str) or not master.strip()):
        raise SpecError(f"{where}.master must be a Spark master URL such as local[2], "
                        f"spark://host:7077 or yarn; got {master!r}")
    if master and name != "spark":
        raise SpecError(f"{where}.master is a Spark setting, but the engine is {name!r}; "
                        "remove it or set name: spark")
    return EngineSettings(name, master or None, _check_config(raw.get("config"), f"{where}.config",
                                                              SpecError))


def resolve_engine(from_spec: EngineSettings | None = None, *, engine: str | None = "",
                   master: str | None = "", config: Mapping[str, Any] | None = None) -> EngineSettings:
    """The engine a run uses: ``engine``/``master``/``config`` (the command line or a
    notebook's parameters) over the dataset spec's ``engine:`` section, over DuckDB.

    Empty values mean "not given". Settings given for another engine than the one chosen
    are not carried over (a spec's Spark master does not apply when ``engine="duckdb"``).

    Raises
    ------
    ParameterError
        When ``engine`` is not an engine's name, or ``master`` is given for DuckDB.
    """
    base = from_spec or EngineSettings()
    name = _check_name(engine, "engine") if engine else base.name
    same = name == base.name
    master = master or (base.master if same else None)
    if master and name != "spark":
        raise ParameterError(f"a Spark master ({master!r}) was given, but the engine is {name!r}; "
                             "add --engine spark, or leave the master out")
    merged = {**(base.config if same else {}), **_check_config(config, "engine_config")}
    return EngineSettings(name, master or None, merged)


def _java() -> tuple[str | None, int | None]:
    """The Java that PySpark will start (``JAVA_HOME`` first, as PySpark does) and its major
    version (None when it cannot be told)."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        return None, None
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    match = _JAVA_VERSION.search(shown.stderr + shown.stdout)
    if shown.returncode != 0 or not match:
        return (java if shown.returncode == 0 else None), None
    major = int(match[1])
    return java, int(match[2]) if major == 1 and match[2] else major  # "1.8" is Java 8


def check_engine(settings: EngineSettings) -> None:
    """Fail now, with what to install, when ``settings``' engine cannot be started here.

    Cheap (no engine is started): DuckDB is always there; Spark needs PySpark and, for a
    master that this process launches (``local``, ``spark://``, ``yarn``, ``k8s://``),
    Java 17 or later. A Spark Connect master (``sc://``) needs only PySpark's client.

    Raises
    ------
    EngineUnavailableError
        Naming what is missing and how to install it.
    """
    if settings.name != "spark":
        return
    from importlib.util import find_spec

    if find_spec("pyspark") is None:
        raise EngineUnavailableError(f"the Spark engine needs PySpark, which is not installed: {SPARK_INSTALL}")
    if (settings.master or "").startswith("sc://"):
        return
    java, major = _java()
    if java is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']} holds no working bin/java" \
            if os.environ.get("JAVA_HOME") else "no java on PATH and JAVA_HOME is not set"
        raise EngineUnavailableError(f"the Spark engine needs Java, which was not found ({where}): "
                                     f"{JAVA_INSTALL}")
    if major is not None and major < 17:
        raise EngineUnavailableError(f"the Spark engine (PySpark 4) needs Java 17 or later; {java} is "
                                     f"Java {major}: {JAVA_INSTALL}")


def _local_defaults(master: str) -> dict[str, str]:
    """Settings for a session on this machine: no web UI, the loopback address, and as many
    shuffle partitions as cores × 2 (Spark's 200 suit a cluster, not two cores)."""
    match = _LOCAL.match(master)
    if not match:
        return {}
    cores = match[2] if match[2] and match[2] != "*" else str(os.cpu_count() or 1)
    return {"spark.ui.enabled": "false", "spark.driver.host": "127.0.0.1",
            "spark.sql.shuffle.partitions": str(2 * int(cores))}


def spark_session(master: str | None = None, config: Mapping[str, Any] | None = None, *,
                  app_name: str = "seglab"):
    """A SparkSession on ``master`` (default ``local[*]``) with ``config``; an active one is reused.

    Session time zone UTC (dates are compared as stored); on a local master no web UI and
    cores × 2 shuffle partitions unless ``config`` says otherwise.

    Raises
    ------
    EngineUnavailableError
        When PySpark or Java is missing, or the session cannot be started.
    """
    master = master or "local[*]"
    check_engine(EngineSettings("spark", master, dict(config or {})))
    from pyspark.sql import SparkSession

    settings = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false",
                **_local_defaults(master), **{k: str(v) for k, v in (config or {}).items()}}
    builder = SparkSession.builder.appName(app_name)
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as err:  # PySpark raises several kinds (Java gateway, connection, config)
        raise EngineUnavailableError(
            f"Spark could not start a session on master {master!r}: {type(err).__name__}: "
            f"{str(err).strip().splitlines()[0] if str(err).strip() else ''}. Check the master URL "
            f"and the Spark settings (engine_config); for a local session: {JAVA_INSTALL}") from None
    if not master.startswith("sc://"):
        session.sparkContext.setLogLevel("ERROR")
    logger.info("Spark session on %s (Spark %s)", master, session.version)
    return session


def connect(backend: str | EngineSettings | object = "duckdb", *, master: str | None = None,
            config: Mapping[str, Any] | None = None, **kwargs):
    """An Ibis connection to an engine, or an existing connection passed through.

    Parameters
    ----------
    backend
        ``"duckdb"`` (a new in-process DuckDB), ``"spark"`` (a SparkSession built or
        reused by :func:`spark_session`, wrapped by ``ibis.pyspark.connect``), an
        :class:`EngineSettings`, or an Ibis backend already connected (returned as it is).
    master
        Spark's master URL (default ``local[*]``).
    config, kwargs
        Engine settings. DuckDB: e.g. ``threads=2``; ``memory_limit`` defaults to
        :data:`MEMORY_LIMIT` and ``temp_directory`` (where DuckDB spills) to a folder
        under the system's temporary directory. Spark: Spark properties.

    Raises
    ------
    EngineUnavailableError
        When the engine cannot be started (PySpark or Java missing: the message says
        what to install).
    ParameterError
        When ``backend`` is not an engine's name.
    """
    import ibis

    if isinstance(backend, ibis.BaseBackend):
        return backend
    if isinstance(backend, EngineSettings):
        master, config, backend = backend.master or master, {**backend.config, **(config or {})}, backend.name
    settings = {**(config or {}), **kwargs}
    if backend == "duckdb":
        settings.setdefault("memory_limit", MEMORY_LIMIT)
        settings.setdefault("temp_directory", str(Path(tempfile.gettempdir()) / "seglab-duckdb"))
        return ibis.duckdb.connect(**settings)
    if backend == "spark":
        return ibis.pyspark.connect(spark_session(master, settings))
    raise ParameterError(f"engine must be one of {show_list(ENGINES)} or an Ibis connection; got "
                         f"{backend!r}{did_you_mean(str(backend), ENGINES)}")


def to_parquet_file(expr, path: str | Path, *, con=None) -> Path:
    """Write an engine table to one Parquet file (zstd, as every artifact), atomically (a
    temporary file beside it is renamed into place), by the engine: DuckDB with ``COPY``;
    Spark writes its folder of parts beside the file (so on a cluster the executors write,
    and the folder must be on storage they share), whose row groups are then copied into
    the one file, one batch at a time; other engines stream Arrow batches into the file.
    Nothing holds the whole table in Python.

    Parameters
    ----------
    expr : ibis.Table
        The table to write, in the order it has.
    path : str or Path
        The Parquet file to write.
    con : ibis backend, optional
        The backend ``expr`` runs on (default: the expression's own).

    Returns
    -------
    Path
        ``path``.
    """
    import ibis
    import pyarrow.parquet as pq

    from seglab._io import atomic_path

    con = con if con is not None else ibis.get_backend(expr)
    schema = expr.schema().to_pyarrow()
    with atomic_path(path) as tmp, quiet():
        if con.name == "duckdb":
            con.to_parquet(expr, str(tmp), compression="zstd")
        elif con.name == "pyspark":
            _spark_to_parquet_file(con, expr, Path(tmp), schema)
        else:
            with con.to_pyarrow_batches(expr) as batches, \
                    pq.ParquetWriter(str(tmp), batches.schema, compression="zstd") as writer:
                for batch in batches:
                    writer.write_batch(batch)
    return Path(path)


def _spark_to_parquet_file(con, expr, path: Path, schema) -> None:
    """Spark writes ``expr`` as a folder of parts (in the table's order: part files are
    numbered in partition order) beside ``path``; their batches are appended to ``path``
    with the types the expression has (Spark writes its own timestamp encoding)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = Path(tempfile.mkdtemp(prefix=f".{path.name}.parts-", dir=path.parent))
    try:
        con.to_parquet(expr, str(parts), mode="overwrite", compression="zstd")
        with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:
            for part in sorted(parts.glob("part-*.parquet")):
                for batch in pq.ParquetFile(part).iter_batches(batch_size=65_536):
                    writer.write_table(pa.Table.from_batches([batch]).select(schema.names).cast(schema))
    finally:
        shutil.rmtree(parts, ignore_errors=True)
