"""The quarterly persona report: one self-contained HTML file built from the run folder.

Everything comes from the run's artifacts (the run folder is the API of a run); figures
are embedded as PNG data URIs; the page loads nothing from anywhere (no script, no web
font, no remote image) and prints well on A4 (figures at most the page's width, text at
least 8 pt). Data-derived text is escaped by the template engine, so a category named
``<script>`` shows as text. Numbers are formatted here, not in the template: money with
its currency, shares as percentages, one number of decimals per table column.

The report opens with the period itself (revenue, orders, active and new customers per
segment, against the previous period and the same period a year earlier), then the
segments over the look-back window (stated in words), the persona cards, the actions,
what changed since last period, the profiles, and the appendices.
"""

from __future__ import annotations

import ast
import re
import base64
import io
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from seglab._io import write_text
from seglab.config import parse_period
from seglab.measure import Measurement
from seglab.measure.section import did_it_work
from seglab.personas.wording import (capitalize, feature_kind, feature_label, format_money, format_value, plural,
                                     signed_share, window_text)
from seglab.report.comparison import Comparison

__all__ = ["render_report", "write_report", "figure_uri", "executive_summary", "report_context", "report_figures"]

if TYPE_CHECKING:  # the run folder sits above the stages: passed in, never imported
    from seglab.run import RunFolder

_ENV = Environment(loader=PackageLoader("seglab.report", "templates"),
                   autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
                   trim_blocks=True, lstrip_blocks=True)
_COMMAND = re.compile(r"seglab (?:run|collect|features|cluster|personas|report)(?: --?[\w-]+(?: (?!-)[^\s;),]+)?)*")


def _with_code(text) -> Markup:
    """Text with the ``seglab`` commands it quotes set as code (everything escaped)."""
    text = str(text)
    out, last = [], 0
    for m in _COMMAND.finditer(text):
        out += [escape(text[last:m.start()]), Markup("<code>"), escape(m.group(0)), Markup("</code>")]
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


_ENV.filters["with_code"] = _with_code

_VALUE_COLUMNS = ("net_revenue", "orders", "avg_order_value", "prob_alive", "clv", "return_rate", "total_spend",
                  "spending_score", "responded_last_campaign")
_URGENT = ("Win back", "Prevent churn", "Develop and upsell", "Reactivate at low cost")


def figure_uri(fig, *, dpi: int = 110) -> str:
    """A matplotlib figure as a PNG data URI (the figure is closed)."""
    if isinstance(fig, matplotlib.axes.Axes):
        fig = fig.figure
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _pct(value) -> str:
    return "n/a" if value is None or pd.isna(value) else format_value(float(value), "share")


def _change(now, then) -> str:
    """``+24%``, ``−8%``; ``net returns`` when more was refunded than sold now (a percentage
    below −100% reads as nonsense); ``new`` when there was nothing before (or only returns);
    ``–`` when unknown."""
    if now is None or then is None or pd.isna(now) or pd.isna(then):
        return "–"
    if now < 0:
        return "net returns"
    if then <= 0:
        return "new" if now > 0 else "–"
    return signed_share(now / then - 1)


def _long_date(day) -> str:
    day = pd.Timestamp(day)
    return f"{day.day} {day:%B %Y}"


def _span(period: str) -> str:
    p = parse_period(period)
    if p.start is None:
        return ""
    if p.start.year == p.end.year:
        return f"{p.start.day} {p.start:%B} – {_long_date(p.end)}"
    return f"{_long_date(p.start)} – {_long_date(p.end)}"


STABLE_JACCARD = 0.75
"""Hennig's *stable*: a segment found again in most bootstrap resamples."""


