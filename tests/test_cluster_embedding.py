"""UMAP maps compile once per machine: numba's code cached on disk, neighbours by scikit-learn."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seglab.cluster.embedding import numba_cache_dir

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np, pandas as pd
    from seglab.cluster.embedding import embed
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 6)) + rng.normal(size=(4, 6))[rng.integers(0, 4, 5000)] * 4
    coords = embed(pd.DataFrame(X), method="umap", fit_sample=4500)  # 4,500 fitted, 500 placed
    assert coords.shape == (5000, 2) and np.isfinite(coords.to_numpy()).all()
    coords.to_csv(sys.argv[1], index=False)
""")


def test_numba_cache_dir_is_the_users_cache_unless_set(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert numba_cache_dir() == tmp_path / "seglab" / "numba"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert numba_cache_dir() == tmp_path / "mine"


@pytest.mark.slow
def test_a_second_process_loads_umaps_compiled_code_from_disk(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "NUMBA_DEBUG_CACHE": "1"}

    def run(name: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / name)], env=env, capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return done

    first, second = run("first.csv"), run("second.csv")
    saved = [p.name for p in Path(tmp_path / "numba").rglob("*.nbi")]
    assert any(name.startswith("layouts.") for name in saved), saved  # UMAP's own functions, not only pynndescent's
    loaded = [line for line in second.stdout.splitlines() if "data loaded from" in line and "umap_" in line]
    assert any("optimize_layout_euclidean" in line for line in loaded), second.stdout[-2000:]
    assert "nn_descent" not in second.stdout  # pynndescent (whose code cannot be cached) is not used
    # the map itself does not depend on where the code came from
    assert "data saved to" in first.stdout
    assert (tmp_path / "first.csv").read_text() == (tmp_path / "second.csv").read_text()
