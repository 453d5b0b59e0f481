"""The report's "Did it work?" section, in words: what the template shows, from a measurement.

:func:`did_it_work` turns a :class:`~seglab.measure.Measurement` into plain sentences and
table rows: per segment, the actions its campaigns carried out in the period, each
campaign's lift with its interval, revenue, a verdict and why; the segment's feedback
(NPS and its change, CSAT, top topics); the actions flagged for review, which the report
also puts beside the recommended actions. Campaigns without a control group appear as
response rates, labelled as such.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from seglab.measure.campaigns import MIN_GROUP, NOT_SEGMENTED, VERDICTS
from seglab.measure.feedback import ALL_CUSTOMERS
from seglab.measure.responses import ANY_RESPONSE
from seglab.personas.wording import format_money, plural

__all__ = ["did_it_work", "segment_verdict"]


def _points(value) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    text = f"{value * 100:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text.replace("-", "−")


def _share(value, decimals: int = 0) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value * 100:.{decimals}f}%"


def _signed_share(value) -> str:
    if value is None or pd.isna(value) or not np.isfinite(value):
        return "n/a"
    return f"{value * 100:+.0f}%".replace("-", "−")


def _signed_money(value, currency: str) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    text = format_money(abs(float(value)), currency)
    return ("−" if value < 0 else "+") + text


def _score(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:+.0f}".replace("-", "−")


def segment_verdict(verdicts) -> str:
    """One verdict for a segment's campaigns: ``mixed`` when some worked and some backfired,
    else the best evidence (worked, backfired, no effect detected, underpowered, not measured)."""
    found = set(verdicts)
    if {"worked", "backfired"} <= found:
        return "mixed"
    return next((v for v in VERDICTS if v in found), "not measured")


def did_it_work(measurement, cards, *, currency: str = "") -> dict:
    """The section's content (see the module docstring); ``available`` is False when the
    dataset has no campaigns, feedback or campaign responses (``note`` says what to add)."""
    out = {"available": False, "note": "", "intro": [], "summary": [], "segments": [], "feedback": None,
           "responses": None, "notes": [], "reviews": {}, "card_lines": {}, "verdicts": {}}
    if measurement is None:
        out["note"] = ("Campaigns and feedback were not measured for this run: the report stage measures them "
                       "(seglab.measure.measure_run) before it renders the report.")
        return out
    if not measurement.available:
        out["note"] = ("This dataset has no campaign results or customer feedback, so nothing here says whether "
                       "last period's actions worked. Add a campaigns table (who was sent which campaign, in the "
                       "treatment or the control group, and who converted) and a feedback table (NPS, CSAT, ratings) "
                       "to the dataset spec. The audience files of every run hold out a random control group, so "
                       "campaigns sent to them can be measured next period.")
        return out
    out["available"] = True
    names = {c.segment: c.name for c in cards}
    out["notes"] = list(measurement.notes)
    results = measurement.campaigns
    if results is not None:
        _campaign_part(out, measurement, cards, names, currency)
    if measurement.feedback is not None:
        _feedback_part(out, measurement.feedback, names)
    if measurement.responses is not None:
        _responses_part(out, measurement, names)
    return out


def _campaign_part(out: dict, measurement, cards, names: dict, currency: str) -> None:
    results = measurement.campaigns
    period = measurement.period
    cells = results.in_period()
    settings = results.settings
    shown = cells[(cells["treated"] >= MIN_GROUP) & (cells["control"] >= MIN_GROUP)]
    counts = Counter(shown["verdict"])
    n_campaigns = int(results.campaigns["in_period"].sum())
    if n_campaigns:
        tally = ", ".join(plural(counts[v], "test") + f" {v}" for v in VERDICTS if counts.get(v))
        out["intro"].append(f"{plural(n_campaigns, 'campaign')} went out in {period}, each against a random control "
                            f"group that did not get it; per segment that makes {plural(len(shown), 'test')} "
                            f"with at least {MIN_GROUP} customers in each group: {tally}.")
    else:
        out["intro"].append(f"No campaign went out in {period}; earlier campaigns count only towards the reviews "
                            "below.")
    out["intro"].append(
        f"Lift is the conversion rate of the customers who got a campaign minus that of its control group, in "
        f"percentage points, with a {settings.get('confidence', 0.95):.0%} interval (Newcombe's method); "
        "revenue per customer has a bootstrap interval. A test is called underpowered when its groups were too "
        f"small to find a lift of {settings.get('meaningful_lift', 0.25):.0%} of the control group's rate "
        f"{settings.get('power', 0.8):.0%} of the time. Customers count in {measurement.segments_from}.")
    reviews = measurement.reviews
    for row in reviews.itertuples(index=False):
        out["reviews"].setdefault(int(row.segment), []).append({"action": row.action, "note": row.note})
    has_revenue = "revenue_lift" in cells
    for card in cards:
        mine = cells[cells["segment"] == card.segment]
        big = mine[(mine["treated"] >= MIN_GROUP) & (mine["control"] >= MIN_GROUP)]
        small = mine.drop(big.index)
        rows = [_row(r, currency, has_revenue, settings) for r in big.to_dict(orient="records")]
        verdict = segment_verdict(big["verdict"]) if len(big) else "not measured"
        tally = Counter(big["verdict"])
        if len(big) > 1:
            detail = ", ".join(f"{tally[v]} {v}" for v in VERDICTS if tally.get(v))
            headline = f"{verdict} ({detail})"
        elif len(big) == 1:
            headline = verdict
        else:
            headline = f"not measured: no campaign reached {MIN_GROUP} customers of this segment in each group"
        actions = list(dict.fromkeys(a for a in big["action"].dropna()))
        out["verdicts"][card.segment] = verdict
        out["segments"].append({
            "segment": card.segment, "name": card.name, "verdict": verdict, "headline": headline,
            "actions": ", ".join(actions), "rows": rows,
            "small": [f"{r['campaign_id']} ({r['treated']:,} treated, {r['control']:,} control customers): too few "
                      "to tell" for r in small.to_dict(orient="records")],
            "reviews": [r["note"] for r in out["reviews"].get(card.segment, [])], "feedback": []})
        if len(big):
            treated, converted = big["treated"].sum(), big["conversions_treated"].sum()
            control, control_converted = big["control"].sum(), big["conversions_control"].sum()
            out["card_lines"].setdefault(card.segment, []).append(
                f"Campaign response in {period}: {_share(converted / treated)} of contacted customers converted "
                f"(control groups {_share(control_converted / control)}); verdict: {headline}")
    outside = cells[cells["segment"] == NOT_SEGMENTED]
    if len(outside):
        out["notes"].append(f"{int(outside['treated'].sum() + outside['control'].sum()):,} campaign customers are in "
                            "no segment; they are left out of the segments' tests")
    out["has_revenue"] = has_revenue
    worked = shown[shown["verdict"] == "worked"].sort_values("lift", ascending=False)
    backfired = shown[shown["verdict"] == "backfired"].sort_values("lift")
    said = []
    for frame, verb in ((worked, "worked for"), (backfired, "backfired for")):
        for r in frame.head(2).to_dict(orient="records"):
            said.append(f"{r['campaign_id']} {verb} {names.get(r['segment'], 'segment ' + str(r['segment']))} "
                        f"({_points(r['lift'])} points of conversion)")
    if said:
        out["summary"].append(f"Measured against control groups in {period}: " + "; ".join(said) + ".")
    if len(reviews):
        out["summary"].append(f"{plural(len(reviews), 'action')} to review (see 'Did it work?').")


def _why(r: dict, settings: dict) -> str:
    """Why the verdict, in words, for the table (the lift and its interval stand beside it)."""
    power, meaningful = settings.get("power", 0.8), settings.get("meaningful_lift", 0.25)
    verdict = r["verdict"]
    if verdict in ("worked", "backfired"):
        return f"the {settings.get('confidence', 0.95):.0%} interval excludes zero"
    if verdict == "underpowered":
        return (f"groups too small: they find a lift of {r['mde'] * 100:.1f} points or more {power:.0%} of the "
                f"time, and {meaningful * r['planning_rate'] * 100:.1f} points ({meaningful:.0%} of the control "
                "group's rate) is worth finding; a smaller effect may exist")
    if verdict == "no effect detected":
        return (f"groups large enough: a lift of {r['mde'] * 100:.1f} points or more would have shown "
                f"{power:.0%} of the time")
    return r.get("note") or ""


def _row(r: dict, currency: str, has_revenue: bool, settings: dict) -> dict:
    row = {"campaign": r["campaign_id"], "action": r.get("action") or "", "treated": f"{r['treated']:,}",
           "control": f"{r['control']:,}", "rates": f"{_share(r['rate_treated'], 1)} vs {_share(r['rate_control'], 1)}",
           "lift": f"{_points(r['lift'])}", "lift_interval": f"{_points(r['lift_low'])} to {_points(r['lift_high'])}",
           "relative": _signed_share(r.get("relative_lift")),
           "relative_interval": (f"{_signed_share(r.get('relative_low'))} to {_signed_share(r.get('relative_high'))}"
                                 if pd.notna(r.get("relative_low")) else ""),
           "verdict": r["verdict"], "note": _why(r, settings)}
    if has_revenue:
        row["revenue"] = _signed_money(r.get("revenue_lift"), currency)
        row["revenue_interval"] = (f"{_signed_money(r.get('revenue_low'), currency)} to "
                                   f"{_signed_money(r.get('revenue_high'), currency)}")
        row["incremental"] = _signed_money(r.get("incremental_revenue"), currency)
        row["incremental_interval"] = (f"{_signed_money(r.get('incremental_revenue_low'), currency)} to "
                                       f"{_signed_money(r.get('incremental_revenue_high'), currency)}")
    return row


def _feedback_part(out: dict, feedback, names: dict) -> None:
    current, previous = feedback.windows.get("current"), feedback.windows.get("previous")
    order = [s for s in names] + [ALL_CUSTOMERS]
    rows = []
    for segment in order:
        nps, csat = feedback.score(segment, "nps"), feedback.score(segment, "csat")
        change = feedback.change(segment)
        topics = feedback.topics[feedback.topics["segment"] == segment]
        if not nps and not csat and topics.empty:
            continue
        name = "All customers" if segment == ALL_CUSTOMERS else names.get(segment, f"segment {segment}")
        topic_text = ", ".join(f"{t} ({_share(s)})" for t, s in zip(topics["topic"], topics["share"]))
        row = {"name": name, "total": segment == ALL_CUSTOMERS,
               "nps": _score(nps.get("score")) if nps else "–",
               "nps_interval": f"{_score(nps['low'])} to {_score(nps['high'])}" if nps else "",
               "nps_answers": f"{int(nps['responses']):,}" if nps else "0",
               "change": _score(change.get("change")) if change else "–",
               "change_interval": f"{_score(change['low'])} to {_score(change['high'])}" if change else "",
               "csat": _share(csat.get("score")) if csat else "–",
               "csat_interval": f"{_share(csat['low'])} to {_share(csat['high'])}" if csat else "",
               "csat_answers": f"{int(csat['responses']):,}" if csat else "0", "topics": topic_text}
        rows.append(row)
        if segment == ALL_CUSTOMERS:
            continue
        line = []
        if nps:
            moved = ""
            if change:
                sure = change["low"] > 0 or change["high"] < 0
                moved = (f", {_score(change['change'])} since {previous}"
                         + (" (a real change: its interval excludes zero)" if sure else " (within chance)"))
            line.append(f"NPS {_score(nps['score'])} ({_score(nps['low'])} to {_score(nps['high'])}; "
                        f"{plural(int(nps['responses']), 'answer')}){moved}")
        if csat:
            line.append(f"CSAT {_share(csat['score'])} satisfied ({plural(int(csat['responses']), 'answer')})")
        if topic_text:
            line.append(f"top topics: {topic_text}")
        for block in out["segments"]:
            if block["segment"] == segment:
                block["feedback"] = line
        if nps:
            out["card_lines"].setdefault(segment, []).append(
                f"NPS {_score(nps['score'])} in {current} ({plural(int(nps['responses']), 'answer')})"
                + (f", {_score(change['change'])} since {previous}" if change else ""))
    out["feedback"] = {"rows": rows, "current": current, "previous": previous}
    significant = feedback.changes[(feedback.changes["segment"] != ALL_CUSTOMERS)
                                   & ((feedback.changes["low"] > 0) | (feedback.changes["high"] < 0))]
    for r in significant.sort_values("change").head(2).to_dict(orient="records"):
        verb = "fell" if r["change"] < 0 else "rose"
        out["summary"].append(f"The NPS of {names.get(r['segment'], 'segment ' + str(r['segment']))} {verb} by "
                              f"{abs(r['change']):.0f} points since {previous} ({_score(r['low'])} to "
                              f"{_score(r['high'])}).")


def _responses_part(out: dict, measurement, names: dict) -> None:
    rates = measurement.responses
    labels = measurement.response_labels
    columns = [c for c in dict.fromkeys(rates["column"]) if c != ANY_RESPONSE] + [ANY_RESPONSE]
    headers = [labels.get(c, c) if c != ANY_RESPONSE else "Any of them" for c in columns]
    rows = []
    for segment in [*names, ALL_CUSTOMERS]:
        mine = rates[rates["segment"] == segment].set_index("column")
        if mine.empty:
            continue
        values = [f"{_share(mine.loc[c, 'rate'], 1)}" if c in mine.index else "–" for c in columns]
        intervals = [f"{_share(mine.loc[c, 'low'], 1)} to {_share(mine.loc[c, 'high'], 1)}" if c in mine.index else ""
                     for c in columns]
        rows.append({"name": "All customers" if segment == ALL_CUSTOMERS else names.get(segment, f"segment {segment}"),
                     "total": segment == ALL_CUSTOMERS, "values": values, "intervals": intervals})
        if segment != ALL_CUSTOMERS and ANY_RESPONSE in mine.index:
            out["card_lines"].setdefault(segment, []).append(
                f"Answered at least one of {plural(len(columns) - 1, 'campaign')}: {_share(mine.loc[ANY_RESPONSE, 'rate'])} "
                "(a response rate, not a lift: there was no control group)")
    out["responses"] = {"headers": headers, "rows": rows,
                        "note": "Response rates, not lift: these campaigns went to every customer, with no control "
                                "group, so they cannot say whether a campaign changed anything. A segment that answers "
                                "more may simply be one that buys more anyway. Hold out a random control group next "
                                "time (seglab's audience files carry one) to measure lift."}
