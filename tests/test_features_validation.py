"""The calibration/holdout validation of the value models, the model choice and its fallbacks,
and the whole-history BTYD summary of build_features."""

import warnings

import numpy as np
import pandas as pd
import pytest

from seglab.collect.canonical import CanonicalData
from seglab.exceptions import ConvergenceWarning, DataQualityWarning, ParameterError
from seglab.features import (ModifiedBetaGeo, ParetoNBD, build_features, calibration_holdout,
                             validate_value_model, value_features)
from seglab.run import RunFolder

AS_OF = pd.Timestamp("2025-12-31")


def mbg_transactions(n: int = 1500, seed: int = 0, days: int = 730) -> pd.DataFrame:
    """Purchases of an MBG/NBD population over ``days`` days up to AS_OF (one line each)."""
    rng = np.random.default_rng(seed)
    start = AS_OF - pd.Timedelta(days=days - 1)
    rows = []
    for i in range(n):  # test data only: a few thousand purchases
        t = rng.uniform(0, days)
        rate, p = rng.gamma(0.8, 1 / 30), rng.beta(1.0, 3.0)
        rows.append((i, t))
        while rng.random() >= p:
            t += rng.exponential(1 / rate)
            if t >= days:
                break
            rows.append((i, t))
    ids, offsets = zip(*rows)
    return pd.DataFrame({"customer_id": [f"c{i:05d}" for i in ids],
                         "order_date": start + pd.to_timedelta(np.floor(offsets), unit="D"),
                         "amount": np.round(rng.gamma(4, 10, len(ids)), 2)})


@pytest.fixture(scope="module")
def log():
    return mbg_transactions()


def test_calibration_and_holdout_counts_match_a_hand_count():
    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "a", "b", "c"],
                       "order_date": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-03-01", "2025-12-01",
                                                     "2025-06-01", "2025-11-15"]),
                       "amount": [5.0, 1.0, 0.0, 7.0, 3.0, 4.0]})
    cal, purchases = calibration_holdout(tx, as_of=AS_OF, holdout_days=61)  # cut: 31 Oct 2025
    cal = cal.set_index("customer_id")
    assert list(cal.index) == ["a", "b"]  # c first bought after the cut
    assert cal.loc["a", ["frequency", "recency", "T", "holdout"]].tolist() == [1, 59.0, 303.0, 1]
    assert cal.loc["b", ["frequency", "recency", "T", "holdout"]].tolist() == [0, 0.0, 152.0, 0]
    assert purchases.to_dict(orient="list") == {"customer_id": ["a"], "offset": [31]}


def test_validation_reports_every_model_and_the_baseline(log):
    v = validate_value_model(log, as_of=AS_OF, holdout_days=91)
    assert v.validated and v.chosen in ("mbg_nbd", "pareto_nbd")
    assert [m["name"] for m in v.models] == ["bg_nbd", "mbg_nbd", "pareto_nbd"]
    cal, _ = calibration_holdout(log, as_of=AS_OF, holdout_days=91)
    actual = float(cal["holdout"].sum())
    for figures in [*v.models, v.naive]:
        assert figures["actual"] == actual
        assert figures["mae"] >= 0 and figures["rmse"] >= figures["mae"]
    chosen = next(m for m in v.models if m["name"] == v.chosen)
    # the data are MBG/NBD: the chosen model beats the naive baseline and gets the total about right
    assert chosen["rmse"] < v.naive["rmse"]
    assert abs(chosen["aggregate_error"]) < 0.25
    assert [row["frequency"] for row in v.conditional] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(row["customers"] for row in v.conditional) == len(cal)
    curve = pd.DataFrame(v.tracking)
    assert curve["day"].iloc[-1] == 91 and curve["actual"].iloc[-1] == actual
    assert curve["actual"].is_monotonic_increasing and curve[v.chosen].is_monotonic_increasing
    assert set(v.to_frame()["model"]) >= {"BG/NBD", "MBG/NBD", "Pareto/NBD", "naive (calibration rate)"}


