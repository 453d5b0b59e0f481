from pathlib import Path

import pandas as pd
import pytest

from seglab.config import complete_periods, data_dir, notebooks_dir, parse_period
from seglab.run import run_folder
from seglab.exceptions import PeriodError


@pytest.mark.parametrize("text, label, start, end", [
    ("2011Q3", "2011Q3", "2011-07-01", "2011-09-30"),
    ("2011q1", "2011Q1", "2011-01-01", "2011-03-31"),
    ("2012-02", "2012-02", "2012-02-01", "2012-02-29"),
    ("2011", "2011", "2011-01-01", "2011-12-31"),
    ("2011-12-09", "2011-12-09", "2011-12-09", "2011-12-09"),
])
def test_parse_period_reads_every_form(text, label, start, end):
    p = parse_period(text)
    assert (p.label, p.start, p.end) == (label, pd.Timestamp(start), pd.Timestamp(end))
    assert p.cutoff == pd.Timestamp(end) + pd.Timedelta(days=1)


def test_parse_period_all_is_static():
    p = parse_period("all")
    assert p.is_static and p.end is None and p.cutoff is None


@pytest.mark.parametrize("text", ["2011Q5", "Q3 2011", "2011-13", "2011-02-30", "last quarter", ""])
def test_parse_period_rejects_nonsense_with_the_forms_it_accepts(text):
    with pytest.raises(PeriodError, match="2011Q3|month|date"):
        parse_period(text)


@pytest.mark.parametrize("text, previous", [("2011Q1", "2010Q4"), ("2011-01", "2010-12"), ("2011", "2010")])
def test_previous_period_steps_back_one_of_the_same_kind(text, previous):
    assert parse_period(text).previous().label == previous


def test_previous_of_an_as_of_date_asks_for_an_explicit_period():
    with pytest.raises(PeriodError, match="--compare-to"):
        parse_period("2011-12-09").previous()


def test_complete_periods_needs_the_data_to_reach_the_last_day():
    found = complete_periods(pd.Timestamp("2009-12-01 07:45"), pd.Timestamp("2011-12-09 12:50"))
    assert found[0].label == "2009Q4" and found[-1].label == "2011Q3" and len(found) == 8


def test_bundled_data_and_notebooks_are_found():
    assert (data_dir() / "external" / "online_retail_2010_2011.parquet").is_file()
    assert (data_dir() / "sample" / "transactions.parquet").is_file()
    assert (notebooks_dir() / "01_collect.ipynb").is_file()
    assert isinstance(data_dir(), Path)


@pytest.mark.parametrize("marker", [".seglab", "reports"])
def test_the_project_folder_is_found_from_a_subfolder(tmp_path, marker):
    from seglab.config import project_dir

    (tmp_path / marker).mkdir()
    (tmp_path / "notebooks" / "deep").mkdir(parents=True)
    assert project_dir(tmp_path / "notebooks" / "deep") == tmp_path.resolve()


def test_a_pyproject_counts_only_when_it_names_seglab(tmp_path):
    from seglab.config import project_dir

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\n')
    assert project_dir(tmp_path / "notebooks") == (tmp_path / "notebooks").resolve()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\ndependencies = ["seglab"]\n')
    assert project_dir(tmp_path / "notebooks") == tmp_path.resolve()


def test_the_nearest_project_folder_wins_and_without_one_the_start_folder(tmp_path):
    from seglab.config import project_dir

    (tmp_path / ".seglab").mkdir()
    (tmp_path / "inner" / "reports").mkdir(parents=True)
    assert project_dir(tmp_path / "inner") == (tmp_path / "inner").resolve()
    lonely = Path("/proc/self")  # no project markers above it, up to the root
    assert project_dir(lonely) == lonely.resolve()


def test_default_reports_folder_is_in_the_project_folder(tmp_path, monkeypatch):
    from seglab.config import reports_dir

    (tmp_path / "reports").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert reports_dir() == tmp_path.resolve() / "reports"
    assert run_folder("sample", "2025Q4").path == tmp_path.resolve() / "reports" / "sample" / "2025Q4"
    assert reports_dir(tmp_path / "elsewhere") == tmp_path / "elsewhere"
