"""Shared fixtures. Every test runs with a fixed pseudonymization salt (SEGLAB_SALT)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TEST_SALT = "seglab-test-salt"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Make ``--dist loadgroup`` group the tests marked ``xdist_group`` again.

    pytest-xdist tags each grouped test's node id with ``@<group>`` by setting
    ``item._nodeid``. pytest 9 no longer reads that attribute (a node id now lives in
    ``item._id``), so no group was formed: the tests of a group spread over both workers,
    and each worker built the group's costly fixtures again (both engines' runs of the
    sample: 6 minutes, twice). The tag is set here the way pytest 9 reads it.
    """
    if not config.getoption("loadgroup", default=False) or not hasattr(config, "workerinput"):
        return
    try:
        from _pytest.nodes import coerce_node_id
    except ImportError:  # a pytest that still reads xdist's own tag
        return
    for item in items:
        names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                        for mark in item.iter_markers("xdist_group")})
        tag = "@" + "_".join(names)
        if names and not item.nodeid.endswith(tag):
            item._id = coerce_node_id(item.nodeid + tag)


@pytest.fixture(autouse=True, scope="session")
def _fixed_salt():
    # session-wide, so that module-scoped fixtures pseudonymize with the same salt as tests
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEGLAB_SALT", TEST_SALT)
        yield


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def shared_data() -> Path:
    """The real public data sets beside the project (skipped when the folder is absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (only on development machines)")
    return SHARED_DATA


@pytest.fixture
def lines() -> pd.DataFrame:
    """Nine canonical transaction lines with one example of each problem."""
    return pd.DataFrame({
        "customer_id": ["A", "A", "A", "B", "B", None, "C", "C", "C"],
        "order_id": ["1", "1", "C2", "3", "4", "5", "6", "7", "8"],
        "order_date": pd.to_datetime(["2021-01-05", "2021-01-05", "2021-01-09", "2021-02-01",
                                      "2021-02-02", "2021-02-03", "2021-03-01", "2021-03-31",
                                      "2021-04-02"]),
        "amount": [10.0, 10.0, -10.0, 0.0, 5.0, 7.0, -3.0, 8.0, 9.0],
        "quantity": [1.0, 1.0, -1.0, 1.0, 1.0, 1.0, -1.0, 1.0, 1.0],
        "unit_price": [10.0, 10.0, 10.0, 0.0, 5.0, 7.0, 3.0, 8.0, 9.0],
        "product_id": ["11111", "11111", "11111", "22222", "POST", "33333", "44444", "55555", "66666"],
    })


def write_spec(folder: Path, text: str) -> Path:
    """Write a dataset spec into ``folder`` and return its path."""
    path = folder / "dataset.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def spark():
    """A local[2] Spark session for a test module; skipped (saying why) without PySpark or Java."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from seglab.engine import EngineSettings, check_engine, spark_session
    from seglab.exceptions import EngineUnavailableError

    try:
        check_engine(EngineSettings("spark", "local[2]"))
    except EngineUnavailableError as err:  # CI installs Java (.ci/run); elsewhere say what is missing
        pytest.skip(str(err))
    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": "4"}, app_name="seglab-tests")
    yield session
    session.stop()
