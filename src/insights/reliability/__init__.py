"""Truth inference: estimate each item's true label and each annotator's reliability.

Estimators (scikit-learn style, ``fit(labels, gold=None) -> self``, then ``labels_`` and
``probas_``):

=================  ==========================  ===========================================
CLI name           class                       model
=================  ==========================  ===========================================
``majority``       :class:`MajorityVote`       most frequent label, documented tie rule
``wawa``           :class:`Wawa`               vote weighted by agreement with the majority
``dawid-skene``    :class:`DawidSkene`         full confusion matrix per annotator (EM)
``one-coin``       :class:`OneCoinDawidSkene`  one accuracy per annotator (EM)
``glad``           :class:`GLAD`               annotator ability x item difficulty (EM)
``mace``           :class:`MACE`               competence and spamming strategy (EM / VB)
``ebcc``           :class:`EBCC`               confusions per class sub-type (VB; correlated errors)
``auto``           :class:`AutoAggregator`     chooses among the above per dataset (default)
``hierarchical``   :class:`~insights.confidence.HierarchicalDawidSkene`
                                               confusions pooled within team and market
=================  ==========================  ===========================================

``make_aggregator(name, **params)`` builds one by CLI name; ``RECOMMENDED`` names the default
used by ``insights aggregate``: ``"auto"``, which chooses the model per dataset by a rule fixed
in code (:mod:`insights.reliability.auto`) and says why in ``reason_``. The EM primitives the
models share are the public module :mod:`insights.reliability.em`.
"""

from __future__ import annotations

from insights.reliability._base import Aggregator, ConvergenceWarning
from insights.reliability.auto import AutoAggregator
from insights.reliability.dawid_skene import DawidSkene, OneCoinDawidSkene
from insights.reliability.ebcc import EBCC
from insights.reliability.glad import GLAD
from insights.reliability.mace import MACE
from insights.reliability.majority import MajorityVote, Wawa

__all__ = [
    "Aggregator",
    "ConvergenceWarning",
    "MajorityVote",
    "Wawa",
    "DawidSkene",
    "OneCoinDawidSkene",
    "GLAD",
    "MACE",
    "EBCC",
    "AutoAggregator",
    "METHODS",
    "RECOMMENDED",
    "make_aggregator",
]

#: CLI method name -> estimator class.
METHODS: dict[str, type] = {
    "majority": MajorityVote,
    "wawa": Wawa,
    "dawid-skene": DawidSkene,
    "one-coin": OneCoinDawidSkene,
    "glad": GLAD,
    "mace": MACE,
    "ebcc": EBCC,
    "auto": AutoAggregator,
}

#: The default method of ``insights aggregate``: :class:`AutoAggregator`, which fits the
#: candidate models (one-coin, one-coin with fitted prior, MACE, Dawid-Skene, EBCC) and keeps
#: the one the data prefer -- by cross-fitted gold accuracy with 50+ gold items, else by
#: held-out judgment log-likelihood with the one-standard-error rule -- and reports why in
#: ``reason_``. On the 12 shared datasets with gold and no gold given it is never more than
#: 0.5 points below majority vote (see ``benchmarks/real_datasets.py`` and the README).
RECOMMENDED = "auto"


def make_aggregator(name: str | None = None, **params) -> Aggregator:
    """Build an estimator by CLI name (``None``: :data:`RECOMMENDED`) with hyper-parameters.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    """
    name = RECOMMENDED if name is None else name
    if name == "hierarchical":  # imported on demand: insights.confidence builds on this package
        from insights.confidence import HierarchicalDawidSkene

        return HierarchicalDawidSkene(**params)
    try:
        cls = METHODS[name]
    except KeyError:
        raise ValueError(
            f"unknown aggregation method {name!r}; expected one of "
            f"{sorted([*METHODS, 'hierarchical'])}"
        ) from None
    return cls(**params)
