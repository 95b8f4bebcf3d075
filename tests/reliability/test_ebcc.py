"""EBCC: the sub-type VB model, checked against the authors' published protocol numbers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from insights.reliability import EBCC
from tests.reliability.test_real_datasets import expected_accuracy
from tests.shared import load_shared


@pytest.fixture(scope="module")
def labels():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, size=200)
    rows = []
    for i, t in enumerate(truth):
        for a in rng.choice(10, size=5, replace=False):
            lab = t if rng.random() < 0.8 else 1 - t
            rows.append((f"i{i}", f"a{a}", str(lab)))
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"]), truth


def test_keeps_the_restart_with_the_highest_elbo_and_is_seeded(labels):
    df, truth = labels
    m = EBCC(n_restarts=3).fit(df)
    assert len(m.restart_elbos_) == 6  # 3 random splits x (majority-vote, one-coin) starts
    assert m.elbo_ == max(m.restart_elbos_)
    again = EBCC(n_restarts=3).fit(df)
    pd.testing.assert_frame_equal(m.probas_, again.probas_)
    # 200 items, 5 judgments at 80 %: majority of 5 is right 94 % of the time
    acc = (m.labels_.loc[[f"i{i}" for i in range(200)]].astype(int).to_numpy() == truth).mean()
    assert acc >= 0.9
    np.testing.assert_allclose(m.confusions_.sum(axis=2), 1.0)
    assert m.subtype_weights_.shape == (2, 10)


def test_gold_items_keep_their_class(labels):
    df, _ = labels
    gold = pd.DataFrame({"item_id": ["i0", "i1"], "label": ["0", "1"]})
    m = EBCC(n_restarts=1).fit(df, gold)
    assert m.probas_.loc["i0", "0"] == 1.0 and m.probas_.loc["i1", "1"] == 1.0


@pytest.mark.parametrize("name, published", [("snow_rte", 93.12), ("zhou_dog", 84.01),
                                             ("vldb_d_possent", 96.10)])
def test_matches_the_authors_code_on_shared_datasets(name, published):
    """The authors' code with their protocol (40 seeds, best ELBO) as measured in
    ../shared/peers/ebcc/README.md; ours uses 5 seeds x 2 starts, so the kept optimum may
    differ: within 0.5 points (4 items on snow_rte, 4 on zhou_dog, 5 on vldb_d_possent)."""
    df, gold = load_shared(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = EBCC().fit(df)
    assert 100 * expected_accuracy(m.probas_, gold)[0] >= published - 0.5
