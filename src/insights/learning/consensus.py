"""Model-and-crowd consensus: the out-of-fold model as one more, weighted voice.

In the spirit of CROWDLAB (Goh, Tkachenko & Mueller 2022): a classifier trained on the
content, scored out of fold, is combined with the crowd's judgments, weighting each by how
reliable it is. Here the combination is Bayesian: the model's probabilities, tempered by a
weight ``w``, become each item's class prior inside Dawid-Skene,

.. math::

    \\log T_{it} = w \\log q_{it} + (1 - w) \\log \\rho_t
                  + \\sum_{j,k} N_{ijk} \\log \\pi_j[t,k] - \\log Z_i ,

the annotators' confusion matrices :math:`\\pi_j` are refitted by EM, and ``w`` is the value of
a grid on [0, 2] that best predicts held-out judgments: each judgment ``r`` (item ``i``,
annotator ``j``, answer ``y``) is predicted from the posterior of its item without it,

.. math::

    \\log P(y_r \\mid \\text{rest}) = \\log \\sum_t p_{-r}(t)\\, \\pi_j[t, y]
        = -\\log \\sum_t T_{it} / \\pi_j[t, y],

and ``w`` maximises the mean of this leave-one-judgment-out log-likelihood (``w = 0`` is plain
Dawid-Skene; a model that predicts the crowd's answers earns weight, a wrong and
over-confident one loses it; the marginal likelihood :math:`\\sum_i \\log Z_i` cannot be used
for the choice, as a sharper prior always raises it once the confusions are refitted). An item
with many judgments is decided by them; an item with one or two leans on the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from insights.data import Encoded
from insights.learning._em import item_prior_em
from insights.reliability import Aggregator, DawidSkene
from insights.reliability.em import safe_log

__all__ = ["ModelCrowdConsensus", "loo_judgment_log_lik"]

_FLOOR = 1e-4


def loo_judgment_log_lik(enc: Encoded, post: np.ndarray, conf: np.ndarray) -> float:
    """Mean over judgments of :math:`-\\log \\sum_t T_{it} / \\pi_j[t, y]` (the probability of
    each judgment given its item's other evidence); gold items are left out."""
    keep = enc.gold[enc.item] < 0
    if not keep.any():
        return 0.0
    i, j, y = enc.item[keep], enc.annotator[keep], enc.label[keep]
    ratio = post[i] / np.maximum(conf[j, :, y], 1e-300)
    return float(-np.log(ratio.sum(axis=1)).mean())


class ModelCrowdConsensus(Aggregator):
    r"""Dawid-Skene with a content model's out-of-fold probabilities as a weighted item prior.

    Parameters
    ----------
    model_proba : DataFrame
        item_id x class out-of-fold probabilities (e.g. ``CrowdClassifier.oof_proba_``).
        Items it lacks get the shared class prior (``w = 0`` for them).
    weights : sequence of float, default (0, 0.25, 0.5, 0.75, 1, 1.5, 2)
        Candidate model weights; the one with the best leave-one-judgment-out log-likelihood
        is kept (``weight_``). Weights above 1 sharpen an under-confident (regularised) model.
    alpha, shrinkage : float, default 0.01, 0.5
        Confusion-row pseudo-counts, as in :class:`~insights.reliability.DawidSkene`.
    max_iter, tol : int, float
        EM stopping rule, as in :class:`~insights.reliability.DawidSkene`.

    Attributes
    ----------
    weight_ : float
        The chosen model weight ``w``.
    scores_ : Series
        weight -> mean leave-one-judgment-out log-likelihood.
    confusions_, priors_ : as in :class:`~insights.reliability.DawidSkene`
    crowd_ : DawidSkene
        The crowd-only fit (the consensus "without the model").
    labels_, probas_, classes_, item_ids_, annotator_ids_ : see
        :class:`~insights.reliability.Aggregator`.

    References
    ----------
    H. W. Goh, U. Tkachenko and J. Mueller. CROWDLAB: Supervised learning to infer consensus
    labels and quality scores for data with multiple annotators. NeurIPS 2022 Human in the
    Loop Learning Workshop (arXiv:2210.06812).
    A. P. Dawid and A. M. Skene. Applied Statistics 28(1):20-28, 1979.
    """

    def __init__(self, model_proba: pd.DataFrame | None = None,
                 weights: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0), alpha: float = 0.01,
                 shrinkage: float = 0.5, max_iter: int = 100, tol: float = 1e-6):
        self.model_proba = model_proba
        self.weights = weights
        self.alpha = alpha
        self.shrinkage = shrinkage
        self.max_iter = max_iter
        self.tol = tol

    def _fit_encoded(self, enc: Encoded) -> np.ndarray:
        if self.model_proba is None:
            raise ValueError("ModelCrowdConsensus needs model_proba (item_id x class)")
        ws = [float(w) for w in self.weights]
        if not ws or min(ws) < 0:
            raise ValueError(f"weights must be non-empty and >= 0, got {self.weights!r}")
        self.crowd_ = DawidSkene(alpha=self.alpha, shrinkage=self.shrinkage,
                                 max_iter=self.max_iter, tol=self.tol).fit(enc)
        post0 = self.crowd_.probas_.to_numpy()
        log_rho = safe_log(self.crowd_.priors_.to_numpy())
        mp = self.model_proba.reindex(columns=list(enc.classes))
        if mp.isna().all(axis=0).any():
            raise ValueError(f"model_proba lacks class columns; expected {list(enc.classes)}")
        q = mp.reindex(pd.Index(enc.item_ids)).to_numpy(dtype=float)
        has = ~np.isnan(q).any(axis=1)
        q = np.where(has[:, None], np.maximum(np.nan_to_num(q), _FLOOR), 1.0)
        log_q = np.log(q / q.sum(axis=1, keepdims=True))
        self.n_with_model_ = int(has.sum())
        best = None
        lls = {}
        for w in ws:
            lp = np.where(has[:, None], w * log_q + (1 - w) * log_rho, log_rho)
            post, conf, _ = item_prior_em(enc, post0, lp, alpha=self.alpha,
                                          shrinkage=self.shrinkage, max_iter=self.max_iter,
                                          tol=self.tol)
            ll = loo_judgment_log_lik(enc, post, conf)
            lls[w] = ll
            if best is None or ll > best[0] + 1e-9:
                best = (ll, w, post, conf)
        _, self.weight_, post, conf = best
        self.scores_ = pd.Series(lls, name="loo_log_lik").rename_axis("weight")
        self.confusions_ = conf
        self.priors_ = pd.Series(post.mean(axis=0), index=pd.Index(enc.classes, name="class"),
                                 name="prior")
        return post
