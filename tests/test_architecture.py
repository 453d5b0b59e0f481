"""The package is layered like the pipeline: a module imports only from its own layer and the
layers below it, and only :mod:`seglab.run` knows the run folder's files."""

import ast
import re
from pathlib import Path

import pytest

import seglab

PACKAGE = Path(seglab.__file__).parent
LAYERS = [
    {"exceptions", "_validation", "_io", "_kernel", "config", "_commands", "__init__", "engine"},
    {"collect"},
    {"features", "datasets"},
    {"cluster"},
    {"personas"},
    {"measure"},
    {"plotting"},
    {"report"},
    {"run"},
    {"runner"},
    {"explorer", "workshop", "cli"},
]
"""Bottom to top: the pipeline's stages in order (measuring last period's campaigns needs the
personas' actions; the report shows the measurement), the run folder above them, the runner above
that, and the apps on top."""


def _layer(name: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if name in layer)


def _imports(path: Path) -> set[str]:
    """The seglab subpackages a module imports at run time (``if TYPE_CHECKING:`` blocks aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree)
                   if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
                   for n in ast.walk(block)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found |= {n.split(".")[1] for n in names if n.startswith("seglab.")}
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_imports_upward(path):
    mine = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    upward = sorted(n for n in _imports(path) if _layer(n) > _layer(mine))
    assert not upward, f"{path.relative_to(PACKAGE)} imports from a higher layer: {upward}"


def test_only_the_run_module_names_an_artifact_file():
    from seglab.run import ARTIFACTS

    files = {a.file for a in ARTIFACTS.values() if a.kind != "folder"}
    pattern = re.compile("|".join(re.escape(f) for f in sorted(files)))
    offenders = []
    # seglab.datasets writes *input* data (the synthetic sample's tables), not a run's artifacts
    exempt = {PACKAGE / "run.py", PACKAGE / "datasets" / "__init__.py"}
    for path in PACKAGE.rglob("*"):
        if path.suffix in (".py", ".j2") and path not in exempt:
            offenders += [f"{path.relative_to(PACKAGE)}: {m.group(0)}"
                          for m in pattern.finditer(path.read_text(encoding="utf-8"))]
    assert not offenders, offenders


def test_the_layer_check_catches_an_upward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nfrom seglab.run import RunFolder\n"
                      "if TYPE_CHECKING:\n    from seglab.runner import run_pipeline\n")
    assert _imports(module) == {"run"}  # the typing-only import does not count
