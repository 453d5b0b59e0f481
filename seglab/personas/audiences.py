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

from seglab._io import atomic_dir, neutralise_text, read_json, write_json
from seglab._validation import check_range
from seglab.cluster.segmenter import UNASSIGNED
from seglab.exceptions import InputError

__all__ = ["export_audiences", "control_groups", "control_sizes", "has_email_hashes", "MIN_AUDIENCE", "CONTROL_SHARE"]

MIN_AUDIENCE = 100
"""Default smallest exported audience (ad platforms refuse or de-anonymise smaller ones)."""

CONTROL_SHARE = 0.10
"""Default share of each exported segment held out as its control group."""

_PSEUDONYM = re.compile(r"^[0-9a-f]{16}$")


def control_sizes(customers: pd.Series, share: float) -> pd.Series:
    """The control group's size in each segment: ``customers`` (per segment) × ``share``,
    rounded to whole customers (half to even).

    >>> control_sizes(pd.Series({0: 700, 1: 355, 2: 145}), 0.1).to_dict()
    {0: 70, 1: 36, 2: 14}
    """
    check_range(share, name="control_share", low=0.0, high=0.9)
    return (customers * share).round().astype("int64")


def control_groups(segments: pd.DataFrame, *, share: float = CONTROL_SHARE, seed: int = 0) -> pd.Series:
    """``treatment`` or ``control`` for every row of ``segments``: a stratified random holdout.

    In each segment, :func:`control_sizes` customers are held out: those that come first
    when the segment is ordered by the SHA-256 of ``"<seed>:<customer_id>"`` (ties,
    impossible in practice, by id). Row order, other segments and the time of the draw
    change nothing. :func:`export_audiences` draws the same groups in the engine.

    >>> seg = pd.DataFrame({"customer_id": [f"{i:016x}" for i in range(20)], "segment": 0})
    >>> control_groups(seg, share=0.1).value_counts().to_dict()
    {'treatment': 18, 'control': 2}
    """
    ids = segments["customer_id"].astype("str")
    keys = [hashlib.sha256(f"{seed}:{i}".encode()).hexdigest() for i in ids]  # reproducible anywhere
    order = pd.DataFrame({"segment": segments["segment"].to_numpy(), "key": keys, "id": ids.to_numpy()},
                         index=segments.index).sort_values(["segment", "key", "id"], kind="stable")
    rank = order.groupby("segment", sort=False).cumcount()
    sizes = control_sizes(order.groupby("segment", sort=False).size(), share)
    held = rank < order["segment"].map(sizes)
    return pd.Series(held.reindex(segments.index).map({True: "control", False: "treatment"}),
                     index=segments.index, name="group")


