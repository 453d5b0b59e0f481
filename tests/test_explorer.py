"""The explorer, driven from Python: set widget values, wait for the background work, check the state.

What a person sees in JupyterLab is checked in a real browser by tests/browser/.
"""

import json
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml

import seglab
import seglab.config
from seglab.cluster import ALGORITHMS, Preprocessor, segment
from seglab.collect import collect
from seglab.exceptions import InputError
from seglab.explorer import Choice, Explorer, ExplorerModel
from seglab.explorer import model as explorer_model
from seglab.features import build_features
from seglab.config import available_stages
from seglab.runner import validate_config


@pytest.fixture(scope="module")
def data():
    collected = collect("sample", "2025Q4")
    return collected, build_features(collected)


@pytest.fixture
def app(data):
    collected, features = data
    return seglab.explore(features, customers=collected.customers, k=4, prefetch=False).wait()


def change(app, control, value):
    """Set a control as a click would, and wait until the screen shows the result."""
    control.value = value
    return app.wait()


def open_tab(app, name):
    app.tabs.selected_index = ["map", "evidence", "profiles", "personas", "segment"].index(name)
    return app.wait()


def legend(app) -> list[str]:
    """The map's legend: one entry per segment, with its size."""
    return [t.get_text() for t in app.figures["map"].axes[0].get_legend().get_texts()]


def heatmap_columns(app) -> int:
    """Segments in the profiles table (one column each)."""
    return app.texts["profiles"].count("<th title=")


def test_the_app_opens_with_the_visible_view_drawn(app):
    assert isinstance(app, Explorer) and app.preview.segments["segment"].nunique() == 4
    assert app.status.startswith("✓ 4 segments of 3,000 customers")
    assert len(legend(app)) == 4 and bytes(app.images["map"].value).startswith(b"\x89PNG")
    assert bytes(app.images["sizes"].value).startswith(b"\x89PNG")
    assert app.stale == {"evidence", "profiles", "personas", "segment"}  # drawn when their tab opens
    assert heatmap_columns(open_tab(app, "profiles")) == 4
    assert [v for _, v in app.segment.options] == [0, 1, 2, 3]


def test_figures_are_drawn_at_the_width_they_are_shown(app):
    for name in ("map", "sizes"):
        png = bytes(app.images[name].value)
        assert int.from_bytes(png[16:20], "big") == app.width  # the PNG header's width
    open_tab(app, "evidence")
    assert int.from_bytes(bytes(app.images["evidence"].value)[16:20], "big") == app.width


def test_changing_k_updates_the_visible_view_and_marks_the_others_stale(app):
    change(app, app.k, 6)
    assert app.preview.choice.k == 6 and app.preview.segments["segment"].nunique() == 6
    assert len(legend(app)) == 6 and "profiles" in app.stale
    assert heatmap_columns(open_tab(app, "profiles")) == 6
    change(app, app.k, 5)  # with the profiles tab open, they follow at once; the map waits
    assert heatmap_columns(app) == 5 and "map" in app.stale and len(legend(app)) == 6
    assert len(open_tab(app, "map") and legend(app)) == 5
    change(app, app.k, 6)
    assert len(app.segment.options) == 6 and len(app.preview.personas.cards) == 6
    assert {t.rsplit(" (", 1)[0] for t in legend(app)} == set(app.preview.names.values())
    assert "6 segments" in app.status


def test_a_segment_keeps_its_colour_when_k_changes(app):
    def colours():
        return {t.get_text().rsplit(" (", 1)[0]: tuple(h.get_color()) if isinstance(h.get_color(), tuple)
                else h.get_color() for t, h in zip(app.figures["map"].axes[0].get_legend().get_texts(),
                                                   app.figures["map"].axes[0].get_legend().legend_handles)}
    at4 = dict(zip(range(4), colours().values()))
    change(app, app.k, 7)
    at7 = dict(zip(range(7), colours().values()))
    assert all(at7[s] == at4[s] for s in range(4))  # segment s is drawn in the same colour
    assert len(set(at7.values())) == 7


def test_the_personas_heading_names_what_was_segmented(app):
    text = open_tab(app, "personas").texts["personas"]
    assert text.startswith("# Personas: 4 segments of 3,000 customers") and ": ," not in text
    assert text.count("\n## ") == 4


