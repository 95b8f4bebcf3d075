r"""Policy replay: every redundancy policy reads the same shuffled judgment stream per item
(common random numbers), aggregates what it used, and is scored against gold it never sees.

On a log with many judgments per item (20 on sp_amt and vldb_d_possent), a policy that stops
early is what the operation would have got had it asked for fewer judgments: for each seed the
judgments of every item are put in one random order, every policy reads a prefix of that order,
and the paired differences against a reference policy (``fixed:5`` Dawid-Skene by default) are
estimated with a bootstrap over items (all seeds of an item resampled together) and tested with
McNemar's test.

Skills of the posterior policies (``skills=``):

``crossfit`` (default)
    The items are cut into ``folds`` folds; the skills used on an item's fold come from
    Dawid-Skene (or one-coin) fitted, without gold, on the whole log of the *other* folds.
    No judgment of the replayed item -- neither the ones the policy reads nor the ones it does
    not -- enters its skills, as in an operation whose skills come from past work.
``crossfit-gold``
    The same, with the gold of the other folds' items clamped (gold-anchored skills); the
    replayed item's own gold is never used.
``given``
    Skills from a fitted model passed as ``skills_model`` (e.g. fitted on a history log; the
    simulator uses this with the operation's log while drawing fresh judgments).
``full``
    Skills fitted on the whole log, the replayed item included: this *leaks* (the skills have
    seen the item's remaining judgments, which agree with its truth), so it overstates the
    savings; it is here only to measure that leak.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from insights.allocation.policies import AUTO_GRID, KnowledgeGradient, Policy, parse_policy
from insights.data import Dataset, Encoded, as_encoded

__all__ = ["ReplayResult", "replay", "replay_log", "summarize", "REPLAY_COLUMNS"]

log = logging.getLogger(__name__)

REPLAY_COLUMNS = [
    "policy", "labels_per_item", "accuracy", "accuracy_low", "accuracy_high", "accuracy_diff",
    "accuracy_diff_low", "accuracy_diff_high", "labels_saved", "labels_saved_low",
    "labels_saved_high", "mcnemar_p", "n_items", "n_seeds", "reference",
]


@dataclass(frozen=True)
class ReplayResult:
    """Output of :func:`replay`.

    Attributes
    ----------
    table : DataFrame
        One row per policy (the reference first), columns :data:`REPLAY_COLUMNS`.
    correct : ndarray (n_seeds, n_policies, n_items) of bool
        Per seed, policy and scored item: final label equals gold.
    used : ndarray (n_seeds, n_policies, n_items) of int
        Judgments the policy read.
    policies : list of str
        Canonical specs, in the order of the arrays (reference first).
    item_ids : ndarray
        The scored (gold) items.
    """

    table: pd.DataFrame
    correct: np.ndarray
    used: np.ndarray
    policies: list[str]
    item_ids: np.ndarray


# --------------------------------------------------------------------------------------------
# encodings and streams
# --------------------------------------------------------------------------------------------
def _subset(enc: Encoded, sel: np.ndarray, with_gold: bool = False) -> tuple[Encoded, np.ndarray]:
    """The judgments ``sel`` as an encoding with the same annotators and classes; items are
    renumbered (returned: the original item code of each new item)."""
    items, inv = np.unique(enc.item[sel], return_inverse=True)
    gold = enc.gold[items] if with_gold else np.full(len(items), -1, dtype=np.int64)
    sub = Encoded(item_ids=enc.item_ids[items], annotator_ids=enc.annotator_ids,
                  classes=enc.classes, item=inv.astype(np.int32),
                  annotator=enc.annotator[sel], label=enc.label[sel], gold=gold)
    return sub, items


def _stream(enc: Encoded, rng: np.random.Generator, max_len: int) -> np.ndarray:
    """(n_items, max_len) judgment indices in one random order per item (-1 past the end)."""
    key = rng.random(enc.n_judgments)
    order = np.lexsort((key, enc.item))
    item_sorted = enc.item[order]
    starts = np.searchsorted(item_sorted, np.arange(enc.n_items))
    pos = np.arange(enc.n_judgments) - starts[item_sorted]
    keep = pos < max_len
    out = np.full((enc.n_items, max_len), -1, dtype=np.int64)
    out[item_sorted[keep], pos[keep]] = order[keep]
    return out


# --------------------------------------------------------------------------------------------
# skills
# --------------------------------------------------------------------------------------------
def _fit(enc: Encoded, model: str):
    from insights.reliability import DawidSkene, OneCoinDawidSkene

    est = DawidSkene() if model == "ds" else OneCoinDawidSkene()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(enc)


def _log_skills(est, enc: Encoded) -> tuple[np.ndarray, np.ndarray]:
    """Log confusions (J, K, K) aligned with ``enc`` annotators and log priors (K,)."""
    conf = np.asarray(est.confusions_, dtype=np.float64)
    order = pd.Index(np.asarray(est.annotator_ids_, dtype=object)).get_indexer(enc.annotator_ids)
    cls = pd.Index([str(c) for c in est.classes_]).get_indexer(enc.classes)
    if (cls < 0).any():
        raise ValueError(f"the skills model's classes {list(est.classes_)} do not cover the "
                         f"data's {list(enc.classes)}")
    conf = conf[:, cls][:, :, cls]
    pooled = conf.mean(axis=0)
    full = np.where((order >= 0)[:, None, None], conf[np.maximum(order, 0)], pooled[None])
    prior = np.asarray(est.priors_, dtype=np.float64)[cls]
    return np.log(np.clip(full, 1e-12, None)), np.log(np.clip(prior / prior.sum(), 1e-12, None))


def _skills(enc: Encoded, pol: Policy, folds: np.ndarray, n_folds: int, skills_model,
            cache: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per-fold log confusions (F, J, K, K) and log priors (F, K) for a posterior policy."""
    key = (pol.model, pol.skills)
    if key in cache:
        return cache[key]
    if pol.skills == "given":
        if skills_model is None:
            raise ValueError(f"policy {pol.spec}: skills=given needs skills_model")
        lc, lp = _log_skills(skills_model, enc)
        out = lc[None], lp[None]
    elif pol.skills == "full":
        lc, lp = _log_skills(_fit(enc, pol.model), enc)
        out = lc[None], lp[None]
    else:
        with_gold = pol.skills == "crossfit-gold"
        lcs, lps = [], []
        judgment_fold = folds[enc.item]
        for f in range(n_folds):
            sub, _ = _subset(enc, np.flatnonzero(judgment_fold != f), with_gold=with_gold)
            lc, lp = _log_skills(_fit(sub, pol.model), enc)
            lcs.append(lc)
            lps.append(lp)
        out = np.stack(lcs), np.stack(lps)
    cache[key] = out
    return out