def export_audiences(segments, folder: str | Path, *, names: dict[int, str], customers=None,
                     min_size: int = MIN_AUDIENCE, as_of: str | None = None, refreshed: str | None = None,
                     merge: bool = False, control_share: float = CONTROL_SHARE, control_seed: int = 0,
                     con=None) -> dict:
    """Write the audience files into ``folder`` (the run's ``artifacts/audiences``).

    The engine does the work: it checks the ids, counts the segments, draws the control
    groups (the same as :func:`control_groups`) and sorts each segment's customers in the
    order of the draw (its control group first); the rows then stream into the CSV files
    in batches, so Python never holds every customer. Each file lists its segment's
    customers in that order.

    Parameters
    ----------
    segments
        ``customer_id`` (pseudonyms) and ``segment``: the run's segments file
        (``run.file("segments")``), a frame or an Ibis table.
    names
        Segment names, by number.
    customers
        The canonical customer table (its Parquet file, :meth:`seglab.run.RunFolder.contact_file`,
        or a frame with ``customer_id`` and ``email_sha256``): its e-mail hashes feed the
        ad-platform files.
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
    con
        The Ibis connection that runs it (default: a new in-process DuckDB).

    Returns
    -------
    dict
        The manifest (also written as ``manifest.json``).
    """
    from seglab.features.engine import connect, execute, membership

    check_range(min_size, name="min_size", low=1, integer=True)
    con = connect() if con is None else con
    members = membership(con, segments, id_name="customer_id")
    bad = execute(con, members.filter(~members.customer_id.re_search(_PSEUDONYM.pattern)).limit(3))
    if len(bad):
        raise InputError(f"audience ids must be seglab pseudonyms (16 hex characters); found "
                         f"{bad['customer_id'].tolist()}. Raw identifiers are never exported: run the collect stage")
    counts = execute(con, members.group_by("segment").aggregate(customers=members.count()))
    counts = counts.set_index("segment")["customers"].sort_index().astype("int64")
    held = control_sizes(counts, control_share)
    exported = [int(s) for s, n in counts.items() if s != UNASSIGNED and n >= min_size]
    manifest = {"refreshed": refreshed or date.today().isoformat(), "as_of": as_of, "min_size": int(min_size),
                "id": "pseudonymous customer id (keyed hash; needs the project's salt to match)",
                "control_share": float(control_share), "control_seed": int(control_seed),
                "control_groups": ("send the campaign to rows whose group is treatment only; rows whose group is control "
                          "are its control group: leave them out, and list both groups in next period's "
                          "campaigns table so that the run measures the lift" if control_share > 0 else
                          "no control group (control_share 0): every row is treatment, and lift cannot be measured"),
                "segments": []}
    folder = Path(folder)
    kept = _kept_entries(folder, set(counts.index.astype(int))) if merge else []
    with atomic_dir(folder) as tmp:
        if kept:  # the other segments' files come along unchanged
            shutil.copytree(folder, tmp, dirs_exist_ok=True)
            for name in (f for s in counts.index for f in _files(int(s))):
                (tmp / name).unlink(missing_ok=True)
        labels = {int(s): neutralise_text(names.get(int(s), "unassigned" if s == UNASSIGNED else f"segment {s}"))
                  for s in counts.index}
        written = {}
        if exported:
            rows = _drawn(members, exported, control_seed, _emails(con, customers))
            written = _write_files(rows, tmp, labels=labels, held=held, exported=exported, min_size=min_size,
                                   con=con)
        for s, n in counts.items():
            s = int(s)
            entry = {"segment": s, "name": labels[s], "customers": int(n), "exported": False, "file": None,
                     "ad_platform_file": None}
            if s == UNASSIGNED:
                entry["note"] = "customers no segment claims are not exported"
            elif n < min_size:
                entry["note"] = f"suppressed: fewer than {min_size} customers"
            else:
                file, ad_file = _files(s)
                entry.update(exported=True, file=file, treatment=int(n - held[s]), control=int(held[s]))
                if entry["control"] < 2:
                    entry["control_note"] = (f"a control group of {entry['control']} customer"
                                             f"{'' if entry['control'] == 1 else 's'}: too small to measure lift")
                hashed = written.get(s)
                if hashed is not None and hashed >= min_size:
                    entry["ad_platform_file"] = ad_file
                    entry["ad_platform_customers"] = hashed
                elif hashed is not None:
                    entry["ad_platform_note"] = f"fewer than {min_size} customers with an e-mail hash"
            manifest["segments"].append(entry)
        manifest["segments"] = sorted(kept + manifest["segments"], key=lambda e: e["segment"])
        write_json(manifest, tmp / "manifest.json")
    return manifest


def has_email_hashes(customers, con=None) -> bool:
    """Whether ``customers`` (the customer file, a frame or a table) has at least one e-mail
    hash; the engine looks for one, so a customer file is not read into pandas."""
    from seglab.features.engine import connect, execute

    con = connect() if con is None else con
    emails = _emails(con, customers)
    return emails is not None and len(execute(con, emails.select("email_sha256").limit(1))) > 0


