"""Redundancy policies: specs, and each stopping rule on hand-checked vote sequences."""

from __future__ import annotations

import numpy as np
import pytest

from insights.allocation.policies import (
    Agree,
    Fixed,
    KnowledgeGradient,
    Margin,
    Posterior,
    parse_policy,
)


@pytest.mark.parametrize("spec", ["fixed:5", "agree:2:3", "margin:2:7", "posterior:0.99:1:10",
                                  "posterior:auto:1:10:budget=3", "assisted:0.95",
                                  "kg:3", "posterior:threshold=0.995:model=onecoin"])
def test_spec_round_trip(spec):
    pol = parse_policy(spec)
    assert parse_policy(pol.spec) == pol


@pytest.mark.parametrize("spec,match", [("nope:1", "unknown name"), ("fixed:x", "not a int"),
                                        ("margin:1:2:mv:9", "too many"),
                                        ("posterior:1.5", "threshold"),
                                        ("fixed:5:aggregate=vote", "aggregate"),
                                        ("agree:q=2", "unknown argument")])
def test_bad_specs_say_what_is_wrong(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_policy(spec)


def test_agree_is_two_agree_else_a_third():
    pol = Agree(m=2, n=3)
    counts = np.array([[1, 1], [2, 0], [2, 1], [1, 0]], float)
    used = counts.sum(axis=1).astype(int)
    # split 1-1 -> a third; 2-0 -> stop; 2-1 (third read) -> stop; 1 label -> one more
    assert pol.want_more(used, counts, None).tolist() == [True, False, False, True]


def test_margin_and_fixed():
    counts = np.array([[3, 1], [2, 1], [4, 3], [0, 0]], float)
    used = counts.sum(axis=1).astype(int)
    assert Margin(d=2, n=7).want_more(used, counts, None).tolist() == [False, True, False, True]
    assert Fixed(k=4).want_more(used, counts, None).tolist() == [False, True, False, True]


def test_posterior_threshold_min_and_max():
    pol = Posterior(threshold=0.9, m=2, n=4)
    # log posteriors: 0.95 / 0.05 and 0.6 / 0.4
    lp = np.log(np.array([[0.95, 0.05], [0.95, 0.05], [0.6, 0.4], [0.6, 0.4]]))
    used = np.array([1, 2, 2, 4])
    counts = np.zeros((4, 2))
    # under the minimum -> more; sure -> stop; unsure -> more; at the maximum -> stop
    assert pol.want_more(used, counts, lp).tolist() == [True, False, True, False]


def test_knowledge_gradient_prefers_undecided_items():
    counts = np.array([[0, 0], [1, 1], [5, 0], [3, 2]], float)
    g = KnowledgeGradient.gain(counts)
    assert g[2] < g[3] and g[2] < g[1]       # a 5-0 item gains least from one more label
    assert np.all(g >= 0)
