"""The stage notebooks executed by papermill, as `seglab run` does."""

import json

import nbformat
import pandas as pd
import pytest

from seglab.exceptions import StageError
from seglab.runner import run_pipeline, run_single_stage

# one worker runs the whole module: the run folder is built once and the tests reuse it
pytestmark = [pytest.mark.notebook, pytest.mark.slow, pytest.mark.xdist_group("pipeline_run")]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    return run_pipeline("sample", "2025Q3", out=out, config={"map_method": "pca", "n_bootstrap": 3}, progress=False)


def test_collect_notebook_writes_the_canonical_tables(sample_run):
    folder = sample_run.folder
    assert folder.path.name == "2025Q3" and folder.path.parent.name == "sample"
    data = folder.canonical()
    assert data.period == "2025Q3" and len(data.customers) == 3000
    assert data.transactions["order_date"].max() < pd.Timestamp("2025-10-01")
    assert (folder.artifacts / "quality.md").read_text().startswith("# Data quality: sample, 2025Q3")


@pytest.mark.parametrize("notebook, figures", [("01_collect.ipynb", 2), ("02_features.ipynb", 6),
                                               ("03_cluster.ipynb", 4), ("04_personas.ipynb", 3),
                                               ("05_report.ipynb", 1)])
def test_executed_notebooks_have_figures_and_no_errors(sample_run, notebook, figures):
    nb = nbformat.read(sample_run.folder.notebooks / notebook, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= figures
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "2025Q3" in injected[0].source


def test_executed_notebooks_rerun_as_they_are_in_the_finished_folder(sample_run, tmp_path):
    from seglab.runner import execute_notebook

    folder = sample_run.folder
    for path in sorted(folder.notebooks.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])][0]
        assert f'run_dir = "{folder.path}"' in injected.source, path.name  # not the temporary .partial folder
        assert nb.metadata["papermill"]["parameters"]["run_dir"] == str(folder.path)
    before = folder.report_html.stat().st_mtime_ns
    # "Run all" on the executed report notebook, with no parameter given: it works on its folder
    execute_notebook(folder.notebooks / "05_report.ipynb", tmp_path / "again.ipynb", progress=False, cwd=tmp_path)
    assert folder.report_html.stat().st_mtime_ns > before


def test_features_notebook_writes_the_feature_table_and_dictionary(sample_run):

    fs = sample_run.folder.features()
    assert len(fs.features) == 3000 and fs.dictionary.meta["as_of"] == "2025-09-30"
    assert {"recency_days", "clv", "journey_stage", "age"} <= set(fs.features.columns)
    assert fs.dictionary.names == list(fs.features.columns[1:])


def test_cluster_notebook_writes_segments_and_model(sample_run):

    seg = sample_run.folder.segmentation()
    assert len(seg.segments) == 3000 and {"x", "y"} <= set(seg.segments.columns)
    assert seg.selection is not None and seg.model.k_ == seg.selection.k
    assert (sample_run.folder.artifacts / "model.joblib").exists()


def test_personas_notebook_writes_cards_rules_and_audiences(sample_run):

    personas = sample_run.folder.personas()
    assert personas.cards and personas.meta["period"] == "2025Q3"
    assert (sample_run.folder.artifacts / "rules.sql").read_text().startswith("CASE")
    manifest = json.loads((sample_run.folder.artifacts / "audiences" / "manifest.json").read_text())
    assert [e["segment"] for e in manifest["segments"]] == [c.segment for c in personas.cards]
    # every exported segment holds out its random control group (the default 10 %), marked in its file
    assert manifest["control_share"] == 0.1
    for entry in (e for e in manifest["segments"] if e["exported"]):
        groups = pd.read_csv(sample_run.folder.audiences_folder() / entry["file"])["group"].value_counts()
        assert groups["control"] == entry["control"] == round(0.1 * entry["customers"])
        assert groups["treatment"] == entry["treatment"]


def test_next_quarter_keeps_segment_numbers_and_names(sample_run):

    names = sample_run.folder.path.parent / "names.yaml"
    names.write_text("0: Our best customers\n")
    # the analyst's names, given to the personas stage alone on this quarter's finished run
    first = run_single_stage("personas", "sample", "2025Q3", out=sample_run.folder.path.parents[1],
                             config={"names_file": str(names)}, progress=False)
    assert first.folder.personas().names[0] == "Our best customers"
    later = run_pipeline("sample", "2025Q4", out=first.folder.path.parents[1],
                         config={"map_method": "pca", "n_bootstrap": 3, "k": 4}, progress=False)
    seg = later.folder.segmentation()
    assert seg.alignment is not None and seg.params["align"] == "centroids"
    assert "Our best customers" in later.folder.personas().names.values()
    # the report compares with the quarter before, found beside it
    comparison = json.loads((later.folder.artifacts / "comparison.json").read_text())
    assert not comparison["skipped"] and comparison["previous_period"] == "2025Q3"
    assert "Our best customers" in comparison["migration"]["rows"]
    assert "Since 2025Q3" in later.folder.report_html.read_text()
    # campaign customers count in the segments of the quarter the campaigns went out
    measured = later.folder.measurement()
    assert measured.segments_from.startswith("the segments of 2025Q3")
    assert set(measured.campaigns.in_period()["campaign_id"]) >= {"2025Q4 app push", "2025Q4 loyalty rewards"}


