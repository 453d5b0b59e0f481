"""The quarterly persona report: one self-contained HTML file built from the run folder.

Everything comes from the run's artifacts (the run folder is the API of a run); figures
are embedded as PNG data URIs; the page loads nothing from anywhere (no script, no web
font, no remote image) and prints well. Data-derived text is escaped by the template
engine, so a category named ``<script>`` shows as text.
"""

from __future__ import annotations

import base64
import io
from datetime import date
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from seglab._io import read_json, write_text
from seglab.config import RunFolder
from seglab.report.comparison import Comparison

__all__ = ["render_report", "write_report", "figure_uri", "executive_summary", "report_context"]

_ENV = Environment(loader=PackageLoader("seglab.report", "templates"),
                   autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
                   trim_blocks=True, lstrip_blocks=True)


def figure_uri(fig, *, dpi: int = 110) -> str:
    """A matplotlib figure as a PNG data URI (the figure is closed)."""
    if isinstance(fig, matplotlib.axes.Axes):
        fig = fig.figure
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _pct(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:.0%}"


def executive_summary(info: dict, cards: list, comparison: Comparison | None) -> list[str]:
    """The report's opening paragraph, as sentences: who the customers are, what changed."""
    customers = sum(c.customers for c in cards)
    when = pd.Timestamp(info["as_of"]).strftime("%d %B %Y") if info.get("as_of") else info["period"]
    out = [f"{customers:,} customers in {len(cards)} segments, as of {when}."]
    with_revenue = [c for c in cards if c.revenue_share is not None]
    if with_revenue:
        top = max(with_revenue, key=lambda c: c.revenue_share)
        out.append(f"{top.name} are {_pct(top.share)} of customers and bring {_pct(top.revenue_share)} of revenue.")
    largest = max(cards, key=lambda c: c.customers)
    if not with_revenue or largest is not top:
        out.append(f"The largest segment, {largest.name}, holds {_pct(largest.share)} of customers.")
    alive = [c for c in cards if c.kpis.get("prob_alive") is not None and c.kpis["prob_alive"] < 0.5]
    for c in alive[:1]:
        out.append(f"{c.name} ({_pct(c.share)}) have gone quiet: {_pct(c.kpis['prob_alive'])} are likely to be "
                   "still active.")
    if comparison is None or comparison.skipped:
        out.append(f"No comparison with an earlier period: {comparison.note if comparison else 'not requested'}.")
        return out
    t = comparison.totals
    stayed = t.get("stayed_in_segment")
    out.append(f"Since {comparison.previous_period}, {_pct(stayed)} of returning customers stayed in their segment; "
               f"{t.get('new', 0):,} customers are new.")
    changes = comparison.changes.dropna(subset=["customers_then", "customers_now"]) \
        if "customers_then" in comparison.changes else pd.DataFrame()
    if not changes.empty:
        relative = (changes["customers_now"] - changes["customers_then"]) / changes["customers_then"]
        big = changes.loc[relative.abs().idxmax()]
        rel = relative.loc[relative.abs().idxmax()]
        verb = "grew" if rel > 0 else "shrank"
        out.append(f"{big['name']} {verb} from {int(big['customers_then']):,} to {int(big['customers_now']):,} "
                   f"customers ({rel:+.0%}).")
    drifted = comparison.drift[comparison.drift["shift_sd"].abs() >= 0.5]["name"].nunique() \
        if not comparison.drift.empty else 0
    if drifted:
        out.append(f"{drifted} segment{'s' if drifted > 1 else ''} changed character noticeably (see "
                   "'What changed').")
    return out


