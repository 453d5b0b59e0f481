"""Plain words for features: labels, units, readable numbers, and the adjectives and nouns
that persona names are made of.

Every text a marketing reader sees (traits, names, rules, the report's tables) goes
through here, so a feature is called the same thing everywhere and a number is written
the same way: money with its currency (£1,120), shares as percentages (48%), days as
days (190 days). Features this vocabulary does not know get a label from the feature
dictionary (or their name in words), their unit from the dictionary, and a generic
"high …"/"low …" adjective, so naming works on any columns a segmentation has.

>>> format_value(1234.5, "money", "GBP"), format_value(0.483, "share"), format_value(190.2, "days")
('£1,234', '48%', '190 days')
>>> round_threshold(1116.4, "money"), round_threshold(0.0606, "share"), round_threshold(106.3, "days")
(1120.0, 0.061, 110.0)
>>> plural(1, "line"), plural(3, "feature"), plural(2, "customer", "customers")
('1 line', '3 features', '2 customers')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["Words", "VOCABULARY", "words_for", "feature_label", "feature_kind", "format_value", "format_pair",
           "format_money", "round_threshold", "plural", "window_text", "CURRENCY_SYMBOLS",
           "horizon_text", "capitalize", "signed_share"]

CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥", "INR": "₹"}
"""Currencies written with a symbol; others are written as a code before the amount (CHF 1,120)."""


@dataclass(frozen=True)
class Words:
    """How to talk about one feature.

    ``kind`` decides how its values are written: ``money``, ``money_k`` (thousands of the
    currency), ``share`` (0–1, written as %), ``days``, ``years``, ``count``, ``rate``,
    ``score`` or ``""`` (a plain number). ``high`` and ``low`` are (adjective, noun) for
    a segment well above or below the other segments; ``integer`` features are counts
    (a rule says "at least 7 orders", not "> 6.5").
    """

    label: str
    kind: str = ""
    high: tuple[str, str] | None = None
    low: tuple[str, str] | None = None
    integer: bool = False


VOCABULARY: dict[str, Words] = {
    # RFM and value
    "recency_days": Words("time since last purchase", "days", ("quiet", "quiet customers"),
                          ("recent", "recent buyers")),
    "orders": Words("orders", "count", ("regular", "regulars"), ("infrequent", "occasional buyers"), integer=True),
    "net_revenue": Words("net revenue", "money", ("big-spending", "big spenders"), ("light-spending", "light spenders")),
    "gross_revenue": Words("gross revenue", "money"),
    "returned_amount": Words("value returned", "money", ("returning", "returners")),
    "avg_order_value": Words("average order value", "money", ("big-basket", "big-basket buyers"),
                             ("small-basket", "small-basket buyers")),
    "prob_alive": Words("probability still active", "share", ("active", "active customers"),
                        ("fading", "fading customers")),
    "expected_purchases": Words("expected purchases", "count"),
    "expected_spend": Words("expected spend per purchase", "money"),
    "clv": Words("CLV", "money"),
    "frequency": Words("repeat purchase days", "count", integer=True),
    "recency": Words("time from first to last purchase", "days"),
    "T": Words("time since first purchase", "days"),
    "monetary_value": Words("spend per repeat purchase day", "money"),
    "net_monetary_value": Words("net spend per repeat purchase day", "money"),
    "r_score": Words("recency score (1–5)", "score", integer=True),
    "f_score": Words("frequency score (1–5)", "score", integer=True),
    "m_score": Words("monetary score (1–5)", "score", integer=True),
    "fm_score": Words("frequency-monetary score (1–5)", "score", integer=True),
    "rfm_segment": Words("RFM segment"),
    "rfm_cell": Words("RFM cell"),
    # behaviour
    "tenure_days": Words("time since first purchase", "days", ("long-standing", "long-standing customers"),
                         ("new", "newcomers")),
    "orders_per_month": Words("orders per month", "rate", ("frequent", "frequent buyers"),
                              ("infrequent", "occasional buyers")),
    "mean_interpurchase_days": Words("time between purchases", "days", ("occasional", "occasional buyers"),
                                     ("regular", "regular buyers")),
    "interpurchase_cv": Words("irregularity of purchases", "", ("irregular", "irregular buyers"),
                              ("routine", "routine buyers")),
    "lines_per_order": Words("product lines per order", "count", ("big-basket", "big-basket buyers"),
                             ("small-basket", "small-basket buyers")),
    "items_per_order": Words("units per order", "count", ("bulk-buying", "bulk buyers"),
                             ("small-order", "small-order buyers")),
    "return_rate": Words("return rate", "share", ("high-return", "heavy returners")),
    "discount_share": Words("share of spend on discount", "share", ("deal-driven", "bargain hunters"),
                            ("full-price", "full-price buyers")),
    "discounted_order_share": Words("orders with a discount", "share", ("deal-driven", "bargain hunters"),
                                    ("full-price", "full-price buyers")),
    "weekend_share": Words("orders at weekends", "share", ("weekend", "weekend shoppers")),
    "morning_share": Words("orders before noon", "share", ("morning", "morning shoppers")),
    "evening_share": Words("orders after 6 pm", "share", ("evening", "evening shoppers")),
    "distinct_products": Words("distinct products bought", "count", ("wide-ranging", "wide-range buyers"),
                               ("focused", "focused buyers"), integer=True),
    "distinct_categories": Words("categories bought", "count", ("wide-ranging", "wide-range buyers"),
                                 ("focused", "focused buyers"), integer=True),
    "top_category_share": Words("spend in the favourite category", "share", ("specialist", "category specialists"),
                                ("varied", "varied shoppers")),
    # journey
    "journey_stage": Words("journey stage"),
    "days_since_signup": Words("time since sign-up", "days", ("long-time", "long-time members"),
                               ("newly signed-up", "recent sign-ups")),
    "marketing_consent": Words("marketing consent", "share", ("opted-in", "opted-in customers")),
    "visits_per_month": Words("visits per month", "rate", ("engaged", "frequent visitors"), ("rarely seen", "rare visitors")),
    "product_views": Words("product views", "count", ("browsing", "browsers"), integer=True),
    "cart_abandons": Words("abandoned carts", "count", ("hesitant", "cart abandoners"), integer=True),
    "cart_abandon_rate": Words("cart abandonment rate", "share", ("hesitant", "cart abandoners")),
    "visit_conversion": Words("visits that end in an order", "share", ("decisive", "decisive buyers"),
                              ("browsing", "window shoppers")),
    "support_contacts": Words("support contacts", "count", ("service-heavy", "service seekers"), integer=True),
    "support_per_order": Words("support contacts per order", "rate", ("service-heavy", "service seekers")),
    "email_open_rate": Words("email open rate", "share", ("email-engaged", "newsletter readers"),
                             ("email-quiet", "email skippers")),
    "email_click_rate": Words("email click rate", "share", ("email-engaged", "newsletter clickers")),
    "days_since_last_event": Words("time since last visit or contact", "days"),
    # demographic, geographic, firmographic
    "birth_year": Words("birth year", "", integer=True),
    "age": Words("age", "years", ("older", "older customers"), ("young", "young customers"), integer=True),
    "age_band": Words("age band"),
    "gender": Words("gender"),
    "income": Words("income", "money", ("high-income", "affluent customers"), ("low-income", "budget customers")),
    "income_k": Words("income", "money_k", ("high-income", "affluent customers"), ("low-income", "budget customers")),
    "annual_income_k": Words("annual income", "money_k", ("high-income", "affluent customers"),
                             ("low-income", "budget customers"), integer=True),
    "household_size": Words("household size", "count", ("family", "families"), ("single", "singles")),
    "kids_at_home": Words("children at home", "count", ("family", "families with young children"),
                          ("child-free", "child-free households"), integer=True),
    "teens_at_home": Words("teenagers at home", "count", ("teen-family", "families with teenagers"), integer=True),
    "urban": Words("living in a city", "share", ("urban", "city dwellers"), ("rural", "rural customers")),
    "employees": Words("employees", "count", ("large", "large accounts"), ("small", "small businesses"), integer=True),
    "annual_revenue_m": Words("annual revenue (millions)", "", ("large", "large accounts"),
                              ("small", "small businesses")),
    # psychographic (survey items)
    "price_sensitivity": Words("price sensitivity (survey)", "score", ("price-conscious", "price-conscious shoppers"),
                               ("price-relaxed", "price-relaxed shoppers")),
    "brand_loyalty": Words("brand loyalty (survey)", "score", ("brand-loyal", "brand loyalists")),
    "sustainability": Words("sustainability (survey)", "score", ("eco-minded", "eco-minded shoppers")),
    "novelty_seeking": Words("novelty seeking (survey)", "score", ("trend-seeking", "trendsetters")),
    "convenience_focus": Words("convenience focus (survey)", "score", ("convenience-driven", "convenience seekers")),
    "social_influence": Words("social influence (survey)", "score", ("socially influenced", "social shoppers")),
    # customer tables (Mall Customers, Customer Personality Analysis and the like)
    "spending_score": Words("spending score (1–100)", "score", ("big-spending", "big spenders"),
                            ("cautious", "cautious spenders")),
    "total_spend": Words("total spend", "money", ("big-spending", "big spenders"), ("light-spending", "light spenders")),
    "spend_wines": Words("spend on wine", "money", ("wine-loving", "wine lovers")),
    "spend_meat": Words("spend on meat", "money", ("meat-loving", "meat lovers")),
    "spend_fish": Words("spend on fish", "money", ("seafood-loving", "seafood lovers")),
    "spend_sweets": Words("spend on sweets", "money", ("sweet-toothed", "sweet tooths")),
    "spend_fruits": Words("spend on fruit", "money", ("fresh-food", "fresh-food fans")),
    "spend_gold": Words("spend on gold products", "money", ("premium", "gold buyers")),
    "deal_purchases": Words("purchases on a deal", "count", ("deal-seeking", "bargain hunters"), integer=True),
    "web_purchases": Words("web purchases", "count", ("online", "online shoppers"), integer=True),
    "catalog_purchases": Words("catalogue purchases", "count", ("catalogue", "catalogue shoppers"), integer=True),
    "store_purchases": Words("store purchases", "count", ("in-store", "store shoppers"), integer=True),
    "total_purchases": Words("purchases", "count", ("frequent", "frequent buyers"), ("infrequent", "occasional buyers"),
                             integer=True),
    # few web visits says where they are not, not that they are rarely seen (they may buy by catalogue)
    "web_visits_per_month": Words("web visits per month", "rate", ("web-engaged", "frequent web visitors"),
                                  ("rarely online", "rare web visitors"), integer=True),
    "complained": Words("complained", "share", ("dissatisfied", "complainers")),
    "responded_last_campaign": Words("responded to the last campaign", "share",
                                     ("campaign-responsive", "campaign responders"),
                                     ("campaign-resistant", "campaign sceptics")),
    "total_spend_share": Words("share of total spend", "share"),
}
"""Feature name → :class:`Words`. Families of features (``category_share_<c>``,
``channel_share_<c>``, ``spend_<c>``, ``accepted_campaign_<n>``) are worded by
:func:`words_for`."""

_CHANNEL_WORDS = {"web": ("online", "online shoppers"), "app": ("app-first", "app shoppers"),
                  "store": ("in-store", "store shoppers"), "phone": ("phone", "phone shoppers"),
                  "catalog": ("catalogue", "catalogue shoppers"), "catalogue": ("catalogue", "catalogue shoppers")}
_MONEY_NAME = re.compile(r"(^spend_|_spend$|revenue|_value$|^income$|_amount$)")


def words_for(name: str, info=None) -> Words:
    """The :class:`Words` of a feature: from :data:`VOCABULARY`, a feature family, or made
    from the feature dictionary's entry ``info`` (label, unit) and the name."""
    if name in VOCABULARY:
        return VOCABULARY[name]
    if name.startswith("category_share_"):
        cat = name.removeprefix("category_share_").replace("_", " ")
        return Words(f"share of spend on {cat}", "share", (f"{cat}-focused", f"{cat} shoppers"))
    if name.startswith("channel_share_"):
        channel = name.removeprefix("channel_share_").replace("_", " ")
        high = _CHANNEL_WORDS.get(channel, (f"{channel}-first", f"{channel} shoppers"))
        return Words(f"orders through {channel}", "share", high)
    if name.startswith("spend_"):
        what = name.removeprefix("spend_").replace("_", " ")
        return Words(f"spend on {what}", "money", (f"{what}-buying", f"{what} buyers"))
    if m := re.fullmatch(r"accepted_campaign_(\d+)", name):
        return Words(f"accepted campaign {m[1]}", "share", ("campaign-responsive", "campaign responders"))
    unit = getattr(info, "unit", "") or ""
    kind = _kind_from_unit(unit, getattr(info, "criterion", ""), name)
    label = _label_from_info(name, info)
    slug = label if len(label.split()) <= 2 else name.replace("_", " ")
    return Words(label, kind, (f"high-{slug.replace(' ', '-')}", "customers"),
                 (f"low-{slug.replace(' ', '-')}", "customers"))


