"""The run folder: the API of a run, between the stages, the report, the explorer and next period.

One run is one folder, ``reports/<dataset>/<period>/``::

    report.html, report.pdf      the quarterly report (written by the report stage)
    notebooks/NN_stage.ipynb     the executed notebooks
    artifacts/                   every file in :data:`ARTIFACTS`, written by its stage
    manifest.json                parameters, versions, input checksums, seed, stage times

This module is the only one that knows the layout: :class:`RunFolder` reads and writes
every artifact with its type (``run.features()``, ``run.write_features(fs)`` …), each
file written atomically; the stages take and return objects and never name a file. It
also finds runs (:func:`open_run`, :meth:`RunFolder.previous`), guards them (one run of
a dataset and period at a time, :func:`lock_run`) and refuses to mix runs pseudonymized
with different salts (:func:`check_same_salt`, :func:`check_run_salt`).
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import joblib
import pandas as pd

from seglab._io import (FileLock, atomic_path, read_json, remove_stale_partials, write_json, write_parquet,
                        write_text)
from seglab.config import Period, parse_period, project_dir, reports_dir
from seglab.exceptions import InputError, ParameterError, RunInProgressError, SaltMismatchError, SaltWarning

__all__ = ["Artifact", "ARTIFACTS", "RunFolder", "run_folder", "open_run", "lock_run", "check_output_folder",
           "check_same_salt", "check_run_salt", "engine_settings", "open_engine"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artifact:
    """One file (or folder) of a run's ``artifacts/``: its name, the stage that writes it,
    its kind (``table`` = Parquet, ``json``, ``joblib``, ``markdown``, ``sql``, ``folder``)
    and what it holds."""

    file: str
    stage: str
    kind: str
    description: str


ARTIFACTS: dict[str, Artifact] = {
    "customers": Artifact("customers.parquet", "collect", "table", "the canonical customer table, pseudonymized"),
    "transactions": Artifact("transactions.parquet", "collect", "table", "the canonical transaction lines"),
    "events": Artifact("events.parquet", "collect", "table", "the canonical web, app and e-mail events"),
    "campaigns": Artifact("campaigns.parquet", "collect", "table", "the canonical campaign rows: who got which "
                          "campaign, in which group (treatment or control), with what outcome"),
    "feedback": Artifact("feedback.parquet", "collect", "table", "the canonical feedback answers (NPS, CSAT, "
                         "ratings, survey questions)"),
    "schema": Artifact("schema.json", "collect", "json", "dataset, period, snapshot day, currency, salt "
                       "fingerprint, segment_on, and every table's columns with type and criterion"),
    "quality": Artifact("quality.json", "collect", "json", "every quality check, its policy and count"),
    "quality_markdown": Artifact("quality.md", "collect", "markdown", "the quality report, for reading"),
    "features": Artifact("features.parquet", "features", "table", "one row per customer, every feature"),
    "feature_dictionary": Artifact("feature_dictionary.json", "features", "json",
                                   "every feature's criterion, description, unit, type and source"),
    "value_diagnostics": Artifact("value_models.json", "features", "json", "the value models' parameters and fit"),
    "value_models": Artifact("value_models.joblib", "features", "joblib", "the fitted value models"),
    "value_validation": Artifact("value_validation.json", "features", "json", "the value models' holdout check"),
    "segments": Artifact("segments.parquet", "cluster", "table", "each customer's segment and map position"),
    "model": Artifact("model.joblib", "cluster", "joblib", "the fitted segmenter (assigns new customers)"),
    "segmentation": Artifact("segmentation.json", "cluster", "json",
                             "parameters, columns and their groups, columns left out, notes, alignment"),
    "k_selection": Artifact("k_selection.json", "cluster", "json", "the evidence for every k, each segment's stability"),
    "embedding": Artifact("embedding.parquet", "cluster", "table", "the customer map's coordinates (a cache)"),
    "embedding_key": Artifact("embedding.json", "cluster", "json", "what the cached map was computed from"),
    "personas": Artifact("personas.json", "personas", "json", "the persona cards, rules and period figures"),
    "personas_markdown": Artifact("personas.md", "personas", "markdown", "the persona cards, for reading"),
    "profiles": Artifact("profiles.json", "personas", "json", "segment profiles and traits"),
    "rules": Artifact("rules.sql", "personas", "sql", "one SQL CASE expression that assigns the segments"),
    "audiences": Artifact("audiences", "personas", "folder", "audience files per segment and their manifest"),
    "comparison": Artifact("comparison.json", "report", "json", "migration, changes and drift against last period"),
    "campaign_results": Artifact("campaign_results.json", "report", "json",
                                 "each campaign's lift per segment with intervals and verdicts, actions flagged "
                                 "for review, response rates of campaigns without a control group"),
    "feedback_results": Artifact("feedback.json", "report", "json",
                                 "NPS, CSAT, ratings and survey scores per segment, their change, top topics"),
}
"""Every artifact of a run, by name."""

_STAGE_COMMAND = "seglab {stage} --dataset … --period …"


@dataclass(frozen=True)
class RunFolder:
    """The files of one run, and typed readers and writers for them.

    >>> run = RunFolder("reports/sample/2025Q4")
    >>> run.file("features").as_posix()
    'reports/sample/2025Q4/artifacts/features.parquet'
    """

    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))  # a str is fine too

    # ------------------------------------------------------------------ layout
    @property
    def artifacts(self) -> Path:
        return self.path / "artifacts"

    @property
    def notebooks(self) -> Path:
        return self.path / "notebooks"

    @property
    def manifest(self) -> Path:
        return self.path / "manifest.json"

    @property
    def report_html(self) -> Path:
        return self.path / "report.html"

    @property
    def report_pdf(self) -> Path:
        return self.path / "report.pdf"

    def file(self, name: str) -> Path:
        """The path of the artifact ``name`` (a key of :data:`ARTIFACTS`; it may not exist yet)."""
        if name not in ARTIFACTS:
            from seglab._validation import did_you_mean

            raise ParameterError(f"unknown artifact {name!r}{did_you_mean(name, ARTIFACTS)}")
        return self.artifacts / ARTIFACTS[name].file

    def has(self, name: str) -> bool:
        """Whether the artifact ``name`` exists."""
        return self.file(name).exists()

    def require(self, name: str) -> Path:
        """The path of an artifact a stage needs; a clear error when it is missing."""
        path = self.file(name)
        if not path.exists():
            stage = ARTIFACTS[name].stage
            raise InputError(f"{path} is missing; it is written by the {stage} stage. Run that stage first "
                             f"({_STAGE_COMMAND.format(stage=stage)}) or the whole pipeline (seglab run)")
        return path

    def make(self) -> RunFolder:
        """Create the folder and its ``artifacts/`` and ``notebooks/`` subfolders."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.notebooks.mkdir(parents=True, exist_ok=True)
        return self

    # ------------------------------------------------------------------ collect
    def schema(self) -> dict:
        """The content of ``schema.json`` (see :meth:`~seglab.collect.CanonicalData.schema`)."""
        return read_json(self.require("schema"))

    def info(self) -> dict:
        """Dataset, period, snapshot day and currency of the run."""
        schema = self.schema()
        return {"dataset": schema["dataset"], "period": schema["period"], "as_of": schema.get("as_of"),
                "currency": schema.get("currency", "")}

    def canonical(self):
        """The canonical tables (:class:`~seglab.collect.CanonicalData`), read into memory."""
        from seglab.collect.canonical import TABLES, CanonicalData

        schema = self.schema()
        tables = {name: pd.read_parquet(self.file(name)) if schema["tables"].get(name) else None
                  for name in TABLES}
        return CanonicalData.from_schema(schema, tables, quality=self.quality())

    def customers(self) -> pd.DataFrame:
        """The canonical customer table."""
        return pd.read_parquet(self.require("customers"))

    def contact_file(self) -> Path | None:
        """The canonical customer table's file when it keeps e-mail hashes (what the personas'
        channels and the ad-platform audiences need: :func:`~seglab.personas.build_personas`
        and :meth:`~seglab.personas.Personas.export` take it as ``customers`` and let the
        engine read it), else None."""
        import pyarrow.parquet as pq

        path = self.require("customers")
        return path if "email_sha256" in pq.read_schema(path).names else None

    def campaigns(self) -> pd.DataFrame | None:
        """The canonical campaigns table, or None when the dataset has none."""
        return self._optional_table("campaigns")

    def feedback(self) -> pd.DataFrame | None:
        """The canonical feedback table, or None when the dataset has none."""
        return self._optional_table("feedback")

    def response_columns(self) -> list[str]:
        """The customer columns that record answers to campaigns sent without a control group
        (the spec's ``responses``; shown as response rates, never as lift)."""
        return list(self.schema().get("responses") or [])

    def responses(self) -> pd.DataFrame | None:
        """``customer_id`` and the :meth:`response_columns` of the customer table, or None
        when the dataset has none."""
        columns = self.response_columns()
        return pd.read_parquet(self.require("customers"), columns=["customer_id", *columns]) if columns else None

    def outcomes(self):
        """Campaign results, feedback and campaign responses per customer
        (:class:`~seglab.measure.Outcomes`), or None when the dataset has none of them."""
        from seglab.measure import Outcomes

        campaigns, feedback, columns = self.campaigns(), self.feedback(), self.response_columns()
        if campaigns is None and feedback is None and not columns:
            return None
        return Outcomes.from_tables(campaigns=campaigns, feedback=feedback, customers=self.responses(),
                                    responses=columns, period=self.info()["period"])

    def _optional_table(self, name: str) -> pd.DataFrame | None:
        if not self.schema()["tables"].get(name) or not self.has(name):
            return None
        return pd.read_parquet(self.file(name))

    def canonical_files(self):
        """The canonical tables as files (:class:`~seglab.collect.CanonicalFiles`), for engines
        that read Parquet themselves (the features stage)."""
        from seglab.collect.canonical import TABLES, CanonicalFiles

        schema = self.schema()
        return CanonicalFiles(schema, {name: self.file(name) for name in TABLES if schema["tables"].get(name)})

    def write_canonical(self, data) -> dict[str, Path]:
        """Write the canonical tables, ``schema.json`` and the quality report (each atomically);
        a table the data lacks is removed, so no stale table is read back."""
        from seglab.collect.canonical import TABLES, write_table

        written = {}
        for name in TABLES:
            frame = getattr(data, name)
            if frame is not None:
                written[name] = write_table(frame, self.file(name))
            elif self.has(name):
                self.file(name).unlink()
        written["schema"] = write_json(data.schema(), self.file("schema"))
        if data.quality is not None:
            written.update(self.write_quality(data.quality))
        return written

    def quality(self):
        """The quality report (:class:`~seglab.collect.QualityReport`), or None."""
        from seglab.collect.quality import QualityReport

        return QualityReport.read(self.file("quality")) if self.has("quality") else None

    def write_quality(self, report) -> dict[str, Path]:
        """Write ``quality.json`` and ``quality.md``."""
        return {"quality": report.write(self.file("quality"), self.file("quality_markdown"))}

    # ------------------------------------------------------------------ features
    def features(self, *, sample_size: int | None = None, order_by: str | None = "auto", random_state: int = 0,
                 con=None):
        """The feature set (:class:`~seglab.features.FeatureSet`).

        With ``sample_size``, beyond that many customers only the seeded sample the segments
        are learnt from is read (:func:`~seglab.cluster.draw_sample`, drawn by the engine
        ``con``, default DuckDB; ``order_by`` and ``random_state`` as for
        :func:`~seglab.cluster.segment`), and ``customers`` counts them all: the cluster
        stage of millions of customers reads 100,000 of them into Python.
        """
        from seglab.features import FeatureDictionary, FeatureSet, ValueValidation

        path = self.require("features")
        table, customers = None, None
        if sample_size is not None:
            from seglab.cluster import count_customers, draw_sample
            from seglab.features import connect

            con = connect() if con is None else con
            customers = count_customers(path, con=con)
            if customers > sample_size:
                table = draw_sample(path, sample_size, order_by=order_by, random_state=random_state, con=con)
        return FeatureSet(features=pd.read_parquet(path) if table is None else table, customers=customers,
                          dictionary=FeatureDictionary.read(self.file("feature_dictionary")),
                          models=joblib.load(self.file("value_models")) if self.has("value_models") else {},
                          diagnostics=read_json(self.file("value_diagnostics"))
                          if self.has("value_diagnostics") else {},
                          validation=ValueValidation.read(self.file("value_validation"))
                          if self.has("value_validation") else None)

    def feature_table(self) -> pd.DataFrame:
        """Only the feature table (``features.parquet``)."""
        return pd.read_parquet(self.require("features"))

    def dictionary(self):
        """The feature dictionary alone (:class:`~seglab.features.FeatureDictionary`), or None."""
        from seglab.features import FeatureDictionary

        return FeatureDictionary.read(self.file("feature_dictionary")) if self.has("feature_dictionary") else None

    def write_features(self, fs) -> dict[str, Path]:
        """Write the feature table, its dictionary, the value models' diagnostics, fits and
        holdout check (a stale check of an earlier build is removed)."""
        written = {"features": write_parquet(fs.features, self.file("features")),
                   "feature_dictionary": fs.dictionary.write(self.file("feature_dictionary")),
                   "value_diagnostics": write_json(fs.diagnostics, self.file("value_diagnostics"))}
        if fs.validation is not None:
            written["value_validation"] = fs.validation.write(self.file("value_validation"))
        elif self.has("value_validation"):
            self.file("value_validation").unlink()
        if any(m is not None for m in fs.models.values()):
            with atomic_path(self.file("value_models")) as tmp:
                joblib.dump(fs.models, tmp)
            written["value_models"] = self.file("value_models")
        return written

    # ------------------------------------------------------------------ cluster
    def segmentation(self, *, customers: bool = True):
        """The segmentation (:class:`~seglab.cluster.Segmentation`).

        ``customers=False`` leaves the per-customer segments on disk (its ``segments`` is
        None): the model, the columns and the evidence for k are what the personas stage and
        the report need, and :meth:`segment_sizes` and :meth:`segment_map` give the rest
        without reading every customer.
        """
        from seglab.cluster import KSelection, Segmentation, load_segmenter

        path = self.require("segments")
        meta = read_json(self.file("segmentation"))
        selection = KSelection.read(self.file("k_selection")) if self.has("k_selection") else None
        return Segmentation.from_meta(meta, segments=pd.read_parquet(path) if customers else None,
                                      model=load_segmenter(self.file("model")), selection=selection)

    def segments(self) -> pd.DataFrame:
        """Each customer's segment (and map position): ``segments.parquet``."""
        return pd.read_parquet(self.require("segments"))

    def segment_map(self) -> pd.DataFrame | None:
        """The customers placed on the map (``customer_id``, ``segment``, ``x``, ``y``: a
        seeded sample of at most :data:`~seglab.cluster.MAP_POINTS`), read without the
        others; None when the segments have no map."""
        import pyarrow.compute as pc
        import pyarrow.dataset as ds

        data = ds.dataset(self.require("segments"), format="parquet")
        if not {"x", "y"} <= set(data.schema.names):
            return None
        return data.to_table(columns=["customer_id", "segment", "x", "y"],
                             filter=pc.field("x").is_valid() & pc.field("y").is_valid()).to_pandas()

    def segment_files(self):
        """The features and segments as files, with the feature dictionary
        (:class:`~seglab.personas.SegmentFiles`), for the personas stage's engine work."""
        from seglab.personas import SegmentFiles

        return SegmentFiles(features=self.require("features"), segments=self.require("segments"),
                            dictionary=self.dictionary())

    def segment_sizes(self, *, con=None) -> pd.DataFrame:
        """Customers and share per segment of the written segments, counted by the engine
        (``con``, default DuckDB): the frame :meth:`~seglab.cluster.Segmentation.sizes` gives."""
        from seglab.features import as_table, connect
        from seglab.features.engine import execute

        con = connect() if con is None else con
        segments = as_table(con, self.require("segments"), name="segments")
        counts = execute(con, segments.group_by("segment").aggregate(customers=segments.count()))
        counts = counts.set_index("segment")["customers"].sort_index().astype("int64")
        return pd.DataFrame({"customers": counts, "share": counts / counts.sum()})

    def segmentation_columns(self):
        """What the segments rest on (:class:`~seglab.cluster.SegmentationColumns`)."""
        from seglab.cluster import Segmentation

        return Segmentation.columns_from_meta(read_json(self.require("segmentation")))

    def segmenter(self):
        """Only the fitted segmenter (``model.joblib``), e.g. last period's, to align to."""
        from seglab.cluster import load_segmenter

        return load_segmenter(self.require("model"))

    def embedding_cache(self) -> tuple[Path, Path]:
        """Where the customer map is cached: (coordinates, key)."""
        return self.file("embedding"), self.file("embedding_key")

    def write_segmentation(self, seg, *, con=None) -> dict[str, Path]:
        """Write the segments, the model, ``segmentation.json`` and the evidence for k.

        When this run's ``features.parquet`` exists, ``segments.parquet`` is written by the
        engine (``con``, default DuckDB): every customer of the feature file assigned by the
        model (:func:`~seglab.cluster.write_assigned`), checked against ``seg.segments``
        and with its map coordinates; otherwise from ``seg.segments``.
        """
        from seglab.cluster import write_assigned

        if self.has("features"):
            segments = write_assigned(seg.model, self.file("features"), self.file("segments"),
                                      segments=seg.segments, con=con)
        else:
            segments = write_parquet(seg.segments, self.file("segments"))
        meta = seg.meta()  # the sizes of everyone written, also when the segments were learnt from a sample
        meta["sizes"] = {int(s): int(n) for s, n in self.segment_sizes(con=con)["customers"].items()}
        written = {"segments": segments,
                   "model": seg.model.save(self.file("model")),
                   "segmentation": write_json(meta, self.file("segmentation"))}
        if seg.selection is not None:
            seg.selection.write(self.file("k_selection"))
            written["k_selection"] = self.file("k_selection")
        elif self.has("k_selection"):
            self.file("k_selection").unlink()  # k was set by hand this time
        return written

    # ------------------------------------------------------------------ personas
    def personas(self):
        """The personas (:class:`~seglab.personas.Personas`), without the rules' trees."""
        from seglab.personas import Personas

        self.require("personas")
        manifest = self.audiences_folder() / "manifest.json"
        return Personas.from_dicts(read_json(self.file("personas")), read_json(self.file("profiles")),
                                   dictionary=self.dictionary(),
                                   audiences=read_json(manifest) if manifest.exists() else None)

    def segment_overview(self) -> pd.DataFrame:
        """Per segment: customers, shares and KPIs (the personas' profile overview); empty
        when the run has no personas."""
        if not self.has("profiles"):
            return pd.DataFrame()
        return pd.DataFrame(read_json(self.file("profiles"))["overview"]).set_index("segment")

    def persona_names(self) -> dict[int, str]:
        """The persona names by segment number (empty when the run has no personas)."""
        if not self.has("personas"):
            return {}
        return {int(c["segment"]): c["name"] for c in read_json(self.file("personas"))["segments"]}

    def persona_actions(self) -> dict[int, str]:
        """Each persona's first recommended action by segment number (empty when the run has
        no personas): what a campaign sent to that segment's audience carried out."""
        if not self.has("personas"):
            return {}
        return {int(c["segment"]): c["actions"][0]["action"] for c in read_json(self.file("personas"))["segments"]
                if c.get("actions")}

    def audiences_folder(self) -> Path:
        """The folder of the audience exports (``audiences/``)."""
        return self.file("audiences")

    def write_personas(self, personas) -> dict[str, Path]:
        """Write ``personas.json``, ``personas.md``, ``profiles.json`` and ``rules.sql``."""
        written = {"personas": write_json(personas.to_dict(), self.file("personas")),
                   "personas_markdown": write_text(personas.to_markdown(), self.file("personas_markdown")),
                   "profiles": write_json(personas.profiles_dict(), self.file("profiles"))}
        if personas.rules is not None:
            written["rules"] = write_text(personas.rules.assignment_sql + "\n", self.file("rules"))
        return written

    # ------------------------------------------------------------------ report
    def comparison(self):
        """The comparison with last period (:class:`~seglab.report.Comparison`), or None."""
        from seglab.report.comparison import Comparison

        return Comparison.read(self.file("comparison")) if self.has("comparison") else None

    def write_comparison(self, comparison) -> Path:
        """Write ``comparison.json``."""
        return comparison.write(self.file("comparison"))

    def measurement(self):
        """What the report's "Did it work?" section shows (:class:`~seglab.measure.Measurement`):
        campaign lift per segment, feedback per segment, response rates; None when the
        run has not been measured."""
        from seglab.measure import Measurement

        if not self.has("campaign_results") or not self.has("feedback_results"):
            return None
        return Measurement.from_dicts(read_json(self.file("campaign_results")),
                                      read_json(self.file("feedback_results")))

    def write_measurement(self, measurement) -> dict[str, Path]:
        """Write ``campaign_results.json`` and ``feedback.json``."""
        campaigns, feedback = measurement.to_dicts()
        return {"campaign_results": write_json(campaigns, self.file("campaign_results")),
                "feedback_results": write_json(feedback, self.file("feedback_results"))}

    def value_validation(self):
        """The value models' holdout check (:class:`~seglab.features.ValueValidation`), or None."""
        from seglab.features import ValueValidation

        return ValueValidation.read(self.file("value_validation")) if self.has("value_validation") else None

    def read_manifest(self) -> dict:
        """The run's ``manifest.json`` (empty before the run wrote one)."""
        return read_json(self.manifest) if self.manifest.exists() else {}

    # ------------------------------------------------------------------ other runs
    def salt_fingerprint(self) -> str | None:
        """The fingerprint of the salt the run was pseudonymized with (None for runs made
        before seglab recorded it): from ``schema.json``, else ``manifest.json``."""
        for path in (self.file("schema"), self.manifest):
            if path.exists():
                found = read_json(path).get("salt_fingerprint")
                if found:
                    return found
        return None

    def collected_salt_fingerprint(self) -> str | None:
        """The fingerprint *collect* recorded in ``schema.json``, or None."""
        return read_json(self.file("schema")).get("salt_fingerprint") if self.has("schema") else None

    def check_same_salt(self, other: RunFolder) -> None:
        """Refuse to use ``other`` with this run when their salts differ (:func:`check_same_salt`)."""
        check_same_salt(self, other)

    def previous_segmenter(self, compare_to: str = ""):
        """Last period's fitted segmenter (to keep its segment numbers), or None."""
        previous = self.previous(compare_to)
        return previous.segmenter() if previous is not None else None

    def previous_names(self, compare_to: str = "") -> dict[int, str]:
        """Last period's persona names by segment (they carry over), or empty."""
        previous = self.previous(compare_to)
        return previous.persona_names() if previous is not None else {}

    def beside(self, period: str) -> RunFolder:
        """The run folder of another period of the same dataset, beside this one."""
        return RunFolder(Path(self.path).resolve().parent / period)

    def previous(self, compare_to: str = "") -> RunFolder | None:
        """Last period's completed run beside this one, or None.

        ``compare_to`` names the period to compare with (``2025Q3``); empty means the period
        just before; ``none`` switches comparison off. A period whose run is missing gives
        None: the comparison is skipped, not the run. This run's period comes from its
        ``schema.json``.

        Raises
        ------
        SaltMismatchError
            When that run was pseudonymized with another salt (see :func:`check_same_salt`).
        """
        if str(compare_to).strip().lower() == "none":
            return None
        folder = self.previous_folder(self.info()["period"], compare_to)
        if folder is None:
            return None
        check_same_salt(self, folder)
        return folder

    def previous_folder(self, period: str, compare_to: str = "") -> RunFolder | None:
        """The completed run folder of the period to compare ``period`` with, beside this run
        (no salt check: for checks before a run starts)."""
        if str(compare_to).strip().lower() == "none":
            return None
        when = parse_period(period)
        if when.is_static:
            return None
        try:
            label = parse_period(compare_to).label if compare_to else when.previous().label
        except ParameterError:  # e.g. an as-of date has no "previous period"
            return None
        folder = self.beside(label)
        return folder if folder.has("model") else None