def test_report_notebook_writes_the_report_and_a_skipped_comparison(sample_run):
    from seglab.report import lint_report

    folder = sample_run.folder
    html = folder.report_html.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Synthetic sample" in html
    assert lint_report(html) == []
    comparison = json.loads((folder.artifacts / "comparison.json").read_text())
    assert comparison["skipped"] and "2025Q2" in comparison["note"]
    assert not folder.report_pdf.exists()  # only with pdf: true
    measured = folder.measurement()  # the report stage measured the quarter's campaigns and feedback
    assert measured.period == "2025Q3" and len(measured.table()) and measured.feedback is not None
    assert "Did it work?" in html and "What customers say in 2025Q3" in html


def test_manifest_records_parameters_versions_inputs_and_timings(sample_run):
    manifest = json.loads(sample_run.folder.manifest.read_text())
    assert manifest["parameters"]["dataset"] == "sample" and manifest["parameters"]["policies"] == {}
    assert manifest["versions"]["pandas"] and manifest["timings_s"]["collect"] > 0
    assert list(manifest["timings_s"]) == ["collect", "features", "cluster", "personas", "report"]
    assert manifest["seed"] == 0 and manifest["parameters"]["drift_threshold"] == 0.5
    assert len(manifest["inputs"]["transactions.parquet"]) == 64


def test_a_failing_stage_leaves_the_previous_run_intact(sample_run):
    folder = sample_run.folder
    before = (folder.artifacts / "transactions.parquet").read_bytes()
    with pytest.raises(StageError) as err:  # an invalid policy fails inside the notebook
        run_pipeline("sample", "2025Q3", out=folder.path.parents[1], stages=["collect"],
                     config={"policies": {"cancellations": "unknown"}}, progress=False)
    message = str(err.value)
    assert "01_collect.ipynb" in message and "cell" in message and "ParameterError" in message
    assert err.value.error_name == "ParameterError"
    assert (folder.artifacts / "transactions.parquet").read_bytes() == before
    kept = folder.path.with_name("2025Q3.failed") / "notebooks" / "01_collect.ipynb"
    assert kept.exists() and str(kept) in message
    injected = [c for c in nbformat.read(kept, as_version=4).cells if "injected-parameters" in c.metadata["tags"]]
    assert f'run_dir = "{kept.parents[1]}"' in injected[0].source  # opens where it is kept


def test_single_stages_update_the_run_folder_in_place(tmp_path):
    # a customer table only: every stage must work without transactions
    for stage in ("collect", "features"):
        result = run_single_stage(stage, "mall_customers", None, out=tmp_path, progress=False)
    assert result.folder.path == tmp_path / "mall_customers" / "all"
    assert (result.folder.artifacts / "features.parquet").exists()
    manifest = json.loads(result.folder.manifest.read_text())
    assert set(manifest["timings_s"]) == {"collect", "features"}


def test_manifest_and_schema_record_the_salt_fingerprint_never_the_salt(sample_run):
    from seglab.collect.privacy import salt_fingerprint
    from tests.conftest import TEST_SALT

    manifest = json.loads(sample_run.folder.manifest.read_text())
    schema = json.loads(sample_run.folder.file("schema").read_text())
    assert manifest["salt_fingerprint"] == schema["salt_fingerprint"] == salt_fingerprint(TEST_SALT)
    for path in sample_run.folder.path.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".md", ".csv", ".html", ".ipynb", ".sql"):
            assert TEST_SALT not in path.read_text(errors="replace"), path


def test_a_notebook_started_in_notebooks_uses_the_project_folder_and_shows_a_new_salt(tmp_path, monkeypatch):
    from seglab.config import stage_notebook
    from seglab.runner import execute_notebook

    project = tmp_path / "shop"
    (project / "notebooks").mkdir(parents=True)
    (project / "reports").mkdir()
    monkeypatch.delenv("SEGLAB_SALT")
    executed = execute_notebook(stage_notebook("collect"), tmp_path / "01_collect.ipynb",
                                {"dataset": "mall_customers"}, progress=False, cwd=project / "notebooks")
    nb = nbformat.read(executed, as_version=4)
    shown = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                    if o.output_type == "stream")
    assert f"created a new pseudonymization salt in {project / '.seglab' / 'salt'}" in shown
    assert (project / ".seglab" / "salt").is_file() and not (project / "notebooks" / ".seglab").exists()
    assert (project / "reports" / "mall_customers" / "all" / "artifacts" / "customers.parquet").is_file()


def test_the_readmes_run_folder_example_works_on_a_finished_run(sample_run):
    """The README's "Reading a run in code" block, run against this run folder."""
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "from seglab.run import" in b)
    path = str(sample_run.folder.path)
    code = block.replace('open_run(None, "sample", "2025Q4")', f"open_run({path!r})")
    assert code != block  # the example still opens a run the way this test expects
    names = {}
    exec(compile(code, "README.md", "exec"), names)
    run = names["run"]
    assert run.path == sample_run.folder.path and set(run.segments()["segment"]) == set(run.segment_overview().index)
    assert run.file("rules").name == "rules.sql" and run.previous() is None
