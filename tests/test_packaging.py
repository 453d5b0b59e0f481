"""The project's own files agree with each other."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"duckdb": "python-duckdb", "ibis-framework[duckdb]": "ibis-duckdb"}


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", requirement.strip())
    return match[1].lower(), match[2].replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [r for extra in ("dev", "spark")
                                       for r in project["optional-dependencies"][extra]]
    expected = {}
    for req in wanted:
        name, spec = _split(req)
        expected[CONDA_NAMES.get(name, name)] = spec
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = dict(_split(d) for d in env["dependencies"] if isinstance(d, str) and d not in ("pip",))
    python = listed.pop("python")
    assert python == ">=" + project["requires-python"].lstrip(">=")
    assert listed == expected


def test_pandas_frames_reach_ibis_through_memtable_and_temporary_tables_are_dropped():
    # ibis-framework 12 with sqlglot >= 30.18 fails on con.create_table(name, <DataFrame>) and on
    # ibis's own DROP of cached tables. seglab never takes those paths: pandas goes through
    # ibis.memtable, shared intermediate tables are created from expressions and dropped by
    # DuckDB itself. This exercises both with the installed versions.
    import pandas as pd

    from seglab.features.engine import as_table, connect, execute, materialize

    con = connect()

    def tables() -> set[str]:  # ibis's list_tables calls a method DuckDB 2.0 no longer has
        return {row[0] for row in con.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}

    table = as_table(con, pd.DataFrame({"customer_id": ["a", "b", "b"], "amount": [1.0, 2.0, 3.0]}),
                     name="t")
    with materialize(con, table.group_by("customer_id").aggregate(total=table.amount.sum()), "test") as m:
        name = m.get_name().split(".")[-1]  # ibis qualifies it: temp.main.<name>
        assert name in tables()
        assert execute(con, m.order_by("customer_id"))["total"].tolist() == [1.0, 5.0]
    assert name not in tables()
    calls = [p for p in (ROOT / "seglab").rglob("*.py") if ".create_table(" in p.read_text()]
    # only features' materialize and collect's persist, each with an expression
    assert sorted(p.name for p in calls) == ["engine.py", "engine_read.py"]


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make report" in readme and "make test" in readme


def test_public_modules_declare_all():
    import importlib

    for name in ("seglab", "seglab.collect", "seglab.config", "seglab.datasets", "seglab.exceptions",
                 "seglab.plotting", "seglab.runner", "seglab.cli"):
        module = importlib.import_module(name)
        assert module.__all__, name
        for symbol in module.__all__:
            assert hasattr(module, symbol), f"{name}.{symbol}"