def run_folder(dataset: str, period: str | Period, out: str | Path | None = None) -> RunFolder:
    """The run folder ``<out>/<dataset>/<period>`` (``out`` defaults to the project's ``reports/``)."""
    return RunFolder(reports_dir(out) / dataset / parse_period(period).label)


def open_run(run_dir: str | Path | None, dataset: str = "sample", period: str | None = None,
             out: str | Path | None = None) -> RunFolder:
    """The run folder a stage notebook works in: ``run_dir`` when ``seglab run`` passes one,
    else ``<out>/<dataset>/<period>`` (an empty period resolved to the latest complete one).

    Parameters
    ----------
    run_dir
        The run folder, or empty.
    dataset, period
        The dataset (built-in name or spec path) and period, used when ``run_dir`` is empty.
    out
        The reports folder (default: ``reports/`` in the project folder).

    Returns
    -------
    RunFolder
    """
    if run_dir:
        return RunFolder(Path(run_dir))
    from seglab.collect.stage import resolve_period

    name, label = resolve_period(dataset, period or None)
    return run_folder(name, label, out)


def engine_settings(dataset: str | Path = "sample", engine: str = "", master: str = "",
                    config: dict | None = None):
    """The engine a run of ``dataset`` uses: ``engine``, ``master`` and ``config`` (the command
    line's ``--engine``/``--spark-master``, the notebooks' parameters) over the dataset spec's
    ``engine:`` section, over DuckDB (see :func:`seglab.engine.resolve_engine`).

    Returns
    -------
    seglab.engine.EngineSettings
    """
    from seglab.collect.spec import load_spec
    from seglab.engine import resolve_engine

    return resolve_engine(load_spec(dataset).engine, engine=engine, master=master, config=config)