def _kind_from_unit(unit: str, criterion: str, name: str) -> str:
    if unit in ("share", "probability"):
        return "share"
    if unit in ("days", "years"):
        return unit
    if unit and unit.isupper() and len(unit) == 3:  # a currency code
        return "money"
    if unit in ("orders", "purchases", "products", "lines", "units", "views", "carts", "contacts", "visits",
                "categories"):
        return "count"
    if unit == "score":
        return "score"
    if not unit and _MONEY_NAME.search(name):
        return "money"
    return ""


def _label_from_info(name: str, info) -> str:
    description = getattr(info, "description", "") or ""
    # descriptions of plain customer attributes are "customers.<column>": no better than the name
    if description and not description.startswith("customers.") and len(description) <= 40:
        return description
    return name.replace("_", " ")


def feature_label(name: str, dictionary=None) -> str:
    """The plain label of a feature (``clv`` → "CLV over 12 months" when the dictionary says
    so; ``annual_income_k`` → "annual income")."""
    info = _info(dictionary, name)
    words = words_for(name, info)
    if name == "clv" and info is not None and (m := re.search(r"over (\d+ months?)", info.description)):
        return f"CLV over {m[1]}"
    if name == "expected_purchases" and info is not None and (text := horizon_text(info.description)):
        return f"expected purchases in the next {text}"
    return words.label


