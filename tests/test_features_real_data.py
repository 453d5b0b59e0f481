"""Value features on UCI Online Retail as a new user gets them (``build_features`` defaults)."""

import warnings

import pytest

from seglab.collect import collect
from seglab.features import build_features

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def retail():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_features(collect("online_retail", "2011Q3"))


def test_silent_one_time_buyers_are_not_held_alive(retail):
    f = retail.features
    silent = (f["frequency"] == 0) & (f["recency_days"] >= 365)
    assert silent.sum() > 500
    assert retail.diagnostics["purchase_model"]["name"] in ("mbg_nbd", "pareto_nbd")
    alive = f.loc[silent, "prob_alive"]
    assert alive.max() < 0.9 and alive.mean() < 0.85  # BG/NBD gave every one of them 1.0
    # the longer the silence, the less likely alive
    assert f.loc[silent, ["T", "prob_alive"]].corr().iloc[0, 1] < -0.5


def test_lapsed_segments_are_less_alive_than_active_ones(retail):
    alive = retail.features.groupby("rfm_segment")["prob_alive"].mean()
    assert alive["Champions"] > alive["Loyal"] > alive["At risk"] > alive["Can't lose them"]
    assert alive["New"] > alive["Lost"] and alive["Potential loyalists"] > alive["Hibernating"]
    named = set(retail.features["rfm_segment"]) - {"No purchases"}
    assert {"Lost", "Hibernating", "About to sleep", "New", "Promising"} <= named


def test_the_holdout_check_runs_and_beats_the_naive_baseline(retail):
    v = retail.validation
    assert v.validated and v.holdout_days == 92 and v.calibration_end == "2011-06-30"
    chosen = next(m for m in v.models if m["name"] == v.chosen)
    assert chosen["rmse"] < v.naive["rmse"] and abs(chosen["aggregate_error"]) < 0.25
    assert v.gamma_gamma["customers"] > 1000 and v.gamma_gamma["correlation"] is not None
