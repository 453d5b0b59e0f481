"""The *collect* stage: sources → canonical tables, a quality gate, pseudonymized ids.

>>> import seglab
>>> data = seglab.collect.collect("sample", "2025Q4")      # doctest: +SKIP
>>> data.quality.to_frame()                                 # doctest: +SKIP

See :func:`collect` for the whole stage; the pieces are public for custom pipelines.
"""

from seglab.collect.canonical import CanonicalData, CanonicalFiles
from seglab.collect.engine_read import EngineOptionError, SourceTooLargeError
from seglab.collect.expressions import evaluate, parse_expression
from seglab.collect.stage import available_periods, choose_period, collect, dataset_date_range, resolve_period
from seglab.collect.privacy import get_salt, hash_email, pseudonymize
from seglab.collect.quality import CHECKS, DEFAULT_POLICIES, QualityReport, far_out
from seglab.collect.sources import read_source
from seglab.collect.spec import CRITERIA, DatasetSpec, builtin_specs, load_spec, spec_from_dict

__all__ = [
    "collect",
    "CanonicalData",
    "QualityReport",
    "CHECKS",
    "DEFAULT_POLICIES",
    "CRITERIA",
    "DatasetSpec",
    "load_spec",
    "spec_from_dict",
    "builtin_specs",
    "read_source",
    "evaluate",
    "parse_expression",
    "pseudonymize",
    "hash_email",
    "get_salt",
    "far_out",
    "choose_period",
    "resolve_period",
    "CanonicalFiles",
    "dataset_date_range",
    "available_periods",
    "EngineOptionError",
    "SourceTooLargeError",
]