def feature_kind(name: str, dictionary=None) -> str:
    """How values of a feature are written (see :class:`Words`)."""
    return words_for(name, _info(dictionary, name)).kind


def _info(dictionary, name: str):
    if dictionary is None:
        return None
    try:
        return dictionary[name]
    except KeyError:
        return None


def horizon_text(description: str) -> str:
    """The horizon a value-model feature's description names ("next 90 days" → "90 days"), or ""."""
    m = re.search(r"next (\d+ (?:days?|weeks?|months?))", description or "")
    return m[1] if m else ""


def format_money(value: float, currency: str = "", *, decimals: int | None = None) -> str:
    """Money with its currency: ``£1,234``, ``€2.1 M``, ``CHF 950``, ``£4.50``."""
    if value is None or not np.isfinite(value):
        return "n/a"
    symbol = CURRENCY_SYMBOLS.get(currency, "")
    prefix = symbol if symbol else (f"{currency} " if currency else "")
    sign = "−" if value < 0 else ""
    value = abs(value)
    if decimals is None:
        if value >= 1e6:
            return f"{sign}{prefix}{value / 1e6:,.1f} M"
        decimals = 0 if value >= 10 else 2
    return f"{sign}{prefix}{value:,.{decimals}f}"


def format_value(value, kind: str = "", currency: str = "", *, decimals: int | None = None) -> str:
    """A value as a reader should see it (see :class:`Words` for the kinds).

    ``decimals`` fixes the decimals (a table column uses one for every row).

    >>> format_value(0.2345, "share"), format_value(0.012, "share"), format_value(-0.0003, "share")
    ('23%', '1.2%', '−<0.1%')
    >>> format_value(-0.0003, "share", decimals=1)  # rounds to zero: no sign
    '0.0%'
    """
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    value = float(value)
    if kind == "money":
        return format_money(value, currency, decimals=decimals)
    if kind == "money_k":
        symbol = CURRENCY_SYMBOLS.get(currency, "")
        prefix = symbol if symbol else (f"{currency} " if currency else "")
        return f"{prefix}{value:,.{0 if decimals is None else decimals}f}k"
    if kind == "share":
        if decimals is None:
            if 0 < abs(value) < 0.0005:
                return "<0.1%" if value > 0 else "−<0.1%"
            decimals = 1 if 0 < abs(value) < 0.095 else 0
        shown = f"{value * 100:.{decimals}f}"
        return f"{shown.lstrip('-') if float(shown) == 0 else shown}%"  # never "-0.0%"
    if kind in ("days", "years"):
        unit = kind[:-1]
        shown = f"{value:,.{0 if decimals is None else decimals}f}"
        return f"{shown} {unit}" + ("" if shown == "1" else "s")
    if decimals is None:
        decimals = default_decimals(value)
    return f"{value:,.{decimals}f}"