def test_changing_the_algorithm_refits(app):
    before = app.preview.segments["segment"].to_numpy()
    change(app, app.algorithm, "gmm")
    assert app.preview.segmentation.model.algorithm == "gmm"
    assert app.preview.segmentation.params["algorithm"] == "gmm"
    assert not np.array_equal(before, app.preview.segments["segment"].to_numpy())


def test_a_slow_algorithm_runs_in_the_background_and_a_newer_choice_wins(app):
    app.patience = 0  # everything is "slow": the kernel hands every computation to the background
    app.algorithm.value = "hdbscan"
    deadline = time.monotonic() + 10
    while not app.status.startswith("⏳") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.status.startswith("⏳ segmenting 3,000 customers: hdbscan")
    assert app.preview.choice.algorithm == "kmeans"  # the last result stays on screen meanwhile
    app.algorithm.value = "minibatch"  # chosen before HDBSCAN is done: it supersedes it
    app.wait()
    assert app.preview.choice.algorithm == "minibatch" and "minibatch" in app.status
    assert app.model.has_preview(replace(app.choice, algorithm="hdbscan"))  # computed, kept, not shown


def test_choosing_features_by_criterion(app, data):
    _, features = data
    change(app, app.criteria, ("value",))
    used = app.preview.segmentation.columns.all
    assert used and {features.dictionary[c].criterion for c in used} == {"value"}


def test_selecting_a_segment_shows_its_card_and_rules(app):
    change(app, app.segment, 2)
    assert app.visible == "segment"
    name = app.preview.names[2]
    assert app.card_text.startswith(f"## {name} (segment 2)")
    assert "precision" in app.card_text and "Rules agree with the segment" in app.card_text


def test_rules_wait_until_the_segment_tab_is_open(app):
    change(app, app.k, 3)
    assert "segment" in app.stale and not app.model._rules
    open_tab(app, "segment")
    assert "precision" in app.card_text


def test_a_choice_that_cannot_work_is_reported_not_raised(app):
    last = app.preview
    change(app, app.names, ("rfm_cell",))  # a code with ~100 scattered levels: nothing to segment on
    assert app.status.startswith("✗") and "too scattered" in app.status
    assert app.preview is last  # the last good result stays on screen


def test_saved_parameters_reproduce_the_segments_in_seglab_run(app, data, tmp_path):
    _, features = data
    change(app, app.k, 5)
    change(app, app.criteria, ("behaviour", "value"))
    app.save_path.value = str(tmp_path / "params.yaml")
    path = app.save()
    params = yaml.safe_load(path.read_text())
    validate_config(available_stages(), params)  # seglab run --config accepts it
    assert Choice.from_parameters(params) == app.choice
    # what the cluster notebook does with these parameters
    again = segment(features, criteria=params["criteria"] or None, names=params["names"] or None, k=params["k"],
                    algorithms=params["algorithms"],
                    preprocessor=Preprocessor(scaling=params["scaling"], skew=params["skew"]),
                    random_state=params["random_state"])
    pd.testing.assert_frame_equal(again.segments, app.preview.segments)
    assert "saved: seglab run --config" in app.status


