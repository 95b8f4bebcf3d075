"""Simulated Dawid-Skene data shared by the scale tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def simulate(n_items: int, n_annotators: int, K: int, seed: int, hot_item: int = 0
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Labels from a Dawid-Skene model (3-6 annotators per item, diagonal-heavy confusions)
    and gold for every 10th item. ``hot_item`` > 0 gives item 0 that many extra judgments
    (an item larger than a small chunk)."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(K, size=n_items, p=rng.dirichlet(np.full(K, 5.0)))
    conf = rng.dirichlet(np.ones(K), size=(n_annotators, K)) * 0.4
    conf[:, np.arange(K), np.arange(K)] += 0.6
    rows = []
    for i in range(n_items):
        m = rng.integers(3, 7) + (hot_item if i == 0 else 0)
        for j in rng.choice(n_annotators, size=m, replace=m > n_annotators):
            rows.append((i, j, rng.choice(K, p=conf[j, truth[i]])))
    a = np.asarray(rows)
    classes = np.asarray([f"c{k}" for k in range(K)])
    labels = pd.DataFrame({"item_id": [f"i{i:05d}" for i in a[:, 0]],
                           "annotator_id": [f"w{j:03d}" for j in a[:, 1]],
                           "label": classes[a[:, 2]]})
    labels = labels.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    g = np.arange(0, n_items, 10)
    gold = pd.DataFrame({"item_id": [f"i{i:05d}" for i in g], "label": classes[truth[g]]})
    return labels, gold


@pytest.fixture(scope="module")
def simulated():
    return simulate(n_items=300, n_annotators=12, K=3, seed=7, hot_item=40)
