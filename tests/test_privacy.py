import os

import pandas as pd

from seglab.collect.privacy import get_salt, hash_email, looks_personal, pseudonymize


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