def _emails(con, customers):
    """``contact_id`` and ``email_sha256`` of the customers that have an e-mail hash, as an
    engine table; None when the customer table keeps none."""
    from seglab.features.engine import as_table

    table = as_table(con, customers, name="customers")
    if table is None or "email_sha256" not in table.columns:
        return None
    return table.filter(table.email_sha256.notnull()).select(
        contact_id=table.customer_id.cast("string"), email_sha256=table.email_sha256.cast("string"))


def _drawn(members, exported: list[int], seed: int, emails):
    """The exported segments' customers in the order of the control-group draw: by segment,
    then SHA-256 of ``"<seed>:<id>"``, then id (see :func:`control_groups`), with their
    e-mail hash when there are e-mail hashes."""
    import ibis

    rows = members.filter(members.segment.isin(exported))
    if emails is not None:
        rows = rows.left_join(emails, rows.customer_id == emails.contact_id).drop("contact_id")
    draw = (ibis.literal(f"{int(seed)}:") + rows.customer_id).hexdigest("sha256")
    return rows.order_by([rows.segment, draw, rows.customer_id])


def _write_files(rows, folder: Path, *, labels: dict[int, str], held: pd.Series, exported: list[int],
                 min_size: int, con) -> dict[int, int]:
    """Stream ``rows`` (sorted by segment, in draw order) into ``segment_<n>.csv`` (the
    first :func:`control_sizes` of each segment are its control group) and, when ``rows``
    carry e-mail hashes, the treatment group's into ``ad_platform/segment_<n>.csv``;
    an ad-platform file of fewer than ``min_size`` hashes is removed. The engine sorts into
    a Parquet file first (spilling to disk as needed), read back one batch at a time.

    Returns the number of e-mail hashes written per segment (empty without e-mail hashes).
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from seglab.engine import to_parquet_file

    staged = folder / ".drawn.parquet"
    to_parquet_file(rows, staged, con=con)
    options = pacsv.WriteOptions(quoting_style="needed")  # text quoted, numbers not: as write_csv
    has_emails = "email_sha256" in rows.columns
    writers, seen = {}, {}
    hashed = dict.fromkeys(exported, 0) if has_emails else {}
    try:
        for batch in pq.ParquetFile(staged).iter_batches(batch_size=65_536):
            segment = batch.column("segment").to_numpy()
            starts = np.flatnonzero(np.r_[True, segment[1:] != segment[:-1]])
            for a, b in zip(starts, [*starts[1:], len(segment)], strict=True):
                s = int(segment[a])
                part = batch.slice(a, b - a)
                first = seen.get(s, 0)
                seen[s] = first + part.num_rows
                control = np.arange(first, first + part.num_rows) < held[s]
                group = pa.array(np.where(control, "control", "treatment"))
                table = pa.table({"customer_id": part.column("customer_id"),
                                  "segment": part.column("segment"),
                                  "segment_name": pa.array([labels[s]] * part.num_rows, pa.string()),
                                  "group": group})
                _writer(writers, s, folder / _files(s)[0], table.schema, options).write_table(table)
                if has_emails:
                    emails = part.column("email_sha256").filter(pa.array(~control)).drop_null()
                    hashed[s] += len(emails)
                    if len(emails):
                        ad = pa.table({"email_sha256": emails})
                        (folder / "ad_platform").mkdir(exist_ok=True)
                        _writer(writers, ("ad", s), folder / _files(s)[1], ad.schema, options).write_table(ad)
    finally:
        for writer in writers.values():
            writer.close()
        staged.unlink(missing_ok=True)
    for s, n in hashed.items():
        if n < min_size:
            (folder / _files(s)[1]).unlink(missing_ok=True)
    if (folder / "ad_platform").is_dir() and not any((folder / "ad_platform").iterdir()):
        (folder / "ad_platform").rmdir()
    return hashed


def _writer(writers: dict, key, path: Path, schema, options):
    """The open CSV writer of ``key``, opened on ``path`` at first use."""
    import pyarrow.csv as pacsv

    if key not in writers:
        writers[key] = pacsv.CSVWriter(str(path), schema, write_options=options)
    return writers[key]


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
