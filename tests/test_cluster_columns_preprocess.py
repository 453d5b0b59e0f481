import warnings

import numpy as np
import pandas as pd
import pytest

from seglab.cluster import RESTATED, Preprocessor, select_columns
from seglab.cluster.preprocess import skew_plan
from seglab.cluster.columns import OUTCOME
from seglab.exceptions import DataQualityWarning, InputError, ParameterError
from seglab.features import FeatureDictionary


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    n = 200
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "spend": rng.lognormal(3, 1, n),
        "balance": rng.normal(0, 1, n) ** 3,
        "score": rng.normal(50, 10, n),
        "flat": 1.0,
        "empty": np.nan,
        "broken": np.r_[np.inf, rng.normal(size=n - 1)],
        "city": rng.choice(["Lyon", "Bonn", "Oslo"], n),
        "code": [f"x{i}" for i in range(n)],
    })


@pytest.fixture
def dictionary():
    d = FeatureDictionary()
    for name, criterion in [("spend", "value"), ("balance", "value"), ("score", "psychographic"),
                            ("city", "geographic"), ("flat", "value")]:
        d.add(name, criterion, name)
    return d


def test_selection_by_criterion_and_name(table, dictionary):
    cols = select_columns(table, dictionary, criteria=["value"], names=["city"])
    assert cols.numeric == ("spend", "balance") and cols.categorical == ("city",)
    assert cols.dropped == {"flat": "is constant"}
    assert cols.groups == {"spend": "value", "balance": "value", "city": "geographic"}


def test_the_default_basis_uses_every_criterion_once(table, dictionary):
    d = FeatureDictionary()
    for name, criterion in [("spend", "rfm"), ("balance", "value"), ("score", "psychographic"),
                            ("city", "geographic"), ("frequency", "rfm"), ("rfm_segment", "rfm"),
                            ("age_band", "demographic")]:
        d.add(name, criterion, name)
    frame = table.assign(frequency=table["spend"] // 10, rfm_segment="Champions", age_band="25-34")
    cols = select_columns(frame, d)
    # RFM and value are one group; restated features (BTYD inputs, labels, bands) are left out
    assert cols.by_group() == {"value": ["spend", "balance"], "geographic": ["city"],
                               "psychographic": ["score"]}
    assert {"frequency", "rfm_segment", "age_band"} <= RESTATED
    assert not {"frequency", "rfm_segment", "age_band"} & set(cols.all)


def test_redundant_columns_count_once_naming_the_one_kept(table, dictionary):
    frame = table.assign(spend_twice=table["spend"] * 2 + 1, town=table["city"].map(str.upper))
    dictionary.add("spend_twice", "value", "twice the spend")
    dictionary.add("town", "geographic", "the city again")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a choice, not a data problem: no warning
        cols = select_columns(frame.drop(columns=["flat", "empty", "broken", "code"]), dictionary)
    assert "spend_twice" not in cols.all and "rank correlation +1.00" in cols.dropped["spend_twice"]
    assert cols.dropped["town"].startswith("restates city") and "city" in cols.all
    # named explicitly, a column is used as it is
    assert "spend_twice" in select_columns(frame, dictionary, names=["spend", "spend_twice"]).all


def test_redundancy_beyond_its_sample_is_measured_on_a_seeded_sample_whatever_the_row_order(dictionary,
                                                                                            monkeypatch):
    from seglab.cluster import columns as columns_module

    rng = np.random.default_rng(1)
    n = 2_000
    spend = rng.lognormal(3, 1, n)
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "spend": spend,
                          "spend_twice": spend * 2 + 1, "balance": rng.normal(size=n), "score": rng.normal(size=n),
                          "city": rng.choice(["Lyon", "Bonn"], n)})
    frame["town"] = frame["city"].str.upper()
    dictionary.add("spend_twice", "value", "twice the spend")
    dictionary.add("town", "geographic", "the city again")
    full = select_columns(frame, dictionary)
    monkeypatch.setattr(columns_module, "REDUNDANCY_SAMPLE", 300)
    sampled = select_columns(frame, dictionary)
    shuffled = select_columns(frame.sample(frac=1, random_state=2), dictionary)
    assert sampled.all == full.all == shuffled.all and sampled.dropped == shuffled.dropped
    assert "spend_twice" in sampled.dropped and "town" in sampled.dropped


def test_almost_constant_and_mostly_missing_columns_leave_a_note(table, dictionary):
    n = len(table)
    frame = table.assign(rare=np.r_[1.0, np.zeros(n - 1)], sparse=np.r_[np.arange(10.0), [np.nan] * (n - 10)],
                         city=np.r_[["Lyon"], ["Bonn"] * (n - 1)])
    for name, criterion in [("rare", "needs"), ("sparse", "needs")]:
        dictionary.add(name, criterion, name)
    with pytest.warns(DataQualityWarning):
        cols = select_columns(frame, dictionary)
    assert cols.dropped["rare"].startswith("is almost constant (0 for 99.5%")
    assert cols.dropped["sparse"] == "is missing for 95% of the customers"
    assert "geographic" not in cols.by_group() and "needs" not in cols.by_group()
    assert any(note.startswith("the needs criterion was left out") for note in cols.notes)


