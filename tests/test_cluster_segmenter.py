import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

from seglab.cluster import ALGORITHMS, UNASSIGNED, Preprocessor, Segmenter, load_segmenter
from seglab.cluster.segmenter import FIT_SAMPLE, FULL_COVARIANCE_MAX_COLUMNS, sample_rows
from seglab.exceptions import InputError, ParameterError


STANDARD = Preprocessor(scaling="standard")


def blobs(n=600, k=3, seed=0, spread=0.6):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    centres = np.array([[0, 0], [6, 0], [0, 6], [6, 6], [3, 10]])[:k]
    xy = centres[truth] + rng.normal(0, spread, (n, 2))
    return pd.DataFrame({"a": xy[:, 0], "b": xy[:, 1]}), truth


@pytest.mark.parametrize("algorithm", [a for a in ALGORITHMS if a != "kprototypes"])
def test_every_algorithm_recovers_well_separated_groups(algorithm):
    X, truth = blobs()
    model = Segmenter(3, algorithm, preprocessor=STANDARD, min_cluster_size=30).fit(X)
    assigned = model.labels_ != UNASSIGNED
    assert assigned.mean() > 0.8
    assert adjusted_rand_score(truth[assigned], model.labels_[assigned]) > 0.95
    assert model.k_ == 3


def test_labels_are_numbered_by_size_or_by_value():
    X, truth = blobs(seed=1)
    model = Segmenter(3, preprocessor=STANDARD).fit(X)
    assert list(model.sizes_.index) == [0, 1, 2] and model.sizes_.is_monotonic_decreasing
    X4, _ = blobs(k=4, seed=1)
    value = X4["a"] + X4["b"]  # the (6, 6) corner is worth most
    by_value = Segmenter(4, preprocessor=STANDARD).fit(X4, order_values=value)
    assert by_value.profile_.loc[0, "a"] > 3 and by_value.profile_.loc[0, "b"] > 3


def test_same_input_and_seed_give_identical_labels():
    X, _ = blobs(n=2000, k=4)
    for algorithm in ("kmeans", "gmm", "minibatch"):
        a = Segmenter(4, algorithm, random_state=7).fit(X).labels_
        b = Segmenter(4, algorithm, random_state=7).fit(X).labels_
        assert np.array_equal(a, b), algorithm


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm"])
def test_labels_do_not_depend_on_the_row_order(algorithm):
    X, _ = blobs(n=1500, k=4, seed=3)
    value = X["a"] + X["b"]
    labels = Segmenter(4, algorithm, random_state=1).fit(X, order_values=value).labels_
    shuffled = np.random.default_rng(0).permutation(len(X))
    again = Segmenter(4, algorithm, random_state=1).fit(X.iloc[shuffled], order_values=value.iloc[shuffled]).labels_
    assert np.array_equal(again, labels[shuffled])


def test_categories_alone_can_be_segmented():
    X = pd.DataFrame({"plan": ["gold", "basic"] * 50, "region": ["north"] * 50 + ["south"] * 50})
    model = Segmenter(4).fit(X)
    assert model.k_ == 4 and pd.crosstab(model.labels_, [X["plan"], X["region"]]).gt(0).sum().eq(1).all()


def test_predict_assigns_new_customers_to_the_fitted_segments():
    X, _ = blobs()
    model = Segmenter(3).fit(X)
    assert np.array_equal(model.predict(X), model.labels_)
    corner = model.predict(pd.DataFrame({"a": [6.1], "b": [5.9]}))[0]
    assert model.profile_.loc[corner, "a"] > 4


def test_ward_and_hdbscan_fit_on_a_sample_beyond_max_fit_rows():
    X, truth = blobs(n=3000)
    for algorithm in ("ward", "hdbscan"):
        model = Segmenter(3, algorithm, max_fit_rows=500, min_cluster_size=20, preprocessor=STANDARD).fit(X)
        assigned = model.labels_ != UNASSIGNED
        assert len(model.labels_) == 3000 and assigned.mean() > 0.85
        assert adjusted_rand_score(truth[assigned], model.labels_[assigned]) > 0.9


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch", "gmm", "kprototypes"])
def test_every_algorithm_fits_on_a_sample_and_assigns_everyone_with_the_model(algorithm):
    X, truth = blobs(n=3000)
    X["plan"] = np.where(truth == 0, "basic", "plus")
    prep = Preprocessor(scaling="standard", categorical=["plan"])
    model = Segmenter(3, algorithm, max_fit_rows=400, preprocessor=prep).fit(X)
    assert len(model.labels_) == 3000 and model.sizes_.sum() == 3000
    assert adjusted_rand_score(truth, model.labels_) > 0.95
    assert np.array_equal(model.predict(X), model.labels_)  # the fitted model assigned everyone
    shuffled = X.sample(frac=1.0, random_state=5)  # the same sample whatever the row order
    again = Segmenter(3, algorithm, max_fit_rows=400, preprocessor=prep).fit(shuffled)
    assert np.array_equal(again.labels_, model.labels_[shuffled.index.to_numpy()])


