r"""The annotator (leaf) level of the hierarchy, solved from its structure.

Leaf ``j``'s evidence precision is block diagonal, one multinomial Fisher information per true
class, :math:`D_j = \mathrm{blockdiag}_t\, n_{jt}(\mathrm{diag}(p_{jt}) - p_{jt} p_{jt}')`
(``p_off[j, t]``: the probabilities of the wrong answers, ``n[j, t]`` the expected judgments of
true class ``t``), and its prior covariance is :math:`\Sigma_j = (\sigma_a^2 I + \sigma_s^2
\mathbf{1}\mathbf{1}')/w_j`, so :math:`\Sigma_j^{-1} = c_j(I - \beta\mathbf{1}\mathbf{1}')` with
:math:`c_j = w_j/\sigma_a^2`. Then :math:`P_j = D_j + \Sigma_j^{-1}` is a block diagonal of
diagonal-minus-rank-one blocks, minus a rank-one term, and Sherman-Morrison twice gives

.. math::

    P_j^{-1} = Q_j + \gamma_j u_j u_j', \qquad
    Q_{jt} = (D_{jt} + c_j I)^{-1} = \mathrm{diag}(1/e_{jt}) + \kappa_{jt} q_{jt} q_{jt}',
    \qquad u_j = Q_j \mathbf{1},

with :math:`e = n p + c`, :math:`q = p / e`. Everything the EM needs from the leaf level comes
from these pieces in :math:`O(d\,(K-1))` per leaf instead of the :math:`O(d^3)` of dense
:math:`d \times d` algebra (``d = K(K-1)``; 20 x 20 for K = 5):

* the message to the parent: :math:`D_j - D_j P_j^{-1} D_j = \mathrm{blockdiag}_t(c_j I -
  c_j^2 Q_{jt}) - \gamma_j v_j v_j'` with :math:`v_j = D_j u_j` (because :math:`D - D(D + cI)^{-1}
  D = cI - c^2 (D + cI)^{-1}`);
* the posterior mean :math:`P_j^{-1}(h_j + \Sigma_j^{-1} m_p)` given the parent's;
* the two scalars of :math:`E_j = E[(x_j - x_p)(x_j - x_p)']` that the variance components'
  gradient and the Student-t weights use, :math:`\mathrm{tr}\,E_j` and
  :math:`\mathbf{1}'E_j\mathbf{1}` (the annotator covariance is :math:`\sigma_a^2 I + \sigma_s^2
  \mathbf{1}\mathbf{1}'`, so nothing else of :math:`E_j` enters): with :math:`M_j = P_j^{-1}D_j`,
  :math:`E_j = \delta_j\delta_j' + P_j^{-1} + M_j S_p M_j'`, where :math:`M_j' = R_j + \gamma_j
  v_j u_j'` and :math:`R_j = I - c_j Q_j` is block diagonal.

The dense :math:`P_j^{-1}` (:meth:`LeafLevel.solve`) is built only for the final Gaussian
approximation, which needs every annotator's covariance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["LeafLevel", "LeafSolve", "leaf_solve", "curvature_times"]


def curvature_times(n: np.ndarray, p: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``D_j x_j`` for the block-diagonal multinomial curvature, with ``p`` and ``x`` laid out
    (K-1, J, K) -- the wrong answers first (:class:`LeafLevel`'s layout) -- and ``n`` (J, K)."""
    px = p * x
    return n * (px - p * px.sum(axis=0))


def _indicator(parents: np.ndarray, n_parents: int) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(len(parents)), (parents, np.arange(len(parents)))),
                         shape=(n_parents, len(parents)))


@dataclass
class LeafSolve:
    """The leaf level's dense linear algebra (:meth:`LeafLevel.solve`):
    ``Pinv = (D_j + Sigma_j^{-1})^{-1}`` (J, d, d), ``logdet_m = log det(I + Sigma_j D_j)``
    (J,) and ``Sinv = Sigma_j^{-1}`` (J, d, d)."""

    Pinv: np.ndarray
    logdet_m: np.ndarray
    Sinv: np.ndarray
    a2: float
    s2: float
    w: np.ndarray
    beta: float

    def times_sinv(self, X: np.ndarray) -> np.ndarray:
        """``X_j Sigma_j^{-1} = (w_j / a^2) (X_j - beta (X_j 1) 1')`` for (J, d, d) ``X``
        (no matrix product)."""
        return ((self.w / self.a2)[:, None, None]
                * (X - self.beta * X.sum(axis=2, keepdims=True)))

    def cov_times(self, x: np.ndarray) -> np.ndarray:
        """``Sigma_j x_j`` for (J, d) ``x``, from the structure."""
        return (self.a2 * x + self.s2 * x.sum(axis=1, keepdims=True)) / self.w[:, None]


