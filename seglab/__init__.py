"""seglab: customer segmentation in Jupyter.

The pipeline has five stages, each a module and a numbered notebook::

    collect → features → cluster → personas → report

``seglab run`` executes the notebooks in order for one dataset and one period
into one run folder (``reports/<dataset>/<period>/``).
"""

import logging

__version__ = "0.1.0"

from seglab import collect, config, datasets, exceptions  # noqa: E402
from seglab.exceptions import SeglabError  # noqa: E402

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__", "collect", "config", "datasets", "exceptions", "SeglabError"]
