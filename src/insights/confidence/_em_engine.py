"""The EM engine of :class:`~insights.confidence.HierarchicalDawidSkene` (``inference="em"``).

The model and the algorithm (ECME with a Laplace M-step on the hierarchy, Student-t annotator
weights, SQUAREM) are described in :mod:`insights.confidence.hierarchical`. This module holds
them as an engine with an explicit state:

* :class:`EMState` -- everything one EM iteration starts from (error log-odds of every
  annotator, the level spreads, the annotator spreads, the Student-t weights, the log class
  prior);
* :class:`HierarchicalEM` -- the constants of one fit (data, tree, priors) and the maps on
  states: :meth:`~HierarchicalEM.e_step`, :meth:`~HierarchicalEM.m_step`,
  :meth:`~HierarchicalEM.run` (SQUAREM on the packed state) and
  :meth:`~HierarchicalEM.approximation` (the Gaussian approximation at the fixed point).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from insights.confidence._leaves import LeafLevel, curvature_times, leaf_solve
from insights.confidence._tree import (
    Hierarchy,
    TreePosterior,
    gaussian_tree,
    log_confusion,
    off_diagonal,
    second_moment,
)
from insights.data import Encoded
from insights.reliability.em import (
    clamp_gold,
    e_step,
    expected_counts,
    soft_majority,
    squarem,
)

__all__ = ["EMState", "HierarchicalEM"]

#: inverse-gamma(a, b) prior on every variance component in the EM mode (weak; keeps a level
#: with two groups off exactly 0).
IG_A, IG_B = 1.0, 0.05
#: bounds of every estimated sd (log space in the optimiser and after extrapolations)
SD_MIN, SD_MAX = 1e-2, 20.0
#: Newton passes on the tree per M-step (warm-started from the previous EM step)
NEWTON_PASSES = 2


@dataclass
class EMState:
    """The hierarchical EM's state.

    Attributes
    ----------
    eta : ndarray (J, K, K-1)
        Annotators' error log-odds.
    sig : ndarray (n_levels,)
        Spread of every level's offsets (fixed levels at their fixed value; the population and
        annotator entries unused).
    sig_a, sig_s : float
        Annotator spreads: cell-specific and overall-skill parts.
    w : ndarray (J,)
        Student-t precision weights (1 for a Gaussian level).
    log_prior : ndarray (K,)
        Log class prior.
    """

    eta: np.ndarray
    sig: np.ndarray
    sig_a: float
    sig_s: float
    w: np.ndarray
    log_prior: np.ndarray


class HierarchicalEM:
    """The constants of one EM fit and the maps on :class:`EMState`.

    Parameters
    ----------
    enc : Encoded
    tree : Hierarchy
    fixed_levels : list of str
        Levels whose spread is fixed at ``few_groups_sd``.
    prior_mean, prior_sd, annotator_df, few_groups_sd : as in the estimator
    """

    def __init__(self, enc: Encoded, tree: Hierarchy, fixed_levels: list[str], *,
                 prior_mean: float, prior_sd: float, annotator_df: float | None,
                 few_groups_sd: float):
        self.enc, self.tree = enc, tree
        self.prior_mean, self.prior_sd = float(prior_mean), float(prior_sd)
        self.nu = annotator_df
        self.few_groups_sd = few_groups_sd
        K, J = enc.n_classes, enc.n_annotators
        self.K, self.J, self.nL = K, J, len(tree.names)
        self.dk = K - 1
        self.d = K * self.dk
        self._off = np.broadcast_to(off_diagonal(K), (J, K, self.dk))
        self._eye_k = np.eye(self.dk)
        self.fixed = [tree.names.index(n) for n in fixed_levels]
        self.free = [L for L in range(1, self.nL - 1) if L not in self.fixed]
        self.n_free = len(self.free)
        # packed layout: eta, log sd of the free levels, log sig_a, log sig_s, log w, log prior
        self.n_eta = J * K * self.dk
        self._cuts = np.cumsum([self.n_eta, self.n_free, 1, 1, J])
        self._w_max = np.log((self.nu + self.d) / self.nu) if self.nu is not None else 0.0

    # ---- the packed state (SQUAREM extrapolates on it) -----------------------------------
    def pack(self, s: EMState) -> np.ndarray:
        return np.concatenate([s.eta.ravel(), np.log(s.sig[self.free]), [np.log(s.sig_a)],
                               [np.log(s.sig_s)], np.log(s.w), s.log_prior])

    def unpack(self, theta: np.ndarray) -> EMState:
        eta, ls, la, lss, lw, lp = np.split(theta, self._cuts)
        sig = np.ones(self.nL)
        sig[self.fixed] = self.few_groups_sd
        sig[self.free] = np.exp(ls)
        return EMState(eta.reshape(self.J, self.K, self.dk), sig, float(np.exp(la[0])),
                       float(np.exp(lss[0])), np.exp(lw), lp - np.logaddexp.reduce(lp))

    def project(self, theta: np.ndarray) -> np.ndarray:
        """Back into the parameter space after an extrapolation (SQUAREM)."""
        eta, ls, la, lss, lw, lp = np.split(theta.copy(), self._cuts)
        np.clip(eta, -30.0, 30.0, out=eta)
        for x in (ls, la, lss):
            np.clip(x, np.log(SD_MIN), np.log(SD_MAX), out=x)
        np.clip(lw, -30.0, self._w_max, out=lw)
        return np.concatenate([eta, ls, la, lss, lw, lp - np.logaddexp.reduce(lp)])

    @property
    def variance_slice(self) -> slice:
        """The variance components' part of the packed state."""
        return slice(self.n_eta, self.n_eta + self.n_free + 2)

    @property
    def slow_slice(self) -> slice:
        """Variance components and Student-t weights: the coordinates EM moves slowly."""
        return slice(self.n_eta, self.n_eta + self.n_free + 2 + self.J)

    # ---- pieces of the M-step ------------------------------------------------------------
    def counts(self, post: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every annotator's expected judgments per true class ``n`` (J, K) and of every
        wrong answer ``c_off`` (J, K, K-1) under the item posteriors ``post``."""
        C = expected_counts(self.enc, post).transpose(0, 2, 1)  # (J, true, given)
        return C.sum(axis=2), np.take_along_axis(C, self._off, axis=2)

    def leaf_evidence(self, counts: tuple[np.ndarray, np.ndarray], eta: np.ndarray
                      ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Second-order expansion of every annotator's multinomial log-likelihood at ``eta``
        in information form ``exp(h'x - x'Dx/2)``: ``h`` (J, d) and the block-diagonal
        curvature ``D`` by its structure ``(n, p_off)`` (row totals, wrong-answer
        probabilities; :mod:`insights.confidence._leaves`)."""
        n, c_off = counts
        # wrong-answer probabilities: softmax with the correct answer's logit pinned at 0
        m = np.maximum(eta.max(axis=2, keepdims=True), 0.0)
        z = np.exp(eta - m)
        p_off = z / (np.exp(-m) + z.sum(axis=2, keepdims=True))
        g = c_off - n[..., None] * p_off
        Deta = curvature_times(n, p_off.transpose(2, 0, 1), eta.transpose(2, 0, 1))
        h = (g + Deta.transpose(1, 2, 0)).reshape(self.J, self.d)
        return h, (n, p_off)

    def dense_curvature(self, n: np.ndarray, p_off: np.ndarray) -> np.ndarray:
        """The leaves' (J, d, d) curvature ``D_j`` from its structure."""
        J, K, dk, d = self.J, self.K, self.dk, self.d
        blk = n[..., None, None] * (p_off[..., :, None] * self._eye_k
                                    - p_off[..., :, None] * p_off[..., None, :])
        D = np.zeros((J, d, d))
        for t in range(K):
            D[:, t * dk:(t + 1) * dk, t * dk:(t + 1) * dk] = blk[:, t]
        return D

    def covariances(self, sig, sig_a, sig_s, w, leaves: bool = True) -> tuple[list, np.ndarray]:
        """Prior covariance of every level's offsets and the annotators' base covariance
        (``leaves=False``: no (J, d, d) annotator covariances, ``None`` in their place, for
        :meth:`tree_posterior`, which solves that level from its structure)."""
        d = self.d
        base = sig_a**2 * np.eye(d) + sig_s**2 * np.ones((d, d))
        out = [None] + [sig[L] ** 2 * np.eye(d) for L in range(1, self.nL - 1)]
        return out + [base[None] / w[:, None, None] if leaves else None], base

    def tree_posterior(self, h, covs, structure, sig_a, sig_s, w, moments: bool = True
                       ) -> TreePosterior:
        """:func:`~insights.confidence._tree.gaussian_tree` with the leaf level solved from
        its structure (:class:`~insights.confidence._leaves.LeafLevel`): the leaves' means and
        (``moments``) ``leaf_moments``, no leaf covariances."""
        leaf = LeafLevel(*structure, w, sig_a, sig_s)
        return gaussian_tree(h, None, self.tree, covs, self.prior_mean, self.prior_sd, leaf,
                             moments)

    def leaf_scatter(self, tp: TreePosterior, sig_a: float, sig_s: float, w: np.ndarray
                     ) -> tuple[float, float, np.ndarray]:
        """What the annotator level's covariance ``B = sig_a^2 I + sig_s^2 11'`` meets of
        ``E_j = E[(x_j - x_p)(x_j - x_p)']``: with ``B^{-1} = (I - beta 11')/sig_a^2`` and
        ``E_w = sum_j w_j E_j``, returns ``tr(G)`` and ``1'G1`` of ``G = d log p / d B =
        (B^{-1} E_w B^{-1} - J B^{-1})/2``, and every annotator's ``tr(E_j B^{-1})``."""
        d, J = self.d, self.J
        a2, s2 = sig_a**2, sig_s**2
        beta = s2 / (a2 + d * s2)
        tr_e, one_e = tp.leaf_moments
        tr_w, one_w = float(w @ tr_e), float(w @ one_e)
        tr_g = ((tr_w + (beta**2 * d - 2 * beta) * one_w) / a2**2 - J * d * (1 - beta) / a2) / 2
        one_g = ((1 - beta * d) ** 2 * one_w / a2**2 - J * d * (1 - beta * d) / a2) / 2
        return tr_g, one_g, (tr_e - beta * one_e) / a2

    def fit_variances(self, h, structure, sig, sig_a, sig_s, w):
        """The variance components maximising the Laplace marginal likelihood given the leaf
        evidence and the Student-t weights (L-BFGS on log sds, exact gradient by Fisher's
        identity), and the tree posterior there (with every annotator's ``tr(E_j B^{-1})``
        for the Student-t weights)."""
        tree, free, n_free, d = self.tree, self.free, self.n_free, self.d
        bounds = [(np.log(SD_MIN), np.log(SD_MAX))] * (n_free + 2)
        last: dict = {}

        def neg(z):
            s_ = sig.copy()
            s_[free] = np.exp(z[:n_free])
            v = np.exp(2 * z)  # variances: free levels, sig_a, sig_s
            sa, ss = np.exp(z[n_free]), np.exp(z[n_free + 1])
            cv, _ = self.covariances(s_, sa, ss, w, leaves=False)
            tp = self.tree_posterior(h, cv, structure, sa, ss, w)
            tr_g, one_g, maha = self.leaf_scatter(tp, sa, ss, w)
            last.update(z=z.copy(), tp=tp, maha=maha)
            g = np.empty_like(z)
            for i, L in enumerate(free):
                g[i] = (np.trace(second_moment(tp, tree, L)) / v[i] - tree.sizes[L] * d) / 2
            g[n_free] = tr_g * v[n_free]  # d log p / d sig_a^2 = tr(G), d / d sig_s^2 = 1'G1
            g[n_free + 1] = one_g * v[n_free + 1]
            g = 2 * g  # per log sd
            vp = v[:n_free + 1]  # inverse-gamma priors on the level and sig_a variances
            g[:n_free + 1] += -2 * (IG_A + 1) + 2 * IG_B / vp
            lp = float(np.sum(-(IG_A + 1) * np.log(vp) - IG_B / vp))
            return -(tp.log_evidence + lp), -g

        z0 = np.clip(np.log(np.r_[sig[free], sig_a, sig_s]), *bounds[0])
        z = minimize(neg, z0, jac=True, method="L-BFGS-B", bounds=bounds).x
        if not np.array_equal(last["z"], z):
            neg(z)
        sig = sig.copy()
        sig[free] = np.exp(z[:n_free])
        return sig, float(np.exp(z[n_free])), float(np.exp(z[n_free + 1])), last

    # ---- the EM maps -----------------------------------------------------------------------
    def e_step(self, s: EMState) -> tuple[np.ndarray, float]:
        """Item posteriors (gold clamped) and the log-likelihood at ``s``."""
        post, log_z = e_step(self.enc, log_confusion(s.eta), s.log_prior)
        return post, float(log_z.sum())

    def m_step(self, post: np.ndarray, s: EMState) -> EMState:
        """ECME M-step from item posteriors: Newton on the tree for the log-odds, the
        variance components by maximising the Laplace marginal likelihood, one more Newton
        step under those (the variance step's last tree solve), then the E-step of the
        Student-t weights and the class prior (MAP under Dirichlet(2))."""
        C = self.counts(post)
        cv, _ = self.covariances(s.sig, s.sig_a, s.sig_s, s.w, leaves=False)
        eta = s.eta
        for _ in range(NEWTON_PASSES):  # Newton passes on the whole tree (warm-started each EM step)
            h, st = self.leaf_evidence(C, eta)
            tp = self.tree_posterior(h, cv, st, s.sig_a, s.sig_s, s.w, moments=False)
            eta = eta + np.clip(tp.mean[-1].reshape(self.J, self.K, self.dk) - eta, -2.0, 2.0)
        h, st = self.leaf_evidence(C, eta)
        sig, sig_a, sig_s, at = self.fit_variances(h, st, s.sig, s.sig_a, s.sig_s, s.w)
        # the variance step's final tree solve is a Newton step from eta under the new
        # variance components: take it (one tree solve fewer than a Newton pass of its own)
        eta = eta + np.clip(at["tp"].mean[-1].reshape(self.J, self.K, self.dk) - eta, -2.0, 2.0)
        w = s.w
        if self.nu is not None:  # E-step of the scale mixture: w_j = E[precision weight]
            w = (self.nu + self.d) / (self.nu + at["maha"])
        log_prior = np.log((post.sum(axis=0) + 1.0) / (post.shape[0] + self.K))
        return EMState(eta, sig, sig_a, sig_s, w, log_prior)

    def step(self, theta: np.ndarray) -> tuple[np.ndarray, float]:
        """One EM iteration on the packed state: ``F(theta)`` and the log-likelihood at
        ``theta``."""
        s = self.unpack(theta)
        post, ll = self.e_step(s)
        return self.pack(self.m_step(post, s)), ll

    def start(self) -> EMState:
        """The first M-step from the soft majority vote (gold clamped)."""
        sig0 = np.ones(self.nL)
        sig0[self.fixed] = self.few_groups_sd
        eta0 = np.full((self.J, self.K, self.dk), self.prior_mean)
        s0 = EMState(eta0, sig0, 1.0, 0.3, np.ones(self.J), np.zeros(self.K))
        return self.m_step(clamp_gold(soft_majority(self.enc), self.enc.gold), s0)

    def run(self, max_iter: int, tol: float, progress=None
            ) -> tuple[EMState, int, bool, list[float]]:
        """SQUAREM (Varadhan & Roland 2008, scheme S3) from :meth:`start`.

        Two EM steps, then a step of length alpha^2 along their quadratic extrapolation, then
        one EM step from there; an extrapolation whose residual is more than 10 times the
        plain one (or not finite) is rejected. Stops when one step changes the log-likelihood
        by less than ``tol`` per judgment and every log variance component by less than
        ``sqrt(tol)``. ``progress``: a tqdm bar advanced by the EM steps, or None.

        Returns the state, the EM steps taken, whether it converged and the log-likelihoods.
        """
        var = self.variance_slice
        n_judgments = self.enc.n_judgments

        def done(ll0, ll1, th1, th2):
            return (abs(ll1 - ll0) < tol * n_judgments
                    and np.abs(th2[var] - th1[var]).max() < np.sqrt(tol))

        res = squarem(self.step, self.pack(self.start()), max_evals=max_iter - 1,
                      converged=done, project=self.project, alpha_on=self.slow_slice,
                      progress=progress)
        return self.unpack(res.theta), res.n_evals + 1, res.converged, res.history

    def approximation(self, s: EMState, post: np.ndarray) -> tuple[TreePosterior, list]:
        """The Gaussian approximation of the offsets at ``s`` and the prior covariances."""
        h, st = self.leaf_evidence(self.counts(post), s.eta)
        cv, _ = self.covariances(s.sig, s.sig_a, s.sig_s, s.w)
        leaf = leaf_solve(*st, s.w, s.sig_a, s.sig_s)
        return gaussian_tree(h, self.dense_curvature(*st), self.tree, cv, self.prior_mean,
                             self.prior_sd, leaf), cv
