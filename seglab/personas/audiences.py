"""Audience exports: one file per segment for CRM and ad platforms, without raw identifiers.

``audiences/segment_<n>.csv`` lists the segment's customers by their pseudonymous id (the
keyed hash made by *collect*: re-identifiable only with the project's salt). When the
customer table kept e-mail hashes, ``audiences/ad_platform/segment_<n>.csv`` lists the
SHA-256 of each normalised address, the form ad platforms match on. Segments smaller than
``min_size`` are not exported (a note in the manifest says so), nor are unassigned
customers. ``audiences/manifest.json`` lists every segment, its count, its files and the
refresh date. The folder is rebuilt whole at each export, so no stale file remains;
with ``merge=True`` (the explorer's "Export audience", one segment at a time) the exported
segments' files and manifest entries are added or replaced and the others kept.

**Control groups.** Every exported segment holds out a random control group
(``control_share`` of its customers, 10 % by default, rounded to whole customers), so that
next period's run can measure whether the campaign sent to the rest worked
(:mod:`seglab.measure`). The ``group`` column of ``segment_<n>.csv`` says ``treatment``
(send the campaign) or ``control`` (leave out of it); the ad-platform files list treatment
customers only, and the manifest gives each segment's counts. The draw is stratified (each
segment holds out its share) and reproducible: customers are ordered within their segment
by the SHA-256 of ``"<control_seed>:<pseudonym>"`` and the first ones are the control group,
so the same seed keeps the same customers held out from quarter to quarter (a persistent
holdout; change ``control_seed`` to draw new ones). ``control_share=0`` exports no control
group.

Segment names are data (a ``names_file`` can say anything): in the CSV files and the
manifest, a name a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) is written with a leading ``'`` (see
:func:`seglab._io.neutralise_text`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import date
from pathlib import Path

import pandas as pd

from seglab._io import atomic_dir, neutralise_text, read_json, write_csv, write_json
from seglab._validation import check_range
from seglab.cluster.segmenter import UNASSIGNED
from seglab.collect.privacy import looks_personal
from seglab.exceptions import InputError

__all__ = ["export_audiences", "control_groups", "MIN_AUDIENCE", "CONTROL_SHARE"]

MIN_AUDIENCE = 100
"""Default smallest exported audience (ad platforms refuse or de-anonymise smaller ones)."""

CONTROL_SHARE = 0.10
"""Default share of each exported segment held out as its control group."""

_PSEUDONYM = re.compile(r"^[0-9a-f]{16}$")


def control_groups(segments: pd.DataFrame, *, share: float = CONTROL_SHARE, seed: int = 0) -> pd.Series:
    """``treatment`` or ``control`` for every row of ``segments``: a stratified random holdout.

    In each segment, ``round(share × customers)`` customers are held out: those that come
    first when the segment is ordered by the SHA-256 of ``"<seed>:<customer_id>"`` (ties,
    impossible in practice, by id). Row order, other segments and the time of the draw
    change nothing.

    >>> seg = pd.DataFrame({"customer_id": [f"{i:016x}" for i in range(20)], "segment": 0})
    >>> control_groups(seg, share=0.1).value_counts().to_dict()
    {'treatment': 18, 'control': 2}
    """
    check_range(share, name="control_share", low=0.0, high=0.9)
    ids = segments["customer_id"].astype("str")
    keys = [hashlib.sha256(f"{seed}:{i}".encode()).hexdigest() for i in ids]  # reproducible anywhere
    order = pd.DataFrame({"segment": segments["segment"].to_numpy(), "key": keys, "id": ids.to_numpy()},
                         index=segments.index).sort_values(["segment", "key", "id"], kind="stable")
    rank = order.groupby("segment", sort=False).cumcount()
    size = order.groupby("segment", sort=False)["key"].transform("size")
    held = rank < (share * size).round()
    return pd.Series(held.reindex(segments.index).map({True: "control", False: "treatment"}),
                     index=segments.index, name="group")


def export_audiences(segments: pd.DataFrame, folder: str | Path, *, names: dict[int, str],
                     customers: pd.DataFrame | None = None, min_size: int = MIN_AUDIENCE,
                     as_of: str | None = None, refreshed: str | None = None, merge: bool = False,
                     control_share: float = CONTROL_SHARE, control_seed: int = 0) -> dict:
    """Write the audience files into ``folder`` (the run's ``artifacts/audiences``).

    Parameters
    ----------
    segments
        ``customer_id`` (pseudonyms) and ``segment``.
    names
        Segment names, by number.
    customers
        The canonical customer table; its ``email_sha256`` column feeds the ad-platform files.
    min_size
        Smaller segments are suppressed.
    as_of, refreshed
        The data's snapshot day and the refresh date (default today) for the manifest.
    merge
        Keep the other segments already in ``folder``: this export adds or replaces the
        files and manifest entries of the segments in ``segments`` only (the manifest's
        dates are then those of the latest export).
    control_share, control_seed
        Share of each segment held out as its control group, and the seed of the draw
        (see :func:`control_groups`); 0 holds out nobody.

    Returns
    -------
    dict
        The manifest (also written as ``manifest.json``).
    """
    check_range(min_size, name="min_size", low=1, integer=True)
    ids = segments["customer_id"].astype("str")
    if not ids.str.fullmatch(_PSEUDONYM).all():
        bad = ids[~ids.str.fullmatch(_PSEUDONYM)].head(3).tolist()
        raise InputError(f"audience ids must be seglab pseudonyms (16 hex characters); found {bad}. "
                         "Raw identifiers are never exported: run the collect stage")
    emails = None
    if customers is not None and "email_sha256" in customers:
        emails = customers.set_index("customer_id")["email_sha256"]
    folder = Path(folder)
    segments = segments.reset_index(drop=True)  # a copy: rows and their groups line up by position
    groups = control_groups(segments, share=control_share, seed=control_seed)
    manifest = {"refreshed": refreshed or date.today().isoformat(), "as_of": as_of, "min_size": int(min_size),
                "id": "pseudonymous customer id (keyed hash; needs the project's salt to match)",
                "control_share": float(control_share), "control_seed": int(control_seed),
                "control_groups": ("send the campaign to rows whose group is treatment only; rows whose group is control "
                          "are its control group: leave them out, and list both groups in next period's "
                          "campaigns table so that the run measures the lift" if control_share > 0 else
                          "no control group (control_share 0): every row is treatment, and lift cannot be measured"),
                "segments": []}
    kept = _kept_entries(folder, set(segments["segment"].astype(int))) if merge else []
    with atomic_dir(folder) as tmp:
        if kept:  # the other segments' files come along unchanged
            shutil.copytree(folder, tmp, dirs_exist_ok=True)
            for name in (f for s in segments["segment"].unique() for f in _files(int(s))):
                (tmp / name).unlink(missing_ok=True)
        for s, rows in segments.groupby("segment", sort=True):
            s = int(s)
            label = names.get(s, "unassigned" if s == UNASSIGNED else f"segment {s}")
            entry = {"segment": s, "name": neutralise_text(label),
                     "customers": int(len(rows)), "exported": False, "file": None, "ad_platform_file": None}
            if s == UNASSIGNED:
                entry["note"] = "customers no segment claims are not exported"
            elif len(rows) < min_size:
                entry["note"] = f"suppressed: fewer than {min_size} customers"
            else:
                group = groups.loc[rows.index]
                frame = pd.DataFrame({"customer_id": rows["customer_id"].astype("str").to_numpy(),
                                      "segment": s, "segment_name": entry["name"], "group": group.to_numpy()})
                _check_no_personal_columns(frame)
                name = f"segment_{s}.csv"
                write_csv(frame, tmp / name)
                treated = rows.loc[(group == "treatment").to_numpy(), "customer_id"].astype("str")
                entry.update(exported=True, file=name, treatment=int(len(treated)),
                             control=int(len(rows) - len(treated)))
                if entry["control"] < 2:
                    entry["control_note"] = (f"a control group of {entry['control']} customer"
                                             f"{'' if entry['control'] == 1 else 's'}: too small to measure lift")
                if emails is not None:  # ad platforms get the treatment group only
                    hashed = emails.reindex(treated).dropna()
                    if len(hashed) >= min_size:
                        (tmp / "ad_platform").mkdir(exist_ok=True)
                        write_csv(pd.DataFrame({"email_sha256": hashed.to_numpy()}), tmp / "ad_platform" / name)
                        entry["ad_platform_file"] = f"ad_platform/{name}"
                        entry["ad_platform_customers"] = int(len(hashed))
                    else:
                        entry["ad_platform_note"] = f"fewer than {min_size} customers with an e-mail hash"
            manifest["segments"].append(entry)
        manifest["segments"] = sorted(kept + manifest["segments"], key=lambda e: e["segment"])
        write_json(manifest, tmp / "manifest.json")
    return manifest


def _files(segment: int) -> tuple[str, str]:
    return f"segment_{segment}.csv", f"ad_platform/segment_{segment}.csv"


def _kept_entries(folder: Path, replaced: set[int]) -> list[dict]:
    """The manifest entries of an earlier export that a merging export keeps."""
    path = folder / "manifest.json"
    if not path.is_file():
        return []
    try:
        entries = read_json(path)["segments"]
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path} is not an audience manifest ({err}); move the folder away or export "
                         "into another one") from None
    return [e for e in entries if int(e["segment"]) not in replaced]


def _check_no_personal_columns(frame: pd.DataFrame) -> None:
    personal = [c for c in frame.columns if looks_personal(c) and c not in ("segment_name",)]
    if personal:  # a guard against future edits: these files leave the company
        raise InputError(f"audience files must not carry personal columns; found {personal}")
