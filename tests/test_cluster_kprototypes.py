import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from seglab.cluster import KPrototypes
from seglab.exceptions import InputError


@pytest.fixture
def mixed():
    rng = np.random.default_rng(3)
    n = 1500
    truth = rng.integers(0, 3, n)
    num = rng.normal(truth[:, None] * 2.5, 1.0, (n, 3))
    cat = np.where(rng.random((n, 2)) < 0.75, truth[:, None], rng.integers(0, 3, (n, 2))).astype(str)
    frame = pd.DataFrame({"a": num[:, 0], "b": num[:, 1], "c": num[:, 2], "p": cat[:, 0], "q": cat[:, 1]})
    return frame, truth


def test_same_cost_and_partition_as_the_kmodes_package(mixed):
    kmodes = pytest.importorskip("kmodes.kprototypes")
    X, truth = mixed
    mine = KPrototypes(3, categorical=["p", "q"], n_init=5, random_state=0).fit(X)
    theirs = kmodes.KPrototypes(n_clusters=3, init="Cao", n_init=5, random_state=0,
                                gamma=mine.gamma_).fit(X.to_numpy(dtype=object), categorical=[3, 4])
    assert mine.cost_ <= theirs.cost_ * 1.01
    assert adjusted_rand_score(mine.labels_, theirs.labels_) > 0.95
    assert adjusted_rand_score(truth, mine.labels_) > 0.8


def test_gamma_defaults_to_half_the_mean_numeric_spread(mixed):
    X, _ = mixed
    model = KPrototypes(3, categorical=["p", "q"]).fit(X)
    assert model.gamma_ == pytest.approx(0.5 * X[["a", "b", "c"]].std(ddof=0).mean())


def test_deterministic_and_predicts_unknown_categories(mixed):
    X, _ = mixed
    a = KPrototypes(3, categorical=["p", "q"], random_state=1).fit(X)
    b = KPrototypes(3, categorical=["p", "q"], random_state=1).fit(X)
    assert np.array_equal(a.labels_, b.labels_)
    assert np.array_equal(a.predict(X), a.labels_)
    unseen = X.head(2).assign(p="never seen")
    assert len(a.predict(unseen)) == 2


def test_bad_input(mixed):
    X, _ = mixed
    with pytest.raises(InputError, match="not numeric"):
        KPrototypes(2, categorical=["p"]).fit(X)
    with pytest.raises(InputError, match="missing values"):
        KPrototypes(2, categorical=["p", "q"]).fit(X.assign(a=np.nan))
    with pytest.raises(InputError, match="at least k=5"):
        KPrototypes(5, categorical=["p", "q"]).fit(X.head(3))


def test_a_model_saved_with_n_clusters_loads_with_k(mixed):
    X, _ = mixed
    model = KPrototypes(3, categorical=["p", "q"]).fit(X)
    state = {**{n: v for n, v in model.__getstate__().items() if n != "k"}, "n_clusters": 3}
    old = KPrototypes.__new__(KPrototypes)
    old.__setstate__(state)
    assert old.k == 3 and np.array_equal(old.predict(X), model.labels_)