def test_a_holdout_longer_than_the_history_says_how_long_it_may_be():
    tx = mbg_transactions(200, days=100)
    first = tx["order_date"].min()
    history = (AS_OF - first).days
    with pytest.raises(ParameterError, match=f"longest possible holdout window is {history - 1} days"):
        calibration_holdout(tx, as_of=AS_OF, holdout_days=history)


def test_too_few_repeat_buyers_before_the_holdout_skip_the_validation():
    tx = pd.DataFrame({"customer_id": list("abcdef"), "order_date": pd.date_range("2025-01-01", periods=6),
                       "amount": 1.0})
    v = validate_value_model(tx, as_of=AS_OF, holdout_days=30)
    assert not v.validated and v.status.startswith("skipped") and v.chosen is None


def _fails(self, *args, **kwargs):
    """A fit that does not converge (a stand-in for ParetoNBD.fit)."""
    self.params_ = {"r": 1.0, "alpha": 1.0, "s": 1.0, "beta": 1.0}
    self.log_likelihood_, self.n_customers_, self.converged_ = -1.0, 1, False
    warnings.warn("ParetoNBD did not converge", ConvergenceWarning, stacklevel=2)
    return self


def test_a_model_that_does_not_converge_on_calibration_data_is_no_candidate(log, monkeypatch):
    monkeypatch.setattr(ParetoNBD, "fit", _fails)
    v = validate_value_model(log, as_of=AS_OF, holdout_days=91)
    assert v.ranking == ["mbg_nbd"] and v.chosen == "mbg_nbd"
    assert any("Pareto/NBD did not converge on the calibration data" in n for n in v.notes)
    pareto = next(m for m in v.models if m["name"] == "pareto_nbd")
    assert not pareto["converged"] and "rmse" not in pareto


def test_a_model_that_does_not_converge_gives_way_to_the_next(log, monkeypatch):
    from seglab.features import btyd_summary

    summary = btyd_summary(log, as_of=AS_OF)
    monkeypatch.setattr(ParetoNBD, "fit", _fails)
    with pytest.warns(ConvergenceWarning):
        out, models, diag = value_features(summary, model="pareto_nbd")
    assert isinstance(models["purchase"], ModifiedBetaGeo)
    assert diag["purchase_model"]["chosen_by"].startswith("fallback")
    assert any("Pareto/NBD did not converge" in note for note in diag["notes"])
    assert out["prob_alive"].notna().all()


def _canonical(tx: pd.DataFrame, period: str = "2025Q4") -> CanonicalData:
    customers = pd.DataFrame({"customer_id": sorted(tx["customer_id"].unique())})
    return CanonicalData(dataset="test", period=period, as_of=AS_OF, customers=customers, transactions=tx)


def test_build_features_validates_chooses_and_writes(log, tmp_path):
    fs = build_features(_canonical(log))
    assert fs.validation is not None and fs.validation.validated
    assert fs.validation.holdout_days == 92  # one period: 2025Q4 has 92 days
    assert fs.diagnostics["purchase_model"]["name"] == fs.validation.chosen
    assert fs.diagnostics["purchase_model"]["chosen_by"] == "best holdout fit"
    assert fs.validation.gamma_gamma["customers"] > 0
    label = fs.diagnostics["purchase_model"]["label"]
    assert label in fs.dictionary["prob_alive"].description
    one_time = (fs.features["frequency"] == 0) & (fs.features["T"] > 0)
    assert fs.features.loc[one_time, "prob_alive"].lt(1).all()
    run = RunFolder(tmp_path)
    run.write_features(fs)
    again = run.features()
    assert again.validation.to_dict() == fs.validation.to_dict()


def test_build_features_refuses_an_impossible_holdout(log):
    with pytest.raises(ParameterError, match="longest possible holdout window"):
        build_features(_canonical(log), holdout_days=5000)


