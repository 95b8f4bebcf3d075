"""What to label next: the value of one more judgment (ActiveLab spirit).

In the spirit of ActiveLab (Goh & Mueller 2023), labeled and unlabeled items are ranked
together, from the model-and-crowd consensus (labeled items) and the content model
(unlabeled items). The value of one more judgment of item ``i`` is the expected drop in the
probability that its decided label is wrong when a typical annotator (the workload-weighted
mean confusion matrix :math:`\\bar\\pi` of the crowd) labels it once more:

.. math::

    V_i = \\Big(1 - \\max_t p_{it}\\Big) - \\mathbb E_y\\Big[1 - \\max_t p(t \\mid y)\\Big]
        = \\sum_y \\max_t p_{it}\\, \\bar\\pi[t, y] - \\max_t p_{it} \\;\\ge 0 ,

a one-step look-ahead (expected error reduction). It is 0 for an item no single judgment can
overturn, and among items of equal confidence it prefers those whose runner-up class a
judgment can actually bring up (with three or more classes this differs from
lowest-confidence-first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["one_more_value", "relabel_ranking", "relabel_ranking_for", "typical_confusion",
           "RELABEL_COLUMNS"]

RELABEL_COLUMNS = ["rank", "item_id", "status", "n_judgments", "label", "confidence",
                   "value"]


def typical_confusion(confusions: np.ndarray, n_judgments: np.ndarray) -> np.ndarray:
    """Workload-weighted mean confusion matrix (K x K, rows sum to 1)."""
    w = np.asarray(n_judgments, dtype=float)
    conf = np.einsum("j,jtk->tk", w, np.asarray(confusions)) / max(w.sum(), 1e-300)
    return conf / conf.sum(axis=1, keepdims=True)


def one_more_value(proba: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """Expected reduction of the error probability from one more judgment (see module)."""
    p = np.asarray(proba, dtype=float)
    joint = p[:, :, None] * confusion[None, :, :]  # (n, true, given)
    after = joint.max(axis=1).sum(axis=1)
    return np.maximum(after - p.max(axis=1), 0.0)


def relabel_ranking(consensus: pd.DataFrame, confusion: np.ndarray,
                    n_judgments: pd.Series, unlabeled: pd.DataFrame | None = None
                    ) -> pd.DataFrame:
    """Rank labeled and unlabeled items by the value of one more judgment.

    Parameters
    ----------
    consensus : DataFrame
        item_id x class posteriors of the labeled items (the model-and-crowd consensus).
    confusion : ndarray (K, K)
        A typical annotator's confusion matrix (:func:`typical_confusion`).
    n_judgments : Series
        item_id -> judgments so far.
    unlabeled : DataFrame, optional
        item_id x class model probabilities of items without judgments.

    Returns
    -------
    DataFrame
        :data:`RELABEL_COLUMNS`: ``status`` is ``labeled`` or ``unlabeled``, ``label`` and
        ``confidence`` the current decision and its probability, ``value`` the expected
        error reduction; sorted by value (descending), then confidence (ascending), then
        judgments so far (ascending), then item_id; ``rank`` starts at 1.
    """
    parts = []
    for status, frame in (("labeled", consensus), ("unlabeled", unlabeled)):
        if frame is None or len(frame) == 0:
            continue
        p = frame.to_numpy(dtype=float)
        cls = np.asarray(frame.columns, dtype=object)
        parts.append(pd.DataFrame({
            "item_id": frame.index.to_numpy(dtype=object),
            "status": status,
            "n_judgments": (n_judgments.reindex(frame.index).fillna(0).astype(int).to_numpy()
                            if status == "labeled" else 0),
            "label": cls[p.argmax(axis=1)],
            "confidence": p.max(axis=1),
            "value": one_more_value(p, confusion),
        }))
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["value", "confidence", "n_judgments", "item_id"],
                          ascending=[False, True, True, True], kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[RELABEL_COLUMNS].reset_index(drop=True)


def relabel_ranking_for(consensus, labels: pd.DataFrame,
                        unlabeled: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`relabel_ranking` from a fitted :class:`ModelCrowdConsensus` (or any fitted
    Dawid-Skene-type aggregator with ``probas_``, ``confusions_``, ``annotator_ids_``) and
    the judgments it was fitted on; the typical annotator is weighted by judgments given."""
    n_judg = labels.groupby("item_id").size()
    per_ann = (labels["annotator_id"].value_counts()
               .reindex(consensus.annotator_ids_).fillna(0).to_numpy())
    return relabel_ranking(consensus.probas_, typical_confusion(consensus.confusions_, per_ann),
                           n_judg, unlabeled)
