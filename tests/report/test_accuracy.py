"""The estimated accuracy of final labels: calibrated, cross-fitted, checked on kept-back gold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights import data as _data
from insights.report.accuracy import cross_fitted_gold, estimate_accuracy
from tests.shared import shared_dataset_names


def test_cross_fitting_hides_each_gold_answer(report):
    ds = report.dataset
    scored = cross_fitted_gold(ds, "dawid-skene", folds=5, seed=0)
    gold_items = set(ds.gold["item_id"]) & set(ds.labels["item_id"])
    assert set(scored["item_id"]) == gold_items and len(scored) == len(gold_items)
    # a clamped gold item would be right with confidence 1: out of fold they are not all so
    assert scored["confidence"].min() < 0.99
    assert scored["correct"].mean() > 0.8  # 3 humans (85-95% right) + a model per item


def test_estimate_is_reproducible_and_brackets_itself(report):
    a = estimate_accuracy(report.dataset, "dawid-skene", seed=0)
    b = estimate_accuracy(report.dataset, "dawid-skene", seed=0)
    assert a == b
    assert a.calibrated and a.lower <= a.estimate <= a.upper
    assert a.n_items == report.sections["scale"].data["numbers"]["items"] - a.n_gold
    assert "estimated" in a.sentence()


def test_without_enough_gold_no_accuracy_is_claimed(report):
    ds = report.dataset
    bare = _data.Dataset(labels=ds.labels, label_set=ds.label_set)
    est = estimate_accuracy(bare, "dawid-skene")
    assert not est.calibrated and np.isnan(est.estimate) and np.isnan(est.lower)
    assert est.raw > 0.5  # kept for the record only
    assert "not estimated" in est.sentence() and "at least 30 gold items" in est.sentence()


def test_overconfidence_is_corrected_on_planted_hard_items():
    """Three annotators 90 % right on easy items, and hard items (a quarter) on which they
    all give the same wrong answer 60 % of the time: correlated errors that Dawid-Skene
    cannot see, so its confidence is near 1 on items that are often wrong. The true accuracy
    of the final labels is about 0.75 x 0.97 + 0.25 x 0.4 = 0.83; with 400 gold items the
    estimate's sampling error is about 2 points, so it must land within 5 points, while the
    raw mean confidence is more than 10 points too high."""
    rng = np.random.default_rng(11)
    n = 3000
    truth = rng.integers(0, 2, n)
    hard = rng.random(n) < 0.25
    rows = []
    for i in range(n):
        fooled = hard[i] and rng.random() < 0.6
        for a in range(3):
            right = (not fooled) and rng.random() < 0.9
            lab = truth[i] if right else 1 - truth[i]
            rows.append((f"i{i}", f"a{a}", str(lab)))
    labels = pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])
    gold_idx = rng.choice(n, 400, replace=False)
    gold = pd.DataFrame({"item_id": [f"i{i}" for i in gold_idx],
                         "label": truth[gold_idx].astype(str)})
    ds = _data.Dataset(labels=labels, gold=gold, label_set=["0", "1"])
    est = estimate_accuracy(ds, "dawid-skene", seed=0)
    from insights.report.fitting import fit_model

    post = fit_model(ds, "dawid-skene")
    free = ~post.enc.has_gold
    item_truth = pd.Series(truth.astype(str), index=[f"i{i}" for i in range(n)])
    final = post.enc.classes[post.labels[free]].astype(str)
    true_acc = float((final == item_truth.loc[post.enc.item_ids[free]].to_numpy()).mean())
    assert est.raw - true_acc > 0.10
    assert abs(est.estimate - true_acc) < 0.05
    assert est.lower <= true_acc <= est.upper


GOLD_DATASETS = shared_dataset_names(with_gold=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", GOLD_DATASETS or ["(none)"])
def test_estimate_against_kept_back_gold(name):
    """10 % of the gold given to the model, 90 % kept back (the split of seed 0, as in
    benchmarks/honest_accuracy.py). The kept-back accuracy must lie in the estimate's 95 %
    interval (below 30 given gold items no estimate is shown at all); where at least 400 gold
    items are given (sampling error of the calibration
    about 1.5 points at 90 % accuracy) the estimate must be within 2 points of it. With fewer
    gold items no estimator can promise 2 points (10 gold items: about 10 points of sampling
    error), and the interval says so."""
    if name == "(none)":
        pytest.skip("no shared datasets with gold")
    from benchmarks.honest_accuracy import evaluate

    r = evaluate(name, given=0.1, seed=0)
    if r["gold_given"] < 30:  # no estimate is claimed (the report says why)
        assert np.isnan(r["estimate"]), r
        return
    assert r["lower"] <= r["kept_back_accuracy"] <= r["upper"], r
    if r["gold_given"] >= 400:
        assert abs(r["error"]) <= 0.02, r


def test_isotonic_step_matches_scikit_learn():
    # PAV from scipy with ties pooled and clipped interpolation is scikit-learn's
    # IsotonicRegression(out_of_bounds="clip"): the same function on the same data
    from sklearn.isotonic import IsotonicRegression

    from insights.report.accuracy import _isotonic

    rng = np.random.default_rng(0)
    conf = np.round(rng.random(300), 2)  # ties, as posteriors of items with equal votes
    correct = rng.random(300) < conf
    at = rng.random(50) * 1.2 - 0.1  # inside and outside the fitted range
    ref = IsotonicRegression(out_of_bounds="clip").fit(conf, correct.astype(float))
    np.testing.assert_allclose(_isotonic(conf, correct, at), ref.predict(at), atol=1e-12)
