import numpy as np
import pandas as pd
import pytest

from seglab.cluster import Preprocessor, select_columns
from seglab.cluster.preprocess import skew_plan
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


def test_unusable_columns_are_dropped_with_a_warning_naming_them(table):
    with pytest.warns(DataQualityWarning, match="flat is constant.*empty is entirely missing.*broken has infinite"):
        cols = select_columns(table)
    assert set(cols.dropped) == {"flat", "empty", "broken", "code"}
    assert "levels" in cols.dropped["code"]


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
    assert Z["score"].max() == 5.0 and Z["score"].iloc[1:].max() < 5.0
    unclipped = Preprocessor(["score"], [], scaling="robust", skew="none", clip=None).fit(extreme).transform(extreme)
    assert unclipped["score"].max() > 100


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