def test_export_writes_the_selected_segment_only(app, tmp_path):
    change(app, app.segment, 1)
    app.audience_folder.value = str(tmp_path / "audience")
    manifest = app.export()
    exported = pd.read_csv(tmp_path / "audience" / "segment_1.csv", dtype=str)
    members = app.preview.segments.loc[app.preview.segments["segment"] == 1, "customer_id"]
    assert sorted(exported["customer_id"]) == sorted(members)
    assert [e["segment"] for e in manifest["segments"]] == [1]
    assert exported["customer_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert (tmp_path / "audience" / "ad_platform" / "segment_1.csv").exists()


def test_exporting_another_segment_adds_it_and_keeps_the_first(app, tmp_path):
    folder = tmp_path / "audience"
    app.audience_folder.value = str(folder)
    change(app, app.segment, 0)
    app.export()
    first = (folder / "segment_0.csv").read_bytes()
    change(app, app.segment, 3)
    manifest = app.export()
    assert (folder / "segment_0.csv").read_bytes() == first and (folder / "segment_3.csv").exists()
    assert [e["segment"] for e in manifest["segments"]] == [0, 3]
    assert json.loads((folder / "manifest.json").read_text())["segments"] == manifest["segments"]
    assert str(folder / "segment_3.csv") in app.status or "segment_3.csv" in app.status
    change(app, app.k, 5)  # segment 3 again, from another segmentation: replaced, not duplicated
    change(app, app.segment, 3)
    manifest = app.export()
    assert [e["segment"] for e in manifest["segments"]] == [0, 3]
    members = app.preview.segments.loc[app.preview.segments["segment"] == 3, "customer_id"]
    assert sorted(pd.read_csv(folder / "segment_3.csv", dtype=str)["customer_id"]) == sorted(members)
    assert (folder / "segment_0.csv").read_bytes() == first


def test_relative_paths_are_taken_from_the_project_folder(app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # today the project folder is the working folder (seglab.config)
    app.save_path.value = "params.yaml"
    path = app.save()
    assert path == seglab.config.reports_dir().parent / "params.yaml" and path.exists()
    assert app.status == "✓ saved: seglab run --config params.yaml"


def marked_k(app) -> set:
    """The k marked on the evidence figure (the slider's k)."""
    return {line.get_xdata()[0] for ax in app.figures["evidence"].axes for line in ax.lines
            if line.get_gid() == "your_k"}


def test_evidence_for_k_follows_the_slider_once_computed(app):
    app.k_values = (2, 3, 4, 5)
    app.show_evidence()
    app.wait()
    assert app.visible == "evidence"
    assert "evidence suggests k =" in app.status and app.evidence.table["k"].tolist() == [2, 3, 4, 5]
    assert marked_k(app) == {4}
    change(app, app.k, 3)  # cached: redrawn with the new k, no new sweep
    assert marked_k(app) == {3} and app.model.has_evidence(app.choice, app.k_values)
    assert "your k = 3" in app.status


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


def fresh_segments(features, choice: Choice) -> pd.DataFrame:
    """The segments of ``choice`` from seglab.cluster.segment, nothing cached."""
    return segment(features, criteria=list(choice.criteria) or None, names=list(choice.names) or None, k=choice.k,
                   algorithms=[choice.algorithm], preprocessor=choice.preprocessor(),
                   random_state=choice.random_state).segments


def test_previews_reuse_the_prepared_customers_and_give_segments_equal_to_segment(data):
    _, features = data
    model = ExplorerModel(features)
    for algorithm in ALGORITHMS:  # one preparation for all but k-prototypes, which has its own
        choice = Choice(algorithm=algorithm, k=3, criteria=("value", "behaviour"))
        pd.testing.assert_frame_equal(model.preview(choice).segments, fresh_segments(features, choice))
    assert len(model._prepared) == 2


def test_the_preparation_follows_the_columns_and_preprocessing_not_k_or_the_algorithm(data):
    _, features = data
    model = ExplorerModel(features)
    base = Choice(k=4)
    prepared = model.prepared(base)
    assert model.prepared(replace(base, k=6)) is prepared and model.prepared(replace(base, algorithm="gmm")) is prepared
    assert not model.prepared(replace(base, algorithm="kprototypes")).data.encoded
    for changed in (replace(base, criteria=("value",)), replace(base, names=("orders", "recency_days")),
                    replace(base, scaling="standard"), replace(base, skew="none"), replace(base, random_state=1)):
        other = model.prepared(changed)
        assert other is not prepared and other.settings != prepared.settings
        pd.testing.assert_frame_equal(model.preview(changed).segments, fresh_segments(features, changed))
    assert model.prepared(replace(base, criteria=("value",))).columns.by_group().keys() == {"value"}
    assert len(model._prepared) == 2  # bounded: the oldest are forgotten


def test_the_prefetch_thread_and_a_click_share_one_preparation(data, monkeypatch):
    _, features = data
    calls = []
    real = explorer_model.prepare_segmentation

    def slow_prepare(*args, **kwargs):
        calls.append(kwargs["algorithm"])
        time.sleep(0.5)  # both threads ask while it is being computed
        return real(*args, **kwargs)

    monkeypatch.setattr(explorer_model, "prepare_segmentation", slow_prepare)
    model = ExplorerModel(features)
    futures = model.prefetch([Choice(k=3), Choice(k=5, algorithm="minibatch")])
    shown = model.preview(Choice(k=4, algorithm="gmm"))  # meanwhile, in this thread
    done = [future.result(timeout=120) for future in futures]
    assert len(calls) == 1
    for preview in (shown, *done):
        pd.testing.assert_frame_equal(preview.segments, fresh_segments(features, preview.choice))


def test_bad_input_is_a_clear_error():
    with pytest.raises(InputError, match="FeatureSet or a feature table"):
        ExplorerModel(pd.DataFrame({"spend": [1.0, 2.0]}))
    with pytest.raises(seglab.exceptions.ParameterError, match="algorithm"):
        Choice(algorithm="dbscan")


def test_prefetches_given_up_are_computed_when_asked(data):
    _, features = data
    model = ExplorerModel(features)
    model.prefetch([Choice(k=k) for k in (3, 4, 5, 6)])
    assert model.cancel_prefetch() >= 1  # those not started yet (a new choice needs the processor)
    fresh = ExplorerModel(features).preview(Choice(k=6))
    pd.testing.assert_frame_equal(model.preview(Choice(k=6)).segments, fresh.segments)  # no wait on a lost job


@pytest.mark.slow
def test_started_in_notebooks_the_explorer_reads_the_projects_run_with_its_ids(tmp_path, monkeypatch):
    """``jupyter lab notebooks/`` (the README's way) gives the same pseudonyms as ``make report``."""
    from seglab.run import run_folder

    monkeypatch.delenv("SEGLAB_SALT")  # the salt of the project folder, as on an analyst's machine
    project = tmp_path / "project"
    (project / "reports").mkdir(parents=True)
    (project / "notebooks").mkdir()
    monkeypatch.chdir(project)  # what seglab run does: collect and features into reports/
    scheduled = build_features(collect("sample", "2025Q4"))
    run_folder("sample", "2025Q4").write_features(scheduled)
    monkeypatch.chdir(project / "notebooks")  # the notebook's kernel
    explored, _ = seglab.explorer.load_features("sample", "2025Q4")
    assert explored.features["customer_id"].tolist() == scheduled.features["customer_id"].tolist()
    assert not (project / "notebooks" / ".seglab").exists() and not (project / "notebooks" / "reports").exists()


def test_persona_cards_show_response_rate_and_nps_for_any_k(data):
    from seglab.measure import Outcomes, segment_scores

    collected, features = data
    outcomes = Outcomes.from_tables(campaigns=collected.campaigns, feedback=collected.feedback,
                                    period=collected.period)
    app = seglab.explore(features, customers=collected.customers, outcomes=outcomes, k=4, prefetch=False).wait()
    for k in (4, 3):
        change(app, app.k, k)
        open_tab(app, "personas")
        preview = app.preview
        scores = segment_scores(preview.segments, outcomes)
        text = app.texts["personas"]
        assert text.count("**Response and feedback**") == len(preview.personas.cards) == k
        for card in preview.personas.cards:  # the card says what the segment's customers did and said
            row = scores.loc[card.segment]
            assert f"campaign response: {row['response_rate']:.0%} of contacted customers converted" in \
                "\n".join(card.scores)
            assert f"NPS {row['nps']:+.0f}".replace("-", "−") in "\n".join(card.scores)


def test_without_outcomes_the_cards_have_no_response_lines(app):
    assert "Response and feedback" not in app.texts.get("personas", "") + app.texts.get("segment", "")
    assert all(not card.scores for card in app.preview.personas.cards)


def test_load_outcomes_reads_the_run_or_collects(tmp_path, monkeypatch):
    from seglab.run import run_folder

    monkeypatch.chdir(tmp_path)
    collected = seglab.explorer.load_outcomes("sample", "2025Q4")  # no run yet: collected now
    run = run_folder("sample", "2025Q4").make()
    run.write_canonical(collect("sample", "2025Q4"))
    from_run = seglab.explorer.load_outcomes("sample", "2025Q4")
    assert from_run.campaigns == collected.campaigns > 0 and from_run.feedback_window == "2025Q4"
    pd.testing.assert_frame_equal(from_run.per_customer, collected.per_customer)
    personality = seglab.explorer.load_outcomes("customer_personality")
    assert personality.campaigns == 0 and len(personality.response_columns) == 6
    assert seglab.explorer.load_outcomes("mall_customers") is None  # nothing measured in that data
