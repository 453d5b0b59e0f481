"""notebooks/explore.ipynb opens the explorer on the sample data under papermill."""

import nbformat
import pytest

from seglab.config import notebooks_dir
from seglab.runner import execute_notebook

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def test_explore_notebook_opens_the_app(tmp_path):
    done = execute_notebook(notebooks_dir() / "explore.ipynb", tmp_path / "explore.ipynb",
                            {"k": 3, "run_dir": str(tmp_path / "no-run")}, progress=False, cwd=tmp_path)
    nb = nbformat.read(done, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets, "the app was not displayed as a widget"
    params = nb.cells[-1].outputs[0]["data"]["text/plain"]
    assert "'k': 3" in params and "'algorithms': ['kmeans']" in params
