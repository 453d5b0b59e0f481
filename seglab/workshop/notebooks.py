"""The workshop notebooks: exercises are made from the solutions, never edited by hand.

In a solution notebook, the code participants write sits between ``### BEGIN SOLUTION``
and ``### END SOLUTION``. :func:`exercise_from_solution` replaces each such block with a
``# your code here`` line and the block's answer variables set to ``None`` (the checks say
"not yet" to ``None``). :func:`build_workshop` re-executes the solutions (their outputs are
what nbval validates) and rewrites the exercises.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from seglab._kernel import kernel_manager_class

__all__ = ["exercise_from_solution", "build_workshop", "without_local_paths", "workshop_dir", "BEGIN", "END"]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_BLOCK = re.compile(rf"^([ \t]*){re.escape(BEGIN)}[^\n]*\n(.*?)^[ \t]*{re.escape(END)}[^\n]*(\n|$)",
                    re.MULTILINE | re.DOTALL)


def workshop_dir() -> Path:
    """``notebooks/workshop`` of this checkout (or of the installed package)."""
    from seglab.config import notebooks_dir

    return notebooks_dir() / "workshop"


def _answers(block: str) -> list[str]:
    """The names the block's last top-level assignment defines (the exercise's answer)."""
    import textwrap

    tree = ast.parse(textwrap.dedent(block))
    for node in reversed(tree.body):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = []
            for target in targets:
                names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
            return names
    return []


def _blank(match: re.Match) -> str:
    indent, block = match.group(1), match.group(2)
    lines = [f"{indent}# your code here"] + [f"{indent}{name} = None" for name in _answers(block)]
    return "\n".join(lines) + match.group(3)


def exercise_from_solution(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The participants' version of a solution notebook: blocks blanked, outputs cleared."""
    exercise = nbformat.from_dict(nbformat.from_dict(solution))
    for cell in exercise.cells:
        if cell.cell_type == "code":
            cell.source = _BLOCK.sub(_blank, cell.source)
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    exercise.metadata.pop("papermill", None)
    return exercise


def without_local_paths(notebook: nbformat.NotebookNode, root: str | Path | None = None) -> nbformat.NotebookNode:
    """``notebook`` with the folder seglab is installed in cut from its text outputs: a
    warning reads ``seglab/features/build.py:314: DataQualityWarning: …`` on every machine,
    not with the path of the machine that executed the solutions."""
    prefix = str(Path(root) if root is not None else Path(__file__).resolve().parents[2]).rstrip("/") + "/"
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output["text"] = output["text"].replace(prefix, "")
    return notebook


def build_workshop(folder: str | Path | None = None, *, execute: bool = True, timeout: int = 300) -> list[Path]:
    """Execute every solution in ``folder/solutions`` in place and write the exercises beside
    them; returns the exercises written."""
    from nbclient import NotebookClient

    folder = Path(folder) if folder else workshop_dir()
    written = []
    for path in sorted((folder / "solutions").glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        if execute:
            NotebookClient(solution, timeout=timeout, kernel_name="python3",
                           kernel_manager_class=kernel_manager_class(),
                           resources={"metadata": {"path": str(folder / "solutions")}}).execute()
            for cell in solution.cells:
                cell.metadata.pop("execution", None)
            nbformat.write(without_local_paths(solution), path)
        target = folder / path.name
        nbformat.write(exercise_from_solution(solution), target)
        written.append(target)
    return written
