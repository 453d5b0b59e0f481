"""Printing the report to PDF with headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from seglab._io import atomic_path
from seglab.exceptions import ParameterError, SeglabError

__all__ = ["find_chromium", "print_pdf", "write_pdf", "CHROMIUM_FLAGS"]

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
"""Flags for a quiet, offline headless Chromium (no background network requests)."""


def find_chromium() -> str:
    """The Chromium executable (``$SEGLAB_CHROMIUM`` or on the PATH); a clear error when missing."""
    explicit = os.environ.get("SEGLAB_CHROMIUM")
    if explicit:
        if shutil.which(explicit) or Path(explicit).is_file():
            return explicit
        raise ParameterError(f"SEGLAB_CHROMIUM={explicit} is not an executable")
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise ParameterError("printing the report to PDF needs Chromium, which was not found. Install it "
                         "(Debian/Ubuntu: sudo apt-get install chromium; macOS: brew install --cask chromium) "
                         "or point SEGLAB_CHROMIUM at it; or run without --pdf (report.html is complete)")


def print_pdf(html: str | Path, pdf: str | Path, *, timeout: int = 180) -> Path:
    """Print ``html`` (a file) to ``pdf`` with headless Chromium, atomically."""
    chromium = find_chromium()
    html = Path(html).resolve()
    with tempfile.TemporaryDirectory(prefix="seglab-chromium-") as profile, atomic_path(pdf) as tmp:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
                   f"--print-to-pdf={tmp}", html.as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SeglabError(f"Chromium did not finish printing {html.name} within {timeout} s") from None
        if done.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
            last = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise SeglabError(f"Chromium could not print {html.name} to PDF: {last[0]}")
    return Path(pdf)


def write_pdf(run, enabled: bool = True) -> Path | None:
    """Print the run's ``report.html`` to ``report.pdf`` when ``enabled`` (the notebook's switch)."""
    if not enabled:
        return None
    return print_pdf(run.report_html, run.report_pdf)