def default_decimals(value: float) -> int:
    """Decimals for a plain number: none from 10, one from 1, two below."""
    value = abs(float(value))
    return 0 if value >= 10 else 1 if value >= 1 else 2


def format_pair(a: float, b: float, kind: str = "", currency: str = "") -> tuple[str, str]:
    """Two values to compare, written with the same decimals ("44" and "121", not "44.0")."""
    finite = [abs(v) for v in (a, b) if v is not None and np.isfinite(v)]
    if not finite or kind in ("money_k",):
        return format_value(a, kind, currency), format_value(b, kind, currency)
    if kind == "money":
        top = max(finite)
        decimals = 0 if top >= 10 or top >= 1e6 else 2
        if top >= 1e6:
            return format_money(a, currency), format_money(b, currency)
        return format_money(a, currency, decimals=decimals), format_money(b, currency, decimals=decimals)
    if kind == "share":  # each on its own: "16% (0.8% for other customers)"
        return format_value(a, kind), format_value(b, kind)
    decimals = min(default_decimals(v) for v in finite if v > 0) if any(v > 0 for v in finite) else 0
    if kind in ("days", "years"):
        decimals = 0
    return format_value(a, kind, currency, decimals=decimals), format_value(b, kind, currency, decimals=decimals)


def round_threshold(value: float, kind: str = "", *, integer: bool = False) -> float:
    """A threshold rounded for reading: money and days to 2–3 significant digits (1,120;
    190), shares to 2 significant digits of the percentage (48%, 6.1%)."""
    if not np.isfinite(value) or value == 0:
        return float(value)
    if integer:
        return float(round(value * 2) / 2)  # trees cut counts at .5: keep it, the text says "at least"
    digits = 3 if kind == "money" and abs(value) >= 1000 else 2
    if kind == "share":
        pct = value * 100
        return float(_significant(pct, 2)) / 100
    return float(_significant(value, digits))


