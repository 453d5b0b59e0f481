"""Dataset specs: where the data is and how it maps onto the canonical schema.

A spec is a YAML file. The smallest useful one::

    name: my_shop
    transactions:
      sources:
        - path: exports/orders_*.csv          # relative to this file; globs allowed
          options: {sep: ";", encoding: latin-1}
      columns:                                # canonical name: source column
        customer_id: Customer
        order_id: Invoice
        order_date: Date
        quantity: Qty
        unit_price: Price
      derive:                                 # safe expressions, no eval
        amount: quantity * unit_price
      dates: {order_date: "%d/%m/%Y %H:%M"}    # optional explicit date formats
      mixed_time_zones: utc                   # or refuse: dates with different offsets

Optional tables ``customers``, ``events``, ``campaigns`` (who got which campaign, in the
treatment or the control group, and the outcome; ``response_window_days:`` derives the
outcome from the transactions instead) and ``feedback`` (NPS, CSAT, ratings, survey
answers; ``scales:`` declares the scale of ``survey_<question>`` kinds) are given the same
way. A customer table may name the columns that record answers to campaigns sent to
everyone, without a control group (``responses: [accepted_offer_1, …]``): they are shown as
response rates, never as lift.

Sources may also be ``url:`` (any SQLAlchemy URL, ``${ENV_VARS}`` expanded) or a
DuckDB file, each with ``table:`` or ``query:``. ``engine:`` names the engine the run
uses (``duckdb``, or ``spark`` with a ``master`` and ``config``; see :mod:`seglab.engine`). See the README for every key.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from seglab._io import load_yaml

from seglab._validation import did_you_mean, show_list
from seglab.collect.expressions import parse_expression
from seglab.engine import EngineSettings, parse_engine
from seglab.exceptions import SpecError, UnknownDatasetError

__all__ = [
    "CRITERIA",
    "TAGS",
    "POLICIES",
    "SourceSpec",
    "TableSpec",
    "QualitySpec",
    "DatasetSpec",
    "load_spec",
    "spec_from_dict",
    "builtin_specs",
]

CRITERIA = ("demographic", "geographic", "psychographic", "firmographic", "needs",
            "behaviour", "value", "journey", "rfm", "other")
"""Segmentation criteria a column can be tagged with."""

TAGS = (*CRITERIA, "pii", "email", "ignore")
"""Every tag: the criteria plus ``pii`` (keyed hash), ``email`` (kept only as the
SHA-256 of the normalised address, for ad-platform audiences) and ``ignore``."""

POLICIES = ("drop", "keep", "flag")

FORMATS = ("csv", "parquet", "excel", "jsonl", "duckdb", "sql")

_EXTENSIONS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
    ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".duckdb": "duckdb", ".ddb": "duckdb",
}

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _specs_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "datasets" / "specs"


@dataclass(frozen=True)
class SourceSpec:
    """One place rows come from: a file (or glob), a DuckDB file, or a SQL database."""

    path: str | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    format: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    derive: dict[str, str] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)
    mixed_time_zones: str = "utc"

    @property
    def kind(self) -> str:
        """The reader to use: one of ``csv, parquet, excel, jsonl, duckdb, sql``."""
        if self.format:
            return self.format
        if self.url:
            return "sql"
        name = (self.path or "").lower()
        for ext in (".gz", ".bz2", ".zip", ".xz", ".zst"):
            name = name.removesuffix(ext)
        return _EXTENSIONS.get(Path(name).suffix, "unknown")

    def describe(self) -> str:
        """A short human description (no credentials)."""
        if self.url:
            where = re.sub(r"//[^@/]*@", "//***@", self.url)
            return f"{where} ({self.table or 'query'})"
        return str(self.path) + (f" ({self.table})" if self.table else "")


@dataclass(frozen=True)
class TableSpec:
    """How one canonical table (customers, transactions, events, campaigns or feedback) is built.

    ``response_window_days`` (campaigns only): derive ``converted`` and ``revenue`` from the
    customer's transactions in that many days after ``sent_at``. ``scales`` (feedback only):
    the scale of each ``survey_<question>`` kind (and of ``rating`` when it is not 1–5),
    ``{kind: (low, high)}``. ``responses`` (customers only): columns holding 0/1 answers to
    campaigns sent without a control group.
    """

    sources: tuple[SourceSpec, ...]
    criteria: dict[str, str] = field(default_factory=dict)
    overlap_key: str | None = None
    customer_attributes: dict[str, str] = field(default_factory=dict)
    response_window_days: int | None = None
    scales: dict[str, tuple[float, float]] = field(default_factory=dict)
    responses: tuple[str, ...] = ()


@dataclass(frozen=True)
class QualitySpec:
    """How the data-quality gate recognises problems, and what it does with them."""

    cancellation_pattern: str | None = None
    product_pattern: str | None = None
    non_product_codes: tuple[str, ...] = ()
    outlier_fence: float = 3.0
    policies: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: metadata, up to five canonical tables, and the quality rules."""

    name: str
    title: str = ""
    description: str = ""
    licence: str = ""
    attribution: str = ""
    currency: str = ""
    period_kind: str = "quarter"
    as_of: str | None = None
    transactions: TableSpec | None = None
    customers: TableSpec | None = None
    events: TableSpec | None = None
    campaigns: TableSpec | None = None
    feedback: TableSpec | None = None
    quality: QualitySpec = field(default_factory=QualitySpec)
    segment_on: tuple[str, ...] = ()
    engine: EngineSettings | None = None
    base_dir: Path = field(default_factory=Path.cwd)
    origin: Path | None = None

    @property
    def has_transactions(self) -> bool:
        return self.transactions is not None

    def resolve(self, text: str) -> str:
        """Expand ``{data}`` (bundled data folder), ``${ENV}`` and ``~`` in a path or URL."""
        from seglab.config import data_dir

        def env(match: re.Match) -> str:
            value = os.environ.get(match[1])
            if value is None:
                raise SpecError(
                    f"dataset {self.name!r} refers to environment variable ${{{match[1]}}}, "
                    f"which is not set; export it before running (e.g. export {match[1]}=...)"
                )
            return value

        return os.path.expanduser(_ENV.sub(env, text.replace("{data}", str(data_dir()))))

    def resolve_path(self, text: str) -> Path:
        """A source path, relative paths taken from the spec file's folder."""
        path = Path(self.resolve(text))
        return path if path.is_absolute() else self.base_dir / path

    def with_policies(self, **policies: str) -> DatasetSpec:
        """A copy with some quality policies overridden (e.g. ``cancellations="drop"``)."""
        merged = {**self.quality.policies, **policies}
        return replace(self, quality=replace(self.quality, policies=merged))


