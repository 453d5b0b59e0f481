"""Control groups in the audience exports: stratified, reproducible, marked, never uploaded."""

import hashlib

import pandas as pd
import pytest

from seglab.exceptions import ParameterError
from seglab.personas import control_groups, export_audiences


@pytest.fixture
def segments():
    ids = [hashlib.sha256(str(i).encode()).hexdigest()[:16] for i in range(1200)]
    return pd.DataFrame({"customer_id": ids, "segment": [0] * 700 + [1] * 355 + [2] * 145})


def test_each_segment_holds_out_its_share(segments):
    groups = control_groups(segments, share=0.1)
    held = (groups == "control").groupby(segments["segment"]).sum()
    assert held.to_dict() == {0: 70, 1: 36, 2: 14}  # round(share × size), segment by segment
    assert set(groups) == {"treatment", "control"} and groups.index.equals(segments.index)


def test_the_draw_depends_on_the_seed_and_pseudonyms_only(segments):
    first = control_groups(segments, seed=3)
    shuffled = segments.sample(frac=1, random_state=1)
    again = control_groups(shuffled, seed=3)
    assert again.reindex(first.index).equals(first)  # row order changes nothing
    # the held-out customers are those first by SHA-256 of "<seed>:<pseudonym>" within their segment
    small = segments[segments["segment"] == 2]
    keys = small["customer_id"].map(lambda i: hashlib.sha256(f"3:{i}".encode()).hexdigest())
    expected = set(small.loc[keys.sort_values().index[:14], "customer_id"])
    assert set(small.loc[first.loc[small.index] == "control", "customer_id"]) == expected
    other = control_groups(segments, seed=4)
    assert (other != first).any()  # another seed, another draw
    # the same customers are held out next quarter when their segment keeps its members
    assert control_groups(segments.iloc[::-1], seed=3).reindex(first.index).equals(first)


def test_no_control_group_and_impossible_shares(segments):
    assert (control_groups(segments, share=0) == "treatment").all()
    with pytest.raises(ParameterError, match="control_share"):
        control_groups(segments, share=1.5)


def test_audience_files_mark_the_groups_and_ad_platforms_get_treatment_only(segments, tmp_path):
    customers = pd.DataFrame({"customer_id": segments["customer_id"],
                              "email_sha256": [f"{i:064x}" for i in range(len(segments))]})
    manifest = export_audiences(segments, tmp_path / "aud", names={0: "a", 1: "b", 2: "=c"}, customers=customers,
                                min_size=100, control_share=0.2, control_seed=7)
    entry = {e["segment"]: e for e in manifest["segments"]}[0]
    assert (entry["treatment"], entry["control"]) == (560, 140)
    assert manifest["control_share"] == 0.2 and manifest["control_seed"] == 7
    assert "treatment only" in manifest["control_groups"]
    file = pd.read_csv(tmp_path / "aud" / "segment_0.csv", dtype=str)
    assert file["group"].value_counts().to_dict() == {"treatment": 560, "control": 140}
    expected = control_groups(segments, share=0.2, seed=7)
    assert file["group"].tolist() == expected[segments["segment"] == 0].tolist()
    ad = pd.read_csv(tmp_path / "aud" / "ad_platform" / "segment_0.csv", dtype=str)
    held = set(customers.loc[(expected == "control").to_numpy(), "email_sha256"])
    assert len(ad) == 560 and not held & set(ad["email_sha256"])  # the control group is never targeted
    named = pd.read_csv(tmp_path / "aud" / "segment_2.csv", dtype=str)
    assert named["segment_name"].iloc[0] == "'=c"  # the formula-safety rule still applies


def test_a_share_of_zero_exports_everyone_as_treatment_and_says_so(segments, tmp_path):
    manifest = export_audiences(segments, tmp_path / "aud", names={}, min_size=100, control_share=0)
    assert all(e["control"] == 0 for e in manifest["segments"] if e["exported"])
    assert "lift cannot be measured" in manifest["control_groups"]
    assert all("too small to measure lift" in e["control_note"] for e in manifest["segments"] if e["exported"])
