"""EM passes over fixed blocks of items, run in parallel threads.

The E-step is item-local and the M-step needs only sums over items, so one EM pass can run
on row blocks of the incidence matrix independently and add the blocks' statistics (the
design of :mod:`insights.scale`, here in memory). SciPy's sparse products and NumPy's
element-wise kernels release the GIL, so the blocks run in threads without copies of the
data: on the 2-core benchmark machine an iteration at 1e6 judgments takes 4.7 ms on two
threads against 8.6 ms on one (and 11 ms for one block of all items: a block's rows stay in
cache between the E-step and the M-step).

The block boundaries depend only on the data (about equal numbers of judgments, at most
``_MAX_BLOCKS`` blocks of at least ``_MIN_BLOCK_ITEMS`` items) and the statistics are added
in block order, so the numbers do not depend on the number of threads.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from insights.data import Encoded
from insights.reliability import em as _em

__all__ = ["ItemBlocks", "em_pass"]

_MIN_BLOCK_ITEMS, _MAX_BLOCKS = 16_384, 8


def _column_sums(post: np.ndarray) -> np.ndarray:
    """``post.sum(axis=0)``, the same numbers, four times faster for few columns."""
    return np.einsum("ik->k", post)


def em_pass(items, log_conf: np.ndarray | None, log_prior: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One EM pass on a set of whole items: E-step, then the M-step's additive statistics.

    Parameters
    ----------
    items : Encoded or a block of one
        Anything with ``incidence``, ``gold``, ``n_annotators`` and ``n_classes``.
    log_conf : ndarray (J, K_true, K_given) or None
        ``None``: the EM start, the soft majority vote (log-likelihood 0, unused).
    log_prior : ndarray (K,) or None

    Returns
    -------
    post : ndarray (n_items, K)
        Item posteriors, gold items clamped (:func:`~insights.reliability.em.e_step`).
    counts : ndarray (J, K_given, K_true)
        ``sum_i N_ijk post[i, t]``.
    post_sum : ndarray (K,)
    log_lik : float
        ``sum_i log Z_i`` (gold items scored at their gold class).
    """
    if log_conf is None:
        post, log_lik = _em.clamp_gold(_em.soft_majority(items), items.gold), 0.0
    else:
        post, log_z = _em.e_step(items, log_conf, log_prior)
        post, log_lik = np.ascontiguousarray(post), float(log_z.sum())
    return post, _em.expected_counts(items, post), _column_sums(post), log_lik


@dataclass(frozen=True)
class _Block:
    """Rows ``lo:hi`` of an encoding: what ``e_step`` and ``expected_counts`` read."""

    incidence: sp.csr_matrix
    gold: np.ndarray
    n_annotators: int
    n_classes: int


class ItemBlocks:
    """An encoding cut into item blocks, with a thread pool to run EM passes on them.

    Parameters
    ----------
    enc : Encoded
    n_jobs : int, default -1
        Threads; -1 (or None) uses every CPU. The results do not depend on it.

    Use as a context manager (the pool is shut down on exit).
    """

    def __init__(self, enc: Encoded, n_jobs: int | None = -1):
        inc = enc.incidence
        n = enc.n_items
        n_blocks = int(min(_MAX_BLOCKS, max(1, n // _MIN_BLOCK_ITEMS)))
        cuts = np.searchsorted(inc.indptr, np.linspace(0, inc.nnz, n_blocks + 1))
        cuts[0], cuts[-1] = 0, n
        self.bounds = [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:], strict=True)
                       if b > a]
        self.parts = []
        for lo, hi in self.bounds:  # views on the CSR arrays, no copy of the judgments
            a, b = inc.indptr[lo], inc.indptr[hi]
            m = sp.csr_matrix((inc.data[a:b], inc.indices[a:b], inc.indptr[lo:hi + 1] - a),
                              shape=(hi - lo, inc.shape[1]))
            self.parts.append(_Block(m, enc.gold[lo:hi], enc.n_annotators, enc.n_classes))
        self._posts: list[np.ndarray] = []
        if n_jobs is None or n_jobs < 0:
            n_jobs = os.cpu_count() or 1
        workers = min(max(int(n_jobs), 1), len(self.parts))
        self._pool = ThreadPoolExecutor(workers) if workers > 1 else None

    def __enter__(self) -> ItemBlocks:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def _map(self, fn) -> list:
        if self._pool is None:
            return [fn(b) for b in range(len(self.parts))]
        return list(self._pool.map(fn, range(len(self.parts))))

    def step(self, log_conf: np.ndarray | None, log_prior: np.ndarray | None
             ) -> tuple[np.ndarray, np.ndarray, float]:
        """:func:`em_pass` on every block; the statistics are added in block order
        (independent of the thread count). ``log_conf=None`` is the EM start.

        Returns
        -------
        counts : ndarray (J, K_given, K_true)
        post_sum : ndarray (K,)
        log_lik : float
            ``sum_i log Z_i`` (0 at the start).
        """
        results = self._map(lambda b: em_pass(self.parts[b], log_conf, log_prior))
        self._posts = [r[0] for r in results]
        _, counts, post_sum, log_lik = results[0]
        counts, post_sum = counts.copy(), post_sum.copy()
        for _, c, s, ll in results[1:]:
            counts += c
            post_sum += s
            log_lik += ll
        return counts, post_sum, log_lik

    def posteriors(self) -> np.ndarray:
        """Item posteriors of the last :meth:`step` (n_items x K)."""
        return self._posts[0] if len(self._posts) == 1 else np.concatenate(self._posts)
