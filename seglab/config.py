"""Where things are: bundled data, notebooks, run folders, and periods.

A run of the pipeline is for one dataset and one **period** and writes into one
**run folder**, ``reports/<dataset>/<period>/``::

    report.html, report.pdf
    notebooks/NN_stage.ipynb      the executed notebooks
    artifacts/                    every file a later stage, a test or next quarter needs
    manifest.json                 parameters, versions, checksums, seed, timings

Periods are written ``2011Q3`` (a quarter), ``2011-09`` (a month), ``2011`` (a
year), ``2011-09-30`` (an explicit as-of date) or ``all`` (a static dataset with
no dates). Features are computed as of the period's last day.

The **project folder** (:func:`project_dir`) holds the pseudonymization salt
(``.seglab/salt``) and ``reports/``. It is found from the working directory
upwards, so a notebook started in ``notebooks/`` and the command line started in
the project's root share one salt and one ``reports/`` folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seglab.exceptions import PeriodError

__all__ = [
    "Period",
    "RunFolder",
    "parse_period",
    "complete_periods",
    "project_dir",
    "PROJECT_MARKERS",
    "package_dir",
    "data_dir",
    "notebooks_dir",
    "reports_dir",
    "run_folder",
    "run_folder_for",
]

_QUARTER = re.compile(r"^(\d{4})[-_ ]?[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """A reporting period: its label and its first and last day (both inclusive).

    ``kind`` is ``"quarter"``, ``"month"``, ``"year"``, ``"date"`` or ``"all"``.
    For ``"all"`` (a static dataset) ``start`` and ``end`` are ``None``.

    >>> p = parse_period("2011Q3")
    >>> p.start.date(), p.end.date(), p.cutoff.date()
    (datetime.date(2011, 7, 1), datetime.date(2011, 9, 30), datetime.date(2011, 10, 1))
    >>> p.previous().label
    '2011Q2'
    """

    label: str
    kind: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None

    @property
    def cutoff(self) -> pd.Timestamp | None:
        """The first instant after the period: data at or after it is in the future."""
        return None if self.end is None else self.end + pd.Timedelta(days=1)

    @property
    def is_static(self) -> bool:
        """True for ``all``: the data has no dates to cut at."""
        return self.kind == "all"

    def previous(self) -> Period:
        """The period just before this one, of the same kind."""
        if self.kind == "quarter":
            q = pd.Period(self.end, freq="Q") - 1
            return parse_period(f"{q.year}Q{q.quarter}")
        if self.kind == "month":
            m = pd.Period(self.end, freq="M") - 1
            return parse_period(f"{m.year}-{m.month:02d}")
        if self.kind == "year":
            return parse_period(str(self.end.year - 1))
        raise PeriodError(
            f"period {self.label!r} has no previous period of the same kind; "
            "name the period to compare with explicitly (e.g. --compare-to 2011Q2)"
        )

    def __str__(self) -> str:
        return self.label


def parse_period(period: str | Period) -> Period:
    """Read a period label.

    Parameters
    ----------
    period
        ``"2011Q3"``, ``"2011-09"``, ``"2011"``, ``"2011-09-30"`` or ``"all"``.

    Raises
    ------
    PeriodError
        When the label matches none of those forms.

    >>> parse_period("2011-02").end.date()
    datetime.date(2011, 2, 28)
    """
    if isinstance(period, Period):
        return period
    text = str(period).strip()
    if text.lower() == "all":
        return Period("all", "all", None, None)
    if m := _QUARTER.match(text):
        q = pd.Period(year=int(m[1]), quarter=int(m[2]), freq="Q")
        return Period(f"{q.year}Q{q.quarter}", "quarter", q.start_time.normalize(),
                      q.end_time.normalize())
    if m := _MONTH.match(text):
        if not 1 <= int(m[2]) <= 12:
            raise PeriodError(f"period {text!r} has month {m[2]}; expected 01 to 12")
        p = pd.Period(text, freq="M")
        return Period(text, "month", p.start_time.normalize(), p.end_time.normalize())
    if m := _YEAR.match(text):
        p = pd.Period(text, freq="Y")
        return Period(text, "year", p.start_time.normalize(), p.end_time.normalize())
    if m := _DATE.match(text):
        try:
            day = pd.Timestamp(text)
        except ValueError as err:
            raise PeriodError(f"period {text!r} is not a valid date: {err}") from None
        return Period(text, "date", day, day)
    raise PeriodError(
        f"cannot read period {text!r}; expected a quarter like 2011Q3, a month like "
        "2011-09, a year like 2011, an as-of date like 2011-09-30, or 'all'"
    )


def complete_periods(first: pd.Timestamp, last: pd.Timestamp, kind: str = "quarter") -> list[Period]:
    """The periods of ``kind`` whose last day falls within ``[first, last]``.

    A period counts as complete when the data reaches its last day; the last
    period in the list is the default one to report on.

    >>> [p.label for p in complete_periods(pd.Timestamp("2010-12-01"), pd.Timestamp("2011-12-09"))]
    ['2010Q4', '2011Q1', '2011Q2', '2011Q3']
    """
    freq = {"quarter": "Q", "month": "M", "year": "Y"}[kind]
    first, last = pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
    periods = pd.period_range(first, last, freq=freq)
    out = []
    for p in periods:
        end = p.end_time.normalize()
        if first <= end <= last:
            label = f"{p.year}Q{p.quarter}" if kind == "quarter" else str(p)
            out.append(parse_period(label))
    return out


def package_dir() -> Path:
    """The installed ``seglab`` package folder."""
    return Path(__file__).resolve().parent


def _bundle_root() -> Path:
    # In a source checkout (editable install) data/ and notebooks/ sit beside the
    # package; a wheel carries copies under seglab/_bundled/.
    checkout = package_dir().parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "notebooks").is_dir():
        return checkout
    return package_dir() / "_bundled"


def data_dir() -> Path:
    """The folder holding ``external/`` (public reference data) and ``sample/``."""
    return _bundle_root() / "data"


def notebooks_dir() -> Path:
    """The folder holding the pipeline notebooks ``01_collect.ipynb`` … ``05_report.ipynb``."""
    return _bundle_root() / "notebooks"


PROJECT_MARKERS = (".seglab/", "pyproject.toml naming seglab", "reports/")
"""What makes a folder a seglab project folder (see :func:`project_dir`)."""


def _is_project(folder: Path) -> bool:
    if (folder / ".seglab").is_dir() or (folder / "reports").is_dir():
        return True
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        return "seglab" in pyproject.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def project_dir(start: str | Path | None = None) -> Path:
    """The project folder: where the salt (``.seglab/salt``) and ``reports/`` live.

    Starting at ``start`` (the current working directory by default) and going up
    through its parents, the first folder that holds a ``.seglab/`` folder, a
    ``reports/`` folder, or a ``pyproject.toml`` that names seglab is the project
    folder. When no folder up to the file-system root has any of them, ``start``
    itself is the project folder (a first run there creates ``.seglab/`` and
    ``reports/`` in it).

    So ``seglab run`` in the project's root and a notebook whose kernel started in
    ``<project>/notebooks/`` use the same salt, hence the same customer pseudonyms,
    and the same run folders.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()).resolve()
    >>> (root / "reports").mkdir(); (root / "notebooks").mkdir()
    >>> project_dir(root / "notebooks") == root
    True
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _is_project(folder):
            return folder
    return here


