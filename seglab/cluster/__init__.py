"""The *cluster* stage: from the feature table to segments an analyst can defend.

The preprocessing is one object, an unfitted :class:`Preprocessor`, passed as it is to
:func:`segment`, :func:`choose_k` and :class:`Segmenter` (which fit a clone); the rule
that picks k is one :class:`SelectionRule`; the number of segments is ``k`` everywhere.
The allowed choices are :data:`ALGORITHMS`, :data:`SKEWS`, :data:`SCALINGS` and
:data:`MAP_METHODS`.

>>> import seglab
>>> fs = seglab.features.FeatureSet.read("reports/sample/2025Q4/artifacts")   # doctest: +SKIP
>>> seg = seglab.cluster.segment(fs, preprocessor=seglab.cluster.Preprocessor(scaling="standard"))  # doctest: +SKIP
>>> seg.selection.table; seg.sizes(); seg.add_map(fs.features)                 # doctest: +SKIP
"""

from seglab.cluster.alignment import Alignment, align_segments
from seglab.cluster.assign import assign_segments, write_assigned, write_segments
from seglab.cluster.columns import GROUPS, RESTATED, SegmentationColumns, select_columns
from seglab.cluster.embedding import MAP_METHODS, cached_embedding, embed
from seglab.cluster.kprototypes import KPrototypes
from seglab.cluster.multicriteria import CrossedSegments, cross_segments
from seglab.cluster.sampling import ORDER_COLUMNS, SAMPLE_SIZE, count_customers, draw_sample
from seglab.cluster.segmentation import MAP_POINTS, PreparedSegmentation, Segmentation, prepare_segmentation, segment
from seglab.cluster.preprocess import SCALINGS, SKEWS, Preprocessor
from seglab.cluster.segmenter import (ALGORITHMS, UNASSIGNED, PreparedData, Segmenter, canonical_order,
                                     load_segmenter)
from seglab.cluster.selection import (JACCARD_BANDS, KSelection, SelectionRule, bootstrap_stability, choose_k,
                                     prediction_strength)

__all__ = [
    "segment",
    "Segmentation",
    "prepare_segmentation",
    "PreparedSegmentation",
    "PreparedData",
    "SAMPLE_SIZE",
    "draw_sample",
    "count_customers",
    "MAP_POINTS",
    "Segmenter",
    "load_segmenter",
    "assign_segments",
    "write_segments",
    "write_assigned",
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
    "MAP_METHODS",
    "cross_segments",
    "CrossedSegments",
    "align_segments",
    "Alignment",
    "embed",
    "cached_embedding",
]
