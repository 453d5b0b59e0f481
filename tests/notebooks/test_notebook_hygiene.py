"""Every notebook is thin and parameterizable: papermill understands its parameters cell."""

import ast
import json

import pytest

from seglab.config import notebooks_dir
from seglab.config import STAGES, available_stages, stage_notebook
from seglab.runner import notebook_parameters


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


_LOGIC = (ast.If, ast.IfExp, ast.For, ast.While, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
          ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)


@pytest.mark.parametrize("path", [*(stage_notebook(s) for s in available_stages()), notebooks_dir() / "explore.ipynb"],
                         ids=lambda p: p.name)
def test_stage_notebooks_hold_no_logic(path):
    """A branch, a loop, a function or a comprehension in a notebook is code asking to move into
    the package, with a test: notebooks call seglab, one idea per cell."""
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        found = sorted({type(n).__name__ for n in ast.walk(ast.parse(source)) if isinstance(n, _LOGIC)})
        assert not found, f"{path.name}: {found} in\n{source}"


def test_the_logic_check_catches_a_loop_and_a_branch():
    for source in ("for x in y:\n    print(x)", "a = 1 if b else 2", "[x for x in y]", "def f():\n    pass"):
        assert any(isinstance(n, _LOGIC) for n in ast.walk(ast.parse(source))), source
