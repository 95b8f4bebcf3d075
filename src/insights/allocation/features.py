"""The labeler feature table: one row per annotator (and long forms per annotator x class and
per annotator x queue) with everything allocation decisions rest on.

The columns come from a fitted truth-inference model (Dawid-Skene by default) and the label log:
volume, gold accuracy (Wilson interval), model-estimated accuracy (interval treating the expected
number of correct judgments as binomial), per-class recall and precision from the confusion
matrix, bias-corrected quality (Ipeirotis, Provost & Wang 2010), agreement (Cohen's kappa with
the consensus), median handle time, throughput per active day, tenure, recency-weighted accuracy,
a recent trend, cost per judgment and the estimated cost per correct judgment.

These are the inputs of the redundancy policies (:mod:`insights.allocation.policies`), of the
assignment (:mod:`insights.allocation.assignment`) and of BI tools.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from insights.data import Dataset, as_encoded
from insights.quality import annotator_quality
from insights.stats import wilson_interval

__all__ = ["LabelerFeatures", "labeler_features"]


@dataclass(frozen=True)
class LabelerFeatures:
    """The three tables of :func:`labeler_features`.

    Attributes
    ----------
    annotators : DataFrame
        One row per annotator (index ``annotator_id``).
    by_class : DataFrame
        One row per annotator x true class: ``annotator_id``, ``class``, ``recall``,
        ``precision``, ``n_labels_given`` (judgments that gave this class).
    by_queue : DataFrame
        One row per annotator x queue (empty without a ``queue`` column): ``annotator_id``,
        ``queue``, ``n_labels``, ``estimated_accuracy``, ``n_gold``, ``accuracy_gold``,
        ``median_handle_seconds``.
    """

    annotators: pd.DataFrame
    by_class: pd.DataFrame
    by_queue: pd.DataFrame


def _per_annotator_time(lab: pd.DataFrame, codes: np.ndarray, n: int, p_correct: np.ndarray,
                        half_life_days: float, recent_days: float) -> dict[str, np.ndarray]:
    """Throughput, tenure, recency, recency-weighted accuracy and trend from ``labeled_at``."""
    out = {k: np.full(n, np.nan) for k in (
        "active_days", "throughput_per_active_day", "tenure_days", "days_since_last",
        "recency_weighted_accuracy", "accuracy_recent", "accuracy_before", "recent_trend")}
    if "labeled_at" not in lab.columns:
        return out
    ts = pd.to_datetime(lab["labeled_at"], utc=True)
    ok = ts.notna().to_numpy()
    if not ok.any():
        return out
    t_ns = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    end = t_ns[ok].max()
    day_ns = 86_400 * 10**9
    age = (end - t_ns) / day_ns
    c = codes[ok]
    a = age[ok]
    day = t_ns[ok] // day_ns
    pairs = pd.DataFrame({"a": c, "d": day}).drop_duplicates()
    active = np.bincount(pairs["a"].to_numpy(), minlength=n).astype(float)
    n_lab = np.bincount(c, minlength=n).astype(float)
    newest = np.full(n, np.inf)      # smallest age: the annotator's last judgment
    oldest = np.full(n, -np.inf)     # largest age: the first judgment
    np.minimum.at(newest, c, a)
    np.maximum.at(oldest, c, a)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["active_days"] = np.where(active > 0, active, np.nan)
        out["throughput_per_active_day"] = n_lab / out["active_days"]
        out["tenure_days"] = np.where(n_lab > 0, oldest - newest, np.nan)
        out["days_since_last"] = np.where(n_lab > 0, newest, np.nan)
        w = 0.5 ** (a / half_life_days)
        pc = p_correct[ok]
        out["recency_weighted_accuracy"] = (np.bincount(c, weights=w * pc, minlength=n)
                                            / np.bincount(c, weights=w, minlength=n))
        rec = a <= recent_days
        nr = np.bincount(c[rec], minlength=n)
        nb = np.bincount(c[~rec], minlength=n)
        out["accuracy_recent"] = np.bincount(c[rec], weights=pc[rec], minlength=n) / nr
        out["accuracy_before"] = np.bincount(c[~rec], weights=pc[~rec], minlength=n) / nb
        out["recent_trend"] = out["accuracy_recent"] - out["accuracy_before"]
    return out


def labeler_features(data, model=None, *, annotators: pd.DataFrame | None = None,
                     half_life_days: float = 14.0, recent_days: float = 28.0,
                     confidence: float = 0.95) -> LabelerFeatures:
    r"""Labeler features from a label log and a fitted truth-inference model.

    Parameters
    ----------
    data : Dataset or labels DataFrame
        The log (a :class:`~insights.data.Dataset` brings gold and the annotators table).
        Optional columns used: ``labeled_at``, ``handle_seconds``, ``cost``, ``queue``.
    model : fitted estimator with ``probas_`` and ``confusions_``, optional
        Default: :class:`~insights.reliability.DawidSkene` fitted on ``data`` (with its gold).
    annotators : DataFrame, optional
        ``annotator_id`` with ``team``, ``market``, ``kind``, ``cost_per_label``,
        ``capacity_per_day`` (default: the Dataset's ``annotator_table()``).
    half_life_days : float, default 14
        Half-life of the exponential weights of the recency-weighted accuracy.
    recent_days : float, default 28
        Window (days before the last judgment of the log) of ``accuracy_recent``;
        ``recent_trend`` = ``accuracy_recent - accuracy_before``.
    confidence : float, default 0.95

    Returns
    -------
    LabelerFeatures
        ``annotators`` has the columns of :func:`insights.quality.annotator_quality`, plus
        ``accuracy_model`` (the model's expected share of correct judgments on the items the
        annotator judged, :math:`\frac{1}{n_j}\sum_i P(z_i = y_{ij})`; ``estimated_accuracy``
        is the same on the prior class mix) with ``accuracy_model_lo``/``_hi`` (Wilson
        interval on that expected count out of :math:`n_j` -- it ignores the uncertainty of
        the posteriors themselves, so the true interval is wider), ``recall_macro``,
        ``median_handle_seconds``, ``active_days``, ``throughput_per_active_day``,
        ``tenure_days`` (first to last judgment), ``days_since_last`` (to the log's end),
        ``recency_weighted_accuracy`` (:math:`\sum w P(z=y) / \sum w`, weights
        :math:`2^{-\text{age}/h}`), ``accuracy_recent``, ``accuracy_before``, ``recent_trend``,
        ``cost_per_judgment`` (mean ``cost`` of the log, else ``cost_per_label``),
        ``cost_per_correct`` (``cost_per_judgment / accuracy_model``, an estimate) and
        ``capacity_per_day`` when known. "Accuracy" without "gold" is the model's
        :math:`P(z_i = y_{ij})` (gold items are clamped by the model's fit, so gold counts).

    References
    ----------
    Ipeirotis, Provost & Wang (2010), Quality management on Amazon Mechanical Turk.
    Dawid & Skene (1979), Applied Statistics 28(1), 20-28.
    """
    if isinstance(data, Dataset):
        lab = data.labels
        enc = data.encode()
        if annotators is None:
            annotators = data.annotator_table()
    else:
        lab = data
        enc = as_encoded(data)
    if model is None:
        from insights.reliability import DawidSkene

        model = DawidSkene().fit(enc)
    table = annotator_quality(enc, model, annotators=annotators)
    j, k = enc.n_annotators, enc.n_classes
    post = model.probas_.reindex(enc.item_ids)[list(enc.classes)].to_numpy()
    p_correct = post[enc.item, enc.label]
    exp_correct = np.bincount(enc.annotator, weights=p_correct, minlength=j)
    n_lab = table["n_labels"].to_numpy()
    lo, hi = wilson_interval(np.minimum(exp_correct, n_lab), n_lab, confidence)
    pos = table.columns.get_loc("estimated_accuracy") + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        table.insert(pos, "accuracy_model", exp_correct / n_lab)
    table.insert(pos + 1, "accuracy_model_lo", lo)
    table.insert(pos + 2, "accuracy_model_hi", hi)

    # confusions of the model, aligned to the encoding's annotators
    conf = np.asarray(model.confusions_, dtype=np.float64)
    order = pd.Index(np.asarray(model.annotator_ids_, dtype=object)).get_indexer(enc.annotator_ids)
    conf = conf[order]
    pri = np.asarray(model.priors_, dtype=np.float64)
    recall = np.einsum("jkk->jk", conf)
    joint = pri[None, :, None] * conf
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.einsum("jkk->jk", joint) / joint.sum(axis=1)
    table["recall_macro"] = recall.mean(axis=1)
    given = np.zeros((j, k))
    np.add.at(given, (enc.annotator, enc.label), 1)
    by_class = pd.DataFrame({
        "annotator_id": np.repeat(enc.annotator_ids, k),
        "class": np.tile(enc.classes, j),
        "recall": recall.ravel(),
        "precision": precision.ravel(),
        "n_labels_given": given.ravel().astype(int),
    })

    codes = enc.annotator
    if "handle_seconds" in lab.columns:
        hs = pd.to_numeric(lab["handle_seconds"], errors="coerce")
        table["median_handle_seconds"] = hs.groupby(codes).median().reindex(range(j)).to_numpy()
    else:
        table["median_handle_seconds"] = np.nan
    for col, vals in _per_annotator_time(lab, codes, j, p_correct, half_life_days,
                                         recent_days).items():
        table[col] = vals
    cost = np.full(j, np.nan)
    if "cost" in lab.columns:
        cs = pd.to_numeric(lab["cost"], errors="coerce")
        cost = cs.groupby(codes).mean().reindex(range(j)).to_numpy()
    if annotators is not None:
        ann = annotators.set_index("annotator_id") if "annotator_id" in annotators.columns \
            else annotators
        ann = ann[~ann.index.duplicated()]
        if "cost_per_label" in ann.columns:
            cpl = pd.to_numeric(ann["cost_per_label"], errors="coerce").reindex(enc.annotator_ids)
            cost = np.where(np.isnan(cost), cpl.to_numpy(dtype=np.float64), cost)
        if "capacity_per_day" in ann.columns:
            table["capacity_per_day"] = pd.to_numeric(
                ann["capacity_per_day"], errors="coerce").reindex(enc.annotator_ids).to_numpy()
    table["cost_per_judgment"] = cost
    with np.errstate(invalid="ignore", divide="ignore"):
        table["cost_per_correct"] = cost / table["accuracy_model"].to_numpy()

    by_queue = pd.DataFrame(columns=["annotator_id", "queue", "n_labels", "estimated_accuracy",
                                     "n_gold", "accuracy_gold", "median_handle_seconds"])
    if "queue" in lab.columns:
        g = enc.gold[enc.item]
        frame = pd.DataFrame({
            "annotator_id": enc.annotator_ids[codes],
            "queue": lab["queue"].astype(str).to_numpy(),
            "p": p_correct,
            "on_gold": (g >= 0).astype(int),
            "gold_ok": ((g >= 0) & (g == enc.label)).astype(int),
            "hs": pd.to_numeric(lab["handle_seconds"], errors="coerce").to_numpy()
            if "handle_seconds" in lab.columns else np.nan,
        })
        agg = frame.groupby(["annotator_id", "queue"], sort=True).agg(
            n_labels=("p", "size"), estimated_accuracy=("p", "mean"), n_gold=("on_gold", "sum"),
            gold_ok=("gold_ok", "sum"), median_handle_seconds=("hs", "median")).reset_index()
        with np.errstate(invalid="ignore", divide="ignore"):
            agg["accuracy_gold"] = np.where(agg["n_gold"] > 0,
                                            agg["gold_ok"] / agg["n_gold"].clip(lower=1), np.nan)
        by_queue = agg[list(by_queue.columns)]
    return LabelerFeatures(annotators=table, by_class=by_class, by_queue=by_queue)
