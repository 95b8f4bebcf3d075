r"""Held-out judgments: how well a fitted model predicts labels it has not seen.

Gold answers say how good a model's *item labels* are; they say little about its *annotator*
estimates, which are what allocation and coaching decisions rest on. The check Paun et al.
(2018, "predictive accuracy") use to compare annotation models without gold is to hold out a
random share of the judgments, fit on the rest and score every held-out judgment by its
posterior predictive probability

.. math::

    p(y_{ij} \mid \text{rest}) = \sum_t P(z_i = t \mid \text{rest})\, \pi_j[t, y_{ij}]

(the item's class posterior and the annotator's confusion row, both from the rest; for the
hierarchical model the posterior mean confusion). A model whose confusions are too extreme
-- unpooled Dawid-Skene estimating 0 for an error an annotator does make -- pays
:math:`\log(\approx 0)` for it; one that pools too much misses real differences between
annotators. Higher mean log predictive probability is better.

References
----------
S. Paun, B. Carpenter, J. Chamberlain, D. Hovy, U. Kruschwitz, M. Poesio. Comparing Bayesian
Models of Annotation. TACL 6:571-585, 2018.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from insights.data import REQUIRED, SchemaError

__all__ = ["predictive_log_likelihood", "heldout_log_likelihood"]

_COLUMNS = REQUIRED["labels"]  # the data contract's labels columns


def _check_columns(labels: pd.DataFrame, what: str) -> None:
    if not isinstance(labels, pd.DataFrame):
        raise TypeError(f"{what} must be a DataFrame with columns {list(_COLUMNS)}, "
                        f"got {type(labels).__name__}")
    for col in _COLUMNS:
        if col not in labels.columns:
            raise SchemaError(f"{what}: missing required column {col!r} "
                              f"(expected {list(_COLUMNS)})", column=col)


def predictive_log_likelihood(model, heldout: pd.DataFrame) -> pd.Series:
    """Log posterior predictive probability of every held-out judgment under a fitted model.

    Parameters
    ----------
    model : fitted estimator
        Needs ``probas_`` (item x class), ``confusions_`` (annotator x true x given),
        ``annotator_ids_`` and ``classes_``: :class:`~insights.reliability.DawidSkene`,
        :class:`~insights.confidence.HierarchicalDawidSkene` and their relatives.
    heldout : DataFrame
        Judgments the model was not fitted on: ``item_id``, ``annotator_id``, ``label``.

    Returns
    -------
    Series
        Indexed like the scored rows of ``heldout``. A judgment whose item or annotator the
        model never saw, or whose label is not one of its classes, cannot be scored and is
        left out; ``result.attrs["n_skipped"]`` counts them.
    """
    _check_columns(heldout, "heldout")
    missing = [a for a in ("probas_", "confusions_", "annotator_ids_", "classes_")
               if not hasattr(model, a)]
    if missing:
        raise TypeError(f"{type(model).__name__} has no {missing[0]!r}: fit it first, or use "
                        "a model with annotator confusion matrices (e.g. DawidSkene)")
    probas = model.probas_
    item = probas.index.get_indexer(heldout["item_id"])
    ann = pd.Index(model.annotator_ids_).get_indexer(heldout["annotator_id"])
    lab = pd.Index(model.classes_).astype(str).get_indexer(heldout["label"].astype(str))
    ok = (item >= 0) & (ann >= 0) & (lab >= 0)
    p = np.einsum("nt,nt->n", probas.to_numpy()[item[ok]],
                  np.asarray(model.confusions_)[ann[ok], :, lab[ok]])
    out = pd.Series(np.log(np.clip(p, 1e-300, None)), index=heldout.index[ok],
                    name="log_predictive")
    out.attrs["n_skipped"] = int((~ok).sum())
    return out


def heldout_log_likelihood(models: dict, labels: pd.DataFrame, *, test_size: float = 0.2,
                           n_splits: int = 3, random_state: int = 0, **fit_params
                           ) -> pd.DataFrame:
    """Compare models by the mean log predictive probability of held-out judgments.

    Each split holds out a random ``test_size`` share of the judgments (the same rows for
    every model), fits a clone of every model on the rest and scores the held-out rows with
    :func:`predictive_log_likelihood`.

    Parameters
    ----------
    models : dict of name -> estimator
        Unfitted (they are cloned), e.g. ``{"DS": DawidSkene(),
        "hierarchical": HierarchicalDawidSkene()}``.
    labels : DataFrame
        ``item_id``, ``annotator_id``, ``label`` (+ any columns the models use).
    test_size : float, default 0.2
    n_splits : int, default 3
    random_state : int, default 0
    **fit_params
        Passed to every ``fit`` (e.g. ``gold=``, ``annotators=``).

    Returns
    -------
    DataFrame
        One row per model and split: ``mean_log_lik``, ``n_scored``, ``n_skipped``; the
        per-model mean over splits is ``result.groupby("model")["mean_log_lik"].mean()``.
    """
    _check_columns(labels, "labels")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size!r}")
    if n_splits < 1:
        raise ValueError(f"n_splits must be >= 1, got {n_splits!r}")
    rng = np.random.default_rng(random_state)
    rows = []
    for split in range(n_splits):
        held = rng.random(len(labels)) < test_size
        train, test = labels[~held], labels[held]
        for name, model in models.items():
            fitted = clone(model).fit(train, **fit_params)
            ll = predictive_log_likelihood(fitted, test)
            rows.append({"model": name, "split": split, "mean_log_lik": float(ll.mean()),
                         "n_scored": len(ll), "n_skipped": ll.attrs["n_skipped"]})
    return pd.DataFrame(rows)
