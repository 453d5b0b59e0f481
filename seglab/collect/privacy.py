"""Pseudonymization: personal identifiers become keyed hashes before anything else sees them.

A keyed hash (HMAC-SHA-256) of an id is stable for a given **salt**, so the same
customer gets the same pseudonym every quarter, while nobody without the salt can
recompute it from a known id. The salt comes from, in order: the ``salt``
argument, the ``SEGLAB_SALT`` environment variable, or ``.seglab/salt`` in the
project folder (:func:`seglab.config.project_dir`: found from the working directory
upwards; created at random on first use, with a visible :class:`SaltWarning`; never
committed: ``.seglab/`` is in ``.gitignore``). The salt itself is never written to
any output; its **fingerprint** (:func:`salt_fingerprint`, a keyed hash of a fixed
text) is, so that runs pseudonymized with different salts are never compared.

Emails are dropped; when audiences for ad platforms are wanted, the SHA-256 of the
trimmed, lower-cased address is kept (``email_sha256``), as those platforms require.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import warnings
from pathlib import Path

import pandas as pd

from seglab.exceptions import ParameterError, SaltWarning

__all__ = ["get_salt", "find_salt", "salt_fingerprint", "pseudonymize", "hash_email",
           "looks_personal", "SALT_ENV"]

logger = logging.getLogger(__name__)

SALT_ENV = "SEGLAB_SALT"
_PSEUDONYM_LENGTH = 16  # hex characters: 64 bits, collision-free for any customer base

_PERSONAL = re.compile(
    r"(^|_)(e_?mail|phone|mobile|tel|telephone|first_?name|last_?name|full_?name|surname|"
    r"name|address|street|ssn|passport|iban|ip_address)($|_)", re.IGNORECASE)


def _salt_file(project_dir: str | Path | None) -> Path:
    from seglab.config import project_dir as find_project

    folder = Path(project_dir) if project_dir is not None else find_project()
    return folder / ".seglab" / "salt"


def find_salt(salt: str | None = None, *, project_dir: str | Path | None = None) -> str | None:
    """The salt :func:`get_salt` would use, or None when there is none yet (nothing is created)."""
    if salt:
        return str(salt)
    env = os.environ.get(SALT_ENV)
    if env:
        return env
    path = _salt_file(project_dir)
    if path.is_file():
        return path.read_text(encoding="utf-8").strip() or None
    return None


def get_salt(salt: str | None = None, *, project_dir: str | Path | None = None) -> str:
    """The salt for keyed hashes: ``salt``, else ``$SEGLAB_SALT``, else the project's salt file.

    The project salt file is ``.seglab/salt`` in ``project_dir``, by default the
    project folder found from the working directory upwards
    (:func:`seglab.config.project_dir`). It is created with 256 random bits on first
    use, with a :class:`~seglab.exceptions.SaltWarning` (shown in the notebook and on
    the terminal) saying where, and reused afterwards, so pseudonyms stay comparable
    from quarter to quarter.
    """
    found = find_salt(salt, project_dir=project_dir)
    if found:
        return found
    path = _salt_file(project_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it a moment ago: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    warnings.warn(f"created a new pseudonymization salt in {path} (fingerprint "
                  f"{salt_fingerprint(value)}). Customer ids in runs made with another salt will "
                  "not match these: if this project had a salt before, restore that file from your "
                  "backup (or set SEGLAB_SALT) before running again. Back this file up; never commit it",
                  SaltWarning, stacklevel=2)
    return value


_FINGERPRINT_TEXT = b"seglab salt fingerprint v1"


def salt_fingerprint(salt: str) -> str:
    """A fingerprint of ``salt`` that is safe to write anywhere: a keyed hash of a fixed text.

    Equal salts give equal fingerprints; the salt cannot be recovered from it, nor
    can any pseudonym be computed with it. Every run records it (its manifest and its
    schema, see :mod:`seglab.run`) so that runs made with different salts are never compared.

    >>> salt_fingerprint("s")
    '4db652798f9685da'
    """
    if not salt:
        raise ParameterError("salt_fingerprint needs a non-empty salt")
    # HMAC-SHA-512, not the pseudonyms' HMAC-SHA-256: the fingerprint is no customer's pseudonym
    return hmac.new(str(salt).encode("utf-8"), _FINGERPRINT_TEXT, hashlib.sha512).hexdigest()[:16]


def pseudonymize(values: pd.Series, salt: str) -> pd.Series:
    """Keyed hashes of ``values`` (as text): 16 hex characters each; missing stays missing.

    >>> pseudonymize(pd.Series(["12346", None]), salt="s").tolist()
    ['a0f2947916d8c25c', nan]
    """
    if not salt:
        raise ParameterError("pseudonymize needs a non-empty salt")
    digest = _keyed_hash(salt)
    text = values.astype("string")
    uniques = pd.unique(text.dropna())
    digests = {u: digest(str(u)) for u in uniques}
    out = text.map(digests, na_action="ignore")
    return out.astype("str")


def _keyed_hash(salt: str):
    """HMAC-SHA-256 keyed with ``salt`` (RFC 2104), its two padded-key states computed once:
    the digests of ``hmac.new(key, value, sha256)``, three times faster over many values."""
    key = salt.encode("utf-8")
    block = hashlib.sha256().block_size
    key = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(value: str) -> str:
        first = inner.copy()
        first.update(value.encode("utf-8"))
        second = outer.copy()
        second.update(first.digest())
        return second.hexdigest()[:_PSEUDONYM_LENGTH]

    return digest


def hash_email(values: pd.Series) -> pd.Series:
    """SHA-256 of the trimmed, lower-cased address (the form ad platforms match on).

    Values without an ``@`` are treated as missing.

    >>> hash_email(pd.Series(["  Jane.Doe@Example.com "])).str[:12].tolist()
    ['86e0b9e56c17']
    """
    text = values.astype("string").str.strip().str.lower()
    text = text.where(text.str.contains("@", regex=False).fillna(False))
    uniques = pd.unique(text.dropna())
    digests = {u: hashlib.sha256(str(u).encode("utf-8")).hexdigest() for u in uniques}
    return text.map(digests, na_action="ignore").astype("str")


def looks_personal(column: str) -> bool:
    """True when a column name suggests personal data (email, phone, name, address …).

    >>> looks_personal("E-mail".replace("-", "_")), looks_personal("country")
    (True, False)
    """
    return bool(_PERSONAL.search(column))
