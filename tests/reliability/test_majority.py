"""MajorityVote and Wawa on hand-checked fixtures; the shared estimator API and registry."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from insights.data import encode
from insights.reliability import (
    GLAD,
    MACE,
    METHODS,
    RECOMMENDED,
    DawidSkene,
    MajorityVote,
    OneCoinDawidSkene,
    Wawa,
    make_aggregator,
)


def frame(rows):
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])


@pytest.fixture
def tie_labels():
    # i1: a, b, b -> b;  i2: a, b -> tie;  i3: c, c, a -> c
    return frame([
        ("i1", "u1", "a"), ("i1", "u2", "b"), ("i1", "u3", "b"),
        ("i2", "u1", "a"), ("i2", "u2", "b"),
        ("i3", "u1", "c"), ("i3", "u2", "c"), ("i3", "u3", "a"),
    ])


def test_majority_vote_shares_and_first_class_tie_rule(tie_labels):
    mv = MajorityVote().fit(tie_labels)
    assert list(mv.classes_) == ["a", "b", "c"]
    np.testing.assert_allclose(mv.probas_.loc["i1"].to_numpy(), [1 / 3, 2 / 3, 0])
    np.testing.assert_allclose(mv.probas_.loc["i2"].to_numpy(), [0.5, 0.5, 0])
    assert mv.labels_.to_dict() == {"i1": "b", "i2": "a", "i3": "c"}
    # the tie goes to the first class of the declared label set, whatever its spelling
    mv2 = MajorityVote().fit(tie_labels, classes=["c", "b", "a"])
    assert mv2.labels_["i2"] == "b"


def test_majority_vote_random_tie_break_is_seeded_and_uniform():
    # 400 items, each a 1-1 tie between x and y
    rows = [(f"i{k}", u, lab) for k in range(400) for u, lab in (("u1", "x"), ("u2", "y"))]
    labels = frame(rows)
    a = MajorityVote(tie_break="random", random_state=7).fit(labels).labels_
    b = MajorityVote(tie_break="random", random_state=7).fit(labels).labels_
    pd.testing.assert_series_equal(a, b)
    share = (a == "x").mean()
    # Binomial(400, 0.5): sd 0.025, so 0.5 +- 0.1 is a 4-sigma band
    assert 0.4 < share < 0.6
    with pytest.raises(ValueError, match="tie_break"):
        MajorityVote(tie_break="coin").fit(labels)


def test_wawa_weights_annotators_by_agreement_with_majority():
    # majority labels: i1 a (2:1), i2 a (2:1), i3 b (2:1)
    # u1 says a, a, b: agrees 3/3; u2 a, a, b: 3/3; u3 b, b, a: 0/3
    labels = frame([
        ("i1", "u1", "a"), ("i1", "u2", "a"), ("i1", "u3", "b"),
        ("i2", "u1", "a"), ("i2", "u2", "a"), ("i2", "u3", "b"),
        ("i3", "u1", "b"), ("i3", "u2", "b"), ("i3", "u3", "a"),
        # i4: only u1 (skill 1) says b, u3 (skill 0) says a -> b despite the 1:1 vote
        ("i4", "u1", "b"), ("i4", "u3", "a"),
    ])
    w = Wawa().fit(labels)
    # i4 is a tie broken to "a" in the first step, so u1 agrees on 3 of 4, u3 on 1 of 4
    assert w.skills_.to_dict() == pytest.approx({"u1": 0.75, "u2": 1.0, "u3": 0.25})
    assert w.labels_["i4"] == "b"
    np.testing.assert_allclose(w.probas_.loc["i4"].to_numpy(), [0.25, 0.75])


def test_inputs_dataframe_encoded_and_gold_give_same_result(tie_labels):
    a = MajorityVote().fit(tie_labels)
    b = MajorityVote().fit(encode(tie_labels))
    pd.testing.assert_frame_equal(a.probas_, b.probas_)
    assert list(a.annotator_ids_) == ["u1", "u2", "u3"]
    assert a.fit_predict(tie_labels).equals(a.labels_)
    assert a.fit_predict_proba(tie_labels).equals(a.probas_)


def test_dataset_input_brings_its_gold_and_label_set(tmp_path, tie_labels):
    from insights import data

    tie_labels.to_csv(tmp_path / "labels.csv", index=False)
    pd.DataFrame({"item_id": ["i2"], "label": ["b"]}).to_csv(tmp_path / "gold.csv", index=False)
    ds = data.load(tmp_path, label_set=["c", "b", "a"])
    mv = MajorityVote().fit(ds)
    assert list(mv.classes_) == ["c", "b", "a"]
    assert mv.labels_["i2"] == "b" and mv.probas_.loc["i2", "b"] == 1.0  # gold clamped


def test_registry_and_factory():
    assert set(METHODS) == {"majority", "wawa", "dawid-skene", "one-coin", "glad", "mace",
                            "ebcc", "auto"}
    assert METHODS["dawid-skene"] is DawidSkene and METHODS["one-coin"] is OneCoinDawidSkene
    assert METHODS["glad"] is GLAD and METHODS["mace"] is MACE and METHODS["wawa"] is Wawa
    assert RECOMMENDED in METHODS
    assert isinstance(make_aggregator(), METHODS[RECOMMENDED])
    assert make_aggregator("dawid-skene", alpha=0.0).alpha == 0.0
    with pytest.raises(ValueError, match="unknown aggregation method 'zz'.*majority"):
        make_aggregator("zz")


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_follows_the_estimator_contract(name, tie_labels):
    est = make_aggregator(name)
    params = est.get_params()
    assert clone(est).get_params() == params  # hyper-parameters stored untouched
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # three items cannot tell whether EM converged
        out = est.fit(tie_labels, gold=pd.DataFrame({"item_id": ["i2"], "label": ["b"]}))
    assert out is est
    assert list(est.probas_.index) == list(est.labels_.index) == ["i1", "i2", "i3"]
    np.testing.assert_allclose(est.probas_.sum(axis=1), 1.0)
    assert est.labels_.isin(est.classes_).all()
    # gold is clamped: the gold item's posterior is exactly its gold class
    assert est.probas_.loc["i2"].to_dict() == {"a": 0.0, "b": 1.0, "c": 0.0}