# --------------------------------------------------------------------------- parsing

_SOURCE_KEYS = {"path", "url", "table", "query", "format", "options", "columns", "derive", "dates",
                "mixed_time_zones"}
_TABLE_KEYS = {"sources", "columns", "derive", "dates", "criteria", "overlap_key",
               "customer_attributes", "mixed_time_zones", "response_window_days", "scales", "responses"}
_TABLE_ONLY = {"response_window_days": "campaigns", "scales": "feedback", "responses": "customers"}
_QUALITY_KEYS = {"cancellation_pattern", "product_pattern", "non_product_codes", "outlier_fence",
                 "policies"}
_TOP_KEYS = {"name", "title", "description", "licence", "license", "attribution", "currency",
             "periods", "as_of", "transactions", "customers", "events", "campaigns", "feedback", "quality",
             "segment_on", "engine"}


def _check_keys(mapping: Any, allowed: set[str], where: str) -> dict:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise SpecError(f"{where} must be a mapping of keys to values; got {type(mapping).__name__}")
    for key in mapping:
        if key not in allowed:
            raise SpecError(
                f"{where} has unknown key {key!r}{did_you_mean(str(key), allowed)}; "
                f"allowed keys: {show_list(sorted(allowed), 20)}"
            )
    return mapping


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise SpecError(f"{where} must map names to values, like {{order_id: Invoice}}; got {value!r}")
    return {k: str(v) for k, v in value.items()}


def _criteria(value: Any, where: str) -> dict[str, str]:
    """``{criterion: [columns]}`` in YAML → ``{column: criterion}``."""
    out: dict[str, str] = {}
    for tag, columns in _check_keys(value, set(TAGS), where).items():
        if isinstance(columns, str):
            columns = [columns]
        if not isinstance(columns, list):
            raise SpecError(f"{where}.{tag} must be a list of column names; got {columns!r}")
        for col in columns:
            if col in out:
                raise SpecError(f"{where}: column {col!r} is tagged both {out[col]!r} and {tag!r}")
            out[str(col)] = tag
    return out


def _time_zones(value: Any, where: str) -> str:
    from seglab.collect.schema import TIME_ZONE_POLICIES

    if value not in TIME_ZONE_POLICIES:
        raise SpecError(f"{where}.mixed_time_zones must be one of {show_list(TIME_ZONE_POLICIES)} "
                        f"(convert dates with different offsets to UTC, or stop); got {value!r}")
    return value


