"""Fixtures for the browser tests: one JupyterLab server per session, a fresh Chromium per test.

Skipped, with the reason, only where headless Chromium or its driver is not installed
(``apt-get install chromium chromium-driver``; ``.ci/run`` installs them).
"""

from __future__ import annotations

import pytest

from seglab.config import notebooks_dir
from tests.browser.lab import BrowserUnavailable, JupyterLab, chrome, find_browser


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab started as the README says: ``jupyter lab notebooks/``."""
    try:
        find_browser()
    except BrowserUnavailable as err:
        pytest.skip(f"no headless browser: {err}")
    with JupyterLab(notebooks_dir(), tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture
def browser(tmp_path):
    driver = chrome(tmp_path / "chromium-profile")
    yield driver
    driver.quit()


@pytest.fixture
def untouched():
    """Fails the test if it changed a notebook in ``notebooks/`` (autosave is off; nothing saves)."""
    before = {p: p.read_bytes() for p in notebooks_dir().rglob("*.ipynb")}
    yield
    changed = [str(p) for p, data in before.items() if p.read_bytes() != data]
    assert not changed, f"the browser test changed {changed}"
