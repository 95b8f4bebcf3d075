"""Dawid-Skene EM with a per-item class prior (the kernel of Raykar's joint EM and of the
model-and-crowd consensus).

Same sparse encoding and smoothing as :class:`insights.reliability.DawidSkene`; the only
change is that the class prior :math:`\\rho` shared by all items is replaced by a per-item
prior :math:`q_i` (e.g. a classifier's out-of-fold probabilities):

.. math:: \\log T_{it} = \\log q_{it} + \\sum_{j,k} N_{ijk} \\log \\pi_j[t,k] - \\log Z_i.
"""

from __future__ import annotations

import numpy as np

from insights.data import Encoded
from insights.reliability.dawid_skene import DawidSkene
from insights.reliability.em import (
    expected_counts,
    log_likelihood_matrix,
    normalize_clamped,
    safe_log,
)

__all__ = ["item_prior_em", "item_prior_posterior"]


def item_prior_posterior(enc: Encoded, conf: np.ndarray, log_item_prior: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """One E-step: posteriors and per-item log marginal likelihoods ``log Z_i``."""
    zero = np.zeros(enc.n_classes)
    log_p = log_likelihood_matrix(enc, safe_log(conf), zero) + log_item_prior
    return normalize_clamped(log_p, enc.gold)


def item_prior_em(enc: Encoded, post: np.ndarray, log_item_prior: np.ndarray | None, *,
                  alpha: float = 0.01, shrinkage: float = 0.5, max_iter: int = 50,
                  tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray, float]:
    """EM from posteriors ``post`` with a fixed per-item log prior.

    Parameters
    ----------
    enc : Encoded
    post : ndarray (n_items, K)
        Starting posteriors (e.g. a fitted Dawid-Skene's ``probas_``).
    log_item_prior : ndarray (n_items, K) or None
        Fixed log prior per item; None re-estimates one shared class prior (plain DS).
    alpha, shrinkage : float
        Dirichlet pseudo-counts of the confusion rows, as in :class:`DawidSkene`.
    max_iter, tol : int, float
        Stop when the log-likelihood changes by less than ``tol`` per judgment.

    Returns
    -------
    post : ndarray (n_items, K)
    conf : ndarray (n_annotators, K, K)
    log_lik : float
        :math:`\\sum_i \\log Z_i`, the marginal log-likelihood of the judgments under the
        prior (comparable across priors: it is what the consensus weight maximises).
    """
    m_step = DawidSkene(alpha=alpha, shrinkage=shrinkage).m_step
    prev = -np.inf
    ll = -np.inf
    conf = m_step(expected_counts(enc, post))
    for _ in range(max_iter):
        if log_item_prior is None:
            lp = safe_log(post.mean(axis=0))[None, :]
        else:
            lp = log_item_prior
        post, log_z = item_prior_posterior(enc, conf, lp)
        ll = float(log_z.sum())
        conf = m_step(expected_counts(enc, post))
        if abs(ll - prev) < tol * max(enc.n_judgments, 1):
            break
        prev = ll
    return post, conf, ll