def report_context(run: RunFolder, comparison: Comparison | None = None) -> dict:
    """Everything the template shows, read from the run folder (figures rendered)."""
    import seglab.plotting as splot
    from seglab.cluster import Segmentation
    from seglab.collect.quality import QualityReport
    from seglab.features import FeatureDictionary
    from seglab.personas import Personas
    from seglab.runner import run_info

    personas = Personas.read(run.artifacts)
    segmentation = Segmentation.read(run.artifacts)
    dictionary = FeatureDictionary.read(run.require("feature_dictionary.json", stage="features"))
    quality = QualityReport.read(run.artifact("quality.json")) if run.artifact("quality.json").exists() else None
    manifest = read_json(run.manifest) if run.manifest.exists() else {}
    rules = read_json(run.artifact("personas.json"))
    info = run_info(run)
    info.update(title=_title(info["dataset"]), generated=date.today().isoformat())
    names = personas.names
    figures = {
        "sizes": figure_uri(splot.plot_segment_sizes(segmentation.segments, names=names)),
        "value": figure_uri(splot.plot_size_value(personas)),
        "heatmap": figure_uri(splot.plot_profile_heatmap(personas)),
        "traits": figure_uri(splot.plot_all_traits(personas)),
        "k_evidence": figure_uri(splot.plot_k_evidence(segmentation.selection)),
        "stability": figure_uri(splot.plot_stability(segmentation.selection)),
    }
    if {"x", "y"} <= set(segmentation.segments.columns):
        figures["map"] = figure_uri(splot.plot_segment_map(segmentation.segments, names=names))
    if quality is not None:
        figures["quality"] = figure_uri(splot.plot_quality(quality))
    value_check = _value_validation(run)
    if value_check is not None and value_check["status"] == "validated":
        figures["value_validation"] = figure_uri(splot.plot_value_validation(value_check))
    if comparison is not None and not comparison.skipped:
        figures["migration"] = figure_uri(splot.plot_migration(comparison))
        figures["changes"] = figure_uri(splot.plot_segment_changes(comparison))
    used = [*segmentation.columns.numeric, *segmentation.columns.categorical]
    features_used = [{"name": f, "criterion": dictionary[f].criterion if f in dictionary else "",
                      "description": dictionary[f].description if f in dictionary else ""} for f in used]
    selection = segmentation.selection
    return {
        "info": info, "summary": executive_summary(info, personas.cards, comparison), "cards": personas.cards,
        "overview": personas.profiles.overview.reset_index().to_dict(orient="records"),
        "figures": figures, "comparison": comparison,
        "changes": [] if comparison is None or comparison.skipped else comparison.changes.to_dict(orient="records"),
        "quality": quality, "features_used": features_used, "value_check": value_check,
        "dropped": segmentation.columns.dropped, "model": segmentation.params,
        "n_segments": segmentation.model.n_segments_,
        "selection": None if selection is None else {
            "rule": selection.rule, "algorithm": selection.algorithm, "k": selection.k,
            "rows": selection.table.round(3).to_dict(orient="records")},
        "assignment_fidelity": rules.get("assignment_fidelity"),
        "parameters": manifest.get("parameters", {}), "versions": manifest.get("versions", {}),
        "inputs": manifest.get("inputs", {}), "timings": manifest.get("timings_s", {}),
        "seed": segmentation.params.get("random_state"),
    }


def _value_validation(run: RunFolder) -> dict | None:
    """The value models' holdout check (``value_validation.json``) with a row per model, or None."""
    from seglab.features import ValueValidation

    path = run.artifact("value_validation.json")
    if not path.exists():
        return None
    check = ValueValidation.read(path)
    return {**check.to_dict(), "rows": check.to_frame().to_dict(orient="records"),
            "chosen_label": next((m["label"] for m in check.models if m["name"] == check.chosen), None)}


def _title(dataset: str) -> str:
    try:
        from seglab.collect.spec import load_spec

        return load_spec(dataset).title
    except Exception:  # a spec given by path elsewhere: the name will do
        return dataset


def render_report(run: RunFolder, comparison: Comparison | None = None) -> str:
    """The report's HTML, from the run folder's artifacts."""
    return _ENV.get_template("report.html.j2").render(**report_context(run, comparison))


def write_report(html: str, path: str | Path) -> Path:
    """Write the report atomically (``report.html`` in the run folder)."""
    return write_text(html, path)