def test_a_history_shorter_than_the_default_holdout_skips_the_check_with_a_warning(log):
    recent = log[log["order_date"] > AS_OF - pd.Timedelta(days=80)]
    with pytest.warns(DataQualityWarning, match=r"history \(\d+ days\) is not longer than the value models' "
                                                r"holdout window \(one period, 92 days\)"):
        fs = build_features(_canonical(recent))
    assert fs.validation is None and fs.features["prob_alive"].notna().any()


def test_build_features_without_repeat_buyers_leaves_value_empty_and_the_rest_built():
    tx = pd.DataFrame({"customer_id": [f"c{i}" for i in range(30)],
                       "order_date": pd.date_range("2025-01-01", periods=30, freq="5D"), "amount": 10.0})
    with pytest.warns(DataQualityWarning, match="repeat customers"):
        fs = build_features(_canonical(tx))
    f = fs.features
    assert f["clv"].isna().all() and f["prob_alive"].isna().all()
    assert f["orders"].eq(1).all() and f["rfm_segment"].notna().all()
    assert not fs.validation.validated


def test_the_btyd_summary_uses_the_whole_history_whatever_the_look_back(log):
    short = build_features(_canonical(log), lookback_days=180, value_models=False).features
    whole = build_features(_canonical(log), lookback_days=None, value_models=False).features
    pd.testing.assert_frame_equal(short[["customer_id", "frequency", "recency", "T"]],
                                  whole[["customer_id", "frequency", "recency", "T"]])
    assert short["T"].max() > 180  # not restarted at the window's start
    assert short["orders"].sum() < whole["orders"].sum()  # behaviour stays in the window


def test_bounding_the_summary_warns_with_counts(log):
    first = log.groupby("customer_id")["order_date"].min()
    last = log.groupby("customer_id")["order_date"].max()
    start = AS_OF - pd.Timedelta(days=179)
    with pytest.warns(DataQualityWarning, match="summary_lookback_days=180 cuts") as caught:
        fs = build_features(_canonical(log), summary_lookback_days=180, value_models=False)
    cut = fs.dictionary.meta["summary_cut"]
    assert cut["vanished"] == int((last < start).sum())
    assert cut["shortened"] == int(((first < start) & (last >= start)).sum())
    assert f"{cut['vanished']:,} drop out" in str(caught[0].message)


def test_without_the_validation_mbg_nbd_is_the_default(log, tmp_path):
    (tmp_path / "value_validation.json").write_text("{}")  # a stale check of an earlier build
    fs = build_features(_canonical(log), validate_value_model=False)
    assert fs.validation is None
    assert fs.diagnostics["purchase_model"]["name"] == "mbg_nbd"
    assert fs.diagnostics["purchase_model"]["chosen_by"] == "default (not validated)"
    assert list(fs.validation_frame().columns) == ["model", "status"]
    run = RunFolder(tmp_path)
    run.file("value_validation").parent.mkdir(parents=True)
    run.file("value_validation").write_text("{}")  # a check of an earlier build
    run.write_features(fs)
    assert not run.has("value_validation")


def test_the_first_candidate_stays_unless_another_is_clearly_better():
    from seglab.features.value.validation import RMSE_MARGIN, rank_candidates

    near = {"mbg_nbd": 1.0, "pareto_nbd": 1.0 - RMSE_MARGIN / 2}
    clear = {"mbg_nbd": 1.0, "pareto_nbd": 1.0 - 2 * RMSE_MARGIN}
    assert rank_candidates(["mbg_nbd", "pareto_nbd"], near) == ["mbg_nbd", "pareto_nbd"]
    assert rank_candidates(["mbg_nbd", "pareto_nbd"], clear) == ["pareto_nbd", "mbg_nbd"]
    assert rank_candidates(["mbg_nbd", "pareto_nbd"], {"pareto_nbd": 2.0}) == ["pareto_nbd"]
    assert rank_candidates(["mbg_nbd", "pareto_nbd"], {}) == []
