"""The explorer, driven from Python: set widget values, let the observers run, check the state."""

import numpy as np
import pandas as pd
import pytest
import yaml

import seglab
from seglab.cluster import segment
from seglab.collect import collect
from seglab.exceptions import InputError
from seglab.explorer import Choice, Explorer, ExplorerModel
from seglab.features import build_features
from seglab.runner import available_stages, validate_config


@pytest.fixture(scope="module")
def data():
    collected = collect("sample", "2025Q4")
    return collected, build_features(collected)


@pytest.fixture
def app(data):
    collected, features = data
    return seglab.explore(features, customers=collected.customers, k=4, prefetch=False)


def bars(app) -> int:
    """Bars in the sizes chart (the right-hand panel of the map view)."""
    return len(app.figures["map"].axes[1].patches)


def heatmap_rows(app) -> int:
    """Segments in the profile heatmap (one column each)."""
    app.tabs.selected_index = 2  # the profiles are drawn when their tab is open
    return len(app.figures["profiles"].axes[0].get_xticklabels())


def test_the_app_opens_with_every_view(app):
    assert isinstance(app, Explorer) and app.preview.segments["segment"].nunique() == 4
    assert app.status.startswith("✓ 4 segments of 3,000 customers")
    assert "map" in app.figures and bars(app) == 4
    assert heatmap_rows(app) == 4
    assert [v for _, v in app.segment.options] == [0, 1, 2, 3]


def test_changing_k_updates_labels_plots_and_cards(app):
    app.k.value = 6
    assert app.preview.choice.k == 6 and app.preview.segments["segment"].nunique() == 6
    assert bars(app) == 6 and heatmap_rows(app) == 6
    app.k.value = 5  # with the profiles tab open, they follow at once
    assert len(app.figures["profiles"].axes[0].get_xticklabels()) == 5
    app.k.value = 6
    assert len(app.segment.options) == 6 and len(app.preview.personas.cards) == 6
    names = [label.get_text() for label in app.figures["map"].axes[1].get_yticklabels()]
    assert set(names) == set(app.preview.names.values())
    assert "6 segments" in app.status


def test_changing_the_algorithm_refits(app):
    before = app.preview.segments["segment"].to_numpy()
    app.algorithm.value = "gmm"
    assert app.preview.segmentation.model.algorithm == "gmm"
    assert app.preview.segmentation.params["algorithm"] == "gmm"
    assert not np.array_equal(before, app.preview.segments["segment"].to_numpy())


def test_choosing_features_by_criterion(app, data):
    _, features = data
    app.criteria.value = ("value",)
    used = app.preview.segmentation.columns.all
    assert used and {features.dictionary[c].criterion for c in used} == {"value"}


def test_selecting_a_segment_shows_its_card_and_rules(app):
    app.segment.value = 2
    name = app.preview.names[2]
    assert app.card_text.startswith(f"## {name} (segment 2)")
    assert "precision" in app.card_text and "Rules agree with the segment" in app.card_text


def test_rules_wait_until_the_segment_tab_is_open(app):
    app.k.value = 3
    assert "open this tab" in app.card_text
    app.tabs.selected_index = 4
    assert "precision" in app.card_text


def test_a_choice_that_cannot_work_is_reported_not_raised(app):
    last = app.preview
    app.names.value = ("gender",)  # categorical only: k-means needs numbers
    assert app.status.startswith("✗") and "kprototypes" in app.status
    assert app.preview is last  # the last good result stays on screen


def test_saved_parameters_reproduce_the_segments_in_seglab_run(app, data, tmp_path):
    _, features = data
    app.k.value = 5
    app.criteria.value = ("behaviour", "value")
    app.save_path.value = str(tmp_path / "params.yaml")
    path = app.save()
    params = yaml.safe_load(path.read_text())
    validate_config(available_stages(), params)  # seglab run --config accepts it
    assert Choice.from_parameters(params) == app.choice
    # what the cluster notebook does with these parameters
    again = segment(features, criteria=params["criteria"] or None, names=params["names"] or None, k=params["k"],
                    algorithms=params["algorithms"], scaling=params["scaling"], skew=params["skew"],
                    random_state=params["random_state"])
    pd.testing.assert_frame_equal(again.segments, app.preview.segments)
    assert "saved: seglab run --config" in app.status


def test_export_writes_the_selected_segment_only(app, tmp_path):
    app.segment.value = 1
    app.audience_folder.value = str(tmp_path / "audience")
    manifest = app.export()
    exported = pd.read_csv(tmp_path / "audience" / "segment_1.csv", dtype=str)
    members = app.preview.segments.loc[app.preview.segments["segment"] == 1, "customer_id"]
    assert sorted(exported["customer_id"]) == sorted(members)
    assert [e["segment"] for e in manifest["segments"]] == [1]
    assert exported["customer_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert (tmp_path / "audience" / "ad_platform" / "segment_1.csv").exists()


def marked_k(app) -> set:
    """The k marked on the evidence figure (the slider's k)."""
    return {line.get_xdata()[0] for ax in app.figures["evidence"].axes for line in ax.lines
            if line.get_gid() == "your_k"}


def test_evidence_for_k_follows_the_slider_once_computed(app):
    app.k_values = (2, 3, 4, 5)
    app.show_evidence()
    assert "evidence suggests k =" in app.status and app.evidence.table["k"].tolist() == [2, 3, 4, 5]
    assert marked_k(app) == {4}
    app.k.value = 3  # cached: redrawn with the new k, no new sweep
    assert marked_k(app) == {3} and app.model.has_evidence(app.choice, app.k_values)


def test_model_caches_and_prefetches_deterministically(data):
    _, features = data
    model = ExplorerModel(features)
    first = model.preview(Choice(k=3))
    assert model.preview(Choice(k=3)) is first
    assert model.coordinates(Choice(k=3)) is model.coordinates(Choice(k=5))  # the map ignores k
    [future] = model.prefetch([Choice(k=4)])
    prefetched = future.result(timeout=120)
    assert model.preview(Choice(k=4)) is prefetched
    fresh = ExplorerModel(features).preview(Choice(k=4))
    pd.testing.assert_frame_equal(prefetched.segments, fresh.segments)


def test_bad_input_is_a_clear_error():
    with pytest.raises(InputError, match="FeatureSet or a feature table"):
        ExplorerModel(pd.DataFrame({"spend": [1.0, 2.0]}))
    with pytest.raises(seglab.exceptions.ParameterError, match="algorithm"):
        Choice(algorithm="dbscan")
