r"""EBCC: Enhanced Bayesian Classifier Combination (Li, Rubinstein & Cohn, ICML 2019).

Annotators' errors are often correlated: items of one true class come in sub-types (an
entity that is easy to link, one that is ambiguous), and an annotator's confusion depends on the
sub-type. EBCC models that with a mixture of ``M`` sub-types per true class and one confusion
row per annotator, class and sub-type, fitted by mean-field variational Bayes on the sparse
encoding (:attr:`insights.data.Encoded.incidence`).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln
from sklearn.utils._param_validation import Interval

from insights.data import Encoded
from insights.reliability._base import Aggregator
from insights.reliability.em import clamp_gold, log_normalize, soft_majority

__all__ = ["EBCC"]


def _dirichlet_entropy(a: np.ndarray) -> np.ndarray:
    """Entropy of Dirichlet(a) along the last axis."""
    a0 = a.sum(axis=-1)
    K = a.shape[-1]
    return (gammaln(a).sum(axis=-1) - gammaln(a0) + (a0 - K) * digamma(a0)
            - ((a - 1.0) * digamma(a)).sum(axis=-1))


def _e_log_dirichlet(a: np.ndarray) -> np.ndarray:
    return digamma(a) - digamma(a.sum(axis=-1, keepdims=True))


class EBCC(Aggregator):
    r"""EBCC: class sub-types with annotator confusions per sub-type, by variational Bayes.

    Generative model (Li, Rubinstein & Cohn 2019): class prior
    :math:`\tau \sim \mathrm{Dir}(\alpha)`; per class ``k`` sub-type weights
    :math:`\pi_k \sim \mathrm{Dir}(a_\pi / M)`; per annotator ``j``, class ``k`` and sub-type
    ``m`` a confusion row :math:`v_{jkm} \sim \mathrm{Dir}(\beta_k)` with
    :math:`\beta_{kl} = b_v + (a_v - b_v)[k = l]`; item ``i`` has class
    :math:`z_i \sim \mathrm{Cat}(\tau)` and sub-type :math:`g_i \sim \mathrm{Cat}(\pi_{z_i})`,
    and annotator ``j`` answers :math:`y_{ij} \sim \mathrm{Cat}(v_{j z_i g_i})`. Annotators
    who err together on one sub-type are correlated given the class alone, which plain
    Dawid-Skene cannot express.

    Mean-field VB, :math:`q(\tau) q(\pi) q(v) \prod_i q(z_i, g_i)`, alternates

    .. math::

        \nu_k &= \alpha_k + \textstyle\sum_i q_{ik}, \quad
        \eta_{km} = a_\pi/M + \textstyle\sum_i q_{ikm}, \quad
        \mu_{jkml} = \beta_{kl} + \textstyle\sum_i N_{ijl}\, q_{ikm} \\
        \log q_{ikm} &= E[\log\tau_k] + E[\log\pi_{km}]
            + \textstyle\sum_{j,l} N_{ijl}\, E[\log v_{jkml}] + \mathrm{const}

    where :math:`N_{ijl}` counts annotator ``j``'s answers ``l`` on item ``i``; both sums over
    judgments are one sparse product with the incidence matrix per iteration. ``alpha=None``
    is the authors' empirical prior: :math:`\alpha` = the soft majority vote's class totals.

    Start and restarts: item classes from the soft majority vote (and, with
    ``one_coin_start``, also from one-coin Dawid-Skene), split over sub-types by random
    Dirichlet(1) weights; ``n_restarts`` random splits per start, and the fit with the highest
    evidence lower bound (ELBO) is kept -- the authors' protocol (they use 40 seeds) with a
    deterministic seed sequence from ``random_state``. Gold items keep only their gold class.

    Parameters
    ----------
    n_subtypes : int, default 10
        Sub-types per class ``M`` (the authors' default).
    a_pi : float, default 0.1
        Total Dirichlet concentration of the sub-type weights (small: few sub-types in use).
    alpha : float or None, default None
        Symmetric Dirichlet parameter of the class prior; ``None``: empirical (see above).
    a_v, b_v : float, default 4.0, 1.0
        Dirichlet parameters of the confusion rows: ``a_v`` on the correct answer, ``b_v`` on
        each other one (a prior belief in better-than-chance annotators).
    max_iter : int, default 500
    tol : float, default 1e-3
        Stop when no item's class posterior moves by more than ``tol`` (the authors' rule).
    n_restarts : int, default 5
        Random sub-type splits per start.
    one_coin_start : bool, default True
        Also start from one-coin Dawid-Skene's posteriors (with fitted class priors).
    random_state : int, default 0
        Seed of the random splits (the same seed gives the same fit).

    Attributes
    ----------
    probas_, labels_ : item posteriors :math:`q_{ik}` and their argmax
    priors_ : Series
        :math:`E[\tau]`.
    confusions_ : ndarray (J, K, K)
        Each annotator's confusion marginalised over sub-types,
        :math:`\sum_m E[\pi_{km}] E[v_{jkm\cdot}]`.
    subtype_weights_ : DataFrame
        class x sub-type :math:`E[\pi_{km}]`.
    elbo_ : float
        ELBO of the kept fit (up to a constant that does not depend on the fit).
    restart_elbos_ : list of float
    n_iter_, converged_ : of the kept fit

    References
    ----------
    Y. Li, B. I. P. Rubinstein, T. Cohn. Exploiting Worker Correlation for Label Aggregation
    in Crowdsourcing. ICML 2019, PMLR 97:3886-3895. Reference code (MIT):
    github.com/yuan-li/truth-inference-at-scale.

    Examples
    --------
    >>> import pandas as pd
    >>> labels = pd.DataFrame({"item_id": list("aaabbbccc"), "annotator_id": list("uvwuvwuvw"),
    ...                        "label": ["x", "x", "y", "y", "y", "y", "x", "x", "x"]})
    >>> EBCC(n_restarts=2).fit(labels).labels_.to_dict()
    {'a': 'x', 'b': 'y', 'c': 'x'}
    """

    _parameter_constraints: dict = {
        "n_subtypes": [Interval(Integral, 1, None, closed="left")],
        "a_pi": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="neither"), None],
        "a_v": [Interval(Real, 0, None, closed="neither")],
        "b_v": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_restarts": [Interval(Integral, 1, None, closed="left")],
        "one_coin_start": ["boolean"],
        "random_state": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, n_subtypes: int = 10, a_pi: float = 0.1, alpha: float | None = None,
                 a_v: float = 4.0, b_v: float = 1.0, max_iter: int = 500, tol: float = 1e-3,
                 n_restarts: int = 5, one_coin_start: bool = True, random_state: int = 0):
        self.n_subtypes = n_subtypes
        self.a_pi = a_pi
        self.alpha = alpha
        self.a_v = a_v
        self.b_v = b_v
        self.max_iter = max_iter
        self.tol = tol
        self.n_restarts = n_restarts
        self.one_coin_start = one_coin_start
        self.random_state = random_state

    # ------------------------------------------------------------------------------------
    def _starts(self, enc: Encoded) -> list[np.ndarray]:
        mv = clamp_gold(soft_majority(enc), enc.gold)
        starts = [mv]
        if self.one_coin_start and enc.n_classes > 1:
            import warnings

            from insights.reliability.dawid_skene import OneCoinDawidSkene

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                oc = OneCoinDawidSkene(fit_priors=True, n_jobs=1)
                oc.classes_ = np.asarray(enc.classes, dtype=object)
                oc.annotator_ids_ = np.asarray(enc.annotator_ids, dtype=object)
                starts.append(oc._fit_encoded(enc))
        return starts

    def _fit_encoded(self, enc: Encoded) -> np.ndarray:
        n, J, K, M = enc.n_items, enc.n_annotators, enc.n_classes, int(self.n_subtypes)
        N = enc.incidence  # (n, J*K), column j*K + l
        Nt = N.T.tocsr()
        beta = np.full((K, K), float(self.b_v))
        beta[np.arange(K), np.arange(K)] = float(self.a_v)
        mv = soft_majority(enc)
        alpha = mv.sum(axis=0) if self.alpha is None else np.full(K, float(self.alpha))
        gold_pen = np.zeros((n, K))
        g = enc.gold >= 0
        if g.any():
            gold_pen[g] = -np.inf
            gold_pen[np.flatnonzero(g), enc.gold[g]] = 0.0
        seeds = np.random.SeedSequence(int(self.random_state))
        best = None
        elbos = []
        for start in self._starts(enc):
            for child in seeds.spawn(int(self.n_restarts)):
                rng = np.random.default_rng(child)
                qg = rng.dirichlet(np.ones(M), size=(n, K)) * start[:, :, None]
                fit = self._vb(N, Nt, qg, alpha, beta, gold_pen, J, K, M)
                elbos.append(fit["elbo"])
                if best is None or fit["elbo"] > best["elbo"]:
                    best = fit
        self.restart_elbos_ = elbos
        self.elbo_ = float(best["elbo"])
        self.n_iter_ = best["n_iter"]
        self.converged_ = best["converged"]
        nu, eta, mu = best["nu"], best["eta"], best["mu"]
        pi = eta / eta.sum(axis=1, keepdims=True)
        v = mu / mu.sum(axis=-1, keepdims=True)  # (J, K, M, L)
        self.confusions_ = np.einsum("km,jkml->jkl", pi, v)
        self.priors_ = pd.Series(nu / nu.sum(), index=pd.Index(self.classes_, name="class"),
                                 name="prior")
        self.subtype_weights_ = pd.DataFrame(pi, index=pd.Index(self.classes_, name="class"),
                                             columns=pd.RangeIndex(M, name="subtype"))
        self.accuracies_ = self._annotator_series(
            np.einsum("t,jtt->j", self.priors_.to_numpy(), self.confusions_), "accuracy")
        if not self.converged_:
            self._warn_not_converged(self.n_iter_)
        return best["z"]

    def _vb(self, N, Nt, qg, alpha, beta, gold_pen, J, K, M) -> dict:
        n = qg.shape[0]
        z = qg.sum(axis=2)
        converged = False
        n_iter = 0
        for it in range(1, int(self.max_iter) + 1):
            n_iter = it
            eta = self.a_pi / M + qg.sum(axis=0)                       # (K, M)
            nu = alpha + z.sum(axis=0)                                  # (K,)
            stats = np.asarray(Nt @ qg.reshape(n, K * M))               # (J*L, K*M)
            mu = (stats.reshape(J, K, K, M).transpose(0, 2, 3, 1)       # (J, k, m, l)
                  + beta[None, :, None, :])
            e_pi, e_tau, e_v = _e_log_dirichlet(eta), _e_log_dirichlet(nu), _e_log_dirichlet(mu)
            w = e_v.transpose(0, 3, 1, 2).reshape(J * K, K * M)          # row j*L + l
            log_q = np.asarray(N @ w).reshape(n, K, M) + e_pi[None] + e_tau[None, :, None]
            log_q += gold_pen[:, :, None]
            flat, _ = log_normalize(log_q.reshape(n, K * M))
            qg = flat.reshape(n, K, M)
            last, z = z, qg.sum(axis=2)
            if np.abs(z - last).max() < self.tol:
                converged = True
                break
        elbo = (((eta - 1) * e_pi).sum() + ((nu - 1) * e_tau).sum() + ((mu - 1) * e_v).sum()
                + _dirichlet_entropy(nu) + _dirichlet_entropy(eta).sum()
                + _dirichlet_entropy(mu).sum())
        flat = qg.reshape(n, -1)
        elbo -= float((flat * np.log(np.where(flat > 0, flat, 1.0))).sum())
        return {"z": z, "nu": nu, "eta": eta, "mu": mu, "elbo": float(elbo), "n_iter": n_iter,
                "converged": converged}
