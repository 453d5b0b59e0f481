"""The *cluster* stage: from the feature table to segments an analyst can defend.

>>> import seglab
>>> fs = seglab.features.FeatureSet.read("reports/sample/2025Q4/artifacts")   # doctest: +SKIP
>>> seg = seglab.cluster.segment(fs)                                         # doctest: +SKIP
>>> seg.selection.table; seg.sizes(); seg.add_map(fs.features)                 # doctest: +SKIP
"""

from seglab.cluster.alignment import Alignment, align_segments
from seglab.cluster.columns import GROUPS, RESTATED, SegmentationColumns, select_columns
from seglab.cluster.embedding import cached_embedding, embed
from seglab.cluster.kprototypes import KPrototypes
from seglab.cluster.multicriteria import CrossedSegments, cross_segments
from seglab.cluster.pipeline import ORDER_COLUMNS, Segmentation, segment
from seglab.cluster.preprocess import SCALINGS, SKEWS, Preprocessor
from seglab.cluster.segmenter import ALGORITHMS, UNASSIGNED, Segmenter, canonical_order, load_segmenter
from seglab.cluster.selection import (JACCARD_BANDS, KSelection, SelectionRule, bootstrap_stability, choose_k,
                                     prediction_strength)

__all__ = [
    "segment",
    "Segmentation",
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
    "SelectionRule",
    "JACCARD_BANDS",
    "bootstrap_stability",
    "prediction_strength",
    "canonical_order",
    "GROUPS",
    "RESTATED",
    "SKEWS",
    "SCALINGS",
    "cross_segments",
    "CrossedSegments",
    "align_segments",
    "Alignment",
    "embed",
    "cached_embedding",
]