def open_engine(dataset: str | Path = "sample", engine: str = "", master: str = "",
                config: dict | None = None):
    """An Ibis connection to the engine a run of ``dataset`` uses (:func:`engine_settings`),
    for the stages' ``con=``: an in-process DuckDB, or a Spark session (started, or the one
    already running in this process).

    Raises
    ------
    EngineUnavailableError
        When the engine cannot be started (PySpark or Java missing: the message says what
        to install).
    """
    from seglab.engine import connect

    return connect(engine_settings(dataset, engine, master, config))


def check_output_folder(out: str | Path | None) -> Path:
    """The reports folder ``out`` (default: ``reports/`` in the project folder), checked before
    any work: a folder that exists or can be created, and that seglab can write into.

    Raises
    ------
    ParameterError
        With what is wrong (a file, not creatable, not writable) and the path.
    """
    folder = reports_dir(out)
    name = f"--out {folder}" if out is not None else f"the reports folder {folder}"
    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"{name} is a file, not a folder; give a folder (it is created when "
                             "missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ParameterError(f"{name} cannot be created: {err.strerror or err}; give a folder "
                             "you can write to") from None
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ParameterError(f"{name} is not writable: {err.strerror or err}; give a folder you "
                             "can write to") from None
    return folder


def lock_run(target: RunFolder, *, dataset: str, period: str, wait: float = 0.0) -> FileLock:
    """Take the lock of a run folder (``.<period>.lock`` beside it), or say who holds it.

    Also removes what killed runs of this folder left behind (``.partial`` folders).

    Raises
    ------
    RunInProgressError
        When another live process holds the lock after ``wait`` seconds.
    """
    lock = FileLock(target.path.with_name(f".{target.path.name}.lock"))
    if not lock.acquire(wait=wait):
        pid = lock.holder.get("pid")
        since = f", started {lock.holder['started']}" if lock.holder.get("started") else ""
        raise RunInProgressError(
            f"a run of {dataset} {period} is in progress (pid {pid or 'unknown'}{since}) and writes "
            f"{target.path}; wait until it finishes and run again (its lock: {lock.path})", pid=pid)
    for stale in remove_stale_partials(target.path):
        logger.info("removed %s, left by a run that was killed", stale)
    return lock


