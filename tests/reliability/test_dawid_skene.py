"""DawidSkene and OneCoinDawidSkene: the 1979 reference, a hand-computed EM step,
gold clamping, convergence bookkeeping and parameter recovery on simulated data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from insights.reliability import ConvergenceWarning, DawidSkene, OneCoinDawidSkene
from tests.shared import SHARED_DATASETS, load_shared

# ---------------------------------------------------------------------------------------
# Dawid & Skene (1979), Table 1: 45 patients x 5 observers, observer 1 rated each 3 times.
# Reference (reference_estimates.md, printed by dallascard/dawid_skene): class shares and
# per-observer error-rate matrices to 2 decimals, log-likelihood -192.890882.
# ---------------------------------------------------------------------------------------
REF_SHARES = [0.40, 0.42, 0.11, 0.07]
REF_ERRORS = np.array([
    [[0.89, 0.11, 0, 0], [0.07, 0.88, 0.05, 0], [0, 0.34, 0.66, 0], [0, 0, 0.56, 0.44]],
    [[0.83, 0.17, 0, 0], [0.05, 0.63, 0.31, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
    [[1, 0, 0, 0], [0.11, 0.79, 0.11, 0], [0, 0.4, 0.2, 0.4], [0, 0, 0.67, 0.33]],
    [[0.94, 0.06, 0, 0], [0.05, 0.84, 0.1, 0], [0, 0, 0.8, 0.2], [0, 0, 0.33, 0.67]],
    [[1, 0, 0, 0], [0.16, 0.73, 0.11, 0], [0, 0.21, 0.79, 0], [0, 0, 0.33, 0.67]],
])


@pytest.fixture(scope="module")
def anesthesia():
    labels, _ = load_shared("ds1979_anesthesia")
    ref = pd.read_csv(SHARED_DATASETS / "ds1979_anesthesia" / "reference_em.csv", dtype=str)
    return labels, ref


def _by_observer(model):
    order = pd.Index(model.annotator_ids_).get_indexer(["1", "2", "3", "4", "5"])
    assert list(model.classes_) == ["1", "2", "3", "4"]
    return model.confusions_[order]


def test_plain_ds_reproduces_the_1979_reference(anesthesia):
    labels, ref = anesthesia
    assert len(labels) == 315  # repeated ratings kept (observer 1: three per patient)
    m = DawidSkene(alpha=0.0, shrinkage=0.0, prior_counts=0.0, tol=1e-8).fit(labels)
    assert m.converged_
    # shares are printed to 2 decimals: rounding error <= 0.005
    np.testing.assert_allclose(m.priors_.to_numpy(), REF_SHARES, atol=0.005 + 1e-4)
    # error rates printed to 2 decimals: rounding <= 0.005, plus the reference's own stopping
    # rule (parameter change < 1e-5) which leaves it within ~1e-4 of the fixed point
    np.testing.assert_allclose(_by_observer(m), REF_ERRORS, atol=0.0051 + 1e-4)
    # same convention: sum_i log sum_t rho_t prod pi^N  (no multinomial coefficients)
    assert m.log_likelihood_[-1] == pytest.approx(-192.890882, abs=1e-3)
    em_class = m.labels_.loc[ref["item"]].to_numpy()
    assert (em_class == ref["em_class"].to_numpy()).all()


def test_default_smoothing_stays_close_to_the_1979_reference(anesthesia):
    labels, ref = anesthesia
    m = DawidSkene().fit(labels)
    # the default adds 0.01 per cell and 0.5 pooled pseudo-judgments per row; the rarest
    # class has about 3 patients, so its rows (3 judgments for observers 2-5) can move by up
    # to 0.5 / 3.5 ~ 0.14; every other row by less. The class prior's Dirichlet prior adds
    # one pseudo-patient per class: shares move to (45 * share + 1) / (45 + 4)
    np.testing.assert_allclose(m.priors_.to_numpy(), (45 * np.asarray(REF_SHARES) + 1) / 49, atol=0.01)
    assert np.abs(_by_observer(m) - REF_ERRORS).max() < 0.15
    assert (m.labels_.loc[ref["item"]].to_numpy() == ref["em_class"].to_numpy()).all()
    assert (m.confusions_ > 0).all()  # no exact zeros: the point of smoothing


def test_plain_em_log_likelihood_never_decreases(anesthesia):
    labels, _ = anesthesia
    m = DawidSkene(alpha=0.0, shrinkage=0.0, prior_counts=0.0, tol=1e-10, max_iter=200,
                   acceleration=None).fit(labels)
    assert np.all(np.diff(m.log_likelihood_) > -1e-9)  # EM's monotonicity
    assert m.n_iter_ == len(m.log_likelihood_)


def test_warns_when_not_converged(anesthesia):
    labels, _ = anesthesia
    with pytest.warns(ConvergenceWarning, match="did not converge in 2 iterations"):
        m = DawidSkene(max_iter=2).fit(labels)
    assert not m.converged_ and m.n_iter_ == 2


# ---------------------------------------------------------------------------------------
# one EM iteration by hand
# ---------------------------------------------------------------------------------------
@pytest.fixture
def toy():
    # i1: u1 a, u2 a | i2: u1 a, u2 b, u3 a | i3: u1 b, u2 b
    return pd.DataFrame(
        [("i1", "u1", "a"), ("i1", "u2", "a"),
         ("i2", "u1", "a"), ("i2", "u2", "b"), ("i2", "u3", "a"),
         ("i3", "u1", "b"), ("i3", "u2", "b")],
        columns=["item_id", "annotator_id", "label"])


def test_one_em_step_by_hand(toy):
    """Soft-MV start T = (1,0), (2/3,1/3), (0,1).

    M-step: rho = (5/9, 4/9). u1: row a = (5/3, 0)/(5/3) = (1, 0), row b = (1/3, 1)/(4/3) =
    (1/4, 3/4). u2: row a = (1, 2/3)/(5/3) = (3/5, 2/5), row b = (0, 4/3) -> (0, 1).
    u3: both rows (1, 0). E-step: i2: a 5/9*1*2/5*1 = 2/9, b 4/9*1/4*1*1 = 1/9 -> (2/3, 1/3);
    i1: a 5/9*3/5 = 1/3, b 0; i3: a 0, b 4/9*3/4 = 1/3. log-lik = 3 log(1/3).
    """
    with pytest.warns(ConvergenceWarning):
        m = DawidSkene(alpha=0.0, shrinkage=0.0, prior_counts=0.0, max_iter=1).fit(toy)
    np.testing.assert_allclose(m.priors_.to_numpy(), [5 / 9, 4 / 9])
    conf = dict(zip(m.annotator_ids_, m.confusions_, strict=True))
    np.testing.assert_allclose(conf["u1"], [[1, 0], [1 / 4, 3 / 4]])
    np.testing.assert_allclose(conf["u2"], [[3 / 5, 2 / 5], [0, 1]])
    np.testing.assert_allclose(conf["u3"], [[1, 0], [1, 0]])
    np.testing.assert_allclose(m.probas_.to_numpy(), [[1, 0], [2 / 3, 1 / 3], [0, 1]],
                               atol=1e-12)
    assert m.log_likelihood_ == [pytest.approx(3 * np.log(1 / 3))]


def test_smoothing_pseudo_counts_by_hand(toy):
    """alpha=1 adds one count per cell: u3 row b = (1/3 + 1, 0 + 1) / (1/3 + 2) = (4/7, 3/7)."""
    with pytest.warns(ConvergenceWarning):
        m = DawidSkene(alpha=1.0, shrinkage=0.0, max_iter=1).fit(toy)
    u3 = m.confusions_[list(m.annotator_ids_).index("u3")]
    np.testing.assert_allclose(u3[1], [4 / 7, 3 / 7])
    np.testing.assert_allclose(u3[0], [(2 / 3 + 1) / (2 / 3 + 2), 1 / (2 / 3 + 2)])


def test_gold_items_are_clamped_during_em(toy):
    gold = pd.DataFrame({"item_id": ["i2"], "label": ["b"]})
    with pytest.warns(ConvergenceWarning):
        m = DawidSkene(alpha=0.0, shrinkage=0.0, prior_counts=0.0, max_iter=1).fit(toy, gold=gold)
    assert m.probas_.loc["i2"].tolist() == [0.0, 1.0]
    # the clamp enters the M-step: T = (1,0), (0,1), (0,1) so rho = (1/3, 2/3) and u3,
    # who said a on the gold-b item, has row b = (1, 0)
    np.testing.assert_allclose(m.priors_.to_numpy(), [1 / 3, 2 / 3])
    np.testing.assert_allclose(m.confusions_[2], [[0.5, 0.5], [1, 0]])  # row a: no data


# ---------------------------------------------------------------------------------------
# parameter recovery on simulated data
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def simulated():
    """30 annotators x 2000 items, K=3, each item judged by 10 random annotators."""
    rng = np.random.default_rng(20260)
    n_ann, n_items, per_item, K = 30, 2000, 10, 3
    priors = np.array([0.5, 0.3, 0.2])
    truth = rng.choice(K, size=n_items, p=priors)
    conf = np.empty((n_ann, K, K))
    for j in range(n_ann):
        for t in range(K):
            row = rng.dirichlet(np.ones(K))
            conf[j, t] = 0.4 * row
            conf[j, t, t] += rng.uniform(0.4, 0.6)
        conf[j] /= conf[j].sum(axis=1, keepdims=True)
    item = np.repeat(np.arange(n_items), per_item)
    ann = np.concatenate([rng.choice(n_ann, per_item, replace=False) for _ in range(n_items)])
    u = rng.random(item.size)
    label = (u[:, None] > np.cumsum(conf[ann, truth[item]], axis=1)).sum(axis=1)
    labels = pd.DataFrame({"item_id": item.astype(str), "annotator_id": ann.astype(str),
                           "label": np.array(["a", "b", "c"])[label]})
    return labels, truth, conf, priors, ann, item


def test_recovers_confusions_and_priors(simulated):
    labels, truth, conf, priors, ann, item = simulated
    m = DawidSkene().fit(labels)
    assert m.converged_
    order = np.asarray(m.annotator_ids_).astype(int)
    true_conf = conf[order]
    # each annotator has ~667 judgments, so a row for class t holds n_jt ~ 667 * prior_t
    # (>= ~100) judgments; the MLE of an entry has sd sqrt(p (1-p) / n_jt). Allow 4.5 sd
    # (270 entries: a 4.5-sd excursion has probability ~2e-3 overall) plus 0.01 for the
    # posterior uncertainty about which items are which class and the smoothing.
    n_jt = np.array([[np.sum((ann == j) & (truth[item] == t)) for t in range(3)]
                     for j in order])
    sd = np.sqrt(true_conf * (1 - true_conf) / n_jt[:, :, None])
    assert np.all(np.abs(m.confusions_ - true_conf) <= 4.5 * sd + 0.01)
    # priors: 2000 items, sd sqrt(p(1-p)/2000) <= 0.011; 4 sd
    np.testing.assert_allclose(m.priors_.to_numpy(), priors, atol=0.045)
    # ten judgments of accuracy ~0.65 per item: DS must beat the majority vote
    acc_ds = (m.labels_.loc[np.arange(2000).astype(str)].to_numpy()
              == np.array(["a", "b", "c"])[truth]).mean()
    assert acc_ds > 0.9


def test_one_coin_recovers_accuracies():
    rng = np.random.default_rng(7)
    n_ann, n_items, per_item, K = 20, 1500, 7, 4
    acc = rng.uniform(0.35, 0.9, size=n_ann)
    truth = rng.choice(K, size=n_items)
    item = np.repeat(np.arange(n_items), per_item)
    ann = np.concatenate([rng.choice(n_ann, per_item, replace=False) for _ in range(n_items)])
    right = rng.random(item.size) < acc[ann]
    wrong = (truth[item] + rng.integers(1, K, size=item.size)) % K  # uniform other class
    label = np.where(right, truth[item], wrong)
    labels = pd.DataFrame({"item_id": item.astype(str), "annotator_id": ann.astype(str),
                           "label": label.astype(str)})
    m = OneCoinDawidSkene().fit(labels)
    est = m.accuracies_.to_numpy()
    true = acc[np.asarray(m.annotator_ids_).astype(int)]
    # ~525 judgments per annotator: sd of an accuracy <= sqrt(.25/525) = 0.022; 4 sd
    assert np.abs(est - true).max() < 0.09
    # the implied confusion matrices put (1 - a_j)/(K-1) off the diagonal
    c = m.confusions_[0]
    np.testing.assert_allclose(c[0, 1:], (1 - est[0]) / 3)
    np.testing.assert_allclose(c.sum(axis=1), 1.0)


def test_deterministic(simulated):
    labels = simulated[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = DawidSkene().fit(labels)
        b = DawidSkene().fit(labels)
    pd.testing.assert_frame_equal(a.probas_, b.probas_)


@pytest.mark.slow
def test_a_million_judgments_fit_in_seconds():
    """The EM loop is sparse products only: 1e6 judgments (K=5) take ~0.15 s per fit here
    (benchmarks/real_datasets.py --scale 1e7 measures the 1e7 target). 10 s leaves room for
    a loaded CI machine while still catching any dense items x annotators step (which would
    need 1e5 x 100 x 25 cells and minutes)."""
    import time

    from insights.data import Encoded

    rng = np.random.default_rng(3)
    n_items, per_item, n_ann, K = 100_000, 10, 100, 5
    truth = rng.choice(K, size=n_items)
    item = np.repeat(np.arange(n_items, dtype=np.int32), per_item)
    ann = rng.integers(0, n_ann, size=item.size, dtype=np.int32)
    right = rng.random(item.size) < rng.uniform(0.5, 0.9, n_ann)[ann]
    label = np.where(right, truth[item], rng.integers(0, K, size=item.size)).astype(np.int32)
    enc = Encoded(np.arange(n_items).astype(object), np.arange(n_ann).astype(object),
                  np.arange(K).astype(str).astype(object), item, ann, label,
                  np.full(n_items, -1, dtype=np.int64))
    t0 = time.perf_counter()
    m = DawidSkene().fit(enc)
    assert time.perf_counter() - t0 < 10.0
    assert m.converged_
    # 10 votes of accuracy 0.55-0.92 (uniform errors incl. the true class): MV-level >= 0.95
    assert (m.probas_.to_numpy().argmax(axis=1) == truth).mean() > 0.95
