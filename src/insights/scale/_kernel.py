"""The Dawid-Skene EM kernel split into per-chunk statistics and a driver-side M-step.

:class:`~insights.reliability.DawidSkene` runs EM on one in-memory encoding. Because its
E-step is item-local and its M-step only needs sums over items, the same iteration can run
on any partition of the items into chunks (a Parquet stream, Spark partitions):

* per chunk (whole items only), with the current small parameters ``log pi`` (J x K x K) and
  ``log rho`` (K): the item posteriors ``T`` (E-step, or the soft majority vote on the first
  pass), and from them the additive statistics ``C = N.T @ T`` (J x K_given x K_true),
  ``sum_i T_i`` (K) and ``sum_i log Z_i``;
* on the driver: add the chunks' statistics and apply the M-step.

The per-chunk pass is the in-memory estimator's own (:func:`insights.reliability.em.em_pass`,
which DawidSkene runs on its item blocks) and the M-step is ``DawidSkene.m_step``/``prior_step``;
and the iteration (plain or SQUAREM) is ``DawidSkene.run_em``; so, up to the order of
floating-point summation, the chunked EM follows exactly the in-memory iterates.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from insights.data import Encoded
from insights.reliability import ConvergenceWarning
from insights.reliability.dawid_skene import DawidSkene, EMRun
from insights.reliability.em import em_pass, safe_log

__all__ = ["ChunkStats", "chunk_encoded", "chunk_stats", "Driver"]


def chunk_encoded(item: np.ndarray, annotator: np.ndarray, label: np.ndarray, n_annotators: int,
                  n_classes: int, gold: np.ndarray | None = None) -> Encoded:
    """An :class:`~insights.data.Encoded` view of one chunk of whole items.

    ``item`` holds chunk-local item codes ``0..n-1``; ``annotator`` and ``label`` hold the
    global codes, so the chunk's incidence matrix has the global (annotator, label) columns.
    ``gold`` (per local item, -1 = none) defaults to no gold.
    """
    item = np.asarray(item)
    n_items = int(item.max()) + 1 if item.size else 0
    if gold is None:
        gold = np.full(n_items, -1, dtype=np.int64)
    return Encoded(
        item_ids=np.arange(n_items),
        annotator_ids=np.arange(n_annotators),
        classes=np.arange(n_classes),
        item=item.astype(np.int32, copy=False),
        annotator=np.asarray(annotator).astype(np.int32, copy=False),
        label=np.asarray(label).astype(np.int32, copy=False),
        gold=np.asarray(gold, dtype=np.int64),
    )


@dataclass
class ChunkStats:
    """Additive M-step statistics of a set of items."""

    counts: np.ndarray       # (J, K_given, K_true) expected counts
    post_sum: np.ndarray     # (K,) sum of item posteriors
    log_lik: float = 0.0
    n_items: int = 0
    n_judgments: int = 0

    def __iadd__(self, other: ChunkStats) -> ChunkStats:
        self.counts += other.counts
        self.post_sum += other.post_sum
        self.log_lik += other.log_lik
        self.n_items += other.n_items
        self.n_judgments += other.n_judgments
        return self

    @classmethod
    def zeros(cls, n_annotators: int, n_classes: int) -> ChunkStats:
        K = n_classes
        return cls(np.zeros((n_annotators, K, K)), np.zeros(K))


def chunk_stats(enc: Encoded, log_conf: np.ndarray | None, log_prior: np.ndarray | None
                ) -> tuple[ChunkStats, np.ndarray]:
    """E-step on one chunk and its M-step statistics; returns ``(stats, posteriors)``.

    :class:`~insights.reliability.DawidSkene`'s own pass
    (:func:`~insights.reliability.em.em_pass`): with ``log_conf=None`` the EM start (soft
    majority vote, gold clamped), otherwise the E-step with gold items clamped and scored at
    their gold class.
    """
    post, counts, post_sum, log_lik = em_pass(enc, log_conf, log_prior)
    return ChunkStats(counts, post_sum, log_lik, enc.n_items, enc.n_judgments), post


class Driver:
    """Driver side of the chunked EM: the iteration, stopping rule and history.

    Parameters are those of :class:`~insights.reliability.DawidSkene`, whose
    :meth:`~insights.reliability.DawidSkene.run_em` runs the iteration here (plain or
    SQUAREM-accelerated, with the same M-step and stopping rule: shared, not re-implemented)
    over the chunked E-step.
    """

    def __init__(self, max_iter: int, tol: float, alpha: float, shrinkage: float,
                 acceleration: str | None = "squarem"):
        self.model = DawidSkene(max_iter=max_iter, tol=tol, alpha=alpha, shrinkage=shrinkage,
                                acceleration=acceleration)
        self.model._validate_params()
        self.result: EMRun | None = None
        self.last: ChunkStats | None = None

    def run(self, e_pass: Callable[[tuple | None], ChunkStats], n_judgments: int,
            n_annotators: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
        """Run EM with ``e_pass(params) -> ChunkStats`` over all the chunks (``params`` is
        ``(log_conf, log_prior)``, or None for the soft-majority start); returns the final
        ``(log_conf, log_prior)``. ``last`` keeps the statistics of the last pass."""
        def stats(log_conf, log_prior):
            self.last = e_pass(None if log_conf is None else (log_conf, log_prior))
            return self.last.counts, self.last.post_sum, self.last.log_lik

        self.result = self.model.run_em(stats, n_judgments, n_annotators, n_classes)
        return safe_log(self.result.conf), safe_log(self.result.prior)

    def set_results(self, est) -> None:
        """The fitted attributes of a chunked estimator (``est.classes_`` and
        ``est.annotator_ids_`` already set): ``confusions_``, ``priors_``, ``accuracies_``,
        ``n_iter_``, ``converged_``, ``log_likelihood_``; warns when EM did not converge."""
        r = self.result
        est.confusions_ = r.conf
        est.priors_ = pd.Series(r.prior, index=pd.Index(est.classes_, name="class"),
                                name="prior")
        est.accuracies_ = pd.Series(np.einsum("t,jtt->j", r.prior, r.conf),
                                    index=pd.Index(est.annotator_ids_, name="annotator_id"),
                                    name="accuracy")
        est.n_iter_ = r.n_iter
        est.converged_ = r.converged
        est.log_likelihood_ = r.history
        if not r.converged:
            warnings.warn(f"{type(est).__name__} did not converge in {est.n_iter_} iterations "
                          f"(tol={self.model.tol}); increase max_iter or tol",
                          ConvergenceWarning, stacklevel=3)
