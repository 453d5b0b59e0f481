"""Synthetic customers drawn from planted segments: data with a known answer.

:func:`make_customers` draws each customer from one of ``n_segments`` archetypes
that differ along every segmentation criterion: demographic (or firmographic for
B2B), geographic, psychographic survey answers, stated needs, web/email journey,
and purchase behaviour. Purchases follow the process the BG/NBD model assumes
(Poisson purchases while alive, dropout after each purchase with a customer-level
probability) and order values the Gamma-Gamma model assumes, so value models can
be fitted to the result. Everything is drawn from one seeded generator: the same
arguments always give the same data.

The data also closes the loop: campaigns sent every quarter to some or all segments, each
with a random control group and a **planted effect per segment** (zero, positive, and one
negative: see :data:`CAMPAIGN_PLAN`), and customer feedback (NPS, CSAT)
every quarter with planted differences between segments and one segment's NPS falling in
the last quarter. They come from a second generator seeded from the same seed, so
customers, orders and events are the same with or without them. The truth is in
``campaign_truth`` and ``feedback_truth``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seglab._validation import check_range
from seglab.exceptions import ParameterError

__all__ = ["Archetype", "ARCHETYPES", "SyntheticCustomers", "make_customers", "SURVEY_ITEMS", "FIRMOGRAPHIC",
           "CAMPAIGN_PLAN", "PlantedCampaign", "NPS_MIX", "TOPICS"]

CATEGORIES = ("home", "kitchen", "garden", "fashion", "toys", "stationery")
CHANNELS = ("web", "app", "store")
FIRMOGRAPHIC = ("industry", "employees", "annual_revenue_m", "company_age_years")
"""The firmographic columns of business (``b2b=True``) customers."""
SURVEY_NOISE = 1.0
"""Spread of a customer's survey answer around their segment's (1–7 scale): enough that
no single item, nor the survey alone, tells the segments apart."""
SURVEY_ITEMS = ("price_sensitivity", "brand_loyalty", "sustainability", "novelty_seeking",
                "convenience_focus", "social_influence")
"""Psychographic survey items, answered on a 1–7 scale."""
NEEDS = ("low prices", "quality", "convenience", "inspiration", "service")
B2B_NEEDS = ("bulk pricing", "reliability", "fast delivery", "product range", "account support")
EDUCATION = ("secondary", "vocational", "bachelor", "master", "doctorate")
MARITAL = ("single", "partner", "married", "divorced", "widowed")
INDUSTRIES = ("retail", "hospitality", "healthcare", "education", "manufacturing",
              "professional services")
PLACES = {  # country: (city, region) pairs
    "Germany": (("Berlin", "Berlin"), ("Munich", "Bavaria"), ("Hamburg", "Hamburg"),
                ("Freiburg", "Baden-Württemberg")),
    "France": (("Paris", "Île-de-France"), ("Lyon", "Auvergne-Rhône-Alpes"), ("Rennes", "Brittany"),
               ("Bordeaux", "Nouvelle-Aquitaine")),
    "Netherlands": (("Amsterdam", "North Holland"), ("Utrecht", "Utrecht"),
                    ("Groningen", "Groningen"), ("Maastricht", "Limburg")),
    "Spain": (("Madrid", "Madrid"), ("Barcelona", "Catalonia"), ("Seville", "Andalusia"),
              ("Bilbao", "Basque Country")),
    "United Kingdom": (("London", "London"), ("Manchester", "North West"), ("Leeds", "Yorkshire"),
                       ("Bristol", "South West")),
}
COUNTRIES = tuple(PLACES)
_FIRST = {"female": ("Anna", "Clara", "Emma", "Julia", "Lena", "Lucia", "Marie", "Nora", "Sofia",
                     "Zoe", "Ines", "Maya"),
          "male": ("Ben", "David", "Elias", "Felix", "Hugo", "Jonas", "Luca", "Max", "Noah", "Paul",
                   "Tom", "Omar")}
_LAST = ("Adams", "Bauer", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Jansen",
         "Keller", "Lopez", "Martin", "Novak", "Olsen", "Petit", "Rossi", "Schmidt", "Taylor",
         "Visser", "Weber")


@dataclass(frozen=True)
class Archetype:
    """The planted truth of one segment: the distribution its customers are drawn from."""

    name: str
    weight: float
    orders_per_year: float
    dropout: float
    order_value: float
    basket_lines: float
    categories: tuple[float, ...]
    channels: tuple[float, float, float]
    discount_rate: float
    return_rate: float
    recent: bool
    age: float
    income: float
    female: float
    education: tuple[float, ...]
    household: float
    urban: float
    countries: tuple[float, ...]
    survey: tuple[float, ...]
    needs: tuple[float, ...]
    email_open: float
    email_click: float
    support_per_year: float
    browse_per_year: float
    cart_abandon: float
    employees: float
    industries: tuple[float, ...]
    weekend: float = 2 / 7
    times: tuple[float, float, float] = (0.35, 0.4, 0.25)


ARCHETYPES: tuple[Archetype, ...] = (
    # categories: home, kitchen, garden, fashion, toys, stationery; channels: web, app, store;
    # education: secondary … doctorate; countries: Germany, France, Netherlands, Spain, UK;
    # survey: price sensitivity, brand loyalty, sustainability, novelty seeking, convenience
    # focus, social influence; needs: low prices, quality, convenience, inspiration, service
    # (B2B: bulk pricing, reliability, fast delivery, product range, account support);
    # industries: retail, hospitality, healthcare, education, manufacturing, professional services;
    # times: shares of orders in the morning, the day and the evening
    Archetype("Loyal high spenders", weight=0.22, orders_per_year=12.0, dropout=0.02, order_value=140.0,
              basket_lines=3.0, categories=(5, 3, 2, 1, 1, 1), channels=(0.45, 0.25, 0.30),
              discount_rate=0.05, return_rate=0.04, recent=False, age=50, income=75, female=0.55,
              education=(1, 2, 4, 2, 0.5), household=2.8, urban=0.55, countries=(2, 1, 1, 1, 6),
              survey=(2.5, 6.3, 4.5, 3.0, 4.5, 3.0), needs=(1, 3, 2, 1, 8), email_open=0.55,
              email_click=0.25, support_per_year=1.0, browse_per_year=10, cart_abandon=0.15,
              employees=180, industries=(3, 1, 1, 1, 2, 3), weekend=0.35, times=(0.55, 0.35, 0.10)),
    Archetype("Bargain hunters", weight=0.30, orders_per_year=7.0, dropout=0.04, order_value=38.0,
              basket_lines=2.0, categories=(1, 1, 1, 5, 2, 1), channels=(0.55, 0.30, 0.15),
              discount_rate=0.60, return_rate=0.10, recent=False, age=35, income=38, female=0.60,
              education=(3, 3, 2, 1, 0.2), household=3.2, urban=0.55, countries=(1, 1, 1, 5, 2),
              survey=(6.4, 2.2, 3.0, 4.0, 3.8, 4.6), needs=(12, 1, 1, 1, 1), email_open=0.35,
              email_click=0.15, support_per_year=0.6, browse_per_year=22, cart_abandon=0.45,
              employees=25, industries=(4, 2, 1, 1, 1, 1), weekend=0.35, times=(0.20, 0.35, 0.45)),
    Archetype("Occasional gift buyers", weight=0.28, orders_per_year=1.6, dropout=0.25, order_value=85.0,
              basket_lines=1.6, categories=(1, 1, 1, 1, 4, 4), channels=(0.35, 0.10, 0.55),
              discount_rate=0.15, return_rate=0.03, recent=False, age=58, income=60, female=0.50,
              education=(2, 2, 2, 2, 0.5), household=2.1, urban=0.3, countries=(2, 5, 1, 1, 2),
              survey=(3.8, 3.8, 3.5, 2.2, 2.6, 2.6), needs=(1, 2, 1, 12, 1), email_open=0.20,
              email_click=0.05, support_per_year=0.3, browse_per_year=3, cart_abandon=0.30,
              employees=60, industries=(1, 3, 1, 2, 1, 1), weekend=0.55, times=(0.35, 0.50, 0.15)),
    Archetype("New digital natives", weight=0.20, orders_per_year=6.0, dropout=0.08, order_value=55.0,
              basket_lines=1.8, categories=(1, 1, 0.5, 5, 2, 2), channels=(0.15, 0.80, 0.05),
              discount_rate=0.20, return_rate=0.08, recent=True, age=26, income=34, female=0.50,
              education=(1, 2, 4, 2, 0.2), household=1.6, urban=0.95, countries=(2, 1, 5, 1, 2),
              survey=(4.2, 2.8, 6.2, 6.4, 5.4, 5.8), needs=(1, 1, 5, 8, 1), email_open=0.45,
              email_click=0.30, support_per_year=0.8, browse_per_year=30, cart_abandon=0.50,
              employees=15, industries=(1, 1, 1, 1, 1, 5), weekend=0.30, times=(0.10, 0.30, 0.60)),
    Archetype("Premium connoisseurs", weight=0.13, orders_per_year=3.5, dropout=0.04, order_value=260.0,
              basket_lines=2.2, categories=(1, 4, 5, 0.5, 0.5, 0.5), channels=(0.25, 0.05, 0.70),
              discount_rate=0.02, return_rate=0.02, recent=False, age=56, income=150, female=0.45,
              education=(0.2, 1, 3, 4, 2), household=2.2, urban=0.85, countries=(5, 2, 1, 1, 2),
              survey=(1.2, 4.2, 6.6, 4.4, 1.4, 1.2), needs=(0, 12, 1, 3, 2), email_open=0.40,
              email_click=0.20, support_per_year=0.4, browse_per_year=20, cart_abandon=0.05,
              employees=400, industries=(1, 1, 3, 1, 4, 2), weekend=0.60, times=(0.15, 0.35, 0.50)),
    Archetype("Convenience seekers", weight=0.15, orders_per_year=10.0, dropout=0.05, order_value=60.0,
              basket_lines=2.5, categories=(2, 5, 0.5, 1, 0.5, 1), channels=(0.75, 0.20, 0.05),
              discount_rate=0.10, return_rate=0.05, recent=False, age=36, income=95, female=0.45,
              education=(0.5, 1, 3, 4, 1), household=1.8, urban=0.9, countries=(3, 3, 3, 1, 1),
              survey=(3.0, 4.0, 2.6, 3.0, 6.6, 3.4), needs=(1, 1, 12, 1, 2), email_open=0.30,
              email_click=0.10, support_per_year=0.7, browse_per_year=5, cart_abandon=0.10,
              employees=30, industries=(1, 4, 1, 1, 1, 1), weekend=0.10, times=(0.20, 0.65, 0.15)),
    Archetype("Service-heavy families", weight=0.15, orders_per_year=5.0, dropout=0.06, order_value=75.0,
              basket_lines=3.5, categories=(2, 1, 1, 2, 5, 1), channels=(0.40, 0.20, 0.40),
              discount_rate=0.25, return_rate=0.15, recent=False, age=41, income=58, female=0.65,
              education=(2, 3, 2, 1, 0.2), household=4.3, urban=0.35, countries=(3, 1, 1, 3, 2),
              survey=(4.8, 4.6, 3.6, 2.6, 4.6, 4.0), needs=(2, 1, 2, 1, 12), email_open=0.30,
              email_click=0.10, support_per_year=3.0, browse_per_year=10, cart_abandon=0.35,
              employees=50, industries=(2, 2, 2, 2, 1, 1), weekend=0.60, times=(0.30, 0.25, 0.45)),
    Archetype("Lapsed one-timers", weight=0.12, orders_per_year=2.5, dropout=0.60, order_value=42.0,
              basket_lines=1.5, categories=(1, 1, 1, 2, 2, 2), channels=(0.60, 0.20, 0.20),
              discount_rate=0.30, return_rate=0.12, recent=False, age=33, income=45, female=0.50,
              education=(3, 2, 2, 1, 0.2), household=2.5, urban=0.6, countries=(1, 2, 1, 3, 3),
              survey=(5.0, 1.6, 2.6, 4.6, 2.6, 3.4), needs=(6, 1, 2, 2, 1), email_open=0.10,
              email_click=0.02, support_per_year=0.5, browse_per_year=4, cart_abandon=0.40,
              employees=20, industries=(2, 1, 1, 1, 1, 2), weekend=0.30, times=(0.30, 0.40, 0.30)),
)
"""The catalogue of archetypes; ``make_customers(n_segments=k)`` plants the first ``k``."""


@dataclass
class SyntheticCustomers:
    """Synthetic data with its planted truth.

    Attributes
    ----------
    customers, transactions, events
        Raw tables in canonical column names (customers still carry names, emails
        and phone numbers, as real exports do; *collect* pseudonymizes them).
    truth
        ``customer_id``, ``segment`` (0 … k−1) and ``segment_name``.
    archetypes
        The planted archetypes, one row per segment.
    campaigns
        The canonical campaigns table: ``customer_id``, ``campaign_id``, ``sent_at``,
        ``group``, ``channel``, ``action``, ``converted``, ``revenue``.
    feedback
        The canonical feedback table: ``customer_id``, ``date``, ``kind`` (``nps``,
        ``csat``), ``score``, ``topic``.
    campaign_truth
        One row per campaign and planted segment it reached: ``campaign_id``, ``segment``,
        ``segment_name``, ``control_share``, ``control_rate`` and ``treatment_rate`` (the
        conversion probabilities), ``lift`` (their difference, the planted effect),
        ``revenue_per_converter`` and ``revenue_lift`` (lift × revenue per converter: the
        effect on revenue per customer).
    feedback_truth
        One row per quarter and planted segment: ``period``, ``segment``,
        ``segment_name``, ``promoters``, ``passives``, ``detractors`` (the planted shares),
        ``nps`` (−100 … 100) and ``csat`` (planted share of CSAT answers 4–5).
    """

    customers: pd.DataFrame
    transactions: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame
    archetypes: pd.DataFrame
    campaigns: pd.DataFrame = field(default_factory=pd.DataFrame)
    feedback: pd.DataFrame = field(default_factory=pd.DataFrame)
    campaign_truth: pd.DataFrame = field(default_factory=pd.DataFrame)
    feedback_truth: pd.DataFrame = field(default_factory=pd.DataFrame)


def _choice(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One draw per row of a (rows × options) weight matrix."""
    p = weights / weights.sum(axis=1, keepdims=True)
    u = rng.random(len(p))[:, None]
    return np.minimum((p.cumsum(axis=1) < u).sum(axis=1), p.shape[1] - 1)


