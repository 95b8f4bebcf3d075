"""Annotator and team quality: gold accuracy, model-estimated accuracy, bias-corrected quality,
agreement with the consensus, roll-ups per team and market, pool agreement, and the items where
a model annotator disagrees with the human consensus.

Every function takes an encoding (:class:`insights.data.Encoded`, or anything
:func:`insights.data.as_encoded` accepts) and item posteriors, given as

- an ``(n_items, K)`` array aligned with ``encoded.item_ids`` and ``encoded.classes``;
- a DataFrame indexed by ``item_id`` with one column per class (an estimator's ``probas_``),
  reindexed to ``encoded.item_ids``; or
- a fitted estimator with ``probas_`` (and, when present, ``confusions_``, ``priors_`` and
  ``annotator_ids_``, which are then used as the model's parameters).

Annotators of kind ``model`` (automated classifiers, LLM judges) are scored exactly like humans.

References
----------
Ipeirotis, P. G., Provost, F. and Wang, J. (2010). Quality management on Amazon Mechanical
Turk. HCOMP '10, 64-67.
Dawid, A. P. and Skene, A. M. (1979). Applied Statistics 28(1), 20-28.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from insights.agreement import cohen_kappa_by_group, fleiss_kappa, krippendorff_alpha_counts
from insights.data import Dataset, Encoded, as_encoded
from insights.stats import bootstrap_weighted_mean, wilson_interval

__all__ = [
    "annotator_quality",
    "annotator_confusions",
    "bias_corrected_quality",
    "rollup",
    "pool_agreement",
    "model_disagreements",
]

QUALITY_COLUMNS = [
    "team", "market", "kind", "n_labels", "n_gold", "gold_correct", "accuracy_gold",
    "accuracy_gold_lo", "accuracy_gold_hi", "estimated_accuracy", "quality", "agreement",
    "agreement_rate",
]


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------
def _model_parts(posteriors: Any) -> tuple[Any, dict]:
    """Split a fitted estimator into (probas, {confusions, priors, annotator_ids})."""
    if hasattr(posteriors, "probas_"):
        extra = {}
        for name in ("confusions_", "priors_", "annotator_ids_", "classes_"):
            val = getattr(posteriors, name, None)
            if val is not None:
                extra[name.rstrip("_")] = val
        return posteriors.probas_, extra
    return posteriors, {}


def _posterior_matrix(enc: Encoded, posteriors: Any) -> np.ndarray:
    """Item posteriors as a float array (n_items, K) aligned with ``enc``."""
    if isinstance(posteriors, pd.DataFrame):
        cols = [str(c) for c in posteriors.columns]
        frame = posteriors.set_axis(cols, axis=1)
        missing_cls = [c for c in enc.classes if c not in cols]
        if missing_cls:
            raise ValueError(f"posteriors have no column for class(es) {missing_cls}; "
                             f"columns are {cols}")
        idx = pd.Index(posteriors.index).get_indexer(enc.item_ids)
        if (idx < 0).any():
            first = enc.item_ids[np.flatnonzero(idx < 0)[0]]
            raise ValueError(f"posteriors have no row for item {first!r} "
                             f"({int((idx < 0).sum())} labeled items missing)")
        p = frame[list(enc.classes)].to_numpy(dtype=np.float64)[idx]
    else:
        p = np.asarray(posteriors, dtype=np.float64)
        if p.shape != (enc.n_items, enc.n_classes):
            raise ValueError(f"posteriors must have shape (n_items, n_classes) = "
                             f"{(enc.n_items, enc.n_classes)}, got {p.shape}")
    if not np.all(np.isfinite(p)) or (p < 0).any():
        raise ValueError("posteriors must be finite and non-negative")
    s = p.sum(axis=1, keepdims=True)
    if np.any(s <= 0):
        raise ValueError("every item's posterior must have positive mass")
    return p / s


def _priors(enc: Encoded, priors: Any, p: np.ndarray) -> np.ndarray:
    if priors is None:
        return p.mean(axis=0)
    if isinstance(priors, pd.Series):
        priors = priors.set_axis([str(c) for c in priors.index]).reindex(enc.classes).to_numpy()
    pr = np.asarray(priors, dtype=np.float64)
    if pr.shape != (enc.n_classes,) or not np.all(np.isfinite(pr)) or (pr < 0).any():
        raise ValueError(f"priors must be {enc.n_classes} non-negative numbers, got {priors!r}")
    return pr / pr.sum()


def _confusions(enc: Encoded, confusions: Any, ids: Any, classes: Any = None) -> np.ndarray:
    """Confusion matrices (J, K, K) aligned with ``enc.annotator_ids`` and ``enc.classes``;
    rows = true class. ``classes`` names the class order of ``confusions`` (default: the
    encoding's)."""
    c = np.asarray(confusions, dtype=np.float64)
    if c.ndim != 3 or c.shape[1:] != (enc.n_classes, enc.n_classes):
        raise ValueError(f"confusions must have shape (n_annotators, K, K) with K = "
                         f"{enc.n_classes}, got {c.shape}")
    if classes is not None:
        order = pd.Index([str(x) for x in classes]).get_indexer(enc.classes)
        if (order < 0).any():
            raise ValueError(f"confusions are over the classes {list(classes)}, the data's are "
                             f"{list(enc.classes)}")
        c = c[:, order][:, :, order]
    if ids is not None:
        idx = pd.Index(np.asarray(ids, dtype=object)).get_indexer(enc.annotator_ids)
        if (idx < 0).any():
            first = enc.annotator_ids[np.flatnonzero(idx < 0)[0]]
            raise ValueError(f"confusions have no matrix for annotator {first!r}")
        c = c[idx]
    elif c.shape[0] != enc.n_annotators:
        raise ValueError(f"confusions have {c.shape[0]} annotators, the data "
                         f"{enc.n_annotators}; pass confusion_ids to align them")
    s = c.sum(axis=2, keepdims=True)
    return np.divide(c, s, out=np.full_like(c, 1.0 / enc.n_classes), where=s > 0)


def _costs(enc: Encoded, costs: Any) -> np.ndarray:
    k = enc.n_classes
    if costs is None:
        return 1.0 - np.eye(k)
    if isinstance(costs, pd.DataFrame):
        costs = (costs.set_axis([str(c) for c in costs.index], axis=0)
                 .set_axis([str(c) for c in costs.columns], axis=1)
                 .reindex(index=enc.classes, columns=enc.classes).to_numpy(dtype=np.float64))
    c = np.asarray(costs, dtype=np.float64)
    if c.shape != (k, k) or not np.all(np.isfinite(c)) or (c < 0).any():
        raise ValueError(f"costs must be a non-negative {k} x {k} matrix over the classes "
                         f"{list(enc.classes)}")
    return c


def _resolve(labels: Any, posteriors: Any, annotators: Any, confusions: Any, priors: Any,
             confusion_ids: Any):
    enc = as_encoded(labels)
    if annotators is None and isinstance(labels, Dataset):
        annotators = labels.annotator_table()
    probas, extra = _model_parts(posteriors)
    p = None if probas is None else _posterior_matrix(enc, probas)
    confusion_classes = None
    if confusions is None and "confusions" in extra:
        confusions = extra["confusions"]
        confusion_classes = extra.get("classes")
        if confusion_ids is None:
            confusion_ids = extra.get("annotator_ids")
    if priors is None:
        priors = extra.get("priors")
        if priors is not None and not isinstance(priors, pd.Series) and "classes" in extra:
            priors = pd.Series(np.asarray(priors, dtype=np.float64),
                               index=[str(x) for x in extra["classes"]])
    if confusions is not None:
        confusions = _confusions(enc, confusions, confusion_ids, confusion_classes)
    return enc, p, annotators, confusions, priors


# --------------------------------------------------------------------------------------------
# per-annotator pieces
# --------------------------------------------------------------------------------------------
def annotator_confusions(encoded, posteriors, *, normalize: bool = True,
                         smoothing: float = 0.0) -> np.ndarray:
    r"""Expected confusion matrices of every annotator under the item posteriors.

    The expected count of "true class :math:`k`, annotator :math:`j` said :math:`l`" is
    :math:`\sum_{i \in I_j} P(z_i = k)\,[y_{ij} = l]`, i.e. ``incidence_t @ posteriors``
    reshaped to ``(J, K, K)`` -- one sparse product.

    Parameters
    ----------
    encoded : Encoded, Dataset or labels DataFrame
    posteriors : array, DataFrame or fitted estimator (see module docstring)
    normalize : bool, default True
        Divide each row by its total, giving :math:`\pi_j[k, l] = P(y = l \mid z = k)`.
        A row with no mass (the annotator never saw that class) becomes uniform.
    smoothing : float, default 0.0
        Pseudo-count added to every cell before normalising.

    Returns
    -------
    numpy.ndarray, shape (n_annotators, K, K)
        ``[j, true class, given label]``, annotators in ``encoded.annotator_ids`` order.
    """
    enc = as_encoded(encoded)
    p = _posterior_matrix(enc, _model_parts(posteriors)[0])
    j, k = enc.n_annotators, enc.n_classes
    counts = np.asarray(enc.incidence_t @ p).reshape(j, k, k).transpose(0, 2, 1) + smoothing
    if not normalize:
        return counts
    s = counts.sum(axis=2, keepdims=True)
    return np.divide(counts, s, out=np.full_like(counts, 1.0 / k), where=s > 0)


def bias_corrected_quality(confusions, priors, costs=None) -> np.ndarray:
    r"""Bias-corrected annotator quality of Ipeirotis, Provost & Wang (2010).

    A label :math:`l` from annotator :math:`j` is turned into the soft label
    :math:`s_l(k) = \pi_k\,\pi_j[k, l] / P_j(l)` with :math:`P_j(l) = \sum_k \pi_k \pi_j[k,l]`
    (Bayes with the class priors :math:`\pi`). The expected misclassification cost of a soft
    label :math:`s` under the cost matrix :math:`C` is
    :math:`\mathrm{cost}(s) = \sum_{a,b} s_a s_b c_{ab}`. A spammer's soft label is the prior
    itself whatever it says, so

    .. math::

        q_j = 1 - \frac{\sum_l P_j(l)\, \mathrm{cost}(s_l)}{\mathrm{cost}(\pi)}.

    Bias is corrected because only the information in a label counts, not whether it is the
    right word: a spammer (all rows of :math:`\pi_j` equal) scores exactly 0, and a perfect
    annotator and a perfectly inverted one (any permutation) both score 1 when
    :math:`c_{kk} = 0`. An annotator may score below 0 only with cost matrices that reward
    noise; with 0/1 costs :math:`0 \le q_j \le 1`.

    Parameters
    ----------
    confusions : array_like, shape (J, K, K) or (K, K)
        Rows = true class, columns = given label; rows are normalised here.
    priors : array_like, shape (K,)
    costs : array_like, shape (K, K), optional
        ``costs[a, b]`` = cost of deciding ``b`` when the truth is ``a``; default 0/1.

    Returns
    -------
    numpy.ndarray, shape (J,) (a float for a single (K, K) matrix); ``nan`` when the prior
    has zero cost (a single class).
    """
    c = np.asarray(confusions, dtype=np.float64)
    single = c.ndim == 2
    c = c[None] if single else c
    k = c.shape[-1]
    s = c.sum(axis=2, keepdims=True)
    c = np.divide(c, s, out=np.full_like(c, 1.0 / k), where=s > 0)
    pr = np.asarray(priors, dtype=np.float64)
    pr = pr / pr.sum()
    cost = 1.0 - np.eye(k) if costs is None else np.asarray(costs, dtype=np.float64)
    joint = pr[None, :, None] * c                       # [j, true, label]
    p_label = joint.sum(axis=1)                          # [j, label]
    # sum_l P(l) cost(s_l) = sum_l joint[:, :, l]^T C joint[:, :, l] / P(l)
    quad = np.einsum("jal,ab,jbl->jl", joint, cost, joint)
    expected = np.sum(np.divide(quad, p_label, out=np.zeros_like(quad), where=p_label > 0),
                      axis=1)
    spam = float(pr @ cost @ pr)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = 1.0 - expected / spam if spam > 0 else np.full(len(c), np.nan)
    return float(q[0]) if single else q


def annotator_quality(encoded, posteriors, *, annotators: pd.DataFrame | None = None,
                      confusions=None, costs=None, confidence: float = 0.95, priors=None,
                      confusion_ids=None) -> pd.DataFrame:
    r"""One row per annotator: volume, gold accuracy, estimated accuracy, quality, agreement.

    Parameters
    ----------
    encoded : Encoded, Dataset or labels DataFrame
        A :class:`~insights.data.Dataset` also supplies ``annotators`` (its
        ``annotator_table()``) and gold.
    posteriors : array (n_items, K), DataFrame (``probas_``) or fitted estimator
        A fitted estimator also supplies ``confusions_``, ``priors_`` and ``annotator_ids_``
        unless given explicitly.
    annotators : DataFrame, optional
        Index ``annotator_id``; columns ``team``, ``market``, ``kind`` (as
        ``Dataset.annotator_table()``). Missing: team/market unknown, kind ``human``.
    confusions : array (J, K, K), optional
        The model's confusion matrices (rows = true class). Default: the expected confusions
        under the posteriors (:func:`annotator_confusions`).
    costs : array (K, K) or DataFrame, optional
        Misclassification costs for the bias-corrected quality; default 0/1.
    confidence : float, default 0.95
        Level of the Wilson interval on gold accuracy.
    priors : array (K,) or Series, optional
        Class priors; default the model's ``priors_`` or the mean posterior.
    confusion_ids : sequence, optional
        Annotator ids of the rows of ``confusions`` (default: ``encoded.annotator_ids``).

    Returns
    -------
    pandas.DataFrame indexed by ``annotator_id``, columns
        ``team``, ``market``, ``kind``;
        ``n_labels`` judgments; ``n_gold`` judgments on gold items and ``gold_correct``;
        ``accuracy_gold`` with Wilson ``accuracy_gold_lo``/``accuracy_gold_hi`` (``nan`` without
        gold);
        ``estimated_accuracy``: with confusions, :math:`\sum_k \pi_k\,\pi_j[k,k]` (accuracy on
        the class mix of the priors); without, the expected accuracy under the posteriors,
        :math:`\frac{1}{n_j}\sum_{i} P(z_i = y_{ij})`;
        ``quality``: :func:`bias_corrected_quality`;
        ``agreement``: Cohen's kappa between the annotator's labels and the consensus labels
        (posterior argmax, ties to the first class) on the items they judged -- the consensus
        includes the annotator's own vote; ``agreement_rate``: the raw share that matches.

    See Also
    --------
    rollup : team / market scorecards from this table.
    annotator_confusions : the expected confusion matrices used when ``confusions`` is None.

    Examples
    --------
    >>> from insights import data, reliability, quality          # doctest: +SKIP
    >>> ds = data.load("data/SG")                                 # doctest: +SKIP
    >>> model = reliability.DawidSkene().fit(ds.labels, gold=ds.gold)  # doctest: +SKIP
    >>> table = quality.annotator_quality(ds, model)              # doctest: +SKIP
    >>> quality.rollup(table, by="team")                          # doctest: +SKIP
    """
    enc, p, annotators, confusions, priors = _resolve(
        encoded, posteriors, annotators, confusions, priors, confusion_ids)
    if p is None:
        raise ValueError("annotator_quality needs item posteriors")
    j, k = enc.n_annotators, enc.n_classes
    ann = enc.annotator
    n_labels = np.bincount(ann, minlength=j)

    g = enc.gold[enc.item]
    on_gold = g >= 0
    n_gold = np.bincount(ann[on_gold], minlength=j)
    gold_correct = np.bincount(ann[on_gold & (enc.label == g)], minlength=j)
    lo, hi = wilson_interval(gold_correct, n_gold, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc_gold = np.where(n_gold > 0, gold_correct / np.maximum(n_gold, 1), np.nan)

    pr = _priors(enc, priors, p)
    if confusions is not None:
        conf = confusions
        est_acc = np.einsum("k,jkk->j", pr, conf)
    else:
        conf = annotator_confusions(enc, p)
        p_given = p[enc.item, enc.label]
        with np.errstate(invalid="ignore", divide="ignore"):
            est_acc = np.bincount(ann, weights=p_given, minlength=j) / n_labels
    quality = bias_corrected_quality(conf, pr, _costs(enc, costs))

    consensus = np.argmax(p, axis=1)[enc.item]
    kappa = cohen_kappa_by_group(ann, enc.label, consensus, j, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        agree_rate = np.bincount(ann[enc.label == consensus], minlength=j) / n_labels

    out = pd.DataFrame(index=pd.Index(enc.annotator_ids, name="annotator_id"))
    meta = _annotator_meta(annotators, enc.annotator_ids)
    for col in ("team", "market", "kind"):
        out[col] = meta[col].to_numpy()
    out["n_labels"] = n_labels
    out["n_gold"] = n_gold
    out["gold_correct"] = gold_correct
    out["accuracy_gold"] = acc_gold
    out["accuracy_gold_lo"] = lo
    out["accuracy_gold_hi"] = hi
    out["estimated_accuracy"] = est_acc
    out["quality"] = quality
    out["agreement"] = kappa
    out["agreement_rate"] = agree_rate
    return out


def _annotator_meta(annotators: pd.DataFrame | None, ids: np.ndarray) -> pd.DataFrame:
    meta = pd.DataFrame(index=pd.Index(ids, name="annotator_id"))
    if annotators is not None:
        a = annotators
        if "annotator_id" in a.columns:
            a = a.set_index("annotator_id")
        a = a[~a.index.duplicated()]
        for col in ("team", "market", "kind"):
            if col in a.columns:
                meta[col] = a[col].reindex(meta.index).to_numpy()
    for col in ("team", "market"):
        if col not in meta:
            meta[col] = None
    meta["kind"] = meta["kind"].fillna("human") if "kind" in meta else "human"
    return meta


# --------------------------------------------------------------------------------------------
# roll-ups
# --------------------------------------------------------------------------------------------
def rollup(quality_df: pd.DataFrame, by: str | list[str] = "team", *,
           confidence: float = 0.95, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Team (or market, or any grouping) scorecard from :func:`annotator_quality`.

    Parameters
    ----------
    quality_df : DataFrame
        Output of :func:`annotator_quality`.
    by : str or list of str, default ``"team"``
        Grouping column(s), e.g. ``"team"``, ``"market"`` or ``["market", "team"]``.
        Annotators with no value form their own group (``NaN``).
    confidence : float, default 0.95
    n_boot : int, default 1000
    seed : int, default 0

    Returns
    -------
    pandas.DataFrame, one row per group, sorted by ``quality`` (best first), columns
        ``judgments``, ``annotators``, ``n_gold``, ``gold_correct``;
        ``accuracy_gold`` pooled over the group's gold judgments with a Wilson interval
        (``accuracy_gold_lo``/``_hi``) -- this treats judgments as independent, so it is
        narrow for a team dominated by one annotator;
        ``estimated_accuracy``, ``quality`` and ``agreement``, each the judgment-weighted mean
        over the group's annotators with a percentile bootstrap interval (``_lo``/``_hi``):
        annotators are resampled with replacement ``n_boot`` times (seeded), so the interval
        reflects between-annotator spread; a one-annotator group gets a zero-width interval.
    """
    keys = [by] if isinstance(by, str) else list(by)
    missing = [c for c in keys if c not in quality_df.columns]
    if missing:
        raise ValueError(f"rollup: no column {missing[0]!r} in the quality table; columns are "
                         f"{list(quality_df.columns)}")
    rows = []
    for name, grp in quality_df.groupby(keys, dropna=False, sort=True):
        w = grp["n_labels"].to_numpy(dtype=np.float64)
        row: dict[str, Any] = dict(zip(keys, name if isinstance(name, tuple) else (name,), strict=True))
        row["judgments"] = int(w.sum())
        row["annotators"] = len(grp)
        n_gold = int(grp["n_gold"].sum())
        correct = int(grp["gold_correct"].sum())
        row["n_gold"] = n_gold
        row["gold_correct"] = correct
        lo, hi = wilson_interval(correct, n_gold, confidence)
        row["accuracy_gold"] = correct / n_gold if n_gold else np.nan
        row["accuracy_gold_lo"] = float(lo)
        row["accuracy_gold_hi"] = float(hi)
        for col in ("estimated_accuracy", "quality", "agreement"):
            est, blo, bhi = bootstrap_weighted_mean(grp[col].to_numpy(), w, n_boot=n_boot,
                                                    confidence=confidence, seed=seed)
            row[col], row[f"{col}_lo"], row[f"{col}_hi"] = est, blo, bhi
        rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out = out.sort_values("quality", ascending=False, kind="stable", na_position="last")
    return out.set_index(keys)


def pool_agreement(encoded) -> pd.Series:
    """Agreement of the whole pool: Fleiss' kappa and Krippendorff's alpha (nominal).

    Both use the item x class vote counts. Fleiss' kappa is the generalised form for a
    varying number of raters per item (each item's pairwise agreement with its own count,
    items weighted equally; see :func:`insights.agreement.fleiss_kappa`); Krippendorff's
    alpha weights items by their number of pairable values and is the better summary when
    redundancy varies. Items with one label carry no pair and are left out of both.

    Returns
    -------
    pandas.Series with ``fleiss_kappa``, ``krippendorff_alpha``, ``n_items`` (items with at
    least two labels), ``n_judgments`` (on those items) and ``labels_per_item`` (their mean).
    """
    enc = as_encoded(encoded)
    counts = enc.item_counts
    per_item = np.asarray(counts.sum(axis=1)).ravel()
    multi = per_item >= 2
    return pd.Series({
        "fleiss_kappa": fleiss_kappa(counts),
        "krippendorff_alpha": krippendorff_alpha_counts(counts),
        "n_items": int(multi.sum()),
        "n_judgments": int(per_item[multi].sum()),
        "labels_per_item": float(per_item[multi].mean()) if multi.any() else np.nan,
    })


# --------------------------------------------------------------------------------------------
# model annotators vs the human consensus
# --------------------------------------------------------------------------------------------
DISAGREEMENT_COLUMNS = ["item_id", "model_annotator", "model_label", "consensus_label",
                        "consensus_confidence", "model_label_probability", "n_human_labels",
                        "gold"]


def model_disagreements(encoded, posteriors, annotators: pd.DataFrame | None = None,
                        top: int | None = 50, *, confusions=None, priors=None,
                        confusion_ids=None, smoothing: float = 1.0) -> pd.DataFrame:
    r"""Items where a model annotator and the human consensus disagree most confidently.

    The human consensus leaves the model annotators' votes out. It is the Dawid-Skene
    posterior of each item given the human judgments only, with the annotators' confusion
    matrices and class priors held at the fitted values (one E-step):

    .. math:: P(z_i = k \mid \text{humans}) \propto \pi_k \prod_{j \in H_i} \pi_j[k, y_{ij}].

    The confusion matrices are the estimator's ``confusions_`` (or ``confusions``) when
    available, else the expected confusions under ``posteriors`` with ``smoothing``
    pseudo-counts per cell (so an unseen cell does not veto a class). With
    ``posteriors=None`` the consensus is the human majority vote and its confidence the
    share of human votes it got (ties to the first class).

    Parameters
    ----------
    encoded : Encoded, Dataset or labels DataFrame
    posteriors : array, DataFrame, fitted estimator, or None
    annotators : DataFrame, optional
        Index ``annotator_id`` with column ``kind``; ``kind == "model"`` marks the model
        annotators. Taken from a :class:`~insights.data.Dataset` when not given.
    top : int or None, default 50
        Rows to keep (None: all disagreements).
    confusions, priors, confusion_ids
        As in :func:`annotator_quality`.
    smoothing : float, default 1.0

    Returns
    -------
    pandas.DataFrame with columns ``item_id``, ``model_annotator``, ``model_label``,
    ``consensus_label``, ``consensus_confidence`` (human-only posterior of the consensus
    label), ``model_label_probability`` (human-only posterior of the model's label),
    ``n_human_labels``, ``gold`` (gold label, missing where the item has none); one row per (item, model
    annotator) disagreement, sorted by ``consensus_confidence`` then ``n_human_labels``
    (descending), then ``item_id``. Items without human labels are left out.
    """
    enc, p, annotators, confusions, priors = _resolve(
        encoded, posteriors, annotators, confusions, priors, confusion_ids)
    meta = _annotator_meta(annotators, enc.annotator_ids)
    is_model = (meta["kind"] == "model").to_numpy()
    if not is_model.any():
        return pd.DataFrame(columns=DISAGREEMENT_COLUMNS)
    j, k = enc.n_annotators, enc.n_classes
    human_j = ~is_model[enc.annotator]
    n_human = np.bincount(enc.item[human_j], minlength=enc.n_items)

    if p is None and confusions is None:
        votes = sp.csr_matrix((np.ones(int(human_j.sum())),
                               (enc.item[human_j], enc.label[human_j])),
                              shape=(enc.n_items, k)).toarray()
        with np.errstate(invalid="ignore", divide="ignore"):
            post = votes / n_human[:, None]
    else:
        if confusions is not None:
            conf = confusions
        else:
            conf = annotator_confusions(enc, p, smoothing=smoothing)
        pr = _priors(enc, priors, p) if p is not None else _priors(enc, priors, np.ones((1, k)))
        logc = np.log(np.clip(conf, 1e-300, None))          # [j, true, label]
        logc[is_model] = 0.0                                 # model votes carry no weight
        w = logc.transpose(0, 2, 1).reshape(j * k, k)       # row (j, label) -> log pi_j[:, label]
        loglik = np.asarray(enc.incidence @ w) + np.log(np.clip(pr, 1e-300, None))
        loglik -= loglik.max(axis=1, keepdims=True)
        post = np.exp(loglik)
        post /= post.sum(axis=1, keepdims=True)

    cons = np.argmax(np.nan_to_num(post, nan=-1.0), axis=1)
    model_j = np.flatnonzero(~human_j)
    it = enc.item[model_j]
    ml = enc.label[model_j]
    keep = (n_human[it] > 0) & (ml != cons[it])
    model_j, it, ml = model_j[keep], it[keep], ml[keep]
    gold = enc.gold[it]
    out = pd.DataFrame({
        "item_id": enc.item_ids[it],
        "model_annotator": enc.annotator_ids[enc.annotator[model_j]],
        "model_label": enc.classes[ml],
        "consensus_label": enc.classes[cons[it]],
        "consensus_confidence": post[it, cons[it]],
        "model_label_probability": post[it, ml],
        "n_human_labels": n_human[it],
        "gold": np.where(gold >= 0, enc.classes[np.maximum(gold, 0)], None),
    })
    out = out.sort_values(["consensus_confidence", "n_human_labels", "item_id"],
                          ascending=[False, False, True], kind="stable")
    if top is not None:
        out = out.head(top)
    return out.reset_index(drop=True)
