import json
import os

import numpy as np
import pandas as pd
import pytest

from seglab._io import atomic_dir, atomic_path, sha256_file, to_jsonable, write_json, write_parquet


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left behind


def test_atomic_files_get_ordinary_permissions(tmp_path):
    mask = os.umask(0)
    os.umask(mask)
    path = write_json({"a": 1}, tmp_path / "x.json")
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_atomic_dir_replaces_only_on_success(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "report.html").write_text("last quarter")
    with pytest.raises(ValueError):
        with atomic_dir(target) as tmp:
            (tmp / "report.html").write_text("broken")
            raise ValueError("stage failed")
    assert (target / "report.html").read_text() == "last quarter"
    with atomic_dir(target) as tmp:
        (tmp / "report.html").write_text("this quarter")
    assert (target / "report.html").read_text() == "this quarter"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~mask


def test_to_jsonable_turns_numpy_and_pandas_values_into_json():
    value = {"a": np.int64(3), "b": np.float32(1.5), "c": np.nan, "d": pd.Timestamp("2020-01-02"),
             "e": [np.bool_(True)], "f": pd.NA}
    assert json.loads(json.dumps(to_jsonable(value))) == {
        "a": 3, "b": 1.5, "c": None, "d": "2020-01-02T00:00:00", "e": [True], "f": None}


def test_parquet_output_is_byte_for_byte_reproducible(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    a, b = write_parquet(frame, tmp_path / "a.parquet"), write_parquet(frame, tmp_path / "b.parquet")
    assert sha256_file(a) == sha256_file(b)
    pd.testing.assert_frame_equal(pd.read_parquet(a), frame)
