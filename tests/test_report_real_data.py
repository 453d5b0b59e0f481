"""The report of every built-in dataset, and of UCI Online Retail 2011Q3 compared with 2011Q2,
read as a marketing reader would: the lint finds nothing, names tell segments apart,
actions fit what the segments are made of, figures print readably.

Run folders are built in-process with the calls the notebooks make and the defaults
``seglab run`` uses (only the customer map is PCA instead of UMAP, which changes no name,
action or number in the report and saves numba's compilation).
"""

import numpy as np
import pandas as pd
import pytest

from seglab.cluster import segment
from seglab.collect import collect
from seglab.run import RunFolder
from seglab.features import build_features
from seglab.measure import measure_run
from seglab.personas import build_personas, period_figures
from seglab.report import compare_runs, figure_problems, lint_report, render_report, report_figures, write_report
from seglab.runner import write_manifest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("real_reports")]

DATASETS = [("sample", None), ("mall_customers", None), ("customer_personality", None),
            ("online_retail", "2011Q2"), ("online_retail", "2011Q3")]


def _build(reports, dataset: str, period: str | None) -> RunFolder:
    data = collect(dataset, period)
    run = RunFolder(reports / data.dataset / data.period).make()
    run.write_canonical(data)
    previous = run.previous()
    fs = build_features(run.canonical_files())
    run.write_features(fs)
    seg = segment(fs, previous=previous and previous.segmenter())
    seg.add_map(fs.features, method="pca")
    run.write_segmentation(seg)
    personas = build_personas(fs, seg, previous=run.previous_names(), meta=run.info(),
                              period=period_figures(run.canonical_files(), seg.segments), customers=data.customers)
    personas.export(run.audiences_folder(), seg.segments, customers=data.customers)
    run.write_personas(personas)
    write_manifest(run, dataset=data.dataset, period=data.period,
                   parameters={"dataset": dataset, "period": data.period, "k": 0, "algorithms": ["kmeans"],
                               "policies": {}, "names_file": "", "pdf": False}, timings={"collect": 1.0})
    comparison = compare_runs(run, previous)
    run.write_comparison(comparison)
    run.write_measurement(measure_run(run, previous))
    write_report(render_report(run, comparison), run.report_html)
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    return {(dataset, period): _build(reports, dataset, period) for dataset, period in DATASETS}


@pytest.mark.parametrize("key", DATASETS, ids=lambda k: f"{k[0]}-{k[1] or 'default'}")
def test_the_report_passes_the_lint(runs, key):
    html = runs[key].report_html.read_text()
    assert lint_report(html) == []


@pytest.mark.parametrize("key", DATASETS, ids=lambda k: f"{k[0]}-{k[1] or 'default'}")
def test_names_differ_in_their_first_two_words(runs, key):
    names = list(runs[key].personas().names.values())
    starts = {" ".join(n.lower().split()[:2]) for n in names}
    assert len(starts) >= len(names) - 1, names
    assert not [n for n in names if n[-1].isdigit()]


@pytest.mark.parametrize("key", DATASETS, ids=lambda k: f"{k[0]}-{k[1] or 'default'}")
def test_actions_fit_what_the_segments_are_made_of(runs, key):
    personas = runs[key].personas()
    categorical = personas.profiles.categorical
    numeric = personas.profiles.numeric
    for card in personas.cards:
        main = card.actions[0]["action"]
        assert card.actions[0]["why"] and any(ch.isdigit() for ch in card.actions[0]["why"])
        lapsed = categorical[(categorical["segment"] == card.segment) & (categorical["feature"] == "journey_stage")
                             & categorical["value"].isin(["lapsed", "churned"])]["share"].sum()
        if lapsed >= 2 / 3:  # mostly gone: never "serve at low cost" or "reward and retain"
            assert main in ("Win back", "Reactivate at low cost"), (card.name, main)
        income = numeric[(numeric["segment"] == card.segment)
                         & numeric["feature"].isin(["income", "income_k", "annual_income_k"])]
        if not income.empty and income["contrast"].iloc[0] >= 0.5:
            assert main != "Serve at low cost", (card.name, main)  # they could spend more
        has = set(numeric["feature"]) | set(categorical["feature"])
        if "email_open_rate" not in has and personas.audiences and not any(
                e.get("ad_platform_file") for e in personas.audiences["segments"]):
            assert all("email" not in a["channels"] for a in card.actions)


@pytest.mark.parametrize("key", DATASETS, ids=lambda k: f"{k[0]}-{k[1] or 'default'}")
def test_report_figures_print_readably(runs, key):
    run = runs[key]
    comparison = compare_runs(run, run.previous())
    for name, fig in report_figures(run, comparison).items():
        assert figure_problems(fig) == [], name


def test_online_retail_2011q3_reports_the_quarter_itself(runs):
    run = runs[("online_retail", "2011Q3")]
    personas = run.personas()
    lines = pd.read_parquet(run.file("transactions"))
    quarter = lines[(lines["order_date"] >= "2011-07-01") & (lines["order_date"] < "2011-10-01")]
    total = personas.period.total()
    assert total["revenue"] == pytest.approx(quarter["amount"].sum(), abs=0.01)
    assert total["active"] == quarter.loc[quarter["amount"] > 0, "customer_id"].nunique() == 2155
    assert personas.period.label("previous") == "2011Q2" and personas.period.label("year_ago") == "2010Q3"
    html = run.report_html.read_text()
    assert "In 2011Q3 (1 July – 30 September 2011), 2,155 of the 5,435 customers bought" in html
    assert "Since 2011Q2" in html and "the two years to 30 September 2011" in html
    # the top segment brings most of the quarter's sales; a lapsed segment is to be won back
    top = max(personas.cards, key=lambda c: c.kpis["period_revenue_share"])
    assert top.kpis["period_revenue_share"] > 0.6 and top.actions[0]["action"] == "Reward and retain"
    assert any(c.name.startswith("Lapsed") and c.actions[0]["action"] == "Win back" for c in personas.cards)
    assert np.isclose(sum(c.kpis["period_revenue"] for c in personas.cards), total["revenue"])


def test_customer_personality_shows_response_rates_never_lift(runs):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(runs[("customer_personality", None)].report_html.read_text(), "html.parser")
    section = soup.find(id="measured")
    text = " ".join(section.get_text().split())
    assert "Campaign response rates (no control group)" in text and "Response rates, not lift" in text
    assert "Accepted campaign 1" in text and "Any of them" in text
    assert "Lift, points" not in text and not section.select(".verdict")  # no lift, no verdict
    cards = " ".join(soup.find(id="personas").get_text().split())
    assert "a response rate, not a lift" in cards


def test_datasets_without_campaigns_or_feedback_say_what_to_add(runs):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(runs[("online_retail", "2011Q3")].report_html.read_text(), "html.parser")
    text = " ".join(soup.find(id="measured").get_text().split())
    assert "Add a campaigns table" in text and "control group" in text
