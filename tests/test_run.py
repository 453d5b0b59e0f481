"""The runner's checks before any work: output folder, lock, salt, and the period chosen in
bounded memory. (The stage notebooks themselves run in tests/notebooks/test_pipeline_run.py.)"""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from seglab.collect.privacy import salt_fingerprint
from seglab.run import RunFolder
from seglab.exceptions import ParameterError, RunInProgressError, SaltMismatchError
from seglab.collect import resolve_period
from seglab.run import check_output_folder, check_run_salt, check_same_salt, lock_run
from tests.conftest import TEST_SALT, write_spec


def fake_run(folder, period, fingerprint, *, where="schema"):
    run = RunFolder(folder).make()
    run.file("model").write_bytes(b"")
    record = {"dataset": "sample", "period": period, "salt_fingerprint": fingerprint}
    target = run.file("schema") if where == "schema" else run.manifest
    target.write_text(json.dumps(record))
    if where != "schema":
        run.file("schema").write_text(json.dumps({"dataset": "sample", "period": period}))
    return run


def test_output_folder_is_created_when_missing(tmp_path):
    assert check_output_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("x") and p, "is a file, not a folder"),
    (lambda p: p.write_text("x") and p / "sub", "cannot be created"),
])
def test_output_folder_problems_are_parameter_errors(tmp_path, make, message):
    with pytest.raises(ParameterError, match=message):
        check_output_folder(make(tmp_path / "out"))


def test_lock_refuses_a_second_run_and_cleans_what_killed_runs_left(tmp_path):
    target = RunFolder(tmp_path / "sample" / "2025Q3")
    target.path.parent.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True)
    stale = target.path.with_name(f".2025Q3.{int(dead.stdout)}.k2j3h4.partial")
    (stale / "artifacts").mkdir(parents=True)
    with lock_run(target, dataset="sample", period="2025Q3"):
        assert not stale.exists()
        with pytest.raises(RunInProgressError, match=rf"a run of sample 2025Q3 is in progress \(pid {os.getpid()}"):
            lock_run(target, dataset="sample", period="2025Q3")
    with lock_run(target, dataset="sample", period="2025Q3"):  # released: free again
        pass


def test_previous_run_with_another_salt_is_refused(tmp_path):
    fake_run(tmp_path / "sample" / "2025Q3", "2025Q3", "aaaaaaaaaaaaaaaa")
    now = fake_run(tmp_path / "sample" / "2025Q4", "2025Q4", "bbbbbbbbbbbbbbbb")
    with pytest.raises(SaltMismatchError, match="different salts .*aaaaaaaaaaaaaaaa.*SEGLAB_SALT"):
        now.previous()
    assert now.previous("none") is None
    same = fake_run(tmp_path / "sample" / "2025Q2", "2025Q2", "bbbbbbbbbbbbbbbb")
    assert now.previous("2025Q2") == RunFolder(same.path.resolve())


def test_a_run_without_a_fingerprint_is_used_with_a_warning(tmp_path):
    then = fake_run(tmp_path / "2025Q3", "2025Q3", None)
    now = fake_run(tmp_path / "2025Q4", "2025Q4", "bbbbbbbbbbbbbbbb")
    with pytest.warns(UserWarning, match="records no salt fingerprint"):
        check_same_salt(now, then)


def test_the_fingerprint_is_read_from_the_manifest_when_schema_lacks_it(tmp_path):
    run = fake_run(tmp_path / "2025Q3", "2025Q3", "cccccccccccccccc", where="manifest")
    assert run.salt_fingerprint() == "cccccccccccccccc"


def test_a_run_made_with_another_salt_than_the_project_is_refused(tmp_path, monkeypatch):
    mine = fake_run(tmp_path / "mine", "2025Q3", salt_fingerprint(TEST_SALT))
    check_run_salt(mine)
    other = fake_run(tmp_path / "other", "2025Q3", "dddddddddddddddd")
    with pytest.raises(SaltMismatchError, match="another salt .*dddddddddddddddd"):
        check_run_salt(other)
    monkeypatch.delenv("SEGLAB_SALT")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SaltMismatchError, match="this project has no salt"):
        check_run_salt(mine)
    assert not (tmp_path / ".seglab").exists()  # checking never creates a salt


