"""The report stage: comparison with last period, the HTML report, PDF and a browser check.

Run folders are built in-process here (the notebooks do the same calls; their papermill run
is in tests/notebooks/test_pipeline_run.py).
"""

import json
import re
import shutil
import subprocess

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from seglab.cluster import SelectionRule, segment
from seglab.collect import collect
from seglab.plotting import plot_segment_changes
from seglab.run import RunFolder
from seglab.exceptions import ParameterError, PeriodError, SeglabError, UnknownDatasetError
from seglab.features import build_features
from seglab.measure import measure_run
from seglab.personas import build_personas, period_figures
from seglab.report import (Comparison, command_problem, compare_runs, figure_problems, find_chromium, lint_report,
                           print_pdf, render_report, report_figures, write_report)
from seglab.runner import write_manifest

SCRIPT = "<script>alert(1)</script>"


def build_run(reports, period, *, k=None, tamper=None, previous=None):
    """A complete run folder for the sample data: what notebooks 01-04 write."""
    run = RunFolder(reports / "sample" / period).make()
    data = collect("sample", period)
    run.write_canonical(data)
    fs = build_features(run.canonical_files())
    seg = segment(fs, k=k, k_values=range(3, 6), rule=SelectionRule(n_bootstrap=5, n_splits=3),
                  previous=previous and previous.segmenter())
    if tamper is not None:  # the notebooks segment the features they write: segment the tampered ones
        fs.features = tamper(fs.features, seg.segments)
        seg = segment(fs, k=k, k_values=range(3, 6), rule=SelectionRule(n_bootstrap=5, n_splits=3),
                      previous=previous and previous.segmenter())
    run.write_features(fs)
    seg.add_map(fs.features, method="pca")
    run.write_segmentation(seg)
    personas = build_personas(fs, seg, previous=previous.persona_names() if previous else {},
                              meta=run.info(), period=period_figures(run.canonical_files(), seg.segments),
                              customers=data.customers)
    run.write_personas(personas)
    personas.export(run.audiences_folder(), seg.segments, customers=data.customers)
    write_manifest(run, dataset="sample", period=period, parameters={"dataset": "sample", "period": period},
                   timings={"collect": 1.0})
    return run


