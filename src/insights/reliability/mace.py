"""MACE: Multi-Annotator Competence Estimation (Hovy et al. 2013)."""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
from scipy.special import digamma
from sklearn.utils._param_validation import Interval

from insights.data import Encoded
from insights.reliability.dawid_skene import _ConfusionEM

__all__ = ["MACE"]


class MACE(_ConfusionEM):
    r"""MACE: each annotator is either competent or spamming on each judgment.

    Generative story (Hovy, Berg-Kirkpatrick, Vaswani & Hovy 2013): item ``i`` has a true
    class :math:`z_i \sim \mathrm{Cat}(\rho)`; on each judgment annotator ``j`` is competent
    with probability :math:`\theta_j` and then reports :math:`z_i`; otherwise they spam and
    draw a label from their own strategy :math:`\xi_j` (a distribution over classes). So

    .. math:: P(\text{says } k \mid z = t) = \theta_j [k = t] + (1 - \theta_j)\,\xi_{jk},

    a confusion matrix with ``K`` parameters per annotator, and the E-step over :math:`z` is
    the sparse Dawid-Skene E-step. The M-step first splits each annotator's expected
    "agrees with truth" counts :math:`C_j[k,k]` into competent and lucky-spam parts,

    .. math:: c_j = \sum_k C_j[k,k]\,\frac{\theta_j}{\theta_j + (1-\theta_j)\xi_{jk}},
              \qquad s_{jk} = C_j[k,k] - (\text{its competent part}) + \sum_{t\ne k} C_j[k,t],

    then :math:`\theta_j = (c_j + a)/(n_j + a + b)` and
    :math:`\xi_{jk} = (s_{jk} + g)/(\sum_k s_{jk} + K g)`. With ``variational=True`` the
    updates are the mean-field variational-Bayes ones of the paper, with
    Beta(a, b) and Dirichlet(g) priors: :math:`\exp\psi(\cdot)` replaces the ratios.

    Differences to the MACE tool: deterministic start from the soft majority vote instead of
    random restarts; class prior :math:`\rho` estimated (MACE fixes it uniform) unless
    ``fit_priors=False``; repeated judgments count separately.

    Parameters
    ----------
    max_iter : int, default 100
    tol : float, default 1e-6
        Stop when the log-likelihood changes by less than ``tol`` per judgment.
    theta_prior : tuple (a, b), default (0.5, 0.5)
        Beta pseudo-counts on competence (EM) or Beta prior parameters (VB).
    strategy_prior : float, default 1.0
        Dirichlet pseudo-count / prior parameter of the spamming strategy.
    variational : bool, default False
        Variational-Bayes updates instead of smoothed EM.
    fit_priors : bool, default True
        Estimate the class prior (MAP under Dirichlet(1 + ``prior_counts``); else uniform,
        as in MACE).
    prior_counts : float, default 1.0
        Pseudo-items per class of the Dirichlet prior on the class prior.
    n_jobs : int, default -1
        Threads for the EM passes (-1: every CPU). The items are cut into fixed blocks that
        depend only on the data, so the result does not depend on ``n_jobs``.

    Attributes
    ----------
    competence_ : Series
        annotator_id -> :math:`\theta_j` (posterior mean in VB).
    spamming_ : DataFrame
        annotator_id x class -> :math:`\xi_{jk}`, the label distribution when spamming.
    confusions_, priors_, accuracies_, labels_, probas_, n_iter_, converged_,
    log_likelihood_
        As in :class:`~insights.reliability.DawidSkene`.

    References
    ----------
    D. Hovy, T. Berg-Kirkpatrick, A. Vaswani, E. Hovy. Learning Whom to Trust with MACE.
    NAACL-HLT 2013, 1120-1130.
    """

    def __init__(self, max_iter: int = 100, tol: float = 1e-6,
                 theta_prior: tuple[float, float] = (0.5, 0.5), strategy_prior: float = 1.0,
                 variational: bool = False, fit_priors: bool = True,
                 prior_counts: float = 1.0, n_jobs: int = -1):
        self.max_iter = max_iter
        self.tol = tol
        self.theta_prior = theta_prior
        self.strategy_prior = strategy_prior
        self.variational = variational
        self.fit_priors = fit_priors
        self.prior_counts = prior_counts
        self.n_jobs = n_jobs

    _parameter_constraints: dict = {
        **_ConfusionEM._parameter_constraints,
        "theta_prior": [tuple, list],
        "strategy_prior": [Interval(Real, 0, None, closed="neither")],
        "variational": ["boolean"],
        "fit_priors": ["boolean"],
    }

    def _check_extra_params(self) -> None:
        tp = self.theta_prior
        if (len(tp) != 2 or not all(isinstance(v, Real) and np.isfinite(v) and v > 0
                                    for v in tp)):
            raise ValueError(f"The 'theta_prior' parameter of MACE must be a pair (a, b) of "
                             f"Beta parameters > 0. Got {tp!r} instead.")

    def _fit_encoded(self, enc: Encoded) -> np.ndarray:
        J, K = enc.n_annotators, enc.n_classes
        self._theta_c = np.full(J, 0.8)   # weight of "competent" (probability or exp-psi)
        self._theta_s = np.full(J, 0.2)
        self._xi = np.full((J, K), 1.0 / K)
        return super()._fit_encoded(enc)

    def prior_step(self, post_sum: np.ndarray) -> np.ndarray:
        if not self.fit_priors:
            return np.full(len(post_sum), 1.0 / len(post_sum))
        return super().prior_step(post_sum)

    def m_step(self, C: np.ndarray) -> np.ndarray:
        J, K, _ = C.shape
        a, b = self.theta_prior
        g = self.strategy_prior
        diag = np.einsum("jkk->jk", C)                      # (J, K): agrees with truth
        total_k = C.sum(axis=2)                             # (J, K): times said k
        comp_w = self._theta_c[:, None]
        spam_w = self._theta_s[:, None] * self._xi
        frac = comp_w / np.maximum(comp_w + spam_w, 1e-300)
        competent = (diag * frac).sum(axis=1)               # (J,)
        spam = total_k - diag * frac                        # (J, K)
        n = total_k.sum(axis=1)
        if self.variational:
            norm = digamma(n + a + b)
            self._theta_c = np.exp(digamma(competent + a) - norm)
            self._theta_s = np.exp(digamma(n - competent + b) - norm)
            self._xi = np.exp(digamma(spam + g) - digamma(spam.sum(axis=1, keepdims=True)
                                                          + K * g))
        else:
            self._theta_c = (competent + a) / (n + a + b)
            self._theta_s = 1.0 - self._theta_c
            self._xi = (spam + g) / (spam.sum(axis=1, keepdims=True) + K * g)
        self._competence = (competent + a) / (n + a + b)
        conf = self._theta_s[:, None, None] * self._xi[:, None, :] + np.zeros((J, K, K))
        idx = np.arange(K)
        conf[:, idx, idx] += self._theta_c[:, None]
        return conf

    def _store(self, enc, conf, prior, post):
        # report normalised matrices (VB weights are sub-normalised)
        conf = conf / conf.sum(axis=2, keepdims=True)
        super()._store(enc, conf, prior, post)
        self.competence_ = self._annotator_series(self._competence, "competence")
        xi = self._xi / self._xi.sum(axis=1, keepdims=True)
        self.spamming_ = pd.DataFrame(
            xi, index=pd.Index(self.annotator_ids_, name="annotator_id"),
            columns=pd.Index(self.classes_, name="class"))

    def spammers(self, threshold: float = 0.5) -> pd.Index:
        """Annotators whose estimated competence :math:`\\theta_j` is below ``threshold``."""
        comp = self.competence_
        return comp.index[comp.to_numpy() < threshold]
