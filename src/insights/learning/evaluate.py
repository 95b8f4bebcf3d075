"""Scoring helpers: methods against each other on a test set, consensus with and without the
model against gold (every accuracy with its 95 % Wilson interval)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from insights.learning.consensus import ModelCrowdConsensus
from insights.learning.crowd import CrowdClassifier
from insights.stats import wilson_interval

__all__ = ["accuracy_row", "compare_methods", "consensus_accuracy"]


def accuracy_row(pred, truth, **extra) -> dict:
    """``accuracy`` (%), ``low``, ``high`` (95 % Wilson) and ``n`` of ``pred == truth``."""
    pred, truth = np.asarray(pred, dtype=object), np.asarray(truth, dtype=object)
    n = len(truth)
    x = int((pred == truth).sum())
    lo, hi = wilson_interval(x, n)
    return {**extra, "accuracy": 100 * x / n if n else np.nan, "low": 100 * float(lo),
            "high": 100 * float(hi), "n": n}


def compare_methods(items: pd.DataFrame, labels, test: pd.DataFrame, *,
                    methods: Sequence[str] = ("raykar", "soft", "dawid-skene", "majority"),
                    gold: pd.DataFrame | None = None, **params) -> pd.DataFrame:
    """Test accuracy of :class:`CrowdClassifier` trained with each of ``methods``.

    ``test`` holds the content columns and ``label``; ``params`` go to every classifier
    (``text_column=...`` or ``feature_columns=...``); ``gold`` is used only by ``"gold"``.
    One row per method: ``method``, ``accuracy``, ``low``, ``high``, ``n``.
    """
    y = test["label"].astype(str).to_numpy()
    rows = []
    for m in methods:
        est = CrowdClassifier(method=m, **params).fit(items, labels,
                                                      gold=gold if m == "gold" else None)
        rows.append(accuracy_row(est.predict(test), y, method=m))
    return pd.DataFrame(rows)


def consensus_accuracy(consensus: ModelCrowdConsensus, labels: pd.DataFrame,
                       truth: pd.Series) -> pd.DataFrame:
    """Accuracy of the consensus with the model and of the crowd alone (Dawid-Skene) against
    ``truth`` (item_id -> label, e.g. gold), on all items and on items with <= 2 judgments."""
    n = labels.groupby("item_id").size()
    rows = []
    for subset, ids in (("all items", consensus.labels_.index),
                        ("items with <= 2 judgments", n.index[n <= 2])):
        ids = pd.Index(ids).intersection(truth.index)
        t = truth.reindex(ids).astype(str).to_numpy()
        rows.append(accuracy_row(consensus.labels_.reindex(ids), t, items=subset,
                                 consensus="with the model"))
        rows.append(accuracy_row(consensus.crowd_.labels_.reindex(ids), t, items=subset,
                                 consensus="crowd alone (Dawid-Skene)"))
    return pd.DataFrame(rows)


def holdout(labels: pd.DataFrame, items: pd.DataFrame, truth: pd.Series, *,
            share: float = 0.3, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out a random ``share`` of the labeled items: ``(train_labels, test)``.

    ``train_labels`` are the judgments of the other items; ``test`` holds the held-out items'
    rows of ``items`` with ``label`` set from ``truth`` (item_id -> class). New frames; the
    inputs are untouched.
    """
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share!r}")
    ids = pd.unique(labels["item_id"])
    rng = np.random.default_rng(seed)
    test_ids = pd.Index(ids[rng.random(len(ids)) < share])
    train = labels[~labels["item_id"].isin(test_ids)].copy()
    test = items[items["item_id"].isin(test_ids)].copy()
    test["label"] = truth.reindex(test["item_id"]).astype(str).to_numpy()
    return train, test.reset_index(drop=True)
