"""Every notebook is thin and parameterizable: papermill understands its parameters cell."""

import ast
import json

import pytest

from seglab.config import notebooks_dir
from seglab.runner import STAGES, available_stages, notebook_parameters, stage_notebook


def _parameter_cell(path):
    cells = json.loads(path.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    return "".join(tagged[0]["source"])


@pytest.mark.parametrize("stage", available_stages())
def test_every_parameter_is_an_annotated_literal_with_help(stage):
    source = _parameter_cell(stage_notebook(stage))
    declared = notebook_parameters(stage)
    tree = ast.parse(source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), f"{stage}: '{ast.unparse(node)}' is not `name: type = literal`"
        ast.literal_eval(node.value)
        names.append(node.target.id)
    assert names == list(declared), f"papermill could not parse some of {names}"
    for name, info in declared.items():
        assert info["help"], f"{stage}.{name} has no comment to serve as help"
    assert {"dataset", "period", "run_dir"} <= set(names)


@pytest.mark.parametrize("path", sorted(notebooks_dir().glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_notebooks_carry_no_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    assert not [c for c in cells if c.get("outputs") or c.get("execution_count")]


def test_stage_notebooks_are_numbered_in_pipeline_order():
    for i, stage in enumerate(available_stages()):
        assert stage_notebook(stage).name == f"{STAGES.index(stage) + 1:02d}_{stage}.ipynb"
        assert STAGES.index(stage) == i  # no gaps: every earlier stage exists