def _weekend_days(rng: np.random.Generator, day: np.ndarray, weekend: np.ndarray, t0: pd.Timestamp,
                  days: int) -> np.ndarray:
    """Move orders to or from weekends so that about ``weekend`` of each customer's fall on one."""
    day = np.floor(day)
    weekday = (t0.day_of_week + day.astype(int)) % 7  # 5, 6: Saturday, Sunday
    on_weekend = weekday >= 5
    to_weekend = ~on_weekend & (rng.random(len(day)) < np.clip((weekend - 2 / 7) / (5 / 7), 0, 1))
    off_weekend = on_weekend & (rng.random(len(day)) < np.clip((2 / 7 - weekend) / (2 / 7), 0, 1))
    moved = np.where(to_weekend, day + (5 - weekday) + rng.integers(0, 2, len(day)),
                     np.where(off_weekend, day + (7 - weekday), day))
    return np.where(moved < days, moved, day)


def _segment_array(archetypes, field: str, seg: np.ndarray) -> np.ndarray:
    return np.asarray([getattr(a, field) for a in archetypes], dtype=float)[seg]


def make_customers(n_customers: int = 3000, n_segments: int = 4, *, start: str = "2024-01-01",
                   end: str = "2025-12-31", b2b: bool = False, separation: float = 1.0,
                   prospects: float = 0.03, seed: int = 0) -> SyntheticCustomers:
    """Draw customers, their orders and their web/email events from planted segments.

    Parameters
    ----------
    n_customers
        Number of customers (prospects who never buy included).
    n_segments
        Number of planted segments, 2 to 8 (the first ``n_segments`` of :data:`ARCHETYPES`).
    start, end
        The span of the transaction log.
    b2b
        Business customers: firmographic columns (industry, employees, annual revenue)
        instead of demographic ones, larger order quantities, B2B needs.
    separation
        How far apart the segments' survey answers, ages and incomes are, relative
        to their spread: 1 is clearly separable, 0 makes those criteria uninformative.
    prospects
        Share of customers who visit and read emails but never buy.
    seed
        Seed of the random generator; the same arguments give the same data.

    Returns
    -------
    SyntheticCustomers

    Examples
    --------
    >>> data = make_customers(200, 3, seed=1)
    >>> sorted(data.truth["segment"].unique().tolist())
    [0, 1, 2]
    >>> data.transactions.columns.tolist()[:4]
    ['customer_id', 'order_id', 'order_date', 'amount']
    """
    check_range(n_customers, name="n_customers", low=10, integer=True)
    check_range(n_segments, name="n_segments", low=2, high=len(ARCHETYPES), integer=True)
    check_range(separation, name="separation", low=0, high=5)
    check_range(prospects, name="prospects", low=0, high=0.9)
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    if t1 <= t0 + pd.Timedelta(days=60):
        raise ParameterError(f"end ({end}) must be at least 60 days after start ({start})")
    rng = np.random.default_rng(seed)
    archetypes = ARCHETYPES[:n_segments]
    weights = np.array([a.weight for a in archetypes])
    n = int(n_customers)
    seg = rng.choice(n_segments, size=n, p=weights / weights.sum())
    ids = np.array([f"C{i:05d}" for i in range(1, n + 1)])
    days = (t1 - t0).days + 1

    # --- acquisition, prospects, purchase process -------------------------------------
    recent = _segment_array(archetypes, "recent", seg).astype(bool)
    first_day = np.where(recent, days - 1 - rng.integers(0, 200, n),
                         np.floor(rng.beta(1.1, 1.8, n) * (days - 30)))
    is_prospect = rng.random(n) < prospects
    rate = rng.gamma(4.0, _segment_array(archetypes, "orders_per_year", seg) / 4.0) / 365.25
    drop_mean = _segment_array(archetypes, "dropout", seg)
    dropout = rng.beta(2.0, 2.0 * (1 - drop_mean) / drop_mean)
    repeats = rng.geometric(dropout) - 1  # purchases after the first before dropping out
    remaining = days - first_day
    cap = np.minimum(repeats, np.ceil(rate * remaining * 3 + 10)).astype(int)
    cap[is_prospect] = 0
    owner = np.repeat(np.arange(n), cap)
    gaps = rng.exponential(1.0 / rate[owner])
    offsets = np.cumsum(gaps)
    group_start = np.repeat(np.cumsum(cap) - cap, cap)
    before = np.concatenate([[0.0], offsets])[group_start]
    repeat_day = first_day[owner] + (offsets - before)
    buyer = ~is_prospect
    order_customer = np.concatenate([np.flatnonzero(buyer), owner])
    order_day = np.concatenate([first_day[buyer], repeat_day])
    keep = order_day < days
    order_customer, order_day = order_customer[keep], order_day[keep]
    order_day = _weekend_days(rng, order_day, _segment_array(archetypes, "weekend", seg)[order_customer],
                              t0, days)
    part = _choice(rng, np.asarray([a.times for a in archetypes])[seg[order_customer]])
    seconds = (np.array([8, 12, 18])[part] * 3600
               + rng.integers(0, 3600 * np.array([4, 6, 4])[part]))  # morning, day, evening
    order_time = (t0 + pd.to_timedelta(np.floor(order_day), unit="D")
                  + pd.to_timedelta(seconds, unit="s"))
    sort = np.lexsort((order_customer, order_time.to_numpy()))
    order_customer, order_time = order_customer[sort], order_time[sort]
    n_orders = len(order_customer)
    order_ids = np.array([f"O{i:07d}" for i in range(1, n_orders + 1)])

    # --- order values (Gamma-Gamma: gamma spend around a customer-level mean) ----------
    spend_level = _segment_array(archetypes, "order_value", seg) * rng.lognormal(0, 0.35, n)
    order_value = rng.gamma(6.0, spend_level[order_customer] / 6.0)
    channel = _choice(rng, np.asarray([a.channels for a in archetypes])[seg[order_customer]])
    lines_per_order = 1 + rng.poisson(_segment_array(archetypes, "basket_lines", seg)[order_customer] - 1)
    line_order = np.repeat(np.arange(n_orders), lines_per_order)
    share = rng.gamma(1.0, 1.0, len(line_order))
    share /= np.bincount(line_order, weights=share)[line_order]
    line_amount = order_value[line_order] * share
    line_customer = order_customer[line_order]
    category = _choice(rng, np.asarray([a.categories for a in archetypes])[seg[line_customer]])
    product = np.array([f"{CATEGORIES[c][:3].upper()}{k:03d}" for c, k in
                        zip(category, rng.integers(1, 16, len(line_order)))])
    quantity = 1 + rng.poisson(25.0 if b2b else 0.4, len(line_order))
    unit_price = np.maximum(np.round(line_amount / quantity, 2), 0.5)
    amount = np.round(unit_price * quantity, 2)
    discounted = rng.random(len(line_order)) < _segment_array(archetypes, "discount_rate", seg)[line_customer]
    discount = np.where(discounted, np.round(amount * rng.uniform(0.1, 0.3, len(amount)), 2), 0.0)
    transactions = pd.DataFrame({
        "customer_id": ids[line_customer],
        "order_id": order_ids[line_order],
        "order_date": order_time[line_order].astype("datetime64[us]"),
        "amount": amount,
        "quantity": quantity.astype(float),
        "unit_price": unit_price,
        "product_id": product,
        "category": np.asarray(CATEGORIES)[category],
        "channel": np.asarray(CHANNELS)[channel[line_order]],
        "discount": discount,
    })
    # returns: some lines come back 3-20 days later as a separate negative line
    returned = rng.random(len(line_order)) < _segment_array(archetypes, "return_rate", seg)[line_customer]
    back = transactions.loc[returned].copy()
    back["order_date"] = back["order_date"] + pd.to_timedelta(rng.integers(3, 21, len(back)), unit="D")
    back = back.loc[back["order_date"] < t1 + pd.Timedelta(days=1)]
    back["order_id"] = "R" + back["order_id"].str[1:]
    back["amount"], back["quantity"], back["discount"] = -back["amount"], -back["quantity"], 0.0
    transactions = (pd.concat([transactions, back], ignore_index=True)
                    .sort_values(["order_date", "order_id", "product_id"], kind="stable")
                    .reset_index(drop=True))

    # --- customer profiles ---------------------------------------------------------------
    customers = _profiles(rng, archetypes, seg, ids, b2b, separation)
    first_purchase = t0 + pd.to_timedelta(np.floor(first_day), unit="D")
    signup = first_purchase - pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    customers["signup_date"] = pd.Series(signup, dtype="datetime64[us]").clip(
        lower=t0 - pd.Timedelta(days=365)).to_numpy()
    customers["marketing_consent"] = rng.random(n) < 0.8

    events = _events(rng, archetypes, seg, ids, customers, transactions, t0, t1, days)
    # the loop's data from a generator of its own: customers, orders and events stay as they were
    loop_rng = np.random.default_rng([seed, _LOOP_STREAM])
    campaigns, campaign_truth = _campaigns(loop_rng, archetypes, seg, ids, customers["signup_date"], t0, t1)
    feedback, feedback_truth = _feedback(loop_rng, archetypes, seg, ids, customers["signup_date"], t0, t1)
    truth = pd.DataFrame({"customer_id": ids, "segment": seg.astype(int),
                          "segment_name": np.asarray([a.name for a in archetypes])[seg]})
    planted = pd.DataFrame([{"segment": i, "name": a.name, "weight": a.weight,
                             "orders_per_year": a.orders_per_year, "dropout": a.dropout,
                             "order_value": a.order_value} for i, a in enumerate(archetypes)])
    return SyntheticCustomers(customers=customers, transactions=transactions, events=events,
                              truth=truth, archetypes=planted, campaigns=campaigns, feedback=feedback,
                              campaign_truth=campaign_truth, feedback_truth=feedback_truth)


