"""SQUAREM (``insights.reliability.em.squarem``) and the accelerated Dawid-Skene EM: the same
fixed points as plain EM in fewer EM steps, deterministic, independent of the thread count."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from insights.reliability import DawidSkene, OneCoinDawidSkene
from insights.reliability.em import squarem, squarem_step
from tests.reliability.test_blocks import _encoded
from tests.shared import load_shared, shared_dataset_names


def test_squarem_step_is_the_s3_extrapolation():
    t0, t1, t2 = np.array([0.0, 0.0]), np.array([1.0, 2.0]), np.array([1.5, 3.0])
    r, v = t1 - t0, t2 - 2 * t1 + t0
    x, alpha, r_out = squarem_step(t0, t1, t2, step_max=100.0)
    assert alpha == pytest.approx(np.linalg.norm(r) / np.linalg.norm(v))
    np.testing.assert_allclose(x, t0 + 2 * alpha * r + alpha**2 * v)
    np.testing.assert_allclose(r_out, r)
    # alpha is clipped to [1, step_max]; alpha = 1 gives theta2 back
    x1, a1, _ = squarem_step(t0, t1, t2, step_max=1.0)
    assert a1 == 1.0
    np.testing.assert_allclose(x1, t2)


def test_squarem_finds_the_fixed_point_of_a_slow_linear_map_in_far_fewer_steps():
    # F(x) = A x + b with spectral radius 0.98: plain iteration needs 1,143 steps to a
    # residual of 1e-10, SQUAREM 130 (at least five times fewer asserted)
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    A = Q @ np.diag([0.98, 0.9, 0.7, 0.5, 0.2, 0.1]) @ Q.T
    b = rng.normal(size=6)
    fixed = np.linalg.solve(np.eye(6) - A, b)

    def step(x):
        return A @ x + b, -float(np.sum((x - fixed) ** 2))  # objective: 0 at the fixed point

    def done(ll0, ll1, th1, th2):
        return np.abs(th2 - th1).max() < 1e-10

    res = squarem(step, np.zeros(6), max_evals=2000, converged=done, check_objective=True)
    assert res.converged
    np.testing.assert_allclose(res.theta, fixed, atol=1e-8)
    plain, x = 0, np.zeros(6)
    while np.abs(A @ x + b - x).max() >= 1e-10:
        x, plain = A @ x + b, plain + 1
    assert plain > 900
    assert res.n_evals < plain / 5
    # deterministic: the same calls give the same iterates
    again = squarem(step, np.zeros(6), max_evals=2000, converged=done, check_objective=True)
    assert again.n_evals == res.n_evals and np.array_equal(again.theta, res.theta)


def test_squarem_respects_the_budget():
    res = squarem(lambda x: (0.999 * x + 1.0, 0.0), np.zeros(1), max_evals=7,
                  converged=lambda *a: False)
    assert not res.converged and res.n_evals <= 7


# ---------------------------------------------------------------------------------------
# Dawid-Skene: accelerated vs plain
# ---------------------------------------------------------------------------------------
def _same_labels(a, b) -> bool:
    """Equal labels except on items whose two best classes tie (to 1e-9: there the argmax
    follows rounding, e.g. one-coin posteriors of two classes no annotator chose)."""
    p = np.sort(a.probas_.to_numpy(), axis=1)
    tied = p[:, -1] - p[:, -2] < 1e-9
    return bool(((a.labels_ == b.labels_).to_numpy() | tied).all())


def _pair(cls, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = cls(acceleration=None, **kw).fit(data)
        fast = cls(acceleration="squarem", **kw).fit(data)
    return plain, fast


@pytest.mark.parametrize(("cls", "share"), [(DawidSkene, 0.5), (OneCoinDawidSkene, 1.0)])
def test_same_fixed_point_and_fewer_em_steps_on_simulated_data(cls, share):
    # 20k items by 3 judgments from 200 annotators (items >> annotators, slow EM): converged
    # tightly, both reach the same point (labels equal; log-likelihoods equal to 1e-9
    # relative, far below the 1e-6 the stopping rule allows), the accelerated one in at most
    # half the EM steps for DawidSkene (measured 161 -> 52 at 300k judgments), no more for
    # the one-coin model (one parameter per annotator: plain EM is already fast, 25 -> 16)
    enc = _encoded(20_000, per_item=3, n_ann=200, K=4, seed=3)
    plain, fast = _pair(cls, enc, tol=1e-11, max_iter=3000)
    assert plain.converged_ and fast.converged_
    assert _same_labels(plain, fast)
    ll_p, ll_f = plain.log_likelihood_[-1], fast.log_likelihood_[-1]
    assert abs(ll_f - ll_p) <= 1e-9 * abs(ll_p)
    np.testing.assert_allclose(fast.confusions_, plain.confusions_, atol=1e-4)
    assert fast.n_iter_ <= share * plain.n_iter_
    assert fast.n_iter_ == len(fast.log_likelihood_)
    # at the default tolerance: no worse log-likelihood than plain EM's (to 1e-6 relative)
    plain, fast = _pair(cls, enc)
    assert fast.log_likelihood_[-1] >= plain.log_likelihood_[-1] - 1e-6 * abs(ll_p)
    if cls is DawidSkene:  # one-coin at the default tolerance: 9 plain steps, 10 accelerated
        assert fast.n_iter_ <= plain.n_iter_


@pytest.mark.parametrize("name", shared_dataset_names(with_gold=False) or ["vldb_d_product"])
def test_same_fixed_point_on_the_shared_datasets(name):
    labels, _ = load_shared(name)
    for cls in (DawidSkene, OneCoinDawidSkene):
        plain, fast = _pair(cls, labels, tol=1e-11, max_iter=3000)
        assert _same_labels(plain, fast), cls.__name__
        ll_p, ll_f = plain.log_likelihood_[-1], fast.log_likelihood_[-1]
        assert abs(ll_f - ll_p) <= 1e-8 * abs(ll_p), cls.__name__
        plain, fast = _pair(cls, labels)  # default tolerance
        assert fast.log_likelihood_[-1] >= plain.log_likelihood_[-1] - 1e-6 * abs(ll_p)


def test_accelerated_em_is_deterministic_and_thread_count_free():
    enc = _encoded(60_000, per_item=3, n_ann=300, K=4, seed=5)  # several item blocks
    one = DawidSkene(n_jobs=1).fit(enc)
    two = DawidSkene(n_jobs=2).fit(enc)
    again = DawidSkene(n_jobs=2).fit(enc)
    assert one.n_iter_ == two.n_iter_ == again.n_iter_
    assert np.array_equal(one.probas_.to_numpy(), two.probas_.to_numpy())
    assert np.array_equal(two.probas_.to_numpy(), again.probas_.to_numpy())
    assert one.log_likelihood_ == two.log_likelihood_
