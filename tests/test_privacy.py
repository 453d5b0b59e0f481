import os

import pandas as pd
import pytest

from seglab.collect.privacy import (find_salt, get_salt, hash_email, looks_personal, pseudonymize,
                                   salt_fingerprint)
from seglab.exceptions import SaltWarning


def test_pseudonyms_are_stable_for_a_salt_and_differ_between_salts():
    ids = pd.Series(["12346", "12347", "12346"])
    a, b = pseudonymize(ids, "one"), pseudonymize(ids, "two")
    assert a.iloc[0] == a.iloc[2] and a.iloc[0] != a.iloc[1]
    assert a.iloc[0] != b.iloc[0]
    assert a.str.len().eq(16).all() and "12346" not in "".join(a)


def test_salt_precedence_argument_then_environment_then_project_file(tmp_path, monkeypatch):
    assert get_salt("given", project_dir=tmp_path) == "given"
    assert get_salt(None, project_dir=tmp_path) == os.environ["SEGLAB_SALT"]
    monkeypatch.delenv("SEGLAB_SALT")
    with pytest.warns(SaltWarning):
        created = get_salt(None, project_dir=tmp_path)
    path = tmp_path / ".seglab" / "salt"
    assert path.read_text().strip() == created and len(created) == 64
    assert path.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert get_salt(None, project_dir=tmp_path) == created  # reused next quarter


def test_email_hash_is_sha256_of_the_normalised_address():
    import hashlib

    out = hash_email(pd.Series([" Jane.Doe@Example.COM", "not an email", None]))
    assert out.iloc[0] == hashlib.sha256(b"jane.doe@example.com").hexdigest()
    assert out.iloc[1:].isna().all()


def test_personal_column_names_are_recognised():
    assert all(map(looks_personal, ["email", "E_Mail", "phone", "first_name", "customer_name", "address"]))
    assert not any(map(looks_personal, ["country", "income", "gender", "segment"]))


def test_a_new_salt_is_announced_with_a_warning_the_notebook_shows(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGLAB_SALT")
    with pytest.warns(SaltWarning, match=f"created a new pseudonymization salt in {tmp_path}"):
        get_salt(None, project_dir=tmp_path)


def test_the_salt_file_is_found_from_a_subfolder_of_the_project(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGLAB_SALT")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.warns(SaltWarning):
        made = get_salt()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert find_salt() == made and get_salt() == made
    assert not (tmp_path / "notebooks" / ".seglab").exists()


def test_find_salt_never_creates_one(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGLAB_SALT")
    assert find_salt(project_dir=tmp_path) is None and not (tmp_path / ".seglab").exists()


def test_the_fingerprint_identifies_the_salt_without_revealing_it():
    a, b = salt_fingerprint("one"), salt_fingerprint("two")
    assert a == salt_fingerprint("one") and a != b and len(a) == 16
    # not the pseudonym of any id (not even of the fixed text it is computed from)
    assert a not in pseudonymize(pd.Series(["one", "seglab salt fingerprint v1"]), "one").tolist()
    assert "one" not in a


@pytest.mark.parametrize("salt", ["s", "ü-salt", "x" * 64, "long" * 40])
def test_pseudonyms_are_the_hmac_sha256_of_the_ids(salt):
    import hashlib
    import hmac

    ids = pd.Series(["12346", "C536379", "ß", ""])
    expected = [hmac.new(salt.encode(), v.encode(), hashlib.sha256).hexdigest()[:16] for v in ids]
    assert pseudonymize(ids, salt).tolist() == expected
