"""The *cluster* stage: from the feature table to segments an analyst can defend.

>>> import seglab
>>> fs = seglab.features.FeatureSet.read("reports/sample/2025Q4/artifacts")   # doctest: +SKIP
>>> seg = seglab.cluster.segment(fs, criteria=["psychographic"])              # doctest: +SKIP
>>> seg.selection.table; seg.sizes(); seg.add_map(fs.features)                 # doctest: +SKIP
"""

from seglab.cluster.alignment import Alignment, align_segments
from seglab.cluster.columns import SegmentationColumns, select_columns
from seglab.cluster.embedding import cached_embedding, embed
from seglab.cluster.kprototypes import KPrototypes
from seglab.cluster.multicriteria import CrossedSegments, cross_segments
from seglab.cluster.pipeline import ORDER_COLUMNS, Segmentation, default_columns, segment
from seglab.cluster.preprocess import Preprocessor
from seglab.cluster.segmenter import ALGORITHMS, UNASSIGNED, Segmenter, load_segmenter
from seglab.cluster.selection import KSelection, bootstrap_stability, choose_k

__all__ = [
    "segment",
    "Segmentation",
    "default_columns",
    "Segmenter",
    "load_segmenter",
    "ALGORITHMS",
    "UNASSIGNED",
    "ORDER_COLUMNS",
    "Preprocessor",
    "KPrototypes",
    "select_columns",
    "SegmentationColumns",
    "choose_k",
    "KSelection",
    "bootstrap_stability",
    "cross_segments",
    "CrossedSegments",
    "align_segments",
    "Alignment",
    "embed",
    "cached_embedding",
]