def _source(raw: Any, where: str, shared: dict) -> SourceSpec:
    raw = _check_keys(raw, _SOURCE_KEYS, where)
    if bool(raw.get("path")) == bool(raw.get("url")):
        raise SpecError(f"{where} needs exactly one of 'path' (a file or glob) or 'url' (a database)")
    if raw.get("table") and raw.get("query"):
        raise SpecError(f"{where} has both 'table' and 'query'; give one")
    fmt = raw.get("format")
    if fmt is not None and fmt not in FORMATS:
        alias = _EXTENSIONS.get(f".{str(fmt).lower().lstrip('.')}")
        hint = f" (did you mean {alias!r}?)" if alias else did_you_mean(str(fmt), FORMATS)
        raise SpecError(f"{where}.format must be one of {show_list(FORMATS)}; got {fmt!r}{hint}")
    source = SourceSpec(
        path=raw.get("path"), url=raw.get("url"), table=raw.get("table"), query=raw.get("query"),
        format=fmt, options=dict(raw.get("options") or {}),
        columns={**shared["columns"], **_str_map(raw.get("columns"), f"{where}.columns")},
        derive={**shared["derive"], **_str_map(raw.get("derive"), f"{where}.derive")},
        dates={**shared["dates"], **_str_map(raw.get("dates"), f"{where}.dates")},
        mixed_time_zones=_time_zones(raw.get("mixed_time_zones", shared["mixed_time_zones"]), where),
    )
    if source.kind == "unknown":
        raise SpecError(
            f"{where}: cannot tell the format of {source.path!r} from its extension; add "
            f"format: one of {show_list(FORMATS)}"
        )
    if source.kind in ("duckdb", "sql") and not (source.table or source.query):
        raise SpecError(f"{where} reads a database: name a 'table' or give a 'query'")
    for text in source.derive.values():
        parse_expression(text)  # fail early on a bad expression
    return source


def _table(raw: Any, where: str) -> TableSpec | None:
    if raw is None:
        return None
    raw = _check_keys(raw, _TABLE_KEYS, where)
    sources = raw.get("sources")
    if not sources or not isinstance(sources, list):
        raise SpecError(f"{where}.sources must be a non-empty list of sources (path: or url:)")
    shared = {
        "columns": _str_map(raw.get("columns"), f"{where}.columns"),
        "derive": _str_map(raw.get("derive"), f"{where}.derive"),
        "dates": _str_map(raw.get("dates"), f"{where}.dates"),
        "mixed_time_zones": _time_zones(raw.get("mixed_time_zones", "utc"), where),
    }
    for key, table in _TABLE_ONLY.items():
        if key in raw and where != table:
            raise SpecError(f"{where}.{key} only applies to the {table} table; move it there")
    attrs = _str_map(raw.get("customer_attributes"), f"{where}.customer_attributes")
    for col, tag in attrs.items():
        if tag not in CRITERIA:
            raise SpecError(f"{where}.customer_attributes.{col} must be a criterion, one of "
                            f"{show_list(CRITERIA)}; got {tag!r}{did_you_mean(tag, CRITERIA)}")
    return TableSpec(
        sources=tuple(_source(s, f"{where}.sources[{i}]", shared) for i, s in enumerate(sources)),
        criteria=_criteria(raw.get("criteria"), f"{where}.criteria"),
        overlap_key=raw.get("overlap_key"),
        customer_attributes=attrs,
        response_window_days=_window(raw.get("response_window_days"), where),
        scales=_scales(raw.get("scales"), where),
        responses=_names(raw.get("responses"), f"{where}.responses"),
    )