def segmentation_cautions(segmentation, dictionary=None, names: dict[int, str] | None = None) -> list[str]:
    """What a reader must know before acting on the segments: they rest on one variable, no
    number of segments met the rule (the data supports no segmentation well), or some
    segments are patterns rather than stable groups (bootstrap Jaccard below 0.75)."""
    out = []
    used = segmentation.columns.all
    if len(used) == 1:
        out.append(f"Read with care: the segments rest on one variable, {feature_label(used[0], dictionary)}, so "
                   "they are ranges of it. Give the data more to segment on: tag more of its columns with "
                   "criteria in the dataset spec, or name the features to segment on there.")
    selection = segmentation.selection
    if selection is not None and selection.rule.startswith("highest prediction strength"):
        chosen = selection.chosen
        out.append(f"Read with care: no number of segments met the rule; the {selection.k} segments shown are the "
                   f"most reproducible found (prediction strength {chosen['prediction_strength']:.2f}, weakest "
                   f"segment's stability {chosen['min_jaccard']:.2f}), and they may not come back next period.")
    elif selection is not None:
        stability = selection.segment_stability()
        weak = stability[stability < STABLE_JACCARD]
        if len(weak):
            listed = [f"{(names or {}).get(int(s), f'segment {int(s)}')} ({v:.2f})" for s, v in weak.items()]
            one = len(listed) == 1
            which = listed[0] if one else ", ".join(listed[:-1]) + " and " + listed[-1]
            out.append(f"Treat as tentative: {which} {'comes' if one else 'come'} back in only part of the "
                       f"bootstrap resamples (Jaccard below {STABLE_JACCARD}, "
                       f"{'a pattern rather than a stable group' if one else 'patterns rather than stable groups'} "
                       f"on Hennig's scale); {'its' if one else 'their'} boundaries may move next period.")
    return out


def value_cautions(check) -> list[str]:
    """A caution when the chosen value model misses the holdout period's purchases by 20 % or
    more: its CLV and expected purchases are then rough amounts."""
    if check is None or check.status != "validated":
        return []
    model = next((m for m in check.models if m["name"] == check.chosen), None)
    error = None if model is None else model.get("aggregate_error")
    if error is None or not np.isfinite(error) or abs(error) < 0.2:
        return []
    verb = "over-predicted" if error > 0 else "under-predicted"
    naive = (check.naive or {}).get("aggregate_error")
    against = (f" (a naive forecast from past purchase rates was off by "
               f"{format_value(abs(naive), 'share', decimals=0)})" if naive is not None and np.isfinite(naive) else "")
    return [f"Read value figures with care: checked on the last {check.holdout_days} days before the snapshot, "
            f"the {model['label']} model {verb} the purchases by {format_value(abs(error), 'share', decimals=0)}"
            f"{against}. Compare segments on CLV and expected purchases rather than reading them as amounts "
            "(see the method appendix)."]


