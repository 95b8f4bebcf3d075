"""GLAD: abilities and difficulties recovered on data simulated from the GLAD model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from insights.reliability import GLAD, MajorityVote


def simulate_glad(seed: int, n_ann: int = 40, n_items: int = 1500, per_item: int = 10,
                  K: int = 3):
    rng = np.random.default_rng(seed)
    alpha = rng.normal(1.0, 1.0, size=n_ann)
    alpha[:3] = [-1.5, -1.0, -2.0]            # three adversarial annotators
    beta = np.exp(rng.normal(0.5, 0.8, size=n_items))
    truth = rng.choice(K, size=n_items)
    item = np.repeat(np.arange(n_items), per_item)
    ann = np.concatenate([rng.choice(n_ann, per_item, replace=False) for _ in range(n_items)])
    p_right = 1 / (1 + np.exp(-alpha[ann] * beta[item]))
    right = rng.random(item.size) < p_right
    wrong = (truth[item] + rng.integers(1, K, size=item.size)) % K
    label = np.where(right, truth[item], wrong)
    labels = pd.DataFrame({"item_id": item.astype(str), "annotator_id": ann.astype(str),
                           "label": label.astype(str)})
    return labels, truth, alpha, beta


@pytest.fixture(scope="module")
def fitted():
    labels, truth, alpha, beta = simulate_glad(11)
    return GLAD().fit(labels), labels, truth, alpha, beta


def test_recovers_abilities_including_adversaries(fitted):
    m, labels, truth, alpha, beta = fitted
    est = m.alphas_.to_numpy()
    true = alpha[np.asarray(m.annotator_ids_).astype(int)]
    # ~375 judgments per annotator pin each ability down well: ranks must agree closely
    assert spearmanr(est, true).statistic > 0.9
    adversaries = m.alphas_.loc[["0", "1", "2"]]
    assert (adversaries < 0).all()
    # the scale is only identified up to the beta scale; the sign pattern is not
    assert ((est > 0) == (true > 0)).mean() > 0.9


def test_recovers_item_difficulty_ordering(fitted):
    m, labels, truth, alpha, beta = fitted
    est = m.betas_.loc[np.arange(len(beta)).astype(str)].to_numpy()
    assert (est > 0).all()  # stored on the positive (exp) scale
    # ten judgments per item say little about one item's difficulty, so only the average
    # must follow: the estimated beta of the hardest true quartile is below the easiest's
    q = np.quantile(beta, [0.25, 0.75])
    assert est[beta <= q[0]].mean() < est[beta >= q[1]].mean()
    # (about 0.7 in practice; 0.5 leaves room for other seeds)
    assert spearmanr(est, beta).statistic > 0.5


def test_more_accurate_than_majority_vote(fitted):
    m, labels, truth, alpha, beta = fitted
    ids = np.arange(len(truth)).astype(str)
    acc_glad = (m.labels_.loc[ids].astype(int).to_numpy() == truth).mean()
    mv = MajorityVote().fit(labels)
    acc_mv = (mv.labels_.loc[ids].astype(int).to_numpy() == truth).mean()
    # the adversaries and weak annotators mislead the vote; GLAD discounts and inverts them
    assert acc_glad > acc_mv + 0.01
    assert m.converged_
    np.testing.assert_allclose(m.probas_.sum(axis=1), 1.0)


def test_binary_and_deterministic():
    labels, truth, alpha, beta = simulate_glad(3, n_ann=20, n_items=400, per_item=7, K=2)
    a = GLAD().fit(labels)
    b = GLAD().fit(labels)
    pd.testing.assert_frame_equal(a.probas_, b.probas_)
    assert list(a.classes_) == ["0", "1"]