def test_the_sample_is_seeded_and_stratified():
    strata = np.repeat([0, 1, 2], [900, 90, 10])
    rows = sample_rows(1000, 100, strata=strata, random_state=3)
    assert np.bincount(strata[rows]).tolist() == [90, 9, 1]  # each stratum in proportion, the smallest too
    assert np.array_equal(rows, sample_rows(1000, 100, strata=strata, random_state=3))
    assert not np.array_equal(rows, sample_rows(1000, 100, strata=strata, random_state=4))
    assert np.array_equal(sample_rows(50, 100), np.arange(50))  # nothing to sample


def test_max_fit_rows_below_k_is_a_clear_error():
    X, _ = blobs(n=100)
    with pytest.raises(ParameterError, match="max_fit_rows"):
        Segmenter(3, max_fit_rows=2).fit(X)


def test_the_mixture_covariance_is_diagonal_beyond_many_columns():
    rng = np.random.default_rng(0)
    for n_columns, expected in ((FULL_COVARIANCE_MAX_COLUMNS, "full"), (FULL_COVARIANCE_MAX_COLUMNS + 1, "diag")):
        X = pd.DataFrame(rng.normal(size=(300, n_columns)), columns=[f"c{i}" for i in range(n_columns)])
        model = Segmenter(2, "gmm", preprocessor=STANDARD).fit(X)
        assert model.model_.covariance_type == expected


def wide_and_tight(n=3000, noise_columns=0, seed=0):
    """A wide round group and a tight one at its edge (a quarter of the customers), plus
    columns of pure noise: k-means cuts the wide group in two, a mixture does not."""
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.25).astype(int)
    xy = np.where(truth[:, None] == 1, rng.normal([4.0, 0.0], 0.3, (n, 2)), rng.normal(0.0, 2.0, (n, 2)))
    X = pd.DataFrame(xy, columns=["a", "b"])
    for j in range(noise_columns):
        X[f"noise{j}"] = rng.normal(0.0, 1.0, n)
    return X, truth


@pytest.mark.parametrize("noise_columns, covariance", [(0, "full"), (FULL_COVARIANCE_MAX_COLUMNS + 10, "diag")])
def test_the_mixture_goes_beyond_its_k_means_start(noise_columns, covariance):
    X, truth = wide_and_tight(noise_columns=noise_columns)
    mixture = Segmenter(2, "gmm", preprocessor=STANDARD).fit(X)
    kmeans = Segmenter(2, preprocessor=STANDARD).fit(X)
    assert mixture.model_.covariance_type == covariance
    assert adjusted_rand_score(truth, mixture.labels_) > 0.9
    assert adjusted_rand_score(truth, kmeans.labels_) < 0.5  # the start EM moved away from
    assert mixture.model_.n_iter_ > 1 and mixture.model_.converged_


def test_the_mixture_starts_once_from_seeded_k_means():
    X, _ = wide_and_tight(n=1000, noise_columns=3)
    model = Segmenter(2, "gmm", preprocessor=STANDARD, random_state=4).fit(X)
    start = model.model_.get_params()
    assert start["n_init"] == 1 and start["means_init"].shape == (2, 5)
    assert np.isclose(start["weights_init"].sum(), 1.0) and np.linalg.eigvalsh(start["precisions_init"]).min() > 0
    again = Segmenter(2, "gmm", preprocessor=STANDARD, random_state=4).fit(X)
    assert np.array_equal(again.model_.means_init, model.model_.means_init)
    assert np.array_equal(again.labels_, model.labels_)
    assert np.array_equal(model.predict(X), model.labels_)


@pytest.mark.parametrize("n_columns", [1, FULL_COVARIANCE_MAX_COLUMNS + 1])
def test_the_mixture_finds_fewer_segments_when_customers_have_fewer_distinct_values_than_k(n_columns):
    values = np.repeat([[1.0], [2.0]], [8, 2], axis=0) * np.ones(n_columns)
    X = pd.DataFrame(values, columns=[f"c{i}" for i in range(n_columns)])
    model = Segmenter(3, "gmm", preprocessor=STANDARD).fit(X)  # k-means leaves a segment empty
    assert model.labels_.tolist() == [0] * 8 + [1] * 2 and model.k_ == 2


