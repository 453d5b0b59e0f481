import json
import re

import pytest

from seglab.cluster import Preprocessor, SelectionRule, segment
from seglab.collect import collect
from seglab.datasets import load_sample
from seglab.features import build_features
from seglab.personas import build_personas, period_figures
from seglab.run import RunFolder


@pytest.fixture(scope="module")
def sample():
    data = collect("sample", "2025Q4")
    features = build_features(data)
    return data, features, segment(features, rule=SelectionRule(n_bootstrap=3, n_splits=2))


def test_every_segment_gets_a_complete_card(sample):
    data, features, seg = sample
    personas = build_personas(features, seg, meta={"dataset": "sample", "period": "2025Q4"})
    assert [c.segment for c in personas.cards] == sorted(seg.segments["segment"].unique())
    assert len(set(personas.names.values())) == len(personas.cards)
    for card in personas.cards:
        assert card.summary and card.actions and card.kpis_to_watch and card.rules
        assert card.how or card.worth
        assert 0 < card.rules_quality["fidelity"] <= 1
    assert "CASE" in personas.rules.assignment_sql


def test_write_read_and_export_leave_no_personal_data(sample, tmp_path):
    data, features, seg = sample
    personas = build_personas(features, seg, meta={"dataset": "sample", "period": "2025Q4"})
    run = RunFolder(tmp_path)
    run.write_personas(personas)
    personas.export(run.audiences_folder(), seg.segments, customers=data.customers, min_size=50)
    again = run.personas()
    assert again.names == personas.names and again.audiences["segments"]
    raw = load_sample().customers
    single_words = set(raw["email"]) | set(raw["customer_id"])  # no spaces: compare whole tokens
    phrases = set(raw["phone"]) | set(raw["name"])  # with spaces: look for them anywhere
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json", ".md", ".sql"):
            text = path.read_text()
            tokens = set(re.split(r"[\s,;:\"'\[\]{}()]+", text))
            assert not tokens & single_words, path
            assert not [p for p in phrases if p in text], path
    schema = json.loads(run.file("personas").read_text())
    assert {"segments", "assignment_sql", "assignment_fidelity", "currency", "as_of"} <= set(schema)
    assert {"segment", "name", "summary", "who", "how", "worth", "cares", "actions", "kpis_to_watch",
            "rules", "rules_quality", "flags"} <= set(schema["segments"][0])


def test_names_follow_aligned_segments_across_periods(sample, tmp_path):
    data, features, seg = sample
    last = build_personas(features, seg, names={0: "The best"})
    run = RunFolder(tmp_path)
    run.write_personas(last)
    later = segment(features, k=seg.model.k_, order_by="size", previous=seg.model)
    now = build_personas(features, later, previous=run.persona_names())
    assert now.names[0] == "The best"


def test_customer_table_only_datasets_get_personas():
    features = build_features(collect("mall_customers"))
    seg = segment(features, names=["annual_income_k", "spending_score"],
                  preprocessor=Preprocessor(scaling="standard"))
    personas = build_personas(features, seg)
    assert len(personas.cards) == 5
    by_name = {c.name: c for c in personas.cards}
    # the classic upsell target: high income, low spend
    assert "High-income cautious spenders" in by_name
    assert by_name["High-income cautious spenders"].actions[0]["action"] == "Develop and upsell"
    why = by_name["High-income cautious spenders"].actions[0]["why"]
    assert why.startswith("annual income $") and " but spending score" in why
    assert by_name["High-income big spenders"].actions[0]["action"] == "Reward and retain"
    starts = {" ".join(n.lower().split()[:2]) for n in personas.names.values()}
    assert len(starts) >= len(personas.cards) - 1
    # no email, no transactions: no channel and no KPI the data does not have
    for card in personas.cards:
        assert all(not a["channels"] for a in card.actions)
        assert set(card.kpis_to_watch) <= {"spending score"}


def test_period_figures_reach_the_cards_and_personas_json(sample, tmp_path):
    data, features, seg = sample
    run = RunFolder(tmp_path)
    run.write_canonical(data)
    figures = period_figures(run.canonical_files(), seg.segments)
    personas = build_personas(features, seg, period=figures, meta={"dataset": "sample", "period": "2025Q4"})
    run.write_personas(personas)
    written = json.loads(run.file("personas").read_text())
    assert written["period"] == "2025Q4"
    assert written["period_figures"]["period"] == "2025Q4"
    assert written["period_figures"]["windows"]["previous"]["label"] == "2025Q3"
    assert written["window"]["text"] == "the two years to 31 December 2025"
    for card in written["segments"]:
        assert card["kpis"]["period_revenue"] == figures.segment(card["segment"])["revenue"]
        assert {"period_orders", "period_active", "period_new", "period_revenue_share"} <= set(card["kpis"])
        assert "of 2025Q4's revenue" in card["summary"]
    again = run.personas()
    assert again.period.total() == figures.total()


def test_a_plain_segments_frame_or_explain_false_gives_cards_without_rules(sample):
    _, features, seg = sample
    from_frame = build_personas(features, seg.segments)
    quick = build_personas(features, seg, explain=False)
    for personas in (from_frame, quick):
        assert personas.rules is None and len(personas.cards) == seg.model.k_
        assert all(not card.rules for card in personas.cards)
    assert quick.names == build_personas(features, seg).names


def test_hostile_names_from_a_names_file_are_inert_in_exports_and_markdown(sample, tmp_path):
    import csv

    data, features, seg = sample
    names = tmp_path / "names.yaml"
    names.write_text("0: '=HYPERLINK(\"http://evil.example\",\"click\") <img src=x onerror=alert(1)>'\n"
                     "1: '+cmd|'' /C calc''!A0'\n")
    from seglab.personas import read_names

    personas = build_personas(features, seg, names=read_names(names), meta={"dataset": "sample"})
    run = RunFolder(tmp_path / "out")
    run.write_personas(personas)
    manifest = personas.export(run.audiences_folder(), seg.segments, customers=data.customers, min_size=1)
    for path in run.audiences_folder().glob("segment_*.csv"):
        with path.open(newline="") as fh:
            cells = [cell for row in csv.reader(fh) for cell in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], path
    exported = {e["segment"]: e["name"] for e in manifest["segments"]}
    assert exported[0].startswith("'=HYPERLINK") and exported[1].startswith("'+cmd")
    on_disk = json.loads((run.audiences_folder() / "manifest.json").read_text())
    assert [e["name"] for e in on_disk["segments"]] == [e["name"] for e in manifest["segments"]]
    markdown = run.file("personas_markdown").read_text()
    assert "<img" not in markdown and "&lt;img src=x onerror=alert(1)>" in markdown
