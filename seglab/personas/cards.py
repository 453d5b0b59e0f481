"""Persona cards: one page per segment a marketing team can act on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from seglab._io import escape_markdown
from seglab.personas.profiles import SegmentProfiles
from seglab.personas.traits import describe_number

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
    """Everything about one segment, in words and a few numbers."""

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
                lines.append(f"- **{a['action']}**: {a['why']} (channels: {', '.join(a['channels']) or 'any'})")
            lines.append("")
        if self.kpis_to_watch:
            lines += [f"**KPIs to watch**: {', '.join(self.kpis_to_watch)}", ""]
        if self.rules:
            quality = self.rules_quality
            lines += ["**Who belongs** (rules; precision {:.0%}, coverage {:.0%})".format(
                quality.get("precision", 0), quality.get("coverage", 0)), *[f"- {r}" for r in self.rules], ""]
        if self.flags:
            lines += ["**Notes**", *[f"- {f}" for f in self.flags], ""]
        return escape_markdown("\n".join(lines))  # names and traits are data: no raw HTML


def _kpi_text(name: str, value: float, currency: str) -> str:
    if name in ("prob_alive", "return_rate", "email_click_rate", "responded_last_campaign"):
        return describe_number(value, "share")
    if name in ("net_revenue", "avg_order_value", "clv", "total_spend"):
        return describe_number(value, currency, currency) if currency else describe_number(value)
    if name == "recency_days":
        return describe_number(value, "days")
    return describe_number(value)


def persona_cards(profiles: SegmentProfiles, traits: pd.DataFrame, names: dict[int, str], actions: dict,
                  *, rules=None, currency: str = "", min_audience: int = 0) -> list[PersonaCard]:
    """One :class:`PersonaCard` per segment."""
    cards = []
    overview = profiles.overview
    for s in profiles.segments:
        row = overview.loc[s]
        mine = traits[traits["segment"] == s]
        sections = {key: [t["text"] for _, t in mine.iterrows() if t["criterion"] in crit]
                    for key, crit in CARD_SECTIONS.items()}
        revenue_share = float(row["revenue_share"]) if "revenue_share" in row and pd.notna(row["revenue_share"]) else None
        lead = mine.iloc[0]["text"] if not mine.empty else "no trait stands out"
        summary = (f"{row['share']:.0%} of customers"
                   + (f" and {revenue_share:.0%} of revenue" if revenue_share is not None else "")
                   + f"; {lead}.")
        kpis = {k: float(row[k]) for k in profiles.kpis().columns if pd.notna(row[k])}
        worth = sections["worth"] or [f"{name.replace('_', ' ')}: {_kpi_text(name, value, currency)}"
                                      for name, value in kpis.items() if name in ("clv", "net_revenue", "total_spend")]
        segment_actions = actions.get(s, [])
        watch = list(dict.fromkeys(k for a in segment_actions for k in a["kpis"]))
        rule_texts, quality = [], {}
        if rules is not None and not rules.rules.empty:
            own = rules.rules[rules.rules["segment"] == s].sort_values("customers", ascending=False)
            rule_texts = own["rule"].head(3).tolist()
            summary_row = rules.summary[rules.summary["segment"] == s]
            if not summary_row.empty:
                quality = {k: float(summary_row[k].iloc[0]) for k in ("precision", "coverage", "fidelity")}
        flags = []
        if int(row["customers"]) == 1:
            flags.append("a segment of one customer: not a persona; suppressed from exports")
        elif min_audience and int(row["customers"]) < min_audience:
            flags.append(f"fewer than {min_audience} customers: suppressed from audience exports")
        missing = profiles.numeric[(profiles.numeric["segment"] == s) & (profiles.numeric["missing"] > 0)]
        if not missing.empty:
            worst = missing.sort_values("missing", ascending=False).iloc[0]
            flags.append(f"{len(missing)} features have missing values here (most: {worst['feature']}, "
                         f"{int(worst['missing']):,} customers); profiles use the customers who have a value")
        cards.append(PersonaCard(
            segment=int(s), name=names[s], summary=summary, customers=int(row["customers"]),
            share=float(row["share"]), revenue_share=revenue_share, who=sections["who"], how=sections["how"],
            worth=worth, cares=sections["cares"], kpis={k: (None if not np.isfinite(v) else v) for k, v in kpis.items()},
            actions=segment_actions, kpis_to_watch=watch, rules=rule_texts, rules_quality=quality, flags=flags))
    return cards