def test_a_segmentation_on_one_variable_says_so(table, dictionary):
    with pytest.warns(DataQualityWarning, match="rests on one variable, score"):
        cols = select_columns(table, dictionary, criteria=["psychographic"])
    assert cols.all == ["score"] and "rests on one variable, score" in cols.notes[-1]


def test_segment_on_from_the_spec_picks_criteria_or_names_and_explains_unknown_ones(table, dictionary):
    assert select_columns(table, dictionary, segment_on=["score", "city"]).all == ["score", "city"]
    assert sorted(select_columns(table, dictionary, segment_on=["psychographic", "spend"]).all) == ["score", "spend"]
    explicit = select_columns(table, dictionary, criteria=["geographic"], segment_on=["score"])
    assert explicit.all == ["city"]  # the notebook's criteria win over the spec
    with pytest.raises(ParameterError, match="segment_on names 'scores'.*did you mean 'score'"):
        select_columns(table, dictionary, segment_on=["scores"])


def test_a_scattered_category_is_left_out_but_a_dominant_one_kept(table):
    n = len(table)
    country = np.where(np.arange(n) < 160, "UK", [f"C{i % 40}" for i in range(n)])
    cols = select_columns(table.assign(country=country), names=["score", "country", "code"])
    assert "country" in cols.categorical  # 41 levels, but the top 12 hold most customers
    assert "too scattered" in cols.dropped["code"]


def test_unusable_columns_are_dropped_with_a_warning_naming_them(table):
    with pytest.warns(DataQualityWarning, match="flat is constant.*empty is entirely missing.*broken has infinite"):
        cols = select_columns(table)
    assert set(cols.dropped) == {"flat", "empty", "broken", "code"}
    assert "200 levels" in cols.dropped["code"]


def test_nothing_left_is_an_error(table):
    with pytest.raises(InputError, match="no usable feature"), pytest.warns(DataQualityWarning):
        select_columns(table, names=["flat", "empty"])


def test_criteria_need_the_dictionary(table, dictionary):
    with pytest.raises(InputError, match="dictionary"):
        select_columns(table, criteria=["value"])
    with pytest.raises(ParameterError, match="did you mean 'value'"):
        select_columns(table, dictionary, criteria=["values"])


def test_skew_plan_logs_money_and_yeo_johnsons_signed_skew(table):
    assert skew_plan(table, ["spend", "balance", "score"]) == {
        "spend": "log", "balance": "yeo-johnson", "score": "none"}
    assert skew_plan(table, ["spend", "balance"], "log") == {"spend": "log", "balance": "none"}


def test_preprocessor_scales_encodes_and_keeps_names(table):
    prep = Preprocessor(["spend", "balance", "score"], ["city"], scaling="standard", clip=None).fit(table)
    Z = prep.transform(table)
    assert list(Z.columns) == ["spend", "balance", "score", "city_Bonn", "city_Lyon", "city_Oslo"]
    np.testing.assert_allclose(Z[["spend", "balance", "score"]].mean(), 0, atol=1e-9)
    np.testing.assert_allclose(Z["spend"], (np.log1p(table["spend"]) - np.log1p(table["spend"]).mean())
                               / np.log1p(table["spend"]).std(ddof=0))
    assert set(np.unique(Z["city_Lyon"])) == {0.0, 1.0}


def test_extreme_customers_are_clipped_so_they_cannot_form_a_segment_alone(table):
    extreme = table.assign(score=table["score"].where(table.index != 0, 10_000.0))
    Z = Preprocessor(["score"], [], scaling="robust", skew="none").fit(extreme).transform(extreme)
    assert Z["score"].idxmax() == 0 and Z["score"].max() < 5.5  # clipped at 5 robust units
    assert Z["score"].std(ddof=0) == pytest.approx(1.0)
    unclipped = Preprocessor(["score"], [], scaling="robust", skew="none", clip=None).fit(extreme).transform(extreme)
    assert unclipped["score"].max() > 10 and unclipped["score"].iloc[1:].abs().max() < 0.1


def test_missing_values_are_imputed_and_unknown_categories_tolerated(table):
    prep = Preprocessor(["spend", "score"], ["city"]).fit(table)
    new = pd.DataFrame({"spend": [np.nan, 10.0], "score": [50.0, np.nan], "city": ["Rome", None]})
    Z = prep.transform(new)
    assert np.isfinite(Z.to_numpy()).all()


