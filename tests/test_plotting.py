"""The plotting contract: every axes-level ``plot_*`` takes ``ax=None`` and returns the axes it
drew on; every figure-level one returns its figure. Each public function has a case here, on
the sample data's real stage outputs (and on the "nothing to draw" path where it has one)."""

import inspect

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import seglab.plotting as splot
from seglab.cluster import SelectionRule, segment
from seglab.collect import collect
from seglab.features import build_features
from seglab.measure import Measurement, feedback_by_segment, measure_campaigns
from seglab.personas import build_personas
from seglab.report import Comparison


@pytest.fixture(scope="module")
def stages():
    """The sample's collected data, features, segmentation (k chosen) with a map, personas, a
    hand-made comparison with last period and the measurement of its campaigns and feedback."""
    data = collect("sample", "2025Q4")
    fs = build_features(data)
    seg = segment(fs, criteria=["value", "psychographic"], k_values=range(2, 5),
                  rule=SelectionRule(n_bootstrap=2, n_splits=2)).add_map(fs.features, method="pca")
    personas = build_personas(fs, seg, explain=False)
    names = list(personas.names.values())
    migration = pd.DataFrame([[40, 5, 2], [3, 50, 4]], index=names[:2], columns=[*names[:2], "lost"])
    changes = pd.DataFrame({"segment": [0, 1], "name": names[:2], "customers_then": [47, 57],
                            "customers_now": [43, 55]})
    comparison = Comparison(current_period="2025Q4", previous_period="2025Q3", migration=migration,
                            changes=changes)
    measured = Measurement("sample", "2025Q4",
                           campaigns=measure_campaigns(data.campaigns, seg.segments, period="2025Q4",
                                                       n_resamples=200),
                           feedback=feedback_by_segment(data.feedback, seg.segments, period="2025Q4"))
    return {"data": data, "fs": fs, "seg": seg, "personas": personas, "comparison": comparison,
            "measured": measured}


def _cases(s):
    """name → (function, arguments) drawing something real, for every public plot_*."""
    fs, seg, personas = s["fs"], s["seg"], s["personas"]
    key = fs.key_columns(6)
    return {
        "plot_quality": (s["data"].quality,),
        "plot_activity": (s["data"].transactions,),
        "plot_distributions": (fs.features, key),
        "plot_rfm_grid": (fs.features,),
        "plot_rfm_segments": (fs.features,),
        "plot_clv": (fs.features,),
        "plot_correlations": (fs.features, key),
        "plot_journey_stages": (fs.features,),
        "plot_value_validation": (fs.validation,),
        "plot_k_evidence": (seg.selection,),
        "plot_segment_map": (seg.segments,),
        "plot_segment_sizes": (seg.segments,),
        "plot_stability": (seg.selection,),
        "plot_profile_heatmap": (personas,),
        "plot_traits": (personas, personas.cards[0].segment),
        "plot_all_traits": (personas,),
        "plot_size_value": (personas,),
        "plot_migration": (s["comparison"],),
        "plot_segment_changes": (s["comparison"],),
        "plot_campaign_lift": (s["measured"],),
        "plot_nps": (s["measured"],),
    }


def _empty_cases(s):
    """Axes-level functions with a "nothing to draw" path: they return the axes given too."""
    bare = s["fs"].features[["customer_id"]]
    skipped = Comparison.skipped_because("2025Q4", "no earlier run")
    return {"plot_rfm_grid": (bare,), "plot_clv": (bare,), "plot_journey_stages": (bare,),
            "plot_stability": (None,), "plot_migration": (skipped,), "plot_segment_changes": (skipped,),
            "plot_campaign_lift": (None,), "plot_nps": (None,)}


PLOTS = [name for name in splot.__all__ if name.startswith("plot_")]


def _axes_level(name: str) -> bool:
    parameter = inspect.signature(getattr(splot, name)).parameters.get("ax")
    return parameter is not None


def test_every_public_plot_has_a_case(stages):
    assert sorted(_cases(stages)) == sorted(PLOTS)


@pytest.mark.parametrize("name", [n for n in PLOTS if _axes_level(n)])
def test_an_axes_level_plot_draws_on_the_axes_given_and_returns_it(stages, name):
    assert inspect.signature(getattr(splot, name)).parameters["ax"].default is None
    args = _cases(stages)[name]
    _, given = plt.subplots()
    drawn = getattr(splot, name)(*args, ax=given)
    assert drawn is given
    assert given.has_data() or given.texts or given.collections or given.images
    alone = getattr(splot, name)(*args)  # ax=None: a new axes on its own figure
    assert isinstance(alone, plt.Axes) and alone is not given and alone.figure is not given.figure


@pytest.mark.parametrize("name", [n for n in PLOTS if not _axes_level(n)])
def test_a_figure_level_plot_returns_its_figure(stages, name):
    figure = getattr(splot, name)(*_cases(stages)[name])
    assert isinstance(figure, plt.Figure) and figure.axes


@pytest.mark.parametrize("name", ["plot_rfm_grid", "plot_clv", "plot_journey_stages", "plot_stability",
                                  "plot_migration", "plot_segment_changes", "plot_campaign_lift", "plot_nps"])
def test_nothing_to_draw_still_returns_the_axes_given(stages, name):
    _, given = plt.subplots()
    drawn = getattr(splot, name)(*_empty_cases(stages)[name], ax=given)
    assert drawn is given and given.texts  # a note says why there is nothing


def test_segments_0_to_9_have_distinct_colours_and_unassigned_is_grey():
    assert len({splot.segment_color(s) for s in range(10)}) == 10
    assert splot.segment_color(-1) == "#bbbbbb"


def test_stability_names_each_segment_and_keeps_segment_0_on_top(stages):
    seg, personas = stages["seg"], stages["personas"]
    ax = splot.plot_stability(seg.selection, names=personas.names)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    expected = [f"{s} · {personas.names[s]}" for s in seg.selection.segment_stability().index]
    assert sorted(labels) == sorted(expected)
    top = max(ax.get_yticks())
    assert labels[list(ax.get_yticks()).index(top)].startswith("0 · ")
    plt.close(ax.figure)


def test_correlations_of_many_customers_are_measured_on_a_seeded_sample_and_say_so(stages):
    fs = stages["fs"]
    key = fs.key_columns(6)
    full = splot.plot_correlations(fs.features, key)
    sampled = splot.plot_correlations(fs.features, key, max_rows=len(fs.features) // 2)
    again = splot.plot_correlations(fs.features, key, max_rows=len(fs.features) // 2)
    assert "sample" not in full.get_title()
    assert f"a sample of {len(fs.features) // 2:,} of {len(fs.features):,} customers" in sampled.get_title()
    values = [ax.collections[0].get_array() for ax in (full, sampled, again)]
    assert (values[1] == values[2]).all()  # seeded: the same picture each run
    assert abs(np.sort(values[0], axis=None) - np.sort(values[1], axis=None)).max() < 0.2  # close to all customers'
    plt.close("all")


def test_counts_of_millions_read_as_1m_not_an_offset():
    sizes = pd.DataFrame({"customers": [1_111_738, 812_910, 1_542_121]}, index=[0, 1, 2])
    ax = splot.plot_segment_sizes(sizes)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert "1M" in labels and all(label == "0" or label[-1] in "kM" for label in labels), labels
    plt.close(ax.figure)
