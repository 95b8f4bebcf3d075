"""Majority vote and Wawa (weighted majority vote with agreement-based weights)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import StrOptions

from insights.data import Encoded
from insights.reliability._base import Aggregator
from insights.reliability.em import argmax_first, clamp_gold

_VOTE_CONSTRAINTS: dict = {
    "tie_break": [StrOptions({"first", "random"})],
    "random_state": [Integral, None],
}

__all__ = ["MajorityVote", "Wawa"]


def _break_ties(scores: np.ndarray, tie_break: str, random_state) -> np.ndarray:
    if tie_break == "first":
        return argmax_first(scores)
    if tie_break != "random":
        raise ValueError(f"tie_break must be 'first' or 'random', got {tie_break!r}")
    rng = np.random.default_rng(random_state)
    is_max = scores >= scores.max(axis=1, keepdims=True) - 1e-12
    return np.argmax(is_max * (1.0 + rng.random(scores.shape)), axis=1)


class MajorityVote(Aggregator):
    r"""Majority vote: each item gets its most frequent label.

    ``probas_`` holds the vote shares :math:`n_{ik} / \sum_k n_{ik}` (repeated judgments by
    one annotator count as separate votes).

    Parameters
    ----------
    tie_break : {"first", "random"}, default "first"
        ``"first"`` (deterministic): a tie goes to the tied class that comes first in
        ``classes_`` (the declared label set, else the labels sorted as strings).
        ``"random"``: uniformly among the tied classes, drawn from ``random_state``.
    random_state : int or None, default 0
        Seed for ``tie_break="random"``; the same seed gives the same labels.

    Gold items (``fit(labels, gold)``) are reported with their gold class.

    Attributes
    ----------
    labels_ : Series
    probas_ : DataFrame
    classes_, item_ids_, annotator_ids_ : ndarray
    """

    _parameter_constraints: dict = _VOTE_CONSTRAINTS

    def __init__(self, tie_break: str = "first", random_state: int | None = 0):
        self.tie_break = tie_break
        self.random_state = random_state

    def _fit_encoded(self, enc: Encoded) -> np.ndarray:
        counts = enc.item_counts.toarray()
        self._scores = clamp_gold(counts.copy(), enc.gold)
        return clamp_gold(counts / counts.sum(axis=1, keepdims=True), enc.gold)

    def _decide(self, post: np.ndarray) -> np.ndarray:
        return _break_ties(self._scores, self.tie_break, self.random_state)


class Wawa(Aggregator):
    r"""Worker Agreement With Aggregate (Wawa): majority vote weighted by agreement.

    Step 1: majority vote (ties as in :class:`MajorityVote`). Step 2: each annotator's
    skill :math:`w_j` is the share of their judgments equal to the majority label. Step 3:
    item scores :math:`s_{ik} = \sum_j w_j n_{ijk}`; ``probas_`` are the normalised scores and
    ``labels_`` their argmax.

    Parameters
    ----------
    tie_break : {"first", "random"}, default "first"
    random_state : int or None, default 0

    Attributes
    ----------
    skills_ : Series
        annotator_id -> agreement with the majority vote.

    Gold items are reported with their gold class (skills come from the votes only).

    References
    ----------
    Appen (CrowdFlower) "Wawa"; as implemented in Toloka's crowd-kit.
    """

    _parameter_constraints: dict = _VOTE_CONSTRAINTS

    def __init__(self, tie_break: str = "first", random_state: int | None = 0):
        self.tie_break = tie_break
        self.random_state = random_state

    def _fit_encoded(self, enc: Encoded) -> np.ndarray:
        counts = enc.item_counts.toarray()
        mv = _break_ties(counts, self.tie_break, self.random_state)
        agree = (mv[enc.item] == enc.label).astype(np.float64)
        n = np.bincount(enc.annotator, minlength=enc.n_annotators)
        skill = np.bincount(enc.annotator, weights=agree, minlength=enc.n_annotators) / n
        K = enc.n_classes
        w = np.zeros((enc.n_annotators * K, K))
        rows = np.arange(enc.n_annotators * K)
        w[rows, rows % K] = np.repeat(skill, K)
        scores = np.asarray(enc.incidence @ w)
        total = scores.sum(axis=1, keepdims=True)
        # items whose every annotator has skill 0 fall back to the plain vote shares
        zero = total[:, 0] <= 0
        scores[zero] = counts[zero]
        total[zero] = counts[zero].sum(axis=1, keepdims=True)
        self.skills_ = self._annotator_series(skill, "skill")
        self._scores = clamp_gold(scores.copy(), enc.gold)
        return clamp_gold(scores / total, enc.gold)

    def _decide(self, post: np.ndarray) -> np.ndarray:
        return _break_ties(self._scores, self.tie_break, self.random_state)
