"""The report's models: the aggregation posterior and the hierarchical confidence model.

:func:`fit_model` fits the aggregation model named by ``params.method`` and keeps its item
posteriors, confusion matrices and class priors in one encoding (:class:`Posterior`);
:func:`fit_confidence` fits the hierarchical Dawid-Skene model (Paun et al. 2018) whose
credible intervals the scorecard and the Confidence section show. The honest accuracy of the
final labels is in :mod:`insights.report.accuracy`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insights import data as _data
from insights import quality as _quality

__all__ = ["Posterior", "fit_model", "fit_confidence", "convergence_note"]


@dataclass
class Posterior:
    """Item posteriors of an aggregation model, in the encoding of ``enc``.

    ``probas`` is items x classes (rows sum to 1; gold items clamped to their gold answer),
    ``confusions`` annotators x K x K (true class x given label, rows sum to 1), ``priors`` the
    class prevalence, ``model`` the fitted estimator. ``method`` names the model that made the
    posteriors: the one :class:`insights.reliability.AutoAggregator` chose when the report asked
    for ``auto``, whose rule and scores are in ``reason``.
    """

    enc: _data.Encoded
    probas: np.ndarray
    confusions: np.ndarray
    priors: np.ndarray
    method: str
    model: Any = None
    reason: str = ""

    @property
    def labels(self) -> np.ndarray:
        return self.probas.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        return self.probas.max(axis=1)

    def frame(self) -> pd.DataFrame:
        """``probas`` as an item_id x class DataFrame (an estimator's ``probas_``)."""
        return pd.DataFrame(self.probas, index=pd.Index(self.enc.item_ids, name="item_id"),
                            columns=pd.Index(self.enc.classes, name="class"))

    def unclamped(self) -> pd.DataFrame:
        """Posteriors from the judgments alone (gold answers not clamped): one E-step with the
        fitted confusions and priors. Calibration against gold needs these, otherwise gold
        items look perfectly calibrated (the same convention as
        ``HierarchicalDawidSkene.gold_probas_``)."""
        from insights.reliability.em import log_likelihood_matrix, log_normalize

        log_c = np.log(np.clip(self.confusions, 1e-300, None))
        log_p = np.log(np.clip(self.priors, 1e-300, None))
        p, _ = log_normalize(log_likelihood_matrix(self.enc, log_c, log_p))
        return pd.DataFrame(p, index=pd.Index(self.enc.item_ids, name="item_id"),
                            columns=pd.Index(self.enc.classes, name="class"))


def fit_model(ds: _data.Dataset, method: str = "dawid-skene") -> Posterior:
    """Fit the aggregation model named ``method`` (``insights.reliability.make_aggregator``).

    Confusion matrices come from the model when it has them, otherwise from the expected
    confusions under its posteriors (:func:`insights.quality.annotator_confusions`, one
    pseudo-judgment spread over each row).
    """
    from insights import reliability

    enc = ds.encode()
    model = reliability.make_aggregator(method)
    model.fit(ds)  # shares ds's encoding; the hierarchical model also reads its teams
    p = model.probas_
    if isinstance(p, pd.DataFrame):
        p = p.reindex(index=enc.item_ids, columns=enc.classes).to_numpy(float)
    probas = np.asarray(p, dtype=float)
    confusions = priors = None
    conf = getattr(model, "confusions_", None)
    ann = getattr(model, "annotator_ids_", None)
    if conf is not None and ann is not None and len(ann) == enc.n_annotators:
        order = pd.Index(np.asarray(ann, dtype=object)).get_indexer(enc.annotator_ids)
        if (order >= 0).all():
            confusions = np.asarray(conf, float)[order]
    if confusions is None:
        confusions = _quality.annotator_confusions(enc, probas, smoothing=1.0 / enc.n_classes)
    pri = getattr(model, "priors_", None)
    if pri is not None:
        priors = np.asarray(pri, float).reshape(-1)
    if priors is None or len(priors) != enc.n_classes:
        priors = probas.mean(axis=0)
    return Posterior(enc=enc, probas=probas, confusions=confusions, priors=priors,
                     method=getattr(model, "chosen_", method), model=model,
                     reason=getattr(model, "reason_", ""))


def fit_confidence(ds: _data.Dataset, post: Posterior, *, seed: int = 0,
                   credible_level: float = 0.95):
    """The hierarchical model (:class:`insights.confidence.HierarchicalDawidSkene`, EM mode):
    the report model itself when it is the hierarchical one, else fitted on the dataset (gold
    items clamped; annotators pooled within team and market). Its convergence is reported in
    the Methods section (:func:`convergence_note`), not as a warning on the page."""
    from sklearn.exceptions import ConvergenceWarning

    from insights.confidence import HierarchicalDawidSkene

    if isinstance(post.model, HierarchicalDawidSkene):
        return post.model
    # the seed's name: random_state (scikit-learn's), random_seed in older versions
    names = HierarchicalDawidSkene().get_params()
    seed_kw = {"random_state" if "random_state" in names else "random_seed": int(seed)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return HierarchicalDawidSkene(inference="em", credible_level=credible_level,
                                      **seed_kw).fit(ds)


def convergence_note(model) -> str:
    """How an iterative model's fit ended, in words (``n_iter_``, ``converged_``)."""
    n_iter, ok = getattr(model, "n_iter_", None), getattr(model, "converged_", None)
    if n_iter is None or ok is None:
        return "not iterative"
    if ok:
        return f"converged in {n_iter} iterations"
    return (f"stopped after {n_iter} iterations without meeting the tolerance "
            f"({getattr(model, 'tol', '?')}); its estimates are the last iterate")
