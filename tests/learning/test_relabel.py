"""The value of one more judgment, hand-checked."""

from __future__ import annotations

import numpy as np
import pandas as pd

from insights.learning import one_more_value, relabel_ranking, typical_confusion


def test_binary_value_is_accuracy_minus_confidence():
    # symmetric annotator of accuracy a: one vote can overturn p_max only if p_max < a, and
    # then the error drops from 1 - p_max to 1 - a (hand algebra in the module docstring)
    conf = np.array([[0.8, 0.2], [0.2, 0.8]])
    p = np.array([[0.6, 0.4], [0.5, 0.5], [0.9, 0.1], [0.8, 0.2]])
    np.testing.assert_allclose(one_more_value(p, conf), [0.2, 0.3, 0.0, 0.0], atol=1e-12)


def test_three_classes_prefers_a_reachable_runner_up():
    # same confidence 0.5: with the mass on one runner-up a vote can decide, spread over two
    # it helps less
    conf = np.full((3, 3), 0.1) + 0.7 * np.eye(3)
    v = one_more_value(np.array([[0.5, 0.5, 0.0], [0.5, 0.25, 0.25]]), conf)
    assert v[0] > v[1] >= 0


def test_ranking_order_and_typical_confusion():
    confs = np.stack([np.eye(2), np.full((2, 2), 0.5)])
    t = typical_confusion(confs, [3, 1])
    np.testing.assert_allclose(t, [[0.875, 0.125], [0.125, 0.875]])
    cons = pd.DataFrame([[0.95, 0.05], [0.55, 0.45]], index=["a", "b"], columns=["x", "y"])
    unl = pd.DataFrame([[0.7, 0.3]], index=["c"], columns=["x", "y"])
    r = relabel_ranking(cons, t, pd.Series({"a": 3, "b": 1}), unl)
    assert list(r["item_id"]) == ["b", "c", "a"]
    assert list(r["status"]) == ["labeled", "unlabeled", "labeled"]
    assert list(r["rank"]) == [1, 2, 3]
