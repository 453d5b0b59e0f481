"""The public entry points of seglab.cluster and seglab.plotting carry numpydoc Parameters and
Returns sections (estimator classes: Parameters and Attributes, and their fit/predict/transform
both)."""

import inspect
import re

import pytest

import seglab.cluster
import seglab.plotting


def _sections(obj) -> set[str]:
    doc = inspect.getdoc(obj) or ""
    return {s for s in ("Parameters", "Returns", "Attributes") if re.search(rf"^{s}\n-+$", doc, re.MULTILINE)}


def _entry_points():
    for module in (seglab.cluster, seglab.plotting):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                yield f"{module.__name__}.{name}", obj, {"Parameters", "Returns"}
            elif inspect.isclass(obj) and hasattr(obj, "fit"):
                yield f"{module.__name__}.{name}", obj, {"Parameters", "Attributes"}
                for method in ("fit", "predict", "transform"):
                    if method in vars(obj):
                        yield f"{module.__name__}.{name}.{method}", getattr(obj, method), {"Parameters", "Returns"}


ENTRY_POINTS = list(_entry_points())


@pytest.mark.parametrize("name, obj, needed", ENTRY_POINTS, ids=[name for name, _, _ in ENTRY_POINTS])
def test_public_entry_points_have_numpydoc_parameters_and_returns(name, obj, needed):
    assert needed <= _sections(obj), f"{name} lacks {sorted(needed - _sections(obj))}"
