"""Numerics shared by both inference modes of the hierarchical Dawid-Skene model.

Parameter layout: every node of the hierarchy (root = population mean, markets, teams,
annotators) holds error log-odds of shape ``(K, K-1)``: row ``t`` (true class) lists the
logits of the ``K-1`` wrong answers ``k != t`` in increasing ``k``; the correct answer's logit
is pinned to 0. :func:`log_confusion` turns them into log confusion matrices.

:class:`Hierarchy` describes the tree; :func:`gaussian_tree` does exact Gaussian belief
propagation on it (an upward pass of information-form messages, a downward pass of marginals),
which is how the EM mode's M-step fits the hierarchical model (see
:mod:`insights.confidence.hierarchical`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insights.confidence._leaves import LeafLevel, LeafSolve

__all__ = ["Hierarchy", "build_hierarchy", "off_diagonal", "log_confusion", "gaussian_tree",
           "second_moment", "sample_tree"]


def off_diagonal(K: int) -> np.ndarray:
    """(K, K-1) array: row ``t`` lists the classes ``k != t``."""
    return np.array([[k for k in range(K) if k != t] for t in range(K)], dtype=np.int64)


def full_logits(eta: np.ndarray) -> np.ndarray:
    """(..., K, K-1) error log-odds -> (..., K, K) logits with 0 on the diagonal."""
    K = eta.shape[-2]
    out = np.zeros(eta.shape[:-1] + (K,), dtype=float)
    rows = np.repeat(np.arange(K), K - 1)
    out[..., rows, off_diagonal(K).ravel()] = eta.reshape(eta.shape[:-2] + (K * (K - 1),))
    return out


def log_confusion(eta: np.ndarray) -> np.ndarray:
    """(..., K, K-1) error log-odds -> (..., K, K) log confusion matrices (rows sum to 1)."""
    z = full_logits(eta)
    m = z.max(axis=-1, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))


@dataclass
class Hierarchy:
    """The grouping tree: root -> market -> team -> annotator.

    A level with a single group (one market; one team per market) carries no information
    beyond its parent and is dropped, so the shared datasets (no team, no market) reduce to
    population mean + annotator offsets.

    Attributes
    ----------
    names : list of str
        Level names from the top, ``"population"`` first and ``"annotator"`` last.
    parents : list of ndarray
        ``parents[L][g]`` = index of group ``g``'s parent in level ``L-1`` (``parents[0]`` is
        empty).
    labels : list of Index
        Group names per level.
    annotator_team, annotator_market : ndarray of object
        Team and market name of every annotator (``"all"`` when unknown).
    """

    names: list
    parents: list
    labels: list
    annotator_team: np.ndarray
    annotator_market: np.ndarray
    sizes: list = field(default_factory=list)

    def __post_init__(self):
        self.sizes = [len(lab) for lab in self.labels]

    def level(self, name: str) -> int:
        return self.names.index(name)

    def ancestor(self, level: int, target: int) -> np.ndarray:
        """For every group of ``level``, the index of its ancestor in level ``target``."""
        idx = np.arange(self.sizes[level])
        for L in range(level, target, -1):
            idx = self.parents[L][idx]
        return idx


def build_hierarchy(annotator_ids: np.ndarray, table: pd.DataFrame | None) -> Hierarchy:
    """Hierarchy from an annotator table (index ``annotator_id``; ``team``, ``market``).

    Teams are nested in markets: a team name seen in two markets is two teams. Missing values
    become the group ``"all"``.
    """
    n = len(annotator_ids)
    team = np.full(n, "all", dtype=object)
    market = np.full(n, "all", dtype=object)
    if table is not None and len(table):
        t = table.reindex(pd.Index(annotator_ids))
        if "team" in t:
            team = t["team"].astype(object).where(t["team"].notna(), "all").astype(str).to_numpy(
                dtype=object)
        if "market" in t:
            market = (t["market"].astype(object).where(t["market"].notna(), "all").astype(str)
                      .to_numpy(dtype=object))
    names, parents, labels = ["population"], [np.zeros(0, np.int64)], [pd.Index(["all"])]
    m_codes, m_names = pd.factorize(market, sort=True)
    key = pd.Series(market).astype(str) + "\x1f" + pd.Series(team).astype(str)
    t_codes, t_keys = pd.factorize(key, sort=True)
    first = np.unique(t_codes, return_index=True)[1]  # first annotator of each team
    t_market = m_codes[first]
    ann_parent = np.zeros(n, np.int64)
    if len(m_names) > 1:
        names.append("market")
        parents.append(np.zeros(len(m_names), np.int64))
        labels.append(pd.Index(m_names, name="market"))
        ann_parent = m_codes.astype(np.int64)
    if len(t_keys) > len(m_names):
        names.append("team")
        parents.append(t_market.astype(np.int64) if len(m_names) > 1
                       else np.zeros(len(t_keys), np.int64))
        tnames = [k.split("\x1f", 1)[1] for k in t_keys]
        if len(set(tnames)) < len(tnames):  # same team name in two markets: qualify it
            tnames = [k.replace("\x1f", "/") for k in t_keys]
        labels.append(pd.Index(tnames, name="team"))
        ann_parent = t_codes.astype(np.int64)
    names.append("annotator")
    parents.append(ann_parent)
    labels.append(pd.Index(annotator_ids, name="annotator_id"))
    return Hierarchy(names, parents, labels, team, market)


def _segment_sum(x: np.ndarray, seg: np.ndarray, n: int) -> np.ndarray:
    """``out[g] = sum of x[i] over seg[i] == g`` (in index order: deterministic)."""
    if n == 1:
        return x.sum(axis=0, keepdims=True)
    ind = sp.csr_matrix((np.ones(len(seg)), (seg, np.arange(len(seg)))), shape=(n, len(seg)))
    return np.asarray(ind @ x.reshape(len(seg), -1)).reshape((n,) + x.shape[1:])


@dataclass
class TreePosterior:
    """Gaussian marginals of every node (per level): means (G, d), covariances (G, d, d),
    the information from below (h, D), ``cross[L] = Cov(x_child, x_parent)`` and the log
    marginal likelihood of the leaf evidence (``log_evidence``). Solved with a
    :class:`~insights.confidence._leaves.LeafLevel`, the leaves' ``cov``, ``D`` and ``cross``
    are None and ``leaf_moments`` holds ``(tr E_j, 1'E_j 1)``, the two scalars of every leaf's
    ``E_j = E[(x_j - x_p)(x_j - x_p)']`` (all the EM needs of the leaves' second moments)."""

    mean: list
    cov: list
    h: list
    D: list
    cross: list
    log_evidence: float
    leaf_moments: tuple | None = None


def _sym(a: np.ndarray) -> np.ndarray:
    return (a + np.swapaxes(a, -1, -2)) / 2


def gaussian_tree(h_leaf: np.ndarray, D_leaf: np.ndarray, tree: Hierarchy, covs: list,
                  prior_mean: float, prior_sd: float,
                  leaf: LeafSolve | LeafLevel | None = None, moments: bool = True
                  ) -> TreePosterior:
    """Exact Gaussian posterior of all node log-odds given Gaussian leaf evidence.

    Every node holds a vector of ``d = K(K-1)`` error log-odds. Model:
    ``x_root ~ N(prior_mean, prior_sd^2 I)``, ``x_child ~ N(x_parent, Sigma_L)``; the
    annotators' (leaves') data enter in information form ``exp(h'x - x'Dx/2)``.

    Upward pass: with ``P = D + Sigma^{-1}`` (positive definite even for a singular ``D``,
    e.g. an annotator who never saw some class), a child's evidence integrated over
    ``x_child`` sends its parent the precision ``D (I + Sigma D)^{-1} = D - D P^{-1} D`` and
    information ``(I + D Sigma)^{-1} h = h - D P^{-1} h``. Downward pass:
    ``x_c | x_p ~ N(P^{-1}(h_c + Sigma^{-1} x_p), P^{-1})`` gives the marginal means and
    covariances, and ``Cov(x_c, x_p) = P^{-1} Sigma^{-1} S_p``.

    The upward pass also integrates every node out: for a node with evidence ``(h, D)``,
    ``int exp(h'x - x'Dx/2) N(x; x_p, Sigma) dx = exp(c + a'x_p - x_p'A x_p/2)`` with the
    messages ``A, a`` above and ``c = -log det(I + Sigma D)/2 + h' Sigma a / 2``; the root is
    integrated against its prior. The sum is ``log_evidence``, the log marginal likelihood of
    the leaf evidence -- with evidence from a second-order expansion of the likelihood at the
    mode, the Laplace approximation of the marginal likelihood of the variance components.

    Parameters
    ----------
    h_leaf, D_leaf : ndarray (J, d) and (J, d, d)
    covs : list of ndarray (d, d) or (G_L, d, d)
        ``covs[L]`` for ``L >= 1``: covariance of level ``L`` around its parent (one per
        node when 3-D, e.g. the annotators' scale-mixture covariances).
    leaf : LeafSolve or LeafLevel, optional
        The leaf level's ``P^{-1}``, ``log det(I + Sigma D)`` and ``Sigma^{-1}`` when known
        from its structure (:func:`~insights.confidence._leaves.leaf_solve`); computed by
        LAPACK otherwise. A :class:`~insights.confidence._leaves.LeafLevel` solves the leaf
        level without any ``d x d`` matrix per leaf (``D_leaf`` unused): the leaves' means and
        ``leaf_moments`` only, what the EM iterations need.
    moments : bool
        With a ``LeafLevel``: False skips ``leaf_moments`` (the means are all a Newton step
        needs).
    """
    nL = len(tree.names)
    d = h_leaf.shape[-1]
    eye = np.eye(d)
    h = [None] * nL
    D = [None] * nL
    Pinvs = [None] * nL
    Sinvs = [None] * nL
    h[-1], D[-1] = h_leaf, D_leaf
    log_ev = 0.0
    lean = leaf if isinstance(leaf, LeafLevel) else None
    for L in range(nL - 1, 0, -1):
        if L == nL - 1 and lean is not None:
            h[L - 1], D[L - 1], ll = lean.upward(h[L], tree.parents[L], tree.sizes[L - 1])
            log_ev += ll
            D[L] = None
            continue
        Sig = covs[L]
        structured = L == nL - 1 and leaf is not None
        if structured:
            Sinv, Pinv, logdet_m = leaf.Sinv, leaf.Pinv, leaf.logdet_m
        else:
            Sinv = np.linalg.inv(Sig)
            Pinv = _sym(np.linalg.inv(D[L] + Sinv))
            logdet_m = (np.linalg.slogdet(Sig)[1]
                        - np.linalg.slogdet(Pinv)[1])  # det(I + Sigma D) = det Sigma det P
        Pinvs[L], Sinvs[L] = Pinv, Sinv
        DP = D[L] @ Pinv
        a = h[L] - (DP @ h[L][..., None])[..., 0]
        sig_a = leaf.cov_times(a) if structured else (Sig @ a[..., None])[..., 0]
        log_ev += float(-0.5 * np.sum(np.broadcast_to(logdet_m, (len(h[L]),)))
                        + 0.5 * (h[L] * sig_a).sum())
        h[L - 1] = _segment_sum(a, tree.parents[L], tree.sizes[L - 1])
        # the messages A = D - D P^{-1} D summed per parent (symmetric up to rounding:
        # symmetrised after the sum); for one parent as one contraction over the nodes
        if tree.sizes[L - 1] == 1:
            A_sum = D[L].sum(axis=0) - np.tensordot(DP, D[L], axes=([0, 2], [0, 1]))
            D[L - 1] = _sym(A_sum[None])
        else:
            D[L - 1] = _sym(_segment_sum(D[L] - DP @ D[L], tree.parents[L], tree.sizes[L - 1]))
    S0 = _sym(np.linalg.inv(D[0] + eye / prior_sd**2))
    b0 = h[0] + prior_mean / prior_sd**2
    m0 = (S0 @ b0[..., None])[..., 0]
    log_ev += float(-0.5 * np.linalg.slogdet(eye + prior_sd**2 * D[0])[1].sum()
                    + 0.5 * (b0 * m0).sum() - 0.5 * d * prior_mean**2 / prior_sd**2)
    mean, cov, cross = [m0], [S0], [None]
    leaf_moments = None
    for L in range(1, nL):
        par = tree.parents[L]
        if L == nL - 1 and lean is not None:
            one = tree.sizes[L - 1] == 1
            m, tr_e, one_e = lean.downward(h[L], mean[L - 1] if one else mean[L - 1][par],
                                           cov[L - 1] if one else cov[L - 1][par], moments)
            mean.append(m)
            cov.append(None)
            cross.append(None)
            leaf_moments = (tr_e, one_e) if moments else None
            continue
        Pinv, Sinv = Pinvs[L], Sinvs[L]
        B = leaf.times_sinv(Pinv) if L == nL - 1 and leaf is not None else Pinv @ Sinv
        if tree.sizes[L - 1] == 1:  # one parent: (G d, d) x (d, d) products, no gathers
            G = B.shape[0]
            mean.append((Pinv @ h[L][..., None])[..., 0] + B @ mean[L - 1][0])
            cr = (B.reshape(G * d, d) @ cov[L - 1][0]).reshape(G, d, d)
        else:
            mp, Sp = mean[L - 1][par], cov[L - 1][par]
            mean.append((Pinv @ h[L][..., None])[..., 0] + (B @ mp[..., None])[..., 0])
            cr = B @ Sp
        cv = Pinv + cr @ np.swapaxes(B, -1, -2)
        # the leaves' covariances enter only sums and traces against symmetric matrices:
        # not symmetrised there (the upper levels' are: they are parents)
        cov.append(cv if L == nL - 1 and leaf is not None else _sym(cv))
        cross.append(cr)
    return TreePosterior(mean, cov, h, D, cross, log_ev, leaf_moments)


def second_moment(post: TreePosterior, tree: Hierarchy, L: int) -> np.ndarray:
    """Sum over level ``L``'s nodes of ``E[(x_c - x_p)(x_c - x_p)']`` (d, d) under the
    Gaussian posterior (the EM statistic of that level's covariance; the leaf level's, from a
    :class:`~insights.confidence._leaves.LeafLevel`, is summarised by ``leaf_moments``)."""
    par = tree.parents[L]
    one = tree.sizes[L - 1] == 1  # one parent: broadcast, no gathers
    diff = post.mean[L] - (post.mean[L - 1][0] if one else post.mean[L - 1][par])
    cr = post.cross[L]
    E = (diff[:, :, None] * diff[:, None, :] + post.cov[L]
         + (post.cov[L - 1][0] if one else post.cov[L - 1][par]) - cr - np.swapaxes(cr, -1, -2))
    return E.sum(axis=0)


def sample_tree(post: TreePosterior, tree: Hierarchy, covs: list, n_draws: int,
                rng: np.random.Generator) -> list:
    """Joint draws of all node log-odds from the Gaussian posterior (top-down ancestral
    sampling). Returns a list per level of arrays (n_draws, G, d)."""
    def apply(M, x):
        """``M[g] @ x[s, g]`` for all draws s and nodes g: one batched product over the
        nodes, (G, d, d) @ (G, d, S), instead of S x G matrix-vector products."""
        Mb = np.broadcast_to(M, (x.shape[1],) + M.shape[-2:])
        return np.matmul(Mb, x.transpose(1, 2, 0)).transpose(2, 0, 1)

    Lc = np.linalg.cholesky(post.cov[0])
    z = rng.standard_normal((n_draws,) + post.mean[0].shape)
    out = [post.mean[0] + apply(Lc, z)]
    for L in range(1, len(tree.names)):
        Sinv = np.linalg.inv(covs[L])
        Pinv = _sym(np.linalg.inv(post.D[L] + Sinv))
        ch = np.linalg.cholesky(Pinv)
        xp = out[L - 1][:, tree.parents[L]]
        m = (Pinv @ post.h[L][..., None])[..., 0] + apply(Pinv @ Sinv, xp)
        z = rng.standard_normal(m.shape)
        out.append(m + apply(ch, z))
    return out