def executive_summary(info: dict, cards: list, comparison: Comparison | None, period=None) -> list[str]:
    """The report's opening paragraph, as sentences: the period, who brings the revenue,
    what to do first, what changed since last period."""
    customers = sum(c.customers for c in cards)
    currency = info.get("currency", "")
    out = []
    if period is not None and period.available:
        total = period.total("current")
        changes = [f"{_change(total['revenue'], period.total(w).get('revenue'))} on {period.label(w)}"
                   for w in ("previous", "year_ago") if period.label(w)]
        change = f" ({', '.join(changes)})" if changes else ""
        new = f"; {total['new']:,} of them {'was' if total['new'] == 1 else 'were'} new" if total.get("new") else ""
        out.append(f"In {period.period} ({_span(period.period)}), {total['active']:,} of the {customers:,} customers "
                   f"bought, for {format_money(total['revenue'], currency)} of net revenue{change}{new}.")
        by_share = sorted(cards, key=lambda c: -(c.kpis.get("period_revenue_share") or 0))
        top = by_share[0]
        out.append(f"{top.name} ({_pct(top.share)} of customers) brought {_pct(top.kpis.get('period_revenue_share'))} "
                   f"of {period.period}'s revenue.")
    else:
        when = f", as of {_long_date(info['as_of'])}" if info.get("as_of") else ""
        out.append(f"{customers:,} customers in {plural(len(cards), 'segment')}{when}.")
        if info.get("static"):
            out.append("The data is a customer table without dated purchases, so the report describes customers "
                       "as they are rather than a period.")
        with_revenue = [c for c in cards if c.revenue_share is not None]
        if with_revenue:
            top = max(with_revenue, key=lambda c: c.revenue_share)
            out.append(f"{top.name} are {_pct(top.share)} of customers and bring {_pct(top.revenue_share)} of "
                       f"{info.get('revenue_word', 'revenue')}.")
    urgent = [(c, a) for c in cards for a in c.actions[:1] if a["action"] in _URGENT]
    for card, action in urgent[:2]:
        out.append(f"{action['action']} {card.name} ({card.customers:,} customers): {action['why']}.")
    if comparison is None or comparison.skipped:
        if comparison is not None and not info.get("static"):
            note = comparison.note.removeprefix("no earlier run to compare with: ")
            out.append(f"No comparison with an earlier period: {note}.")
        return out
    t = comparison.totals
    out.append(f"Since {comparison.previous_period}, {_pct(t.get('stayed_in_segment'))} of returning customers "
               f"stayed in their segment.")
    if comparison.split_changed():
        out.append(comparison.split_changed())
    moves = []
    for direction, verb in (("down", "moved to"), ("up", "moved up to")):
        for m in comparison.biggest_moves(direction).itertuples(index=False):
            moves.append(f"{m.customers:,} of {comparison.previous_period}'s {m.from_name} ({_pct(m.from_share)}) "
                         f"{verb} {m.to_name}")
    if moves:
        out.append(capitalize("; ".join(moves)) + ".")
    drifted = comparison.drifted_segments()
    if drifted:
        out.append(f"{plural(drifted, 'segment')} changed character noticeably (see 'What changed').")
    return out


def _money_or(value, kind, currency, decimals=None) -> str:
    return format_value(value, kind, currency, decimals=decimals) if value is not None and pd.notna(value) else "–"


def _column(values, kind: str, currency: str) -> list[str]:
    """Values of one table column with one number of decimals."""
    finite = [abs(float(v)) for v in values if v is not None and pd.notna(v)]
    if not finite:
        return ["–" for _ in values]
    top = max(finite)
    if kind == "share":
        decimals = 1 if any(0 < v < 0.095 for v in finite) else 0
    elif kind == "money":
        decimals = 0 if top >= 10 else 2
    elif kind in ("days", "years", "money_k", "count"):
        decimals = 0
    else:
        decimals = 0 if top >= 100 else 1 if top >= 1 else 2
    return [_money_or(v, kind, currency, decimals) for v in values]


