"""JupyterLab in headless Chromium: what the browser tests and ``bench/bench_explore.py`` drive.

:class:`JupyterLab` starts a JupyterLab server the way the README says (``jupyter lab
notebooks/``: its root and working folder are ``notebooks/``) on 127.0.0.1, on a free port,
with a random token, with its own settings (autosave off, so the tests never write into the
notebooks), runtime and data folders. :func:`chrome` opens headless Chromium through
Selenium and Debian's ``chromium-driver``. :class:`NotebookPage` runs a notebook in the page
and reads what a person sees.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")

_SETTINGS = {  # JupyterLab user settings for a test session
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
}


class BrowserUnavailable(RuntimeError):
    """Headless Chromium, its driver or Selenium is missing (the message says how to install them)."""


def find_browser() -> tuple[str, str]:
    """The paths of Chromium and chromedriver; :class:`BrowserUnavailable` when missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        raise BrowserUnavailable("selenium is not installed: pip install -e '.[dev]'") from None
    chromium = os.environ.get("SEGLAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or next((p for p in ("/usr/bin/chromedriver",
                                                               "/usr/lib/chromium/chromedriver")
                                                   if Path(p).exists()), None)
    if not chromium or not driver:
        missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", driver)) if not p)
        raise BrowserUnavailable(f"{missing} not found: apt-get install chromium chromium-driver "
                                 "(.ci/run installs them)")
    return chromium, driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A JupyterLab server for one test session; use as a context manager.

    Parameters
    ----------
    root
        The folder JupyterLab serves and starts in (``notebooks/``, as the README says).
    home
        A private folder for its settings, runtime files and log.
    """

    def __init__(self, root: Path, home: Path, *, env: dict | None = None):
        self.root, self.home = Path(root), Path(home)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> JupyterLab:
        settings = self.home / "settings"
        for name, values in _SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        env = {**self.env, "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
               "JUPYTER_DATA_DIR": str(self.home / "data"), "JUPYTER_CONFIG_DIR": str(self.home / "config"),
               "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", "--LabApp.expose_app_in_browser=True",
                   f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={self.home / 'workspaces'}",
                   "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        self.log = self.home / "jupyterlab.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2):
                    return self
            except OSError:
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError(f"JupyterLab did not answer within 120 s:\n{self.log_tail()}")

    def __exit__(self, *exc) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def kernel_ready(self, notebook: str) -> bool:
        """Whether the notebook's kernel is started and idle (as the server sees it)."""
        with urllib.request.urlopen(f"{self.base}/api/sessions?token={self.token}", timeout=5) as answer:
            sessions = json.load(answer)
        return any(s.get("path") == notebook and (s.get("kernel") or {}).get("execution_state") == "idle"
                   for s in sessions)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, notebook: str) -> str:
        """The notebook in a workspace of its own, reset: no tab of an earlier page comes back."""
        workspace = f"w{secrets.token_hex(4)}"
        return f"{self.base}/lab/workspaces/{workspace}/tree/{notebook}?reset&token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def chrome(profile: Path, *, width: int = 1400, height: int = 1000):
    """Headless Chromium at ``width`` × ``height`` with a fresh profile folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = find_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service(driver), options=options)


class NotebookPage:
    """One notebook open in JupyterLab, as a person sees it."""

    def __init__(self, driver, lab: JupyterLab, notebook: str, *, timeout: float = 120):
        self.driver, self.lab, self.notebook = driver, lab, notebook
        driver.get(lab.url(notebook))
        self.until("window.jupyterapp && document.querySelector('.jp-NotebookPanel .jp-Cell')", timeout,
                   what="JupyterLab to open the notebook")
        deadline = time.monotonic() + timeout
        while not lab.kernel_ready(notebook):  # the page says "idle" before its kernel exists
            if time.monotonic() > deadline:
                self.driver.save_screenshot(str(self.lab.home / f"timeout-{int(time.time())}.png"))
                raise TimeoutError(f"no kernel for {notebook} after {timeout} s:\n{lab.log_tail()}")
            time.sleep(0.3)
        self.until("document.querySelector('.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]')", timeout,
                   what="the kernel to start")
        self.js("document.querySelector('.jp-NotebookPanel .jp-Cell .jp-InputPrompt').click();")  # focus it

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def until(self, expression: str, timeout: float = 60, *, what: str = "", poll: float = 0.05):
        """Poll a JavaScript expression until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.driver.execute_script(f"return ({expression});")
            if value:
                return value
            if time.monotonic() > deadline:
                self.driver.save_screenshot(str(self.lab.home / f"timeout-{int(time.time())}.png"))
                raise TimeoutError(f"waited {timeout} s for {what or expression}; the page shows errors: "
                                   f"{self.errors()}; status line: {self.text('.seglab-status')!r}")
            time.sleep(poll)

    def command(self, name: str) -> None:
        """Run a JupyterLab command (what a menu item does)."""
        self.js("window.jupyterapp.commands.execute(arguments[0]);", name)

    def menu(self, *path: str) -> None:
        """Click through the menu bar, e.g. ``menu("Run", "Run All Cells")``."""
        from selenium.webdriver.common.by import By

        items = self.driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
        next(i for i in items if i.text.strip() == path[0]).click()
        for label in path[1:]:
            self.until("[...document.querySelectorAll('.lm-Menu-item')].some(i => i.innerText.trim().startsWith("
                       f"{label!r}))", 10, what=f"menu item {label!r}")
            items = self.driver.find_elements(By.CSS_SELECTOR, ".lm-Menu-item")
            next(i for i in items if i.text.strip().startswith(label)).click()

    def run_all(self) -> None:
        """Run ▸ Run All Cells."""
        self.menu("Run", "Run All Cells")

    def text(self, selector: str) -> str | None:
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.innerText : null;", selector)

    def errors(self) -> list[str]:
        """Error outputs (tracebacks) shown in the notebook."""
        return self.js("return [...document.querySelectorAll("
                       "'.jp-OutputArea-output[data-mime-type=\"application/vnd.jupyter.error\"], "
                       ".jp-RenderedText[data-mime-type=\"application/vnd.jupyter.error\"]')]"
                       ".map(e => e.innerText.slice(0, 2000));")

    def screenshot(self, path: Path) -> Path:
        self.driver.save_screenshot(str(path))
        return path