def test_the_mixture_is_fitted_on_a_sample_by_default_and_assigns_everyone(caplog):
    X, truth = blobs(n=FIT_SAMPLE["gmm"] + 3000, k=3, spread=1.0)
    with caplog.at_level("INFO", logger="seglab.cluster.segmenter"):
        model = Segmenter(3, "gmm", preprocessor=STANDARD).fit(X)
    assert f"gmm fitted on a sample of {FIT_SAMPLE['gmm']} of {len(X)} customers" in caplog.text
    everyone = Segmenter(3, "gmm", preprocessor=STANDARD, max_fit_rows=len(X)).fit(X)
    assert adjusted_rand_score(truth, model.labels_) > 0.95
    assert adjusted_rand_score(everyone.labels_, model.labels_) > 0.99
    shuffled = np.random.default_rng(2).permutation(len(X))
    again = Segmenter(3, "gmm", preprocessor=STANDARD).fit(X.iloc[shuffled])
    assert np.array_equal(again.labels_, model.labels_[shuffled])


def test_hdbscan_noise_is_an_explicit_unassigned_group():
    X, _ = blobs(n=400)
    X = pd.concat([X, pd.DataFrame({"a": [30.0, -30.0], "b": [30.0, 40.0]})], ignore_index=True)
    model = Segmenter(algorithm="hdbscan", min_cluster_size=20).fit(X)
    assert (model.labels_[-2:] == UNASSIGNED).all()
    assert UNASSIGNED in model.sizes_.index and UNASSIGNED not in model.centers_.index


def test_kprototypes_segments_mixed_data():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 400)
    X = pd.DataFrame({"spend": rng.normal(truth * 5, 1.0), "plan": np.where(truth == 1, "gold", "basic")})
    model = Segmenter(2, "kprototypes", preprocessor=Preprocessor(["spend"], ["plan"])).fit(X)
    assert adjusted_rand_score(truth, model.labels_) > 0.95
    assert set(model.profile_["plan"]) == {"gold", "basic"}


def test_gaussian_mixture_reports_bic():
    X, _ = blobs()
    assert np.isfinite(Segmenter(3, "gmm").fit(X).bic_) and Segmenter(3).fit(X).bic_ is None


def test_save_and_load_round_trip(tmp_path):
    X, _ = blobs()
    model = Segmenter(3).fit(X)
    loaded = load_segmenter(model.save(tmp_path / "model.joblib"))
    assert np.array_equal(loaded.predict(X), model.labels_)
    with pytest.raises(InputError, match="cluster stage"):
        load_segmenter(tmp_path / "nope.joblib")


def test_relabel_renumbers_everything_consistently():
    X, _ = blobs()
    model = Segmenter(3).fit(X)
    before = model.labels_.copy()
    centre_of_0 = model.profile_.loc[0].to_numpy()
    model.relabel({0: 2, 1: 0, 2: 1})
    assert np.array_equal(model.labels_, np.array([2, 0, 1])[before])
    np.testing.assert_allclose(model.profile_.loc[2].to_numpy(), centre_of_0)
    assert np.array_equal(model.predict(X), model.labels_)
    with pytest.raises(InputError, match="one-to-one"):
        model.relabel({0: 1, 1: 1, 2: 0})


@pytest.mark.parametrize("kwargs, X, message", [
    ({"k": 5}, pd.DataFrame({"a": [1.0, 2.0, 3.0]}), "only 3 customers"),
    ({"k": 1}, pd.DataFrame({"a": [1.0]}), "1 sample.*minimum of 2"),
])
def test_bad_input_is_explained(kwargs, X, message):
    with pytest.raises(InputError, match=message):
        Segmenter(**kwargs).fit(X)


def test_unknown_algorithm_and_unfitted_model():
    with pytest.raises(ParameterError, match="did you mean 'kmeans'"):
        Segmenter(algorithm="kmean").fit(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))
    with pytest.raises(NotFittedError):
        Segmenter().predict(pd.DataFrame({"a": [1.0]}))


def test_a_numpy_array_gives_the_segments_of_the_same_frame():
    X, _ = blobs()
    on_frame = Segmenter(3).fit(X)
    on_array = Segmenter(3).fit(X.to_numpy())
    assert np.array_equal(on_array.labels_, on_frame.labels_)
    assert np.array_equal(on_array.predict(X.to_numpy()), on_frame.predict(X))
    assert on_array.numeric_ == ["x0", "x1"] and on_array.n_features_in_ == 2
    assert list(on_frame.feature_names_in_) == ["a", "b"] and not hasattr(on_array, "feature_names_in_")
    with pytest.raises(InputError, match="X has 1 features, but Segmenter is expecting 2"):
        on_array.predict(X.to_numpy()[:, :1])


