r"""The default aggregator: choose the model from the data, by a rule fixed in code.

No single truth-inference model wins on every log: full Dawid-Skene over-trusts heavy
annotators when errors are correlated, one-coin models lose on class-biased annotators, EBCC
needs enough items per class for its sub-types. :class:`AutoAggregator` fits a few candidate
models and keeps the one the data prefer, scored honestly:

1. **Enough gold** (at least ``min_gold`` gold items with judgments): cross-fitted accuracy on
   gold. The gold items are cut into ``n_folds`` folds; for each fold every candidate is fitted
   with the *other* folds' gold clamped and scored on the hidden fold's gold items (the
   gold accuracy of labels it did not see). With ``weight_gold=True`` each gold item is
   weighted by its class's estimated share of the log over its share of the gold, for gold
   sets known to over-represent a class.
2. **Otherwise**: held-out judgment log-likelihood (Paun et al. 2018;
   :func:`insights.confidence.predictive_log_likelihood`). A random ``test_size`` share of the
   judgments is held out (only judgments whose item and annotator keep other judgments), every
   candidate is fitted on the rest and scores every held-out judgment by its log posterior
   predictive probability.
3. **Fallback**: when neither can be computed (fewer than ``min_heldout`` scorable held-out
   judgments: a tiny log), the first candidate is used and ``reason_`` says so.

In 2 the score is only a proxy for accuracy, and a model with more parameters per annotator
predicts judgments better by fitting annotator quirks that do not change the labels; so the
per-judgment scores are compared *paired*: the best candidate by mean score is found, then the
chosen one is the *first* candidate in ``candidates`` (ordered by parameters per annotator:
simplest first) whose mean score is within ``n_se`` standard errors of the paired difference
from the best -- the "one-standard-error rule" of Breiman, Friedman, Olshen & Stone (1984):
among models the data cannot tell apart, the simplest.

In 1 accuracy -- the quantity the user cares about -- is measured directly, but on as few as
``min_gold`` items its differences are mostly noise (one standard error is 4-5 points at 50-70
items). So the candidate with the highest cross-fitted accuracy is chosen only when the others
are more than ``n_se`` standard errors (of the paired difference) behind it; the candidates the
gold cannot tell apart from the best are compared by rule 2 (held-out judgments, scored on the
same log), which brings the evidence of every judgment, not only of the gold items' (exact ties
on both go to the candidate that comes first in ``candidates``).

Cost: the scoring runs on at most ``max_selection_judgments`` judgments (a random subset of
whole items when the log is larger: every candidate is cheap there), then the chosen model is
fitted once on everything. At 1e7 judgments that is one full fit plus a few fits on 2e5.
"""

from __future__ import annotations

import logging
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils._param_validation import Interval

from insights.data import Encoded
from insights.reliability._base import Aggregator

__all__ = ["AutoAggregator", "default_candidates"]

logger = logging.getLogger(__name__)


def default_candidates() -> dict[str, Aggregator]:
    """The candidate models of :class:`AutoAggregator`, simplest first.

    ``one-coin`` (one accuracy per annotator, uniform class prior), ``one-coin-prior`` (the
    same with a fitted class prior), ``mace`` (competence and a spamming distribution: K
    parameters per annotator), ``dawid-skene`` (full confusions, smoothed: K(K-1)) and
    ``ebcc`` (confusions per class sub-type: correlated errors).
    """
    from insights.reliability.dawid_skene import DawidSkene, OneCoinDawidSkene
    from insights.reliability.ebcc import EBCC
    from insights.reliability.mace import MACE

    return {"one-coin": OneCoinDawidSkene(), "one-coin-prior": OneCoinDawidSkene(fit_priors=True),
            "mace": MACE(), "dawid-skene": DawidSkene(), "ebcc": EBCC()}

#: Candidates too slow for large logs: left out when judgments x classes^2 exceeds this (EBCC's
#: variational updates cost K * M dense columns per judgment, M = 10 sub-types, its iterations
#: grow with K, and it restarts; measured on the 2-core machine: 1.05 s at 20,000 judgments
#: with K = 2 (80k units), 18.5 s at 36,775 judgments with K = 5 (919k units). The limit keeps
#: one EBCC fit to a few seconds, and EBCC in the choice on every shared dataset).
EXPENSIVE = {"ebcc": 200_000}