# --------------------------------------------------------------------------------------------
# running one policy
# --------------------------------------------------------------------------------------------
def _run_sequential(enc: Encoded, pol: Policy, stream: np.ndarray, fold_of: np.ndarray,
                    skills, item_priors: np.ndarray | None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    n, k = enc.n_items, enc.n_classes
    used = np.zeros(n, dtype=np.int64)
    counts = np.zeros((n, k))
    log_post = None
    if pol.needs_skills:
        log_conf, log_prior = skills
        if pol.kind == "assisted":
            if item_priors is None:
                raise ValueError(f"policy {pol.spec} needs item_priors (a classifier's class "
                                 f"probabilities per item)")
            log_post = np.log(np.clip(item_priors, 1e-12, None))
        else:
            log_post = log_prior[fold_of].copy()
    length = (stream >= 0).sum(axis=1)
    for r in range(min(pol.max_reads, stream.shape[1])):
        ask = pol.want_more(used, counts, log_post) & (length > r)
        idx = np.flatnonzero(ask)
        if idx.size == 0:
            break
        jud = stream[idx, r]
        lab = enc.label[jud]
        counts[idx, lab] += 1
        if log_post is not None:
            log_post[idx] += log_conf[fold_of[idx], enc.annotator[jud], :, lab]
        used[idx] += 1
    return used, counts, log_post


def _run_budgeted(enc: Encoded, pol: KnowledgeGradient, stream: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n, k = enc.n_items, enc.n_classes
    used = np.zeros(n, dtype=np.int64)
    counts = np.zeros((n, k))
    length = np.minimum((stream >= 0).sum(axis=1), pol.n)
    budget = int(round(pol.b * n))
    step = max(1, int(round(pol.batch * n)))
    jitter = rng.random(n) * 1e-9           # seeded tie-break among equal gradients
    spent = 0
    while spent < budget:
        g = KnowledgeGradient.gain(counts) + jitter
        g[used >= length] = -np.inf
        open_ = int(np.isfinite(g).sum())
        if open_ == 0:
            break
        m = min(step, budget - spent, open_)
        pick = np.argpartition(-g, m - 1)[:m]
        jud = stream[pick, used[pick]]
        counts[pick, enc.label[jud]] += 1
        used[pick] += 1
        spent += m
    return used, counts


def _run_one(enc, pol, stream, fold_of, folds, skills_model, cache, priors):
    skills = _skills(enc, pol, fold_of, folds, skills_model, cache) if pol.needs_skills else None
    f_of = fold_of if (skills is not None and skills[0].shape[0] > 1) else \
        np.zeros(enc.n_items, dtype=np.int64)
    return _run_sequential(enc, pol, stream, f_of, skills, priors)


def _run_auto(enc, pol, stream, fold_of, folds, skills_model, cache, priors, ref_ok, rng):
    """``threshold="auto"``: per fold, the lowest threshold of the grid whose accuracy on the
    other folds' gold items reaches the reference's there."""
    gold = enc.gold
    has = gold >= 0
    runs = []
    for t in AUTO_GRID:
        p_t = replace(pol, threshold=t)
        used, counts, log_post = _run_one(enc, p_t, stream, fold_of, folds, skills_model,
                                          cache, priors)
        runs.append((used, _final(enc, p_t, stream, used, counts, log_post, rng)))
    used_out = np.zeros(enc.n_items, dtype=np.int64)
    pred_out = np.zeros(enc.n_items, dtype=np.int64)
    for f in range(folds):
        other = has & (fold_of != f)
        if pol.budget > 0:
            rest = fold_of != f
            fits = [ti for ti, (u, _) in enumerate(runs) if u[rest].mean() <= pol.budget]
            choice = fits[-1] if fits else 0
        else:
            target = ref_ok[other].mean() + pol.cushion / 100 if other.any() else 1.0
            choice = len(AUTO_GRID) - 1
            for ti, (_, pred) in enumerate(runs):
                if other.any() and (pred[other] == gold[other]).mean() >= target:
                    choice = ti
                    break
        here = fold_of == f
        used_out[here] = runs[choice][0][here]
        pred_out[here] = runs[choice][1][here]
        log.debug("auto threshold of fold %d: %s", f, AUTO_GRID[choice])
    return used_out, pred_out


def _majority(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Majority vote with exact ties broken uniformly at random."""
    noisy = counts + rng.random(counts.shape) * 1e-6
    return np.argmax(noisy, axis=1)


def _final(enc: Encoded, pol: Policy, stream: np.ndarray, used: np.ndarray, counts: np.ndarray,
           log_post: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    if pol.aggregate == "posterior" and log_post is not None:
        return np.argmax(log_post, axis=1)
    if pol.aggregate == "ds":
        mask = np.arange(stream.shape[1])[None, :] < used[:, None]
        sel = np.sort(stream[mask])
        sub, items = _subset(enc, sel)
        est = _fit(sub, "ds")
        pred = _majority(counts, rng)
        pred[items] = np.argmax(est.probas_.to_numpy(), axis=1)
        return pred
    return _majority(counts, rng)


# --------------------------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------------------------
def replay(labels, gold: pd.DataFrame | None = None, policies=("agree:2:3", "margin:2:7",
           "posterior:0.99:1:10"), *, reference: str | Policy = "fixed:5", seeds: int = 5,
           folds: int = 5, skills_model=None, item_priors: pd.DataFrame | None = None,
           n_boot: int = 1000, confidence: float = 0.95, seed: int = 0) -> ReplayResult:
    """Replay redundancy policies on a label log with gold.

    Parameters
    ----------
    labels : Dataset, DataFrame or Encoded
        The log (ideally many judgments per item; a policy never reads more than the item has).
    gold : DataFrame, optional
        ``item_id``, ``label`` (default: the Dataset's). Used only to score.
    policies : sequence of spec strings or :class:`~insights.allocation.policies.Policy`
    reference : spec or Policy, default ``"fixed:5"`` (Dawid-Skene on 5 judgments)
    seeds : int, default 5
        Stream orders replayed; seed ``s`` draws order ``s`` from ``seed`` (common to all
        policies).
    folds : int, default 5
        Folds of the cross-fitted skills.
    skills_model : fitted estimator, optional
        For ``skills=given``.
    item_priors : DataFrame, optional
        ``item_id`` index x class columns: a classifier's probabilities (``assisted`` policy).
    n_boot : int, default 1000
    confidence : float, default 0.95
    seed : int, default 0

    Returns
    -------
    ReplayResult
        ``table`` (see :func:`summarize`): accuracy in %, its difference against the reference
        in points and the share of judgments saved in %, each with a percentile interval of a
        paired bootstrap over items (an item's seeds stay together), and McNemar's p for the
        accuracy difference on the first seed's stream (the items are independent there;
        exact binomial test below 25 discordant pairs).
    """
    if isinstance(labels, Dataset):
        enc = labels.encode() if gold is None else as_encoded(labels, gold=gold)
    else:
        enc = as_encoded(labels, gold=gold)
    scored = np.flatnonzero(enc.gold >= 0)
    if scored.size == 0:
        raise ValueError("replay needs gold answers on some replayed items (gold is used only "
                         "to score)")
    pols = [parse_policy(reference)] + [parse_policy(p) for p in policies]
    priors = None
    if item_priors is not None:
        frame = item_priors.set_axis([str(c) for c in item_priors.columns], axis=1)
        priors = frame.reindex(index=enc.item_ids, columns=list(enc.classes)).to_numpy(float)
        priors = np.where(np.isnan(priors), 1.0 / enc.n_classes, priors)
        priors /= priors.sum(axis=1, keepdims=True)
    max_len = max(p.max_reads for p in pols)
    base = np.random.default_rng(seed)
    fold_of = base.permutation(enc.n_items) % folds
    cache: dict = {}
    s_n, p_n = seeds, len(pols)
    correct = np.zeros((s_n, p_n, scored.size), dtype=bool)
    used_all = np.zeros((s_n, p_n, scored.size), dtype=np.int64)
    seed_seqs = np.random.SeedSequence(seed).spawn(s_n)
    for s in range(s_n):
        rng = np.random.default_rng(seed_seqs[s])
        stream = _stream(enc, rng, max_len)
        for pi, pol in enumerate(pols):
            prng = np.random.default_rng([seed, s])    # common to all policies (CRN)
            pred = None
            if isinstance(pol, KnowledgeGradient):
                used, counts = _run_budgeted(enc, pol, stream, prng)
                log_post = None
            elif getattr(pol, "threshold", None) == "auto":
                ref_ok = np.zeros(enc.n_items, dtype=bool)
                ref_ok[scored] = correct[s, 0]
                used, pred = _run_auto(enc, pol, stream, fold_of, folds, skills_model, cache,
                                       priors, ref_ok, prng)
            else:
                used, counts, log_post = _run_one(enc, pol, stream, fold_of, folds,
                                                  skills_model, cache, priors)
            if pred is None:
                pred = _final(enc, pol, stream, used, counts, log_post, prng)
            correct[s, pi] = pred[scored] == enc.gold[scored]
            used_all[s, pi] = used[scored]
        log.info("replay seed %d/%d done", s + 1, s_n)
    specs = [p.spec for p in pols]
    table = summarize(correct, used_all, specs, n_boot=n_boot, confidence=confidence, seed=seed)
    return ReplayResult(table=table, correct=correct, used=used_all, policies=specs,
                        item_ids=enc.item_ids[scored])


def replay_log(ds: Dataset, policies, *, k: int = 3, min_gold: int = 30, seeds: int = 3,
               seed: int = 0, **kw) -> ReplayResult:
    """Replay policies on an operation's own log against ``fixed:k`` Dawid-Skene.

    Only items with at least ``k`` judgments take part (a policy can read no more than the
    log holds, so the reference must be able to read ``k``); they are scored on their gold.

    Raises
    ------
    ValueError
        Without gold, or with fewer than ``min_gold`` gold items among those items (the
        message says what to add).
    """
    if ds.gold is None or not len(ds.gold):
        raise ValueError("the replay needs gold answers (a gold table: item_id, label)")
    lab = ds.labels
    n_per = lab.groupby("item_id").size()
    deep = set(n_per.index[n_per >= k])
    gold = ds.gold[ds.gold["item_id"].isin(deep)]
    if len(gold) < min_gold:
        raise ValueError(f"the replay needs at least {min_gold} gold items with {k} or more "
                         f"judgments each; the log has {len(gold)}: add gold answers on items "
                         f"labeled {k} or more times")
    sub = lab.loc[lab["item_id"].isin(deep), ["item_id", "annotator_id", "label"]]
    return replay(sub, gold[["item_id", "label"]], list(policies), reference=f"fixed:{k}",
                  seeds=seeds, seed=seed, **kw)


def summarize(correct: np.ndarray, used: np.ndarray, specs: list[str], *, n_boot: int = 1000,
              confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """The replay table from per-(seed, policy, item) outcomes; policy 0 is the reference.

    The bootstrap resamples items with replacement (``n_boot`` times, seeded) and uses the
    same resampled items for every policy (paired); an item contributes its mean over seeds.
    ``labels_saved = 100 (1 - judgments(policy) / judgments(reference))``.
    """
    from statsmodels.stats.contingency_tables import mcnemar

    acc_i = correct.mean(axis=0).astype(np.float64)        # (P, n)
    use_i = used.mean(axis=0).astype(np.float64)
    n = acc_i.shape[1]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    a = (1.0 - confidence) / 2.0
    acc_b = np.stack([acc_i[p][idx].mean(axis=1) for p in range(len(specs))])   # (P, B)
    use_b = np.stack([use_i[p][idx].mean(axis=1) for p in range(len(specs))])
    rows = []
    for p, spec in enumerate(specs):
        acc = acc_i[p].mean()
        diff_b = acc_b[p] - acc_b[0]
        save_b = 1.0 - use_b[p] / use_b[0]
        ref0, pol0 = correct[0, 0], correct[0, p]
        b = int((ref0 & ~pol0).sum())
        c = int((~ref0 & pol0).sum())
        if p == 0 or b + c == 0:
            pval = 1.0
        else:
            pval = float(mcnemar([[0, b], [c, 0]], exact=b + c < 25, correction=True).pvalue)
        rows.append({
            "policy": spec,
            "labels_per_item": use_i[p].mean(),
            "accuracy": 100 * acc,
            "accuracy_low": 100 * np.quantile(acc_b[p], a),
            "accuracy_high": 100 * np.quantile(acc_b[p], 1 - a),
            "accuracy_diff": 100 * (acc - acc_i[0].mean()),
            "accuracy_diff_low": 100 * np.quantile(diff_b, a),
            "accuracy_diff_high": 100 * np.quantile(diff_b, 1 - a),
            "labels_saved": 100 * (1.0 - use_i[p].mean() / use_i[0].mean()),
            "labels_saved_low": 100 * np.quantile(save_b, a),
            "labels_saved_high": 100 * np.quantile(save_b, 1 - a),
            "mcnemar_p": pval,
            "n_items": n,
            "n_seeds": correct.shape[0],
            "reference": p == 0,
        })
    return pd.DataFrame(rows, columns=REPLAY_COLUMNS)