def test_the_preprocessor_passed_is_cloned_not_fitted():
    chosen = Preprocessor(scaling="standard")
    model = Segmenter(3, preprocessor=chosen).fit(blobs()[0])
    assert not hasattr(chosen, "transformer_") and model.preprocessor is chosen
    assert model.preprocessor_ is not chosen and model.preprocessor_.scaling == "standard"


def test_predict_reads_a_wider_table_by_column_name():
    X, _ = blobs()
    model = Segmenter(3).fit(X)
    wider = X[["b", "a"]].assign(customer_id="c0", extra=1.0)
    assert np.array_equal(model.predict(wider), model.labels_)


def test_a_refit_forgets_the_segment_centres_of_the_earlier_fit():
    X, _ = blobs(n=3000)
    model = Segmenter(3, "ward", max_fit_rows=500).fit(X)  # segments found on a sample, centres kept
    small, _ = blobs(n=300, seed=5)
    fresh = Segmenter(3, "ward", max_fit_rows=500).fit(small)
    assert np.array_equal(model.fit(small).predict(X), fresh.predict(X))


def test_infinite_and_sparse_input_is_refused_with_a_clear_error():
    with pytest.raises(InputError, match=r"columns \['a'\] hold infinite values"):
        Segmenter(2).fit(pd.DataFrame({"a": [1.0, np.inf, 3.0]}))
    with pytest.raises(InputError, match="sparse matrix; .* dense data"):
        Segmenter(2).fit(sparse.csr_array(np.eye(4)))


def test_a_model_saved_before_k_was_the_one_name_loads_as_todays_segmenter():
    X, _ = blobs()
    model = Segmenter(3, preprocessor=STANDARD).fit(X)
    state = {name: value for name, value in model.__getstate__().items() if name not in ("k", "k_", "preprocessor")}
    state.update(n_segments=3, n_segments_=3, numeric=None, categorical=None, groups=None, skew="auto",
                 scaling="standard", clip=5.0, pca=None)  # how model.joblib held it before
    old = Segmenter.__new__(Segmenter)
    old.__setstate__(state)
    assert (old.k, old.k_, old.preprocessor.scaling) == (3, 3, "standard")
    assert np.array_equal(old.predict(X), model.labels_) and clone(old).get_params()["k"] == 3


def mixed(n=800, seed=2):
    X, truth = blobs(n=n, k=3, seed=seed)
    return X.assign(plan=np.where(truth == 0, "basic", "plus")), X["a"] + X["b"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_fit_on_prepared_data_gives_the_same_segments(algorithm):
    X, value = mixed()
    kwargs = {"preprocessor": Preprocessor(scaling="standard"), "min_cluster_size": 30, "random_state": 3}
    prepared = Segmenter(5, "kprototypes" if algorithm == "kprototypes" else "kmeans", **kwargs).prepare(X)
    plain = Segmenter(3, algorithm, **kwargs).fit(X, order_values=value)
    reused = Segmenter(3, algorithm, **kwargs).fit(X, order_values=value, prepared=prepared)
    assert np.array_equal(reused.labels_, plain.labels_)
    pd.testing.assert_frame_equal(reused.centers_, plain.centers_)
    pd.testing.assert_frame_equal(reused.profile_, plain.profile_)
    assert np.array_equal(reused.predict(X.iloc[::-1]), plain.predict(X.iloc[::-1]))
    assert reused.preprocessor_ is not prepared.preprocessor  # its own copy of the shared preprocessing
    assert Segmenter(3, algorithm, **kwargs).fit(X, prepared=prepared).get_params() == plain.get_params()


def test_prepared_data_must_match_the_data_and_the_preprocessing():
    X, _ = mixed()
    prepared = Segmenter(3, preprocessor=STANDARD).prepare(X)
    changed = X.assign(a=X["a"].where(X.index != 7, 99.0))  # one value differs
    with pytest.raises(InputError, match="other data"):
        Segmenter(3, preprocessor=STANDARD).fit(changed, prepared=prepared)
    with pytest.raises(InputError, match="other data"):
        Segmenter(3, preprocessor=STANDARD).fit(X.iloc[::-1], prepared=prepared)  # another row order
    with pytest.raises(ParameterError, match="another preprocessing"):
        Segmenter(3, preprocessor=Preprocessor(scaling="robust")).fit(X, prepared=prepared)
    with pytest.raises(ParameterError, match="needs its own"):
        Segmenter(3, "kprototypes", preprocessor=STANDARD).fit(X, prepared=prepared)
    with pytest.raises(ParameterError, match="Segmenter.prepare"):
        Segmenter(3).fit(X, prepared=X)
