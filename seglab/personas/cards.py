"""Persona cards: one page per segment a marketing team can act on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from seglab._io import escape_markdown
from seglab.personas.profiles import SegmentProfiles
from seglab.personas.wording import capitalize, feature_kind, feature_label, format_value, plural, window_text

__all__ = ["PersonaCard", "persona_cards", "CARD_SECTIONS"]

CARD_SECTIONS = {
    "who": ("demographic", "geographic", "firmographic"),
    "how": ("behaviour", "journey", "rfm"),
    "worth": ("value",),
    "cares": ("psychographic", "needs"),
}
"""Which trait criteria go in which part of the card."""


@dataclass
class PersonaCard:
    """Everything about one segment, in words and a few numbers.

    ``kpis`` holds the KPI means per customer the data has (``net_revenue``, ``clv``,
    …) and, when the data has dated transactions, the period's own figures for the
    segment: ``period_revenue``, ``period_orders``, ``period_active``, ``period_new``,
    ``period_revenue_share``, each also with ``_previous`` and ``_year_ago`` when the
    data covers those periods.
    """

    segment: int
    name: str
    summary: str
    customers: int
    share: float
    revenue_share: float | None
    who: list[str] = field(default_factory=list)
    how: list[str] = field(default_factory=list)
    worth: list[str] = field(default_factory=list)
    cares: list[str] = field(default_factory=list)
    kpis: dict = field(default_factory=dict)
    actions: list[dict] = field(default_factory=list)
    kpis_to_watch: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    rules_quality: dict = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    status: str | None = None
    tier: str | None = None
    scores: list[str] = field(default_factory=list)
    """Response rate and feedback (NPS, CSAT), when the data has campaigns or feedback
    (:func:`seglab.measure.attach_scores`)."""

    def to_dict(self) -> dict:
        return asdict(self)

    def to_markdown(self) -> str:
        lines = [f"## {self.name} (segment {self.segment})", "", f"*{self.summary}*", ""]
        for title, items in (("Who they are", self.who), ("How they buy", self.how),
                             ("What they are worth", self.worth), ("What they care about", self.cares)):
            if items:
                lines += [f"**{title}**", *[f"- {i}" for i in items], ""]
        if self.actions:
            lines.append("**What to do**")
            for a in self.actions:
                channels = f" (channels: {', '.join(a['channels'])})" if a.get("channels") else ""
                lines.append(f"- **{a['action']}**: {a.get('do', '')}. Why: {a['why']}{channels}")
            lines.append("")
        if self.scores:
            lines += ["**Response and feedback**", *[f"- {s}" for s in self.scores], ""]
        if self.kpis_to_watch:
            lines += [f"**KPIs to watch**: {', '.join(self.kpis_to_watch)}", ""]
        if self.rules:
            quality = self.rules_quality
            lines += ["**Who belongs** (rules; precision {:.0%}, coverage {:.0%})".format(
                quality.get("precision", 0), quality.get("coverage", 0)), *[f"- {r}" for r in self.rules], ""]
        if self.flags:
            lines += ["**Notes**", *[f"- {f}" for f in self.flags], ""]
        return escape_markdown("\n".join(lines))  # names and traits are data: no raw HTML


def persona_cards(profiles: SegmentProfiles, traits: pd.DataFrame, names: dict[int, str], actions: dict,
                  *, rules=None, currency: str = "", min_audience: int = 0, dictionary=None, period=None,
                  facts=None) -> list[PersonaCard]:
    """One :class:`PersonaCard` per segment.

    ``period`` (:class:`~seglab.personas.period.PeriodFigures`) adds the period's own
    figures to each card's KPIs and summary; ``facts``
    (:func:`~seglab.personas.facts.segment_facts`) its status and value tier.
    """
    cards = []
    overview = profiles.overview
    meta = dictionary.meta if dictionary is not None else {}
    window = window_text(meta.get("lookback_days"), meta.get("as_of"))
    has_period = period is not None and getattr(period, "available", False)
    leads = _leads(traits, profiles.segments)
    for s in profiles.segments:
        row = overview.loc[s]
        mine = traits[traits["segment"] == s]
        sections = {key: [t["text"] for _, t in mine.iterrows() if t["criterion"] in crit]
                    for key, crit in CARD_SECTIONS.items()}
        revenue_share = float(row["revenue_share"]) if "revenue_share" in row and pd.notna(row["revenue_share"]) else None
        lead = leads.get(s, "no trait sets them apart")
        parts = [f"{format_value(row['share'], 'share')} of customers"]
        if has_period and period.segment(s).get("revenue_share") is not None:
            parts.append(f"{format_value(period.segment(s)['revenue_share'], 'share')} of {period.period}'s revenue")
        if revenue_share is not None:
            revenue_word = "revenue" if profiles.revenue in (None, "net_revenue") else \
                feature_label(profiles.revenue, dictionary)
            over = f" over {window}" if profiles.revenue == "net_revenue" else ""
            parts.append(f"{format_value(revenue_share, 'share')} of {revenue_word}{over}")
        summary = ", ".join(parts) + f"; {lead}."
        kpis = {k: float(row[k]) for k in profiles.kpis().columns if pd.notna(row[k])}
        if has_period:
            kpis.update(period.kpis(s))
        worth = sections["worth"] or [
            f"{capitalize(feature_label(name, dictionary))}"
            f"{' over ' + window if name == 'net_revenue' else ''}: "
            f"{format_value(value, feature_kind(name, dictionary), currency)} each"
            for name, value in kpis.items() if name in ("clv", "net_revenue", "total_spend")]
        segment_actions = actions.get(s, [])
        watch = list(dict.fromkeys(k for a in segment_actions for k in a["kpis"]))
        rule_texts, quality = [], {}
        if rules is not None and not rules.rules.empty:
            own = rules.rules[rules.rules["segment"] == s].sort_values("customers", ascending=False, kind="stable")
            rule_texts = own["rule"].head(3).tolist()
            summary_row = rules.summary[rules.summary["segment"] == s]
            if not summary_row.empty:
                quality = {k: float(summary_row[k].iloc[0]) for k in ("precision", "coverage", "fidelity")}
        flags = []
        if int(row["customers"]) == 1:
            flags.append("a segment of one customer: not a persona; suppressed from exports")
        elif min_audience and int(row["customers"]) < min_audience:
            flags.append(f"fewer than {min_audience} customers: not exported as an audience")
        missing = profiles.numeric[(profiles.numeric["segment"] == s)
                                   & (profiles.numeric["missing"] >= 0.1 * int(row["customers"]))]
        if not missing.empty:
            worst = missing.sort_values(["missing", "feature"], ascending=[False, True]).iloc[0]
            flags.append(f"{capitalize(feature_label(worst['feature'], dictionary))} is unknown for "
                         f"{plural(int(worst['missing']), 'customer')} of this segment; traits use those who have "
                         "a value")
        fact = (facts or {}).get(s)
        cards.append(PersonaCard(
            segment=int(s), name=names[s], summary=summary, customers=int(row["customers"]),
            share=float(row["share"]), revenue_share=revenue_share, who=sections["who"], how=sections["how"],
            worth=worth, cares=sections["cares"],
            kpis={k: (None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v)
                  for k, v in kpis.items()},
            actions=segment_actions, kpis_to_watch=watch, rules=rule_texts, rules_quality=quality, flags=flags,
            status=getattr(fact, "status", None), tier=getattr(fact, "tier", None)))
    return cards


def _leads(traits: pd.DataFrame, segments) -> dict:
    """Each segment's leading trait for its summary: its strongest, unless another segment
    leads with the same trait (the same feature, the same way: two low-income segments);
    then its strongest trait that no other segment leads with (their spending differs)."""
    def key(t) -> tuple:
        return t["feature"], None if t["kind"] == "numeric" else t["value"], np.sign(t["effect"])

    firsts = {s: traits[traits["segment"] == s].iloc[0] for s in segments if (traits["segment"] == s).any()}
    if not {"feature", "kind", "value", "effect"} <= set(traits.columns):  # traits written by hand: as given
        return {s: t["text"] for s, t in firsts.items()}
    counts = pd.Series([key(t) for t in firsts.values()]).value_counts()
    shared = set(counts[counts > 1].index)
    leads = {}
    for s, first in firsts.items():
        lead = first
        if key(first) in shared:
            mine = traits[traits["segment"] == s]
            others = [t for _, t in mine.iterrows() if key(t) not in shared]
            lead = others[0] if others else first
        leads[s] = lead["text"]
    return leads
