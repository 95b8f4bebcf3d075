"""HierarchicalDawidSkene on simulated operations with known truth, and on shared datasets."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from insights.confidence import (
    HierarchicalDawidSkene,
    confidence_and_correct,
    expected_calibration_error,
    simulate_operation,
)
from insights.data import Dataset
from insights.reliability import DawidSkene
from tests.shared import load_shared


def _rmse(est: pd.Series, truth: pd.Series, ids) -> float:
    return float(np.sqrt(((est.reindex(ids) - truth.reindex(ids)) ** 2).mean()))


@pytest.fixture(scope="module")
def operation():
    # 2000 items, 120 annotators with log-normal volumes (~45 with < 30 judgments), 8%
    # spammers, 2 markets x 3 teams, K=3, 5% gold: the prototype's setting
    return simulate_operation(n_items=2000, n_annotators=120, mean_log_odds=-2.0, seed=3)


@pytest.fixture(scope="module")
def fitted(operation):
    op = operation
    ds = DawidSkene().fit(op.labels, gold=op.gold)
    hds = HierarchicalDawidSkene().fit(op.labels, gold=op.gold, annotators=op.annotators)
    return ds, hds


def test_em_beats_dawid_skene_on_accuracy_and_calibration(operation, fitted):
    ds, hds = fitted
    _, c_ds = confidence_and_correct(ds.probas_, operation.truth)
    conf, c_h = confidence_and_correct(hds.probas_, operation.truth)
    assert c_h.mean() >= c_ds.mean()
    # 2000 items: the ECE estimate's own noise is about 0.005 (most items sit in the top bins)
    assert expected_calibration_error(conf, c_h) <= 0.02


def test_pooling_reduces_sparse_annotator_error(operation, fitted):
    ds, hds = fitted
    n = operation.labels["annotator_id"].value_counts()
    sparse = n.index[n < 30]
    truth = operation.accuracy
    assert _rmse(hds.accuracies_, truth, sparse) < 0.85 * _rmse(ds.accuracies_, truth, sparse)


def test_pooling_halves_sparse_annotator_error(operation, fitted):
    # issue 4: RMSE of annotator accuracy for annotators with < 30 judgments at most half of
    # *unpooled* Dawid-Skene's (each annotator estimated alone: alpha=0, no shrinkage), spammers
    # included. Measured 0.49x here and 0.33-0.46x on five other seeds of the same setting.
    ds, hds = fitted
    op = operation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unpooled DS: log(0) in empty confusion cells
        unpooled = DawidSkene(alpha=0.0, shrinkage=0.0).fit(op.labels, gold=op.gold)
    n = op.labels["annotator_id"].value_counts()
    sparse = n.index[n < 30]
    spam = op.annotators["spammer"].reindex(sparse).to_numpy()
    honest = sparse[~spam]
    assert len(honest) >= 30 and spam.any()  # enough annotators, and spammers among them
    truth = op.accuracy
    assert _rmse(hds.accuracies_, truth, sparse) <= 0.5 * _rmse(unpooled.accuracies_, truth,
                                                                 sparse)
    # honest sparse annotators: at most half even of the (slightly pooled) default DS's error
    assert _rmse(hds.accuracies_, truth, honest) <= 0.5 * _rmse(ds.accuracies_, truth, honest)
    # the Student-t annotator level down-weights the spammers (far from their team)
    w = hds.annotator_weights_
    sp = op.annotators.index[op.annotators["spammer"]]
    assert w.reindex(sp).median() < w.drop(sp).median()


def test_outputs_and_intervals(operation, fitted):
    _, hds = fitted
    conf = hds.confidence_
    assert np.allclose(hds.probas_.sum(axis=1), 1.0)
    assert (conf["lower"] <= conf["confidence"] + 1e-9).all()
    a = hds.annotator_accuracy_
    assert ((a["lower"] <= a["accuracy"]) & (a["accuracy"] <= a["upper"])).all()
    assert set(hds.team_accuracy_.index) == set(operation.annotators["team"])
    assert len(hds.market_accuracy_) == 2
    # two markets cannot inform a variance: the market spread is fixed, the team one estimated
    vc = hds.variance_components_
    assert hds.fixed_levels_ == ["market"]
    assert vc.loc["market", "fixed"] and vc.loc["market", "sigma"] == hds.few_groups_sd
    assert not vc.loc["team", "fixed"] and 0 < vc.loc["team", "sigma"] < 2
    assert hds.market_accuracy_["upper"].gt(hds.market_accuracy_["lower"]).all()
    t1, t2 = hds.team_accuracy_.index[:2]
    p = hds.prob_more_accurate(t1, t2)
    assert 0.0 <= p <= 1.0
    assert p + hds.prob_more_accurate(t2, t1) == pytest.approx(1.0)
    assert hds.comparison_matrix().shape == (6, 6)
    tab = hds.confusion_table("team", t1)
    assert np.allclose(tab.groupby("true")["mean"].sum(), 1.0)
    rl = hds.review_list()
    assert not rl.index.isin(operation.gold["item_id"]).any()
    assert rl["per_cost"].is_monotonic_decreasing
    # gold posteriors for calibration are the unclamped ones
    assert hds.gold_probas_.shape[0] == operation.gold["item_id"].nunique()
    assert hds.gold_probas_.max(axis=1).min() < 1.0


def test_estimator_contract_and_determinism(operation):
    op = operation
    m = HierarchicalDawidSkene(n_posterior_draws=50)
    c = clone(m)
    assert c.get_params() == m.get_params()
    ds = Dataset(labels=op.labels, gold=op.gold, annotators=op.annotators.reset_index(),
                 label_set=op.classes)
    a = m.fit(ds)
    pa = a.probas_.copy()
    b = clone(m).fit(op.labels, gold=op.gold, annotators=op.annotators)
    assert np.array_equal(pa.to_numpy(), b.probas_.to_numpy())
    assert a.hierarchy_.names == ["population", "market", "team", "annotator"]
    with pytest.raises(ValueError, match="inference"):
        HierarchicalDawidSkene(inference="advi").fit(op.labels)


def test_em_converges_to_the_fixed_point_on_sparse_data():
    # 300 items, 120 annotators with log-normal volumes (median ~7 judgments): the annotator
    # variance components are weakly informed and plain EM creeps toward them (before SQUAREM
    # and ECME: not converged in 300 iterations, sigma_annotator 0.18 there vs 0.147 at the
    # fixed point; now ~40 iterations)
    op = simulate_operation(n_items=300, n_annotators=120, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = HierarchicalDawidSkene(n_posterior_draws=20).fit(op.labels, gold=op.gold,
                                                             annotators=op.annotators)
    assert m.converged_ and m.n_iter_ < 80  # plain EM: ~200 (SQUAREM), > 300 (unaccelerated)
    # the stopping point is the fixed point: a fit run to a 1000x tighter tolerance moves no
    # variance component by more than 1e-3 (the stopping rule bounds one EM step's change
    # of the log-sds by sqrt(tol) = 3e-4; the slack covers the remaining slow drift)
    tight = HierarchicalDawidSkene(n_posterior_draws=20, tol=1e-10, max_iter=3000).fit(
        op.labels, gold=op.gold, annotators=op.annotators)
    assert tight.converged_
    diff = m.variance_components_["sigma"] - tight.variance_components_["sigma"]
    assert diff.abs().max() < 1e-3, diff


# Shortfall allowed per shared dataset (accuracy points as a fraction; 0 = at least DS's).
# Where HDS loses, the allowance is the measured gap plus about one item, so that the test
# still catches any further loss: vldb_d_product 0.9376 vs 0.9395 (-16 of 8315 items: mostly
# 2-1 votes on true-1 items where DS's near-zero rare-cell error rates make one vote
# conclusive and the logit-normal pooling does not believe those zeros; NUTS on the same
# model loses too), zhou_dog 0.8377 vs 0.8414 (-3 of 807), vldb_d_possent 0.9590 vs 0.9600
# (-1 of 1000), cf_weather 0.8700 vs 0.8833 (-4 of 300; 461 annotators with ~4 judgments
# each: the annotator spread is barely informed; before ECME the fit stopped unconverged at
# max_iter on 0.8800). On all four, DawidSkene itself loses accuracy when it pools more
# (``shrinkage`` above 0.5), and the model's no-pooling end still falls short.
SHORTFALL = {"snow_rte": 0.0, "snow_temp": 0.0, "bluebirds": 0.0, "face4": 0.0,
             "rodrigues_sentiment": 0.0, "sp_amt": 0.0, "snow_wsd": 0.0,
             "vldb_d_product": 0.00205, "zhou_dog": 0.0050, "vldb_d_possent": 0.002,
             "cf_weather": 0.017}


@pytest.mark.parametrize("name", sorted(SHORTFALL))
def test_shared_datasets_against_dawid_skene(name):
    labels, gold = load_shared(name)
    truth = gold.set_index("item_id")["label"].astype(str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = DawidSkene().fit(labels)
        hds = HierarchicalDawidSkene().fit(labels)  # no team/market: one group
    _, c_ds = confidence_and_correct(ds.probas_, truth)
    _, c_h = confidence_and_correct(hds.probas_, truth)
    assert c_h.mean() >= c_ds.mean() - SHORTFALL[name]


@pytest.mark.slow
def test_nuts_diagnostics_and_agreement_with_em():
    op = simulate_operation(n_items=400, n_annotators=40, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        nuts = HierarchicalDawidSkene(inference="nuts", draws=2000, tune=1500).fit(
            op.labels, gold=op.gold, annotators=op.annotators)
    em = HierarchicalDawidSkene().fit(op.labels, gold=op.gold, annotators=op.annotators)
    d = nuts.diagnostics_
    assert nuts.n_divergences_ == 0
    assert "sigma_market" not in d.index  # 2 markets: fixed spread (min_groups=3)
    assert (d["r_hat"] < 1.01).all(), d
    sig = d.loc[d.index.str.startswith("sigma_"), "ess_bulk"]
    assert (sig > 400).all(), d
    ds = DawidSkene().fit(op.labels, gold=op.gold)
    _, c_ds = confidence_and_correct(ds.probas_, op.truth)
    conf, c_n = confidence_and_correct(nuts.probas_, op.truth)
    assert c_n.mean() >= c_ds.mean()
    # 400 items: an ECE estimate has noise of ~0.015 itself
    assert expected_calibration_error(conf, c_n) <= 0.04
    # EM (Laplace) vs NUTS on the same data: same labels almost everywhere, close posteriors
    assert (em.labels_ == nuts.labels_).mean() >= 0.98
    assert np.abs(em.probas_.to_numpy() - nuts.probas_.to_numpy()).mean() < 0.03
    # both modes down-weight the same annotators (Student-t annotator level)
    assert np.corrcoef(em.annotator_weights_, nuts.annotator_weights_)[0, 1] > 0.5