def _profiles(rng, archetypes, seg, ids, b2b: bool, separation: float) -> pd.DataFrame:
    n = len(seg)
    female = rng.random(n) < _segment_array(archetypes, "female", seg)
    gender = np.where(female, "female", "male")
    first = np.where(female, np.asarray(_FIRST["female"])[rng.integers(0, 12, n)],
                     np.asarray(_FIRST["male"])[rng.integers(0, 12, n)])
    last = np.asarray(_LAST)[rng.integers(0, len(_LAST), n)]
    out = pd.DataFrame({"customer_id": ids})
    out["name"] = pd.Series(first).str.cat(last, sep=" ").to_numpy()
    out["email"] = (pd.Series(first).str.lower() + "." + pd.Series(last).str.lower() + "."
                    + pd.Series(ids).str[1:] + "@example.com").to_numpy()
    out["phone"] = [f"+44 7700 900{k:03d}" for k in rng.integers(0, 1000, n)]

    def _spread(field: str, overall: float) -> np.ndarray:  # shrink towards the overall mean
        return overall + separation * (_segment_array(archetypes, field, seg) - overall)

    if b2b:
        employees = np.exp(rng.normal(np.log(_spread("employees", 80.0)), 0.5))
        out["industry"] = np.asarray(INDUSTRIES)[_choice(rng, np.asarray([a.industries for a in archetypes])[seg])]
        out["employees"] = np.maximum(1, np.round(employees)).astype(float)
        out["annual_revenue_m"] = np.round(employees * rng.lognormal(np.log(0.15), 0.4, n), 2)
        out["company_age_years"] = np.round(rng.gamma(3.0, 6.0, n), 0)
    else:
        age = rng.normal(_spread("age", 42.0), 7.0)
        out["birth_year"] = np.clip(np.round(2025 - age), 1930, 2007).astype(float)
        out["gender"] = gender
        out["income_k"] = np.round(np.maximum(8.0, rng.normal(_spread("income", 60.0),
                                                              _spread("income", 60.0) * 0.15)), 1)
        out["education"] = np.asarray(EDUCATION)[_choice(rng, np.asarray([a.education for a in archetypes])[seg])]
        hh = _segment_array(archetypes, "household", seg)
        out["household_size"] = (1 + rng.poisson(np.maximum(hh - 1, 0.1))).astype(float)
        out["marital_status"] = np.asarray(MARITAL)[_choice(rng, np.tile([3, 2, 3, 1, 0.5], (n, 1))
                                                            + (hh[:, None] > 2.5) * np.array([-2, 0, 3, 0, 0]))]
    country = _choice(rng, np.asarray([a.countries for a in archetypes])[seg])
    city_index = rng.integers(0, 4, n)
    places = [PLACES[COUNTRIES[c]][k] for c, k in zip(country, city_index)]
    out["country"] = np.asarray(COUNTRIES)[country]
    out["region"] = [p[1] for p in places]
    out["city"] = [p[0] for p in places]
    out["urban"] = rng.random(n) < _segment_array(archetypes, "urban", seg)
    survey = np.asarray([a.survey for a in archetypes])[seg]
    survey = 4.0 + separation * (survey - 4.0) + rng.normal(0, SURVEY_NOISE, survey.shape)
    survey = np.clip(np.round(survey), 1, 7)
    survey[rng.random(survey.shape) < 0.03] = np.nan  # item non-response
    for j, item in enumerate(SURVEY_ITEMS):
        out[item] = survey[:, j]
    needs = B2B_NEEDS if b2b else NEEDS
    out["primary_need"] = np.asarray(needs)[_choice(rng, np.asarray([a.needs for a in archetypes])[seg] + 0.5)]
    return out


