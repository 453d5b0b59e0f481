"""seglab: customer segmentation in Jupyter.

The pipeline has five stages, each a module and a numbered notebook::

    collect → features → cluster → personas → report

``seglab run`` executes the notebooks in order for one dataset and one period
into one run folder (``reports/<dataset>/<period>/``), the API between the stages:
``seglab.run`` reads and writes every artifact of it.

Submodules are imported on first use (``seglab.features`` …), so that a script using
one stage does not pay for the others (plotting libraries, scikit-learn).
"""

import importlib
import logging

__version__ = "0.1.0"

from seglab.exceptions import SeglabError  # noqa: E402

logging.getLogger(__name__).addHandler(logging.NullHandler())

_SUBMODULES = ("collect", "features", "cluster", "personas", "report", "explorer", "workshop", "config",
               "datasets", "plotting", "run", "runner", "exceptions", "measure", "engine")

__all__ = ["__version__", *_SUBMODULES, "SeglabError", "explore"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"seglab.{name}")
    if name == "explore":  # the explorer app: seglab.explore(features)
        return importlib.import_module("seglab.explorer").explore
    raise AttributeError(f"module 'seglab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
