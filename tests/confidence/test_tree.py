"""Gaussian belief propagation on the hierarchy, checked against the dense joint Gaussian."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insights.confidence._leaves import LeafLevel, leaf_solve
from insights.confidence._tree import build_hierarchy, gaussian_tree, sample_tree, second_moment

D_CELLS = 3
PRIOR_MEAN, PRIOR_SD = -1.0, 1.5


def _problem(seed: int = 0, level_sd: float | None = None):
    """7 annotators in 3 teams in 2 markets, random leaf evidence (one leaf without data),
    random level covariances (isotropic ``level_sd**2 I`` for the middle levels if given) and
    per-annotator leaf covariances."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"a{i}" for i in range(7)])
    table = pd.DataFrame({"team": ["t1", "t1", "t2", "t2", "t3", "t3", "t3"],
                          "market": ["m1", "m1", "m1", "m1", "m2", "m2", "m2"]}, index=ids)
    tree = build_hierarchy(ids, table)
    d = D_CELLS
    covs = [None]
    for _ in range(1, len(tree.names) - 1):
        B = rng.normal(size=(d, d))
        covs.append(B @ B.T / d + 0.3 * np.eye(d) if level_sd is None
                    else level_sd**2 * np.eye(d))
    covs.append(0.5 * np.eye(d)[None] / rng.uniform(0.5, 1.5, 7)[:, None, None])
    h = rng.normal(size=(7, d))
    D = np.stack([(lambda B: B @ B.T)(rng.normal(size=(d, d))) for _ in range(7)])
    h[2], D[2] = 0.0, 0.0  # an annotator who saw no item of these classes
    return tree, covs, h, D


def _dense(tree, covs, h, D):
    """Joint Gaussian over all nodes: log marginal of the leaf evidence, posterior mean/cov."""
    d = D_CELLS
    nodes = [(L, g) for L in range(len(tree.names)) for g in range(tree.sizes[L])]
    idx = {n: i for i, n in enumerate(nodes)}
    N = len(nodes) * d
    T = np.zeros((N, N))  # node values = T @ independent increments
    V = np.zeros((N, N))
    for (L, g), i in idx.items():
        sl = slice(i * d, (i + 1) * d)
        cov = covs[L] if L else PRIOR_SD**2 * np.eye(d)
        V[sl, sl] = cov[g] if np.ndim(cov) == 3 else cov
        a_L, a_g = L, g
        while True:
            j = idx[(a_L, a_g)]
            T[sl, j * d:(j + 1) * d] = np.eye(d)
            if a_L == 0:
                break
            a_g, a_L = tree.parents[a_L][a_g], a_L - 1
    inc_mean = np.zeros(N)
    inc_mean[:d] = PRIOR_MEAN
    C, m = T @ V @ T.T, T @ inc_mean
    H, Dm = np.zeros(N), np.zeros((N, N))
    leaf = len(tree.names) - 1
    for g in range(tree.sizes[leaf]):
        sl = slice(idx[(leaf, g)] * d, (idx[(leaf, g)] + 1) * d)
        H[sl], Dm[sl, sl] = h[g], D[g]
    P = Dm + np.linalg.inv(C)
    b = H + np.linalg.solve(C, m)
    log_ev = (-0.5 * np.linalg.slogdet(np.eye(N) + C @ Dm)[1]
              + 0.5 * b @ np.linalg.solve(P, b) - 0.5 * m @ np.linalg.solve(C, m))
    cov = np.linalg.inv(P)
    return log_ev, cov @ b, cov, idx


def test_gaussian_tree_matches_the_dense_joint_gaussian():
    tree, covs, h, D = _problem()
    tp = gaussian_tree(h, D, tree, covs, PRIOR_MEAN, PRIOR_SD)
    log_ev, mean, cov, idx = _dense(tree, covs, h, D)
    d = D_CELLS
    assert tp.log_evidence == pytest.approx(log_ev, abs=1e-9)
    for (L, g), i in idx.items():
        sl = slice(i * d, (i + 1) * d)
        np.testing.assert_allclose(tp.mean[L][g], mean[sl], atol=1e-9)
        np.testing.assert_allclose(tp.cov[L][g], cov[sl, sl], atol=1e-9)
        if L:  # cross covariance with the parent
            p = tree.parents[L][g]
            ps = slice(idx[(L - 1, p)] * d, (idx[(L - 1, p)] + 1) * d)
            np.testing.assert_allclose(tp.cross[L][g], cov[sl, ps], atol=1e-9)


def test_log_evidence_gradient_is_the_expected_complete_data_score():
    # Fisher's identity, which the EM mode's variance-component step uses as its gradient:
    # d log p / d sigma^2 = (E[sum |x_c - x_parent|^2] / sigma^4 - n d / sigma^2) / 2
    tree, covs, h, D = _problem(seed=1, level_sd=0.7)
    L = tree.level("team")
    var, eps = 0.7**2, 1e-6

    def log_ev(v):
        cv = list(covs)
        cv[L] = v * np.eye(D_CELLS)
        return gaussian_tree(h, D, tree, cv, PRIOR_MEAN, PRIOR_SD).log_evidence

    numeric = (log_ev(var + eps) - log_ev(var - eps)) / (2 * eps)
    tp = gaussian_tree(h, D, tree, covs, PRIOR_MEAN, PRIOR_SD)
    score = (np.trace(second_moment(tp, tree, L)) / var**2
             - tree.sizes[L] * D_CELLS / var) / 2
    assert score == pytest.approx(numeric, rel=1e-5)