def _significant(value: float, digits: int) -> float:
    magnitude = math.floor(math.log10(abs(value)))
    return round(value, digits - 1 - magnitude) if magnitude < digits else round(value, -(magnitude - digits + 1))


def plural(n: float, word: str, many: str | None = None) -> str:
    """``n`` and the noun, singular or plural: ``1 line``, ``2 lines``, ``1,234 customers``."""
    count = f"{n:,}" if isinstance(n, int | np.integer) else f"{n:,.0f}"
    return f"{count} {word if count == '1' else (many or word + 's')}"


def window_text(lookback_days: int | None, as_of: str | None) -> str:
    """The look-back window in words: ``the two years to 30 September 2011``."""
    import pandas as pd

    when = f" to {pd.Timestamp(as_of).day} {pd.Timestamp(as_of):%B %Y}" if as_of else ""
    if not lookback_days:
        return "all the data" + (f" up{when}" if when else "")
    years = lookback_days / 365
    words = {1: "year", 2: "two years", 3: "three years", 4: "four years", 5: "five years"}
    if abs(years - round(years)) < 0.02 and round(years) in words:
        span = words[round(years)]
    elif lookback_days % 30 == 0 and lookback_days < 365:
        span = f"{lookback_days // 30} months"
    else:
        span = f"{lookback_days:,} days"
    return f"the {span}{when}"


def signed_share(change: float) -> str:
    """A relative change with its sign: ``+24%``, ``−95%`` (a true minus sign)."""
    return f"{'+' if change >= 0 else '−'}{abs(change):.0%}"


def capitalize(text: str) -> str:
    """The first letter upper-cased, the rest left alone ("CLV" stays "CLV")."""
    return text[:1].upper() + text[1:]