def _window(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3660:
        raise SpecError(f"{where}.response_window_days must be a whole number of days from 1 to 3660 "
                        f"(how long after a campaign a purchase counts as its outcome); got {value!r}")
    return value


def _scales(value: Any, where: str) -> dict[str, tuple[float, float]]:
    out = {}
    for kind, bounds in _check_keys(value, set(value or {}), f"{where}.scales").items():
        ok = (isinstance(bounds, list | tuple) and len(bounds) == 2
              and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
              and bounds[0] < bounds[1])
        if not ok:
            raise SpecError(f"{where}.scales.{kind} must be [lowest, highest] score, like [1, 7]; "
                            f"got {bounds!r}")
        if kind in ("nps", "csat"):
            raise SpecError(f"{where}.scales.{kind}: the {kind.upper()} scale is fixed "
                            f"({'0 to 10' if kind == 'nps' else '1 to 5'}); remove it")
        if kind != "rating" and not str(kind).startswith("survey_"):
            raise SpecError(f"{where}.scales names {kind!r}; scales are for 'rating' and "
                            "'survey_<question>' kinds")
        out[str(kind)] = (float(bounds[0]), float(bounds[1]))
    return out


def _names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SpecError(f"{where} must be a list of column names; got {value!r}")
    return tuple(value)


def spec_from_dict(raw: dict, *, base_dir: str | Path | None = None,
                   origin: str | Path | None = None) -> DatasetSpec:
    """Build and validate a :class:`DatasetSpec` from a plain mapping (parsed YAML)."""
    from seglab.collect.quality import CHECKS

    raw = _check_keys(raw, _TOP_KEYS, "dataset spec")
    name = raw.get("name")
    if not name or not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise SpecError(f"dataset spec needs a 'name' of letters, digits, '_', '-' or '.'; got {name!r}")
    quality = _check_keys(raw.get("quality"), _QUALITY_KEYS, "quality")
    policies = _str_map(quality.get("policies"), "quality.policies")
    for check, policy in policies.items():
        if check not in CHECKS:
            raise SpecError(f"quality.policies has unknown check {check!r}{did_you_mean(check, CHECKS)}; "
                            f"checks: {show_list(list(CHECKS), 20)}")
        if policy not in POLICIES:
            raise SpecError(f"quality.policies.{check} must be one of {show_list(POLICIES)}; got {policy!r}")
    for key in ("cancellation_pattern", "product_pattern"):
        if quality.get(key):
            try:
                re.compile(quality[key])
            except re.error as err:
                raise SpecError(f"quality.{key} is not a valid regular expression: {err}") from None
    segment_on = raw.get("segment_on") or []
    if isinstance(segment_on, str):
        segment_on = [segment_on]
    if not isinstance(segment_on, list) or not all(isinstance(v, str) and v for v in segment_on):
        raise SpecError("segment_on must be a list of criteria and/or feature names, like "
                        f"[annual_income_k, spending_score] or [value, behaviour]; got {segment_on!r}")
    period_kind = raw.get("periods", "quarter")
    if period_kind not in ("quarter", "month", "year"):
        raise SpecError(f"periods must be quarter, month or year; got {period_kind!r}")
    spec = DatasetSpec(
        name=name,
        title=str(raw.get("title", name)),
        description=str(raw.get("description", "")).strip(),
        licence=str(raw.get("licence", raw.get("license", ""))),
        attribution=str(raw.get("attribution", "")).strip(),
        currency=str(raw.get("currency", "")),
        period_kind=period_kind,
        as_of=str(raw["as_of"]) if raw.get("as_of") else None,
        transactions=_table(raw.get("transactions"), "transactions"),
        customers=_table(raw.get("customers"), "customers"),
        events=_table(raw.get("events"), "events"),
        campaigns=_table(raw.get("campaigns"), "campaigns"),
        feedback=_table(raw.get("feedback"), "feedback"),
        quality=QualitySpec(
            cancellation_pattern=quality.get("cancellation_pattern"),
            product_pattern=quality.get("product_pattern"),
            non_product_codes=tuple(str(c) for c in quality.get("non_product_codes") or ()),
            outlier_fence=float(quality.get("outlier_fence", 3.0)),
            policies=policies,
        ),
        segment_on=tuple(segment_on),
        engine=parse_engine(raw.get("engine")),
        base_dir=Path(base_dir) if base_dir is not None else Path.cwd(),
        origin=Path(origin) if origin is not None else None,
    )
    if spec.transactions is None and spec.customers is None:
        raise SpecError(f"dataset {name!r} defines neither 'transactions' nor 'customers'; "
                        "give at least one table")
    return spec


def builtin_specs() -> dict[str, Path]:
    """The built-in datasets, by name, and their spec files."""
    return {p.stem: p for p in sorted(_specs_dir().glob("*.yaml"))}


def load_spec(dataset: str | Path | DatasetSpec) -> DatasetSpec:
    """Load a dataset spec: a built-in name (``online_retail``) or a YAML file path.

    Raises
    ------
    UnknownDatasetError
        When ``dataset`` is neither a built-in name nor an existing file.
    SpecError
        When the file is not a valid spec.
    """
    if isinstance(dataset, DatasetSpec):
        return dataset
    text = str(dataset)
    builtins = builtin_specs()
    if text in builtins:
        path = builtins[text]
    else:
        path = Path(text).expanduser()
        if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
            hint = did_you_mean(text, builtins)
            where = "" if path.suffix.lower() not in (".yaml", ".yml") else f"; no file at {path}"
            raise UnknownDatasetError(
                f"unknown dataset {text!r}{hint}{where}; built-in datasets: "
                f"{show_list(list(builtins))}, or give the path of a dataset spec (.yaml)"
            )
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise SpecError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path} must hold a mapping (name:, transactions:, …); got {type(raw).__name__}")
    base = path.parent if text not in builtins else Path.cwd()
    return spec_from_dict(raw, base_dir=base.resolve(), origin=path.resolve())