def test_the_period_is_chosen_without_loading_the_table(tmp_path, monkeypatch):
    lines = ["Customer,Invoice,Date,Qty,Price"] + [
        f"{i % 50},{i},2021-{1 + i % 6:02d}-{1 + i % 28:02d},1,2.0" for i in range(5000)]
    (tmp_path / "orders.csv").write_text("\n".join(lines) + "\n2,x,2021-06-30,1,2.0\n")
    spec = write_spec(tmp_path, "name: shop\ntransactions:\n  sources:\n    - path: orders.csv\n"
                                "  columns: {customer_id: Customer, order_id: Invoice, order_date: Date}\n"
                                "  derive: {amount: Qty * Price}\n")
    import seglab.collect.mapping as mapping
    import seglab.collect.sources as sources

    def forbidden(*args, **kwargs):
        raise AssertionError("the whole table was read to choose the period")

    largest, original = [], sources.iter_source

    def spy(*args, **kwargs):
        for chunk in original(*args, **{**kwargs, "chunk_rows": 1000}):
            largest.append(len(chunk))
            yield chunk

    monkeypatch.setattr(mapping, "read_table", forbidden)
    monkeypatch.setattr(sources, "read_source", forbidden)
    monkeypatch.setattr(mapping, "read_source", forbidden)
    monkeypatch.setattr(mapping, "iter_source", spy)
    assert resolve_period(str(spec)) == ("shop", "2021Q2")
    assert max(largest) == 1000 and sum(largest) == 5001


def test_the_explorer_refuses_a_run_made_with_another_salt(tmp_path):
    from seglab.explorer import load_features

    run = fake_run(tmp_path / "sample" / "2025Q4", "2025Q4", "eeeeeeeeeeeeeeee")
    pd.DataFrame({"customer_id": ["a"]}).to_parquet(run.file("features"))
    with pytest.raises(SaltMismatchError, match="eeeeeeeeeeeeeeee"):
        load_features("sample", "2025Q4", run_dir=run.path)


def test_run_folder_layout(tmp_path):
    from seglab.run import ARTIFACTS, open_run, run_folder

    rf = run_folder("sample", "2025q4", tmp_path)
    assert rf.path == tmp_path / "sample" / "2025Q4"
    assert rf.file("features") == rf.path / "artifacts" / "features.parquet"
    assert {a.file for a in ARTIFACTS.values()} >= {"schema.json", "segments.parquet", "personas.json"}
    assert rf.make().notebooks.is_dir()
    assert open_run(str(tmp_path / "here"), "sample", "2025Q4") == RunFolder(tmp_path / "here")
    assert open_run("", "sample", "2025Q4", tmp_path) == rf
    with pytest.raises(ParameterError, match="did you mean 'features'"):
        rf.file("featurs")


def test_a_missing_artifact_names_the_stage_that_writes_it(tmp_path):
    from seglab.exceptions import InputError

    with pytest.raises(InputError, match="written by the features stage.*seglab features"):
        RunFolder(tmp_path).require("features")
    with pytest.raises(InputError, match="cluster stage"):
        RunFolder(tmp_path).segmentation()


def test_the_map_and_the_sizes_come_from_the_segments_file_without_every_customer(tmp_path):
    import matplotlib.pyplot as plt

    from seglab.exceptions import InputError
    from seglab.plotting import plot_segment_map

    run = RunFolder(tmp_path)
    segments = pd.DataFrame({"customer_id": [f"{i:016x}" for i in range(10)], "segment": [0] * 6 + [1] * 4,
                             "x": [0.1, None, 0.3, None, None, None, 0.5, None, None, None],
                             "y": [0.2, None, 0.1, None, None, None, 0.4, None, None, None]})
    run.file("segments").parent.mkdir(parents=True)
    segments.to_parquet(run.file("segments"))
    placed = run.segment_map()
    assert placed["customer_id"].tolist() == ["0000000000000000", "0000000000000002", "0000000000000006"]
    sizes = run.segment_sizes()
    assert sizes["customers"].to_dict() == {0: 6, 1: 4}
    ax = plot_segment_map(placed, sizes=sizes)  # the legend counts every customer, the title says how many are shown
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["segment 0 (6)", "segment 1 (4)"]
    assert "3 of 10 customers shown" in ax.get_title()
    plt.close(ax.figure)
    segments.drop(columns=["x", "y"]).to_parquet(run.file("segments"))
    assert run.segment_map() is None
    from seglab.cluster import Segmentation, SegmentationColumns

    light = Segmentation(segments=None, model=None, columns=SegmentationColumns((), (), {}))
    with pytest.raises(InputError, match="without its customers.*segment_sizes"):
        light.sizes()
