"""The *features* stage: one row per customer with every criterion, as of a snapshot.

>>> import seglab
>>> data = seglab.collect.collect("sample", "2025Q4")            # doctest: +SKIP
>>> fs = seglab.features.build_features(data)                    # doctest: +SKIP
>>> fs.features.head(); fs.dictionary.to_frame()                 # doctest: +SKIP

Transaction-scale work runs as Ibis expressions on DuckDB (or Spark, or another SQL
engine with ``min_by``); see :mod:`seglab.features.engine`.
"""

from seglab.features.build import KEY_FEATURES, FeatureSet, build_features
from seglab.features.dictionary import FeatureDictionary, FeatureInfo
from seglab.features.engine import as_table, connect
from seglab.features.journey import JOURNEY_STAGES, journey_stage
from seglab.features.profile import AGE_BANDS, profile_features
from seglab.features.rfm import (RFM_SEGMENT_GRID, RFM_SEGMENTS, btyd_summary, marketing_rfm,
                                 rfm_scores, rfm_segments, tie_groups)
from seglab.features.value import (BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD,
                                   customer_lifetime_value)
from seglab.features.value.features import value_features
from seglab.features.value.validation import (ValueValidation, calibration_holdout, evaluate_holdout,
                                              validate_value_model)

__all__ = [
    "build_features",
    "FeatureSet",
    "KEY_FEATURES",
    "FeatureDictionary",
    "FeatureInfo",
    "btyd_summary",
    "marketing_rfm",
    "rfm_scores",
    "rfm_segments",
    "RFM_SEGMENT_GRID",
    "RFM_SEGMENTS",
    "tie_groups",
    "BetaGeo",
    "ModifiedBetaGeo",
    "GammaGamma",
    "ParetoNBD",
    "customer_lifetime_value",
    "value_features",
    "validate_value_model",
    "calibration_holdout",
    "evaluate_holdout",
    "ValueValidation",
    "journey_stage",
    "JOURNEY_STAGES",
    "profile_features",
    "AGE_BANDS",
    "connect",
    "as_table",
]