def _period_table(period, cards, currency: str) -> dict | None:
    if period is None or not period.available:
        return None
    windows = [w for w in ("previous", "year_ago") if period.label(w)]
    rows = []
    entries = [(c.name, c.customers, period.segment(c.segment, "current"),
                {w: period.segment(c.segment, w) for w in windows}) for c in cards]
    other = period.segment(-2, "current") if -2 in set(period.table["segment"]) else None
    if other and other.get("revenue"):
        entries.append(("Customers in no segment", None, other, {w: period.segment(-2, w) for w in windows}))
    totals = period.total("current")
    entries.append(("All customers", sum(c.customers for c in cards), totals,
                    {w: period.total(w) for w in windows}))
    revenue = _column([e[2].get("revenue") for e in entries], "money", currency)
    shares = _column([e[2].get("revenue_share") for e in entries], "share", currency)
    for (name, customers, now, before), rev, share in zip(entries, revenue, shares):
        active = now.get("active")
        rows.append({"name": name, "customers": f"{customers:,}" if customers is not None else "–",
                     "active": f"{active:,}" if active is not None else "–",
                     "active_share": _pct(active / customers) if customers and active is not None else "",
                     "new": f"{now['new']:,}" if now.get("new") is not None else "–",
                     "orders": f"{now.get('orders', 0):,}", "revenue": rev, "share": share,
                     "changes": [_change(now.get("revenue"), before[w].get("revenue")) for w in windows],
                     "total": name == "All customers"})
    return {"rows": rows, "compare": [period.label(w) for w in windows], "period": period.period,
            "span": _span(period.period),
            "tiles": [
                {"value": format_money(totals["revenue"], currency),
                 "label": f"net revenue in {period.period}"
                          + (f" ({_change(totals['revenue'], period.total('previous').get('revenue'))} on "
                             f"{period.label('previous')})" if period.label("previous") else "")},
                {"value": f"{totals['active']:,}",
                 "label": f"of {sum(c.customers for c in cards):,} customers bought in {period.period}"},
                {"value": f"{totals['orders']:,}", "label": f"orders in {period.period}"},
                {"value": f"{totals['new']:,}" if totals.get("new") is not None else "–",
                 "label": f"new customers in {period.period}"}]}


def _value_table(personas, cards, currency: str) -> dict:
    overview = personas.profiles.overview
    dictionary = personas.dictionary
    window = (personas.meta.get("window") or {}).get("text", "")
    columns = [c for c in _VALUE_COLUMNS if c in overview and overview[c].notna().any()]
    headers, body = [], []
    for col in columns:
        label = capitalize(feature_label(col, dictionary))
        if col in ("net_revenue", "orders"):
            label = f"{label} per customer, {window}"
        elif col in ("avg_order_value", "total_spend", "spending_score"):
            label = f"{label}, mean per customer"
        headers.append(label)
        body.append(_column(overview[col].tolist(), feature_kind(col, dictionary), currency))
    rows = [{"name": card.name, "values": [b[i] for b in body]} for i, card in enumerate(cards)]
    return {"headers": headers, "rows": rows}


def _overview_rows(cards, period) -> list[dict]:
    shares = _column([c.share for c in cards], "share", "")
    revenue = _column([c.revenue_share for c in cards], "share", "")
    in_period = _column([c.kpis.get("period_revenue_share") for c in cards], "share", "") \
        if period is not None and period.available else ["" for _ in cards]
    rows = []
    for c, share, rev, now in zip(cards, shares, revenue, in_period):
        lead = c.summary.split("; ", 1)[1].rstrip(".") if "; " in c.summary else ""
        rows.append({"name": c.name, "customers": f"{c.customers:,}", "share": share, "revenue_share": rev,
                     "period_share": now, "action": c.actions[0]["action"] if c.actions else "", "lead": lead})
    return rows


