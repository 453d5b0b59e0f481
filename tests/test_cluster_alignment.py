import copy

import numpy as np
import pandas as pd
import pytest

from seglab.cluster import Segmenter, align_segments
from seglab.exceptions import InputError


@pytest.fixture
def model():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(np.vstack([rng.normal(c, 0.5, (200, 2)) for c in ([0, 0], [6, 0], [0, 6], [6, 6])]),
                     columns=["a", "b"])
    return Segmenter(4, random_state=0).fit(X), X


def test_alignment_maps_a_permuted_relabelling_back(model):
    original, X = model
    permuted = copy.deepcopy(original).relabel({0: 3, 1: 0, 2: 1, 3: 2})
    alignment = align_segments(permuted, original)
    assert alignment.mapping == {3: 0, 0: 1, 1: 2, 2: 3} and alignment.changed
    permuted.relabel(alignment.mapping)
    assert np.array_equal(permuted.labels_, original.labels_)


def test_alignment_on_members_present_in_both_periods(model):
    original, X = model
    ids = [f"c{i}" for i in range(len(X))]
    last = pd.Series(original.labels_, index=ids)
    now = pd.Series(np.array([2, 3, 0, 1])[original.labels_], index=ids)  # same groups, new numbers
    permuted = copy.deepcopy(original).relabel({0: 2, 1: 3, 2: 0, 3: 1})
    alignment = align_segments(permuted, method="overlap", current_labels=now, previous_labels=last)
    assert alignment.mapping == {2: 0, 3: 1, 0: 2, 1: 3}
    assert (alignment.table["shared_customers"] == 200).all()


def test_a_new_segment_gets_a_new_number(model):
    original, X = model
    rng = np.random.default_rng(1)
    more = pd.concat([X, pd.DataFrame(rng.normal([12, 12], 0.5, (200, 2)), columns=["a", "b"])])
    now = Segmenter(5, random_state=0).fit(more)
    alignment = align_segments(now, original)
    assert sorted(alignment.mapping.values()) == [0, 1, 2, 3, 4]
    new = alignment.table.loc[alignment.table["previous_segment"].isna(), "aligned_segment"]
    assert new.tolist() == [4]
    new_segment = [s for s, v in alignment.mapping.items() if v == 4][0]
    assert now.profile_.loc[new_segment, "a"] > 10


def test_centroid_alignment_needs_the_same_features(model):
    original, X = model
    other = Segmenter(4).fit(X.rename(columns={"a": "spend"}))
    with pytest.raises(InputError, match="same features"):
        align_segments(original, other)
    with pytest.raises(InputError, match="previous_labels"):
        align_segments(original, method="overlap")