class LeafLevel:
    """The leaf level's pieces (see the module docstring) for one set of variance components.

    Internally every (J, K, K-1) quantity is held as (K-1, J, K): reductions over the short
    axis (K-1 wrong answers) and per-(annotator, class) scalings then run along long
    contiguous rows, several times faster in NumPy than over a trailing axis of length 4.

    Parameters
    ----------
    n : ndarray (J, K)
        Expected judgments of every true class per annotator.
    p_off : ndarray (J, K, K-1)
        Wrong-answer probabilities at the expansion point.
    w : ndarray (J,)
        Student-t precision weights.
    sig_a, sig_s : float
        The annotator spreads (cell-specific and overall skill).
    """

    def __init__(self, n: np.ndarray, p_off: np.ndarray, w: np.ndarray, sig_a: float,
                 sig_s: float):
        J, K, dk = p_off.shape
        self.J, self.K, self.dk, self.d = J, K, dk, K * dk
        self.n, self.w = n, np.asarray(w, dtype=float)
        self._ones = np.ones(K)
        self.p = np.ascontiguousarray(p_off.transpose(2, 0, 1))   # (dk, J, K)
        self.a2, self.s2 = sig_a**2, sig_s**2
        self.c = self.w / self.a2                      # Sigma_j^{-1} = c_j (I - beta 11')
        self.cjk = np.repeat(self.c[:, None], K, axis=1)            # (J, K)
        self.beta = self.s2 / (self.a2 + self.d * self.s2)
        gam = self.c * self.beta
        self.e = n * self.p + self.cjk
        self.ie = 1.0 / self.e
        self.q = self.p * self.ie
        kap = 1.0 - n * (self.p * self.q).sum(axis=0)
        log_kap = np.log(kap) @ self._ones
        self.kappa = n / kap                           # Q_t = diag(1/e_t) + kappa_t q_t q_t'
        self.u = self.ie + (self.kappa * self.q.sum(axis=0)) * self.q   # Q 1
        self.S = self.per_leaf(self.u)                 # 1'Q 1
        den = 1.0 - gam * self.S
        self.gamma = gam / den                         # P^{-1} = Q + gamma u u'
        logdet_p = self.per_leaf(np.log(self.e)) + log_kap + np.log(den)
        logdet_sig = ((self.d - 1) * np.log(self.a2) + np.log(self.a2 + self.d * self.s2)
                      - self.d * np.log(self.w))
        self.logdet_m = logdet_sig + logdet_p          # log det(I + Sigma_j D_j)
        self.v = self.d_times(self.u)                  # D u
        self.v_flat = self.join(self.v)

    # ---- layout and products with the structured matrices (x: (dk, J, K)) -------------------
    def per_leaf(self, x: np.ndarray) -> np.ndarray:
        """Sum over everything but the leaf axis of ``x`` in the layout (as a product with
        ones: a NumPy reduction over the two outer axes at once is several times slower)."""
        return x.sum(axis=0) @ self._ones

    def split(self, x: np.ndarray) -> np.ndarray:
        """(J or 1, d) -> the internal (dk, J or 1, K) layout."""
        return np.ascontiguousarray(x.reshape(-1, self.K, self.dk).transpose(2, 0, 1))

    def join(self, x: np.ndarray) -> np.ndarray:
        """The internal layout -> (J, d)."""
        return x.transpose(1, 2, 0).reshape(x.shape[1], self.d)

    def jk(self, x: np.ndarray) -> np.ndarray:
        """(J,) -> (J, K), repeated along K (broadcasting a (J, 1) array over the layout is
        slow)."""
        return np.multiply.outer(x, self._ones)

    def d_times(self, x: np.ndarray) -> np.ndarray:
        """``D_j x_j``."""
        return curvature_times(self.n, self.p, x)

    def q_times(self, x: np.ndarray) -> np.ndarray:
        """``Q_j x_j``."""
        return x * self.ie + (self.kappa * (self.q * x).sum(axis=0)) * self.q

    def pinv_times(self, x: np.ndarray) -> np.ndarray:
        """``P_j^{-1} x_j``."""
        return self.q_times(x) + self.jk(self.gamma * self.per_leaf(self.u * x)) * self.u

    def sinv_times(self, x: np.ndarray) -> np.ndarray:
        """``Sigma_j^{-1} x_j`` for ``x`` in the layout, one row (a single parent) or J."""
        y = x - self.beta * self.jk(x.sum(axis=0) @ self._ones)
        return self.cjk * y

    # ---- the two passes of Gaussian belief propagation ---------------------------------------
    def upward(self, h: np.ndarray, parents: np.ndarray, n_parents: int
               ) -> tuple[np.ndarray, np.ndarray, float]:
        """The leaves' messages summed per parent and their share of the log evidence.

        Returns ``(h_parent (G, d), D_parent (G, d, d), log_ev)``: the information and precision
        the parents receive, ``sum_j (I + D_j Sigma_j)^{-1} h_j`` and ``sum_j D_j - D_j P_j^{-1}
        D_j``, and ``sum_j -log det(I + Sigma_j D_j)/2 + h_j' Sigma_j a_j / 2``.
        """
        J, K, dk, d = self.J, self.K, self.dk, self.d
        hb = self.split(h)
        a = hb - self.d_times(self.pinv_times(hb))
        # h_j' Sigma_j a_j = (a^2 h_j'a_j + s^2 (1'h_j)(1'a_j)) / w_j
        h_sig_a = (self.a2 * self.per_leaf(hb * a)
                   + self.s2 * self.per_leaf(hb) * self.per_leaf(a)) / self.w
        log_ev = float(-0.5 * self.logdet_m.sum() + 0.5 * h_sig_a.sum())
        diag = self.cjk - self.cjk**2 * self.ie                   # blockdiag c I - c^2 Q ...
        qs = self.q * (self.cjk * np.sqrt(self.kappa))            # ... minus its rank-one parts
        vg = self.v_flat * np.sqrt(self.gamma)[:, None]
        qt = qs.transpose(2, 0, 1)                                 # (K, dk, J)
        if n_parents == 1:
            h_par = a.sum(axis=1).T.reshape(1, d)
            blk = qt @ qt.transpose(0, 2, 1)                       # (K, dk, dk) sums over J
            Dp = np.diag(diag.sum(axis=1).T.ravel()) - vg.T @ vg
            for t in range(K):
                Dp[t * dk:(t + 1) * dk, t * dk:(t + 1) * dk] -= blk[t]
            Dp = Dp[None]
        else:
            ind = _indicator(parents, n_parents)
            h_par = np.asarray(ind @ self.join(a))
            blocks = (qs[:, None] * qs[None, :]).transpose(2, 3, 0, 1)   # (J, K, dk, dk)
            blk = np.asarray(ind @ blocks.reshape(J, -1)).reshape(n_parents, K, dk, dk)
            Dp = -np.asarray(ind @ (vg[:, :, None] * vg[:, None, :]).reshape(J, -1)).reshape(
                n_parents, d, d)
            idx = np.arange(d)
            Dp[:, idx, idx] += np.asarray(ind @ self.join(diag))
            for t in range(K):
                Dp[:, t * dk:(t + 1) * dk, t * dk:(t + 1) * dk] -= blk[:, t]
        return h_par, (Dp + np.swapaxes(Dp, -1, -2)) / 2, log_ev

    def downward(self, h: np.ndarray, m_par: np.ndarray, S_par: np.ndarray,
                 moments: bool = True) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Posterior means of the leaves and the two scalars of their second moments.

        Parameters
        ----------
        h : ndarray (J, d)
            The leaves' information.
        m_par, S_par : ndarray (J or 1, d) and (J or 1, d, d)
            Every leaf's parent's posterior mean and covariance (one row: a single parent).
        moments : bool
            False: the means only (None for the moments).

        Returns
        -------
        mean : ndarray (J, d)
        tr_E, one_E : ndarray (J,)
            ``tr E_j`` and ``1' E_j 1`` with ``E_j = E[(x_j - x_p)(x_j - x_p)']``.
        """
        K, dk = self.K, self.dk
        mp = self.split(m_par)
        mean_l = self.pinv_times(self.split(h) + self.sinv_times(mp))
        mean = self.join(mean_l)
        if not moments:
            return mean, None, None
        diff = mean_l - mp
        g, u, q, S = self.gamma, self.u, self.q, self.S
        # tr P^{-1} and 1'P^{-1}1
        uu = self.per_leaf(u * u)
        tr_pinv = (self.per_leaf(self.ie) + (self.kappa * (q * q).sum(axis=0)) @ self._ones
                   + g * uu)
        one_pinv = S * (1.0 + g * S)
        # M S_p M' with M' = R + gamma v u', R = I - c Q = blockdiag(diag(f) - r q q')
        f = 1.0 - self.cjk * self.ie
        r = self.cjk * self.kappa                                      # (J, K)
        Ru = f * u - (r * (q * u).sum(axis=0)) * q
        G = S_par.shape[0]
        blocks = np.stack([S_par[:, t * dk:(t + 1) * dk, t * dk:(t + 1) * dk]
                           for t in range(K)], axis=1)                 # (G, K, dk, dk)
        diagS = np.diagonal(blocks, axis1=2, axis2=3).transpose(2, 0, 1)   # (dk, G, K)
        if G == 1:  # S_tt y_jt as K products (dk, dk) x (dk, J)
            def s_times(y):
                return (blocks[0] @ y.transpose(2, 0, 1)).transpose(1, 2, 0)
            Sv = self.split(self.v_flat @ S_par[0])
        else:
            def s_times(y):
                return (blocks @ y.transpose(1, 2, 0)[..., None])[..., 0].transpose(2, 0, 1)
            Sv = self.split((S_par @ self.v_flat[..., None])[..., 0])
        Sq = s_times(q)
        # tr(S R^2) per block: R^2 = diag(f^2) - r (fq q' + q fq') + r^2 |q|^2 q q'
        tr_SR2 = ((diagS * f**2).sum(axis=0) - 2 * r * (f * q * Sq).sum(axis=0)
                  + r**2 * (q * q).sum(axis=0) * (q * Sq).sum(axis=0)) @ self._ones
        vSv = self.per_leaf(Sv * self.v)
        vSRu = self.per_leaf(Sv * Ru)
        tr_MSM = tr_SR2 + 2 * g * vSRu + g**2 * uu * vSv
        one_MSM = (1.0 + g * S) ** 2 * vSv                             # M'1 = (1 + gamma S) v
        tr_E = self.per_leaf(diff**2) + tr_pinv + tr_MSM
        one_E = self.per_leaf(diff) ** 2 + one_pinv + one_MSM
        return mean, tr_E, one_E

    def solve(self) -> LeafSolve:
        """The dense ``P_j^{-1}``, ``log det(I + Sigma_j D_j)`` and ``Sigma_j^{-1}``."""
        J, K, dk, d = self.J, self.K, self.dk, self.d
        q, ie = self.q.transpose(1, 2, 0), self.ie.transpose(1, 2, 0)   # (J, K, dk)
        Pinv = np.zeros((J, d, d))
        idx = np.arange(dk)
        for t in range(K):
            sl = slice(t * dk, (t + 1) * dk)
            Pinv[:, sl, sl] = self.kappa[:, t, None, None] * q[:, t, :, None] * q[:, t, None, :]
            Pinv[:, t * dk + idx, t * dk + idx] += ie[:, t]
        uf = self.join(self.u)
        Pinv += self.gamma[:, None, None] * uf[:, :, None] * uf[:, None, :]
        base_inv = (np.eye(d) - self.beta * np.ones((d, d))) / self.a2
        return LeafSolve(Pinv, self.logdet_m, base_inv[None] * self.w[:, None, None], self.a2,
                         self.s2, self.w, self.beta)


def leaf_solve(n: np.ndarray, p_off: np.ndarray, w: np.ndarray, sig_a: float, sig_s: float
               ) -> LeafSolve:
    """The leaf level's dense inverses without a matrix inversion (:class:`LeafLevel`)."""
    return LeafLevel(n, p_off, w, sig_a, sig_s).solve()