def reports_dir(out: str | Path | None = None) -> Path:
    """Where run folders go: ``out`` when given, else ``reports/`` in the project folder
    (:func:`project_dir`)."""
    return Path(out) if out is not None else project_dir() / "reports"


@dataclass(frozen=True)
class RunFolder:
    """The files of one run. Everything a later stage needs is a file in here.

    >>> rf = RunFolder(Path("reports/sample/2025Q4"))
    >>> rf.artifact("features.parquet").as_posix()
    'reports/sample/2025Q4/artifacts/features.parquet'
    """

    path: Path

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

    def artifact(self, name: str) -> Path:
        """The path of one artifact (it may not exist yet)."""
        return self.artifacts / name

    def require(self, name: str, *, stage: str) -> Path:
        """The path of an artifact a stage needs; a clear error when it is missing."""
        from seglab.exceptions import InputError

        path = self.artifact(name)
        if not path.exists():
            raise InputError(
                f"{path} is missing; it is written by the {stage} stage. Run that stage "
                f"first (seglab {stage} --dataset … --period …) or the whole pipeline (seglab run)"
            )
        return path

    def make(self) -> RunFolder:
        """Create the folder and its ``artifacts/`` and ``notebooks/`` subfolders."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.notebooks.mkdir(parents=True, exist_ok=True)
        return self


def run_folder(dataset: str, period: str | Period, out: str | Path | None = None) -> RunFolder:
    """The run folder ``<out>/<dataset>/<period>`` (``out`` defaults to ``./reports``)."""
    label = parse_period(period).label
    return RunFolder(reports_dir(out) / dataset / label)


def run_folder_for(run_dir: str | Path | None, dataset: str, period: str | Period,
                   out: str | Path | None = None) -> RunFolder:
    """The run folder a notebook writes into: ``run_dir`` when given (``seglab run`` passes
    it), else ``<out>/<dataset>/<period>`` (a notebook opened by hand)."""
    if run_dir:
        return RunFolder(Path(run_dir))
    return run_folder(dataset, period, out)
