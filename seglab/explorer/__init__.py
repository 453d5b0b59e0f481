"""Explore segmentations interactively in JupyterLab (ipywidgets).

>>> import seglab
>>> app = seglab.explore(seglab.features.FeatureSet.read(run.artifacts))  # doctest: +SKIP

:class:`ExplorerModel` is the widget-free part (cached segmentations, maps, evidence,
saving parameters, exporting audiences); :class:`Explorer` is the app on top of it.
"""

from seglab.explorer.app import Explorer, explore
from seglab.explorer.model import Choice, ExplorerModel, Preview, load_features, load_outcomes

__all__ = ["explore", "load_features", "load_outcomes", "Explorer", "ExplorerModel", "Choice", "Preview"]
