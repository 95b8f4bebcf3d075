"""MACE: competence and spamming strategies recovered; spammers detected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights.reliability import MACE, MajorityVote


def simulate_mace(seed: int, n_items: int = 1200, per_item: int = 8, K: int = 3):
    """12 good annotators (theta 0.75-0.95), 6 spammers (theta 0): three always answer
    class 0, three answer uniformly at random. Spammer strategy for good annotators uniform."""
    rng = np.random.default_rng(seed)
    theta = np.concatenate([rng.uniform(0.75, 0.95, 12), np.zeros(6)])
    xi = np.full((18, K), 1.0 / K)
    xi[12:15] = np.eye(K)[0]
    n_ann = len(theta)
    truth = rng.choice(K, size=n_items, p=[0.2, 0.4, 0.4])
    item = np.repeat(np.arange(n_items), per_item)
    ann = np.concatenate([rng.choice(n_ann, per_item, replace=False) for _ in range(n_items)])
    competent = rng.random(item.size) < theta[ann]
    spam = (rng.random(item.size)[:, None] > np.cumsum(xi[ann], axis=1)).sum(axis=1)
    label = np.where(competent, truth[item], np.minimum(spam, K - 1))
    labels = pd.DataFrame({"item_id": item.astype(str), "annotator_id": ann.astype(str),
                           "label": label.astype(str)})
    return labels, truth, theta, xi


@pytest.fixture(scope="module")
def data():
    return simulate_mace(5)


@pytest.mark.parametrize("variational", [False, True])
def test_competence_and_spammer_detection(data, variational):
    labels, truth, theta, xi = data
    m = MACE(variational=variational).fit(labels)
    comp = m.competence_.loc[np.arange(18).astype(str)].to_numpy()
    # ~530 judgments per annotator: sd of theta about sqrt(.25/530) = 0.02; 0.08 = 4 sd
    assert np.abs(comp - theta).max() < 0.08
    assert set(m.spammers(0.5)) == {str(j) for j in range(12, 18)}
    # the always-"0" spammers' strategy puts almost everything on class 0
    assert (m.spamming_.loc[["12", "13", "14"], "0"] > 0.9).all()
    np.testing.assert_allclose(m.spamming_.sum(axis=1), 1.0)
    np.testing.assert_allclose(m.confusions_.sum(axis=2), 1.0)


def test_beats_majority_vote_when_spammers_push_one_class(data):
    labels, truth, theta, xi = data
    ids = np.arange(len(truth)).astype(str)
    m = MACE().fit(labels)
    acc = (m.labels_.loc[ids].astype(int).to_numpy() == truth).mean()
    acc_mv = (MajorityVote().fit(labels).labels_.loc[ids].astype(int).to_numpy()
              == truth).mean()
    assert acc > acc_mv + 0.02
    assert m.converged_


def test_uniform_class_prior_option(data):
    labels, *_ = data
    m = MACE(fit_priors=False).fit(labels)
    np.testing.assert_allclose(m.priors_.to_numpy(), 1 / 3)
