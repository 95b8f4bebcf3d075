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
from insights.reliability._base import clamp_gold, e_step, expected_counts, soft_majority

__all__ = ["ItemBlocks"]

_MIN_BLOCK_ITEMS, _MAX_BLOCKS = 16_384, 8


def _column_sums(post: np.ndarray) -> np.ndarray:
    """``post.sum(axis=0)``, the same numbers, four times faster for few columns."""
    return np.einsum("ik->k", post)


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

    @staticmethod
    def _add(results: list) -> tuple:
        """Add the blocks' statistics in block order (independent of the thread count)."""
        out = [np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in results[0]]
        for r in results[1:]:
            for i, x in enumerate(r):
                out[i] = out[i] + x
        return tuple(out)

    def start(self) -> tuple[np.ndarray, np.ndarray]:
        """M-step statistics of the EM start: the soft majority vote, gold items clamped.

        Returns ``C[j, given, true]`` and ``sum_i post_i``.
        """
        def run(b):
            part = self.parts[b]
            post = clamp_gold(soft_majority(part), part.gold)
            return expected_counts(part, post), _column_sums(post)

        return self._add(self._map(run))

    def step(self, log_conf: np.ndarray, log_prior: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, float]:
        """E-step (gold clamped, :func:`~insights.reliability._base.e_step`), then the next
        M-step's statistics.

        Returns
        -------
        counts : ndarray (J, K_given, K_true)
        post_sum : ndarray (K,)
        log_lik : float
            ``sum_i log Z_i``.
        """
        def run(b):
            post, log_z = e_step(self.parts[b], log_conf, log_prior)
            post = np.ascontiguousarray(post)
            return post, expected_counts(self.parts[b], post), _column_sums(post), log_z.sum()

        results = self._map(run)
        self._posts = [r[0] for r in results]
        counts, post_sum, log_lik = self._add([r[1:] for r in results])
        return counts, post_sum, float(log_lik)

    def posteriors(self) -> np.ndarray:
        """Item posteriors of the last :meth:`step` (n_items x K)."""
        return self._posts[0] if len(self._posts) == 1 else np.concatenate(self._posts)
