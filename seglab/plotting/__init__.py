"""Plots, one module per stage. Axes-level ``plot_*`` functions take ``ax=None`` and return the
axes they drew on; figure-level ones (several panels) return the figure."""

from seglab.plotting.cluster import (plot_k_evidence, plot_segment_map, plot_segment_sizes,
                                     plot_stability)
from seglab.plotting._base import segment_color
from seglab.plotting.collect import plot_activity, plot_quality
from seglab.plotting.personas import plot_all_traits, plot_profile_heatmap, plot_size_value, plot_traits
from seglab.plotting.measure import plot_campaign_lift, plot_nps
from seglab.plotting.report import plot_migration, plot_segment_changes
from seglab.plotting.features import (plot_clv, plot_correlations, plot_distributions,
                                      plot_journey_stages, plot_rfm_grid, plot_rfm_segments,
                                      plot_value_validation)

__all__ = [
    "plot_quality",
    "plot_activity",
    "plot_distributions",
    "plot_rfm_grid",
    "plot_rfm_segments",
    "plot_clv",
    "plot_correlations",
    "plot_journey_stages",
    "plot_value_validation",
    "plot_k_evidence",
    "plot_segment_map",
    "plot_segment_sizes",
    "plot_stability",
    "plot_profile_heatmap",
    "plot_traits",
    "plot_all_traits",
    "plot_size_value",
    "plot_migration",
    "plot_segment_changes",
    "plot_campaign_lift",
    "plot_nps",
    "segment_color",
]
