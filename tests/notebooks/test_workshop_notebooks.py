"""The workshop notebooks: solutions validated with nbval, exercises in step and friendly when blank."""

import re
import subprocess
import sys

import nbformat
import pytest

from seglab.runner import execute_notebook
from seglab.workshop import exercise_from_solution
from seglab.workshop.notebooks import workshop_dir

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

SOLUTIONS = sorted((workshop_dir() / "solutions").glob("*.ipynb"))


def test_there_are_four_exercises_with_solutions():
    assert [p.name for p in SOLUTIONS] == ["01_rfm.ipynb", "02_choosing_k.ipynb", "03_personas.ipynb",
                                           "04_quarter_later.ipynb"]
    assert all((workshop_dir() / p.name).exists() for p in SOLUTIONS)
    assert (workshop_dir() / "README.md").exists()


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_exercises_are_made_from_the_solutions(solution):
    expected = exercise_from_solution(nbformat.read(solution, as_version=4))
    committed = nbformat.read(workshop_dir() / solution.name, as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in expected.cells], \
        "run `make workshop` to rebuild the exercises from the solutions"
    assert not [c for c in committed.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
    code = "\n".join(c.source for c in committed.cells if c.cell_type == "code")
    assert "### BEGIN SOLUTION" not in code and "# your code here" in code


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_pass_nbval(solution):
    # nbval in lax mode: every cell must run; cells marked NBVAL_CHECK_OUTPUT (the checks'
    # feedback) must print exactly what the committed solution shows
    done = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-o", "addopts=", "-p", "no:cacheprovider",
                           "-q", solution.name], cwd=solution.parent, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    nb = nbformat.read(solution, as_version=4)
    checked = [c for c in nb.cells if "NBVAL_CHECK_OUTPUT" in c.source]
    assert checked and all(c.outputs for c in checked)
    assert all("✓" in "".join(o.get("text", "") for o in c.outputs) for c in checked[:2])


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_blank_exercises_run_and_say_not_yet(solution, tmp_path):
    target = execute_notebook(workshop_dir() / solution.name, tmp_path / solution.name, progress=False,
                              cwd=tmp_path)
    nb = nbformat.read(target, as_version=4)
    checked = [c for c in nb.cells if "NBVAL_CHECK_OUTPUT" in c.source]
    texts = ["".join(o.get("text", "") for o in c.outputs) for c in checked]
    assert texts and all("not yet" in t.lower() for t in texts), texts


def test_committed_solutions_hold_no_path_of_the_machine_that_ran_them(tmp_path):
    from seglab.workshop import without_local_paths

    note = nbformat.v4.new_code_cell("x = 1")
    note.outputs = [nbformat.v4.new_output("stream", name="stderr",
                                           text=f"{tmp_path}/seglab/features/build.py:3: DataQualityWarning: w\n")]
    cleaned = without_local_paths(nbformat.v4.new_notebook(cells=[note]), root=tmp_path)
    assert cleaned.cells[0].outputs[0]["text"] == "seglab/features/build.py:3: DataQualityWarning: w\n"
    for solution in SOLUTIONS:  # e.g. /home/me/seglab/seglab/features/build.py:314: in a warning
        found = re.findall(r"/[^\s\"']+/seglab/[\w/]+\.py:\d+", solution.read_text())
        assert not found, f"run `make workshop`: {solution.name} names {found[0]}"
