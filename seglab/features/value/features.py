"""Value features for each customer: probability alive, expected purchases and spend, CLV."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from seglab._validation import check_choice, require_columns
from seglab.exceptions import ConvergenceWarning, DataQualityWarning
from seglab.features.value.clv import customer_lifetime_value
from seglab.features.value.gammagamma import GammaGamma
from seglab.features.value.validation import (MODELS, ValueValidation,
                                              gamma_gamma_check, sample_by_id)

__all__ = ["value_features", "MIN_REPEAT_CUSTOMERS", "MAX_FIT_CUSTOMERS", "FALLBACK_ORDER"]

logger = logging.getLogger(__name__)

MIN_REPEAT_CUSTOMERS = 10
"""Fewer repeat customers than this and the value models are not fitted."""

MAX_FIT_CUSTOMERS = 100_000
"""Beyond this many customers the models are fitted on a seeded random sample of them (three
or four parameters are pinned down long before); predictions are made for everyone."""

VALUE_COLUMNS = ("prob_alive", "expected_purchases", "expected_spend", "clv")

FALLBACK_ORDER = ("mbg_nbd", "pareto_nbd", "bg_nbd")
"""The order in which purchase models are tried when no validation ranked them; a model that
does not converge gives way to the next."""


def _order(model: str, validation: ValueValidation | None) -> tuple[list[str], str]:
    """The purchase models to try, best first, and how the first was chosen."""
    if model != "auto":
        return [model, *[m for m in FALLBACK_ORDER if m != model]], "set by the user"
    if validation is not None and validation.ranking:
        rest = [m for m in FALLBACK_ORDER if m not in validation.ranking]
        return [*validation.ranking, *rest], "best holdout fit"
    return list(FALLBACK_ORDER), "default (not validated)"


def value_features(summary: pd.DataFrame, *, time_unit: str = "days", horizon_days: int = 90,
                   clv_months: int = 12, discount_rate: float = 0.01, penalizer: float = 0.0,
                   model: str = "auto", validation: ValueValidation | None = None,
                   max_fit_customers: int | None = MAX_FIT_CUSTOMERS,
                   random_state: int = 0) -> tuple[pd.DataFrame, dict, dict]:
    """Fit a purchase model and Gamma-Gamma on a BTYD summary and predict each customer's value.

    Parameters
    ----------
    summary
        The output of :func:`seglab.features.btyd_summary` (one row per buyer, over each
        customer's whole history).
    time_unit
        The unit of ``recency`` and ``T`` in ``summary``.
    horizon_days
        Horizon of ``expected_purchases`` (in days, whatever ``time_unit``).
    clv_months, discount_rate
        Horizon and monthly discount rate of ``clv``.
    model
        ``"auto"`` (default): the best candidate of ``validation``
        (:func:`seglab.features.validate_value_model`), or MBG/NBD without one; or one
        of ``"mbg_nbd"``, ``"pareto_nbd"``, ``"bg_nbd"``. A model that does not converge
        gives way to the next (best holdout fit first, then :data:`FALLBACK_ORDER`),
        with a note in the diagnostics.
    max_fit_customers, random_state
        Fit on a random sample of this many customers when there are more (None: all).
        The sample depends on the customers and the seed, not on the order of the rows.

    Returns
    -------
    features, models, diagnostics
        ``customer_id``, ``prob_alive``, ``expected_purchases``, ``expected_spend``,
        ``clv`` (all NaN when a model could not be fitted); the fitted models
        (``purchase``, ``spend``; None when not fitted); what happened (``status``,
        the model and why it was chosen, notes, counts, the Gamma-Gamma check).

    Gamma-Gamma uses the net repeat spend (returns netted). Repeat customers whose
    net repeat spend is ≤ 0 are left out of its fit (with a warning giving their
    number) and get an expected spend of 0.
    """
    require_columns(summary, ["customer_id", "frequency", "recency", "T", "net_monetary_value"],
                    table="summary")
    check_choice(model, ("auto", *MODELS), name="model")
    x = summary["frequency"].to_numpy(dtype=float)
    t_x = summary["recency"].to_numpy(dtype=float)
    T = summary["T"].to_numpy(dtype=float)
    spend_input = summary["net_monetary_value"].to_numpy(dtype=float)
    out = pd.DataFrame({"customer_id": summary["customer_id"]})
    for col in VALUE_COLUMNS:
        out[col] = np.nan
    diagnostics: dict = {"customers": len(summary), "repeat_customers": int((x > 0).sum()), "notes": []}
    models: dict = {"purchase": None, "spend": None}

    if diagnostics["repeat_customers"] < MIN_REPEAT_CUSTOMERS:
        diagnostics["status"] = (f"skipped: only {diagnostics['repeat_customers']} repeat customers "
                                 f"(the value models need at least {MIN_REPEAT_CUSTOMERS})")
        warnings.warn(f"value models not fitted: {diagnostics['status']}", DataQualityWarning, stacklevel=2)
        return out, models, diagnostics

    fit = sample_by_id(summary["customer_id"], max_fit_customers, random_state)
    diagnostics["fitted_on"] = len(fit)
    order, reason = _order(model, validation)
    purchase = None
    for name in order:
        candidate, caught = _fit_holding_warnings(MODELS[name](penalizer=penalizer), x[fit], t_x[fit], T[fit])
        if candidate.converged_:
            purchase = candidate
            break
        _reissue(caught)
        diagnostics["notes"].append(f"{candidate.label} did not converge on the data up to the "
                                    "snapshot; the next model was tried")
        diagnostics.setdefault("not_converged", []).append(candidate.summary())
        reason = "fallback: an earlier choice did not converge"
    if purchase is None:
        diagnostics["status"] = "no purchase model converged; value features left empty"
        return out, models, diagnostics
    diagnostics["purchase_model"] = {**purchase.summary(), "label": purchase.label,
                                     "name": next(n for n, c in MODELS.items() if type(purchase) is c),
                                     "chosen_by": reason}
    if purchase.label == "BG/NBD":
        diagnostics["notes"].append("BG/NBD holds every one-time buyer alive with probability 1")
    models["purchase"] = purchase
    horizon = horizon_days / 7.0 if time_unit == "weeks" else float(horizon_days)
    out["prob_alive"] = purchase.predict_alive(x, t_x, T)
    out["expected_purchases"] = purchase.predict_purchases(horizon, x, t_x, T)

    usable = (x > 0) & (spend_input > 0)
    in_fit = np.zeros(len(x), dtype=bool)
    in_fit[fit] = True
    diagnostics["gamma_gamma_check"] = gamma_gamma_check(x, spend_input)
    excluded = int(((x > 0) & ~usable).sum())
    diagnostics["gamma_gamma_excluded"] = excluded
    if excluded:
        warnings.warn(f"{excluded:,} repeat customers have a net repeat spend ≤ 0 (returns cancel "
                      "their purchases); they are left out of the Gamma-Gamma fit and their expected "
                      "spend is 0", DataQualityWarning, stacklevel=2)
    if (usable & in_fit).sum() < MIN_REPEAT_CUSTOMERS:
        diagnostics["status"] = "Gamma-Gamma skipped: too few repeat customers with positive spend"
        return out, models, diagnostics
    spend_model, caught = _fit_holding_warnings(GammaGamma(penalizer=penalizer), x[usable & in_fit],
                                                spend_input[usable & in_fit])
    _reissue(caught)
    diagnostics["spend_model"] = spend_model.summary()
    if not spend_model.converged_:
        diagnostics["status"] = "Gamma-Gamma did not converge; spend and CLV left empty"
        return out, models, diagnostics
    models["spend"] = spend_model
    spend = spend_model.predict_spend(np.where(usable, x, 0), np.where(usable, spend_input, 0))
    spend = np.where((x > 0) & ~usable, 0.0, spend)
    out["expected_spend"] = spend
    out["clv"] = customer_lifetime_value(purchase, x, t_x, T, spend, horizon_months=clv_months,
                                         discount_rate=discount_rate, time_unit=time_unit)
    diagnostics["status"] = "fitted"
    return out, models, diagnostics


def _fit_holding_warnings(model, *data):
    """``model.fit(*data)`` with its convergence warnings held back: the fitted model and the
    warnings, to re-issue (:func:`_reissue`) once the caller knows whether it keeps the model."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = model.fit(*data)
    return model, caught


def _reissue(caught) -> None:
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=3)  # the caller of value_features
