"""Control groups in the audience exports: stratified, reproducible, marked, never uploaded."""

import hashlib

import pandas as pd
import pytest

from seglab._io import write_csv
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
    # the engine draws the groups control_groups defines, and lists the control group first
    assert file.set_index("customer_id")["group"].to_dict() == expected.set_axis(segments["customer_id"])[
        (segments["segment"] == 0).to_numpy()].to_dict()
    assert file["group"].tolist() == ["control"] * 140 + ["treatment"] * 560
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


def test_the_engine_writes_the_files_write_csv_writes_whatever_form_the_segments_come_in(segments, tmp_path):
    customers = pd.DataFrame({"customer_id": segments["customer_id"],
                              "email_sha256": [f"{i:064x}" if i % 3 else None for i in range(len(segments))]})
    segments.to_parquet(tmp_path / "segments.parquet")
    customers.to_parquet(tmp_path / "customers.parquet")
    names = {0: "Loyal, \"big\" spenders", 1: "+1 lapsed", 2: "c"}
    options = {"names": names, "min_size": 100, "control_share": 0.1, "control_seed": 5, "refreshed": "2026-01-05"}
    from_frames = export_audiences(segments, tmp_path / "frames", customers=customers, **options)
    from_files = export_audiences(tmp_path / "segments.parquet", tmp_path / "files",
                                  customers=tmp_path / "customers.parquet", **options)
    assert from_files == from_frames
    written = sorted(p.relative_to(tmp_path / "files") for p in (tmp_path / "files").rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(tmp_path / "frames") for p in (tmp_path / "frames").rglob("*")
                             if p.is_file())
    for name in written:
        assert (tmp_path / "files" / name).read_bytes() == (tmp_path / "frames" / name).read_bytes()
    # byte for byte what pandas' write_csv writes for the segment listed in the order of the draw
    groups = control_groups(segments, share=0.1, seed=5)
    for s in (0, 1, 2):
        mine = segments[segments["segment"] == s]
        keys = mine["customer_id"].map(lambda i: hashlib.sha256(f"5:{i}".encode()).hexdigest())
        order = mine.assign(key=keys).sort_values(["key", "customer_id"]).index
        expected = pd.DataFrame({"customer_id": mine.loc[order, "customer_id"].to_numpy(), "segment": s,
                                 "segment_name": names[s], "group": groups.loc[order].to_numpy()})
        write_csv(expected, tmp_path / "expected.csv")
        assert (tmp_path / "files" / f"segment_{s}.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()
        treated = customers.set_index("customer_id").loc[mine.loc[order[groups.loc[order] == "treatment"],
                                                                  "customer_id"], "email_sha256"].dropna()
        ad = tmp_path / "files" / "ad_platform" / f"segment_{s}.csv"
        entry = next(e for e in from_files["segments"] if e["segment"] == s)
        if len(treated) < 100:  # segment 2: 131 treated, 87 of them with an e-mail hash
            assert not ad.exists() and entry["ad_platform_note"] == "fewer than 100 customers with an e-mail hash"
            continue
        write_csv(pd.DataFrame({"email_sha256": treated.to_numpy()}), tmp_path / "expected.csv")
        assert ad.read_bytes() == (tmp_path / "expected.csv").read_bytes()
        assert entry["ad_platform_customers"] == len(treated)
    assert from_files["segments"][1]["name"] == "'+1 lapsed"  # a formula-like name is neutralised
