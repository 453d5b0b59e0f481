"""The exceptions seglab raises.

Every error seglab raises on purpose derives from :class:`SeglabError`. Errors about
what the user gave us (data, parameters, dataset specs) derive from
:class:`InputError` or :class:`ParameterError`; the command line prints their
message without a traceback and exits with status 2.

Messages follow one pattern: what was expected, what was found, how to fix it.
"""

from __future__ import annotations

__all__ = [
    "SeglabError",
    "InputError",
    "SourceError",
    "SchemaError",
    "DataTypeError",
    "EmptyDataError",
    "ParameterError",
    "SpecError",
    "UnknownDatasetError",
    "PeriodError",
    "EngineUnavailableError",
    "StageError",
    "SaltMismatchError",
    "RunInProgressError",
    "SeglabWarning",
    "SaltWarning",
    "DataQualityWarning",
    "ConvergenceWarning",
]


class SeglabError(Exception):
    """Base class of every error seglab raises on purpose."""


class InputError(SeglabError, ValueError):
    """The input data cannot be used as it is."""


class SourceError(InputError):
    """A data source is missing, unreadable or of an unknown format."""


class SchemaError(InputError):
    """A table lacks a required column or has one under another name."""


class DataTypeError(InputError):
    """Values cannot be read as the type the schema needs (dates, numbers)."""


class EmptyDataError(InputError):
    """A table, a period or a selection holds no rows."""


class ParameterError(SeglabError, ValueError):
    """A parameter is unknown, out of range or impossible to satisfy."""


class SpecError(ParameterError):
    """A dataset spec (YAML) is malformed."""


class UnknownDatasetError(ParameterError):
    """No built-in dataset or spec file has that name."""


class PeriodError(ParameterError):
    """A period cannot be parsed or has no data."""


class EngineUnavailableError(ParameterError):
    """The chosen engine cannot be started here: a package or runtime is missing (PySpark,
    Java), or the cluster cannot be reached; the message says what to install or check."""


class StageError(SeglabError):
    """A pipeline stage (a notebook) failed; the message names the notebook and cell."""

    def __init__(self, message: str, *, notebook: str | None = None, cell: int | None = None,
                 error_name: str | None = None) -> None:
        super().__init__(message)
        self.notebook = notebook
        self.cell = cell
        self.error_name = error_name


class SaltMismatchError(InputError):
    """Two runs (or a run and this project) were pseudonymized with different salts."""


class RunInProgressError(SeglabError):
    """Another process is running the same dataset and period into the same run folder."""

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class SeglabWarning(UserWarning):
    """Base class of seglab's warnings."""


class DataQualityWarning(SeglabWarning):
    """Something in the data was dropped, repaired or looks suspicious."""


class ConvergenceWarning(SeglabWarning):
    """A model fit did not converge; results may be unreliable."""


class SaltWarning(SeglabWarning):
    """A new pseudonymization salt was created: pseudonyms will differ from earlier runs'."""
