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


def test_concurrent_swaps_of_one_folder_never_fail(tmp_path):
    # two runs finishing together used to collide on one ".old" name ("Directory not empty")
    import threading

    target, errors = tmp_path / "2025Q3", []
    barrier = threading.Barrier(8)

    def swap(i):
        try:
            for j in range(25):
                with atomic_dir(target) as tmp:
                    (tmp / "report.html").write_text(f"{i}-{j}")
                    if j == 0:
                        barrier.wait()
        except Exception as err:  # noqa: BLE001 - any failure is the bug
            errors.append(err)

    threads = [threading.Thread(target=swap, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2025Q3"]  # nothing left beside it
    assert (target / "report.html").read_text().count("-") == 1


def _dead_pid() -> int:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True)
    return int(done.stdout)


def test_stale_partial_folders_of_killed_runs_are_removed(tmp_path):
    from seglab._io import remove_stale_partials

    target = tmp_path / "2025Q3"
    dead = tmp_path / f".2025Q3.{_dead_pid()}.abc123.partial"
    old = tmp_path / f".2025Q3.{_dead_pid()}.ab12cd34.old"
    alive = tmp_path / f".2025Q3.{os.getpid()}.xyz789.partial"
    other = tmp_path / f".2025Q4.{_dead_pid()}.abc123.partial"
    for folder in (dead, old, alive, other):
        (folder / "artifacts").mkdir(parents=True)
    assert sorted(remove_stale_partials(target)) == sorted([dead, old])
    assert alive.exists() and other.exists() and not dead.exists() and not old.exists()


def test_an_interrupted_swap_names_its_process(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_dir(tmp_path / "run") as tmp:
            assert f".run.{os.getpid()}." in tmp.name and tmp.name.endswith(".partial")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


HOLD = """
import sys, time
from seglab._io import FileLock
assert FileLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_a_lock_names_its_holder_and_dies_with_it(tmp_path):
    import subprocess
    import sys

    from seglab._io import FileLock

    path = tmp_path / ".2025Q3.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        lock = FileLock(path)
        assert not lock.acquire() and lock.holder["pid"] == holder.pid
    finally:
        holder.kill()
        holder.wait()
    with FileLock(path) as lock:  # the killed holder's lock is gone with it
        assert lock.acquire() and json.loads(path.read_text())["pid"] == os.getpid()
    assert not path.exists()


def test_a_lock_can_wait_for_its_holder(tmp_path):
    import threading

    from seglab._io import FileLock

    first = FileLock(tmp_path / "x.lock")
    assert first.acquire()
    threading.Timer(0.3, first.release).start()
    second = FileLock(tmp_path / "x.lock")
    assert second.acquire(wait=5, poll=0.05)
    second.release()


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(tmp_path):
    from seglab._io import escape_markdown, neutralise_cells, write_csv

    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    frame = pd.DataFrame({"name": hostile + ["Loyal - big spenders"], "n": [-1, 2, 3, 4, 5, 6, 7]})
    write_csv(frame, tmp_path / "a.csv")
    back = pd.read_csv(tmp_path / "a.csv", dtype={"name": str}, keep_default_na=False)
    assert back["name"].tolist() == ["'" + v for v in hostile] + ["Loyal - big spenders"]
    assert back["n"].tolist() == [-1, 2, 3, 4, 5, 6, 7]  # numbers stay numbers
    assert b'"\'\rx",6\n' in (tmp_path / "a.csv").read_bytes()  # a CR cannot start a row
    assert neutralise_cells(frame)["name"].tolist()[0] == "'" + hostile[0]
    assert frame["name"].tolist()[0] == hostile[0]  # the input is not modified
    assert escape_markdown("<b>x</b> & y") == "&lt;b>x&lt;/b> &amp; y"