def _readable_parameter(name: str, value, k: int | None):
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value) if value[:1] in "[{(" else value
        except (ValueError, SyntaxError):
            pass
    if name == "k" and value in (0, None):
        return f"chosen from the evidence ({plural(k, 'segment')})" if k else "chosen from the evidence"
    if value is None or value == "" or value == [] or value == {} or value == ():
        return "none" if not isinstance(value, str) else "(default)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _parameter_help() -> dict[str, str]:
    """Each notebook parameter's help: the comment after it in the parameters cell (read
    directly: importing papermill to inspect the notebooks costs seconds)."""
    import json

    from seglab.config import notebooks_dir

    helps: dict[str, str] = {}
    for path in sorted(notebooks_dir().glob("0*_*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if "parameters" not in cell.get("metadata", {}).get("tags", []):
                continue
            for line in "".join(cell["source"]).splitlines():
                if m := re.match(r"^(\w+)\s*:[^=]*=.*?#\s*(.*)$", line):
                    helps.setdefault(m[1], m[2].strip())
    return helps


def _parameter_rows(parameters: dict, k: int | None) -> list[dict]:
    helps = _parameter_help()
    return [{"name": name, "value": _readable_parameter(name, value, k), "help": _code_pieces(helps.get(name, ""))}
            for name, value in parameters.items()]


def _code_pieces(text: str) -> list[tuple[str, str]]:
    """Help text split into prose and the literal examples it quotes (shown as code)."""
    pieces, last = [], 0
    for m in re.finditer(r"[\[{][^\]}]*[\]}]", text):
        pieces += [("text", text[last:m.start()]), ("code", m.group(0))]
        last = m.end()
    return [p for p in [*pieces, ("text", text[last:])] if p[1]]


def _quality_rows(quality) -> list[dict]:
    rows = []
    for c in quality.checks:
        unit = c.unit or "rows"
        singular = unit[:-1] if unit.endswith("s") else unit
        rows.append({"table": c.table, "check": c.check.replace("_", " "), "policy": c.policy,
                     "count": plural(int(c.count), singular, unit), "description": c.description})
    return rows


def report_figures(run: RunFolder, comparison: Comparison | None = None, *, personas=None,
                   segmentation=None, quality=None, measurement=None) -> dict[str, plt.Figure]:
    """Every figure of the report, by name, as matplotlib figures (the report embeds them;
    tests check that they print readably)."""
    import seglab.plotting as splot

    personas = personas or run.personas()
    segmentation = segmentation or run.segmentation(customers=False)
    quality = quality if quality is not None else run.quality()
    names = personas.names

    def fig(obj):
        return obj.figure if isinstance(obj, matplotlib.axes.Axes) else obj

    sizes = run.segment_sizes()  # counted by the engine; the map reads its sample only
    figures = {
        "sizes": fig(splot.plot_segment_sizes(sizes, names=names)),
        "value": fig(splot.plot_size_value(personas)),
        "heatmap": fig(splot.plot_profile_heatmap(personas)),
        "traits": fig(splot.plot_all_traits(personas)),
        "k_evidence": fig(splot.plot_k_evidence(segmentation.selection)),
        "stability": fig(splot.plot_stability(segmentation.selection, names=names)),
    }
    placed = run.segment_map()
    if placed is not None and len(placed):
        figures["map"] = fig(splot.plot_segment_map(placed, names=names, sizes=sizes))
    if quality is not None and any(c.count > 0 for c in quality.checks):
        figures["quality"] = fig(splot.plot_quality(quality))
    value_check = _value_validation(run)
    if value_check is not None and value_check["status"] == "validated":
        figures["value_validation"] = fig(splot.plot_value_validation(value_check))
    if comparison is not None and not comparison.skipped:
        figures["migration"] = fig(splot.plot_migration(comparison))
        figures["changes"] = fig(splot.plot_segment_changes(comparison))
    figures.update(_measure_figures(measurement if measurement is not None else run.measurement()))
    return figures


def _measure_figures(measured: Measurement | None) -> dict:
    """The "Did it work?" figures, when the run measured campaigns or feedback."""
    import seglab.plotting as splot

    figures = {}
    if measured is not None and measured.campaigns is not None and not measured.campaigns.in_period().empty:
        figures["lift"] = splot.plot_campaign_lift(measured).figure
    if measured is not None and measured.feedback is not None and "nps" in set(measured.feedback.scores.get("kind", [])):
        figures["nps"] = splot.plot_nps(measured).figure
    return figures


def report_context(run: RunFolder, comparison: Comparison | None = None) -> dict:
    """Everything the template shows, read from the run (figures rendered)."""
    personas = run.personas()
    segmentation = run.segmentation(customers=False)
    dictionary = personas.dictionary
    quality = run.quality()
    manifest = run.read_manifest()
    info = run.info()
    static = parse_period(info["period"]).is_static
    meta = dictionary.meta if dictionary is not None else {}
    window = window_text(meta.get("lookback_days"), meta.get("as_of")) if not static else ""
    revenue = personas.profiles.revenue
    info.update(title=_title(info["dataset"]), generated=date.today().isoformat(), static=static,
                span=_span(info["period"]) if not static else "", window=window,
                revenue_word="revenue" if revenue in (None, "net_revenue") else feature_label(revenue, dictionary),
                as_of_text=_long_date(info["as_of"]) if info.get("as_of") else "")
    currency = info.get("currency", "")
    period = personas.period
    cards = personas.cards
    measurement = run.measurement()
    figures = {name: figure_uri(f) for name, f in
               report_figures(run, comparison, personas=personas, segmentation=segmentation, quality=quality,
                              measurement=measurement).items()}
    value_check = _value_validation(run)
    basis = segmentation.columns
    features_used = [{"name": f, "label": capitalize(feature_label(f, dictionary)),
                      "criterion": basis.groups.get(f, "") or (dictionary[f].criterion if dictionary is not None
                                                                           and f in dictionary else ""),
                      "description": dictionary[f].description if dictionary is not None and f in dictionary else ""}
                     for f in basis.all]
    groups = [{"group": group, "features": ", ".join(feature_label(f, dictionary) for f in names),
               "weight": f"1/{len(names)}" if len(names) > 1 else "1"}
              for group, names in basis.by_group().items()]
    selection = segmentation.selection
    k = segmentation.model.k_
    params = segmentation.params
    changes = []
    if comparison is not None and not comparison.skipped:
        records = comparison.changes.to_dict(orient="records")
        columns = [_column([r.get(f"{col}_{when}") for r in records], kind, currency)
                   for col, kind in (("customers", "count"), ("revenue_share", "share"), ("clv", "money"))
                   for when in ("then", "now")]
        for i, r in enumerate(records):
            changes.append({"name": r.get("name"), "previous_name": _present(r.get("previous_name")),
                            "note": _segment_note(r, comparison.previous_period),
                            "values": [c[i] for c in columns]})
    measured = did_it_work(measurement, cards, currency=currency)
    moves = []
    if comparison is not None and not comparison.skipped:
        for m in comparison.movements.head(6).itertuples(index=False):
            moves.append(f"{m.customers:,} of {comparison.previous_period}'s {m.from_name} ({_pct(m.from_share)}) "
                         f"moved {'down' if m.direction == 'down' else 'up'} to {m.to_name}")
    return {
        "info": info, "summary": executive_summary(info, cards, comparison, period) + measured["summary"],
        "cards": cards, "measured": measured,
        "period": _period_table(period, cards, currency), "period_note": period.note if period is not None else "",
        "overview": _overview_rows(cards, period), "value_table": _value_table(personas, cards, currency),
        "figures": figures, "comparison": comparison, "changes": changes, "moves": moves,
        "quality": quality, "quality_rows": _quality_rows(quality) if quality is not None else [],
        "quality_outside": quality is not None and quality.count("after_snapshot") > 0,
        "value_caption": "Each segment's share of customers beside its share of revenue."
        if personas.profiles.revenue is not None else "Each segment's value per customer.",
        "contact_notes": {c.segment: _contact_note(c, personas) for c in cards},
        "channel_fallback": {c.segment: "audience file" if _exported(c, personas) else "none in the data"
                             for c in cards},
        "features_used": features_used, "value_check": value_check, "groups": groups,
        "segmentation_notes": list(basis.notes), "cautions": segmentation_cautions(segmentation, dictionary, personas.names)
        + value_cautions(run.value_validation()),
        "dropped": {capitalize(feature_label(k, dictionary)): v for k, v in segmentation.columns.dropped.items()},
        "model": {"algorithm": params.get("algorithm", segmentation.model.algorithm),
                  "skew": params.get("skew"), "scaling": params.get("scaling"), "clip": params.get("clip"),
                  "ordered_by": feature_label(params["ordered_by"], dictionary) if params.get("ordered_by") else "",
                  "align": params.get("align"),
                  "segment_on": ", ".join(feature_label(x, dictionary) for x in params.get("segment_on") or []),
                  "learned_from": _learned_from(params)},
        "k": k,
        "selection": None if selection is None else {
            "rule": selection.rule, "algorithm": selection.algorithm, "k": selection.k,
            "rows": [{"algorithm": r["algorithm"], "k": int(r["k"]), "silhouette": _num(r.get("silhouette"), 3),
                      "stability": _num(r.get("stability"), 2), "min_jaccard": _num(r.get("min_jaccard"), 2),
                      "prediction_strength": _num(r.get("prediction_strength"), 2),
                      "smallest_share": _pct(r.get("smallest_share")),
                      "chosen": int(r["k"]) == selection.k and r["algorithm"] == selection.algorithm}
                     for r in selection.table.to_dict(orient="records")]},
        "assignment_fidelity": personas.meta.get("assignment_fidelity"),
        "rules_file": run.file("rules").relative_to(run.path).as_posix(),
        "parameters": _parameter_rows(manifest.get("parameters", {}), k),
        "versions": {k: (v or "not installed") for k, v in manifest.get("versions", {}).items()},
        "inputs": manifest.get("inputs", {}),
        "timings": {k: f"{v:.1f} s" for k, v in manifest.get("timings_s", {}).items()},
        "seed": params.get("random_state"),
    }


def _learned_from(params: dict) -> str:
    """"a seeded sample of 100,000 of 4,900,000 customers" when the segments were learnt
    from a sample (beyond ``sample_size``), else empty."""
    customers, learned = params.get("customers"), params.get("learned_from")
    if not customers or not learned or learned >= customers:
        return ""
    return f"a seeded sample of {learned:,} of {customers:,} customers"


def _value_validation(run: RunFolder) -> dict | None:
    """The value models' holdout check with a row per model, or None."""
    check = run.value_validation()
    if check is None:
        return None
    return {**check.to_dict(), "rows": check.to_frame().to_dict(orient="records"),
            "chosen_label": next((m["label"] for m in check.models if m["name"] == check.chosen), None)}


def _exported(card, personas) -> bool:
    manifest = personas.audiences or {}
    return any(e.get("segment") == card.segment and e.get("exported") for e in manifest.get("segments", []))


def _contact_note(card, personas) -> str:
    if _exported(card, personas):
        return ("The data names no contact channel: reach them through the segment's audience file "
                f"(audiences/segment_{card.segment}.csv) in your CRM.")
    return "The data names no contact channel, and the segment is too small to export as an audience."


def _num(value, digits: int) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):.{digits}f}"


def _title(dataset: str) -> str:
    try:
        from seglab.collect.spec import load_spec

        return load_spec(dataset).title
    except Exception:  # noqa: BLE001 - a spec given by path elsewhere: the name will do
        return dataset


def render_report(run: RunFolder, comparison: Comparison | None = None) -> str:
    """The report's HTML, from the run's artifacts.

    Parameters
    ----------
    run
        The run (:class:`seglab.run.RunFolder`), read through its typed readers.
    comparison
        The comparison with last period, or None.

    Returns
    -------
    str
        One self-contained HTML document.
    """
    return _ENV.get_template("report.html.j2").render(**report_context(run, comparison))


def write_report(html: str, path: str | Path) -> Path:
    """Write the report atomically (``report.html`` in the run folder)."""
    return write_text(html, path)


def _present(value):
    """``value``, or None when it is missing (a JSON null read back into a frame is NaN)."""
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def _segment_note(row: dict, previous_period: str) -> str:
    """Why a segment has no figures on one side: new this period, or gone since the last."""
    if _present(row.get("customers_then")) is None:
        return f"new: not in {previous_period}"
    if _present(row.get("customers_now")) is None:
        return "not found this period"
    return ""