def _events(rng, archetypes, seg, ids, customers, transactions, t0, t1, days) -> pd.DataFrame:
    """Web and email events: visits around orders, browsing, abandoned carts, emails, support."""
    n = len(seg)
    parts = []
    orders = transactions.loc[transactions["amount"] > 0].drop_duplicates("order_id")
    online = orders.loc[orders["channel"] != "store"]
    cust_index = pd.Index(ids)
    oc = cust_index.get_indexer(online["customer_id"])
    t = online["order_date"].to_numpy()
    minutes = lambda k: pd.to_timedelta(k, unit="m").to_numpy()  # noqa: E731
    parts.append(pd.DataFrame({"customer_id": ids[oc], "timestamp": t - minutes(30), "event_type": "visit"}))
    views = 1 + rng.poisson(2.0, len(oc))
    vi = np.repeat(np.arange(len(oc)), views)
    nth = np.arange(len(vi)) - np.repeat(np.cumsum(views) - views, views)  # 0, 1, … within an order
    parts.append(pd.DataFrame({"customer_id": ids[oc][vi], "timestamp": t[vi] - minutes(25 - 2 * nth),
                               "event_type": "product_view"}))
    parts.append(pd.DataFrame({"customer_id": ids[oc], "timestamp": t - minutes(10), "event_type": "cart_add"}))
    parts.append(pd.DataFrame({"customer_id": ids[oc], "timestamp": t - minutes(2), "event_type": "checkout"}))

    # active span: from signup to a while after the last purchase (prospects: a few months)
    signup_day = ((customers["signup_date"] - t0).dt.days.to_numpy()).clip(0, days - 1)
    last = orders.groupby("customer_id")["order_date"].max()
    last_day = (last.reindex(ids) - t0).dt.days.to_numpy()
    end_day = np.where(np.isnan(last_day), signup_day + rng.exponential(120, n),
                       last_day + rng.exponential(60, n))
    end_day = np.clip(end_day, signup_day + 1, days)
    span = end_day - signup_day
    browse = rng.poisson(_segment_array(archetypes, "browse_per_year", seg) * span / 365.25)
    bi = np.repeat(np.arange(n), browse)
    bday = signup_day[bi] + rng.random(len(bi)) * span[bi]
    bt = (t0 + pd.to_timedelta(bday * 86400, unit="s")).to_numpy()
    parts.append(pd.DataFrame({"customer_id": ids[bi], "timestamp": bt, "event_type": "visit"}))
    parts.append(pd.DataFrame({"customer_id": ids[bi], "timestamp": bt + minutes(3), "event_type": "product_view"}))
    abandon = rng.random(len(bi)) < _segment_array(archetypes, "cart_abandon", seg)[bi]
    parts.append(pd.DataFrame({"customer_id": ids[bi][abandon], "timestamp": bt[abandon] + minutes(6),
                               "event_type": "cart_add"}))
    parts.append(pd.DataFrame({"customer_id": ids[bi][abandon], "timestamp": bt[abandon] + minutes(40),
                               "event_type": "cart_abandon"}))

    # monthly newsletters to customers who consented, from signup on
    month_starts = pd.date_range(t0, t1, freq="MS")
    consent = customers["marketing_consent"].to_numpy()
    signup = customers["signup_date"].to_numpy()
    sent_c, sent_m = np.nonzero(consent[:, None] & (signup[:, None] <= month_starts.to_numpy()[None, :]))
    sent_t = month_starts.to_numpy()[sent_m] + np.timedelta64(9, "h")
    parts.append(pd.DataFrame({"customer_id": ids[sent_c], "timestamp": sent_t, "event_type": "email_sent"}))
    opened = rng.random(len(sent_c)) < _segment_array(archetypes, "email_open", seg)[sent_c]
    open_t = sent_t[opened] + minutes(rng.integers(5, 2880, opened.sum()))
    parts.append(pd.DataFrame({"customer_id": ids[sent_c][opened], "timestamp": open_t, "event_type": "email_open"}))
    clicked = rng.random(opened.sum()) < (_segment_array(archetypes, "email_click", seg)[sent_c][opened]
                                          / _segment_array(archetypes, "email_open", seg)[sent_c][opened])
    parts.append(pd.DataFrame({"customer_id": ids[sent_c][opened][clicked], "timestamp": open_t[clicked] + minutes(1),
                               "event_type": "email_click"}))

    support = rng.poisson(_segment_array(archetypes, "support_per_year", seg) * span / 365.25)
    si = np.repeat(np.arange(n), support)
    sday = signup_day[si] + rng.random(len(si)) * span[si]
    parts.append(pd.DataFrame({"customer_id": ids[si], "timestamp": (t0 + pd.to_timedelta(sday * 86400, unit="s")).to_numpy(),
                               "event_type": "support_contact"}))
    events = pd.concat(parts, ignore_index=True)
    events["timestamp"] = events["timestamp"].astype("datetime64[us]").dt.floor("s")
    events = events.loc[(events["timestamp"] >= t0 - pd.Timedelta(days=365))
                        & (events["timestamp"] < t1 + pd.Timedelta(days=1))]
    channel = np.where(events["event_type"].str.startswith("email"), "email",
                       np.where(rng.random(len(events)) < 0.4, "app", "web"))
    events = events.assign(channel=np.where(events["event_type"] == "support_contact", "phone", channel))
    return events.sort_values(["timestamp", "customer_id", "event_type"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- closing the loop

_LOOP_STREAM = 18
"""Second entropy word of the campaigns' and feedback's generator (the first is the seed)."""


@dataclass(frozen=True)
class PlantedCampaign:
    """One planted campaign: when, to whom, with which control share and effects.

    ``quarters`` counts back from the last complete quarter of the data (0 is that
    quarter, 1 the one before …; quarters before the data starts are skipped);
    ``segments`` the planted segments it goes to (``"all"``, or indices, where ``-1`` is
    the last planted segment); ``effects`` the planted lift in conversion probability per
    segment (segments not named have none); ``day`` the day of the quarter it goes out.
    """

    name: str
    quarters: tuple[int, ...]
    channel: str
    action: str
    segments: tuple[int, ...] | str
    control_share: float
    effects: dict
    day: int


_SEASONAL = (0.04, 0.08, 0.12, 0.0, 0.05, 0.0, 0.03, 0.08)

CAMPAIGN_PLAN: tuple[PlantedCampaign, ...] = (
    PlantedCampaign("newsletter", tuple(range(8)), "email", "Nurture", "all", 0.3, {}, 10),
    PlantedCampaign("loyalty rewards", (3, 1, 0), "email", "Reward and retain", (0,), 0.3, {0: 0.15}, 20),
    PlantedCampaign("gift guide", (2,), "email", "Seasonal offer", (2,), 0.3, {2: 0.06}, 50),
    PlantedCampaign("seasonal offer", (4, 0), "email", "Seasonal offer", "all", 0.2, dict(enumerate(_SEASONAL)), 45),
    PlantedCampaign("app push", (0,), "app", "Onboard", (-1,), 0.3, {-1: -0.10}, 55),
    PlantedCampaign("catalogue", (0,), "mail", "Develop and upsell", (2,), 0.05, {2: 0.03}, 60),
)
"""The campaigns :func:`make_customers` plants: a newsletter every quarter that changes
nothing, loyalty rewards and a gift guide that work, a seasonal offer that works in most
segments and not in one, an app push that backfires, and a catalogue whose 5 % control
group is too small to tell (an underpowered test). A campaign for a segment the data does
not have goes to the nearest one there is."""

NPS_MIX = ((0.60, 0.28, 0.12), (0.30, 0.40, 0.30), (0.40, 0.38, 0.22), (0.50, 0.30, 0.20),
           (0.55, 0.30, 0.15), (0.45, 0.35, 0.20), (0.35, 0.30, 0.35), (0.15, 0.35, 0.50))
"""Planted shares of promoters, passives and detractors per archetype; in the last quarter
the last planted segment's NPS falls (:data:`NPS_DROP`)."""
NPS_DROP = (0.25, 0.30, 0.45)
TOPICS = ("price", "delivery", "product quality", "customer service", "app", "returns")
_TOPIC_WEIGHTS = ((1, 2, 4, 4, 1, 1), (6, 3, 1, 1, 1, 2), (2, 4, 3, 1, 0.5, 1), (2, 2, 1, 1, 4, 2),
                  (1, 2, 6, 3, 0.5, 0.5), (2, 5, 1, 1, 3, 1), (2, 2, 1, 5, 1, 4), (5, 2, 1, 2, 1, 2))
_NPS_RESPONSE, _CSAT_RESPONSE = 0.2, 0.12


def _loop_quarters(t0: pd.Timestamp, t1: pd.Timestamp) -> list[pd.Period]:
    """The complete quarters between ``t0`` and ``t1``."""
    return [q for q in pd.period_range(t0, t1, freq="Q")
            if q.start_time >= t0.normalize() and q.end_time.normalize() <= t1.normalize()]


def _campaigns(rng, archetypes, seg, ids, signup, t0, t1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The planted campaigns (:data:`CAMPAIGN_PLAN`) with their truth."""
    quarters = _loop_quarters(t0, t1)
    k = len(archetypes)
    base = 1 - np.exp(-np.array([a.orders_per_year for a in archetypes]) * 30 / 365.25)  # bought within 30 days
    value = np.array([a.order_value for a in archetypes])
    signup = signup.to_numpy()
    rows, truths = [], []
    sends = sorted(((quarters[-1 - back], plan) for plan in CAMPAIGN_PLAN for back in plan.quarters
                    if back < len(quarters)), key=lambda x: (x[0], x[1].day))
    for quarter, plan in sends:
        sent = quarter.start_time + pd.Timedelta(days=plan.day, hours=9)
        if plan.segments == "all":
            targets, effects = list(range(k)), {s: e for s, e in plan.effects.items() if s < k}
        else:  # -1 is the last segment; a segment the data lacks becomes the nearest one
            place = {s: s % k if s < 0 else min(s, k - 1) for s in plan.segments}
            targets = sorted(set(place.values()))
            effects = {place[s]: e for s, e in plan.effects.items()}
        who = np.flatnonzero(np.isin(seg, list(targets)) & (signup <= sent.to_datetime64()))
        control = np.zeros(len(who), dtype=bool)
        control[rng.permutation(len(who))[:int(round(plan.control_share * len(who)))]] = True
        lift = np.array([effects.get(s, 0.0) for s in range(k)])
        p = np.clip(base[seg[who]] + np.where(control, 0.0, lift[seg[who]]), 0, 1)
        converted = rng.random(len(who)) < p
        revenue = np.where(converted, np.round(rng.gamma(2.0, value[seg[who]] / 2.0), 2), 0.0)
        campaign_id = f"{quarter.year}Q{quarter.quarter} {plan.name}"
        rows.append(pd.DataFrame({"customer_id": ids[who], "campaign_id": campaign_id,
                                  "sent_at": sent, "group": np.where(control, "control", "treatment"),
                                  "channel": plan.channel, "action": plan.action, "converted": converted,
                                  "revenue": revenue}))
        for s in sorted(set(seg[who])):  # the planted segments it reached
            p1 = float(np.clip(base[s] + lift[s], 0, 1))
            truths.append({"campaign_id": campaign_id, "segment": int(s), "segment_name": archetypes[int(s)].name,
                           "control_share": plan.control_share, "control_rate": float(base[s]),
                           "treatment_rate": p1, "lift": p1 - float(base[s]),
                           "revenue_per_converter": float(value[s]),
                           "revenue_lift": (p1 - float(base[s])) * float(value[s])})
    columns = ["customer_id", "campaign_id", "sent_at", "group", "channel", "action", "converted", "revenue"]
    campaigns = (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns))
    campaigns["sent_at"] = campaigns["sent_at"].astype("datetime64[us]")
    return campaigns, pd.DataFrame(truths)


def _feedback(rng, archetypes, seg, ids, signup, t0, t1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """NPS and CSAT answers every complete quarter, from planted per-segment mixes."""
    quarters = _loop_quarters(t0, t1)
    k = len(archetypes)
    signup = signup.to_numpy()
    parts, truths = [], []
    for qi, quarter in enumerate(quarters):
        start, end = quarter.start_time, quarter.end_time.normalize() + pd.Timedelta(days=1)
        mix = np.array(NPS_MIX[:k], dtype=float)
        if qi == len(quarters) - 1:  # the last segment turns against the brand in the last quarter
            mix[k - 1] = NPS_DROP
        nps = mix[:, 0] - mix[:, 2]
        csat = np.clip(0.62 + 0.35 * nps, 0.3, 0.95)
        for s in range(k):
            truths.append({"period": f"{quarter.year}Q{quarter.quarter}", "segment": s,
                           "segment_name": archetypes[s].name, "promoters": mix[s, 0], "passives": mix[s, 1],
                           "detractors": mix[s, 2], "nps": nps[s] * 100, "csat": csat[s]})
        eligible = np.flatnonzero(signup < end.to_datetime64())
        for kind, share in (("nps", _NPS_RESPONSE), ("csat", _CSAT_RESPONSE)):
            who = eligible[rng.random(len(eligible)) < share]
            first = np.maximum(signup[who], start.to_datetime64()).astype("datetime64[s]").astype("int64")
            last = np.int64(end.to_datetime64().astype("datetime64[s]").astype("int64"))
            when = first + (rng.random(len(who)) * (last - first)).astype("int64")
            s_who = seg[who]
            if kind == "nps":
                group = _choice(rng, mix[s_who])  # 0 promoter, 1 passive, 2 detractor
                score = np.where(group == 0, 9 + (rng.random(len(who)) < 0.55),
                                 np.where(group == 1, 7 + (rng.random(len(who)) < 0.5),
                                          _choice(rng, np.tile([1, 1, 1, 2, 3, 4, 5], (len(who), 1)))))
                unhappy = group == 2
            else:
                happy = rng.random(len(who)) < csat[s_who]
                score = np.where(happy, 4 + (rng.random(len(who)) < 0.5),
                                 1 + _choice(rng, np.tile([0.2, 0.3, 0.5], (len(who), 1))))
                unhappy = score <= 2
            weights = np.asarray(_TOPIC_WEIGHTS[:k], dtype=float)[s_who]
            weights = weights * np.where(unhappy[:, None], [2, 2, 1, 1, 1, 2], 1)
            if qi == len(quarters) - 1:
                weights[:, TOPICS.index("app")] *= np.where(s_who == k - 1, 5, 1)
            topic = np.asarray(TOPICS, dtype=object)[_choice(rng, weights)]
            topic[rng.random(len(who)) < 0.2] = None  # not every answer names a topic
            parts.append(pd.DataFrame({"customer_id": ids[who], "date": when.astype("datetime64[s]"),
                                       "kind": kind, "score": score.astype(float), "topic": topic}))
    columns = ["customer_id", "date", "kind", "score", "topic"]
    feedback = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    feedback["date"] = feedback["date"].astype("datetime64[us]")
    feedback = feedback.sort_values(["date", "customer_id", "kind"], kind="stable").reset_index(drop=True)
    return feedback, pd.DataFrame(truths)