def test_sample_tree_draws_from_the_posterior():
    tree, covs, h, D = _problem(seed=2)
    tp = gaussian_tree(h, D, tree, covs, PRIOR_MEAN, PRIOR_SD)
    draws = sample_tree(tp, tree, covs, 20_000, np.random.default_rng(0))
    for L in range(len(tree.names)):
        x = draws[L]  # (S, G, d)
        se = np.sqrt(np.diagonal(tp.cov[L], axis1=1, axis2=2) / x.shape[0])
        assert (np.abs(x.mean(axis=0) - tp.mean[L]) < 4.5 * se).all()
        emp = np.einsum("sga,sgb->gab", x - x.mean(axis=0), x - x.mean(axis=0)) / x.shape[0]
        np.testing.assert_allclose(emp, tp.cov[L], atol=0.06 * np.abs(tp.cov[L]).max())


def _multinomial_leaves(seed: int, J: int, K: int, teams: bool):
    """The EM's leaves: D_j block diagonal with multinomial Fisher blocks n (diag p - p p'),
    Sigma_j = (a^2 I + s^2 11') / w_j, one annotator who never saw a class (n = 0); with or
    without teams and markets above them."""
    rng = np.random.default_rng(seed)
    dk, d = K - 1, K * (K - 1)
    ids = np.array([f"a{i}" for i in range(J)])
    table = pd.DataFrame({"team": [f"t{i % 3}" for i in range(J)],
                          "market": [f"m{i % 3 % 2}" for i in range(J)]}, index=ids)
    tree = build_hierarchy(ids, table if teams else None)
    probs = rng.dirichlet(np.ones(K), size=(J, K))
    p_off = np.stack([np.delete(probs[:, t], t, axis=1) for t in range(K)], axis=1)
    n = rng.uniform(0, 30, size=(J, K))
    n[2, 1] = 0.0
    D = np.zeros((J, d, d))
    for t in range(K):
        p = p_off[:, t]
        D[:, t * dk:(t + 1) * dk, t * dk:(t + 1) * dk] = n[:, t, None, None] * (
            p[:, :, None] * np.eye(dk) - p[:, :, None] * p[:, None, :])
    h = rng.normal(size=(J, d))
    w = rng.uniform(0.3, 2.0, J)
    sig_a, sig_s = 0.6, 0.4
    base = sig_a**2 * np.eye(d) + sig_s**2 * np.ones((d, d))
    covs = [None] + [0.5**2 * np.eye(d) for _ in range(1, len(tree.names) - 1)]
    covs.append(base[None] / w[:, None, None])
    return tree, covs, h, D, (n, p_off, w, sig_a, sig_s)


@pytest.mark.parametrize("teams", [True, False])
def test_structured_leaf_level_matches_the_generic_path(teams):
    # leaf_solve (Sherman-Morrison) must give the LAPACK path's numbers to rounding (1e-9);
    # the lean LeafLevel (no d x d matrix per leaf) the same log evidence, means and upper
    # levels, and the two scalars tr E_j, 1'E_j 1 of every leaf's second moment
    tree, covs, h, D, (n, p_off, w, sig_a, sig_s) = _multinomial_leaves(3, 9, 4, teams)
    generic = gaussian_tree(h, D, tree, covs, PRIOR_MEAN, PRIOR_SD)
    fast = gaussian_tree(h, D, tree, covs, PRIOR_MEAN, PRIOR_SD,
                         leaf_solve(n, p_off, w, sig_a, sig_s))
    lean = gaussian_tree(h, None, tree, covs, PRIOR_MEAN, PRIOR_SD,
                         LeafLevel(n, p_off, w, sig_a, sig_s))
    nL = len(tree.names)
    assert fast.log_evidence == pytest.approx(generic.log_evidence, abs=1e-9)
    assert lean.log_evidence == pytest.approx(generic.log_evidence, abs=1e-9)
    for L in range(nL):
        np.testing.assert_allclose(fast.mean[L], generic.mean[L], atol=1e-9)
        np.testing.assert_allclose(fast.cov[L], generic.cov[L], atol=1e-9)
        np.testing.assert_allclose(lean.mean[L], generic.mean[L], atol=1e-9)
        if L < nL - 1:
            np.testing.assert_allclose(lean.cov[L], generic.cov[L], atol=1e-9)
    par = tree.parents[-1]
    diff = generic.mean[-1] - generic.mean[-2][par]
    cr = generic.cross[-1]
    E = (diff[:, :, None] * diff[:, None, :] + generic.cov[-1] + generic.cov[-2][par]
         - cr - np.swapaxes(cr, 1, 2))
    tr_e, one_e = lean.leaf_moments
    np.testing.assert_allclose(tr_e, np.trace(E, axis1=1, axis2=2), rtol=1e-9)
    np.testing.assert_allclose(one_e, E.sum(axis=(1, 2)), rtol=1e-9)
    # the Newton steps' means-only solve
    means = gaussian_tree(h, None, tree, covs, PRIOR_MEAN, PRIOR_SD,
                          LeafLevel(n, p_off, w, sig_a, sig_s), moments=False)
    assert means.leaf_moments is None
    np.testing.assert_allclose(means.mean[-1], generic.mean[-1], atol=1e-9)
