"""Safe file output: atomic writes, run locks, and text that cannot attack its reader.

An interrupted run leaves either the old file or the new one, never half of one.
JSON and Parquet are written deterministically (same content, same bytes). Text cells
of CSV exports are neutralised against formula injection (:func:`write_csv`), and
data-derived text in Markdown cannot carry HTML (:func:`escape_markdown`).
"""

from __future__ import annotations

import errno
import glob
import json
import math
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

__all__ = [
    "load_yaml",
    "atomic_path",
    "atomic_dir",
    "remove_stale_partials",
    "FileLock",
    "write_csv",
    "neutralise_text",
    "neutralise_cells",
    "escape_markdown",
    "write_parquet",
    "write_json",
    "write_text",
    "read_json",
    "to_jsonable",
    "sha256_file",
]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give a new file


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success.

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hi")
    >>> target.read_text()
    'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes files private; outputs are ordinary files
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return False
    return True


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.(partial|old)$")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a folder under a temporary name; swap it for ``path`` only on success.

    The previous folder at ``path`` (if any) survives any failure inside the block.
    The temporary folder, ``.<name>.<pid>.<random>.partial`` beside ``path``, names
    the process building it, so that a later run can remove it when that process
    was killed (:func:`remove_stale_partials`). Concurrent swaps of one ``path`` never
    fail: each moves the folder it replaces to a name of its own.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".partial",
                                dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes folders private; a run folder is ordinary
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap_into_place(tmp, path)


def _swap_into_place(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` to ``path``, moving whatever is at ``path`` aside first."""
    aside = []
    try:
        for _ in range(100):
            old = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.old")
            try:
                os.replace(path, old)
                aside.append(old)
            except FileNotFoundError:
                pass  # nothing there (or another process just moved it aside)
            try:
                os.replace(tmp, path)
                return
            except OSError as err:  # another process put a folder there in between: again
                if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
        raise OSError(f"could not move {tmp} to {path}: other processes keep replacing it")
    finally:
        for old in aside:
            shutil.rmtree(old, ignore_errors=True)


def remove_stale_partials(path: str | Path) -> list[Path]:
    """Remove the folders :func:`atomic_dir` left beside ``path`` when its process was killed.

    Those are ``.<name>.<pid>.<random>.partial`` (a folder being built) and ``….old`` (the
    folder it replaced, not yet deleted). One whose process is still alive is left
    alone. Returns the folders removed.
    """
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for candidate in path.parent.glob(f".{glob.escape(path.name)}.*"):
        match = _LEFTOVER.match(candidate.name)
        if match and match["name"] == path.name and not _pid_alive(int(match["pid"])):
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


class FileLock:
    """An exclusive lock held through a lock file that records the holder's pid.

    ``acquire`` returns True when the lock is taken, False when another live
    process holds it (:attr:`holder` then says which). The lock is an ``flock`` on
    the file, so a killed holder never leaves it stuck; the file is removed on
    release. Use as a context manager after a successful ``acquire``.

    >>> import tempfile, pathlib
    >>> lock = FileLock(pathlib.Path(tempfile.mkdtemp()) / "x.lock")
    >>> lock.acquire(), FileLock(lock.path).acquire()
    (True, False)
    >>> lock.release()
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.holder: dict = {}
        self._fd: int | None = None

    def acquire(self, *, wait: float = 0.0, poll: float = 0.2) -> bool:
        """Take the lock, waiting up to ``wait`` seconds for another holder to finish."""
        import fcntl

        deadline = time.monotonic() + wait
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                self.holder = self._read_holder()
                if time.monotonic() >= deadline:
                    return False
                time.sleep(poll)
                continue
            # the holder before us may have removed the file after we opened it: then our
            # lock is on a file nobody else sees, so start again on the new one
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
            os.ftruncate(fd, 0)
            os.write(fd, info.encode("utf-8"))
            self._fd = fd
            return True

    def _read_holder(self) -> dict:
        try:
            return json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        """Give the lock up and remove the lock file."""
        if self._fd is None:
            return
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        os.close(self._fd)  # closing releases the flock
        self._fd = None

    def __enter__(self) -> FileLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def write_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to Parquet atomically (index dropped unless it is named)."""
    keep_index = any(name is not None for name in frame.index.names)
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=keep_index, engine="pyarrow", compression="zstd")
    return Path(path)


def to_jsonable(value: Any) -> Any:
    """Turn numpy/pandas scalars, timestamps and paths into plain JSON values.

    NaN and infinities become ``None`` (JSON has no such numbers).
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, Path):
        return value.as_posix()
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, made inert (OWASP's CSV-injection rule).

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading single quote, so Excel, LibreOffice and Google Sheets show it as text.
    Anything that is not text is returned unchanged.

    >>> neutralise_text("=SUM(A1:A9)"), neutralise_text("Loyal"), neutralise_text(-3)
    ("'=SUM(A1:A9)", 'Loyal', -3)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are :func:`neutralise_text`-ed (numbers untouched)."""
    out = {}
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_string_dtype(values) or values.dtype == object:
            values = values.map(neutralise_text, na_action="ignore")
        out[neutralise_text(str(col)) if isinstance(col, str) else col] = values
    return pd.DataFrame(out, index=frame.index)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV (no index) atomically, text cells neutralised against formulas.

    Every text cell is quoted, so a carriage return inside one cannot start a new row.
    """
    import csv

    with atomic_path(path) as tmp:
        neutralise_cells(frame).to_csv(tmp, index=False, quoting=csv.QUOTE_NONNUMERIC)
    return Path(path)


def escape_markdown(text: str) -> str:
    """Markdown with any HTML in it made inert: ``&`` and ``<`` become entities.

    Markdown renderers (Jupyter, GitHub, pandoc) pass raw HTML through; data-derived
    text such as a segment name from a names file must not carry any.

    >>> escape_markdown("## <img src=x onerror=alert(1)> & co")
    '## &lt;img src=x onerror=alert(1)> &amp; co'
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;")


def write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented UTF-8 JSON, atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False) + "\n"
    return write_text(text, path)


def read_json(path: str | Path) -> Any:
    """Read a JSON file written by :func:`write_json`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` as UTF-8, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the
    last silently: a spec with two ``behaviour:`` lists would lose the first)."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice (first on line {seen[key] + 1}); "
                    "merge the two into one", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def load_yaml(text: str):
    r"""Parse YAML safely (no tags that run code), refusing duplicate keys.

    >>> load_yaml("a: 1\nb: [x, y]")
    {'a': 1, 'b': ['x', 'y']}
    >>> load_yaml("a: 1\na: 2")
    Traceback (most recent call last):
    ...
    yaml.constructor.ConstructorError: the key 'a' is given twice (first on line 1); merge the two into one
      in "<unicode string>", line 2, column 1:
        a: 2
        ^
    """
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
