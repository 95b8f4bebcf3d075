"""Calibration metrics, the gold calibration step and the re-review list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights.confidence import (
    GoldCalibrator,
    calibration_table,
    errors_caught,
    expected_calibration_error,
    reliability_table,
    review_list,
)


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(20260)


def test_ece_hand_computed():
    # bin [0.6, 0.7): conf 0.65 x2, 1 correct -> |0.5 - 0.65| = 0.15, weight 2/4
    # bin [0.9, 1.0]: conf 0.95 x2, 2 correct -> |1 - 0.95| = 0.05, weight 2/4
    conf = [0.65, 0.65, 0.95, 0.95]
    corr = [True, False, True, True]
    assert expected_calibration_error(conf, corr) == pytest.approx(0.5 * 0.15 + 0.5 * 0.05)
    t = reliability_table(conf, corr)
    assert t["n"].tolist() == [2, 2]
    assert (t["acc_lower"] <= t["accuracy"]).all() and (t["accuracy"] <= t["acc_upper"]).all()


def test_ece_small_when_calibrated_large_when_overconfident(rng):
    conf = rng.uniform(0.4, 1.0, 20000)
    corr = rng.random(20000) < conf
    # calibrated by construction: per-bin accuracy error ~ sqrt(.25/2000) ~ 0.011
    assert expected_calibration_error(conf, corr) < 0.02
    over = np.minimum(conf + 0.15, 1.0)
    assert expected_calibration_error(over, corr) > 0.1


def test_errors_caught_counts_the_least_confident():
    conf = np.array([0.9, 0.5, 0.99, 0.6, 0.95, 0.97, 0.98, 0.96, 0.94, 0.93])
    corr = np.array([True, False, True, False, True, True, True, True, True, False])
    out = errors_caught(conf, corr, fraction=0.2)  # reviews the two at 0.5 and 0.6
    assert out == {"n_reviewed": 2, "errors_caught": 2, "errors_total": 3,
                   "share_caught": pytest.approx(2 / 3)}


def test_review_list_orders_by_expected_errors_removed_per_cost():
    p = pd.DataFrame({"a": [0.9, 0.5, 0.7, 1.0], "b": [0.1, 0.5, 0.3, 0.0]},
                     index=pd.Index(["i1", "i2", "i3", "i4"], name="item_id"))
    out = review_list(p)
    assert out.index.tolist() == ["i2", "i3", "i1"]  # i4 is certain: nothing to remove
    assert out["expected_errors_removed"].tolist() == pytest.approx([0.5, 0.3, 0.1])
    assert out["cumulative_errors_removed"].iloc[-1] == pytest.approx(0.9)
    costly = review_list(p, cost=pd.Series({"i2": 10.0}))
    assert costly.index[0] == "i3"  # 0.3 per unit beats 0.05 per unit
    # a reviewer at 80% only helps where the label is worse than 80%
    assert review_list(p, reviewer_accuracy=0.8).index.tolist() == ["i2", "i3"]
    assert review_list(p, exclude=["i2"], budget=1).index.tolist() == ["i3"]


def test_isotonic_calibration_fixes_overconfidence(rng):
    n = 4000
    true_p = rng.uniform(0.5, 1.0, n)
    correct = rng.random(n) < true_p
    stated = true_p ** 0.3  # overconfident
    p = pd.DataFrame({"x": stated, "y": 1 - stated}, index=[f"i{i}" for i in range(n)])
    gold = pd.Series(np.where(correct, "x", "y"), index=p.index)
    fit_idx, test_idx = p.index[: n // 2], p.index[n // 2:]
    before = calibration_table({"raw": p.loc[test_idx]}, gold).loc["raw", "ece"]
    for method in ("isotonic", "temperature"):
        cal = GoldCalibrator(method).fit(p.loc[fit_idx], gold.loc[fit_idx])
        after = calibration_table({"cal": cal.transform(p.loc[test_idx])}, gold).loc["cal",
                                                                                       "ece"]
        # held-out half: 2000 items, binomial noise per bin about 0.02. Isotonic can undo
        # any monotone distortion; one temperature only approximately undoes p -> p**0.3
        assert before > 0.08
        assert after < (0.04 if method == "isotonic" else before / 2), method
        q = cal.transform(p)
        assert np.allclose(q.sum(axis=1), 1.0)
        assert (q.idxmax(axis=1) == p.idxmax(axis=1)).all()  # labels unchanged
