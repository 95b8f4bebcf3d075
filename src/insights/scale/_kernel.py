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
so, up to the order of floating-point summation, the chunked EM follows exactly the in-memory
iterates.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from insights.data import Encoded
from insights.reliability import ConvergenceWarning
from insights.reliability.dawid_skene import DawidSkene
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
    """Driver side of the chunked EM: M-step, stopping rule and history.

    Parameters are those of :class:`~insights.reliability.DawidSkene`, whose ``m_step`` and
    ``prior_step`` are called here (the M-step code is shared, not re-implemented).
    """

    def __init__(self, max_iter: int, tol: float, alpha: float, shrinkage: float):
        self.model = DawidSkene(max_iter=max_iter, tol=tol, alpha=alpha, shrinkage=shrinkage)
        self.history: list[float] = []
        self.conf: np.ndarray | None = None
        self.prior: np.ndarray | None = None
        self.converged = False

    def m_step(self, stats: ChunkStats) -> tuple[np.ndarray, np.ndarray]:
        """New parameters from summed statistics; returns ``(log_conf, log_prior)``."""
        self.conf = self.model.m_step(stats.counts)
        self.prior = self.model.prior_step(stats.post_sum)
        return safe_log(self.conf), safe_log(self.prior)

    def record(self, stats: ChunkStats) -> bool:
        """Record an E-step's log-likelihood; True when EM has converged (DawidSkene's rule:
        ``|Δ log L| < tol * n_judgments``)."""
        self.history.append(stats.log_lik)
        if len(self.history) > 1 and (abs(self.history[-1] - self.history[-2])
                                      < self.model.tol * stats.n_judgments):
            self.converged = True
        return self.converged

    def set_results(self, est) -> None:
        """The fitted attributes of a chunked estimator (``est.classes_`` and
        ``est.annotator_ids_`` already set): ``confusions_``, ``priors_``, ``accuracies_``,
        ``n_iter_``, ``converged_``, ``log_likelihood_``; warns when EM did not converge."""
        est.confusions_ = self.conf
        est.priors_ = pd.Series(self.prior, index=pd.Index(est.classes_, name="class"),
                                name="prior")
        est.accuracies_ = pd.Series(np.einsum("t,jtt->j", self.prior, self.conf),
                                    index=pd.Index(est.annotator_ids_, name="annotator_id"),
                                    name="accuracy")
        est.n_iter_ = len(self.history)
        est.converged_ = self.converged
        est.log_likelihood_ = self.history
        if not self.converged:
            warnings.warn(f"{type(est).__name__} did not converge in {est.n_iter_} iterations "
                          f"(tol={self.model.tol}); increase max_iter or tol",
                          ConvergenceWarning, stacklevel=3)
