"""Where things are: bundled data, notebooks, the project and its reports folder, and periods.

A run of the pipeline is for one dataset and one **period** and writes into one
**run folder**, ``reports/<dataset>/<period>/`` (its layout and artifacts:
:mod:`seglab.run`).

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
    "STAGES",
    "stage_notebook",
    "available_stages",
    "parse_period",
    "complete_periods",
    "project_dir",
    "PROJECT_MARKERS",
    "package_dir",
    "data_dir",
    "notebooks_dir",
    "reports_dir",
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


STAGES = ("collect", "features", "cluster", "personas", "report")
"""The pipeline stages, in order; stage ``i`` is notebook ``0{i+1}_<stage>.ipynb``."""


def stage_notebook(stage: str) -> Path:
    """The source notebook of a stage.

    >>> stage_notebook("cluster").name
    '03_cluster.ipynb'
    """
    from seglab._validation import did_you_mean, show_list
    from seglab.exceptions import ParameterError

    if stage not in STAGES:
        raise ParameterError(f"unknown stage {stage!r}{did_you_mean(stage, STAGES)}; stages: "
                             f"{show_list(STAGES)}")
    return notebooks_dir() / f"{STAGES.index(stage) + 1:02d}_{stage}.ipynb"


def available_stages() -> list[str]:
    """The stages whose notebooks exist, in pipeline order."""
    return [s for s in STAGES if stage_notebook(s).exists()]


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