def restore_hint(wanted: str) -> str:
    """How to get back the salt whose fingerprint is ``wanted``."""
    return (f"Restore the salt whose fingerprint is {wanted}: put that .seglab/salt file back into the "
            f"project folder {project_dir()} (found from the working directory upwards), or set "
            "SEGLAB_SALT to it")


def check_same_salt(current: RunFolder, previous: RunFolder) -> None:
    """Refuse to use ``previous`` with ``current`` when their salts differ.

    Pseudonyms made with different salts never match: a comparison would show every
    customer as lost and new (a 100 % churn that never happened), and segment numbers
    or names would follow the wrong customers. Runs that record no fingerprint (made
    by an older seglab) are used with a :class:`~seglab.exceptions.SaltWarning`.

    Raises
    ------
    SaltMismatchError
        When both runs record a fingerprint and they differ.
    """
    now, then = current.salt_fingerprint(), previous.salt_fingerprint()
    if now is None or then is None:
        warnings.warn(f"cannot check that {previous.path.name} and {current.path.name} were pseudonymized "
                      "with the same salt (one records no salt fingerprint); if the salt changed in "
                      "between, no customer matches and the comparison is wrong", SaltWarning, stacklevel=2)
        return
    if now != then:
        raise SaltMismatchError(
            f"cannot use {previous.path} with {current.path}: they were pseudonymized with different "
            f"salts (fingerprints {then} and {now}), so no customer id would match and every customer "
            f"would look lost and new. {restore_hint(then)}, then run {current.path.name} again; or "
            "run without a comparison (--compare-to none)")


def check_run_salt(folder: RunFolder, salt: str | None = None) -> None:
    """Refuse to work with a run made with another salt than this project's.

    The project's salt is looked up as :func:`seglab.collect.get_salt` does, without
    creating one. A run that records no fingerprint passes.

    Raises
    ------
    SaltMismatchError
        When the run's fingerprint differs from the project's salt, or the project has
        no salt at all.
    """
    from seglab.collect.privacy import find_salt, salt_fingerprint

    recorded = folder.salt_fingerprint()
    if recorded is None:
        return
    found = find_salt(salt)
    if found is None:
        raise SaltMismatchError(
            f"{folder.path} was pseudonymized with the salt whose fingerprint is {recorded}, and this "
            f"project has no salt (no SEGLAB_SALT, no .seglab/salt in {project_dir()} or a folder "
            f"above it). {restore_hint(recorded)}")
    if salt_fingerprint(found) != recorded:
        raise SaltMismatchError(
            f"{folder.path} was pseudonymized with another salt (fingerprint {recorded}) than this "
            f"project's ({salt_fingerprint(found)}), so its customer ids do not match what this "
            f"project computes. {restore_hint(recorded)}")