def test_pca_keeps_a_share_of_variance(table):
    prep = Preprocessor(["spend", "balance", "score"], [], pca=0.8).fit(table)
    assert prep.transform(table).shape[1] <= 3 and prep.feature_names_out_[0].startswith("pca")


def test_preprocessing_does_not_modify_the_input(table):
    before = table.copy()
    Preprocessor(["spend"], ["city"]).fit(table).transform(table)
    pd.testing.assert_frame_equal(table, before)


def test_every_group_weighs_the_same_whatever_its_number_of_columns():
    rng = np.random.default_rng(1)
    n = 2000
    X = pd.DataFrame({f"spend_{i}": rng.normal(size=n) for i in range(4)} | {"survey": rng.normal(size=n)})
    groups = {**{f"spend_{i}": "value" for i in range(4)}, "survey": "psychographic"}
    Z = Preprocessor(groups=groups, skew="none", clip=None).fit(X).transform(X)
    variance = Z.var(ddof=0)
    value = variance[[f"spend_{i}" for i in range(4)]].sum()
    assert value == pytest.approx(variance["survey"]) and variance["survey"] == pytest.approx(1.0)
    equal = Preprocessor(skew="none", clip=None).fit(X).transform(X).var(ddof=0)  # no groups: per column
    assert equal.to_numpy() == pytest.approx(np.ones(5))


def test_missing_for_a_reason_gets_an_indicator_not_an_average():
    gaps = pd.Series([10.0, 12.0, 30.0, 40.0, np.nan, np.nan, np.nan, np.nan])  # one-time buyers: no gap
    X = pd.DataFrame({"gap": gaps, "orders": [5, 4, 3, 2, 1, 1, 1, 1.0]})
    prep = Preprocessor(skew="none").fit(X)
    Z = prep.transform(X)
    assert prep.indicators_ == ["gap"]
    assert Z["missingindicator_gap"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    # the missing sit at the median, where the column adds nothing to the distances
    assert (Z.loc[4:, "gap"] == 0).all() and Z.loc[:3, "gap"].abs().min() > 0


def test_yes_no_flags_are_encoded_like_categories():
    X = pd.DataFrame({"urban": [1.0, 0.0, 1.0, 1.0], "score": [1.0, 2.0, 3.0, 4.0]})
    prep = Preprocessor().fit(X)
    assert prep.flags_ == ["urban"]
    assert list(prep.transform(X).columns) == ["score", "urban_0", "urban_1"]


def test_campaign_responses_are_outcomes_left_out_of_the_default_basis_unless_named(table, dictionary):
    rng = np.random.default_rng(3)
    answered = table.assign(accepted=rng.integers(0, 2, len(table)), responded=rng.integers(0, 2, len(table)))
    dictionary.add("accepted", "behaviour", "accepted the offer")
    dictionary.add("responded", "behaviour", "responded to the last campaign")
    dictionary.meta["responses"] = ["accepted", "responded"]
    with pytest.warns(DataQualityWarning) as caught:
        cols = select_columns(answered, dictionary)
    assert not {"accepted", "responded"} & set(cols.all)
    assert cols.dropped["accepted"] == cols.dropped["responded"] == OUTCOME
    assert all("accepted" not in str(w.message) for w in caught)  # a choice, not a data problem
    with pytest.warns(DataQualityWarning):
        assert "accepted" not in select_columns(answered, dictionary, criteria=["behaviour", "value"]).all
    assert select_columns(answered, dictionary, names=["score", "accepted"]).all == ["score", "accepted"]
    assert "responded" in select_columns(answered, dictionary, segment_on=["score", "responded"]).all


def test_rare_categories_are_grouped_only_when_a_column_has_more_than_max_categories():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"spend": rng.gamma(2.0, 50.0, 400),
                      "plan": rng.choice(["a", "b", "c"], 400),  # 3 categories: nothing to group
                      "city": [f"c{i}" for i in rng.zipf(1.6, 400) % 20]})  # up to 20: the rare ones grouped
    prep = Preprocessor(categorical=["plan", "city"], max_categories=5).set_output(transform="pandas").fit(X)
    out = prep.transform(pd.concat([X, pd.DataFrame({"spend": [10.0], "plan": ["z"], "city": ["nowhere"]})],
                                   ignore_index=True))
    names = list(out.columns)
    assert [n for n in names if n.startswith("plan")] == ["plan_a", "plan_b", "plan_c"]
    city = [n for n in names if n.startswith("city")]
    assert len(city) == 5 and "city_infrequent_sklearn" in city
    new = out.iloc[-1]
    assert (new[["plan_a", "plan_b", "plan_c"]] == 0).all()  # an unknown plan is all zeros
    assert new["city_infrequent_sklearn"] > 0  # an unknown city joins the rare ones