def _subset(enc: Encoded, keep: np.ndarray) -> tuple[Encoded, np.ndarray, np.ndarray]:
    """The judgments ``keep`` (bool mask) of an encoding, items and annotators re-coded;
    also the old codes of the new items and annotators (sorted)."""
    item_u, item = np.unique(enc.item[keep], return_inverse=True)
    ann_u, ann = np.unique(enc.annotator[keep], return_inverse=True)
    sub = Encoded(item_ids=enc.item_ids[item_u], annotator_ids=enc.annotator_ids[ann_u],
                  classes=enc.classes, item=item.astype(np.int32),
                  annotator=ann.astype(np.int32), label=enc.label[keep],
                  gold=enc.gold[item_u])
    return sub, item_u, ann_u


def _with_gold(enc: Encoded, gold: np.ndarray) -> Encoded:
    return Encoded(item_ids=enc.item_ids, annotator_ids=enc.annotator_ids, classes=enc.classes,
                   item=enc.item, annotator=enc.annotator, label=enc.label, gold=gold)


class AutoAggregator(Aggregator):
    r"""The default truth-inference model: chooses among candidate models per dataset.

    See the module docstring for the rule (cross-fitted gold accuracy with enough gold, else
    held-out judgment log-likelihood, else Dawid-Skene). After :meth:`fit` it behaves like
    the chosen model: ``labels_``, ``probas_``, ``confusions_``, ``priors_`` (and the chosen
    model's other attributes through ``model_``).

    Parameters
    ----------
    candidates : dict of name -> estimator, or None
        Unfitted candidates in order of preference (``None``: :func:`default_candidates`).
    min_gold : int, default 50
        Gold items (with judgments) needed to choose by gold accuracy: with 50 items split in
        5 folds the accuracy of a candidate is measured on all 50, standard error about
        0.04 at 85 % accuracy -- enough to separate models that differ by several points,
        which is what the choice is for.
    n_folds : int, default 5
        Gold folds of the cross-fitting.
    test_size : float, default 0.2
        Share of the judgments held out for the log-likelihood rule.
    min_heldout : int, default 50
        Scorable held-out judgments needed for the log-likelihood rule.
    weight_gold : bool, default False
        Gold rule: weight each gold item by its class's estimated share of the log over its
        share of the gold, so the score estimates accuracy on the log's class mix rather than
        the gold set's (a label-shift correction: Saerens, Latinne & Decaestecker 2002). For
        gold known to be a class-skewed sample (audits of a rare class, escalations):
        unweighted, such a gold set prefers a model without a class prior and can choose one
        worse than majority vote on the log. The log's class mix is the mean posterior of
        the candidates' fits over the items without gold, so it is only as good as they are:
        where annotators over-use one class the models share that bias (face4: 47 % for a
        class that is 25 %), and weighting by it then favours the biased models -- which is
        why it is off by default (on random 10 % gold of the shared datasets it changed 2 of
        35 choices, both for the worse).
    n_se : float, default 1.0
        Held-out log-likelihood rule: the simplest candidate within this many standard errors
        (of the paired difference) of the best is chosen; 0 chooses the best mean score. Gold
        rule: the candidates within this many standard errors of the best gold accuracy are
        compared by the held-out log-likelihood rule; 0 chooses the best gold accuracy.
    max_selection_judgments : int, default 200_000
        The scoring runs on a random subset of whole items with about this many judgments.
    random_state : int, default 0
        Seed of the folds, the held-out judgments and the subset (and passed to nothing
        else: the candidates keep their own seeds).

    Attributes
    ----------
    chosen_ : str
        Name of the chosen candidate.
    reason_ : str
        One plain sentence: which model and why.
    selection_ : DataFrame
        One row per candidate: ``score``, ``se_vs_best``, ``rule`` (``"gold accuracy"``,
        ``"held-out log-likelihood"`` or ``"fallback"``), ``best``, ``heldout_score`` (the
        held-out log-likelihood of the candidates the gold rule could not tell apart, else
        NaN), ``chosen``.
    gold_mix_ : DataFrame or None
        Gold rule: per class, its share of the gold items (``gold``) and its estimated share
        of the log (``log_estimate``; see ``weight_gold``); None under the other rules.
    model_ : Aggregator
        The chosen model, fitted on all the data.
    labels_, probas_, confusions_, priors_, n_iter_, converged_
        Those of ``model_``.

    References
    ----------
    S. Paun, B. Carpenter, J. Chamberlain, D. Hovy, U. Kruschwitz, M. Poesio. Comparing
    Bayesian Models of Annotation. TACL 6:571-585, 2018 (held-out judgment likelihood).
    """

    _parameter_constraints: dict = {
        "candidates": [dict, None],
        "min_gold": [Interval(Integral, 2, None, closed="left")],
        "n_folds": [Interval(Integral, 2, None, closed="left")],
        "test_size": [Interval(Real, 0, 1, closed="neither")],
        "min_heldout": [Interval(Integral, 1, None, closed="left")],
        "n_se": [Interval(Real, 0, None, closed="left")],
        "weight_gold": ["boolean"],
        "max_selection_judgments": [Interval(Integral, 1, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, candidates: dict | None = None, min_gold: int = 50, n_folds: int = 5,
                 test_size: float = 0.2, min_heldout: int = 50, n_se: float = 1.0,
                 weight_gold: bool = False, max_selection_judgments: int = 200_000,
                 random_state: int = 0):
        self.candidates = candidates
        self.min_gold = min_gold
        self.n_folds = n_folds
        self.test_size = test_size
        self.min_heldout = min_heldout
        self.n_se = n_se
        self.weight_gold = weight_gold
        self.max_selection_judgments = max_selection_judgments
        self.random_state = random_state

    def _candidates(self, n_judgments: int, n_classes: int = 2) -> dict[str, Aggregator]:
        cands = default_candidates() if self.candidates is None else self.candidates
        if not cands:
            raise ValueError("AutoAggregator needs at least one candidate model")
        return {name: clone(est) for name, est in cands.items()
                if name not in EXPENSIVE or n_judgments * n_classes**2 <= EXPENSIVE[name]}

    def _fit_encoded(self, enc: Encoded) -> np.ndarray:
        rng = np.random.default_rng(self.random_state)
        cands = self._candidates(enc.n_judgments, enc.n_classes)
        sel = self._selection_sample(enc, rng)
        self._sampled = sel is not enc
        n_gold = int((sel.gold >= 0).sum())
        self.gold_mix_ = None
        scores, rule = None, "fallback"
        if len(cands) > 1 and n_gold >= self.min_gold:
            scores, rule = self._gold_scores(sel, cands, rng), "gold accuracy"
        elif len(cands) > 1:
            scores = self._heldout_scores(sel, cands, rng)
            rule = "held-out log-likelihood" if scores is not None else "fallback"
        names = list(cands)
        if scores is None:
            chosen, best = names[0], names[0]
            means = {n: np.nan for n in names}
            ses = dict(means)
        else:
            means, ses, best, chosen = self._one_se(scores, names, self.n_se)
        tie = {n: np.nan for n in names}
        tied: list[str] = []
        if rule == "gold accuracy":
            tied = [n for n in names if means[n] >= means[best] - self.n_se * ses[n] - 1e-12]
            chosen = best
            ll = None
            if len(tied) > 1:
                try:
                    ll = self._heldout_scores(sel, {n: cands[n] for n in tied}, rng)
                except TypeError:  # a candidate without confusions_: the gold decides alone
                    ll = None
            if ll is not None:  # the gold cannot tell these apart: held-out judgments decide
                tie.update({n: float(np.mean(v)) for n, v in ll.items()})
                chosen = self._one_se(ll, tied, self.n_se)[3]
        self.chosen_ = chosen
        self.selection_ = pd.DataFrame(
            {"score": [means[n] for n in names], "se_vs_best": [ses[n] for n in names],
             "rule": rule, "best": [n == best for n in names],
             "heldout_score": [tie[n] for n in names],
             "chosen": [n == chosen for n in names]},
            index=pd.Index(names, name="candidate"))
        self.reason_ = self._reason(chosen, rule, means, sel, n_gold, tied)
        logger.info("AutoAggregator: %s", self.reason_)
        model = cands[chosen]
        model.classes_ = self.classes_
        model.item_ids_ = self.item_ids_
        model.annotator_ids_ = self.annotator_ids_
        post = model._fit_encoded(enc)
        model._set_outputs(post)
        self.model_ = model
        for attr in ("confusions_", "priors_", "accuracies_", "n_iter_", "converged_"):
            if hasattr(model, attr):
                setattr(self, attr, getattr(model, attr))
        return post

    @staticmethod
    def _one_se(scores: dict[str, np.ndarray], names: list[str], n_se: float
                ) -> tuple[dict, dict, str, str]:
        """Mean scores, standard errors of the paired differences to the best, the best and
        the first of ``names`` within ``n_se`` standard errors of it."""
        means = {n: float(np.mean(scores[n])) for n in names}
        best = max(names, key=lambda n: means[n])
        ses = {n: float(np.std(scores[n] - scores[best], ddof=1)
                        / np.sqrt(max(len(scores[n]) - 1, 1))) for n in names}
        chosen = next(n for n in names if means[n] >= means[best] - n_se * ses[n] - 1e-12)
        return means, ses, best, chosen

    # ------------------------------------------------------------------------------------
    def _selection_sample(self, enc: Encoded, rng) -> Encoded:
        """All of ``enc``, or a random subset of whole items with about
        ``max_selection_judgments`` judgments (gold items kept first)."""
        if enc.n_judgments <= self.max_selection_judgments:
            return enc
        share = self.max_selection_judgments / enc.n_judgments
        keep_item = rng.random(enc.n_items) < share
        return _subset(enc, keep_item[enc.item])[0]

    def _gold_scores(self, enc: Encoded, cands: dict, rng) -> dict[str, np.ndarray]:
        """Per gold item: 1 if the candidate fitted without its fold's gold labels it
        correctly (1/m for an m-way tie), times the item's class weight with ``weight_gold``;
        sets ``gold_mix_``."""
        gold_items = np.flatnonzero(enc.gold >= 0)
        fold = rng.permutation(len(gold_items)) % self.n_folds
        hits = {n: np.zeros(len(gold_items)) for n in cands}
        other = enc.gold < 0
        mix = np.zeros(enc.n_classes)  # summed posteriors of the items without gold
        for f in range(self.n_folds):
            hidden = gold_items[fold == f]
            g = enc.gold.copy()
            g[hidden] = -1
            train = _with_gold(enc, g)
            for name, est in cands.items():
                post = self._fit_quiet(est, train)
                mix += post[other].sum(axis=0)
                post = post[hidden]
                is_max = post >= post.max(axis=1, keepdims=True) - 1e-12
                hit = is_max[np.arange(len(hidden)), enc.gold[hidden]] / is_max.sum(axis=1)
                hits[name][fold == f] = hit
        gold_class = enc.gold[gold_items]
        count = np.bincount(gold_class, minlength=enc.n_classes).astype(float)
        gold_share = count / count.sum()
        log_share = mix / mix.sum() if mix.sum() > 0 else gold_share  # nothing but gold
        self.gold_mix_ = pd.DataFrame({"gold": gold_share, "log_estimate": log_share},
                                      index=pd.Index(self.classes_, name="class"))
        if not self.weight_gold:
            return hits
        # each class's estimated share of the log over its share of the gold (classes
        # without gold items drop out; the others carry their share)
        target = np.where(count > 0, log_share, 0.0)
        target /= target.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(count > 0, target / gold_share, 0.0)
        return {n: h * weight[gold_class] for n, h in hits.items()}

    def _heldout_scores(self, enc: Encoded, cands: dict, rng) -> dict[str, np.ndarray] | None:
        """Per held-out judgment: its log posterior predictive probability."""
        held = rng.random(enc.n_judgments) < self.test_size
        # score only judgments whose item and annotator keep a judgment in the training part
        train_items = np.bincount(enc.item[~held], minlength=enc.n_items) > 0
        train_anns = np.bincount(enc.annotator[~held], minlength=enc.n_annotators) > 0
        held &= train_items[enc.item] & train_anns[enc.annotator]
        if held.sum() < self.min_heldout:
            return None
        train, item_u, ann_u = _subset(enc, ~held)
        t_items = np.searchsorted(item_u, enc.item[held])  # every one is in item_u
        t_anns = np.searchsorted(ann_u, enc.annotator[held])
        lab = enc.label[held]
        scores = {}
        for name, est in cands.items():
            post = self._fit_quiet(est, train)
            conf = getattr(est, "confusions_", None)
            if conf is None:
                raise TypeError(f"candidate {name!r} ({type(est).__name__}) has no "
                                "confusions_: it cannot score held-out judgments")
            p = np.einsum("nt,nt->n", post[t_items], np.asarray(conf)[t_anns, :, lab])
            scores[name] = np.log(np.clip(p, 1e-300, None))
        return scores

    @staticmethod
    def _fit_quiet(est: Aggregator, enc: Encoded) -> np.ndarray:
        est.classes_ = np.asarray(enc.classes, dtype=object)
        est.item_ids_ = np.asarray(enc.item_ids, dtype=object)
        est.annotator_ids_ = np.asarray(enc.annotator_ids, dtype=object)
        est._check_params()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return est._fit_encoded(enc)

    def _mix_note(self) -> str:
        """', weighted to ...' when the gold's class mix is visibly not the log's."""
        mix = self.gold_mix_
        if mix is None or not self.weight_gold:
            return ""
        gap = (mix["gold"] - mix["log_estimate"]).abs()
        if gap.max() < 0.05:
            return ""
        c = gap.idxmax()
        return (f", weighted to the log's class mix: the gold has "
                f"{100 * mix.loc[c, 'gold']:.0f}% {c}, the log an estimated "
                f"{100 * mix.loc[c, 'log_estimate']:.0f}%")

    def _reason(self, chosen, rule, scores, sel, n_gold, tied=()) -> str:
        sample = ("" if not self._sampled else
                  f" Scored on a random subset of items ({sel.n_judgments:,} judgments).")
        why = ("it scored best" if self.selection_.loc[chosen, "best"] else
               f"it is the simplest model within {self.n_se:g} standard error of the best")
        if rule == "gold accuracy":
            detail = ", ".join(f"{n} {100 * s:.1f}%" for n, s in scores.items())
            gold = (f"accuracy on gold items hidden from the fit ({n_gold} gold items, "
                    f"{self.n_folds}-fold cross-fitting{self._mix_note()}: {detail})")
            if len(tied) < 2 or self.selection_["heldout_score"].isna().all():
                return f"Chose {chosen}: {why} on {gold}.{sample}"
            sel_ = self.selection_
            ll_best = sel_["heldout_score"].idxmax()
            how = ("predicts held-out judgments best" if chosen == ll_best else
                   f"is the simplest within {self.n_se:g} standard error of the best at "
                   f"predicting held-out judgments")
            who = ("all candidates are" if len(tied) == len(sel_) else
                   f"{', '.join(tied)} are")
            return (f"Chose {chosen}: on {gold}, {who} within "
                    f"{self.n_se:g} standard error of the best, too close to call; of those, "
                    f"{chosen} {how} (mean log probability of "
                    f"{100 * self.test_size:.0f}% held out: "
                    + ", ".join(f"{n} {sel_.loc[n, 'heldout_score']:.3f}" for n in tied)
                    + f").{sample}")
        if rule == "held-out log-likelihood":
            detail = ", ".join(f"{n} {s:.3f}" for n, s in scores.items())
            return (f"Chose {chosen}: {why} at predicting held-out judgments (mean log "
                    f"probability of {100 * self.test_size:.0f}% of the judgments held out: "
                    f"{detail}); too little gold ({n_gold} items, {self.min_gold} needed) to "
                    f"choose by accuracy.{sample}")
        return (f"Chose {chosen} (the default): too little gold and too few judgments to "
                f"compare models on held-out data.")