def plant_script_country(features: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Give every customer of the smallest segment a country named like an injection attack."""
    out = features.copy()
    smallest = segments["segment"].value_counts().idxmin()
    first = out["customer_id"].isin(segments.loc[segments["segment"] == smallest, "customer_id"])
    out["country"] = out["country"].astype("object")
    out.loc[first, "country"] = SCRIPT
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    then = build_run(reports, "2025Q3", k=4)
    now = build_run(reports, "2025Q4", tamper=plant_script_country, previous=then)
    return then, now


@pytest.fixture(scope="module")
def report(runs):
    then, now = runs
    comparison = compare_runs(now, now.previous())
    now.write_comparison(comparison)
    now.write_measurement(measure_run(now, now.previous()))  # what the report notebook does
    html = render_report(now, comparison)
    write_report(html, now.report_html)
    return now, comparison, BeautifulSoup(html, "html.parser")


def test_comparison_counts_every_customer_once(runs):
    then, now = runs
    comparison = compare_runs(now, then)
    seg_now = pd.read_parquet(now.file("segments"))
    seg_then = pd.read_parquet(then.file("segments"))
    m = comparison.migration
    assert m.drop(columns="lost", errors="ignore").to_numpy().sum() == len(seg_now)
    assert m.drop(index="new", errors="ignore").to_numpy().sum() == len(seg_then)
    both = seg_then.merge(seg_now, on="customer_id")
    t = comparison.totals
    assert t["in_both"] == len(both) and t["new"] == len(seg_now) - len(both)
    assert t["stayed_in_segment"] == pytest.approx((both["segment_x"] == both["segment_y"]).mean())
    # rows are last quarter's names, columns this quarter's; shares of a row add up to 1
    assert np.allclose(comparison.migration_shares().sum(axis=1), 1)
    assert set(comparison.changes["segment"]) == set(seg_now["segment"]) | set(seg_then["segment"])


def test_the_comparison_reads_no_whole_table_into_python(runs, monkeypatch):
    # migration, moves and drift are group-bys in the engine: at millions of customers both
    # quarters' feature tables and segments stay out of the kernel
    then, now = runs
    expected = compare_runs(now, then)
    for method in ("segments", "feature_table", "features"):
        monkeypatch.setattr(type(now), method, lambda *a, **k: pytest.fail("a whole table was read"))
    monkeypatch.setattr(pd, "read_parquet", lambda *a, **k: pytest.fail("a whole table was read"))
    again = compare_runs(now, then)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(again.migration, expected.migration)
    pd.testing.assert_frame_equal(again.drift, expected.drift)
    assert again.totals == expected.totals


def test_drift_is_measured_in_standard_deviations(runs):
    then, now = runs
    comparison = compare_runs(now, then, drift_threshold=0.0)
    drift = comparison.drift
    assert not drift.empty and (drift["shift_sd"].abs().diff().dropna() <= 1e-12).all()  # sorted by size
    row = drift.iloc[0]
    features = pd.read_parquet(now.file("features"))
    assert row["shift_sd"] == pytest.approx((row["now"] - row["then"]) / features[row["feature"]].std(ddof=0))
    assert len(comparison.warnings) >= min(10, len(drift))  # threshold 0: everything is flagged
    assert not compare_runs(now, then, drift_threshold=99).drift.pipe(
        lambda d: d[d["shift_sd"].abs() >= 99]).shape[0]


def test_comparison_round_trips_through_json(report):
    now, comparison, _ = report
    again = Comparison.read(now.file("comparison"))
    assert again.previous_period == "2025Q3" and not again.skipped
    pd.testing.assert_frame_equal(again.migration, comparison.migration.rename_axis(index=None, columns=None),
                                  check_names=False)
    assert again.totals == comparison.totals and again.warnings == comparison.warnings


def test_a_segment_new_this_quarter_is_marked_new_not_was_nan(runs, report):
    """A segment without last quarter's figures (k grew) read back from JSON: its missing
    name is NaN there; the table says it is new instead of "(was nan)"."""
    now, comparison, _ = report
    again = Comparison.read(now.file("comparison"))
    newest = again.changes["segment"].max()
    gone = again.changes["segment"] == newest
    for column in [c for c in again.changes if c.endswith("_then")] + ["previous_name"]:
        again.changes[column] = again.changes[column].where(~gone)  # NaN, as JSON nulls read back
    html = render_report(now, again)
    name = again.changes.loc[gone, "name"].iloc[0]
    rows = [tr for tr in BeautifulSoup(html, "html.parser").select("tr") if tr.td and name in tr.td.get_text()]
    marked = [tr for tr in rows if "(new: not in 2025Q3)" in tr.td.get_text()]
    assert len(marked) == 1 and "nan" not in marked[0].get_text().lower()
    assert lint_report(html) == []
    # the number of segments changed: said in the summary and in 'What changed'
    n = len(again.changes)
    said = (f"The segmentation has {n} segments in 2025Q4 against {n - 1} in 2025Q3 (new: {name}), so part of "
            "the movement between segments is the new split")
    assert again.segments_only_in("now") == [name] and again.segments_only_in("then") == []
    assert BeautifulSoup(html, "html.parser").get_text().count(said) == 2
    chart = plot_segment_changes(again)
    assert any(t.get_text().strip() == "not a segment in 2025Q3" for t in chart.texts)
    plt.close(chart.figure)


def test_missing_previous_period_is_a_note_not_a_crash(runs, tmp_path):
    _, now = runs
    alone = RunFolder(tmp_path / "sample" / "2025Q4")
    shutil.copytree(now.path, alone.path)
    assert alone.previous() is None
    comparison = compare_runs(alone, alone.previous())
    # the note says how to make the missing run, with a command that runs as printed
    command = f"seglab run --dataset sample --period 2025Q3 --out {tmp_path}"
    assert comparison.skipped and command in comparison.note and command_problem(command) is None
    html = render_report(alone, comparison)
    soup = BeautifulSoup(html, "html.parser")
    section = soup.find(id="changes")
    assert section is not None and "no earlier run to compare with" in section.get_text()
    assert command in [c.get_text() for c in section.find_all("code")]
    assert lint_report(html) == []
    assert compare_runs(alone, None, requested="none").note.startswith("comparison switched off")
    # a period the data does not have: no command that would fail
    before_the_data = compare_runs(alone, None, requested="2019Q1")
    assert "the data has no complete period 2019Q1" in before_the_data.note and "seglab run" not in before_the_data.note


def test_report_is_self_contained(report):
    _, _, soup = report
    assert soup.title and "sample" in soup.title.get_text().lower()
    assert not soup.find_all("script") and not soup.find_all("link") and not soup.find_all("iframe")
    for tag in soup.find_all(src=True):
        assert tag["src"].startswith("data:"), tag
    for tag in soup.find_all(href=True):
        assert tag["href"].startswith("#"), tag
    styles = " ".join(s.get_text() for s in soup.find_all("style"))
    assert "@import" not in styles and not re.search(r"url\((?!\s*['\"]?data:)", styles)


def test_report_has_every_section_and_figure(report):
    now, comparison, soup = report
    for section in ("summary", "overview", "personas", "profiles", "value", "actions", "changes", "quality",
                    "method"):
        assert soup.find(id=section) is not None, section
    images = {img.get("alt", ""): img["src"] for img in soup.find_all("img")}
    for figure in ("Customers per segment", "Segment size against value", "Segment profile heatmap",
                   "Distinguishing traits of each persona", "Evidence for the number of segments",
                   "Stability of each segment", "Customer map coloured by segment", "Data-quality checks",
                   "Migration matrix between periods", "Segment sizes then and now"):
        assert figure in images, figure
    assert all(src.startswith("data:image/png;base64,") and len(src) > 2000 for src in images.values())
    personas = json.loads(now.file("personas").read_text())["segments"]
    cards = soup.select(".card")
    assert len(cards) == len(personas)
    assert [c.find("h3").contents[0].strip() for c in cards] == [p["name"] for p in personas]
    assert "2025Q3" in soup.find(id="changes").get_text()
    summary = soup.find(id="summary").get_text()
    assert "In 2025Q4 (1 October – 31 December 2025)" in summary and "of the 3,000 customers bought" in summary
    assert "Since 2025Q3" in summary


def test_the_period_comes_first_with_its_own_figures(report):
    now, _, soup = report
    personas = json.loads(now.file("personas").read_text())
    totals = personas["period_figures"]["totals"]["current"]
    section = soup.find(id="period")
    assert section.find_previous("section")["id"] == "summary"  # first after the summary
    rows = {tr.find("td").get_text(): [td.get_text() for td in tr.find_all("td")] for tr in section.select("tbody tr")}
    assert rows["All customers"][5] == f"€{totals['revenue']:,.0f}" and rows["All customers"][4] == f"{totals['orders']:,}"
    for card in personas["segments"]:
        kpis = card["kpis"]
        assert {"period_revenue", "period_orders", "period_active", "period_revenue_previous"} <= set(kpis)
        assert rows[card["name"]][2].startswith(f"{kpis['period_active']:,}")
    assert sum(c["kpis"]["period_revenue"] for c in personas["segments"]) == pytest.approx(totals["revenue"])
    header = [th.get_text() for th in section.find_all("th")]
    assert "vs 2025Q3" in header and "vs 2024Q4" in header
    overview = soup.find(id="overview").get_text()
    assert "the two years to 31 December 2025" in overview  # the look-back window, in words


def test_the_summary_names_the_moves_that_matter_for_value(runs, report):
    then, now = runs
    _, comparison, soup = report
    both = pd.read_parquet(then.file("segments")).merge(
        pd.read_parquet(now.file("segments")), on="customer_id", suffixes=("_then", "_now"))
    down = comparison.biggest_moves("down").iloc[0]
    by_hand = ((both["segment_then"] == down["from_segment"]) & (both["segment_now"] == down["to_segment"])).sum()
    assert down["customers"] == by_hand and down["value_to"] < down["value_from"]
    weights = comparison.movements["weight"]
    assert (weights.diff().dropna() <= 0).all()  # largest first
    summary = " ".join(soup.find(id="summary").get_text().split())
    assert f"{by_hand:,} of 2025Q3's {down['from_name']}" in summary and f"moved to {down['to_name']}" in summary


def test_the_report_passes_its_lint_and_the_lint_catches_slips(report):
    now, _, _ = report
    assert lint_report(now.report_html.read_text()) == []
    bad = ("<html><body><p>clv &gt; 1.12e+03; 1 features; net_revenue of {} and ['kmeans']; run "
           "<code>seglab run --dataset sample --period 2011Q1</code> or <code>seglab run --bogus</code></p>"
           "<article class='card'><h3>Customers 1 <span class='seg'>segment 1</span></h3></article>"
           "<section id='method'><p>net_revenue is fine here</p></section></body></html>")
    problems = "\n".join(lint_report(bad))
    for expected in ("scientific notation: '1.12e+03'", "'1 features'", "raw identifier outside the method "
                     "appendix: 'net_revenue'", "Python value: '{}'", "Python value: \"['\"",
                     "name ends in a digit: 'Customers 1'", "seglab run --dataset sample --period 2011Q1",
                     "options do not parse: seglab run --bogus"):
        assert expected in problems, expected
    # the method appendix may name features as the data does: one raw identifier, not two
    assert problems.count("raw identifier") == 1


def test_report_figures_print_readably_on_a4(runs):
    import matplotlib.pyplot as plt

    _, now = runs
    comparison = compare_runs(now, now.previous())
    figures = report_figures(now, comparison)
    assert {"sizes", "value", "heatmap", "traits", "map", "migration", "changes", "k_evidence"} <= set(figures)
    for name, fig in figures.items():
        assert figure_problems(fig) == [], name
    # the check can fail: small text, a figure too wide for the page, labels on top of each other
    fig, ax = plt.subplots(figsize=(7, 2))
    ax.text(0.1, 0.5, "tiny", fontsize=6)
    ax.text(0.5, 0.5, "one label", fontsize=9)
    ax.text(0.52, 0.5, "another label", fontsize=9)
    problems = "\n".join(figure_problems(fig))
    assert "'tiny' prints at 6.0 pt" in problems and "labels overlap: 'one label' and 'another label'" in problems
    wide, ax = plt.subplots(figsize=(14, 3))
    ax.set_title("a title at 10 pt", fontsize=10)
    sizes = [float(m[1]) for p in figure_problems(wide) if (m := re.search(r"prints at ([\d.]+) pt", p))]
    assert sizes and max(sizes) < 7  # 10-pt tick labels shrink by more than a third on the page


def test_data_derived_text_is_escaped(report):
    now, _, soup = report
    # the planted country reaches the report as text, never as markup
    assert SCRIPT in soup.get_text()
    assert not soup.find_all("script")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in now.report_html.read_text()


def test_report_shows_parameters_versions_and_checksums(report):
    _, _, soup = report
    method = soup.find(id="method").get_text()
    assert "dataset" in method and "2025Q4" in method
    assert "pandas" in method and "seed" in method.lower()


def test_unknown_dataset_and_bad_period_are_clear_errors(tmp_path):
    from seglab.runner import run_pipeline

    with pytest.raises(UnknownDatasetError, match="built-in datasets"):
        run_pipeline("no_such_dataset", "2025Q3", out=tmp_path, progress=False)
    with pytest.raises(PeriodError):
        run_pipeline("sample", "2025Q9", out=tmp_path, progress=False)
    with pytest.raises(SeglabError, match="before the first transaction"):
        collect("sample", "2019Q1")
    assert not list(tmp_path.iterdir())  # nothing half-built left behind


def test_missing_chromium_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("SEGLAB_CHROMIUM", str(tmp_path / "nowhere"))
    with pytest.raises(ParameterError, match="SEGLAB_CHROMIUM"):
        find_chromium()
    monkeypatch.delenv("SEGLAB_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ParameterError, match="apt-get install chromium"):
        find_chromium()


def _chromium():
    try:
        return find_chromium()
    except ParameterError as err:
        pytest.skip(f"Chromium is not installed ({err}); .ci/run installs it")


def _open_in_browser(html_path, tmp_path):
    """Open a page in headless Chromium: its console messages and a screenshot (as an array)."""
    from matplotlib.image import imread

    from seglab.report.pdf import CHROMIUM_FLAGS

    shot = tmp_path / f"{html_path.stem}.png"
    done = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--enable-logging=stderr", "--v=0", "--hide-scrollbars", "--window-size=1200,1600",
                           f"--screenshot={shot}", html_path.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Failed to load" in line]
    return console, imread(shot)


def test_report_opens_in_a_browser_without_errors(report, tmp_path):
    now, _, _ = report
    console, pixels = _open_in_browser(now.report_html, tmp_path)
    assert console == []
    assert pixels.std() > 0.05  # not a blank page
    # the check can fail: a page with a script error and a remote image is caught
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>console.error('boom')</script></body></html>")
    console, pixels = _open_in_browser(broken, tmp_path)
    assert any("boom" in line for line in console) and pixels.std() < 0.01


def test_report_prints_to_pdf_without_near_empty_pages(report, tmp_path):
    from tests.pdf_pages import page_fill

    _chromium()
    now, _, _ = report
    pdf = print_pdf(now.report_html, tmp_path / "report.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 3
    fills = page_fill(pdf)
    assert len(fills) == data.count(b"/Type /Page") - data.count(b"/Type /Pages")
    assert min(fills[:-1]) >= 0.25, fills  # every page but the last is at least a quarter full
    # the measure can fail: a page break after one line leaves a page with a sliver of content
    sliver = tmp_path / "sliver.html"
    sliver.write_text("<html><body><p>one line</p><p style='break-before: page'>next page</p>"
                      "<div style='height: 200mm; background: #eee'>x</div></body></html>")
    assert page_fill(print_pdf(sliver, tmp_path / "sliver.pdf"))[0] < 0.05


def test_runs_pseudonymized_with_different_salts_are_never_compared(runs, tmp_path):
    # a salt that changed between quarters made every customer look lost and new
    from seglab.exceptions import SaltMismatchError

    then, now = runs
    other = RunFolder(tmp_path / "sample" / "2025Q3")
    shutil.copytree(then.path, other.path)
    schema = json.loads(other.file("schema").read_text())
    other.file("schema").write_text(json.dumps({**schema, "salt_fingerprint": "0" * 16}))
    with pytest.raises(SaltMismatchError, match="different salts.*SEGLAB_SALT"):
        compare_runs(now, other)
    assert json.loads(now.manifest.read_text())["salt_fingerprint"] == schema["salt_fingerprint"]


def test_method_appendix_shows_the_value_model_holdout_check(report):
    from seglab.features import ValueValidation

    now, _, soup = report
    check = ValueValidation.read(now.file("value_validation"))
    method = soup.find(id="method")
    text = " ".join(method.get_text().split())
    assert "Value model: holdout check" in text
    chosen = next(m["label"] for m in check.models if m["name"] == check.chosen)
    assert f"come from {chosen}" in text and f"{check.holdout_days} days after it" in text
    assert method.find("img", alt="Value model holdout check")["src"].startswith("data:image/png;base64,")
    table = method.find("h3", string="Value model: holdout check").find_next("table")
    rows = [tr.find("td").get_text(" ", strip=True) for tr in table.find_all("tr")[1:]]
    assert rows == ["BG/NBD", "MBG/NBD", "Pareto/NBD", "naive (calibration rate)"]
    assert "Spend model (Gamma-Gamma)" in text


def test_did_it_work_shows_lift_verdicts_feedback_and_reviews(report):
    now, _, soup = report
    measured = now.measurement()
    section = soup.find(id="measured")
    text = " ".join(section.get_text().split())
    # campaign customers count in the segment they were in when the campaigns went out
    assert "the segments of 2025Q3, when the campaigns went out" in text
    assert measured.segments_from.startswith("the segments of 2025Q3")
    images = {img.get("alt", "") for img in section.find_all("img")}
    assert {"Lift of each campaign per segment", "Net Promoter Score per segment"} <= images
    badges = {b.get_text() for b in section.select(".verdict")}
    assert "backfired" in badges and "worked" in badges  # the planted app push and loyalty rewards
    push = measured.campaigns.in_period().query("campaign_id == '2025Q4 app push' and treated >= 100").iloc[0]
    assert push["verdict"] == "backfired" and f"{push['lift'] * 100:+.1f}".replace("-", "−") in text
    for card in soup.select(".card"):
        assert "Response and feedback" in card.get_text() and "NPS" in card.get_text()
    assert "What customers say in 2025Q4" in text and "Change since 2025Q3" in text
    # a flagged action shows beside the recommended action it concerns
    reviews = measured.reviews
    assert len(reviews)
    actions = " ".join(soup.find(id="actions").get_text().split())
    recommended = {(c.segment, a["action"]) for c in now.personas().cards for a in c.actions}
    for row in reviews.itertuples():
        if (row.segment, row.action) in recommended:
            assert f"Review: {row.note}" in actions
    assert lint_report(now.report_html.read_text()) == []


def test_the_measurement_round_trips_through_its_files(report):
    now, _, _ = report
    first = measure_run(now, now.previous())
    again = now.measurement()
    assert again.to_dicts() == first.to_dicts()
    assert set(now.write_measurement(first)) == {"campaign_results", "feedback_results"}


def test_did_it_work_figures_print_readably(report):
    import seglab.plotting as splot

    now, _, _ = report
    measured = now.measurement()
    for ax in (splot.plot_campaign_lift(measured), splot.plot_nps(measured),
               splot.plot_campaign_lift(None), splot.plot_nps(None)):
        assert figure_problems(ax.figure) == []


def test_without_a_measurement_the_section_says_so(runs, tmp_path):
    _, now = runs
    alone = RunFolder(tmp_path / "sample" / "2025Q4")
    shutil.copytree(now.path, alone.path)
    for name in ("campaign_results", "feedback_results"):
        alone.file(name).unlink(missing_ok=True)
    soup = BeautifulSoup(render_report(alone, compare_runs(alone, None, requested="none")), "html.parser")
    assert "were not measured for this run" in soup.find(id="measured").get_text()


def test_method_appendix_says_what_the_segments_rest_on_and_how_k_was_chosen(report):

    now, _, soup = report
    seg = now.segmentation()
    method = soup.find(id="method")
    table = method.find("h3", string="What the segments rest on").find_next("table")
    rows = {tr.find_all("td")[0].get_text(): tr.find_all("td")[2].get_text() for tr in table.find_all("tr")[1:]}
    assert rows == {g: (f"1/{len(c)}" if len(c) > 1 else "1") for g, c in seg.columns.by_group().items()}
    # the features table names each feature's group as the weights table does ("value", not "rfm")
    features = method.find("h3", string="Features used for segmentation").find_next("table")
    criteria = {tr.find_all("td")[1].get_text(): tr.find_all("td")[2].get_text() for tr in features.find_all("tr")[1:]}
    assert criteria == seg.columns.groups and set(criteria.values()) <= set(rows)
    header = [th.get_text() for th in method.find("h3", string="Algorithm and the choice of k")
              .find_next("table").find_all("th")]
    assert "Prediction strength" in header and "Weakest segment's Jaccard" in header


def test_method_appendix_says_when_the_segments_were_learnt_from_a_sample(report, tmp_path):
    import json
    import shutil

    now, comparison, soup = report
    assert "learnt from a seeded sample" not in soup.find(id="method").get_text()  # 3,000 customers: all of them
    copy = RunFolder(shutil.copytree(now.path, tmp_path / "run"))
    meta = json.loads(copy.file("segmentation").read_text())
    meta["params"].update(customers=4_900_000, learned_from=100_000)  # what a run of millions writes
    copy.file("segmentation").write_text(json.dumps(meta))
    method = BeautifulSoup(render_report(copy, comparison), "html.parser").find(id="method").get_text(" ", strip=True)
    assert ("learnt from a seeded sample of 100,000 of 4,900,000 customers, stratified by value, and every "
            "customer was then assigned") in method


def test_a_segmentation_on_one_variable_or_without_support_is_flagged_for_the_reader():
    from seglab.cluster import SelectionRule, segment
    from seglab.features import FeatureDictionary
    from seglab.report.html import segmentation_cautions

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"customer_id": [f"c{i}" for i in range(300)], "net_revenue": rng.lognormal(3, 1, 300)})
    dictionary = FeatureDictionary()
    dictionary.add("net_revenue", "rfm", "purchases minus returns")
    with pytest.warns(Warning):
        seg = segment(table, dictionary, k_values=range(2, 5), rule=SelectionRule(
            n_bootstrap=3, n_splits=2, min_prediction_strength=1.0, stable_jaccard=1.0))
    cautions = segmentation_cautions(seg, dictionary)
    assert len(cautions) == 2
    assert cautions[0].startswith("Read with care: the segments rest on one variable, net revenue")
    assert "no number of segments met the rule" in cautions[1]


def test_segments_that_are_patterns_rather_than_stable_groups_are_named_as_tentative():
    from seglab.cluster import SelectionRule, segment
    from seglab.report.html import segmentation_cautions

    rng = np.random.default_rng(1)
    # one round cloud cut in three: the cuts turn with each resample, so the segments come back
    # only in part (Hennig's "pattern" or worse)
    X = rng.normal(0, 1, (500, 2))
    table = pd.DataFrame({"customer_id": [f"c{i}" for i in range(500)], "a": X[:, 0], "b": X[:, 1]})
    seg = segment(table, names=["a", "b"], k_values=range(3, 4), rule=SelectionRule(
        n_bootstrap=10, min_jaccard=0.0, min_prediction_strength=0.0, min_stability=0.0, stable_jaccard=0.0))
    stability = seg.selection.segment_stability()
    weak = stability[stability < 0.75]
    assert len(weak), stability
    names = {s: f"Group {s}" for s in stability.index}
    cautions = segmentation_cautions(seg, names=names)
    assert len(cautions) == 1 and cautions[0].startswith("Treat as tentative: ")
    assert all(f"Group {s} ({v:.2f})" in cautions[0] for s, v in weak.items())
    assert all(f"Group {s}" not in cautions[0] for s in stability.index if s not in weak.index)


def test_a_value_model_that_misses_the_holdout_by_a_fifth_is_a_caution():
    from seglab.features import ValueValidation
    from seglab.report.html import value_cautions

    def check(error, naive=0.236):
        return ValueValidation(status="validated", holdout_days=91, chosen="mbg_nbd", naive={"aggregate_error": naive},
                               models=[{"name": "mbg_nbd", "label": "MBG/NBD", "aggregate_error": error}])

    (said,) = value_cautions(check(0.225))
    assert said.startswith("Read value figures with care: checked on the last 91 days before the snapshot, the "
                           "MBG/NBD model over-predicted the purchases by 22% (a naive forecast from past purchase "
                           "rates was off by 24%).")
    assert "under-predicted the purchases by 31%" in value_cautions(check(-0.31))[0]
    assert value_cautions(check(0.12)) == [] and value_cautions(ValueValidation(status="skipped")) == []
    assert value_cautions(None) == []


def test_a_quarter_of_net_returns_reads_net_returns_not_a_percentage():
    from seglab.report.html import _change

    assert _change(-245, 2455) == "net returns"  # not "−110%"
    assert _change(0, 100) == "−100%"
    assert _change(120, 100) == "+20%"
    assert _change(5, 0) == "new" and _change(5, -3) == "new"
    assert _change(None, 100) == "–"


def test_campaign_customers_count_in_the_segment_they_were_in_when_it_went_out(runs):
    """measure_run joins last period's segments, then today's for customers new since, in the
    engine: the same cells as the frames built in pandas."""
    from seglab.measure import measure_campaigns

    then, now = runs
    measured = measure_run(now, then, n_resamples=200)
    before, today = then.segments(), now.segments()
    kept = before[before["segment"] >= 0]
    at_send = pd.concat([kept, today[~today["customer_id"].isin(kept["customer_id"])]])[["customer_id", "segment"]]
    expected = measure_campaigns(now.campaigns(), at_send, names=now.persona_names(), actions=then.persona_actions(),
                                 period=now.info()["period"], n_resamples=200)
    pd.testing.assert_frame_equal(measured.campaigns.cells, expected.cells)
    moved = today.merge(kept, on="customer_id", suffixes=("_now", "_then")).query("segment_now != segment_then")
    assert len(moved) and set(now.campaigns()["customer_id"]) & set(moved["customer_id"])
